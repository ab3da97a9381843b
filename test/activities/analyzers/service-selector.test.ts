import { serviceSelectorAnalyzer } from '../../../activities/analyzers/service-selector.js';
import type { EndpointsSummary, NamespaceEvidence, PodSummary, ServiceSummary } from '../../../activities/model.js';
import { analysisInput, container, kubernetes, namespace, pod } from './fixtures.js';

const REFUSED = [
  'Connecting to backend-service (10.96.112.54:80)',
  "wget: can't connect to remote host (10.96.112.54): Connection refused",
];
const frontend = pod('frontend-1', {
  labels: { app: 'frontend' },
  containers: [container({ currentLog: { status: 'ok', lines: REFUSED, truncated: false, redactions: 0 } })],
});
const backend = pod('backend-1', { replicaSet: 'backend-5c6b7', labels: { app: 'backend', version: 'v1' } });
const service = (overrides: Partial<ServiceSummary> = {}): ServiceSummary => ({
  name: 'backend-service',
  selector: ['app=backend', 'version=v2'],
  ports: ['80/TCP'],
  matchingPods: 0,
  ...overrides,
});
const noEndpoints: EndpointsSummary = { name: 'backend-service', readyAddresses: 0, notReadyAddresses: 0 };

function ns(pods: PodSummary[], extra: Partial<NamespaceEvidence>): NamespaceEvidence {
  return { ...namespace('shop', { pods }), ...extra };
}

describe('serviceSelectorAnalyzer', () => {
  test.each([
    {
      name: 'a selector no pod matches, no endpoints, a client failing on it: critical, naming the labels the pods carry',
      evidence: ns([frontend, backend], { services: [service()], endpoints: [noEndpoints] }),
      findings: [
        {
          severity: 'critical',
          title: 'Service backend-service selects no pods (selector app=backend, version=v2; pods of backend-5c6b7 carry version=v1)',
        },
      ],
    },
    {
      name: 'without a failing client it is a warning',
      evidence: ns([backend], { services: [service()], endpoints: [noEndpoints] }),
      findings: [
        {
          severity: 'warning',
          title: 'Service backend-service selects no pods (selector app=backend, version=v2; pods of backend-5c6b7 carry version=v1)',
        },
      ],
    },
    {
      name: 'near miss: the selector matches pods',
      evidence: ns([frontend, backend], { services: [service({ selector: ['app=backend'], matchingPods: 1 })] }),
      findings: [],
    },
    {
      name: 'near miss: a Service without a selector (manual Endpoints)',
      evidence: ns([frontend], { services: [service({ selector: undefined, matchingPods: undefined })] }),
      findings: [],
    },
    {
      name: 'near miss: an ExternalName Service',
      evidence: ns([frontend], { services: [service({ type: 'ExternalName' })] }),
      findings: [],
    },
    {
      name: 'near miss: its Endpoints have ready addresses (pods not listed here)',
      evidence: ns([frontend], { services: [service()], endpoints: [{ ...noEndpoints, readyAddresses: 2 }] }),
      findings: [],
    },
    { name: 'near miss: no Services read', evidence: ns([frontend, backend], {}), findings: [] },
  ])('$name', ({ evidence, findings }) => {
    const found = serviceSelectorAnalyzer(analysisInput(kubernetes(evidence)));
    expect(found.map((f) => ({ severity: f.severity, title: f.title }))).toEqual(findings);
    for (const f of found) expect(f.objects[0]).toBe('Service/shop/backend-service');
  });
});
