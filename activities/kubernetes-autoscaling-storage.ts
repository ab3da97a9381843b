// Summaries of HorizontalPodAutoscalers (autoscaling/v2) and
// PersistentVolumeClaims: the HPA's conditions say whether it can compute a
// replica count and whether maxReplicas holds it back, long after its events
// expire; a claim's phase says whether pods still wait on it. The troubled ones
// come first, and every list and text is bounded.
import type {
  V1PersistentVolumeClaim,
  V2HorizontalPodAutoscaler,
  V2MetricSpec,
  V2MetricStatus,
  V2MetricTarget,
  V2MetricValueStatus,
} from '@kubernetes/client-node';
import { EVIDENCE_LIMITS } from './evidence-bounds.js';
import { evidenceText } from '../config/untrusted-text.js';
import type { HorizontalPodAutoscalerSummary, PersistentVolumeClaimSummary } from './model.js';

const short = (s: string | undefined) => evidenceText(s ?? '', EVIDENCE_LIMITS.shortTextChars);
const text = (s: string) => evidenceText(s, EVIDENCE_LIMITS.textChars);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const count = (n: number | undefined): number => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0);

function toIso(t: Date | string | undefined | null): string | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Date | string;
}

function conditionSummaries(conditions: readonly Condition[] | undefined, limit: number) {
  return (conditions ?? []).slice(0, limit).map((c) => {
    const summary: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string } = {
      type: short(c.type),
      status: short(c.status),
    };
    if (c.reason) summary.reason = short(c.reason);
    if (c.message) summary.message = text(c.message);
    const at = toIso(c.lastTransitionTime);
    if (at) summary.lastTransitionTime = at;
    return summary;
  });
}

// ---- HorizontalPodAutoscalers -------------------------------------------------

/** What a metric is about: `cpu`, `cpu of container app`, `requests_per_second of Ingress main`. */
function metricSubject(m: V2MetricSpec | V2MetricStatus): string | undefined {
  switch (m.type) {
    case 'Resource':
      return m.resource?.name;
    case 'ContainerResource':
      return m.containerResource ? `${m.containerResource.name} of container ${m.containerResource.container}` : undefined;
    case 'Pods':
      return m.pods?.metric?.name;
    case 'Object':
      return m.object ? `${m.object.metric?.name} of ${m.object.describedObject?.kind} ${m.object.describedObject?.name}` : undefined;
    case 'External':
      return m.external?.metric?.name;
    default:
      return undefined;
  }
}

function specTarget(m: V2MetricSpec): V2MetricTarget | undefined {
  return m.resource?.target ?? m.containerResource?.target ?? m.pods?.target ?? m.object?.target ?? m.external?.target;
}

function statusValue(m: V2MetricStatus): V2MetricValueStatus | undefined {
  return m.resource?.current ?? m.containerResource?.current ?? m.pods?.current ?? m.object?.current ?? m.external?.current;
}

const perPod = (type: string) => (type === 'Pods' ? ' per pod' : '');

function describeCurrent(current: V2MetricValueStatus | undefined, type: string): string | undefined {
  if (current?.averageUtilization !== undefined) return `${current.averageUtilization}% of request`;
  if (current?.averageValue !== undefined) return `${current.averageValue}${perPod(type) || ' average'}`;
  if (current?.value !== undefined) return String(current.value);
  return undefined;
}

function describeTarget(target: V2MetricTarget | undefined, type: string): string | undefined {
  if (target?.averageUtilization !== undefined) return `${target.averageUtilization}%`;
  if (target?.averageValue !== undefined) return `${target.averageValue}${perPod(type) || ' average'}`;
  if (target?.value !== undefined) return String(target.value);
  return undefined;
}

/** `cpu 95% of request (target 70%)`, one line per metric the HPA scales on; a metric it cannot read says so. */
export function describeHpaMetrics(hpa: V2HorizontalPodAutoscaler): string[] {
  const current = hpa.status?.currentMetrics ?? [];
  const lines = (hpa.spec?.metrics ?? []).map((m) => {
    const subject = metricSubject(m) ?? m.type;
    const value = current.find((c) => c.type === m.type && metricSubject(c) === metricSubject(m));
    const now = value ? describeCurrent(statusValue(value), m.type) : undefined;
    const target = describeTarget(specTarget(m), m.type);
    const targetText = target ? ` (target ${target})` : '';
    return now ? `${subject} ${now}${targetText}` : `${subject}: no current value${targetText}`;
  });
  return lines.slice(0, EVIDENCE_LIMITS.metricsPerHpa).map((line) => evidenceText(line, EVIDENCE_LIMITS.shortTextChars));
}

function hpaTrue(hpa: V2HorizontalPodAutoscaler, type: string, status = 'True'): boolean {
  return hpa.status?.conditions?.some((c) => c.type === type && c.status === status) ?? false;
}

/** Cannot compute its metrics (or get its target's scale) before pinned at its maximum before the rest. */
function hpaRank(hpa: V2HorizontalPodAutoscaler): number {
  if (hpaTrue(hpa, 'ScalingActive', 'False') || hpaTrue(hpa, 'AbleToScale', 'False')) return 3;
  if (hpa.status?.conditions?.some((c) => c.type === 'ScalingLimited' && c.status === 'True' && c.reason === 'TooManyReplicas')) return 2;
  return 1;
}

function hpaSummary(hpa: V2HorizontalPodAutoscaler): HorizontalPodAutoscalerSummary {
  const ref = hpa.spec?.scaleTargetRef;
  const summary: HorizontalPodAutoscalerSummary = {
    name: short(hpa.metadata?.name),
    target: { kind: short(ref?.kind), name: short(ref?.name) },
    maxReplicas: count(hpa.spec?.maxReplicas),
    currentReplicas: count(hpa.status?.currentReplicas),
    desiredReplicas: count(hpa.status?.desiredReplicas),
    conditions: conditionSummaries(hpa.status?.conditions, EVIDENCE_LIMITS.conditionsPerHpa),
    metrics: describeHpaMetrics(hpa),
  };
  // minReplicas defaults to 1 when not set; it is the apiserver's to default, not ours.
  if (typeof hpa.spec?.minReplicas === 'number') summary.minReplicas = count(hpa.spec.minReplicas);
  return summary;
}

export function summarizeHorizontalPodAutoscalers(hpas: readonly V2HorizontalPodAutoscaler[]): HorizontalPodAutoscalerSummary[] {
  return [...hpas]
    .sort((a, b) => hpaRank(b) - hpaRank(a) || byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .slice(0, EVIDENCE_LIMITS.horizontalPodAutoscalersPerNamespace)
    .map(hpaSummary);
}

// ---- PersistentVolumeClaims ---------------------------------------------------

/** Pending (pods wait on it) before Lost (its volume is gone) before Bound. */
function claimRank(pvc: V1PersistentVolumeClaim): number {
  const phase = pvc.status?.phase;
  return phase === 'Pending' || phase === undefined ? 3 : phase === 'Lost' ? 2 : 1;
}

function claimSummary(pvc: V1PersistentVolumeClaim): PersistentVolumeClaimSummary {
  const summary: PersistentVolumeClaimSummary = {
    name: short(pvc.metadata?.name),
    phase: short(pvc.status?.phase ?? 'Pending'),
    accessModes: (pvc.spec?.accessModes ?? []).slice(0, 4).map((m) => short(m)),
    conditions: conditionSummaries(pvc.status?.conditions, EVIDENCE_LIMITS.conditionsPerClaim),
  };
  // Absent and "" differ: absent asks for the default class, "" for none (a statically provisioned volume).
  if (typeof pvc.spec?.storageClassName === 'string') summary.storageClassName = short(pvc.spec.storageClassName);
  const requested = pvc.spec?.resources?.requests?.storage;
  if (requested !== undefined) summary.requested = short(String(requested));
  if (pvc.spec?.volumeName) summary.volumeName = short(pvc.spec.volumeName);
  const createdAt = toIso(pvc.metadata?.creationTimestamp);
  if (createdAt) summary.createdAt = createdAt;
  return summary;
}

export function summarizePersistentVolumeClaims(claims: readonly V1PersistentVolumeClaim[]): PersistentVolumeClaimSummary[] {
  return [...claims]
    .sort(
      (a, b) =>
        claimRank(b) - claimRank(a) ||
        (toIso(b.metadata?.creationTimestamp) ?? '').localeCompare(toIso(a.metadata?.creationTimestamp) ?? '') ||
        byText(a.metadata?.name ?? '', b.metadata?.name ?? ''),
    )
    .slice(0, EVIDENCE_LIMITS.persistentVolumeClaimsPerNamespace)
    .map(claimSummary);
}
