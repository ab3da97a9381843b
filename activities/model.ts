// The data that crosses the workflow/activity boundary. Everything here ends up
// in Temporal history, so every shape is compact and bounded (see evidence
// bounds in activities/evidence-bounds.ts), and holds no secret.

import type { WritePlan } from '../config/write-plan.js';

export { CLOUDWATCH_STATS, CLOUDWATCH_UNITS, SURFACES } from '../config/vocabulary.js';
export type { CloudWatchStat, CloudWatchUnit, SurfaceName } from '../config/vocabulary.js';
import type { ApprovalChannel, CloudWatchStat, CloudWatchUnit, SurfaceName } from '../config/vocabulary.js';

/** The incident as the workflow needs it (from PagerDuty's REST `incident`). */
export interface IncidentRef {
  id: string;
  number: number;
  title: string;
  status: string;
  urgency: string;
  serviceId: string;
  serviceName: string;
  createdAt: string;
  htmlUrl: string;
}

/** What one triage looks at, resolved from configuration by PagerDuty service. */
export interface TriageScope {
  serviceId: string;
  serviceName: string;
  surfaces: SurfaceName[];
  kubernetes?: KubernetesScope;
  cloudwatch?: CloudWatchScope;
  datadog?: DatadogScope;
  approvers: string[];
  approval: {
    reminderAfterMs: number;
    expireAfterMs: number;
    /**
     * Where a decision may come from. Absent in scopes an earlier release
     * resolved (triages still running across the upgrade, recorded
     * histories); the workflow reads that as DEFAULT_APPROVAL_CHANNELS.
     */
    channels?: ApprovalChannel[];
  };
  github?: { repo: string };
  slack?: { approvalChannel: string; incidentsChannel: string };
  /** Activity settings for the writes after approval. */
  writes: { timeoutMs: number; maximumAttempts: number };
  /** Per-surface retry settings; the defaults suit production, tests shorten them. */
  retry: { maximumAttempts: number; initialIntervalMs: number; maximumIntervalMs: number };
  temporalUiUrl: string;
  namespace: string;
}

export interface KubernetesScope {
  cluster: string;
  namespaces: string[];
  labelSelector?: string;
}

/** What a metric means for the diagnosis, set in configuration (code never guesses it from names). */
export interface MetricMeaning {
  /** A short label for people and charts, e.g. `ALB p99 latency`; unique within the service. */
  label: string;
  /** Set when the series measures something the service depends on (a database, a payment API). */
  dependency?: string;
}

export interface CloudWatchMetricQuery extends MetricMeaning {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: CloudWatchStat;
  periodSeconds: number;
  unit?: CloudWatchUnit;
}

export interface CloudWatchScope {
  region: string;
  metrics: CloudWatchMetricQuery[];
}

export interface DatadogQuery extends MetricMeaning {
  /** A Datadog metrics query, e.g. `sum:trace.http.request.errors{service:checkout}.as_count()`. */
  query: string;
}

export interface DatadogScope {
  queries: DatadogQuery[];
  /** Monitors carrying any of these tags are checked for Alert/Warn, e.g. `service:checkout-api`. */
  monitorTags: string[];
  /** A logs search query for the error messages, e.g. `service:checkout-api status:error`. */
  logQuery?: string;
}

export interface EvidenceRequest {
  /** `triage-<incidentId>`; carried on every outbound call for audit correlation. */
  triageId: string;
  incident: IncidentRef;
  scope: TriageScope;
}

// ---- PagerDuty -------------------------------------------------------------

export interface AlertSummary {
  id: string;
  status: string;
  severity: string;
  summary: string;
  createdAt: string;
  source?: string;
}

export interface PagerDutyEvidence {
  surface: 'pagerduty';
  incident: IncidentRef;
  alerts: { total: number; shown: AlertSummary[]; omitted: number };
}

// ---- Kubernetes ------------------------------------------------------------

export interface ContainerSummary {
  name: string;
  /** An init container: it runs, and must succeed, before the pod's app containers start. */
  init?: boolean;
  image: string;
  ready: boolean;
  restartCount: number;
  waiting?: { reason: string; message?: string };
  /** `message` is what the runtime or the process wrote on termination: bounded, secret-shaped strings redacted. */
  lastTerminated?: { reason?: string; exitCode?: number; finishedAt?: string; message?: string };
  memoryLimit?: string;
  /** Stopped for good (a Job's failed pod, `restartPolicy: Never`): its own log is the one that says why. */
  exited?: boolean;
  /**
   * The end of the failed run's log: the previous instance's for a container that
   * restarted, the container's own for one that exited. Bounded, secret-shaped strings redacted.
   */
  previousLog?: LogTail;
  /** The end of a running container's own log, read for the few workloads that show no failure of their own. Same bounds. */
  currentLog?: LogTail;
}

export interface PodSummary {
  name: string;
  phase: string;
  /** The pod's `status.reason` (e.g. `Evicted`), set by the kubelet when it ends or refuses a pod. */
  reason?: string;
  /** The pod's `status.message` when it was evicted: the kubelet names the resource it ran short of. Bounded. */
  message?: string;
  ready: boolean;
  node?: string;
  createdAt?: string;
  /** Name of the owning ReplicaSet, when there is one. */
  replicaSet?: string;
  /** Name of the owning Job, when there is one. */
  job?: string;
  /** The PersistentVolumeClaims its volumes name (`persistentVolumeClaim.claimName`), bounded: a Pending claim holds these pods back. */
  claims?: string[];
  /** Name of the owning StatefulSet or DaemonSet, when there is one. */
  statefulSet?: string;
  daemonSet?: string;
  /**
   * A StatefulSet's or DaemonSet's pod: its `controller-revision-hash` label,
   * which says which ControllerRevision it runs (a StatefulSet's names the
   * revision, a DaemonSet's is the hash its revision's name ends in).
   */
  controllerRevision?: string;
  /** The pod's labels, bounded: what Service and NetworkPolicy selectors match. */
  labels?: Record<string, string>;
  /** Healthy, listed only as its workload's one replica whose own log is read: not a notable pod. */
  quiet?: boolean;
  /** The PodScheduled condition when it is not True. */
  /** `nodeSelector` is the pod's own, `key=value` pairs: what a scheduler's "didn't match Pod's node affinity/selector" refers to. */
  /**
   * `tolerations`, bounded, as `key=value:Effect` (operator Equal), `key:Effect`
   * (Exists), `*` for an empty key or effect: which node taints the pod accepts.
   * Absent in evidence recorded before they were kept.
   */
  unscheduled?: { reason?: string; message?: string; nodeSelector?: string; tolerations?: string[] };
  containers: ContainerSummary[];
}

export type LogTail =
  { status: 'ok'; lines: string[]; truncated: boolean; redactions: number; digest?: LogDigest } | { status: 'unavailable'; reason: string };

/**
 * What a whole window of a running container's log says, in a few hundred
 * bytes: what an on-call would grep for (its errors by wording, the lines that
 * announce a change) and the numbers its structured lines report over time.
 * Texts are redacted and bounded like log lines.
 */
export interface LogDigest {
  /** Lines read. When `gap`, the log was too long to read whole: its oldest and newest parts were read, not the middle. */
  linesScanned: number;
  gap: boolean;
  errors: number;
  warnings: number;
  /** Error and warning lines grouped by their wording with numbers masked, most frequent first. */
  messages: LogMessageGroup[];
  /** Lines that announce a change (a configuration reload, a deploy, a restart), each wording once. */
  changes: LogLineRef[];
  /** Numeric fields of structured (JSON) lines, in log order. */
  series: LogSeries[];
}

export interface LogLineRef {
  /** Position among the lines scanned. */
  line: number;
  /** The line's message (its `message` field for a JSON line), redacted and bounded. */
  text: string;
  /** The component the line names as its author (`service`, `logger`, `component`), when it names one. */
  source?: string;
}

export interface LogMessageGroup extends LogLineRef {
  level: 'error' | 'warning';
  count: number;
  lastLine: number;
  /** Fields every line of the group carries with one value that most other lines do not (`status=429`, `client_ip=10.0.50.123`). */
  distinct: string[];
}

export interface LogSeries {
  /** The field's path in the JSON line, e.g. `response_time_ms` or `cache_stats.rate`. */
  field: string;
  samples: number;
  min: number;
  max: number;
  /** Medians of up to 12 equal runs of samples, oldest first: the shape of the series. */
  points: number[];
  /** The split that best divides the series into a before and an after: the first line after it, and the mean on each side. */
  shift?: { line: number; before: number; after: number };
}

export interface EventSummary {
  type: string;
  reason: string;
  message: string;
  object: { kind: string; name: string };
  count: number;
  lastSeen?: string;
}

export interface DeploymentSummary {
  name: string;
  revision?: number;
  replicas: number;
  ready: number;
  updated: number;
  available: number;
  images: string[];
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

export interface ReplicaSetSummary {
  name: string;
  deployment?: string;
  revision?: number;
  createdAt?: string;
  replicas: number;
  ready: number;
  images: string[];
  /** The pod template's memory limit per container, so a rollout that changed one can be named. */
  memoryLimits?: Record<string, string>;
  /**
   * A keyed digest per part of the pod template (`<container>: env`,
   * `init container <name>`, `volumes` …), so a rollout's diff names what changed
   * without the template's values: env values may be secrets, and the key that
   * makes the digests comparable lives only in the collecting process.
   */
  template?: Record<string, string>;
}

/** One side of a NetworkPolicy rule: a peer (`pods app=x`, `namespaces *`, `ipBlock 10.0.0.0/8`) and the ports it opens. */
export interface NetworkPolicyRuleSummary {
  /**
   * `pods k=v,k2=v2` (`pods *` for an empty selector), `namespaces …` when a
   * namespaceSelector is present, `ipBlock <cidr>`; empty: every peer.
   */
  peers: string[];
  /** `TCP/53`, `UDP/53`, `TCP/80`; empty: every port. */
  ports: string[];
}

export interface NetworkPolicySummary {
  name: string;
  /** matchLabels as `key=value`; empty: every pod in the namespace. */
  podSelector: string[];
  /** The selector has matchExpressions, which the summary does not evaluate. */
  podSelectorExpressions?: boolean;
  policyTypes: string[];
  ingress: NetworkPolicyRuleSummary[];
  egress: NetworkPolicyRuleSummary[];
}

export interface ServiceSummary {
  name: string;
  type?: string;
  /** `key=value`; absent for a Service without a selector (ExternalName, hand-made Endpoints). */
  selector?: string[];
  /** `port/protocol` (`80/TCP`). */
  ports: string[];
  /** Pods listed in the namespace (all of them, not only those shown) the selector matches. */
  matchingPods?: number;
}

export interface EndpointsSummary {
  name: string;
  readyAddresses: number;
  notReadyAddresses: number;
}

/** A Job condition (`Failed`, `Complete`, `FailureTarget`, `Suspended` …): the controller's own verdict, which outlives its events. */
export interface JobConditionSummary {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface JobSummary {
  name: string;
  createdAt?: string;
  completions?: number;
  parallelism?: number;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  /** Pods running, succeeded and failed, as the Job's status counts them (all of its pods, not only those listed). */
  active: number;
  succeeded: number;
  failed: number;
  startTime?: string;
  completionTime?: string;
  conditions: JobConditionSummary[];
  /** The CronJob that created it, from its owner reference. */
  cronJob?: string;
}

export interface CronJobSummary {
  name: string;
  schedule: string;
  suspend: boolean;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  /** Jobs of it running now. */
  active: number;
}

/** A condition of a HorizontalPodAutoscaler (`AbleToScale`, `ScalingActive`, `ScalingLimited`): the controller's own account. */
export interface HpaConditionSummary {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface HorizontalPodAutoscalerSummary {
  name: string;
  /** `spec.scaleTargetRef`: the workload it scales. */
  target: { kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
  currentReplicas: number;
  desiredReplicas: number;
  conditions: HpaConditionSummary[];
  /** Each metric it scales on, current value against its target: `cpu 95% of request (target 70%)`. Bounded. */
  metrics: string[];
}

/** A PersistentVolumeClaim condition (`Resizing`, `FileSystemResizePending` …). */
export interface PersistentVolumeClaimConditionSummary {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface PersistentVolumeClaimSummary {
  name: string;
  /** `Pending` until a volume is bound to it, `Bound`, or `Lost`. */
  phase: string;
  /** Absent when the claim names none (no default StorageClass was applied); `""` when it asks for none. */
  storageClassName?: string;
  /** `spec.resources.requests.storage`. */
  requested?: string;
  accessModes: string[];
  volumeName?: string;
  createdAt?: string;
  conditions: PersistentVolumeClaimConditionSummary[];
}

/**
 * One of a StatefulSet's or DaemonSet's ControllerRevisions: which pod
 * template it holds, as keyed digests like a ReplicaSet's (its raw data is
 * never kept), so a rollout between two of them names what changed.
 */
export interface ControllerRevisionSummary {
  name: string;
  revision: number;
  createdAt?: string;
  images: string[];
  memoryLimits?: Record<string, string>;
  template?: Record<string, string>;
}

export interface StatefulSetSummary {
  name: string;
  replicas: number;
  ready: number;
  /** Pods at `updateRevision`. */
  updated: number;
  /** ControllerRevision names: pods below `partition` stay at `currentRevision` until the rollout completes. */
  currentRevision?: string;
  updateRevision?: string;
  /** `RollingUpdate` or `OnDelete` (pods take the new revision only when deleted). */
  updateStrategy: string;
  /** Ordinals below it are held at the current revision on purpose. */
  partition?: number;
  images: string[];
  conditions: { type: string; status: string; reason?: string; message?: string }[];
  /** Its newest two ControllerRevisions, newest first. */
  revisions: ControllerRevisionSummary[];
}

export interface DaemonSetSummary {
  name: string;
  /** Nodes that should run its pod. */
  desired: number;
  ready: number;
  /** Nodes running the pod of its newest template. */
  updated: number;
  unavailable: number;
  /** Nodes running its pod that should not. */
  misscheduled: number;
  updateStrategy: string;
  images: string[];
  /** Its newest two ControllerRevisions, newest first. */
  revisions: ControllerRevisionSummary[];
}

/** Whether a read of optional objects (Services, NetworkPolicies …) succeeded. */
export interface OptionalRead {
  kind: string;
  status: 'unavailable';
  reason: string;
}

export interface NamespaceEvidence {
  namespace: string;
  labelSelector?: string;
  /** Counts over every pod listed, including those not shown in `pods`. */
  podCounts: {
    total: number;
    notReady: number;
    byPhase: Record<string, number>;
    byWaitingReason: Record<string, number>;
  };
  /** The most notable pods (unhealthy first), bounded. */
  pods: PodSummary[];
  podsOmitted: number;
  /** Warning events, newest first, bounded. */
  events: EventSummary[];
  eventsOmitted: number;
  deployments: DeploymentSummary[];
  replicaSets: ReplicaSetSummary[];
  /** Optional: absent in evidence recorded before they were read. */
  services?: ServiceSummary[];
  endpoints?: EndpointsSummary[];
  networkPolicies?: NetworkPolicySummary[];
  /** Failed Jobs first, then running, then complete; bounded. A Job's status outlives the events that announced its failure. */
  jobs?: JobSummary[];
  cronJobs?: CronJobSummary[];
  /** HPAs that cannot compute their metrics or are at their maximum first; bounded. */
  horizontalPodAutoscalers?: HorizontalPodAutoscalerSummary[];
  /** Claims not Bound first; bounded. */
  persistentVolumeClaims?: PersistentVolumeClaimSummary[];
  /** Unhealthy (or mid-rollout) first; bounded. Each with its newest two ControllerRevisions. */
  statefulSets?: StatefulSetSummary[];
  daemonSets?: DaemonSetSummary[];
  /** The optional reads that failed (a 403 where the role lacks them): not evidence of absence. */
  unavailable?: OptionalRead[];
}

/** A Node as the scheduler and the node controller see it; texts bounded. */
export interface NodeSummary {
  name: string;
  /** The Ready condition: `Unknown` when the kubelet stopped posting status (NodeStatusUnknown), `False` when it reports not ready. */
  ready: { status: string; reason?: string; message?: string; lastTransitionTime?: string };
  /** The pressure conditions that are True: MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable. */
  pressure?: string[];
  /** Cordoned (`spec.unschedulable`): no new pod is placed on it. */
  unschedulable?: boolean;
  /** `key=value:Effect`, or `key:Effect` without a value; bounded. */
  taints?: string[];
  /** Labels scheduling matches on: zone, instance type, arch, os, node group, pool, and the keys pending pods' nodeSelectors name. */
  labels?: Record<string, string>;
  allocatable?: { cpu?: string; memory?: string };
  /** Pods of the evidence (listed in a triaged namespace) that run on it. */
  pods?: number;
}

/** The cluster's Nodes, read once per triage when configured (`kubernetes.readNodes`): cluster-scoped, so `view` does not grant them. */
export type NodesEvidence =
  | {
      status: 'ok';
      /** Nodes listed; `items` holds the most telling first (hosting our pods, not Ready, cordoned), bounded. */
      total: number;
      items: NodeSummary[];
      /**
       * For each label key a pending pod's nodeSelector names, the values the
       * listed nodes carry for it (all of them, not only those in `items`; empty:
       * no node carries the key); bounded.
       */
      labelValues?: Record<string, string[]>;
    }
  | { status: 'unavailable'; reason: string };

export interface KubernetesEvidence {
  surface: 'kubernetes';
  cluster: string;
  collectedAt: string;
  namespaces: NamespaceEvidence[];
  /** Whether the Node events (recorded by the kubelet in one namespace, `default`) were read; absent when not configured. */
  nodeEvents?: { namespace: string; status: 'ok' | 'unavailable'; reason?: string };
  /** Absent when not configured, and in evidence recorded before Nodes were read. */
  nodes?: NodesEvidence;
}

// ---- Metrics (CloudWatch and Datadog) --------------------------------------

/**
 * The evidence window around an incident: a baseline before the change and the
 * window the incident sits in. Times are RFC 3339.
 */
export interface MetricWindow {
  start: string;
  /** Where the baseline ends and the incident window begins. */
  incidentWindowStart: string;
  end: string;
}

/** Numbers code compares; `undefined` when the series has no point in that part of the window. */
export interface MetricSummary {
  baseline?: number;
  incident?: number;
  peak?: { value: number; at: string };
  /** The first point of the incident window that departs from the baseline and stays departed. */
  changeBeganAt?: string;
  points: number;
}

export interface MetricSeries extends MetricMeaning {
  unit?: string;
  /** `[epoch ms, value]`, oldest first, downsampled to at most MAX_SERIES_POINTS. */
  points: [number, number][];
  summary: MetricSummary;
}

export interface CloudWatchEvidence {
  surface: 'cloudwatch';
  region: string;
  /** Who did the reading, from STS GetCallerIdentity: in EKS, the Pod Identity role's session. */
  readBy: { arn: string; account: string };
  window: MetricWindow;
  series: MetricSeries[];
}

export interface DatadogMonitorSummary {
  id: number;
  name: string;
  state: 'Alert' | 'Warn';
  tags: string[];
  priority?: number;
  /** When the monitor's current state began, when Datadog says. */
  since?: string;
}

export interface DatadogLogMessage {
  message: string;
  count: number;
  service?: string;
  status?: string;
  lastSeen: string;
}

export interface DatadogEvidence {
  surface: 'datadog';
  window: MetricWindow;
  series: MetricSeries[];
  monitors: DatadogMonitorSummary[];
  monitorsOmitted: number;
  /** Error log messages grouped by text, most frequent first; absent when no log query is configured. */
  logs?: { query: string; scanned: number; top: DatadogLogMessage[]; truncated: boolean };
}

export type Evidence = PagerDutyEvidence | KubernetesEvidence | CloudWatchEvidence | DatadogEvidence;

export type SurfaceResult =
  { surface: SurfaceName; status: 'ok'; evidence: Evidence } | { surface: SurfaceName; status: 'unavailable'; reason: string };

// ---- Diagnosis -------------------------------------------------------------

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  /** Which analyzer produced it, e.g. `kubernetes.crashloop`. */
  analyzer: string;
  severity: Severity;
  surface: SurfaceName;
  /** One line, built by code from evidence fields; never free text copied as an instruction. */
  title: string;
  /** Objects the finding is about, `kind/namespace/name`. */
  objects: string[];
  /** The facts that support it, each a short line citing evidence. */
  evidence: string[];
}

/** What analyzers see: the incident and whichever surfaces were available. */
export interface AnalysisInput {
  incident: IncidentRef;
  pagerduty?: PagerDutyEvidence;
  kubernetes?: KubernetesEvidence;
  cloudwatch?: CloudWatchEvidence;
  datadog?: DatadogEvidence;
}

export type Analyzer = (input: AnalysisInput) => Finding[];

// ---- Report and write plan -------------------------------------------------

// One definition, beside its canonical form and hash, where the broker can read it too.
export type { WritePlan };

export interface Diagnosis {
  findings: Finding[];
  /** One line: the most likely cause, or "no clear cause". */
  headline: string;
  surfaces: { surface: SurfaceName; status: 'ok' | 'unavailable'; reason?: string }[];
  plan: WritePlan;
  /** sha256 hex of the canonical JSON of `plan`; approvals name it. */
  planHash: string;
  /**
   * One sparkline line per metric series for the Slack card, strongest change
   * first. Optional: a diagnosis recorded before this field existed has none,
   * and a running workflow must replay it.
   */
  metricLines?: string[];
}
