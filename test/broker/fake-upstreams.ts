// Real HTTP servers on loopback standing in for GitHub, PagerDuty, Datadog
// and Slack. Each records what it received, so a test can assert what the
// broker did (or did not) send upstream.
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body?: string;
}

export type FakeHandler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void | Promise<void>;

export interface FakeUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  handler: FakeHandler;
  close(): Promise<void>;
}

export async function startFake(handler: FakeHandler): Promise<FakeUpstream> {
  const fake: FakeUpstream = { url: '', port: 0, requests: [], handler, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    fake.requests.push(recorded);
    Promise.resolve(fake.handler(req, res, recorded)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server.address() as AddressInfo).port;
  fake.url = `http://127.0.0.1:${fake.port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// ---- GitHub ---------------------------------------------------------------

export interface GitHubFake extends FakeUpstream {
  /** Tokens issued, in order, with the repository names and permissions each was asked for (absent: all). */
  issued: { token: string; expiresAt: string; repositories?: string[]; permissions?: Record<string, string> }[];
  /** Rejected access-token requests, with why. */
  rejectedMints: string[];
  /** Authorization headers seen on the issues routes. */
  issueAuthorizations: (string | undefined)[];
  /** The App key the fake verifies JWTs against (swap it to simulate a key rotation). */
  publicKey: KeyObject;
  /** expires_at for the next token. */
  nextExpiresAt: () => Date;
  /** Answer access-token requests with this status instead (e.g. 401). */
  mintStatus?: number;
  /** Answer as a GitHub that ignored the body would: a token for every repository, with more permissions. */
  ignoreNarrowing?: boolean;
}

export async function startGitHubFake(options: { publicKeyPem: string; appId: string; installationId: number }): Promise<GitHubFake> {
  const issued: GitHubFake['issued'] = [];
  const rejectedMints: string[] = [];
  const issueAuthorizations: GitHubFake['issueAuthorizations'] = [];
  // Assigned once the server listens; its handler, which reads it, runs only after that.
  // eslint-disable-next-line prefer-const
  let fake!: GitHubFake;

  const base = await startFake(async (req, res, recorded) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
    if (req.method === 'POST' && mint) {
      recorded.body = await readBody(req);
      const reason = verifyAppJwt(req.headers.authorization, fake.publicKey, options.appId);
      if (reason) {
        rejectedMints.push(reason);
        json(res, 401, { message: 'A JSON web token could not be decoded' });
        return;
      }
      if (Number(mint[1]) !== options.installationId) {
        json(res, 404, { message: 'Not Found' });
        return;
      }
      if (fake.mintStatus) {
        json(res, fake.mintStatus, { message: 'mint refused by test' });
        return;
      }
      const token = `ghs_${randomBytes(18).toString('hex')}`;
      const expiresAt = fake
        .nextExpiresAt()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const asked = (recorded.body ? JSON.parse(recorded.body) : {}) as { repositories?: string[]; permissions?: Record<string, string> };
      const scope = fake.ignoreNarrowing ? {} : asked;
      issued.push({ token, expiresAt, ...scope });
      json(res, 201, {
        token,
        expires_at: expiresAt,
        permissions: scope.permissions ?? { issues: 'write', metadata: 'read', contents: 'write' },
        repository_selection: scope.repositories ? 'selected' : 'all',
        ...(scope.repositories && {
          repositories: scope.repositories.map((name, i) => ({ id: i + 1, name, full_name: `acme/${name}` })),
        }),
      });
      return;
    }
    const issues = /^\/repos\/[^/]+\/([^/]+)\/issues(\/\d+)?$/.exec(url.pathname);
    if (issues) {
      recorded.body = await readBody(req);
      issueAuthorizations.push(req.headers.authorization);
      // Only the newest token that reaches this repository is good, so a test sees which one the broker used.
      const name = issues[1]!.toLowerCase();
      const current = [...issued].reverse().find((t) => !t.repositories || t.repositories.some((r) => r.toLowerCase() === name))?.token;
      const m = /^(?:token|Bearer) (\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || m[1] !== current) {
        json(res, 401, { message: 'Bad credentials' });
        return;
      }
      if (req.method === 'POST') json(res, 201, { number: 1, title: 'created', html_url: 'http://fake/issues/1' });
      else if (url.pathname.endsWith('/issues')) json(res, 200, [], { 'x-ratelimit-remaining': '4999' });
      else json(res, 200, { number: 1, title: 'an issue' });
      return;
    }
    json(res, 404, { message: 'Not Found' });
  });

  fake = Object.assign(base, {
    issued,
    rejectedMints,
    issueAuthorizations,
    publicKey: createPublicKey(options.publicKeyPem),
    nextExpiresAt: () => new Date(Date.now() + 60 * 60_000),
  });
  return fake;
}

/** RS256 check with node:crypto, independent of the library the broker signs with. */
function verifyAppJwt(authorization: string | undefined, publicKey: KeyObject, appId: string): string | undefined {
  const m = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? '');
  if (!m) return 'no bearer JWT';
  const [, h, p, s] = m as unknown as [string, string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
  if (header.alg !== 'RS256') return `alg ${header.alg}`;
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'))) return 'bad signature';
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number; iat?: number };
  const now = Math.floor(Date.now() / 1000);
  if (String(payload.iss) !== appId) return 'wrong issuer';
  if (typeof payload.exp !== 'number' || payload.exp <= now) return 'expired';
  if (typeof payload.iat !== 'number' || payload.iat > now + 60 || payload.exp - payload.iat > 600) return 'bad iat/exp';
  return undefined;
}

// ---- PagerDuty ------------------------------------------------------------

export interface PagerDutyFake extends FakeUpstream {
  grants: Record<string, string>[];
  tokens: string[];
  grantedScope: (requested: string) => string;
  expiresIn: number;
  incidentAuthorizations: (string | undefined)[];
}

export async function startPagerDutyFake(options: { clientId: () => string; clientSecret: () => string }): Promise<PagerDutyFake> {
  // Assigned once the server listens; its handler, which reads it, runs only after that.
  // eslint-disable-next-line prefer-const
  let fake!: PagerDutyFake;
  const base = await startFake(async (req, res, recorded) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      recorded.body = await readBody(req);
      const form = Object.fromEntries(new URLSearchParams(recorded.body));
      fake.grants.push(form);
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return json(res, 400, { error: 'invalid_request' });
      if (form.grant_type !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      if (form.client_id !== options.clientId() || form.client_secret !== options.clientSecret())
        return json(res, 401, { error: 'invalid_client' });
      const token = `pdus+${randomBytes(16).toString('hex')}`;
      fake.tokens.push(token);
      return json(res, 200, {
        access_token: token,
        token_type: 'bearer',
        expires_in: fake.expiresIn,
        scope: fake.grantedScope(form.scope ?? ''),
      });
    }
    const incident = /^\/incidents\/([A-Za-z0-9]+)(\/alerts)?$/.exec(url.pathname);
    if (req.method === 'GET' && incident) {
      fake.incidentAuthorizations.push(req.headers.authorization);
      if (req.headers.authorization !== `Bearer ${fake.tokens.at(-1)}`) return json(res, 401, { error: { message: 'Unauthorized' } });
      return json(res, 200, incident[2] ? { alerts: [] } : { incident: { id: incident[1], incident_number: 42 } });
    }
    return json(res, 404, { error: { message: 'Not Found' } });
  });
  fake = Object.assign(base, {
    grants: [],
    tokens: [],
    grantedScope: (requested: string) => requested,
    expiresIn: 86_400,
    incidentAuthorizations: [],
  });
  return fake;
}

// ---- Datadog / Slack: record and answer ------------------------------------

/** Records headers and body, answers 200 with the body size (never an echo of headers: those carry the credential). */
export async function startEchoFake(): Promise<FakeUpstream> {
  return startFake(async (req, res, recorded) => {
    recorded.body = await readBody(req);
    json(res, 200, { ok: true, method: req.method, url: req.url, bodyBytes: Buffer.byteLength(recorded.body) });
  });
}

// ---- a tap in front of the broker ------------------------------------------

/** Records each request's method and raw target (query included: the audit log leaves it out), then forwards it unchanged to `target`. */
export async function startTap(target: string): Promise<FakeUpstream> {
  const upstream = new URL(target);
  return startFake(
    (req, res) =>
      new Promise<void>((resolve, reject) => {
        const out = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res).on('finish', resolve).on('error', reject);
          },
        );
        out.on('error', reject);
        req.pipe(out);
      }),
  );
}
