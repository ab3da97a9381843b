// `make demo`: the whole flow on the sandbox, start to finish, then tidy up.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../workers/paths.js';
import { triageWorkflowId, type TriageOutcome, type TriageStatus } from '../workflows/messages.js';
import { queryStatus, workflowUiUrl } from '../starter/triage-client.js';
import { loadScenario } from './scenario.js';
import { SANDBOX_DIR, scenarioPath } from './locations.js';
import { SANDBOX_NON_APPROVER, startStack, type RunningStack } from './stack.js';
import { incidentEnvelope, postSignedWebhook } from './webhook.js';
import { portIsFree } from './ports.js';

const run = promisify(execFile);
const say = (line = '') => console.log(line);

async function preferred(port: number): Promise<number | undefined> {
  return (await portIsFree(port)) ? port : undefined;
}

async function waitForStage(client: Client, incidentId: string, done: (s: TriageStatus) => boolean): Promise<TriageStatus> {
  let last = '';
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      const status = await queryStatus(client, incidentId);
      const line = `${status.stage}${status.surfaces.length ? ` (${status.surfaces.map((s) => `${s.surface}: ${s.status}`).join(', ')})` : ''}`;
      if (line !== last) say(`  … ${line}`);
      last = line;
      if (done(status)) return status;
    } catch {
      // the first workflow task may not have run yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`triage did not reach the expected stage within 90 s (last: ${last || 'no status'})`);
}

async function cli(configFile: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(PROJECT_ROOT, 'bin/triage.js'), '--config', configFile, ...args]);
    return { code: 0, out: (stdout + stderr).trim() };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

async function main(): Promise<void> {
  const scenarioFile = scenarioPath();
  const scenario = await loadScenario(scenarioFile);
  const incidentId = scenario.pagerduty.incident.id;
  const dir = join(SANDBOX_DIR, 'demo');
  rmSync(dir, { recursive: true, force: true }); // a fresh Temporal database: the demo triages its incident anew each time

  say(`keyless-triage demo — scenario ${scenario.name}`);
  say('starting the sandbox: Temporal dev server, PagerDuty + Kubernetes + GitHub emulators, credential broker, worker, gateway …');
  const ports = { temporal: await preferred(7233), temporalUi: await preferred(8233), gateway: await preferred(8787) };
  let stack: RunningStack | undefined;
  try {
    stack = await startStack({
      dir,
      scenario: scenarioFile,
      ports: Object.fromEntries(Object.entries(ports).filter(([, p]) => p !== undefined)),
    });
    const { info } = stack;
    say(`  Temporal ${info.temporalAddress}, Web UI ${info.temporalUiUrl}, gateway ${info.gatewayUrl}, broker ${info.brokerUrl}`);

    say();
    say(`PagerDuty → gateway: incident.triggered for ${incidentId} "${scenario.pagerduty.incident.title}" (signed v3 webhook)`);
    const secret = readFileSync(info.pagerdutyWebhookSecretFile, 'utf8');
    const response = await postSignedWebhook(info.gatewayUrl, incidentEnvelope(scenario, 'incident.triggered'), secret);
    say(`  gateway answered ${response.status} ${await response.text()}`);
    if (response.status !== 202) throw new Error('the gateway did not accept the webhook');

    const client = new Client({ connection: await Connection.connect({ address: info.temporalAddress }), namespace: info.temporalNamespace });
    const temporal = { address: info.temporalAddress, namespace: info.temporalNamespace, taskQueue: info.taskQueue, uiUrl: info.temporalUiUrl };
    try {
      say();
      say('workflow progress:');
      const status = await waitForStage(client, incidentId, (s) => s.stage === 'awaiting-decision');

      say();
      say(`findings — ${status.headline}`);
      status.findings.forEach((f, i) => say(`  ${i + 1}. [${f.severity}] ${f.title}`));
      status.surfaces.forEach((s) => say(`  surface ${s.surface}: ${s.status === 'ok' ? 'ok' : `unavailable: ${s.reason}`}`));
      say(`  plan ${status.planHash}`);

      say();
      say(`a non-approver tries first: triage approve ${incidentId} --as ${SANDBOX_NON_APPROVER}`);
      const refused = await cli(info.configFile, ['approve', incidentId, '--as', SANDBOX_NON_APPROVER]);
      say(`  exit ${refused.code}: ${refused.out}`);
      if (refused.code === 0) throw new Error('a non-approver was able to approve');

      const approver = info.approvers[0]!;
      say(`the on-call approver decides: triage approve ${incidentId} --as ${approver}`);
      const approved = await cli(info.configFile, ['approve', incidentId, '--as', approver, '--comment', 'matches the rollout; roll back']);
      say(`  exit ${approved.code}: ${approved.out}`);
      if (approved.code !== 0) throw new Error('approval failed');

      const outcome = (await client.workflow.getHandle(triageWorkflowId(incidentId)).result()) as TriageOutcome;
      say();
      say(`decision: ${outcome.stage} by ${outcome.decision?.approver} at ${outcome.decision?.at} (plan ${outcome.planHash?.slice(0, 12)})`);
      if (!outcome.githubIssue) throw new Error('the approved triage wrote no GitHub issue');
      say(`github:   ${outcome.githubIssue.url}`);
      say(`          "${outcome.githubIssue.title}" (created through the broker with the App's installation token)`);
      const audit = readFileSync(info.brokerAuditLog, 'utf8').trim().split('\n');
      say(`broker:   ${audit.length} audited requests in ${info.brokerAuditLog}`);
      say(`web ui:   ${workflowUiUrl(temporal, outcome.workflowId)}   (live while the stack runs: use \`make up\` to keep it)`);
    } finally {
      await client.connection.close();
    }
  } finally {
    say();
    say('stopping the sandbox …');
    await stack?.stop();
  }
  say('demo complete');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
