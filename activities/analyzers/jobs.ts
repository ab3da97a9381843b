// Jobs (and the Jobs a CronJob starts) that fail: the Job controller gives up
// with BackoffLimitExceeded or DeadlineExceeded, and its pods exit non-zero
// without restarting. Their own log says why, so the finding names it.
import type { ContainerSummary, EventSummary, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, MAX_LISTED_OBJECTS, type Assessment, type Assessor } from './assessment.js';
import { containerSignature, type LogSignature } from './log-signatures.js';
import { cleanText } from '../untrusted-text.js';
import { compareText, objectRef, parseTime, plural } from './workloads.js';

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

interface JobFailure {
  job: string;
  pods: PodSummary[];
  gaveUp: EventSummary[];
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

function jobFailures(ns: NamespaceEvidence, incidentAt: number | undefined): JobFailure[] {
  const byJob = new Map<string, JobFailure>();
  const entry = (job: string): JobFailure => {
    const existing = byJob.get(job);
    if (existing) return existing;
    const created: JobFailure = { job, pods: [], gaveUp: [], old: true };
    byJob.set(job, created);
    return created;
  };
  for (const pod of ns.pods) {
    if (pod.job === undefined || !(pod.phase === 'Failed' || failedContainers(pod).length > 0)) continue;
    const failure = entry(pod.job);
    failure.pods.push(pod);
    if (failedRecently(pod, incidentAt)) failure.old = false;
  }
  for (const event of ns.events) {
    if (event.object.kind !== 'Job' || !GAVE_UP.has(event.reason)) continue;
    const failure = entry(event.object.name);
    failure.gaveUp.push(event);
    if (recent(event.lastSeen, incidentAt)) failure.old = false;
  }
  return [...byJob.values()].sort((a, b) => compareText(a.job, b.job));
}

function exitSummary(pods: readonly PodSummary[]): string {
  const codes = [...new Set(pods.flatMap((p) => failedContainers(p).map((c) => c.lastTerminated?.exitCode)))].filter(
    (c): c is number => typeof c === 'number',
  );
  if (pods.length === 0) return '';
  const exits = codes.length === 0 ? '' : `, exit ${codes.sort((a, b) => a - b).join(' or ')}`;
  return `${plural(pods.length, 'pod')} failed${exits}`;
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

function assessJob(ns: NamespaceEvidence, failure: JobFailure): Assessment {
  const job = cleanText(failure.job, 253);
  const cronJob = CRONJOB_JOB.exec(failure.job)?.[1];
  const subject = `job ${job}${cronJob ? ` (CronJob ${cleanText(cronJob, 253)})` : ''}`;
  const reasons = [...new Set(failure.gaveUp.map((e) => cleanText(e.reason, 40)))].sort(compareText);
  const found = signatureOf(failure.pods);
  const detail = [reasons.join(', '), exitSummary(failure.pods)].filter((part) => part !== '').join('; ');
  const evidence = [
    ...failure.gaveUp.map((e) => `${cleanText(e.reason, 40)}: ${cleanText(e.message, 200)}`),
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
