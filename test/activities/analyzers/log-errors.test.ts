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
