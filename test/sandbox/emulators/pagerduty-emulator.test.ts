import { fileURLToPath } from 'node:url';
import { buildScenario, loadScenario, type Scenario } from '../../../sandbox/scenario.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../../sandbox/emulators/pagerduty.js';

const CRASHLOOP = fileURLToPath(new URL('../../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
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
    const res = await fetch(`${many.url}/incidents/Q1CHECKOUT1/alerts?${query}`, {
      headers: { Authorization: `Token token=${TOKEN}`, Accept: ACCEPT },
    });
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
      body: {
        type: 'alert_body',
        details: { alertname: 'CheckoutApiHigh5xxRatio' },
        cef_details: { source_origin: 'prometheus/eu-west-1' },
      },
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

  test.each([
    'limit=abc',
    'limit=0',
    'offset=-1',
    'total=maybe',
    'sort_by=severity',
    'statuses[]=open',
    'include[]=everything',
    'offset=9950&limit=100',
  ])('bad query %s → 400 Invalid Input Provided', async (query) => {
    const { status, body } = await alertsPage(query);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ message: 'Invalid Input Provided', code: 2001, errors: [expect.any(String)] });
  });

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

describe('scoped OAuth (client-credentials grant)', () => {
  const CLIENT_ID = 'sandbox-client-0123';
  const CLIENT_SECRET = 'sandbox-secret-4567';
  const SCOPE = 'as_account-us.sandbox incidents.read';
  const started: PagerDutyEmulator[] = [];
  let oauthPd: PagerDutyEmulator;

  async function startOAuth(
    extra: Partial<NonNullable<Parameters<typeof startPagerDutyEmulator>[0]['oauth']>> = {},
    more: { token?: string; now?: () => number } = {},
  ) {
    const e = await startPagerDutyEmulator({ scenario, oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...extra }, ...more });
    started.push(e);
    return e;
  }

  beforeAll(async () => {
    oauthPd = await startOAuth();
  });
  afterAll(() => Promise.all(started.map((e) => e.close())));

  async function grant(
    target: PagerDutyEmulator,
    params: Record<string, string | string[]>,
    contentType = 'application/x-www-form-urlencoded',
  ) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    const res = await fetch(`${target.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: form.toString(),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  }

  const credentials = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET };

  async function read(target: PagerDutyEmulator, authorization: string, method = 'GET') {
    const res = await fetch(`${target.url}/incidents/Q1CHECKOUT1`, { method, headers: { Authorization: authorization, Accept: ACCEPT } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('grants a bearer token in the documented shape, which then reads the incident', async () => {
    const { status, headers, body } = await grant(oauthPd, { ...credentials, scope: SCOPE });
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^pdus\+_0[A-F0-9]{6}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      scope: SCOPE,
      token_type: 'bearer',
      expires_in: 86_400,
    });
    expect(headers.get('cache-control')).toBe('no-store');
    expect(oauthPd.issuedTokens()).toContain(body.access_token);
    expect((await read(oauthPd, `Bearer ${body.access_token}`)).status).toBe(200);
    // An OAuth token is a bearer credential; the API-key form does not carry it.
    expect((await read(oauthPd, `Token token=${body.access_token}`)).status).toBe(401);
    expect((await read(oauthPd, `Bearer ${body.access_token}x`)).status).toBe(401);
  });

  test('each grant is a new token', async () => {
    const a = (await grant(oauthPd, { ...credentials, scope: SCOPE })).body.access_token;
    const b = (await grant(oauthPd, { ...credentials, scope: SCOPE })).body.access_token;
    expect(a).not.toBe(b);
  });

  test.each([
    ['a wrong secret', { ...credentials, client_secret: 'nope', scope: SCOPE }, 401, 'invalid_client'],
    ['an unknown client', { ...credentials, client_id: 'someone-else', scope: SCOPE }, 401, 'invalid_client'],
    ['no secret', { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: SCOPE }, 401, 'invalid_client'],
    ['no grant_type', { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: SCOPE }, 400, 'invalid_request'],
    ['another grant type', { ...credentials, grant_type: 'authorization_code', scope: SCOPE }, 400, 'unsupported_grant_type'],
    ['no account scope', { ...credentials, scope: 'incidents.read' }, 400, 'invalid_request'],
    ['no scope at all', credentials, 400, 'invalid_request'],
    ['two accounts', { ...credentials, scope: 'as_account-us.a as_account-us.b incidents.read' }, 400, 'invalid_request'],
    ['an unknown region', { ...credentials, scope: 'as_account-xx.sandbox incidents.read' }, 400, 'invalid_request'],
    ['a malformed scope', { ...credentials, scope: 'as_account-us.sandbox incidents' }, 400, 'invalid_request'],
    ['a repeated parameter', { ...credentials, client_secret: [CLIENT_SECRET, CLIENT_SECRET], scope: SCOPE }, 400, 'invalid_request'],
  ])('%s → %i %s', async (_what, params, status, error) => {
    const before = oauthPd.issuedTokens().length;
    const res = await grant(oauthPd, params);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error, error_description: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain(CLIENT_SECRET);
    expect(oauthPd.issuedTokens()).toHaveLength(before);
  });

  test('a JSON body is refused: the grant is form-encoded', async () => {
    const res = await fetch(`${oauthPd.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...credentials, scope: SCOPE }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  test('PagerDuty may grant fewer scopes than asked; the response says which', async () => {
    const narrowing = await startOAuth({ grantedScopes: ['incidents.read'] });
    const { body } = await grant(narrowing, { ...credentials, scope: 'as_account-us.sandbox incidents.read incidents.write' });
    expect(body.scope).toBe('as_account-us.sandbox incidents.read');
  });

  test('a token without incidents.read gets 403 Token missing required scopes', async () => {
    const narrowing = await startOAuth({ grantedScopes: ['services.read'] });
    const { body } = await grant(narrowing, { ...credentials, scope: 'as_account-us.sandbox incidents.read services.read' });
    expect(body.scope).toBe('as_account-us.sandbox services.read');
    const res = await read(narrowing, `Bearer ${body.access_token}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { message: 'Token missing required scopes', required_scopes: 'incidents.read' } });
    const alerts = await fetch(`${narrowing.url}/incidents/Q1CHECKOUT1/alerts`, {
      headers: { Authorization: `Bearer ${body.access_token}` },
    });
    expect(alerts.status).toBe(403);
  });

  test('writing needs incidents.write; with it, the sandbox is still read-only', async () => {
    const readOnly = (await grant(oauthPd, { ...credentials, scope: SCOPE })).body.access_token;
    expect((await read(oauthPd, `Bearer ${readOnly}`, 'PUT')).body).toEqual({
      error: { message: 'Token missing required scopes', required_scopes: 'incidents.write' },
    });
    const writer = (await grant(oauthPd, { ...credentials, scope: `${SCOPE} incidents.write` })).body.access_token;
    expect((await read(oauthPd, `Bearer ${writer}`, 'PUT')).body.error).toMatchObject({ message: 'Access Denied', code: 2010 });
  });

  test('a token stops working when it expires: 401, and the client mints another', async () => {
    let skewMs = 0;
    const shortLived = await startOAuth({ tokenTtlSeconds: 60 }, { now: () => Date.now() + skewMs });
    const { body } = await grant(shortLived, { ...credentials, scope: SCOPE });
    expect(body.expires_in).toBe(60);
    expect((await read(shortLived, `Bearer ${body.access_token}`)).status).toBe(200);
    skewMs = 60_000;
    expect((await read(shortLived, `Bearer ${body.access_token}`)).body).toEqual({ error: { message: 'Unauthorized', code: 2006 } });
  });

  test('with an account configured, a token for another account is refused', async () => {
    const pinned = await startOAuth({ account: 'us.sandbox' });
    expect((await grant(pinned, { ...credentials, scope: SCOPE })).status).toBe(200);
    expect((await grant(pinned, { ...credentials, scope: 'as_account-eu.sandbox incidents.read' })).status).toBe(400);
  });

  test('the static key keeps working next to OAuth', async () => {
    const both = await startOAuth({}, { token: TOKEN });
    expect((await read(both, `Token token=${TOKEN}`)).status).toBe(200);
    const { body } = await grant(both, { ...credentials, scope: SCOPE });
    expect((await read(both, `Bearer ${body.access_token}`)).status).toBe(200);
  });

  test('without the OAuth option the token endpoint refuses every client', async () => {
    const res = await fetch(`${pd.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...credentials, scope: SCOPE }).toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  test('REST faults leave the token endpoint (another service in production) alone', async () => {
    oauthPd.setFault({ status: 503 });
    try {
      const { status, body } = await grant(oauthPd, { ...credentials, scope: SCOPE });
      expect(status).toBe(200);
      expect((await read(oauthPd, `Bearer ${body.access_token}`)).status).toBe(503);
    } finally {
      oauthPd.setFault(null);
    }
  });

  test('GET /_sandbox/issued-tokens lists every token for leak scans, without auth', async () => {
    const res = await fetch(`${oauthPd.url}/_sandbox/issued-tokens`);
    expect(res.status).toBe(200);
    const { tokens } = (await res.json()) as { tokens: string[] };
    expect(tokens).toEqual(oauthPd.issuedTokens());
    expect(tokens.length).toBeGreaterThan(3);
  });

  test.each([
    ['neither a key nor an OAuth client', {}],
    ['an empty client secret', { oauth: { clientId: 'a', clientSecret: '' } }],
    ['a granted scope that is not a scope', { oauth: { clientId: 'a', clientSecret: 'b', grantedScopes: ['everything'] } }],
    ['an account without a region', { oauth: { clientId: 'a', clientSecret: 'b', account: 'sandbox' } }],
  ])('refuses to start with %s', async (_what, opts) => {
    await expect(startPagerDutyEmulator({ scenario, ...opts })).rejects.toThrow();
  });
});
