// A node that stops reporting (NotReady, unreachable) takes its pods with it:
// the node controller marks them `NodeNotReady` and, after the toleration, evicts
// them. The cause is the node, so the finding names it and counts what ran there.
// With the Nodes read, the node's own Ready condition says so even after its
// events expired; the events remain the fallback when Nodes are not read.
import type { EventSummary, NamespaceEvidence, NodeSummary, PodSummary } from '../model.js';
import { asAnalyzer, MAX_LISTED_OBJECTS, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { compareText, objectRef, plural, workloadOfPod } from './workloads.js';

export const NODE_NOT_READY_ANALYZER = 'kubernetes.node-not-ready';

/** The Node events (kubelet, node controller) that say the node itself is down; kept by the collector with pressure events. */
export const NODE_DOWN_REASONS: ReadonlySet<string> = new Set(['NodeNotReady']);

/** What the node controller writes, as a Warning, on each pod of a node it lost: `Node is not ready`. */
const POD_REASON = 'NodeNotReady';

interface DownNode {
  node: string;
  nodeEvents: EventSummary[];
  pods: Map<string, PodSummary>;
  /** The node's Ready condition when the Nodes were read and it is not True. */
  ready?: NodeSummary['ready'];
}

/** The listed Nodes whose Ready condition is False or Unknown; none when Nodes were not read. */
function notReadyNodes(nodes: readonly NodeSummary[]): NodeSummary[] {
  return nodes.filter((n) => n.ready.status !== 'True');
}

function downNodes(ns: NamespaceEvidence, notReady: readonly NodeSummary[]): DownNode[] {
  const listed = new Map(ns.pods.map((pod) => [pod.name, pod]));
  const byNode = new Map<string, DownNode>();
  const entry = (node: string): DownNode => {
    const existing = byNode.get(node) ?? { node, nodeEvents: [], pods: new Map() };
    byNode.set(node, existing);
    return existing;
  };
  for (const e of ns.events) {
    if (e.object.kind === 'Node' && e.reason === 'NodeNotReady') entry(e.object.name).nodeEvents.push(e);
  }
  for (const e of ns.events) {
    if (e.object.kind !== 'Pod' || e.reason !== POD_REASON) continue;
    const pod = listed.get(e.object.name);
    // Only pods still in trouble: a pod that moved to a healthy node, or recovered, is not the node's doing now.
    if (!pod || pod.quiet || (pod.ready && pod.phase !== 'Unknown') || pod.node === undefined) continue;
    entry(pod.node).pods.set(e.object.name, pod);
  }
  for (const pod of ns.pods) {
    // A pod whose node stopped reporting is phase Unknown.
    if (pod.phase === 'Unknown' && pod.node !== undefined) entry(pod.node).pods.set(pod.name, pod);
  }
  for (const node of notReady) {
    // Every pod of ours still bound to a node that is down is down with it, whatever its last reported state.
    const on = ns.pods.filter((pod) => pod.node === node.name && pod.phase !== 'Succeeded' && pod.phase !== 'Failed');
    if (on.length === 0 && !byNode.has(node.name)) continue;
    const down = entry(node.name);
    down.ready = node.ready;
    for (const pod of on) down.pods.set(pod.name, pod);
  }
  return [...byNode.values()].filter((n) => n.pods.size > 0 || n.nodeEvents.length > 0).sort((a, b) => compareText(a.node, b.node));
}

function workloadsOn(ns: NamespaceEvidence, down: DownNode): string[] {
  const names = [...down.pods.values()].map((pod) => workloadOfPod(ns, pod).label);
  return [...new Set(names)].sort(compareText);
}

function assessNode(ns: NamespaceEvidence, down: DownNode): Assessment {
  const node = cleanText(down.node, 253);
  const workloads = workloadsOn(ns, down);
  const shown = workloads.slice(0, 2).join(', ');
  const pods = down.pods.size;
  const what =
    pods > 0 ? `: ${plural(pods, 'pod')} of ${shown}${workloads.length > 2 ? ` and ${workloads.length - 2} more` : ''} unreachable` : '';
  return {
    finding: {
      analyzer: NODE_NOT_READY_ANALYZER,
      // A down node hosting none of our pods: only the events say it (warning, as ever), or its condition does (info).
      severity: pods > 0 ? 'critical' : down.ready ? 'info' : 'warning',
      surface: 'kubernetes',
      title: cleanText(`node ${node} not ready${what}`),
      objects: [`Node/${node}`, ...[...down.pods.keys()].slice(0, MAX_LISTED_OBJECTS - 1).map((p) => objectRef('Pod', ns.namespace, p))],
      evidence: [
        ...(down.ready ? [describeReady(node, down.ready)] : []),
        ...down.nodeEvents.map((e) => `node ${node}: ${cleanText(e.message, 200)}`),
        ...(pods > 0
          ? [
              `pods on ${node} ${down.ready ? 'bound to the down node' : 'the node controller marked not ready or evicted'}: ${[...down.pods.keys()].map((p) => cleanText(p, 253)).join(', ')}`,
            ]
          : []),
      ].map((line) => cleanText(line)),
    },
    // The node is the one object behind every pod it took down.
    affected: pods + 1,
    rolloutCorrelated: false,
  };
}

/** `node X: Ready Unknown since … (NodeStatusUnknown: Kubelet stopped posting node status.)` */
function describeReady(node: string, ready: NodeSummary['ready']): string {
  const since = ready.lastTransitionTime ? ` since ${cleanText(ready.lastTransitionTime, 40)}` : '';
  const why = [ready.reason, ready.message].filter((t): t is string => t !== undefined && t !== '').map((t) => cleanText(t, 200));
  return `node ${node}: Ready ${cleanText(ready.status, 20)}${since}${why.length > 0 ? ` (${why.join(': ')})` : ''}`;
}

/** A down node none of the triaged pods run on: worth knowing (capacity is gone), not the cause of this incident. */
function assessIdleNode(node: NodeSummary): Assessment {
  const name = cleanText(node.name, 253);
  return {
    finding: {
      analyzer: NODE_NOT_READY_ANALYZER,
      severity: 'info',
      surface: 'kubernetes',
      title: cleanText(`node ${name} not ready; none of the triaged pods run on it`),
      objects: [`Node/${name}`],
      evidence: [cleanText(describeReady(name, node.ready))],
    },
    affected: 1,
    rolloutCorrelated: false,
  };
}

export const assessNodesNotReady: Assessor = (input) => {
  const nodes = input.kubernetes?.nodes?.status === 'ok' ? input.kubernetes.nodes.items : [];
  const notReady = notReadyNodes(nodes);
  const found = (input.kubernetes?.namespaces ?? []).flatMap((ns) => downNodes(ns, notReady).map((down) => assessNode(ns, down)));
  // Once per cluster, not per namespace: a down node that hosts nothing of ours is named by no namespace.
  const named = new Set(found.map((a) => a.finding.objects[0]));
  return [...found, ...notReady.filter((n) => !named.has(`Node/${cleanText(n.name, 253)}`)).map(assessIdleNode)];
};

export const nodeNotReadyAnalyzer = asAnalyzer(assessNodesNotReady);
