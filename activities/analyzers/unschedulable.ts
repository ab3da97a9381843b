// Pods the scheduler cannot place: too little CPU or memory, taints, affinity,
// volume zones. The scheduler's own message names the constraint, so it is
// cited as is (cleaned and truncated). With the Nodes read, the constraint no
// node satisfies is named precisely (node-constraints.ts).
import type { EventSummary, IncidentRef, NamespaceEvidence, NodesEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { unmetConstraint } from './node-constraints.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  DEFAULT_ROLLOUT_WINDOW_MINUTES,
  describeLead,
  describeRolloutLink,
  describeWorkloadHealth,
  eventCount,
  isoSeconds,
  lastAtSuffix,
  parseTime,
  plural,
  replicaSetOfPod,
  rolloutExplains,
  rolloutLink,
  titleSuffixFor,
  type Workload,
  workloadAssessment,
  type WorkloadGroup,
  workloadOfPod,
} from './workloads.js';

export const UNSCHEDULABLE_ANALYZER = 'kubernetes.unschedulable';

const TITLE_MESSAGE_LIMIT = 160;

/**
 * The deployment controller's ScalingReplicaSet message: "Scaled up replica set
 * <name> from <old> to <new>" in newer releases, "Scaled up replica set
 * <name> to <new>" in older ones. Anchored, with a ReplicaSet name and counts of
 * bounded length, so no other text passes for a scale-up.
 */
const SCALED_UP = /^Scaled up replica set ([a-z0-9][a-z0-9.-]{0,252}) (?:from (\d{1,6}) )?to (\d{1,6})$/;
/** The same message for a ReplicaSet made smaller: during a rollout or rollback, the old side. */
const SCALED_DOWN = /^Scaled down replica set ([a-z0-9][a-z0-9.-]{0,252}) (?:from \d{1,6} )?to \d{1,6}$/;

/** Pods are created right after the scale that asks for them; this absorbs clock skew between controllers. */
const CREATED_AFTER_SCALE_SKEW_MS = 60_000;

/** A deployment's replica count raised shortly before the incident. */
interface ScaleUp {
  replicaSet: string;
  from?: number;
  to: number;
  at: number;
  minutesBefore: number;
}

/** A pending pod, listed in the evidence or known only from its FailedScheduling events. */
interface PendingPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  events: EventSummary[];
}

function isUnschedulable(pod: PodSummary): boolean {
  return pod.unscheduled?.reason === 'Unschedulable';
}

function isFailedScheduling(event: EventSummary): boolean {
  return event.reason === 'FailedScheduling' && event.object.kind === 'Pod';
}

/**
 * Whether a pod named by an event may exist without being listed. Pods are
 * listed unhealthy first, so once a healthy pod is listed, or nothing was
 * omitted, a missing pod was deleted or has been scheduled since the event.
 */
function unlistedPodsMayBePending(ns: NamespaceEvidence): boolean {
  return ns.podsOmitted > 0 && ns.pods.every((pod) => !pod.ready);
}

function pendingPods(ns: NamespaceEvidence): PendingPod[] {
  const byName = new Map<string, PendingPod>();
  for (const pod of ns.pods.filter(isUnschedulable)) {
    const pending: PendingPod = { name: pod.name, pod, events: [] };
    if (pod.replicaSet !== undefined) pending.replicaSet = pod.replicaSet;
    byName.set(pod.name, pending);
  }
  const listed = new Set(ns.pods.map((pod) => pod.name));
  for (const event of ns.events.filter(isFailedScheduling)) {
    const existing = byName.get(event.object.name);
    if (existing) existing.events.push(event);
    else if (!listed.has(event.object.name) && unlistedPodsMayBePending(ns)) {
      byName.set(event.object.name, { name: event.object.name, events: [event] });
    }
  }
  return [...byName.values()];
}

/** Current pod conditions first: events may describe an earlier attempt. */
function schedulerMessages(pods: readonly PendingPod[]): string[] {
  const counts = new Map<string, number>();
  const add = (message: string | undefined, weight: number) => {
    const text = cleanText(message);
    if (text !== '') counts.set(text, (counts.get(text) ?? 0) + weight);
  };
  for (const pending of pods) {
    add(pending.pod?.unscheduled?.message, 1_000);
    for (const event of pending.events) add(event.message, 1);
  }
  return [...counts.entries()].sort(([a, x], [b, y]) => y - x || compareText(a, b)).map(([message]) => message);
}

/** The pods' nodeSelector, when the scheduler says no node matched it: the label an engineer has to fix. */
function selectorNoNodeMatches(pods: readonly PendingPod[], message: string | undefined): string | undefined {
  // Only when every node failed on the selector ("0/3 nodes are available: 3 node(s) didn't match…"):
  // with some nodes short of CPU as well, the selector is not the whole story.
  const counts =
    message === undefined
      ? null
      : /^0\/(\d+) nodes are available: (\d+) node\(s\) didn't match Pod's node affinity\/selector/.exec(message);
  if (!counts || counts[1] !== counts[2]) return undefined;
  const selectors = new Set(
    pods.flatMap((p) => (p.pod?.unscheduled?.nodeSelector ? [cleanText(p.pod.unscheduled.nodeSelector, 120)] : [])),
  );
  return selectors.size === 1 ? [...selectors][0] : undefined;
}

function eventLine(pods: readonly PendingPod[]): string[] {
  const events = pods.flatMap((p) => p.events);
  if (events.length === 0) return [];
  const seen = events.reduce((sum, e) => sum + eventCount(e), 0);
  const podsWithEvents = pods.filter((p) => p.events.length > 0).length;
  const last = lastAtSuffix(events.map((e) => e.lastSeen));
  return [`FailedScheduling warning seen ${plural(seen, 'time')} on ${plural(podsWithEvents, 'pod')}${last}`];
}

/** Critical when nothing of the deployment runs: every replica is waiting for a node. */
function allReplicasPending(ns: NamespaceEvidence, workload: Workload, pending: readonly PendingPod[]): boolean {
  const d = workload.deployment;
  if (workload.kind !== 'Deployment' || !d || d.replicas <= 0 || d.ready > 0 || d.available > 0) return false;
  const pendingNames = new Set(pending.map((p) => p.name));
  const listedOfDeployment = ns.pods.filter((pod) => workloadOfPod(ns, pod).ref === workload.ref);
  return listedOfDeployment.every((pod) => pendingNames.has(pod.name));
}

/** A ScalingReplicaSet message that raised a ReplicaSet's size; undefined for a scale-down or any other text. */
function parseScaleUp(message: string): Pick<ScaleUp, 'replicaSet' | 'from' | 'to'> | undefined {
  const match = SCALED_UP.exec(cleanText(message));
  if (!match) return undefined;
  const [, replicaSet, from, to] = match;
  const scale: Pick<ScaleUp, 'replicaSet' | 'from' | 'to'> = { replicaSet: replicaSet!, to: Number(to) };
  if (from === undefined) return scale;
  scale.from = Number(from);
  return scale.from < scale.to ? scale : undefined;
}

/**
 * The deployment's newest scale-up inside the window before the incident. A
 * rollout scales its new ReplicaSet up step by step too, so a step that
 * starts from zero, or that grows a ReplicaSet created within a window before
 * it, belongs to the rollout, not to a change of the replica count. A
 * rollback grows an old ReplicaSet the same way while it shrinks the newer
 * one, so a step taken while a sibling was scaled down is not a scale-up
 * either. As with rollouts, a scale-up after the incident opened is more
 * likely a reaction to it than its cause.
 */
function recentScaleUp(ns: NamespaceEvidence, workload: Workload, incident: IncidentRef): ScaleUp | undefined {
  const incidentAt = parseTime(incident.createdAt);
  if (workload.kind !== 'Deployment' || incidentAt === undefined) return undefined;
  const windowMs = DEFAULT_ROLLOUT_WINDOW_MINUTES * 60_000;
  const scaling = ns.events.filter(
    (e) => e.reason === 'ScalingReplicaSet' && e.object.kind === 'Deployment' && e.object.name === workload.name,
  );
  const inWindow = (at: number | undefined): at is number => at !== undefined && incidentAt - at >= 0 && incidentAt - at <= windowMs;
  const shrunk = new Set(
    scaling.flatMap((e) => {
      const match = SCALED_DOWN.exec(cleanText(e.message));
      return match && inWindow(parseTime(e.lastSeen)) ? [match[1]!] : [];
    }),
  );
  const candidates = scaling.flatMap((event): ScaleUp[] => {
    const at = parseTime(event.lastSeen);
    const scale = parseScaleUp(event.message);
    if (!inWindow(at) || !scale || scale.from === 0) return [];
    if ([...shrunk].some((rs) => rs !== scale.replicaSet)) return [];
    const created = parseTime(ns.replicaSets.find((rs) => rs.name === scale.replicaSet)?.createdAt);
    if (created !== undefined && at - created < windowMs) return [];
    return [{ ...scale, at, minutesBefore: Math.round((incidentAt - at) / 60_000) }];
  });
  return candidates.sort((a, b) => b.at - a.at || b.to - a.to || compareText(a.replicaSet, b.replicaSet))[0];
}

/**
 * The scale-up explains the pending pods when they are the pods it asked for:
 * all of the ReplicaSet it grew, none created before it, no more of them than
 * it added, and the deployment not scaled back below it since.
 */
function scaleUpExplains(ns: NamespaceEvidence, workload: Workload, pods: readonly PendingPod[], scale: ScaleUp): boolean {
  if (workload.deployment && workload.deployment.replicas < scale.to) return false;
  if (scale.from !== undefined && pods.length > scale.to - scale.from) return false;
  return pods.every((pending) => {
    // A pod known only from its events is matched by its generated name when its ReplicaSet is not listed.
    const replicaSet = pending.replicaSet ?? replicaSetOfPod(ns, pending)?.name;
    if (replicaSet !== undefined ? replicaSet !== scale.replicaSet : !pending.name.startsWith(`${scale.replicaSet}-`)) return false;
    const created = parseTime(pending.pod?.createdAt);
    return created === undefined || created >= scale.at - CREATED_AFTER_SCALE_SKEW_MS;
  });
}

function describeScale(scale: ScaleUp): string {
  return scale.from !== undefined ? `from ${scale.from} to ${scale.to} replicas` : `to ${scale.to} replicas`;
}

function describeScaleUp(scale: ScaleUp): string {
  const at = isoSeconds(scale.at);
  return `scaled up ${describeScale(scale)} ${describeLead(scale.minutesBefore)} (ScalingReplicaSet of ReplicaSet ${cleanText(scale.replicaSet, 253)} at ${at})`;
}

function assessGroup(
  ns: NamespaceEvidence,
  group: WorkloadGroup<PendingPod>,
  incident: IncidentRef,
  nodes: NodesEvidence | undefined,
): Assessment {
  const { workload, pods } = group;
  const messages = schedulerMessages(pods);
  const [message] = messages;
  const link = rolloutLink(ns, group, incident);
  const scale = recentScaleUp(ns, workload, incident);
  // A rollout that explains the pods keeps the title; the scale-up stays in the evidence.
  const scaleExplains = scale !== undefined && !rolloutExplains(link) && scaleUpExplains(ns, workload, pods, scale);
  const critical = allReplicasPending(ns, workload, pods);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const unmet = unmetConstraint(
    pods.map((p) => p.pod),
    nodes,
  );
  const selector = unmet ? undefined : selectorNoNodeMatches(pods, message);
  const cause = `${unmet ? `: ${unmet.title}` : ''}${selector ? `: no node matches nodeSelector ${selector}` : ''}${message !== undefined ? `: ${cleanText(message, TITLE_MESSAGE_LIMIT)}` : ''}`;
  const evidence = [
    ...(unmet ? unmet.evidence : []),
    `${plural(pods.length, 'pod')} pending, not scheduled; ${describeWorkloadHealth(workload)}${critical ? '; no replica is running' : ''}`,
    ...(message !== undefined
      ? [`scheduler: ${message}${messages.length > 1 ? ` (and ${plural(messages.length - 1, 'other message')})` : ''}`]
      : []),
    ...eventLine(pods),
    ...(link ? [describeRolloutLink(link)] : []),
    ...(scale ? [describeScaleUp(scale)] : []),
  ];
  const suffix = scaleExplains ? ` since the scale-up ${describeScale(scale)}, ${describeLead(scale.minutesBefore)}` : titleSuffixFor(link);
  return workloadAssessment(ns, group, link, {
    analyzer: UNSCHEDULABLE_ANALYZER,
    severity: critical ? 'critical' : 'warning',
    title: `${subject} unschedulable${suffix}${cause}`,
    evidence: evidence,
  });
}

export const assessUnschedulable: Assessor = (input) =>
  assessPerWorkload(pendingPods, (ns, group, incident) => assessGroup(ns, group, incident, input.kubernetes?.nodes))(input);

export const unschedulableAnalyzer = asAnalyzer(assessUnschedulable);
