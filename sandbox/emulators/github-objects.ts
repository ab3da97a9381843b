// GitHub's wire shapes, as the `issue`, `label`, `simple-user`, `repository`,
// `integration` and error schemas of @octokit/openapi describe them, rendered
// from the emulator's records with links to the emulator's own address; and the
// issue's web page those links open.
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { formatTimestamp } from '../scenario.js';
import {
  nodeId,
  stableId,
  type AppIdentity,
  type IssueRecord,
  type LabelRecord,
  type RepoRecord,
  type StateReason,
} from './github-records.js';

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

// ---- errors ------------------------------------------------------------------

export const DOCS = {
  rest: 'https://docs.github.com/rest',
  accessToken: 'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app',
  listIssues: 'https://docs.github.com/rest/issues/issues#list-repository-issues',
  createIssue: 'https://docs.github.com/rest/issues/issues#create-an-issue',
  getIssue: 'https://docs.github.com/rest/issues/issues#get-an-issue',
  updateIssue: 'https://docs.github.com/rest/issues/issues#update-an-issue',
  secondaryRateLimit: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
  primaryRateLimit: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api',
};

export interface ValidationIssue {
  resource: string;
  field?: string;
  code: string;
  message?: string;
  value?: string | number | null;
}

export function sendError(
  res: Response,
  status: number,
  message: string,
  documentationUrl: string,
  extra: { errors?: ValidationIssue[] } = {},
): void {
  // Current GitHub error bodies repeat the status as a string.
  res.status(status).json({ message, ...extra, documentation_url: documentationUrl, status: String(status) });
}

export function validationFailed(res: Response, errors: ValidationIssue[], documentationUrl: string): void {
  sendError(res, 422, 'Validation Failed', documentationUrl, { errors });
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

export function issueObject(base: string, app: AppIdentity, repo: RepoRecord, issue: IssueRecord, withClosedBy: boolean): GitHubIssue {
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
    reactions: {
      url: `${api}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
    timeline_url: `${api}/timeline`,
    performed_via_github_app: appObject(base, app),
    state_reason: issue.stateReason,
  };
}

/** The `repository` schema, for the token response when the caller narrows the token to named repositories. */
export function repositoryObject(base: string, repo: RepoRecord, createdAt: string) {
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

export function issuePage(repo: RepoRecord, issue: GitHubIssue): string {
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
