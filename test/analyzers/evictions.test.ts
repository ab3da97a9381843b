import { crashLoopAnalyzer } from '../../activities/analyzers/crashloop.js';
import { evictionsAnalyzer } from '../../activities/analyzers/evictions.js';
import type { EventSummary, NamespaceEvidence, PodSummary } from '../../activities/model.js';
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
const base = { deployments: [deployment('checkout-api', { ready: 2, available: 2 })], replicaSets: [replicaSet(OLD_RS)] };

function evicted(node: string): Partial<PodSummary> {
  return { phase: 'Failed', reason: 'Evicted', ready: false, node, containers: [container({ ready: false })] };
}

function evictedEvent(pod: string, count = 1): EventSummary {
  return event({ reason: 'Evicted', message: LOW_MEMORY, object: { kind: 'Pod', name: pod }, count, lastSeen: minutesBefore(2) });
}

function nodeEvent(node: string, reason: string, type = 'Warning', message = 'Attempting to reclaim memory'): EventSummary {
  return event({ type, reason, message, object: { kind: 'Node', name: node }, count: 2, lastSeen: minutesBefore(5) });
}

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'a Failed pod that was not evicted is not an eviction',
    ns: namespace('shop', { ...base, pods: podsOf(OLD_RS, 1, () => ({ phase: 'Failed', ready: false, containers: [container({ ready: false })] })) }),
    expected: { titles: [] },
  },
  {
    name: 'crash-looping pods on a node are the crashloop analyzer’s, not evictions',
    ns: namespace('shop', { ...base, pods: podsOf(OLD_RS, 2, () => ({ node: 'node-a', containers: [crashLooping({ reason: 'OOMKilled', exitCode: 137 })] })) }),
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
      ],
    },
  },
  {
    name: 'an Evicted event for a pod no longer listed still counts',
    ns: namespace('shop', { ...base, events: [evictedEvent(`${OLD_RS}-gone1`, 3)] }),
    expected: { titles: ['1 pod of checkout-api evicted'], evidence: ['Evicted warning seen 3 times, last at 2024-05-01T10:28:00Z'] },
  },
  {
    name: 'node pressure: its own finding per node, and cited by the evicted pods',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => evicted('node-a')),
      events: [nodeEvent('node-a', 'EvictionThresholdMet'), nodeEvent('node-a', 'NodeHasInsufficientMemory', 'Normal', 'Node node-a status is now: NodeHasInsufficientMemory'), nodeEvent('node-c', 'NodeHasDiskPressure', 'Normal', 'Node node-c status is now: NodeHasDiskPressure')],
    }),
    expected: {
      titles: ['1 pod of checkout-api evicted from node node-a', 'node node-a under pressure: eviction threshold met, memory pressure', 'node node-c under pressure: disk pressure'],
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
    ns: namespace('shop', { ...base, events: [nodeEvent('node-a', 'NodeNotReady'), nodeEvent('node-a', 'NodeHasSufficientMemory', 'Normal')] }),
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
