// Maps pods to the workload that owns them (pod → ReplicaSet → Deployment, or
// pod → StatefulSet / DaemonSet) and to the rollout that created them, so every analyzer groups and correlates the
// same way while staying a pure function of the evidence.
import type {
  ContainerSummary,
  ControllerRevisionSummary,
  DaemonSetSummary,
  DeploymentSummary,
  EventSummary,
  Finding,
  IncidentRef,
  NamespaceEvidence,
  PodSummary,
  ReplicaSetSummary,
  StatefulSetSummary,
} from '../model.js';
import { MAX_LISTED_OBJECTS, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';

/** How long before the incident a rollout still counts as a likely trigger. */
export const DEFAULT_ROLLOUT_WINDOW_MINUTES = 60;

export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'Pod' | 'StatefulSet' | 'DaemonSet';

/** The controllers that roll out through ControllerRevisions rather than ReplicaSets. */
export type RevisionedKind = 'StatefulSet' | 'DaemonSet';

export interface Workload {
  kind: WorkloadKind;
  namespace: string;
  /** Raw name, for lookups in the evidence. */
  name: string;
  /** `kind/namespace/name`, cleaned, as findings cite objects. */
  ref: string;
  /** Cleaned name for titles. */
  label: string;
  deployment?: DeploymentSummary;
  replicaSet?: ReplicaSetSummary;
  statefulSet?: StatefulSetSummary;
  daemonSet?: DaemonSetSummary;
}

export interface PodLike {
  name: string;
  replicaSet?: string;
  statefulSet?: string;
  daemonSet?: string;
  controllerRevision?: string;
}

export function objectRef(kind: string, namespace: string, name: string): string {
  return `${kind}/${cleanText(namespace, 63)}/${cleanText(name, 253)}`;
}

/** A ReplicaSet is `<deployment>-<pod-template-hash>`; a pod is `<replicaset>-<suffix>`. */
function isGeneratedChild(parent: string, child: string): boolean {
  if (!child.startsWith(`${parent}-`)) return false;
  return /^[a-z0-9]{1,10}$/.test(child.slice(parent.length + 1));
}

function longestParent<T extends { name: string }>(candidates: readonly T[], child: string): T | undefined {
  let best: T | undefined;
  for (const candidate of candidates) {
    if (isGeneratedChild(candidate.name, child) && (!best || candidate.name.length > best.name.length)) best = candidate;
  }
  return best;
}

export function deploymentOfReplicaSet(ns: NamespaceEvidence, rs: ReplicaSetSummary): DeploymentSummary | undefined {
  if (rs.deployment !== undefined) return ns.deployments.find((d) => d.name === rs.deployment);
  return longestParent(ns.deployments, rs.name);
}

/** The pod's ReplicaSet by owner name, or inferred from its generated name (pods only cited by events). */
export function replicaSetOfPod(ns: NamespaceEvidence, pod: PodLike): ReplicaSetSummary | undefined {
  if (pod.replicaSet !== undefined) return ns.replicaSets.find((rs) => rs.name === pod.replicaSet);
  return longestParent(ns.replicaSets, pod.name);
}

/**
 * The pod's StatefulSet or DaemonSet from its owner reference: its own, or
 * that of the listed pod of its name (analyzers carry pods named by events
 * with only their ReplicaSet).
 */
function ownedByController(ns: NamespaceEvidence, pod: PodLike): { kind: RevisionedKind; name: string } | undefined {
  const source = pod.statefulSet !== undefined || pod.daemonSet !== undefined ? pod : ns.pods.find((p) => p.name === pod.name);
  if (source?.statefulSet !== undefined) return { kind: 'StatefulSet', name: source.statefulSet };
  if (source?.daemonSet !== undefined) return { kind: 'DaemonSet', name: source.daemonSet };
  return undefined;
}

/** A pod only an event names: a StatefulSet's is `<name>-<ordinal>`, a DaemonSet's `<name>-<suffix>`. */
function controllerByName(ns: NamespaceEvidence, pod: string): { kind: RevisionedKind; name: string } | undefined {
  const set = (ns.statefulSets ?? []).find((s) => pod.startsWith(`${s.name}-`) && /^\d{1,9}$/.test(pod.slice(s.name.length + 1)));
  if (set) return { kind: 'StatefulSet', name: set.name };
  const daemon = longestParent(ns.daemonSets ?? [], pod);
  return daemon ? { kind: 'DaemonSet', name: daemon.name } : undefined;
}

function controllerWorkload(ns: NamespaceEvidence, owner: { kind: RevisionedKind; name: string }): Workload {
  const workload = make(ns.namespace, owner.kind, owner.name, {});
  if (owner.kind === 'StatefulSet') {
    const set = ns.statefulSets?.find((s) => s.name === owner.name);
    if (set) workload.statefulSet = set;
  } else {
    const set = ns.daemonSets?.find((d) => d.name === owner.name);
    if (set) workload.daemonSet = set;
  }
  return workload;
}

export function workloadOfPod(ns: NamespaceEvidence, pod: PodLike): Workload {
  const controller = pod.replicaSet === undefined ? ownedByController(ns, pod) : undefined;
  if (controller) return controllerWorkload(ns, controller);
  const replicaSet = replicaSetOfPod(ns, pod);
  const deploymentName =
    replicaSet !== undefined
      ? (replicaSet.deployment ?? deploymentOfReplicaSet(ns, replicaSet)?.name)
      : pod.replicaSet !== undefined
        ? longestParent(ns.deployments, pod.replicaSet)?.name
        : undefined;
  if (deploymentName !== undefined) {
    const deployment = ns.deployments.find((d) => d.name === deploymentName);
    return make(ns.namespace, 'Deployment', deploymentName, { deployment, replicaSet });
  }
  const rsName = replicaSet?.name ?? pod.replicaSet;
  if (rsName !== undefined) return make(ns.namespace, 'ReplicaSet', rsName, { replicaSet });
  const named = controllerByName(ns, pod.name);
  if (named) return controllerWorkload(ns, named);
  return make(ns.namespace, 'Pod', pod.name, {});
}

function make(
  namespace: string,
  kind: WorkloadKind,
  name: string,
  owners: { deployment?: DeploymentSummary | undefined; replicaSet?: ReplicaSetSummary | undefined },
): Workload {
  const workload: Workload = { kind, namespace, name, ref: objectRef(kind, namespace, name), label: cleanText(name, 253) };
  if (owners.deployment) workload.deployment = owners.deployment;
  if (kind === 'ReplicaSet' && owners.replicaSet) workload.replicaSet = owners.replicaSet;
  return workload;
}

export interface WorkloadGroup<P extends PodLike> {
  workload: Workload;
  pods: P[];
}

/** One group per workload, ordered by object reference so output never depends on input order. */
export function groupByWorkload<P extends PodLike>(ns: NamespaceEvidence, pods: readonly P[]): WorkloadGroup<P>[] {
  const groups = new Map<string, WorkloadGroup<P>>();
  for (const pod of pods) {
    const workload = workloadOfPod(ns, pod);
    // Raw names: two names that clean to the same text are still two workloads.
    const key = `${workload.kind}/${workload.name}`;
    const group = groups.get(key) ?? { workload, pods: [] };
    group.pods.push(pod);
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort(
    (a, b) => compareText(a.workload.ref, b.workload.ref) || compareText(a.workload.name, b.workload.name),
  );
  for (const group of sorted) group.pods.sort((a, b) => compareText(a.name, b.name));
  return sorted;
}

/** Code-point order: unlike localeCompare it is the same on every machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The deployment's ReplicaSets, newest revision first. */
export function replicaSetsOfDeployment(ns: NamespaceEvidence, deployment: string): ReplicaSetSummary[] {
  return ns.replicaSets
    .filter((rs) => rs.revision !== undefined && (rs.deployment ?? deploymentOfReplicaSet(ns, rs)?.name) === deployment)
    .sort(
      (a, b) =>
        (b.revision ?? 0) - (a.revision ?? 0) ||
        (parseTime(b.createdAt) ?? 0) - (parseTime(a.createdAt) ?? 0) ||
        compareText(a.name, b.name),
    );
}

export interface Rollout {
  namespace: string;
  /** The workload rolled out: a Deployment, unless `kind` names a StatefulSet or DaemonSet. */
  deployment: string;
  /** Absent for a Deployment, whose revisions are ReplicaSets; a StatefulSet's or DaemonSet's are ControllerRevisions. */
  kind?: RevisionedKind;
  newest: ReplicaSetSummary | ControllerRevisionSummary;
  revision: number;
  previous?: ReplicaSetSummary | ControllerRevisionSummary;
  createdAt: string;
  minutesBefore: number;
}

/** `ReplicaSet <name>` or `ControllerRevision <name>`: the object a revision is. */
export function revisionObject(rollout: Rollout, revision: ReplicaSetSummary | ControllerRevisionSummary = rollout.newest): string {
  return `${rollout.kind ? 'ControllerRevision' : 'ReplicaSet'} ${cleanText(revision.name, 253)}`;
}

/** How many times an event was seen: the apiserver folds repeats into `count`. */
export function eventCount(event: EventSummary): number {
  return Number.isFinite(event.count) && event.count > 0 ? event.count : 1;
}

/** A time as evidence shows it: RFC 3339, whole seconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The parts of the pod template a rollout changed, added or removed, named
 * from the ReplicaSets' keyed digests (`checkout-api: env`, `init container
 * migrate added`); empty without a previous revision to compare with.
 */
export function templateChanges(rollout: Rollout): string[] {
  const before = rollout.previous?.template;
  const after = rollout.newest.template;
  if (!before || !after) return [];
  const parts = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareText);
  return parts.flatMap((part) => {
    const label = cleanText(part, 120);
    if (!(part in before)) return [`${label} added`];
    if (!(part in after)) return [`${label} removed`];
    return before[part] === after[part] ? [] : [label];
  });
}

/** `, last at <time>` for the newest of these times (ISO strings); empty when none parses. */
export function lastAtSuffix(times: readonly (string | undefined)[]): string {
  const parsed = times.flatMap((t) => {
    const ms = parseTime(t);
    return ms === undefined ? [] : [ms];
  });
  return parsed.length > 0 ? `, last at ${isoSeconds(Math.max(...parsed))}` : '';
}

/** Newest event first; equal times by message, so the order never depends on the input's. */
export function newestEventFirst(a: EventSummary, b: EventSummary): number {
  return (parseTime(b.lastSeen) ?? 0) - (parseTime(a.lastSeen) ?? 0) || compareText(a.message, b.message);
}

export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The deployment's newest revision when it was created inside the window
 * before the incident. A rollout after the incident opened is more likely a
 * reaction to it than its cause, so it does not count.
 */
export function recentRollout(
  ns: NamespaceEvidence,
  deployment: string,
  incident: IncidentRef,
  windowMinutes: number = DEFAULT_ROLLOUT_WINDOW_MINUTES,
): Rollout | undefined {
  const [newest, previous] = replicaSetsOfDeployment(ns, deployment);
  return rolloutInWindow(ns.namespace, deployment, undefined, newest, previous, incident, windowMinutes);
}

/** The rollout to `newest` when it was created inside the window before the incident. */
function rolloutInWindow(
  namespace: string,
  name: string,
  kind: RevisionedKind | undefined,
  newest: Rollout['newest'] | undefined,
  previous: Rollout['previous'] | undefined,
  incident: IncidentRef,
  windowMinutes: number,
): Rollout | undefined {
  const incidentAt = parseTime(incident.createdAt);
  const createdAt = parseTime(newest?.createdAt);
  if (!newest || newest.revision === undefined || incidentAt === undefined || createdAt === undefined) return undefined;
  const before = incidentAt - createdAt;
  if (before < 0 || before > windowMinutes * 60_000) return undefined;
  return {
    namespace,
    deployment: name,
    ...(kind ? { kind } : {}),
    newest,
    revision: newest.revision,
    createdAt: isoSeconds(createdAt),
    minutesBefore: Math.round(before / 60_000),
    ...(previous ? { previous } : {}),
  };
}

/** The StatefulSet's or DaemonSet's newest ControllerRevision, when it was created inside the window before the incident. */
export function recentControllerRollout(
  ns: NamespaceEvidence,
  kind: RevisionedKind,
  name: string,
  incident: IncidentRef,
  windowMinutes: number = DEFAULT_ROLLOUT_WINDOW_MINUTES,
): Rollout | undefined {
  const set = kind === 'StatefulSet' ? ns.statefulSets?.find((s) => s.name === name) : ns.daemonSets?.find((d) => d.name === name);
  const [newest, previous] = [...(set?.revisions ?? [])].sort(
    (a, b) => b.revision - a.revision || (parseTime(b.createdAt) ?? 0) - (parseTime(a.createdAt) ?? 0),
  );
  return rolloutInWindow(ns.namespace, name, kind, newest, previous, incident, windowMinutes);
}

/**
 * Whether the pod runs the revision: its `controller-revision-hash` is the
 * revision's name (a StatefulSet's) or the hash that name ends in (a DaemonSet's).
 */
export function runsRevision(
  ns: NamespaceEvidence,
  pod: PodLike,
  owner: string,
  revision: ControllerRevisionSummary | ReplicaSetSummary,
): boolean {
  const hash = pod.controllerRevision ?? ns.pods.find((p) => p.name === pod.name)?.controllerRevision;
  return hash !== undefined && (hash === revision.name || `${owner}-${hash}` === revision.name);
}

export function describeLead(minutesBefore: number): string {
  return minutesBefore < 1 ? 'less than 1 min before the incident' : `${minutesBefore} min before the incident`;
}

/** How the failing pods of one workload relate to a recent rollout of it. */
/** Containers whose memory limit the rollout changed, e.g. `{ container: 'api', before: '512Mi', after: '256Mi' }`. */
export function memoryLimitChanges(rollout: Rollout): { container: string; before: string; after: string }[] {
  const before = rollout.previous?.memoryLimits ?? {};
  const after = rollout.newest.memoryLimits ?? {};
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareText).flatMap((container) => {
    const was = before[container] ?? 'none';
    const now = after[container] ?? 'none';
    return rollout.previous && was !== now
      ? [{ container: cleanText(container, 63), before: cleanText(was, 30), after: cleanText(now, 30) }]
      : [];
  });
}

export function describeMemoryLimitChange(change: { container: string; before: string; after: string }, revision: number): string {
  return `memory limit of container ${change.container} changed from ${change.before} to ${change.after} in revision ${revision}`;
}

export interface RolloutLink {
  rollout: Rollout;
  podsOfNewest: number;
  pods: number;
}

export function rolloutLink(ns: NamespaceEvidence, group: WorkloadGroup<PodLike>, incident: IncidentRef): RolloutLink | undefined {
  const { kind, name } = group.workload;
  if (kind === 'StatefulSet' || kind === 'DaemonSet') {
    const rollout = recentControllerRollout(ns, kind, name, incident);
    if (!rollout) return undefined;
    const podsOfNewest = group.pods.filter((pod) => runsRevision(ns, pod, name, rollout.newest)).length;
    return podsOfNewest === 0 ? undefined : { rollout, podsOfNewest, pods: group.pods.length };
  }
  if (group.workload.kind !== 'Deployment') return undefined;
  const rollout = recentRollout(ns, group.workload.name, incident);
  if (!rollout) return undefined;
  const podsOfNewest = group.pods.filter((pod) => replicaSetOfPod(ns, pod)?.name === rollout.newest.name).length;
  if (podsOfNewest === 0) return undefined;
  return { rollout, podsOfNewest, pods: group.pods.length };
}

/**
 * The rollout explains the failure only when every failing pod runs the new
 * revision; if old pods fail too, the fault predates it.
 */
export function rolloutExplains(link: RolloutLink | undefined): link is RolloutLink {
  return link !== undefined && link.podsOfNewest === link.pods;
}

export function describeRolloutLink(link: RolloutLink): string {
  const { rollout } = link;
  const revision = `revision ${rollout.revision} (${revisionObject(rollout)}), rolled out at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`;
  if (link.podsOfNewest === link.pods) {
    return link.pods === 1
      ? `the failing pod is of ${revision}`
      : `${link.pods === 2 ? 'both' : `all ${link.pods}`} failing pods are of ${revision}`;
  }
  return `${link.podsOfNewest} of ${link.pods} failing pods are of ${revision}; the others run older revisions, so the fault may predate the rollout`;
}

export function titleSuffixFor(link: RolloutLink | undefined): string {
  return rolloutExplains(link)
    ? ` since the rollout to revision ${link.rollout.revision}, ${describeLead(link.rollout.minutesBefore)}`
    : '';
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function describeWorkloadHealth(workload: Workload): string {
  const d = workload.deployment;
  if (workload.kind === 'Deployment' && d) {
    return `Deployment ${cleanText(workload.namespace, 63)}/${workload.label} has ${d.ready}/${d.replicas} ready, ${d.available} available`;
  }
  const s = workload.statefulSet;
  if (workload.kind === 'StatefulSet' && s) {
    const where = `StatefulSet ${cleanText(workload.namespace, 63)}/${workload.label} has ${s.ready}/${s.replicas} ready`;
    if (s.updateRevision === undefined) return `${where}, ${s.updated} updated`;
    const others = s.currentRevision !== undefined && s.currentRevision !== s.updateRevision && s.updated < s.replicas;
    return `${where}, update revision ${cleanText(s.updateRevision, 253)} on ${s.updated}${others ? `, the others on ${cleanText(s.currentRevision!, 253)}` : ''}`;
  }
  const ds = workload.daemonSet;
  if (workload.kind === 'DaemonSet' && ds) {
    return `DaemonSet ${cleanText(workload.namespace, 63)}/${workload.label} has ${ds.ready}/${ds.desired} ready, ${ds.updated} updated, ${ds.unavailable} unavailable`;
  }
  return `${workload.kind} ${cleanText(workload.namespace, 63)}/${workload.label}`;
}

/**
 * A finding about one workload's pods: it lists the workload and a few pods,
 * counts them all for ranking, and records whether the workload's rollout
 * explains them. Title and evidence are cleaned here, once for every analyzer.
 */
export function workloadAssessment(
  ns: NamespaceEvidence,
  group: WorkloadGroup<PodLike>,
  link: RolloutLink | undefined,
  finding: Pick<Finding, 'analyzer' | 'severity' | 'title' | 'evidence'>,
): Assessment {
  const { workload, pods } = group;
  const podRefs = pods.slice(0, MAX_LISTED_OBJECTS).map((pod) => objectRef('Pod', ns.namespace, pod.name));
  return {
    finding: {
      analyzer: finding.analyzer,
      severity: finding.severity,
      surface: 'kubernetes',
      title: cleanText(finding.title),
      objects: workload.kind === 'Pod' ? podRefs : [workload.ref, ...podRefs],
      evidence: finding.evidence.map((line) => cleanText(line)),
    },
    affected: pods.length,
    rolloutCorrelated: rolloutExplains(link),
  };
}

/**
 * Which container failed, when the workload's name alone does not say: an init
 * container, or one of several app containers (a sidecar beside the app).
 * Empty when the pods run one app container and it is the one that failed.
 */
export function failedContainerPhrase(pods: readonly PodSummary[], failed: readonly ContainerSummary[]): string {
  const names = [...new Set(failed.map((c) => cleanText(c.name, 63)))].sort(compareText);
  if (names.length === 0) return '';
  const list = names.length <= 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`;
  if (failed.every((c) => c.init)) return `: init container${names.length > 1 ? 's' : ''} ${list}`;
  const appContainers = Math.max(0, ...pods.map((p) => p.containers.filter((c) => !c.init).length));
  return appContainers > 1 ? `: container${names.length > 1 ? 's' : ''} ${list}` : '';
}

/**
 * The closing step every per-workload analyzer shares: in each namespace, the
 * pods showing the failure mode, grouped under the workload that owns them, one
 * assessment per workload, so ten crashing replicas are one finding.
 */
export function assessPerWorkload<P extends PodLike>(
  podsOf: (ns: NamespaceEvidence, incident: IncidentRef) => readonly P[],
  assessGroup: (ns: NamespaceEvidence, group: WorkloadGroup<P>, incident: IncidentRef) => Assessment,
): Assessor {
  return (input) =>
    (input.kubernetes?.namespaces ?? []).flatMap((ns) =>
      groupByWorkload(ns, podsOf(ns, input.incident)).map((group) => assessGroup(ns, group, input.incident)),
    );
}

/** The pods of a namespace with at least one container in the state `matches` picks out. */
export function podsWithContainer(matches: (container: PodSummary['containers'][number]) => boolean) {
  return (ns: NamespaceEvidence): PodSummary[] => ns.pods.filter((pod) => pod.containers.some(matches));
}
