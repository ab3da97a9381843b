import { diagnose } from '../../../activities/analyzers/index.js';
import { volumesAnalyzer } from '../../../activities/analyzers/volumes.js';
import type { EventSummary, NamespaceEvidence, PersistentVolumeClaimSummary, PodSummary, Severity } from '../../../activities/model.js';
import {
  analysisInput,
  CONTROL_CHARACTERS,
  container,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  OLD_RS,
  pendingPod,
  pod,
  replicaSet,
  textsOf,
} from './fixtures.js';

const UNBOUND =
  '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.';
const CLASS_NOT_FOUND = 'storageclass.storage.k8s.io "standard-v2" not found';

function claimEvent(claim: string, message: string, overrides: Partial<EventSummary> = {}): EventSummary {
  return event({
    reason: 'ProvisioningFailed',
    message,
    object: { kind: 'PersistentVolumeClaim', name: claim },
    count: 21,
    lastSeen: minutesBefore(1),
    ...overrides,
  });
}

function podEvent(reason: string, podName: string, message: string, overrides: Partial<EventSummary> = {}): EventSummary {
  return event({ reason, message, object: { kind: 'Pod', name: podName }, count: 5, lastSeen: minutesBefore(2), ...overrides });
}

/** Scheduled, volumes not ready: the container waits in ContainerCreating. */
function creating(name: string, overrides: Partial<PodSummary> = {}): PodSummary {
  return pod(name, {
    phase: 'Pending',
    replicaSet: OLD_RS,
    containers: [container({ ready: false, waiting: { reason: 'ContainerCreating' } })],
    ...overrides,
  });
}

/** `checkout-api`, nothing running: every replica waits. */
const down = {
  deployments: [deployment('checkout-api', { replicas: 2, ready: 0, available: 0 })],
  replicaSets: [replicaSet(OLD_RS, { replicas: 2, ready: 0 })],
};
const pending = [0, 1].map((i) => pendingPod(`${OLD_RS}-p${i}`, OLD_RS, UNBOUND));

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { findings: { title: string; severity: Severity }[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { findings: [] } },
  {
    name: 'pods wait on an unbound claim whose StorageClass does not exist',
    ns: namespace('shop', { ...down, pods: pending, events: [claimEvent('data-pvc', CLASS_NOT_FOUND)] }),
    expected: {
      findings: [
        {
          title: 'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be provisioned: StorageClass standard-v2 not found',
          severity: 'critical',
        },
      ],
      objects: [['Deployment/shop/checkout-api', `Pod/shop/${OLD_RS}-p0`, `Pod/shop/${OLD_RS}-p1`, 'PersistentVolumeClaim/shop/data-pvc']],
      evidence: [
        '2 pods pending, not scheduled; Deployment shop/checkout-api has 0/2 ready, 0 available',
        `scheduler: ${UNBOUND}`,
        'ProvisioningFailed on PersistentVolumeClaim data-pvc seen 21 times, last at 2024-05-01T10:29:00Z',
        `persistentvolume-controller: ${CLASS_NOT_FOUND}`,
      ],
    },
  },
  {
    name: 'the newest event of a claim is its current state',
    ns: namespace('shop', {
      ...down,
      pods: pending,
      events: [
        claimEvent('data-pvc', 'storageclass.storage.k8s.io "old-class" not found', { lastSeen: minutesBefore(30) }),
        claimEvent('data-pvc', CLASS_NOT_FOUND, { lastSeen: minutesBefore(1) }),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be provisioned: StorageClass standard-v2 not found',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'several failing claims in the namespace are all named',
    ns: namespace('shop', {
      ...down,
      pods: pending,
      events: [claimEvent('data-pvc', CLASS_NOT_FOUND), claimEvent('logs-pvc', CLASS_NOT_FOUND)],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api pods pending: PersistentVolumeClaims data-pvc and logs-pvc cannot be provisioned: StorageClass standard-v2 not found',
          severity: 'critical',
        },
      ],
      objects: [
        [
          'Deployment/shop/checkout-api',
          `Pod/shop/${OLD_RS}-p0`,
          `Pod/shop/${OLD_RS}-p1`,
          'PersistentVolumeClaim/shop/data-pvc',
          'PersistentVolumeClaim/shop/logs-pvc',
        ],
      ],
    },
  },
  {
    name: "a provisioner's own error",
    ns: namespace('shop', {
      ...down,
      pods: pending,
      events: [
        claimEvent(
          'data-pvc',
          'failed to provision volume with StorageClass "gp3": rpc error: code = Internal desc = Could not create volume: UnauthorizedOperation',
        ),
      ],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be provisioned: provisioning with StorageClass gp3 failed: rpc error: code = Internal desc = Could not create volume: UnauthorizedOperation',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'a claim with no class and no volume to bind',
    ns: namespace('shop', {
      ...down,
      pods: pending,
      events: [
        claimEvent('data-pvc', 'no persistent volumes available for this claim and no storage class is set', { reason: 'FailedBinding' }),
      ],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be bound: no persistent volumes available for this claim and no storage class is set',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'a claim the pod names does not exist',
    ns: namespace('shop', {
      ...down,
      pods: [pendingPod(`${OLD_RS}-p0`, OLD_RS, '0/3 nodes are available: persistentvolumeclaim "data" not found.')],
    }),
    expected: {
      findings: [{ title: 'checkout-api pods pending: PersistentVolumeClaim data not found', severity: 'critical' }],
      objects: [['Deployment/shop/checkout-api', `Pod/shop/${OLD_RS}-p0`, 'PersistentVolumeClaim/shop/data']],
    },
  },
  {
    name: 'a failing claim no listed pod waits for is a warning about the claim',
    ns: namespace('shop', { ...healthyNamespace(), events: [claimEvent('scratch', CLASS_NOT_FOUND)] }),
    expected: {
      findings: [{ title: 'PersistentVolumeClaim scratch cannot be provisioned: StorageClass standard-v2 not found', severity: 'warning' }],
      objects: [['PersistentVolumeClaim/shop/scratch']],
    },
  },
  {
    name: 'a volume another pod still holds (Multi-Attach)',
    ns: namespace('shop', {
      ...down,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        podEvent(
          'FailedAttachVolume',
          `${OLD_RS}-p0`,
          'Multi-Attach error for volume "pvc-0a1b2c3d" Volume is already used by pod(s) checkout-api-5c6b7-old00',
        ),
        podEvent(
          'FailedMount',
          `${OLD_RS}-p0`,
          'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data kube-api-access-x1]: timed out waiting for the condition',
        ),
      ],
    }),
    expected: {
      findings: [
        {
          title:
            'checkout-api pods cannot start: volume pvc-0a1b2c3d already used by pod(s) checkout-api-5c6b7-old00 (Multi-Attach error) and 1 more',
          severity: 'critical',
        },
      ],
      evidence: ['volume data not mounted: timed out waiting for the condition: 1 pod'],
    },
  },
  {
    name: 'a volume attached to another node',
    ns: namespace('shop', {
      ...down,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        podEvent(
          'FailedAttachVolume',
          `${OLD_RS}-p0`,
          `Multi-Attach error for volume "pvc-0a1b2c3d" Volume is already exclusively attached to one node and can't be attached to another`,
        ),
      ],
    }),
    expected: {
      findings: [
        {
          title: 'checkout-api pods cannot start: volume pvc-0a1b2c3d already exclusively attached to another node (Multi-Attach error)',
          severity: 'critical',
        },
      ],
    },
  },
  {
    name: 'the volume manager gave up waiting, and nothing more specific is known',
    ns: namespace('shop', {
      ...down,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        podEvent(
          'FailedMount',
          `${OLD_RS}-p0`,
          'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition',
        ),
      ],
    }),
    expected: {
      findings: [
        { title: 'checkout-api pods cannot start: volume data not mounted: timed out waiting for the condition', severity: 'critical' },
      ],
      evidence: ['FailedMount warning seen 5 times, last at 2024-05-01T10:28:00Z'],
    },
  },
  {
    name: 'a mount that fails with its own error',
    ns: namespace('shop', {
      ...down,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [podEvent('FailedMount', `${OLD_RS}-p0`, 'MountVolume.SetUp failed for volume "nfs" : mount failed: exit status 32')],
    }),
    expected: {
      findings: [
        { title: 'checkout-api pods cannot start: volume nfs cannot be mounted: mount failed: exit status 32', severity: 'critical' },
      ],
    },
  },
  // Near misses.
  {
    name: 'near miss: pods wait on an unbound claim, but no claim says why (the unschedulable finding covers it)',
    ns: namespace('shop', { ...down, pods: pending }),
    expected: { findings: [] },
  },
  {
    name: 'near miss: a missing ConfigMap is the config-refs finding, and the timeout it causes is not repeated here',
    ns: namespace('shop', {
      ...down,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        podEvent('FailedMount', `${OLD_RS}-p0`, 'MountVolume.SetUp failed for volume "config-volume" : configmap "app-config" not found'),
        podEvent(
          'FailedMount',
          `${OLD_RS}-p0`,
          'Unable to attach or mount volumes: unmounted volumes=[config-volume], unattached volumes=[config-volume kube-api-access-x1]: timed out waiting for the condition',
        ),
      ],
    }),
    expected: { findings: [] },
  },
  {
    name: 'near miss: a Multi-Attach error of a pod that has started since',
    ns: namespace('shop', {
      ...down,
      pods: [pod(`${OLD_RS}-p0`, { replicaSet: OLD_RS })],
      events: [
        podEvent(
          'FailedAttachVolume',
          `${OLD_RS}-p0`,
          'Multi-Attach error for volume "pvc-0a1b2c3d" Volume is already used by pod(s) checkout-api-5c6b7-old00',
        ),
      ],
    }),
    expected: { findings: [] },
  },
  {
    name: 'near miss: a stale FailedScheduling event of a pod scheduled since is no blocked pod; the claim alone is a warning',
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [podEvent('FailedScheduling', `${OLD_RS}-aaaaa`, UNBOUND), claimEvent('data-pvc', CLASS_NOT_FOUND)],
    }),
    expected: {
      findings: [
        { title: 'PersistentVolumeClaim data-pvc cannot be provisioned: StorageClass standard-v2 not found', severity: 'warning' },
      ],
    },
  },
  {
    name: 'near miss: Normal claim events (waiting for the external provisioner) are routine',
    ns: namespace('shop', {
      ...down,
      pods: pending,
      events: [
        claimEvent('data-pvc', 'waiting for a volume to be created, either by external provisioner "ebs.csi.aws.com" or manually created', {
          type: 'Normal',
          reason: 'ExternalProvisioning',
        }),
      ],
    }),
    expected: { findings: [] },
  },
];

describe('volumesAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = volumesAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(expected.findings);
    for (const finding of findings) {
      expect(finding).toMatchObject({ analyzer: 'kubernetes.volumes', surface: 'kubernetes' });
      for (const text of textsOf(finding)) expect(text).not.toMatch(CONTROL_CHARACTERS);
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });
});

describe('ranking against the scheduler', () => {
  test("the claim's cause outranks the unschedulable finding for the same pods", () => {
    const ns = namespace('shop', {
      ...down,
      pods: pending,
      events: [podEvent('FailedScheduling', `${OLD_RS}-p0`, UNBOUND, { count: 6 }), claimEvent('data-pvc', CLASS_NOT_FOUND)],
    });
    const { headline, findings } = diagnose(analysisInput(kubernetes(ns)));
    expect(headline).toBe(
      'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be provisioned: StorageClass standard-v2 not found',
    );
    expect(findings.map((f) => [f.severity, f.analyzer])).toEqual([
      ['critical', 'kubernetes.volumes'],
      ['critical', 'kubernetes.unschedulable'],
    ]);
  });

  test('also for pods known only from their FailedScheduling events', () => {
    const ns = namespace('shop', {
      ...down,
      pods: [pendingPod(`${OLD_RS}-p0`, OLD_RS, UNBOUND)],
      podsOmitted: 3,
      events: [
        ...['p0', 'x1', 'x2', 'x3'].map((s) => podEvent('FailedScheduling', `${OLD_RS}-${s}`, UNBOUND)),
        claimEvent('data-pvc', CLASS_NOT_FOUND),
      ],
    });
    const { headline, findings } = diagnose(analysisInput(kubernetes(ns)));
    expect(headline).toMatch(/^checkout-api pods pending: PersistentVolumeClaim data-pvc /);
    expect(findings[1]?.analyzer).toBe('kubernetes.unschedulable');
  });
});

describe('volumesAnalyzer, from the listed claims', () => {
  const claim = (name: string, overrides: Partial<PersistentVolumeClaimSummary> = {}): PersistentVolumeClaimSummary => ({
    name,
    phase: 'Pending',
    storageClassName: 'standard-v2',
    requested: '1Gi',
    accessModes: ['ReadWriteOnce'],
    createdAt: minutesBefore(12),
    conditions: [],
    ...overrides,
  });
  const mounting = (claims: string[]) => pending.map((p) => ({ ...p, claims }));
  const waitForFirstConsumer = (name: string) =>
    claimEvent(name, 'waiting for first consumer to be created before binding', { reason: 'WaitForFirstConsumer', type: 'Normal' });
  const noClassSet = (name: string) =>
    claimEvent(name, 'no persistent volumes available for this claim and no storage class is set', {
      reason: 'FailedBinding',
      type: 'Normal',
    });

  interface ClaimCase {
    name: string;
    claims: PersistentVolumeClaimSummary[];
    pods?: PodSummary[];
    events?: EventSummary[];
    findings: { title: string; severity: Severity }[];
    evidence?: string[];
  }

  const claimCases: ClaimCase[] = [
    {
      name: 'a claim on a StorageClass that does not exist: the pods waiting on it are the ones whose volumes name it',
      claims: [claim('data-pvc'), claim('logs-pvc', { storageClassName: 'other-missing' })],
      pods: mounting(['data-pvc']),
      events: [claimEvent('data-pvc', CLASS_NOT_FOUND), claimEvent('logs-pvc', 'storageclass.storage.k8s.io "other-missing" not found')],
      findings: [
        {
          title: 'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be provisioned: StorageClass standard-v2 not found',
          severity: 'critical',
        },
        { title: 'PersistentVolumeClaim logs-pvc cannot be provisioned: StorageClass other-missing not found', severity: 'warning' },
      ],
      evidence: [
        'PersistentVolumeClaim data-pvc: Pending, StorageClass standard-v2, requests 1Gi ReadWriteOnce, created 2024-05-01T10:18:00Z',
        `pods waiting on it: ${OLD_RS}-p0, ${OLD_RS}-p1`,
      ],
    },
    {
      name: 'a claim naming no class, no default StorageClass: Pending with only a Normal event, and the pods that wait on it',
      claims: [claim('data-pvc', { storageClassName: undefined })],
      pods: mounting(['data-pvc']),
      events: [noClassSet('data-pvc')],
      findings: [
        {
          title:
            'checkout-api pods pending: PersistentVolumeClaim data-pvc cannot be bound: it names no StorageClass (and there is no default) and no PersistentVolume matches it',
          severity: 'critical',
        },
      ],
      evidence: [
        'PersistentVolumeClaim data-pvc: Pending, no StorageClass named, requests 1Gi ReadWriteOnce, created 2024-05-01T10:18:00Z',
      ],
    },
    {
      name: 'a claim naming no class whose pod is not yet told by the scheduler: the claim, with the pod waiting on it',
      claims: [claim('data-pvc', { storageClassName: '' })],
      pods: [pod('db-0', { phase: 'Pending', ready: false, replicaSet: undefined, claims: ['data-pvc'] })],
      findings: [
        {
          title:
            'PersistentVolumeClaim data-pvc cannot be bound: it names no StorageClass (and there is no default) and no PersistentVolume matches it; 1 pod waiting: db-0',
          severity: 'warning',
        },
      ],
    },
    {
      name: 'near miss: a Bound claim, whatever its old provisioning warnings say',
      claims: [claim('data-pvc', { phase: 'Bound', volumeName: 'pvc-123' })],
      events: [claimEvent('data-pvc', CLASS_NOT_FOUND, { lastSeen: minutesBefore(40) })],
      findings: [],
    },
    {
      name: 'near miss: WaitForFirstConsumer, no pod yet',
      claims: [claim('data-pvc', { storageClassName: 'local-path' })],
      events: [waitForFirstConsumer('data-pvc')],
      findings: [],
    },
    {
      name: 'near miss: a Pending claim with a class and no warning (being provisioned)',
      claims: [claim('data-pvc', { storageClassName: 'gp3' })],
      findings: [],
    },
  ];

  test.each(claimCases)('$name', ({ claims, pods = [], events = [], findings, evidence }) => {
    const ns = { ...namespace('shop', { ...down, pods, events }), persistentVolumeClaims: claims };
    const out = volumesAnalyzer(analysisInput(kubernetes(ns)));
    expect(out.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(findings);
    for (const line of evidence ?? []) expect(out[0]?.evidence).toContain(line);
  });
});
