// The egress allowlist of a cluster deployment, one per pod kind, derived
// from configuration: the broker's upstreams (through allowedOrigins, the same
// function that builds the broker's own outbound dispatcher, so the network
// policy and the broker cannot disagree), the broker's Temporal and its
// callers' TokenReviews, and the worker's settings (Temporal, the broker's
// Service, the in-cluster Kubernetes API, the AWS regions of the services that
// read CloudWatch). Only the broker pods reach a SaaS host: a compromised
// worker has neither the credentials nor a route. The result is rendered as
// Calico NetworkPolicies (`triage egress`, cli/egress-command.ts) into
// deploy/base/egress-policy.yaml, or as Cilium policies (cli/egress-cilium.ts)
// into deploy/components/cilium-egress/.
//
// Pure: no file, network or environment is read here.
import { isIP } from 'node:net';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { STSClient } from '@aws-sdk/client-sts';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { TriageConfig } from '../config/config.js';
import type { BrokerConfig, ProviderName } from '../broker/config.js';
import { allowedOrigins, upstreamsOf } from '../broker/upstream.js';
import { cloudWatchRegions, usesSurface } from './cloudwatch-regions.js';

export const DEPLOY_NAMESPACE = 'keyless-triage';
export const APP_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const APP_NAME = 'keyless-triage';

/** The pod kinds, by their app.kubernetes.io/component label; each gets its own egress policy. */
export const COMPONENTS = ['worker', 'broker', 'gateway'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The labels a component's Deployment gives its pods and selects them by. */
export function podLabels(component: Component): Record<string, string> {
  return { [APP_LABEL]: APP_NAME, [COMPONENT_LABEL]: component };
}

/** The broker's Service (deploy/base/broker-service.yaml), which broker.url in triage.yaml must name. */
export const BROKER_SERVICE = { name: 'keyless-triage-broker', namespace: DEPLOY_NAMESPACE } as const;

/** The EKS Pod Identity Agent's link-local addresses (IPv4 and IPv6), port 80. */
export const POD_IDENTITY_AGENT = [
  { cidr: '169.254.170.23/32', port: 80 },
  { cidr: 'fd00:ec2::23/128', port: 80 },
] as const;

/** Where Slack sends the gateway's `response_url` replies (ephemeral answers to clicks). */
export const SLACK_RESPONSE_URL_HOST = 'hooks.slack.com';

/** The in-cluster API server, as the Kubernetes client finds it (KUBERNETES_SERVICE_HOST). */
export const KUBERNETES_API_SERVICE = { name: 'kubernetes', namespace: 'default' } as const;

/** CoreDNS on EKS: label k8s-app=kube-dns in kube-system. */
export const CLUSTER_DNS = {
  selector: "k8s-app == 'kube-dns'",
  namespaceSelector: "projectcalico.org/name == 'kube-system'",
  port: 53,
} as const;

export type EgressDestination =
  | { kind: 'dns'; why: string }
  /** A DNS name on a TCP port (Calico `domains`). */
  | { kind: 'host'; host: string; port: number; why: string }
  /** An address range on a TCP port (Calico `nets`). */
  | { kind: 'cidr'; cidr: string; port: number; why: string }
  /**
   * The endpoints of a Kubernetes Service, on the Service's own ports (Calico `services`). `pods`, for a
   * Service of this deployment: the labels of the pods behind it and the port they serve, for an engine
   * that selects pods rather than Services (Cilium).
   */
  | { kind: 'service'; name: string; namespace: string; pods?: { labels: Record<string, string>; port: number }; why: string };

export interface EgressPlan {
  /** The Temporal worker: Temporal, the broker's Service, the Kubernetes and AWS APIs it reads; no SaaS host. */
  worker: EgressDestination[];
  /** The credential broker: its SaaS upstreams, Temporal (approvals) and the Kubernetes API (TokenReviews); no AWS. */
  broker: EgressDestination[];
  gateway: EgressDestination[];
}

export class EgressConfigError extends Error {
  override name = 'EgressConfigError';
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;
const CLUSTER_SERVICE = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\.([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\.svc(\.cluster\.local)?\.?$/;

function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function hostDestination(host: string, port: number, why: string): EgressDestination {
  const h = bare(host);
  const family = isIP(h);
  if (family === 4) return { kind: 'cidr', cidr: `${h}/32`, port, why };
  if (family === 6) return { kind: 'cidr', cidr: `${h}/128`, port, why };
  return { kind: 'host', host: h.replace(/\.$/, ''), port, why };
}

function defaultPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}

/** The AWS endpoints the worker's SDK clients use in a region, from the SDK's own endpoint rules. */
export function awsEndpoints(region: string): { cloudwatch: string; sts: string } {
  // The same clients, options and defaults activities/cloudwatch.ts uses (no FIPS, no dual-stack, regional STS).
  const cloudwatch = new CloudWatchClient({ region });
  const sts = new STSClient({ region });
  try {
    const params = { Region: region, UseFIPS: false, UseDualStack: false };
    return {
      cloudwatch: cloudwatch.config.endpointProvider(params).url.hostname,
      sts: sts.config.endpointProvider({ ...params, UseGlobalEndpoint: false }).url.hostname,
    };
  } finally {
    cloudwatch.destroy();
    sts.destroy();
  }
}

/** `setting` names where the address comes from, for the error. */
function temporalDestination(address: string, setting: string): EgressDestination {
  const at = address.lastIndexOf(':');
  const host = bare(address.slice(0, at));
  const port = Number(address.slice(at + 1));
  if (LOOPBACK.test(host)) {
    throw new EgressConfigError(
      `${setting} ${address} is a loopback address (the sandbox's); in the cluster it must name the Temporal frontend`,
    );
  }
  const service = CLUSTER_SERVICE.exec(host);
  if (service) return { kind: 'service', name: service[1]!, namespace: service[3]!, why: `Temporal frontend (${address})` };
  return hostDestination(host, port, `Temporal frontend (${address})`);
}

/**
 * What each pod may connect to, beyond nothing. Throws EgressConfigError for
 * settings that only make sense on the sandbox (loopback upstreams or broker,
 * a moto endpoint, a kubeconfig), since a policy rendered from them would be
 * wrong.
 */
export function egressPlan(broker: Pick<BrokerConfig, 'providers' | 'listen' | 'callers' | 'temporal'>, triage: TriageConfig): EgressPlan {
  checkBroker(broker, triage);
  if (triage.aws.endpoint) {
    throw new EgressConfigError(
      `aws.endpoint is set (${triage.aws.endpoint}): it is for the sandbox's moto; in the cluster the SDK uses the regional AWS endpoints`,
    );
  }
  if (triage.kubernetes.kubeconfig) {
    throw new EgressConfigError(
      'kubernetes.kubeconfig is set: in the cluster leave it unset, so the worker uses the in-cluster API with its service account',
    );
  }

  const dns: EgressDestination = { kind: 'dns', why: 'cluster DNS (CoreDNS)' };
  const temporal = temporalDestination(triage.temporal.address, 'temporal.address');
  const services = Object.values(triage.services);

  const worker: EgressDestination[] = [
    dns,
    temporal,
    {
      kind: 'service',
      ...BROKER_SERVICE,
      pods: { labels: podLabels('broker'), port: broker.listen.port },
      why: `credential broker (${triage.broker.url})`,
    },
  ];
  if (services.some((s) => usesSurface(s, 'kubernetes'))) {
    worker.push({ kind: 'service', ...KUBERNETES_API_SERVICE, why: 'Kubernetes API (in-cluster, view role)' });
  }
  const regions = cloudWatchRegions(triage);
  if (regions.length > 0) {
    for (const { cidr, port } of POD_IDENTITY_AGENT)
      worker.push({ kind: 'cidr', cidr, port, why: 'EKS Pod Identity Agent (AWS credentials)' });
    for (const region of regions) {
      const endpoints = awsEndpoints(region);
      worker.push(hostDestination(endpoints.cloudwatch, 443, `AWS CloudWatch ${region}`));
      worker.push(hostDestination(endpoints.sts, 443, `AWS STS ${region} (GetCallerIdentity)`));
    }
  }

  const brokerPod: EgressDestination[] = [dns];
  // Without a temporal section the broker refuses every write and never asks Temporal.
  if (broker.temporal) {
    const { address } = broker.temporal;
    brokerPod.push({
      ...temporalDestination(address, "broker.yaml's temporal.address"),
      why: `Temporal frontend (${address}): the approval query before a write`,
    });
  }
  brokerPod.push({ kind: 'service', ...KUBERNETES_API_SERVICE, why: 'Kubernetes API (TokenReview of each caller)' });
  brokerPod.push(...brokerDestinations(broker));

  const gateway: EgressDestination[] = [dns, temporal];
  if (triage.gateway?.slackSigningSecretFile) {
    gateway.push({ kind: 'host', host: SLACK_RESPONSE_URL_HOST, port: 443, why: 'Slack response_url (replies to button clicks)' });
  }
  return { worker, broker: brokerPod, gateway };
}

/** One destination per origin the broker may connect to, named after the providers that use it. */
function brokerDestinations(broker: Pick<BrokerConfig, 'providers'>): EgressDestination[] {
  const users = new Map<string, string[]>();
  const note = (origin: string, what: string) => users.set(origin, [...(users.get(origin) ?? []), what]);
  for (const [name, upstream] of Object.entries(upstreamsOf(broker)) as [ProviderName, { origin: string }][])
    note(upstream.origin, `${name} API`);
  if (broker.providers.pagerduty) note(new URL(broker.providers.pagerduty.tokenUrl).origin, 'pagerduty OAuth token');

  return [...allowedOrigins(broker)].sort().map((origin) => {
    const url = new URL(origin);
    if (LOOPBACK.test(bare(url.hostname))) {
      throw new EgressConfigError(
        `broker upstream ${origin} is a loopback address (the sandbox's emulators); a cluster's broker.yaml must name the real APIs`,
      );
    }
    return hostDestination(url.hostname, defaultPort(url), (users.get(origin) ?? ['upstream']).join(', '));
  });
}

/**
 * The policies let the worker pods reach the broker's Service and nothing else of it, and let the broker
 * reach the in-cluster API for its TokenReviews: a broker on loopback, a broker.url elsewhere or a
 * kubeconfig for the reviews would each leave the broker unreachable or unable to check its callers.
 */
function checkBroker(broker: Pick<BrokerConfig, 'listen' | 'callers'>, triage: TriageConfig): void {
  const service = `http://${BROKER_SERVICE.name}.${BROKER_SERVICE.namespace}.svc.cluster.local:${broker.listen.port}`;
  if (LOOPBACK.test(bare(broker.listen.host))) {
    throw new EgressConfigError(
      `broker.yaml listen.host ${broker.listen.host} is a loopback address: the broker runs in its own pod, so it must listen on 0.0.0.0 (with a callers section) for the worker pods to reach it`,
    );
  }
  if (broker.callers?.kubeconfig) {
    throw new EgressConfigError(
      'broker.yaml callers.kubeconfig is set: in the cluster leave it unset, so the broker sends its TokenReviews to the in-cluster API with its own service account',
    );
  }
  const url = new URL(triage.broker.url);
  const named = CLUSTER_SERVICE.exec(bare(url.hostname));
  if (named?.[1] !== BROKER_SERVICE.name || named[3] !== BROKER_SERVICE.namespace) {
    throw new EgressConfigError(
      `broker.url ${triage.broker.url} must name the broker's Service (${service}); the worker pod's policy allows no other way to the broker`,
    );
  }
  if (defaultPort(url) !== broker.listen.port) {
    throw new EgressConfigError(`broker.url ${triage.broker.url} does not use the broker's listen port ${broker.listen.port}`);
  }
}

/** Every destination as one comparable string: `host:443`, `cidr:80`, `service ns/name`, `dns`. */
export function destinationKey(d: EgressDestination): string {
  switch (d.kind) {
    case 'dns':
      return 'dns';
    case 'host':
      return `${d.host}:${d.port}`;
    case 'cidr':
      return `${d.cidr}:${d.port}`;
    case 'service':
      return `service ${d.namespace}/${d.name}`;
  }
}

// ---------------------------------------------------------------------------
// Calico rendering and the schema it must satisfy.
//
// The schema is written from Calico's documented API (projectcalico.org/v3
// NetworkPolicy, Rule and EntityRule in github.com/projectcalico/api
// pkg/apis/projectcalico/v3, and the Tigera "DNS policy" page for the Calico
// Enterprise/Cloud `domains` field and `tier`), with the documented cross-field
// rules: ports need protocol TCP or UDP; `services` is egress-only and cannot
// be combined with selector, notSelector, ports, notPorts, nets or notNets;
// `domains` is only for egress Allow rules.

const PORT = z.union([z.number().int().min(1).max(65535), z.string().regex(/^(\d{1,5}(:\d{1,5})?|[a-z][a-z0-9-]{0,14})$/)]);
const PROTOCOL = z.union([z.enum(['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite']), z.number().int().min(1).max(255)]);
const CIDR = z.string().refine((v) => {
  const [ip, bits, ...rest] = v.split('/');
  const family = isIP(ip ?? '');
  if (rest.length > 0 || family === 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, 'must be an IP address or CIDR');
const DOMAIN = z
  .string()
  .regex(
    /^(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?))*$/,
    'must be a DNS name (a "*" may replace one label)',
  );
const ICMP = z.strictObject({ type: z.number().int().min(0).max(254).optional(), code: z.number().int().min(0).max(255).optional() });

const entityRuleSchema = z
  .strictObject({
    nets: z.array(CIDR).optional(),
    notNets: z.array(CIDR).optional(),
    /** Calico Enterprise / Calico Cloud only. */
    domains: z.array(DOMAIN).min(1).optional(),
    selector: z.string().optional(),
    notSelector: z.string().optional(),
    namespaceSelector: z.string().optional(),
    services: z.strictObject({ name: z.string().min(1).optional(), namespace: z.string().min(1).optional() }).optional(),
    ports: z.array(PORT).optional(),
    notPorts: z.array(PORT).optional(),
    serviceAccounts: z.strictObject({ names: z.array(z.string().min(1)).optional(), selector: z.string().optional() }).optional(),
  })
  .refine(
    (e) =>
      !e.services || ['selector', 'notSelector', 'ports', 'notPorts', 'nets', 'notNets'].every((k) => e[k as keyof typeof e] === undefined),
    {
      message: 'services cannot be combined with selector, notSelector, ports, notPorts, nets or notNets',
    },
  );

const ruleSchema = z
  .strictObject({
    action: z.enum(['Allow', 'Deny', 'Log', 'Pass']),
    ipVersion: z.union([z.literal(4), z.literal(6)]).optional(),
    protocol: PROTOCOL.optional(),
    notProtocol: PROTOCOL.optional(),
    icmp: ICMP.optional(),
    notICMP: ICMP.optional(),
    source: entityRuleSchema.optional(),
    destination: entityRuleSchema.optional(),
    http: z
      .strictObject({
        methods: z.array(z.string()).optional(),
        paths: z.array(z.strictObject({ exact: z.string().optional(), prefix: z.string().optional() })).optional(),
      })
      .optional(),
    metadata: z.strictObject({ annotations: z.record(z.string(), z.string()).optional() }).optional(),
  })
  .refine((r) => ![r.source, r.destination].some((e) => e?.ports || e?.notPorts) || r.protocol === 'TCP' || r.protocol === 'UDP', {
    message: 'ports and notPorts need protocol TCP or UDP',
  })
  .refine((r) => !r.source?.services, { message: 'services is only valid in an egress destination' })
  .refine((r) => !r.source?.domains && (!r.destination?.domains || r.action === 'Allow'), {
    message: 'domains is only valid in the destination of an Allow rule',
  })
  .refine(
    (r) =>
      r.ipVersion === undefined ||
      [...(r.destination?.nets ?? []), ...(r.source?.nets ?? [])].every((n) => isIP(n.split('/')[0]!) === r.ipVersion),
    {
      message: 'nets must match ipVersion',
    },
  );

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const calicoNetworkPolicySchema = z
  .strictObject({
    apiVersion: z.literal('projectcalico.org/v3'),
    kind: z.literal('NetworkPolicy'),
    metadata: z.looseObject({
      name: z.string().regex(K8S_NAME),
      namespace: z.string().regex(K8S_NAME).optional(),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
    spec: z.strictObject({
      order: z.number().optional(),
      /** Calico Enterprise / Calico Cloud only; the default tier when absent. */
      tier: z.string().optional(),
      selector: z.string().optional(),
      serviceAccountSelector: z.string().optional(),
      types: z
        .array(z.enum(['Ingress', 'Egress']))
        .min(1)
        .max(2)
        .optional(),
      ingress: z.array(ruleSchema).optional(),
      egress: z.array(ruleSchema).optional(),
    }),
  })
  .refine((p) => !p.spec.ingress?.some((r) => r.destination?.services), { message: 'services is only valid in egress rules' })
  .refine((p) => !p.spec.ingress?.some((r) => r.destination?.domains), { message: 'domains is only valid in egress rules' });

export type CalicoNetworkPolicy = z.infer<typeof calicoNetworkPolicySchema>;
type CalicoRule = z.infer<typeof ruleSchema>;

const PURPOSE = 'keyless-triage/purpose';

function calicoRules(d: EgressDestination): CalicoRule[] {
  const metadata = { annotations: { [PURPOSE]: d.why } };
  switch (d.kind) {
    case 'dns':
      return (['UDP', 'TCP'] as const).map((protocol) => ({
        action: 'Allow',
        protocol,
        destination: { selector: CLUSTER_DNS.selector, namespaceSelector: CLUSTER_DNS.namespaceSelector, ports: [CLUSTER_DNS.port] },
        metadata,
      }));
    case 'host':
      return [{ action: 'Allow', protocol: 'TCP', destination: { domains: [d.host], ports: [d.port] }, metadata }];
    case 'cidr':
      return [
        {
          action: 'Allow',
          protocol: 'TCP',
          ipVersion: isIP(d.cidr.split('/')[0]!) as 4 | 6,
          destination: { nets: [d.cidr], ports: [d.port] },
          metadata,
        },
      ];
    case 'service':
      // The Service's endpoints and ports come from the Service itself.
      return [{ action: 'Allow', protocol: 'TCP', destination: { services: { name: d.name, namespace: d.namespace } }, metadata }];
  }
}

export function calicoPolicy(component: Component, destinations: EgressDestination[]): CalicoNetworkPolicy {
  const policy: CalicoNetworkPolicy = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: {
      name: `keyless-triage-${component}-egress`,
      namespace: DEPLOY_NAMESPACE,
      labels: podLabels(component),
    },
    spec: {
      // Before the Kubernetes NetworkPolicies of the namespace (Calico orders those at 1000).
      order: 100,
      selector: `${APP_LABEL} == '${APP_NAME}' && ${COMPONENT_LABEL} == '${component}'`,
      types: ['Egress'],
      egress: destinations.flatMap(calicoRules),
    },
  };
  // A renderer bug must not produce a policy Calico rejects, or one that allows more than it says.
  return calicoNetworkPolicySchema.parse(policy);
}

export function calicoPolicies(plan: EgressPlan): CalicoNetworkPolicy[] {
  return COMPONENTS.map((component) => calicoPolicy(component, plan[component]));
}

/** The command that re-renders the file, as the header shows it. */
export interface RenderSource {
  brokerConfig: string;
  triageConfig: string;
}

export function renderEgressPolicyYaml(plan: EgressPlan, source: RenderSource): string {
  const command = `npx triage egress --broker-config ${source.brokerConfig} --config ${source.triageConfig}`;
  const header = [
    '# GENERATED FILE: do not edit. Rendered from the broker and worker configuration by',
    `#   ${command} --out <this file>`,
    '# and checked in CI by the same command with --check instead of --out',
    '# (test/deploy/egress.test.ts), so a configuration change without a re-render fails.',
    '#',
    '# Egress allowlists, one Calico NetworkPolicy per pod kind (worker, broker, gateway).',
    '# With default-deny in network-policies.yaml, a pod reaches only what a rule below',
    '# allows. Only the broker pods reach the SaaS hosts (its upstreams: the same list its',
    "# own dispatcher enforces); the worker pods reach the broker's Service instead, and",
    '# alone reach the EKS Pod Identity Agent and the AWS regional endpoints of the regions',
    '# the services read CloudWatch in. Each rule says why in its keyless-triage/purpose',
    '# annotation.',
    '#',
    '# `destination.domains` (DNS policy) is a Calico Enterprise / Calico Cloud feature.',
    '# Calico Open Source does not have the field: do not apply this file there (a',
    '# server that drops an unknown field would turn a host rule into "any host on',
    '# port 443"). On open-source Cilium, enable deploy/components/cilium-egress instead',
    '# (the same allowlist as CiliumNetworkPolicies with toFQDNs; it removes these);',
    '# otherwise an egress firewall that filters on TLS SNI (for example AWS Network',
    '# Firewall domain lists), with the Kubernetes NetworkPolicies of',
    '# network-policies.yaml kept for DNS and ingress.',
  ].join('\n');
  const documents = calicoPolicies(plan).map((p) => stringify(p, { lineWidth: 0 }));
  return `${header}\n${documents.map((d) => `---\n${d}`).join('')}`;
}

/** A line diff (longest common subsequence): `-` lines only in `before`, `+` lines only in `after`. */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ op: '-', line: a[i++]! });
    } else {
      ops.push({ op: '+', line: b[j++]! });
    }
  }
  const changed = (k: number) => ops.slice(Math.max(0, k - context), k + context + 1).some((n) => n.op !== ' ');
  const out: string[] = [];
  let skipped = false;
  ops.forEach((o, k) => {
    if (!changed(k)) {
      skipped = true;
      return;
    }
    if (skipped) out.push('  …');
    skipped = false;
    out.push(`${o.op} ${o.line}`);
  });
  if (skipped) out.push('  …');
  return out.join('\n');
}
