import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startMoto, type Moto } from '../../../sandbox/moto.js';
import { DEFAULT_ROLE_ARN, startPodIdentityAgent, type PodIdentityAgent } from '../../../sandbox/emulators/pod-identity.js';

// Generated per run: a projected service-account token is a JWT; its shape does not matter to the agent's check.
const token = () =>
  `eyJ${randomBytes(24).toString('base64url')}.${randomBytes(48).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

let moto: Moto;
let agent: PodIdentityAgent;
let tokenFile: string;
let currentToken: string;

beforeAll(async () => {
  moto = await startMoto();
  tokenFile = join(mkdtempSync(join(tmpdir(), 'pod-identity-')), 'eks-pod-identity-token');
  currentToken = token();
  writeFileSync(tokenFile, currentToken, { mode: 0o600 });
  agent = await startPodIdentityAgent({ stsEndpoint: moto.url, tokenFile, podName: 'keyless-triage-worker-7d9f' });
});
afterAll(async () => {
  await agent?.close();
  await moto?.close();
});

async function ask(authorization: string | undefined, url = agent.url) {
  const res = await fetch(url, { headers: authorization === undefined ? {} : { Authorization: authorization } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

describe('the Pod Identity Agent emulator', () => {
  test('serves the agent path on loopback, the URI the SDK accepts over plain http', () => {
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/credentials$/);
  });

  test('no Authorization header: 401, and nothing issued', async () => {
    const before = agent.issued;
    const res = await ask(undefined);
    expect(res.status).toBe(401);
    expect(agent.issued).toBe(before);
  });

  test('a wrong token: 403, and the answer does not echo either token', async () => {
    const wrong = token();
    const res = await ask(wrong);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain(wrong);
    expect(res.text).not.toContain(currentToken);
  });

  test('the right token: a 1-hour session in the shape the agent returns', async () => {
    const before = agent.issued;
    const res = await ask(currentToken);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['AccessKeyId', 'AccountId', 'Expiration', 'SecretAccessKey', 'Token']);
    expect(body).toMatchObject({
      AccessKeyId: expect.stringMatching(/^ASIA/),
      SecretAccessKey: expect.any(String),
      Token: expect.any(String),
      AccountId: '123456789012',
    });
    const expiresIn = Date.parse(body.Expiration as string) - Date.now();
    expect(expiresIn).toBeGreaterThan(58 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000);
    expect(agent.issued).toBe(before + 1);
  });

  test('the session is an assumed-role session of the configured role, named after the pod', async () => {
    const body = JSON.parse((await ask(currentToken)).text) as { AccessKeyId: string; SecretAccessKey: string; Token: string };
    const sts = new STSClient({
      endpoint: moto.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.Token },
    });
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(DEFAULT_ROLE_ARN).toBe('arn:aws:iam::123456789012:role/keyless-triage-worker');
      expect(identity.Arn).toBe('arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/eks-sandbox-keyless-triage-worker-7d9f');
      expect(identity.Account).toBe('123456789012');
    } finally {
      sts.destroy();
    }
  });

  test('the token file is re-read on every request: after rotation the old token is refused', async () => {
    const old = currentToken;
    currentToken = token();
    writeFileSync(tokenFile, currentToken);
    expect((await ask(old)).status).toBe(403);
    expect((await ask(currentToken)).status).toBe(200);
  });

  test('only GET /v1/credentials is served', async () => {
    expect((await ask(currentToken, agent.url.replace('/v1/credentials', '/v1/other'))).status).toBe(404);
    const post = await fetch(agent.url, { method: 'POST', headers: { Authorization: currentToken } });
    expect(post.status).toBe(404);
  });
});

describe('configuration', () => {
  test('another role, in another account: the account follows the role', async () => {
    const other = await startPodIdentityAgent({
      stsEndpoint: moto.url,
      tokenFile,
      roleArn: 'arn:aws:iam::210987654321:role/triage-reader',
      podName: 'p',
    });
    try {
      const body = JSON.parse((await ask(currentToken, other.url)).text) as { AccountId: string };
      expect(body.AccountId).toBe('210987654321');
    } finally {
      await other.close();
    }
  });

  test('a role ARN that is not one, or a missing token file, fails at start', async () => {
    await expect(
      startPodIdentityAgent({ stsEndpoint: moto.url, tokenFile, roleArn: 'arn:aws:iam::123456789012:user/alice' }),
    ).rejects.toThrow(/is not an IAM role ARN/);
    await expect(startPodIdentityAgent({ stsEndpoint: moto.url, tokenFile: join(tmpdir(), 'no-such-token-file') })).rejects.toThrow(
      /ENOENT/,
    );
  });

  test('STS unreachable: 500, nothing issued', async () => {
    const dead = await startPodIdentityAgent({ stsEndpoint: 'http://127.0.0.1:9', tokenFile, podName: 'p' });
    try {
      const res = await ask(currentToken, dead.url);
      expect(res.status).toBe(500);
      expect(dead.issued).toBe(0);
    } finally {
      await dead.close();
    }
  });
});
