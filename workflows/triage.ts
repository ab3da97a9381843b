import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { TriageActivities } from '../activities/index.js';
import type {
  Diagnosis,
  Evidence,
  EvidenceRequest,
  IncidentRef,
  SurfaceName,
  SurfaceResult,
  TriageScope,
  WritePlan,
} from '../activities/model.js';
import type { CardOutcome, CardWrites } from '../activities/slack-card.js';
import type { Stage, TriageInput, TriageOutcome } from './messages.js';
import { approvalCard, type ApprovalCard } from './approval-card.js';
import { failureReason } from './failure-reason.js';
import { surfaceRetryPolicy } from './retry-policy.js';
import { StatusBoard } from './status.js';

// Fetching the incident and resolving the scope happen before any per-service
// setting is known, so they use fixed, production-sized retry settings.
const setup = proxyActivities<TriageActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
});

// Patch ids: an execution whose history predates a change takes the old path on replay.
const RESOLVED_BEFORE_CARD = 'resolved-before-card';
const CARD_CLOSED_ON_FAILURE = 'card-closed-on-failure';

export async function triageIncident(input: TriageInput): Promise<TriageOutcome> {
  const status = new StatusBoard(workflowInfo().workflowId);
  let card: ApprovalCard | undefined;
  try {
    const incident = await fetchIncident(input.incidentId, status);
    const scope = await resolveScope(incident, status);
    const evidence = await collectEvidence(incident, scope, status);
    const diagnosis = await diagnose(incident, scope, evidence, status);
    if (resolvedBeforeCard(status)) return status.outcome(input.incidentId);
    card = await postApprovalCard(scope, incident, diagnosis, status);
    const outcome = await awaitDecision(scope, card, status);
    if (outcome === 'approved') await writeIssueAndNote(diagnosis.plan, scope, card, status);
    else await card.close(unapprovedCard(outcome, status));
    return status.outcome(input.incidentId);
  } catch (err) {
    status.failed(err);
    await closeStoppedCard(card, err, status);
    throw err;
  }
}

async function fetchIncident(incidentId: string, status: StatusBoard): Promise<IncidentRef> {
  const incident = await setup.fetchIncident.executeWithOptions({ summary: 'PagerDuty: fetch incident' }, [incidentId, status.workflowId]);
  status.incidentFetched(incident);
  return incident;
}

async function resolveScope(incident: IncidentRef, status: StatusBoard): Promise<TriageScope> {
  const scope = await setup.resolveScope.executeWithOptions({ summary: `Resolve scope for service ${incident.serviceName}` }, [
    incident.serviceId,
  ]);
  status.scopeResolved(scope);
  return scope;
}

/** One entry per evidence surface, each with its own activity and Web UI summary. */
function collectors(scope: TriageScope): Record<SurfaceName, (req: EvidenceRequest) => Promise<Evidence>> {
  const options: ActivityOptions = { startToCloseTimeout: '60 seconds', retry: surfaceRetryPolicy(scope) };
  const acts = proxyActivities<TriageActivities>(options);
  const namespaces = scope.kubernetes?.namespaces.join(', ') ?? 'no namespace';
  return {
    pagerduty: (req) => acts.collectPagerDutyEvidence.executeWithOptions({ ...options, summary: 'PagerDuty: incident alerts' }, [req]),
    kubernetes: (req) =>
      acts.collectKubernetesEvidence.executeWithOptions({ ...options, summary: `Kubernetes: pods, events, rollouts in ${namespaces}` }, [
        req,
      ]),
    cloudwatch: (req) =>
      acts.collectCloudWatchEvidence.executeWithOptions(
        {
          ...options,
          summary: `CloudWatch: ${scope.cloudwatch?.metrics.length ?? 0} metrics in ${scope.cloudwatch?.region ?? 'no region'}`,
        },
        [req],
      ),
    datadog: (req) =>
      acts.collectDatadogEvidence.executeWithOptions(
        { ...options, summary: `Datadog: ${scope.datadog?.queries.length ?? 0} queries, monitors, error logs` },
        [req],
      ),
  };
}

async function collectEvidence(incident: IncidentRef, scope: TriageScope, status: StatusBoard): Promise<SurfaceResult[]> {
  const run = collectors(scope);
  const request: EvidenceRequest = { triageId: status.workflowId, incident, scope };
  // All surfaces are scheduled in the same workflow task, so they run in parallel;
  // one failing surface becomes an "unavailable" section and never stops the others.
  const results = await Promise.all(
    scope.surfaces.map(async (surface): Promise<SurfaceResult> => {
      try {
        return { surface, status: 'ok', evidence: await run[surface](request) };
      } catch (err) {
        if (isCancellation(err)) throw err;
        return { surface, status: 'unavailable', reason: failureReason(err) };
      }
    }),
  );
  status.evidenceCollected(results);
  return results;
}

async function diagnose(incident: IncidentRef, scope: TriageScope, surfaces: SurfaceResult[], status: StatusBoard): Promise<Diagnosis> {
  status.enter('diagnosing');
  const { workflowId } = status;
  // The request names the Web UI settings beside the scope because that is
  // where activity workers of earlier releases read them.
  const diagnosis = await setup.diagnose.executeWithOptions({ summary: 'Diagnose: run analyzers, build the write plan' }, [
    { incident, scope, surfaces, workflowId, temporalUiUrl: scope.temporalUiUrl, namespace: scope.namespace },
  ]);
  status.diagnosed(diagnosis, scope.approval);
  return diagnosis;
}

/**
 * A card for an incident PagerDuty has already resolved would be closed as
 * soon as it is posted. Checked once, right before posting: the evidence and
 * the diagnosis still show in the status and the history.
 */
function resolvedBeforeCard(status: StatusBoard): boolean {
  if (status.resolvedAt === undefined || !patched(RESOLVED_BEFORE_CARD)) return false;
  status.resolvedBeforeCard();
  return true;
}

/** Decisions are accepted from here on, while the card is being posted: the CLI does not need it. */
async function postApprovalCard(
  scope: TriageScope,
  incident: IncidentRef,
  diagnosis: Diagnosis,
  status: StatusBoard,
): Promise<ApprovalCard> {
  const card = approvalCard(scope, incident, diagnosis, status);
  status.enter('awaiting-decision');
  await card.post();
  status.waitingForDecision();
  return card;
}

async function awaitDecision(scope: TriageScope, card: ApprovalCard, status: StatusBoard): Promise<Stage> {
  const settled = () => status.settled();
  const settledBeforeReminder = await condition(settled, scope.approval.reminderAfterMs, { summary: 'Approval reminder deadline' });
  if (!settledBeforeReminder) {
    status.escalated();
    await card.remind();
    const left = Date.parse(status.expiresAt) - Date.now();
    if (left > 0) await condition(settled, left, { summary: 'Approval expiry deadline' });
  }
  return status.decisionWindowClosed();
}

/** Step 7: only after approval, and exactly the plan that was approved. */
async function writeIssueAndNote(plan: WritePlan, scope: TriageScope, card: ApprovalCard, status: StatusBoard): Promise<void> {
  const decision = status.decision!;
  const { repo, title, body, labels, idempotencyKey } = plan.github;
  if (!repo) {
    log.info('no GitHub repository configured for this service; no issue written');
    await card.close({ kind: 'decided', decision });
    return;
  }
  const writes = proxyActivities<TriageActivities>({
    startToCloseTimeout: scope.writes.timeoutMs,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: scope.writes.maximumAttempts,
    },
  });
  status.creatingIssue(repo);
  const issue = await writes.createGitHubIssue.executeWithOptions({ summary: `GitHub: create the triage issue in ${repo}` }, [
    { triageId: status.workflowId, repo, title, body, labels, idempotencyKey, approval: decision },
  ]);
  status.issueCreated(issue);

  const noteUrl = await card.note(decision, issue);
  if (noteUrl) {
    await writes.linkIssueToNote.executeWithOptions({ summary: 'GitHub: link the issue to the #incidents note' }, [
      {
        triageId: status.workflowId,
        repo,
        number: issue.number,
        noteUrl,
        ...(plan.github.backLink ? { backLink: plan.github.backLink } : {}),
      },
    ]);
  }
  await card.close({ kind: 'decided', decision, issue: { url: issue.url, number: issue.number } });
  status.written();
}

/**
 * A card left with its buttons after the triage stopped would invite a
 * decision nothing acts on. Closing it is best effort (`card.close` records a
 * Slack failure as a notice and returns), so the error that stopped the
 * triage is the one it ends with; on cancellation it still runs, shielded.
 */
async function closeStoppedCard(card: ApprovalCard | undefined, err: unknown, status: StatusBoard): Promise<void> {
  if (!card?.posted || !patched(CARD_CLOSED_ON_FAILURE)) return;
  const issue = status.githubIssue;
  const written: CardWrites = {
    ...(issue ? { issue: { url: issue.url, number: issue.number } } : {}),
    ...(card.noted ? { note: true } : {}),
  };
  const outcome: CardOutcome = isCancellation(err)
    ? { kind: 'cancelled', written }
    : { kind: 'failed', reason: failureReason(err), written };
  await CancellationScope.nonCancellable(() => card.close(outcome));
}

/** How the card ends when nothing is written. */
function unapprovedCard(outcome: Stage, status: StatusBoard): CardOutcome {
  if (status.decision) return { kind: 'decided', decision: status.decision };
  if (outcome === 'expired') return { kind: 'expired' };
  return { kind: 'resolved', at: status.resolvedAt! };
}
