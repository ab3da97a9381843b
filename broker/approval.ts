// Approval, enforced where the credentials are. The worker is assumed
// compromised, so the broker does not take its word that a human approved a
// write: it asks Temporal (read-only) for the plan and the decision (the
// workflow's `approval` query), believes the decision only when the history's
// accepted `decide` Update carries it (decision-history.ts: the query is
// answered by a worker, the history is the server's), recomputes the plan's
// hash, and forwards a write only when it is that plan's write with its
// placeholders filled by well-formed values. Reads are not checked here.
import { Client, QueryNotRegisteredError, WorkflowNotFoundError } from '@temporalio/client';
import type { TriageConfig } from '../config/config.js';
import { APPROVAL_QUERY, isTriageId } from '../config/identifiers.js';
import type { Logger } from '../config/logger.js';
import { lazyClientConnection } from '../config/temporal-connection.js';
import { issueBodyWithApproval, type DecisionWords } from '../config/approval-text.js';
import { fillNote, notePostFields, noteValues } from '../config/incident-note.js';
import { canonicalJson, backLinkTemplate, hashPlan, matchPlaceholders, PlaceholderError, type WritePlan } from '../config/write-plan.js';
import type { ProviderName } from './config.js';
import { isRecorded, recordedDecisions } from './decision-history.js';

/** The workflow's answer, as far as the broker reads it (workflows/messages.ts TriageApproval). */
export interface TriageApproval {
  planHash?: string;
  plan?: WritePlan;
  decision?: DecisionWords & { planHash: string };
  githubIssue?: { repo: string; number: number; url: string };
  slackCard?: { channelId: string; ts: string };
  /** Set by the broker: the query named a decision the history does not record, and it was dropped. */
  unrecordedDecision?: true;
}

export interface ApprovalSource {
  /** The triage's approval state; undefined when no such workflow exists. */
  lookup(triageId: string): Promise<TriageApproval | undefined>;
  close(): Promise<void>;
}

/** Temporal could not be asked; the write is refused for now (503), not judged. */
export class ApprovalUnavailableError extends Error {
  override name = 'ApprovalUnavailableError';
}

/**
 * Reads the `approval` query of the workflow whose id is the triage id (the
 * worker sends its workflow id as X-Triage-Id) and, when it names a decision,
 * the history that must record it. Neither changes anything, so the broker's
 * Temporal identity needs no right to signal, update or start.
 */
export function temporalApprovals(temporal: TriageConfig['temporal'], log: Logger): ApprovalSource {
  const connection = lazyClientConnection(temporal, { logger: log });
  const client = new Client({ connection, namespace: temporal.namespace, identity: 'keyless-triage-broker' });
  return {
    async lookup(triageId) {
      if (!isTriageId(triageId)) return undefined;
      const handle = client.workflow.getHandle(triageId);
      try {
        const approval = await handle.query<TriageApproval>(APPROVAL_QUERY);
        if (!approval.decision) return approval;
        const { events } = await handle.fetchHistory();
        if (isRecorded(approval.decision, recordedDecisions(events ?? []))) return approval;
        log.warn('the approval query names a decision no client sent', { triageId });
        const { decision: _dropped, ...rest } = approval;
        return { ...rest, unrecordedDecision: true };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        // A workflow of a release before the query: it cannot show an approval, so it has none.
        if (err instanceof QueryNotRegisteredError) return {};
        throw new ApprovalUnavailableError((err as Error)?.name ?? 'error');
      }
    },
    async close() {
      await connection.close();
    },
  };
}

export type WriteKind = 'issue-create' | 'issue-edit' | 'slack-post' | 'slack-update';

/** Which routes are writes that need an approved plan (or, for Slack, the triage's own card). */
export function writeKind(provider: ProviderName, method: string, path: string): WriteKind | undefined {
  if (provider === 'github' && method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/issues$/.test(path)) return 'issue-create';
  if (provider === 'github' && method === 'PATCH' && /^\/repos\/[^/]+\/[^/]+\/issues\/[0-9]+$/.test(path)) return 'issue-edit';
  if (provider === 'slack' && path === '/api/chat.postMessage') return 'slack-post';
  if (provider === 'slack' && path === '/api/chat.update') return 'slack-update';
  return undefined;
}

export type WriteVerdict = { ok: true } | { ok: false; reason: 'write without approval' | 'plan mismatch'; detail: string };

export interface WriteRequest {
  kind: WriteKind;
  path: string;
  contentType: string;
  body: Buffer;
}

const deny = (reason: 'write without approval' | 'plan mismatch', detail: string): WriteVerdict => ({ ok: false, reason, detail });

export function checkWrite(req: WriteRequest, approval: TriageApproval | undefined): WriteVerdict {
  if (!approval) return deny('write without approval', 'no such triage');
  if (req.kind === 'slack-post' || req.kind === 'slack-update') return checkSlack(req, approval);
  const approved = approvedPlan(approval);
  if (!approved.ok) return approved.verdict;
  const { plan, decision } = approved;
  const repo = /^\/repos\/([^/]+\/[^/]+)\/issues/.exec(req.path)![1]!.toLowerCase();
  if (plan.github.repo?.toLowerCase() !== repo) return deny('plan mismatch', 'repository');
  const body = jsonBody(req);
  if (!body) return deny('plan mismatch', 'body is not a JSON object');
  if (req.kind === 'issue-create') {
    if (!sameKeys(body, ['title', 'body', 'labels'])) return deny('plan mismatch', 'fields');
    if (body.title !== plan.github.title) return deny('plan mismatch', 'title');
    if (canonicalJson(body.labels) !== canonicalJson(plan.github.labels)) return deny('plan mismatch', 'labels');
    if (typeof body.body !== 'string' || !createdBodies(plan, decision).includes(body.body)) return deny('plan mismatch', 'body');
    return { ok: true };
  }
  const number = Number(/\/issues\/([0-9]+)$/.exec(req.path)![1]);
  const issue = approval.githubIssue;
  if (!issue || issue.number !== number || issue.repo.toLowerCase() !== repo) return deny('plan mismatch', 'not the triage issue');
  if (!sameKeys(body, ['body']) || typeof body.body !== 'string') return deny('plan mismatch', 'fields');
  // The edit re-sends the body as created, then the back link.
  const edited = body.body;
  const created = createdBodies(plan, decision).filter((b) => edited.startsWith(b));
  if (created.length === 0) return deny('plan mismatch', 'body');
  const template = backLinkTemplate(plan);
  const target = { ...(plan.github.repo ? { repo: plan.github.repo } : {}) };
  return created.some((b) => matchPlaceholders(template, edited.slice(b.length), target))
    ? { ok: true }
    : deny('plan mismatch', 'back link');
}

type Approved = { ok: true; plan: WritePlan; decision: DecisionWords } | { ok: false; verdict: WriteVerdict };

function approvedPlan(approval: TriageApproval): Approved {
  const { decision, plan } = approval;
  if (!decision) {
    return {
      ok: false,
      verdict: deny('write without approval', approval.unrecordedDecision ? 'the decision is not in the history' : 'no decision'),
    };
  }
  if (decision.decision !== 'approve') return { ok: false, verdict: deny('write without approval', 'rejected') };
  if (!plan) return { ok: false, verdict: deny('write without approval', 'the triage serves no plan') };
  const hash = hashPlan(plan);
  if (decision.planHash !== hash || approval.planHash !== hash) return { ok: false, verdict: deny('plan mismatch', 'plan hash') };
  return { ok: true, plan, decision };
}

/**
 * The issue body as the worker creates it: the approved text and the approval
 * line rendered from the decision Temporal holds, so it names exactly who
 * approved, through which channel, when and from which client. The text alone
 * is what a create scheduled by a release before the line sends.
 */
function createdBodies(plan: WritePlan, decision: DecisionWords): string[] {
  return [issueBodyWithApproval(plan.github.body, decision), plan.github.body];
}

/**
 * Slack: the approval card (posted before any decision), its reminder in the
 * card's thread and edits of the card are the triage's own card; any other
 * post is the #incidents note, and must be exactly the approved plan's note.
 * Before the workflow has recorded its card or a decision, one top-level post
 * is taken for the card: the card is not in the plan, so the broker cannot
 * judge it by content (a residual risk, docs/threat-model.md).
 */
function checkSlack(req: WriteRequest, approval: TriageApproval): WriteVerdict {
  const fields = slackFields(req);
  if (!fields) return deny('plan mismatch', 'unreadable Slack body');
  const card = approval.slackCard;
  if (req.kind === 'slack-update') {
    if (card && fields.channel === card.channelId && fields.ts === card.ts) return { ok: true };
    return deny('write without approval', 'not the triage card');
  }
  if (fields.thread_ts !== undefined) {
    if (card && fields.channel === card.channelId && fields.thread_ts === card.ts) return { ok: true };
    return deny('write without approval', 'not the triage card thread');
  }
  if (!card && !approval.decision) return { ok: true };
  const approved = approvedPlan(approval);
  if (!approved.ok) return approved.verdict;
  return checkNote(fields, approved.plan, approved.decision, approval.githubIssue);
}

/**
 * The note the plan holds, filled from the decision and the issue as the
 * workflow recorded them (never from the request), is what the request must
 * post, field for field; its blocks compared as canonical JSON.
 */
function checkNote(
  fields: Record<string, string>,
  plan: WritePlan,
  decision: DecisionWords,
  issue: TriageApproval['githubIssue'],
): WriteVerdict {
  const note = plan.slack?.note;
  if (!note) return deny('plan mismatch', 'the plan has no #incidents note (it predates the note in the plan, or writes nothing)');
  if (!issue) return deny('plan mismatch', 'no issue recorded for the note to link');
  let expected: Record<string, string>;
  try {
    expected = notePostFields(fillNote(note, noteValues(decision, issue), plan.github));
  } catch (err) {
    if (err instanceof PlaceholderError) return deny('plan mismatch', `note: ${err.message}`);
    throw err;
  }
  if (fields.channel !== expected.channel) return deny('plan mismatch', 'note channel');
  if (!sameKeys(fields, Object.keys(expected))) return deny('plan mismatch', 'note fields');
  const posted: Record<string, string | undefined> = { ...fields, blocks: canonicalBlocks(fields.blocks!) };
  const differing = Object.keys(expected).find((key) => posted[key] !== expected[key]);
  return differing === undefined ? { ok: true } : deny('plan mismatch', `note ${differing}`);
}

function canonicalBlocks(blocks: string): string | undefined {
  try {
    return canonicalJson(JSON.parse(blocks));
  } catch {
    return undefined;
  }
}

function jsonBody(req: WriteRequest): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sameKeys(body: Record<string, unknown>, keys: readonly string[]): boolean {
  const present = Object.keys(body);
  return present.every((k) => keys.includes(k)) && keys.every((k) => present.includes(k));
}

/** WebClient posts forms; a JSON body is read too, so neither encoding slips past. */
function slackFields(req: WriteRequest): Record<string, string> | undefined {
  const text = req.body.toString('utf8');
  if (/^application\/json\b/i.test(req.contentType)) {
    const body = jsonBody(req);
    if (!body) return undefined;
    return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  // No prototype: a `__proto__` field must be a field like any other, counted and compared.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, k)) return undefined;
    out[k] = v;
  }
  return out;
}
