import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createPagerDutyActivities } from '../../activities/pagerduty.js';
import { MAX_EVIDENCE_BYTES, evidenceBytes } from '../../activities/evidence-bounds.js';
import { buildScenario, loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';
import { evidenceRequest } from './evidence-request.js';
import { failureOf } from './failure-of.js';

const CRASHLOOP = fileURLToPath(new URL('../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const TOKEN = 'pd-activity-token-0123';
const NOW = Date.parse('2025-03-01T12:00:00Z');

let scenario: Scenario;
let pd: PagerDutyEmulator;

beforeAll(async () => {
  scenario = await loadScenario(CRASHLOOP, { now: NOW });
  pd = await startPagerDutyEmulator({ scenario, token: TOKEN });
});
afterAll(() => pd.close());
afterEach(() => pd.setFault(null));

function activities(overrides: { authorization?: () => string | Promise<string>; baseUrl?: string; timeoutMs?: number } = {}) {
  return createPagerDutyActivities({ baseUrl: pd.url, authorization: () => `Token token=${TOKEN}`, ...overrides });
}

describe('fetchIncident', () => {
  test('maps the REST incident to an IncidentRef', async () => {
    await expect(activities().fetchIncident('Q1CHECKOUT1')).resolves.toEqual({
      id: 'Q1CHECKOUT1',
      number: 4211,
      title: 'checkout-api 5xx rate above 5%',
      status: 'triggered',
      urgency: 'high',
      serviceId: 'PCHKOUT',
      serviceName: 'checkout',
      createdAt: '2025-03-01T11:55:00Z',
      htmlUrl: 'https://keyless-sandbox.pagerduty.com/incidents/Q1CHECKOUT1',
    });
  });

  test('works with an OAuth bearer token', async () => {
    await expect(activities({ authorization: async () => `Bearer ${TOKEN}` }).fetchIncident('Q1CHECKOUT1')).resolves.toMatchObject({
      number: 4211,
    });
  });

  test.each(['../users', 'Q1CHECK/../x', 'Q1 CHECK', '', 'Q1CHECKOUT1?x=1', 'a'.repeat(65), 'ÄBC'])(
    'rejects incident id %j before any request',
    async (id) => {
      const before = pd.requests;
      const f = await failureOf(activities().fetchIncident(id));
      expect(f).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
      expect(pd.requests).toBe(before);
    },
  );

  test('401 → non-retryable, message without the token', async () => {
    const f = await failureOf(activities({ authorization: () => 'Token token=wrong-token-value' }).fetchIncident('Q1CHECKOUT1'));
    expect(f).toMatchObject({ nonRetryable: true, type: 'HttpClientError', details: [{ surface: 'pagerduty', status: 401 }] });
    expect(f.message).toBe('pagerduty: HTTP 401 Unauthorized');
    expect(f.message).not.toContain('wrong-token-value');
  });

  test('404 → non-retryable', async () => {
    expect(await failureOf(activities().fetchIncident('PNOSUCH1'))).toMatchObject({
      nonRetryable: true,
      message: 'pagerduty: HTTP 404 Not Found',
    });
  });

  test('503 with Retry-After: 7 → retryable with nextRetryDelay 7 s', async () => {
    pd.setFault({ status: 503, retryAfterSeconds: 7 });
    const f = await failureOf(activities().fetchIncident('Q1CHECKOUT1'));
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpServerError', nextRetryDelay: 7000 });
  });

  test('429 → retryable HttpRateLimited, and the next attempt succeeds once the fault passes', async () => {
    pd.setFault({ status: 429, retryAfterSeconds: 2, times: 1 });
    const a = activities();
    expect(await failureOf(a.fetchIncident('Q1CHECKOUT1'))).toMatchObject({
      nonRetryable: false,
      type: 'HttpRateLimited',
      nextRetryDelay: 2000,
    });
    await expect(a.fetchIncident('Q1CHECKOUT1')).resolves.toMatchObject({ id: 'Q1CHECKOUT1' });
  });

  test('a credential that cannot be read is retryable and says nothing about where it lives', async () => {
    const f = await failureOf(
      activities({
        authorization: async () => {
          throw new Error("ENOENT: no such file or directory, open '/var/run/secrets/pagerduty/token'");
        },
      }).fetchIncident('Q1CHECKOUT1'),
    );
    expect(f).toMatchObject({ nonRetryable: false, type: 'CredentialUnavailable', message: 'pagerduty: credential unavailable' });
  });

  test('a credential with a line break is refused, not sent', async () => {
    const before = pd.requests;
    const f = await failureOf(activities({ authorization: () => `Token token=${TOKEN}\r\nX-Evil: 1` }).fetchIncident('Q1CHECKOUT1'));
    expect(f).toMatchObject({ nonRetryable: true, type: 'CredentialUnavailable' });
    expect(pd.requests).toBe(before);
  });

  test('connection refused → retryable network failure', async () => {
    const closed = await startPagerDutyEmulator({ scenario, token: TOKEN });
    const url = closed.url;
    await closed.close();
    const f = await failureOf(activities({ baseUrl: url }).fetchIncident('Q1CHECKOUT1'));
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpNetworkError' });
  });
});

describe('against a hand-rolled upstream', () => {
  let server: Server;
  let url: string;
  let respond: (path: string) => { status: number; body: string; headers?: Record<string, string> } | 'hang';
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      const r = respond(req.url ?? '');
      if (r === 'hang') return;
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(r.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pagerduty`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a malformed upstream body is a clear non-retryable failure', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ incident: { id: 'Q1', title: 'x' } }) });
    const f = await failureOf(createPagerDutyActivities({ baseUrl: url, authorization: () => '' }).fetchIncident('Q1'));
    expect(f).toMatchObject({ nonRetryable: true, type: 'MalformedResponse' });
    expect(f.message).toMatch(/^pagerduty: malformed response: incident\.incident_number/);
  });

  test('a non-JSON 200 is malformed too', async () => {
    respond = () => ({ status: 200, body: '<html>gateway</html>' });
    expect(await failureOf(createPagerDutyActivities({ baseUrl: url, authorization: () => '' }).fetchIncident('Q1'))).toMatchObject({
      type: 'MalformedResponse',
    });
  });

  test('an empty authorization sends no header (the broker injects it); path prefix is kept', async () => {
    seen.length = 0;
    respond = () => ({ status: 404, body: JSON.stringify({ error: { message: 'Not Found', code: 2100 } }) });
    await failureOf(createPagerDutyActivities({ baseUrl: url, authorization: () => '' }).fetchIncident('Q1', 'triage-Q1'));
    expect(seen[0]?.path).toBe('/pagerduty/incidents/Q1');
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(seen[0]?.headers['x-triage-id']).toBe('triage-Q1');
    expect(seen[0]?.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
  });

  test('a request that hangs times out as a retryable failure', async () => {
    respond = () => 'hang';
    const f = await failureOf(createPagerDutyActivities({ baseUrl: url, authorization: () => '', timeoutMs: 200 }).fetchIncident('Q1'));
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpTimeout' });
  });

  test('the upstream error message is used, cleaned', async () => {
    respond = () => ({
      status: 400,
      body: JSON.stringify({ error: { message: 'Invalid Input Provided', code: 2001, errors: ['Offset must be\nsmall'] } }),
    });
    const f = await failureOf(createPagerDutyActivities({ baseUrl: url, authorization: () => '' }).fetchIncident('Q1'));
    expect(f.message).toBe('pagerduty: HTTP 400 Bad Request: Invalid Input Provided: Offset must be small');
  });
});

describe('collectPagerDutyEvidence', () => {
  test('the scenario incident and its alerts, newest first, with headers for the audit trail', async () => {
    const evidence = await activities().collectPagerDutyEvidence(evidenceRequest());
    expect(evidence.surface).toBe('pagerduty');
    expect(evidence.incident).toMatchObject({ id: 'Q1CHECKOUT1', number: 4211, serviceId: 'PCHKOUT' });
    expect(evidence.alerts).toEqual({
      total: 2,
      omitted: 0,
      shown: [
        {
          id: 'QALRTRESTART1',
          status: 'triggered',
          severity: 'error',
          summary: 'checkout-api: containers restarted more than 3 times in 10m (namespace checkout)',
          createdAt: '2025-03-01T11:56:00Z',
          source: 'prometheus/eu-west-1',
        },
        expect.objectContaining({ id: 'QALRT5XXRATE1', severity: 'critical', createdAt: '2025-03-01T11:55:00Z' }),
      ],
    });
  });

  test('many alerts: paginated, 20 shown newest first, the rest counted, strings cut', async () => {
    const alerts = Array.from({ length: 250 }, (_, i) => ({
      id: `PAL${String(i).padStart(4, '0')}`,
      status: 'triggered' as const,
      severity: 'warning' as const,
      summary: `${i}: ${'long text '.repeat(60)}`,
      created_at: `\${now-${250 - i}m}`,
    }));
    const s = buildScenario({ ...scenario, pagerduty: { incident: scenario.pagerduty.incident, alerts } }, { now: NOW });
    const busy = await startPagerDutyEmulator({ scenario: s, token: TOKEN });
    try {
      const before = busy.requests;
      const evidence = await createPagerDutyActivities({
        baseUrl: busy.url,
        authorization: () => `Bearer ${TOKEN}`,
      }).collectPagerDutyEvidence(evidenceRequest());
      // One incident read and three pages of 100.
      expect(busy.requests - before).toBe(4);
      expect(evidence.alerts.total).toBe(250);
      expect(evidence.alerts.omitted).toBe(230);
      expect(evidence.alerts.shown.map((a) => a.id)).toEqual(
        Array.from({ length: 20 }, (_, i) => `PAL${String(249 - i).padStart(4, '0')}`),
      );
      expect(Math.max(...evidence.alerts.shown.map((a) => a.summary.length))).toBe(300);
      expect(evidenceBytes(evidence)).toBeLessThanOrEqual(MAX_EVIDENCE_BYTES);
    } finally {
      await busy.close();
    }
  });

  test('a malformed triage id is refused', async () => {
    const f = await failureOf(activities().collectPagerDutyEvidence(evidenceRequest({ triageId: 'triage-x\r\nX-Evil: 1' })));
    expect(f).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
  });
});
