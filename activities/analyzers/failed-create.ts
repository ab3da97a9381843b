// Controllers that cannot create pods at all: the API server refuses each pod
// at admission (a ResourceQuota, a LimitRange, a missing ServiceAccount, Pod
// Security, a webhook), so there is no pod to look at, only the controller's
// FailedCreate events. The refusal names the rule that was broken; the finding
// names it too, under the workload that owns the controller.
import type { DeploymentSummary, EventSummary, IncidentRef, NamespaceEvidence, PodSummary, Severity } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { stripCombined } from './config-refs.js';
import {
  compareText,
  describeLead,
  describeWorkloadHealth,
  eventCount,
  isoSeconds,
  newestEventFirst,
  objectRef,
  parseTime,
  plural,
  recentRollout,
  type Workload,
  workloadOfPod,
} from './workloads.js';

export const FAILED_CREATE_ANALYZER = 'kubernetes.failed-create';

/** Controllers whose FailedCreate means pods are refused; a claim a StatefulSet cannot create blocks its pod too. */
const CONTROLLER_KINDS: ReadonlySet<string> = new Set(['ReplicaSet', 'Job', 'StatefulSet', 'DaemonSet']);

const OBJECT_NAME = '[a-z0-9][a-z0-9.-]{0,252}';

/** The ReplicaSet, Job and DaemonSet controllers, through controller.PodControl: "Error creating: %v". */
const ERROR_CREATING = /^Error creating: (.+)$/;
/** stateful_pod_control.go: "%s Pod %s in StatefulSet %s failed error: %s" (and the same for a claim "for Pod %s"). */
const STATEFUL_CREATE = /^create (?:Pod|Claim) \S{1,253}(?: for Pod \S{1,253})? in StatefulSet \S{1,253} failed error: (.+)$/;
/** admission.NewForbidden: `<resource> "<name>" is forbidden: <reason>`; a generated pod name is its prefix, `api-server-5d9c-`. */
const FORBIDDEN = /^[a-z.]{1,63} "[^"]{0,253}" is forbidden: (.+)$/;

/**
 * The ResourceQuota admission controller: "exceeded quota: %s, requested: %s,
 * used: %s, limited: %s", each list `<resource>=<quantity>` joined by commas.
 */
const QUOTA_EXCEEDED = new RegExp(`^exceeded quota: (${OBJECT_NAME}), requested: (\\S{1,300}), used: (\\S{1,300}), limited: (\\S{1,300})$`);
/**
 * The same controller when the pod leaves a quota-tracked resource unset:
 * "failed quota: %s: %v" around the pod evaluator's "must specify %s", which is
 * `<resource> for: <containers>` joined by "; " (before 1.19, only the resources, joined by commas).
 */
const QUOTA_MUST_SPECIFY = new RegExp(`^failed quota: (${OBJECT_NAME}): must specify (.{1,500})$`);
const MUST_SPECIFY_ITEM = /^([a-z0-9./-]{1,63}) for: (.{1,300})$/;
/**
 * The LimitRanger: "maximum %s usage per %s is %s, but limit is %s", its
 * minimum and request variants, "... is %s.  No limit is specified", and
 * "%s max limit to request ratio per %s is %s, but provided ratio is %f".
 * Several violations come as one aggregate, `[a, b]`, so this is not anchored.
 */
const LIMIT_RANGE =
  /(?:(?:maximum|minimum) [a-z0-9./-]{1,63} usage per (?:Container|Pod|PersistentVolumeClaim) is [^\s,]{1,40}(?:, but (?:limit|request) is [^\s,\]]{1,40}|\.? +No (?:limit|request) is specified)|[a-z0-9./-]{1,63} max limit to request ratio per (?:Container|Pod) is [^\s,]{1,40}, but provided ratio is [^\s,\]]{1,40})/g;
/** The ServiceAccount admission controller: "error looking up service account %s/%s: %v". */
const SERVICE_ACCOUNT = new RegExp(`^error looking up service account [a-z0-9][a-z0-9.-]{0,62}/(${OBJECT_NAME}): (.+)$`);
const SERVICE_ACCOUNT_NOT_FOUND = /^serviceaccount "[^"]{1,253}" not found$/;
/** Pod Security admission: `violates PodSecurity "<level>:<version>": <checks>`. */
const POD_SECURITY = /^violates PodSecurity "([^"]{1,40})": (.+)$/;
/** An admission webhook's refusal: `admission webhook "<name>" denied the request: <message>`. */
const WEBHOOK = /^admission webhook "([^"]{1,253})" denied the request: (.+)$/;

const CAUSE_LIMIT = 120;
const MESSAGE_LIMIT = 250;

/** The admission rule that refused the pods, as the title states it, and what else the refusal says. */
interface Refusal {
  cause: string;
  details: string[];
}

/** One controller object with FailedCreate warnings. */
interface Source {
  kind: string;
  name: string;
  events: EventSummary[];
  lastFailed?: number;
  /** When the controller last created a pod, if after its last failure. */
  createdSince?: { at: number; what: string };
}

/** Who the refused pods are for: the Deployment of a ReplicaSet when known, else the controller itself. */
interface Target {
  kind: string;
  name: string;
  ref: string;
  label: string;
  /** Set for a ReplicaSet and the Deployment that owns it, whose health the evidence holds. */
  workload?: Workload;
  sources: Source[];
}

/** The admission error inside a controller's FailedCreate message, without the controller's and the API's wrapping. */
function admissionError(message: string): string {
  const text = stripCombined(cleanText(message));
  const error = ERROR_CREATING.exec(text)?.[1] ?? STATEFUL_CREATE.exec(text)?.[1] ?? text;
  return FORBIDDEN.exec(error)?.[1] ?? error;
}

function pairs(list: string): Map<string, string> {
  return new Map(
    list.split(',').flatMap((item) => {
      const at = item.indexOf('=');
      return at > 0 ? [[item.slice(0, at), item.slice(at + 1)] as const] : [];
    }),
  );
}

function quotaExceeded(match: RegExpExecArray): Refusal {
  const [, quota, requested, used, limited] = match;
  const req = pairs(requested!);
  const use = pairs(used!);
  const lim = pairs(limited!);
  const resources = [...req.keys()].sort(compareText);
  const what = resources.map((r) => `${r}: requested ${req.get(r)}, used ${use.get(r) ?? '?'}, limited ${lim.get(r) ?? '?'}`);
  return { cause: `ResourceQuota ${quota!} exceeded${what.length > 0 ? ` (${what.join('; ')})` : ''}`, details: [] };
}

function quotaMustSpecify(match: RegExpExecArray): Refusal {
  const [, quota, rest] = match;
  const items = rest!.split('; ').map((item) => MUST_SPECIFY_ITEM.exec(item));
  if (items.every((item) => item !== null)) {
    const resources = items.map((item) => item[1]!);
    return {
      cause: `ResourceQuota ${quota!} requires ${resources.join(' and ')}`,
      details: items.map((item) => `containers without ${item[1]!}: ${cleanText(item[2], 200)}`),
    };
  }
  return { cause: `ResourceQuota ${quota!} requires ${rest!.split(',').join(' and ')}`, details: [] };
}

/** The rule the admission error names; an error of no known shape is quoted. */
export function refusalOf(message: string): Refusal {
  const error = admissionError(message);
  const exceeded = QUOTA_EXCEEDED.exec(error);
  if (exceeded) return quotaExceeded(exceeded);
  const mustSpecify = QUOTA_MUST_SPECIFY.exec(error);
  if (mustSpecify) return quotaMustSpecify(mustSpecify);
  const limits = [...error.matchAll(LIMIT_RANGE)].map((m) => m[0].replace(/\.$/, ''));
  if (limits.length > 0) {
    return { cause: `LimitRange: ${limits[0]!}${limits.length > 1 ? ` (and ${limits.length - 1} more)` : ''}`, details: limits.slice(1) };
  }
  const account = SERVICE_ACCOUNT.exec(error);
  if (account) {
    const [, name, why] = account;
    return SERVICE_ACCOUNT_NOT_FOUND.test(why!)
      ? { cause: `ServiceAccount ${name!} not found`, details: [] }
      : { cause: `ServiceAccount ${name!} cannot be read: ${cleanText(why, CAUSE_LIMIT)}`, details: [] };
  }
  const security = POD_SECURITY.exec(error);
  if (security) return { cause: `violates PodSecurity ${cleanText(security[1], 40)}: ${cleanText(security[2], CAUSE_LIMIT)}`, details: [] };
  const webhook = WEBHOOK.exec(error);
  if (webhook) {
    return { cause: `admission webhook ${cleanText(webhook[1], 253)} denied: ${cleanText(webhook[2], CAUSE_LIMIT)}`, details: [] };
  }
  return { cause: cleanText(error, CAUSE_LIMIT), details: [] };
}

function isFailedCreate(event: EventSummary): boolean {
  return event.type === 'Warning' && event.reason === 'FailedCreate' && CONTROLLER_KINDS.has(event.object.kind);
}

/**
 * Whether the controller made the pod: by owner when the evidence names it,
 * else by its generated name (`<job>-<suffix>`, `<statefulset>-<ordinal>`).
 */
function owns(source: Source, pod: PodSummary): boolean {
  if (source.kind === 'ReplicaSet') return pod.replicaSet === source.name;
  if (source.kind === 'Job' && pod.job !== undefined) return pod.job === source.name;
  if (pod.replicaSet !== undefined || pod.job !== undefined || !pod.name.startsWith(`${source.name}-`)) return false;
  const suffix = pod.name.slice(source.name.length + 1);
  return source.kind === 'StatefulSet' ? /^\d{1,9}$/.test(suffix) : /^[a-z0-9]{1,10}$/.test(suffix);
}

/**
 * When the controller created a pod after its last refusal: its SuccessfulCreate
 * event, or the creation time of a pod it owns. The refusal is then history,
 * or at least no longer the whole story.
 */
function createdSince(ns: NamespaceEvidence, source: Source): Source['createdSince'] {
  if (source.lastFailed === undefined) return undefined;
  const after = (at: number | undefined): at is number => at !== undefined && at > source.lastFailed!;
  const candidates: { at: number; what: string }[] = [];
  for (const event of ns.events) {
    if (event.reason !== 'SuccessfulCreate' || event.object.kind !== source.kind || event.object.name !== source.name) continue;
    const at = parseTime(event.lastSeen);
    if (after(at)) candidates.push({ at, what: `SuccessfulCreate at ${isoSeconds(at)}` });
  }
  for (const pod of ns.pods) {
    const at = parseTime(pod.createdAt);
    if (owns(source, pod) && after(at)) candidates.push({ at, what: `pod ${cleanText(pod.name, 253)} created at ${isoSeconds(at)}` });
  }
  return candidates.sort((a, b) => b.at - a.at || compareText(a.what, b.what))[0];
}

function targetOf(ns: NamespaceEvidence, kind: string, name: string): Target {
  if (kind === 'ReplicaSet') {
    // Resolved to its Deployment through the same owner lookup pods use.
    const workload = workloadOfPod(ns, { name, replicaSet: name });
    return { kind: workload.kind, name: workload.name, ref: workload.ref, label: workload.label, workload, sources: [] };
  }
  return { kind, name, ref: objectRef(kind, ns.namespace, name), label: cleanText(name, 253), sources: [] };
}

function targets(ns: NamespaceEvidence): Target[] {
  const byTarget = new Map<string, Target>();
  const bySource = new Map<string, Source>();
  for (const event of ns.events.filter(isFailedCreate)) {
    const sourceKey = `${event.object.kind}/${event.object.name}`;
    let source = bySource.get(sourceKey);
    if (!source) {
      source = { kind: event.object.kind, name: event.object.name, events: [] };
      bySource.set(sourceKey, source);
      const candidate = targetOf(ns, event.object.kind, event.object.name);
      // Raw names: two names that clean to the same text are still two workloads.
      const key = `${candidate.kind}/${candidate.name}`;
      const target = byTarget.get(key) ?? candidate;
      target.sources.push(source);
      byTarget.set(key, target);
    }
    source.events.push(event);
  }
  for (const source of bySource.values()) {
    const times = source.events.flatMap((e) => parseTime(e.lastSeen) ?? []);
    if (times.length > 0) source.lastFailed = Math.max(...times);
    const since = createdSince(ns, source);
    if (since) source.createdSince = since;
  }
  return [...byTarget.values()].sort((a, b) => compareText(a.ref, b.ref) || compareText(a.name, b.name));
}

/** Replicas the workload is short of; undefined when the evidence does not say (a Job, a StatefulSet, a DaemonSet). */
function missingReplicas(ns: NamespaceEvidence, target: Target): number | undefined {
  const d: DeploymentSummary | undefined = target.workload?.deployment;
  if (target.kind === 'Deployment' && d) return Math.max(0, d.replicas - d.available);
  if (target.kind === 'ReplicaSet') {
    const rs = ns.replicaSets.find((r) => r.name === target.name);
    return rs ? Math.max(0, rs.replicas - rs.ready) : undefined;
  }
  return undefined;
}

/**
 * Refused now: critical, nothing can replace the missing pods. Refused and
 * then created since: informational when nothing is missing any more (or a
 * Job, whose later pod shows creation works), a warning while replicas are
 * still short, since the refusal may come back at the next pod.
 */
function severityOf(ns: NamespaceEvidence, target: Target, active: boolean): Severity {
  if (active) return 'critical';
  const missing = missingReplicas(ns, target);
  return missing === 0 || (missing === undefined && target.kind === 'Job') ? 'info' : 'warning';
}

function healthLine(ns: NamespaceEvidence, target: Target): string {
  return target.workload ? describeWorkloadHealth(target.workload) : `${target.kind} ${cleanText(ns.namespace, 63)}/${target.label}`;
}

function sourceLines(source: Source): string[] {
  const seen = source.events.reduce((sum, e) => sum + eventCount(e), 0);
  const last = source.lastFailed !== undefined ? `, last at ${isoSeconds(source.lastFailed)}` : '';
  const newest = [...source.events].sort(newestEventFirst)[0]!;
  return [
    `FailedCreate on ${source.kind} ${cleanText(source.name, 253)} seen ${plural(seen, 'time')}${last}`,
    `controller: ${cleanText(stripCombined(newest.message), MESSAGE_LIMIT)}`,
    ...(source.createdSince
      ? [`${source.kind} ${cleanText(source.name, 253)} created a pod after its last failure: ${source.createdSince.what}`]
      : []),
  ];
}

function assessTarget(ns: NamespaceEvidence, target: Target, incident: IncidentRef): Assessment {
  const { sources } = target;
  const active = sources.some((s) => s.createdSince === undefined);
  const events = sources.filter((s) => !active || s.createdSince === undefined).flatMap((s) => s.events);
  const refusals = [...events].sort(newestEventFirst).map((e) => refusalOf(e.message));
  const causes = [...new Set(refusals.map((r) => r.cause))];
  const details = [...new Set(refusals.flatMap((r) => r.details))];
  // A rollout whose new ReplicaSet is the one refused explains the failure.
  const rollout = target.kind === 'Deployment' ? recentRollout(ns, target.name, incident) : undefined;
  const correlated = rollout !== undefined && sources.every((s) => s.kind === 'ReplicaSet' && s.name === rollout.newest.name);
  const suffix = correlated && active ? ` since the rollout to revision ${rollout.revision}, ${describeLead(rollout.minutesBefore)}` : '';
  const more = causes.length > 1 ? ` (and ${plural(causes.length - 1, 'other refusal')})` : '';
  const what = active ? `cannot create pods${suffix}` : 'could not create pods earlier (created since)';
  const missing = missingReplicas(ns, target);
  const evidence = [
    healthLine(ns, target),
    ...sources.flatMap(sourceLines),
    ...details,
    ...(correlated
      ? [
          `revision ${rollout.revision} (ReplicaSet ${cleanText(rollout.newest.name, 253)}) rolled out at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`,
        ]
      : []),
  ];
  const objects = [target.ref, ...sources.map((s) => objectRef(s.kind, ns.namespace, s.name))];
  return {
    finding: {
      analyzer: FAILED_CREATE_ANALYZER,
      severity: severityOf(ns, target, active),
      surface: 'kubernetes',
      title: cleanText(`${target.label} ${what}: ${causes[0]!}${more}`),
      objects: [...new Set(objects)],
      evidence: evidence.map((line) => cleanText(line)),
    },
    // Every replica it cannot create is a pod that should be serving.
    affected: Math.max(1, missing ?? 1),
    rolloutCorrelated: correlated,
  };
}

export const assessFailedCreates: Assessor = (input) =>
  (input.kubernetes?.namespaces ?? []).flatMap((ns) => targets(ns).map((target) => assessTarget(ns, target, input.incident)));

export const failedCreateAnalyzer = asAnalyzer(assessFailedCreates);
