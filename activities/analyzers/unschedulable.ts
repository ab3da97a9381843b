// Pods the scheduler cannot place: too little CPU or memory, taints, affinity,
// volume zones. The scheduler's own message names the constraint, so it is
// cited as is (cleaned and truncated).
import type { EventSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../untrusted-text.js';
import {
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  groupByWorkload,
  parseTime,
  plural,
  rolloutLink,
  titleSuffixFor,
  workloadOfPod,
  type Workload,
  type WorkloadGroup,
  workloadAssessment,
} from './workloads.js';

export const UNSCHEDULABLE_ANALYZER = 'kubernetes.unschedulable';

const TITLE_MESSAGE_LIMIT = 160;

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

function eventLine(pods: readonly PendingPod[]): string[] {
  const events = pods.flatMap((p) => p.events);
  if (events.length === 0) return [];
  const times = events.flatMap((e) => {
    const ms = parseTime(e.lastSeen);
    return ms === undefined ? [] : [ms];
  });
  const seen = events.reduce((sum, e) => sum + (Number.isFinite(e.count) && e.count > 0 ? e.count : 1), 0);
  const podsWithEvents = pods.filter((p) => p.events.length > 0).length;
  const last = times.length > 0 ? `, last at ${new Date(Math.max(...times)).toISOString().replace(/\.000Z$/, 'Z')}` : '';
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

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<PendingPod>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const messages = schedulerMessages(pods);
  const [message] = messages;
  const link = rolloutLink(ns, group, incident);
  const critical = allReplicasPending(ns, workload, pods);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const cause = message !== undefined ? `: ${cleanText(message, TITLE_MESSAGE_LIMIT)}` : '';
  const evidence = [
    `${plural(pods.length, 'pod')} pending, not scheduled; ${describeWorkloadHealth(workload)}${critical ? '; no replica is running' : ''}`,
    ...(message !== undefined
      ? [`scheduler: ${message}${messages.length > 1 ? ` (and ${plural(messages.length - 1, 'other message')})` : ''}`]
      : []),
    ...eventLine(pods),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: UNSCHEDULABLE_ANALYZER,
    severity: critical ? 'critical' : 'warning',
    title: `${subject} unschedulable${titleSuffixFor(link)}${cause}`,
    evidence: evidence,
  });
}

export const assessUnschedulable: Assessor = (input) => {
  const namespaces = input.kubernetes?.namespaces ?? [];
  return namespaces.flatMap((ns) =>
    groupByWorkload(ns, pendingPods(ns)).map((group) => assessGroup(ns, group, input.incident)),
  );
};

export const unschedulableAnalyzer = asAnalyzer(assessUnschedulable);
