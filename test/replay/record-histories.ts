// Records the histories that test/replay replays. Not part of `make test`:
// run `make record-histories` after an intended change to the workflow.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decide, startTriage } from '../../starter/triage-client.js';
import { triageWorkflowId } from '../../workflows/messages.js';
import { startTestEnvironment, waitForStatus, withTriageWorker, type FixtureOptions, type TestContext } from '../workflow/harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestEnvironment();
});
afterAll(async () => ctx?.teardown());

async function record(name: string, opts: FixtureOptions, finish: (incidentId: string, planHash: string) => Promise<void>): Promise<void> {
  await withTriageWorker(ctx, opts, async (fx) => {
    await startTriage(ctx.client, fx.config.temporal, { incidentId: fx.incidentId, source: { kind: 'cli', user: 'recorder' } });
    const { planHash } = await waitForStatus(ctx.client, fx.incidentId, (s) => s.stage === 'awaiting-decision');
    await finish(fx.incidentId, planHash!);
    const handle = ctx.client.workflow.getHandle(triageWorkflowId(fx.incidentId));
    await handle.result();
    writeFileSync(join(here, '..', 'histories', `${name}.json`), historyToJSON(await handle.fetchHistory()) + '\n');
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
