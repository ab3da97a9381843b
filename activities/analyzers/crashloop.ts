// CrashLoopBackOff: containers that start and die repeatedly. The useful facts
// are how they last died (OOMKilled vs. an application error) and whether the
// crashing pods came from a rollout just before the incident.
import type { ContainerSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { containerSignature, type LogSignature } from './log-signatures.js';
import { probeKindOf } from './probes.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeMemoryLimitChange,
  describeRolloutLink,
  describeWorkloadHealth,
  failedContainerPhrase,
  memoryLimitChanges,
  plural,
  podsWithContainer,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const CRASHLOOP_ANALYZER = 'kubernetes.crashloop';

const OOM = 'OOMKilled';

/** Exit codes whose meaning does not depend on the application. */
const EXIT_CODE_MEANINGS: Record<number, string> = {
  126: 'command found but not executable',
  127: 'command not found in the image',
  137: 'killed by SIGKILL (out of memory or liveness probe)',
  139: 'segmentation fault (SIGSEGV)',
  143: 'terminated by SIGTERM',
};

interface Crash {
  pod: PodSummary;
  container: ContainerSummary;
  termination: Termination;
}

interface Termination {
  reason?: string;
  exitCode?: number;
  /** Grouping key; equal terminations describe the same failure. */
  key: string;
}

function isCrashLooping(container: ContainerSummary): boolean {
  return container.waiting?.reason === 'CrashLoopBackOff';
}

function terminationOf(container: ContainerSummary): Termination {
  const last = container.lastTerminated;
  const reason = last?.reason !== undefined && last.reason !== '' ? cleanText(last.reason, 60) : undefined;
  const exitCode = typeof last?.exitCode === 'number' && Number.isFinite(last.exitCode) ? last.exitCode : undefined;
  const termination: Termination = { key: `${reason ?? ''}|${exitCode ?? ''}` };
  if (reason !== undefined) termination.reason = reason;
  if (exitCode !== undefined) termination.exitCode = exitCode;
  return termination;
}

function describeTermination(t: Termination): string {
  if (t.reason !== undefined && t.exitCode !== undefined) return `${t.reason} (exit ${t.exitCode})`;
  if (t.reason !== undefined) return t.reason;
  if (t.exitCode !== undefined) return `exit ${t.exitCode}`;
  return 'no termination recorded';
}

/** Most frequent first; ties broken by key so the order never depends on input order. */
function countBy<T>(items: readonly T[], keyOf: (item: T) => string): { key: string; first: T; count: number }[] {
  const counts = new Map<string, { key: string; first: T; count: number }>();
  for (const item of items) {
    const key = keyOf(item);
    const entry = counts.get(key);
    if (entry) entry.count += 1;
    else counts.set(key, { key, first: item, count: 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || compareText(a.key, b.key));
}

function memoryLimitsOf(crashes: readonly Crash[]): string[] {
  const limits = crashes.flatMap((c) => (c.container.memoryLimit ? [cleanText(c.container.memoryLimit, 30)] : []));
  return [...new Set(limits)].sort(compareText);
}

function describeLimits(limits: readonly string[]): string {
  if (limits.length === 0) return '';
  return limits.length === 1 ? ` (limit ${limits[0]})` : ` (limits ${limits.join(', ')})`;
}

function titleCause(crashes: readonly Crash[]): string {
  const dominant = countBy(crashes, (c) => c.termination.key)[0];
  if (!dominant) return '';
  const t = dominant.first.termination;
  if (t.reason === OOM) {
    const limits = memoryLimitsOf(crashes.filter((c) => c.termination.reason === OOM));
    return limits.length === 1 ? ` (${OOM}, limit ${limits[0]})` : ` (${OOM})`;
  }
  if (t.reason !== undefined && t.exitCode !== undefined) return ` (exit ${t.exitCode}, ${t.reason})`;
  if (t.reason !== undefined) return ` (${t.reason})`;
  if (t.exitCode !== undefined) return ` (exit ${t.exitCode})`;
  return '';
}

function describeRestarts(crashes: readonly Crash[]): string {
  const counts = crashes.map((c) => c.container.restartCount);
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  return min === max ? `restarted ${plural(max, 'time')}` : `restarted ${min}–${max} times`;
}

function containerLines(crashes: readonly Crash[]): string[] {
  const byContainer = new Map<string, Crash[]>();
  for (const crash of crashes) {
    const name = cleanText(crash.container.name, 63);
    byContainer.set(name, [...(byContainer.get(name) ?? []), crash]);
  }
  const lines: string[] = [];
  for (const [name, list] of [...byContainer.entries()].sort(([a], [b]) => compareText(a, b))) {
    const terminations = countBy(list, (c) => c.termination.key)
      .map(({ first, count }) => `${describeTermination(first.termination)} in ${plural(count, 'pod')}`)
      .join(', ');
    lines.push(`container ${name}: ${describeRestarts(list)}; last terminated ${terminations}`);
    const oomKilled = list.filter((c) => c.termination.reason === OOM);
    if (oomKilled.length > 0) lines.push(`container ${name} was ${OOM}${describeLimits(memoryLimitsOf(oomKilled))}`);
    // OOMKilled already says why exit 137 happened.
    const explainable = list.filter((c) => c.termination.reason !== OOM);
    for (const { first } of countBy(explainable, (c) => String(c.termination.exitCode ?? ''))) {
      const code = first.termination.exitCode;
      const meaning = code === undefined ? undefined : EXIT_CODE_MEANINGS[code];
      if (code !== undefined && meaning !== undefined) lines.push(`container ${name}: exit ${code} means ${meaning}`);
    }
  }
  return lines;
}

/** The first known error signature in the crashed containers' last words: what the container itself says killed it. */
function signatureOf(crashes: readonly Crash[]): { crash: Crash; signature: LogSignature } | undefined {
  for (const crash of crashes) {
    const signature = containerSignature(crash.container);
    if (signature) return { crash, signature };
  }
  return undefined;
}

/**
 * The kubelet killed the containers for failing their liveness or startup
 * probe (its `Killing` event says so): that, not the exit code, is why they
 * restart, and the probe's failure message says what it could not reach.
 */
function probeKill(ns: NamespaceEvidence, crashes: readonly Crash[]): { kind: string; message: string } | undefined {
  const pods = new Set(crashes.map((c) => c.pod.name));
  const events = ns.events.filter((e) => e.object.kind === 'Pod' && pods.has(e.object.name));
  const killed = events.find((e) => e.reason === 'Killing' && /failed (liveness|startup) probe/.test(e.message));
  if (!killed) return undefined;
  const kind = /failed startup probe/.test(killed.message) ? 'startup' : 'liveness';
  const failure = events.find((e) => probeKindOf(e) === kind);
  return { kind, message: cleanText(failure?.message ?? killed.message, 160) };
}

function signatureLine(found: { crash: Crash; signature: LogSignature } | undefined): string[] {
  if (!found) return [];
  const { crash, signature } = found;
  return [`log of ${cleanText(crash.pod.name, 253)}/${cleanText(crash.container.name, 63)}: ${signature.summary}: "${signature.quote}"`];
}

/** The crashed container's own last words, quoted as data (already cleaned and redacted when collected). */
function lastLogLine(crashes: readonly Crash[]): string[] {
  for (const { pod, container } of crashes) {
    const log = container.previousLog;
    const last = log?.status === 'ok' ? log.lines.at(-1) : undefined;
    if (last !== undefined)
      return [`previous log of ${cleanText(pod.name, 253)}/${cleanText(container.name, 63)} ends: "${cleanText(last, 200)}"`];
  }
  return [];
}

function omittedLine(ns: NamespaceEvidence): string[] {
  const total = ns.podCounts.byWaitingReason['CrashLoopBackOff'] ?? 0;
  const shown = ns.pods.filter((pod) => pod.containers.some(isCrashLooping)).length;
  return ns.podsOmitted > 0 && total > shown
    ? [
        `namespace ${cleanText(ns.namespace, 63)} counts ${total} in CrashLoopBackOff across all its pods; the evidence lists ${shown} of those pods`,
      ]
    : [];
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<PodSummary>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const crashes: Crash[] = pods.flatMap((pod) =>
    pod.containers.filter(isCrashLooping).map((container) => ({ pod, container, termination: terminationOf(container) })),
  );
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const oomContainers = new Set(crashes.filter((c) => c.termination.reason === OOM).map((c) => cleanText(c.container.name, 63)));
  const limitChanges = link ? memoryLimitChanges(link.rollout).filter((c) => oomContainers.has(c.container)) : [];
  const signature = signatureOf(crashes);
  // OOMKilled is the kernel's verdict: a probe failing meanwhile is not why the container died.
  const killedByProbe = crashes.some((c) => c.termination.reason === OOM) ? undefined : probeKill(ns, crashes);
  const cause = killedByProbe
    ? `: killed by its ${killedByProbe.kind} probe (${killedByProbe.message})`
    : signature
      ? `: ${signature.signature.summary}`
      : '';
  const evidence = [
    `${plural(pods.length, 'pod')} in CrashLoopBackOff; ${describeWorkloadHealth(workload)}`,
    ...containerLines(crashes),
    ...(link ? limitChanges.map((c) => describeMemoryLimitChange(c, link.rollout.revision)) : []),
    ...(link ? [describeRolloutLink(link)] : []),
    ...(killedByProbe ? [`the kubelet restarts them for failing their ${killedByProbe.kind} probe: ${killedByProbe.message}`] : []),
    ...signatureLine(signature),
    ...lastLogLine(crashes),
    ...omittedLine(ns),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: CRASHLOOP_ANALYZER,
    severity: 'critical',
    title: `${subject}${failedContainerPhrase(
      pods,
      crashes.map((c) => c.container),
    )} in CrashLoopBackOff${titleCause(crashes)}${titleSuffixFor(link)}${cause}`,
    evidence: evidence,
  });
}

export const assessCrashLoops: Assessor = assessPerWorkload(podsWithContainer(isCrashLooping), assessGroup);

export const crashLoopAnalyzer = asAnalyzer(assessCrashLoops);
