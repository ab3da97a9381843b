// Message definitions shared by the workflow, the gateway and the CLI. This
// module is bundled into the workflow sandbox, so it imports nothing with
// side effects.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Finding, IncidentRef, SurfaceName } from '../activities/model.js';

export const TRIAGE_WORKFLOW = 'triageIncident';

export function triageWorkflowId(incidentId: string): string {
  return `triage-${incidentId}`;
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

export interface DecisionInput {
  decision: DecisionChoice;
  approver: string;
  /** The plan hash the approver saw; a stale hash is refused. */
  planHash: string;
  comment?: string;
}

export interface DecisionRecord extends DecisionInput {
  /** Workflow time at which the decision was recorded (ISO-8601). */
  at: string;
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

/** Approve or reject the write plan. The validator refuses unknown approvers, a stale plan hash and a second decision. */
export const decideUpdate = defineUpdate<DecisionRecord, [DecisionInput]>('decide');

/** PagerDuty says the incident is resolved; a pending decision ends as "resolved before decision". */
export const incidentResolvedSignal = defineSignal<[{ eventId: string }]>('incidentResolved');

export const statusQuery = defineQuery<TriageStatus>('status');
