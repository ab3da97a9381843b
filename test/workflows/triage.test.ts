import proto from '@temporalio/proto';
import { decide, DecisionRefused, queryStatus, signalResolved, startTriage } from '../../starter/triage-client.js';
import { triageWorkflowId, type DecisionInput, type TriageOutcome } from '../../workflows/messages.js';
import { decisionKey, stageKey } from '../../workflows/search-attributes.js';
import { existsSync, readFileSync } from 'node:fs';
import { idempotencyKey, idempotencyLabel, idempotencyMarker } from '../../activities/idempotency.js';
import type { Diagnosis } from '../../activities/model.js';
import type { DiagnosisRequest } from '../../activities/report.js';
import { hashPlan, type WritePlan } from '../../config/write-plan.js';
import {
  APPROVAL_CHANNEL,
  APPROVERS,
  clientAs,
  GITHUB_REPO,
  INCIDENTS_CHANNEL,
  startTestEnvironment,
  type TestContext,
  withTriageWorker,
  type TriageFixture,
} from './harness.js';
import { waitForStatus } from '../wait-for-status.js';
import { failingIssue, failingWrite, ISSUE_FAILURE, resolvedWhileCollecting } from './lifecycle.js';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestEnvironment();
});

afterAll(async () => {
  await ctx?.teardown();
});

const awaiting = (s: { stage: string }) => s.stage === 'awaiting-decision';
const GATEWAY_IDENTITY = 'keyless-triage-gateway@gateway-7d9f';
const CLI_IDENTITY = 'triage-cli:bob@laptop';

async function start(fx: TriageFixture) {
  return startTriage(ctx.client, fx.config.temporal, { incidentId: fx.incidentId, source: { kind: 'cli', user: 'test' } });
}

function handle(fx: TriageFixture) {
  return ctx.client.workflow.getHandle(triageWorkflowId(fx.incidentId));
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function auditLines(fx: TriageFixture): Record<string, unknown>[] {
  if (!existsSync(fx.auditLog)) return [];
  return readFileSync(fx.auditLog, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}')) // a line being appended right now is not complete yet
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The attempt number of the activity's last start: Temporal records only the final attempt. */
async function activityAttempts(fx: TriageFixture, activityType: string): Promise<number> {
  const events = (await handle(fx).fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
  const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

async function scheduledActivities(fx: TriageFixture): Promise<string[]> {
  const events = (await handle(fx).fetchHistory()).events ?? [];
  return events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

/** What the Web UI shows as the execution's current details, from the SDK's built-in metadata query. */
async function currentDetails(fx: TriageFixture): Promise<string | undefined> {
  return (await handle(fx).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
}

/** The failure the execution ended with, as its history holds it. */
async function failureOf(fx: TriageFixture): Promise<string> {
  const events = (await handle(fx).fetchHistory()).events ?? [];
  return JSON.stringify(events.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure);
}

async function updateEvents(fx: TriageFixture) {
  const history = await handle(fx).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateAdmittedEventAttributes,
  );
}

describe('triageIncident on a real Temporal dev server', () => {
  test('collects PagerDuty and Kubernetes evidence in parallel, diagnoses, and ends approved', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      // A Slack click needs the card: once a decision is in, the broker takes any top-level post for the note.
      const status = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
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

      expect(status.approvalChannels).toEqual(['slack']);
      const gateway = clientAs(ctx, GATEWAY_IDENTITY);
      const record = await decide(
        gateway,
        fx.incidentId,
        { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: status.planHash!, comment: 'roll back' },
        'u1',
      );
      expect(record).toMatchObject({
        channel: 'slack',
        identity: GATEWAY_IDENTITY,
        decision: 'approve',
        approver: 'U0ALICE',
        comment: 'roll back',
      });
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('approved');
      expect(outcome.decision).toMatchObject({ approver: 'U0ALICE', channel: 'slack', identity: GATEWAY_IDENTITY });
      // The server recorded the identity the request itself carried, beside the decision's own copy.
      const [accepted] = await updateEvents(fx);
      expect(accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity).toBe(GATEWAY_IDENTITY);

      // The approved plan, and only it, became one GitHub issue, through the broker.
      const issues = fx.github.issues(GITHUB_REPO);
      expect(issues).toHaveLength(1);
      const [issue] = issues;
      expect(outcome.githubIssue).toEqual({ repo: GITHUB_REPO, number: issue!.number, url: issue!.html_url, title: issue!.title });
      expect(issue!.title).toBe(
        `[triage] ${fx.scenario.pagerduty.incident.title} (PagerDuty #${fx.scenario.pagerduty.incident.incident_number})`,
      );
      expect(issue!.body).toContain(fx.scenario.pagerduty.incident.html_url);
      expect(issue!.body).toContain(`/workflows/${triageWorkflowId(fx.incidentId)}`);
      expect(issue!.body).toContain(idempotencyMarker(idempotencyKey(triageWorkflowId(fx.incidentId))));
      expect(issue!.labels.map((l) => l.name)).toEqual([
        'triage',
        'severity:critical',
        idempotencyLabel(idempotencyKey(triageWorkflowId(fx.incidentId))),
      ]);
      const forTriage = () => auditLines(fx).filter((a) => a.triageId === triageWorkflowId(fx.incidentId));
      await waitFor(() => forTriage().some((a) => a.method === 'POST'));
      const audit = forTriage();
      expect(audit.map((a) => `${a.provider} ${a.method} ${a.decision}`)).toEqual(
        expect.arrayContaining(['pagerduty GET allowed', 'github GET allowed', 'github POST allowed', 'slack POST allowed']),
      );

      // Slack: the card was posted, then closed with the outcome; the note links the issue, the issue links the note.
      const [card] = fx.slack.messages(APPROVAL_CHANNEL);
      expect(card?.text).toContain(fx.scenario.pagerduty.incident.title);
      expect(JSON.stringify(card?.blocks)).not.toContain('triage_approve');
      expect(JSON.stringify(card?.blocks)).toContain('Approved by U0ALICE via Slack"');
      const [note] = fx.slack.messages(INCIDENTS_CHANNEL);
      expect(JSON.stringify(note)).toContain(issue!.html_url);
      expect(JSON.stringify(note?.blocks)).toContain('Approved by U0ALICE via Slack"');
      const body = fx.github.issues(GITHUB_REPO)[0]!.body!;
      expect(body).toMatch(/\*\*Slack:\*\* \[the #incidents note\]\(http/);
      // Escaped like any client-chosen text: GitHub would read a bare `@gw` as a mention.
      expect(body.replaceAll('\u2060', '')).toContain(
        `**Approved** by U0ALICE via Slack at ${outcome.decision!.at}; sent by Temporal client ${GATEWAY_IDENTITY}`,
      );

      const description = await handle(fx).describe();
      expect(description.typedSearchAttributes.get(stageKey)).toBe('approved');
      expect(description.typedSearchAttributes.get(decisionKey)).toBe('approve');
      expect(await description.staticSummary()).toMatch(/Triage PagerDuty/);
    });
  });

  test('with Slack down the triage still waits for a decision, says why there is no card, and the CLI decides where allowed', async () => {
    await withTriageWorker(ctx, { approvalChannels: ['slack', 'cli'] }, async (fx) => {
      fx.slack.setFault({ status: 500 });
      await start(fx);
      const status = await waitForStatus(
        ctx.client,
        fx.incidentId,
        (s) => s.stage === 'awaiting-decision' && (s.notices?.length ?? 0) > 0,
        60_000,
      );
      expect(status.notices).toEqual([expect.stringMatching(/^Slack: could not post the approval card: slack: HTTP 500/)]);
      expect(status.slackCard).toBeUndefined();
      await decide(
        ctx.client,
        fx.incidentId,
        { channel: 'cli', decision: 'reject', approver: 'U0ALICE', planHash: status.planHash! },
        'sd1',
      );
      expect(((await handle(fx).result()) as TriageOutcome).stage).toBe('rejected');
    });
  });

  test('with Slack down and only Slack allowed, the status says nobody can decide, and a CLI decision is refused naming the setting', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      fx.slack.setFault({ status: 500 });
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && (s.notices?.length ?? 0) > 1, 60_000);
      expect(status.notices?.[1]).toBe(
        `No approval card and CLI approvals are disabled: nobody can decide this triage; it expires at ${status.expiresAt}`,
      );
      const { id, summary } = fx.scenario.pagerduty.incident.service;
      const cli = clientAs(ctx, CLI_IDENTITY);
      await expect(
        decide(cli, fx.incidentId, { channel: 'cli', decision: 'approve', approver: 'U0ALICE', planHash: status.planHash! }, 'cli1'),
      ).rejects.toThrow(
        new DecisionRefused(
          `CLI approvals are disabled for service ${summary}: set approval.channels: [slack, cli] under services.${id} (or in the global approval section) of the worker configuration, or decide on the Slack card`,
        ),
      );
      // A gateway or CLI of an earlier release names no channel: refused rather than recorded unattributed.
      const unnamed = { decision: 'approve', approver: 'U0ALICE', planHash: status.planHash! } as unknown as Omit<
        DecisionInput,
        'identity'
      >;
      await expect(decide(cli, fx.incidentId, unnamed, 'old1')).rejects.toThrow(/^channel must be one of slack, cli/);
      expect(await updateEvents(fx)).toHaveLength(0);
      expect((await queryStatus(ctx.client, fx.incidentId)).stage).toBe('awaiting-decision');
    });
  });

  test('where the service allows the CLI, a CLI decision is recorded with its channel and client, and the card, note and issue say so', async () => {
    await withTriageWorker(ctx, { approvalChannels: ['slack', 'cli'] }, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
      expect(status.approvalChannels).toEqual(['slack', 'cli']);
      await decide(
        clientAs(ctx, CLI_IDENTITY),
        fx.incidentId,
        { channel: 'cli', decision: 'approve', approver: 'U0BOB', planHash: status.planHash! },
        'cli:approve',
      );
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.decision).toMatchObject({ decision: 'approve', approver: 'U0BOB', channel: 'cli', identity: CLI_IDENTITY });
      const [accepted] = await updateEvents(fx);
      expect(accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity).toBe(CLI_IDENTITY);
      const decided = `Approved by U0BOB via the triage CLI (Temporal client ${CLI_IDENTITY})"`;
      expect(JSON.stringify(fx.slack.messages(APPROVAL_CHANNEL)[0]?.blocks)).toContain(decided);
      expect(JSON.stringify(fx.slack.messages(INCIDENTS_CHANNEL)[0]?.blocks)).toContain(decided);
      expect(fx.github.issues(GITHUB_REPO)[0]!.body!.replaceAll('\u2060', '')).toContain(
        `**Approved** by U0BOB via the triage CLI at ${outcome.decision!.at}; sent by Temporal client ${CLI_IDENTITY}`,
      );
    });
  });

  test('a plan approved before the note was planned: the issue is written, the note is not, and a notice says why', async () => {
    // An earlier release's diagnosis: its plan has a Slack summary and no note, and its hash is over that.
    const earlier = (production: { diagnose: (r: DiagnosisRequest) => Promise<Diagnosis> }) => ({
      async diagnose(request: DiagnosisRequest): Promise<Diagnosis> {
        const diagnosis = await production.diagnose(request);
        const plan = { ...diagnosis.plan, slack: { text: 'summary' } } as unknown as WritePlan;
        return { ...diagnosis, plan, planHash: hashPlan(plan) };
      },
    });
    await withTriageWorker(ctx, { activities: earlier }, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'old1');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('approved');
      const [issue] = fx.github.issues(GITHUB_REPO);
      expect(issue!.body).toContain('**Approved** by U0ALICE via Slack');
      expect(issue!.body).not.toContain('#incidents note');
      expect(fx.slack.messages(INCIDENTS_CHANNEL)).toEqual([]);
      const { notices } = await queryStatus(ctx.client, fx.incidentId);
      expect(notices).toEqual([expect.stringMatching(/^Slack: could not post the #incidents note: .*predates the note/)]);
      expect(JSON.stringify(fx.slack.messages(APPROVAL_CHANNEL)[0]?.blocks)).toContain('Approved by U0ALICE via Slack"');
    });
  });

  test('an incident titled with <!channel> and a link to another host yields a card and an issue where neither is active', async () => {
    const hostile = '<!channel> checkout down <https://evil.example/login|open the runbook> @here see #12 www.evil.example';
    await withTriageWorker(ctx, { mutate: (s) => void (s.pagerduty.incident.title = hostile) }, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
      const [card] = fx.slack.messages(APPROVAL_CHANNEL);
      const mrkdwn = JSON.stringify(card?.blocks).match(/"type":"mrkdwn","text":"(?:[^"\\]|\\.)*"/g) ?? [];
      for (const text of [...mrkdwn, card!.text]) {
        expect(text).not.toMatch(/<!channel>|<!here>|<https:\/\/evil/);
      }
      expect(JSON.stringify(card?.blocks)).toContain('"type":"plain_text","text":"<!channel> checkout down');
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'x1');
      await handle(fx).result();
      const [issue] = fx.github.issues(GITHUB_REPO);
      // Titles are plain text on GitHub: `<!channel>` means nothing there, but links and mentions would.
      expect(issue!.title).not.toMatch(/https:\/\/evil|www\.evil|@here|#12\b/);
      expect(issue!.body).not.toMatch(/<!channel>|https:\/\/evil|www\.evil|@here|#12\b/);
      expect(issue!.body).toContain('&lt;!channel&gt;');
    });
  });

  test('a reject decision ends the triage rejected', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      await decide(
        ctx.client,
        fx.incidentId,
        { channel: 'slack', decision: 'reject', approver: 'U0BOB', planHash: status.planHash! },
        'r1',
      );
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('rejected');
      expect(outcome.decision?.decision).toBe('reject');
      expect(fx.github.issues(GITHUB_REPO)).toHaveLength(0);
      expect(fx.github.requestLog.filter((r) => r.method === 'POST' && r.path.endsWith('/issues'))).toHaveLength(0);
    });
  });

  test('an unknown approver is refused by the validator and leaves no Update event in history', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      await expect(
        decide(
          ctx.client,
          fx.incidentId,
          { channel: 'slack', decision: 'approve', approver: 'U0MALLORY', planHash: status.planHash! },
          'm1',
        ),
      ).rejects.toThrow(new DecisionRefused('U0MALLORY is not an approver for this service'));
      expect(await updateEvents(fx)).toHaveLength(0);
      expect((await queryStatus(ctx.client, fx.incidentId)).stage).toBe('awaiting-decision');
    });
  });

  test('a stale plan hash is refused', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.client, fx.incidentId, awaiting);
      const stale = 'a'.repeat(64);
      await expect(
        decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: APPROVERS[0]!, planHash: stale }, 's1'),
      ).rejects.toThrow(/stale plan/);
      expect(await updateEvents(fx)).toHaveLength(0);
    });
  });

  test('two concurrent decisions: exactly one is recorded, the other is refused', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      const results = await Promise.allSettled([
        decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'c1'),
        decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'reject', approver: 'U0BOB', planHash: planHash! }, 'c2'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await updateEvents(fx)).toHaveLength(1);
      // The worker answers the broker's approval queries: it stays up until the writes are done.
      await handle(fx).result();
    });
  });

  test('the same updateId sent twice decides once', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      const decision = { channel: 'slack' as const, decision: 'approve' as const, approver: 'U0ALICE', planHash: planHash! };
      const [a, b] = await Promise.all([
        decide(ctx.client, fx.incidentId, decision, 'same'),
        decide(ctx.client, fx.incidentId, decision, 'same'),
      ]);
      expect(a).toEqual(b);
      expect(await updateEvents(fx)).toHaveLength(1);
      await handle(fx).result();
    });
  });

  test('a surface that keeps failing becomes "unavailable: reason" and the triage goes on', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      fx.kubernetes.setFault({ status: 403 });
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      const k8s = status.surfaces.find((s) => s.surface === 'kubernetes');
      expect(k8s).toMatchObject({ status: 'unavailable' });
      expect(k8s?.reason).toMatch(/403/);
      expect(status.surfaces.find((s) => s.surface === 'pagerduty')?.status).toBe('ok');
      // 403 is not retried: one attempt, marked non-retryable.
      const history = await handle(fx).fetchHistory();
      const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.activityTaskFailedEventAttributes!.retryState).toBe(
        proto.temporal.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
      );
    });
  });

  test('a transient 503 with Retry-After is retried and the surface recovers', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      fx.kubernetes.setFault({ status: 503, retryAfterSeconds: 1, times: 1 });
      await start(fx);
      const status = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      expect(status.surfaces.find((s) => s.surface === 'kubernetes')?.status).toBe('ok');
      const history = await handle(fx).fetchHistory();
      const k8sStarted = (history.events ?? []).find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectKubernetesEvidence',
      );
      const started = (history.events ?? []).find(
        (e) =>
          e.activityTaskStartedEventAttributes &&
          String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(k8sStarted?.eventId),
      );
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(2);
    });
  });

  test('a GitHub write retried after it succeeded finds its issue instead of opening a second', async () => {
    // GitHub stores the issue but answers after the activity's timeout: the
    // first attempt never completes, the retry must not create again.
    await withTriageWorker(ctx, { writeTimeout: '2s' }, async (fx) => {
      fx.github.setHoldAfterCreate(3500);
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'h1');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(fx.github.issues(GITHUB_REPO)).toHaveLength(1);
      expect(outcome.githubIssue?.number).toBe(fx.github.issues(GITHUB_REPO)[0]!.number);
      expect(await activityAttempts(fx, 'createGitHubIssue')).toBeGreaterThan(1);
    });
  });

  test("GitHub's secondary rate limit is waited out, then the issue is created once", async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      // The broker mints its installation token on first use; mint it now so the limit hits the issue calls.
      expect((await fetch(`${fx.broker.url}/github/repos/${GITHUB_REPO}/issues`, { headers: { 'user-agent': 'test' } })).status).toBe(200);
      fx.github.setFault({ status: 403, retryAfterSeconds: 1, times: 1 });
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0BOB', planHash: planHash! }, 'rl1');
      await handle(fx).result();
      expect(fx.github.issues(GITHUB_REPO)).toHaveLength(1);
      expect(await activityAttempts(fx, 'createGitHubIssue')).toBe(2);
    });
  });

  test('the broker refuses a route outside its policy, audits it, and sends nothing upstream', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      const before = fx.github.requestLog.length;
      const res = await fetch(`${fx.broker.url}/github/repos/acme/other-repo/issues`, {
        method: 'POST',
        headers: { 'x-triage-id': 'triage-probe' },
        body: '{}',
      });
      expect(res.status).toBe(403);
      const pd = await fetch(`${fx.broker.url}/pagerduty/users`, { headers: { 'x-triage-id': 'triage-probe' } });
      expect(pd.status).toBe(403);
      expect(fx.github.requestLog.length).toBe(before);
      // Audit lines are appended asynchronously, after the response.
      await waitFor(() => auditLines(fx).filter((a) => a.triageId === 'triage-probe').length === 2);
      expect(
        auditLines(fx)
          .filter((a) => a.triageId === 'triage-probe')
          .map((a) => a.decision),
      ).toEqual(['denied', 'denied']);
    });
  });

  test('without a decision the request is escalated, then expires', async () => {
    await withTriageWorker(ctx, { approval: { reminderAfter: '1s', expireAfter: '3s' } }, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.client, fx.incidentId, (s) => s.stage === 'escalated');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('expired');
      expect(outcome.decision).toBeUndefined();
      // The reminder went into the card's thread; the expired card has no buttons left.
      const [card] = fx.slack.messages(APPROVAL_CHANNEL);
      expect(card?.replies).toHaveLength(1);
      expect(JSON.stringify(card?.blocks)).not.toContain('triage_approve');
      const history = await handle(fx).fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => e.userMetadata?.summary);
      expect(timers).toHaveLength(2);
    });
  });

  test('incident.resolved while waiting ends the triage as resolved before decision', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      await start(fx);
      await waitForStatus(ctx.client, fx.incidentId, awaiting);
      expect(await signalResolved(ctx.client, fx.incidentId, 'ev-resolved')).toBe('signalled');
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome.stage).toBe('resolved-before-decision');
      expect(outcome.resolvedAt).toBeDefined();
      expect(await signalResolved(ctx.client, 'QNOSUCHINCIDENT', 'ev')).toBe('not-running');
    });
  });

  test('incident.resolved while the evidence is collected ends the triage without a card, and the Web UI says so', async () => {
    const early = resolvedWhileCollecting();
    await withTriageWorker(ctx, { activities: early.activities }, async (fx) => {
      await start(fx);
      await early.resolve(ctx.client, fx.incidentId);
      const outcome = (await handle(fx).result()) as TriageOutcome;
      expect(outcome).toMatchObject({ stage: 'resolved-before-decision', resolvedAt: expect.any(String) });
      expect(outcome.decision).toBeUndefined();
      // Diagnosed all the same: what the triage found stays in the outcome.
      expect(outcome.planHash).toMatch(/^[0-9a-f]{64}$/);
      expect(fx.slack.messages(APPROVAL_CHANNEL)).toEqual([]);
      expect(await scheduledActivities(fx)).not.toEqual(expect.arrayContaining([expect.stringMatching(/ApprovalCard$/)]));
      expect(await currentDetails(fx)).toBe(
        `Incident resolved in PagerDuty at ${outcome.resolvedAt} before the approval card was posted: no card, nothing written`,
      );
      const description = await handle(fx).describe();
      expect(description.typedSearchAttributes.get(stageKey)).toBe('resolved-before-decision');
      expect(description.typedSearchAttributes.get(decisionKey)).toBe('resolved-before-decision');
    });
  });

  describe('a triage that stops after posting its card closes the card, saying why and what was written', () => {
    const approve = async (fx: TriageFixture) => {
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'f1');
    };
    const closedCard = (fx: TriageFixture) => JSON.stringify(fx.slack.messages(APPROVAL_CHANNEL)[0]?.blocks);

    test("GitHub refuses the issue: nothing was written, and the triage fails with GitHub's error", async () => {
      await withTriageWorker(ctx, { activities: failingIssue }, async (fx) => {
        await start(fx);
        await approve(fx);
        await expect(handle(fx).result()).rejects.toThrow();
        expect(await failureOf(fx)).toContain(ISSUE_FAILURE);
        const card = closedCard(fx);
        expect(card).not.toContain('triage_approve');
        expect(card).toContain(`PagerDuty incident #${fx.scenario.pagerduty.incident.incident_number} · triage failed`);
        // The reason is shown as the failure gave it, as plain text: Slack renders no mention or link from it.
        expect(card).toContain(JSON.stringify({ type: 'plain_text', text: `⚠️ The triage failed: ${ISSUE_FAILURE}`, emoji: false }));
        expect(card).toContain('"text":"Nothing was written."');
        expect((await queryStatus(ctx.client, fx.incidentId)).stage).toBe('failed');
      });
    });

    test('GitHub refuses the back link: the card links the issue and names the note', async () => {
      await withTriageWorker(ctx, { activities: failingWrite('linkIssueToNote', 'github: HTTP 422: body too long') }, async (fx) => {
        await start(fx);
        await approve(fx);
        await expect(handle(fx).result()).rejects.toThrow();
        expect(await failureOf(fx)).toContain('body too long');
        const [issue] = fx.github.issues(GITHUB_REPO);
        expect(closedCard(fx)).toContain(`Written: <${issue!.html_url}|GitHub issue #${issue!.number}>; the #incidents note was posted.`);
      });
    });

    test('Slack down when closing the card: a notice, and the triage still fails with the original error', async () => {
      await withTriageWorker(ctx, { activities: failingIssue }, async (fx) => {
        await start(fx);
        const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
        // Nothing calls Slack between the decision and the close.
        fx.slack.setFault({ status: 500 });
        await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash: planHash! }, 'f2');
        await expect(handle(fx).result()).rejects.toThrow();
        expect(await failureOf(fx)).toContain(ISSUE_FAILURE);
        expect(closedCard(fx)).toContain('triage_approve');
        const { notices } = await queryStatus(ctx.client, fx.incidentId);
        expect(notices).toEqual([expect.stringMatching(/^Slack: could not update the card: slack: HTTP 500/)]);
      });
    });

    test('cancelled while waiting for a decision: the card says so', async () => {
      await withTriageWorker(ctx, {}, async (fx) => {
        await start(fx);
        await waitForStatus(ctx.client, fx.incidentId, (s) => awaiting(s) && s.slackCard !== undefined);
        await handle(fx).cancel();
        await expect(handle(fx).result()).rejects.toThrow();
        expect((await handle(fx).describe()).status.name).toBe('CANCELLED');
        const card = closedCard(fx);
        expect(card).not.toContain('triage_approve');
        expect(card).toContain('"text":"⏹️ The triage was cancelled."');
        expect(card).toContain('"text":"Nothing was written."');
      });
    });
  });

  test('duplicate starts reach one execution, and a finished triage is not run again', async () => {
    await withTriageWorker(ctx, {}, async (fx) => {
      const results = await Promise.all(Array.from({ length: 20 }, () => start(fx)));
      expect(new Set(results.map((r) => r.runId)).size).toBe(1);
      const { planHash } = await waitForStatus(ctx.client, fx.incidentId, awaiting);
      await decide(ctx.client, fx.incidentId, { channel: 'slack', decision: 'reject', approver: 'U0ALICE', planHash: planHash! }, 'd1');
      await handle(fx).result();
      expect((await start(fx)).status).toBe('already-triaged');
      const executions = [];
      for await (const e of ctx.client.workflow.list({ query: `WorkflowId = '${triageWorkflowId(fx.incidentId)}'` })) executions.push(e);
      expect(executions).toHaveLength(1);
    });
  });

  test('an unconfigured PagerDuty service fails the triage with a clear reason', async () => {
    await withTriageWorker(
      ctx,
      { configuredServiceId: 'PCONFIGURED', mutate: (s) => void (s.pagerduty.incident.service.id = 'PUNKNOWN') },
      async (fx) => {
        await start(fx);
        await expect(handle(fx).result()).rejects.toThrow();
        const history = await handle(fx).fetchHistory();
        const failed = (history.events ?? []).find((e) => e.workflowExecutionFailedEventAttributes);
        expect(JSON.stringify(failed?.workflowExecutionFailedEventAttributes?.failure)).toMatch(/PUNKNOWN is not configured/);
        const status = await queryStatus(ctx.client, fx.incidentId);
        expect(status).toMatchObject({ stage: 'failed', failure: expect.stringMatching(/PUNKNOWN is not configured/) });
        expect((await handle(fx).describe()).typedSearchAttributes.get(stageKey)).toBe('failed');
      },
    );
  });
});
