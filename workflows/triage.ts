import {
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { TriageActivities } from '../activities/index.js';
import type { Diagnosis, Evidence, EvidenceRequest, SurfaceName, SurfaceResult, TriageScope, WritePlan } from '../activities/model.js';
import {
  decideUpdate,
  incidentResolvedSignal,
  statusQuery,
  workflowUiUrl,
  type DecisionInput,
  type DecisionRecord,
  type Stage,
  type TriageInput,
  type TriageOutcome,
  type TriageStatus,
} from './messages.js';
import { approvalCard, type ApprovalCard } from './approval-card.js';
import { failureReason } from './failure-reason.js';
import { surfaceRetryPolicy } from './retry-policy.js';
import { decisionKey, serviceKey, stageKey, urgencyKey } from './search-attributes.js';

// Fetching the incident and resolving the scope happen before any per-service
// setting is known, so they use fixed, production-sized retry settings.
const setup = proxyActivities<TriageActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/** One entry per evidence surface, each with its own activity and Web UI summary. */
function collectors(scope: TriageScope): Record<SurfaceName, (req: EvidenceRequest) => Promise<Evidence>> {
  const options: ActivityOptions = { startToCloseTimeout: '60 seconds', retry: surfaceRetryPolicy(scope) };
  const acts = proxyActivities<TriageActivities>(options);
  const namespaces = scope.kubernetes?.namespaces.join(', ') ?? 'no namespace';
  return {
    pagerduty: (req) => acts.collectPagerDutyEvidence.executeWithOptions({ ...options, summary: 'PagerDuty: incident alerts' }, [req]),
    kubernetes: (req) =>
      acts.collectKubernetesEvidence.executeWithOptions({ ...options, summary: `Kubernetes: pods, events, rollouts in ${namespaces}` }, [req]),
    cloudwatch: (req) =>
      acts.collectCloudWatchEvidence.executeWithOptions(
        { ...options, summary: `CloudWatch: ${scope.cloudwatch?.metrics.length ?? 0} metrics in ${scope.cloudwatch?.region ?? 'no region'}` },
        [req],
      ),
    datadog: (req) =>
      acts.collectDatadogEvidence.executeWithOptions(
        { ...options, summary: `Datadog: ${scope.datadog?.queries.length ?? 0} queries, monitors, error logs` },
        [req],
      ),
  };
}

export async function triageIncident(input: TriageInput): Promise<TriageOutcome> {
  const { workflowId } = workflowInfo();
  const state: TriageStatus = { workflowId, stage: 'collecting', findings: [], surfaces: [], approvers: [] };

  setHandler(statusQuery, () => state);
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
    { validator: (decision: DecisionInput) => validateDecision(state, decision) },
  );

  const setStage = (stage: Stage): void => {
    state.stage = stage;
    upsertSearchAttributes([{ key: stageKey, value: stage }]);
  };

  try {
    return await runTriage(input, state, setStage);
  } catch (err) {
    // Visible in the Web UI and to `TriageStage = "failed"` searches; the
    // reuse policy lets a later trigger start a fresh triage.
    if (!isCancellation(err)) {
      state.failure = failureReason(err);
      setStage('failed');
      setCurrentDetails(`Triage failed: ${state.failure}`);
    }
    throw err;
  }
}

async function runTriage(input: TriageInput, state: TriageStatus, setStage: (s: Stage) => void): Promise<TriageOutcome> {
  const { workflowId } = state;
  const incident = await setup.fetchIncident.executeWithOptions({ summary: 'PagerDuty: fetch incident' }, [input.incidentId, workflowId]);
  state.incident = {
    id: incident.id,
    number: incident.number,
    title: incident.title,
    urgency: incident.urgency,
    serviceName: incident.serviceName,
    htmlUrl: incident.htmlUrl,
  };
  const scope = await setup.resolveScope.executeWithOptions({ summary: `Resolve scope for service ${incident.serviceName}` }, [incident.serviceId]);
  state.approvers = scope.approvers;
  upsertSearchAttributes([
    { key: serviceKey, value: scope.serviceName },
    { key: urgencyKey, value: incident.urgency },
  ]);
  setCurrentDetails(`Collecting evidence from ${scope.surfaces.join(', ')}`);

  const request: EvidenceRequest = { triageId: workflowId, incident, scope };
  const surfaceResults = await collectEvidence(scope, request);
  state.surfaces = surfaceResults.map((r) => (r.status === 'ok' ? { surface: r.surface, status: 'ok' } : { surface: r.surface, status: 'unavailable', reason: r.reason }));

  setStage('diagnosing');
  const diagnosis: Diagnosis = await setup.diagnose.executeWithOptions({ summary: 'Diagnose: run analyzers, build the write plan' }, [
    { incident, scope, surfaces: surfaceResults, workflowId, temporalUiUrl: scope.temporalUiUrl, namespace: scope.namespace },
  ]);
  state.headline = diagnosis.headline;
  state.findings = diagnosis.findings.map((f) => ({ analyzer: f.analyzer, surface: f.surface, severity: f.severity, title: f.title, objects: f.objects }));
  state.planHash = diagnosis.planHash;

  const now = Date.now();
  state.reminderAt = new Date(now + scope.approval.reminderAfterMs).toISOString();
  state.expiresAt = new Date(now + scope.approval.expireAfterMs).toISOString();
  const card = approvalCard(scope, state, {
    incident,
    headline: diagnosis.headline,
    findings: diagnosis.findings,
    surfaces: diagnosis.surfaces,
    planHash: diagnosis.planHash,
    workflowId,
    webUiUrl: workflowUiUrl({ uiUrl: scope.temporalUiUrl, namespace: scope.namespace }, workflowId),
    approvers: scope.approvers,
    expiresAt: state.expiresAt,
    ...(diagnosis.plan.github.repo ? { githubRepo: diagnosis.plan.github.repo } : {}),
    ...(diagnosis.metricLines?.length ? { metricLines: diagnosis.metricLines } : {}),
  });

  const outcome = await awaitDecision(state, scope, setStage, card);
  if (outcome === 'approved') await writeApprovedPlan(diagnosis.plan, scope, state, card);
  else if (state.decision) await card.close({ kind: 'decided', decision: state.decision });
  else if (outcome === 'expired') await card.close({ kind: 'expired' });
  else await card.close({ kind: 'resolved', at: state.resolvedAt! });
  return {
    workflowId,
    incidentId: input.incidentId,
    stage: outcome,
    headline: state.headline,
    findings: state.findings,
    surfaces: state.surfaces,
    planHash: state.planHash,
    decision: state.decision,
    resolvedAt: state.resolvedAt,
    githubIssue: state.githubIssue,
  };
}

/** Step 7: only after approval, and exactly the plan that was approved. */
async function writeApprovedPlan(plan: WritePlan, scope: TriageScope, state: TriageStatus, card: ApprovalCard): Promise<void> {
  const decision = state.decision!;
  const { repo, title, body, labels, idempotencyKey } = plan.github;
  if (!repo) {
    log.info('no GitHub repository configured for this service; no issue written');
    await card.close({ kind: 'decided', decision });
    return;
  }
  const writes = proxyActivities<TriageActivities>({
    startToCloseTimeout: scope.writes.timeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: scope.writes.maximumAttempts },
  });
  setCurrentDetails(`Approved by ${state.decision?.approver}; creating the GitHub issue in ${repo}`);
  const issue = await writes.createGitHubIssue.executeWithOptions({ summary: `GitHub: create the triage issue in ${repo}` }, [
    { triageId: state.workflowId, repo, title, body, labels, idempotencyKey },
  ]);
  state.githubIssue = { repo: issue.repo, number: issue.number, url: issue.url, title: issue.title };

  const noteUrl = await card.note(decision, issue);
  if (noteUrl) {
    await writes.linkIssueToNote.executeWithOptions({ summary: 'GitHub: link the issue to the #incidents note' }, [
      { triageId: state.workflowId, repo, number: issue.number, noteUrl },
    ]);
  }
  await card.close({ kind: 'decided', decision, issue: { url: issue.url, number: issue.number } });
  setCurrentDetails(`${describeOutcome(state, 'approved')}; GitHub issue ${issue.url}`);
}

async function collectEvidence(scope: TriageScope, request: EvidenceRequest): Promise<SurfaceResult[]> {
  const run = collectors(scope);
  // All surfaces are scheduled in the same workflow task, so they run in parallel;
  // one failing surface becomes an "unavailable" section and never stops the others.
  return Promise.all(
    scope.surfaces.map(async (surface): Promise<SurfaceResult> => {
      try {
        return { surface, status: 'ok', evidence: await run[surface](request) };
      } catch (err) {
        if (isCancellation(err)) throw err;
        return { surface, status: 'unavailable', reason: failureReason(err) };
      }
    }),
  );
}

async function awaitDecision(state: TriageStatus, scope: TriageScope, setStage: (s: Stage) => void, card: ApprovalCard): Promise<Stage> {
  const settled = () => state.decision !== undefined || state.resolvedAt !== undefined;
  setStage('awaiting-decision');
  await card.post();
  setCurrentDetails(
    `Waiting for a decision from ${scope.approvers.join(', ')} on plan ${state.planHash?.slice(0, 12)}. ` +
      `Reminder at ${state.reminderAt}; expires at ${state.expiresAt}.`,
  );

  let done = await condition(settled, scope.approval.reminderAfterMs, { summary: 'Approval reminder deadline' });
  if (!done) {
    setStage('escalated');
    log.warn('approval reminder: no decision yet', { approvers: scope.approvers, expiresAt: state.expiresAt });
    setCurrentDetails(`No decision after the reminder deadline; escalated to ${scope.approvers.join(', ')}. Expires at ${state.expiresAt}.`);
    await card.remind();
    const left = Date.parse(state.expiresAt!) - Date.now();
    done = left > 0 ? await condition(settled, left, { summary: 'Approval expiry deadline' }) : settled();
  }

  let stage: Stage;
  if (state.decision) stage = state.decision.decision === 'approve' ? 'approved' : 'rejected';
  else if (state.resolvedAt) stage = 'resolved-before-decision';
  else stage = 'expired';
  setStage(stage);
  upsertSearchAttributes([{ key: decisionKey, value: state.decision?.decision ?? stage }]);
  setCurrentDetails(describeOutcome(state, stage));
  return stage;
}

function describeOutcome(state: TriageStatus, stage: Stage): string {
  if (state.decision) return `${stage} by ${state.decision.approver} at ${state.decision.at}`;
  if (stage === 'resolved-before-decision') return `Incident resolved in PagerDuty at ${state.resolvedAt} before any decision`;
  return `No decision before ${state.expiresAt}; the approval request expired`;
}

const PLAN_HASH = /^[0-9a-f]{64}$/;
const MAX_COMMENT = 2000;

/** Throws to refuse; runs inside the Update validator, so it must stay synchronous and side-effect free. */
export function validateDecision(state: TriageStatus, d: DecisionInput): void {
  if (d === null || typeof d !== 'object') throw ApplicationFailure.nonRetryable('decision must be an object', 'InvalidDecision');
  if (d.decision !== 'approve' && d.decision !== 'reject') throw ApplicationFailure.nonRetryable('decision must be "approve" or "reject"', 'InvalidDecision');
  if (typeof d.approver !== 'string' || d.approver.length === 0 || d.approver.length > 128) {
    throw ApplicationFailure.nonRetryable('approver must be a non-empty id', 'InvalidDecision');
  }
  if (typeof d.planHash !== 'string' || !PLAN_HASH.test(d.planHash)) throw ApplicationFailure.nonRetryable('planHash must be a sha256 hex digest', 'InvalidDecision');
  if (d.comment !== undefined && (typeof d.comment !== 'string' || d.comment.length > MAX_COMMENT)) {
    throw ApplicationFailure.nonRetryable(`comment must be text of at most ${MAX_COMMENT} characters`, 'InvalidDecision');
  }
  if (state.decision) {
    throw ApplicationFailure.nonRetryable(`already decided: ${state.decision.decision} by ${state.decision.approver} at ${state.decision.at}`, 'AlreadyDecided');
  }
  if (state.resolvedAt) throw ApplicationFailure.nonRetryable(`incident resolved at ${state.resolvedAt}; nothing to decide`, 'IncidentResolved');
  if (state.stage !== 'awaiting-decision' && state.stage !== 'escalated') {
    throw ApplicationFailure.nonRetryable(`no plan to decide on yet (stage: ${state.stage})`, 'NotAwaitingDecision');
  }
  if (!state.approvers.includes(d.approver)) throw ApplicationFailure.nonRetryable(`${d.approver} is not an approver for this service`, 'UnknownApprover');
  if (d.planHash !== state.planHash) {
    throw ApplicationFailure.nonRetryable(`stale plan: the current plan hash is ${state.planHash?.slice(0, 12)}…, not ${d.planHash.slice(0, 12)}…`, 'StalePlan');
  }
}
