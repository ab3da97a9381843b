// Installation tokens: minted with a JWT the fake verifies (RS256, against a
// key pair made here) for one repository and two permissions, one per
// repository, cached, re-minted ~5 minutes before expires_at, and dropped when
// the App private key file changes.
import { createPublicKey } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_ID, createWorld, expectNoSecrets, INSTALLATION_ID, keyPairPem, type World } from './harness.js';

let clock = Date.now();
let world: World;

beforeEach(async () => {
  clock = Date.now();
  world = await createWorld({ broker: { now: () => clock } });
});

afterEach(async () => {
  await expectNoSecrets(world);
  await world.close();
});

const listIssues = () => world.call('GET', '/github/repos/acme/checkout/issues');

test("each token is asked for the request's one repository, by name, with issues: write and metadata: read only", async () => {
  expect((await listIssues()).status).toBe(200);
  const mint = world.github.requests.find((r) => r.url.endsWith('/access_tokens'))!;
  expect(mint.url).toBe(`/app/installations/${INSTALLATION_ID}/access_tokens`);
  // GitHub's documented body: `repositories` takes names without the owner.
  expect(JSON.parse(mint.body!)).toEqual({ repositories: ['checkout'], permissions: { issues: 'write', metadata: 'read' } });
});

test('another repository gets a token of its own; each is cached on its own and named in the audit', async () => {
  await world.close();
  world = await createWorld({ repos: ['acme/checkout', 'acme/payments'], broker: { now: () => clock } });
  expect((await listIssues()).status).toBe(200);
  expect((await world.call('GET', '/github/repos/acme/payments/issues')).status).toBe(200);
  expect((await world.call('GET', '/github/repos/Acme/Payments/issues')).status).toBe(200);
  expect((await listIssues()).status).toBe(200);

  expect(world.github.issued.map((t) => t.repositories)).toEqual([['checkout'], ['payments']]);
  const [checkout, payments] = world.github.issued.map((t) => `token ${t.token}`);
  expect(world.github.issueAuthorizations).toEqual([checkout, payments, payments, checkout]);
  expect((await world.audit(4)).map((l) => `${l.path} ${l.credentialId}`)).toEqual([
    `/repos/acme/checkout/issues github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:acme/checkout`,
    `/repos/acme/payments/issues github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:acme/payments`,
    `/repos/Acme/Payments/issues github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:acme/payments`,
    `/repos/acme/checkout/issues github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:acme/checkout`,
  ]);
});

test('a token wider than asked for (the narrowing ignored upstream) → 503, and it is never used', async () => {
  world.github.ignoreNarrowing = true;
  const reply = await listIssues();
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({ error: 'credential unavailable', reason: 'installation token is wider than requested (repositories)' });
  expect(world.github.issued).toHaveLength(1);
  expect(world.github.issueAuthorizations).toEqual([]);
});

test('a token is minted once and reused until 5 minutes before it expires', async () => {
  const expiresAt = new Date(Date.now() + 60 * 60_000);
  world.github.nextExpiresAt = () => expiresAt;

  expect((await listIssues()).status).toBe(200);
  expect((await listIssues()).status).toBe(200);
  expect(world.github.issued).toHaveLength(1);

  clock = expiresAt.getTime() - 6 * 60_000;
  expect((await listIssues()).status).toBe(200);
  expect(world.github.issued).toHaveLength(1);

  // Inside the margin: the next call mints a fresh token and uses it.
  clock = expiresAt.getTime() - 4 * 60_000;
  world.github.nextExpiresAt = () => new Date(Date.now() + 60 * 60_000);
  expect((await listIssues()).status).toBe(200);
  expect(world.github.issued).toHaveLength(2);
  expect(world.github.issueAuthorizations.at(-1)).toBe(`token ${world.github.issued[1]!.token}`);
  expect(world.github.rejectedMints).toEqual([]);
});

test('a short-lived token from upstream is re-minted before it runs out', async () => {
  // 4 minutes of life: inside the 5-minute margin from the start, so the cache keeps it for half its life only.
  world.github.nextExpiresAt = () => new Date(Date.now() + 4 * 60_000);
  await listIssues();
  await listIssues();
  expect(world.github.issued).toHaveLength(1);
  clock += 2 * 60_000 + 1000;
  await listIssues();
  expect(world.github.issued).toHaveLength(2);
});

test('concurrent first calls share one mint', async () => {
  const replies = await Promise.all(Array.from({ length: 8 }, () => listIssues()));
  expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
  expect(world.github.issued).toHaveLength(1);
});

test('a rotated private key is picked up without a restart and drops the cached token', async () => {
  await listIssues();
  expect(world.github.issued).toHaveLength(1);

  const next = keyPairPem();
  world.github.publicKey = createPublicKey(next.publicKeyPem);
  // Kubernetes swaps Secret volumes atomically; a rename does the same.
  const staged = join(world.dir, 'github-app.pem.next');
  await writeFile(staged, next.privateKeyPem);
  await rename(staged, world.files.githubKey);
  world.secrets.githubPrivateKeyPem = next.privateKeyPem;

  expect((await listIssues()).status).toBe(200);
  expect(world.github.issued).toHaveLength(2);
  expect(world.github.rejectedMints).toEqual([]);
  expect(world.github.issueAuthorizations.at(-1)).toBe(`token ${world.github.issued[1]!.token}`);
  expect(world.logs.some((l) => l.includes('private key changed'))).toBe(true);
});

test('a refused mint → 503 naming the failure, not the response body', async () => {
  world.github.mintStatus = 403;
  const reply = await listIssues();
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({ error: 'credential unavailable', reason: 'installation token request failed (HTTP 403)' });
  expect(reply.text).not.toContain('mint refused by test');
  expect((await world.audit(1)).at(-1)).toMatchObject({
    provider: 'github',
    decision: 'allowed',
    status: 503,
    reason: expect.stringContaining('HTTP 403'),
  });
  expect((await world.call('GET', '/healthz')).json()).toMatchObject({
    providers: { github: 'unavailable: acme/checkout: installation token request failed (HTTP 403)' },
  });

  world.github.mintStatus = undefined;
  expect((await listIssues()).status).toBe(200);
  expect((await world.call('GET', '/healthz')).json()).toMatchObject({ providers: { github: 'ready' } });
});

test('a key the upstream does not accept (wrong key) → 503, and nothing is sent to the issues route', async () => {
  world.github.publicKey = createPublicKey(keyPairPem().publicKeyPem);
  const reply = await listIssues();
  expect(reply.status).toBe(503);
  expect(world.github.rejectedMints).toEqual(['bad signature']);
  expect(world.github.issueAuthorizations).toEqual([]);
});

test('a missing key file → 503 naming the file path', async () => {
  await rm(world.files.githubKey);
  const reply = await listIssues();
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({
    error: 'credential unavailable',
    reason: `cannot read GitHub App private key file ${world.files.githubKey} (ENOENT)`,
  });
  expect((await world.call('GET', '/healthz')).json()).toMatchObject({
    providers: { github: expect.stringMatching(/^unavailable: cannot read GitHub App private key file .*ENOENT/) },
  });
  expect(world.github.requests).toHaveLength(0);
});

test('a file that is not a key → 503 without its content', async () => {
  await writeFile(world.files.githubKey, 'not-a-pem-but-maybe-a-secret-1f2e3d');
  const reply = await listIssues();
  expect(reply.status).toBe(503);
  expect(reply.json()).toEqual({
    error: 'credential unavailable',
    reason: `cannot sign the App JWT with the private key in ${world.files.githubKey}`,
  });
  const texts = await world.observableTexts();
  expect(texts.join('\n')).not.toContain('not-a-pem-but-maybe-a-secret-1f2e3d');
});
