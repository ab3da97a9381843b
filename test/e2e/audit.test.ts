// `triage audit` on a real run: the sandbox stack triages the scenario's
// incident, an approver clicks Approve in the sandbox Slack, the worker dies
// in the middle of the GitHub write and a new one retries it. Then every
// broker audit line of the triage must sit under the activity that made it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { AuditRecord } from '../../broker/audit.js';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startStack, type RunningStack } from '../../sandbox/stack.js';
import { incidentEnvelope, postSignedWebhook } from '../../sandbox/webhook.js';
import { auditCommand, runAudit, type AuditIo } from '../../cli/audit-command.js';
import { ACTIVITY_PROVIDERS } from '../../cli/audit-timeline.js';
import { queryStatus } from '../../starter/triage-client.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { triageWorkflowId, type TriageOutcome } from '../../workflows/messages.js';
import { SCENARIO_FILE } from '../workflows/harness.js';

let stack: RunningStack;
let client: Client;
let scenario: Scenario;
let dir: string;

const incidentId = () => scenario.pagerduty.incident.id;

function quietIo(): AuditIo & { outs: string[]; notes: string[] } {
  const outs: string[] = [];
  const notes: string[] = [];
  return { outs, notes, out: (t) => outs.push(t), note: (t) => notes.push(t) };
}

function auditLinesOf(triageId: string): AuditRecord[] {
  return readFileSync(stack.info.brokerAuditLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.triageId === triageId);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
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

beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, 'dist/workers/main.js'))) throw new Error('run `npm run build` first (make test does)');
  scenario = await loadScenario(SCENARIO_FILE);
  dir = mkdtempSync(join(tmpdir(), 'triage-audit-e2e-'));
  // A short write timeout: after the worker is killed mid-write, the retry comes within seconds.
  stack = await startStack({ dir, scenario: SCENARIO_FILE, writeTimeout: '4s' });
  client = new Client({
    connection: await Connection.connect({ address: stack.info.temporalAddress }),
    namespace: stack.info.temporalNamespace,
  });

  // PagerDuty pages; the triage runs to the approval card.
  const secret = readFileSync(stack.info.pagerdutyWebhookSecretFile, 'utf8');
  const res = await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, 'incident.triggered'), secret);
  expect(res.status).toBe(202);
  const card = await until('the approval card', async () => {
    const status = await queryStatus(client, incidentId());
    return status.stage === 'awaiting-decision' ? status.slackCard : undefined;
  });

  // GitHub stores the issue and holds its answer; the worker dies meanwhile, and a new one retries.
  await sandboxControl(stack.info.githubUrl, 'hold-after-create', { ms: 6000 });
  const click = await fetch(`${stack.info.slackUrl}/_sandbox/click`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: card.channelId, ts: card.ts, actionId: 'triage_approve', userId: stack.info.approvers[0] }),
  });
  expect(click.status).toBe(200);
  await until('the issue', async () => {
    const { issues } = (await (await fetch(`${stack.info.githubUrl}/_sandbox/issues`)).json()) as { issues: unknown[] };
    return issues.length === 1 ? true : undefined;
  });
  await stack.killWorker();
  await sandboxControl(stack.info.githubUrl, 'hold-after-create', { ms: 0 });
  await stack.startWorker();
  const outcome = (await client.workflow.getHandle(triageWorkflowId(incidentId())).result()) as TriageOutcome;
  expect(outcome.stage).toBe('approved');

  // What `make demo` does before it stops the stack.
  mkdirSync(join(dir, 'history'));
  writeFileSync(
    join(dir, 'history', `${triageWorkflowId(incidentId())}.json`),
    historyToJSON(await client.workflow.getHandle(triageWorkflowId(incidentId())).fetchHistory()),
  );
}, 180_000);

afterAll(async () => {
  await client?.connection.close();
  await stack?.stop();
});

describe('triage audit on a real triage', () => {
  test('every broker line of the triage is attributed to the activity that made it, retries included', async () => {
    const io = quietIo();
    const { timeline } = await runAudit(
      incidentId(),
      { config: stack.info.configFile, brokerAudit: [stack.info.brokerAuditLog], json: true },
      io,
    );
    expect(io.notes).toEqual([]);
    expect(JSON.parse(io.outs.join('\n'))).toMatchObject({
      workflowId: triageWorkflowId(incidentId()),
      historySource: { kind: 'temporal' },
    });

    const expected = auditLinesOf(triageWorkflowId(incidentId()));
    const broker = timeline.entries.filter((e) => e.source === 'broker');
    expect(broker).toHaveLength(expected.length);
    expect(timeline.counts).toMatchObject({ thisTriage: expected.length, unattributed: 0, malformed: 0 });
    expect(broker.filter((e) => e.unattributed).map((e) => `${e.what}: ${e.unattributed}`)).toEqual([]);
    for (const entry of broker) {
      const activity = entry.activity!.activityType as keyof typeof ACTIVITY_PROVIDERS;
      expect(`${entry.broker!.provider} by ${activity}`).toBe(`${ACTIVITY_PROVIDERS[activity]} by ${activity}`);
      expect(entry.match).toBe('window'); // one clock in the sandbox: no tolerance needed
    }

    // Each provider's calls come from the activities that call it.
    const callers = (provider: string) =>
      [...new Set(broker.filter((e) => e.broker!.provider === provider).map((e) => e.activity!.activityType))].sort();
    expect(callers('pagerduty')).toEqual(['collectPagerDutyEvidence', 'fetchIncident']);
    expect(callers('datadog')).toEqual(['collectDatadogEvidence']);
    expect(callers('github')).toEqual(['createGitHubIssue', 'linkIssueToNote']);
    expect(callers('slack')).toEqual(['closeApprovalCard', 'postApprovalCard', 'postIncidentNote']);

    // The write the dead worker started belongs to attempt 1; the retry's lookup to attempt 2.
    const writes = broker.filter((e) => e.activity!.activityType === 'createGitHubIssue');
    expect(writes.filter((e) => e.activity!.attempt === 1 && e.activity!.lastAttempt === 1).map((e) => e.broker!.method)).toEqual([
      'GET',
      'POST',
    ]);
    expect(writes.filter((e) => e.activity!.attempt === 2).map((e) => e.broker!.method)).toEqual(['GET']);

    // The timeline reads as the workflow ran: the decision, the activity summaries.
    const whats = timeline.entries.map((e) => e.what);
    expect(whats).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^update decide accepted: approve by ${stack.info.approvers[0]}`))]),
    );
    expect(whats).toEqual(expect.arrayContaining(['fetchIncident#1 scheduled — PagerDuty: fetch incident']));
    expect(whats.at(-1)).toMatch(/^workflow completed: approved, GitHub issue http/);
  });

  test('the command prints an aligned text timeline, broker lines indented under their activity', async () => {
    const printed: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((text: string) => void printed.push(text));
    try {
      await auditCommand().parseAsync([incidentId(), '--config', stack.info.configFile, '--broker-audit', stack.info.brokerAuditLog], {
        from: 'user',
      });
    } finally {
      log.mockRestore();
    }
    const text = printed.join('\n');
    expect(text).toMatch(/^TIME \(UTC\) {4}SOURCE {6}WHAT$/m);
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} {2}temporal {4}fetchIncident#1 started, attempt 1\n\d\d:\d\d:\d\d\.\d{3} {2}broker {8}↳ pagerduty GET \/incidents\/\w+ → 200 allowed · credential pagerduty-oauth:/m,
    );
    expect(text).toMatch(/broker {8}↳ \[attempt 2\] github GET \/repos\/[^ ]+\/issues → 200 allowed/);
    expect(text).not.toContain('UNATTRIBUTED');
    expect(text).toMatch(/\d+ broker lines of triage-\w+: \d+ attributed to an activity, 0 unattributed/);
    // Never a secret: the audit line holds none, and the timeline adds no header or body.
    for (const file of ['slack-bot-token', 'datadog-api-key', 'datadog-app-key', 'pagerduty-client-secret']) {
      expect(text).not.toContain(readFileSync(join(stack.info.secretDir, 'broker', file), 'utf8').trim());
    }
  });

  test('an unknown incident is a clear error', async () => {
    await expect(
      runAudit('QNOSUCH1', { config: stack.info.configFile, brokerAudit: [stack.info.brokerAuditLog] }, quietIo()),
    ).rejects.toThrow(
      `no triage for incident QNOSUCH1: workflow triage-QNOSUCH1 not found in namespace default at ${stack.info.temporalAddress}`,
    );
  });

  test('a missing audit file is a clear error', async () => {
    await expect(
      runAudit(incidentId(), { config: stack.info.configFile, brokerAudit: [join(dir, 'nope.jsonl')] }, quietIo()),
    ).rejects.toThrow(/broker audit log .*nope\.jsonl not found \(given with --broker-audit\)\. Pass --broker-audit <file>/);
  });

  test('after the stack stops: the exported history and the log beside it give the same timeline; Temporal unreachable is a clear error', async () => {
    const live = (await runAudit(incidentId(), { config: stack.info.configFile, brokerAudit: [stack.info.brokerAuditLog] }, quietIo()))
      .timeline;
    await client.connection.close();
    await stack.stop();

    const brokerConfig = process.env.BROKER_CONFIG;
    delete process.env.BROKER_CONFIG; // the defaults under test, not the caller's broker
    try {
      const exported = join(dir, 'history', `${triageWorkflowId(incidentId())}.json`);
      const report = await runAudit(incidentId(), { history: exported }, quietIo());
      expect(report.auditLogs).toEqual([stack.info.brokerAuditLog]); // found beside the export
      expect(report.timeline).toEqual(live);

      // As after `make demo`: no --history, Temporal gone, the stack's export used, and said so in one line.
      const io = quietIo();
      const fallback = await runAudit(incidentId(), { config: stack.info.configFile, sandboxStackDir: dir }, io);
      expect(io.notes).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Temporal at ${stack.info.temporalAddress.replace(/\./g, '\\.')} is unreachable; using the history the sandbox demo exported: .*${triageWorkflowId(incidentId())}\\.json$`,
          ),
        ),
      ]);
      expect(fallback.historySource).toEqual({ kind: 'file', path: exported });
      expect(fallback.timeline).toEqual(live);
    } finally {
      if (brokerConfig !== undefined) process.env.BROKER_CONFIG = brokerConfig;
    }

    await expect(runAudit('QNOSUCH1', { config: stack.info.configFile }, quietIo())).rejects.toThrow(
      new RegExp(
        `^cannot reach Temporal at ${stack.info.temporalAddress.replace(/\./g, '\\.')} .*--config <triage\\.yaml> or TEMPORAL_ADDRESS, or pass --history <file>`,
      ),
    );
  });
});
