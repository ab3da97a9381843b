import { nodeNotReadyAnalyzer } from '../../../activities/analyzers/node-not-ready.js';
import type { EventSummary, KubernetesEvidence, NamespaceEvidence, NodeSummary } from '../../../activities/model.js';
import { analysisInput, container, deployment, event, kubernetes, namespace, OLD_RS, podsOf, replicaSet } from './fixtures.js';

const NODE = 'ip-10-0-1-5.eu-west-1.compute.internal';
const nodeDown = event({
  type: 'Normal',
  reason: 'NodeNotReady',
  message: `Node ${NODE} status is now: NodeNotReady`,
  object: { kind: 'Node', name: NODE },
});
const podNotReady = (pod: string): EventSummary =>
  event({ reason: 'NodeNotReady', message: 'Node is not ready', object: { kind: 'Pod', name: pod } });

function cluster(options: { phase: string; events: EventSummary[] }) {
  return namespace('shop', {
    pods: podsOf(OLD_RS, 3, () => ({ node: NODE, phase: options.phase, ready: false, containers: [container({ ready: false })] })),
    deployments: [deployment('checkout-api', { ready: 0, available: 0 })],
    replicaSets: [replicaSet(OLD_RS, { ready: 0 })],
    events: options.events,
  });
}

describe('nodeNotReadyAnalyzer', () => {
  test.each([
    {
      name: 'the node went NotReady and its pods are Unknown: the node is named as the cause',
      ns: cluster({ phase: 'Unknown', events: [nodeDown] }),
      expected: [{ severity: 'critical', title: `node ${NODE} not ready: 3 pods of checkout-api unreachable` }],
    },
    {
      name: 'the node controller marked the pods, though the Node event has aged out',
      ns: cluster({ phase: 'Running', events: [podNotReady(`${OLD_RS}-p0`), podNotReady(`${OLD_RS}-p1`)] }),
      expected: [{ severity: 'critical', title: `node ${NODE} not ready: 2 pods of checkout-api unreachable` }],
    },
    {
      name: 'a NotReady node that runs none of the triaged pods is only a warning',
      ns: namespace('shop', { events: [nodeDown] }),
      expected: [{ severity: 'warning', title: `node ${NODE} not ready` }],
    },
    {
      name: 'near miss: pressure on a node is the evictions analyzer’s, not a node down',
      ns: namespace('shop', {
        events: [event({ type: 'Normal', reason: 'NodeHasDiskPressure', message: 'disk', object: { kind: 'Node', name: NODE } })],
      }),
      expected: [],
    },
    { name: 'near miss: pods that are merely not ready on a healthy node', ns: cluster({ phase: 'Running', events: [] }), expected: [] },
    {
      name: 'near miss: an hour-old mark on a pod that has recovered is not a node down now',
      ns: namespace('shop', {
        pods: podsOf(OLD_RS, 1, () => ({ node: NODE, phase: 'Running', ready: true })),
        events: [podNotReady(`${OLD_RS}-p0`)],
      }),
      expected: [],
    },
  ])('$name', ({ ns, expected }) => {
    const findings = nodeNotReadyAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ severity: f.severity, title: f.title }))).toEqual(expected);
    for (const f of findings) expect(f.objects[0]).toBe(`Node/${NODE}`);
  });
});

describe('nodeNotReadyAnalyzer with the Nodes read', () => {
  const node = (name: string, overrides: Partial<NodeSummary> = {}): NodeSummary => ({
    name,
    ready: { status: 'True', reason: 'KubeletReady' },
    ...overrides,
  });
  const unknown: NodeSummary['ready'] = {
    status: 'Unknown',
    reason: 'NodeStatusUnknown',
    message: 'Kubelet stopped posting node status.',
    lastTransitionTime: '2025-03-01T11:35:00Z',
  };
  const running = (phase = 'Running', ready = false) =>
    namespace('shop', {
      pods: podsOf(OLD_RS, 2, () => ({ node: NODE, phase, ready, containers: [container({ ready })] })),
      deployments: [deployment('checkout-api', { ready: 0, available: 0 })],
      replicaSets: [replicaSet(OLD_RS, { ready: 0 })],
    });
  const withNodes = (nodes: NodeSummary[], ...namespaces: NamespaceEvidence[]) => ({
    ...kubernetes(...namespaces),
    nodes: { status: 'ok' as const, total: nodes.length, items: nodes },
  });
  const run = (evidence: KubernetesEvidence) =>
    nodeNotReadyAnalyzer(analysisInput(evidence)).map((f) => ({ severity: f.severity, title: f.title, objects: f.objects[0] }));

  test.each([
    {
      name: 'Ready Unknown with our pods on it, its events long expired: critical, naming the node and the workload',
      evidence: withNodes([node(NODE, { ready: unknown }), node('ip-10-0-9-9')], running()),
      expected: [{ severity: 'critical', title: `node ${NODE} not ready: 2 pods of checkout-api unreachable`, objects: `Node/${NODE}` }],
    },
    {
      name: 'Ready False (the kubelet reports itself not ready) counts the same',
      evidence: withNodes([node(NODE, { ready: { status: 'False', reason: 'KubeletNotReady' } })], running()),
      expected: [{ severity: 'critical', title: `node ${NODE} not ready: 2 pods of checkout-api unreachable`, objects: `Node/${NODE}` }],
    },
    {
      name: 'with its NodeNotReady events too: one finding, not two',
      evidence: withNodes([node(NODE, { ready: unknown })], { ...running('Unknown'), events: [nodeDown, podNotReady(`${OLD_RS}-p0`)] }),
      expected: [{ severity: 'critical', title: `node ${NODE} not ready: 2 pods of checkout-api unreachable`, objects: `Node/${NODE}` }],
    },
    {
      name: 'a down node none of our pods run on is info, named once however many namespaces are triaged',
      evidence: withNodes([node(NODE, { ready: unknown })], namespace('shop'), namespace('payments')),
      expected: [{ severity: 'info', title: `node ${NODE} not ready; none of the triaged pods run on it`, objects: `Node/${NODE}` }],
    },
    {
      name: 'near miss: a cordoned node that is Ready is not down',
      evidence: withNodes(
        [node(NODE, { unschedulable: true, taints: ['node.kubernetes.io/unschedulable:NoSchedule'] })],
        running('Running', true),
      ),
      expected: [],
    },
    {
      name: 'near miss: a Ready node under memory pressure is the evictions analyzer’s',
      evidence: withNodes([node(NODE, { pressure: ['MemoryPressure'] })], running('Running', true)),
      expected: [],
    },
  ])('$name', ({ evidence, expected }) => {
    expect(run(evidence)).toEqual(expected);
  });

  test('the evidence quotes the condition: status, since when, reason and message', () => {
    const [finding] = nodeNotReadyAnalyzer(analysisInput(withNodes([node(NODE, { ready: unknown })], running())));
    expect(finding?.evidence[0]).toBe(
      `node ${NODE}: Ready Unknown since 2025-03-01T11:35:00Z (NodeStatusUnknown: Kubelet stopped posting node status.)`,
    );
    expect(finding?.objects).toEqual([`Node/${NODE}`, `Pod/shop/${OLD_RS}-p0`, `Pod/shop/${OLD_RS}-p1`]);
  });
});
