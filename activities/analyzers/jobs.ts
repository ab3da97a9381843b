// Jobs (and the Jobs a CronJob starts) that fail: the Job controller gives up
// with BackoffLimitExceeded or DeadlineExceeded, and its pods exit non-zero
// without restarting. Their own log says why, so the finding names it. The
// Job's Failed condition says the controller gave up long after its events
// have expired; a Complete one says the retries made good.
import type { ContainerSummary, JobConditionSummary, JobSummary, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, MAX_LISTED_OBJECTS, type Assessment, type Assessor } from './assessment.js';
import { containerSignature, type LogSignature } from './log-signatures.js';
import { cleanText } from '../../config/untrusted-text.js';
import { compareText, isoSeconds, objectRef, parseTime, plural } from './workloads.js';

export const JOBS_ANALYZER = 'kubernetes.jobs';

/** The Job controller's words when it stops creating pods (`Job has reached the specified backoff limit`, …). */
const GAVE_UP = new Set(['BackoffLimitExceeded', 'DeadlineExceeded', 'PodFailurePolicy', 'MaxFailedIndexesExceeded']);

/**
 * Failed pods stay until their Job is deleted, so last night's failed backup is
 * still listed during today's page: a failure older than this is reported as a
 * warning with its age, not as the incident's cause. (A KubeJobFailed alert
 * keeps firing for an old failure, so it is not dropped either.) Events older
 * than that have mostly expired anyway: the apiserver keeps them an hour by default.
 */
const RECENT_MS = 2 * 60 * 60_000;

// A CronJob names its Jobs `<cronjob>-<scheduled minute since the epoch>`.
const CRONJOB_JOB = /^(.+)-\d{8,10}$/;

/**
 * The controller giving up on a Job, once however it is seen: the Job's own
 * `Failed` (or `FailureTarget`) condition when the Job is listed, which outlives
 * the events; otherwise the events that announced it.
 */
interface GaveUp {
  reason: string;
  message: string;
  at?: string;
  /** What the evidence line cites: the Job's condition (`Failed`, or `FailureTarget` before it) or an event. */
  source: 'condition' | 'event';
  conditionType?: string;
}

interface JobFailure {
  job: string;
  /** The Job's listed status, when the worker could list Jobs and this one is there. */
  status?: JobSummary;
  pods: PodSummary[];
  gaveUp: GaveUp[];
  /** Every failure seen is older than RECENT_MS before the incident. */
  old: boolean;
}

function failedContainers(pod: PodSummary): ContainerSummary[] {
  return pod.containers.filter((c) => c.exited === true && c.lastTerminated !== undefined && c.lastTerminated.exitCode !== 0);
}

function recent(at: string | undefined, incidentAt: number | undefined): boolean {
  const ms = parseTime(at);
  // Without a time either side there is nothing to hold against it.
  return ms === undefined || incidentAt === undefined || ms >= incidentAt - RECENT_MS;
}

function failedRecently(pod: PodSummary, incidentAt: number | undefined): boolean {
  const finished = failedContainers(pod).map((c) => c.lastTerminated?.finishedAt);
  return finished.length === 0 ? recent(pod.createdAt, incidentAt) : finished.some((at) => recent(at, incidentAt));
}

function condition(job: JobSummary | undefined, ...types: string[]): JobConditionSummary | undefined {
  return job?.conditions.find((c) => types.includes(c.type) && c.status === 'True');
}

/** A Job that finished with Complete=True succeeded, whatever pods failed on the way (they were retried). */
function completed(job: JobSummary | undefined): boolean {
  return condition(job, 'Complete', 'SuccessCriteriaMet') !== undefined && condition(job, 'Failed', 'FailureTarget') === undefined;
}

function jobFailures(ns: NamespaceEvidence, incidentAt: number | undefined): JobFailure[] {
  const listed = new Map((ns.jobs ?? []).map((j) => [j.name, j]));
  const byJob = new Map<string, JobFailure>();
  const entry = (job: string): JobFailure => {
    const existing = byJob.get(job);
    if (existing) return existing;
    const status = listed.get(job);
    const created: JobFailure = { job, pods: [], gaveUp: [], old: true, ...(status ? { status } : {}) };
    byJob.set(job, created);
    return created;
  };
  // The Job's condition first: when it is there, it is the signal, and an event saying the same is not counted again.
  for (const job of ns.jobs ?? []) {
    // FailureTarget comes first and Failed once the pods are gone; either says the controller gave up.
    const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
    if (!failed) continue;
    const failure = entry(job.name);
    failure.gaveUp.push({
      reason: failed.reason ?? failed.type,
      message: failed.message ?? '',
      ...(failed.lastTransitionTime ? { at: failed.lastTransitionTime } : {}),
      source: 'condition',
      conditionType: failed.type,
    });
    if (recent(failed.lastTransitionTime, incidentAt)) failure.old = false;
  }
  for (const pod of ns.pods) {
    if (pod.job === undefined || !(pod.phase === 'Failed' || failedContainers(pod).length > 0)) continue;
    if (completed(listed.get(pod.job))) continue;
    const failure = entry(pod.job);
    failure.pods.push(pod);
    // A listed Failed condition dates the failure; a pod's own time only matters without one.
    if (failure.gaveUp[0]?.source !== 'condition' && failedRecently(pod, incidentAt)) failure.old = false;
  }
  for (const event of ns.events) {
    if (event.object.kind !== 'Job' || !GAVE_UP.has(event.reason) || completed(listed.get(event.object.name))) continue;
    const failure = entry(event.object.name);
    if (failure.gaveUp.some((g) => g.source === 'condition')) continue;
    failure.gaveUp.push({
      reason: event.reason,
      message: event.message,
      ...(event.lastSeen ? { at: event.lastSeen } : {}),
      source: 'event',
    });
    if (recent(event.lastSeen, incidentAt)) failure.old = false;
  }
  return [...byJob.values()].sort((a, b) => compareText(a.job, b.job));
}

function exitSummary(pods: readonly PodSummary[], status: JobSummary | undefined): string {
  const codes = [...new Set(pods.flatMap((p) => failedContainers(p).map((c) => c.lastTerminated?.exitCode)))].filter(
    (c): c is number => typeof c === 'number',
  );
  // The Job counts every failed pod, including those already deleted or not among the listed ones.
  const failed = Math.max(pods.length, status?.failed ?? 0);
  if (failed === 0) return '';
  const exits = codes.length === 0 ? '' : `, exit ${codes.sort((a, b) => a - b).join(' or ')}`;
  return `${plural(failed, 'pod')} failed${exits}`;
}

function signatureOf(pods: readonly PodSummary[]): { pod: PodSummary; container: ContainerSummary; signature: LogSignature } | undefined {
  for (const pod of pods) {
    for (const container of failedContainers(pod)) {
      const signature = containerSignature(container);
      if (signature) return { pod, container, signature };
    }
  }
  return undefined;
}

function statusLine(status: JobSummary): string {
  const of = status.completions !== undefined ? ` of ${status.completions} completions` : '';
  const limits = [
    ...(status.backoffLimit !== undefined ? [`backoffLimit ${status.backoffLimit}`] : []),
    ...(status.activeDeadlineSeconds !== undefined ? [`activeDeadlineSeconds ${status.activeDeadlineSeconds}`] : []),
  ];
  return `status: ${status.active} active, ${status.succeeded} succeeded, ${status.failed} failed${of}${limits.length > 0 ? ` (${limits.join(', ')})` : ''}`;
}

function newestJobMs(job: JobSummary): number {
  return parseTime(job.startTime) ?? parseTime(job.createdAt) ?? 0;
}

/**
 * A CronJob whose newest Job is this failed one, and whose last success is
 * older than its last schedule: its runs have been failing since then.
 */
function cronJobLine(ns: NamespaceEvidence, failure: JobFailure, cronJob: string): string | undefined {
  const cron = ns.cronJobs?.find((c) => c.name === cronJob);
  const scheduled = parseTime(cron?.lastScheduleTime);
  if (!cron || scheduled === undefined || failure.gaveUp.length === 0) return undefined;
  const newest = (ns.jobs ?? [])
    .filter((j) => j.cronJob === cronJob)
    .sort((a, b) => newestJobMs(b) - newestJobMs(a) || compareText(a.name, b.name))[0];
  if (newest !== undefined && newest.name !== failure.job) return undefined;
  const succeeded = parseTime(cron.lastSuccessfulTime);
  if (succeeded !== undefined && succeeded >= scheduled) return undefined;
  const name = `CronJob ${cleanText(cron.name, 253)} (schedule ${cleanText(cron.schedule, 100)})`;
  const since =
    succeeded === undefined
      ? 'has no successful run on record'
      : `last succeeded ${isoSeconds(succeeded)}, ${describeSpan(scheduled - succeeded)} before its last scheduled run`;
  return `${name} ${since} (${isoSeconds(scheduled)}); its newest Job ${cleanText(failure.job, 253)} failed`;
}

function describeSpan(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48
    ? `${Math.floor(hours / 24)} d`
    : hours >= 1
      ? `${Math.floor(hours)} h`
      : `${Math.max(1, Math.floor(ms / 60_000))} min`;
}

function gaveUpLine(g: GaveUp): string {
  const message = cleanText(g.message, 200);
  const what = message ? `${cleanText(g.reason, 40)}: ${message}` : cleanText(g.reason, 40);
  if (g.source === 'event') return what;
  return `${what} (Job condition ${cleanText(g.conditionType, 40)}${g.at ? ` since ${cleanText(g.at, 40)}` : ''})`;
}

function assessJob(ns: NamespaceEvidence, failure: JobFailure): Assessment {
  const job = cleanText(failure.job, 253);
  // The owner reference names the CronJob; the name pattern is a guess for evidence without Jobs listed.
  const cronJob = failure.status?.cronJob ?? CRONJOB_JOB.exec(failure.job)?.[1];
  const subject = `job ${job}${cronJob ? ` (CronJob ${cleanText(cronJob, 253)})` : ''}`;
  const reasons = [...new Set(failure.gaveUp.map((g) => cleanText(g.reason, 40)))].sort(compareText);
  const found = signatureOf(failure.pods);
  const detail = [reasons.join(', '), exitSummary(failure.pods, failure.status)].filter((part) => part !== '').join('; ');
  const cron = cronJob !== undefined ? cronJobLine(ns, failure, cronJob) : undefined;
  const evidence = [
    ...failure.gaveUp.map(gaveUpLine),
    ...(failure.status && failure.gaveUp.some((g) => g.source === 'condition') ? [statusLine(failure.status)] : []),
    ...(cron ? [cron] : []),
    ...(failure.pods.length > 0 ? [`failed pods: ${failure.pods.map((p) => cleanText(p.name, 253)).join(', ')}`] : []),
    ...(found
      ? [
          `log of ${cleanText(found.pod.name, 253)}/${cleanText(found.container.name, 63)}: ${found.signature.summary}: "${found.signature.quote}"`,
        ]
      : []),
  ];
  return {
    finding: {
      analyzer: JOBS_ANALYZER,
      // The controller gave up: the Job will not finish without someone. Failed pods alone may still be
      // retried, or may have been followed by a run that succeeded (succeeded pods are not in the evidence).
      severity: failure.gaveUp.length === 0 ? 'info' : failure.old ? 'warning' : 'critical',
      surface: 'kubernetes',
      title: cleanText(
        `${subject} failed${failure.old ? ' more than 2 h before the incident' : ''}${detail ? ` (${detail})` : ''}${found ? `: ${found.signature.summary}` : ''}`,
      ),
      objects: [
        objectRef('Job', ns.namespace, failure.job),
        ...failure.pods.slice(0, MAX_LISTED_OBJECTS - 1).map((p) => objectRef('Pod', ns.namespace, p.name)),
      ],
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: Math.max(1, failure.pods.length),
    rolloutCorrelated: false,
  };
}

export const assessJobs: Assessor = (input) => {
  const incidentAt = parseTime(input.incident.createdAt);
  return (input.kubernetes?.namespaces ?? []).flatMap((ns) => jobFailures(ns, incidentAt).map((failure) => assessJob(ns, failure)));
};

export const jobsAnalyzer = asAnalyzer(assessJobs);
