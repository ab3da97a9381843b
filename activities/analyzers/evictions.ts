// Pods the kubelet evicted to reclaim memory or disk on their node, and the
// node pressure behind it. Evictions are about the node, not the workload, so
// every finding names the nodes involved.
import type { EventSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  eventCount,
  groupByWorkload,
  lastAtSuffix,
  plural,
  rolloutLink,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const EVICTIONS_ANALYZER = 'kubernetes.evictions';

/**
 * Node events that mean the kubelet is (about to start) evicting, and how a
 * finding names each. The kubelet records most of them as Normal events on the
 * Node (only EvictionThresholdMet is a Warning), so the evidence summariser
 * keeps Node events with these reasons whatever their type: this map is the
 * one list both read. The kubelet itself spells memory pressure
 * `NodeHasInsufficientMemory`; the other spelling is accepted too. A Map, not
 * an object literal: a reason is untrusted text, and `constructor` or
 * `__proto__` must not find anything.
 */
export const NODE_PRESSURE_REASONS: ReadonlyMap<string, string> = new Map([
  ['NodeHasMemoryPressure', 'memory pressure'],
  ['NodeHasInsufficientMemory', 'memory pressure'],
  ['NodeHasDiskPressure', 'disk pressure'],
  ['NodeHasInsufficientPID', 'PID pressure'],
  ['EvictionThresholdMet', 'eviction threshold met'],
]);

/**
 * The kubelet's eviction message starts "The node was low on resource: <name>."
 * (then, when known, "Threshold quantity: …, available: …."). Anchored, and the
 * name limited to what resource names look like (memory, ephemeral-storage,
 * pids, inodes…), so other text in the message cannot pass for a resource.
 */
const LOW_ON_RESOURCE = /^The node was low on resource: ([a-z][a-z0-9-]{0,39})\.(?: |$)/;

const MESSAGE_LIMIT = 160;

/** A pod evicted, listed in the evidence or known only from its `Evicted` events. */
interface EvictedPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  events: EventSummary[];
}

function isEvicted(pod: PodSummary): boolean {
  return pod.phase === 'Failed' && pod.reason === 'Evicted';
}

function isEvictedEvent(event: EventSummary): boolean {
  return event.type === 'Warning' && event.reason === 'Evicted' && event.object.kind === 'Pod';
}

function pressureOf(event: EventSummary): string | undefined {
  return event.object.kind === 'Node' ? NODE_PRESSURE_REASONS.get(event.reason) : undefined;
}

/** The resource the node ran short of, from the kubelet's eviction message; undefined for any other text. */
export function starvedResource(message: string | undefined): string | undefined {
  return LOW_ON_RESOURCE.exec(cleanText(message))?.[1];
}

function evictedPods(ns: NamespaceEvidence): EvictedPod[] {
  const listed = new Map(ns.pods.map((pod) => [pod.name, pod]));
  const byName = new Map<string, EvictedPod>();
  const entry = (name: string): EvictedPod => {
    const existing = byName.get(name);
    if (existing) return existing;
    const created: EvictedPod = { name, events: [] };
    const pod = listed.get(name);
    if (pod) {
      created.pod = pod;
      if (pod.replicaSet !== undefined) created.replicaSet = pod.replicaSet;
    }
    byName.set(name, created);
    return created;
  };
  for (const pod of ns.pods.filter(isEvicted)) entry(pod.name);
  // The event outlives the pod object when the controller deletes it, so an
  // event alone is enough: it is the kubelet's record of the eviction.
  for (const event of ns.events.filter(isEvictedEvent)) entry(event.object.name).events.push(event);
  return [...byName.values()];
}

function nodesOf(pods: readonly EvictedPod[]): string[] {
  return [...new Set(pods.flatMap((p) => (p.pod?.node ? [cleanText(p.pod.node, 253)] : [])))].sort(compareText);
}

function latest(events: readonly EventSummary[]): string {
  return lastAtSuffix(events.map((e) => e.lastSeen));
}

function messageLine(label: string, events: readonly EventSummary[]): string[] {
  const messages = [...new Set(events.map((e) => cleanText(e.message, MESSAGE_LIMIT)).filter((m) => m !== ''))].sort(compareText);
  const [message] = messages;
  if (message === undefined) return [];
  return [`${label}: ${message}${messages.length > 1 ? ` (and ${plural(messages.length - 1, 'other message')})` : ''}`];
}

/** Node name → the pressure events the namespace's evidence holds for it. */
function pressureByNode(ns: NamespaceEvidence): Map<string, EventSummary[]> {
  const byNode = new Map<string, EventSummary[]>();
  for (const event of ns.events) {
    if (pressureOf(event) === undefined) continue;
    byNode.set(event.object.name, [...(byNode.get(event.object.name) ?? []), event]);
  }
  return byNode;
}

/** Nodes named one per line in an eviction finding; the rest are counted in one line, so the lines after them still show. */
const STARVED_NODES_SHOWN = 3;

/**
 * What each node ran short of when it evicted the group's pods, read from the
 * kubelet's own eviction messages: it names node pressure even when the
 * evidence holds no event of the Node itself (the kubelet records those in
 * the `default` namespace, which a triage rarely covers).
 */
function starvedLines(pods: readonly EvictedPod[]): string[] {
  const byNode = new Map<string, { resources: Set<string>; pods: number }>();
  for (const pod of pods) {
    const resources = [pod.pod?.message, ...pod.events.map((e) => e.message)].flatMap((m) => starvedResource(m) ?? []);
    if (resources.length === 0) continue;
    const node = pod.pod?.node !== undefined ? cleanText(pod.pod.node, 253) : '';
    const entry = byNode.get(node) ?? { resources: new Set<string>(), pods: 0 };
    for (const resource of resources) entry.resources.add(resource);
    entry.pods += 1;
    byNode.set(node, entry);
  }
  const what = (resources: Iterable<string>) => [...resources].sort(compareText).join(', ');
  const unknown = byNode.get('');
  const known = [...byNode.entries()].filter(([node]) => node !== '').sort(([a], [b]) => compareText(a, b));
  const shown = known.slice(0, STARVED_NODES_SHOWN);
  const rest = known.slice(STARVED_NODES_SHOWN);
  return [
    ...shown.map(
      ([node, { resources, pods: count }]) => `node ${node} was low on ${what(resources)} when it evicted ${plural(count, 'pod')}`,
    ),
    ...(rest.length > 0
      ? [
          `${plural(rest.length, 'more node')} ${rest.length === 1 ? 'was' : 'were'} low on ${what(new Set(rest.flatMap(([, e]) => [...e.resources])))} when they evicted ${plural(
            rest.reduce((sum, [, e]) => sum + e.pods, 0),
            'pod',
          )}`,
        ]
      : []),
    ...(unknown
      ? [
          `the kubelet evicted ${plural(unknown.pods, 'pod')} from ${unknown.pods === 1 ? 'a node' : 'nodes'} low on ${what(unknown.resources)}`,
        ]
      : []),
  ];
}

function pressuresOf(events: readonly EventSummary[]): string[] {
  return [...new Set(events.flatMap((e) => pressureOf(e) ?? []))].sort(compareText);
}

function assessEvictedGroup(
  ns: NamespaceEvidence,
  group: WorkloadGroup<EvictedPod>,
  pressure: Map<string, EventSummary[]>,
  incident: IncidentRef,
): Assessment {
  const { workload, pods } = group;
  const nodes = nodesOf(pods);
  const events = pods.flatMap((p) => p.events);
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${plural(pods.length, 'pod')} of ${workload.label}`;
  const where = nodes.length === 0 ? '' : nodes.length === 1 ? ` from node ${nodes[0]}` : ` from nodes ${nodes.join(', ')}`;
  const seen = events.reduce((sum, e) => sum + eventCount(e), 0);
  const nodePressure = [...pressure.entries()]
    .filter(([node]) => nodes.includes(cleanText(node, 253)))
    .sort(([a], [b]) => compareText(a, b))
    .map(([node, list]) => `node ${cleanText(node, 253)} reported ${pressuresOf(list).join(', ')}`);
  const evidence = [
    `${plural(pods.length, 'pod')} evicted${where}; ${describeWorkloadHealth(workload)}`,
    ...(events.length > 0 ? [`Evicted warning seen ${plural(seen, 'time')}${latest(events)}`] : []),
    ...messageLine('kubelet', events),
    // The node's own events before what the eviction messages imply: they are the stronger account.
    ...nodePressure,
    ...starvedLines(pods),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: EVICTIONS_ANALYZER,
    // The controller replaces evicted pods; the pressure that evicts them is the thing to fix.
    severity: 'warning',
    title: `${subject} evicted${where}`,
    evidence,
  });
}

function assessNode(ns: NamespaceEvidence, node: string, events: readonly EventSummary[], evicted: readonly EvictedPod[]): Assessment {
  const name = cleanText(node, 253);
  const pressures = pressuresOf(events);
  const onNode = evicted.filter((p) => p.pod?.node === node);
  const evidence = [
    ...[...new Set(events.map((e) => e.reason))].sort(compareText).map((reason) => {
      const ofReason = events.filter((e) => e.reason === reason);
      const seen = ofReason.reduce((sum, e) => sum + eventCount(e), 0);
      return `${cleanText(reason, 60)} on node ${name} seen ${plural(seen, 'time')}${latest(ofReason)}`;
    }),
    ...messageLine('kubelet', events),
    ...(onNode.length > 0
      ? [`${plural(onNode.length, 'evicted pod')} of namespace ${cleanText(ns.namespace, 63)} ran on node ${name}`]
      : []),
  ];
  return {
    finding: {
      analyzer: EVICTIONS_ANALYZER,
      severity: 'warning',
      surface: 'kubernetes',
      title: cleanText(`node ${name} under pressure: ${pressures.join(', ')}`),
      // Nodes are cluster-scoped: no namespace in the reference.
      objects: [`Node/${name}`],
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: Math.max(1, onNode.length),
    rolloutCorrelated: false,
  };
}

export const assessEvictions: Assessor = (input) => {
  const namespaces = input.kubernetes?.namespaces ?? [];
  return namespaces.flatMap((ns) => {
    const evicted = evictedPods(ns);
    const pressure = pressureByNode(ns);
    return [
      ...groupByWorkload(ns, evicted).map((group) => assessEvictedGroup(ns, group, pressure, input.incident)),
      ...[...pressure.entries()].sort(([a], [b]) => compareText(a, b)).map(([node, events]) => assessNode(ns, node, events, evicted)),
    ];
  });
};

export const evictionsAnalyzer = asAnalyzer(assessEvictions);
