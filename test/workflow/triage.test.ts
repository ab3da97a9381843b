import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { decide, DecisionRefused, queryStatus, signalResolved, startTriage } from '../../starter/triage-client.js';
import { triageWorkflowId, type TriageOutcome } from '../../workflows/messages.js';
import { decisionKey, stageKey } from '../../workflows/search-attributes.js';
import { APPROVERS, startTestEnvironment, waitForStatus, withTriageWorker, type TriageFixture } from './harness.js';

let ctx: { env: TestWorkflowEnvironment; bundle: WorkflowBundle };

beforeAll(async () => {
  ctx = await startTestEnvironment();
});

afterAll(async () => {
  await ctx?.env.teardown();
});

const awaiting = (s: { stage: string }) => s.stage === 'awaiting-decision';

async function start(fx: TriageFixture) {
  return startTriage(ctx.env.client, fx.config.temporal, { incidentId: fx.incidentId, source: { kind: 'cli', user: 'test' } });
}

function handle(fx: TriageFixture) {
  return ctx.env.client.workflow.getHandle(triageWorkflowId(fx.incidentId));
}

async function updateEvents(fx: TriageFixture) {
  const history = await handle(fx).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateAdmittedEventAttributes);
}

describe('triageIncident on a real Temporal dev server', () => {
  test('collects PagerDuty and Kubernetes evidence in parallel, diagnoses, and ends approved', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      expect(status.surfaces).toEqual([
        { surface: 'pagerduty', status: 'ok' },
        { surface: 'kubernetes', status: 'ok' },
      ]);
      expect(status.findings[0]?.title).toMatch(/CrashLoopBackOff/i);
      expect(status.headline).toMatch(/revision 7/);
      expect(status.planHash).toMatch(/^[0-9a-f]{64}$/);

      // Both evidence activities were scheduled by the same workflow task: a parallel fan-out.
      const history = await handle(fx).fetchHistory();
      const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
      const evidence = scheduled.filter((e) => /^collect/.test(e.activityTaskScheduledEventAttributes!.activityType!.name!));
      expect(evidence.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual([
        'collectPagerDutyEvidence',
        'collectKubernetesEvidence',
      ]);
      const tasks = new Set(evidence.map((e) => String(e.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId)));
      expect(tasks.size).toBe(1);
      // Every activity carries a summary for the Web UI.
      for (const e of scheduled) expect(e.userMetadata?.summary).toBeTruthy();

      const record = await decide(ctx.env.client, fx.incidentId, { decision: 'approve', approver: 'U0ALICE', planHash: status.planHash!, comment: 'roll back' }, 'u1');
      expect(record).toMatchObject({ decision: 'approve', approver: 'U0ALICE', comment: 'roll back' });
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('approved');
      expect(outcome.decision?.approver).toBe('U0ALICE');

      const description = await handle(fx).describe();
      expect(description.typedSearchAttributes.get(stageKey)).toBe('approved');
      expect(description.typedSearchAttributes.get(decisionKey)).toBe('approve');
      expect(await description.staticSummary()).toMatch(/Triage PagerDuty/);
    });
  });

  test('a reject decision ends the triage rejected', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      await decide(ctx.env.client, fx.incidentId, { decision: 'reject', approver: 'U0BOB', planHash: status.planHash! }, 'r1');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('rejected');
      expect(outcome.decision?.decision).toBe('reject');
    });
  });

  test('an unknown approver is refused by the validator and leaves no Update event in history', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      await expect(
        decide(ctx.env.client, fx.incidentId, { decision: 'approve', approver: 'U0MALLORY', planHash: status.planHash! }, 'm1'),
      ).rejects.toThrow(new DecisionRefused('U0MALLORY is not an approver for this service'));
      expect(await updateEvents(fx)).toHaveLength(0);
      expect((await queryStatus(ctx.env.client, fx.incidentId)).stage).toBe('awaiting-decision');
    });
  });

  test('a stale plan hash is refused', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.env, fx.incidentId, awaiting);
      const stale = 'a'.repeat(64);
      await expect(decide(ctx.env.client, fx.incidentId, { decision: 'approve', approver: APPROVERS[0]!, planHash: stale }, 's1')).rejects.toThrow(/stale plan/);
      expect(await updateEvents(fx)).toHaveLength(0);
    });
  });

  test('two concurrent decisions: exactly one is recorded, the other is refused', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      const results = await Promise.allSettled([
        decide(ctx.env.client, fx.incidentId, { decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'c1'),
        decide(ctx.env.client, fx.incidentId, { decision: 'reject', approver: 'U0BOB', planHash: planHash! }, 'c2'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await updateEvents(fx)).toHaveLength(1);
    });
  });

  test('the same updateId sent twice decides once', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      const decision = { decision: 'approve' as const, approver: 'U0ALICE', planHash: planHash! };
      const [a, b] = await Promise.all([decide(ctx.env.client, fx.incidentId, decision, 'same'), decide(ctx.env.client, fx.incidentId, decision, 'same')]);
      expect(a).toEqual(b);
      expect(await updateEvents(fx)).toHaveLength(1);
    });
  });

  test('a surface that keeps failing becomes "unavailable: reason" and the triage goes on', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      fx.kubernetes.setFault({ status: 403 });
      await start(fx);
      const status = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      const k8s = status.surfaces.find((s) => s.surface === 'kubernetes');
      expect(k8s).toMatchObject({ status: 'unavailable' });
      expect(k8s?.reason).toMatch(/403/);
      expect(status.surfaces.find((s) => s.surface === 'pagerduty')?.status).toBe('ok');
      // 403 is not retried: one attempt, marked non-retryable.
      const history = await handle(fx).fetchHistory();
      const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.activityTaskFailedEventAttributes!.retryState).toBe(proto.temporal.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    });
  });

  test('a transient 503 with Retry-After is retried and the surface recovers', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      fx.kubernetes.setFault({ status: 503, retryAfterSeconds: 1, times: 1 });
      await start(fx);
      const status = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      expect(status.surfaces.find((s) => s.surface === 'kubernetes')?.status).toBe('ok');
      const history = await handle(fx).fetchHistory();
      const k8sStarted = (history.events ?? []).find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectKubernetesEvidence',
      );
      const started = (history.events ?? []).find(
        (e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(k8sStarted?.eventId),
      );
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(2);
    });
  });

  test('without a decision the request is escalated, then expires', async () => {
    await withTriageWorker(ctx, { approval: { reminderAfter: '1s', expireAfter: '3s' } }, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.env, fx.incidentId, (s) => s.stage === 'escalated');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('expired');
      expect(outcome.decision).toBeUndefined();
      const history = await handle(fx).fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => e.userMetadata?.summary);
      expect(timers).toHaveLength(2);
    });
  });

  test('incident.resolved while waiting ends the triage as resolved before decision', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.env, fx.incidentId, awaiting);
      expect(await signalResolved(ctx.env.client, fx.incidentId, 'ev-resolved')).toBe('signalled');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('resolved-before-decision');
      expect(outcome.resolvedAt).toBeDefined();
      expect(await signalResolved(ctx.env.client, 'QNOSUCHINCIDENT', 'ev')).toBe('not-running');
    });
  });

  test('duplicate starts reach one execution, and a finished triage is not run again', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      const results = await Promise.all(Array.from({ length: 20 }, () => start(fx)));
      expect(new Set(results.map((r) => r.runId)).size).toBe(1);
      const { planHash } = await waitForStatus(ctx.env, fx.incidentId, awaiting);
      await decide(ctx.env.client, fx.incidentId, { decision: 'reject', approver: 'U0ALICE', planHash: planHash! }, 'd1');
      await handle(fx).result();
      expect((await start(fx)).status).toBe('already-triaged');
      const executions = [];
      for await (const e of ctx.env.client.workflow.list({ query: `WorkflowId = '${triageWorkflowId(fx.incidentId)}'` })) executions.push(e);
      expect(executions).toHaveLength(1);
    });
  });

  test('an unconfigured PagerDuty service fails the triage with a clear reason', async () => {
    await withTriageWorker(ctx, { configuredServiceId: 'PCONFIGURED', mutate: (s) => void (s.pagerduty.incident.service.id = 'PUNKNOWN') }, async (fx) => {
      await start(fx);
      await expect(handle(fx).result()).rejects.toThrow();
      const history = await handle(fx).fetchHistory();
      const failed = (history.events ?? []).find((e) => e.workflowExecutionFailedEventAttributes);
      expect(JSON.stringify(failed?.workflowExecutionFailedEventAttributes?.failure)).toMatch(/PUNKNOWN is not configured/);
      const status = await queryStatus(ctx.env.client, fx.incidentId);
      expect(status).toMatchObject({ stage: 'failed', failure: expect.stringMatching(/PUNKNOWN is not configured/) });
      expect((await handle(fx).describe()).typedSearchAttributes.get(stageKey)).toBe('failed');
    });
  });
});
