// Records the histories that test/replay replays. Not part of `make test`:
// run `make record-histories` after an intended change to the workflow.
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startStack } from '../../sandbox/stack.js';
import { decide, startTriage } from '../../starter/triage-client.js';
import { triageWorkflowId } from '../../workflows/messages.js';
import { SCENARIO_FILE, startTestEnvironment, waitForStatus, withTriageWorker, type FixtureOptions, type TestContext } from '../workflow/harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestEnvironment();
});
afterAll(async () => ctx?.teardown());

function save(name: string, history: Parameters<typeof historyToJSON>[0]): void {
  writeFileSync(join(here, '..', 'histories', `${name}.json`), historyToJSON(history) + '\n');
}

async function record(name: string, opts: FixtureOptions, finish: (incidentId: string, planHash: string) => Promise<void>): Promise<void> {
  await withTriageWorker(ctx, opts, async (fx) => {
    await startTriage(ctx.client, fx.config.temporal, { incidentId: fx.incidentId, source: { kind: 'cli', user: 'recorder' } });
    const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => s.stage === 'awaiting-decision');
    await finish(fx.incidentId, planHash!);
    const handle = ctx.client.workflow.getHandle(triageWorkflowId(fx.incidentId));
    await handle.result();
    save(name, await handle.fetchHistory());
  });
}

test('record: approved', async () => {
  await record('approved', {}, async (incidentId, planHash) => {
    await decide(ctx.client, incidentId, { decision: 'approve', approver: 'U0ALICE', planHash, comment: 'recorded' }, 'record-approve');
  });
});

test('record: escalated, then expired', async () => {
  await record('expired', { approval: { reminderAfter: '1s', expireAfter: '2s' } }, async () => undefined);
});

// The harness above runs PagerDuty and Kubernetes only; the sandbox stack runs
// all four surfaces (moto behind the Pod Identity Agent, Datadog through the
// broker) with the worker as its own process, as in production.
test('record: four surfaces, approved, through the sandbox stack', async () => {
  const stack = await startStack({ dir: mkdtempSync(join(tmpdir(), 'triage-record-')), scenario: SCENARIO_FILE });
  const connection = await Connection.connect({ address: stack.info.temporalAddress });
  try {
    const client = new Client({ connection, namespace: stack.info.temporalNamespace });
    const incidentId = stack.info.incidentId;
    await startTriage(client, { address: stack.info.temporalAddress, namespace: stack.info.temporalNamespace, taskQueue: stack.info.taskQueue, uiUrl: stack.info.temporalUiUrl }, { incidentId, source: { kind: 'cli', user: 'recorder' } });
    const status = await waitForStatus(client, incidentId, (s) => s.stage === 'awaiting-decision', 60_000);
    expect(status.surfaces.map((s) => [s.surface, s.status])).toEqual([
      ['pagerduty', 'ok'],
      ['kubernetes', 'ok'],
      ['cloudwatch', 'ok'],
      ['datadog', 'ok'],
    ]);
    await decide(client, incidentId, { decision: 'approve', approver: stack.info.approvers[0]!, planHash: status.planHash!, comment: 'recorded' }, 'record-approve');
    const handle = client.workflow.getHandle(triageWorkflowId(incidentId));
    await handle.result();
    save('four-surfaces-approved', await handle.fetchHistory());
  } finally {
    await connection.close();
    await stack.stop();
  }
});
