// A GitHub REST API for the sandbox: a GitHub App installation that mints
// installation tokens from App JWTs, and the repository issues endpoints the
// triage worker uses, in GitHub's wire shapes (the `issue`, `label`,
// `simple-user`, `installation-token` and error schemas of @octokit/openapi),
// so @octokit/auth-app and @octokit/rest work against it unchanged.
import { createPublicKey, randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { importSPKI } from 'jose';
import { formatTimestamp, type SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { createIssue, findIssue, getIssue, listIssues, updateIssue } from './github-issues.js';
import { DOCS, issueObject, issuePage, sendError, type GitHubIssue } from './github-objects.js';
import { parseRepos, type AppContext, type MintRecord, type PermissionLevel, type TokenGrant } from './github-records.js';
import { appJwtGate, createAccessToken, credential } from './github-tokens.js';
import { fromLoopback, listen, requestLogger, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';
import { IssuedTokens } from './issued-tokens.js';

export type { GitHubIssue, GitHubLabel, GitHubUser } from './github-objects.js';
export type { MintRecord, PermissionLevel } from './github-records.js';

export interface GitHubEmulatorOptions extends ListenOptions {
  /** Added latency and error rate on every API request (scenario `conditions` or the environment). */
  conditions?: SurfaceConditions;
  /** The App's numeric id; JWTs must carry it as `iss` (GitHub takes it as a string or a number). */
  appId: string;
  installationId: number;
  /** The App's RSA public key (SPKI or PKCS#1 PEM); App JWTs must verify against it. */
  appPublicKeyPem: string;
  /** `owner/name` repositories the installation can reach; all belong to one account, as on GitHub. */
  repos: string[];
  /** Lifetime of installation tokens; GitHub's is one hour. */
  tokenTtlSeconds?: number;
  /** The App's slug; its bot user is `<slug>[bot]`. */
  appSlug?: string;
  /** What the installation was granted; a token gets these or the subset it asks for. */
  permissions?: Record<string, PermissionLevel>;
  /** Logins that may be assigned to issues (the repositories' collaborators). */
  assignableUsers?: string[];
  /** Clock in ms since the epoch, for expiry tests. */
  now?: () => number;
}

export interface GitHubEmulator extends Listening {
  setFault(fault: Fault | null): void;
  /** API requests received so far, including refused ones (not the `/_sandbox/` routes or web pages). */
  readonly requests: number;
  /** The most recent requests with their User-Agent / X-Triage-Id and status, oldest first. */
  readonly requestLog: readonly RequestLogEntry[];
  /** The issues of one installed repository, by number, as the API would render them. */
  issues(repo: string): GitHubIssue[];
  /** Every installation token issued so far, expired ones included (for leak scans). */
  issuedTokens(): string[];
  /** What each of those tokens reaches (repositories, permissions), in the same order, without the token. */
  mints(): MintRecord[];
  /** Delays each create-issue response by `ms` after the issue is stored (0 turns it off). */
  setHoldAfterCreate(ms: number): void;
}

const DEFAULT_TOKEN_TTL_S = 3600;
/** The primary rate limit of an installation on a personal or small-org account. */
const RATE_LIMIT_PER_HOUR = 5000;
const MAX_HOLD_MS = 10 * 60_000;
const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const DEFAULT_PERMISSIONS: Record<string, PermissionLevel> = { issues: 'write', metadata: 'read' };

function requestId(): string {
  const hex = randomBytes(10).toString('hex').toUpperCase();
  return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 14)}:${hex.slice(14, 20)}`;
}

/** The installation's primary rate limit: one window an hour, shared by every token. */
class RateWindow {
  private startMs: number;
  private used = 0;

  constructor(private readonly now: () => number) {
    this.startMs = now();
  }

  /** Counts a request; false when the hour's allowance is spent. */
  take(): boolean {
    const nowMs = this.now();
    if (nowMs >= this.startMs + 3_600_000) {
      this.startMs = nowMs;
      this.used = 0;
    }
    if (this.used >= RATE_LIMIT_PER_HOUR) return false;
    this.used += 1;
    return true;
  }

  headers(res: Response, remainingOverride?: number, resetOverride?: number): void {
    const reset = resetOverride ?? Math.ceil((this.startMs + 3_600_000) / 1000);
    res.set({
      'x-ratelimit-limit': String(RATE_LIMIT_PER_HOUR),
      'x-ratelimit-remaining': String(remainingOverride ?? Math.max(0, RATE_LIMIT_PER_HOUR - this.used)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(this.used),
      'x-ratelimit-resource': 'core',
    });
  }
}

/** Create-issue responses held back after the write, so a test can kill the caller in between. */
class CreateHold {
  private ms = 0;
  private readonly pending = new Set<NodeJS.Timeout>();

  set(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_HOLD_MS) throw new RangeError(`hold must be an integer number of ms, 0-${MAX_HOLD_MS}`);
    this.ms = ms;
  }

  wait(): Promise<void> {
    if (this.ms === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, this.ms);
      this.pending.add(timer);
    });
  }

  /** A held response never completes once the emulator stops. */
  release(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}

// ---- sandbox-only routes: no auth, no faults, loopback only -----------------

function sandboxRouter(ctx: AppContext) {
  const sandbox = express.Router();
  sandbox.use((req: Request, res: Response, next: NextFunction) => {
    if (!fromLoopback(req)) {
      res.status(403).json({ message: 'sandbox control routes answer loopback clients only' });
      return;
    }
    next();
  });
  sandbox.get('/issues', (_req, res) => {
    const base = ctx.base();
    res.json({
      issues: [...ctx.repos.values()].flatMap((repo) =>
        repo.issues.map((issue) => ({ repo: repo.fullName, issue: issueObject(base, ctx.app, repo, issue, true) })),
      ),
    });
  });
  sandbox.get('/issued-tokens', (_req, res) => {
    res.json({ tokens: ctx.tokens.all() });
  });
  sandbox.post('/hold-after-create', express.json({ limit: '1kb', type: () => true }), (req, res) => {
    const ms = (req.body as { ms?: unknown } | undefined)?.ms;
    try {
      if (typeof ms !== 'number') throw new RangeError('body must be {"ms": <non-negative integer>}');
      ctx.hold.set(ms);
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
      return;
    }
    res.json({ ms });
  });
  sandbox.use((_req: Request, res: Response) => {
    res.status(404).json({ message: 'Not Found' });
  });
  return sandbox;
}

/** The issue's web page (html_url), so links in Slack and the demo work. */
function issuePageHandler(ctx: AppContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const repo = ctx.repos.get(`${req.params.owner}/${req.params.repo}`.toLowerCase());
    const issue = repo && findIssue(repo, String(req.params.number));
    if (!repo || !issue || !fromLoopback(req)) {
      next();
      return;
    }
    const rendered = issueObject(ctx.base(), ctx.app, repo, issue, true);
    if (req.accepts(['text/html', 'application/json']) === 'application/json') {
      res.json(rendered);
      return;
    }
    // Titles and bodies are untrusted text: escaped, and a CSP that allows no script anyway.
    res.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type('html').send(issuePage(repo, rendered));
  };
}

// ---- the API ---------------------------------------------------------------

/** What every API request passes first: added latency, injected faults, and GitHub's User-Agent and API version rules. */
function apiGate(ctx: AppContext, rate: RateWindow) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    ctx.onRequest();
    await ctx.faults.delay();
    res.set({ 'x-github-media-type': 'github.v3; format=json', 'x-github-api-version-selected': '2022-11-28' });
    const fault = ctx.faults.take();
    if (fault) {
      if (fault.status === 403 || fault.status === 429) {
        // GitHub's secondary rate limit: Retry-After when it names a wait; otherwise
        // x-ratelimit-remaining 0 and the reset time are what a client must honour.
        if (fault.retryAfterSeconds !== undefined) {
          res.set('retry-after', String(fault.retryAfterSeconds));
          rate.headers(res);
        } else {
          rate.headers(res, 0, Math.ceil(ctx.now() / 1000) + 60);
        }
        const id = res.get('x-github-request-id');
        sendError(
          res,
          fault.status,
          `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${id}.`,
          DOCS.secondaryRateLimit,
        );
        return;
      }
      if (fault.retryAfterSeconds !== undefined) res.set('retry-after', String(fault.retryAfterSeconds));
      const message =
        fault.status === 401 ? 'Bad credentials' : fault.status === 422 ? 'Validation Failed' : (STATUS_CODES[fault.status] ?? 'Error');
      sendError(res, fault.status, message, DOCS.rest);
      return;
    }
    // GitHub turns away API requests that carry no User-Agent.
    if (!req.get('user-agent')) {
      res
        .status(403)
        .type('text/plain')
        .send(
          'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n',
        );
      return;
    }
    const version = req.get('x-github-api-version');
    if (version !== undefined) {
      if (!API_VERSIONS.has(version)) {
        sendError(res, 400, `API version '${version.slice(0, 40)}' is not supported.`, DOCS.rest);
        return;
      }
      res.set('x-github-api-version-selected', version);
    }
    next();
  };
}

/** Everything under /repos needs an installation token of this installation, and counts against its rate limit. */
function installationTokenGate(ctx: AppContext, rate: RateWindow) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = credential(req);
    if (!token) {
      sendError(res, 401, 'Requires authentication', DOCS.rest);
      return;
    }
    const checked = ctx.tokens.check(token);
    if (!('grant' in checked)) {
      sendError(res, 401, 'Bad credentials', DOCS.rest);
      return;
    }
    if (!rate.take()) {
      rate.headers(res);
      sendError(res, 403, `API rate limit exceeded for installation ID ${ctx.installationId}.`, DOCS.primaryRateLimit);
      return;
    }
    rate.headers(res);
    res.locals.grant = checked.grant;
    next();
  };
}

// Express 5 needs the four-argument signature to recognise an error handler.
function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed') sendError(res, 400, 'Problems parsing JSON', DOCS.rest);
  else if (type === 'entity.too.large') sendError(res, 413, 'Payload Too Large', DOCS.rest);
  else sendError(res, 500, 'Server Error', DOCS.rest);
}

function createGitHubApp(ctx: AppContext) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(ctx.log));
  const jsonBody = express.json({ limit: '1mb', type: () => true });
  const rate = new RateWindow(ctx.now);

  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('x-github-request-id', requestId());
    next();
  });
  app.use('/_sandbox', sandboxRouter(ctx));
  app.get('/:owner/:repo/issues/:number', issuePageHandler(ctx));

  app.use(apiGate(ctx, rate));
  app.post('/app/installations/:installation_id/access_tokens', appJwtGate(ctx), jsonBody, createAccessToken(ctx));
  app.use('/repos', installationTokenGate(ctx, rate));
  app.get('/repos/:owner/:repo/issues', listIssues(ctx));
  app.post('/repos/:owner/:repo/issues', jsonBody, createIssue(ctx));
  app.get('/repos/:owner/:repo/issues/:issue_number', getIssue(ctx));
  app.patch('/repos/:owner/:repo/issues/:issue_number', jsonBody, updateIssue(ctx));
  app.use((_req: Request, res: Response) => {
    sendError(res, 404, 'Not Found', DOCS.rest);
  });
  app.use(errorHandler);
  return app;
}

/** The App's public key as SPKI PEM, the form jose takes. */
function spkiOf(appPublicKeyPem: string): string {
  // createPublicKey takes SPKI and PKCS#1 PEM alike; jose wants SPKI. It would also
  // derive a public key from a private one, but the App's private key belongs to the
  // broker alone, so handing it to GitHub's stand-in is refused as a mistake.
  if (/PRIVATE KEY/.test(appPublicKeyPem))
    throw new Error('GitHub emulator: appPublicKeyPem holds a private key; pass the public key only');
  try {
    const key = createPublicKey(appPublicKeyPem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    throw new Error(`GitHub emulator: appPublicKeyPem is not an RSA public key (${(err as Error).message})`, { cause: err });
  }
}

export async function startGitHubEmulator(options: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  if (!/^[1-9]\d{0,15}$/.test(options.appId)) throw new Error("GitHub emulator: appId must be the App's numeric id");
  if (!Number.isSafeInteger(options.installationId) || options.installationId < 1)
    throw new Error('GitHub emulator: installationId must be a positive integer');
  const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new Error('GitHub emulator: tokenTtlSeconds must be an integer 1-86400');
  const slug = options.appSlug ?? 'keyless-triage';
  if (!/^[a-z0-9][a-z0-9-]{0,33}$/.test(slug)) throw new Error('GitHub emulator: appSlug must be lowercase letters, digits and "-"');
  const permissions = options.permissions ?? DEFAULT_PERMISSIONS;
  for (const [name, level] of Object.entries(permissions)) {
    if (!/^[a-z_]+$/.test(name) || (level !== 'read' && level !== 'write'))
      throw new Error(`GitHub emulator: permission ${name}=${String(level)} is not name=read|write`);
  }
  const publicKey = await importSPKI(spkiOf(options.appPublicKeyPem), 'RS256');
  const { owner, repos } = parseRepos(options.repos);
  const now = options.now ?? Date.now;

  let requests = 0;
  let idCounter = 3_000_000_000;
  const hold = new CreateHold();
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);
  const tokens = new IssuedTokens<TokenGrant>(now);
  let baseUrl = '';
  const ctx: AppContext = {
    app: { appId: Number(options.appId), slug, owner, permissions: { ...permissions }, createdAt: formatTimestamp(now()) },
    installationId: options.installationId,
    publicKey,
    repos: new Map(repos.map((r) => [r.fullName.toLowerCase(), r])),
    tokens,
    mints: [],
    tokenTtlMs: ttl * 1000,
    assignable: new Set((options.assignableUsers ?? []).map((u) => u.toLowerCase())),
    faults,
    log,
    now,
    base: () => baseUrl,
    hold,
    onRequest: () => void requests++,
    nextId: () => ++idCounter,
  };
  const server = await listen(createGitHubApp(ctx), options, () => hold.release());
  // Links in responses use the emulator's own address, whoever proxied the request.
  baseUrl = server.url;
  return {
    url: server.url,
    close: server.close,
    setFault: (fault) => faults.set(fault),
    get requests() {
      return requests;
    },
    requestLog: log,
    issues: (repo) => {
      const found = ctx.repos.get(repo.toLowerCase());
      if (!found) throw new RangeError(`GitHub emulator: ${repo} is not a repository of the installation`);
      return found.issues.map((i) => issueObject(baseUrl, ctx.app, found, i, true));
    },
    issuedTokens: () => tokens.all(),
    mints: () => ctx.mints.map((m) => ({ ...m, repositories: [...m.repositories], permissions: { ...m.permissions } })),
    setHoldAfterCreate: (ms) => hold.set(ms),
  };
}
