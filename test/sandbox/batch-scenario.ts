// A namespace of Jobs and CronJobs for the collection and emulator tests: a
// CronJob whose newest Job failed 30 min ago (its last success 3 days old), an
// older Job of it that completed, and a Job of its own still running. No eval
// case or shipped scenario holds a CronJob, so this one is built in code.
import { buildScenario, type Scenario } from '../../sandbox/scenario.js';
import { GENERATED_INCIDENT } from './generated-scenario.js';

const template = (app: string, command: string) => ({
  metadata: { labels: { app } },
  spec: { restartPolicy: 'Never' as const, containers: [{ name: app, image: 'busybox:1.36', command: ['/bin/sh', '-c', command] }] },
});

const FAILED_JOB = 'backup-29012340';

export const BATCH_NAMESPACE = {
  cronJobs: [
    {
      metadata: { name: 'backup', labels: { app: 'backup' }, creationTimestamp: '${now-30d}' },
      spec: { schedule: '20 11 * * *', jobTemplate: { spec: { backoffLimit: 1, template: template('backup', 'pg_dump') } } },
      status: { lastScheduleTime: '${now-40m}', lastSuccessfulTime: '${now-3d}' },
    },
  ],
  jobs: [
    {
      metadata: {
        name: 'backup-29008020',
        labels: { app: 'backup' },
        creationTimestamp: '${now-3d}',
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', controller: true, blockOwnerDeletion: true }],
      },
      spec: { completions: 1, parallelism: 1, backoffLimit: 1, template: template('backup', 'pg_dump') },
      status: {
        succeeded: 1,
        startTime: '${now-3d}',
        completionTime: '${now-3d}',
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True' as const, lastTransitionTime: '${now-3d}' },
          { type: 'Complete', status: 'True' as const, lastTransitionTime: '${now-3d}' },
        ],
      },
    },
    {
      metadata: {
        name: FAILED_JOB,
        labels: { app: 'backup' },
        creationTimestamp: '${now-40m}',
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', controller: true, blockOwnerDeletion: true }],
      },
      spec: { completions: 1, parallelism: 1, backoffLimit: 1, template: template('backup', 'pg_dump') },
      status: {
        failed: 2,
        startTime: '${now-40m}',
        conditions: [
          {
            type: 'FailureTarget',
            status: 'True' as const,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastTransitionTime: '${now-30m}',
          },
          {
            type: 'Failed',
            status: 'True' as const,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastTransitionTime: '${now-30m}',
          },
        ],
      },
    },
    {
      metadata: { name: 'report', labels: { app: 'report' }, creationTimestamp: '${now-10m}' },
      spec: { completions: 1, backoffLimit: 6, activeDeadlineSeconds: 3600, template: template('report', 'make-report') },
      status: { active: 1, startTime: '${now-10m}' },
    },
  ],
  pods: [
    {
      metadata: {
        name: `${FAILED_JOB}-x7k2p`,
        creationTimestamp: '${now-35m}',
        labels: { app: 'backup', 'job-name': FAILED_JOB },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: FAILED_JOB, controller: true, blockOwnerDeletion: true }],
      },
      spec: { restartPolicy: 'Never' as const, containers: [{ name: 'backup', image: 'busybox:1.36' }] },
      status: {
        phase: 'Failed' as const,
        containerStatuses: [
          {
            name: 'backup',
            image: 'busybox:1.36',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '${now-30m}' } },
          },
        ],
      },
    },
  ],
  events: [
    {
      metadata: { name: `${FAILED_JOB}.18a3b2c1d0e9f8a7`, creationTimestamp: '${now-30m}' },
      involvedObject: { apiVersion: 'batch/v1', kind: 'Job', name: FAILED_JOB, namespace: 'batch' },
      type: 'Warning' as const,
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
      lastTimestamp: '${now-30m}',
      source: { component: 'job-controller' },
    },
  ],
};

export function batchScenario(now?: number): Scenario {
  return buildScenario(
    {
      name: 'batch',
      description: 'Jobs and CronJobs, built in code',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { batch: BATCH_NAMESPACE } },
    },
    { source: 'batch', ...(now !== undefined ? { now } : {}) },
  );
}
