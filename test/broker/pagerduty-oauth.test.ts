// PagerDuty scoped OAuth: the client-credentials grant as PagerDuty documents
// it, a check of the scope it actually granted (PagerDuty narrows silently),
// refusal to start on a short grant, 503 while serving, and rotation.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerStartError, startBroker, type StartBrokerOptions } from '../../broker/broker.js';
import type { BrokerConfig } from '../../broker/config.js';
import { createWorld, expectNoSecrets, randomSecret, type World } from './harness.js';

let clock = Date.now();
const worlds: World[] = [];

async function world(options: Parameters<typeof createWorld>[0] = {}): Promise<World> {
  const w = await createWorld({ ...options, broker: { now: () => clock, ...options.broker } });
  worlds.push(w);
  return w;
}

/** The error startBroker rejects with; a broker that starts anyway is closed so a failing test cannot hang the run. */
async function startFailure(config: BrokerConfig, options: StartBrokerOptions): Promise<unknown> {
  try {
    const broker = await startBroker(config, options);
    await broker.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

beforeEach(() => {
  clock = Date.now();
});

afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await expectNoSecrets(w);
    await w.close();
  }
});

test('the grant is a form-encoded client-credentials request for the account and incidents.read', async () => {
  const w = await world();
  expect(w.pagerduty.grants).toHaveLength(1);
  const grantRequest = w.pagerduty.requests[0]!;
  expect(grantRequest.method).toBe('POST');
  expect(grantRequest.url).toBe('/oauth/token');
  expect(grantRequest.headers['content-type']).toBe('application/x-www-form-urlencoded');
  expect(w.pagerduty.grants[0]).toEqual({
    grant_type: 'client_credentials',
    client_id: w.secrets.pagerdutyClientId,
    client_secret: w.secrets.pagerdutyClientSecret,
    scope: 'as_account-us.acme incidents.read',
  });
});

test('startBroker refuses to start when PagerDuty narrows the grant', async () => {
  const w = await world({ noBroker: true });
  w.pagerduty.grantedScope = () => 'as_account-us.acme';
  expect(await startFailure(w.config, { log: w.logger })).toEqual(new BrokerStartError('pagerduty: granted scope lacks incidents.read'));
});

test('startBroker refuses to start when the grant itself fails, without echoing the secret', async () => {
  const w = await world({ noBroker: true });
  await writeFile(w.files.pdClientSecret, randomSecret('wrong-'));
  const err = (await startFailure(w.config, { log: w.logger })) as Error;
  expect(err).toBeInstanceOf(BrokerStartError);
  expect(err.message).toBe('pagerduty: token grant failed (HTTP 401)');
  // And the port is free again: nothing was left listening.
  expect(w.logs.some((l) => l.includes('broker listening'))).toBe(false);
});

test('a grant narrowed while serving → 503 for PagerDuty routes only, with the missing scope named', async () => {
  const w = await world();
  expect((await w.call('GET', '/pagerduty/incidents/Q1')).status).toBe(200);

  w.pagerduty.grantedScope = () => 'as_account-us.acme';
  clock += 24 * 60 * 60_000; // the day-long token is due for renewal
  const before = w.pagerduty.incidentAuthorizations.length;
  const reply = await w.call('GET', '/pagerduty/incidents/Q1', { headers: { 'x-triage-id': 'triage-Q1' } });
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({ error: 'credential unavailable', reason: 'granted scope lacks incidents.read' });
  expect(w.pagerduty.incidentAuthorizations.length).toBe(before);
  expect((await w.audit(2)).at(-1)).toMatchObject({
    provider: 'pagerduty',
    status: 503,
    reason: 'credential unavailable: granted scope lacks incidents.read',
    triageId: 'triage-Q1',
  });
  expect((await w.call('GET', '/healthz')).json()).toMatchObject({
    providers: { pagerduty: 'unavailable: granted scope lacks incidents.read', github: 'ready' },
  });
  expect((await w.call('POST', '/slack/api/chat.getPermalink')).status).toBe(200);
});

test('the token is reused for its lifetime and renewed shortly before expiry', async () => {
  const w = await world();
  w.pagerduty.expiresIn = 3600;
  clock += 24 * 60 * 60_000;
  await w.call('GET', '/pagerduty/incidents/Q1');
  expect(w.pagerduty.grants).toHaveLength(2);
  clock += 50 * 60_000;
  await w.call('GET', '/pagerduty/incidents/Q1');
  expect(w.pagerduty.grants).toHaveLength(2);
  clock += 6 * 60_000; // 4 minutes left: inside the renewal margin
  const reply = await w.call('GET', '/pagerduty/incidents/Q1');
  expect(reply.status).toBe(200);
  expect(w.pagerduty.grants).toHaveLength(3);
  expect(w.pagerduty.incidentAuthorizations.at(-1)).toBe(`Bearer ${w.pagerduty.tokens.at(-1)}`);
});

test('a rotated client secret is picked up without a restart', async () => {
  const w = await world();
  await w.call('GET', '/pagerduty/incidents/Q1');
  expect(w.pagerduty.grants).toHaveLength(1);

  const rotated = randomSecret('pdsecret-rotated-');
  w.secrets.pagerdutyClientSecret = rotated; // the fake now accepts only the new one
  const staged = join(w.dir, 'pd-secret.next');
  await writeFile(staged, `${rotated}\n`);
  await rename(staged, w.files.pdClientSecret);

  const reply = await w.call('GET', '/pagerduty/incidents/Q1');
  expect(reply.status).toBe(200);
  expect(w.pagerduty.grants).toHaveLength(2);
  expect(w.pagerduty.grants[1]!.client_secret).toBe(rotated);
});

test('failures are remembered for the retry interval instead of hammering the token endpoint', async () => {
  const w = await world({ broker: { credentialRetryMs: 30_000 } });
  w.pagerduty.grantedScope = () => 'as_account-us.acme';
  clock += 24 * 60 * 60_000;
  expect((await w.call('GET', '/pagerduty/incidents/Q1')).status).toBe(503);
  expect((await w.call('GET', '/pagerduty/incidents/Q1')).status).toBe(503);
  expect(w.pagerduty.grants).toHaveLength(2);
  w.pagerduty.grantedScope = (requested) => requested;
  clock += 31_000;
  expect((await w.call('GET', '/pagerduty/incidents/Q1')).status).toBe(200);
  expect(w.pagerduty.grants).toHaveLength(3);
});
