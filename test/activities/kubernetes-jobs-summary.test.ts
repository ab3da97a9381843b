import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { EVIDENCE_LIMITS } from '../../activities/evidence-bounds.js';
import { summarizeCronJobs, summarizeJobs, summarizeNamespace } from '../../activities/kubernetes-summary.js';

const at = (minutes: number) => new Date(Date.parse('2025-03-01T12:00:00Z') - minutes * 60_000);

function job(name: string, state: 'failed' | 'running' | 'complete' | 'suspended', minutes: number, extra: Partial<V1Job> = {}): V1Job {
  const condition = (type: string, reason?: string) => ({
    type,
    status: 'True',
    ...(reason ? { reason, message: `${reason} message` } : {}),
    lastTransitionTime: at(minutes),
  });
  const conditions =
    state === 'failed'
      ? [condition('FailureTarget', 'BackoffLimitExceeded'), condition('Failed', 'BackoffLimitExceeded')]
      : state === 'complete'
        ? [condition('Complete')]
        : state === 'suspended'
          ? [condition('Suspended', 'JobSuspended')]
          : [];
  return {
    metadata: { name, creationTimestamp: at(minutes + 5) },
    spec: { template: {}, backoffLimit: 4 },
    status: { active: state === 'running' ? 1 : 0, failed: state === 'failed' ? 5 : 0, startTime: at(minutes + 5), conditions },
    ...extra,
  };
}

describe('summarizeJobs', () => {
  test('failed before running before complete, the most recent change first within each', () => {
    const jobs = [
      job('done-old', 'complete', 600),
      job('failed-old', 'failed', 1400),
      job('running', 'running', 3),
      job('done-new', 'complete', 5),
      job('failed-new', 'failed', 30),
      job('suspended', 'suspended', 60),
    ];
    expect(summarizeJobs(jobs).map((j) => j.name)).toEqual(['failed-new', 'failed-old', 'running', 'suspended', 'done-new', 'done-old']);
  });

  test('the spec counts, status counts, conditions and owning CronJob are kept; the rest of the Job is not', () => {
    const [summary] = summarizeJobs([
      job('backup-29012340', 'failed', 30, {
        metadata: {
          name: 'backup-29012340',
          creationTimestamp: at(40),
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: 'u1' }],
        },
        spec: { template: {}, completions: 5, parallelism: 1, backoffLimit: 4, activeDeadlineSeconds: 600 },
      }),
    ]);
    expect(summary).toEqual({
      name: 'backup-29012340',
      createdAt: '2025-03-01T11:20:00Z',
      completions: 5,
      parallelism: 1,
      backoffLimit: 4,
      activeDeadlineSeconds: 600,
      active: 0,
      succeeded: 0,
      failed: 5,
      startTime: '2025-03-01T11:25:00Z',
      conditions: [
        {
          type: 'FailureTarget',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'BackoffLimitExceeded message',
          lastTransitionTime: '2025-03-01T11:30:00Z',
        },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'BackoffLimitExceeded message',
          lastTransitionTime: '2025-03-01T11:30:00Z',
        },
      ],
      cronJob: 'backup',
    });
  });

  test('untrusted text is cleaned and bounded; nonsense counts are not believed', () => {
    const [summary] = summarizeJobs([
      job('x', 'running', 1, {
        spec: { template: {}, backoffLimit: -1, completions: 1.5 },
        status: {
          active: -3,
          conditions: [
            { type: 'Failed', status: 'False', reason: 'Odd\u202e\u0000', message: `line one\nline two ${'m'.repeat(1000)}` },
            ...Array.from({ length: 10 }, (_, i) => ({ type: `Extra${i}`, status: 'False' })),
          ],
        },
      }),
    ]);
    expect(summary!.active).toBe(0);
    expect(summary!.backoffLimit).toBeUndefined();
    expect(summary!.completions).toBeUndefined();
    expect(summary!.conditions).toHaveLength(EVIDENCE_LIMITS.conditionsPerJob);
    expect(summary!.conditions[0]!.reason).toBe('Odd');
    expect(summary!.conditions[0]!.message).toMatch(/^line one line two m+…$/);
    expect(summary!.conditions[0]!.message!.length).toBe(EVIDENCE_LIMITS.textChars);
  });

  test(`at most ${EVIDENCE_LIMITS.jobsPerNamespace}, the failed ones kept over hundreds of complete ones`, () => {
    const jobs = [
      ...Array.from({ length: 300 }, (_, i) => job(`done-${i}`, 'complete', i)),
      job('failed-late', 'failed', 2000),
      job('running', 'running', 1000),
    ];
    const names = summarizeJobs(jobs).map((j) => j.name);
    expect(names).toHaveLength(EVIDENCE_LIMITS.jobsPerNamespace);
    expect(names.slice(0, 3)).toEqual(['failed-late', 'running', 'done-0']);
  });
});

describe('summarizeCronJobs', () => {
  const cronJob = (name: string, status: V1CronJob['status'], extra: Partial<V1CronJob['spec']> = {}): V1CronJob => ({
    metadata: { name },
    spec: { schedule: '0 2 * * *', jobTemplate: {}, ...extra },
    ...(status ? { status } : {}),
  });

  test('those whose last success lags their last schedule come first; the schedule, suspension and running Jobs are kept', () => {
    const summaries = summarizeCronJobs([
      cronJob('a-healthy', { lastScheduleTime: at(60), lastSuccessfulTime: at(55) }),
      cronJob('b-never-ran', undefined, { suspend: true }),
      cronJob('c-failing', { lastScheduleTime: at(60), lastSuccessfulTime: at(3 * 24 * 60), active: [{ kind: 'Job', name: 'c-1' }] }),
      cronJob('d-never-succeeded', { lastScheduleTime: at(60) }),
    ]);
    expect(summaries).toEqual([
      {
        name: 'c-failing',
        schedule: '0 2 * * *',
        suspend: false,
        active: 1,
        lastScheduleTime: '2025-03-01T11:00:00Z',
        lastSuccessfulTime: '2025-02-26T12:00:00Z',
      },
      { name: 'd-never-succeeded', schedule: '0 2 * * *', suspend: false, active: 0, lastScheduleTime: '2025-03-01T11:00:00Z' },
      {
        name: 'a-healthy',
        schedule: '0 2 * * *',
        suspend: false,
        active: 0,
        lastScheduleTime: '2025-03-01T11:00:00Z',
        lastSuccessfulTime: '2025-03-01T11:05:00Z',
      },
      { name: 'b-never-ran', schedule: '0 2 * * *', suspend: true, active: 0 },
    ]);
  });

  test(`at most ${EVIDENCE_LIMITS.cronJobsPerNamespace}`, () => {
    const many = Array.from({ length: 100 }, (_, i) => cronJob(`c-${String(i).padStart(3, '0')}`, undefined));
    expect(summarizeCronJobs(many)).toHaveLength(EVIDENCE_LIMITS.cronJobsPerNamespace);
  });
});

describe('summarizeNamespace', () => {
  test('Jobs and CronJobs are present only when they were read, so older evidence and refused reads stay apart', () => {
    const base = { namespace: 'batch', pods: [], events: [], deployments: [], replicaSets: [] };
    expect(summarizeNamespace(base)).not.toHaveProperty('jobs');
    expect(summarizeNamespace(base)).not.toHaveProperty('cronJobs');
    expect(summarizeNamespace({ ...base, jobs: [], cronJobs: [] })).toMatchObject({ jobs: [], cronJobs: [] });
  });
});
