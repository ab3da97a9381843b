// Runs sandbox/emulators/main.ts as the stack launcher does: a child process
// with flags and secret files, one JSON line on stdout, SIGTERM to stop; the
// compiled entry point from dist/ (make test builds it before the tests).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { runEmulators } from './emulators-process.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SCENARIO = join(ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml');

let work: string;
const secrets = {
  pagerdutyClientId: 'pd-client-id-7f3a',
  pagerdutyClientSecret: 'pd-client-secret-9b1c',
  kubernetesToken: 'kube-token-5d2e',
};
const files: Record<string, string> = {};
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'emulators-main-'));
  const secret = (name: string, value: string) => {
    const file = join(work, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    files[name] = file;
  };
  secret('pd-client-id', secrets.pagerdutyClientId);
  secret('pd-client-secret', secrets.pagerdutyClientSecret);
  secret('kube-token', secrets.kubernetesToken);
  files['app.pub.pem'] = join(work, 'app.pub.pem');
  writeFileSync(files['app.pub.pem'], keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const baseArgs = () => ['--scenario', SCENARIO, '--kubernetes-token-file', files['kube-token']!];

test('starts all three emulators, prints one JSON line with their URLs, and stops on SIGTERM', async () => {
  const proc = runEmulators([
    ...baseArgs(),
    '--pagerduty-client-id-file',
    files['pd-client-id']!,
    '--pagerduty-client-secret-file',
    files['pd-client-secret']!,
    '--github-app-id',
    '424242',
    '--github-installation-id',
    '4242',
    '--github-app-public-key-file',
    files['app.pub.pem']!,
  ]);
  try {
    const info = JSON.parse(await proc.firstLine) as Record<string, unknown>;
    expect(info).toEqual({
      pagerdutyUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      kubernetesUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      githubUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      // No --github-repo: the scenario's repository.
      githubRepos: ['acme/checkout'],
      scenario: 'crashloop-after-rollout',
    });

    // The PagerDuty OAuth client from the files works.
    const grant = await fetch(`${info.pagerdutyUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: secrets.pagerdutyClientId,
        client_secret: secrets.pagerdutyClientSecret,
        scope: 'as_account-us.sandbox incidents.read',
      }).toString(),
    });
    const { access_token: accessToken } = (await grant.json()) as { access_token: string };
    expect(
      (await fetch(`${info.pagerdutyUrl}/incidents/Q1CHECKOUT1`, { headers: { authorization: `Bearer ${accessToken}` } })).status,
    ).toBe(200);

    // The GitHub App key pair works, and the scenario's repository is installed.
    const octokit = new Octokit({
      baseUrl: info.githubUrl as string,
      authStrategy: createAppAuth,
      auth: { appId: '424242', privateKey: privatePem, installationId: 4242 },
    });
    const { data } = await octokit.rest.issues.create({ owner: 'acme', repo: 'checkout', title: 'from the process test' });
    expect(data.html_url.startsWith(info.githubUrl as string)).toBe(true);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    for (const value of [...Object.values(secrets), accessToken]) expect(proc.output()).not.toContain(value);
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('--github-repo (repeatable) sets the installation; the static PagerDuty key still works alone', async () => {
  const proc = runEmulators([
    ...baseArgs(),
    '--pagerduty-token-file',
    files['pd-client-secret']!,
    '--github-app-id',
    '424242',
    '--github-installation-id',
    '4242',
    '--github-app-public-key-file',
    files['app.pub.pem']!,
    '--github-repo',
    'acme/one',
    '--github-repo',
    'acme/two',
  ]);
  try {
    const info = JSON.parse(await proc.firstLine) as Record<string, unknown>;
    expect(info.githubRepos).toEqual(['acme/one', 'acme/two']);
    expect(
      (
        await fetch(`${info.pagerdutyUrl}/incidents/Q1CHECKOUT1`, {
          headers: { authorization: `Token token=${secrets.pagerdutyClientSecret}` },
        })
      ).status,
    ).toBe(200);
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});

test('without the GitHub flags there is no GitHub emulator', async () => {
  const proc = runEmulators([...baseArgs(), '--pagerduty-token-file', files['pd-client-secret']!]);
  try {
    expect(JSON.parse(await proc.firstLine)).not.toHaveProperty('githubUrl');
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});

test.each([
  ['no PagerDuty credential', [], /--pagerduty-token-file or --pagerduty-client-id-file/],
  ['a client id without its secret', ['--pagerduty-client-id-file', 'ID'], /go together/],
  ['half of the GitHub flags', ['--pagerduty-token-file', 'ID', '--github-app-id', '1'], /go together/],
  [
    'a missing secret file',
    ['--pagerduty-client-id-file', 'ID', '--pagerduty-client-secret-file', '/nonexistent/secret'],
    /cannot read the file \(ENOENT\)/,
  ],
])('exits 1 on %s, without printing any secret', async (_what, extra, message) => {
  const args = extra.map((a) => (a === 'ID' ? files['pd-client-id']! : a));
  const proc = runEmulators([...baseArgs(), ...args]);
  expect(await proc.exited).toBe(1);
  expect(proc.output()).toMatch(message);
  for (const value of Object.values(secrets)) expect(proc.output()).not.toContain(value);
});
