// Secrets come from files that Kubernetes may rotate at any time: the broker
// picks up a new value on the next request, answers 503 naming the *path*
// when a file is missing or empty, and never shows a value anywhere.
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretFile } from '../../broker/secret-file.js';
import { createWorld, expectNoSecrets, randomSecret, type World } from './harness.js';

let world: World;

beforeEach(async () => {
  world = await createWorld();
});

afterEach(async () => {
  await expectNoSecrets(world);
  await world.close();
});

async function swap(path: string, value: string): Promise<void> {
  const staged = join(world.dir, `staged-${Math.random().toString(16).slice(2)}`);
  await writeFile(staged, `${value}\n`);
  await rename(staged, path);
}

test('a rotated Slack bot token is used on the next request, and its audit id changes', async () => {
  await world.call('POST', '/slack/api/chat.getPermalink');
  const rotated = randomSecret('xoxb-rotated-');
  await swap(world.files.slackToken, rotated);
  world.secrets.slackBotToken = rotated;
  await world.call('POST', '/slack/api/chat.getPermalink');
  expect(world.slack.requests.map((r) => r.headers.authorization)).toEqual([expect.not.stringContaining(rotated), `Bearer ${rotated}`]);
  const [first, second] = (await world.audit(2)).map((l) => l.credentialId);
  expect(first).toMatch(/^slack-bot:[0-9a-f]{12}$/);
  expect(second).toMatch(/^slack-bot:[0-9a-f]{12}$/);
  expect(second).not.toBe(first);
});

test('a rotated Datadog application key is picked up without a restart (rewritten in place too)', async () => {
  await world.call('GET', '/datadog/api/v1/monitor');
  const rotated = randomSecret('ddapp');
  // Written in place rather than swapped: the mtime/size check still catches it.
  await writeFile(world.files.ddAppKey, rotated);
  world.secrets.datadogAppKey = rotated;
  await world.call('GET', '/datadog/api/v1/monitor');
  expect(world.datadog.requests.at(-1)!.headers['dd-application-key']).toBe(rotated);
  expect(world.datadog.requests.at(-1)!.headers['dd-api-key']).toBe(world.secrets.datadogApiKey);
});

test('a missing secret file → 503 naming the path, for that provider only; it recovers when the file returns', async () => {
  await rm(world.files.ddApiKey);
  const reply = await world.call('POST', '/datadog/api/v2/query/timeseries', { body: '{}', headers: { 'x-triage-id': 'triage-Q9' } });
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({
    error: 'credential unavailable',
    reason: `cannot read Datadog API key file ${world.files.ddApiKey} (ENOENT)`,
  });
  expect(world.datadog.requests).toHaveLength(0);
  expect((await world.audit(1)).at(-1)).toMatchObject({ provider: 'datadog', status: 503, triageId: 'triage-Q9', decision: 'allowed' });
  expect((await world.call('GET', '/healthz')).json()).toEqual({
    status: 'ok',
    providers: {
      github: 'ready',
      pagerduty: 'ready',
      datadog: `unavailable: cannot read Datadog API key file ${world.files.ddApiKey} (ENOENT)`,
      slack: 'ready',
    },
  });
  expect((await world.call('POST', '/slack/api/chat.getPermalink')).status).toBe(200);

  await swap(world.files.ddApiKey, world.secrets.datadogApiKey);
  expect((await world.call('POST', '/datadog/api/v2/query/timeseries', { body: '{}' })).status).toBe(200);
});

test('an empty secret file → 503 "is empty"', async () => {
  await writeFile(world.files.slackToken, '\n');
  const reply = await world.call('POST', '/slack/api/chat.getPermalink');
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({ error: 'credential unavailable', reason: `Slack bot token file ${world.files.slackToken} is empty` });
});

test('SecretFile: trims, caches by stat, versions by content', async () => {
  const path = join(world.dir, 'unit-secret');
  await writeFile(path, '  first-value \n');
  const file = new SecretFile(path, 'unit secret');
  expect(await file.read()).toEqual({ value: 'first-value', version: 1 });
  expect(await file.read()).toEqual({ value: 'first-value', version: 1 });
  await swap(path, 'first-value'); // new inode, same content: same version
  expect(await file.read()).toEqual({ value: 'first-value', version: 1 });
  await swap(path, 'second-value');
  expect(await file.read()).toEqual({ value: 'second-value', version: 2 });
});
