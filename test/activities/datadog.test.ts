// collectDatadogEvidence against the Datadog emulator, through the real broker
// with its datadog provider (the worker holds no key, so that is the only way
// it gets data), and against hand-rolled upstreams for the failures an
// emulator would not produce: timeouts, malformed bodies, odd rate-limit headers.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudit } from '../broker/harness.js';
import { createDatadogActivities } from '../../activities/datadog.js';
import { MAX_EVIDENCE_BYTES, evidenceBytes } from '../../activities/evidence-bounds.js';
import type { DatadogScope, EvidenceRequest } from '../../activities/model.js';
import { startBroker, type RunningBroker } from '../../broker/broker.js';
import { parseBrokerConfig } from '../../broker/config.js';
import { buildScenario, type ScenarioDatadog, type ScenarioInput } from '../../sandbox/scenario.js';
import { startDatadogEmulator, type DatadogEmulator } from '../../sandbox/emulators/datadog.js';
import { silentLogger } from '../../config/logger.js';
import { INCIDENT, evidenceRequest } from './evidence-request.js';
import { failureOf } from './failure-of.js';
import { startFake, type FakeUpstream } from '../broker/fake-upstreams.js';

// The incident was created at 11:55: the window runs 10:40 (baseline) / 11:40 (incident) / 12:00.
const NOW = Date.parse('2025-03-01T12:00:00Z');
const ERRORS_QUERY = 'sum:trace.http.request.errors{service:checkout-api}.as_count()';
const LATENCY_QUERY = 'avg:trace.http.request.duration{service:payments-api}';
const LOG_QUERY = 'service:checkout-api status:error';

function scenarioDatadog(datadog: NonNullable<ScenarioInput['datadog']>): ScenarioDatadog {
  const pagerduty = {
    incident: {
      id: INCIDENT.id,
      incident_number: INCIDENT.number,
      title: INCIDENT.title,
      status: 'triggered' as const,
      urgency: 'high' as const,
      created_at: INCIDENT.createdAt,
      html_url: INCIDENT.htmlUrl,
      service: { id: INCIDENT.serviceId, summary: INCIDENT.serviceName },
    },
  };
  return buildScenario({ name: 'datadog-activity', description: 'Datadog activity test', pagerduty, datadog }, { now: NOW }).datadog!;
}

const SCENARIO = scenarioDatadog({
  queries: [
    // Two errors a minute, then forty from 11:48; no noise, so the numbers are exact.
    {
      label: 'checkout 5xx',
      query: ERRORS_QUERY,
      unit: 'error',
      series: { start: '${now-2h}', end: '${now}', baseline: 2, incident: 40, changeAt: '${now-12m}', jitter: 0 },
    },
    {
      label: 'payments latency',
      dependency: 'payments-api',
      query: LATENCY_QUERY,
      series: { start: '${now-2h}', end: '${now}', baseline: 120, jitter: 0.05 },
    },
  ],
  monitors: [
    {
      id: 1,
      name: 'checkout latency',
      query: 'avg(last_5m):avg:trace.http.request.duration{service:checkout-api} > 0.5',
      overall_state: 'Warn',
      tags: ['service:checkout-api'],
      priority: 1,
    },
    {
      id: 2,
      name: 'checkout 5xx rate',
      query: `sum(last_5m):${ERRORS_QUERY} > 20`,
      overall_state: 'Alert',
      overall_state_modified: '${now-11m}',
      tags: ['service:checkout-api', 'team:payments'],
      priority: 2,
    },
    {
      id: 3,
      name: 'payments queue depth',
      query: 'avg(last_5m):avg:queue.depth{service:payments} > 100',
      overall_state: 'Alert',
      tags: ['team:payments'],
      priority: 1,
    },
    {
      id: 4,
      name: 'checkout disk',
      query: 'avg(last_5m):avg:system.disk.in_use{service:checkout-api} > 0.9',
      overall_state: 'OK',
      tags: ['service:checkout-api'],
    },
    { id: 5, name: 'unrelated', query: 'avg(last_5m):avg:cpu{service:other} > 0.9', overall_state: 'Alert', tags: ['service:other'] },
  ],
  logs: [
    {
      timestamp: '${now-1m}',
      service: 'checkout-api',
      message: 'upstream timeout calling payments-api after 5000ms',
      repeat: 40,
      every: 15,
    },
    // Control and bidi characters are stripped: log text is data, and must not reorder what a reader sees.
    { timestamp: '${now-2m}', service: 'checkout-api', message: 'order \u202Erejected\u202C\r\nstack: at charge()', repeat: 5, every: 60 },
    { timestamp: '${now-3m}', service: 'checkout-api', message: `${'x'.repeat(300)} tail one`, repeat: 2 },
    { timestamp: '${now-4m}', service: 'checkout-api', message: `${'x'.repeat(300)} tail two` },
    { timestamp: '${now-5m}', service: 'checkout-api', status: 'warn', message: 'slow query' },
    { timestamp: '${now-6m}', service: 'cart', message: 'upstream timeout calling payments-api after 5000ms' },
    // Outside the window.
    { timestamp: '${now-3h}', service: 'checkout-api', message: 'an old error' },
  ],
});

const SCOPE: DatadogScope = {
  queries: [
    { label: 'checkout 5xx', query: ERRORS_QUERY },
    { label: 'payments latency', dependency: 'payments-api', query: LATENCY_QUERY },
    { label: 'not in Datadog', query: 'avg:no.such.metric{*}' },
  ],
  monitorTags: ['service:checkout-api', 'team:payments'],
  logQuery: LOG_QUERY,
};

/** `null`: a service configured without a Datadog section. */
function request(scope: DatadogScope | null = SCOPE, triageId?: string): EvidenceRequest {
  const req = evidenceRequest(triageId ? { triageId } : {});
  return { ...req, scope: { ...req.scope, surfaces: ['datadog'], ...(scope ? { datadog: scope } : {}) } };
}

// ---- a broker with the datadog provider, keys generated per run ---------------------

interface Brokered {
  dd: DatadogEmulator;
  broker: RunningBroker;
  keys: { apiKey: string; appKey: string };
  auditPath: string;
  close(): Promise<void>;
}

async function brokered(datadog: ScenarioDatadog, opts: { brokerKeys?: { apiKey: string; appKey: string } } = {}): Promise<Brokered> {
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const dd = await startDatadogEmulator({ datadog, ...keys, now: () => NOW });
  const dir = await mkdtemp(join(tmpdir(), 'datadog-activity-'));
  const sent = opts.brokerKeys ?? keys;
  await writeFile(join(dir, 'dd-api-key'), `${sent.apiKey}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'dd-app-key'), sent.appKey, { mode: 0o600 });
  const auditPath = join(dir, 'audit.jsonl');
  const broker = await startBroker(
    parseBrokerConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        auditLog: auditPath,
        providers: { datadog: { upstream: dd.url, apiKeyFile: 'dd-api-key', appKeyFile: 'dd-app-key' } },
      },
      dir,
    ),
    { log: silentLogger },
  );
  return {
    dd,
    broker,
    keys,
    auditPath,
    close: async () => {
      await broker.close();
      await dd.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Records what the activity itself sends (`requests`), then forwards it unchanged to `target`. */
async function startTap(target: string): Promise<FakeUpstream> {
  const upstream = new URL(target);
  return startFake((req, res) => {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(out);
  });
}

let world: Brokered;

beforeAll(async () => {
  world = await brokered(SCENARIO);
});
afterAll(() => world.close());
afterEach(() => world.dd.setFault(null));

const activities = (baseUrl = `${world.broker.url}/datadog`, timeoutMs?: number) =>
  createDatadogActivities({ baseUrl, now: () => NOW, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });

describe('collectDatadogEvidence', () => {
  test('the window, and each configured query summarised: baseline, incident, when the change began', async () => {
    const evidence = await activities().collectDatadogEvidence(request());
    expect(evidence.surface).toBe('datadog');
    expect(evidence.window).toEqual({
      start: '2025-03-01T10:40:00.000Z',
      incidentWindowStart: '2025-03-01T11:40:00.000Z',
      end: '2025-03-01T12:00:00.000Z',
    });
    const [errors, latency, missing] = evidence.series;
    // 10:40 to 12:00 inclusive at one point a minute.
    expect(errors).toMatchObject({ label: 'checkout 5xx', unit: 'error' });
    expect(errors!.points).toHaveLength(81);
    expect(errors!.points[0]).toEqual([Date.parse('2025-03-01T10:40:00Z'), 2]);
    expect(errors!.summary).toEqual({
      points: 81,
      baseline: 2,
      // 11:40-11:47 at 2, 11:48-12:00 at 40.
      incident: expect.closeTo((8 * 2 + 13 * 40) / 21, 6),
      peak: { value: 40, at: '2025-03-01T11:48:00.000Z' },
      changeBeganAt: '2025-03-01T11:48:00.000Z',
    });
    expect(latency).toMatchObject({
      label: 'payments latency',
      dependency: 'payments-api',
      summary: { points: 81, baseline: expect.closeTo(120, -1) },
    });
    expect(latency!.summary.changeBeganAt).toBeUndefined();
    // A query Datadog has no data for is still listed, with nothing to compare.
    expect(missing).toEqual({ label: 'not in Datadog', points: [], summary: { points: 0 } });
  });

  test('monitors with any of the tags, in Alert or Warn: Alert first, then priority; each once', async () => {
    const evidence = await activities().collectDatadogEvidence(request());
    expect(evidence.monitors).toEqual([
      { id: 3, name: 'payments queue depth', state: 'Alert', tags: ['team:payments'], priority: 1 },
      {
        id: 2,
        name: 'checkout 5xx rate',
        state: 'Alert',
        tags: ['service:checkout-api', 'team:payments'],
        priority: 2,
        since: '2025-03-01T11:49:00.000Z',
      },
      { id: 1, name: 'checkout latency', state: 'Warn', tags: ['service:checkout-api'], priority: 1 },
    ]);
    expect(evidence.monitorsOmitted).toBe(0);
  });

  test('error logs of the window grouped by cleaned message, most frequent first', async () => {
    const { logs } = await activities().collectDatadogEvidence(request());
    expect(logs).toMatchObject({ query: LOG_QUERY, scanned: 48, truncated: false });
    expect(logs!.top).toEqual([
      {
        message: 'upstream timeout calling payments-api after 5000ms',
        count: 40,
        service: 'checkout-api',
        status: 'error',
        lastSeen: '2025-03-01T11:59:00.000Z',
      },
      {
        message: 'order rejected stack: at charge()',
        count: 5,
        service: 'checkout-api',
        status: 'error',
        lastSeen: '2025-03-01T11:58:00.000Z',
      },
      // Cut to 300 characters, two messages that differ only beyond the cut are one.
      { message: `${'x'.repeat(299)}…`, count: 3, service: 'checkout-api', status: 'error', lastSeen: '2025-03-01T11:57:00.000Z' },
    ]);
  });

  test('without monitor tags or a log query, those parts are skipped, not requested', async () => {
    const before = world.dd.requests.length;
    const evidence = await activities().collectDatadogEvidence(request({ queries: [], monitorTags: [] }));
    expect(evidence).toEqual({ surface: 'datadog', window: expect.any(Object), series: [], monitors: [], monitorsOmitted: 0 });
    expect(world.dd.requests.length).toBe(before);
  });

  test('through the broker: the emulator saw both keys and the triage id; the activity sent no key', async () => {
    const tap = await startTap(world.broker.url);
    const previousEnv = { api: process.env['DD_API_KEY'], app: process.env['DD_APP_KEY'] };
    // A key in the worker's environment must not be picked up by the client.
    process.env['DD_API_KEY'] = 'env-api-key-must-not-be-sent';
    process.env['DD_APP_KEY'] = 'env-app-key-must-not-be-sent';
    try {
      const before = world.dd.requests.length;
      await activities(`${tap.url}/datadog`).collectDatadogEvidence(request(SCOPE, 'triage-QBROKER1'));
      // One timeseries query, one monitor listing per tag, one logs page.
      expect(tap.requests).toHaveLength(4);
      for (const { headers } of tap.requests) {
        expect(headers['dd-api-key']).toBeUndefined();
        expect(headers['dd-application-key']).toBeUndefined();
        expect(headers.authorization).toBeUndefined();
        expect(headers['x-triage-id']).toBe('triage-QBROKER1');
        expect(headers['user-agent']).toMatch(/^keyless-triage\/\S+ \(triage-QBROKER1\) datadog-api-client-typescript\//);
      }
      // The emulator answers 200 only to both keys; the broker forwards the User-Agent, which names the triage.
      const seen = world.dd.requests.slice(before);
      expect(seen.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual([
        'GET /api/v1/monitor 200',
        'GET /api/v1/monitor 200',
        'POST /api/v2/logs/events/search 200',
        'POST /api/v2/query/timeseries 200',
      ]);
      for (const r of seen) expect(r.userAgent).toContain('(triage-QBROKER1)');
      const audit = (await readAudit(world.auditPath)).filter((a) => a.triageId === 'triage-QBROKER1');
      expect(audit).toHaveLength(4);
      for (const a of audit)
        expect(a).toMatchObject({
          provider: 'datadog',
          decision: 'allowed',
          status: 200,
          credentialId: expect.stringMatching(/^datadog:api-key:.+\/app-key:.+/),
        });
      const logged = JSON.stringify(audit) + JSON.stringify(world.dd.requests);
      for (const key of [world.keys.apiKey, world.keys.appKey]) expect(logged).not.toContain(key);
    } finally {
      for (const [name, value] of [
        ['DD_API_KEY', previousEnv.api],
        ['DD_APP_KEY', previousEnv.app],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await tap.close();
    }
  });
});

describe('bounds', () => {
  test('many monitors: 20 shown, ranked, the rest counted', async () => {
    const monitors = Array.from({ length: 60 }, (_, i) => ({
      id: 100 + i,
      name: `monitor ${i} ${'n'.repeat(400)}`,
      query: `avg(last_5m):avg:m${i}{service:checkout-api} > 1`,
      overall_state: i % 3 === 0 ? ('Alert' as const) : i % 3 === 1 ? ('Warn' as const) : ('OK' as const),
      tags: ['service:checkout-api', ...Array.from({ length: 30 }, (_, t) => `tag${t}:${'v'.repeat(150)}`)],
      priority: (i % 5) + 1,
    }));
    const busy = await brokered(scenarioDatadog({ monitors }));
    try {
      const evidence = await createDatadogActivities({ baseUrl: `${busy.broker.url}/datadog`, now: () => NOW }).collectDatadogEvidence(
        request({ queries: [], monitorTags: ['service:checkout-api'] }),
      );
      // 20 Alert and 20 Warn: the 20 Alert are shown, by priority.
      expect(evidence.monitors).toHaveLength(20);
      expect(evidence.monitorsOmitted).toBe(20);
      expect(evidence.monitors.every((m) => m.state === 'Alert')).toBe(true);
      expect(evidence.monitors.map((m) => m.priority)).toEqual([...evidence.monitors.map((m) => m.priority)].sort());
      expect(Math.max(...evidence.monitors.map((m) => m.name.length))).toBe(256);
      expect(Math.max(...evidence.monitors.map((m) => m.tags.length))).toBe(10);
      expect(Math.max(...evidence.monitors.flatMap((m) => m.tags.map((t) => t.length)))).toBe(100);
      expect(evidenceBytes(evidence)).toBeLessThan(MAX_EVIDENCE_BYTES);
    } finally {
      await busy.close();
    }
  });

  test('thousands of log lines: 1,000 read (newest), top 10 messages, truncated', async () => {
    const logs = Array.from({ length: 12 }, (_, i) => ({
      timestamp: `\${now-${i}s}`,
      service: 'checkout-api',
      message: `error kind ${i}`,
      // 12 messages, kind 0 the most frequent: 5,800 lines over the last ~16 minutes.
      repeat: 600 - i * 20,
      every: 1,
    }));
    const busy = await brokered(scenarioDatadog({ logs }));
    try {
      const before = busy.dd.requests.length;
      const evidence = await createDatadogActivities({ baseUrl: `${busy.broker.url}/datadog`, now: () => NOW }).collectDatadogEvidence(
        request({ queries: [], monitorTags: [], logQuery: LOG_QUERY }),
      );
      expect(busy.dd.requests.length - before).toBe(1);
      expect(evidence.logs!.scanned).toBe(1000);
      expect(evidence.logs!.truncated).toBe(true);
      expect(evidence.logs!.top).toHaveLength(10);
      expect(evidence.logs!.top.reduce((sum, m) => sum + m.count, 0)).toBeLessThanOrEqual(1000);
      const counts = evidence.logs!.top.map((m) => m.count);
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      expect(evidenceBytes(evidence)).toBeLessThan(MAX_EVIDENCE_BYTES);
    } finally {
      await busy.close();
    }
  });

  test('every list full of long text still fits the byte budget', async () => {
    const queries = Array.from({ length: 20 }, (_, i) => ({
      label: `series ${i} ${'l'.repeat(60)}`,
      query: `avg:metric.${i}{service:checkout-api}`,
      series: { start: '${now-2h}', end: '${now}', baseline: 1234.5678 + i, jitter: 0.3 },
    }));
    const monitors = Array.from({ length: 40 }, (_, i) => ({
      id: 500 + i,
      name: 'm'.repeat(1000),
      query: `avg(last_5m):avg:m${i}{*} > 1`,
      overall_state: 'Alert' as const,
      tags: ['service:checkout-api', ...Array.from({ length: 20 }, (_, t) => `t${t}:${'v'.repeat(190)}`)],
    }));
    const logs = Array.from({ length: 30 }, (_, i) => ({
      timestamp: '${now-1m}',
      service: 'checkout-api',
      message: `${i} ${'e'.repeat(8000)}`,
      repeat: 30 - i,
    }));
    const busy = await brokered(scenarioDatadog({ queries, monitors, logs }));
    try {
      const evidence = await createDatadogActivities({ baseUrl: `${busy.broker.url}/datadog`, now: () => NOW }).collectDatadogEvidence(
        request({
          queries: queries.map(({ label, query }) => ({ label, query })),
          monitorTags: ['service:checkout-api'],
          logQuery: LOG_QUERY,
        }),
      );
      // Over budget as collected: the charts are thinned first, and the summaries keep every point's numbers.
      expect(evidence.series).toHaveLength(20);
      expect(evidence.series.every((s) => s.summary.points === 81 && s.points.length < 81 && s.points.length >= 20)).toBe(true);
      expect(evidence.logs!.top).toHaveLength(10);
      expect(evidence.monitors).toHaveLength(20);
      expect(evidence.monitorsOmitted).toBe(20);
      expect(evidenceBytes(evidence)).toBeLessThanOrEqual(MAX_EVIDENCE_BYTES);
    } finally {
      await busy.close();
    }
  });
});

describe('failures', () => {
  test('429 → retryable, nextRetryDelay from X-RateLimit-Reset', async () => {
    world.dd.setFault({ status: 429, retryAfterSeconds: 42, times: 1 });
    const f = await failureOf(activities().collectDatadogEvidence(request()));
    expect(f).toMatchObject({
      nonRetryable: false,
      type: 'HttpRateLimited',
      nextRetryDelay: 42_000,
      details: [{ surface: 'datadog', status: 429 }],
    });
    expect(f.message).toBe('datadog: HTTP 429 Too Many Requests');
    // The next attempt, once the window has reset, succeeds.
    await expect(activities().collectDatadogEvidence(request())).resolves.toMatchObject({ surface: 'datadog' });
  });

  test('500 → retryable', async () => {
    world.dd.setFault({ status: 500 });
    const f = await failureOf(activities().collectDatadogEvidence(request()));
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpServerError', message: 'datadog: HTTP 500 Internal Server Error' });
  });

  test('403 (the broker holds a wrong key) → non-retryable, naming Datadog and the status, no key', async () => {
    const wrong = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
    const refused = await brokered(SCENARIO, { brokerKeys: wrong });
    try {
      const f = await failureOf(
        createDatadogActivities({ baseUrl: `${refused.broker.url}/datadog`, now: () => NOW }).collectDatadogEvidence(request()),
      );
      expect(f).toMatchObject({
        nonRetryable: true,
        type: 'HttpClientError',
        message: 'datadog: HTTP 403 Forbidden',
        details: [{ surface: 'datadog', status: 403 }],
      });
      for (const key of [...Object.values(wrong), ...Object.values(refused.keys)]) expect(JSON.stringify(f)).not.toContain(key);
    } finally {
      await refused.close();
    }
  });

  test('straight to Datadog without the broker the activity is refused: it holds no key', async () => {
    const f = await failureOf(activities(world.dd.url).collectDatadogEvidence(request()));
    expect(f).toMatchObject({ nonRetryable: true, message: 'datadog: HTTP 403 Forbidden' });
  });

  test('a log query Datadog rejects → non-retryable 400 with its reason', async () => {
    const f = await failureOf(activities().collectDatadogEvidence(request({ ...SCOPE, logQuery: 'service:a OR service:b' })));
    expect(f).toMatchObject({ nonRetryable: true, type: 'HttpClientError' });
    expect(f.message).toMatch(/^datadog: HTTP 400 Bad Request: the sandbox does not support the search term "OR"/);
  });

  test('no Datadog scope → non-retryable configuration failure, before any request', async () => {
    const before = world.dd.requests.length;
    const f = await failureOf(activities().collectDatadogEvidence(request(null)));
    expect(f).toMatchObject({
      nonRetryable: true,
      type: 'InvalidRequest',
      message: 'datadog: invalid request: no Datadog scope is configured for this service',
    });
    expect(world.dd.requests.length).toBe(before);
  });

  test.each([
    ['a triage id with a line break', request(SCOPE, 'triage-x\r\nX-Evil: 1')],
    ['a monitor tag with a comma (Datadog would AND its parts)', request({ ...SCOPE, monitorTags: ['service:a,env:prod'] })],
  ])('%s is refused before any request', async (_, req) => {
    const before = world.dd.requests.length;
    expect(await failureOf(activities().collectDatadogEvidence(req))).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
    expect(world.dd.requests.length).toBe(before);
  });

  test('connection refused → retryable network failure', async () => {
    const gone = await startDatadogEmulator({ datadog: SCENARIO, apiKey: 'a', appKey: 'b' });
    await gone.close();
    expect(await failureOf(activities(gone.url).collectDatadogEvidence(request()))).toMatchObject({
      nonRetryable: false,
      type: 'HttpNetworkError',
    });
  });
});

describe('against a hand-rolled upstream', () => {
  let upstream: FakeUpstream;
  let url: string;
  let respond: (path: string) => { status: number; body: string; headers?: Record<string, string> } | 'hang';

  beforeAll(async () => {
    upstream = await startFake((req, res) => {
      req.resume();
      const r = respond(req.url ?? '');
      if (r === 'hang') return;
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(r.body);
    });
    url = `${upstream.url}/datadog`;
  });
  afterAll(() => upstream.close());

  const monitorsOnly = () => request({ queries: [], monitorTags: ['service:checkout-api'] });

  test('a 429 without X-RateLimit-Reset falls back to Retry-After', async () => {
    respond = () => ({ status: 429, body: '{"errors":["Too many requests"]}', headers: { 'retry-after': '9' } });
    expect(await failureOf(activities(url).collectDatadogEvidence(monitorsOnly()))).toMatchObject({
      type: 'HttpRateLimited',
      nextRetryDelay: 9000,
    });
  });

  test('a 429 with both: X-RateLimit-Reset wins', async () => {
    respond = () => ({
      status: 429,
      body: '{"errors":["Too many requests"]}',
      headers: { 'retry-after': '9', 'x-ratelimit-reset': '33', 'x-ratelimit-remaining': '0' },
    });
    expect(await failureOf(activities(url).collectDatadogEvidence(monitorsOnly()))).toMatchObject({
      type: 'HttpRateLimited',
      nextRetryDelay: 33_000,
    });
  });

  test('a 503 answered by a proxy in HTML → retryable, the status alone', async () => {
    respond = () => ({ status: 503, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } });
    expect(await failureOf(activities(url).collectDatadogEvidence(monitorsOnly()))).toMatchObject({
      nonRetryable: false,
      message: 'datadog: HTTP 503 Service Unavailable',
    });
  });

  test("a 200 that is not Datadog's shape → non-retryable malformed response", async () => {
    respond = () => ({ status: 200, body: JSON.stringify([{ id: 1, name: 'no query or type' }]) });
    const f = await failureOf(activities(url).collectDatadogEvidence(monitorsOnly()));
    expect(f).toMatchObject({
      nonRetryable: true,
      type: 'MalformedResponse',
      message: 'datadog: malformed response: monitors response does not match the Datadog API',
    });
  });

  test('a request that hangs times out as a retryable failure', async () => {
    respond = () => 'hang';
    expect(await failureOf(activities(url, 200).collectDatadogEvidence(monitorsOnly()))).toMatchObject({
      nonRetryable: false,
      type: 'HttpTimeout',
    });
  });

  test('an answer over the size bound is refused without buffering it', async () => {
    respond = () => ({ status: 200, body: '[]', headers: { 'content-length': String(64 * 1024 * 1024) } });
    expect(await failureOf(activities(url).collectDatadogEvidence(monitorsOnly()))).toMatchObject({
      nonRetryable: true,
      type: 'MalformedResponse',
    });
  });
});
