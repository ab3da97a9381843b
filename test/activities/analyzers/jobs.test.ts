import { jobsAnalyzer } from '../../../activities/analyzers/jobs.js';
import type { ContainerSummary, PodSummary } from '../../../activities/model.js';
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
