import { nodeNotReadyAnalyzer } from '../../../activities/analyzers/node-not-ready.js';
import type { EventSummary } from '../../../activities/model.js';
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
