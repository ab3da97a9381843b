// The egress allowlist (the EgressPlan of egress-policy.ts) rendered as
// Cilium `cilium.io/v2` CiliumNetworkPolicies, for clusters whose CNI is
// open-source Cilium: Calico's `domains` rules need Calico Enterprise or
// Calico Cloud, while Cilium enforces `toFQDNs` with the DNS proxy of its
// open-source agent. `triage egress --cni cilium` writes the result into
// deploy/components/cilium-egress/egress-policy.yaml.
//
// Field names and their rules come from Cilium's documentation (Layer 3 and
// Layer 7 policy pages, and the examples under examples/policies/ in
// github.com/cilium/cilium), not from a guess at the CRD.
//
// Pure: no file, network or environment is read here.
import { isIP } from 'node:net';
import { Document, isMap, stringify } from 'yaml';
import { z } from 'zod';
import {
  APP_NAME,
  COMPONENTS,
  DEPLOY_NAMESPACE,
  KUBERNETES_API_SERVICE,
  podLabels,
  type Component,
  type EgressDestination,
  type EgressPlan,
  type RenderSource,
} from './egress-policy.js';

/** The label Cilium gives every endpoint for its pod's namespace. */
const POD_NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace';

/** CoreDNS on EKS, as a Cilium endpoint selector: the `k8s:` source prefix and the pod's namespace label. */
export const CILIUM_CLUSTER_DNS = {
  matchLabels: { [POD_NAMESPACE_LABEL]: 'kube-system', 'k8s:k8s-app': 'kube-dns' },
} as const;

const PART_OF_LABEL = 'app.kubernetes.io/part-of';

// ---------------------------------------------------------------------------
// The schema: the subset of the documented CiliumNetworkPolicy that a render
// can produce, strict so that a renderer bug shows up as a test failure rather
// than as a field the API server prunes. Documented rules kept here: toFQDNs
// cannot share an egress rule with another L3 selector (toEndpoints, toCIDR,
// …); the L3 members of one rule are mutually exclusive; ports are strings of
// digits or a named port; one toPorts entry carries one kind of L7 rule.

const PORT_PROTOCOL = z.enum(['TCP', 'UDP', 'SCTP', 'ANY']);
const PORT = z.strictObject({
  port: z.string().regex(/^(\d{1,5}|[a-z][-a-z0-9]{0,14})$/),
  protocol: PORT_PROTOCOL.optional(),
});
const DNS_NAME = /^(\*\*\.)?[-a-z0-9*]+(\.[-a-z0-9*]+)*\.?$|^\*$/;
const DNS_RULE = z.union([
  z.strictObject({ matchName: z.string().regex(DNS_NAME) }),
  z.strictObject({ matchPattern: z.string().regex(DNS_NAME) }),
]);
const PORT_RULE = z.strictObject({
  ports: z.array(PORT).min(1),
  rules: z.strictObject({ dns: z.array(DNS_RULE).min(1) }).optional(),
});
const CIDR = z.string().refine((v) => {
  const [ip, bits, ...rest] = v.split('/');
  const family = isIP(ip ?? '');
  return rest.length === 0 && family !== 0 && /^\d{1,3}$/.test(bits ?? '') && Number(bits) <= (family === 4 ? 32 : 128);
}, 'must be a CIDR');
const LABELS = z.record(z.string(), z.string());
const ENDPOINT_SELECTOR = z.strictObject({ matchLabels: LABELS });
/** The entities Cilium's Layer 3 page defines. */
const ENTITY = z.enum(['host', 'remote-node', 'kube-apiserver', 'ingress', 'cluster', 'init', 'health', 'unmanaged', 'world', 'all']);

const L3_FIELDS = ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toServices', 'toFQDNs'] as const;

const egressRuleSchema = z
  .strictObject({
    toEndpoints: z.array(ENDPOINT_SELECTOR).min(1).optional(),
    toCIDR: z.array(CIDR).min(1).optional(),
    toCIDRSet: z
      .array(z.strictObject({ cidr: CIDR, except: z.array(CIDR).optional() }))
      .min(1)
      .optional(),
    toEntities: z.array(ENTITY).min(1).optional(),
    toServices: z
      .array(z.strictObject({ k8sService: z.strictObject({ serviceName: z.string().min(1), namespace: z.string().min(1) }) }))
      .min(1)
      .optional(),
    toFQDNs: z.array(DNS_RULE).min(1).optional(),
    toPorts: z.array(PORT_RULE).min(1).optional(),
  })
  .refine((r) => L3_FIELDS.filter((f) => r[f] !== undefined).length === 1, {
    message: `an egress rule needs exactly one of ${L3_FIELDS.join(', ')} (they are mutually exclusive, and a rule without one allows every peer)`,
  })
  .refine((r) => !r.toPorts?.some((p) => p.rules?.dns) || r.toEndpoints !== undefined, {
    message: 'DNS rules here belong only on the rule to the cluster DNS',
  });

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const ciliumNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal('cilium.io/v2'),
  kind: z.literal('CiliumNetworkPolicy'),
  metadata: z.looseObject({
    name: z.string().regex(K8S_NAME),
    namespace: z.string().regex(K8S_NAME),
    labels: LABELS.optional(),
    annotations: LABELS.optional(),
  }),
  spec: z.strictObject({
    description: z.string().optional(),
    endpointSelector: ENDPOINT_SELECTOR,
    egress: z.array(egressRuleSchema).min(1),
  }),
});

export type CiliumNetworkPolicy = z.infer<typeof ciliumNetworkPolicySchema>;
type CiliumEgressRule = z.infer<typeof egressRuleSchema>;

const tcp = (port: number) => [{ ports: [{ port: String(port), protocol: 'TCP' as const }] }];

function ciliumRule(d: EgressDestination): CiliumEgressRule {
  switch (d.kind) {
    case 'dns':
      return {
        toEndpoints: [{ matchLabels: { ...CILIUM_CLUSTER_DNS.matchLabels } }],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'UDP' },
              { port: '53', protocol: 'TCP' },
            ],
            // The DNS rule is what sends lookups through Cilium's DNS proxy, the
            // only way toFQDNs learns which IPs a name has; without it every
            // host rule below allows nothing. "*" rather than the allowlisted
            // names: the pod's resolver tries the search-list expansions first
            // (resolv.conf's ndots:5 and the cluster and node search domains),
            // and Temporal's Service name must resolve too, so a name list would
            // make the proxy refuse lookups the pods need, and how a refused
            // lookup ends depends on the resolver in the image. Connections stay
            // limited to toFQDNs either way; what "*" leaves open is DNS itself
            // as a channel, which CoreDNS forwarding leaves open under the
            // Calico policy as well.
            rules: { dns: [{ matchPattern: '*' }] },
          },
        ],
      };
    case 'host':
      return { toFQDNs: [{ matchName: d.host }], toPorts: tcp(d.port) };
    case 'cidr':
      return { toCIDR: [d.cidr], toPorts: tcp(d.port) };
    case 'service':
      if (d.pods) {
        // The pods behind one of this deployment's Services, on the port they serve: Cilium documents
        // that toServices must not be combined with toPorts (combined, the port is open to any peer,
        // cilium/cilium#20067), and these pods are Cilium endpoints with known labels.
        return {
          toEndpoints: [{ matchLabels: { [POD_NAMESPACE_LABEL]: d.namespace, ...d.pods.labels } }],
          toPorts: tcp(d.pods.port),
        };
      }
      if (d.name === KUBERNETES_API_SERVICE.name && d.namespace === KUBERNETES_API_SERVICE.namespace) {
        // Cilium's docs advise against toServices for default/kubernetes (it has
        // no selector) and name the kube-apiserver entity instead. No port: after
        // service translation the policy sees the control plane's own port,
        // which is the platform's, not the Service's.
        return { toEntities: ['kube-apiserver'] };
      }
      // The Service's label selector becomes the endpoint selector, as Calico's `services` does.
      return { toServices: [{ k8sService: { serviceName: d.name, namespace: d.namespace } }] };
  }
}

export function ciliumPolicy(component: Component, destinations: EgressDestination[]): CiliumNetworkPolicy {
  const policy: CiliumNetworkPolicy = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: {
      name: `keyless-triage-${component}-egress`,
      namespace: DEPLOY_NAMESPACE,
      // part-of here, because the base's label transformer does not reach resources a component adds.
      labels: { ...podLabels(component), [PART_OF_LABEL]: APP_NAME },
    },
    spec: {
      description: `egress allowlist of the keyless-triage ${component} pods, rendered by triage egress --cni cilium`,
      endpointSelector: { matchLabels: podLabels(component) },
      egress: destinations.map(ciliumRule),
    },
  };
  // A renderer bug must not produce a policy that allows more than it says, or a field Cilium prunes.
  return ciliumNetworkPolicySchema.parse(policy);
}

export function ciliumPolicies(plan: EgressPlan): CiliumNetworkPolicy[] {
  return COMPONENTS.map((component) => ciliumPolicy(component, plan[component]));
}

/** One document, each egress rule preceded by a comment saying why it is there (Cilium rules have no annotations). */
function documentOf(policy: CiliumNetworkPolicy, destinations: EgressDestination[]): string {
  const doc = new Document(policy);
  destinations.forEach((d, i) => {
    const node = doc.getIn(['spec', 'egress', i], true);
    if (isMap(node)) node.commentBefore = ` ${d.why}`;
  });
  return stringify(doc, { lineWidth: 0 });
}

export function renderCiliumEgressPolicyYaml(plan: EgressPlan, source: RenderSource): string {
  const command = `npx triage egress --cni cilium --broker-config ${source.brokerConfig} --config ${source.triageConfig}`;
  const header = [
    '# GENERATED FILE: do not edit. Rendered from the broker and worker configuration by',
    `#   ${command} --out <this file>`,
    '# and checked in CI by the same command with --check instead of --out',
    '# (test/deploy/egress-cilium.test.ts), so a configuration change without a re-render fails.',
    '#',
    '# The egress allowlists of deploy/base/egress-policy.yaml (the same hosts, ranges and',
    '# Services), as one CiliumNetworkPolicy per pod kind, for clusters whose CNI is Cilium',
    '# (open source is enough: toFQDNs is enforced by the DNS proxy of the Cilium agent, which',
    '# needs the L7 proxy enabled, as it is by default). The comment above each rule says why',
    '# it is there. Enabled by the cilium-egress component, which also removes the Calico',
    '# policies; see docs/deploy.md, "Which CNI enforces what".',
  ].join('\n');
  const documents = COMPONENTS.map((component) => documentOf(ciliumPolicy(component, plan[component]), plan[component]));
  return `${header}\n${documents.map((d) => `---\n${d}`).join('')}`;
}
