// Scenario files drive the sandbox emulators. They are written by hand and may
// be wrong, so everything is validated here, once, and the emulators can then
// trust the typed result. See sandbox/scenarios/README.md for the format.
import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CLOUDWATCH_STATS, CLOUDWATCH_UNITS } from '../activities/model.js';
import { PAGERDUTY_ID } from '../config/identifiers.js';

/** A scenario is a few KiB; anything far larger is a mistake or an attack on the loader. */
const MAX_SCENARIO_FILE_BYTES = 8 * 1024 * 1024;
const MAX_REPORTED_ISSUES = 12;

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`${source}: invalid scenario\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
  }
}

// ---- time templates ---------------------------------------------------------

const TEMPLATE = /^\$\{now(?:([+-])(\d{1,9})([smhd]))?\}$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** RFC 3339 with whole seconds, the form both the Kubernetes apiserver and PagerDuty emit. */
export function formatTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

type PathSegment = string | number;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/**
 * Replaces `${now}` / `${now-12m}` style strings, so a scenario written once always
 * looks like it happened minutes ago. Anything else containing `${` is an error:
 * a typo would otherwise survive as a literal and break time parsing far away.
 * `$${` stands for a literal `${`, as shell scripts in container args need.
 */
function resolveTemplates(value: unknown, nowMs: number, path: PathSegment[], issues: ScenarioError['issues']): unknown {
  if (typeof value === 'string') {
    if (!value.replaceAll('$${', '').includes('${')) return value.replaceAll('$${', '${');
    const m = TEMPLATE.exec(value);
    if (!m) {
      issues.push({
        path: formatPath(path),
        message: `unknown template ${JSON.stringify(value)}; expected \${now}, \${now-12m}, \${now+30s} (units s, m, h, d)`,
      });
      return value;
    }
    const [, sign, amount, unit] = m;
    const offset = sign && amount && unit ? Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS] * (sign === '-' ? -1 : 1) : 0;
    return formatTimestamp(nowMs + offset);
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveTemplates(v, nowMs, [...path, i], issues));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveTemplates(v, nowMs, [...path, k], issues);
    return out;
  }
  return value;
}

// ---- field shapes -----------------------------------------------------------

const timestamp = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp or a ${now...} template' });
/** A metav1.Time: the apiserver serves an unset one as null. */
const kubeTime = timestamp.nullable().optional();
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/**
 * metav1.MicroTime (an Event's `eventTime` and `series.lastObservedTime`): the
 * apiserver parses only RFC 3339 with six fractional digits, and serves that
 * form; any timestamp or template is held in it.
 */
const microTime = timestamp.transform((t) => (MICRO_TIME.test(t) ? t : new Date(t).toISOString().replace(/Z$/, '000Z')));
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const dns1123Label = z.string().max(63).regex(DNS1123_LABEL, 'must be a DNS-1123 label (lowercase alphanumerics and "-")');
const dns1123Subdomain = z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain');
const labelKey = z.string().refine((k) => {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}, 'must be a valid label key ([prefix/]name)');
const labelValue = z
  .string()
  .max(63)
  .regex(/^$|^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a valid label value');
const count = z.number().int().min(0);
/** The API serialises quantities as strings; YAML authors often write `cpu: 1`. */
const quantity = z.union([z.string(), z.number()]).transform(String);
const pagerDutyId = z.string().regex(PAGERDUTY_ID, 'must be a PagerDuty id (letters and digits)');

const ownerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: dns1123Subdomain,
  uid: z.string().optional(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

const objectMeta = z.looseObject({
  name: dns1123Subdomain,
  namespace: dns1123Label.optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().regex(/^\d+$/, 'must be a decimal string').optional(),
  generation: count.optional(),
  creationTimestamp: timestamp.optional(),
  labels: z.record(labelKey, labelValue).optional(),
  annotations: z.record(z.string(), z.string({ message: 'annotation values are strings; quote numbers' })).optional(),
  ownerReferences: z.array(ownerReference).optional(),
});

const container = z.looseObject({
  name: dns1123Label,
  image: z.string().min(1),
  resources: z
    .looseObject({
      limits: z.record(z.string(), quantity).optional(),
      requests: z.record(z.string(), quantity).optional(),
    })
    .optional(),
});

const podSpec = z.looseObject({
  containers: z.array(container).min(1),
  initContainers: z.array(container).optional(),
  nodeName: z.string().optional(),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).optional(),
  serviceAccountName: z.string().optional(),
});

const containerState = z
  .looseObject({
    waiting: z.looseObject({ reason: z.string().optional(), message: z.string().optional() }).optional(),
    running: z.looseObject({ startedAt: kubeTime }).optional(),
    terminated: z
      .looseObject({
        exitCode: z.number().int(),
        signal: z.number().int().optional(),
        reason: z.string().optional(),
        message: z.string().optional(),
        startedAt: kubeTime,
        finishedAt: kubeTime,
        containerID: z.string().optional(),
      })
      .optional(),
  })
  .refine(
    (s) => [s.waiting, s.running, s.terminated].filter(Boolean).length <= 1,
    'a container state holds at most one of waiting, running, terminated',
  );

const containerStatus = z.looseObject({
  name: dns1123Label,
  image: z.string(),
  imageID: z.string().default(''),
  ready: z.boolean(),
  restartCount: count,
  started: z.boolean().optional(),
  containerID: z.string().optional(),
  state: containerState.optional(),
  lastState: containerState.optional(),
});

const conditionStatus = z.enum(['True', 'False', 'Unknown']);

const podCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastProbeTime: kubeTime,
  lastTransitionTime: kubeTime,
});

const pod = z
  .looseObject({
    apiVersion: z.literal('v1').optional(),
    kind: z.literal('Pod').optional(),
    metadata: objectMeta,
    spec: podSpec,
    status: z
      .looseObject({
        phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']),
        conditions: z.array(podCondition).optional(),
        containerStatuses: z.array(containerStatus).optional(),
        initContainerStatuses: z.array(containerStatus).optional(),
        hostIP: z.string().optional(),
        podIP: z.string().optional(),
        startTime: kubeTime,
        qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
        reason: z.string().optional(),
        message: z.string().optional(),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const declared = new Set(p.spec.containers.map((c) => c.name));
    p.status?.containerStatuses?.forEach((s, i) => {
      if (!declared.has(s.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['status', 'containerStatuses', i, 'name'],
          message: `no container "${s.name}" in spec.containers`,
        });
      }
    });
  });

const event = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Event').optional(),
  metadata: objectMeta,
  involvedObject: z.looseObject({
    kind: z.string().min(1),
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    apiVersion: z.string().optional(),
    fieldPath: z.string().optional(),
  }),
  reason: z.string().min(1),
  message: z.string(),
  type: z.enum(['Normal', 'Warning']),
  count: z.number().int().min(1).optional(),
  firstTimestamp: kubeTime,
  lastTimestamp: kubeTime,
  eventTime: microTime.nullable().optional(),
  /** A repeated event written through events.k8s.io/v1: how often and when last, in place of `count` and `lastTimestamp`. */
  series: z.looseObject({ count: z.number().int().min(2), lastObservedTime: microTime }).optional(),
  source: z.looseObject({ component: z.string().optional(), host: z.string().optional() }).optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
});

/** Where the kubelet records its events about Nodes; the emulator serves `kubernetes.nodeEvents` there. */
export const NODE_EVENTS_NAMESPACE = 'default';

/**
 * An event the kubelet records about its Node (NodeHasInsufficientMemory,
 * EvictionThresholdMet, ...). Nodes are cluster-scoped, so the reference
 * carries no namespace; anything else belongs under a namespace's `events`,
 * and is refused here rather than served where no client would look for it.
 */
const nodeEvent = event.extend({
  involvedObject: event.shape.involvedObject.extend({
    kind: z.string().superRefine((kind, ctx) => {
      if (kind !== 'Node') {
        ctx.addIssue({
          code: 'custom',
          // Quoted and cut: the value is the file's, not ours, and may be anything.
          message: `is ${JSON.stringify(kind.length > 63 ? `${kind.slice(0, 63)}…` : kind)}, expected "Node": nodeEvents are events about Nodes; list events about other objects under kubernetes.namespaces.<namespace>.events`,
        });
      }
    }),
    namespace: z.literal('', { message: 'a Node is cluster-scoped: its reference has no namespace (leave it out)' }).optional(),
  }),
});

const labelSelector = z.looseObject({
  matchLabels: z.record(labelKey, labelValue).optional(),
  matchExpressions: z
    .array(
      z.looseObject({ key: labelKey, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() }),
    )
    .optional(),
});

const podTemplate = z.looseObject({
  metadata: z
    .looseObject({ labels: z.record(labelKey, labelValue).optional(), annotations: z.record(z.string(), z.string()).optional() })
    .optional(),
  spec: podSpec,
});

const workloadCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastUpdateTime: kubeTime,
  lastTransitionTime: kubeTime,
});

const deployment = z.looseObject({
  apiVersion: z.literal('apps/v1').optional(),
  kind: z.literal('Deployment').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    replicas: count.optional(),
    selector: labelSelector,
    template: podTemplate,
    strategy: z.looseObject({ type: z.enum(['RollingUpdate', 'Recreate']).optional() }).optional(),
    revisionHistoryLimit: count.optional(),
    progressDeadlineSeconds: count.optional(),
    minReadySeconds: count.optional(),
  }),
  status: z
    .looseObject({
      observedGeneration: count.optional(),
      replicas: count.optional(),
      updatedReplicas: count.optional(),
      readyReplicas: count.optional(),
      availableReplicas: count.optional(),
      unavailableReplicas: count.optional(),
      conditions: z.array(workloadCondition).optional(),
    })
    .optional(),
});

const replicaSet = z.looseObject({
  apiVersion: z.literal('apps/v1').optional(),
  kind: z.literal('ReplicaSet').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    replicas: count.optional(),
    selector: labelSelector,
    template: podTemplate.optional(),
    minReadySeconds: count.optional(),
  }),
  status: z
    .looseObject({
      replicas: count,
      fullyLabeledReplicas: count.optional(),
      readyReplicas: count.optional(),
      availableReplicas: count.optional(),
      observedGeneration: count.optional(),
      conditions: z.array(workloadCondition).optional(),
    })
    .optional(),
});

/** A Service: its selector picks the pods its Endpoints list (none for ExternalName or hand-made Endpoints). */
const service = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Service').optional(),
  metadata: objectMeta,
  spec: z
    .looseObject({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
      selector: z.record(z.string(), z.string()).optional(),
      ports: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            port: z.number().int().min(1).max(65535),
            targetPort: z.union([z.number().int(), z.string()]).optional(),
            protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

/** A Service's Endpoints: `subsets[].addresses` are the ready pods, `notReadyAddresses` the others. */
const endpoints = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Endpoints').optional(),
  metadata: objectMeta,
  subsets: z
    .array(
      z.looseObject({
        addresses: z.array(z.looseObject({ ip: z.string() })).optional(),
        notReadyAddresses: z.array(z.looseObject({ ip: z.string() })).optional(),
        ports: z.array(z.looseObject({ port: z.number().int() })).optional(),
      }),
    )
    .optional(),
});

/** A NetworkPolicy (networking.k8s.io/v1); its rules are kept as written. */
const networkPolicy = z.looseObject({
  apiVersion: z.literal('networking.k8s.io/v1').optional(),
  kind: z.literal('NetworkPolicy').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    podSelector: z.looseObject({}),
    policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
    ingress: z.array(z.looseObject({})).optional(),
    egress: z.array(z.looseObject({})).optional(),
  }),
});

const hpaCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: kubeTime,
});

/** A metric source (`spec.metrics[]`) or its current value (`status.currentMetrics[]`); kept loose: five types, each its own shape. */
const hpaMetric = z.looseObject({ type: z.enum(['Resource', 'ContainerResource', 'Pods', 'Object', 'External']) });

/** A HorizontalPodAutoscaler (autoscaling/v2): its conditions say whether it can compute replicas and whether maxReplicas holds it back. */
const horizontalPodAutoscaler = z.looseObject({
  apiVersion: z.literal('autoscaling/v2').optional(),
  kind: z.literal('HorizontalPodAutoscaler').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    scaleTargetRef: z.looseObject({ apiVersion: z.string().optional(), kind: z.string().min(1), name: dns1123Subdomain }),
    minReplicas: z.number().int().min(1).optional(),
    maxReplicas: z.number().int().min(1),
    metrics: z.array(hpaMetric).optional(),
  }),
  status: z
    .looseObject({
      currentReplicas: count.optional(),
      desiredReplicas: count,
      lastScaleTime: kubeTime,
      observedGeneration: count.optional(),
      currentMetrics: z.array(hpaMetric).nullable().optional(),
      conditions: z.array(hpaCondition).optional(),
    })
    .optional(),
});

const pvcCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastProbeTime: kubeTime,
  lastTransitionTime: kubeTime,
});

const accessMode = z.enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']);

/** A PersistentVolumeClaim (core/v1): Pending until a volume is bound to it, which its events explain. */
const persistentVolumeClaim = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('PersistentVolumeClaim').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    accessModes: z.array(accessMode).optional(),
    storageClassName: z.string().optional(),
    volumeName: z.string().optional(),
    volumeMode: z.enum(['Filesystem', 'Block']).optional(),
    resources: z.looseObject({ requests: z.record(z.string(), quantity).optional() }).optional(),
  }),
  status: z
    .looseObject({
      phase: z.enum(['Pending', 'Bound', 'Lost']).optional(),
      accessModes: z.array(accessMode).optional(),
      capacity: z.record(z.string(), quantity).optional(),
      conditions: z.array(pvcCondition).optional(),
    })
    .optional(),
});

const jobCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastProbeTime: kubeTime,
  lastTransitionTime: kubeTime,
});

const jobSpec = z.looseObject({
  template: podTemplate,
  completions: count.optional(),
  parallelism: count.optional(),
  backoffLimit: count.optional(),
  activeDeadlineSeconds: count.optional(),
  completionMode: z.enum(['NonIndexed', 'Indexed']).optional(),
  suspend: z.boolean().optional(),
  selector: labelSelector.optional(),
});

/** A Job (batch/v1); its status is the controller's verdict (`Failed`/`Complete` conditions), which outlives the events. */
const job = z.looseObject({
  apiVersion: z.literal('batch/v1').optional(),
  kind: z.literal('Job').optional(),
  metadata: objectMeta,
  spec: jobSpec,
  status: z
    .looseObject({
      active: count.optional(),
      succeeded: count.optional(),
      failed: count.optional(),
      ready: count.optional(),
      terminating: count.optional(),
      startTime: kubeTime,
      completionTime: kubeTime,
      conditions: z.array(jobCondition).optional(),
    })
    .optional(),
});

/** A CronJob (batch/v1): `status.active` names its running Jobs. */
const cronJob = z.looseObject({
  apiVersion: z.literal('batch/v1').optional(),
  kind: z.literal('CronJob').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    schedule: z.string().min(1),
    jobTemplate: z.looseObject({ metadata: z.looseObject({}).optional(), spec: jobSpec }),
    suspend: z.boolean().optional(),
    concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).optional(),
    timeZone: z.string().optional(),
    successfulJobsHistoryLimit: count.optional(),
    failedJobsHistoryLimit: count.optional(),
  }),
  status: z
    .looseObject({
      active: z.array(z.looseObject({ kind: z.string().optional(), name: z.string().optional() })).optional(),
      lastScheduleTime: kubeTime,
      lastSuccessfulTime: kubeTime,
    })
    .optional(),
});

const nodeCondition = z.looseObject({
  type: z.string(),
  status: conditionStatus,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastHeartbeatTime: kubeTime,
  lastTransitionTime: kubeTime,
});

const taint = z.looseObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  timeAdded: kubeTime,
});

/**
 * A Node (core/v1, cluster-scoped): its Ready and pressure conditions, taints,
 * cordon (`spec.unschedulable`), labels and allocatable resources are what the
 * scheduler and the node controller act on.
 */
const node = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Node').optional(),
  metadata: objectMeta,
  spec: z
    .looseObject({
      unschedulable: z.boolean().optional(),
      taints: z.array(taint).optional(),
      providerID: z.string().optional(),
      podCIDR: z.string().optional(),
    })
    .default({}),
  status: z
    .looseObject({
      capacity: z.record(z.string(), quantity).optional(),
      allocatable: z.record(z.string(), quantity).optional(),
      conditions: z.array(nodeCondition).optional(),
      addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).optional(),
      nodeInfo: z.looseObject({}).optional(),
    })
    .optional(),
});

/**
 * A PriorityClass (scheduling.k8s.io/v1, cluster-scoped). The apiserver admits
 * a pod that names one only if it exists, and sets the pod's `priority` from
 * its `value`; the worker never reads them, so the emulator does not serve them.
 */
const priorityClass = z.looseObject({
  apiVersion: z.literal('scheduling.k8s.io/v1').optional(),
  kind: z.literal('PriorityClass').optional(),
  metadata: objectMeta,
  value: z.number().int().max(1_000_000_000, 'values above 1000000000 are reserved for the system classes'),
  globalDefault: z.boolean().optional(),
  preemptionPolicy: z.enum(['PreemptLowerPriority', 'Never']).optional(),
  description: z.string().optional(),
});

/** Every cluster has these two (the apiserver creates them); a scenario need not list them. */
const SYSTEM_PRIORITY_CLASSES: Record<string, number> = { 'system-cluster-critical': 2_000_000_000, 'system-node-critical': 2_000_001_000 };

/**
 * How a StatefulSet or DaemonSet replaces its pods: RollingUpdate (a
 * StatefulSet's `partition` holds the ordinals below it at the current
 * revision), or OnDelete (only pods someone deletes take the new revision).
 */
const workloadUpdateStrategy = z.looseObject({
  type: z.enum(['RollingUpdate', 'OnDelete']).optional(),
  rollingUpdate: z
    .looseObject({
      partition: count.optional(),
      maxUnavailable: z.union([count, z.string()]).optional(),
      maxSurge: z.union([count, z.string()]).optional(),
    })
    .optional(),
});

/** The claim a StatefulSet makes for each pod: the apiserver refuses one without access modes or a storage request. */
const volumeClaimTemplate = z.looseObject({
  metadata: z.looseObject({ name: dns1123Subdomain }),
  spec: z.looseObject({
    accessModes: z.array(accessMode).min(1),
    resources: z.looseObject({ requests: z.looseObject({ storage: quantity }) }),
  }),
});

/** A StatefulSet (apps/v1): its pods are `<name>-<ordinal>`; `currentRevision` and `updateRevision` name ControllerRevisions. */
const statefulSet = z.looseObject({
  apiVersion: z.literal('apps/v1').optional(),
  kind: z.literal('StatefulSet').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    replicas: count.optional(),
    selector: labelSelector,
    template: podTemplate,
    serviceName: z.string().optional(),
    podManagementPolicy: z.enum(['OrderedReady', 'Parallel']).optional(),
    updateStrategy: workloadUpdateStrategy.optional(),
    revisionHistoryLimit: count.optional(),
    minReadySeconds: count.optional(),
    volumeClaimTemplates: z.array(volumeClaimTemplate).optional(),
  }),
  status: z
    .looseObject({
      replicas: count,
      readyReplicas: count.optional(),
      currentReplicas: count.optional(),
      updatedReplicas: count.optional(),
      availableReplicas: count.optional(),
      currentRevision: z.string().optional(),
      updateRevision: z.string().optional(),
      observedGeneration: count.optional(),
      collisionCount: count.optional(),
      conditions: z.array(workloadCondition).optional(),
    })
    .optional(),
});

/** A DaemonSet (apps/v1): one pod per eligible node, counted by the four numbers its status must carry. */
const daemonSet = z.looseObject({
  apiVersion: z.literal('apps/v1').optional(),
  kind: z.literal('DaemonSet').optional(),
  metadata: objectMeta,
  spec: z.looseObject({
    selector: labelSelector,
    template: podTemplate,
    updateStrategy: workloadUpdateStrategy.optional(),
    revisionHistoryLimit: count.optional(),
    minReadySeconds: count.optional(),
  }),
  status: z
    .looseObject({
      currentNumberScheduled: count,
      desiredNumberScheduled: count,
      numberMisscheduled: count,
      numberReady: count,
      numberAvailable: count.optional(),
      numberUnavailable: count.optional(),
      updatedNumberScheduled: count.optional(),
      observedGeneration: count.optional(),
      collisionCount: count.optional(),
      conditions: z.array(workloadCondition).optional(),
    })
    .optional(),
});

/**
 * A ControllerRevision (apps/v1): a StatefulSet's or DaemonSet's snapshot of
 * its pod template. `data` is a RawExtension, an object on the wire; the two
 * controllers store `{spec: {template: …}}` in it.
 */
const controllerRevision = z.looseObject({
  apiVersion: z.literal('apps/v1').optional(),
  kind: z.literal('ControllerRevision').optional(),
  metadata: objectMeta,
  revision: count,
  data: z.looseObject({ spec: z.looseObject({ template: podTemplate.optional() }).optional() }).optional(),
});

/** What `kubectl logs` shows for a container: its current log, or with `previous` the one before its last restart. */
const containerLog = z.strictObject({
  pod: dns1123Subdomain,
  container: dns1123Label,
  previous: z.boolean().default(true),
  text: z.string().max(1024 * 1024),
});

const namespaceContent = z.strictObject({
  pods: z.array(pod).default([]),
  logs: z.array(containerLog).default([]),
  events: z.array(event).default([]),
  deployments: z.array(deployment).default([]),
  replicaSets: z.array(replicaSet).default([]),
  services: z.array(service).default([]),
  endpoints: z.array(endpoints).default([]),
  networkPolicies: z.array(networkPolicy).default([]),
  jobs: z.array(job).default([]),
  cronJobs: z.array(cronJob).default([]),
  horizontalPodAutoscalers: z.array(horizontalPodAutoscaler).default([]),
  persistentVolumeClaims: z.array(persistentVolumeClaim).default([]),
  statefulSets: z.array(statefulSet).default([]),
  daemonSets: z.array(daemonSet).default([]),
  controllerRevisions: z.array(controllerRevision).default([]),
});

const reference = z.strictObject({ id: pagerDutyId, summary: z.string().min(1) });

const incident = z.strictObject({
  id: pagerDutyId,
  incident_number: z.number().int().min(1),
  title: z.string().min(1).max(1024),
  description: z.string().optional(),
  status: z.enum(['triggered', 'acknowledged', 'resolved']),
  urgency: z.enum(['high', 'low']),
  created_at: timestamp,
  updated_at: timestamp.optional(),
  last_status_change_at: timestamp.optional(),
  resolved_at: timestamp.nullable().optional(),
  incident_key: z.string().optional(),
  html_url: z.url({ protocol: /^https?$/ }),
  service: z.strictObject({ id: pagerDutyId, summary: z.string().min(1), html_url: z.url().optional() }),
  escalation_policy: reference.optional(),
  teams: z.array(reference).optional(),
  priority: reference.nullable().optional(),
  assignments: z.array(z.strictObject({ at: timestamp, assignee: reference })).optional(),
});

const alert = z.strictObject({
  id: pagerDutyId,
  status: z.enum(['triggered', 'resolved']),
  severity: z.enum(['info', 'warning', 'error', 'critical']),
  summary: z.string().min(1).max(1024),
  created_at: timestamp,
  resolved_at: timestamp.nullable().optional(),
  alert_key: z.string().optional(),
  suppressed: z.boolean().optional(),
  integration: reference.optional(),
  body: z
    .strictObject({
      details: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
      cef_details: z.record(z.string(), z.unknown()).optional(),
      contexts: z.array(z.looseObject({ type: z.string() })).optional(),
    })
    .optional(),
});

/** GitHub's rules: an owner is 1-39 alphanumerics or single hyphens; a repository name is 1-100 of [A-Za-z0-9._-], not "." or "..". */
const gitHubRepo = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/,
    'must be owner/name, as GitHub spells repositories',
  );

/** Slack's rules: channel names are lowercase letters, digits, "-" and "_", at most 80 characters. */
const slackChannelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, 'must be a Slack channel name: lowercase letters, digits, "-" and "_", without "#"');
const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id: U or W, then uppercase letters and digits');
const slackUserName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'must be a Slack username: lowercase letters, digits, ".", "-" and "_"');

/** The sandbox Slack workspace: the channels the app is in and the people who can click its buttons. */
const slackWorkspace = z.strictObject({
  channels: z.array(z.strictObject({ name: slackChannelName })).min(1),
  users: z.array(z.strictObject({ id: slackUserId, name: slackUserName })).min(1),
});

// ---- metrics (CloudWatch, Datadog) ------------------------------------------

/**
 * A series is written either point by point (`values`, one per step from
 * `start`) or as a shape: a steady `baseline` that moves to `incident` at
 * `changeAt`, with deterministic jitter so charts look like real telemetry and
 * every run of a scenario produces the same numbers.
 */
const explicitSeries = z.strictObject({
  start: timestamp,
  stepSeconds: z.number().int().min(1).max(86_400).default(60),
  values: z.array(z.number().finite()).min(1).max(1440),
});
const shapedSeries = z
  .strictObject({
    start: timestamp,
    end: timestamp,
    stepSeconds: z.number().int().min(1).max(86_400).default(60),
    baseline: z.number().finite(),
    incident: z.number().finite().optional(),
    changeAt: timestamp.optional(),
    /** Relative noise, e.g. 0.05 for ±5%. */
    jitter: z.number().min(0).max(1).default(0.05),
  })
  .refine((s) => (s.incident === undefined) === (s.changeAt === undefined), 'incident and changeAt go together')
  .refine((s) => Date.parse(s.end) > Date.parse(s.start), 'end must be after start')
  .refine((s) => (Date.parse(s.end) - Date.parse(s.start)) / 1000 / s.stepSeconds <= 1440, 'at most 1,440 points per series');

/** A stable pseudo-random number in [-1, 1] for point `i`: the same scenario always yields the same series. */
function noise(i: number): number {
  const x = Math.sin((i + 1) * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

/** The expanded form, `[epoch ms, value]` pairs: what a loaded scenario holds, so it validates again unchanged. */
const expandedSeries = z.array(z.tuple([z.number().int().min(0), z.number().finite()])).max(1440);

const metricSeries = z.union([explicitSeries, shapedSeries, expandedSeries]).transform((s): [number, number][] => {
  if (Array.isArray(s)) return s;
  const start = Date.parse(s.start);
  const stepMs = s.stepSeconds * 1000;
  if ('values' in s) return s.values.map((v, i) => [start + i * stepMs, v]);
  const change = s.changeAt === undefined ? Infinity : Date.parse(s.changeAt);
  const points: [number, number][] = [];
  for (let t = start, i = 0; t <= Date.parse(s.end); t += stepMs, i += 1) {
    const level = t >= change ? (s.incident ?? s.baseline) : s.baseline;
    points.push([t, Math.max(0, level * (1 + s.jitter * noise(i)))]);
  }
  return points;
});

const metricLabel = z.string().min(1).max(80);
const dependencyName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "-" and "_"');

const cloudWatchMetric = z.strictObject({
  label: metricLabel,
  dependency: dependencyName.optional(),
  namespace: z.string().regex(/^[^:][^:]{0,254}$/, 'must be a CloudWatch namespace (1-255 characters, no ":" first)'),
  metricName: z.string().min(1).max(255),
  dimensions: z
    .record(z.string().min(1).max(255), z.string().min(1).max(1024))
    .refine((d) => Object.keys(d).length <= 30, 'at most 30 dimensions')
    .default({}),
  stat: z.enum(CLOUDWATCH_STATS).default('Average'),
  periodSeconds: z
    .number()
    .int()
    .refine((p) => p === 1 || p === 5 || p === 10 || p === 30 || (p >= 60 && p % 60 === 0), 'must be 1, 5, 10, 30 or a multiple of 60')
    .default(60),
  unit: z.enum(CLOUDWATCH_UNITS).optional(),
  series: metricSeries,
});

const cloudWatch = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1')
    .default('eu-west-1'),
  metrics: z.array(cloudWatchMetric).min(1).max(20),
});

const datadogQuery = z.strictObject({
  label: metricLabel,
  dependency: dependencyName.optional(),
  query: z.string().min(1).max(2000),
  unit: z.string().max(32).optional(),
  series: metricSeries,
});

const datadogMonitor = z.strictObject({
  id: z.number().int().min(1),
  name: z.string().min(1).max(1000),
  type: z.string().default('query alert'),
  query: z.string().min(1),
  message: z.string().default(''),
  overall_state: z.enum(['OK', 'Alert', 'Warn', 'No Data', 'Ignored', 'Skipped', 'Unknown']),
  overall_state_modified: timestamp.optional(),
  tags: z.array(z.string().min(1).max(200)).default([]),
  priority: z.number().int().min(1).max(5).nullable().default(null),
});

const datadogLog = z.strictObject({
  timestamp,
  service: z.string().min(1).max(100),
  status: z.enum(['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug']).default('error'),
  message: z.string().max(8192),
  host: z.string().optional(),
  tags: z.array(z.string()).default([]),
  /** The same line this many times, one per `every` seconds back from `timestamp`: a noisy error without a noisy file. */
  repeat: z.number().int().min(1).max(10_000).default(1),
  every: z.number().int().min(1).max(3600).default(10),
});

const datadog = z.strictObject({
  queries: z.array(datadogQuery).max(20).default([]),
  monitorTags: z.array(z.string().min(1)).default([]),
  logQuery: z.string().min(1).max(1000).optional(),
  monitors: z.array(datadogMonitor).default([]),
  logs: z.array(datadogLog).default([]),
});

// ---- emulator conditions ----------------------------------------------------

/** Per-surface network conditions for benchmarks and failure tests: added latency and an error rate. */
export const surfaceConditions = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  /** Share of API requests that fail, 0-1; 1 fails every request. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(400).max(599).default(503),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
});

export const CONDITION_SURFACES = ['pagerduty', 'kubernetes', 'github', 'slack', 'datadog', 'cloudwatch'] as const;

const scenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-"'),
    description: z.string().min(1),
    pagerduty: z.strictObject({ incident, alerts: z.array(alert).default([]) }),
    kubernetes: z
      .strictObject({
        namespaces: z.record(dns1123Label, namespaceContent).default({}),
        /** Served as events in namespace `default`, where the kubelet records them; they do not make `default` a triaged namespace. */
        nodeEvents: z.array(nodeEvent).default([]),
        /** Cluster-scoped, served at /api/v1/nodes; the worker reads them only when configured to (`kubernetes.readNodes`). */
        nodes: z.array(node).default([]),
        /** Cluster-scoped; the classes the pods name (`spec.priorityClassName`), which a real cluster must hold. */
        priorityClasses: z.array(priorityClass).default([]),
      })
      .prefault({}),
    /** Where the triage files its issue; the GitHub emulator's installation covers this repository. */
    github: z.strictObject({ repo: gitHubRepo }).optional(),
    /** The sandbox Slack's channels and users; without it the Slack emulator uses its defaults. */
    slack: slackWorkspace.optional(),
    /** Metrics moto serves (seeded with PutMetricData); they are also the service's configured metrics. */
    cloudwatch: cloudWatch.optional(),
    /** What the Datadog emulator serves; its queries, tags and log query are also the service's configuration. */
    datadog: datadog.optional(),
    /** Added latency and error rates per emulated surface (the environment can override them). */
    conditions: z.partialRecord(z.enum(CONDITION_SURFACES), surfaceConditions).default({}),
  })
  .superRefine((s, ctx) => {
    const alertIds = new Set<string>();
    s.pagerduty.alerts.forEach((a, i) => {
      if (alertIds.has(a.id))
        ctx.addIssue({ code: 'custom', path: ['pagerduty', 'alerts', i, 'id'], message: `duplicate alert id ${a.id}` });
      alertIds.add(a.id);
    });
    if (s.slack) {
      const unique = (list: string[], what: string, path: (i: number) => PathSegment[]) => {
        const seen = new Set<string>();
        list.forEach((v, i) => {
          if (seen.has(v)) ctx.addIssue({ code: 'custom', path: ['slack', ...path(i)], message: `duplicate ${what} ${v}` });
          seen.add(v);
        });
      };
      unique(
        s.slack.channels.map((c) => c.name),
        'channel name',
        (i) => ['channels', i, 'name'],
      );
      unique(
        s.slack.users.map((u) => u.id),
        'user id',
        (i) => ['users', i, 'id'],
      );
      unique(
        s.slack.users.map((u) => u.name),
        'username',
        (i) => ['users', i, 'name'],
      );
    }
    const uniqueIn = <T>(list: readonly T[], key: (v: T) => string | number, what: string, path: (i: number) => PathSegment[]) => {
      const seen = new Set<string | number>();
      list.forEach((v, i) => {
        const k = key(v);
        if (seen.has(k)) ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what} ${JSON.stringify(k)}` });
        seen.add(k);
      });
    };
    // Labels name the charts and the findings; two series with one label would be indistinguishable.
    const labels = [
      ...(s.cloudwatch?.metrics ?? []).map((m, i) => ({ label: m.label, path: ['cloudwatch', 'metrics', i, 'label'] })),
      ...(s.datadog?.queries ?? []).map((q, i) => ({ label: q.label, path: ['datadog', 'queries', i, 'label'] })),
    ];
    uniqueIn(
      labels,
      (l) => l.label,
      'metric label',
      (i) => labels[i]!.path,
    );
    if (s.datadog)
      uniqueIn(
        s.datadog.monitors,
        (m) => m.id,
        'monitor id',
        (i) => ['datadog', 'monitors', i, 'id'],
      );
    for (const [ns, content] of Object.entries(s.kubernetes.namespaces)) {
      checkNamespace(ns, content, (path, message) =>
        ctx.addIssue({ code: 'custom', path: ['kubernetes', 'namespaces', ns, ...path], message }),
      );
    }
    checkNodeEvents(s.kubernetes.nodeEvents, s.kubernetes.namespaces[NODE_EVENTS_NAMESPACE]?.events ?? [], (path, message) =>
      ctx.addIssue({ code: 'custom', path: ['kubernetes', 'nodeEvents', ...path], message }),
    );
    checkNodes(s.kubernetes.nodes, s.kubernetes.namespaces, (path, message) =>
      ctx.addIssue({ code: 'custom', path: ['kubernetes', ...path], message }),
    );
    checkPriorityClasses(s.kubernetes.priorityClasses, s.kubernetes.namespaces, (path, message) =>
      ctx.addIssue({ code: 'custom', path: ['kubernetes', ...path], message }),
    );
  });

type NamespaceContent = z.output<typeof namespaceContent>;

/** Catches the mistakes that would make the emulated cluster impossible: clashing names, dangling owners. */
function checkNamespace(ns: string, content: NamespaceContent, report: (path: PathSegment[], message: string) => void): void {
  const names: Record<string, Set<string>> = {};
  for (const kind of [
    'pods',
    'events',
    'deployments',
    'replicaSets',
    'services',
    'endpoints',
    'networkPolicies',
    'jobs',
    'cronJobs',
    'horizontalPodAutoscalers',
    'persistentVolumeClaims',
    'statefulSets',
    'daemonSets',
    'controllerRevisions',
  ] as const) {
    const seen = (names[kind] = new Set());
    content[kind].forEach((obj, i) => {
      const meta = obj.metadata;
      if (seen.has(meta.name)) report([kind, i, 'metadata', 'name'], `duplicate ${kind} name "${meta.name}"`);
      seen.add(meta.name);
      if (meta.namespace !== undefined && meta.namespace !== ns) {
        report([kind, i, 'metadata', 'namespace'], `is "${meta.namespace}" but the object is listed under namespace "${ns}"`);
      }
    });
  }
  content.events.forEach((e, i) => checkEventNamespace(ns, e, (message) => report(['events', i, 'involvedObject', 'namespace'], message)));
  content.logs.forEach((log, i) => {
    const pod = content.pods.find((p) => p.metadata.name === log.pod);
    if (!pod) report(['logs', i, 'pod'], `no pod "${log.pod}" in namespace "${ns}"`);
    else if (![...pod.spec.containers, ...(pod.spec.initContainers ?? [])].some((c) => c.name === log.container)) {
      report(['logs', i, 'container'], `pod "${log.pod}" has no container "${log.container}"`);
    }
  });
  // Scenarios written before Jobs and CronJobs were served list none: their owner references are only checked when some are listed.
  const owners: Record<string, Set<string> | undefined> = {
    ReplicaSet: names.replicaSets,
    Deployment: names.deployments,
    ...(content.jobs.length > 0 ? { Job: names.jobs } : {}),
    ...(content.cronJobs.length > 0 ? { CronJob: names.cronJobs } : {}),
    // Likewise StatefulSets and DaemonSets: older scenarios show their pods only.
    ...(content.statefulSets.length > 0 ? { StatefulSet: names.statefulSets } : {}),
    ...(content.daemonSets.length > 0 ? { DaemonSet: names.daemonSets } : {}),
  };
  for (const kind of ['pods', 'replicaSets', 'jobs', 'controllerRevisions'] as const) {
    content[kind].forEach((obj, i) => {
      obj.metadata.ownerReferences?.forEach((ref, j) => {
        const known = owners[ref.kind];
        if (known && !known.has(ref.name))
          report([kind, i, 'metadata', 'ownerReferences', j, 'name'], `no ${ref.kind} "${ref.name}" in namespace "${ns}"`);
      });
    });
  }
}

/**
 * Where the apiserver keeps an event (its legacy validation): with its object,
 * in that object's namespace; an event about a cluster-scoped object (no
 * namespace) only in `default`, or, written with an `eventTime`, `kube-system`.
 * An `eventTime` event may also be about an object of another namespace.
 */
function checkEventNamespace(ns: string, e: z.output<typeof event>, report: (message: string) => void): void {
  const subject = e.involvedObject.namespace ?? '';
  if (subject === '') {
    if (ns !== NODE_EVENTS_NAMESPACE && !(e.eventTime && ns === 'kube-system'))
      report(`is missing: the event is listed under namespace "${ns}", which keeps only events about its own objects`);
  } else if (subject !== ns && !e.eventTime) {
    report(`is "${subject}" but the event is listed under namespace "${ns}": an event is kept with its object`);
  }
}

/**
 * Node events share namespace `default` with whatever events the scenario lists
 * there itself, so a name may occur only once across both lists.
 */
function checkNodeEvents(
  nodeEvents: readonly z.output<typeof nodeEvent>[],
  defaultEvents: readonly z.output<typeof event>[],
  report: (path: PathSegment[], message: string) => void,
): void {
  const listed = new Set(defaultEvents.map((e) => e.metadata.name));
  const seen = new Set<string>();
  nodeEvents.forEach((e, i) => {
    const { name, namespace } = e.metadata;
    if (seen.has(name)) report([i, 'metadata', 'name'], `duplicate node event name "${name}"`);
    else if (listed.has(name))
      report(
        [i, 'metadata', 'name'],
        `"${name}" is also listed under kubernetes.namespaces.${NODE_EVENTS_NAMESPACE}.events; both are served in namespace "${NODE_EVENTS_NAMESPACE}"`,
      );
    seen.add(name);
    if (namespace !== undefined && namespace !== NODE_EVENTS_NAMESPACE) {
      report(
        [i, 'metadata', 'namespace'],
        `is "${namespace}" but node events are served in namespace "${NODE_EVENTS_NAMESPACE}", where the kubelet records them`,
      );
    }
  });
}

/**
 * Nodes are cluster-scoped: no namespace, one name each. Scenarios written
 * before Nodes were served list none and name nodes only in `spec.nodeName`;
 * once any are listed, a pod's node must be one of them.
 */
function checkNodes(
  nodes: readonly z.output<typeof node>[],
  namespaces: Record<string, NamespaceContent>,
  report: (path: PathSegment[], message: string) => void,
): void {
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    const { name, namespace } = n.metadata;
    if (seen.has(name)) report(['nodes', i, 'metadata', 'name'], `duplicate node name "${name}"`);
    seen.add(name);
    if (namespace !== undefined) report(['nodes', i, 'metadata', 'namespace'], 'Nodes are cluster-scoped: leave out metadata.namespace');
  });
  if (nodes.length === 0) return;
  for (const [ns, content] of Object.entries(namespaces)) {
    content.pods.forEach((p, i) => {
      const nodeName = p.spec.nodeName;
      if (nodeName !== undefined && !seen.has(nodeName))
        report(['namespaces', ns, 'pods', i, 'spec', 'nodeName'], `no node "${nodeName}" in kubernetes.nodes`);
    });
  }
}

/**
 * What the apiserver's Priority admission checks of a pod: the class it names
 * exists, and a `priority` written beside it is that class's value.
 */
function checkPriorityClasses(
  classes: readonly z.output<typeof priorityClass>[],
  namespaces: Record<string, NamespaceContent>,
  report: (path: PathSegment[], message: string) => void,
): void {
  const values = new Map(Object.entries(SYSTEM_PRIORITY_CLASSES));
  classes.forEach((c, i) => {
    const { name, namespace } = c.metadata;
    if (values.has(name)) report(['priorityClasses', i, 'metadata', 'name'], `duplicate priority class name "${name}"`);
    values.set(name, c.value);
    if (namespace !== undefined)
      report(['priorityClasses', i, 'metadata', 'namespace'], 'PriorityClasses are cluster-scoped: leave out metadata.namespace');
  });
  for (const [ns, content] of Object.entries(namespaces)) {
    content.pods.forEach((p, i) => {
      const { priorityClassName: name, priority } = p.spec as { priorityClassName?: unknown; priority?: unknown };
      if (typeof name !== 'string' || name === '') return;
      const value = values.get(name);
      if (value === undefined)
        report(['namespaces', ns, 'pods', i, 'spec', 'priorityClassName'], `no priority class "${name}" in kubernetes.priorityClasses`);
      else if (priority !== undefined && priority !== value)
        report(
          ['namespaces', ns, 'pods', i, 'spec', 'priority'],
          `is ${String(priority)}, but priority class "${name}" has value ${value}`,
        );
    });
  }
}

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioIncident = Scenario['pagerduty']['incident'];
export type ScenarioAlert = Scenario['pagerduty']['alerts'][number];
export type ScenarioNamespace = NamespaceContent;
export type ScenarioPod = NamespaceContent['pods'][number];
export type ScenarioEvent = NamespaceContent['events'][number];
export type ScenarioDeployment = NamespaceContent['deployments'][number];
export type ScenarioReplicaSet = NamespaceContent['replicaSets'][number];
export type ScenarioJob = NamespaceContent['jobs'][number];
export type ScenarioCronJob = NamespaceContent['cronJobs'][number];
export type ScenarioNode = Scenario['kubernetes']['nodes'][number];
export type ScenarioPriorityClass = Scenario['kubernetes']['priorityClasses'][number];
export type ScenarioHorizontalPodAutoscaler = NamespaceContent['horizontalPodAutoscalers'][number];
export type ScenarioPersistentVolumeClaim = NamespaceContent['persistentVolumeClaims'][number];
export type ScenarioStatefulSet = NamespaceContent['statefulSets'][number];
export type ScenarioDaemonSet = NamespaceContent['daemonSets'][number];
export type ScenarioControllerRevision = NamespaceContent['controllerRevisions'][number];
export type ScenarioGitHub = NonNullable<Scenario['github']>;
export type ScenarioSlack = NonNullable<Scenario['slack']>;
export type ScenarioCloudWatch = NonNullable<Scenario['cloudwatch']>;
export type ScenarioDatadog = NonNullable<Scenario['datadog']>;
export type ScenarioLog = NamespaceContent['logs'][number];
export type SurfaceConditions = z.output<typeof surfaceConditions>;
/** What a scenario may be built from in code (tests): the input side of the schema, before defaults. */
export type ScenarioInput = z.input<typeof scenarioSchema>;

export interface ScenarioOptions {
  /** The instant `${now}` stands for; defaults to the current time. */
  now?: Date | number;
  /** Named in error messages, e.g. the file name. */
  source?: string;
}

function nowMs(now: Date | number | undefined): number {
  const ms = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  if (!Number.isFinite(ms)) throw new TypeError('now must be a valid date');
  return ms;
}

/** Validates a scenario already in memory (YAML parsed, or built by a test); resolves time templates. */
export function buildScenario(value: unknown, opts: ScenarioOptions = {}): Scenario {
  const source = opts.source ?? 'scenario';
  const issues: ScenarioError['issues'] = [];
  const resolved = resolveTemplates(value, nowMs(opts.now), [], issues);
  if (issues.length > 0) throw new ScenarioError(source, issues.slice(0, MAX_REPORTED_ISSUES));
  const result = scenarioSchema.safeParse(resolved);
  if (!result.success) {
    throw new ScenarioError(
      source,
      result.error.issues.slice(0, MAX_REPORTED_ISSUES).map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  return result.data;
}

export function parseScenario(text: string, opts: ScenarioOptions = {}): Scenario {
  const source = opts.source ?? 'scenario';
  // Aliases stay capped (billion-laughs); duplicate keys are an error rather than last-one-wins.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      source,
      doc.errors
        .slice(0, MAX_REPORTED_ISSUES)
        .map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}` : '', message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  return buildScenario(doc.toJS({ maxAliasCount: 100 }), { ...opts, source });
}

export async function loadScenario(path: string, opts: Omit<ScenarioOptions, 'source'> = {}): Promise<Scenario> {
  const source = path;
  const info = await stat(path);
  if (!info.isFile()) throw new ScenarioError(source, [{ path: '', message: 'not a regular file' }]);
  if (info.size > MAX_SCENARIO_FILE_BYTES) {
    throw new ScenarioError(source, [{ path: '', message: `file is ${info.size} bytes; the limit is ${MAX_SCENARIO_FILE_BYTES}` }]);
  }
  return parseScenario(await readFile(path, 'utf8'), { ...opts, source });
}
