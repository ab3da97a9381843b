// The Slack flags of sandbox/emulators/main.ts, run as the stack launcher runs
// it: a child process, secrets in files, one JSON line, SIGTERM to stop; the
// compiled entry point from dist/ (make test builds it before the tests).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEmulators } from './emulators-process.js';
import { parse, stringify } from 'yaml';
import { BOT_TOKEN, SIGNING_SECRET, webClient } from './slack-fixtures.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SCENARIO = join(ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml');

let work: string;
const files: Record<string, string> = {};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'slack-main-'));
  const secret = (name: string, value: string) => {
    files[name] = join(work, name);
    writeFileSync(files[name], `${value}\n`, { mode: 0o600 });
  };
  secret('kube-token', 'kube-token-5d2e');
  secret('pd-token', 'pd-token-77aa');
  secret('slack-bot-token', BOT_TOKEN);
  secret('slack-signing-secret', SIGNING_SECRET);
  // The scenario without its slack section, for the defaults.
  const doc = parse(readFileSync(SCENARIO, 'utf8')) as Record<string, unknown>;
  delete doc.slack;
  files['no-slack.yaml'] = join(work, 'no-slack.yaml');
  writeFileSync(files['no-slack.yaml'], stringify(doc));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const baseArgs = (scenario = SCENARIO) => [
  '--scenario',
  scenario,
  '--kubernetes-token-file',
  files['kube-token']!,
  '--pagerduty-token-file',
  files['pd-token']!,
];
const slackArgs = () => [
  '--slack-bot-token-file',
  files['slack-bot-token']!,
  '--slack-signing-secret-file',
  files['slack-signing-secret']!,
];

test("with the Slack flags: slackUrl in the JSON line, the scenario's workspace, the gateway URL, the page; no secret printed", async () => {
  const proc = runEmulators([...baseArgs(), ...slackArgs(), '--slack-port', '0', '--gateway-url', 'http://127.0.0.1:8787']);
  try {
    const info = JSON.parse(await proc.firstLine) as Record<string, string>;
    expect(info.slackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = webClient(info.slackUrl!);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    const { channels } = await client.conversations.list({});
    expect(channels?.map((c) => c.name)).toEqual(['checkout-oncall', 'incidents']);
    const state = (await (await fetch(`${info.slackUrl}/_sandbox/state`)).json()) as { users: unknown[]; gatewayUrl: string };
    expect(state.users).toEqual([
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0BOB', name: 'bob' },
      { id: 'U0MALLORY', name: 'mallory' },
    ]);
    expect(state.gatewayUrl).toBe('http://127.0.0.1:8787');
    const page = await fetch(`${info.slackUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('aria-label="Acting user"');

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    for (const value of [BOT_TOKEN, SIGNING_SECRET]) expect(proc.output()).not.toContain(value);
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('a scenario without a slack section gets #incidents and alice, bob and mallory', async () => {
  const proc = runEmulators([...baseArgs(files['no-slack.yaml']), ...slackArgs()]);
  try {
    const info = JSON.parse(await proc.firstLine) as Record<string, string>;
    const state = (await (await fetch(`${info.slackUrl}/_sandbox/state`)).json()) as {
      channels: { name: string }[];
      users: { id: string }[];
      gatewayUrl: null;
    };
    expect(state.channels.map((c) => c.name)).toEqual(['incidents']);
    expect(state.users.map((u) => u.id)).toEqual(['U0ALICE', 'U0BOB', 'U0MALLORY']);
    expect(state.gatewayUrl).toBeNull();
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});

test('without the Slack flags there is no Slack emulator', async () => {
  const proc = runEmulators(baseArgs());
  try {
    expect(JSON.parse(await proc.firstLine)).not.toHaveProperty('slackUrl');
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});

test.each([
  ['the bot token without the signing secret', () => ['--slack-bot-token-file', files['slack-bot-token']!], /go together/],
  ['a gateway URL without Slack', () => ['--gateway-url', 'http://127.0.0.1:8787'], /--gateway-url needs the Slack emulator/],
  [
    'a gateway URL that is not http(s)',
    () => [...slackArgs(), '--gateway-url', 'file:///etc/passwd'],
    /--gateway-url must be an http\(s\) URL/,
  ],
  ['a bad port', () => [...slackArgs(), '--slack-port', '99999'], /--slack-port must be a port number/],
])('exits 1 on %s, printing no secret', async (_what, extra, message) => {
  const proc = runEmulators([...baseArgs(), ...extra()]);
  expect(await proc.exited).toBe(1);
  expect(proc.output()).toMatch(message);
  for (const value of [BOT_TOKEN, SIGNING_SECRET]) expect(proc.output()).not.toContain(value);
});
