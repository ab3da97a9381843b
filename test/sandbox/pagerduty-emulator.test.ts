import { fileURLToPath } from 'node:url';
import { buildScenario, loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';

const CRASHLOOP = fileURLToPath(new URL('../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const TOKEN = 'pd-sandbox-token-abcdef';
const ACCEPT = 'application/vnd.pagerduty+json;version=2';
const NOW = Date.parse('2025-03-01T12:00:00Z');

let scenario: Scenario;
let pd: PagerDutyEmulator;

beforeAll(async () => {
  scenario = await loadScenario(CRASHLOOP, { now: NOW });
  pd = await startPagerDutyEmulator({ scenario, token: TOKEN });
});
afterAll(() => pd.close());
afterEach(() => pd.setFault(null));

async function get(path: string, init: { authorization?: string | null; accept?: string | null; method?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.authorization !== null) headers['Authorization'] = init.authorization ?? `Token token=${TOKEN}`;
  if (init.accept !== null) headers['Accept'] = init.accept ?? ACCEPT;
  const res = await fetch(`${pd.url}${path}`, { method: init.method ?? 'GET', headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('GET /incidents/{id}', () => {
  test('answers the documented REST shape', async () => {
    const { status, body } = await get('/incidents/Q1CHECKOUT1');
    expect(status).toBe(200);
    expect(body.incident).toMatchObject({
      id: 'Q1CHECKOUT1',
      type: 'incident',
      summary: '[#4211] checkout-api 5xx rate above 5%',
      self: `${pd.url}/incidents/Q1CHECKOUT1`,
      html_url: 'https://keyless-sandbox.pagerduty.com/incidents/Q1CHECKOUT1',
      incident_number: 4211,
      title: 'checkout-api 5xx rate above 5%',
      status: 'triggered',
      urgency: 'high',
      created_at: '2025-03-01T11:55:00Z',
      service: { id: 'PCHKOUT', type: 'service_reference', summary: 'checkout', self: `${pd.url}/services/PCHKOUT` },
      alert_counts: { all: 2, triggered: 2, resolved: 0 },
      escalation_policy: { id: 'PEPCHK1', type: 'escalation_policy_reference' },
      assignments: [{ assignee: { id: 'PUSRONC', type: 'user_reference' } }],
      priority: { id: 'PPRIO01', type: 'priority_reference', summary: 'P1' },
    });
    // REST says incident_number; `number` is the webhook's name for it.
    expect(body.incident.number).toBeUndefined();
  });

  test('the incident number works as the id too', async () => {
    expect((await get('/incidents/4211')).body.incident.id).toBe('Q1CHECKOUT1');
  });

  test('unknown incident → 404 in the PagerDuty error shape', async () => {
    const { status, body } = await get('/incidents/PNOPE99');
    expect(status).toBe(404);
    expect(body).toEqual({ error: { message: 'Not Found', code: 2100 } });
  });

  test.each([
    ['Token token', `Token token=${TOKEN}`, 200],
    ['Bearer (OAuth)', `Bearer ${TOKEN}`, 200],
    ['wrong token', 'Token token=nope', 401],
    ['bare token', TOKEN, 401],
    ['basic', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, 401],
    ['missing', null, 401],
  ])('authorization %s → %i', async (_what, authorization, expected) => {
    const { status, body } = await get('/incidents/Q1CHECKOUT1', { authorization });
    expect(status).toBe(expected);
    if (expected === 401) expect(body).toEqual({ error: { message: 'Unauthorized', code: 2006 } });
  });

  test.each([
    [ACCEPT, 200],
    ['application/json', 200],
    [null, 200],
    ['application/vnd.pagerduty+json;version=1', 400],
    ['text/html', 406],
  ])('Accept %s → %i', async (accept, expected) => {
    expect((await get('/incidents/Q1CHECKOUT1', { accept })).status).toBe(expected);
  });

  test('writes are refused: the sandbox key is read-only', async () => {
    const { status, body } = await get('/incidents/Q1CHECKOUT1', { method: 'PUT' });
    expect(status).toBe(403);
    expect(body.error).toMatchObject({ message: 'Access Denied', code: 2010 });
  });
});

describe('GET /incidents/{id}/alerts', () => {
  let many: PagerDutyEmulator;
  beforeAll(async () => {
    const alerts = Array.from({ length: 45 }, (_, i) => ({
      id: `PAL${String(i).padStart(4, '0')}`,
      status: i % 3 === 0 ? 'resolved' : 'triggered',
      severity: 'warning',
      summary: `alert ${i}`,
      created_at: `\${now-${45 - i}m}`,
    }));
    const s = buildScenario({ ...scenario, pagerduty: { incident: scenario.pagerduty.incident, alerts } }, { now: NOW });
    many = await startPagerDutyEmulator({ scenario: s, token: TOKEN });
  });
  afterAll(() => many.close());

  async function alertsPage(query: string) {
    const res = await fetch(`${many.url}/incidents/Q1CHECKOUT1/alerts?${query}`, { headers: { Authorization: `Token token=${TOKEN}`, Accept: ACCEPT } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('the scenario alerts come back in the documented shape', async () => {
    const { status, body } = await get('/incidents/Q1CHECKOUT1/alerts');
    expect(status).toBe(200);
    expect(body).toMatchObject({ limit: 25, offset: 0, more: false, total: null });
    expect(body.alerts).toHaveLength(2);
    expect(body.alerts[0]).toMatchObject({
      id: 'QALRT5XXRATE1',
      type: 'alert',
      status: 'triggered',
      severity: 'critical',
      incident: { id: 'Q1CHECKOUT1', type: 'incident_reference' },
      service: { id: 'PCHKOUT', type: 'service_reference' },
      body: { type: 'alert_body', details: { alertname: 'CheckoutApiHigh5xxRatio' }, cef_details: { source_origin: 'prometheus/eu-west-1' } },
    });
  });

  test('limit/offset paginate; total only when asked', async () => {
    const first = await alertsPage('limit=20&offset=0&total=true');
    expect(first.body).toMatchObject({ limit: 20, offset: 0, more: true, total: 45 });
    expect(first.body.alerts).toHaveLength(20);
    const last = await alertsPage('limit=20&offset=40');
    expect(last.body).toMatchObject({ offset: 40, more: false, total: null });
    expect(last.body.alerts.map((a: { id: string }) => a.id)).toEqual(['PAL0040', 'PAL0041', 'PAL0042', 'PAL0043', 'PAL0044']);
  });

  test('limit is capped at 100, as on the real API', async () => {
    expect((await alertsPage('limit=500')).body.limit).toBe(100);
  });

  test('sort_by and statuses[] filter and order', async () => {
    const { body } = await alertsPage('sort_by=created_at:desc&statuses[]=resolved&limit=3&total=true');
    expect(body.total).toBe(15);
    expect(body.alerts.map((a: { id: string }) => a.id)).toEqual(['PAL0042', 'PAL0039', 'PAL0036']);
  });

  test.each(['limit=abc', 'limit=0', 'offset=-1', 'total=maybe', 'sort_by=severity', 'statuses[]=open', 'include[]=everything', 'offset=9950&limit=100'])(
    'bad query %s → 400 Invalid Input Provided',
    async (query) => {
      const { status, body } = await alertsPage(query);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ message: 'Invalid Input Provided', code: 2001, errors: [expect.any(String)] });
    },
  );

  test('alerts of an unknown incident → 404', async () => {
    expect((await get('/incidents/PNOPE99/alerts')).status).toBe(404);
  });
});

describe('faults', () => {
  test('429 with Retry-After, in the PagerDuty error shape, for the next N requests', async () => {
    pd.setFault({ status: 429, retryAfterSeconds: 30, times: 1 });
    const limited = await get('/incidents/Q1CHECKOUT1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(limited.body).toEqual({ error: { message: 'Rate Limit Exceeded', code: 2020 } });
    expect((await get('/incidents/Q1CHECKOUT1')).status).toBe(200);
  });

  test('a fault applies before auth, to every route', async () => {
    pd.setFault({ status: 500 });
    expect((await get('/incidents/Q1CHECKOUT1/alerts', { authorization: null })).status).toBe(500);
    expect((await get('/nowhere')).body.error).toMatchObject({ code: 2000 });
  });

  test('requests are counted', async () => {
    const before = pd.requests;
    await get('/incidents/Q1CHECKOUT1');
    await get('/incidents/Q1CHECKOUT1', { authorization: null });
    expect(pd.requests).toBe(before + 2);
  });
});
