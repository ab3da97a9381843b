// Records the histories that test/replay replays. Not part of `make test`:
// run `make record-histories` after an intended change to the workflow.
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startStack } from '../../sandbox/stack.js';
import { decide, startTriage } from '../../starter/triage-client.js';
import { triageWorkflowId } from '../../workflows/messages.js';
import {
  clientAs,
  SCENARIO_FILE,
  startTestEnvironment,
  withTriageWorker,
  type FixtureOptions,
  type TestContext,
} from '../workflows/harness.js';
import { waitForStatus } from '../wait-for-status.js';
import { failingIssue, resolvedWhileCollecting } from '../workflows/lifecycle.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestEnvironment();
});
afterAll(async () => ctx?.teardown());

function save(name: string, history: Parameters<typeof historyToJSON>[0]): void {
  writeFileSync(join(here, '..', 'histories', `${name}.json`), historyToJSON(history) + '\n');
}

/** Starts a triage, lets `drive` steer it, and saves its history once it has ended as `ends` says. */
async function recordRun(
  name: string,
  opts: FixtureOptions,
  drive: (incidentId: string) => Promise<void>,
  ends: 'completed' | 'failed' = 'completed',
): Promise<void> {
  await withTriageWorker(ctx, opts, async (fx) => {
    await startTriage(ctx.client, fx.config.temporal, { incidentId: fx.incidentId, source: { kind: 'cli', user: 'recorder' } });
    await drive(fx.incidentId);
    const handle = ctx.client.workflow.getHandle(triageWorkflowId(fx.incidentId));
    if (ends === 'failed') await expect(handle.result()).rejects.toThrow();
    else await handle.result();
    save(name, await handle.fetchHistory());
  });
}

async function record(
  name: string,
  opts: FixtureOptions,
  finish: (incidentId: string, planHash: string) => Promise<void>,
  ends: 'completed' | 'failed' = 'completed',
): Promise<void> {
  const decided = async (incidentId: string) => {
    // A decision before the card is posted would have the broker take the card for a note and refuse it.
    const { planHash } = await waitForStatus(ctx.client, incidentId, (s) => s.stage === 'awaiting-decision' && s.slackCard !== undefined);
    await finish(incidentId, planHash!);
  };
  await recordRun(name, opts, decided, ends);
}

test('record: approved', async () => {
  await record('approved', {}, async (incidentId, planHash) => {
    await decide(
      ctx.client,
      incidentId,
      { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash, comment: 'recorded' },
      'record-approve',
    );
  });
});

// A decision that names its channel and client, beside the older ones that do not.
test('record: approved through the CLI channel', async () => {
  await record('approved-via-cli', { approvalChannels: ['slack', 'cli'] }, async (incidentId, planHash) => {
    await decide(
      clientAs(ctx, 'triage-cli:recorder@localhost'),
      incidentId,
      { channel: 'cli', decision: 'approve', approver: 'U0BOB', planHash, comment: 'recorded' },
      'record-approve-cli',
    );
  });
});

test('record: escalated, then expired', async () => {
  await record('expired', { approval: { reminderAfter: '1s', expireAfter: '2s' } }, async () => undefined);
});

test('record: resolved in PagerDuty while the evidence was being collected', async () => {
  const gate = resolvedWhileCollecting();
  await recordRun('resolved-while-collecting', { activities: gate.activities }, async (incidentId) => {
    await gate.resolve(ctx.client, incidentId);
  });
});

test('record: approved, then the GitHub issue could not be created', async () => {
  await record(
    'failed-after-card',
    { activities: failingIssue },
    async (incidentId, planHash) => {
      await decide(
        ctx.client,
        incidentId,
        { channel: 'slack', decision: 'approve', approver: 'U0ALICE', planHash },
        'record-approve-failing',
      );
    },
    'failed',
  );
});

// The harness above runs PagerDuty and Kubernetes only; the sandbox stack runs
// all four surfaces (moto behind the Pod Identity Agent, Datadog through the
// broker) with the worker as its own process, as in production.
test('record: four surfaces, approved, through the sandbox stack', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'triage-record-'));
  const stack = await startStack({ dir, scenario: SCENARIO_FILE });
  const connection = await Connection.connect({ address: stack.info.temporalAddress });
  try {
    const client = new Client({ connection, namespace: stack.info.temporalNamespace });
    const incidentId = stack.info.incidentId;
    await startTriage(
      client,
      {
        address: stack.info.temporalAddress,
        namespace: stack.info.temporalNamespace,
        taskQueue: stack.info.taskQueue,
        uiUrl: stack.info.temporalUiUrl,
      },
      { incidentId, source: { kind: 'cli', user: 'recorder' } },
    );
    const status = await waitForStatus(client, incidentId, (s) => s.stage === 'awaiting-decision', 60_000);
    expect(status.surfaces.map((s) => [s.surface, s.status])).toEqual([
      ['pagerduty', 'ok'],
      ['kubernetes', 'ok'],
      ['cloudwatch', 'ok'],
      ['datadog', 'ok'],
    ]);
    await decide(
      client,
      incidentId,
      { channel: 'slack', decision: 'approve', approver: stack.info.approvers[0]!, planHash: status.planHash!, comment: 'recorded' },
      'record-approve',
    );
    const handle = client.workflow.getHandle(triageWorkflowId(incidentId));
    await handle.result();
    const history = await handle.fetchHistory();
    // The stack's secrets are random hex that no credential pattern knows: look for each value itself, payloads decoded.
    const text = historyToJSON(history);
    const payloads = [...text.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
    expect(payloads.length).toBeGreaterThan(0);
    const decoded = payloads.join('\n');
    for (const file of secretFiles(stack.info.secretDir)) {
      const value = readFileSync(file, 'utf8').trim();
      expect({ file, leaked: text.includes(value) || decoded.includes(value) }).toEqual({ file, leaked: false });
    }
    save('four-surfaces-approved', history);
  } finally {
    await connection.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

function secretFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? secretFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
