// The data that crosses the workflow/activity boundary. Everything here ends up
// in Temporal history, so every shape is compact and bounded (see evidence
// bounds in activities/evidence-bounds.ts), and holds no secret.

/** The evidence surfaces, one activity each. CloudWatch and Datadog join this list later. */
export const SURFACES = ['pagerduty', 'kubernetes'] as const;
export type SurfaceName = (typeof SURFACES)[number];

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
  approvers: string[];
  approval: { reminderAfterMs: number; expireAfterMs: number };
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
  image: string;
  ready: boolean;
  restartCount: number;
  waiting?: { reason: string; message?: string };
  lastTerminated?: { reason?: string; exitCode?: number; finishedAt?: string };
  memoryLimit?: string;
}

export interface PodSummary {
  name: string;
  phase: string;
  /** The pod's `status.reason` (e.g. `Evicted`), set by the kubelet when it ends or refuses a pod. */
  reason?: string;
  ready: boolean;
  node?: string;
  createdAt?: string;
  /** Name of the owning ReplicaSet, when there is one. */
  replicaSet?: string;
  /** The PodScheduled condition when it is not True. */
  unscheduled?: { reason?: string; message?: string };
  containers: ContainerSummary[];
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
}

export interface KubernetesEvidence {
  surface: 'kubernetes';
  cluster: string;
  collectedAt: string;
  namespaces: NamespaceEvidence[];
}

export type Evidence = PagerDutyEvidence | KubernetesEvidence;

export type SurfaceResult =
  | { surface: SurfaceName; status: 'ok'; evidence: Evidence }
  | { surface: SurfaceName; status: 'unavailable'; reason: string };

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
}

export type Analyzer = (input: AnalysisInput) => Finding[];

// ---- Report and write plan -------------------------------------------------

export interface WritePlan {
  /** `repo` is unset when the service has no GitHub repository configured: nothing is written there. */
  github: { repo?: string; title: string; body: string; labels: string[]; idempotencyKey: string };
  slack: { channel?: string; text: string };
}

export interface Diagnosis {
  findings: Finding[];
  /** One line: the most likely cause, or "no clear cause". */
  headline: string;
  surfaces: { surface: SurfaceName; status: 'ok' | 'unavailable'; reason?: string }[];
  plan: WritePlan;
  /** sha256 hex of the canonical JSON of `plan`; approvals name it. */
  planHash: string;
}
