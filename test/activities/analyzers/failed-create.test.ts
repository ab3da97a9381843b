import { failedCreateAnalyzer, refusalOf } from '../../../activities/analyzers/failed-create.js';
import type { EventSummary, NamespaceEvidence, Severity } from '../../../activities/model.js';
import {
  analysisInput,
  CONTROL_CHARACTERS,
  deployment,
  event,
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
  textsOf,
} from './fixtures.js';

const EXCEEDED =
  'pods "checkout-api-5c6b7-x1y2z" is forbidden: exceeded quota: compute-quota, requested: requests.cpu=10m, used: requests.cpu=20m, limited: requests.cpu=20m';
const MUST_SPECIFY = 'pods "checkout-api-5c6b7-x1y2z" is forbidden: failed quota: compute-quota: must specify limits.cpu for: api';
const LIMIT_RANGE = 'pods "checkout-api-5c6b7-x1y2z" is forbidden: maximum cpu usage per Container is 500m, but limit is 1';
const NO_ACCOUNT =
  'pods "get-data-" is forbidden: error looking up service account shop/get-data-service-account: serviceaccount "get-data-service-account" not found';

function failedCreate(kind: string, name: string, error: string, overrides: Partial<EventSummary> = {}): EventSummary {
  return event({
    reason: 'FailedCreate',
    message: `Error creating: ${error}`,
    object: { kind, name },
    count: 13,
    lastSeen: minutesBefore(2),
    ...overrides,
  });
}

function successfulCreate(kind: string, name: string, minutes: number): EventSummary {
  return event({
    type: 'Normal',
    reason: 'SuccessfulCreate',
    message: `Created pod: ${name}-abcde`,
    object: { kind, name },
    lastSeen: minutesBefore(minutes),
  });
}

/** `checkout-api` wants 3 replicas and has 1: the other two are refused. */
const short = {
  deployments: [deployment('checkout-api', { ready: 1, available: 1 })],
  replicaSets: [replicaSet(OLD_RS, { ready: 1 })],
  pods: podsOf(OLD_RS, 1, () => ({})),
};

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { findings: { title: string; severity: Severity }[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { findings: [] } },
  {
    name: 'a ResourceQuota with no room left, resolved from the ReplicaSet to its Deployment',
    ns: namespace('shop', { ...short, events: [failedCreate('ReplicaSet', OLD_RS, EXCEEDED)] }),
    expected: {
      findings: [
        {
          title:
            'checkout-api cannot create pods: ResourceQuota compute-quota exceeded (requests.cpu: requested 10m, used 20m, limited 20m)',
          severity: 'critical',
        },
      ],
      objects: [['Deployment/shop/checkout-api', `ReplicaSet/shop/${OLD_RS}`]],
      evidence: [
        'Deployment shop/checkout-api has 1/3 ready, 1 available',
        `FailedCreate on ReplicaSet ${OLD_RS} seen 13 times, last at 2024-05-01T10:28:00Z`,
        `controller: Error creating: ${EXCEEDED}`,
      ],
    },
  },
  {
    name: 'several resources over quota, from a correlator-combined message',
    ns: namespace('shop', {
      ...short,
      events: [
        failedCreate('ReplicaSet', OLD_RS, '', {
          message:
            '(combined from similar events): Error creating: pods "checkout-api-5c6b7-x" is forbidden: exceeded quota: compute-quota, requested: limits.cpu=1,requests.cpu=500m, used: limits.cpu=2,requests.cpu=1, limited: limits.cpu=2,requests.cpu=1',
        }),
      ],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api cannot create pods: ResourceQuota compute-quota exceeded (limits.cpu: requested 1, used 2, limited 2; requests.cpu: requested 500m, used 1, limited 1)',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'a ResourceQuota that requires a limit the container does not set',
    ns: namespace('shop', { ...short, events: [failedCreate('ReplicaSet', OLD_RS, MUST_SPECIFY)] }),
    expected: {
      findings: [{ title: 'checkout-api cannot create pods: ResourceQuota compute-quota requires limits.cpu', severity: 'critical' }],
      evidence: ['containers without limits.cpu: api'],
    },
  },
  {
    name: 'two required resources, and the pre-1.19 wording',
    ns: namespace('shop', {
      ...short,
      events: [
        failedCreate('ReplicaSet', OLD_RS, 'pods "x" is forbidden: failed quota: compute-quota: must specify limits.cpu,limits.memory'),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api cannot create pods: ResourceQuota compute-quota requires limits.cpu and limits.memory',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'a LimitRange maximum',
    ns: namespace('shop', { ...short, events: [failedCreate('ReplicaSet', OLD_RS, LIMIT_RANGE)] }),
    expected: {
      findings: [
        {
          title: 'checkout-api cannot create pods: LimitRange: maximum cpu usage per Container is 500m, but limit is 1',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'two LimitRange violations in one aggregate',
    ns: namespace('shop', {
      ...short,
      events: [
        failedCreate(
          'ReplicaSet',
          OLD_RS,
          'pods "x" is forbidden: [maximum cpu usage per Container is 500m, but limit is 1, minimum memory usage per Container is 64Mi, but request is 32Mi]',
        ),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api cannot create pods: LimitRange: maximum cpu usage per Container is 500m, but limit is 1 (and 1 more)',
          severity: 'critical',
        },
      ],
      evidence: ['minimum memory usage per Container is 64Mi, but request is 32Mi'],
    },
  },
  {
    name: "a Job's missing ServiceAccount",
    ns: namespace('shop', { events: [failedCreate('Job', 'get-data', NO_ACCOUNT)] }),
    expected: {
      findings: [{ title: 'get-data cannot create pods: ServiceAccount get-data-service-account not found', severity: 'critical' }],
      objects: [['Job/shop/get-data']],
      evidence: ['Job shop/get-data'],
    },
  },
  {
    name: "a StatefulSet's refused pod",
    ns: namespace('shop', {
      events: [
        failedCreate('StatefulSet', 'db', '', {
          message:
            'create Pod db-0 in StatefulSet db failed error: pods "db-0" is forbidden: exceeded quota: pods-quota, requested: pods=1, used: pods=10, limited: pods=10',
        }),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'db cannot create pods: ResourceQuota pods-quota exceeded (pods: requested 1, used 10, limited 10)',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'Pod Security admission',
    ns: namespace('shop', {
      events: [
        failedCreate(
          'DaemonSet',
          'node-agent',
          'pods "node-agent-abcde" is forbidden: violates PodSecurity "restricted:latest": privileged (container "agent" must not set securityContext.privileged=true)',
        ),
      ],
    }),
    expected: {
      findings: [
        {
          title:
            'node-agent cannot create pods: violates PodSecurity restricted:latest: privileged (container "agent" must not set securityContext.privileged=true)',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'an admission webhook',
    ns: namespace('shop', {
      ...short,
      events: [
        failedCreate('ReplicaSet', OLD_RS, 'admission webhook "validate.kyverno.svc" denied the request: image tag latest is not allowed'),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api cannot create pods: admission webhook validate.kyverno.svc denied: image tag latest is not allowed',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'an error of no known shape is quoted',
    ns: namespace('shop', {
      ...short,
      events: [failedCreate('ReplicaSet', OLD_RS, 'Internal error occurred: etcdserver: request timed out')],
    }),
    expected: {
      findings: [
        { title: 'checkout-api cannot create pods: Internal error occurred: etcdserver: request timed out', severity: 'critical' },
      ],
    },
  },
  {
    name: "the rollout's new ReplicaSet is the one refused",
    ns: namespace('shop', { ...rolledOut({ rolledOutMinutesBefore: 4 }), events: [failedCreate('ReplicaSet', NEW_RS, MUST_SPECIFY)] }),
    expected: {
      findings: [
        {
          title:
            'checkout-api cannot create pods since the rollout to revision 7, 4 min before the incident: ResourceQuota compute-quota requires limits.cpu',
          severity: 'critical',
        },
      ],
      evidence: [`revision 7 (ReplicaSet ${NEW_RS}) rolled out at 2024-05-01T10:26:00Z, 4 min before the incident`],
    },
  },
  {
    name: 'a ReplicaSet not in the evidence resolves to its Deployment by name',
    ns: namespace('shop', {
      deployments: [deployment('checkout-api', { ready: 0, available: 0 })],
      events: [failedCreate('ReplicaSet', 'checkout-api-9f8e7d6c5b', EXCEEDED)],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api cannot create pods: ResourceQuota compute-quota exceeded (requests.cpu: requested 10m, used 20m, limited 20m)',
          severity: 'critical',
        },
      ],
      objects: [['Deployment/shop/checkout-api', 'ReplicaSet/shop/checkout-api-9f8e7d6c5b']],
    },
  },
  {
    name: 'pods created earlier do not answer a refusal that is still going on',
    ns: namespace('shop', {
      ...short,
      events: [successfulCreate('ReplicaSet', OLD_RS, 25), failedCreate('ReplicaSet', OLD_RS, EXCEEDED, { lastSeen: minutesBefore(3) })],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api cannot create pods: ResourceQuota compute-quota exceeded (requests.cpu: requested 10m, used 20m, limited 20m)',
          severity: 'critical',
        },
      ],
    },
  },
  // Near misses: refusals that creation has since got past.
  {
    name: 'near miss: refused, then created, and the deployment is fully available',
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [failedCreate('ReplicaSet', OLD_RS, EXCEEDED, { lastSeen: minutesBefore(20) }), successfulCreate('ReplicaSet', OLD_RS, 10)],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api could not create pods earlier (created since): ResourceQuota compute-quota exceeded (requests.cpu: requested 10m, used 20m, limited 20m)',
          severity: 'info',
        },
      ],
      evidence: [`ReplicaSet ${OLD_RS} created a pod after its last failure: SuccessfulCreate at 2024-05-01T10:20:00Z`],
    },
  },
  {
    name: 'near miss: a Job refused, then its pod created (the pod says so)',
    ns: namespace('shop', {
      pods: [pod('get-data-mldtn', { phase: 'Failed', ready: false, job: 'get-data', createdAt: minutesBefore(9) })],
      events: [failedCreate('Job', 'get-data', NO_ACCOUNT, { lastSeen: minutesBefore(10), count: 4 })],
    }),
    expected: {
      findings: [
        {
          title: 'get-data could not create pods earlier (created since): ServiceAccount get-data-service-account not found',
          severity: 'info',
        },
      ],
      evidence: ['Job get-data created a pod after its last failure: pod get-data-mldtn created at 2024-05-01T10:21:00Z'],
    },
  },
  {
    name: 'near miss: refused, then created, but replicas are still missing: a warning',
    ns: namespace('shop', {
      ...short,
      events: [failedCreate('ReplicaSet', OLD_RS, EXCEEDED, { lastSeen: minutesBefore(20) }), successfulCreate('ReplicaSet', OLD_RS, 10)],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api could not create pods earlier (created since): ResourceQuota compute-quota exceeded (requests.cpu: requested 10m, used 20m, limited 20m)',
          severity: 'warning',
        },
      ],
    },
  },
  {
    name: 'near miss: FailedCreate of other kinds, Normal events and other reasons',
    ns: namespace('shop', {
      ...short,
      events: [
        failedCreate('Deployment', 'checkout-api', EXCEEDED),
        failedCreate('ReplicaSet', OLD_RS, EXCEEDED, { type: 'Normal' }),
        failedCreate('ReplicaSet', OLD_RS, EXCEEDED, { reason: 'FailedDelete' }),
      ],
    }),
    expected: { findings: [] },
  },
];

describe('failedCreateAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = failedCreateAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(expected.findings);
    for (const finding of findings) {
      expect(finding).toMatchObject({ analyzer: 'kubernetes.failed-create', surface: 'kubernetes' });
      for (const text of textsOf(finding)) expect(text).not.toMatch(CONTROL_CHARACTERS);
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });

  test('two ReplicaSets of one Deployment are one finding', () => {
    const ns = namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 30 }),
      events: [failedCreate('ReplicaSet', OLD_RS, EXCEEDED), failedCreate('ReplicaSet', NEW_RS, EXCEEDED)],
    });
    const findings = failedCreateAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.objects)).toEqual([
      ['Deployment/shop/checkout-api', `ReplicaSet/shop/${OLD_RS}`, `ReplicaSet/shop/${NEW_RS}`],
    ]);
  });
});

describe('refusalOf', () => {
  test.each([
    { message: `Error creating: ${NO_ACCOUNT}`, cause: 'ServiceAccount get-data-service-account not found' },
    {
      message:
        'Error creating: pods "x-" is forbidden: error looking up service account shop/builder: Get "https://10.0.0.1:443": dial tcp: i/o timeout',
      cause: 'ServiceAccount builder cannot be read: Get "https://10.0.0.1:443": dial tcp: i/o timeout',
    },
    {
      message: 'Error creating: pods "x-" is forbidden: maximum memory usage per Pod is 1Gi.  No limit is specified',
      cause: 'LimitRange: maximum memory usage per Pod is 1Gi. No limit is specified',
    },
    {
      message: 'Error creating: pods "x-" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000',
      cause: 'LimitRange: cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000',
    },
    {
      message: 'Error creating: pods "x-" is forbidden: failed quota: q: must specify limits.cpu for: api,sidecar; limits.memory for: api',
      cause: 'ResourceQuota q requires limits.cpu and limits.memory',
    },
  ])('$cause', ({ message, cause }) => {
    expect(refusalOf(message).cause).toBe(cause);
  });
});
