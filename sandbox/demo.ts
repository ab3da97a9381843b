// `make demo`: the whole flow on the sandbox, start to finish, then tidy up.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Client, Connection } from '@temporalio/client';
import { triageWorkflowId, viaChannel, workflowUiUrl, type TriageOutcome, type TriageStatus } from '../workflows/messages.js';
import { queryStatus } from '../starter/triage-client.js';
import { loadScenario } from './scenario.js';
import { DEMO_DIR, sandboxHistoryExport } from '../config/paths.js';
import { scenarioPath } from './locations.js';
import { SANDBOX_NON_APPROVER, startStack, type RunningStack } from './stack.js';
import { incidentEnvelope, postSignedWebhook } from './webhook.js';
import { portIsFree } from './ports.js';

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

/** What the sandbox Slack page does on a click: the emulator signs a block_actions request and sends it to the gateway. */
async function click(slackUrl: string, card: { channelId: string; ts: string }, actionId: string, userId: string): Promise<number> {
  const res = await fetch(`${slackUrl}/_sandbox/click`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: card.channelId, ts: card.ts, actionId, userId }),
  });
  if (!res.ok) throw new Error(`sandbox Slack refused the click: ${res.status} ${await res.text()}`);
  const { status } = (await res.json()) as { status: number };
  return status;
}

interface SlackState {
  channels: { id: string; name: string; messages: { text: string; ts: string }[] }[];
  ephemerals?: Record<string, { text: string }[]>;
}

async function slackState(slackUrl: string): Promise<SlackState> {
  return (await (await fetch(`${slackUrl}/_sandbox/state`)).json()) as SlackState;
}

async function lastEphemeral(slackUrl: string, userId: string): Promise<string> {
  // The gateway answers through response_url after acknowledging; give it a moment.
  for (let i = 0; i < 50; i++) {
    const text = (await slackState(slackUrl)).ephemerals?.[userId]?.at(-1)?.text;
    if (text) return `"${text}"`;
    await new Promise((r) => setTimeout(r, 100));
  }
  return '(nothing)';
}

async function lastMessage(slackUrl: string, channel: string): Promise<string> {
  const found = (await slackState(slackUrl)).channels.find((c) => c.name === channel);
  return found?.messages.at(-1)?.text ?? '(nothing)';
}

/**
 * Stopping the stack stops Temporal, and its history with it: keep a copy
 * where `triage audit` looks when Temporal is unreachable. Best effort, so a
 * failed run leaves its history to audit too.
 */
async function exportHistory(client: Client, incidentId: string, stackDir: string): Promise<string | undefined> {
  const file = sandboxHistoryExport(triageWorkflowId(incidentId), stackDir);
  try {
    const history = await client.workflow.getHandle(triageWorkflowId(incidentId)).fetchHistory();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, historyToJSON(history) + '\n');
    return file;
  } catch (err) {
    say(`could not export the workflow history: ${(err as Error).message}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const scenarioFile = scenarioPath();
  const scenario = await loadScenario(scenarioFile);
  const incidentId = scenario.pagerduty.incident.id;
  const dir = DEMO_DIR;
  rmSync(dir, { recursive: true, force: true }); // a fresh Temporal database: the demo triages its incident anew each time

  say(`keyless-triage demo — scenario ${scenario.name}`);
  say('starting the sandbox: Temporal dev server, PagerDuty + Kubernetes + GitHub emulators, credential broker, worker, gateway …');
  const ports = { temporal: await preferred(7233), temporalUi: await preferred(8233), gateway: await preferred(8787) };
  let stack: RunningStack | undefined;
  let exported: string | undefined;
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

    const client = new Client({
      connection: await Connection.connect({ address: info.temporalAddress }),
      namespace: info.temporalNamespace,
    });
    const temporal = {
      address: info.temporalAddress,
      namespace: info.temporalNamespace,
      taskQueue: info.taskQueue,
      uiUrl: info.temporalUiUrl,
    };
    try {
      say();
      say('workflow progress:');
      // The stage turns to awaiting-decision just before the card is posted: wait for the post too (or its failure notice).
      const status = await waitForStage(
        client,
        incidentId,
        (s) => s.stage === 'awaiting-decision' && (s.slackCard !== undefined || (s.notices ?? []).some((n) => n.startsWith('Slack:'))),
      );

      say();
      say(`findings — ${status.headline}`);
      status.findings.forEach((f, i) => say(`  ${i + 1}. [${f.severity}] ${f.title}`));
      status.surfaces.forEach((s) => say(`  surface ${s.surface}: ${s.status === 'ok' ? 'ok' : `unavailable: ${s.reason}`}`));
      say(`  plan ${status.planHash}`);

      say();
      say(`approval card posted in #${info.slackChannels.approval}; sandbox Slack: ${info.slackPageUrl}`);
      const card = status.slackCard;
      if (!card) throw new Error(`the approval card was not posted: ${(status.notices ?? []).join('; ') || 'no reason recorded'}`);

      say(`${SANDBOX_NON_APPROVER} clicks Approve (a signed block_actions request, as Slack sends it) …`);
      const refused = await click(info.slackUrl, card, 'triage_approve', SANDBOX_NON_APPROVER);
      say(`  gateway answered ${refused}; ${SANDBOX_NON_APPROVER} sees: ${await lastEphemeral(info.slackUrl, SANDBOX_NON_APPROVER)}`);

      const approver = info.approvers[0]!;
      say(`${approver} clicks Approve and confirms …`);
      say(`  gateway answered ${await click(info.slackUrl, card, 'triage_approve', approver)}`);

      const outcome = (await client.workflow.getHandle(triageWorkflowId(incidentId)).result()) as TriageOutcome;
      say();
      say(
        `decision: ${outcome.stage} by ${outcome.decision?.approver}${viaChannel(outcome.decision?.channel)} at ${outcome.decision?.at} (plan ${outcome.planHash?.slice(0, 12)}), sent by Temporal client ${outcome.decision?.identity ?? '?'}`,
      );
      if (!outcome.githubIssue) throw new Error('the approved triage wrote no GitHub issue');
      say(`github:   ${outcome.githubIssue.url}`);
      say(`          "${outcome.githubIssue.title}" (created through the broker with the App's installation token)`);
      const audit = readFileSync(info.brokerAuditLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { caller?: string; status: number });
      const callers = [...new Set(audit.flatMap((a) => (a.caller ? [a.caller] : [])))];
      // The worker's start-up doctor calls once without its token, to see the broker turn it away.
      const tokenless = audit.filter((a) => a.status === 401).length;
      say(`broker:   ${audit.length} audited requests in ${info.brokerAuditLog}`);
      say(`          callers by token: ${callers.join(', ') || 'none'}; refused without a token: ${tokenless}`);
      say(`slack:    #${info.slackChannels.incidents}: ${await lastMessage(info.slackUrl, info.slackChannels.incidents)}`);
      say(`web ui:   ${workflowUiUrl(temporal, outcome.workflowId)}   (live while the stack runs: use \`make up\` to keep it)`);
    } finally {
      exported = await exportHistory(client, incidentId, dir);
      await client.connection.close();
    }
  } finally {
    say();
    if (exported) say(`history:  exported to ${relative(process.cwd(), exported)} (Temporal stops with the sandbox)`);
    say('stopping the sandbox …');
    await stack?.stop();
    if (exported) say(`next:     npx triage audit ${incidentId}   (the workflow history and the broker's audit lines, one timeline)`);
  }
  say('demo complete');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
