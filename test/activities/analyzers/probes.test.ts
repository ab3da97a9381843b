import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import { probesAnalyzer } from '../../../activities/analyzers/probes.js';
import type { EventSummary, NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  CONTROL_CHARACTERS,
  container,
  crashLooping,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  NEW_RS,
  OLD_RS,
  podsOf,
  replicaSet,
  rolledOut,
  textsOf,
} from './fixtures.js';

function unhealthy(pod: string, message: string, count = 1, lastSeen = minutesBefore(1)): EventSummary {
  return event({ reason: 'Unhealthy', message, object: { kind: 'Pod', name: pod }, count, lastSeen });
}

const READINESS = 'Readiness probe failed: HTTP probe failed with statuscode: 503';
const LIVENESS = 'Liveness probe failed: Get "http://10.0.0.7:8080/healthz": context deadline exceeded';

const base = { deployments: [deployment('checkout-api', { ready: 1, available: 1 })], replicaSets: [replicaSet(OLD_RS)] };

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; severities?: string[]; objects?: string[][]; evidence?: string[]; notEvidence?: RegExp[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'Unhealthy events that are not probe failures, and Normal events, are ignored',
    ns: namespace('shop', {
      ...base,
      events: [
        unhealthy(`${OLD_RS}-p0`, 'Something else went wrong'),
        { ...unhealthy(`${OLD_RS}-p0`, READINESS), type: 'Normal' },
        { ...unhealthy(OLD_RS, READINESS), object: { kind: 'ReplicaSet', name: OLD_RS } },
      ],
    }),
    expected: { titles: [] },
  },
  {
    name: 'readiness failures only: a warning, grouped by deployment',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, () => ({ ready: false, containers: [container({ ready: false })] })),
      events: [unhealthy(`${OLD_RS}-p0`, READINESS, 12, minutesBefore(2)), unhealthy(`${OLD_RS}-p1`, READINESS, 8, minutesBefore(1))],
    }),
    expected: {
      titles: ['checkout-api pods failing readiness probe'],
      severities: ['warning'],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0', 'Pod/shop/checkout-api-5c6b7-p1']],
      evidence: [
        '2 pods with failing probes; Deployment shop/checkout-api has 1/3 ready, 1 available',
        'readiness probe failed 20 times on 2 pods, last at 2024-05-01T10:29:00Z',
        `kubelet: ${READINESS}`,
      ],
      notEvidence: [/restarted/],
    },
  },
  {
    name: 'liveness failures with restarts: critical',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ containers: [container({ restartCount: 4, lastTerminated: { reason: 'Error', exitCode: 137 } })] })),
      events: [unhealthy(`${OLD_RS}-p0`, LIVENESS, 9), unhealthy(`${OLD_RS}-p0`, READINESS, 3)],
    }),
    expected: {
      titles: ['checkout-api pods failing liveness and readiness probes, containers restarting'],
      severities: ['critical'],
      evidence: [
        'liveness probe failed 9 times on 1 pod, last at 2024-05-01T10:29:00Z',
        `kubelet: ${LIVENESS}`,
        '1 pod with failing probes restarted containers (up to 4 times)',
      ],
    },
  },
  {
    name: 'liveness failures without restarts stay a warning',
    ns: namespace('shop', { ...base, events: [unhealthy(`${OLD_RS}-p0`, LIVENESS, 2)] }),
    expected: { titles: ['checkout-api pods failing liveness probe'], severities: ['warning'] },
  },
  {
    name: 'pods in CrashLoopBackOff are left to the crashloop analyzer',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 1, () => ({ containers: [crashLooping({ reason: 'Error', exitCode: 137 })] })),
      events: [unhealthy(`${OLD_RS}-p0`, LIVENESS, 9)],
    }),
    expected: { titles: [] },
  },
  {
    name: 'pods of the revision rolled out 4 min before the incident',
    ns: namespace('shop', {
      pods: podsOf(NEW_RS, 2, () => ({ ready: false, containers: [container({ ready: false })] })),
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
      events: [
        unhealthy(`${NEW_RS}-p0`, 'Startup probe failed: dial tcp 10.0.0.9:8080: connect: connection refused'),
        unhealthy(`${NEW_RS}-p1`, READINESS),
      ],
    }),
    expected: {
      titles: ['checkout-api pods failing startup and readiness probes since the rollout to revision 7, 4 min before the incident'],
      severities: ['warning'],
      evidence: [
        'both failing pods are of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident',
      ],
    },
  },
];

describe('probesAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = probesAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.probes', surface: 'kubernetes' });
    if (expected.severities) expect(findings.map((f) => f.severity)).toEqual(expected.severities);
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
    for (const pattern of expected.notEvidence ?? []) expect(evidence.join('\n')).not.toMatch(pattern);
  });

  test('does not double-report a crash loop the crashloop analyzer reports', () => {
    const ns = cases.find((c) => c.name.startsWith('pods in CrashLoopBackOff'))!.ns;
    expect(crashLoopAnalyzer(analysisInput(kubernetes(ns)))).toHaveLength(1);
    expect(probesAnalyzer(analysisInput(kubernetes(ns)))).toEqual([]);
  });

  test('probe messages are cleaned and truncated', () => {
    const hostile = `Readiness probe failed: \u001b[31m<b>@channel</b>\u202e\n${'x'.repeat(1_000)}`;
    const [finding] = probesAnalyzer(
      analysisInput(kubernetes(namespace('shop', { ...base, events: [unhealthy('evil\u0000pod', hostile)] }))),
    );
    for (const text of textsOf(finding!)) {
      expect(text).not.toMatch(CONTROL_CHARACTERS);
      expect(text.length).toBeLessThanOrEqual(300);
    }
    const line = finding!.evidence.find((l) => l.startsWith('kubelet: '))!;
    expect(line.length).toBeLessThanOrEqual('kubelet: '.length + 160);
    expect(line).toMatch(/…$/);
  });

  test('no Kubernetes evidence, no finding', () => {
    expect(probesAnalyzer(analysisInput(undefined))).toEqual([]);
  });
});
