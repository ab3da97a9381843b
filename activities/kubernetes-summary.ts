// Turns listed Kubernetes objects into the compact evidence of model.ts. Pure
// functions over @kubernetes/client-node's model types, so they are table-tested
// without a cluster. What is "notable" follows what an on-call engineer looks
// for first: pods that cannot run, then pods that cannot serve, then pods that
// have been restarting. The same goes for logs: the failed run's log of the few
// containers that crashed, and one quiet replica's own, as a bounded and redacted tail.
import { createHmac, randomBytes } from 'node:crypto';
import type {
  CoreV1Event,
  V1Container,
  V1ContainerStatus,
  V1ControllerRevision,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Endpoints,
  V1Job,
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1Service,
  V2HorizontalPodAutoscaler,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { NODE_PRESSURE_REASONS } from './analyzers/evictions.js';
import { NODE_DOWN_REASONS } from './analyzers/node-not-ready.js';
import { EVIDENCE_LIMITS } from './evidence-bounds.js';
import { evidenceText } from '../config/untrusted-text.js';
import { tolerationText } from './kubernetes-nodes.js';
import { redactLogLines } from '../config/log-redaction.js';
import { summarizeHorizontalPodAutoscalers, summarizePersistentVolumeClaims } from './kubernetes-autoscaling-storage.js';
import type {
  ContainerSummary,
  ControllerRevisionSummary,
  CronJobSummary,
  DaemonSetSummary,
  DeploymentSummary,
  EndpointsSummary,
  EventSummary,
  JobSummary,
  LogTail,
  NamespaceEvidence,
  NetworkPolicySummary,
  OptionalRead,
  PodSummary,
  ReplicaSetSummary,
  ServiceSummary,
  StatefulSetSummary,
} from './model.js';
import { printableLine } from '../config/printable-text.js';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Set by the StatefulSet and DaemonSet controllers on their pods: which ControllerRevision the pod was made from. */
const REVISION_HASH_LABEL = 'controller-revision-hash';

/** Waiting reasons that mean the container cannot run as configured, with their rank. */
const BLOCKING_WAITING: Record<string, number> = {
  CrashLoopBackOff: 100,
  ImagePullBackOff: 95,
  ErrImagePull: 95,
  ErrImageNeverPull: 95,
  InvalidImageName: 95,
  CreateContainerConfigError: 95,
  CreateContainerError: 90,
  RunContainerError: 90,
};

/** Normal events worth keeping: they date a rollout or a scale change. */
const SCALING_REASONS = new Set(['ScalingReplicaSet', 'SuccessfulCreate', 'SuccessfulDelete']);
const SCALING_KINDS = new Set(['Deployment', 'ReplicaSet']);
/**
 * A scale-up creates a pod per replica, each with its SuccessfulCreate event;
 * the one ScalingReplicaSet event says what changed, so it is kept first.
 */
const SCALE_CHANGE_REASON = 'ScalingReplicaSet';

type Timestamp = Date | string | undefined | null;

function toMs(t: Timestamp): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function toIso(t: Timestamp): string | undefined {
  const ms = toMs(t);
  return ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

const short = (s: string) => evidenceText(s, EVIDENCE_LIMITS.shortTextChars);
const text = (s: string) => evidenceText(s, EVIDENCE_LIMITS.textChars);

function parseRevision(annotations: Record<string, string> | undefined): number | undefined {
  const raw = annotations?.[REVISION_ANNOTATION];
  return raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
}

// ---- pods -------------------------------------------------------------------

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function containerSummary(status: V1ContainerStatus, pod: V1Pod, init: boolean): ContainerSummary {
  const specs = init ? pod.spec?.initContainers : pod.spec?.containers;
  const spec = specs?.find((c) => c.name === status.name);
  const summary: ContainerSummary = {
    name: short(status.name),
    // The spec's image is what was asked for (the tag a rollout changed); status may hold a resolved digest.
    image: short(spec?.image ?? status.image ?? ''),
    ready: status.ready === true,
    restartCount: status.restartCount ?? 0,
  };
  // A native sidecar (an init container with restartPolicy Always) runs beside the app, not before it.
  if (init && spec?.restartPolicy !== 'Always') summary.init = true;
  const waiting = status.state?.waiting;
  if (waiting) {
    summary.waiting = { reason: short(waiting.reason ?? 'Waiting') };
    if (waiting.message) summary.waiting.message = text(waiting.message);
  }
  // A container that is terminated now (restartPolicy Never, failed init) has its latest exit in `state`.
  if (status.state?.terminated) summary.exited = true;
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  if (terminated) {
    summary.lastTerminated = {};
    if (terminated.reason) summary.lastTerminated.reason = short(terminated.reason);
    if (typeof terminated.exitCode === 'number') summary.lastTerminated.exitCode = terminated.exitCode;
    const finishedAt = toIso(terminated.finishedAt);
    if (finishedAt) summary.lastTerminated.finishedAt = finishedAt;
    // Written by the runtime (exec failures) or by the process itself (terminationMessagePath,
    // or its log's tail): cleaned and redacted like a log line, and its end kept, which says why it stopped.
    const message = terminated.message
      ? evidenceText(terminated.message.replace(TERMINAL_ESCAPE, ''), EVIDENCE_LIMITS.textChars, 'end')
      : '';
    if (message !== '') summary.lastTerminated.message = message;
  }
  const memory = spec?.resources?.limits?.['memory'];
  if (memory !== undefined) summary.memoryLimit = short(String(memory));
  return summary;
}

/** Init containers only matter while they block the pod: waiting, running, or failed. */
function initContainerMatters(status: V1ContainerStatus): boolean {
  const done = status.state?.terminated;
  return !(done && done.exitCode === 0);
}

interface RankedPod {
  summary: PodSummary;
  rank: number;
  restarts: number;
  createdMs: number;
}

function rankPod(summary: PodSummary): number {
  const phase = summary.phase;
  let rank = 0;
  for (const c of summary.containers) {
    if (c.waiting) rank = Math.max(rank, BLOCKING_WAITING[c.waiting.reason] ?? 40);
    if (c.lastTerminated?.reason === 'OOMKilled') rank = Math.max(rank, 92);
    if (c.restartCount > 0) rank = Math.max(rank, 30);
  }
  if (phase === 'Failed') rank = Math.max(rank, 85);
  if (summary.unscheduled) rank = Math.max(rank, 80);
  if (phase === 'Unknown') rank = Math.max(rank, 75);
  if (phase === 'Running' && !summary.ready) rank = Math.max(rank, 60);
  if (phase === 'Pending') rank = Math.max(rank, 50);
  // Completed pods (jobs) are not ready by design; they are never notable on their own.
  if (phase === 'Succeeded') return 0;
  return rank;
}

export function summarizePod(pod: V1Pod): { summary: PodSummary; rank: number } {
  const status = pod.status;
  const summary: PodSummary = {
    name: short(pod.metadata?.name ?? ''),
    phase: short(status?.phase ?? 'Unknown'),
    ready: isReady(pod),
    containers: [],
  };
  // Evicted pods are phase Failed like any crashed pod; only the reason tells them apart.
  if (status?.reason) summary.reason = short(status.reason);
  // The Evicted event expires after about an hour; the pod's message outlives it.
  if (status?.reason === 'Evicted' && status.message) summary.message = text(status.message);
  if (pod.spec?.nodeName) summary.node = short(pod.spec.nodeName);
  const createdAt = toIso(pod.metadata?.creationTimestamp);
  if (createdAt) summary.createdAt = createdAt;
  const labels = Object.entries(pod.metadata?.labels ?? {})
    .filter(([key]) => key !== 'pod-template-hash')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, EVIDENCE_LIMITS.labelsPerPod);
  if (labels.length > 0) summary.labels = Object.fromEntries(labels.map(([k, v]) => [short(k), short(v)]));
  const owner = pod.metadata?.ownerReferences?.find((r) => r.kind === 'ReplicaSet');
  if (owner) summary.replicaSet = short(owner.name);
  const job = pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job');
  if (job) summary.job = short(job.name);
  const claims = [
    ...new Set((pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []))),
  ];
  if (claims.length > 0) summary.claims = claims.slice(0, EVIDENCE_LIMITS.claimsPerPod).map(short);
  const statefulSet = pod.metadata?.ownerReferences?.find((r) => r.kind === 'StatefulSet');
  if (statefulSet) summary.statefulSet = short(statefulSet.name);
  const daemonSet = pod.metadata?.ownerReferences?.find((r) => r.kind === 'DaemonSet');
  if (daemonSet) summary.daemonSet = short(daemonSet.name);
  const revisionHash = pod.metadata?.labels?.[REVISION_HASH_LABEL];
  if ((statefulSet || daemonSet) && revisionHash) summary.controllerRevision = short(revisionHash);
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled && scheduled.status !== 'True') {
    summary.unscheduled = {};
    if (scheduled.reason) summary.unscheduled.reason = short(scheduled.reason);
    if (scheduled.message) summary.unscheduled.message = text(scheduled.message);
    const selector = Object.entries(pod.spec?.nodeSelector ?? {}).map(([key, value]) => `${key}=${value}`);
    if (selector.length > 0) summary.unscheduled.nodeSelector = text(selector.sort().join(', '));
    // Which node taints the pod accepts: with the Nodes read, the unschedulable analyzer names the one it does not.
    const tolerations = (pod.spec?.tolerations ?? []).slice(0, EVIDENCE_LIMITS.tolerationsPerPod).map((t) => short(tolerationText(t)));
    if (tolerations.length > 0) summary.unscheduled.tolerations = tolerations;
  }
  const containers = [
    ...(status?.initContainerStatuses ?? []).filter(initContainerMatters).map((s) => containerSummary(s, pod, true)),
    ...(status?.containerStatuses ?? []).map((s) => containerSummary(s, pod, false)),
  ];
  summary.containers = containers.slice(0, EVIDENCE_LIMITS.containersPerPod);
  return { summary, rank: rankPod(summary) };
}

/**
 * The workload a pod belongs to, for "one replica each": a ReplicaSet's pods
 * under their Deployment (the ReplicaSet is named `<deployment>-<pod-template-hash>`),
 * so the old and new revisions of one Deployment are one workload.
 */
function workloadKey(pod: V1Pod): string {
  const owner = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return `Pod/${pod.metadata?.name ?? ''}`;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const name = owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name;
  return `${owner.kind === 'ReplicaSet' && hash ? 'Deployment' : owner.kind}/${name}`;
}

export function summarizePods(pods: readonly V1Pod[]): Pick<NamespaceEvidence, 'podCounts' | 'pods' | 'podsOmitted'> {
  const podCounts: NamespaceEvidence['podCounts'] = { total: pods.length, notReady: 0, byPhase: {}, byWaitingReason: {} };
  const notable: RankedPod[] = [];
  // One running replica of each workload that shows no failure, whose own log may (currentLogTargets).
  const quiet = new Map<string, PodSummary>();
  const failing = new Set<string>();
  for (const pod of pods) {
    const { summary, rank } = summarizePod(pod);
    const workload = workloadKey(pod);
    if (rank > 0) failing.add(workload);
    else if (summary.phase === 'Running' && !quiet.has(workload)) quiet.set(workload, summary);
    podCounts.byPhase[summary.phase] = (podCounts.byPhase[summary.phase] ?? 0) + 1;
    if (summary.phase !== 'Succeeded' && !summary.ready) podCounts.notReady += 1;
    // Counted per pod, so "N pods in CrashLoopBackOff" reads right for multi-container pods.
    const reasons = new Set(summary.containers.flatMap((c) => (c.waiting ? [c.waiting.reason] : [])));
    for (const reason of reasons) podCounts.byWaitingReason[reason] = (podCounts.byWaitingReason[reason] ?? 0) + 1;
    if (rank > 0) {
      notable.push({
        summary,
        rank,
        restarts: summary.containers.reduce((n, c) => n + c.restartCount, 0),
        createdMs: toMs(summary.createdAt) ?? 0,
      });
    }
  }
  notable.sort(
    (a, b) =>
      b.rank - a.rank ||
      b.restarts - a.restarts ||
      b.createdMs - a.createdMs ||
      (a.summary.name < b.summary.name ? -1 : a.summary.name > b.summary.name ? 1 : 0),
  );
  const shown = notable.slice(0, EVIDENCE_LIMITS.podsPerNamespace);
  const representatives = [...quiet.entries()]
    .filter(([workload]) => !failing.has(workload))
    .slice(0, EVIDENCE_LIMITS.currentLogsPerTriage)
    .map(([, summary]): PodSummary => ({ ...summary, quiet: true }));
  return { podCounts, pods: [...shown.map((p) => p.summary), ...representatives], podsOmitted: notable.length - shown.length };
}

// ---- events -----------------------------------------------------------------

function lastSeenMs(e: CoreV1Event): number {
  return (
    toMs(e.lastTimestamp) ??
    toMs(e.series?.lastObservedTime) ??
    toMs(e.eventTime) ??
    toMs(e.firstTimestamp) ??
    toMs(e.metadata?.creationTimestamp) ??
    0
  );
}

function eventSummary(e: CoreV1Event, seenMs: number): EventSummary {
  const summary: EventSummary = {
    type: short(e.type ?? 'Normal'),
    reason: short(e.reason ?? ''),
    message: text(e.message ?? ''),
    object: { kind: short(e.involvedObject?.kind ?? ''), name: short(e.involvedObject?.name ?? '') },
    count: e.count ?? e.series?.count ?? 1,
  };
  if (seenMs > 0) summary.lastSeen = toIso(new Date(seenMs))!;
  return summary;
}

/** A node's own account of why its pods suffer: resource pressure, or the node going NotReady. Recorded as Normal events. */
function isNodeTrouble(e: CoreV1Event): boolean {
  return e.involvedObject?.kind === 'Node' && (NODE_PRESSURE_REASONS.has(e.reason ?? '') || NODE_DOWN_REASONS.has(e.reason ?? ''));
}

type Seen = { e: CoreV1Event; ms: number };

// Ties (same second) fall back to the event name, so the order does not depend on the server's.
function newestFirst(a: Seen, b: Seen): number {
  const an = a.e.metadata?.name ?? '';
  const bn = b.e.metadata?.name ?? '';
  return b.ms - a.ms || (an < bn ? -1 : an > bn ? 1 : 0);
}

/** The scale changes first, then the pod creations and deletions that follow them; shown newest first. */
function keptScalingEvents(scaling: readonly Seen[]): Seen[] {
  const changes = scaling.filter((s) => s.e.reason === SCALE_CHANGE_REASON).sort(newestFirst);
  const others = scaling.filter((s) => s.e.reason !== SCALE_CHANGE_REASON).sort(newestFirst);
  return [...changes, ...others].slice(0, EVIDENCE_LIMITS.scalingEventsPerNamespace).sort(newestFirst);
}

/**
 * Warning events newest first, then node pressure events of any type, then the
 * few Normal events that date a rollout or a scale change. Other Normal events
 * (Pulled, Created, Started, NodeHasSufficientMemory, ...) are dropped, not
 * counted: they are routine. `relevant`, when given, keeps only events about
 * those objects (`Kind/name`), which is how a label selector scopes events that
 * carry no labels.
 */
function isProbeKill(e: CoreV1Event): boolean {
  return e.reason === 'Killing' && /failed (?:liveness|startup) probe/.test(e.message ?? '');
}

export function summarizeEvents(
  events: readonly CoreV1Event[],
  relevant?: ReadonlySet<string>,
): Pick<NamespaceEvidence, 'events' | 'eventsOmitted'> {
  const warnings: Seen[] = [];
  const pressure: Seen[] = [];
  const scaling: Seen[] = [];
  for (const e of events) {
    const kind = e.involvedObject?.kind ?? '';
    if (relevant && !relevant.has(`${kind}/${e.involvedObject?.name ?? ''}`)) continue;
    // Before the Warning check: a flood of pod warnings must not crowd out the node's own account.
    if (isNodeTrouble(e)) pressure.push({ e, ms: lastSeenMs(e) });
    // The kubelet records killing a container for a failed probe as Normal; it is why a crash loop restarts.
    else if (e.type === 'Warning' || isProbeKill(e)) warnings.push({ e, ms: lastSeenMs(e) });
    else if (SCALING_KINDS.has(kind) && SCALING_REASONS.has(e.reason ?? '')) scaling.push({ e, ms: lastSeenMs(e) });
  }
  warnings.sort(newestFirst);
  pressure.sort(newestFirst);
  const w = warnings.slice(0, EVIDENCE_LIMITS.warningEventsPerNamespace);
  const p = pressure.slice(0, EVIDENCE_LIMITS.nodePressureEventsPerNamespace);
  const s = keptScalingEvents(scaling);
  return {
    events: [...w, ...p, ...s].map(({ e, ms }) => eventSummary(e, ms)),
    eventsOmitted: warnings.length - w.length + (pressure.length - p.length) + (scaling.length - s.length),
  };
}

// ---- workloads --------------------------------------------------------------

function templateImages(spec: { containers?: { image?: string }[] } | undefined): string[] {
  return [...new Set((spec?.containers ?? []).map((c) => short(c.image ?? '')))].slice(0, EVIDENCE_LIMITS.imagesPerWorkload);
}

function deploymentSummary(d: V1Deployment): DeploymentSummary {
  const summary: DeploymentSummary = {
    name: short(d.metadata?.name ?? ''),
    replicas: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    images: templateImages(d.spec?.template?.spec),
    conditions: (d.status?.conditions ?? []).slice(0, EVIDENCE_LIMITS.conditionsPerDeployment).map((c) => ({
      type: short(c.type),
      status: short(c.status),
      ...(c.reason ? { reason: short(c.reason) } : {}),
      ...(c.message ? { message: text(c.message) } : {}),
    })),
  };
  const revision = parseRevision(d.metadata?.annotations);
  if (revision !== undefined) summary.revision = revision;
  return summary;
}

function deploymentUnhealthy(d: DeploymentSummary): boolean {
  return d.available < d.replicas || d.updated < d.replicas || d.conditions.some((c) => c.status === 'False');
}

/** Unhealthy deployments first, then by name; at most the configured number. */
export function summarizeDeployments(deployments: readonly V1Deployment[]): DeploymentSummary[] {
  return deployments
    .map(deploymentSummary)
    .sort((a, b) => Number(deploymentUnhealthy(b)) - Number(deploymentUnhealthy(a)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, EVIDENCE_LIMITS.deploymentsPerNamespace);
}

function templateMemoryLimits(
  spec: { containers?: { name?: string; resources?: { limits?: Record<string, unknown> } }[] } | undefined,
): Record<string, string> {
  const limits: Record<string, string> = {};
  for (const c of (spec?.containers ?? []).slice(0, EVIDENCE_LIMITS.imagesPerWorkload)) {
    const limit = c.resources?.limits?.memory;
    if (c.name && limit !== undefined && limit !== null) limits[short(c.name)] = short(String(limit));
  }
  return limits;
}

// Per process, never stored: digests compare within one collection and reveal nothing outside it.
const TEMPLATE_KEY = randomBytes(32);

function digest(value: unknown): string {
  return createHmac('sha256', TEMPLATE_KEY)
    .update(JSON.stringify(value ?? null))
    .digest('hex')
    .slice(0, 16);
}

/** What a rollout can change in a container, each part digested on its own so the diff can name it. */
function containerParts(c: V1Container): Record<string, unknown> {
  return {
    image: c.image,
    'command and args': [c.command, c.args],
    env: [c.env, c.envFrom],
    resources: c.resources,
    probes: [c.livenessProbe, c.readinessProbe, c.startupProbe],
    'volume mounts': c.volumeMounts,
  };
}

function templateDigests(spec: V1PodSpec | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of (spec?.containers ?? []).slice(0, EVIDENCE_LIMITS.imagesPerWorkload)) {
    for (const [part, value] of Object.entries(containerParts(c))) out[`${short(c.name)}: ${part}`] = digest(value);
  }
  for (const c of (spec?.initContainers ?? []).slice(0, EVIDENCE_LIMITS.imagesPerWorkload))
    out[`init container ${short(c.name)}`] = digest(c);
  if (spec?.volumes) out['volumes'] = digest(spec.volumes);
  return out;
}

function replicaSetSummary(rs: V1ReplicaSet): { summary: ReplicaSetSummary; createdMs: number } {
  const summary: ReplicaSetSummary = {
    name: short(rs.metadata?.name ?? ''),
    replicas: rs.spec?.replicas ?? rs.status?.replicas ?? 0,
    ready: rs.status?.readyReplicas ?? 0,
    images: templateImages(rs.spec?.template?.spec),
  };
  const memoryLimits = templateMemoryLimits(rs.spec?.template?.spec);
  if (Object.keys(memoryLimits).length > 0) summary.memoryLimits = memoryLimits;
  const template = templateDigests(rs.spec?.template?.spec);
  if (Object.keys(template).length > 0) summary.template = template;
  const owner = rs.metadata?.ownerReferences?.find((r) => r.kind === 'Deployment');
  if (owner) summary.deployment = short(owner.name);
  const revision = parseRevision(rs.metadata?.annotations);
  if (revision !== undefined) summary.revision = revision;
  const createdAt = toIso(rs.metadata?.creationTimestamp);
  if (createdAt) summary.createdAt = createdAt;
  return { summary, createdMs: toMs(createdAt) ?? 0 };
}

/**
 * For each shown deployment, its newest few revisions: enough to see what a
 * rollout changed, without the whole revision history. ReplicaSets without a
 * Deployment owner are kept the same way, as their own group.
 */
export function summarizeReplicaSets(replicaSets: readonly V1ReplicaSet[], deployments: readonly DeploymentSummary[]): ReplicaSetSummary[] {
  const shown = new Set(deployments.map((d) => d.name));
  const groups = new Map<string, { summary: ReplicaSetSummary; createdMs: number }[]>();
  for (const rs of replicaSets) {
    const entry = replicaSetSummary(rs);
    const key = entry.summary.deployment;
    if (key !== undefined && !shown.has(key)) continue;
    const group = groups.get(key ?? '') ?? [];
    group.push(entry);
    groups.set(key ?? '', group);
  }
  const out: ReplicaSetSummary[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    group.sort((a, b) => (b.summary.revision ?? -1) - (a.summary.revision ?? -1) || b.createdMs - a.createdMs);
    out.push(...group.slice(0, EVIDENCE_LIMITS.revisionsPerDeployment).map((g) => g.summary));
  }
  return out;
}

// ---- StatefulSets, DaemonSets and their ControllerRevisions -------------------

const nonNegative = (n: unknown): number | undefined => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined);

/** A revision's pod template: both controllers store `{spec: {template}}` in its RawExtension data, which is untrusted like the rest. */
function revisionTemplate(revision: V1ControllerRevision): V1PodTemplateSpec | undefined {
  const data: unknown = revision.data;
  const spec = data !== null && typeof data === 'object' ? (data as { spec?: unknown }).spec : undefined;
  const template = spec !== null && typeof spec === 'object' ? (spec as { template?: unknown }).template : undefined;
  return template !== null && typeof template === 'object' ? (template as V1PodTemplateSpec) : undefined;
}

function controllerRevisionSummary(revision: V1ControllerRevision, number: number): ControllerRevisionSummary {
  const spec = revisionTemplate(revision)?.spec;
  const summary: ControllerRevisionSummary = {
    name: short(revision.metadata?.name ?? ''),
    revision: number,
    images: templateImages(spec),
  };
  const createdAt = toIso(revision.metadata?.creationTimestamp);
  if (createdAt) summary.createdAt = createdAt;
  const memoryLimits = templateMemoryLimits(spec);
  if (Object.keys(memoryLimits).length > 0) summary.memoryLimits = memoryLimits;
  const template = templateDigests(spec);
  if (Object.keys(template).length > 0) summary.template = template;
  return summary;
}

/** The owner's newest revisions (by number, then age), newest first: the two a rollout moves between. */
function revisionsOf(
  kind: 'StatefulSet' | 'DaemonSet',
  owner: string,
  revisions: readonly V1ControllerRevision[],
): ControllerRevisionSummary[] {
  return revisions
    .flatMap((r) => {
      const ref = r.metadata?.ownerReferences?.find((o) => o.controller !== false && o.kind === kind);
      const number = nonNegative(r.revision);
      return ref?.name === owner && number !== undefined ? [{ r, number, createdMs: toMs(r.metadata?.creationTimestamp) ?? 0 }] : [];
    })
    .sort((a, b) => b.number - a.number || b.createdMs - a.createdMs || byText(a.r.metadata?.name ?? '', b.r.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.revisionsPerWorkload)
    .map((e) => controllerRevisionSummary(e.r, e.number));
}

function statefulSetSummary(set: V1StatefulSet, revisions: readonly V1ControllerRevision[]): StatefulSetSummary {
  const name = set.metadata?.name ?? '';
  const strategy = set.spec?.updateStrategy;
  const summary: StatefulSetSummary = {
    name: short(name),
    replicas: nonNegative(set.spec?.replicas) ?? 1,
    ready: nonNegative(set.status?.readyReplicas) ?? 0,
    updated: nonNegative(set.status?.updatedReplicas) ?? 0,
    updateStrategy: short(strategy?.type ?? 'RollingUpdate'),
    images: templateImages(set.spec?.template?.spec),
    conditions: (set.status?.conditions ?? []).slice(0, EVIDENCE_LIMITS.conditionsPerDeployment).map((c) => ({
      type: short(c.type),
      status: short(c.status),
      ...(c.reason ? { reason: short(c.reason) } : {}),
      ...(c.message ? { message: text(c.message) } : {}),
    })),
    revisions: revisionsOf('StatefulSet', name, revisions),
  };
  if (set.status?.currentRevision) summary.currentRevision = short(set.status.currentRevision);
  if (set.status?.updateRevision) summary.updateRevision = short(set.status.updateRevision);
  const partition = nonNegative(strategy?.rollingUpdate?.partition);
  if (partition !== undefined && partition > 0) summary.partition = partition;
  return summary;
}

function statefulSetUnsettled(s: StatefulSetSummary): boolean {
  return (
    s.ready < s.replicas ||
    s.updated < s.replicas ||
    (s.updateRevision !== undefined && s.updateRevision !== s.currentRevision) ||
    s.conditions.some((c) => c.status === 'False')
  );
}

/** Unhealthy or mid-rollout StatefulSets first, then by name; each with its newest two revisions. */
export function summarizeStatefulSets(sets: readonly V1StatefulSet[], revisions: readonly V1ControllerRevision[]): StatefulSetSummary[] {
  return sets
    .map((set) => statefulSetSummary(set, revisions))
    .sort((a, b) => Number(statefulSetUnsettled(b)) - Number(statefulSetUnsettled(a)) || byText(a.name, b.name))
    .slice(0, EVIDENCE_LIMITS.statefulSetsPerNamespace);
}

function daemonSetSummary(set: V1DaemonSet, revisions: readonly V1ControllerRevision[]): DaemonSetSummary {
  const name = set.metadata?.name ?? '';
  const status = set.status;
  const desired = nonNegative(status?.desiredNumberScheduled) ?? 0;
  return {
    name: short(name),
    desired,
    ready: nonNegative(status?.numberReady) ?? 0,
    updated: nonNegative(status?.updatedNumberScheduled) ?? 0,
    unavailable: nonNegative(status?.numberUnavailable) ?? Math.max(0, desired - (nonNegative(status?.numberAvailable) ?? desired)),
    misscheduled: nonNegative(status?.numberMisscheduled) ?? 0,
    updateStrategy: short(set.spec?.updateStrategy?.type ?? 'RollingUpdate'),
    images: templateImages(set.spec?.template?.spec),
    revisions: revisionsOf('DaemonSet', name, revisions),
  };
}

function daemonSetUnsettled(d: DaemonSetSummary): boolean {
  return d.ready < d.desired || d.updated < d.desired || d.unavailable > 0 || d.misscheduled > 0;
}

/** Unhealthy or mid-rollout DaemonSets first, then by name; each with its newest two revisions. */
export function summarizeDaemonSets(sets: readonly V1DaemonSet[], revisions: readonly V1ControllerRevision[]): DaemonSetSummary[] {
  return sets
    .map((set) => daemonSetSummary(set, revisions))
    .sort((a, b) => Number(daemonSetUnsettled(b)) - Number(daemonSetUnsettled(a)) || byText(a.name, b.name))
    .slice(0, EVIDENCE_LIMITS.daemonSetsPerNamespace);
}

export interface NamespaceObjects {
  namespace: string;
  labelSelector?: string;
  pods: readonly V1Pod[];
  events: readonly CoreV1Event[];
  deployments: readonly V1Deployment[];
  replicaSets: readonly V1ReplicaSet[];
  /**
   * Events about Nodes from the namespace the kubelet records them in
   * (`default`), when the worker may read it. Only those about nodes this
   * namespace's pods run on are kept.
   */
  nodeEvents?: readonly CoreV1Event[];
  services?: readonly V1Service[];
  endpoints?: readonly V1Endpoints[];
  networkPolicies?: readonly V1NetworkPolicy[];
  jobs?: readonly V1Job[];
  cronJobs?: readonly V1CronJob[];
  horizontalPodAutoscalers?: readonly V2HorizontalPodAutoscaler[];
  persistentVolumeClaims?: readonly V1PersistentVolumeClaim[];
  statefulSets?: readonly V1StatefulSet[];
  daemonSets?: readonly V1DaemonSet[];
  /** Read with the StatefulSets and DaemonSets; summarised into theirs, never kept themselves. */
  controllerRevisions?: readonly V1ControllerRevision[];
  /** The optional reads that failed. */
  unavailable?: readonly OptionalRead[];
}

// ---- Services, Endpoints and NetworkPolicies ----------------------------------

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `key=value` terms of a label map, sorted and bounded. */
export function selectorTerms(labels: Record<string, string> | undefined): string[] {
  return Object.entries(labels ?? {})
    .map(([k, v]) => short(`${k}=${v}`))
    .sort(byText)
    .slice(0, EVIDENCE_LIMITS.selectorTerms);
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function peerSummary(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) return short(`ipBlock ${peer.ipBlock.cidr}`);
  const parts: string[] = [];
  if (peer.namespaceSelector) parts.push(`namespaces ${labelSelectorText(peer.namespaceSelector)}`);
  if (peer.podSelector) parts.push(`pods ${labelSelectorText(peer.podSelector)}`);
  return short(parts.join(' '));
}

function labelSelectorText(selector: V1LabelSelector): string {
  const terms = selectorTerms(selector.matchLabels);
  const expressions = (selector.matchExpressions ?? []).length > 0 ? ['(expressions)'] : [];
  return [...terms, ...expressions].join(',') || '*';
}

function portSummary(port: V1NetworkPolicyPort): string {
  return short(`${port.protocol ?? 'TCP'}/${port.port ?? '*'}${port.endPort !== undefined ? `-${port.endPort}` : ''}`);
}

function ruleSummary(peers: readonly V1NetworkPolicyPeer[] | undefined, ports: readonly V1NetworkPolicyPort[] | undefined) {
  return {
    peers: (peers ?? []).slice(0, EVIDENCE_LIMITS.peersPerRule).map(peerSummary),
    ports: (ports ?? []).slice(0, EVIDENCE_LIMITS.portsPerRule).map(portSummary),
  };
}

export function summarizeNetworkPolicies(policies: readonly V1NetworkPolicy[]): NetworkPolicySummary[] {
  return [...policies]
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.networkPoliciesPerNamespace)
    .map((p) => {
      const spec = p.spec;
      const ingress = spec?.ingress ?? [];
      const egress = spec?.egress ?? [];
      // Without policyTypes, Ingress always applies and Egress when egress rules are written.
      const policyTypes = spec?.policyTypes ?? ['Ingress', ...(egress.length > 0 ? ['Egress'] : [])];
      const summary: NetworkPolicySummary = {
        name: short(p.metadata?.name ?? ''),
        podSelector: selectorTerms(spec?.podSelector?.matchLabels),
        policyTypes: policyTypes.slice(0, 2).map(short),
        ingress: ingress.slice(0, EVIDENCE_LIMITS.rulesPerPolicy).map((r) => ruleSummary(r._from, r.ports)),
        egress: egress.slice(0, EVIDENCE_LIMITS.rulesPerPolicy).map((r) => ruleSummary(r.to, r.ports)),
      };
      if ((spec?.podSelector?.matchExpressions ?? []).length > 0) summary.podSelectorExpressions = true;
      return summary;
    });
}

export function summarizeServices(services: readonly V1Service[], pods: readonly V1Pod[]): ServiceSummary[] {
  return [...services]
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.servicesPerNamespace)
    .map((s) => {
      const summary: ServiceSummary = {
        name: short(s.metadata?.name ?? ''),
        ports: (s.spec?.ports ?? []).slice(0, EVIDENCE_LIMITS.portsPerRule).map((p) => short(`${p.port}/${p.protocol ?? 'TCP'}`)),
      };
      if (s.spec?.type) summary.type = short(s.spec.type);
      const selector = s.spec?.selector;
      if (selector && Object.keys(selector).length > 0 && s.spec?.type !== 'ExternalName') {
        summary.selector = selectorTerms(selector);
        summary.matchingPods = pods.filter(
          (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && selects(selector, p.metadata?.labels),
        ).length;
      }
      return summary;
    });
}

export function summarizeEndpoints(endpoints: readonly V1Endpoints[]): EndpointsSummary[] {
  return [...endpoints]
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.endpointsPerNamespace)
    .map((e) => ({
      name: short(e.metadata?.name ?? ''),
      readyAddresses: (e.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0),
      notReadyAddresses: (e.subsets ?? []).reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0),
    }));
}

// ---- Jobs and CronJobs ---------------------------------------------------------

const count = (n: number | undefined): number => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0);
const optionalCount = (n: number | undefined): number | undefined =>
  typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;

function isTrue(job: V1Job, type: string): boolean {
  return job.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/** Failed (the controller gave up, or is about to) before running before complete: what an on-call engineer opens first. */
function jobRank(job: V1Job): number {
  if (isTrue(job, 'Failed') || isTrue(job, 'FailureTarget')) return 3;
  if (isTrue(job, 'Complete') || isTrue(job, 'SuccessCriteriaMet')) return 1;
  return 2;
}

/** When the Job last changed: its newest condition, else its start, else its creation. */
function jobChangedMs(job: V1Job): number {
  const transitions = (job.status?.conditions ?? []).map((c) => toMs(c.lastTransitionTime) ?? 0);
  return Math.max(0, ...transitions) || toMs(job.status?.startTime) || toMs(job.metadata?.creationTimestamp) || 0;
}

function jobSummary(job: V1Job): JobSummary {
  const spec = job.spec;
  const status = job.status;
  const summary: JobSummary = {
    name: short(job.metadata?.name ?? ''),
    active: count(status?.active),
    succeeded: count(status?.succeeded),
    failed: count(status?.failed),
    conditions: (status?.conditions ?? []).slice(0, EVIDENCE_LIMITS.conditionsPerJob).map((c) => {
      const condition: JobSummary['conditions'][number] = { type: short(c.type), status: short(c.status) };
      if (c.reason) condition.reason = short(c.reason);
      if (c.message) condition.message = text(c.message);
      const at = toIso(c.lastTransitionTime);
      if (at) condition.lastTransitionTime = at;
      return condition;
    }),
  };
  const createdAt = toIso(job.metadata?.creationTimestamp);
  if (createdAt) summary.createdAt = createdAt;
  const completions = optionalCount(spec?.completions);
  if (completions !== undefined) summary.completions = completions;
  const parallelism = optionalCount(spec?.parallelism);
  if (parallelism !== undefined) summary.parallelism = parallelism;
  const backoffLimit = optionalCount(spec?.backoffLimit);
  if (backoffLimit !== undefined) summary.backoffLimit = backoffLimit;
  const deadline = optionalCount(spec?.activeDeadlineSeconds);
  if (deadline !== undefined) summary.activeDeadlineSeconds = deadline;
  const startTime = toIso(status?.startTime);
  if (startTime) summary.startTime = startTime;
  const completionTime = toIso(status?.completionTime);
  if (completionTime) summary.completionTime = completionTime;
  const owner = job.metadata?.ownerReferences?.find((r) => r.kind === 'CronJob');
  if (owner) summary.cronJob = short(owner.name);
  return summary;
}

export function summarizeJobs(jobs: readonly V1Job[]): JobSummary[] {
  return jobs
    .map((job) => ({ job, rank: jobRank(job), changedMs: jobChangedMs(job) }))
    .sort((a, b) => b.rank - a.rank || b.changedMs - a.changedMs || byText(a.job.metadata?.name ?? '', b.job.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.jobsPerNamespace)
    .map((j) => jobSummary(j.job));
}

/** A CronJob whose last success lags its last schedule has a failing newest run: those come first. */
export function summarizeCronJobs(cronJobs: readonly V1CronJob[]): CronJobSummary[] {
  const lagging = (c: V1CronJob) => {
    const scheduled = toMs(c.status?.lastScheduleTime);
    return scheduled !== undefined && scheduled > (toMs(c.status?.lastSuccessfulTime) ?? 0);
  };
  return [...cronJobs]
    .sort((a, b) => Number(lagging(b)) - Number(lagging(a)) || byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.cronJobsPerNamespace)
    .map((c) => {
      const summary: CronJobSummary = {
        name: short(c.metadata?.name ?? ''),
        schedule: short(c.spec?.schedule ?? ''),
        suspend: c.spec?.suspend === true,
        active: (c.status?.active ?? []).length,
      };
      const lastScheduleTime = toIso(c.status?.lastScheduleTime);
      if (lastScheduleTime) summary.lastScheduleTime = lastScheduleTime;
      const lastSuccessfulTime = toIso(c.status?.lastSuccessfulTime);
      if (lastSuccessfulTime) summary.lastSuccessfulTime = lastSuccessfulTime;
      return summary;
    });
}

/**
 * The pressure events about this namespace's nodes, less any the namespace's
 * own list already holds (when it is `default`). Only pressure: a node's other
 * warnings (ImageGCFailed, Rebooted, ...) would take the namespace's own
 * warning slots.
 */
function nodeEventsFor(objects: NamespaceObjects): CoreV1Event[] {
  const nodes = new Set(objects.pods.flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])));
  const key = (e: CoreV1Event) => `${e.metadata?.namespace ?? ''}/${e.metadata?.name ?? ''}`;
  const listed = new Set(objects.events.map(key));
  return (objects.nodeEvents ?? []).filter((e) => isNodeTrouble(e) && nodes.has(e.involvedObject.name ?? '') && !listed.has(key(e)));
}

export function summarizeNamespace(objects: NamespaceObjects): NamespaceEvidence {
  const pods = summarizePods(objects.pods);
  // With a label selector, events are kept only for the selected objects (events carry no labels),
  // and for the nodes those pods run on, whose pressure is what evicts them.
  let relevant: Set<string> | undefined;
  if (objects.labelSelector) {
    relevant = new Set([
      ...objects.pods.map((p) => `Pod/${p.metadata?.name ?? ''}`),
      ...objects.pods.flatMap((p) => (p.spec?.nodeName ? [`Node/${p.spec.nodeName}`] : [])),
      ...objects.deployments.map((d) => `Deployment/${d.metadata?.name ?? ''}`),
      ...objects.replicaSets.map((r) => `ReplicaSet/${r.metadata?.name ?? ''}`),
      // BackoffLimitExceeded and DeadlineExceeded are events about the Job, not its pods.
      ...(objects.jobs ?? []).map((j) => `Job/${j.metadata?.name ?? ''}`),
      ...(objects.cronJobs ?? []).map((c) => `CronJob/${c.metadata?.name ?? ''}`),
      // The HPA controller and the volume controller record their errors on the HPA and the claim.
      ...(objects.horizontalPodAutoscalers ?? []).map((h) => `HorizontalPodAutoscaler/${h.metadata?.name ?? ''}`),
      ...(objects.persistentVolumeClaims ?? []).map((c) => `PersistentVolumeClaim/${c.metadata?.name ?? ''}`),
      // FailedCreate of a StatefulSet's or DaemonSet's pod is an event about the controller's object.
      ...(objects.statefulSets ?? []).map((s) => `StatefulSet/${s.metadata?.name ?? ''}`),
      ...(objects.daemonSets ?? []).map((d) => `DaemonSet/${d.metadata?.name ?? ''}`),
    ]);
  }
  const events = summarizeEvents([...objects.events, ...nodeEventsFor(objects)], relevant);
  const deployments = summarizeDeployments(objects.deployments);
  return {
    namespace: objects.namespace,
    ...(objects.labelSelector ? { labelSelector: objects.labelSelector } : {}),
    ...pods,
    ...events,
    deployments,
    replicaSets: summarizeReplicaSets(objects.replicaSets, deployments),
    ...(objects.services ? { services: summarizeServices(objects.services, objects.pods) } : {}),
    ...(objects.endpoints ? { endpoints: summarizeEndpoints(objects.endpoints) } : {}),
    ...(objects.networkPolicies ? { networkPolicies: summarizeNetworkPolicies(objects.networkPolicies) } : {}),
    ...(objects.jobs ? { jobs: summarizeJobs(objects.jobs) } : {}),
    ...(objects.cronJobs ? { cronJobs: summarizeCronJobs(objects.cronJobs) } : {}),
    ...(objects.horizontalPodAutoscalers
      ? { horizontalPodAutoscalers: summarizeHorizontalPodAutoscalers(objects.horizontalPodAutoscalers) }
      : {}),
    ...(objects.persistentVolumeClaims ? { persistentVolumeClaims: summarizePersistentVolumeClaims(objects.persistentVolumeClaims) } : {}),
    ...(objects.statefulSets ? { statefulSets: summarizeStatefulSets(objects.statefulSets, objects.controllerRevisions ?? []) } : {}),
    ...(objects.daemonSets ? { daemonSets: summarizeDaemonSets(objects.daemonSets, objects.controllerRevisions ?? []) } : {}),
    ...(objects.unavailable && objects.unavailable.length > 0 ? { unavailable: [...objects.unavailable] } : {}),
  };
}

// ---- previous container logs --------------------------------------------------

/** A container whose log is worth reading, and the summary it goes into. */
export interface LogTarget {
  namespace: string;
  pod: string;
  container: ContainerSummary;
  /** The previous instance's log; false for a container that exited for good, whose own log holds its last run. */
  previous: boolean;
  /** Only lines this recent: a running container's log from days ago is not about this incident. */
  sinceSeconds?: number;
}

/**
 * 2 for a crash loop, 1 for a container that failed (an exit other than 0,
 * OOMKilled included) and restarted or exited for good, 0 otherwise. A
 * container that never failed has no failed run to read.
 */
function crashSeverity(c: ContainerSummary): number {
  const failedExit = c.lastTerminated !== undefined && c.lastTerminated.exitCode !== 0;
  if (c.exited) return failedExit ? 1 : 0;
  if (c.restartCount === 0) return 0;
  if (c.waiting?.reason === 'CrashLoopBackOff') return 2;
  return failedExit ? 1 : 0;
}

/**
 * The containers whose previous log is read, at most `max` per triage however
 * many pods crash: crash loops before other failures, in the pods' notability
 * order. Replicas of one workload crash the same way, so each workload's first
 * crash is taken before a second replica of any.
 */
export function previousLogTargets(
  namespaces: readonly NamespaceEvidence[],
  max: number = EVIDENCE_LIMITS.previousLogsPerTriage,
): LogTarget[] {
  const crashed = namespaces
    .flatMap((ns) =>
      ns.pods.flatMap((pod) =>
        pod.containers.map((container) => ({
          target: { namespace: ns.namespace, pod: pod.name, container, previous: container.exited !== true },
          severity: crashSeverity(container),
          workload: `${ns.namespace}/${pod.job ?? pod.replicaSet ?? pod.statefulSet ?? pod.daemonSet ?? pod.name}/${container.name}`,
        })),
      ),
    )
    .filter((c) => c.severity > 0)
    .sort((a, b) => b.severity - a.severity);
  const seen = new Set<string>();
  const firsts: LogTarget[] = [];
  const repeats: LogTarget[] = [];
  for (const c of crashed) {
    (seen.has(c.workload) ? repeats : firsts).push(c.target);
    seen.add(c.workload);
  }
  return [...firsts, ...repeats].slice(0, max);
}

/**
 * Running containers whose own log is read: one pod per workload that no
 * previous-log read already covers, unready pods first, app containers only,
 * at most `max` per triage. A service can fail (an unresolvable host, a
 * forbidden call) while its pods stay Running and Ready.
 */
const CURRENT_LOG_SECONDS = 3600;

export function currentLogTargets(
  namespaces: readonly NamespaceEvidence[],
  covered: readonly LogTarget[],
  max: number = EVIDENCE_LIMITS.currentLogsPerTriage,
): LogTarget[] {
  const workloadOf = (namespace: string, pod: PodSummary) =>
    `${namespace}/${pod.replicaSet ?? pod.job ?? pod.statefulSet ?? pod.daemonSet ?? pod.name}`;
  const podsByName = new Map(
    namespaces.flatMap((ns) => ns.pods.map((pod) => [`${ns.namespace}/${pod.name}`, workloadOf(ns.namespace, pod)])),
  );
  // A workload whose crash is already read has told its story.
  const seen = new Set(covered.map((t) => podsByName.get(`${t.namespace}/${t.pod}`) ?? `${t.namespace}/${t.pod}`));
  const running = namespaces.flatMap((ns) =>
    ns.pods.filter((pod) => pod.phase === 'Running').map((pod) => ({ ns, pod, workload: workloadOf(ns.namespace, pod) })),
  );
  // Stable: unready before ready, then the evidence's own order (most notable first).
  const ordered = [...running.filter((c) => !c.pod.ready), ...running.filter((c) => c.pod.ready)];
  const targets: LogTarget[] = [];
  for (const { ns, pod, workload } of ordered) {
    if (seen.has(workload)) continue;
    seen.add(workload);
    // The first app container is the app; later ones are usually injected sidecars (istio-proxy …).
    const container = pod.containers.find((c) => !c.init);
    if (container) targets.push({ namespace: ns.namespace, pod: pod.name, container, previous: false, sinceSeconds: CURRENT_LOG_SECONDS });
  }
  return targets.slice(0, max);
}

// Terminal escape sequences: CSI (colours, cursor moves, also as the 8-bit
// C1 byte), OSC (titles, hyperlinks; unterminated ones run to the end), the
// other string controls, charset designations and two-character escapes. They
// go whole: dropping only the ESC would leave "[31m" behind.
const TERMINAL_ESCAPE =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[()*+][ -~]|\u001b[ -~]/g;

/** What one read of a previous container's log returned. */
export interface PreviousLogRead {
  /** The answer body, decoded as UTF-8 (invalid bytes are already U+FFFD). */
  body: string;
  /** The answer stopped at limitBytes: its last line may be cut short, and newer lines are missing. */
  limitReached: boolean;
  /** Older lines exist that this read did not ask for, because a longer read was cut. */
  shortened: boolean;
}

/**
 * The log as evidence: each line stripped of escapes and control characters
 * (secrets split by them are joined again before redaction), redacted, cut to
 * the text bound; blank lines dropped; the newest lines kept.
 */
export function previousLogTail(read: PreviousLogRead): Extract<LogTail, { status: 'ok' }> {
  const lines = logLines(read);
  const cleaned = redactLogLines(lines);
  const kept = cleaned.filter((l) => l.text !== '').slice(-EVIDENCE_LIMITS.logLinesPerContainer);
  return {
    status: 'ok',
    lines: kept.map((l) => text(l.text)),
    truncated: read.limitReached || read.shortened || lines.length > EVIDENCE_LIMITS.logLinesPerContainer,
    redactions: kept.reduce((n, l) => n + l.redactions, 0),
  };
}

/** The answer's lines, stripped of escapes and control characters; not yet redacted. */
export function logLines(read: Pick<PreviousLogRead, 'body' | 'limitReached'>): string[] {
  const lines = read.body.split('\n');
  // A whole log ends with a newline. After the last one is either nothing, the
  // process's final write without a newline (kept), or a line the kubelet cut at
  // limitBytes (dropped: half a line may hold half a secret no pattern recognises).
  const last = lines.pop() ?? '';
  if (last !== '' && !read.limitReached) lines.push(last);
  return lines.map((line) => printableLine(line.replace(TERMINAL_ESCAPE, '')));
}
