import { generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { importPKCS8, SignJWT } from 'jose';
import { startGitHubEmulator, type GitHubEmulator, type GitHubEmulatorOptions } from '../../../sandbox/emulators/github.js';
import { GitHubOpenApi, recordingFetch, type Exchange } from './github-openapi.js';

const APP_ID = '424242';
const INSTALLATION_ID = 4242;
const REPO = 'acme/checkout';
const OTHER_REPO = 'acme/payments';

function rsaPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const appKeys = rsaPair();
const strangerKeys = rsaPair();
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const nowS = () => Math.floor(Date.now() / 1000);

let openapi: GitHubOpenApi;
let gh: GitHubEmulator;
/** Every Octokit exchange of the suite; each must match GitHub's OpenAPI description. */
const exchanges: Exchange[] = [];

function emulator(extra: Partial<GitHubEmulatorOptions> = {}) {
  return startGitHubEmulator({
    appId: APP_ID,
    installationId: INSTALLATION_ID,
    appPublicKeyPem: appKeys.publicPem,
    repos: [REPO, OTHER_REPO],
    ...extra,
  });
}

function appAuth(url: string, privateKey = appKeys.privatePem) {
  return createAppAuth({
    appId: APP_ID,
    privateKey,
    installationId: INSTALLATION_ID,
    request: new Octokit({ baseUrl: url, log: silent, request: { fetch: recordingFetch(exchanges) } }).request,
  });
}

async function installationToken(url: string): Promise<string> {
  return (await appAuth(url)({ type: 'installation' })).token;
}

function octokit(url: string, token: string) {
  return new Octokit({
    baseUrl: url,
    auth: token,
    userAgent: 'keyless-triage-test/1',
    log: silent,
    request: { fetch: recordingFetch(exchanges) },
  });
}

async function signJwt(claims: Record<string, unknown>, privatePem = appKeys.privatePem): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(await importPKCS8(privatePem, 'RS256'));
}

async function call(
  url: string,
  path: string,
  init: { method?: string; authorization?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', ...init.headers };
  if (init.authorization) headers.authorization = init.authorization;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as any,
  };
}

beforeAll(async () => {
  openapi = new GitHubOpenApi();
  gh = await emulator();
});
afterAll(() => gh.close());
afterEach(() => {
  gh.setFault(null);
  gh.setHoldAfterCreate(0);
});

describe('installation tokens', () => {
  test('@octokit/auth-app mints an installation token from the App JWT', async () => {
    const before = Date.now();
    const auth = await appAuth(gh.url)({ type: 'installation' });
    const after = Date.now();
    expect(auth.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(auth.permissions).toEqual({ issues: 'write', metadata: 'read' });
    expect(auth.repositorySelection).toBe('selected');
    // One hour from when the emulator answered, at whole-second precision.
    const ttl = Date.parse(auth.expiresAt) - before;
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(after - before + 3_600_000);
    expect(gh.issuedTokens()).toContain(auth.token);
    expect(gh.requestLog.at(-1)).toMatchObject({
      method: 'POST',
      path: `/app/installations/${INSTALLATION_ID}/access_tokens`,
      status: 201,
    });
  });

  test('each mint is a fresh random token', async () => {
    const a = await installationToken(gh.url);
    const b = await installationToken(gh.url);
    expect(a).not.toBe(b);
  });

  test('a token narrowed to one repository and to read access lists it and cannot write', async () => {
    const auth = await appAuth(gh.url)({ type: 'installation', repositoryNames: ['checkout'], permissions: { issues: 'read' } });
    expect(auth.permissions).toEqual({ issues: 'read', metadata: 'read' });
    expect(auth.repositoryNames).toEqual(['checkout']);
    const client = octokit(gh.url, auth.token);
    expect((await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout' })).status).toBe(200);
    await expect(client.rest.issues.create({ owner: 'acme', repo: 'checkout', title: 'nope' })).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('Resource not accessible by integration'),
    });
    await expect(client.rest.issues.update({ owner: 'acme', repo: 'checkout', issue_number: 1, body: 'nope' })).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('Resource not accessible by integration'),
    });
    await expect(client.rest.issues.listForRepo({ owner: 'acme', repo: 'payments' })).rejects.toMatchObject({ status: 404 });
  });

  test('each mint is recorded with what its token reaches, and never the token itself', async () => {
    const narrowed = await appAuth(gh.url)({
      type: 'installation',
      repositoryNames: ['payments'],
      permissions: { issues: 'write', metadata: 'read' },
    });
    expect(gh.mints().at(-1)).toEqual({
      repositories: [OTHER_REPO],
      permissions: { issues: 'write', metadata: 'read' },
      expiresAt: narrowed.expiresAt,
    });
    // Without a narrowing, GitHub's default: every repository of the installation, every permission of the App.
    await appAuth(gh.url)({ type: 'installation' });
    expect(gh.mints().at(-1)).toMatchObject({ repositories: [REPO, OTHER_REPO], permissions: { issues: 'write', metadata: 'read' } });
    expect(gh.mints()).toHaveLength(gh.issuedTokens().length);
    const recorded = JSON.stringify(gh.mints());
    for (const token of gh.issuedTokens()) expect(recorded).not.toContain(token);
  });

  test('asking for more than the installation has → 422', async () => {
    await expect(appAuth(gh.url)({ type: 'installation', permissions: { contents: 'write' } })).rejects.toMatchObject({ status: 422 });
    await expect(appAuth(gh.url)({ type: 'installation', repositoryNames: ['elsewhere'] })).rejects.toMatchObject({ status: 422 });
  });

  test('repositories are names without the owner, as on GitHub: an owner/name matches none → 422', async () => {
    const minted = gh.mints().length;
    await expect(appAuth(gh.url)({ type: 'installation', repositoryNames: [REPO] })).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining(
        'There is at least one repository that does not exist or is not accessible to the parent installation.',
      ),
    });
    expect(gh.mints()).toHaveLength(minted);
  });

  test('an unknown installation → 404', async () => {
    const auth = createAppAuth({
      appId: APP_ID,
      privateKey: appKeys.privatePem,
      request: new Octokit({ baseUrl: gh.url, log: silent, request: { fetch: recordingFetch(exchanges) } }).request,
    });
    await expect(auth({ type: 'installation', installationId: 999 })).rejects.toMatchObject({ status: 404 });
  });
});

describe('App JWT checks on POST /app/installations/{id}/access_tokens', () => {
  const path = `/app/installations/${INSTALLATION_ID}/access_tokens`;
  const mint = async (jwt: string) => call(gh.url, path, { method: 'POST', authorization: `Bearer ${jwt}` });

  test.each([
    [
      'expired',
      () => signJwt({ iss: APP_ID, iat: nowS() - 700, exp: nowS() - 120 }),
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    ],
    [
      'without exp',
      () => signJwt({ iss: APP_ID, iat: nowS() - 30 }),
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    ],
    [
      'living more than 10 minutes',
      () => signJwt({ iss: APP_ID, iat: nowS() - 30, exp: nowS() + 600 }),
      "'Expiration time' claim ('exp') is too far in the future",
    ],
    [
      'issued in the future',
      () => signJwt({ iss: APP_ID, iat: nowS() + 300, exp: nowS() + 500 }),
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    ],
    [
      'without iat',
      () => signJwt({ iss: APP_ID, exp: nowS() + 300 }),
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    ],
    ['of another App', () => signJwt({ iss: '1', iat: nowS() - 30, exp: nowS() + 500 }), 'A JSON web token could not be decoded'],
    ['without iss', () => signJwt({ iat: nowS() - 30, exp: nowS() + 500 }), 'A JSON web token could not be decoded'],
    [
      'signed with another key',
      () => signJwt({ iss: APP_ID, iat: nowS() - 30, exp: nowS() + 500 }, strangerKeys.privatePem),
      'A JSON web token could not be decoded',
    ],
    ['malformed', async () => 'not.a.jwt', 'A JSON web token could not be decoded'],
    [
      'unsigned (alg none)',
      async () =>
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: APP_ID, iat: nowS() - 30, exp: nowS() + 500 })).toString('base64url')}.`,
      'A JSON web token could not be decoded',
    ],
  ])("a JWT %s → 401 in GitHub's error shape", async (_what, make, message) => {
    const { status, body } = await mint(await make());
    expect(status).toBe(401);
    expect(body).toEqual({ message, documentation_url: 'https://docs.github.com/rest', status: '401' });
    const op = openapi.operation('POST', path)!;
    expect(openapi.responseErrors(op, 401, body)).toEqual([]);
  });

  test('no Authorization → 401', async () => {
    expect((await call(gh.url, path, { method: 'POST' })).status).toBe(401);
  });

  test('a numeric iss and up to 60 s of clock drift are accepted, as on GitHub', async () => {
    const numeric = await mint(await signJwt({ iss: Number(APP_ID), iat: nowS() - 30, exp: nowS() + 540 }));
    expect(numeric.status).toBe(201);
    const drifted = await mint(await signJwt({ iss: APP_ID, iat: nowS() + 45, exp: nowS() + 600 }));
    expect(drifted.status).toBe(201);
    expect(drifted.body).toEqual({
      token: expect.stringMatching(/^ghs_[A-Za-z0-9]{36}$/),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      permissions: { issues: 'write', metadata: 'read' },
      repository_selection: 'selected',
    });
    expect(openapi.responseErrors(openapi.operation('POST', path)!, 201, drifted.body)).toEqual([]);
  });

  test('an installation token is no App JWT', async () => {
    const token = await installationToken(gh.url);
    expect((await mint(token)).body.message).toBe('A JSON web token could not be decoded');
  });
});

describe('issues', () => {
  let client: Octokit;
  let token: string;
  beforeAll(async () => {
    token = await installationToken(gh.url);
    client = octokit(gh.url, token);
  });

  test("create, get, list by label and update, in GitHub's shapes", async () => {
    const created = await client.rest.issues.create({
      owner: 'acme',
      repo: 'checkout',
      title: 'checkout-api crash-loops after rollout',
      body: 'Findings…\n<!-- triage-key: abc -->',
      labels: ['triage', { name: 'triage-key:abc' }],
      headers: { 'x-triage-id': 'triage-Q1CHECKOUT1' },
    });
    expect(created.status).toBe(201);
    const issue = created.data;
    expect(created.headers.location).toBe(issue.url);
    expect(issue).toMatchObject({
      number: expect.any(Number),
      state: 'open',
      state_reason: null,
      title: 'checkout-api crash-loops after rollout',
      body: 'Findings…\n<!-- triage-key: abc -->',
      user: { login: 'keyless-triage[bot]', type: 'Bot' },
      labels: [
        { name: 'triage', color: 'ededed', default: false },
        { name: 'triage-key:abc', color: 'ededed', default: false },
      ],
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      comments: 0,
      closed_at: null,
      url: `${gh.url}/repos/acme/checkout/issues/${issue.number}`,
      repository_url: `${gh.url}/repos/acme/checkout`,
      html_url: `${gh.url}/acme/checkout/issues/${issue.number}`,
      performed_via_github_app: { id: Number(APP_ID), slug: 'keyless-triage' },
    });
    expect(issue.pull_request).toBeUndefined();
    expect(gh.requestLog.at(-1)).toMatchObject({
      method: 'POST',
      status: 201,
      triageId: 'triage-Q1CHECKOUT1',
      userAgent: expect.stringContaining('keyless-triage-test/1'),
    });

    const got = await client.rest.issues.get({ owner: 'acme', repo: 'checkout', issue_number: issue.number });
    expect(got.data).toEqual(issue);

    const listed = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', labels: 'triage-key:abc', state: 'all' });
    expect(listed.data.map((i) => i.number)).toEqual([issue.number]);
    expect(listed.data[0]).not.toHaveProperty('closed_by');
    // Every named label must be present; case does not matter.
    expect((await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', labels: 'TRIAGE,triage-key:abc' })).data).toHaveLength(
      1,
    );
    expect((await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', labels: 'triage,other' })).data).toHaveLength(0);

    const closed = await client.rest.issues.update({
      owner: 'acme',
      repo: 'checkout',
      issue_number: issue.number,
      state: 'closed',
      state_reason: 'not_planned',
      labels: ['triage'],
    });
    expect(closed.data).toMatchObject({
      state: 'closed',
      state_reason: 'not_planned',
      closed_at: expect.any(String),
      closed_by: { login: 'keyless-triage[bot]' },
      labels: [{ name: 'triage' }],
    });
    // The default list is open issues only.
    expect(
      (await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', labels: 'triage' })).data.map((i) => i.number),
    ).not.toContain(issue.number);
    const reopened = await client.rest.issues.update({
      owner: 'acme',
      repo: 'checkout',
      issue_number: issue.number,
      state: 'open',
      title: 'renamed',
      body: null,
    });
    expect(reopened.data).toMatchObject({ state: 'open', state_reason: 'reopened', closed_at: null, title: 'renamed', body: null });
    expect(gh.issues(REPO).find((i) => i.number === issue.number)).toMatchObject({ title: 'renamed' });
  });

  test('the html_url is a page that works', async () => {
    const { data } = await client.rest.issues.create({
      owner: 'acme',
      repo: 'checkout',
      title: '<b>bold</b> & co',
      body: '<script>alert(1)</script>',
    });
    const page = await fetch(data.html_url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; co');
    expect(html).not.toContain('<script>');
    const asJson = await fetch(data.html_url, { headers: { accept: 'application/json' } });
    expect(((await asJson.json()) as { number: number }).number).toBe(data.number);
    expect((await fetch(`${gh.url}/acme/checkout/issues/99999`)).status).toBe(404);
  });

  test('Octokit with the auth-app strategy (token scheme, minted on demand) works too', async () => {
    const app = new Octokit({
      baseUrl: gh.url,
      log: silent,
      authStrategy: createAppAuth,
      auth: { appId: APP_ID, privateKey: appKeys.privatePem, installationId: INSTALLATION_ID },
      request: { fetch: recordingFetch(exchanges) },
    });
    const { data } = await app.rest.issues.create({ owner: 'acme', repo: 'payments', title: 'via authStrategy' });
    expect(data.repository_url).toBe(`${gh.url}/repos/acme/payments`);
  });

  test('owner and repository names are case-insensitive; links use the canonical names', async () => {
    const { data } = await client.rest.issues.listForRepo({ owner: 'ACME', repo: 'Checkout', state: 'all', per_page: 1 });
    expect(data[0]?.repository_url).toBe(`${gh.url}/repos/acme/checkout`);
  });

  describe('request validation', () => {
    const accepted: [string, Record<string, unknown>][] = [
      ['a title only', { title: 'only a title' }],
      ['an integer title', { title: 4211 }],
      ['labels as strings and objects', { title: 't', body: 'b', labels: ['a', { name: 'b' }, 'A'], assignees: [] }],
      ['a null milestone and assignee', { title: 't', milestone: null, assignee: null }],
      ['a body of exactly 65536 characters', { title: 't', body: 'x'.repeat(65_536) }],
      ['a title of exactly 256 characters', { title: 'y'.repeat(256) }],
    ];
    test.each(accepted)("accepts %s, a body GitHub's description allows", async (_what, body) => {
      const op = openapi.operation('POST', '/repos/acme/checkout/issues')!;
      expect(openapi.requestErrors(op, body)).toEqual([]);
      const res = await call(gh.url, '/repos/acme/checkout/issues', { method: 'POST', authorization: `token ${token}`, body });
      expect(res.status).toBe(201);
      expect(openapi.responseErrors(op, 201, res.body)).toEqual([]);
      expect(res.body.title).toBe(String(body.title));
    });

    test('labels that differ only in case are one label', async () => {
      const res = await call(gh.url, '/repos/acme/checkout/issues', {
        method: 'POST',
        authorization: `token ${token}`,
        body: { title: 't', labels: ['Zeta', 'zeta'] },
      });
      expect(res.body.labels.map((l: { name: string }) => l.name)).toEqual(['Zeta']);
    });

    const refused: [string, unknown, Record<string, unknown>][] = [
      ['no title', { body: 'x' }, { resource: 'Issue', field: 'title', code: 'missing_field' }],
      ['an empty title', { title: '  ' }, { resource: 'Issue', field: 'title', code: 'missing_field' }],
      ['a 257-character title', { title: 'y'.repeat(257) }, { resource: 'Issue', field: 'title', code: 'custom' }],
      ['a 65537-character body', { title: 't', body: 'x'.repeat(65_537) }, { resource: 'Issue', field: 'body', code: 'custom' }],
      ['labels that are not a list', { title: 't', labels: 'triage' }, { resource: 'Issue', field: 'labels', code: 'invalid' }],
      ['a label name over 50 characters', { title: 't', labels: ['l'.repeat(51)] }, { resource: 'Label', field: 'name', code: 'invalid' }],
      [
        'an unknown assignee',
        { title: 't', assignees: ['mallory'] },
        { resource: 'Issue', field: 'assignees', code: 'invalid', value: 'mallory' },
      ],
      ['a milestone that does not exist', { title: 't', milestone: 3 }, { resource: 'Issue', field: 'milestone', code: 'invalid' }],
    ];
    test.each(refused)('refuses %s with 422 Validation Failed', async (_what, body, error) => {
      const before = gh.issues(REPO).length;
      const res = await call(gh.url, '/repos/acme/checkout/issues', { method: 'POST', authorization: `token ${token}`, body });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        message: 'Validation Failed',
        errors: [expect.objectContaining(error)],
        documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
        status: '422',
      });
      expect(openapi.responseErrors(openapi.operation('POST', '/repos/acme/checkout/issues')!, 422, res.body)).toEqual([]);
      expect(gh.issues(REPO)).toHaveLength(before);
    });

    test("GitHub's own description rejects the missing title too", () => {
      expect(openapi.requestErrors(openapi.operation('POST', '/repos/acme/checkout/issues')!, { body: 'x' })).not.toEqual([]);
    });

    test('Octokit sees the 422 as a RequestError', async () => {
      await expect(client.rest.issues.create({ owner: 'acme', repo: 'checkout', title: '' })).rejects.toMatchObject({ status: 422 });
    });

    test('malformed JSON → 400 Problems parsing JSON', async () => {
      const res = await call(gh.url, '/repos/acme/checkout/issues', {
        method: 'POST',
        authorization: `token ${token}`,
        body: '{"title": ',
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Problems parsing JSON');
    });

    test('update validates state and state_reason', async () => {
      const res = await call(gh.url, '/repos/acme/checkout/issues/1', {
        method: 'PATCH',
        authorization: `token ${token}`,
        body: { state: 'merged', state_reason: 'bored' },
      });
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['state', 'state_reason']);
    });
  });

  describe('credentials and reach', () => {
    test.each([
      ['no Authorization', undefined, 'Requires authentication'],
      ['an unknown token', `token ghs_${'x'.repeat(36)}`, 'Bad credentials'],
      ['a token as Bearer that was never issued', `Bearer ghs_${'y'.repeat(36)}`, 'Bad credentials'],
    ])('%s → 401', async (_what, authorization, message) => {
      const res = await call(gh.url, '/repos/acme/checkout/issues', authorization ? { authorization } : {});
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message, documentation_url: 'https://docs.github.com/rest', status: '401' });
    });

    test('both schemes carry an installation token', async () => {
      expect((await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` })).status).toBe(200);
      expect((await call(gh.url, '/repos/acme/checkout/issues', { authorization: `Bearer ${token}` })).status).toBe(200);
    });

    test('an App JWT does not open repository routes', async () => {
      const jwt = await signJwt({ iss: APP_ID, iat: nowS() - 30, exp: nowS() + 500 });
      expect((await call(gh.url, '/repos/acme/checkout/issues', { authorization: `Bearer ${jwt}` })).status).toBe(401);
    });

    test.each([
      '/repos/acme/unknown/issues',
      '/repos/other/checkout/issues',
      '/repos/acme/checkout/issues/4242',
      '/repos/acme/checkout/issues/abc',
    ])('%s → 404 Not Found', async (path) => {
      const res = await call(gh.url, path, { authorization: `token ${token}` });
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Not Found');
    });

    test('a token expires after its lifetime', async () => {
      let skewMs = 0;
      const shortLived = await emulator({ tokenTtlSeconds: 60, now: () => Date.now() + skewMs });
      try {
        const t = await installationToken(shortLived.url);
        expect((await call(shortLived.url, '/repos/acme/checkout/issues', { authorization: `token ${t}` })).status).toBe(200);
        skewMs = 61_000;
        const res = await call(shortLived.url, '/repos/acme/checkout/issues', { authorization: `token ${t}` });
        expect(res.status).toBe(401);
        expect(res.body.message).toBe('Bad credentials');
      } finally {
        await shortLived.close();
      }
    });

    test('a token of another emulator (another installation) is refused', async () => {
      const other = await emulator();
      try {
        const foreign = await installationToken(other.url);
        expect((await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${foreign}` })).status).toBe(401);
      } finally {
        await other.close();
      }
    });

    test('authenticated responses carry the rate-limit headers', async () => {
      const res = await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` });
      expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
      expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(5000);
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(nowS());
      expect(res.headers.get('x-github-request-id')).toMatch(/^[0-9A-F:]+$/);
    });

    test('a request without User-Agent is turned away, as GitHub does', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${gh.url}/repos/acme/checkout/issues`, { headers: { authorization: `token ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(403);
    });
  });
});

describe('pagination', () => {
  let paged: GitHubEmulator;
  let client: Octokit;
  beforeAll(async () => {
    paged = await emulator();
    client = octokit(paged.url, await installationToken(paged.url));
    for (let i = 1; i <= 65; i++) {
      await client.rest.issues.create({ owner: 'acme', repo: 'checkout', title: `issue ${i}`, labels: i % 2 === 0 ? ['even'] : [] });
    }
  });
  afterAll(() => paged.close());

  const links = (header: string | null | undefined) =>
    Object.fromEntries(
      (header ?? '')
        .split(', ')
        .filter(Boolean)
        .map((part) => {
          const m = /^<([^>]+)>; rel="(\w+)"$/.exec(part)!;
          return [m[2], new URL(m[1]!).searchParams.get('page')];
        }),
    );

  test('30 per page by default, newest first, with a Link header as GitHub sends it', async () => {
    const first = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout' });
    expect(first.data).toHaveLength(30);
    expect(first.data[0]?.number).toBe(65);
    expect(links(first.headers.link)).toEqual({ next: '2', last: '3' });
    const middle = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', page: 2 });
    expect(links(middle.headers.link)).toEqual({ prev: '1', next: '3', last: '3', first: '1' });
    const last = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', page: 3 });
    expect(last.data.map((i) => i.number)).toEqual([5, 4, 3, 2, 1]);
    expect(links(last.headers.link)).toEqual({ prev: '2', first: '1' });
  });

  test('the Link URLs keep the filters', async () => {
    const res = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', labels: 'even', per_page: 10 });
    const next = /<([^>]+)>; rel="next"/.exec(res.headers.link ?? '')?.[1];
    expect(new URL(next!).searchParams.get('labels')).toBe('even');
  });

  test('octokit.paginate follows the links to every issue', async () => {
    const all = await client.paginate(client.rest.issues.listForRepo, { owner: 'acme', repo: 'checkout', per_page: 20 });
    expect(all.map((i) => i.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
    const even = await client.paginate(client.rest.issues.listForRepo, { owner: 'acme', repo: 'checkout', labels: 'even', per_page: 7 });
    expect(even).toHaveLength(32);
  });

  test('per_page is capped at 100; a single page has no Link; direction=asc reverses', async () => {
    const res = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', per_page: 500, direction: 'asc' });
    expect(res.data).toHaveLength(65);
    expect(res.data[0]?.number).toBe(1);
    expect(res.headers.link).toBeUndefined();
  });

  test('a bad state → 422', async () => {
    const token = paged.issuedTokens()[0]!;
    expect((await call(paged.url, '/repos/acme/checkout/issues?state=merged', { authorization: `token ${token}` })).status).toBe(422);
  });
});

describe('hold after create', () => {
  let client: Octokit;
  beforeAll(async () => {
    client = octokit(gh.url, await installationToken(gh.url));
  });

  test('the issue is stored and listed at once; the 201 comes only after the hold', async () => {
    gh.setHoldAfterCreate(700);
    const title = `held ${Date.now()}`;
    const started = Date.now();
    let answeredAt = 0;
    const creating = client.rest.issues.create({ owner: 'acme', repo: 'checkout', title }).then((r) => {
      answeredAt = Date.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 150));
    const listed = await client.rest.issues.listForRepo({ owner: 'acme', repo: 'checkout', state: 'all', per_page: 100 });
    expect(listed.data.some((i) => i.title === title)).toBe(true);
    expect(answeredAt).toBe(0);
    const created = await creating;
    expect(created.status).toBe(201);
    expect(answeredAt - started).toBeGreaterThanOrEqual(650);
  });

  test('a caller that gives up during the hold still leaves the issue behind', async () => {
    gh.setHoldAfterCreate(2_000);
    const title = `abandoned ${Date.now()}`;
    const token = gh.issuedTokens().at(-1)!;
    await expect(
      fetch(`${gh.url}/repos/acme/checkout/issues`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect(gh.issues(REPO).filter((i) => i.title === title)).toHaveLength(1);
  });

  test('the sandbox routes set the hold and show issues and tokens, without auth', async () => {
    const set = await call(gh.url, '/_sandbox/hold-after-create', { method: 'POST', body: { ms: 300 } });
    expect(set).toMatchObject({ status: 200, body: { ms: 300 } });
    const started = Date.now();
    await client.rest.issues.create({ owner: 'acme', repo: 'checkout', title: 'held via the control route' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect((await call(gh.url, '/_sandbox/hold-after-create', { method: 'POST', body: { ms: -1 } })).status).toBe(400);
    expect((await call(gh.url, '/_sandbox/hold-after-create', { method: 'POST', body: {} })).status).toBe(400);

    const issues = await call(gh.url, '/_sandbox/issues');
    expect(issues.status).toBe(200);
    const entries = issues.body.issues as { repo: string; issue: { title: string; html_url: string } }[];
    expect(entries.find((e) => e.issue.title === 'held via the control route')).toMatchObject({
      repo: REPO,
      issue: { html_url: expect.stringContaining(`${gh.url}/acme/checkout/issues/`) },
    });
    expect(entries.length).toBe(gh.issues(REPO).length + gh.issues(OTHER_REPO).length);

    const tokens = await call(gh.url, '/_sandbox/issued-tokens');
    expect(tokens.body).toEqual({ tokens: gh.issuedTokens() });
  });
});

describe('faults', () => {
  let token: string;
  beforeAll(async () => {
    token = await installationToken(gh.url);
  });

  test("403 with Retry-After: GitHub's secondary rate limit", async () => {
    gh.setFault({ status: 403, retryAfterSeconds: 30, times: 1 });
    const res = await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(res.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    expect(res.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    expect(res.body.message).toMatch(/^You have exceeded a secondary rate limit/);
    expect(res.body.message).toContain(res.headers.get('x-github-request-id'));
    expect(openapi.responseErrors(openapi.operation('POST', '/repos/acme/checkout/issues')!, 403, res.body)).toEqual([]);
    expect((await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` })).status).toBe(200);
  });

  test('429 without Retry-After: remaining 0 and a reset time to wait for', async () => {
    gh.setFault({ status: 429, times: 1 });
    const res = await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(nowS());
  });

  test('a fault hits the token endpoint and the API, not the sandbox routes or web pages', async () => {
    gh.setFault({ status: 503 });
    expect((await call(gh.url, `/app/installations/${INSTALLATION_ID}/access_tokens`, { method: 'POST' })).status).toBe(503);
    expect((await call(gh.url, '/repos/acme/checkout/issues')).body).toMatchObject({ message: 'Service Unavailable', status: '503' });
    expect((await call(gh.url, '/_sandbox/issues')).status).toBe(200);
    const html = gh.issues(REPO)[0]!.html_url;
    expect((await fetch(html)).status).toBe(200);
  });

  test('requests are counted, the sandbox routes are not', async () => {
    const before = gh.requests;
    await call(gh.url, '/repos/acme/checkout/issues', { authorization: `token ${token}` });
    await call(gh.url, '/_sandbox/issues');
    expect(gh.requests).toBe(before + 1);
  });
});

describe('options', () => {
  test.each([
    ['a non-numeric app id', { appId: 'my-app' }],
    ['a repository that is not owner/name', { repos: ['checkout'] }],
    ['repositories of two accounts', { repos: ['acme/checkout', 'other/thing'] }],
    ['a key that is not a public key', { appPublicKeyPem: 'nope' }],
    ["the App's private key", { appPublicKeyPem: appKeys.privatePem }],
  ])('refuses %s', async (_what, extra) => {
    await expect(emulator(extra as Partial<GitHubEmulatorOptions>)).rejects.toThrow(/GitHub emulator/);
  });

  test('issues() of a repository outside the installation throws', () => {
    expect(() => gh.issues('acme/elsewhere')).toThrow(RangeError);
  });
});

describe('GitHub OpenAPI conformance', () => {
  // Last in the file, so it sees what every test above sent and received through Octokit.
  test('every recorded request and response body matches the operation in @octokit/openapi', () => {
    expect(exchanges.length).toBeGreaterThan(100);
    const operations = new Set(exchanges.map((x) => openapi.operation(x.method, new URL(x.url).pathname)?.operationId));
    expect([...operations].sort()).toEqual([
      'apps/create-installation-access-token',
      'issues/create',
      'issues/get',
      'issues/list-for-repo',
      'issues/update',
    ]);
    const problems = exchanges.flatMap((x) =>
      openapi.exchangeErrors(x).map((e) => `${x.method} ${new URL(x.url).pathname} ${x.status}: ${e}`),
    );
    expect(problems).toEqual([]);
  });

  test('the validators have teeth', () => {
    const op = openapi.operation('GET', '/repos/acme/checkout/issues/1')!;
    const issue = gh.issues(REPO)[0]!;
    expect(openapi.responseErrors(op, 200, issue)).toEqual([]);
    const { node_id: _nodeId, ...withoutNodeId } = issue;
    expect(openapi.responseErrors(op, 200, withoutNodeId)).not.toEqual([]);
    expect(openapi.responseErrors(op, 200, { ...issue, number: '1' })).not.toEqual([]);
    expect(openapi.responseErrors(op, 200, { ...issue, state_reason: 'bored' })).not.toEqual([]);
    expect(openapi.responseErrors(op, 200, { ...issue, user: { ...issue.user, avatar_url: 'not a uri' } })).not.toEqual([]);
    const token = openapi.operation('POST', '/app/installations/1/access_tokens')!;
    expect(openapi.responseErrors(token, 201, { token: 'ghs_x' })).not.toEqual([]);
    expect(openapi.requestErrors(token, { permissions: { issues: 'own' } })).not.toEqual([]);
  });
});
