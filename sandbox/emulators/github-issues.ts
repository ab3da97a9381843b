// The repository issues endpoints the triage worker uses (list, create, get,
// update), behind an installation token that reaches the repository with the
// `issues` permission; bodies are validated the way GitHub reports problems.
import type { Request, Response } from 'express';
import { DOCS, issueObject, sendError, validationFailed, type ValidationIssue } from './github-objects.js';
import {
  LEVEL_RANK,
  nodeId,
  type AppContext,
  type IssueRecord,
  type LabelRecord,
  type PermissionLevel,
  type RepoRecord,
  type StateReason,
  type TokenGrant,
} from './github-records.js';

const MAX_TITLE = 256;
const MAX_BODY = 65_536;
const MAX_LABEL_NAME = 50;
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;
/** GitHub's colour for a label created implicitly by naming it on an issue. */
const IMPLICIT_LABEL_COLOR = 'ededed';

function queryValue(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  return String(Array.isArray(v) ? v[0] : v);
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
function parseIssueInput(
  raw: Record<string, unknown>,
  mode: 'create' | 'update',
  assignable: Set<string>,
): { input: IssueInput } | { errors: ValidationIssue[] } {
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
    if (raw.state !== 'open' && raw.state !== 'closed')
      errors.push({ resource: 'Issue', field: 'state', code: 'invalid', value: String(raw.state) });
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
        const name =
          typeof l === 'string'
            ? l
            : l !== null && typeof l === 'object' && typeof (l as { name?: unknown }).name === 'string'
              ? (l as { name: string }).name
              : undefined;
        if (name === undefined || name.trim() === '') errors.push({ resource: 'Label', field: 'name', code: 'missing_field' });
        else if ([...name].length > MAX_LABEL_NAME)
          errors.push({ resource: 'Label', field: 'name', code: 'invalid', value: name.slice(0, 80) });
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
    errors.push({
      resource: 'Issue',
      field: 'milestone',
      code: 'invalid',
      value: typeof raw.milestone === 'number' ? raw.milestone : String(raw.milestone),
    });
  }
  return errors.length > 0 ? { errors } : { input };
}

/** The repository if this token may use its issues at `level`; otherwise answers 404 or 403 and returns undefined. */
function access(ctx: AppContext, req: Request, res: Response, level: PermissionLevel, docs: string): RepoRecord | undefined {
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
}

/** The request's issue fields; otherwise answers 400 or 422 and returns undefined. */
function readIssueInput(ctx: AppContext, req: Request, res: Response, mode: 'create' | 'update', docs: string): IssueInput | undefined {
  const raw = req.body as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    sendError(res, 400, 'Problems parsing JSON', docs);
    return undefined;
  }
  const parsed = parseIssueInput(raw as Record<string, unknown>, mode, ctx.assignable);
  if ('errors' in parsed) {
    validationFailed(res, parsed.errors, docs);
    return undefined;
  }
  return parsed.input;
}

export function findIssue(repo: RepoRecord, raw: string): IssueRecord | undefined {
  return /^\d{1,9}$/.test(raw) ? repo.issues.find((i) => i.number === Number(raw)) : undefined;
}

function labelsFor(ctx: AppContext, repo: RepoRecord, names: string[]): LabelRecord[] {
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
}

export function listIssues(ctx: AppContext) {
  return (req: Request, res: Response): void => {
    const repo = access(ctx, req, res, 'read', DOCS.listIssues);
    if (!repo) return;
    const errors: ValidationIssue[] = [];
    const state = queryValue(req, 'state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state))
      errors.push({ resource: 'Issue', field: 'state', code: 'invalid', value: state.slice(0, 40) });
    const sort = queryValue(req, 'sort') ?? 'created';
    if (!['created', 'updated', 'comments'].includes(sort))
      errors.push({ resource: 'Issue', field: 'sort', code: 'invalid', value: sort.slice(0, 40) });
    const direction = queryValue(req, 'direction') ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc')
      errors.push({ resource: 'Issue', field: 'direction', code: 'invalid', value: direction.slice(0, 40) });
    const sinceRaw = queryValue(req, 'since');
    const since = sinceRaw === undefined ? undefined : Date.parse(sinceRaw);
    if (since !== undefined && Number.isNaN(since))
      errors.push({ resource: 'Issue', field: 'since', code: 'invalid', value: String(sinceRaw).slice(0, 40) });
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
      .filter(() => creator === undefined || creator === bot.toLowerCase())
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
      .filter(() => milestone === undefined || milestone === 'none')
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
  };
}

export function createIssue(ctx: AppContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const repo = access(ctx, req, res, 'write', DOCS.createIssue);
    if (!repo) return;
    const input = readIssueInput(ctx, req, res, 'create', DOCS.createIssue);
    if (!input) return;
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
      labels: labelsFor(ctx, repo, input.labels ?? []),
      assignees: input.assignees ?? [],
      createdAt: nowMs,
      updatedAt: nowMs,
      closedAt: null,
      closedByApp: false,
    };
    repo.issues.push(issue);
    // The write is committed (and listed) before the caller hears about it.
    await ctx.hold.wait();
    const rendered = issueObject(ctx.base(), ctx.app, repo, issue, true);
    res.status(201).set('location', rendered.url).json(rendered);
  };
}

export function getIssue(ctx: AppContext) {
  return (req: Request, res: Response): void => {
    const repo = access(ctx, req, res, 'read', DOCS.getIssue);
    if (!repo) return;
    const issue = findIssue(repo, String(req.params.issue_number));
    if (!issue) {
      sendError(res, 404, 'Not Found', DOCS.getIssue);
      return;
    }
    res.json(issueObject(ctx.base(), ctx.app, repo, issue, true));
  };
}

export function updateIssue(ctx: AppContext) {
  return (req: Request, res: Response): void => {
    const repo = access(ctx, req, res, 'write', DOCS.updateIssue);
    if (!repo) return;
    const issue = findIssue(repo, String(req.params.issue_number));
    if (!issue) {
      sendError(res, 404, 'Not Found', DOCS.updateIssue);
      return;
    }
    const input = readIssueInput(ctx, req, res, 'update', DOCS.updateIssue);
    if (!input) return;
    const nowMs = ctx.now();
    if (input.title !== undefined) issue.title = input.title;
    if (input.body !== undefined) issue.body = input.body;
    if (input.labels !== undefined) issue.labels = labelsFor(ctx, repo, input.labels);
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
  };
}
