// Containers that keep restarting without (yet) backing off: flapping. The
// kubelet resets the CrashLoopBackOff wait once a container runs for a while,
// so a container that dies every few minutes can look Running in every
// snapshot; only its restart count gives it away.
import type { ContainerSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  lastAtSuffix,
  parseTime,
  plural,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const RESTARTS_ANALYZER = 'kubernetes.restarts';

/** Fewer restarts than this are routine (a node drain, a one-off failure). */
export const MIN_RESTARTS = 3;

/**
 * A restart count never goes down, so an old count says nothing about now:
 * when the last termination is known and ended this long before the incident,
 * the container has been stable since and is not reported.
 */
export const RECENT_RESTART_WINDOW_MINUTES = 6 * 60;

interface Flap {
  pod: PodSummary;
  container: ContainerSummary;
}

function isCrashLooping(pod: PodSummary): boolean {
  return pod.containers.some((c) => c.waiting?.reason === 'CrashLoopBackOff');
}

function restartedRecently(container: ContainerSummary, incident: IncidentRef): boolean {
  const finished = parseTime(container.lastTerminated?.finishedAt);
  const incidentAt = parseTime(incident.createdAt);
  if (finished === undefined || incidentAt === undefined) return true;
  return incidentAt - finished <= RECENT_RESTART_WINDOW_MINUTES * 60_000;
}

/**
 * Pods in CrashLoopBackOff are the crashloop analyzer's, and OOMKilled
 * containers the oom analyzer's (which cites the memory limit); reporting them
 * here too would count one failure twice.
 */
function flapsOf(pod: PodSummary, incident: IncidentRef): Flap[] {
  if (isCrashLooping(pod) || pod.phase === 'Succeeded') return [];
  return pod.containers
    .filter((c) => c.restartCount >= MIN_RESTARTS && c.lastTerminated?.reason !== 'OOMKilled' && restartedRecently(c, incident))
    .map((container) => ({ pod, container }));
}

function describeTermination(container: ContainerSummary): string {
  const last = container.lastTerminated;
  const reason = last?.reason ? cleanText(last.reason, 60) : undefined;
  const exit = typeof last?.exitCode === 'number' && Number.isFinite(last.exitCode) ? `exit ${last.exitCode}` : undefined;
  if (reason !== undefined && exit !== undefined) return `${reason} (${exit})`;
  return reason ?? exit ?? 'no termination recorded';
}

function containerLines(flaps: readonly Flap[]): string[] {
  const byContainer = new Map<string, Flap[]>();
  for (const flap of flaps) {
    const name = cleanText(flap.container.name, 63);
    byContainer.set(name, [...(byContainer.get(name) ?? []), flap]);
  }
  return [...byContainer.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([name, list]) => {
      const counts = list.map((f) => f.container.restartCount);
      const min = Math.min(...counts);
      const max = Math.max(...counts);
      const restarts = min === max ? `restarted ${plural(max, 'time')}` : `restarted ${min}–${max} times`;
      const terminations = [...new Set(list.map((f) => describeTermination(f.container)))].sort(compareText);
      const last = lastAtSuffix(list.map((f) => f.container.lastTerminated?.finishedAt));
      return `container ${name}: ${restarts} in ${plural(new Set(list.map((f) => f.pod.name)).size, 'pod')}; last terminated ${terminations.join(', ')}${last}`;
    });
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<PodSummary>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const flaps = pods.flatMap((pod) => flapsOf(pod, incident));
  const max = Math.max(...flaps.map((f) => f.container.restartCount));
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const evidence = [
    `${plural(pods.length, 'pod')} restarting repeatedly, not in CrashLoopBackOff; ${describeWorkloadHealth(workload)}`,
    ...containerLines(flaps),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: RESTARTS_ANALYZER,
    severity: 'warning',
    title: `${subject} restarting repeatedly (up to ${plural(max, 'restart')})${titleSuffixFor(link)}`,
    evidence: evidence,
  });
}

export const assessRestarts: Assessor = assessPerWorkload(
  (ns, incident) => ns.pods.filter((pod) => flapsOf(pod, incident).length > 0),
  assessGroup,
);

export const restartsAnalyzer = asAnalyzer(assessRestarts);
