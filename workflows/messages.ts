// Message definitions shared by the workflow, the gateway and the CLI. This
// module is bundled into the workflow sandbox, so it imports nothing with
// side effects.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Finding, IncidentRef, SurfaceName, WritePlan } from '../activities/model.js';
import { APPROVAL_QUERY, DECIDE_UPDATE, PAGERDUTY_ID } from '../config/identifiers.js';
import { viaChannel, type ApprovalChannel } from '../config/vocabulary.js';

export const TRIAGE_WORKFLOW = 'triageIncident';

export function triageWorkflowId(incidentId: string): string {
  return `triage-${incidentId}`;
}

/** An execution's page in the Temporal Web UI. */
export function workflowUiUrl(temporal: { uiUrl: string; namespace: string }, workflowId: string): string {
  const base = temporal.uiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

// ---- the approval card's buttons: the contract between the card and the gateway ----

export const APPROVE_ACTION_ID = 'triage_approve';
export const REJECT_ACTION_ID = 'triage_reject';
/** Block Kit's limit on a button's value. */
export const BUTTON_VALUE_MAX_CHARS = 2000;
/** A plan hash: the sha256 of the write plan's canonical JSON (activities/report.ts), in hex. */
export const PLAN_HASH = /^[0-9a-f]{64}$/;

/**
 * The buttons' value: compact JSON `{"i":incidentId,"h":planHash}`. The hash
 * lets the workflow refuse a click on a card whose plan is not its current
 * one. Throws on ids the gateway would refuse, so a card that cannot be
 * decided is never posted.
 */
export function encodeActionValue(incidentId: string, planHash: string): string {
  if (!PAGERDUTY_ID.test(incidentId)) throw new RangeError('incident id has an unexpected shape for a card button');
  if (!PLAN_HASH.test(planHash)) throw new RangeError('plan hash must be 64 lowercase hex digits');
  return JSON.stringify({ i: incidentId, h: planHash });
}

/** The incident and plan a button stands for; undefined for anything but exactly `{"i":…,"h":…}` of the expected shapes. */
export function decodeActionValue(value: string): { incidentId: string; planHash: string } | undefined {
  if (typeof value !== 'string' || value.length > BUTTON_VALUE_MAX_CHARS) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || !keys.includes('i') || !keys.includes('h')) return undefined;
  const { i, h } = parsed as Record<string, unknown>;
  if (typeof i !== 'string' || !PAGERDUTY_ID.test(i) || typeof h !== 'string' || !PLAN_HASH.test(h)) return undefined;
  return { incidentId: i, planHash: h };
}

export interface TriageInput {
  incidentId: string;
  /** What started it: a webhook delivery or a person with the CLI. */
  source: { kind: 'webhook'; eventId: string; webhookId?: string } | { kind: 'cli'; user: string };
}

export type Stage =
  | 'collecting'
  | 'diagnosing'
  | 'awaiting-decision'
  | 'escalated'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'resolved-before-decision'
  | 'failed';

export type DecisionChoice = 'approve' | 'reject';

export { APPROVAL_CHANNELS, channelName, DEFAULT_APPROVAL_CHANNELS, viaChannel, type ApprovalChannel } from '../config/vocabulary.js';
export { MAX_CLIENT_IDENTITY } from '../config/identifiers.js';

export interface DecisionInput {
  decision: DecisionChoice;
  approver: string;
  /** The plan hash the approver saw; a stale hash is refused. */
  planHash: string;
  comment?: string;
  /**
   * Where the approver decided: `slack` from the gateway, after Slack's
   * signature check; `cli` from `triage approve|reject`. Declared by the
   * sending client, so it says which door was used only as far as Temporal
   * lets no one else send Updates (docs/threat-model.md).
   */
  channel: ApprovalChannel;
  /**
   * The sending Temporal client's `identity` option, as that client reports
   * it. The workflow cannot read the Update's caller, so the client repeats
   * it here; the history's UpdateAccepted event holds the value the request
   * carried (`acceptedRequest.meta.identity`), which `triage audit` shows.
   */
  identity: string;
}

export interface DecisionRecord extends Omit<DecisionInput, 'channel' | 'identity'> {
  /** Workflow time at which the decision was recorded (ISO-8601). */
  at: string;
  /** Absent on decisions recorded before decisions named their channel. */
  channel?: ApprovalChannel;
  identity?: string;
}

/** Why a second decision is refused: the validator's words, and the client's for a triage that has already finished. */
export function alreadyDecided(decision: DecisionRecord): string {
  return `already decided: ${decision.decision} by ${decision.approver}${viaChannel(decision.channel)} at ${decision.at}`;
}

/**
 * The validator's refusal of a decision from a channel the service does not
 * allow, with the setting that would allow it.
 */
export function channelDisabled(
  channel: ApprovalChannel,
  service: { id: string; name: string },
  allowed: readonly ApprovalChannel[],
): string {
  const wanted = [...allowed, channel];
  const fix = `set approval.channels: [${wanted.join(', ')}] under services.${service.id} (or in the global approval section) of the worker configuration`;
  return channel === 'cli'
    ? `CLI approvals are disabled for service ${service.name}: ${fix}, or decide on the Slack card`
    : `Slack approvals are disabled for service ${service.name} (approval.channels: [${allowed.join(', ')}]): ${fix}`;
}

export interface TriageStatus {
  workflowId: string;
  stage: Stage;
  incident?: Pick<IncidentRef, 'id' | 'number' | 'title' | 'urgency' | 'serviceName' | 'htmlUrl'>;
  headline?: string;
  findings: Pick<Finding, 'analyzer' | 'surface' | 'severity' | 'title' | 'objects'>[];
  surfaces: { surface: SurfaceName; status: 'ok' | 'unavailable'; reason?: string }[];
  planHash?: string;
  approvers: string[];
  /** Where a decision may come from, once the scope is resolved. */
  approvalChannels?: ApprovalChannel[];
  reminderAt?: string;
  expiresAt?: string;
  decision?: DecisionRecord;
  resolvedAt?: string;
  /** Why the triage failed, when it did (e.g. an unconfigured service). */
  failure?: string;
  /** The issue written after approval. */
  githubIssue?: { repo: string; number: number; url: string; title: string };
  /** The approval card in Slack, once posted. */
  slackCard?: { channelId: string; ts: string };
  /** What went wrong without stopping the triage (e.g. Slack unreachable). */
  notices?: string[];
}

export type TriageOutcome = Pick<
  TriageStatus,
  'workflowId' | 'stage' | 'headline' | 'findings' | 'surfaces' | 'planHash' | 'decision' | 'resolvedAt' | 'githubIssue'
> & {
  incidentId: string;
};

/**
 * Approve or reject the write plan. The validator refuses a channel the
 * service does not allow, unknown approvers, a stale plan hash and a second
 * decision.
 */
export const decideUpdate = defineUpdate<DecisionRecord, [DecisionInput]>(DECIDE_UPDATE);

/** PagerDuty says the incident is resolved; a pending decision ends as "resolved before decision". */
export const incidentResolvedSignal = defineSignal<[{ eventId: string }]>('incidentResolved');

export const statusQuery = defineQuery<TriageStatus>('status');

/**
 * What the credential broker checks a write against: the plan itself (its hash
 * recomputed there), the decision, and the card and issue already written. Its
 * own query, so `status` stays small; queries are not in history, so adding
 * one replays old executions unchanged.
 */
export interface TriageApproval {
  planHash?: string;
  plan?: WritePlan;
  decision?: DecisionRecord;
  githubIssue?: TriageStatus['githubIssue'];
  slackCard?: TriageStatus['slackCard'];
}

export const approvalQuery = defineQuery<TriageApproval>(APPROVAL_QUERY);
