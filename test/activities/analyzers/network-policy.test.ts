import { networkPolicyAnalyzer } from '../../../activities/analyzers/network-policy.js';
import type { NamespaceEvidence, NetworkPolicySummary, PodSummary, ServiceSummary } from '../../../activities/model.js';
import { analysisInput, container, kubernetes, namespace, pod } from './fixtures.js';

const logging = (name: string, labels: Record<string, string>, lines: string[]): PodSummary =>
  pod(name, { labels, containers: [container({ currentLog: { status: 'ok', lines, truncated: false, redactions: 0 } })] });

const DNS_FAILURE = "Failed to resolve 'nginx-service.test-ns' ([Errno -3] Try again)";
const TIMEOUT = ['Connecting to backend-service:80 (10.96.201.17:80)', 'ERROR: Connection timeout to backend-service!'];

const client = logging('client', { app: 'client' }, [DNS_FAILURE]);
const frontend = logging('frontend-1', { app: 'frontend', tier: 'frontend' }, TIMEOUT);
const backend = pod('backend-1', { labels: { app: 'backend', tier: 'backend' } });

const denyEgress: NetworkPolicySummary = { name: 'default-deny-egress', podSelector: [], policyTypes: ['Egress'], ingress: [], egress: [] };
const backendPolicy = (peers: string[]): NetworkPolicySummary => ({
  name: 'backend-network-policy',
  podSelector: ['app=backend'],
  policyTypes: ['Ingress'],
  ingress: [{ peers, ports: ['TCP/80'] }],
  egress: [],
});
const backendService: ServiceSummary = { name: 'backend-service', selector: ['app=backend'], ports: ['80/TCP'], matchingPods: 1 };

function ns(pods: PodSummary[], extra: Partial<NamespaceEvidence>): NamespaceEvidence {
  return { ...namespace('shop', { pods }), ...extra };
}

describe('networkPolicyAnalyzer', () => {
  test.each([
    {
      name: 'egress denied to every pod, DNS included: the client’s DNS failures are the policy’s',
      evidence: ns([client], { networkPolicies: [denyEgress] }),
      titles: ['client pods cannot resolve names: NetworkPolicy default-deny-egress denies their egress, DNS included'],
    },
    {
      name: 'egress denied to pods whose labels the policy selects',
      evidence: ns([client], { networkPolicies: [{ ...denyEgress, podSelector: ['app=client'] }] }),
      titles: ['client pods cannot resolve names: NetworkPolicy default-deny-egress denies their egress, DNS included'],
    },
    {
      name: 'near miss: the policy selects other pods',
      evidence: ns([client], { networkPolicies: [{ ...denyEgress, podSelector: ['app=server'] }] }),
      titles: [],
    },
    {
      name: 'near miss: an egress rule opens UDP 53',
      evidence: ns([client], { networkPolicies: [{ ...denyEgress, egress: [{ peers: ['namespaces *'], ports: ['UDP/53'] }] }] }),
      titles: [],
    },
    {
      name: 'near miss: another policy on the same pods allows DNS (policies add up)',
      evidence: ns([client], {
        networkPolicies: [denyEgress, { ...denyEgress, name: 'allow-dns', egress: [{ peers: [], ports: ['UDP/53', 'TCP/53'] }] }],
      }),
      titles: [],
    },
    {
      name: 'near miss: an Ingress-only policy does not block DNS',
      evidence: ns([client], { networkPolicies: [{ ...denyEgress, policyTypes: ['Ingress'] }] }),
      titles: [],
    },
    { name: 'near miss: no NetworkPolicies listed', evidence: ns([client], {}), titles: [] },
    {
      name: 'near miss: a healthy log beside a deny-egress policy',
      evidence: ns([logging('client', { app: 'client' }, ['GET / 200'])], { networkPolicies: [denyEgress] }),
      titles: [],
    },
    {
      name: 'ingress to the Service’s pods admitted only from tier=backend: the frontend’s timeouts are the policy’s',
      evidence: ns([frontend, backend], { networkPolicies: [backendPolicy(['pods tier=backend'])], services: [backendService] }),
      titles: ['frontend-1 pods cannot reach backend-service: NetworkPolicy backend-network-policy admits only pods with tier=backend'],
    },
    {
      name: 'near miss: the policy admits the frontend’s labels',
      evidence: ns([frontend, backend], { networkPolicies: [backendPolicy(['pods tier=frontend'])], services: [backendService] }),
      titles: [],
    },
    {
      name: 'near miss: the policy admits a namespace selector (any pod there may be admitted)',
      evidence: ns([frontend, backend], { networkPolicies: [backendPolicy(['namespaces *'])], services: [backendService] }),
      titles: [],
    },
    {
      name: 'near miss: the Service the log names is not listed',
      evidence: ns([frontend, backend], { networkPolicies: [backendPolicy(['pods tier=backend'])] }),
      titles: [],
    },
  ])('$name', ({ evidence, titles }) => {
    const findings = networkPolicyAnalyzer(analysisInput(kubernetes(evidence)));
    expect(findings.map((f) => f.title)).toEqual(titles);
    for (const f of findings) {
      expect(f).toMatchObject({ analyzer: 'kubernetes.network-policy', severity: 'critical' });
      expect(f.objects[0]).toMatch(/^NetworkPolicy\/shop\//);
    }
  });
});
