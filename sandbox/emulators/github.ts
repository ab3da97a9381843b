// A GitHub REST API for the sandbox: a GitHub App installation that mints
// installation tokens from App JWTs, and the repository issues endpoints the
// triage worker uses, in GitHub's wire shapes (the `issue`, `label`,
// `simple-user`, `installation-token` and error schemas of @octokit/openapi),
// so @octokit/auth-app and @octokit/rest work against it unchanged.
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { errors as joseErrors, importSPKI, jwtVerify } from 'jose';
import { formatTimestamp, type SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { fromLoopback, listen, requestLogger, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';
import { IssuedTokens, randomBase62 } from './issued-tokens.js';

export type PermissionLevel = 'read' | 'write';

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

export interface GitHubUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string | null;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: 'User' | 'Bot' | 'Organization';
  user_view_type: string;
  site_admin: boolean;
}

export interface GitHubLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: boolean;
  description: string | null;
}

export interface GitHubIssue {
  id: number;
  node_id: string;
  url: string;
  repository_url: string;
  labels_url: string;
  comments_url: string;
  events_url: string;
  html_url: string;
  number: number;
  state: 'open' | 'closed';
  state_reason: StateReason | null;
  title: string;
  body: string | null;
  user: GitHubUser;
  labels: GitHubLabel[];
  assignee: GitHubUser | null;
  assignees: GitHubUser[];
  milestone: null;
  locked: boolean;
  active_lock_reason: string | null;
  comments: number;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  closed_by?: GitHubUser | null;
  timeline_url: string;
  type: null;
  performed_via_github_app: Record<string, unknown>;
  author_association: string;
  reactions: Record<string, string | number>;
  sub_issues_summary: { total: number; completed: number; percent_completed: number };
  issue_dependencies_summary: { blocked_by: number; blocking: number; total_blocked_by: number; total_blocking: number };
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
  /** Delays each create-issue response by `ms` after the issue is stored (0 turns it off). */
  setHoldAfterCreate(ms: number): void;
}

type StateReason = 'completed' | 'reopened' | 'not_planned' | 'duplicate';

// ---- GitHub's limits and messages --------------------------------------------

/** GitHub refuses App JWTs whose lifetime exceeds ten minutes. */
const MAX_JWT_LIFETIME_S = 600;
/** Clock drift GitHub tolerates on `iat` and `exp` (its docs say to backdate `iat` by 60 s). */
const CLOCK_SKEW_S = 60;
const DEFAULT_TOKEN_TTL_S = 3600;
const MAX_TITLE = 256;
const MAX_BODY = 65_536;
const MAX_LABEL_NAME = 50;
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;
/** The primary rate limit of an installation on a personal or small-org account. */
const RATE_LIMIT_PER_HOUR = 5000;
const MAX_HOLD_MS = 10 * 60_000;
const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const DEFAULT_PERMISSIONS: Record<string, PermissionLevel> = { issues: 'write', metadata: 'read' };
/** GitHub's colour for a label created implicitly by naming it on an issue. */
const IMPLICIT_LABEL_COLOR = 'ededed';

const DOCS = {
  rest: 'https://docs.github.com/rest',
  accessToken: 'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app',
  listIssues: 'https://docs.github.com/rest/issues/issues#list-repository-issues',
  createIssue: 'https://docs.github.com/rest/issues/issues#create-an-issue',
  getIssue: 'https://docs.github.com/rest/issues/issues#get-an-issue',
  updateIssue: 'https://docs.github.com/rest/issues/issues#update-an-issue',
  secondaryRateLimit: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
  primaryRateLimit: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api',
};

const JWT_UNDECODABLE = 'A JSON web token could not be decoded';
const JWT_EXP_INVALID = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const JWT_IAT_INVALID = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

interface ValidationIssue {
  resource: string;
  field?: string;
  code: string;
  message?: string;
  value?: string | number | null;
}

function sendError(res: Response, status: number, message: string, documentationUrl: string, extra: { errors?: ValidationIssue[] } = {}): void {
  // Current GitHub error bodies repeat the status as a string.
  res.status(status).json({ message, ...extra, documentation_url: documentationUrl, status: String(status) });
}

function validationFailed(res: Response, errors: ValidationIssue[], documentationUrl: string): void {
  sendError(res, 422, 'Validation Failed', documentationUrl, { errors });
}

// ---- stored state ------------------------------------------------------------

interface LabelRecord {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
}

interface IssueRecord {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: StateReason | null;
  labels: LabelRecord[];
  assignees: string[];
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  closedByApp: boolean;
}

interface RepoRecord {
  owner: string;
  name: string;
  fullName: string;
  id: number;
  nodeId: string;
  /** Lower-cased label name → label: GitHub label names are case-insensitive. */
  labels: Map<string, LabelRecord>;
  issues: IssueRecord[];
}

interface TokenGrant {
  permissions: Record<string, PermissionLevel>;
  /** Lower-cased `owner/name` of the repositories the token reaches. */
  repos: Set<string>;
}

/** Ids that stay the same across restarts for the same name, so links in a demo survive a restart. */
function stableId(kind: string, name: string): number {
  return 100_000_000 + (parseInt(createHash('sha256').update(`${kind}:${name.toLowerCase()}`).digest('hex').slice(0, 8), 16) % 900_000_000);
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(String(id)).toString('base64url')}`;
}

const LEVEL_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };

function parseRepos(repos: string[]): { owner: string | undefined; repos: RepoRecord[] } {
  const out = new Map<string, RepoRecord>();
  let owner: string | undefined;
  for (const full of repos) {
    const [o, n, ...rest] = full.split('/');
    if (o === undefined || n === undefined || rest.length > 0 || !OWNER.test(o) || !REPO_NAME.test(n)) {
      throw new Error(`GitHub emulator: repository ${JSON.stringify(full)} must be owner/name`);
    }
    if (owner !== undefined && owner.toLowerCase() !== o.toLowerCase()) {
      throw new Error(`GitHub emulator: an installation belongs to one account; got repositories of ${owner} and ${o}`);
    }
    owner ??= o;
    const id = stableId('repo', full);
    out.set(full.toLowerCase(), { owner: o, name: n, fullName: `${o}/${n}`, id, nodeId: nodeId('R', id), labels: new Map(), issues: [] });
  }
  return { owner, repos: [...out.values()] };
}

// ---- rendering ---------------------------------------------------------------

function userObject(base: string, login: string, id: number, type: GitHubUser['type'], htmlUrl: string): GitHubUser {
  const api = `${base}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId(type === 'Bot' ? 'BOT' : type === 'Organization' ? 'O' : 'U', id),
    avatar_url: `${base}/avatars/${encodeURIComponent(login)}`,
    gravatar_id: '',
    url: api,
    html_url: htmlUrl,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false,
  };
}

interface AppIdentity {
  appId: number;
  slug: string;
  owner: string | undefined;
  permissions: Record<string, PermissionLevel>;
  createdAt: string;
}

function botUser(base: string, app: AppIdentity): GitHubUser {
  return userObject(base, `${app.slug}[bot]`, stableId('bot', app.slug), 'Bot', `${base}/apps/${app.slug}`);
}

function plainUser(base: string, login: string): GitHubUser {
  return userObject(base, login, stableId('user', login), 'User', `${base}/${encodeURIComponent(login)}`);
}

function orgUser(base: string, login: string): GitHubUser {
  return userObject(base, login, stableId('org', login), 'Organization', `${base}/${encodeURIComponent(login)}`);
}

function appObject(base: string, app: AppIdentity) {
  return {
    id: app.appId,
    slug: app.slug,
    node_id: nodeId('A', app.appId),
    client_id: `Iv23li${createHash('sha256').update(String(app.appId)).digest('hex').slice(0, 14)}`,
    owner: orgUser(base, app.owner ?? app.slug),
    name: app.slug,
    description: 'Incident triage (sandbox)',
    external_url: `${base}/apps/${app.slug}`,
    html_url: `${base}/apps/${app.slug}`,
    created_at: app.createdAt,
    updated_at: app.createdAt,
    permissions: { ...app.permissions },
    events: [],
  };
}

function labelObject(base: string, repo: RepoRecord, label: LabelRecord): GitHubLabel {
  return {
    id: label.id,
    node_id: label.nodeId,
    url: `${base}/repos/${repo.fullName}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    color: label.color,
    default: false,
    description: label.description,
  };
}

function issueObject(base: string, app: AppIdentity, repo: RepoRecord, issue: IssueRecord, withClosedBy: boolean): GitHubIssue {
  const api = `${base}/repos/${repo.fullName}/issues/${issue.number}`;
  const assignees = issue.assignees.map((login) => plainUser(base, login));
  return {
    url: api,
    repository_url: `${base}/repos/${repo.fullName}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${base}/${repo.fullName}/issues/${issue.number}`,
    id: issue.id,
    node_id: issue.nodeId,
    number: issue.number,
    title: issue.title,
    user: botUser(base, app),
    labels: issue.labels.map((l) => labelObject(base, repo, l)),
    state: issue.state,
    locked: false,
    assignee: assignees[0] ?? null,
    assignees,
    milestone: null,
    comments: 0,
    created_at: formatTimestamp(issue.createdAt),
    updated_at: formatTimestamp(issue.updatedAt),
    closed_at: issue.closedAt === null ? null : formatTimestamp(issue.closedAt),
    author_association: 'NONE',
    type: null,
    active_lock_reason: null,
    sub_issues_summary: { total: 0, completed: 0, percent_completed: 0 },
    issue_dependencies_summary: { blocked_by: 0, blocking: 0, total_blocked_by: 0, total_blocking: 0 },
    body: issue.body,
    // The list endpoint leaves closed_by out; the single-issue endpoints include it.
    ...(withClosedBy ? { closed_by: issue.closedByApp ? botUser(base, app) : null } : {}),
    reactions: { url: `${api}/reactions`, total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
    timeline_url: `${api}/timeline`,
    performed_via_github_app: appObject(base, app),
    state_reason: issue.stateReason,
  };
}

/** The `repository` schema, for the token response when the caller narrows the token to named repositories. */
function repositoryObject(base: string, repo: RepoRecord, createdAt: string) {
  const api = `${base}/repos/${repo.fullName}`;
  const html = `${base}/${repo.fullName}`;
  const open = repo.issues.filter((i) => i.state === 'open').length;
  return {
    id: repo.id,
    node_id: repo.nodeId,
    name: repo.name,
    full_name: repo.fullName,
    owner: orgUser(base, repo.owner),
    private: true,
    html_url: html,
    description: null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `${base.replace(/^https?:/, 'git:')}/${repo.fullName}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${new URL(base).host}:${repo.fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: 'main',
    open_issues_count: open,
    open_issues: open,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    pushed_at: createdAt,
    created_at: createdAt,
    updated_at: createdAt,
    license: null,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function issuePage(repo: RepoRecord, issue: GitHubIssue): string {
  const labels = issue.labels.map((l) => `<span class="label">${escapeHtml(l.name)}</span>`).join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(issue.title)} · Issue #${issue.number} · ${escapeHtml(repo.fullName)}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}.label{background:#ededed;border-radius:1em;padding:0 .6em;margin-right:.3em}
pre{white-space:pre-wrap;background:#f6f8fa;padding:1rem;border-radius:6px}.note{color:#666}</style></head>
<body><p class="note">Sandbox GitHub emulator · ${escapeHtml(repo.fullName)}</p>
<h1>${escapeHtml(issue.title)} <span class="note">#${issue.number}</span></h1>
<p>${escapeHtml(issue.state)} · opened ${escapeHtml(issue.created_at)} by ${escapeHtml(issue.user.login)} · ${labels}</p>
<pre>${escapeHtml(issue.body ?? '')}</pre>
</body></html>
`;
}

// ---- request parsing ---------------------------------------------------------

function queryValue(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  return String(Array.isArray(v) ? v[0] : v);
}

function credential(req: Request): string | undefined {
  // Octokit sends `token …` for installation tokens and `bearer …` for JWTs; GitHub takes either scheme for both.
  return /^(?:bearer|token)\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
}

interface IssueInput {
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  stateReason?: StateReason | null;
  labels?: string[];
  assignees?: string[];
}

/** Validates a create or update body the way GitHub reports problems: all of them, in one 422. */
function parseIssueInput(raw: Record<string, unknown>, mode: 'create' | 'update', assignable: Set<string>): { input: IssueInput } | { errors: ValidationIssue[] } {
  const errors: ValidationIssue[] = [];
  const input: IssueInput = {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(raw, k) && raw[k] !== undefined;

  if (mode === 'create' || has('title')) {
    const t = raw.title;
    const title = typeof t === 'number' && Number.isInteger(t) ? String(t) : typeof t === 'string' ? t : undefined;
    if (t === undefined || t === null || (typeof title === 'string' && title.trim() === '')) {
      errors.push({ resource: 'Issue', field: 'title', code: 'missing_field' });
    } else if (title === undefined) {
      errors.push({ resource: 'Issue', field: 'title', code: 'invalid' });
    } else if ([...title].length > MAX_TITLE) {
      errors.push({ resource: 'Issue', field: 'title', code: 'custom', message: `title is too long (maximum is ${MAX_TITLE} characters)` });
    } else {
      input.title = title;
    }
  }
  if (has('body')) {
    const b = raw.body;
    if (b !== null && typeof b !== 'string') errors.push({ resource: 'Issue', field: 'body', code: 'invalid' });
    else if (typeof b === 'string' && [...b].length > MAX_BODY) {
      errors.push({ resource: 'Issue', field: 'body', code: 'custom', message: `body is too long (maximum is ${MAX_BODY} characters)` });
    } else input.body = b;
  }
  if (mode === 'update' && has('state')) {
    if (raw.state !== 'open' && raw.state !== 'closed') errors.push({ resource: 'Issue', field: 'state', code: 'invalid', value: String(raw.state) });
    else input.state = raw.state;
  }
  if (mode === 'update' && has('state_reason')) {
    const r = raw.state_reason;
    if (r !== null && r !== 'completed' && r !== 'not_planned' && r !== 'duplicate' && r !== 'reopened') {
      errors.push({ resource: 'Issue', field: 'state_reason', code: 'invalid', value: String(r) });
    } else input.stateReason = r;
  }
  if (has('labels')) {
    const labels = raw.labels;
    if (!Array.isArray(labels)) {
      errors.push({ resource: 'Issue', field: 'labels', code: 'invalid' });
    } else {
      const names: string[] = [];
      for (const l of labels) {
        const name = typeof l === 'string' ? l : l !== null && typeof l === 'object' && typeof (l as { name?: unknown }).name === 'string' ? (l as { name: string }).name : undefined;
        if (name === undefined || name.trim() === '') errors.push({ resource: 'Label', field: 'name', code: 'missing_field' });
        else if ([...name].length > MAX_LABEL_NAME) errors.push({ resource: 'Label', field: 'name', code: 'invalid', value: name.slice(0, 80) });
        else names.push(name.trim());
      }
      input.labels = names;
    }
  }
  const rawAssignees: unknown[] = [];
  let assigneesGiven = false;
  if (has('assignees')) {
    assigneesGiven = true;
    if (!Array.isArray(raw.assignees)) errors.push({ resource: 'Issue', field: 'assignees', code: 'invalid' });
    else rawAssignees.push(...raw.assignees.map((a) => (a !== null && typeof a === 'object' ? (a as { login?: unknown }).login : a)));
  }
  if (has('assignee') && raw.assignee !== null) {
    assigneesGiven = true;
    rawAssignees.push(raw.assignee);
  }
  if (assigneesGiven) {
    const logins: string[] = [];
    for (const a of rawAssignees) {
      if (typeof a !== 'string' || !assignable.has(a.toLowerCase())) {
        errors.push({ resource: 'Issue', field: 'assignees', code: 'invalid', value: typeof a === 'string' ? a.slice(0, 80) : null });
      } else if (!logins.some((l) => l.toLowerCase() === a.toLowerCase())) logins.push(a);
    }
    input.assignees = logins;
  }
  if (has('milestone') && raw.milestone !== null) {
    // The sandbox repositories have no milestones; GitHub refuses one that does not exist.
    errors.push({ resource: 'Issue', field: 'milestone', code: 'invalid', value: typeof raw.milestone === 'number' ? raw.milestone : String(raw.milestone) });
  }
  return errors.length > 0 ? { errors } : { input };
}

// ---- the app -----------------------------------------------------------------

interface AppContext {
  app: AppIdentity;
  installationId: number;
  publicKey: Awaited<ReturnType<typeof importSPKI>>;
  repos: Map<string, RepoRecord>;
  tokens: IssuedTokens<TokenGrant>;
  tokenTtlMs: number;
  assignable: Set<string>;
  faults: FaultSwitch;
  log: RequestLogEntry[];
  now: () => number;
  base: () => string;
  holdAfterCreate: () => Promise<void>;
  setHold: (ms: number) => void;
  onRequest: () => void;
  nextId: () => number;
}

async function checkAppJwt(ctx: AppContext, jwt: string): Promise<string | undefined> {
  const nowMs = ctx.now();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, ctx.publicKey, { algorithms: ['RS256'], clockTolerance: CLOCK_SKEW_S, currentDate: new Date(nowMs) }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return JWT_EXP_INVALID;
    if (err instanceof joseErrors.JWTClaimValidationFailed) return err.claim === 'iat' ? JWT_IAT_INVALID : err.claim === 'exp' ? JWT_EXP_INVALID : JWT_UNDECODABLE;
    return JWT_UNDECODABLE;
  }
  // GitHub picks the verification key by `iss`; a JWT naming another App cannot be verified.
  const iss = payload.iss;
  if (!((typeof iss === 'string' || typeof iss === 'number') && String(iss) === String(ctx.app.appId))) return JWT_UNDECODABLE;
  const nowS = Math.floor(nowMs / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowS + CLOCK_SKEW_S) return JWT_IAT_INVALID;
  if (typeof exp !== 'number' || exp + CLOCK_SKEW_S <= nowS) return JWT_EXP_INVALID;
  if (exp - iat > MAX_JWT_LIFETIME_S) return JWT_EXP_TOO_FAR;
  return undefined;
}

function requestId(): string {
  const hex = randomBytes(10).toString('hex').toUpperCase();
  return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 14)}:${hex.slice(14, 20)}`;
}

function createGitHubApp(ctx: AppContext) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(ctx.log));
  const jsonBody = express.json({ limit: '1mb', type: () => true });

  let rateWindow = { startMs: ctx.now(), used: 0 };
  const rateLimitHeaders = (res: Response, remainingOverride?: number, resetOverride?: number) => {
    const reset = resetOverride ?? Math.ceil((rateWindow.startMs + 3_600_000) / 1000);
    res.set({
      'x-ratelimit-limit': String(RATE_LIMIT_PER_HOUR),
      'x-ratelimit-remaining': String(remainingOverride ?? Math.max(0, RATE_LIMIT_PER_HOUR - rateWindow.used)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(rateWindow.used),
      'x-ratelimit-resource': 'core',
    });
  };

  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('x-github-request-id', requestId());
    next();
  });

  // ---- sandbox-only routes: no auth, no faults, loopback only -----------------
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
      issues: [...ctx.repos.values()].flatMap((repo) => repo.issues.map((issue) => ({ repo: repo.fullName, issue: issueObject(base, ctx.app, repo, issue, true) }))),
    });
  });
  sandbox.get('/issued-tokens', (_req, res) => {
    res.json({ tokens: ctx.tokens.all() });
  });
  sandbox.post('/hold-after-create', express.json({ limit: '1kb', type: () => true }), (req, res) => {
    const ms = (req.body as { ms?: unknown } | undefined)?.ms;
    try {
      if (typeof ms !== 'number') throw new RangeError('body must be {"ms": <non-negative integer>}');
      ctx.setHold(ms);
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
      return;
    }
    res.json({ ms });
  });
  sandbox.use((_req: Request, res: Response) => {
    res.status(404).json({ message: 'Not Found' });
  });
  app.use('/_sandbox', sandbox);

  // ---- the issue's web page (html_url), so links in Slack and the demo work ---
  app.get('/:owner/:repo/issues/:number', (req, res, next) => {
    const repo = ctx.repos.get(`${req.params.owner}/${req.params.repo}`.toLowerCase());
    const issue = /^\d{1,9}$/.test(req.params.number) ? repo?.issues.find((i) => i.number === Number(req.params.number)) : undefined;
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
  });

  // ---- the API ---------------------------------------------------------------
  app.use(async (req: Request, res: Response, next: NextFunction) => {
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
          rateLimitHeaders(res);
        } else {
          rateLimitHeaders(res, 0, Math.ceil(ctx.now() / 1000) + 60);
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
      const message = fault.status === 401 ? 'Bad credentials' : fault.status === 422 ? 'Validation Failed' : (STATUS_CODES[fault.status] ?? 'Error');
      sendError(res, fault.status, message, DOCS.rest);
      return;
    }
    // GitHub turns away API requests that carry no User-Agent.
    if (!req.get('user-agent')) {
      res
        .status(403)
        .type('text/plain')
        .send('Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n');
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
  });

  app.post('/app/installations/:installation_id/access_tokens', async (req, res, next) => {
    const jwt = credential(req);
    if (!jwt) {
      sendError(res, 401, 'Requires authentication', DOCS.accessToken);
      return;
    }
    const refusal = await checkAppJwt(ctx, jwt);
    if (refusal) {
      sendError(res, 401, refusal, DOCS.rest);
      return;
    }
    if (req.params.installation_id !== String(ctx.installationId)) {
      sendError(res, 404, 'Not Found', DOCS.accessToken);
      return;
    }
    next();
  });
  app.post('/app/installations/:installation_id/access_tokens', jsonBody, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) {
      sendError(res, 400, 'Problems parsing JSON', DOCS.accessToken);
      return;
    }
    const installed = [...ctx.repos.values()];
    let reach = installed;
    const { repositories, repository_ids: repositoryIds, permissions } = body;
    if (repositories !== undefined || repositoryIds !== undefined) {
      if ((repositories !== undefined && !(Array.isArray(repositories) && repositories.every((r) => typeof r === 'string'))) ||
          (repositoryIds !== undefined && !(Array.isArray(repositoryIds) && repositoryIds.every((r) => Number.isInteger(r))))) {
        sendError(res, 422, 'Invalid request.\n\nrepositories must be an array of names and repository_ids an array of integers.', DOCS.accessToken);
        return;
      }
      const names = (repositories as string[] | undefined) ?? [];
      const ids = (repositoryIds as number[] | undefined) ?? [];
      const picked = new Set<RepoRecord>();
      for (const n of names) {
        const found = installed.find((r) => r.name.toLowerCase() === n.toLowerCase() || r.fullName.toLowerCase() === n.toLowerCase());
        if (!found) {
          sendError(res, 422, 'There is at least one repository that does not exist or is not accessible to the parent installation.', DOCS.accessToken);
          return;
        }
        picked.add(found);
      }
      for (const id of ids) {
        const found = installed.find((r) => r.id === id);
        if (!found) {
          sendError(res, 422, 'There is at least one repository that does not exist or is not accessible to the parent installation.', DOCS.accessToken);
          return;
        }
        picked.add(found);
      }
      reach = [...picked];
    }
    let granted = { ...ctx.app.permissions };
    if (permissions !== undefined) {
      if (permissions === null || typeof permissions !== 'object' || Array.isArray(permissions)) {
        sendError(res, 422, 'Invalid request.\n\npermissions must be an object.', DOCS.accessToken);
        return;
      }
      granted = {};
      for (const [name, level] of Object.entries(permissions)) {
        const has = ctx.app.permissions[name];
        if (has === undefined || typeof level !== 'string' || LEVEL_RANK[level] === undefined || LEVEL_RANK[level]! > LEVEL_RANK[has]!) {
          sendError(res, 422, 'The permissions requested are not granted to this installation.', DOCS.accessToken);
          return;
        }
        granted[name] = level as PermissionLevel;
      }
      // Every installation token can read repository metadata.
      if (ctx.app.permissions.metadata && !granted.metadata) granted.metadata = 'read';
    }
    const token = `ghs_${randomBase62(36)}`;
    // GitHub's timestamps have whole seconds; expiry is stored at that precision so expires_at is exact.
    const expiresAtMs = Math.floor((ctx.now() + ctx.tokenTtlMs) / 1000) * 1000;
    ctx.tokens.add(token, { permissions: granted, repos: new Set(reach.map((r) => r.fullName.toLowerCase())) }, expiresAtMs);
    const narrowed = repositories !== undefined || repositoryIds !== undefined;
    res.status(201).json({
      token,
      expires_at: formatTimestamp(expiresAtMs),
      permissions: granted,
      repository_selection: 'selected',
      ...(narrowed ? { repositories: reach.map((r) => repositoryObject(ctx.base(), r, ctx.app.createdAt)) } : {}),
    });
  });

  // Everything under /repos needs an installation token of this installation.
  app.use('/repos', (req: Request, res: Response, next: NextFunction) => {
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
    const nowMs = ctx.now();
    if (nowMs >= rateWindow.startMs + 3_600_000) rateWindow = { startMs: nowMs, used: 0 };
    if (rateWindow.used >= RATE_LIMIT_PER_HOUR) {
      rateLimitHeaders(res);
      sendError(res, 403, `API rate limit exceeded for installation ID ${ctx.installationId}.`, DOCS.primaryRateLimit);
      return;
    }
    rateWindow.used += 1;
    rateLimitHeaders(res);
    res.locals.grant = checked.grant;
    next();
  });

  /** The repository if this token may use its issues at `level`; otherwise answers 404 or 403 and returns undefined. */
  const access = (req: Request, res: Response, level: PermissionLevel, docs: string): RepoRecord | undefined => {
    const grant = res.locals.grant as TokenGrant;
    const key = `${String(req.params.owner)}/${String(req.params.repo)}`.toLowerCase();
    const repo = ctx.repos.get(key);
    // A repository outside the token's reach looks exactly like one that does not exist.
    if (!repo || !grant.repos.has(key)) {
      sendError(res, 404, 'Not Found', docs);
      return undefined;
    }
    const has = grant.permissions.issues;
    if (has === undefined || LEVEL_RANK[has]! < LEVEL_RANK[level]!) {
      res.set('x-accepted-github-permissions', `issues=${level}`);
      sendError(res, 403, 'Resource not accessible by integration', docs);
      return undefined;
    }
    return repo;
  };

  const findIssue = (repo: RepoRecord, raw: string): IssueRecord | undefined =>
    /^\d{1,9}$/.test(raw) ? repo.issues.find((i) => i.number === Number(raw)) : undefined;

  const labelsFor = (repo: RepoRecord, names: string[]): LabelRecord[] => {
    const out: LabelRecord[] = [];
    for (const name of names) {
      let label = repo.labels.get(name.toLowerCase());
      if (!label) {
        const id = ctx.nextId();
        label = { id, nodeId: nodeId('LA', id), name, color: IMPLICIT_LABEL_COLOR, description: null };
        repo.labels.set(name.toLowerCase(), label);
      }
      if (!out.includes(label)) out.push(label);
    }
    return out;
  };

  app.get('/repos/:owner/:repo/issues', (req, res) => {
    const repo = access(req, res, 'read', DOCS.listIssues);
    if (!repo) return;
    const errors: ValidationIssue[] = [];
    const state = queryValue(req, 'state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state)) errors.push({ resource: 'Issue', field: 'state', code: 'invalid', value: state.slice(0, 40) });
    const sort = queryValue(req, 'sort') ?? 'created';
    if (!['created', 'updated', 'comments'].includes(sort)) errors.push({ resource: 'Issue', field: 'sort', code: 'invalid', value: sort.slice(0, 40) });
    const direction = queryValue(req, 'direction') ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc') errors.push({ resource: 'Issue', field: 'direction', code: 'invalid', value: direction.slice(0, 40) });
    const sinceRaw = queryValue(req, 'since');
    const since = sinceRaw === undefined ? undefined : Date.parse(sinceRaw);
    if (since !== undefined && Number.isNaN(since)) errors.push({ resource: 'Issue', field: 'since', code: 'invalid', value: String(sinceRaw).slice(0, 40) });
    if (errors.length > 0) {
      validationFailed(res, errors, DOCS.listIssues);
      return;
    }
    // Out-of-range paging values fall back to the defaults or are capped, as on GitHub.
    const perPageRaw = Number(queryValue(req, 'per_page'));
    const perPage = Number.isInteger(perPageRaw) && perPageRaw > 0 ? Math.min(perPageRaw, MAX_PER_PAGE) : DEFAULT_PER_PAGE;
    const pageRaw = Number(queryValue(req, 'page'));
    const page = Number.isInteger(pageRaw) && pageRaw > 0 ? pageRaw : 1;
    const wanted = (queryValue(req, 'labels') ?? '')
      .split(',')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l.length > 0);
    const creator = queryValue(req, 'creator')?.toLowerCase();
    const assignee = queryValue(req, 'assignee');
    const milestone = queryValue(req, 'milestone');
    const bot = `${ctx.app.slug}[bot]`;

    const selected = repo.issues
      .filter((i) => state === 'all' || i.state === state)
      .filter((i) => wanted.every((w) => i.labels.some((l) => l.name.toLowerCase() === w)))
      .filter((i) => since === undefined || i.updatedAt >= since)
      .filter((i) => creator === undefined || creator === bot.toLowerCase())
      .filter((i) =>
        assignee === undefined
          ? true
          : assignee === 'none'
            ? i.assignees.length === 0
            : assignee === '*'
              ? i.assignees.length > 0
              : i.assignees.some((a) => a.toLowerCase() === assignee.toLowerCase()),
      )
      // No sandbox issue has a milestone.
      .filter((i) => milestone === undefined || milestone === 'none')
      .sort((a, b) => {
        const key = (i: IssueRecord) => (sort === 'updated' ? i.updatedAt : sort === 'comments' ? 0 : i.createdAt);
        const d = key(a) - key(b) || a.number - b.number;
        return direction === 'asc' ? d : -d;
      });

    const lastPage = Math.max(1, Math.ceil(selected.length / perPage));
    const pageUrl = (n: number) => {
      const u = new URL(req.originalUrl, ctx.base());
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(n));
      return u.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${pageUrl(Math.min(page - 1, lastPage))}>; rel="prev"`);
    if (page < lastPage) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
    if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`);
    if (links.length > 0) res.set('link', links.join(', '));
    const base = ctx.base();
    res.json(selected.slice((page - 1) * perPage, page * perPage).map((i) => issueObject(base, ctx.app, repo, i, false)));
  });

  app.post('/repos/:owner/:repo/issues', jsonBody, async (req, res) => {
    const repo = access(req, res, 'write', DOCS.createIssue);
    if (!repo) return;
    const raw = req.body as unknown;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      sendError(res, 400, 'Problems parsing JSON', DOCS.createIssue);
      return;
    }
    const parsed = parseIssueInput(raw as Record<string, unknown>, 'create', ctx.assignable);
    if ('errors' in parsed) {
      validationFailed(res, parsed.errors, DOCS.createIssue);
      return;
    }
    const { input } = parsed;
    const nowMs = ctx.now();
    const id = ctx.nextId();
    const issue: IssueRecord = {
      id,
      nodeId: nodeId('I', id),
      number: repo.issues.length + 1,
      title: input.title!,
      body: input.body ?? null,
      state: 'open',
      stateReason: null,
      labels: labelsFor(repo, input.labels ?? []),
      assignees: input.assignees ?? [],
      createdAt: nowMs,
      updatedAt: nowMs,
      closedAt: null,
      closedByApp: false,
    };
    repo.issues.push(issue);
    // The write is committed (and listed) before the caller hears about it.
    await ctx.holdAfterCreate();
    const rendered = issueObject(ctx.base(), ctx.app, repo, issue, true);
    res.status(201).set('location', rendered.url).json(rendered);
  });

  app.get('/repos/:owner/:repo/issues/:issue_number', (req, res) => {
    const repo = access(req, res, 'read', DOCS.getIssue);
    if (!repo) return;
    const issue = findIssue(repo, String(req.params.issue_number));
    if (!issue) {
      sendError(res, 404, 'Not Found', DOCS.getIssue);
      return;
    }
    res.json(issueObject(ctx.base(), ctx.app, repo, issue, true));
  });

  app.patch('/repos/:owner/:repo/issues/:issue_number', jsonBody, (req, res) => {
    const repo = access(req, res, 'write', DOCS.updateIssue);
    if (!repo) return;
    const issue = findIssue(repo, String(req.params.issue_number));
    if (!issue) {
      sendError(res, 404, 'Not Found', DOCS.updateIssue);
      return;
    }
    const raw = req.body as unknown;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      sendError(res, 400, 'Problems parsing JSON', DOCS.updateIssue);
      return;
    }
    const parsed = parseIssueInput(raw as Record<string, unknown>, 'update', ctx.assignable);
    if ('errors' in parsed) {
      validationFailed(res, parsed.errors, DOCS.updateIssue);
      return;
    }
    const { input } = parsed;
    const nowMs = ctx.now();
    if (input.title !== undefined) issue.title = input.title;
    if (input.body !== undefined) issue.body = input.body;
    if (input.labels !== undefined) issue.labels = labelsFor(repo, input.labels);
    if (input.assignees !== undefined) issue.assignees = input.assignees;
    // state_reason only counts when the state changes.
    if (input.state === 'closed' && issue.state === 'open') {
      issue.state = 'closed';
      issue.stateReason = input.stateReason && input.stateReason !== 'reopened' ? input.stateReason : 'completed';
      issue.closedAt = nowMs;
      issue.closedByApp = true;
    } else if (input.state === 'open' && issue.state === 'closed') {
      issue.state = 'open';
      issue.stateReason = 'reopened';
      issue.closedAt = null;
      issue.closedByApp = false;
    }
    issue.updatedAt = nowMs;
    res.json(issueObject(ctx.base(), ctx.app, repo, issue, true));
  });

  app.use((_req: Request, res: Response) => {
    sendError(res, 404, 'Not Found', DOCS.rest);
  });
  // Express 5 needs the four-argument signature to recognise an error handler.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.parse.failed') sendError(res, 400, 'Problems parsing JSON', DOCS.rest);
    else if (type === 'entity.too.large') sendError(res, 413, 'Payload Too Large', DOCS.rest);
    else sendError(res, 500, 'Server Error', DOCS.rest);
  });
  return app;
}

export async function startGitHubEmulator(options: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  if (!/^[1-9]\d{0,15}$/.test(options.appId)) throw new Error('GitHub emulator: appId must be the App\'s numeric id');
  if (!Number.isSafeInteger(options.installationId) || options.installationId < 1) throw new Error('GitHub emulator: installationId must be a positive integer');
  const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new Error('GitHub emulator: tokenTtlSeconds must be an integer 1-86400');
  const slug = options.appSlug ?? 'keyless-triage';
  if (!/^[a-z0-9][a-z0-9-]{0,33}$/.test(slug)) throw new Error('GitHub emulator: appSlug must be lowercase letters, digits and "-"');
  const permissions = options.permissions ?? DEFAULT_PERMISSIONS;
  for (const [name, level] of Object.entries(permissions)) {
    if (!/^[a-z_]+$/.test(name) || (level !== 'read' && level !== 'write')) throw new Error(`GitHub emulator: permission ${name}=${String(level)} is not name=read|write`);
  }
  // createPublicKey takes SPKI and PKCS#1 PEM alike; jose wants SPKI. It would also
  // derive a public key from a private one, but the App's private key belongs to the
  // broker alone, so handing it to GitHub's stand-in is refused as a mistake.
  if (/PRIVATE KEY/.test(options.appPublicKeyPem)) throw new Error('GitHub emulator: appPublicKeyPem holds a private key; pass the public key only');
  let spki: string;
  try {
    const key = createPublicKey(options.appPublicKeyPem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
    spki = key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    throw new Error(`GitHub emulator: appPublicKeyPem is not an RSA public key (${(err as Error).message})`);
  }
  const publicKey = await importSPKI(spki, 'RS256');
  const { owner, repos } = parseRepos(options.repos);
  const now = options.now ?? Date.now;
  const startedAt = formatTimestamp(now());

  let requests = 0;
  let idCounter = 3_000_000_000;
  let holdMs = 0;
  const pendingHolds = new Set<NodeJS.Timeout>();
  const setHold = (ms: number) => {
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_HOLD_MS) throw new RangeError(`hold must be an integer number of ms, 0-${MAX_HOLD_MS}`);
    holdMs = ms;
  };
  const holdAfterCreate = () =>
    holdMs === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            pendingHolds.delete(timer);
            resolve();
          }, holdMs);
          pendingHolds.add(timer);
        });
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);
  const tokens = new IssuedTokens<TokenGrant>(now);
  let baseUrl = '';
  const ctx: AppContext = {
    app: { appId: Number(options.appId), slug, owner, permissions: { ...permissions }, createdAt: startedAt },
    installationId: options.installationId,
    publicKey,
    repos: new Map(repos.map((r) => [r.fullName.toLowerCase(), r])),
    tokens,
    tokenTtlMs: ttl * 1000,
    assignable: new Set((options.assignableUsers ?? []).map((u) => u.toLowerCase())),
    faults,
    log,
    now,
    base: () => baseUrl,
    holdAfterCreate,
    setHold,
    onRequest: () => void requests++,
    nextId: () => ++idCounter,
  };
  // A held response never completes once the emulator stops.
  const releaseHolds = () => {
    for (const t of pendingHolds) clearTimeout(t);
    pendingHolds.clear();
  };
  const server = await listen(createGitHubApp(ctx), options, releaseHolds);
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
    setHoldAfterCreate: setHold,
  };
}
