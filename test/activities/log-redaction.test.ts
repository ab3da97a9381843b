import fc from 'fast-check';
import { REDACTED, isSecretKey, redactLogLine, redactLogLines } from '../../config/log-redaction.js';
import { fakeCredential, pemMarker } from '../fake-credentials.js';
import { context, SECRET_KINDS } from './planted-secrets.js';

const R = REDACTED;

// Made at run time (test/fake-credentials.ts): no credential-shaped literal in the repository.
const AWS_KEY_ID = fakeCredential.awsAccessKeyId('AKIA');
const AWS_STS_KEY_ID = fakeCredential.awsAccessKeyId('ASIA');
const AWS_SECRET = fakeCredential.awsSecretAccessKey();
const GITHUB_PAT = fakeCredential.gitHubToken('ghp');
const GITHUB_APP_TOKEN = fakeCredential.gitHubToken('ghs');
const GITHUB_FINE_GRAINED = fakeCredential.gitHubFineGrainedToken();
const SLACK_BOT = fakeCredential.slackBotToken();
const SLACK_APP = fakeCredential.slackAppToken();
const JWT = fakeCredential.jwt();
const BASIC = fakeCredential.basicCredential();
const OPAQUE = fakeCredential.opaqueToken();
const PASSWORD = fakeCredential.password();
const DD_API_KEY = fakeCredential.datadogKey(32);
const DD_APP_KEY = fakeCredential.datadogKey(40);
const BEGIN = (label = '') => pemMarker('BEGIN', label);
const END = (label = '') => pemMarker('END', label);

describe('redactLogLine: secrets go, the key names stay', () => {
  test.each([
    ['AWS access key id', `using credentials ${AWS_KEY_ID} for s3`, `using credentials ${R} for s3`],
    ['AWS STS key id', `assumed role, key ${AWS_STS_KEY_ID}`, `assumed role, key ${R}`],
    ['AWS secret key (k=v)', `aws_secret_access_key=${AWS_SECRET}`, `aws_secret_access_key=${R}`],
    ['AWS secret key (env, colon)', `AWS_SECRET_ACCESS_KEY: ${AWS_SECRET}`, `AWS_SECRET_ACCESS_KEY: ${R}`],
    [
      'AWS secret key (camelCase JSON)',
      `{"secretAccessKey":"${AWS_SECRET}","region":"eu-west-1"}`,
      `{"secretAccessKey":"${R}","region":"eu-west-1"}`,
    ],
    ['GitHub classic PAT', `git clone https://github.com/acme/x with ${GITHUB_PAT}`, `git clone https://github.com/acme/x with ${R}`],
    ['GitHub app token', `token ${GITHUB_APP_TOKEN} expires`, `token ${R} expires`],
    ['GitHub fine-grained PAT', `pat=${GITHUB_FINE_GRAINED}`, `pat=${R}`],
    ['Slack bot token', `slack client ready (${SLACK_BOT})`, `slack client ready (${R})`],
    ['Slack app token', `socket mode with ${SLACK_APP}`, `socket mode with ${R}`],
    ['JWT', `session ${JWT} accepted`, `session ${R} accepted`],
    ['Authorization: Bearer', 'GET /orders Authorization: Bearer abc.def-ghi_jkl', `GET /orders Authorization: Bearer ${R}`],
    [
      'Authorization: Basic (JSON)',
      '{"headers":{"Authorization":"Basic dXNlcjpwYXNzd29yZA=="}}',
      `{"headers":{"Authorization":"Basic ${R}"}}`,
    ],
    ['Authorization without scheme', 'authorization=0123456789abcdef', `authorization=${R}`],
    ['a bearer token in prose', 'retrying with Bearer 9f8e7d6c5b4a', `retrying with Bearer ${R}`],
    [
      'password=',
      'db connect host=orders-db user=checkout password=hunter2 sslmode=require',
      `db connect host=orders-db user=checkout password=${R} sslmode=require`,
    ],
    [
      'password inside a quoted value',
      'conn="host=db user=app password=s3cr3t! dbname=orders"',
      `conn="host=db user=app password=${R} dbname=orders"`,
    ],
    ['JSON password', '{"user":"app","password":"p@ss w0rd, really"}', `{"user":"app","password":"${R}"}`],
    ['JSON inside a JSON string', '{"msg":"config {\\"db_password\\":\\"hunter2\\"}"}', `{"msg":"config {\\"db_password\\":\\"${R}\\"}"}`],
    ['single-quoted env', "DB_PASSWORD='p@ss w0rd'", `DB_PASSWORD='${R}'`],
    [
      'secret= and token= in a query string',
      'GET /cb?client_secret=abc123&state=xyz&token=t0k3n',
      `GET /cb?client_secret=${R}&state=xyz&token=${R}`,
    ],
    ['api_key=', 'api_key=0123456789abcdef0123456789abcdef', `api_key=${R}`],
    ['a CLI flag', 'exec worker --db-password=Sup3r! --port=8080', `exec worker --db-password=${R} --port=8080`],
    ['X-Amz-Signature', 'GET /b/k?X-Amz-Signature=4f2c9a1e0b7d&X-Amz-Expires=300', `GET /b/k?X-Amz-Signature=${R}&X-Amz-Expires=300`],
    ['key: letters-only value at the end', 'password: changeme', `password: ${R}`],
    [
      'PEM on one line',
      `key="${BEGIN('RSA ')}\\n${fakeCredential.pemBody(16)}\\n${END('RSA ')}"`,
      `key="${BEGIN('RSA ')}${R}${END('RSA ')}"`,
    ],
    [
      'URL with user:password@',
      'dial postgres://checkout:Chk0ut-2025@orders-db:5432/orders failed',
      `dial postgres://checkout:${R}@orders-db:5432/orders failed`,
    ],
    ['URL password with an @', 'redis://:p@ss@cache:6379/0', `redis://:${R}@cache:6379/0`],
    ['Datadog key, labelled with =', 'DD_API_KEY=0123456789abcdef0123456789abcdef', `DD_API_KEY=${R}`],
    ['Datadog key, labelled in prose', 'using Datadog API key 0123456789abcdef0123456789abcdef', `using Datadog API key ${R}`],
    ['Datadog application key, header', 'DD-APPLICATION-KEY: 0123456789abcdef0123456789abcdef01234567', `DD-APPLICATION-KEY: ${R}`],
    [
      'Datadog API key, lower-case header',
      `curl -H "dd-api-key: ${DD_API_KEY}" https://api.datadoghq.eu`,
      `curl -H "dd-api-key: ${R}" https://api.datadoghq.eu`,
    ],
    ['Datadog application key, env', `DD_APP_KEY=${DD_APP_KEY} ./agent`, `DD_APP_KEY=${R} ./agent`],
    ['Basic credential in prose', `proxy answered 407, retrying with Basic ${BASIC}`, `proxy answered 407, retrying with Basic ${R}`],
    ['token credential in prose', `calling api.github.com with token ${OPAQUE} (GHES)`, `calling api.github.com with token ${R} (GHES)`],
    ['Bearer GitHub token', `Authorization: Bearer ${GITHUB_APP_TOKEN}`, `Authorization: Bearer ${R}`],
    [
      'a token as the whole userinfo',
      `git clone https://${OPAQUE}@git.example.com/acme/app.git`,
      `git clone https://${R}@git.example.com/acme/app.git`,
    ],
    [
      'x-access-token as user, token as password',
      `remote: https://x-access-token:${GITHUB_APP_TOKEN}@github.com/acme/app`,
      `remote: https://x-access-token:${R}@github.com/acme/app`,
    ],
    [
      'JSON secret and token',
      `{"secret": "${PASSWORD}", "token": "${OPAQUE}", "ok": true}`,
      `{"secret": "${R}", "token": "${R}", "ok": true}`,
    ],
    ['JSON api_key', `{"api_key":"${DD_API_KEY}"}`, `{"api_key":"${R}"}`],
    ['a Python dict repr', `config={'db_password': '${PASSWORD}', 'host': 'db'}`, `config={'db_password': '${R}', 'host': 'db'}`],
    ['password with spaces in JSON', `{"password": "${PASSWORD} and more"}`, `{"password": "${R}"}`],
  ])('%s', (_what, line, expected) => {
    const out = redactLogLine(line);
    expect(out.text).toBe(expected);
    expect(out.redactions).toBe(expected.split(R).length - 1);
  });

  test.each(['ghp', 'gho', 'ghu', 'ghs', 'ghr'] as const)('GitHub %s_ token', (kind) => {
    expect(redactLogLine(`pushed with ${fakeCredential.gitHubToken(kind)}.`)).toEqual({ text: `pushed with ${R}.`, redactions: 1 });
  });

  test.each(['xoxa', 'xoxb', 'xoxp', 'xoxo', 'xoxr', 'xoxs'] as const)('Slack %s- token', (kind) => {
    expect(redactLogLine(`slack=${fakeCredential.slackToken(kind)}`).text).toBe(`slack=${R}`);
  });

  test('a JSON escape glued to a secret does not hide it', () => {
    const line = JSON.stringify({
      msg: `retrying\n${GITHUB_PAT}\t${AWS_KEY_ID}\r\n${JWT}\nAuthorization: Bearer ${OPAQUE}\napi_key=${DD_API_KEY}\nBasic ${BASIC}`,
    });
    const out = redactLogLine(line).text;
    for (const secret of [GITHUB_PAT, AWS_KEY_ID, JWT, OPAQUE, DD_API_KEY, BASIC]) expect(out).not.toContain(secret);
    expect(out).toContain('\\napi_key=');
  });

  test('JSON inside a JSON string inside a JSON line: each depth of escaping', () => {
    const app = JSON.stringify({ msg: 'config loaded', config: JSON.stringify({ db_password: PASSWORD, host: 'db' }) });
    const shipped = JSON.stringify({ log: app, stream: 'stdout' });
    const out = redactLogLine(shipped).text;
    expect(out).not.toContain(PASSWORD);
    expect(out).toBe(shipped.replace(PASSWORD, R));
  });

  test('counts every secret in a line', () => {
    expect(redactLogLine(`user=a password=b token=c ${AWS_KEY_ID}`)).toEqual({
      text: `user=a password=${R} token=${R} ${R}`,
      redactions: 3,
    });
  });

  test('a password already carrying a recognised token is replaced once', () => {
    expect(redactLogLine(`token=${GITHUB_PAT}`)).toEqual({ text: `token=${R}`, redactions: 1 });
  });

  test('a line that is one long base64 blob (a PEM body line) goes', () => {
    expect(redactLogLine('MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB')).toEqual({ text: R, redactions: 1 });
  });
});

describe('near misses are left alone', () => {
  test.each([
    ['a git sha in a sentence', 'deployed commit 4f2c9a1e0b7d3c5e6f8091a2b3c4d5e6f708192a to production'],
    ['a git sha alone on a line', '4f2c9a1e0b7d3c5e6f8091a2b3c4d5e6f708192a'],
    ['an image digest', 'pulled registry.example.com/checkout@sha256:9c1e4f0b7a2d3c5e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6'],
    ['a UUID request id', 'request_id=6f1c2b3a-9d4e-4f7a-8b1c-2d3e4f5a6b7c status=500 duration=31ms'],
    ['a trace id', 'trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331'],
    ['"token" in prose', 'token refresh failed, retrying in 5s'],
    ['a Go error chain', 'auth: invalid token: signature is invalid'],
    ['another Go error chain', 'failed to read secret: secrets "db" not found'],
    ['"password" in prose', 'FATAL: password authentication failed for user "checkout"'],
    ['Basic and Bearer as words', 'Basic authentication is disabled; use Bearer authentication'],
    [
      'keys that name something else',
      'password_file=/run/secrets/db token_ttl=3600 max_tokens=512 secretName=db-credentials api_key_id=17',
    ],
    ['a URL with a port and no credentials', 'GET https://orders-db.internal:5432/health?verbose=1 200'],
    ['a short AKIA word', 'AKIAEXAMPLE is not a key id'],
    ['a bare 32-hex string', 'etag 0123456789abcdef0123456789abcdef unchanged'],
    ['empty passwords', 'password="" user=app secret=\'\' token='],
    ['a long identifier', 'AbstractSingletonProxyFactoryBeanConfigurationException'],
    ['an event named after a password', 'event=password_reset_requested user_id=4821 outcome=sent'],
    ['a password event as a key', 'password_reset_requested: true'],
    ['token counts', 'token_count=5 prompt_tokens=812 completion_tokens=64'],
    ['a token number in prose', 'max token 4096 exceeded, truncating prompt'],
    ['"token" and "Basic" as words', 'token expired, refreshing; Basic auth is disabled for this route'],
    ['a base64 image hash in a sentence', 'layer sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= verified, 12 MB'],
    ['an SRI hash', '<script integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC">'],
    ['a git user in an SSH URL', 'cloning ssh://git@github.com/acme/app.git'],
    ['a short URL user without password', 'push to https://deploy@registry.example.com/v2/checkout'],
    ['a URL with a path that has an @', 'see https://medium.com/@acme/incident-review for details'],
    [
      'a quoted name ending in "credentials" before prose',
      'MountVolume.SetUp failed for volume "api-credentials" : secret "frontend-api-keys" not found',
    ],
    ['an X-Request-Id header', 'X-Request-Id: 3c9d0f6e-5b1a-4e2f-9a7d-8c6b5a4f3e2d'],
  ])('%s', (_what, line) => {
    expect(redactLogLine(line)).toEqual({ text: line, redactions: 0 });
  });
});

describe('redactLogLines', () => {
  test('a PEM private key printed over several lines goes, the markers stay', () => {
    const out = redactLogLines(['loaded signing key:', BEGIN(), fakeCredential.pemBody(), 'short9line', END(), 'listening on :8080']);
    expect(out.map((l) => l.text)).toEqual(['loaded signing key:', BEGIN(), R, R, END(), 'listening on :8080']);
    expect(out.map((l) => l.redactions)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  test('a key whose BEGIN marker is on the same line as its first body bytes', () => {
    const out = redactLogLines([`key=${BEGIN('EC ')} ${fakeCredential.pemBody(20)}`, 'abc', `xyz${END('EC ')} done`]);
    expect(out.map((l) => l.text)).toEqual([`key=${BEGIN('EC ')}${R}`, R, `${R}${END('EC ')} done`]);
  });
});

describe('isSecretKey', () => {
  test.each([
    ['password', true],
    ['DB_PASSWORD', true],
    ['pgpassword', true],
    ['secretAccessKey', true],
    ['X-Api-Key', true],
    ['x-amz-security-token', true],
    ['sessionToken', true],
    ['client_secret', true],
    ['Set-Cookie', true],
    ['sig', true],
    ['password_file', false],
    ['tokens', false],
    ['secretName', false],
    ['request_id', false],
    ['monkey', false],
    ['bypass', false],
  ])('%s → %s', (key, secret) => {
    expect(isSecretKey(key)).toBe(secret);
  });
});

describe('hostile input', () => {
  test('long adversarial lines are handled in linear time', () => {
    const lines = [
      'a'.repeat(200_000),
      'password='.repeat(20_000),
      `${'https://u:'.repeat(20_000)}`,
      `Bearer ${'a'.repeat(200_000)}`,
      `eyJ${'a'.repeat(100_000)}.${'b'.repeat(100_000)}`,
      `${BEGIN()}${' x'.repeat(100_000)}`,
      `"password":"${'\\"'.repeat(50_000)}`,
      'x=y '.repeat(50_000),
      `token ${'a'.repeat(200_000)}`,
      `Basic ${'a'.repeat(200_000)}=`,
      `${'a.'.repeat(16)}://${'1'.repeat(200_000)}`,
      'a://1'.repeat(50_000),
      `https://${'a1'.repeat(100_000)}`,
      `password=${'\\'.repeat(200_000)}"`,
      `"password":${'\\\\\\"'.repeat(50_000)}`,
      `\\\\\\"token\\\\\\": \\\\\\"${'\\\\'.repeat(100_000)}`,
    ];
    const started = Date.now();
    for (const line of lines) redactLogLine(line);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

// ---- properties: a planted secret never survives ----------------------------------------

function survives(secret: string, planted: string, before: string, after: string): boolean {
  const out = redactLogLine(`${before} ${planted} ${after}`).text;
  return out.includes(secret);
}

describe.each(Object.entries(SECRET_KINDS))('property: a planted %s never survives', (_kind, arbitrary) => {
  test('whatever text surrounds it', () => {
    fc.assert(
      fc.property(arbitrary, context, context, ({ secret, planted }, before, after) => {
        fc.pre(!before.includes(secret) && !after.includes(secret));
        return !survives(secret, planted, before, after);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: a multi-line PEM key never survives', () => {
  test('whatever lines surround it', () => {
    const body = fc.array(fc.stringMatching(/^[A-Za-z0-9+/]{64}$/), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(context, { maxLength: 3 }), body, fc.array(context, { maxLength: 3 }), (before, lines, after) => {
        const out = redactLogLines([...before, BEGIN('OPENSSH '), ...lines, END('OPENSSH '), ...after]);
        return lines.every((l) => !out.some((o) => o.text.includes(l)));
      }),
    );
  });
});
