import { logErrorsAnalyzer } from '../../../activities/analyzers/log-errors.js';
import type { ContainerSummary } from '../../../activities/model.js';
import { analysisInput, container, deployment, kubernetes, namespace, OLD_RS, podsOf, replicaSet } from './fixtures.js';

const logging = (lines: string[], overrides: Partial<ContainerSummary> = {}): ContainerSummary =>
  container({ currentLog: { status: 'ok', lines, truncated: false, redactions: 0 }, ...overrides });

describe('logErrorsAnalyzer', () => {
  test.each([
    {
      name: 'running pods that cannot resolve a host: one warning for the workload, naming it',
      containers: [
        logging(['GET /memes', "requests.exceptions.ConnectionError: Failed to resolve 'memcom' ([Errno -2] Name or service not known)"]),
      ],
      titles: ['checkout-api pods log errors: cannot resolve memcom (DNS)'],
    },
    {
      name: 'a forbidden API call names the identity and the verb',
      containers: [
        logging([
          'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ops:monitor" cannot list resource "pods" in API group ""',
        ]),
      ],
      titles: ['checkout-api pods log errors: system:serviceaccount:ops:monitor is forbidden to list pods (RBAC)'],
    },
    { name: 'near miss: ordinary log lines raise nothing', containers: [logging(['GET /health 200', 'cache warmed'])], titles: [] },
    {
      name: 'near miss: a log that could not be read raises nothing',
      containers: [container({ currentLog: { status: 'unavailable', reason: 'HTTP 403' } })],
      titles: [],
    },
  ])('$name', ({ containers, titles }) => {
    const ns = namespace('shop', {
      pods: podsOf(OLD_RS, 2, () => ({ containers })),
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    });
    const findings = logErrorsAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(titles);
    for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.log-errors', severity: 'warning' });
  });
});

describe('logErrorsAnalyzer: the window digest', () => {
  const withDigest = (tail: string[], messages: { line: number; text: string; source?: string }[]): ContainerSummary =>
    container({
      currentLog: {
        status: 'ok',
        lines: tail,
        truncated: true,
        redactions: 0,
        digest: {
          linesScanned: 5000,
          gap: false,
          errors: messages.length,
          warnings: 0,
          messages: messages.map((m) => ({ ...m, level: 'error', count: 1, lastLine: m.line, distinct: [] })),
          changes: [],
          series: [],
        },
      },
    });

  test.each([
    {
      name: 'a signature among errors that have stopped, though the newest lines are calm',
      messages: [{ line: 1270, text: 'Connection pool exhausted! 100/100 connections in use' }],
      title: 'checkout-api pods log errors: the connection pool is exhausted (100/100)',
    },
    {
      name: 'the first error of a cascade, named by the component that logged it',
      messages: [
        { line: 900, text: 'Upstream service chain failure', source: 'checkout-api' },
        { line: 10, text: 'Lost connection to Redis: Connection refused (ECONNREFUSED) redis-master:6379', source: 'auth-service' },
      ],
      title: 'checkout-api pods log errors: cannot connect to redis-master:6379 (logged by auth-service)',
    },
    {
      name: 'a line the workload itself logged is not attributed',
      messages: [{ line: 10, text: 'dial tcp 10.0.0.5:5432: connect: connection refused', source: 'checkout-api' }],
      title: 'checkout-api pods log errors: connections to 10.0.0.5:5432 are refused',
    },
  ])('$name', ({ messages, title }) => {
    const ns = namespace('shop', {
      pods: podsOf(OLD_RS, 1, () => ({ containers: [withDigest(['GET /health 200'], messages)] })),
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    });
    expect(logErrorsAnalyzer(analysisInput(kubernetes(ns))).map((f) => f.title)).toEqual([title]);
  });

  test('near miss: error groups with no known signature are left to the anomaly analyzer', () => {
    const ns = namespace('shop', {
      pods: podsOf(OLD_RS, 1, () => ({ containers: [withDigest(['GET /health 200'], [{ line: 3, text: 'Too Many Requests' }])] })),
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    });
    expect(logErrorsAnalyzer(analysisInput(kubernetes(ns)))).toEqual([]);
  });
});
