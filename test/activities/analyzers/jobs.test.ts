import { jobsAnalyzer } from '../../../activities/analyzers/jobs.js';
import type { ContainerSummary, CronJobSummary, EventSummary, JobSummary, PodSummary } from '../../../activities/model.js';
import { analysisInput, container, event, healthyNamespace, kubernetes, minutesBefore, namespace, pod } from './fixtures.js';

const backoffLimit = (job: string) =>
  event({
    type: 'Warning',
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
    object: { kind: 'Job', name: job },
  });

function exited(exitCode: number, lines: string[] = [], overrides: Partial<ContainerSummary> = {}): ContainerSummary {
  return container({
    name: 'checker',
    ready: false,
    exited: true,
    lastTerminated: { reason: exitCode === 0 ? 'Completed' : 'Error', exitCode },
    previousLog: { status: 'ok', lines, truncated: false, redactions: 0 },
    ...overrides,
  });
}

const jobPod = (name: string, job: string, c: ContainerSummary, phase = 'Failed'): PodSummary =>
  pod(name, { job, phase, ready: false, replicaSet: undefined, containers: [c] });

/** A listed Job; `failed` adds the condition the controller sets when it gives up. */
function job(name: string, overrides: Partial<JobSummary> = {}): JobSummary {
  return { name, createdAt: minutesBefore(30), active: 0, succeeded: 0, failed: 0, conditions: [], ...overrides };
}

function failedJob(name: string, minutes: number, overrides: Partial<JobSummary> = {}, reason = 'BackoffLimitExceeded'): JobSummary {
  return job(name, {
    completions: 5,
    parallelism: 1,
    backoffLimit: 4,
    failed: 5,
    startTime: minutesBefore(minutes + 3),
    conditions: [
      {
        type: 'FailureTarget',
        status: 'True',
        reason,
        message: 'Job has reached the specified backoff limit',
        lastTransitionTime: minutesBefore(minutes),
      },
      {
        type: 'Failed',
        status: 'True',
        reason,
        message: 'Job has reached the specified backoff limit',
        lastTransitionTime: minutesBefore(minutes),
      },
    ],
    ...overrides,
  });
}

const complete = (name: string, overrides: Partial<JobSummary> = {}): JobSummary =>
  job(name, {
    succeeded: 1,
    failed: 2,
    completionTime: minutesBefore(5),
    conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: minutesBefore(5) }],
    ...overrides,
  });

const cronJob = (name: string, overrides: Partial<CronJobSummary> = {}): CronJobSummary => ({
  name,
  schedule: '0 2 * * *',
  suspend: false,
  active: 0,
  ...overrides,
});

const syntaxError = ['/bin/sh: syntax error: unexpected "fi"'];
const failedAt = (minutes: number) => ({ lastTerminated: { reason: 'Error', exitCode: 2, finishedAt: minutesBefore(minutes) } });

const refused = ['Connection attempt 1 failed: java.net.ConnectException: Connection refused', 'Target host: prod-db, port: 3333'];

describe('jobsAnalyzer', () => {
  test.each([
    {
      name: 'a Job past its backoff limit, named with what its pods logged',
      pods: [
        jobPod('java-api-checker-2lhkn', 'java-api-checker', exited(1, refused)),
        jobPod('java-api-checker-jzzdd', 'java-api-checker', exited(1, refused)),
      ],
      events: [backoffLimit('java-api-checker')],
      expected: [
        {
          severity: 'critical',
          title: 'job java-api-checker failed (BackoffLimitExceeded; 2 pods failed, exit 1): cannot connect to prod-db:3333',
        },
      ],
    },
    {
      name: "a CronJob's Job is named with its CronJob; the shell's syntax error is the cause",
      pods: [jobPod('backup-28913460-x7k2p', 'backup-28913460', exited(2, ['/bin/sh: syntax error: unexpected "fi"']))],
      events: [backoffLimit('backup-28913460')],
      expected: [
        {
          severity: 'critical',
          title:
            'job backup-28913460 (CronJob backup) failed (BackoffLimitExceeded; 1 pod failed, exit 2): the container\'s shell script does not parse (syntax error: unexpected "fi")',
        },
      ],
    },
    {
      name: 'a failed pod the Job may still retry, or that a later run made good, is only information',
      pods: [jobPod('get-data-mldtn', 'get-data', exited(6, ['curl: (6) Could not resolve host: example.invalid']))],
      events: [],
      expected: [{ severity: 'info', title: 'job get-data failed (1 pod failed, exit 6): cannot resolve example.invalid (DNS)' }],
    },
    {
      name: 'the controller gave up after the pods are gone: the event alone still names the Job',
      pods: [],
      events: [backoffLimit('nightly-report')],
      expected: [{ severity: 'critical', title: 'job nightly-report failed (BackoffLimitExceeded)' }],
    },
    {
      name: "yesterday's failed run, still listed, is a warning with its age, not today's cause",
      pods: [
        jobPod(
          'backup-28913460-x7k2p',
          'backup-28913460',
          exited(1, ['write /backup/db.dump: no space left on device'], {
            lastTerminated: { reason: 'Error', exitCode: 1, finishedAt: minutesBefore(24 * 60) },
          }),
        ),
      ],
      events: [{ ...backoffLimit('backup-28913460'), lastSeen: minutesBefore(24 * 60) }],
      expected: [
        {
          severity: 'warning',
          title:
            'job backup-28913460 (CronJob backup) failed more than 2 h before the incident (BackoffLimitExceeded; 1 pod failed, exit 1): no space left on device',
        },
      ],
    },
    {
      name: 'near miss: a Job whose pods completed is healthy',
      pods: [jobPod('etl-abcde', 'etl', exited(0), 'Succeeded')],
      events: [],
      expected: [],
    },
    {
      name: 'near miss: a failed pod that belongs to no Job is not a Job failure',
      pods: [pod('one-off', { phase: 'Failed', ready: false, replicaSet: undefined, containers: [exited(1)] })],
      events: [],
      expected: [],
    },
    { name: 'near miss: a healthy namespace', pods: healthyNamespace().pods, events: [], expected: [] },
  ])('$name', ({ pods, events, expected }) => {
    const findings = jobsAnalyzer(analysisInput(kubernetes(namespace('batch', { pods, events }))));
    expect(findings.map((f) => ({ severity: f.severity, title: f.title }))).toEqual(expected);
    for (const f of findings) expect(f.objects[0]).toMatch(/^Job\/batch\//);
  });
});

interface ListedCase {
  name: string;
  jobs: JobSummary[];
  cronJobs?: CronJobSummary[];
  pods?: PodSummary[];
  events?: EventSummary[];
  expected: { severity: string; title: string }[];
  /** Lines the first finding's evidence holds (exactly), and lines it must not hold (as a pattern). */
  evidence?: string[];
  notInEvidence?: RegExp;
}

describe('jobsAnalyzer with Jobs and CronJobs listed', () => {
  const cases: ListedCase[] = [
    {
      name: 'a Job failed 23 h ago, its events long expired: its Failed condition still says the controller gave up',
      jobs: [failedJob('product-data-scraper', 23 * 60)],
      pods: [
        jobPod('product-data-scraper-fsk98', 'product-data-scraper', exited(2, syntaxError, failedAt(23 * 60 + 3))),
        jobPod('product-data-scraper-srxlw', 'product-data-scraper', exited(2, syntaxError, failedAt(23 * 60))),
      ],
      expected: [
        {
          severity: 'warning',
          title:
            'job product-data-scraper failed more than 2 h before the incident (BackoffLimitExceeded; 5 pods failed, exit 2): the container\'s shell script does not parse (syntax error: unexpected "fi")',
        },
      ],
      evidence: [
        `BackoffLimitExceeded: Job has reached the specified backoff limit (Job condition Failed since ${minutesBefore(23 * 60)})`,
        'status: 0 active, 0 succeeded, 5 failed of 5 completions (backoffLimit 4)',
        'failed pods: product-data-scraper-fsk98, product-data-scraper-srxlw',
      ],
    },
    {
      name: 'a Job that failed minutes ago, seen by its condition and its event: one signal, critical, the event not counted twice',
      jobs: [failedJob('java-api-checker', 3, { failed: 2, completions: 1 })],
      pods: [jobPod('java-api-checker-2lhkn', 'java-api-checker', exited(1, refused))],
      events: [backoffLimit('java-api-checker')],
      expected: [
        {
          severity: 'critical',
          title: 'job java-api-checker failed (BackoffLimitExceeded; 2 pods failed, exit 1): cannot connect to prod-db:3333',
        },
      ],
      notInEvidence: /^BackoffLimitExceeded: Job has reached the specified backoff limit$/,
    },
    {
      name: 'no pod left and no event: the Failed condition alone names the Job, with its reason',
      jobs: [failedJob('nightly-report', 10, { failed: 0, backoffLimit: undefined, activeDeadlineSeconds: 600 }, 'DeadlineExceeded')],
      expected: [{ severity: 'critical', title: 'job nightly-report failed (DeadlineExceeded)' }],
      evidence: ['status: 0 active, 0 succeeded, 0 failed of 5 completions (activeDeadlineSeconds 600)'],
    },
    {
      name: 'FailureTarget before Failed (its pods still terminating) already says the controller gave up',
      jobs: [
        failedJob('sync', 4, {
          conditions: [
            {
              type: 'FailureTarget',
              status: 'True',
              reason: 'DeadlineExceeded',
              message: 'Job was active longer than specified deadline',
              lastTransitionTime: minutesBefore(4),
            },
          ],
        }),
      ],
      expected: [{ severity: 'critical', title: 'job sync failed (DeadlineExceeded; 5 pods failed)' }],
      evidence: [`DeadlineExceeded: Job was active longer than specified deadline (Job condition FailureTarget since ${minutesBefore(4)})`],
    },
    {
      name: "the owner reference names the CronJob, though the Job's name does not follow the pattern",
      jobs: [failedJob('manual-backup', 10, { cronJob: 'backup' })],
      expected: [{ severity: 'critical', title: 'job manual-backup (CronJob backup) failed (BackoffLimitExceeded; 5 pods failed)' }],
    },
    {
      name: 'a CronJob whose last success is days older than its last schedule, and whose newest Job failed: the evidence says so',
      jobs: [
        failedJob('backup-28913460', 30, { cronJob: 'backup', startTime: minutesBefore(40) }),
        complete('backup-28910580', {
          cronJob: 'backup',
          startTime: minutesBefore(3 * 24 * 60),
          completionTime: minutesBefore(3 * 24 * 60 - 5),
        }),
      ],
      cronJobs: [cronJob('backup', { lastScheduleTime: minutesBefore(40), lastSuccessfulTime: minutesBefore(3 * 24 * 60 - 5) })],
      expected: [{ severity: 'critical', title: 'job backup-28913460 (CronJob backup) failed (BackoffLimitExceeded; 5 pods failed)' }],
      evidence: [
        `CronJob backup (schedule 0 2 * * *) last succeeded ${minutesBefore(3 * 24 * 60 - 5)}, 2 d before its last scheduled run (${minutesBefore(40)}); its newest Job backup-28913460 failed`,
      ],
    },
    {
      name: 'near miss: an older failed Job of a CronJob whose newest run is still going says nothing about the CronJob',
      jobs: [
        failedJob('backup-28913460', 24 * 60, { cronJob: 'backup', startTime: minutesBefore(24 * 60 + 5) }),
        job('backup-28914900', { cronJob: 'backup', active: 1, startTime: minutesBefore(40) }),
      ],
      cronJobs: [cronJob('backup', { lastScheduleTime: minutesBefore(40), lastSuccessfulTime: minutesBefore(3 * 24 * 60), active: 1 })],
      expected: [
        {
          severity: 'warning',
          title: 'job backup-28913460 (CronJob backup) failed more than 2 h before the incident (BackoffLimitExceeded; 5 pods failed)',
        },
      ],
      notInEvidence: /^CronJob backup/,
    },
    {
      name: 'near miss: a Job that completed after retries is no failure, whatever its failed pods say',
      jobs: [complete('etl')],
      pods: [jobPod('etl-a1b2c', 'etl', exited(1, refused)), jobPod('etl-d3e4f', 'etl', exited(1, refused))],
      expected: [],
    },
    {
      name: 'near miss: a complete Job with a stale gave-up event (an earlier Job of the same name) is no failure either',
      jobs: [complete('etl')],
      events: [backoffLimit('etl')],
      expected: [],
    },
    {
      name: 'near miss: a Job still running whose first pod failed stays information',
      jobs: [job('get-data', { active: 1, failed: 1, backoffLimit: 6 })],
      pods: [jobPod('get-data-mldtn', 'get-data', exited(6, ['curl: (6) Could not resolve host: example.invalid']))],
      expected: [{ severity: 'info', title: 'job get-data failed (1 pod failed, exit 6): cannot resolve example.invalid (DNS)' }],
    },
    {
      name: 'near miss: a Failed condition that is False is no failure',
      jobs: [job('sync', { active: 1, conditions: [{ type: 'Failed', status: 'False', reason: 'BackoffLimitExceeded' }] })],
      expected: [],
    },
    {
      name: 'near miss: healthy Jobs and CronJobs',
      jobs: [complete('etl', { failed: 0 }), job('sync', { active: 1 })],
      cronJobs: [cronJob('backup', { lastScheduleTime: minutesBefore(60), lastSuccessfulTime: minutesBefore(55) })],
      expected: [],
    },
  ];

  test.each(cases)('$name', ({ jobs, cronJobs, pods = [], events = [], expected, evidence, notInEvidence }) => {
    const ns = { ...namespace('batch', { pods, events }), jobs, ...(cronJobs ? { cronJobs } : {}) };
    const findings = jobsAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ severity: f.severity, title: f.title }))).toEqual(expected);
    for (const f of findings) expect(f.objects[0]).toMatch(/^Job\/batch\//);
    for (const line of evidence ?? []) expect(findings[0]?.evidence).toContain(line);
    if (notInEvidence) for (const line of findings[0]?.evidence ?? []) expect(line).not.toMatch(notInEvidence);
  });
});
