import { configRefsAnalyzer, missingMountReferences } from '../../../activities/analyzers/config-refs.js';
import { diagnose } from '../../../activities/analyzers/index.js';
import type { ContainerSummary, EventSummary, NamespaceEvidence, PodSummary } from '../../../activities/model.js';
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
  pod,
  podsOf,
  replicaSet,
  rolledOut,
  textsOf,
} from './fixtures.js';

function configError(message: string, overrides: Partial<ContainerSummary> = {}): ContainerSummary {
  return container({ ready: false, waiting: { reason: 'CreateContainerConfigError', message }, ...overrides });
}

/** A pod the kubelet has not started: scheduled, its container waiting in ContainerCreating. */
function creating(name: string, overrides: Partial<PodSummary> = {}): PodSummary {
  return pod(name, {
    phase: 'Pending',
    replicaSet: OLD_RS,
    containers: [container({ ready: false, waiting: { reason: 'ContainerCreating' } })],
    ...overrides,
  });
}

function failedMount(podName: string, message: string, overrides: Partial<EventSummary> = {}): EventSummary {
  return event({
    reason: 'FailedMount',
    message,
    object: { kind: 'Pod', name: podName },
    count: 17,
    lastSeen: minutesBefore(2),
    ...overrides,
  });
}

const CM_MOUNT = 'MountVolume.SetUp failed for volume "config-volume" : configmap "app-config" not found';
const SECRET_MOUNT = 'MountVolume.SetUp failed for volume "api-credentials" : secret "frontend-api-keys" not found';
const NFS_MOUNT = 'MountVolume.SetUp failed for volume "nfs" : mount failed: exit status 32';

const base = { deployments: [deployment('checkout-api', { ready: 0, available: 0 })], replicaSets: [replicaSet(OLD_RS, { ready: 0 })] };

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'a Secret an env var reads does not exist (CreateContainerConfigError)',
    ns: namespace('shop', {
      ...base,
      pods: podsOf(OLD_RS, 2, () => ({ phase: 'Pending', containers: [configError('secret "database-secret" not found')] })),
    }),
    expected: {
      titles: ['checkout-api pods cannot start: Secret database-secret not found'],
      objects: [['Deployment/shop/checkout-api', `Pod/shop/${OLD_RS}-p0`, `Pod/shop/${OLD_RS}-p1`]],
      evidence: [
        '2 pods cannot start (waiting in CreateContainerConfigError); Deployment shop/checkout-api has 0/3 ready, 0 available',
        'Secret database-secret not found: 2 pods (container api)',
        'kubelet: secret "database-secret" not found',
      ],
    },
  },
  {
    name: 'a ConfigMap volume whose ConfigMap does not exist (FailedMount, stuck in ContainerCreating)',
    ns: namespace('shop', { ...base, pods: [creating(`${OLD_RS}-p0`)], events: [failedMount(`${OLD_RS}-p0`, CM_MOUNT)] }),
    expected: {
      titles: ['checkout-api pods cannot start: ConfigMap app-config not found (volume config-volume)'],
      evidence: [
        '1 pod cannot start (waiting in ContainerCreating); Deployment shop/checkout-api has 0/3 ready, 0 available',
        `kubelet: ${CM_MOUNT}`,
        'FailedMount warning seen 17 times on 1 pod, last at 2024-05-01T10:28:00Z',
      ],
    },
  },
  {
    name: 'a Secret volume, the correlator-combined message',
    ns: namespace('shop', {
      ...base,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [failedMount(`${OLD_RS}-p0`, `(combined from similar events): ${SECRET_MOUNT}`)],
    }),
    expected: { titles: ['checkout-api pods cannot start: Secret frontend-api-keys not found (volume api-credentials)'] },
  },
  {
    name: 'a key the Secret lacks',
    ns: namespace('shop', {
      ...base,
      pods: [
        pod(`${OLD_RS}-p0`, {
          phase: 'Pending',
          replicaSet: OLD_RS,
          containers: [configError("couldn't find key DB_PASSWORD in Secret shop/db")],
        }),
      ],
    }),
    expected: { titles: ['checkout-api pods cannot start: key DB_PASSWORD missing from Secret db'] },
  },
  {
    name: 'a key the ConfigMap lacks, in an init container',
    ns: namespace('shop', {
      ...base,
      pods: [
        pod(`${OLD_RS}-p0`, {
          phase: 'Pending',
          replicaSet: OLD_RS,
          containers: [
            configError("couldn't find key LOG_LEVEL in ConfigMap shop/app-settings", { name: 'migrate', init: true }),
            container({ ready: false, waiting: { reason: 'PodInitializing' } }),
          ],
        }),
      ],
    }),
    expected: {
      titles: ['checkout-api pods cannot start: key LOG_LEVEL missing from ConfigMap app-settings'],
      evidence: ['key LOG_LEVEL missing from ConfigMap app-settings: 1 pod (init container migrate)'],
    },
  },
  {
    name: 'a volume item key the ConfigMap lacks',
    ns: namespace('shop', {
      ...base,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        failedMount(
          `${OLD_RS}-p0`,
          'MountVolume.SetUp failed for volume "config-volume" : configmap references non-existent config key: app.properties',
        ),
      ],
    }),
    expected: { titles: ['checkout-api pods cannot start: key app.properties missing from the ConfigMap (volume config-volume)'] },
  },
  {
    name: 'a projected volume missing two sources',
    ns: namespace('shop', {
      ...base,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        failedMount(
          `${OLD_RS}-p0`,
          'MountVolume.SetUp failed for volume "bundle" : [configmap "ca-bundle" not found, secret "tls" not found]',
        ),
      ],
    }),
    expected: {
      titles: ['checkout-api pods cannot start: ConfigMap ca-bundle not found (volume bundle) and 1 more'],
      evidence: ['Secret tls not found (volume bundle): 1 pod (volume bundle)'],
    },
  },
  {
    name: 'a config error that names no object is quoted with its reason',
    ns: namespace('shop', {
      ...base,
      pods: [
        pod(`${OLD_RS}-p0`, {
          phase: 'Pending',
          replicaSet: OLD_RS,
          containers: [configError('container has runAsNonRoot and image will run as root (pod: "x", container: api)')],
        }),
      ],
    }),
    expected: {
      titles: [
        'checkout-api pods cannot start: CreateContainerConfigError: container has runAsNonRoot and image will run as root (pod: "x", container: api)',
      ],
    },
  },
  {
    name: 'a secret-sounding error that is not a missing Secret is not read as one',
    ns: namespace('shop', {
      ...base,
      pods: [
        pod(`${OLD_RS}-p0`, {
          phase: 'Pending',
          replicaSet: OLD_RS,
          containers: [configError('failed to sync secret cache: timed out waiting for the condition')],
        }),
      ],
    }),
    expected: {
      titles: [
        'checkout-api pods cannot start: CreateContainerConfigError: failed to sync secret cache: timed out waiting for the condition',
      ],
    },
  },
  {
    name: 'CreateContainerError',
    ns: namespace('shop', {
      ...base,
      pods: [
        pod(`${OLD_RS}-p0`, {
          phase: 'Pending',
          replicaSet: OLD_RS,
          containers: [
            container({ ready: false, waiting: { reason: 'CreateContainerError', message: 'failed to reserve container name' } }),
          ],
        }),
      ],
    }),
    expected: { titles: ['checkout-api pods cannot start: CreateContainerError: failed to reserve container name'] },
  },
  {
    name: 'the pods of a rollout 4 min before the incident',
    ns: namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
      pods: podsOf(NEW_RS, 3, () => ({ phase: 'Pending', containers: [configError('secret "orders-db" not found')] })),
    }),
    expected: {
      titles: ['checkout-api pods cannot start since the rollout to revision 7, 4 min before the incident: Secret orders-db not found'],
    },
  },
  {
    name: 'a pod known only from its FailedMount events, while pods were omitted',
    ns: namespace('shop', {
      ...base,
      pods: [creating(`${OLD_RS}-p0`)],
      podsOmitted: 4,
      events: [failedMount(`${OLD_RS}-p0`, CM_MOUNT), failedMount(`${OLD_RS}-zzzzz`, CM_MOUNT)],
    }),
    expected: {
      titles: ['checkout-api pods cannot start: ConfigMap app-config not found (volume config-volume)'],
      evidence: ['FailedMount warning seen 34 times on 2 pods, last at 2024-05-01T10:28:00Z'],
    },
  },
  // Near misses: none of these is a missing reference that keeps a pod from starting now.
  {
    name: 'near miss: the pod has mounted its volume since the FailedMount event',
    ns: namespace('shop', {
      ...base,
      pods: [pod(`${OLD_RS}-p0`, { replicaSet: OLD_RS })],
      events: [failedMount(`${OLD_RS}-p0`, CM_MOUNT)],
    }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: a mount failure that is not a missing ConfigMap or Secret',
    ns: namespace('shop', { ...base, pods: [creating(`${OLD_RS}-p0`)], events: [failedMount(`${OLD_RS}-p0`, NFS_MOUNT)] }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: a FailedMount event of a pod that is no longer listed, with nothing omitted',
    ns: namespace('shop', { ...base, pods: [creating(`${OLD_RS}-p0`)], events: [failedMount(`${OLD_RS}-gone1`, CM_MOUNT)] }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: Normal events and events on other kinds',
    ns: namespace('shop', {
      ...base,
      pods: [creating(`${OLD_RS}-p0`)],
      events: [
        failedMount(`${OLD_RS}-p0`, CM_MOUNT, { type: 'Normal' }),
        failedMount(OLD_RS, CM_MOUNT, { object: { kind: 'ReplicaSet', name: OLD_RS } }),
      ],
    }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: a pod in ContainerCreating with no event saying why',
    ns: namespace('shop', { ...base, pods: [creating(`${OLD_RS}-p0`)] }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: a crash-looping container',
    ns: namespace('shop', { ...base, pods: podsOf(OLD_RS, 1, () => ({ containers: [crashLooping({ reason: 'Error', exitCode: 1 })] })) }),
    expected: { titles: [] },
  },
];

describe('configRefsAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = configRefsAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const finding of findings) {
      expect(finding).toMatchObject({ analyzer: 'kubernetes.config-refs', severity: 'critical', surface: 'kubernetes' });
      for (const text of textsOf(finding)) expect(text).not.toMatch(CONTROL_CHARACTERS);
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });

  test('control characters in a name the kubelet quotes stop it from parsing, and are cleaned from the quote', () => {
    const ns = namespace('shop', {
      ...base,
      pods: [pod(`${OLD_RS}-p0`, { phase: 'Pending', replicaSet: OLD_RS, containers: [configError('secret "db\u001b[2J" not found')] })],
    });
    const [finding] = configRefsAnalyzer(analysisInput(kubernetes(ns)));
    expect(finding?.title).toBe('checkout-api pods cannot start: CreateContainerConfigError: secret "db[2J" not found');
    for (const text of textsOf(finding!)) expect(text).not.toMatch(CONTROL_CHARACTERS);
  });

  test('outranks the rollout that shipped the missing reference', () => {
    const ns = namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
      pods: podsOf(NEW_RS, 3, () => ({ phase: 'Pending', containers: [configError('secret "orders-db" not found')] })),
    });
    const { headline, findings } = diagnose(analysisInput(kubernetes(ns)));
    expect(headline).toBe(
      'checkout-api pods cannot start since the rollout to revision 7, 4 min before the incident: Secret orders-db not found',
    );
    expect(findings.map((f) => f.analyzer)).toEqual(['kubernetes.config-refs', 'kubernetes.rollout']);
  });
});

describe('missingMountReferences', () => {
  test.each([
    { message: CM_MOUNT, expected: { volume: 'config-volume', causes: ['ConfigMap app-config not found (volume config-volume)'] } },
    {
      message: SECRET_MOUNT,
      expected: { volume: 'api-credentials', causes: ['Secret frontend-api-keys not found (volume api-credentials)'] },
    },
    {
      message: 'MountVolume.SetUp failed for volume "c" : configmaps "plural" not found',
      expected: { volume: 'c', causes: ['ConfigMap plural not found (volume c)'] },
    },
    { message: NFS_MOUNT, expected: undefined },
    {
      message:
        'Unable to attach or mount volumes: unmounted volumes=[config-volume], unattached volumes=[]: timed out waiting for the condition',
      expected: undefined,
    },
    { message: `prefix ${CM_MOUNT}`, expected: undefined },
  ])('$message', ({ message, expected }) => {
    expect(missingMountReferences(message)).toEqual(expected);
  });
});
