// Containers the kernel killed for exceeding their memory, that are running
// again (or are done for) rather than crash-looping: the crashloop analyzer
// already reports OOMKilled containers in CrashLoopBackOff. What settles an
// OOM is the memory limit and whether a rollout just changed the pod template.
import type { ContainerSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeLead,
  describeMemoryLimitChange,
  describeRolloutLink,
  describeWorkloadHealth,
  failedContainerPhrase,
  lastAtSuffix,
  memoryLimitChanges,
  plural,
  podsWithContainer,
  recentRollout,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const OOM_ANALYZER = 'kubernetes.oom';

const OOM = 'OOMKilled';

/** From this many restarts on, the container is being killed over and over, not once. */
export const REPEATED_RESTARTS = 3;

interface OomKill {
  pod: PodSummary;
  container: ContainerSummary;
}

/** Not crash-looping: that case is the crashloop analyzer's, with the same limit cited. */
function isOomKilled(container: ContainerSummary): boolean {
  return container.lastTerminated?.reason === OOM && container.waiting?.reason !== 'CrashLoopBackOff';
}

function killsOf(pods: readonly PodSummary[]): OomKill[] {
  return pods.flatMap((pod) => pod.containers.filter(isOomKilled).map((container) => ({ pod, container })));
}

function limitsOf(kills: readonly OomKill[]): string[] {
  const limits = kills.flatMap((k) => (k.container.memoryLimit ? [cleanText(k.container.memoryLimit, 30)] : []));
  return [...new Set(limits)].sort(compareText);
}

function describeLimits(limits: readonly string[]): string {
  if (limits.length === 0) return 'no memory limit in the evidence';
  return limits.length === 1 ? `memory limit ${limits[0]}` : `memory limits ${limits.join(', ')}`;
}

function lastAt(kills: readonly OomKill[]): string {
  return lastAtSuffix(kills.map((k) => k.container.lastTerminated?.finishedAt));
}

function describeRestarts(kills: readonly OomKill[]): string {
  const counts = kills.map((k) => k.container.restartCount);
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  return min === max ? `restarted ${plural(max, 'time')}` : `restarted ${min}–${max} times`;
}

function containerLines(kills: readonly OomKill[]): string[] {
  const byContainer = new Map<string, OomKill[]>();
  for (const kill of kills) {
    const name = cleanText(kill.container.name, 63);
    byContainer.set(name, [...(byContainer.get(name) ?? []), kill]);
  }
  return [...byContainer.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([name, list]) => {
      const pods = new Set(list.map((k) => k.pod.name)).size;
      return `container ${name}: last terminated ${OOM} in ${plural(pods, 'pod')}${lastAt(list)}; ${describeRestarts(list)}; ${describeLimits(limitsOf(list))}`;
    });
}

/** A pod that will not restart (phase Failed) or a container killed again and again is an outage, not a blip. */
function isCritical(kills: readonly OomKill[]): boolean {
  return kills.some((k) => k.pod.phase === 'Failed' || k.container.restartCount >= REPEATED_RESTARTS);
}

/**
 * When the failing pods are not of the new revision, a rollout just before the
 * incident is still worth a line: it may have changed what the old pods talk to.
 */
function rolloutLines(ns: NamespaceEvidence, group: WorkloadGroup<PodSummary>, incident: IncidentRef): string[] {
  const link = rolloutLink(ns, group, incident);
  if (link) return [describeRolloutLink(link)];
  if (group.workload.kind !== 'Deployment') return [];
  const rollout = recentRollout(ns, group.workload.name, incident);
  if (!rollout) return [];
  return [
    `revision ${rollout.revision} (ReplicaSet ${cleanText(rollout.newest.name, 253)}) was rolled out at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}, but none of the OOMKilled pods run it`,
  ];
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<PodSummary>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const kills = killsOf(pods);
  const limits = limitsOf(kills);
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  // The rollout that produced the killed pods lowered (or set) their limit: the likeliest cause, so the title says so.
  const killedContainers = new Set(kills.map((k) => cleanText(k.container.name, 63)));
  const changes = link ? memoryLimitChanges(link.rollout).filter((c) => killedContainers.has(c.container)) : [];
  const only = changes.length === 1 ? changes[0] : undefined;
  const limitNote = limits.length === 1 ? ` (limit ${limits[0]}${only && only.after === limits[0] ? `, was ${only.before}` : ''})` : '';
  const evidence = [
    `${plural(pods.length, 'pod')} with a container ${OOM} and not in CrashLoopBackOff; ${describeWorkloadHealth(workload)}`,
    ...containerLines(kills),
    ...(link ? changes.map((c) => describeMemoryLimitChange(c, link.rollout.revision)) : []),
    ...rolloutLines(ns, group, incident),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: OOM_ANALYZER,
    severity: isCritical(kills) ? 'critical' : 'warning',
    title: `${subject}${failedContainerPhrase(
      pods,
      kills.map((k) => k.container),
    )} ${OOM}${limitNote}${titleSuffixFor(link)}`,
    evidence: evidence,
  });
}

export const assessOomKills: Assessor = assessPerWorkload(podsWithContainer(isOomKilled), assessGroup);

export const oomAnalyzer = asAnalyzer(assessOomKills);
