import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import { restartsAnalyzer } from '../../../activities/analyzers/restarts.js';
import type { NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  container,
  crashLooping,
  deployment,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  NEW_RS,
  OLD_RS,
  pod,
  podsOf,
  replicaSet,
  rolledOut,
} from './fixtures.js';

const errorExit1 = { reason: 'Error', exitCode: 1, finishedAt: minutesBefore(3) };
const base = { deployments: [deployment('checkout-api')], replicaSets: [replicaSet(OLD_RS)] };

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'two restarts are routine',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ containers: [container({ restartCount: 2, lastTerminated: errorExit1 })] })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'pods in CrashLoopBackOff are left to the crashloop analyzer',
    ns: namespace('shop', { ...base, pods: podsOf(OLD_RS, 2, () => ({ containers: [crashLooping(errorExit1, { restartCount: 9 })] })) }),
    expected: { titles: [] },
  },
  {
    name: 'a pod with one container crash-looping is left whole to the crashloop analyzer',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({
        containers: [crashLooping(errorExit1), container({ name: 'sidecar', restartCount: 5, lastTerminated: errorExit1 })],
      })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'OOMKilled restarts are left to the oom analyzer',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({
        containers: [container({ restartCount: 7, lastTerminated: { reason: 'OOMKilled', exitCode: 137 } })],
      })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'restarts that ended long before the incident are not rising',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({
        containers: [container({ restartCount: 4, lastTerminated: { ...errorExit1, finishedAt: minutesBefore(3 * 24 * 60) } })],
      })),
    }),
    expected: { titles: [] },
  },
  {
    name: 'running containers that keep restarting: flapping, grouped by deployment',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, (i) => ({ containers: [container({ restartCount: 3 + i * 4, lastTerminated: errorExit1 })] })),
    }),
    expected: {
      titles: ['checkout-api pods restarting repeatedly (up to 7 restarts)'],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0', 'Pod/shop/checkout-api-5c6b7-p1']],
      evidence: [
        '2 pods restarting repeatedly, not in CrashLoopBackOff; Deployment shop/checkout-api has 3/3 ready, 3 available',
        'container api: restarted 3–7 times in 2 pods; last terminated Error (exit 1), last at 2024-05-01T10:27:00Z',
      ],
    },
  },
  {
    name: 'unknown termination time still counts',
    ns: namespace('shop', { pods: [pod('worker', { containers: [container({ restartCount: 3 })] })] }),
    expected: {
      titles: ['pod worker restarting repeatedly (up to 3 restarts)'],
      evidence: ['container api: restarted 3 times in 1 pod; last terminated no termination recorded'],
    },
  },
  {
    name: 'pods of the revision rolled out 4 min before the incident',
    ns: namespace('shop', {
      pods: podsOf(NEW_RS, 2, () => ({ containers: [container({ restartCount: 3, lastTerminated: errorExit1 })] })),
      ...rolledOut({ rolledOutMinutesBefore: 4, ready: 3 }),
    }),
    expected: {
      titles: ['checkout-api pods restarting repeatedly (up to 3 restarts) since the rollout to revision 7, 4 min before the incident'],
    },
  },
];

describe('restartsAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = restartsAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.restarts', severity: 'warning', surface: 'kubernetes' });
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });

  test('a crash loop is reported once, by the crashloop analyzer', () => {
    const input = analysisInput(kubernetes(cases[2]!.ns));
    expect(crashLoopAnalyzer(input)).toHaveLength(1);
    expect(restartsAnalyzer(input)).toEqual([]);
  });

  test('no Kubernetes evidence, no finding', () => {
    expect(restartsAnalyzer(analysisInput(undefined))).toEqual([]);
  });
});
