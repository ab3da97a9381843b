// HorizontalPodAutoscalers that cannot do their job: they cannot read the
// metric they scale on, cannot find their target, or are pinned at their
// maximum. The workload may be serving fine; it just will not grow with the
// load, which is what an incident about load needs to know. A warning, never
// more: the failure is in the scaling, not in the pods. A listed HPA's own
// conditions are the signal (they outlive the events); its events only add
// how often, and the events alone speak for an HPA that is not listed.
import type { EventSummary, HorizontalPodAutoscalerSummary, HpaConditionSummary, NamespaceEvidence } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { stripCombined } from './config-refs.js';
import { compareText, isoSeconds, objectRef, parseTime, plural, workloadOfPod } from './workloads.js';

export const HPA_ANALYZER = 'kubernetes.hpa';

const HPA_KIND = 'HorizontalPodAutoscaler';

/**
 * replica_calculator.go, for a pod whose container sets no request for the
 * resource the HPA computes utilization of: "missing request for %s in
 * container %s of Pod %s" (some releases quote the names). Wrapped by the
 * controller in "failed to get cpu utilization: ..." and, for
 * FailedComputeMetricsReplicas, "invalid metrics (1 invalid out of 1), first
 * error is: ...", so it is searched for, not anchored.
 */
const MISSING_REQUEST =
  /missing request for ([a-z0-9./-]{1,63}) in container "?([a-z0-9][a-z0-9-]{0,62})"? of Pod "?([a-z0-9][a-z0-9.-]{0,252})"?/;
/** The metrics client: "unable to get metrics for resource %s: no metrics returned from resource metrics API". */
const NO_METRICS = /unable to get metrics for resource ([a-z0-9./-]{1,63}): no metrics returned from resource metrics API/;
/** The same client when metrics.k8s.io does not answer: "unable to fetch metrics from resource metrics API: %v". */
const METRICS_API_DOWN = /unable to get metrics for resource ([a-z0-9./-]{1,63}): unable to fetch metrics from resource metrics API: (.+)$/;
/** replica_calculator.go: "did not receive metrics for targeted pods (pods might be unready)", later "... for any ready pods". */
const NO_POD_METRICS = /did not receive metrics for (?:targeted pods|any ready pods)/;
/** horizontal.go, FailedGetScale: "the HPA controller was unable to get the target's current scale: %v". */
const NO_SCALE = /^the HPA controller was unable to get the target's current scale: (.+)$/;
/** The ScalingLimited condition's message when the desired count is above maxReplicas (reason TooManyReplicas). */
const AT_MAXIMUM = /the desired replica count is more than the maximum replica count/;

/** A pod of a Deployment is `<deployment>-<pod-template-hash>-<suffix>`. */
const DEPLOYMENT_POD = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/;

const CAUSE_LIMIT = 120;
const MESSAGE_LIMIT = 250;

type CauseKind = 'missing-request' | 'no-scale-target' | 'metrics-api-down' | 'no-metrics' | 'no-pod-metrics' | 'at-maximum' | 'other';

interface HpaCause {
  kind: CauseKind;
  resource?: string;
  container?: string;
  pod?: string;
  detail?: string;
}

interface Reading {
  event: EventSummary;
  cause: HpaCause;
  at: number;
}

/** When two causes are equally recent, the more specific one names the fix. */
const SPECIFICITY: readonly CauseKind[] = [
  'missing-request',
  'no-scale-target',
  'metrics-api-down',
  'no-metrics',
  'no-pod-metrics',
  'at-maximum',
  'other',
];

/** The ScalingActive condition's wrapper around the metrics error, which the events carry bare. */
const COMPUTE_PREFIX = /^the HPA was unable to compute the replica count: /;

function hpaCause(event: Pick<EventSummary, 'reason' | 'message'>): HpaCause {
  const text = stripCombined(cleanText(event.message)).replace(COMPUTE_PREFIX, '');
  const missing = MISSING_REQUEST.exec(text);
  if (missing) return { kind: 'missing-request', resource: missing[1]!, container: missing[2]!, pod: missing[3]! };
  const scale = NO_SCALE.exec(text);
  if (scale) return { kind: 'no-scale-target', detail: cleanText(scale[1], CAUSE_LIMIT) };
  const down = METRICS_API_DOWN.exec(text);
  if (down) return { kind: 'metrics-api-down', resource: down[1]!, detail: cleanText(down[2], CAUSE_LIMIT) };
  const none = NO_METRICS.exec(text);
  if (none) return { kind: 'no-metrics', resource: none[1]! };
  if (NO_POD_METRICS.test(text)) return { kind: 'no-pod-metrics' };
  if (AT_MAXIMUM.test(text)) return { kind: 'at-maximum' };
  return { kind: 'other', detail: cleanText(`${event.reason}: ${text}`, CAUSE_LIMIT) };
}

function isHpaEvent(event: EventSummary): boolean {
  return event.object.kind === HPA_KIND && event.type === 'Warning';
}

function resourceLabel(resource: string | undefined): string {
  const r = cleanText(resource ?? '', 63);
  return r === 'cpu' ? 'CPU' : r === '' ? 'resource' : r;
}

/**
 * The workload the HPA scales, as far as the evidence says: the owner of the
 * pod its error names, else a Deployment named after the HPA (`<name>` or
 * `<name>-hpa`). The events do not carry scaleTargetRef.
 */
function targetOf(ns: NamespaceEvidence, hpa: string, readings: readonly Reading[]): { name: string; kind?: string } | undefined {
  const pod = readings.find((r) => r.cause.pod !== undefined)?.cause.pod;
  if (pod !== undefined) {
    const workload = workloadOfPod(ns, { name: pod });
    if (workload.kind !== 'Pod') return { name: workload.name, kind: workload.kind };
    const stripped = DEPLOYMENT_POD.exec(pod)?.[1];
    if (stripped !== undefined) return { name: stripped };
  }
  const candidates = [hpa, hpa.replace(/-hpa$/, ''), hpa.replace(/^hpa-/, '')];
  const deployment = ns.deployments.find((d) => candidates.includes(d.name));
  if (deployment) return { name: deployment.name, kind: 'Deployment' };
  return hpa.endsWith('-hpa') && hpa.length > 4 ? { name: hpa.slice(0, -4) } : undefined;
}

function titleOf(ns: NamespaceEvidence, hpa: string, cause: HpaCause, target: { name: string; kind?: string } | undefined): string {
  const name = `HPA ${cleanText(hpa, 253)}`;
  const scales = target ? ` cannot scale ${cleanText(target.name, 253)}` : ' cannot scale';
  const resource = resourceLabel(cause.resource);
  switch (cause.kind) {
    case 'missing-request':
      return `${name}${scales}: missing ${resource} request in container ${cleanText(cause.container, 63)}`;
    case 'no-scale-target':
      return `${name} cannot get its target's scale: ${cause.detail}`;
    case 'metrics-api-down':
      return `${name} cannot read ${resource} metrics (metrics API unavailable)`;
    case 'no-metrics':
      return `${name} cannot read ${resource} metrics (metrics API returned none)`;
    case 'no-pod-metrics':
      return `${name} cannot read metrics of its pods (none received)`;
    case 'at-maximum': {
      const deployment = target?.kind === 'Deployment' ? ns.deployments.find((d) => d.name === target.name) : undefined;
      return deployment ? `${name} at its maximum of ${deployment.replicas} replicas` : `${name} at its maximum replica count`;
    }
    case 'other':
      return `${name}${scales}: ${cause.detail}`;
  }
}

function assessHpa(ns: NamespaceEvidence, hpa: string, events: readonly EventSummary[]): Assessment {
  const readings = events
    .map((event) => ({ event, cause: hpaCause(event), at: parseTime(event.lastSeen) ?? 0 }))
    // The controller's current account first: an older error may have been fixed since.
    .sort(
      (a, b) =>
        b.at - a.at ||
        SPECIFICITY.indexOf(a.cause.kind) - SPECIFICITY.indexOf(b.cause.kind) ||
        compareText(a.event.message, b.event.message),
    );
  const [current] = readings;
  const target = targetOf(ns, hpa, readings);
  const seen = events.reduce((sum, e) => sum + (Number.isFinite(e.count) && e.count > 0 ? e.count : 1), 0);
  const reasons = [...new Set(events.map((e) => cleanText(e.reason, 60)))].sort(compareText).join(', ');
  const messages = [...new Set(readings.map((r) => cleanText(stripCombined(r.event.message), MESSAGE_LIMIT)))];
  const evidence = [
    `${reasons} on ${HPA_KIND} ${cleanText(ns.namespace, 63)}/${cleanText(hpa, 253)} seen ${plural(seen, 'time')}${current && current.at > 0 ? `, last at ${isoSeconds(current.at)}` : ''}`,
    ...messages.slice(0, 2).map((m) => `horizontal-pod-autoscaler: ${m}`),
    ...(target
      ? [
          target.kind !== undefined
            ? `scale target: ${target.kind} ${cleanText(target.name, 253)}`
            : `scale target, going by the names: ${cleanText(target.name, 253)}`,
        ]
      : []),
  ];
  const objects = [
    objectRef(HPA_KIND, ns.namespace, hpa),
    ...(target?.kind !== undefined ? [objectRef(target.kind, ns.namespace, target.name)] : []),
  ];
  return {
    finding: {
      analyzer: HPA_ANALYZER,
      severity: 'warning',
      surface: 'kubernetes',
      title: cleanText(titleOf(ns, hpa, current!.cause, target)),
      objects,
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: 1,
    rolloutCorrelated: false,
  };
}

// ---- a listed HPA: its own conditions ------------------------------------------

/** AbleToScale False for these means the target's scale cannot be read or written; its back-off reasons are routine. */
const SCALE_FAILURES = new Set(['FailedGetScale', 'FailedUpdateScale']);

function conditionOf(hpa: HorizontalPodAutoscalerSummary, type: string, status: string): HpaConditionSummary | undefined {
  return hpa.conditions.find((c) => c.type === type && c.status === status);
}

/**
 * Why the HPA cannot compute a replica count, from its conditions: ScalingActive
 * False (but not ScalingDisabled: its target was scaled to zero on purpose), or
 * AbleToScale False because the target's scale cannot be read or updated.
 */
function blindCondition(hpa: HorizontalPodAutoscalerSummary): HpaConditionSummary | undefined {
  const inactive = conditionOf(hpa, 'ScalingActive', 'False');
  if (inactive && inactive.reason !== 'ScalingDisabled') return inactive;
  const unable = conditionOf(hpa, 'AbleToScale', 'False');
  return unable && SCALE_FAILURES.has(unable.reason ?? '') ? unable : undefined;
}

/**
 * Held at maxReplicas while wanting more: ScalingLimited True with reason
 * TooManyReplicas at the maximum (the controller caps desiredReplicas at the
 * maximum, so the condition is what says it wanted more), or a desired count
 * above it. At the maximum without either, it is where it wants to be.
 */
function atMaximum(hpa: HorizontalPodAutoscalerSummary): boolean {
  const limited = hpa.conditions.some((c) => c.type === 'ScalingLimited' && c.status === 'True' && c.reason === 'TooManyReplicas');
  return (limited && hpa.currentReplicas >= hpa.maxReplicas) || hpa.desiredReplicas > hpa.maxReplicas;
}

function conditionLine(c: HpaConditionSummary): string {
  const since = c.lastTransitionTime ? ` since ${cleanText(c.lastTransitionTime, 40)}` : '';
  const message = c.message ? `: ${cleanText(c.message, MESSAGE_LIMIT)}` : '';
  return `${cleanText(c.type, 40)} ${cleanText(c.status, 10)} (${cleanText(c.reason ?? 'no reason', 60)})${since}${message}`;
}

function replicasLine(hpa: HorizontalPodAutoscalerSummary): string {
  const min = hpa.minReplicas !== undefined ? `min ${hpa.minReplicas}, ` : '';
  return `replicas: ${hpa.currentReplicas} current, ${hpa.desiredReplicas} desired (${min}max ${hpa.maxReplicas})`;
}

/** `cpu 180% of request, target 70%`: the first metric with a current value, for the title. */
function titleMetric(hpa: HorizontalPodAutoscalerSummary): string | undefined {
  const metric = hpa.metrics.find((m) => !m.includes(': no current value'));
  return metric === undefined ? undefined : cleanText(metric.replace(/ \(target ([^)]*)\)$/, ', target $1'), 80);
}

function assessListedHpa(
  ns: NamespaceEvidence,
  hpa: HorizontalPodAutoscalerSummary,
  events: readonly EventSummary[],
): Assessment | undefined {
  const blind = blindCondition(hpa);
  if (!blind && !atMaximum(hpa)) return undefined;
  const name = `HPA ${cleanText(hpa.name, 253)}`;
  const target = { kind: cleanText(hpa.target.kind, 63), name: cleanText(hpa.target.name, 253) };
  let title: string;
  if (blind) {
    title = titleOf(ns, hpa.name, hpaCause({ reason: blind.reason ?? blind.type, message: blind.message ?? '' }), target);
  } else {
    const metric = titleMetric(hpa);
    title = `${name} at its maximum of ${hpa.maxReplicas} replicas (${target.kind} ${target.name}): desires more${metric ? ` (${metric})` : ''}`;
  }
  const seen = events.reduce((sum, e) => sum + (Number.isFinite(e.count) && e.count > 0 ? e.count : 1), 0);
  const reasons = [...new Set(events.map((e) => cleanText(e.reason, 60)))].sort(compareText).join(', ');
  const last = Math.max(0, ...events.map((e) => parseTime(e.lastSeen) ?? 0));
  const limited = conditionOf(hpa, 'ScalingLimited', 'True');
  const evidence = [
    ...(blind ? [conditionLine(blind)] : limited ? [conditionLine(limited)] : []),
    replicasLine(hpa),
    ...(hpa.metrics.length > 0 ? [`metrics: ${hpa.metrics.map((m) => cleanText(m, 120)).join('; ')}`] : []),
    `scale target: ${target.kind} ${target.name}`,
    ...(events.length > 0
      ? [
          `${reasons} on ${HPA_KIND} ${cleanText(ns.namespace, 63)}/${cleanText(hpa.name, 253)} seen ${plural(seen, 'time')}${last > 0 ? `, last at ${isoSeconds(last)}` : ''}`,
        ]
      : []),
  ];
  return {
    finding: {
      analyzer: HPA_ANALYZER,
      severity: 'warning',
      surface: 'kubernetes',
      title: cleanText(title),
      objects: [objectRef(HPA_KIND, ns.namespace, hpa.name), objectRef(hpa.target.kind, ns.namespace, hpa.target.name)],
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: 1,
    rolloutCorrelated: false,
  };
}

export const assessHpas: Assessor = (input) =>
  (input.kubernetes?.namespaces ?? []).flatMap((ns) => {
    const byHpa = new Map<string, EventSummary[]>();
    for (const event of ns.events.filter(isHpaEvent)) byHpa.set(event.object.name, [...(byHpa.get(event.object.name) ?? []), event]);
    // One signal per HPA: a listed one speaks through its conditions (its events are history once they say it is fine).
    const listed = ns.horizontalPodAutoscalers ?? [];
    const fromConditions = listed.flatMap((hpa) => assessListedHpa(ns, hpa, byHpa.get(hpa.name) ?? []) ?? []);
    const names = new Set(listed.map((hpa) => hpa.name));
    const fromEvents = [...byHpa.entries()]
      .filter(([hpa]) => !names.has(hpa))
      .sort(([a], [b]) => compareText(a, b))
      .map(([hpa, events]) => assessHpa(ns, hpa, events));
    return [...fromConditions, ...fromEvents];
  });

export const hpaAnalyzer = asAnalyzer(assessHpas);
