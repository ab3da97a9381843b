// One timeline of a triage from two of its audit streams: the workflow
// history (what the workflow decided and ran, with each activity's summary)
// and the broker's JSONL audit log (every SaaS request the activities made,
// with the credential it used). Pure: the command reads the files and asks
// Temporal; this module only reads values.
//
// A broker line names its triage (`triageId`, the workflow id) but not the
// activity that sent it. It is attributed by two facts the history does hold:
// which activity attempt was running when the request started, and which
// provider that activity type calls. A line neither fact pins down is
// reported as unattributed, never guessed.
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { z } from 'zod';
import type { TriageActivities } from '../activities/index.js';
import { DECIDE_UPDATE } from '../config/identifiers.js';
import { boundedLine } from '../config/printable-text.js';
import type { AuditRecord } from '../broker/audit.js';
import type { ProviderName } from '../broker/config.js';
import { attributeExternal, type By } from './audit-sources/attribution.js';
import type { ExternalLine, ExternalSource } from './audit-sources/external-line.js';

// Summaries, titles and failure messages may hold untrusted text: one bounded line each.
const LINE_CHARS = 300;

/**
 * The provider each activity calls through the broker; null for activities
 * that call none (Kubernetes and AWS are called directly, with the triage id
 * in their User-Agent). Keyed by every activity the worker registers, so a new
 * activity does not compile until it is placed here.
 */
export const ACTIVITY_PROVIDERS = {
  fetchIncident: 'pagerduty',
  collectPagerDutyEvidence: 'pagerduty',
  collectKubernetesEvidence: null,
  collectCloudWatchEvidence: null,
  collectDatadogEvidence: 'datadog',
  resolveScope: null,
  diagnose: null,
  createGitHubIssue: 'github',
  linkIssueToNote: 'github',
  postApprovalCard: 'slack',
  postApprovalReminder: 'slack',
  closeApprovalCard: 'slack',
  postIncidentNote: 'slack',
} as const satisfies Record<keyof TriageActivities, ProviderName | null>;

export function providerOf(activityType: string): ProviderName | null {
  return Object.hasOwn(ACTIVITY_PROVIDERS, activityType) ? ACTIVITY_PROVIDERS[activityType as keyof typeof ACTIVITY_PROVIDERS] : null;
}

// ---------------------------------------------------------------- audit lines

/**
 * What a line must hold to be read. Unknown fields are dropped: whatever a
 * future broker adds, the timeline prints only these (no header, no body).
 */
const auditRecordSchema = z.object({
  time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'must be an ISO-8601 time'),
  provider: z.string().max(64),
  method: z.string().max(16),
  path: z.string().max(4096),
  decision: z.enum(['allowed', 'denied']),
  reason: z.string().max(2048).optional(),
  credentialId: z.string().max(256).optional(),
  triageId: z.string().max(256).nullable(),
  status: z.number().int(),
  upstreamStatus: z.number().int().optional(),
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
  durationMs: z.number().nonnegative(),
});

export interface MalformedAuditLine {
  source: string;
  line: number;
  reason: string;
}

export interface ParsedAuditLog {
  records: AuditRecord[];
  malformed: MalformedAuditLine[];
  /** JSON lines that are not audit records: the broker's own log, when the audit trail shares its stdout. */
  otherLines: number;
}

/** `kubectl logs --timestamps` puts an RFC 3339 time before each line. */
const KUBECTL_TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d) (?=\{)/;

type LineKind = { record: AuditRecord } | { malformed: string } | 'other';

function classify(value: unknown, depth = 0): LineKind {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const parsed = auditRecordSchema.safeParse(value);
    return { malformed: parsed.success ? 'invalid' : `(line): ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  }
  const fields = value as Record<string, unknown>;
  // A log shipper's envelope (`{"log": "<the line>", ...}`) around the broker's line.
  if (!('decision' in fields) && typeof fields.log === 'string' && depth === 0) {
    try {
      return classify(JSON.parse(fields.log.trim()), 1);
    } catch {
      return 'other';
    }
  }
  // The broker's own log lines (time, level, msg) share its stdout in a pod.
  if (!('decision' in fields) || 'msg' in fields) return 'other';
  const parsed = auditRecordSchema.safeParse(value);
  if (parsed.success) return { record: parsed.data as AuditRecord };
  const issue = parsed.error.issues[0];
  return { malformed: issue ? `${issue.path.join('.') || '(line)'}: ${issue.message}` : 'invalid' };
}

/**
 * Reads JSONL text: the broker's audit file, or its container log (where its
 * own log lines are counted apart). A line that looks like an audit record but
 * is not a valid one is counted with its reason, never fatal.
 */
export function parseAuditLog(text: string, source = 'audit log'): ParsedAuditLog {
  const records: AuditRecord[] = [];
  const malformed: MalformedAuditLine[] = [];
  let otherLines = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim().replace(KUBECTL_TIMESTAMP, '');
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      malformed.push({ source, line: i + 1, reason: 'not JSON' });
      return;
    }
    const kind = classify(value);
    if (kind === 'other') otherLines += 1;
    else if ('record' in kind) records.push(kind.record);
    else malformed.push({ source, line: i + 1, reason: kind.malformed });
  });
  return { records, malformed, otherLines };
}

export function mergeAuditLogs(logs: ParsedAuditLog[]): ParsedAuditLog {
  return {
    records: logs.flatMap((l) => l.records),
    malformed: logs.flatMap((l) => l.malformed),
    otherLines: logs.reduce((n, l) => n + l.otherLines, 0),
  };
}

// ---------------------------------------------------------------- history

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

interface JsonFailure {
  message?: string;
  cause?: JsonFailure;
  applicationFailureInfo?: { type?: string; nonRetryable?: boolean };
  timeoutFailureInfo?: { timeoutType?: string };
}

/** The fields of the history's JSON form (proto3 JSON) that the timeline reads. */
interface JsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  userMetadata?: { summary?: JsonPayload; details?: JsonPayload };
  [attributes: string]: unknown;
}

/**
 * The history in its JSON form, from either the SDK's `fetchHistory()` object
 * or a JSON export (`triage history`, `historyToJSON`, `temporal workflow show
 * --output json`). Going through the SDK's own converters also normalizes the
 * older export formats they accept.
 */
export function historyEvents(history: unknown): JsonEvent[] {
  if (typeof history !== 'object' || history === null || !Array.isArray((history as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an "events" array');
  }
  const first = (history as { events: unknown[] }).events[0] as { eventTime?: unknown; eventType?: unknown } | undefined;
  const isJson = first === undefined || typeof first.eventTime === 'string' || typeof first.eventType === 'string';
  const proto: History = isJson ? historyFromJSON(history) : (history as History);
  return (JSON.parse(historyToJSON(proto)) as { events?: JsonEvent[] }).events ?? [];
}

function base64(text: string | undefined): string {
  return text ? Buffer.from(text, 'base64').toString('utf8') : '';
}

const ENCODED = Symbol('encoded');

/** A payload's value when it is plain JSON; ENCODED when a codec or another converter wrote it. */
export function payloadValue(payload: JsonPayload | undefined): unknown {
  if (!payload) return undefined;
  const encoding = base64(payload.metadata?.encoding);
  if (encoding === 'binary/null') return null;
  if (encoding !== 'json/plain') return ENCODED;
  try {
    return JSON.parse(base64(payload.data));
  } catch {
    return ENCODED;
  }
}

function payloadText(payload: JsonPayload | undefined): string | undefined {
  const value = payloadValue(payload);
  if (value === ENCODED) return '(encoded)';
  return typeof value === 'string' ? value : undefined;
}

function firstPayload(payloads: { payloads?: JsonPayload[] } | undefined): unknown {
  return payloadValue(payloads?.payloads?.[0]);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The failure's message and its causes', as the Web UI shows them. */
function failureText(failure: JsonFailure | undefined): string {
  const parts: string[] = [];
  for (let f = failure, depth = 0; f && depth < 4; f = f.cause, depth++) {
    if (f.message && !parts.includes(f.message)) parts.push(f.message);
  }
  return boundedLine(parts.join(': ') || 'no message', LINE_CHARS);
}

const IDENTITY_CHARS = 120;

function decisionOf(arg: Record<string, unknown>, requestIdentity: string | undefined): DecisionEntry {
  const declared = str(arg.identity);
  return {
    decision: boundedLine(str(arg.decision), 20),
    approver: boundedLine(str(arg.approver) ?? '?', 128),
    ...(str(arg.planHash) ? { planHash: boundedLine(str(arg.planHash), 64) } : {}),
    ...(str(arg.channel) ? { channel: boundedLine(str(arg.channel), 20) } : {}),
    ...(requestIdentity ? { requestIdentity: boundedLine(requestIdentity, IDENTITY_CHARS) } : {}),
    ...(declared ? { declaredIdentity: boundedLine(declared, IDENTITY_CHARS) } : {}),
  };
}

/** `approve by U0ALICE (plan …) via slack — Temporal client …`; a declared identity unlike the request's is shown beside it. */
function decisionText(d: DecisionEntry): string {
  const plan = d.planHash ? ` (plan ${d.planHash.slice(0, 12)})` : '';
  const via = d.channel ? ` via ${d.channel}` : ', no channel recorded';
  const client = d.requestIdentity ? ` — Temporal client ${d.requestIdentity}` : '';
  const declared =
    d.declaredIdentity && d.declaredIdentity !== d.requestIdentity ? ` (the decision names client ${d.declaredIdentity})` : '';
  return `${d.decision} by ${d.approver}${plan}${via}${client}${declared}`;
}

/** Event time as a sortable number: epoch ms with the sub-millisecond part the history keeps. */
function timeKey(iso: string): number {
  const ms = Date.parse(iso);
  const fraction = /\.(\d+)Z$/.exec(iso)?.[1];
  if (!fraction || fraction.length <= 3) return ms;
  return ms + Number(`0.${fraction.slice(3)}`);
}

// ---------------------------------------------------------------- timeline

export interface ActivityRef {
  /** The activity's id in this workflow and its scheduled event. */
  activityId: string;
  scheduledEventId: number;
  activityType: string;
  summary?: string;
  /** The attempt, or the first of a range when the history cannot tell the attempts apart. */
  attempt: number;
  /** Set for a range: `attempt`..`lastAttempt`; null when the last attempt is not known yet. */
  lastAttempt?: number | null;
}

export interface BrokerFields {
  provider: string;
  method: string;
  path: string;
  decision: 'allowed' | 'denied';
  reason?: string;
  status: number;
  upstreamStatus?: number;
  credentialId?: string;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TimelineEntry {
  at: string;
  source: 'temporal' | 'broker' | ExternalSource;
  what: string;
  /** Temporal entries: the event. */
  eventId?: number;
  eventType?: string;
  /**
   * Temporal activity events: their activity. Broker lines: the activity
   * attempt that made the request, or null when it could not be told.
   */
  activity?: ActivityRef | null;
  /** Broker lines: the audit fields (never a header, a body or a secret: the broker logs none). */
  broker?: BrokerFields;
  /** Broker lines: 'window' when the request began inside the attempt; 'clock-skew' when only within the tolerance of it. */
  match?: 'window' | 'clock-skew';
  /** Broker lines that no single activity explains: why. */
  unattributed?: string;
  /** Lines of the exported streams: where read, and what placed it (the User-Agent's triage id, the worker's session, its pod). */
  external?: { where: string; by?: By };
  /** 1 for broker and exported lines shown under their activity, 0 otherwise. */
  depth: 0 | 1;
  /** The accepted `decide` Update: what was decided, through which channel, and by which Temporal client. */
  decision?: DecisionEntry;
}

export interface DecisionEntry {
  decision: string;
  approver: string;
  planHash?: string;
  /** `slack` or `cli`; absent on decisions recorded before decisions named their channel. */
  channel?: string;
  /**
   * The identity in the Update request's metadata, which the Temporal server
   * recorded with the event: the one to trust, as far as the server
   * authenticates its clients (docs/threat-model.md).
   */
  requestIdentity?: string;
  /** The identity the decision itself names; differs from requestIdentity only when the sender wrote it by hand. */
  declaredIdentity?: string;
}

export interface AuditTimeline {
  workflowId: string;
  runId?: string;
  entries: TimelineEntry[];
  counts: {
    historyEvents: number;
    auditLines: number;
    thisTriage: number;
    otherTriages: number;
    malformed: number;
    /** Lines of the broker's own log, read past. */
    otherLogLines: number;
    attributed: number;
    unattributed: number;
    /** Per exported stream read: its lines, and where they went. */
    external: Partial<Record<ExternalSource, ExternalCounts>>;
  };
  malformed: MalformedAuditLine[];
}

export interface ExternalCounts {
  lines: number;
  attributed: number;
  unattributed: number;
  /** Naming another triage in their User-Agent. */
  otherTriages: number;
  /** Made outside the triage's span by no actor of it. */
  outsideSpan: number;
}

export interface TimelineOptions {
  /** The triage id the broker lines carry: the workflow id, `triage-<incidentId>`. */
  workflowId: string;
  /**
   * How far outside an attempt's window a request may start and still be
   * attributed to it, when no window holds it: the clocks of the broker and
   * the Temporal server are different clocks in production. Default 50 ms.
   */
  clockSkewMs?: number;
  /** Lines of the exported streams (CloudTrail, apiserver audit, flows), placed by cli/audit-sources/attribution.ts. */
  external?: ExternalLine[];
}

interface AttemptWindow {
  ref: ActivityRef;
  provider: ProviderName | null;
  start: number;
  end: number;
  /** Whether `end` belongs to the window (the last attempt's close) or to the next attempt. */
  endInclusive: boolean;
  anchor: TimelineEntry;
}

interface Activity {
  ref: Omit<ActivityRef, 'attempt' | 'lastAttempt'>;
  scheduledAt: number;
  scheduledEntry: TimelineEntry;
  started?: { at: number; attempt: number; entry: TimelineEntry };
  closedAt?: number;
}

const DEFAULT_CLOCK_SKEW_MS = 50;
const CLOSING_EVENT = /^WORKFLOW_EXECUTION_(COMPLETED|FAILED|TIMED_OUT|CANCELED|TERMINATED|CONTINUED_AS_NEW)$/;

function attemptLabel(ref: Pick<ActivityRef, 'attempt' | 'lastAttempt'>): string {
  if (ref.lastAttempt === undefined) return `attempt ${ref.attempt}`;
  if (ref.lastAttempt === null) return `attempt ${ref.attempt}+`;
  return ref.lastAttempt === ref.attempt ? `attempt ${ref.attempt}` : `attempts ${ref.attempt}–${ref.lastAttempt}`;
}

export function describeActivity(ref: ActivityRef): string {
  return `${ref.activityType}#${ref.activityId} ${attemptLabel(ref)}`;
}

function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Reads the history into timeline entries and the attempt windows broker lines are matched against. */
function readHistory(events: JsonEvent[]): {
  entries: TimelineEntry[];
  windows: AttemptWindow[];
  span: { start: number; end: number };
  workerHosts: string[];
  runId?: string;
  workflowId?: string;
} {
  const entries: TimelineEntry[] = [];
  const activities = new Map<number, Activity>();
  const timers = new Map<string, string>();
  let runId: string | undefined;
  let workflowId: string | undefined;

  const add = (event: JsonEvent, what: string, activity?: ActivityRef): TimelineEntry => {
    const entry: TimelineEntry = {
      at: event.eventTime,
      source: 'temporal',
      what,
      eventId: Number(event.eventId),
      eventType: event.eventType.replace(/^EVENT_TYPE_/, ''),
      ...(activity ? { activity } : {}),
      depth: 0,
    };
    entries.push(entry);
    return entry;
  };
  const activityOf = (attrs: Record<string, unknown>): Activity | undefined => activities.get(Number(attrs.scheduledEventId));
  const label = (a: Activity) => `${a.ref.activityType}#${a.ref.activityId}`;
  const refAt = (a: Activity, attempt: number, lastAttempt?: number | null): ActivityRef => ({
    ...a.ref,
    attempt,
    ...(lastAttempt !== undefined ? { lastAttempt } : {}),
  });

  const span = { start: events[0] ? timeKey(events[0].eventTime) : 0, end: Number.POSITIVE_INFINITY };
  // In a pod the worker's identity is `<pid>@<pod name>`: the pod whose calls the exported streams hold.
  const workerHosts = new Set<string>();
  for (const event of events) {
    const type = event.eventType.replace(/^EVENT_TYPE_/, '');
    if (CLOSING_EVENT.test(type)) span.end = timeKey(event.eventTime);
    const attrsKey = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
    const attrs = record(attrsKey ? event[attrsKey] : undefined);
    const summary = payloadText(event.userMetadata?.summary);
    const at = timeKey(event.eventTime);

    switch (type) {
      case 'WORKFLOW_EXECUTION_STARTED': {
        runId = str(attrs.originalExecutionRunId) ?? str(attrs.firstExecutionRunId);
        workflowId = str(attrs.workflowId);
        const input = record(firstPayload(attrs.input as { payloads?: JsonPayload[] }));
        const source = record(input.source);
        const by =
          source.kind === 'webhook'
            ? `PagerDuty webhook event ${str(source.eventId) ?? '?'}`
            : source.kind === 'cli'
              ? `the CLI (${str(source.user) ?? '?'})`
              : str(attrs.identity);
        add(event, `workflow started${summary ? `: ${boundedLine(summary, LINE_CHARS)}` : ''}${by ? ` — by ${boundedLine(by, 120)}` : ''}`);
        break;
      }
      case 'ACTIVITY_TASK_SCHEDULED': {
        const activityType = str(record(attrs.activityType).name) ?? '?';
        const activityId = str(attrs.activityId) ?? '?';
        const ref = {
          activityId,
          scheduledEventId: Number(event.eventId),
          activityType,
          ...(summary ? { summary: boundedLine(summary, LINE_CHARS) } : {}),
        };
        const entry = add(event, `${activityType}#${activityId} scheduled${summary ? ` — ${boundedLine(summary, LINE_CHARS)}` : ''}`, {
          ...ref,
          attempt: 1,
        });
        activities.set(Number(event.eventId), { ref, scheduledAt: at, scheduledEntry: entry });
        break;
      }
      case 'ACTIVITY_TASK_STARTED': {
        const activity = activityOf(attrs);
        if (!activity) break;
        const attempt = typeof attrs.attempt === 'number' && attrs.attempt > 0 ? attrs.attempt : 1;
        const retried =
          attempt > 1
            ? ` after ${attempt - 1} failed attempt${attempt > 2 ? 's' : ''} (last: ${failureText(attrs.lastFailure as JsonFailure)})`
            : '';
        const entry = add(event, `${label(activity)} started, attempt ${attempt}${retried}`, refAt(activity, attempt));
        activity.started = { at, attempt, entry };
        const host = /@([^@\s]{1,253})$/.exec(str(attrs.identity) ?? '')?.[1];
        if (host) workerHosts.add(boundedLine(host, 253));
        break;
      }
      case 'ACTIVITY_TASK_COMPLETED':
      case 'ACTIVITY_TASK_FAILED':
      case 'ACTIVITY_TASK_TIMED_OUT':
      case 'ACTIVITY_TASK_CANCELED': {
        const activity = activityOf(attrs);
        if (!activity) break;
        activity.closedAt = at;
        const attempt = activity.started?.attempt ?? 1;
        const took = activity.started ? `, ${durationText(at - activity.started.at)}` : '';
        const failure = attrs.failure as JsonFailure | undefined;
        const what =
          type === 'ACTIVITY_TASK_COMPLETED'
            ? `${label(activity)} completed (attempt ${attempt}${took})`
            : type === 'ACTIVITY_TASK_FAILED'
              ? `${label(activity)} failed on attempt ${attempt}: ${failureText(failure)}`
              : type === 'ACTIVITY_TASK_TIMED_OUT'
                ? `${label(activity)} timed out${activity.started ? ` on attempt ${attempt}` : ''}: ${failureText(failure)}`
                : `${label(activity)} canceled`;
        add(event, what, refAt(activity, attempt));
        break;
      }
      case 'TIMER_STARTED': {
        const timerId = str(attrs.timerId) ?? '?';
        const name = summary ? boundedLine(summary, LINE_CHARS) : `timer ${timerId}`;
        timers.set(timerId, name);
        add(event, `timer started: ${name} (fires in ${str(attrs.startToFireTimeout) ?? '?'})`);
        break;
      }
      case 'TIMER_FIRED':
      case 'TIMER_CANCELED': {
        const timerId = str(attrs.timerId) ?? '?';
        const name = timers.get(timerId) ?? (summary ? boundedLine(summary, LINE_CHARS) : `timer ${timerId}`);
        add(event, `timer ${type === 'TIMER_FIRED' ? 'fired' : 'canceled'}: ${name}`);
        break;
      }
      case 'WORKFLOW_EXECUTION_SIGNALED': {
        const identity = str(attrs.identity);
        add(event, `signal ${str(attrs.signalName) ?? '?'} received${identity ? ` from ${boundedLine(identity, 120)}` : ''}`);
        break;
      }
      case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED': {
        const request = record(attrs.acceptedRequest);
        const input = record(request.input);
        const meta = record(request.meta);
        const name = str(input.name) ?? '?';
        const arg = record(firstPayload(input.args as { payloads?: JsonPayload[] }));
        const decision = name === DECIDE_UPDATE && str(arg.decision) ? decisionOf(arg, str(meta.identity)) : undefined;
        const updateId = str(meta.updateId);
        const entry = add(
          event,
          `update ${name} accepted${decision ? `: ${decisionText(decision)}` : ''}${updateId ? ` — update id ${boundedLine(updateId, 120)}` : ''}`,
        );
        if (decision) entry.decision = decision;
        break;
      }
      case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED': {
        const outcome = record(attrs.outcome);
        const failure = outcome.failure as JsonFailure | undefined;
        const result = record(firstPayload(record(outcome.success) as { payloads?: JsonPayload[] }));
        const recorded = str(result.at) ? `, recorded at ${str(result.at)}` : '';
        add(event, failure ? `update failed: ${failureText(failure)}` : `update completed${recorded}`);
        break;
      }
      case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
        const fields = record(record(attrs.searchAttributes).indexedFields);
        const stage = payloadValue(fields.TriageStage as JsonPayload | undefined);
        if (typeof stage === 'string') add(event, `stage → ${boundedLine(stage, 60)}`);
        break;
      }
      case 'WORKFLOW_TASK_FAILED': {
        add(
          event,
          `workflow task failed (${str(attrs.cause)?.replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '') ?? '?'}): ${failureText(attrs.failure as JsonFailure)}`,
        );
        break;
      }
      case 'WORKFLOW_EXECUTION_COMPLETED': {
        const result = record(firstPayload(attrs.result as { payloads?: JsonPayload[] }));
        const stage = str(result.stage);
        const issue = str(record(result.githubIssue).url);
        add(event, `workflow completed${stage ? `: ${stage}` : ''}${issue ? `, GitHub issue ${issue}` : ''}`);
        break;
      }
      case 'WORKFLOW_EXECUTION_FAILED':
        add(event, `workflow failed: ${failureText(attrs.failure as JsonFailure)}`);
        break;
      case 'WORKFLOW_EXECUTION_TIMED_OUT':
        add(event, 'workflow timed out');
        break;
      case 'WORKFLOW_EXECUTION_CANCELED':
        add(event, 'workflow canceled');
        break;
      case 'WORKFLOW_EXECUTION_TERMINATED':
        add(
          event,
          `workflow terminated${str(attrs.reason) ? `: ${boundedLine(str(attrs.reason)!, LINE_CHARS)}` : ''}${str(attrs.identity) ? ` by ${boundedLine(str(attrs.identity)!, 120)}` : ''}`,
        );
        break;
      case 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
        add(event, `workflow continued as new run ${str(attrs.newExecutionRunId) ?? '?'}`);
        break;
      default:
        break; // workflow tasks, markers, other search attributes: bookkeeping, not events a reader follows
    }
  }

  // The history records only the last attempt's start (and the previous
  // attempt's failure in it). Requests of earlier attempts fall between the
  // scheduling and that start; of the last attempt, between its start and close.
  const windows: AttemptWindow[] = [];
  for (const a of activities.values()) {
    const provider = providerOf(a.ref.activityType);
    const end = a.closedAt ?? Number.POSITIVE_INFINITY;
    if (a.started) {
      if (a.started.attempt > 1) {
        windows.push({
          ref: refAt(a, 1, a.started.attempt - 1),
          provider,
          start: a.scheduledAt,
          end: a.started.at,
          endInclusive: false,
          anchor: a.scheduledEntry,
        });
      }
      windows.push({ ref: refAt(a, a.started.attempt), provider, start: a.started.at, end, endInclusive: true, anchor: a.started.entry });
    } else {
      // Still waiting for its first start, retrying, or closed without one: the attempts are not told apart.
      windows.push({ ref: refAt(a, 1, null), provider, start: a.scheduledAt, end, endInclusive: true, anchor: a.scheduledEntry });
    }
  }
  return { entries, windows, span, workerHosts: [...workerHosts], ...(runId ? { runId } : {}), ...(workflowId ? { workflowId } : {}) };
}

/**
 * The broker's times are whole milliseconds (and its duration is rounded), so
 * a request's start is known to about a millisecond; history times to the
 * nanosecond. A window's start is read with that much give.
 */
const BROKER_PRECISION_MS = 1;

function within(w: AttemptWindow, t: number, slack: number): boolean {
  return t >= w.start - BROKER_PRECISION_MS - slack && (w.endInclusive || slack > 0 ? t <= w.end + slack : t < w.end);
}

function attribute(
  line: AuditRecord,
  windows: AttemptWindow[],
  clockSkewMs: number,
): { window: AttemptWindow; match: 'window' | 'clock-skew' } | { reason: string } {
  const provider = line.provider;
  if (!provider) return { reason: 'the request named no provider' };
  const candidates = windows.filter((w) => w.provider === provider);
  if (candidates.length === 0) return { reason: `no activity in this history calls ${provider}` };
  // The broker writes its line once the answer is sent, which can be a moment
  // after the activity reported completion; the request began while the
  // attempt ran. So the time that places a line is its start.
  const startedAt = Date.parse(line.time) - line.durationMs;
  for (const [slack, match] of [
    [0, 'window'],
    [clockSkewMs, 'clock-skew'],
  ] as const) {
    const matching = candidates.filter((w) => within(w, startedAt, slack));
    if (matching.length === 1) return { window: matching[0]!, match };
    if (matching.length > 1) {
      return { reason: `ambiguous: ${matching.map((w) => describeActivity(w.ref)).join(', ')} were all running when it began` };
    }
    if (slack === clockSkewMs) break;
  }
  return { reason: `no ${provider} activity attempt was running when it began (${new Date(startedAt).toISOString()})` };
}

function brokerWhat(r: AuditRecord): string {
  const status =
    r.upstreamStatus !== undefined && r.upstreamStatus !== r.status ? `${r.status} (upstream ${r.upstreamStatus})` : String(r.status);
  return `${r.provider || '(no provider)'} ${r.method} ${r.path} → ${status} ${r.decision}${r.reason ? ` (${boundedLine(r.reason, 200)})` : ''}`;
}

function brokerFields(r: AuditRecord): BrokerFields {
  return {
    provider: r.provider,
    method: r.method,
    path: r.path,
    decision: r.decision,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    status: r.status,
    ...(r.upstreamStatus !== undefined ? { upstreamStatus: r.upstreamStatus } : {}),
    ...(r.credentialId !== undefined ? { credentialId: r.credentialId } : {}),
    durationMs: r.durationMs,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
  };
}

/**
 * The timeline: history events in time order; each broker line of this
 * triage right under the activity attempt that made it (the attempt's start,
 * or its scheduling for earlier attempts the history does not itemize);
 * unattributed lines in time order among the events, marked as such.
 */
export function buildAuditTimeline(history: unknown, audit: ParsedAuditLog, opts: TimelineOptions): AuditTimeline {
  const events = historyEvents(history);
  const { entries: temporalEntries, windows, span, workerHosts, runId, workflowId } = readHistory(events);
  if (workflowId && workflowId !== opts.workflowId) {
    throw new Error(`the history is of workflow ${workflowId}, not ${opts.workflowId}`);
  }
  const clockSkewMs = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;

  const children = new Map<TimelineEntry, { key: number; seq: number; entry: TimelineEntry }[]>();
  const topLevel: { key: number; seq: number; entry: TimelineEntry }[] = temporalEntries.map((entry, seq) => ({
    key: timeKey(entry.at),
    seq,
    entry,
  }));
  let thisTriage = 0;
  let attributed = 0;
  audit.records.forEach((line, i) => {
    if (line.triageId !== opts.workflowId) return;
    thisTriage += 1;
    const found = attribute(line, windows, clockSkewMs);
    const base = { at: line.time, source: 'broker' as const, what: brokerWhat(line), broker: brokerFields(line) };
    const item = { key: Date.parse(line.time), seq: temporalEntries.length + i };
    if ('window' in found) {
      attributed += 1;
      const entry: TimelineEntry = { ...base, activity: found.window.ref, match: found.match, depth: 1 };
      const list = children.get(found.window.anchor) ?? [];
      list.push({ ...item, entry });
      children.set(found.window.anchor, list);
    } else {
      topLevel.push({ ...item, entry: { ...base, activity: null, unattributed: found.reason, depth: 0 } });
    }
  });

  const external = opts.external ?? [];
  const placements = attributeExternal(external, {
    workflowId: opts.workflowId,
    span,
    windows: windows.map((w) => ({ ...w, activityType: w.ref.activityType, label: describeActivity(w.ref) })),
    workerHosts,
    clockSkewMs,
  });
  const externalCounts: Partial<Record<ExternalSource, ExternalCounts>> = {};
  external.forEach((line, j) => {
    const counts = (externalCounts[line.source] ??= { lines: 0, attributed: 0, unattributed: 0, otherTriages: 0, outsideSpan: 0 });
    counts.lines += 1;
    const placed = placements[j]!;
    if (placed.kind === 'other-triage') counts.otherTriages += 1;
    if (placed.kind === 'outside-span') counts.outsideSpan += 1;
    if (placed.kind !== 'attributed' && placed.kind !== 'unattributed') return;
    const item = { key: line.at, seq: temporalEntries.length + audit.records.length + j };
    const base = { at: new Date(line.at).toISOString(), source: line.source, what: line.what };
    if (placed.kind === 'attributed') {
      counts.attributed += 1;
      const entry: TimelineEntry = { ...base, activity: placed.window.ref, external: { where: line.where, by: placed.by }, depth: 1 };
      const list = children.get(placed.window.anchor) ?? [];
      list.push({ ...item, entry });
      children.set(placed.window.anchor, list);
    } else {
      counts.unattributed += 1;
      topLevel.push({
        ...item,
        entry: { ...base, activity: null, external: { where: line.where }, unattributed: placed.reason, depth: 0 },
      });
    }
  });

  const byTime = (a: { key: number; seq: number }, b: { key: number; seq: number }) => a.key - b.key || a.seq - b.seq;
  const entries: TimelineEntry[] = [];
  for (const { entry } of topLevel.sort(byTime)) {
    entries.push(entry);
    for (const child of (children.get(entry) ?? []).sort(byTime)) entries.push(child.entry);
  }

  return {
    workflowId: opts.workflowId,
    ...(runId ? { runId } : {}),
    entries,
    counts: {
      historyEvents: events.length,
      auditLines: audit.records.length + audit.malformed.length,
      thisTriage,
      otherTriages: audit.records.length - thisTriage,
      malformed: audit.malformed.length,
      otherLogLines: audit.otherLines,
      attributed,
      unattributed: thisTriage - attributed,
      external: externalCounts,
    },
    malformed: audit.malformed,
  };
}
