import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import type { NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  container,
  crashLooping,
  event,
  deployment,
  healthyNamespace,
  kubernetes,
  namespace,
  NEW_RS,
  OLD_RS,
  pod,
  podsOf,
  replicaSet,
  rolledOut,
} from './fixtures.js';

const errorExit1 = { reason: 'Error', exitCode: 1, finishedAt: '2024-05-01T10:29:00Z' };
const oomKilled = { reason: 'OOMKilled', exitCode: 137 };

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: {
    titles: string[];
    objects?: string[][];
    evidence?: string[];
    notEvidence?: RegExp[];
  };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'pods waiting for another reason are not crash-looping',
    ns: namespace('shop', {
      pods: [
        pod('checkout-api-5c6b7-x', {
          replicaSet: OLD_RS,
          containers: [container({ ready: false, waiting: { reason: 'ContainerCreating' } })],
        }),
      ],
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: { titles: [] },
  },
  {
    name: 'CrashLoopBackOff with Error exit 1, grouped by deployment',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 3, (i) => ({ containers: [crashLooping(errorExit1, { restartCount: 4 + i * 2 })] })),
      deployments: [deployment('checkout-api', { ready: 0, available: 0 })],
      replicaSets: [replicaSet(OLD_RS, { ready: 0 })],
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error)'],
      objects: [
        [
          'Deployment/shop/checkout-api',
          'Pod/shop/checkout-api-5c6b7-p0',
          'Pod/shop/checkout-api-5c6b7-p1',
          'Pod/shop/checkout-api-5c6b7-p2',
        ],
      ],
      evidence: [
        '3 pods in CrashLoopBackOff; Deployment shop/checkout-api has 0/3 ready, 0 available',
        'container api: restarted 4–8 times; last terminated Error (exit 1) in 3 pods',
      ],
      notEvidence: [/OOMKilled/, /revision/],
    },
  },
  {
    name: 'CrashLoopBackOff with OOMKilled and a memory limit',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 2, () => ({ containers: [crashLooping(oomKilled, { memoryLimit: '256Mi', restartCount: 12 })] })),
      deployments: [deployment('checkout-api', { ready: 1, available: 1 })],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (OOMKilled, limit 256Mi)'],
      evidence: [
        'container api: restarted 12 times; last terminated OOMKilled (exit 137) in 2 pods',
        'container api was OOMKilled (limit 256Mi)',
      ],
      notEvidence: [/exit 137 means/],
    },
  },
  {
    name: 'OOMKilled without a memory limit names no limit',
    ns: namespace('shop', { pods: [pod('worker', { containers: [crashLooping(oomKilled)] })] }),
    expected: {
      titles: ['pod worker in CrashLoopBackOff (OOMKilled)'],
      objects: [['Pod/shop/worker']],
      evidence: ['container api was OOMKilled'],
    },
  },
  {
    name: 'seven crashing pods make one finding that lists five',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 7, () => ({ containers: [crashLooping(errorExit1)] })),
      deployments: [deployment('checkout-api', { replicas: 7, ready: 0, available: 0 })],
      replicaSets: [replicaSet(OLD_RS, { replicas: 7 })],
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error)'],
      objects: [['Deployment/shop/checkout-api', ...[0, 1, 2, 3, 4].map((i) => `Pod/shop/checkout-api-5c6b7-p${i}`)]],
      evidence: ['7 pods in CrashLoopBackOff; Deployment shop/checkout-api has 0/7 ready, 0 available'],
    },
  },
  {
    name: 'two workloads make two findings, ordered by object',
    ns: namespace('shop', {
      pods: [
        ...podsOf(OLD_RS, 1, () => ({ containers: [crashLooping(errorExit1)] })),
        ...podsOf('cart-6f7d8', 1, () => ({ containers: [crashLooping({ reason: 'Error', exitCode: 2 })] })),
      ],
      deployments: [deployment('checkout-api'), deployment('cart')],
      replicaSets: [replicaSet(OLD_RS), replicaSet('cart-6f7d8', { deployment: 'cart' })],
    }),
    expected: {
      titles: ['cart pods in CrashLoopBackOff (exit 2, Error)', 'checkout-api pods in CrashLoopBackOff (exit 1, Error)'],
    },
  },
  {
    name: 'pods of the revision rolled out 4 min before the incident',
    ns: namespace('shop', {
      pods: podsOf(NEW_RS, 3, () => ({ containers: [crashLooping(errorExit1)] })),
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error) since the rollout to revision 7, 4 min before the incident'],
      evidence: [
        'all 3 failing pods are of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident',
      ],
    },
  },
  {
    name: 'old pods crash too: the rollout is mentioned but not blamed',
    ns: namespace('shop', {
      pods: [
        ...podsOf(NEW_RS, 2, () => ({ containers: [crashLooping(errorExit1)] })),
        ...podsOf(OLD_RS, 1, () => ({ containers: [crashLooping(errorExit1)] })),
      ],
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error)'],
      evidence: [
        '2 of 3 failing pods are of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident; the others run older revisions, so the fault may predate the rollout',
      ],
    },
  },
  {
    name: 'rollout outside the window is not mentioned',
    ns: namespace('shop', {
      pods: podsOf(NEW_RS, 3, () => ({ containers: [crashLooping(errorExit1)] })),
      ...rolledOut({ rolledOutMinutesBefore: 61 }),
    }),
    expected: { titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error)'], notEvidence: [/revision 7/] },
  },
  {
    name: 'ReplicaSet without an owner field is mapped to its deployment by name',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 1, () => ({ containers: [crashLooping(errorExit1)] })),
      deployments: [deployment('checkout-api')],
      replicaSets: [{ ...replicaSet(OLD_RS), deployment: undefined } as ReturnType<typeof replicaSet>],
    }),
    expected: {
      titles: ['checkout-api pods in CrashLoopBackOff (exit 1, Error)'],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0']],
    },
  },
  {
    name: 'exit code 127 is explained',
    ns: namespace('shop', { pods: [pod('job-x', { containers: [crashLooping({ reason: 'Error', exitCode: 127 })] })] }),
    expected: {
      titles: ['pod job-x in CrashLoopBackOff (exit 127, Error)'],
      evidence: ['container api: exit 127 means command not found in the image'],
    },
  },
  {
    name: 'exit 137 without OOMKilled is explained as SIGKILL',
    ns: namespace('shop', { pods: [pod('job-y', { containers: [crashLooping({ reason: 'Error', exitCode: 137 })] })] }),
    expected: {
      titles: ['pod job-y in CrashLoopBackOff (exit 137, Error)'],
      evidence: ['container api: exit 137 means killed by SIGKILL (out of memory or liveness probe)'],
      notEvidence: [/OOMKilled/],
    },
  },
];

describe('crashLoopAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = crashLoopAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const finding of findings) {
      expect(finding).toMatchObject({ analyzer: 'kubernetes.crashloop', severity: 'critical', surface: 'kubernetes' });
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
    for (const pattern of expected.notEvidence ?? []) expect(evidence.join('\n')).not.toMatch(pattern);
  });

  test('no Kubernetes evidence, no finding', () => {
    expect(crashLoopAnalyzer(analysisInput(undefined))).toEqual([]);
  });
});

test('when the evidence omitted pods, the namespace-wide count is cited', () => {
  const ns = namespace('shop', {
    pods: podsOf(OLD_RS, 2, () => ({ containers: [crashLooping(errorExit1)] })),
    extraPods: 10,
    deployments: [deployment('checkout-api', { replicas: 12, ready: 0, available: 0 })],
    replicaSets: [replicaSet(OLD_RS, { replicas: 12 })],
  });
  ns.podCounts.byWaitingReason['CrashLoopBackOff'] = 12;
  const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(ns)));
  expect(finding?.evidence).toContain(
    'namespace shop counts 12 in CrashLoopBackOff across all its pods; the evidence lists 2 of those pods',
  );
});

describe('the crashed container’s last log line', () => {
  const withLog = (previousLog: NonNullable<Parameters<typeof crashLooping>[1]>['previousLog']) =>
    namespace('shop', {
      pods: [pod('worker-1', { containers: [crashLooping({ reason: 'Error', exitCode: 1 }, previousLog ? { previousLog } : {})] })],
    });

  test('is quoted as evidence, already redacted', () => {
    const [finding] = crashLoopAnalyzer(
      analysisInput(
        kubernetes(
          withLog({
            status: 'ok',
            lines: ['starting', 'FATAL: ORDERS_DB_HOST is not set (password=[redacted])'],
            truncated: false,
            redactions: 1,
          }),
        ),
      ),
    );
    expect(finding?.evidence).toContain('previous log of worker-1/api ends: "FATAL: ORDERS_DB_HOST is not set (password=[redacted])"');
  });

  test('an unavailable or empty log adds nothing', () => {
    for (const log of [
      { status: 'unavailable' as const, reason: 'HTTP 403' },
      { status: 'ok' as const, lines: [], truncated: false, redactions: 0 },
      undefined,
    ]) {
      const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(withLog(log))));
      expect(finding?.evidence.join('\n')).not.toMatch(/previous log/);
    }
  });
});

describe('what the container says killed it', () => {
  const withLines = (lines: string[]) =>
    namespace('shop', {
      pods: [
        pod('worker-1', {
          containers: [
            crashLooping({ reason: 'Error', exitCode: 1 }, { previousLog: { status: 'ok', lines, truncated: false, redactions: 0 } }),
          ],
        }),
      ],
    });

  test.each([
    [
      ['starting', 'Environment variable DEPLOY_ENV is undefined'],
      'pod worker-1 in CrashLoopBackOff (exit 1, Error): environment variable DEPLOY_ENV is not set',
    ],
    [['Error: getaddrinfo EAI_AGAIN orders-db'], 'pod worker-1 in CrashLoopBackOff (exit 1, Error): cannot resolve orders-db (DNS)'],
  ])('a known signature in %j ends the title', (lines, title) => {
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(withLines(lines))));
    expect(finding?.title).toBe(title);
    expect(finding?.evidence.join('\n')).toContain(`"${lines.at(-1)}"`);
  });

  test('a log without a known signature leaves the title as the exit reason', () => {
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(withLines(['starting', 'shutting down after 3 retries']))));
    expect(finding?.title).toBe('pod worker-1 in CrashLoopBackOff (exit 1, Error)');
  });
});

describe('which container crash-loops', () => {
  const podWith = (...containers: ReturnType<typeof container>[]) => namespace('shop', { pods: [pod('logging-agent', { containers })] });
  const exit127 = { reason: 'Error', exitCode: 127 };

  test.each([
    {
      name: 'a failing init container is named as one, not mistaken for the app',
      containers: [
        crashLooping(exit127, { name: 'downloader', init: true }),
        container({ name: 'exporter', ready: false, waiting: { reason: 'PodInitializing' } }),
      ],
      title: 'pod logging-agent: init container downloader in CrashLoopBackOff (exit 127, Error)',
    },
    {
      name: 'a sidecar beside the app is named',
      containers: [container({ name: 'app' }), crashLooping(exit127, { name: 'log-shipper' })],
      title: 'pod logging-agent: container log-shipper in CrashLoopBackOff (exit 127, Error)',
    },
    {
      name: 'near miss: the only app container needs no name, whatever init containers ran before it',
      containers: [
        container({ name: 'migrate', init: true, ready: false, waiting: { reason: 'Running' } }),
        crashLooping(exit127, { name: 'app' }),
      ],
      title: 'pod logging-agent in CrashLoopBackOff (exit 127, Error)',
    },
  ])('$name', ({ containers, title }) => {
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(podWith(...containers))));
    expect(finding?.title).toBe(title);
  });
});

describe('a container its liveness probe keeps killing', () => {
  const probeEvents = (pod: string) => [
    event({
      reason: 'Unhealthy',
      message: 'Liveness probe failed: Get "http://10.0.0.7:8080/healthz": dial tcp 10.0.0.7:8080: connect: connection refused',
      object: { kind: 'Pod', name: pod },
    }),
    event({
      type: 'Normal',
      reason: 'Killing',
      message: 'Container api failed liveness probe, will be restarted',
      object: { kind: 'Pod', name: pod },
    }),
  ];
  const crashing = (events: ReturnType<typeof event>[], lines: string[] = []) =>
    namespace('shop', {
      pods: [
        pod('web-1', {
          containers: [
            crashLooping({ reason: 'Completed', exitCode: 0 }, { previousLog: { status: 'ok', lines, truncated: false, redactions: 0 } }),
          ],
        }),
      ],
      events,
    });

  test('is restarting because of the probe, whatever the exit code: the probe is the cause named', () => {
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(crashing(probeEvents('web-1'), ['nginx: [notice] exiting']))));
    expect(finding?.title).toBe(
      'pod web-1 in CrashLoopBackOff (exit 0, Completed): killed by its liveness probe (Liveness probe failed: Get "http://10.0.0.7:8080/healthz": dial tcp 10.0.0.7:8080: connect: connection refused)',
    );
  });

  test('near miss: probe failures without a kill leave the crash to its own cause', () => {
    const [unhealthy] = probeEvents('web-1');
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(crashing([unhealthy!], ['Environment variable PORT is undefined']))));
    expect(finding?.title).toBe('pod web-1 in CrashLoopBackOff (exit 0, Completed): environment variable PORT is not set');
  });
});
