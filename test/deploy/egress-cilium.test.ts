// The egress allowlist rendered for Cilium (cli/egress-cilium.ts, `triage
// egress --cni cilium`): the committed deploy/components/cilium-egress/
// egress-policy.yaml must be what the example overlay's configuration renders
// to, each kind of destination must become the rule Cilium documents for it,
// and the Cilium render must allow exactly what the Calico render allows: the
// SaaS hosts to the broker pods only, the broker's pods on its port to the
// worker pods.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseBrokerConfig } from '../../broker/config.js';
import {
  CILIUM_CLUSTER_DNS,
  ciliumNetworkPolicySchema,
  ciliumPolicy,
  renderCiliumEgressPolicyYaml,
  type CiliumNetworkPolicy,
} from '../../cli/egress-cilium.js';
import { checkEgressFile, EgressDriftError, egressCommand, renderEgressFromFiles } from '../../cli/egress-command.js';
import { BROKER_SERVICE, destinationKey, egressPlan, podLabels, type EgressDestination } from '../../cli/egress-policy.js';
import { parseConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';

const EXAMPLE = join(PROJECT_ROOT, 'deploy/overlays/example');
const BROKER_FILE = join(EXAMPLE, 'broker.yaml');
const TRIAGE_FILE = join(EXAMPLE, 'triage.yaml');
const COMPONENT = join(PROJECT_ROOT, 'deploy/components/cilium-egress');
const COMMITTED = join(COMPONENT, 'egress-policy.yaml');

const plan = () =>
  egressPlan(
    parseBrokerConfig(parseYaml(readFileSync(BROKER_FILE, 'utf8')), '/etc/broker'),
    parseConfig(parseYaml(readFileSync(TRIAGE_FILE, 'utf8')), { env: {} }),
  );

function parsed(yaml: string): CiliumNetworkPolicy[] {
  return parseAllDocuments(yaml).map((d) => ciliumNetworkPolicySchema.parse(d.toJS()));
}

/** The broker's pods, on the port broker.yaml has it listen on: how the worker's rule to the broker's Service reads in Cilium. */
const brokerPods = () => ({
  matchLabels: { 'k8s:io.kubernetes.pod.namespace': BROKER_SERVICE.namespace, ...podLabels('broker') },
  port: String(parseBrokerConfig(parseYaml(readFileSync(BROKER_FILE, 'utf8')), '/etc/broker').listen.port),
});

/** What a Cilium policy lets a pod reach, in destinationKey's terms, read back from the object. */
function reach(policy: CiliumNetworkPolicy): string[] {
  return policy.spec.egress.flatMap((rule) => {
    const port = rule.toPorts?.[0]?.ports[0]?.port;
    if (rule.toFQDNs) return rule.toFQDNs.map((f) => ('matchName' in f ? `${f.matchName}:${port}` : `PATTERN ${f.matchPattern}`));
    if (rule.toCIDR) return rule.toCIDR.map((c) => `${c}:${port}`);
    if (rule.toServices) return rule.toServices.map((s) => `service ${s.k8sService.namespace}/${s.k8sService.serviceName}`);
    if (rule.toEntities?.includes('kube-apiserver')) return ['service default/kubernetes'];
    if (rule.toEndpoints && rule.toPorts?.[0]?.rules?.dns) return ['dns'];
    const broker = brokerPods();
    if (JSON.stringify(rule.toEndpoints) === JSON.stringify([{ matchLabels: broker.matchLabels }]) && port === broker.port)
      return [`service ${BROKER_SERVICE.namespace}/${BROKER_SERVICE.name}`];
    return [`UNEXPECTED ${JSON.stringify(rule)}`];
  });
}

describe('the committed deploy/components/cilium-egress/egress-policy.yaml', () => {
  test('is what the example configuration renders to (triage egress --cni cilium --check)', () => {
    const rendered = renderEgressFromFiles(BROKER_FILE, TRIAGE_FILE, 'cilium');
    const rerender = `npx triage egress --cni cilium --broker-config ${relative(PROJECT_ROOT, BROKER_FILE)} --config ${relative(PROJECT_ROOT, TRIAGE_FILE)} --out ${relative(PROJECT_ROOT, COMMITTED)}`;
    expect(() => checkEgressFile(COMMITTED, rendered, rerender)).not.toThrow();
  });

  test('says it is generated and names the command that re-renders it', () => {
    const text = readFileSync(COMMITTED, 'utf8');
    expect(text).toMatch(/^# GENERATED FILE/);
    expect(text).toMatch(
      /^# {3}npx triage egress --cni cilium --broker-config deploy\/overlays\/example\/broker\.yaml --config deploy\/overlays\/example\/triage\.yaml --out <this file>$/m,
    );
  });

  test('allows, per pod, exactly the destinations of the plan (the ones the Calico policy allows)', () => {
    const policies = parsed(readFileSync(COMMITTED, 'utf8'));
    const p = plan();
    expect(policies.map((x) => x.metadata.name)).toEqual([
      'keyless-triage-worker-egress',
      'keyless-triage-broker-egress',
      'keyless-triage-gateway-egress',
    ]);
    expect(reach(policies[0]!)).toEqual(p.worker.map(destinationKey));
    expect(reach(policies[1]!)).toEqual(p.broker.map(destinationKey));
    expect(reach(policies[2]!)).toEqual(p.gateway.map(destinationKey));
  });

  test('no SaaS host is open to the worker pods, and no AWS endpoint to the broker pods', () => {
    const [worker, broker] = parsed(readFileSync(COMMITTED, 'utf8'));
    const fqdns = (policy: CiliumNetworkPolicy) =>
      policy.spec.egress.flatMap((r) => r.toFQDNs ?? []).map((f) => ('matchName' in f ? f.matchName : f.matchPattern));
    expect(fqdns(worker!).filter((h) => !h.endsWith('.amazonaws.com'))).toEqual([]);
    expect(fqdns(broker!).filter((h) => h.endsWith('.amazonaws.com'))).toEqual([]);
    expect(broker!.spec.egress.filter((r) => r.toCIDR)).toEqual([]);
    expect(fqdns(broker!).sort()).toEqual([
      'api.datadoghq.com',
      'api.github.com',
      'api.pagerduty.com',
      'identity.pagerduty.com',
      'slack.com',
    ]);
  });

  test('each rule is preceded by a comment saying why it is there', () => {
    const text = readFileSync(COMMITTED, 'utf8');
    for (const d of [...plan().worker, ...plan().broker, ...plan().gateway]) expect(text).toContain(`    # ${d.why}\n    - to`);
  });

  test('the component adds it and deletes the Calico policies', () => {
    const k = parseYaml(readFileSync(join(COMPONENT, 'kustomization.yaml'), 'utf8')) as Record<string, any>;
    expect(k.kind).toBe('Component');
    expect(k.resources).toEqual(['egress-policy.yaml']);
    expect(k.patches).toHaveLength(1);
    expect(k.patches[0].target).toMatchObject({ group: 'projectcalico.org', kind: 'NetworkPolicy' });
    expect(k.patches[0].patch).toContain('$patch: delete');
  });
});

describe('ciliumPolicy: one rule per destination, of the kind Cilium documents for it', () => {
  const rule = (d: EgressDestination) => ciliumPolicy('worker', [d]).spec.egress[0];

  test.each<[string, EgressDestination, unknown]>([
    [
      'dns: the kube-dns pods in kube-system, UDP and TCP 53, through the DNS proxy',
      { kind: 'dns', why: 'dns' },
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'UDP' },
              { port: '53', protocol: 'TCP' },
            ],
            rules: { dns: [{ matchPattern: '*' }] },
          },
        ],
      },
    ],
    [
      'host: toFQDNs matchName on its TCP port',
      { kind: 'host', host: 'api.github.com', port: 8443, why: 'x' },
      { toFQDNs: [{ matchName: 'api.github.com' }], toPorts: [{ ports: [{ port: '8443', protocol: 'TCP' }] }] },
    ],
    [
      'cidr (IPv4): toCIDR on its TCP port',
      { kind: 'cidr', cidr: '169.254.170.23/32', port: 80, why: 'x' },
      { toCIDR: ['169.254.170.23/32'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] },
    ],
    [
      'cidr (IPv6): toCIDR on its TCP port',
      { kind: 'cidr', cidr: 'fd00:ec2::23/128', port: 80, why: 'x' },
      { toCIDR: ['fd00:ec2::23/128'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] },
    ],
    [
      'a Service: toServices k8sService',
      { kind: 'service', name: 'temporal-frontend', namespace: 'temporal', why: 'x' },
      { toServices: [{ k8sService: { serviceName: 'temporal-frontend', namespace: 'temporal' } }] },
    ],
    [
      'the API server (default/kubernetes): the kube-apiserver entity, as Cilium advises',
      { kind: 'service', name: 'kubernetes', namespace: 'default', why: 'x' },
      { toEntities: ['kube-apiserver'] },
    ],
    [
      "a Service of this deployment's, with its pods known: those pods, in its namespace, on their port (toServices takes no port)",
      {
        kind: 'service',
        name: 'keyless-triage-broker',
        namespace: 'keyless-triage',
        pods: { labels: { 'app.kubernetes.io/name': 'keyless-triage', 'app.kubernetes.io/component': 'broker' }, port: 8790 },
        why: 'x',
      },
      {
        toEndpoints: [
          {
            matchLabels: {
              'k8s:io.kubernetes.pod.namespace': 'keyless-triage',
              'app.kubernetes.io/name': 'keyless-triage',
              'app.kubernetes.io/component': 'broker',
            },
          },
        ],
        toPorts: [{ ports: [{ port: '8790', protocol: 'TCP' }] }],
      },
    ],
  ])('%s', (_name, destination, expected) => {
    expect(rule(destination)).toEqual(expected);
  });

  test('selects the pods the Calico policy selects, by the same labels, in the deployment namespace', () => {
    for (const component of ['worker', 'broker', 'gateway'] as const) {
      const p = ciliumPolicy(component, [{ kind: 'dns', why: 'dns' }]);
      expect(p.metadata).toMatchObject({ name: `keyless-triage-${component}-egress`, namespace: 'keyless-triage' });
      expect(p.spec.endpointSelector).toEqual({
        matchLabels: { 'app.kubernetes.io/name': 'keyless-triage', 'app.kubernetes.io/component': component },
      });
    }
  });

  test('the DNS selector is CoreDNS in kube-system (a namespaced policy selects its own namespace otherwise)', () => {
    expect(CILIUM_CLUSTER_DNS.matchLabels['k8s:io.kubernetes.pod.namespace']).toBe('kube-system');
  });

  test('the render is one policy per pod, worker first', () => {
    const policies = parsed(renderCiliumEgressPolicyYaml(plan(), { brokerConfig: 'b.yaml', triageConfig: 't.yaml' }));
    expect(policies.map((p) => p.spec.endpointSelector.matchLabels['app.kubernetes.io/component'])).toEqual([
      'worker',
      'broker',
      'gateway',
    ]);
  });
});

describe('the Cilium schema refuses what Cilium documents as invalid', () => {
  const base = () => ciliumPolicy('worker', [{ kind: 'host', host: 'api.github.com', port: 443, why: 'x' }]) as Record<string, any>;

  test.each<[string, (p: Record<string, any>) => void]>([
    ['toFQDNs together with another L3 selector', (p) => (p.spec.egress[0].toCIDR = ['10.0.0.0/8'])],
    ['a rule with no L3 selector (it would allow every peer)', (p) => delete p.spec.egress[0].toFQDNs],
    ['a numeric port (ports are strings)', (p) => (p.spec.egress[0].toPorts[0].ports[0].port = 443)],
    ['an unknown protocol', (p) => (p.spec.egress[0].toPorts[0].ports[0].protocol = 'ICMP')],
    ['an unknown entity', (p) => (p.spec.egress = [{ toEntities: ['apiserver'] }])],
    ['an unknown field', (p) => (p.spec.egress[0].toFQDN = [{ matchName: 'x' }])],
    ['a DNS rule outside the rule to the cluster DNS', (p) => (p.spec.egress[0].toPorts[0].rules = { dns: [{ matchPattern: '*' }] })],
    ['a CIDR without a prefix length', (p) => (p.spec.egress = [{ toCIDR: ['10.0.0.1'] }])],
  ])('%s', (_name, mutate) => {
    const p = base();
    mutate(p);
    expect(ciliumNetworkPolicySchema.safeParse(p).success).toBe(false);
  });
});

describe('triage egress --cni', () => {
  let dir: string;
  let out: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-cilium-'));
    out = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(`${args.join(' ')}\n`));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    egressCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined })
      .parseAsync(args, { from: 'user' });

  test('calico is the default; cilium renders the CiliumNetworkPolicies, and --check compares with them', async () => {
    await run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE);
    expect(out.join('')).toBe(renderEgressFromFiles(BROKER_FILE, TRIAGE_FILE, 'calico'));
    const file = join(dir, 'egress-policy.yaml');
    await run('--cni', 'cilium', '--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--out', file);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(COMMITTED, 'utf8'));
    await expect(run('--cni', 'cilium', '--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--check', file)).resolves.toBeDefined();
  });

  test('--check of the Cilium file against the Calico render fails, with the command for the CNI asked for', async () => {
    const error = await run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--check', COMMITTED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgressDriftError);
    const stale = join(dir, 'stale.yaml');
    writeFileSync(stale, 'old\n');
    const cilium = await run('--cni', 'cilium', '--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--check', stale).catch(
      (e: unknown) => e,
    );
    expect((cilium as Error).message).toContain('Re-render it with: npx triage egress --cni cilium --broker-config');
  });

  test('an unknown CNI is refused with the choices', async () => {
    await expect(run('--cni', 'flannel', '--broker-config', BROKER_FILE, '--config', TRIAGE_FILE)).rejects.toThrow(
      /'flannel' is invalid\. Allowed choices are calico, cilium/,
    );
    expect(() => renderEgressFromFiles(BROKER_FILE, TRIAGE_FILE, 'flannel' as 'calico')).toThrow(
      /unknown CNI flannel: use one of calico, cilium/,
    );
  });
});
