// `triage audit <incidentId>`: the triage's workflow history, the broker
// audit lines it caused and, from files the user exported, its CloudTrail
// records, apiserver audit events and flows, as one timeline. The history comes from Temporal,
// from `--history`, or — when Temporal is gone, as after `make demo` — from
// the export the sandbox leaves behind.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { BrokerConfigError, loadBrokerConfig } from '../broker/config.js';
import { DEMO_DIR, sandboxHistoryExport, STACK_FILE } from '../config/paths.js';
import { temporalSettingsFor } from '../config/config.js';
import { PAGERDUTY_ID } from '../config/identifiers.js';
import { triageWorkflowId } from '../workflows/messages.js';
import {
  buildAuditTimeline,
  describeActivity,
  mergeAuditLogs,
  parseAuditLog,
  type AuditTimeline,
  type ParsedAuditLog,
  type TimelineEntry,
} from './audit-timeline.js';
import { clientIdentity, lazyClient, type TemporalSettings } from '../starter/triage-client.js';
import { SourceFormatError } from './audit-sources/external-line.js';
import { readSource, type ReadSource, type SourceOption } from './audit-sources/read-source.js';

const STDIN = '-';
/** How long Temporal may take to answer at all before it counts as unreachable. */
const REACH_TIMEOUT_MS = 3000;
const FETCH_TIMEOUT_MS = 60_000;

export class AuditError extends Error {
  override name = 'AuditError';
}

export interface AuditOptions {
  config?: string;
  brokerAudit?: string[];
  history?: string;
  json?: boolean;
  clockSkew?: number;
  /** Exported files of the other streams: CloudTrail (S3 delivery or lookup-events), apiserver audit logs, Calico or Hubble flows. */
  cloudtrail?: string[];
  kubeAudit?: string[];
  flows?: string[];
  /** The stack directory whose history export is the fallback (default: the demo's, .sandbox/demo). */
  sandboxStackDir?: string;
}

export interface AuditIo {
  out(text: string): void;
  /** One-line notices (a fallback taken); kept off stdout so `--json` stays parseable. */
  note(text: string): void;
}

const consoleIo: AuditIo = { out: (t) => console.log(t), note: (t) => console.error(t) };

type HistorySource = { kind: 'temporal'; address: string; namespace: string } | { kind: 'file'; path: string };

export interface AuditReport {
  timeline: AuditTimeline;
  historySource: HistorySource;
  auditLogs: string[];
  /** The exported files read, in the order given. */
  sources: (Omit<ReadSource, 'lines'> & { records: number })[];
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditError(code === 'ENOENT' ? `${what} ${path} not found` : `cannot read ${what} ${path} (${code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AuditError(`${what} ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** gRPC's messages name its internals ("waiting for metadata filters"); say what happened instead. */
function unreachableReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(message)) return 'connection refused';
  if (/DEADLINE_EXCEEDED|deadline/i.test(message)) return `no answer within ${REACH_TIMEOUT_MS / 1000} s`;
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return 'the host name does not resolve';
  return message.split('\n')[0]!;
}

type Fetched = { history: unknown } | { unreachable: string } | { notFound: string };

async function fetchFromTemporal(temporal: TemporalSettings, workflowId: string): Promise<Fetched> {
  const client = lazyClient(temporal, { identity: clientIdentity.cli() });
  try {
    try {
      await client.connection.withDeadline(Date.now() + REACH_TIMEOUT_MS, () => client.connection.workflowService.getSystemInfo({}));
    } catch (err) {
      return { unreachable: unreachableReason(err) };
    }
    try {
      const history = await client.connection.withDeadline(Date.now() + FETCH_TIMEOUT_MS, () =>
        client.workflow.getHandle(workflowId).fetchHistory(),
      );
      return { history };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { notFound: err.message };
      if (isGrpcServiceError(err)) {
        // 5 NOT_FOUND: no such workflow (or namespace); 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED: Temporal went away.
        if (err.code === 5) return { notFound: err.details || err.message };
        if (err.code === 14 || err.code === 4) return { unreachable: unreachableReason(err) };
      }
      throw err;
    }
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}

async function loadHistory(incidentId: string, opts: AuditOptions, io: AuditIo): Promise<{ history: unknown; source: HistorySource }> {
  if (opts.history) {
    const path = resolve(opts.history);
    return { history: readJsonFile(path, 'history file'), source: { kind: 'file', path } };
  }
  const temporal = temporalSettingsFor(opts.config);
  const workflowId = triageWorkflowId(incidentId);
  const fetched = await fetchFromTemporal(temporal, workflowId);
  if ('history' in fetched)
    return { history: fetched.history, source: { kind: 'temporal', address: temporal.address, namespace: temporal.namespace } };

  const exported = sandboxHistoryExport(triageWorkflowId(incidentId), opts.sandboxStackDir);
  if (existsSync(exported)) {
    const why =
      'unreachable' in fetched
        ? `Temporal at ${temporal.address} is unreachable`
        : `${workflowId} is not in Temporal at ${temporal.address}`;
    io.note(`${why}; using the history the sandbox demo exported: ${displayPath(exported)}`);
    return { history: readJsonFile(exported, 'history file'), source: { kind: 'file', path: exported } };
  }
  if ('unreachable' in fetched) {
    throw new AuditError(
      `cannot reach Temporal at ${temporal.address} (${fetched.unreachable}). ` +
        'Point the CLI at the right server with --config <triage.yaml> or TEMPORAL_ADDRESS, ' +
        `or pass --history <file> (from \`triage history ${incidentId}\` or \`temporal workflow show -w ${workflowId} --output json\`).`,
    );
  }
  throw new AuditError(
    `no triage for incident ${incidentId}: workflow ${workflowId} not found in namespace ${temporal.namespace} at ${temporal.address} (${fetched.notFound})`,
  );
}

/** The audit logs to read, and why those: explicit files, the broker's config, then the sandbox's. */
function auditLogFiles(opts: AuditOptions, source: HistorySource): { files: string[]; why: string } {
  if (opts.brokerAudit?.length)
    return { files: opts.brokerAudit.map((f) => (f === STDIN ? f : resolve(f))), why: 'given with --broker-audit' };
  if (process.env.BROKER_CONFIG) {
    try {
      return {
        files: [loadBrokerConfig(process.env.BROKER_CONFIG).auditLog],
        why: `the auditLog of BROKER_CONFIG (${process.env.BROKER_CONFIG})`,
      };
    } catch (err) {
      if (err instanceof BrokerConfigError)
        throw new AuditError(`${err.message}\n(pass --broker-audit <file> to name the audit log instead)`);
      throw err;
    }
  }
  if (source.kind === 'file') {
    // An export under <stack dir>/history/ sits next to that stack's logs.
    const beside = join(dirname(dirname(source.path)), 'logs', 'broker-audit.jsonl');
    if (existsSync(beside)) return { files: [beside], why: 'the log of the sandbox run that exported the history' };
  }
  if (source.kind === 'temporal' && existsSync(STACK_FILE)) {
    try {
      const stack = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as { brokerAuditLog?: unknown };
      if (typeof stack.brokerAuditLog === 'string')
        return { files: [stack.brokerAuditLog], why: `the broker of the sandbox stack (${displayPath(STACK_FILE)})` };
    } catch {
      // an unreadable stack file: fall through to the demo's log
    }
  }
  return { files: [join(DEMO_DIR, 'logs', 'broker-audit.jsonl')], why: "the sandbox demo's broker" };
}

function readAuditLogs(files: string[], why: string): ParsedAuditLog {
  return mergeAuditLogs(
    files.map((file) => {
      let text: string;
      try {
        // `-`: standard input, e.g. `kubectl logs <pod> -c broker | triage audit <id> --broker-audit -`.
        text = readFileSync(file === STDIN ? 0 : file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new AuditError(
          `broker audit log ${file} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? 'error'})`} (${why}). ` +
            "Pass --broker-audit <file> (the broker's auditLog setting; repeat it for rotated files) or set BROKER_CONFIG.",
        );
      }
      return parseAuditLog(text, file === STDIN ? 'stdin' : displayPath(file));
    }),
  );
}

/** The exported files, read before Temporal is asked: a file that cannot be read is an error naming it (and the line). */
function readSources(opts: AuditOptions): ReadSource[] {
  const given: [SourceOption, string[] | undefined][] = [
    ['cloudtrail', opts.cloudtrail],
    ['kube-audit', opts.kubeAudit],
    ['flows', opts.flows],
  ];
  try {
    return given.flatMap(([option, files]) => (files ?? []).map((f) => readSource(option, resolve(f), displayPath(resolve(f)))));
  } catch (err) {
    if (err instanceof SourceFormatError) throw new AuditError(`cannot read ${err.message}`);
    throw err;
  }
}

/** Builds the timeline; prints it unless told otherwise. */
export async function runAudit(incidentIdArg: string, opts: AuditOptions = {}, io: AuditIo = consoleIo): Promise<AuditReport> {
  if (!PAGERDUTY_ID.test(incidentIdArg))
    throw new AuditError(`invalid incident id "${incidentIdArg}": PagerDuty ids are 1-32 letters and digits`);
  // Files named on the command line are read first: a typo should not wait for Temporal.
  const given = opts.brokerAudit?.length ? auditLogFiles(opts, { kind: 'file', path: '' }) : undefined;
  const givenAudit = given ? readAuditLogs(given.files, given.why) : undefined;
  const sources = readSources(opts);
  const { history, source } = await loadHistory(incidentIdArg, opts, io);
  const { files, why } = given ?? auditLogFiles(opts, source);
  const audit = givenAudit ?? readAuditLogs(files, why);
  let timeline: AuditTimeline;
  try {
    timeline = buildAuditTimeline(history, audit, {
      workflowId: triageWorkflowId(incidentIdArg),
      ...(opts.clockSkew !== undefined ? { clockSkewMs: opts.clockSkew } : {}),
      external: sources.flatMap((s) => s.lines),
    });
  } catch (err) {
    const from = source.kind === 'file' ? source.path : `Temporal at ${source.address}`;
    throw new AuditError(`cannot read the history from ${from}: ${(err as Error).message}`);
  }
  const read = sources.map(({ lines, ...rest }) => ({ ...rest, records: lines.length }));
  const report: AuditReport = { timeline, historySource: source, auditLogs: files, sources: read };
  io.out(
    opts.json ? JSON.stringify({ ...timeline, historySource: source, auditLogs: files, sources: read }, null, 2) : formatTimeline(report),
  );
  return report;
}

// ---------------------------------------------------------------- text

/** Wide enough for every source name (`cloudtrail`, `kube-audit`). */
const SOURCE_WIDTH = 10;

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function clock(iso: string): { day: string; time: string } {
  const d = new Date(Date.parse(iso));
  if (Number.isNaN(d.getTime())) return { day: '?', time: iso };
  const text = d.toISOString();
  return { day: text.slice(0, 10), time: text.slice(11, 23) };
}

function brokerDetail(entry: TimelineEntry): string {
  const b = entry.broker!;
  const parts = [entry.what];
  if (b.credentialId) parts.push(`credential ${b.credentialId}`);
  parts.push(`${b.durationMs} ms`);
  return parts.join(' · ');
}

/** Why an exported line sits where it does, when the triage id does not say so itself. */
const PLACED_BY = { 'user-agent': '', session: '(by session) ', pod: '(by pod and time) ' } as const;

function entryText(entry: TimelineEntry): string {
  if (entry.source === 'temporal') return entry.what;
  const detail = entry.broker ? brokerDetail(entry) : entry.what;
  if (entry.unattributed) return `! UNATTRIBUTED ${detail} — ${entry.unattributed}`;
  const ref = entry.activity!;
  const attempt = ref.lastAttempt !== undefined || ref.attempt > 1 ? `[${describeActivity(ref).split(' ').slice(1).join(' ')}] ` : '';
  const skew = entry.match === 'clock-skew' ? '(within clock skew) ' : '';
  const by = entry.external?.by ? PLACED_BY[entry.external.by] : '';
  return `  ↳ ${attempt}${skew}${by}${detail}`;
}

const SOURCE_LABEL = { cloudtrail: 'CloudTrail', 'kube-audit': 'apiserver audit', calico: 'Calico flows', hubble: 'Hubble flows' } as const;

export function formatTimeline(report: AuditReport): string {
  const { timeline: t, historySource, auditLogs } = report;
  const c = t.counts;
  const lines: string[] = [];
  lines.push(`${t.workflowId}${t.runId ? `  (run ${t.runId})` : ''}`);
  lines.push(
    `history  ${historySource.kind === 'temporal' ? `Temporal ${historySource.address}, namespace ${historySource.namespace}` : displayPath(historySource.path)}: ${c.historyEvents} events`,
  );
  lines.push(
    `broker   ${auditLogs.map((f) => (f === STDIN ? 'stdin' : displayPath(f))).join(', ')}: ${c.auditLines} audit lines — ${c.thisTriage} of this triage, ${c.otherTriages} of others, ${c.malformed} malformed` +
      (c.otherLogLines ? ` (and ${c.otherLogLines} lines of the broker's own log, skipped)` : ''),
  );
  for (const s of report.sources) {
    lines.push(
      `${s.format.padEnd(SOURCE_WIDTH)}  ${s.file} (${SOURCE_LABEL[s.format]}): ${s.records} record${s.records === 1 ? '' : 's'}` +
        (s.repeats ? ` (and ${s.repeats} repeating another, skipped)` : ''),
    );
  }
  lines.push('');
  const header = ['TIME (UTC)'.padEnd(12), 'SOURCE'.padEnd(SOURCE_WIDTH), 'WHAT'];
  lines.push(header.join('  '));
  let day = '';
  for (const entry of t.entries) {
    const at = clock(entry.at);
    if (at.day !== day) {
      day = at.day;
      lines.push(`── ${day}`);
    }
    lines.push([at.time.padEnd(12), entry.source.padEnd(SOURCE_WIDTH), entryText(entry)].join('  '));
  }
  lines.push('');
  lines.push(
    `${c.thisTriage} broker line${c.thisTriage === 1 ? '' : 's'} of ${t.workflowId}: ${c.attributed} attributed to an activity, ${c.unattributed} unattributed` +
      (c.unattributed ? ' (marked !)' : ''),
  );
  if (c.otherTriages)
    lines.push(`${c.otherTriages} line${c.otherTriages === 1 ? '' : 's'} of other triages (or with no triage id) ignored`);
  for (const [source, n] of Object.entries(c.external)) {
    lines.push(
      `${n.lines} line${n.lines === 1 ? '' : 's'} from ${SOURCE_LABEL[source as keyof typeof SOURCE_LABEL]}: ${n.attributed} attributed, ${n.unattributed} unattributed` +
        (n.unattributed ? ' (marked !)' : '') +
        `, ${n.otherTriages} of other triages, ${n.outsideSpan} outside the triage`,
    );
  }
  if (c.malformed) {
    const shown = t.malformed.slice(0, 5).map((m) => `${m.source}:${m.line} (${m.reason})`);
    lines.push(
      `${c.malformed} malformed line${c.malformed === 1 ? '' : 's'} skipped: ${shown.join('; ')}${c.malformed > shown.length ? '; …' : ''}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- command

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 60_000)
    throw new InvalidArgumentError(`--clock-skew must be a whole number of milliseconds (0–60000), got "${value}"`);
  return n;
}

export function auditCommand(): Command {
  return new Command('audit')
    .description(
      "one timeline of a triage: its workflow history, the broker's audit lines and the CloudTrail, apiserver audit and flow records you exported, each under the activity that caused it",
    )
    .argument('<incidentId>', 'PagerDuty incident id')
    .addOption(
      new Option(
        '--config <file>',
        'worker configuration YAML, for the Temporal address (default: $TRIAGE_CONFIG, else .sandbox/triage.yaml)',
      ),
    )
    .addOption(
      new Option(
        '--broker-audit <file>',
        "broker audit JSONL, or its container log; - reads stdin; repeat for rotated files or replicas (default: BROKER_CONFIG's auditLog, else the sandbox's)",
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option('--history <file>', 'history JSON instead of asking Temporal (`triage history`, `temporal workflow show --output json`)'),
    )
    .addOption(
      new Option('--clock-skew <ms>', 'how far outside an attempt a request may start and still be attributed to it').argParser(
        milliseconds,
      ),
    )
    .addOption(
      new Option(
        '--cloudtrail <file>',
        "CloudTrail records: a trail's S3 delivery (.json or .json.gz) or `aws cloudtrail lookup-events` output; repeatable",
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option('--kube-audit <file>', 'apiserver audit log (audit.k8s.io/v1 events, one per line); repeatable')
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option('--flows <file>', 'Calico flow logs or `hubble observe -o json` output, one per line; repeatable')
        .argParser(collect)
        .default([]),
    )
    .option('--json', 'print the timeline as JSON')
    .action(async function (this: Command, id: string) {
      // --config may be given to the program (`triage --config f audit …`) or to this command.
      const opts = this.optsWithGlobals<AuditOptions>();
      await runAudit(id, opts);
    });
}
