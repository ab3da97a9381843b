// Small builders for analyzer and report tests. Defaults describe a healthy
// three-replica deployment `checkout-api` in namespace `shop`; each test
// overrides only what its case is about.
import type {
  AnalysisInput,
  ContainerSummary,
  DeploymentSummary,
  EventSummary,
  Finding,
  IncidentRef,
  KubernetesEvidence,
  NamespaceEvidence,
  PodSummary,
  ReplicaSetSummary,
} from '../../../activities/model.js';

export const INCIDENT_AT = '2024-05-01T10:30:00Z';

/** ISO time `minutes` before the incident opened (negative: after). */
export function minutesBefore(minutes: number): string {
  return new Date(Date.parse(INCIDENT_AT) - minutes * 60_000).toISOString().replace(/\.000Z$/, 'Z');
}

export function incident(overrides: Partial<IncidentRef> = {}): IncidentRef {
  return {
    id: 'PABC123',
    number: 1234,
    title: 'checkout-api error rate above 5%',
    status: 'triggered',
    urgency: 'high',
    serviceId: 'PSVC01',
    serviceName: 'checkout',
    createdAt: INCIDENT_AT,
    htmlUrl: 'https://acme.pagerduty.com/incidents/PABC123',
    ...overrides,
  };
}

export const OLD_IMAGE = 'registry.example.com/checkout-api:1.4.0';
export const NEW_IMAGE = 'registry.example.com/checkout-api:1.5.0';

export function container(overrides: Partial<ContainerSummary> = {}): ContainerSummary {
  return { name: 'api', image: OLD_IMAGE, ready: true, restartCount: 0, ...overrides };
}

export function crashLooping(
  lastTerminated: ContainerSummary['lastTerminated'],
  overrides: Partial<ContainerSummary> = {},
): ContainerSummary {
  return container({
    ready: false,
    restartCount: 5,
    waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' },
    lastTerminated,
    ...overrides,
  });
}

export function pullFailing(reason: string, image: string, message?: string): ContainerSummary {
  return container({ image, ready: false, waiting: message === undefined ? { reason } : { reason, message } });
}

export function pod(name: string, overrides: Partial<PodSummary> = {}): PodSummary {
  const pod: PodSummary = {
    name,
    phase: 'Running',
    ready: true,
    node: 'node-a',
    createdAt: minutesBefore(600),
    containers: [container()],
    ...overrides,
  };
  pod.ready = overrides.ready ?? pod.containers.every((c) => c.ready);
  return pod;
}

export function pendingPod(name: string, replicaSet: string, message: string): PodSummary {
  return {
    name,
    phase: 'Pending',
    ready: false,
    replicaSet,
    unscheduled: { reason: 'Unschedulable', message },
    containers: [container({ ready: false })],
  };
}

export function deployment(name: string, overrides: Partial<DeploymentSummary> = {}): DeploymentSummary {
  return {
    name,
    revision: 1,
    replicas: 3,
    ready: 3,
    updated: 3,
    available: 3,
    images: [OLD_IMAGE],
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    ],
    ...overrides,
  };
}

export function replicaSet(name: string, overrides: Partial<ReplicaSetSummary> = {}): ReplicaSetSummary {
  return {
    name,
    deployment: 'checkout-api',
    revision: 1,
    createdAt: minutesBefore(600),
    replicas: 3,
    ready: 3,
    images: [OLD_IMAGE],
    ...overrides,
  };
}

export function event(overrides: Partial<EventSummary> = {}): EventSummary {
  return {
    type: 'Warning',
    reason: 'FailedScheduling',
    message: '0/3 nodes are available: 3 Insufficient cpu.',
    object: { kind: 'Pod', name: 'checkout-api-7d9f8-aaaaa' },
    count: 1,
    lastSeen: minutesBefore(1),
    ...overrides,
  };
}

/** The deployment controller's ScalingReplicaSet event on a Deployment, `minutes` before the incident. */
export function scalingEvent(message: string, minutes: number, deployment = 'checkout-api'): EventSummary {
  return event({
    type: 'Normal',
    reason: 'ScalingReplicaSet',
    message,
    object: { kind: 'Deployment', name: deployment },
    lastSeen: minutesBefore(minutes),
  });
}

/** A namespace whose pod counts are derived from the pods given, as the collector would count them. */
export function namespace(
  name: string,
  parts: Partial<Omit<NamespaceEvidence, 'namespace' | 'podCounts'>> & { extraPods?: number } = {},
): NamespaceEvidence {
  const pods = parts.pods ?? [];
  const byPhase: Record<string, number> = {};
  const byWaitingReason: Record<string, number> = {};
  for (const p of pods) {
    byPhase[p.phase] = (byPhase[p.phase] ?? 0) + 1;
    for (const c of p.containers) {
      if (c.waiting) byWaitingReason[c.waiting.reason] = (byWaitingReason[c.waiting.reason] ?? 0) + 1;
    }
  }
  const extra = parts.extraPods ?? 0;
  return {
    namespace: name,
    podCounts: {
      total: pods.length + extra,
      notReady: pods.filter((p) => !p.ready).length,
      byPhase,
      byWaitingReason,
    },
    pods,
    podsOmitted: parts.podsOmitted ?? extra,
    events: parts.events ?? [],
    eventsOmitted: parts.eventsOmitted ?? 0,
    deployments: parts.deployments ?? [],
    replicaSets: parts.replicaSets ?? [],
  };
}

export function kubernetes(...namespaces: NamespaceEvidence[]): KubernetesEvidence {
  return { surface: 'kubernetes', cluster: 'prod-eu-1', collectedAt: minutesBefore(-1), namespaces };
}

export function analysisInput(evidence: KubernetesEvidence | undefined, overrides: Partial<IncidentRef> = {}): AnalysisInput {
  return evidence ? { incident: incident(overrides), kubernetes: evidence } : { incident: incident(overrides) };
}

/** Healthy `checkout-api`: revision 1 from ten hours ago, three ready pods. */
export function healthyNamespace(): NamespaceEvidence {
  return namespace('shop', {
    pods: ['aaaaa', 'bbbbb', 'ccccc'].map((s) => pod(`checkout-api-5c6b7-${s}`, { replicaSet: 'checkout-api-5c6b7' })),
    deployments: [deployment('checkout-api')],
    replicaSets: [replicaSet('checkout-api-5c6b7')],
  });
}

export interface RolloutOptions {
  /** Minutes before the incident the new ReplicaSet was created. */
  rolledOutMinutesBefore: number;
  newImage?: string;
  ready?: number;
}

/** `checkout-api` rolled from revision 6 (`-5c6b7`) to 7 (`-7d9f8`). */
export function rolledOut(options: RolloutOptions): Pick<NamespaceEvidence, 'deployments' | 'replicaSets'> {
  const ready = options.ready ?? 0;
  const newImage = options.newImage ?? NEW_IMAGE;
  return {
    deployments: [
      deployment('checkout-api', {
        revision: 7,
        ready,
        available: ready,
        images: [newImage],
        conditions: ready < 3 ? [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }] : [],
      }),
    ],
    replicaSets: [
      replicaSet('checkout-api-5c6b7', { revision: 6, replicas: 0, ready: 0, createdAt: minutesBefore(3 * 24 * 60) }),
      replicaSet('checkout-api-7d9f8', {
        revision: 7,
        ready,
        images: [newImage],
        createdAt: minutesBefore(options.rolledOutMinutesBefore),
      }),
    ],
  };
}

export const NEW_RS = 'checkout-api-7d9f8';
export const OLD_RS = 'checkout-api-5c6b7';

/** `count` pods of a ReplicaSet, named `<rs>-p0`, `<rs>-p1`, … */
export function podsOf(rs: string, count: number, build: (index: number) => Partial<PodSummary>): PodSummary[] {
  return Array.from({ length: count }, (_, i) => pod(`${rs}-p${i}`, { replicaSet: rs, ...build(i) }));
}

export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

/** Every line of text a finding carries, for invariants that hold on all of it. */
export function textsOf(finding: Finding): string[] {
  return [finding.title, ...finding.objects, ...finding.evidence];
}
