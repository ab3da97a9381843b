import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import { evictionsAnalyzer, starvedResource } from '../../../activities/analyzers/evictions.js';
import type { EventSummary, NamespaceEvidence, PodSummary } from '../../../activities/model.js';
import {
  analysisInput,
  container,
  crashLooping,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  OLD_RS,
  podsOf,
  replicaSet,
} from './fixtures.js';

const LOW_MEMORY = 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.';
/** The evidence line that names the resource a node ran short of. */
const STARVED_LINE = /^(node \S+ was low on|the kubelet evicted)/;
const base = { deployments: [deployment('checkout-api', { ready: 2, available: 2 })], replicaSets: [replicaSet(OLD_RS)] };

function evicted(node: string): Partial<PodSummary> {
  return { phase: 'Failed', reason: 'Evicted', ready: false, node, containers: [container({ ready: false })] };
}

function evictedEvent(pod: string, count = 1, message = LOW_MEMORY): EventSummary {
  return event({ reason: 'Evicted', message, object: { kind: 'Pod', name: pod }, count, lastSeen: minutesBefore(2) });
}

function nodeEvent(node: string, reason: string, type = 'Warning', message = 'Attempting to reclaim memory'): EventSummary {
  return event({ type, reason, message, object: { kind: 'Node', name: node }, count: 2, lastSeen: minutesBefore(5) });
}

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[]; noEvidence?: RegExp };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'a Failed pod that was not evicted is not an eviction',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ phase: 'Failed', ready: false, containers: [container({ ready: false })] })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'crash-looping pods on a node are the crashloop analyzer’s, not evictions',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, () => ({ node: 'node-a', containers: [crashLooping({ reason: 'OOMKilled', exitCode: 137 })] })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'evicted pods grouped by deployment, citing nodes and the kubelet message',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, (i) => evicted(i === 0 ? 'node-b' : 'node-a')),
      events: [evictedEvent(`${OLD_RS}-p0`), evictedEvent(`${OLD_RS}-p1`)],
    }),
    expected: {
      titles: ['2 pods of checkout-api evicted from nodes node-a, node-b'],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0', 'Pod/shop/checkout-api-5c6b7-p1']],
      evidence: [
        '2 pods evicted from nodes node-a, node-b; Deployment shop/checkout-api has 2/3 ready, 2 available',
        'Evicted warning seen 2 times, last at 2024-05-01T10:28:00Z',
        `kubelet: ${LOW_MEMORY}`,
        'node node-a was low on memory when it evicted 1 pod',
        'node node-b was low on memory when it evicted 1 pod',
      ],
    },
  },
  {
    name: 'an Evicted event for a pod no longer listed still counts',
    ns: namespace('shop', { ...base, events: [evictedEvent(`${OLD_RS}-gone1`, 3)] }),
    expected: {
      titles: ['1 pod of checkout-api evicted'],
      evidence: ['Evicted warning seen 3 times, last at 2024-05-01T10:28:00Z', 'the kubelet evicted 1 pod from a node low on memory'],
    },
  },
  {
    name: 'node pressure: its own finding per node, and cited by the evicted pods',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => evicted('node-a')),
      events: [
        nodeEvent('node-a', 'EvictionThresholdMet'),
        nodeEvent('node-a', 'NodeHasInsufficientMemory', 'Normal', 'Node node-a status is now: NodeHasInsufficientMemory'),
        nodeEvent('node-c', 'NodeHasDiskPressure', 'Normal', 'Node node-c status is now: NodeHasDiskPressure'),
      ],
    }),
    expected: {
      titles: [
        '1 pod of checkout-api evicted from node node-a',
        'node node-a under pressure: eviction threshold met, memory pressure',
        'node node-c under pressure: disk pressure',
      ],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0'], ['Node/node-a'], ['Node/node-c']],
      evidence: [
        'node node-a reported eviction threshold met, memory pressure',
        'EvictionThresholdMet on node node-a seen 2 times, last at 2024-05-01T10:25:00Z',
        '1 evicted pod of namespace shop ran on node node-a',
        'NodeHasDiskPressure on node node-c seen 2 times, last at 2024-05-01T10:25:00Z',
      ],
    },
  },
  {
    name: 'other node events are not pressure',
    ns: namespace('shop', {
      ...base,
      events: [nodeEvent('node-a', 'NodeNotReady'), nodeEvent('node-a', 'NodeHasSufficientMemory', 'Normal')],
    }),
    expected: { titles: [] },
  },
  {
    name: 'the starved resource names node pressure without any Node event, per node',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 3, (i) => evicted(i === 2 ? 'node-b' : 'node-a')),
      events: [
        evictedEvent(
          `${OLD_RS}-p0`,
          1,
          'The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi. Container api was using 3Gi, request is 0, has larger consumption of ephemeral-storage. ',
        ),
        evictedEvent(`${OLD_RS}-p1`, 1, 'The node was low on resource: pids.'),
        evictedEvent(`${OLD_RS}-p2`),
      ],
    }),
    expected: {
      titles: ['3 pods of checkout-api evicted from nodes node-a, node-b'],
      evidence: [
        'node node-a was low on ephemeral-storage, pids when it evicted 2 pods',
        'node node-b was low on memory when it evicted 1 pod',
      ],
    },
  },
  {
    name: 'many nodes: three named, the rest counted in one line, so the evidence after them still shows',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 5, (i) => evicted(`node-${i}`)),
      events: Array.from({ length: 5 }, (_, i) => evictedEvent(`${OLD_RS}-p${i}`)),
    }),
    expected: {
      titles: ['5 pods of checkout-api evicted from nodes node-0, node-1, node-2, node-3, node-4'],
      evidence: [
        'node node-0 was low on memory when it evicted 1 pod',
        'node node-2 was low on memory when it evicted 1 pod',
        '2 more nodes were low on memory when they evicted 2 pods',
      ],
      noEvidence: /^node node-3 was low/,
    },
  },
  {
    name: 'evicted pods no longer listed: their nodes are unknown, and not assumed to be one',
    ns: namespace('shop', { ...base, events: [evictedEvent(`${OLD_RS}-gone1`), evictedEvent(`${OLD_RS}-gone2`)] }),
    expected: { titles: ['2 pods of checkout-api evicted'], evidence: ['the kubelet evicted 2 pods from nodes low on memory'] },
  },
  {
    name: 'an evicted pod without its Evicted event or message names no resource',
    ns: namespace('shop', { ...base, pods: podsOf(OLD_RS, 1, () => evicted('node-a')) }),
    expected: { titles: ['1 pod of checkout-api evicted from node node-a'], noEvidence: STARVED_LINE },
  },
  {
    name: 'the pod’s own status message names the resource after its Evicted event has expired',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ ...evicted('node-a'), message: 'The node was low on resource: ephemeral-storage. ' })),
    }),
    expected: {
      titles: ['1 pod of checkout-api evicted from node node-a'],
      evidence: ['node node-a was low on ephemeral-storage when it evicted 1 pod'],
    },
  },
  ...[
    // Pod-level limits, not node pressure: the kubelet's other eviction messages.
    'Pod ephemeral local storage usage exceeds the total limit of containers 1Gi.',
    'Container api exceeded its local ephemeral storage limit "1Gi".',
    'The node was low on resource: MEMORY.',
    'The node was low on resource: memory; and also everything else.',
    'Note: The node was low on resource: memory.',
    'The node was low on resource: <b>memory</b>.',
    `The node was low on resource: ${'m'.repeat(5000)}.`,
    'The node was low on resource: mem\u043ery.',
    '',
  ].map((message): Case => ({
    name: `a malformed or hostile eviction message names no resource: ${JSON.stringify(message.slice(0, 60))}`,
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => evicted('node-a')),
      events: [evictedEvent(`${OLD_RS}-p0`, 1, message)],
    }),
    expected: { titles: ['1 pod of checkout-api evicted from node node-a'], noEvidence: STARVED_LINE },
  })),
  {
    name: 'PID pressure on a node is pressure',
    ns: namespace('shop', {
      ...base,
      events: [nodeEvent('node-d', 'NodeHasInsufficientPID', 'Normal', 'Node node-d status is now: NodeHasInsufficientPID')],
    }),
    expected: { titles: ['node node-d under pressure: PID pressure'], objects: [['Node/node-d']] },
  },
  {
    name: 'a reason that is a property name of every object is not pressure',
    ns: namespace('shop', {
      ...base,
      events: ['constructor', '__proto__', 'toString', 'hasOwnProperty'].map((reason) => nodeEvent('node-a', reason)),
    }),
    expected: { titles: [] },
  },
  {
    name: 'a pressure reason on an object that is not a Node is not node pressure',
    ns: namespace('shop', {
      ...base,
      events: [event({ type: 'Normal', reason: 'NodeHasDiskPressure', object: { kind: 'Pod', name: `${OLD_RS}-p0` } })],
    }),
    expected: { titles: [] },
  },
];

describe('evictionsAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = evictionsAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.evictions', severity: 'warning', surface: 'kubernetes' });
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
    if (expected.noEvidence) expect(evidence.filter((line) => expected.noEvidence!.test(line))).toEqual([]);
  });

  test.each<[string, string | undefined]>([
    ['The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.', 'memory'],
    ['The node was low on resource: ephemeral-storage. ', 'ephemeral-storage'],
    ['The node was low on resource: nodefs.', 'nodefs'],
    ['The node was low on resource: imagefs. Threshold quantity: 15%, available: 9%.', 'imagefs'],
    // Cleaned first: a line break is a space, an invisible character goes.
    ['The node was low on resource: memory.\nnode node-z was low on everything', 'memory'],
    ['The node was low on resource: mem\u200bory.', 'memory'],
    ['The node was low on resource: memory', undefined],
    ['The node was low on resource: .', undefined],
    ['The node was low on resource: 9lives.', undefined],
    ['The node had condition: [MemoryPressure].', undefined],
  ])('starvedResource(%j) → %s', (message, resource) => {
    expect(starvedResource(message)).toBe(resource);
  });

  test('crash-looping pods are reported once, by the crashloop analyzer', () => {
    const input = analysisInput(kubernetes(cases[2]!.ns));
    expect(crashLoopAnalyzer(input)).toHaveLength(1);
    expect(evictionsAnalyzer(input)).toEqual([]);
  });

  test('no Kubernetes evidence, no finding', () => {
    expect(evictionsAnalyzer(analysisInput(undefined))).toEqual([]);
  });
});
