// Each provider's credential is added on the way out, whatever credential
// the caller tried to send, and the audit line names it without its value.
import { APPROVED_WRITES, createWorld, expectNoSecrets, INSTALLATION_ID, APP_ID, type World } from './harness.js';

const CALLER_CREDENTIALS = {
  authorization: 'Bearer caller-supplied-token',
  cookie: 'session=caller-cookie',
  'dd-api-key': 'caller-dd-api-key',
  'dd-application-key': 'caller-dd-app-key',
  'proxy-authorization': 'Basic Y2FsbGVyOnBhc3M=',
};

let world: World;

beforeAll(async () => {
  world = await createWorld();
});

afterAll(async () => {
  await expectNoSecrets(world);
  await world.close();
});

test('github: an App installation token replaces the caller Authorization', async () => {
  const reply = await world.call('GET', '/github/repos/acme/checkout/issues?labels=triage-key&state=all&per_page=100', {
    headers: { ...CALLER_CREDENTIALS, 'x-triage-id': 'triage-Q1CHECKOUT1' },
  });
  expect(reply.status).toBe(200);
  expect(world.github.issued).toHaveLength(1);
  expect(world.github.rejectedMints).toEqual([]);
  expect(world.github.issueAuthorizations).toEqual([`token ${world.github.issued[0]!.token}`]);

  const seen = world.github.requests.find((r) => r.url.startsWith('/repos/'))!;
  expect(seen.url).toBe('/repos/acme/checkout/issues?labels=triage-key&state=all&per_page=100');
  expect(seen.headers.cookie).toBeUndefined();
  expect(seen.headers['dd-api-key']).toBeUndefined();
  expect(seen.headers['proxy-authorization']).toBeUndefined();
  expect(seen.headers['x-triage-id']).toBeUndefined();
  expect(seen.headers.host).toBe(`127.0.0.1:${world.github.port}`);
  expect(seen.headers['user-agent']).toMatch(/keyless-triage-broker/);

  const [line] = await world.audit(1);
  expect(line).toMatchObject({
    provider: 'github',
    method: 'GET',
    path: '/repos/acme/checkout/issues',
    decision: 'allowed',
    credentialId: `github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:acme/checkout`,
    triageId: 'triage-Q1CHECKOUT1',
    status: 200,
    upstreamStatus: 200,
  });
  expect(JSON.stringify(line)).not.toContain('triage-key');
});

test('github: POST and PATCH issue routes carry the token and the request body', async () => {
  const created = await world.call('POST', '/github/repos/ACME/Checkout/issues', {
    headers: { 'content-type': 'application/json', authorization: 'token stolen', 'x-triage-id': 'triage-Q1' },
    body: APPROVED_WRITES.create,
  });
  expect(created.status).toBe(201);
  const post = world.github.requests.filter((r) => r.method === 'POST' && r.url.includes('/issues')).at(-1)!;
  expect(post.body).toBe(APPROVED_WRITES.create);
  expect(post.headers.authorization).toBe(`token ${world.github.issued.at(-1)!.token}`);

  const patched = await world.call('PATCH', '/github/repos/acme/checkout/issues/17', {
    headers: { 'content-type': 'application/json', 'x-triage-id': 'triage-Q1' },
    body: APPROVED_WRITES.edit,
  });
  expect(patched.status).toBe(200);
});

test('pagerduty: an OAuth bearer token and the v2 Accept header', async () => {
  const reply = await world.call('GET', '/pagerduty/incidents/Q1CHECKOUT1', { headers: CALLER_CREDENTIALS });
  expect(reply.status).toBe(200);
  expect(reply.json()).toEqual({ incident: { id: 'Q1CHECKOUT1', incident_number: 42 } });
  const seen = world.pagerduty.requests.at(-1)!;
  expect(seen.headers.authorization).toBe(`Bearer ${world.pagerduty.tokens.at(-1)}`);
  expect(seen.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
  expect(seen.headers.cookie).toBeUndefined();

  // A caller's own Accept wins.
  await world.call('GET', '/pagerduty/incidents/Q1CHECKOUT1/alerts', { headers: { accept: 'application/json' } });
  expect(world.pagerduty.requests.at(-1)!.headers.accept).toBe('application/json');

  const lines = await world.audit(0);
  const pd = lines.filter((l) => l.provider === 'pagerduty');
  expect(pd[0]!.credentialId).toMatch(/^pagerduty-oauth:[0-9a-f]{12}$/);
  expect(pd[0]!.credentialId).not.toContain(world.secrets.pagerdutyClientId);
  // One grant at start, reused for both calls.
  expect(world.pagerduty.grants).toHaveLength(1);
});

test('datadog: both keys from their files, the caller keys dropped', async () => {
  const body = JSON.stringify({ data: { type: 'timeseries_request', attributes: { from: 1, to: 2, queries: [] } } });
  const reply = await world.call('POST', '/datadog/api/v2/query/timeseries', {
    headers: { ...CALLER_CREDENTIALS, 'content-type': 'application/json' },
    body,
  });
  expect(reply.status).toBe(200);
  const seen = world.datadog.requests.at(-1)!;
  expect(seen.headers['dd-api-key']).toBe(world.secrets.datadogApiKey);
  expect(seen.headers['dd-application-key']).toBe(world.secrets.datadogAppKey);
  expect(seen.headers.authorization).toBeUndefined();
  expect(seen.body).toBe(body);
  const line = (await world.audit(0)).filter((l) => l.provider === 'datadog').at(-1)!;
  expect(line.credentialId).toMatch(/^datadog:api-key:[0-9a-f]{12}\/app-key:[0-9a-f]{12}$/);
  expect(line.bytesIn).toBe(Buffer.byteLength(body));
  expect(line.bytesOut).toBe(Buffer.byteLength(reply.text));
});

test('slack: the bot token as a bearer token', async () => {
  const reply = await world.call('POST', '/slack/api/chat.getPermalink', {
    headers: { ...CALLER_CREDENTIALS, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ channel: 'C0INCIDENTS', text: 'hello' }),
  });
  expect(reply.status).toBe(200);
  const seen = world.slack.requests.at(-1)!;
  expect(seen.headers.authorization).toBe(`Bearer ${world.secrets.slackBotToken}`);
  expect(seen.headers['dd-api-key']).toBeUndefined();
  expect(seen.headers.cookie).toBeUndefined();

  // WebClient's form-encoded POST, as the channel lookup sends it: the body goes up unchanged.
  const form = 'types=public_channel&exclude_archived=true&limit=200';
  await world.call('POST', '/slack/api/conversations.list', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  expect(world.slack.requests.at(-1)).toMatchObject({ method: 'POST', url: '/api/conversations.list', body: form });
  expect(world.slack.requests.at(-1)!.headers.authorization).toBe(`Bearer ${world.secrets.slackBotToken}`);
});

test('X-Triage-Id: recorded when well-formed, "invalid" otherwise, null when absent', async () => {
  await world.call('POST', '/slack/api/chat.getPermalink', { headers: { 'x-triage-id': 'triage-Q1:attempt.2' } });
  await world.call('POST', '/slack/api/chat.getPermalink', { headers: { 'x-triage-id': 'bad id with spaces' } });
  await world.call('POST', '/slack/api/chat.getPermalink');
  const lines = (await world.audit(0)).filter((l) => l.path === '/api/chat.getPermalink').slice(-3);
  expect(lines.map((l) => l.triageId)).toEqual(['triage-Q1:attempt.2', 'invalid', null]);
});

test('healthz reports each configured provider without calling upstream', async () => {
  const before = world.github.requests.length + world.pagerduty.requests.length;
  const reply = await world.call('GET', '/healthz');
  expect(reply.status).toBe(200);
  expect(reply.json()).toEqual({ status: 'ok', providers: { github: 'ready', pagerduty: 'ready', datadog: 'ready', slack: 'ready' } });
  expect(world.github.requests.length + world.pagerduty.requests.length).toBe(before);
});

test('every audit line has the documented shape', async () => {
  const lines = await world.audit(0);
  expect(lines.length).toBeGreaterThan(5);
  for (const line of lines) {
    expect(Object.keys(line)).toEqual(
      expect.arrayContaining(['time', 'provider', 'method', 'path', 'decision', 'triageId', 'status', 'bytesIn', 'bytesOut', 'durationMs']),
    );
    expect(new Date(line.time).toISOString()).toBe(line.time);
    expect(line.path).not.toContain('?');
    expect(typeof line.durationMs).toBe('number');
  }
});
