// Failing readiness, liveness and startup probes, from the kubelet's `Unhealthy`
// warning events. A failing readiness probe takes a pod out of its Service; a
// failing liveness or startup probe gets the container killed, so together with
// restarts it is an outage in progress rather than a degradation.
import type { EventSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  eventCount,
  lastAtSuffix,
  plural,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const PROBES_ANALYZER = 'kubernetes.probes';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** The kubelet's fixed message prefixes; matching them is code reading a format, not interpreting text. */
const PROBE_PREFIXES: readonly (readonly [string, ProbeKind])[] = [
  ['Liveness probe failed', 'liveness'],
  ['Readiness probe failed', 'readiness'],
  ['Startup probe failed', 'startup'],
];

/** Liveness and startup failures make the kubelet kill the container; readiness failures do not. */
const KILLING_PROBES: ReadonlySet<ProbeKind> = new Set(['liveness', 'startup']);

const KIND_ORDER: readonly ProbeKind[] = ['liveness', 'startup', 'readiness'];

const MESSAGE_LIMIT = 160;

interface ProbeFailure {
  kind: ProbeKind;
  event: EventSummary;
}

/** A pod named by probe events, with its summary when the evidence lists it. */
interface ProbedPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  failures: ProbeFailure[];
}

export function probeKindOf(event: EventSummary): ProbeKind | undefined {
  if (event.type !== 'Warning' || event.reason !== 'Unhealthy' || event.object.kind !== 'Pod') return undefined;
  return PROBE_PREFIXES.find(([prefix]) => event.message.startsWith(prefix))?.[1];
}

function isCrashLooping(pod: PodSummary): boolean {
  return pod.containers.some((c) => c.waiting?.reason === 'CrashLoopBackOff');
}

function hasRestarts(probed: ProbedPod): boolean {
  return probed.pod?.containers.some((c) => c.restartCount > 0) ?? false;
}

function probedPods(ns: NamespaceEvidence): ProbedPod[] {
  const listed = new Map(ns.pods.map((pod) => [pod.name, pod]));
  const byName = new Map<string, ProbedPod>();
  for (const event of ns.events) {
    const kind = probeKindOf(event);
    if (kind === undefined) continue;
    const pod = listed.get(event.object.name);
    // The crashloop analyzer owns pods in CrashLoopBackOff (its exit-code line
    // already names the liveness probe as a cause of exit 137); reporting them
    // here too would count one failure twice in the ranking.
    if (pod && isCrashLooping(pod)) continue;
    const probed = byName.get(event.object.name) ?? { name: event.object.name, failures: [] };
    if (pod) {
      probed.pod = pod;
      if (pod.replicaSet !== undefined) probed.replicaSet = pod.replicaSet;
    }
    probed.failures.push({ kind, event });
    byName.set(event.object.name, probed);
  }
  return [...byName.values()];
}

function lastSeen(events: readonly EventSummary[]): string {
  return lastAtSuffix(events.map((e) => e.lastSeen));
}

function kindsOf(pods: readonly ProbedPod[]): ProbeKind[] {
  const kinds = new Set(pods.flatMap((p) => p.failures.map((f) => f.kind)));
  return KIND_ORDER.filter((kind) => kinds.has(kind));
}

function kindLines(pods: readonly ProbedPod[]): string[] {
  return kindsOf(pods).flatMap((kind) => {
    const ofKind = pods.filter((p) => p.failures.some((f) => f.kind === kind));
    const events = ofKind.flatMap((p) => p.failures.filter((f) => f.kind === kind).map((f) => f.event));
    const seen = events.reduce((sum, e) => sum + eventCount(e), 0);
    // Messages usually differ only by pod IP; the most frequent one is enough to cite.
    const counts = new Map<string, number>();
    for (const e of events) {
      const message = cleanText(e.message, MESSAGE_LIMIT);
      if (message !== '') counts.set(message, (counts.get(message) ?? 0) + eventCount(e));
    }
    const messages = [...counts.entries()].sort(([a, x], [b, y]) => y - x || compareText(a, b)).map(([m]) => m);
    const [message] = messages;
    return [
      `${kind} probe failed ${plural(seen, 'time')} on ${plural(ofKind.length, 'pod')}${lastSeen(events)}`,
      ...(message !== undefined
        ? [`kubelet: ${message}${messages.length > 1 ? ` (and ${plural(messages.length - 1, 'other message')})` : ''}`]
        : []),
    ];
  });
}

function restartLine(pods: readonly ProbedPod[]): string[] {
  const restarting = pods.filter(hasRestarts);
  if (restarting.length === 0) return [];
  const max = Math.max(...restarting.flatMap((p) => p.pod?.containers.map((c) => c.restartCount) ?? [0]));
  return [`${plural(restarting.length, 'pod')} with failing probes restarted containers (up to ${plural(max, 'time')})`];
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<ProbedPod>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const kinds = kindsOf(pods);
  const killing = kinds.some((kind) => KILLING_PROBES.has(kind));
  const critical = killing && pods.some(hasRestarts);
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const what = `failing ${kinds.join(' and ')} ${kinds.length === 1 ? 'probe' : 'probes'}`;
  const evidence = [
    `${plural(pods.length, 'pod')} with failing probes; ${describeWorkloadHealth(workload)}`,
    ...kindLines(pods),
    ...restartLine(pods),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: PROBES_ANALYZER,
    severity: critical ? 'critical' : 'warning',
    title: `${subject} ${what}${critical ? ', containers restarting' : ''}${titleSuffixFor(link)}`,
    evidence: evidence,
  });
}

export const assessProbes: Assessor = assessPerWorkload(probedPods, assessGroup);

export const probesAnalyzer = asAnalyzer(assessProbes);
