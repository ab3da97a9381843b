// What people see of a running triage: the status the `status` query serves,
// the search attributes the Web UI filters on, and its current details. The
// decision and the resolution arrive here too, so the workflow waits on the
// same record the Update validator checks.
import { ApplicationFailure, isCancellation, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Diagnosis, IncidentRef, SurfaceResult, TriageScope } from '../activities/model.js';
import type { SlackMessageRef } from '../activities/slack.js';
import {
  alreadyDecided,
  APPROVAL_CHANNELS,
  channelDisabled,
  decideUpdate,
  DEFAULT_APPROVAL_CHANNELS,
  MAX_CLIENT_IDENTITY,
  viaChannel,
  incidentResolvedSignal,
  PLAN_HASH,
  statusQuery,
  approvalQuery,
  type DecisionInput,
  type DecisionRecord,
  type Stage,
  type TriageOutcome,
  type TriageStatus,
} from './messages.js';
import { failureReason } from './failure-reason.js';
import { decisionKey, serviceKey, stageKey, urgencyKey } from './search-attributes.js';

export class StatusBoard {
  private readonly state: TriageStatus;
  /** The configured service, for the validator's words; set with the scope. */
  private service: { id: string; name: string } | undefined;
  private plan: Diagnosis['plan'] | undefined;

  constructor(readonly workflowId: string) {
    const state: TriageStatus = { workflowId, stage: 'collecting', findings: [], surfaces: [], approvers: [] };
    this.state = state;
    setHandler(statusQuery, () => state);
    setHandler(approvalQuery, () => ({
      planHash: state.planHash,
      plan: this.plan,
      decision: state.decision,
      githubIssue: state.githubIssue,
      slackCard: state.slackCard,
    }));
    setHandler(incidentResolvedSignal, ({ eventId }) => {
      if (state.resolvedAt) return;
      state.resolvedAt = new Date().toISOString();
      log.info('incident resolved in PagerDuty', { eventId, stage: state.stage });
    });
    setHandler(
      decideUpdate,
      (decision: DecisionInput): DecisionRecord => {
        const record: DecisionRecord = { ...decision, at: new Date().toISOString() };
        state.decision = record;
        return record;
      },
      // Synchronous on purpose: an async validator does not reject. A refusal
      // here writes nothing to history.
      { validator: (decision: DecisionInput) => validateDecision(state, decision, this.service) },
    );
  }

  get decision(): DecisionRecord | undefined {
    return this.state.decision;
  }

  get resolvedAt(): string | undefined {
    return this.state.resolvedAt;
  }

  get githubIssue(): TriageStatus['githubIssue'] {
    return this.state.githubIssue;
  }

  /** Set once the plan is ready: the card shows it, and the wait ends there. */
  get expiresAt(): string {
    return this.state.expiresAt!;
  }

  /** A decision or the incident's resolution ends the wait for a decision. */
  settled(): boolean {
    return this.state.decision !== undefined || this.state.resolvedAt !== undefined;
  }

  incidentFetched(incident: IncidentRef): void {
    const { id, number, title, urgency, serviceName, htmlUrl } = incident;
    this.state.incident = { id, number, title, urgency, serviceName, htmlUrl };
  }

  scopeResolved(scope: TriageScope): void {
    this.state.approvers = scope.approvers;
    this.state.approvalChannels = scope.approval.channels ?? [...DEFAULT_APPROVAL_CHANNELS];
    this.service = { id: scope.serviceId, name: scope.serviceName };
    upsertSearchAttributes([
      { key: serviceKey, value: scope.serviceName },
      { key: urgencyKey, value: this.state.incident!.urgency },
    ]);
    setCurrentDetails(`Collecting evidence from ${scope.surfaces.join(', ')}`);
  }

  evidenceCollected(results: SurfaceResult[]): void {
    this.state.surfaces = results.map((r) =>
      r.status === 'ok' ? { surface: r.surface, status: 'ok' } : { surface: r.surface, status: 'unavailable', reason: r.reason },
    );
  }

  /** Deadlines are fixed here, when the plan is ready, so the card can state them. */
  diagnosed(diagnosis: Diagnosis, approval: TriageScope['approval']): void {
    this.state.headline = diagnosis.headline;
    this.state.findings = diagnosis.findings.map((f) => ({
      analyzer: f.analyzer,
      surface: f.surface,
      severity: f.severity,
      title: f.title,
      objects: f.objects,
    }));
    this.state.planHash = diagnosis.planHash;
    this.plan = diagnosis.plan;
    const now = Date.now();
    this.state.reminderAt = new Date(now + approval.reminderAfterMs).toISOString();
    this.state.expiresAt = new Date(now + approval.expireAfterMs).toISOString();
  }

  cardPosted(message: SlackMessageRef): void {
    this.state.slackCard = message;
  }

  /** Whether `triage approve|reject` may decide this triage. */
  get cliApprovals(): boolean {
    return this.state.approvalChannels?.includes('cli') ?? false;
  }

  /** Something went wrong that does not stop the triage. */
  notice(text: string): void {
    (this.state.notices ??= []).push(text);
    log.warn(text);
  }

  waitingForDecision(): void {
    const { approvers, planHash, reminderAt, expiresAt } = this.state;
    setCurrentDetails(
      `Waiting for a decision from ${approvers.join(', ')} on plan ${planHash?.slice(0, 12)}. Reminder at ${reminderAt}; expires at ${expiresAt}.`,
    );
  }

  escalated(): void {
    const { approvers, expiresAt } = this.state;
    this.enter('escalated');
    log.warn('approval reminder: no decision yet', { approvers, expiresAt });
    setCurrentDetails(`No decision after the reminder deadline; escalated to ${approvers.join(', ')}. Expires at ${expiresAt}.`);
  }

  /** The stage the wait ended in: a decision, the incident's resolution, or the expiry. */
  decisionWindowClosed(): Stage {
    const { decision, resolvedAt } = this.state;
    let stage: Stage;
    if (decision) stage = decision.decision === 'approve' ? 'approved' : 'rejected';
    else if (resolvedAt) stage = 'resolved-before-decision';
    else stage = 'expired';
    this.end(stage, this.describeOutcome(stage));
    return stage;
  }

  /** PagerDuty resolved the incident before its card was posted: the card is skipped, nothing was decided. */
  resolvedBeforeCard(): void {
    this.end(
      'resolved-before-decision',
      `Incident resolved in PagerDuty at ${this.state.resolvedAt} before the approval card was posted: no card, nothing written`,
    );
  }

  creatingIssue(repo: string): void {
    const decision = this.state.decision;
    setCurrentDetails(`Approved by ${decision?.approver}${viaChannel(decision?.channel)}; creating the GitHub issue in ${repo}`);
  }

  issueCreated(issue: { repo: string; number: number; url: string; title: string }): void {
    this.state.githubIssue = { repo: issue.repo, number: issue.number, url: issue.url, title: issue.title };
  }

  written(): void {
    setCurrentDetails(`${this.describeOutcome()}; GitHub issue ${this.state.githubIssue?.url}`);
  }

  /**
   * Visible in the Web UI and to `TriageStage = "failed"` searches; the reuse
   * policy lets a later trigger start a fresh triage. A cancelled triage has
   * not failed.
   */
  failed(err: unknown): void {
    if (isCancellation(err)) return;
    this.state.failure = failureReason(err);
    this.enter('failed');
    setCurrentDetails(`Triage failed: ${this.state.failure}`);
  }

  outcome(incidentId: string): TriageOutcome {
    const { workflowId, stage, headline, findings, surfaces, planHash, decision, resolvedAt, githubIssue } = this.state;
    return { workflowId, incidentId, stage, headline, findings, surfaces, planHash, decision, resolvedAt, githubIssue };
  }

  enter(stage: Stage): void {
    this.state.stage = stage;
    upsertSearchAttributes([{ key: stageKey, value: stage }]);
  }

  /** The decision search attribute holds the decision, or how the triage ended without one. */
  private end(stage: Stage, details: string): void {
    this.enter(stage);
    upsertSearchAttributes([{ key: decisionKey, value: this.state.decision?.decision ?? stage }]);
    setCurrentDetails(details);
  }

  private describeOutcome(stage = this.state.stage): string {
    const { decision, resolvedAt, expiresAt } = this.state;
    if (decision) return `${stage} by ${decision.approver}${viaChannel(decision.channel)} at ${decision.at}`;
    if (stage === 'resolved-before-decision') return `Incident resolved in PagerDuty at ${resolvedAt} before any decision`;
    return `No decision before ${expiresAt}; the approval request expired`;
  }
}

const MAX_COMMENT = 2000;

/** Throws to refuse; runs inside the Update validator, so it must stay synchronous and side-effect free. */
function validateDecision(state: TriageStatus, d: DecisionInput, service: { id: string; name: string } | undefined): void {
  if (d === null || typeof d !== 'object') throw ApplicationFailure.nonRetryable('decision must be an object', 'InvalidDecision');
  if (d.decision !== 'approve' && d.decision !== 'reject')
    throw ApplicationFailure.nonRetryable('decision must be "approve" or "reject"', 'InvalidDecision');
  if (typeof d.approver !== 'string' || d.approver.length === 0 || d.approver.length > 128) {
    throw ApplicationFailure.nonRetryable('approver must be a non-empty id', 'InvalidDecision');
  }
  if (typeof d.planHash !== 'string' || !PLAN_HASH.test(d.planHash))
    throw ApplicationFailure.nonRetryable('planHash must be a sha256 hex digest', 'InvalidDecision');
  if (d.comment !== undefined && (typeof d.comment !== 'string' || d.comment.length > MAX_COMMENT)) {
    throw ApplicationFailure.nonRetryable(`comment must be text of at most ${MAX_COMMENT} characters`, 'InvalidDecision');
  }
  // A gateway or CLI older than the worker sends neither field; refusing it
  // keeps every recorded decision attributable to a channel.
  if (!(APPROVAL_CHANNELS as readonly unknown[]).includes(d.channel)) {
    throw ApplicationFailure.nonRetryable(
      `channel must be one of ${APPROVAL_CHANNELS.join(', ')} (a gateway or CLI older than the worker sends none: upgrade it)`,
      'InvalidDecision',
    );
  }
  if (typeof d.identity !== 'string' || d.identity.length === 0 || d.identity.length > MAX_CLIENT_IDENTITY) {
    throw ApplicationFailure.nonRetryable(
      `identity must be the sending Temporal client's identity (1-${MAX_CLIENT_IDENTITY} characters)`,
      'InvalidDecision',
    );
  }
  if (state.decision) {
    throw ApplicationFailure.nonRetryable(alreadyDecided(state.decision), 'AlreadyDecided');
  }
  if (state.resolvedAt)
    throw ApplicationFailure.nonRetryable(`incident resolved at ${state.resolvedAt}; nothing to decide`, 'IncidentResolved');
  if (state.stage !== 'awaiting-decision' && state.stage !== 'escalated') {
    throw ApplicationFailure.nonRetryable(`no plan to decide on yet (stage: ${state.stage})`, 'NotAwaitingDecision');
  }
  const allowed = state.approvalChannels ?? DEFAULT_APPROVAL_CHANNELS;
  if (!allowed.includes(d.channel)) {
    throw ApplicationFailure.nonRetryable(
      channelDisabled(d.channel, service ?? { id: '?', name: state.incident?.serviceName ?? '?' }, allowed),
      'ChannelDisabled',
    );
  }
  if (!state.approvers.includes(d.approver))
    throw ApplicationFailure.nonRetryable(`${d.approver} is not an approver for this service`, 'UnknownApprover');
  if (d.planHash !== state.planHash) {
    throw ApplicationFailure.nonRetryable(
      `stale plan: the current plan hash is ${state.planHash?.slice(0, 12)}…, not ${d.planHash.slice(0, 12)}…`,
      'StalePlan',
    );
  }
}
