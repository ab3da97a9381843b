import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import { oomAnalyzer } from '../../../activities/analyzers/oom.js';
import type { NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  container,
  crashLooping,
  deployment,
  healthyNamespace,
  kubernetes,
  namespace,
  NEW_RS,
  OLD_IMAGE,
  OLD_RS,
  pod,
  podsOf,
  replicaSet,
  rolledOut,
} from './fixtures.js';

const oomKilled = { reason: 'OOMKilled', exitCode: 137, finishedAt: '2024-05-01T10:28:00Z' };
const base = { deployments: [deployment('checkout-api')], replicaSets: [replicaSet(OLD_RS)] };

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; severities?: string[]; objects?: string[][]; evidence?: string[]; notEvidence?: RegExp[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'a container that ended with an Error is not an OOM',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ containers: [container({ restartCount: 1, lastTerminated: { reason: 'Error', exitCode: 137 } })] })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'OOMKilled in CrashLoopBackOff is left to the crashloop analyzer',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, () => ({ containers: [crashLooping(oomKilled, { memoryLimit: '256Mi' })] })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'OOMKilled once, running again, with a limit: a warning',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, () => ({ containers: [container({ restartCount: 1, lastTerminated: oomKilled, memoryLimit: '512Mi' })] })),
    }),
    expected: {
      titles: ['checkout-api pods OOMKilled (limit 512Mi)'],
      severities: ['warning'],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0', 'Pod/shop/checkout-api-5c6b7-p1']],
      evidence: [
        '2 pods with a container OOMKilled and not in CrashLoopBackOff; Deployment shop/checkout-api has 3/3 ready, 3 available',
        'container api: last terminated OOMKilled in 2 pods, last at 2024-05-01T10:28:00Z; restarted 1 time; memory limit 512Mi',
      ],
      notEvidence: [/revision/],
    },
  },
  {
    name: 'OOMKilled again and again without a known limit: critical',
    ns: namespace('shop', {
      pods: [pod('worker', { containers: [container({ restartCount: 6, lastTerminated: { reason: 'OOMKilled' } })] })],
    }),
    expected: {
      titles: ['pod worker OOMKilled'],
      severities: ['critical'],
      objects: [['Pod/shop/worker']],
      evidence: ['container api: last terminated OOMKilled in 1 pod; restarted 6 times; no memory limit in the evidence'],
    },
  },
  {
    name: 'a pod that will not restart (Failed) is critical',
    ns: namespace('shop', {
      pods: [
        pod('batch-x', {
          phase: 'Failed',
          ready: false,
          containers: [container({ ready: false, lastTerminated: oomKilled, memoryLimit: '1Gi' })],
        }),
      ],
    }),
    expected: { titles: ['pod batch-x OOMKilled (limit 1Gi)'], severities: ['critical'] },
  },
  {
    name: 'one container crash-looping, another OOMKilled and running: only the latter is reported here',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({
        containers: [
          crashLooping({ reason: 'Error', exitCode: 1 }),
          container({ name: 'sidecar', restartCount: 1, lastTerminated: oomKilled, memoryLimit: '64Mi' }),
        ],
      })),
    }),
    expected: {
      titles: ['checkout-api pods: container sidecar OOMKilled (limit 64Mi)'],
      evidence: [
        'container sidecar: last terminated OOMKilled in 1 pod, last at 2024-05-01T10:28:00Z; restarted 1 time; memory limit 64Mi',
      ],
      notEvidence: [/container api/],
    },
  },
  {
    name: 'pods of the revision rolled out 4 min before the incident',
    ns: namespace('shop', {
      pods: podsOf(NEW_RS, 3, () => ({ containers: [container({ restartCount: 1, lastTerminated: oomKilled, memoryLimit: '128Mi' })] })),
      ...rolledOut({ rolledOutMinutesBefore: 4, ready: 3 }),
    }),
    expected: {
      titles: ['checkout-api pods OOMKilled (limit 128Mi) since the rollout to revision 7, 4 min before the incident'],
      evidence: [
        'all 3 failing pods are of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident',
      ],
    },
  },
  {
    name: 'the rollout lowered the memory limit: the title says what it was',
    ns: (() => {
      const rollout = rolledOut({ rolledOutMinutesBefore: 4, ready: 1, newImage: OLD_IMAGE });
      rollout.replicaSets[0]!.memoryLimits = { api: '512Mi' };
      rollout.replicaSets[1]!.memoryLimits = { api: '256Mi' };
      return namespace('shop', {
        pods: podsOf(NEW_RS, 3, () => ({ containers: [container({ restartCount: 2, lastTerminated: oomKilled, memoryLimit: '256Mi' })] })),
        ...rollout,
      });
    })(),
    expected: {
      titles: ['checkout-api pods OOMKilled (limit 256Mi, was 512Mi) since the rollout to revision 7, 4 min before the incident'],
      evidence: ['memory limit of container api changed from 512Mi to 256Mi in revision 7'],
    },
  },
  {
    name: 'a limit change in another container is cited nowhere in this finding',
    ns: (() => {
      const rollout = rolledOut({ rolledOutMinutesBefore: 4, ready: 1 });
      rollout.replicaSets[0]!.memoryLimits = { api: '256Mi', sidecar: '64Mi' };
      rollout.replicaSets[1]!.memoryLimits = { api: '256Mi', sidecar: '32Mi' };
      return namespace('shop', {
        pods: podsOf(NEW_RS, 1, () => ({ containers: [container({ restartCount: 1, lastTerminated: oomKilled, memoryLimit: '256Mi' })] })),
        ...rollout,
      });
    })(),
    expected: {
      titles: ['checkout-api pods OOMKilled (limit 256Mi) since the rollout to revision 7, 4 min before the incident'],
      notEvidence: [/memory limit of container/],
    },
  },
  {
    name: 'a recent rollout that the OOMKilled pods do not run is mentioned, not blamed',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 1, () => ({ containers: [container({ restartCount: 1, lastTerminated: oomKilled })] })),
      ...rolledOut({ rolledOutMinutesBefore: 10, ready: 3 }),
    }),
    expected: {
      titles: ['checkout-api pods OOMKilled'],
      evidence: [
        'revision 7 (ReplicaSet checkout-api-7d9f8) was rolled out at 2024-05-01T10:20:00Z, 10 min before the incident, but none of the OOMKilled pods run it',
      ],
    },
  },
];

describe('oomAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = oomAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.oom', surface: 'kubernetes' });
    if (expected.severities) expect(findings.map((f) => f.severity)).toEqual(expected.severities);
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
    for (const pattern of expected.notEvidence ?? []) expect(evidence.join('\n')).not.toMatch(pattern);
  });

  test('an OOM crash loop is reported once, by the crashloop analyzer', () => {
    const input = analysisInput(kubernetes(cases[2]!.ns));
    expect(crashLoopAnalyzer(input).map((f) => f.title)).toEqual(['checkout-api pods in CrashLoopBackOff (OOMKilled, limit 256Mi)']);
    expect(oomAnalyzer(input)).toEqual([]);
  });

  test('no Kubernetes evidence, no finding', () => {
    expect(oomAnalyzer(analysisInput(undefined))).toEqual([]);
  });
});
