// Turns the listed Nodes into the compact, cluster-wide part of the Kubernetes
// evidence. Pure, like kubernetes-summary.ts. Which nodes are kept follows what
// an on-call engineer asks: the nodes our pods run on, the ones that are down
// or cordoned, and for a pod that cannot be placed the labels its nodeSelector
// asks for and the values the nodes carry instead.
import type { V1Node, V1Toleration } from '@kubernetes/client-node';
import { EVIDENCE_LIMITS } from './evidence-bounds.js';
import { evidenceText } from '../config/untrusted-text.js';
import type { NamespaceEvidence, NodeSummary, NodesEvidence } from './model.js';

/** The labels scheduling constraints usually name (zone spread, instance type, arch, node group). */
export const SCHEDULING_LABELS: readonly string[] = [
  'topology.kubernetes.io/zone',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'eks.amazonaws.com/nodegroup',
  'karpenter.sh/nodepool',
];

/** Conditions that are bad news when True (Ready is the other way round and kept on its own). */
const PRESSURE_CONDITIONS: readonly string[] = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

const short = (s: string) => evidenceText(s, EVIDENCE_LIMITS.shortTextChars);
const text = (s: string) => evidenceText(s, EVIDENCE_LIMITS.textChars);

function toIso(t: Date | string | undefined | null): string | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The `key=value` pairs of a pod summary's nodeSelector text (`a=b, c=d`). A
 * pair the summary cut short (ending in `…`) is left out rather than guessed.
 */
export function selectorPairs(nodeSelector: string | undefined): { key: string; value: string }[] {
  if (!nodeSelector) return [];
  return nodeSelector.split(', ').flatMap((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || pair.includes('…')) return [];
    return [{ key: pair.slice(0, eq), value: pair.slice(eq + 1) }];
  });
}

/** A toleration as the pod summary keeps it: `key=value:Effect` (Equal), `key:Effect` (Exists), `*` for an empty key or effect. */
export function tolerationText(t: V1Toleration): string {
  const key = t.key ? t.key : '*';
  const exists = t.operator === 'Exists' || !t.key;
  return `${key}${exists ? '' : `=${t.value ?? ''}`}:${t.effect ? t.effect : '*'}`;
}

function taintText(t: { key: string; value?: string; effect: string }): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

function readiness(node: V1Node): NodeSummary['ready'] {
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  // A node without a Ready condition has never reported: the node controller treats it as Unknown.
  if (!c) return { status: 'Unknown' };
  const ready: NodeSummary['ready'] = { status: short(c.status) };
  if (c.reason) ready.reason = short(c.reason);
  if (c.message) ready.message = text(c.message);
  const at = toIso(c.lastTransitionTime);
  if (at) ready.lastTransitionTime = at;
  return ready;
}

function nodeSummary(node: V1Node, labelKeys: readonly string[], pods: number): NodeSummary {
  const summary: NodeSummary = { name: short(node.metadata?.name ?? ''), ready: readiness(node) };
  const pressure = (node.status?.conditions ?? []).filter((c) => PRESSURE_CONDITIONS.includes(c.type) && c.status === 'True');
  if (pressure.length > 0) summary.pressure = pressure.map((c) => short(c.type));
  if (node.spec?.unschedulable === true) summary.unschedulable = true;
  const taints = (node.spec?.taints ?? []).slice(0, EVIDENCE_LIMITS.taintsPerNode).map((t) => short(taintText(t)));
  if (taints.length > 0) summary.taints = taints;
  const own = node.metadata?.labels ?? {};
  const labels = labelKeys.filter((k) => own[k] !== undefined).slice(0, EVIDENCE_LIMITS.labelsPerNode);
  if (labels.length > 0) summary.labels = Object.fromEntries(labels.map((k) => [short(k), short(own[k]!)]));
  const cpu = node.status?.allocatable?.cpu;
  const memory = node.status?.allocatable?.memory;
  if (cpu !== undefined || memory !== undefined) {
    summary.allocatable = {};
    if (cpu !== undefined) summary.allocatable.cpu = short(String(cpu));
    if (memory !== undefined) summary.allocatable.memory = short(String(memory));
  }
  if (pods > 0) summary.pods = pods;
  return summary;
}

/** Hosting our pods first, then down (not Ready), then cordoned, then under pressure; by name within each. */
function rank(summary: NodeSummary): number {
  return (
    ((summary.pods ?? 0) > 0 ? 8 : 0) +
    (summary.ready.status !== 'True' ? 4 : 0) +
    (summary.unschedulable ? 2 : 0) +
    ((summary.pressure ?? []).length > 0 ? 1 : 0)
  );
}

/** The label keys pending pods ask for in their nodeSelector, bounded. */
function pendingSelectorKeys(namespaces: readonly NamespaceEvidence[]): string[] {
  const keys = new Set<string>();
  for (const ns of namespaces) {
    for (const pod of ns.pods) for (const { key } of selectorPairs(pod.unscheduled?.nodeSelector)) keys.add(key);
  }
  return [...keys].sort().slice(0, EVIDENCE_LIMITS.nodeSelectorKeys);
}

export function summarizeNodes(nodes: readonly V1Node[], namespaces: readonly NamespaceEvidence[]): NodesEvidence {
  const podsOn = new Map<string, number>();
  for (const ns of namespaces) {
    for (const pod of ns.pods) if (pod.node !== undefined) podsOn.set(pod.node, (podsOn.get(pod.node) ?? 0) + 1);
  }
  const selectorKeys = pendingSelectorKeys(namespaces);
  const labelKeys = [...SCHEDULING_LABELS, ...selectorKeys.filter((k) => !SCHEDULING_LABELS.includes(k))];
  const items = nodes
    .map((node) => nodeSummary(node, labelKeys, podsOn.get(short(node.metadata?.name ?? '')) ?? 0))
    .sort((a, b) => rank(b) - rank(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, EVIDENCE_LIMITS.nodesPerTriage);
  const evidence: NodesEvidence = { status: 'ok', total: nodes.length, items };
  if (selectorKeys.length > 0) {
    // Over every node listed, not only those kept: "no node carries it" must hold for the whole cluster.
    evidence.labelValues = Object.fromEntries(
      selectorKeys.map((key) => {
        const values = new Set(nodes.flatMap((n) => (n.metadata?.labels?.[key] !== undefined ? [n.metadata.labels[key]] : [])));
        return [short(key), [...values].sort().slice(0, EVIDENCE_LIMITS.labelValuesPerKey).map(short)];
      }),
    );
  }
  return evidence;
}
