// The broker as a compromised worker meets it: every write is judged against
// what a real Temporal dev server answers for the triage id it carries.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { TriageApproval } from '../../broker/approval.js';
import { DECIDE_UPDATE } from '../../config/identifiers.js';
import { hashPlan } from '../../config/write-plan.js';
import { findTemporalCli } from '../../sandbox/venv-tools.js';
import type { WritePlan } from '../../config/write-plan.js';
import { APPROVED_DECISION, APPROVED_PLAN, APPROVED_STATE, APPROVED_WRITES, createWorld, type Reply, type World } from './harness.js';

const TASK_QUEUE = 'broker-approval-test';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let world: World;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: findTemporalCli() } } });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./workflows/approval-fixture.ts', import.meta.url)),
  });
  running = worker.run();
  // No injected answer: the broker reads Temporal as configured, as in production.
  world = await createWorld({
    configOverrides: { temporal: { address: env.address, namespace: env.namespace ?? 'default' } },
    broker: { approvals: undefined },
  });
}, 120_000);

afterAll(async () => {
  await world?.close();
  worker?.shutdown();
  await running;
  await env?.teardown();
});

const approved = APPROVED_STATE;
const hash = APPROVED_STATE.planHash!;

/**
 * A triage whose query answers `state`; `sent` is the decision a client sends
 * as the `decide` Update (by default the one the query claims), so that the
 * history records it as it would the gateway's.
 */
async function triage(state: TriageApproval, sent: TriageApproval['decision'] | null = state.decision): Promise<string> {
  const id = `triage-Q${randomBytes(4).toString('hex').toUpperCase()}`;
  const handle = await env.client.workflow.start('approvalFixture', { taskQueue: TASK_QUEUE, workflowId: id, args: [state] });
  if (sent) {
    const { at: _workflowTime, ...input } = sent;
    await handle.executeUpdate(DECIDE_UPDATE, { args: [input] });
  }
  return id;
}

const createIssue = (triageId: string, body = APPROVED_WRITES.create) =>
  world.call('POST', '/github/repos/acme/checkout/issues', {
    headers: { 'content-type': 'application/json', 'x-triage-id': triageId },
    body,
  });

async function expectDenied(send: () => Promise<Reply>, reason: string): Promise<void> {
  const before = (await world.audit()).length;
  const reply = await send();
  expect(reply.status).toBe(403);
  expect(reply.json()).toEqual({ error: 'denied', reason });
  expect((await world.audit(before + 1)).at(-1)).toMatchObject({ decision: 'denied', reason, status: 403 });
}

test('the approved plan is forwarded: the create and the back-link edit', async () => {
  const id = await triage(approved);
  expect((await createIssue(id)).status).toBe(201);
  const edited = await world.call('PATCH', '/github/repos/acme/checkout/issues/17', {
    headers: { 'content-type': 'application/json', 'x-triage-id': id },
    body: APPROVED_WRITES.edit,
  });
  expect(edited.status).toBe(200);
}, 30_000);

test('a worker that answers the query with an approval no client sent → 403 write without approval', async () => {
  const id = await triage(approved, null);
  await expectDenied(() => createIssue(id), 'write without approval');
  expect(world.logs.some((l) => l.includes('the approval query names a decision no client sent'))).toBe(true);
}, 30_000);

test('an approval sent by another approver than the query claims → 403 write without approval', async () => {
  const id = await triage(approved, { ...APPROVED_DECISION, approver: 'U0MALLORY' });
  await expectDenied(() => createIssue(id), 'write without approval');
}, 30_000);

test('a forged triage id (no such workflow) → 403 write without approval', async () => {
  await expectDenied(() => createIssue('triage-QNOSUCHTRIAGE'), 'write without approval');
});

test('no triage id at all → 403 write without approval', async () => {
  await expectDenied(
    () => world.call('POST', '/github/repos/acme/checkout/issues', { body: APPROVED_WRITES.create }),
    'write without approval',
  );
});

test('a write with no decision yet → 403 write without approval', async () => {
  const id = await triage({ planHash: hash, plan: APPROVED_PLAN });
  await expectDenied(() => createIssue(id), 'write without approval');
});

test('a write after a rejection → 403 write without approval', async () => {
  const id = await triage({ ...approved, decision: { ...APPROVED_DECISION, decision: 'reject' } });
  await expectDenied(() => createIssue(id), 'write without approval');
});

test('an approval replayed for another plan → 403 plan mismatch', async () => {
  const other = hashPlan({ ...APPROVED_PLAN, github: { ...APPROVED_PLAN.github, body: 'another text' } });
  const id = await triage({ ...approved, decision: { ...APPROVED_DECISION, planHash: other } });
  await expectDenied(() => createIssue(id), 'plan mismatch');
});

test('a body changed by one byte → 403 plan mismatch, and nothing reaches GitHub', async () => {
  const id = await triage(approved);
  const before = world.github.requests.length;
  await expectDenied(() => createIssue(id, APPROVED_WRITES.create.replace('approved text', 'approved texT')), 'plan mismatch');
  expect(world.github.requests.length).toBe(before);
});

test.each<[string, (body: string) => string]>([
  ['another approver', (body) => body.replace('U0ALICE', 'U0MALLORY')],
  ['another channel', (body) => body.replace('via Slack', 'via the triage CLI')],
  ['another time', (body) => body.replace('T10:00', 'T09:00')],
])('an approval line naming %s than the decision Temporal holds → 403 plan mismatch', async (_name, change) => {
  const id = await triage(approved);
  const forged = change(APPROVED_WRITES.create);
  expect(forged).not.toBe(APPROVED_WRITES.create);
  await expectDenied(() => createIssue(id, forged), 'plan mismatch');
});

test('reads are not checked', async () => {
  const reply = await world.call('GET', '/github/repos/acme/checkout/issues', { headers: { 'x-triage-id': 'triage-QNOSUCHTRIAGE' } });
  expect(reply.status).toBe(200);
});

test('a write over the body limit → 413 before anything is judged or sent', async () => {
  const id = await triage(approved);
  const before = world.github.requests.length;
  const reply = await createIssue(id, JSON.stringify({ title: 'x', body: 'y'.repeat(world.config.maxRequestBodyBytes), labels: [] }));
  expect(reply.status).toBe(413);
  expect(world.github.requests.length).toBe(before);
});

describe('Slack', () => {
  const post = (triageId: string, body: string) =>
    world.call('POST', '/slack/api/chat.postMessage', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-triage-id': triageId },
      body,
    });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const withField = (name: string, change: (value: string) => string) => {
    const fields = new URLSearchParams(APPROVED_WRITES.note);
    fields.set(name, change(fields.get(name)!));
    return fields.toString();
  };

  test('the card is posted before any decision; a second top-level post once it is recorded is not', async () => {
    expect((await post(await triage({ planHash: hash, plan: APPROVED_PLAN }), form({ channel: 'C0APPROVAL', text: 'card' }))).status).toBe(
      200,
    );
    const carded = await triage({ planHash: hash, plan: APPROVED_PLAN, slackCard: { channelId: 'C0APPROVAL', ts: '1.1' } });
    expect((await post(carded, form({ channel: 'C0APPROVAL', thread_ts: '1.1', text: 'reminder' }))).status).toBe(200);
    await expectDenied(() => post(carded, form({ channel: 'C0APPROVAL', text: 'card again' })), 'write without approval');
  });

  test('the approved note, exactly as planned and filled from the decision Temporal holds, reaches Slack', async () => {
    const id = await triage(approved);
    const before = world.slack.requests.length;
    expect((await post(id, APPROVED_WRITES.note)).status).toBe(200);
    expect(world.slack.requests.slice(before).map((r) => r.url)).toEqual(['/api/chat.postMessage']);
  });

  test.each<[string, () => string]>([
    ['a one-byte change to its text', () => withField('text', (t) => `${t}.`)],
    ['a one-byte change to its blocks', () => withField('blocks', (b) => b.replace('crash-looping', 'crash-loopinG'))],
    ['another channel', () => withField('channel', () => 'C0GENERAL')],
    ['an "Approved by" naming someone else', () => withField('blocks', (b) => b.replace('Approved by U0ALICE', 'Approved by U0MALLORY'))],
    ['a second top-level post after the note', () => form({ channel: 'incidents', text: 'all clear' })],
  ])('%s → 403 plan mismatch, and nothing reaches Slack', async (_name, body) => {
    const id = await triage(approved);
    const sent = body();
    expect(sent).not.toBe(APPROVED_WRITES.note);
    const before = world.slack.requests.length;
    await expectDenied(() => post(id, sent), 'plan mismatch');
    expect(world.slack.requests.length).toBe(before);
  });

  test('the note after a rejection → 403 write without approval', async () => {
    const id = await triage({ ...approved, decision: { ...APPROVED_DECISION, decision: 'reject' } });
    await expectDenied(() => post(id, APPROVED_WRITES.note), 'write without approval');
  });

  test('a triage whose approved plan predates the note → 403 plan mismatch for any note, while its issue is still written', async () => {
    const older = { github: APPROVED_PLAN.github, slack: { text: 'summary' } } as unknown as WritePlan;
    const olderHash = hashPlan(older);
    const id = await triage({ ...approved, plan: older, planHash: olderHash, decision: { ...APPROVED_DECISION, planHash: olderHash } });
    await expectDenied(() => post(id, APPROVED_WRITES.note), 'plan mismatch');
    expect((await createIssue(id)).status).toBe(201);
  });
});
