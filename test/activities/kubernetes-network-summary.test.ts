import type { V1Endpoints, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import {
  summarizeEndpoints,
  summarizeNamespace,
  summarizeNetworkPolicies,
  summarizePod,
  summarizeServices,
} from '../../activities/kubernetes-summary.js';
import { EVIDENCE_LIMITS } from '../../activities/evidence-bounds.js';

const labelled = (name: string, labels: Record<string, string>, phase = 'Running'): V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'app' }] },
  status: { phase },
});

describe('pod labels', () => {
  test('kept sorted and bounded, without the pod-template-hash', () => {
    const labels = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]));
    const { summary } = summarizePod(labelled('p', { ...labels, 'pod-template-hash': 'abc' }));
    expect(Object.keys(summary.labels ?? {})).toHaveLength(EVIDENCE_LIMITS.labelsPerPod);
    expect(summary.labels).not.toHaveProperty('pod-template-hash');
    expect(Object.keys(summary.labels ?? {})[0]).toBe('k00');
  });

  test('a pod without labels has none', () => {
    expect(summarizePod(labelled('p', {})).summary.labels).toBeUndefined();
  });
});

describe('summarizeNetworkPolicies', () => {
  test('selector, types and the peers and ports of each rule, compactly', () => {
    const policies: V1NetworkPolicy[] = [
      {
        metadata: { name: 'default-deny-egress' },
        spec: { podSelector: {}, policyTypes: ['Egress'], egress: [] },
      },
      {
        metadata: { name: 'backend-network-policy' },
        spec: {
          podSelector: { matchLabels: { app: 'backend' } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              _from: [
                { podSelector: { matchLabels: { tier: 'backend' } } },
                { namespaceSelector: {} },
                { ipBlock: { cidr: '10.0.0.0/8' } },
              ],
              ports: [{ protocol: 'TCP', port: 80 }],
            },
          ],
        },
      },
      // No policyTypes: Ingress, and Egress because it has egress rules.
      { metadata: { name: 'allow-dns' }, spec: { podSelector: {}, egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] } },
    ];
    expect(summarizeNetworkPolicies(policies)).toEqual([
      {
        name: 'allow-dns',
        podSelector: [],
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [{ peers: [], ports: ['UDP/53'] }],
      },
      {
        name: 'backend-network-policy',
        podSelector: ['app=backend'],
        policyTypes: ['Ingress'],
        ingress: [{ peers: ['pods tier=backend', 'namespaces *', 'ipBlock 10.0.0.0/8'], ports: ['TCP/80'] }],
        egress: [],
      },
      { name: 'default-deny-egress', podSelector: [], policyTypes: ['Egress'], ingress: [], egress: [] },
    ]);
  });

  test('bounded', () => {
    const many = Array.from({ length: 50 }, (_, i): V1NetworkPolicy => ({ metadata: { name: `p${i}` }, spec: { podSelector: {} } }));
    expect(summarizeNetworkPolicies(many)).toHaveLength(EVIDENCE_LIMITS.networkPoliciesPerNamespace);
  });
});

describe('summarizeServices and summarizeEndpoints', () => {
  const pods = [labelled('backend-1', { app: 'backend', version: 'v1' }), labelled('old', { app: 'backend', version: 'v2' }, 'Succeeded')];

  test('selector, ports and how many running pods it matches; none for a Service without a selector', () => {
    const services: V1Service[] = [
      { metadata: { name: 'backend-service' }, spec: { selector: { app: 'backend', version: 'v2' }, ports: [{ port: 80 }] } },
      { metadata: { name: 'backend' }, spec: { selector: { app: 'backend' }, ports: [{ port: 80, protocol: 'TCP' }] } },
      { metadata: { name: 'external' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } },
      { metadata: { name: 'manual' }, spec: { ports: [{ port: 5432 }] } },
    ];
    expect(summarizeServices(services, pods)).toEqual([
      { name: 'backend', selector: ['app=backend'], ports: ['80/TCP'], matchingPods: 1 },
      { name: 'backend-service', selector: ['app=backend', 'version=v2'], ports: ['80/TCP'], matchingPods: 0 },
      { name: 'external', type: 'ExternalName', ports: [] },
      { name: 'manual', ports: ['5432/TCP'] },
    ]);
  });

  test('Endpoints count their ready and not-ready addresses', () => {
    const endpoints: V1Endpoints[] = [
      {
        metadata: { name: 'a' },
        subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], notReadyAddresses: [{ ip: '10.0.0.3' }] }],
      },
      { metadata: { name: 'b' } },
    ];
    expect(summarizeEndpoints(endpoints)).toEqual([
      { name: 'a', readyAddresses: 2, notReadyAddresses: 1 },
      { name: 'b', readyAddresses: 0, notReadyAddresses: 0 },
    ]);
  });

  test('a namespace carries them only when they were read, and what was refused', () => {
    const base = { namespace: 'shop', pods, events: [], deployments: [], replicaSets: [] };
    expect(summarizeNamespace(base)).not.toHaveProperty('services');
    const read = summarizeNamespace({
      ...base,
      services: [],
      endpoints: [],
      unavailable: [{ kind: 'networkpolicies', status: 'unavailable', reason: 'HTTP 403 Forbidden' }],
    });
    expect(read).toMatchObject({ services: [], endpoints: [], unavailable: [{ kind: 'networkpolicies' }] });
    expect(read).not.toHaveProperty('networkPolicies');
  });
});
