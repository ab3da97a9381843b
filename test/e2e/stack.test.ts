// End to end: the same processes `make up` starts (Temporal dev server,
// emulators, worker, gateway), driven by signed webhooks and the `triage` CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { freePort } from '../../sandbox/ports.js';
import { startStack, type RunningStack } from '../../sandbox/stack.js';
import { incidentEnvelope, postSignedWebhook } from '../../sandbox/webhook.js';
import { createGatewayApp } from '../../starter/gateway.js';
import { silentLogger } from '../../config/logger.js';
import { signPagerDutyBody } from '../../starter/pagerduty-signature.js';
import { queryStatus, triageClient } from '../../starter/triage-client.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { triageWorkflowId, type TriageOutcome } from '../../workflows/messages.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { SCENARIO_FILE } from '../workflows/harness.js';

const exec = promisify(execFile);

let stack: RunningStack;
let client: Client;
let scenario: Scenario;
let secret: string;

async function triage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [
      join(PROJECT_ROOT, 'bin/triage.js'),
      '--config',
      stack.info.configFile,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function executions(incidentId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${triageWorkflowId(incidentId)}'` })) n += 1;
  return n;
}

async function waitForStage(incidentId: string, stage: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await queryStatus(client, incidentId)).stage === stage) return;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${incidentId} did not reach ${stage}`);
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sandboxControl(base: string, what: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}/_sandbox/${what}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox control ${what}: ${res.status}`);
}

async function slackClick(
  card: { channelId: string; ts: string },
  userId: string,
  extra: Record<string, unknown>,
): Promise<{ status: number }> {
  const res = await fetch(`${stack.info.slackUrl}/_sandbox/click`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: card.channelId, ts: card.ts, actionId: 'triage_approve', userId, ...extra }),
  });
  return { status: res.status };
}

async function githubIssues(): Promise<{ number: number; html_url: string; title: string }[]> {
  const { issues } = (await (await fetch(`${stack.info.githubUrl}/_sandbox/issues`)).json()) as {
    issues: { issue: { number: number; html_url: string; title: string } }[];
  };
  return issues.map((i) => i.issue);
}

/** Every credential the sandbox generated or the emulators issued, PEM keys line by line. */
async function collectSandboxSecrets(): Promise<{ name: string; value: string }[]> {
  const found: { name: string; value: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const text = readFileSync(path, 'utf8').trim();
        const parts = text.includes('-----BEGIN') ? text.split('\n').filter((l) => !l.startsWith('-----') && l.length >= 16) : [text];
        parts.forEach((value) => found.push({ name: entry.name, value }));
      }
    }
  };
  walk(stack.info.secretDir);
  for (const [name, base] of [
    ['github token', stack.info.githubUrl],
    ['pagerduty token', stack.info.pagerdutyUrl],
  ] as const) {
    const { tokens } = (await (await fetch(`${base}/_sandbox/issued-tokens`)).json()) as { tokens: string[] };
    tokens.forEach((value) => found.push({ name, value }));
  }
  return found;
}

beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, 'dist/workers/main.js'))) throw new Error('run `npm run build` first (make test does)');
  scenario = await loadScenario(SCENARIO_FILE);
  // A short write timeout: after the worker is killed mid-write, the retry comes within seconds.
  stack = await startStack({ dir: mkdtempSync(join(tmpdir(), 'triage-e2e-')), scenario: SCENARIO_FILE, writeTimeout: '4s' });
  secret = readFileSync(stack.info.pagerdutyWebhookSecretFile, 'utf8');
  client = new Client({
    connection: await Connection.connect({ address: stack.info.temporalAddress }),
    namespace: stack.info.temporalNamespace,
  });
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  await stack?.stop(); // idempotent: the last test already stopped it
});

describe('the running stack', () => {
  const incidentId = () => scenario.pagerduty.incident.id;

  test('health and readiness', async () => {
    expect((await fetch(`${stack.info.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.info.gatewayUrl}/readyz`)).status).toBe(200);
  });

  test('a webhook with a wrong signature gets 401 and starts nothing', async () => {
    const res = await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, 'incident.triggered'), 'not-the-secret');
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain(secret);
    expect(await executions(incidentId())).toBe(0);
  });

  test('the same valid webhook posted 20 times concurrently yields one execution', async () => {
    const body = incidentEnvelope(scenario, 'incident.triggered', 'evt-dup');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => postSignedWebhook(stack.info.gatewayUrl, body, secret, 'delivery-1')),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(await executions(incidentId())).toBe(1);
  });

  test('the CLI is refused where only Slack may decide (the default); Slack clicks are verified; ten deliveries of a click decide once; a worker killed mid-write leaves one issue', async () => {
    await waitForStage(incidentId(), 'awaiting-decision');
    const refused = await triage('approve', incidentId(), '--as', stack.info.approvers[0]!);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      `refused: CLI approvals are disabled for service ${scenario.pagerduty.incident.service.summary}: set approval.channels: [slack, cli]`,
    );
    const history = await client.workflow.getHandle(triageWorkflowId(incidentId())).fetchHistory();
    expect(
      (history.events ?? []).some(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateAdmittedEventAttributes,
      ),
    ).toBe(false);

    const status = await triage('status', incidentId(), '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ stage: 'awaiting-decision', approvers: stack.info.approvers });

    // Slack clicks the gateway must refuse: forged, replayed (older than 5 minutes), from the future.
    // The card is posted right after the stage turns to awaiting-decision.
    let slackCard: Awaited<ReturnType<typeof queryStatus>>['slackCard'];
    await until(async () => (slackCard = (await queryStatus(client, incidentId())).slackCard) !== undefined);
    const click = (userId: string, extra: Record<string, unknown> = {}) => slackClick(slackCard!, userId, extra);
    expect((await click(stack.info.approvers[0]!, { badSignature: true })).status).toBe(401);
    expect((await click(stack.info.approvers[0]!, { timestampOffsetSeconds: -360 })).status).toBe(401);
    expect((await click(stack.info.approvers[0]!, { timestampOffsetSeconds: 300 })).status).toBe(401);
    expect((await queryStatus(client, incidentId())).stage).toBe('awaiting-decision');

    // GitHub stores the issue, then holds its answer: the worker dies between
    // the write and its completion, and a new worker retries the activity.
    await sandboxControl(stack.info.githubUrl, 'hold-after-create', { ms: 6000 });
    // Ten concurrent deliveries of the approver's click decide once.
    const clicks = await Promise.all(Array.from({ length: 10 }, () => click(stack.info.approvers[0]!)));
    expect(clicks.map((c) => c.status)).toEqual(Array(10).fill(200));
    await until(async () => (await queryStatus(client, incidentId())).decision !== undefined);
    const accepted = ((await client.workflow.getHandle(triageWorkflowId(incidentId())).fetchHistory()).events ?? []).filter(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes,
    );
    expect(accepted).toHaveLength(1);
    // The gateway names the channel and itself; the history's accepted event carries the same identity.
    const decision = (await queryStatus(client, incidentId())).decision;
    expect(decision).toMatchObject({
      approver: stack.info.approvers[0],
      channel: 'slack',
      identity: expect.stringMatching(/^keyless-triage-gateway@/),
    });
    expect(accepted[0]!.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.meta!.identity).toBe(decision!.identity);
    const late = await triage('approve', incidentId(), '--as', stack.info.approvers[1]!);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/refused: already decided: approve by U0ALICE/);
    await until(async () => (await githubIssues()).length === 1);
    await stack.killWorker();
    await sandboxControl(stack.info.githubUrl, 'hold-after-create', { ms: 0 });
    await stack.startWorker();

    const outcome = (await client.workflow.getHandle(triageWorkflowId(incidentId())).result()) as TriageOutcome;
    const issues = await githubIssues();
    expect(issues).toHaveLength(1);
    expect(outcome.githubIssue).toMatchObject({ number: issues[0]!.number, url: issues[0]!.html_url });
    expect(issues[0]!.title).toContain(scenario.pagerduty.incident.title);
    const finalHistory = await client.workflow.getHandle(triageWorkflowId(incidentId())).fetchHistory();
    const githubStarted = (finalHistory.events ?? []).find(
      (e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1,
    );
    expect(githubStarted).toBeDefined(); // the write really was retried
    expect((await triage('status', incidentId())).stdout).toMatch(/issue +http/);
  });

  test('no secret the sandbox generated is in the worker: environment, configuration, history, logs', async () => {
    const secrets = await collectSandboxSecrets();
    expect(secrets.length).toBeGreaterThan(5);
    const places: [string, string][] = [
      ['worker environment', readFileSync(`/proc/${stack.info.pids.worker}/environ`, 'utf8')],
      ['worker configuration', readFileSync(stack.info.configFile, 'utf8')],
      ['kubeconfig', readFileSync(join(stack.info.configFile, '..', 'kubeconfig.yaml'), 'utf8')],
      ['worker log', readFileSync(join(stack.info.logDir, 'worker.log'), 'utf8')],
      ['broker audit log', readFileSync(stack.info.brokerAuditLog, 'utf8')],
      ['broker log', readFileSync(join(stack.info.logDir, 'broker.log'), 'utf8')],
    ];
    for await (const execution of client.workflow.list()) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      places.push([`history of ${execution.workflowId}`, historyToJSON(history)]);
    }
    const leaks = places.flatMap(([where, text]) => secrets.filter((s) => text.includes(s.value)).map((s) => `${s.name} in ${where}`));
    expect(leaks).toEqual([]);
  });

  test('the broker refuses a caller without the worker token, and a route outside its policy, and audits both', async () => {
    const path = `${stack.info.brokerUrl}/github/repos/someone-else/secrets/issues`;
    const anonymous = await fetch(path, { headers: { 'x-triage-id': 'triage-e2e-anonymous' } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'denied', reason: 'no caller token' });
    const token = readFileSync(stack.info.brokerCallerTokenFile, 'utf8');
    const res = await fetch(path, { headers: { 'x-triage-id': 'triage-e2e-probe', 'proxy-authorization': `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'denied' });
    const readAudit = () =>
      readFileSync(stack.info.brokerAuditLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await until(async () => readAudit().at(-1)?.triageId === 'triage-e2e-probe'); // appended after the response
    const audit = readAudit();
    expect(audit.at(-1)).toMatchObject({
      provider: 'github',
      method: 'GET',
      decision: 'denied',
      triageId: 'triage-e2e-probe',
      caller: 'system:serviceaccount:keyless-triage:keyless-triage-worker',
    });
    expect(audit.find((a) => a.triageId === 'triage-e2e-anonymous')).toMatchObject({ status: 401, reason: 'no caller token' });
    // Every call the worker made for the triage is in the audit log, joined by the triage id.
    const forTriage = audit.filter((a) => a.triageId === triageWorkflowId(incidentId()));
    expect(forTriage.map((a) => `${a.provider} ${a.method}`)).toEqual(
      expect.arrayContaining(['pagerduty GET', 'github GET', 'github POST']),
    );
  });

  test('the history the CLI prints replays against the current code', async () => {
    const history = await triage('history', incidentId());
    expect(history.code).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), 'triage-history-')), 'history.json');
    writeFileSync(file, history.stdout);
    const replay = await triage('replay', file);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
  });

  test('a redelivered trigger after the triage finished is acknowledged, not run again', async () => {
    const res = await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, 'incident.reopened'), secret);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'already-triaged' });
    expect(await executions(incidentId())).toBe(1);
  });

  test('incident.resolved and pagey.ping are acknowledged', async () => {
    for (const type of ['incident.resolved', 'pagey.ping'] as const) {
      const res = await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, type), secret);
      expect(res.status).toBe(202);
    }
  });
});

describe('stopping the stack', () => {
  test('SIGTERM shuts the worker and the gateway down gracefully', async () => {
    await stack.stop();
    expect(readFileSync(join(stack.info.logDir, 'worker.log'), 'utf8')).toMatch(/"msg":"worker stopped"/);
    expect(readFileSync(join(stack.info.logDir, 'gateway.log'), 'utf8')).toMatch(/"msg":"gateway stopping"/);
    for (const pid of Object.values(stack.info.pids)) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('a gateway whose Temporal is unreachable', () => {
  test('answers 503 so PagerDuty redelivers, and readyz says not ready', async () => {
    const closedPort = await freePort();
    const temporal = { address: `127.0.0.1:${closedPort}`, namespace: 'default', taskQueue: 'x', uiUrl: 'http://127.0.0.1:8233' };
    // As lazyClient builds it, minus the SDK's gRPC retries: a retry still pending
    // after this test closes the connection would throw from a timer and crash the run.
    const temporalClient = new Client({
      connection: Connection.lazy({ address: temporal.address, interceptors: [] }),
      namespace: temporal.namespace,
    });
    const app = createGatewayApp({ secrets: () => ['s3cret'], triage: triageClient(temporalClient, temporal), logger: silentLogger });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const body = incidentEnvelope(scenario, 'incident.triggered');
      const res = await fetch(`${url}/webhooks/pagerduty`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pagerduty-signature': signPagerDutyBody(body, 's3cret') },
        body,
      });
      expect(res.status).toBe(503);
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
    } finally {
      server.close();
      await temporalClient.connection.close().catch(() => undefined);
    }
  });
});
