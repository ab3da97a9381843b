// A request outside the policy is answered by the broker alone: 403 (or 404)
// with a JSON reason, an audit line marked denied, and nothing upstream —
// not even a token mint.
import { createWorld, expectNoSecrets, type World } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await createWorld();
});

afterAll(async () => {
  await expectNoSecrets(world);
  await world.close();
});

function upstreamRequestCount(): number {
  return world.github.requests.length + world.pagerduty.requests.length + world.datadog.requests.length + world.slack.requests.length;
}

test.each([
  ['DELETE', '/github/repos/acme/checkout/issues/1', 'method not allowed'],
  ['GET', '/github/repos/acme/checkout/pulls', 'path not allowed'],
  ['POST', '/github/repos/other-org/checkout/issues', 'repository not allowlisted'],
  ['GET', '/github/../pagerduty/incidents/Q1', 'path traversal'],
  ['GET', '/github/repos/acme/checkout/issues/../../../other/repo/issues', 'path traversal'],
  ['GET', '/github/repos/acme/%2e%2e/issues', 'encoded characters in path'],
  ['GET', '/github/repos/acme%2Fcheckout/issues', 'encoded characters in path'],
  ['GET', '/pagerduty/users', 'path not allowed'],
  ['POST', '/pagerduty/incidents/Q1CHECKOUT1/notes', 'path not allowed'],
  ['GET', '/datadog/api/v1/dashboard', 'path not allowed'],
  ['POST', '/slack/api/admin.users.invite', 'path not allowed'],
])('%s %s → 403 %s, audited, nothing upstream', async (method, path, reason) => {
  const before = upstreamRequestCount();
  const auditBefore = (await world.audit(0)).length;
  const reply = await world.call(method, path, {
    headers: { 'x-triage-id': 'triage-Q1CHECKOUT1', 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : '{"title":"x"}',
  });
  expect(reply.status).toBe(403);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(reply.json()).toEqual({ error: 'denied', reason });

  const lines = await world.audit(auditBefore + 1);
  expect(lines).toHaveLength(auditBefore + 1);
  expect(lines.at(-1)).toMatchObject({ method, decision: 'denied', reason, status: 403, triageId: 'triage-Q1CHECKOUT1', bytesIn: 0 });
  expect(lines.at(-1)!.credentialId).toBeUndefined();
  expect(upstreamRequestCount()).toBe(before);
});

test('unknown provider and unknown root paths → 404 JSON, audited as denied', async () => {
  const before = upstreamRequestCount();
  const aws = await world.call('GET', '/aws/sts?Action=GetCallerIdentity');
  expect(aws.status).toBe(404);
  expect(aws.json()).toEqual({ error: 'not found', reason: 'unknown provider' });
  const root = await world.call('GET', '/');
  expect(root.status).toBe(404);
  const lines = await world.audit(0);
  expect(lines.at(-2)).toMatchObject({ provider: 'aws', path: '/sts', decision: 'denied', status: 404 });
  expect(lines.at(-1)).toMatchObject({ decision: 'denied', status: 404 });
  expect(upstreamRequestCount()).toBe(before);
});

test('a provider missing from the config answers 404 and is audited', async () => {
  const only = await createWorld({
    configOverrides: { providers: { slack: { upstream: world.slack.url, botTokenFile: 'slack-bot-token' } } },
  });
  try {
    const before = only.github.requests.length;
    const reply = await only.call('GET', '/github/repos/acme/checkout/issues');
    expect(reply.status).toBe(404);
    expect(reply.json()).toEqual({ error: 'not found', reason: 'provider not configured' });
    expect((await only.audit(1)).at(-1)).toMatchObject({ provider: 'github', decision: 'denied', reason: 'provider not configured' });
    expect(only.github.requests.length).toBe(before);
    expect((await only.call('GET', '/healthz')).json()).toEqual({ status: 'ok', providers: { slack: 'ready' } });
  } finally {
    await only.close();
  }
});

test('the query string never reaches the audit line, allowed or denied', async () => {
  await world.call('GET', '/github/repos/acme/checkout/issues?labels=sensitive-value-1');
  await world.call('GET', '/github/repos/acme/checkout/issues?q=sensitive-value-2');
  const text = JSON.stringify(await world.audit(0));
  expect(text).not.toContain('sensitive-value');
});

test('CONNECT (a tunnel to anywhere) is refused with 403 and audited', async () => {
  const { request } = await import('node:http');
  const url = new URL(world.broker.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'CONNECT',
      path: 'api.github.com:443',
      headers: { 'x-triage-id': 'triage-tunnel' },
    });
    req.on('connect', (res) => resolve(res.statusCode ?? 0));
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(403);
  expect((await world.audit(0)).at(-1)).toMatchObject({
    method: 'CONNECT',
    path: 'api.github.com:443',
    decision: 'denied',
    status: 403,
    triageId: 'triage-tunnel',
  });
});

test('an Upgrade request is handled as a plain request: the upgrade is not forwarded', async () => {
  const reply = await world.call('POST', '/slack/api/chat.getPermalink', { headers: { connection: 'upgrade', upgrade: 'websocket' } });
  expect(reply.status).toBe(200);
  const seen = world.slack.requests.at(-1)!.headers;
  expect(seen.upgrade).toBeUndefined();
  expect(seen.connection).not.toMatch(/upgrade/i);
});
