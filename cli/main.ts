// `triage`: start, decide, inspect and replay triage workflows from a terminal.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { ConfigError, temporalSettingsFor } from '../config/config.js';
import { WORKFLOW_BUNDLE, WORKFLOWS_SOURCE } from '../config/paths.js';
import { PAGERDUTY_ID } from '../config/identifiers.js';
import { channelName, triageWorkflowId, viaChannel, workflowUiUrl, type DecisionChoice, type TriageStatus } from '../workflows/messages.js';
import { auditCommand } from './audit-command.js';
import { DoctorFailed, doctorCommand } from './doctor-command.js';
import { egressCommand } from './egress-command.js';
import { iamCommand } from './iam-command.js';
import {
  clientIdentity,
  decide,
  DecisionRefused,
  lazyClient,
  queryStatus,
  startTriage,
  type TemporalSettings,
} from '../starter/triage-client.js';

function incidentId(value: string): string {
  if (!PAGERDUTY_ID.test(value)) throw new UsageError(`invalid incident id "${value}": PagerDuty ids are 1-32 letters and digits`);
  return value;
}

class UsageError extends Error {}

interface Context {
  temporal: TemporalSettings;
  client: Client;
}

async function withClient<T>(program: Command, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const temporal = temporalSettingsFor(program.opts<{ config?: string }>().config);
  const client = lazyClient(temporal, { identity: clientIdentity.cli() });
  try {
    return await fn({ temporal, client });
  } finally {
    await client.connection.close();
  }
}

function printStatus(status: TriageStatus, temporal: TemporalSettings): void {
  const lines = [
    `${status.workflowId}: ${status.stage}`,
    status.incident
      ? `incident   #${status.incident.number} ${status.incident.title} (${status.incident.serviceName}, ${status.incident.urgency})`
      : undefined,
    status.headline ? `headline   ${status.headline}` : undefined,
    ...status.findings.map((f, i) => `finding ${i + 1}  [${f.severity}] ${f.title}`),
    ...status.surfaces.map((s) => `surface    ${s.surface}: ${s.status === 'ok' ? 'ok' : `unavailable: ${s.reason}`}`),
    status.planHash ? `plan       ${status.planHash}` : undefined,
    status.approvers.length ? `approvers  ${status.approvers.join(', ')}` : undefined,
    status.approvalChannels && !status.decision
      ? `decide via ${status.approvalChannels.map((c) => channelName(c) ?? c).join(', ')}`
      : undefined,
    status.expiresAt && !status.decision ? `expires    ${status.expiresAt}` : undefined,
    status.decision
      ? `decision   ${status.decision.decision} by ${status.decision.approver}${viaChannel(status.decision.channel)} at ${status.decision.at}${status.decision.comment ? ` (${status.decision.comment})` : ''}`
      : undefined,
    status.decision?.identity ? `sent by    Temporal client ${status.decision.identity}` : undefined,
    status.resolvedAt ? `resolved   ${status.resolvedAt}` : undefined,
    status.failure ? `failure    ${status.failure}` : undefined,
    status.githubIssue ? `issue      ${status.githubIssue.url} (${status.githubIssue.title})` : undefined,
    `web ui     ${workflowUiUrl(temporal, status.workflowId)}`,
  ];
  console.log(lines.filter((l) => l !== undefined).join('\n'));
}

function decisionCommand(program: Command, choice: DecisionChoice): Command {
  return new Command(choice)
    .description(`${choice} the triage's write plan (sends the decide Update; needs approval.channels to include cli)`)
    .argument('<incidentId>', 'PagerDuty incident id')
    .requiredOption('--as <approverId>', 'approver id, as listed in the service configuration')
    .option('--comment <text>', 'note recorded with the decision')
    .option('--plan-hash <sha256>', 'plan hash you reviewed (default: the current one, from status)')
    .action(async (id: string, opts: { as: string; comment?: string; planHash?: string }) => {
      await withClient(program, async ({ client }) => {
        const incident = incidentId(id);
        const planHash = opts.planHash ?? (await queryStatus(client, incident)).planHash;
        if (!planHash) throw new DecisionRefused('the triage has no plan yet; wait for the status to show awaiting-decision');
        const record = await decide(
          client,
          incident,
          { decision: choice, approver: opts.as, planHash, channel: 'cli', ...(opts.comment ? { comment: opts.comment } : {}) },
          `cli:${choice}:${opts.as}:${planHash}`,
        );
        console.log(
          `${record.decision === 'approve' ? 'approved' : 'rejected'} by ${record.approver}${viaChannel(record.channel)} at ${record.at} (plan ${record.planHash.slice(0, 12)})`,
        );
      });
    });
}

export function buildProgram(): Command {
  const program = new Command('triage')
    .description('keyless-triage: durable incident triage on Temporal')
    .addOption(new Option('--config <file>', 'worker configuration YAML (default: $TRIAGE_CONFIG, else .sandbox/triage.yaml)'))
    .showHelpAfterError();

  program
    .command('start')
    .description('start (or join) the triage of a PagerDuty incident')
    .argument('<incidentId>', 'PagerDuty incident id')
    .action(async (id: string) => {
      await withClient(program, async ({ client, temporal }) => {
        const result = await startTriage(client, temporal, {
          incidentId: incidentId(id),
          source: { kind: 'cli', user: userInfo().username },
        });
        console.log(`${result.workflowId}: ${result.status === 'started' ? 'triage running' : 'already triaged (finished)'}`);
        console.log(`web ui: ${workflowUiUrl(temporal, result.workflowId)}`);
      });
    });

  program.addCommand(decisionCommand(program, 'approve'));
  program.addCommand(decisionCommand(program, 'reject'));
  program.addCommand(auditCommand());
  program.addCommand(egressCommand());
  program.addCommand(iamCommand());
  program.addCommand(doctorCommand());

  program
    .command('status')
    .description("show a triage's stage, findings and decision")
    .argument('<incidentId>', 'PagerDuty incident id')
    .option('--json', 'print the status as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(program, async ({ client, temporal }) => {
        const status = await queryStatus(client, incidentId(id));
        if (opts.json) console.log(JSON.stringify(status, null, 2));
        else printStatus(status, temporal);
      });
    });

  program
    .command('history')
    .description("print a triage's event history as JSON (input for `triage replay`)")
    .argument('<incidentId>', 'PagerDuty incident id')
    .action(async (id: string) => {
      await withClient(program, async ({ client }) => {
        const history = await client.workflow.getHandle(triageWorkflowId(incidentId(id))).fetchHistory();
        console.log(historyToJSON(history));
      });
    });

  program
    .command('replay')
    .description('replay a recorded history against the current workflow code; fails on non-determinism')
    .argument('<file>', 'history JSON from `triage history` or `temporal workflow show --output json`')
    .action(async (file: string) => {
      const history: unknown = JSON.parse(await readFile(file, 'utf8'));
      Runtime.install({ logger: new DefaultLogger('WARN') });
      const bundle = existsSync(WORKFLOW_BUNDLE) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } } : { workflowsPath: WORKFLOWS_SOURCE };
      await Worker.runReplayHistory(bundle, history);
      console.log(`replayed ${file}: deterministic`);
    });

  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof DecisionRefused) console.error(`refused: ${err.message}`);
    else if (err instanceof UsageError || err instanceof ConfigError || err instanceof DoctorFailed) console.error(err.message);
    else console.error(`triage: ${(err as Error)?.message ?? String(err)}`);
    return 1;
  }
}
