import { unschedulableAnalyzer } from '../../activities/analyzers/unschedulable.js';
import type { NamespaceEvidence, Severity } from '../../activities/model.js';
import {
  analysisInput,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  NEW_RS,
  OLD_RS,
  pendingPod,
  pod,
  podsOf,
  replicaSet,
  rolledOut,
} from './fixtures.js';

const insufficientCpu = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { findings: { title: string; severity: Severity }[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { findings: [] } },
  {
    name: 'every replica pending on Insufficient cpu is critical',
    ns: namespace('shop', {
      pods: [0, 1, 2].map((i) => pendingPod(`${OLD_RS}-p${i}`, OLD_RS, insufficientCpu)),
      events: [event({ object: { kind: 'Pod', name: `${OLD_RS}-p0` }, message: insufficientCpu, count: 12, lastSeen: minutesBefore(2) })],
      deployments: [deployment('checkout-api', { ready: 0, available: 0 })],
      replicaSets: [replicaSet(OLD_RS, { ready: 0 })],
    }),
    expected: {
      findings: [{ title: `checkout-api pods unschedulable: ${insufficientCpu}`, severity: 'critical' }],
      objects: [['Deployment/shop/checkout-api', ...[0, 1, 2].map((i) => `Pod/shop/${OLD_RS}-p${i}`)]],
      evidence: [
        '3 pods pending, not scheduled; Deployment shop/checkout-api has 0/3 ready, 0 available; no replica is running',
        `scheduler: ${insufficientCpu}`,
        'FailedScheduling warning seen 12 times on 1 pod, last at 2024-05-01T10:28:00Z',
      ],
    },
  },
  {
    name: 'a surge pod pending while the old replicas serve is a warning',
    ns: namespace('shop', {
      pods: [
        pendingPod(`${NEW_RS}-p0`, NEW_RS, '0/3 nodes are available: 3 Insufficient cpu.'),
        ...podsOf(OLD_RS, 3, () => ({})),
      ],
      ...rolledOut({ rolledOutMinutesBefore: 4, ready: 3 }),
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api pods unschedulable since the rollout to revision 7, 4 min before the incident: 0/3 nodes are available: 3 Insufficient cpu.',
          severity: 'warning',
        },
      ],
      evidence: ['the failing pod is of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident'],
    },
  },
  {
    name: 'the pod condition message wins over an older event message',
    ns: namespace('shop', {
      pods: [pendingPod('solo', 'solo-rs', '0/3 nodes are available: 3 node(s) had untolerated taint.')],
      events: [event({ object: { kind: 'Pod', name: 'solo' }, message: '0/3 nodes are available: 3 Insufficient memory.', count: 3 })],
    }),
    expected: {
      findings: [{ title: 'solo-rs pods unschedulable: 0/3 nodes are available: 3 node(s) had untolerated taint.', severity: 'warning' }],
      objects: [['ReplicaSet/shop/solo-rs', 'Pod/shop/solo']],
      evidence: ['scheduler: 0/3 nodes are available: 3 node(s) had untolerated taint. (and 1 other message)'],
    },
  },
  {
    name: 'an event for a pod that has since been scheduled is stale',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 3, () => ({})),
      events: [event({ object: { kind: 'Pod', name: `${OLD_RS}-p0` } })],
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: { findings: [] },
  },
  {
    name: 'an event for an unlisted pod, when every pod was listed, is stale',
    ns: namespace('shop', {
      events: [event({ object: { kind: 'Pod', name: `${OLD_RS}-gone` } })],
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: { findings: [] },
  },
  {
    name: 'an event for an unlisted pod counts when unhealthy pods overflowed the list',
    ns: namespace('shop', {
      pods: [pendingPod(`${OLD_RS}-p0`, OLD_RS, '0/3 nodes are available: 3 Insufficient cpu.')],
      extraPods: 2,
      events: [event({ object: { kind: 'Pod', name: `${OLD_RS}-p7` }, count: 2 })],
      deployments: [deployment('checkout-api', { replicas: 2, ready: 0, available: 0 })],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: {
      findings: [{ title: 'checkout-api pods unschedulable: 0/3 nodes are available: 3 Insufficient cpu.', severity: 'critical' }],
      objects: [['Deployment/shop/checkout-api', `Pod/shop/${OLD_RS}-p0`, `Pod/shop/${OLD_RS}-p7`]],
      evidence: ['2 pods pending, not scheduled; Deployment shop/checkout-api has 0/2 ready, 0 available; no replica is running'],
    },
  },
  {
    name: 'one replica ready, even if not yet available, keeps it a warning',
    ns: namespace('shop', {
      pods: [pendingPod(`${OLD_RS}-p0`, OLD_RS, '0/3 nodes are available: 3 Insufficient cpu.')],
      deployments: [deployment('checkout-api', { replicas: 2, ready: 1, available: 0 })],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: { findings: [{ title: 'checkout-api pods unschedulable: 0/3 nodes are available: 3 Insufficient cpu.', severity: 'warning' }] },
  },
  {
    name: 'a pod gated from scheduling on purpose is not reported',
    ns: namespace('shop', {
      pods: [pod('gated', { phase: 'Pending', ready: false, node: undefined, unscheduled: { reason: 'SchedulingGated' } })],
    }),
    expected: { findings: [] },
  },
];

describe('unschedulableAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = unschedulableAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(expected.findings);
    for (const finding of findings) expect(finding).toMatchObject({ analyzer: 'kubernetes.unschedulable', surface: 'kubernetes' });
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });
});

test('a long scheduler message is cut in the title and bounded in the evidence', () => {
  const long = `0/300 nodes are available: ${Array.from({ length: 60 }, (_, i) => `${i} node(s) didn't match pod affinity rules`).join(', ')}.`;
  const ns = namespace('shop', { pods: [pendingPod('solo', 'solo-rs', long)] });
  const [finding] = unschedulableAnalyzer(analysisInput(kubernetes(ns)));
  expect(finding?.title.startsWith('solo-rs pods unschedulable: 0/300 nodes are available: 0 node(s)')).toBe(true);
  expect(finding?.title.endsWith('…')).toBe(true);
  expect(finding!.title.length).toBeLessThanOrEqual(200);
  for (const line of finding!.evidence) expect(line.length).toBeLessThanOrEqual(300);
});
