// The broker's read-only probes: `/readyz` for the kubelet and `triage doctor`,
// `/_broker/status` for which providers and how many routes are loaded. Neither
// names a credential id or value, calls upstream, or writes an audit line.
import { rm } from 'node:fs/promises';
import { createWorld, expectNoSecrets, type World } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

test('/readyz is 200 with every provider ready', async () => {
  const reply = await world.call('GET', '/readyz');
  expect(reply.status).toBe(200);
  expect(reply.headers['cache-control']).toBe('no-store');
  expect(reply.json()).toEqual({ status: 'ready', providers: { github: 'ready', pagerduty: 'ready', datadog: 'ready', slack: 'ready' } });
});

test('/_broker/status lists the loaded providers with their route counts, never a credential id', async () => {
  const upstreamBefore = world.github.requests.length + world.pagerduty.requests.length;
  const reply = await world.call('GET', '/_broker/status');
  expect(reply.status).toBe(200);
  expect(reply.json()).toEqual({
    status: 'ready',
    providers: {
      github: { readiness: 'ready', routes: 4, repos: 1 },
      pagerduty: { readiness: 'ready', routes: 2 },
      datadog: { readiness: 'ready', routes: 3 },
      slack: { readiness: 'ready', routes: 4 },
    },
  });
  expect(reply.text).not.toMatch(/github-app:|pagerduty-oauth:|datadog:api-key|slack-bot:/);
  expect(world.github.requests.length + world.pagerduty.requests.length).toBe(upstreamBefore);
  await expectNoSecrets(world);
});

test('probes take GET and HEAD only, and write no audit line', async () => {
  const before = (await world.audit(0)).length;
  expect((await world.call('HEAD', '/readyz')).status).toBe(200);
  const post = await world.call('POST', '/_broker/status', { body: '{}' });
  expect(post.status).toBe(405);
  expect(post.headers.allow).toBe('GET, HEAD');
  expect((await world.call('DELETE', '/readyz')).status).toBe(405);
  expect((await world.call('GET', '/_broker/status?verbose=1')).status).toBe(200);
  expect((await world.audit(0)).length).toBe(before);
});

test('a provider whose secret is gone makes /readyz 503 and /_broker/status say why, by file path only', async () => {
  const other = await createWorld();
  try {
    await rm(other.files.slackToken);
    const ready = await other.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not ready',
      providers: { slack: expect.stringMatching(/^unavailable: .*slack-bot-token.*ENOENT/), github: 'ready' },
    });
    const status = await other.call('GET', '/_broker/status');
    expect(status.status).toBe(200);
    expect(status.json()).toMatchObject({
      status: 'not ready',
      providers: { slack: { readiness: expect.stringMatching(/^unavailable: /), routes: 4 } },
    });
    await expectNoSecrets(other);
  } finally {
    await other.close();
  }
});

test('only the configured providers are listed', async () => {
  const only = await createWorld({
    configOverrides: { providers: { slack: { upstream: world.slack.url, botTokenFile: 'slack-bot-token' } } },
  });
  try {
    expect((await only.call('GET', '/_broker/status')).json()).toEqual({
      status: 'ready',
      providers: { slack: { readiness: 'ready', routes: 4 } },
    });
    expect((await only.call('GET', '/readyz')).json()).toEqual({ status: 'ready', providers: { slack: 'ready' } });
  } finally {
    await only.close();
  }
});
