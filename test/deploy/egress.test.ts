// The egress allowlist rendered from configuration (cli/egress-policy.ts,
// `triage egress`): the committed deploy/base/egress-policy.yaml must be what
// the example overlay's configuration renders to (so a configuration change
// without a re-render fails here), the rendered hosts must be exactly the
// configured surfaces, the broker's own upstream allowlist and the broker
// pods' policy must name the same hosts however the configuration changes,
// and no SaaS host may ever be open to the worker pods, nor AWS to the broker.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseBrokerConfig, type BrokerConfig } from '../../broker/config.js';
import {
  BROKER_SERVICE,
  calicoNetworkPolicySchema,
  destinationKey,
  EgressConfigError,
  egressPlan,
  lineDiff,
  renderEgressPolicyYaml,
  type CalicoNetworkPolicy,
} from '../../cli/egress-policy.js';
import { allowedOrigins } from '../../broker/upstream.js';
import { parseConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { checkEgressFile, EgressDriftError, egressCommand, renderEgressFromFiles } from '../../cli/egress-command.js';

const EXAMPLE = join(PROJECT_ROOT, 'deploy/overlays/example');
const BROKER_FILE = join(EXAMPLE, 'broker.yaml');
const TRIAGE_FILE = join(EXAMPLE, 'triage.yaml');
const COMMITTED = join(PROJECT_ROOT, 'deploy/base/egress-policy.yaml');
const SOURCE = { brokerConfig: 'broker.yaml', triageConfig: 'triage.yaml' };

type Doc = Record<string, any>;
const brokerDoc = (): Doc => parseYaml(readFileSync(BROKER_FILE, 'utf8'));
const triageDoc = (): Doc => parseYaml(readFileSync(TRIAGE_FILE, 'utf8'));
const brokerOf = (doc: Doc): BrokerConfig => parseBrokerConfig(doc, '/etc/broker');
const triageOf = (doc: Doc): TriageConfig => parseConfig(doc, { env: {} });

function render(b: Doc = brokerDoc(), t: Doc = triageDoc()): CalicoNetworkPolicy[] {
  const yaml = renderEgressPolicyYaml(egressPlan(brokerOf(b), triageOf(t)), SOURCE);
  return parseAllDocuments(yaml).map((d) => calicoNetworkPolicySchema.parse(d.toJS()));
}

/** What a policy lets a pod reach, one string per destination, read back from the YAML. */
function reach(policy: CalicoNetworkPolicy): string[] {
  return (policy.spec.egress ?? []).flatMap((rule) => {
    const d = rule.destination ?? {};
    const ports = (d.ports ?? []).join(',');
    if (d.domains) return d.domains.map((h) => `${h}:${ports}`);
    if (d.nets) return d.nets.map((n) => `${n}:${ports}`);
    if (d.services) return [`service ${d.services.namespace}/${d.services.name}`];
    if (d.selector === "k8s-app == 'kube-dns'") return [`dns/${String(rule.protocol)}`];
    return [`UNEXPECTED ${JSON.stringify(rule)}`];
  });
}

const policyOf = (component: string) => (policies: CalicoNetworkPolicy[]) =>
  policies.find((p) => p.metadata.name === `keyless-triage-${component}-egress`)!;
const workerPolicy = policyOf('worker');
const brokerPolicy = policyOf('broker');
const gatewayPolicy = policyOf('gateway');

/** The broker's own allowlist, as host:port. */
function brokerHosts(b: Doc): string[] {
  return [...allowedOrigins(brokerOf(b))].map((o) => new URL(o)).map((u) => `${u.hostname}:${u.port || 443}`);
}

/** The host names a policy allows (domains rules), as host:port: the SaaS hosts for the broker, AWS for the worker. */
const hostsOf = (policy: CalicoNetworkPolicy) => reach(policy).filter((h) => /^[a-z][a-z0-9.-]*:\d+$/.test(h));

const BROKER = `service ${BROKER_SERVICE.namespace}/${BROKER_SERVICE.name}`;
const AWS = /amazonaws|169\.254\.170\.23|fd00:ec2::23/;

/** What must hold whatever the configuration: the worker reaches no broker upstream, the broker no AWS. */
function expectSeparated(b: Doc, t: Doc): void {
  const policies = render(b, t);
  const upstreams = brokerHosts(b);
  expect(reach(workerPolicy(policies)).filter((h) => upstreams.includes(h))).toEqual([]);
  expect(reach(brokerPolicy(policies)).filter((h) => AWS.test(h))).toEqual([]);
  expect(hostsOf(brokerPolicy(policies)).sort()).toEqual(upstreams.sort());
}

describe('the committed deploy/base/egress-policy.yaml', () => {
  /** The two files the header says it was rendered from (the example overlay's here; an installation's own overlay in a fork). */
  function sources(): { broker: string; triage: string } {
    const m = /^# {3}npx triage egress --broker-config (\S+) --config (\S+) --out <this file>$/m.exec(readFileSync(COMMITTED, 'utf8'));
    if (!m)
      throw new Error(
        `${COMMITTED} does not name the files it was rendered from in its header; re-render it with npx triage egress … --out ${COMMITTED}`,
      );
    return { broker: join(PROJECT_ROOT, m[1]!), triage: join(PROJECT_ROOT, m[2]!) };
  }

  test('is what the configuration it names renders to (triage egress --check)', () => {
    const { broker, triage } = sources();
    const rendered = renderEgressFromFiles(broker, triage);
    // The comparison `--check` makes, so a failure shows the diff and the command to run.
    const rerender = `npx triage egress --broker-config ${relative(PROJECT_ROOT, broker)} --config ${relative(PROJECT_ROOT, triage)} --out deploy/base/egress-policy.yaml`;
    expect(() => checkEgressFile(COMMITTED, rendered, rerender)).not.toThrow();
  });

  test('those are the files an overlay deploys as its ConfigMaps (here the example overlay)', () => {
    const { broker, triage } = sources();
    expect(dirname(broker)).toBe(dirname(triage));
    expect(relative(join(PROJECT_ROOT, 'deploy/overlays'), dirname(broker))).toMatch(/^[^./][^/]*$/);
    const kustomization = parseYaml(readFileSync(join(dirname(broker), 'kustomization.yaml'), 'utf8')) as {
      configMapGenerator: { name: string; files: string[] }[];
    };
    const generated = Object.fromEntries(kustomization.configMapGenerator.map((g) => [g.name, g.files]));
    expect(generated).toEqual({ 'keyless-triage-config': [basename(triage)], 'keyless-triage-broker-config': [basename(broker)] });
  });

  test('says it is generated and how to re-render it, and warns that it needs Calico Enterprise/Cloud', () => {
    const text = readFileSync(COMMITTED, 'utf8');
    expect(text).toMatch(/^# GENERATED FILE/);
    expect(text).toContain('Calico Enterprise / Calico Cloud');
  });
});

describe('the rendered hosts are the configured surfaces and nothing else', () => {
  test('the example: the worker reaches Temporal, the broker, the Kubernetes API, the Pod Identity Agent, CloudWatch and STS in two regions, DNS', () => {
    const policies = render();
    expect(reach(workerPolicy(policies)).sort()).toEqual(
      [
        'dns/UDP',
        'dns/TCP',
        'service temporal/temporal-frontend',
        'service keyless-triage/keyless-triage-broker',
        'service default/kubernetes',
        '169.254.170.23/32:80',
        'fd00:ec2::23/128:80',
        'monitoring.eu-west-1.amazonaws.com:443',
        'sts.eu-west-1.amazonaws.com:443',
        'monitoring.us-east-1.amazonaws.com:443',
        'sts.us-east-1.amazonaws.com:443',
      ].sort(),
    );
    expect(reach(gatewayPolicy(policies)).sort()).toEqual(
      ['dns/TCP', 'dns/UDP', 'hooks.slack.com:443', 'service temporal/temporal-frontend'].sort(),
    );
  });

  test('the example: the broker reaches its SaaS upstreams, Temporal (approvals), the Kubernetes API (TokenReviews), DNS; no AWS', () => {
    expect(reach(brokerPolicy(render())).sort()).toEqual(
      [
        'dns/UDP',
        'dns/TCP',
        'service temporal/temporal-frontend',
        'service default/kubernetes',
        'api.github.com:443',
        'api.pagerduty.com:443',
        'identity.pagerduty.com:443',
        'api.datadoghq.com:443',
        'slack.com:443',
      ].sort(),
    );
  });

  test("the broker's upstream allowlist and the broker's policy name the same hosts; the worker's policy none of them", () => {
    expectSeparated(brokerDoc(), triageDoc());
  });

  test.each(['github', 'pagerduty', 'datadog', 'slack'])('removing the %s provider removes its hosts from both', (provider) => {
    const b = brokerDoc();
    const before = brokerHosts(b);
    delete b.providers[provider];
    const t = triageDoc();
    const after = hostsOf(brokerPolicy(render(b, t))).sort();
    expect(after).toEqual(brokerHosts(b).sort());
    const gone = before.filter((h) => !after.includes(h));
    expect(gone.length).toBeGreaterThan(0);
    if (provider === 'pagerduty') expect(gone.sort()).toEqual(['api.pagerduty.com:443', 'identity.pagerduty.com:443']);
    expectSeparated(b, t);
  });

  test('a changed upstream (another Datadog site, GitHub Enterprise on its own port) changes the broker policy with it', () => {
    const b = brokerDoc();
    b.providers.datadog.upstream = 'https://api.datadoghq.eu';
    b.providers.github.upstream = 'https://ghe.example.com:8443/api/v3';
    const t = triageDoc();
    const hosts = hostsOf(brokerPolicy(render(b, t)));
    expect(hosts).toEqual(expect.arrayContaining(['api.datadoghq.eu:443', 'ghe.example.com:8443']));
    expect(hosts).not.toEqual(expect.arrayContaining(['api.datadoghq.com:443']));
    expectSeparated(b, t);
  });

  test('the worker reaches the broker through its Service only, whatever the providers', () => {
    const b = brokerDoc();
    b.providers = {};
    for (const p of [render(), render(b)]) expect(reach(workerPolicy(p))).toContain(BROKER);
    for (const p of [brokerPolicy(render()), gatewayPolicy(render())]) expect(reach(p)).not.toContain(BROKER);
  });

  test('the broker reaches the Temporal of broker.yaml, and none without its temporal section (every write is then refused)', () => {
    const b = brokerDoc();
    b.temporal = {
      address: 'acme-prod.a1b2c.tmprl.cloud:7233',
      namespace: 'acme-prod.a1b2c',
      apiKeyFile: '/var/run/secrets/broker/temporal-api-key',
    };
    expect(reach(brokerPolicy(render(b)))).toContain('acme-prod.a1b2c.tmprl.cloud:7233');
    expect(reach(workerPolicy(render(b)))).not.toContain('acme-prod.a1b2c.tmprl.cloud:7233');
    delete b.temporal;
    expect(reach(brokerPolicy(render(b))).filter((h) => /temporal|7233/.test(h))).toEqual([]);
  });

  test('changing aws.region moves the CloudWatch and STS hosts of the services that use the default', () => {
    const t = triageDoc();
    t.aws.region = 'eu-central-1';
    const hosts = reach(workerPolicy(render(brokerDoc(), t)));
    expect(hosts).toEqual(
      expect.arrayContaining([
        'monitoring.eu-central-1.amazonaws.com:443',
        'sts.eu-central-1.amazonaws.com:443',
        'monitoring.us-east-1.amazonaws.com:443',
      ]),
    );
    expect(hosts.filter((h) => h.includes('eu-west-1'))).toEqual([]);
  });

  test('a service region in another partition gets that partition’s endpoints', () => {
    const t = triageDoc();
    t.services.PPAYMENTS.cloudwatch.region = 'cn-north-1';
    expect(reach(workerPolicy(render(brokerDoc(), t)))).toEqual(
      expect.arrayContaining(['monitoring.cn-north-1.amazonaws.com.cn:443', 'sts.cn-north-1.amazonaws.com.cn:443']),
    );
  });

  test('without CloudWatch anywhere there is no AWS host and no Pod Identity Agent', () => {
    const t = triageDoc();
    for (const s of Object.values<Doc>(t.services)) delete s.cloudwatch;
    const hosts = reach(workerPolicy(render(brokerDoc(), t)));
    expect(hosts.filter((h) => AWS.test(h))).toEqual([]);
  });

  test('a service that turns a surface off does not open it', () => {
    const t = triageDoc();
    for (const s of Object.values<Doc>(t.services)) s.surfaces = ['pagerduty', 'datadog'];
    const hosts = reach(workerPolicy(render(brokerDoc(), t)));
    expect(hosts).not.toContain('service default/kubernetes');
    expect(hosts.filter((h) => /amazonaws/.test(h))).toEqual([]);
    // The broker still reviews its callers' tokens.
    expect(reach(brokerPolicy(render(brokerDoc(), t)))).toContain('service default/kubernetes');
  });

  test('a Temporal frontend outside the cluster is allowed by name (Temporal Cloud) or address, on its port, for the worker and the gateway', () => {
    const t = triageDoc();
    t.temporal.address = 'acme-prod.a1b2c.tmprl.cloud:7233';
    t.temporal.namespace = 'acme-prod.a1b2c';
    t.temporal.apiKeyFile = '/var/run/secrets/temporal/api-key';
    const pods = (policies: CalicoNetworkPolicy[]) => [workerPolicy(policies), gatewayPolicy(policies)];
    for (const p of pods(render(brokerDoc(), t))) expect(reach(p)).toContain('acme-prod.a1b2c.tmprl.cloud:7233');
    t.temporal.address = 'eu-west-1.aws.api.temporal.io:7233';
    for (const p of pods(render(brokerDoc(), t))) expect(reach(p)).toContain('eu-west-1.aws.api.temporal.io:7233');
    t.temporal = { address: '10.20.30.40:7233' };
    for (const p of pods(render(brokerDoc(), t))) expect(reach(p)).toContain('10.20.30.40/32:7233');
  });

  test('the gateway reaches hooks.slack.com only when it serves Slack interactivity', () => {
    const t = triageDoc();
    delete t.gateway.slackSigningSecretFile;
    expect(reach(gatewayPolicy(render(brokerDoc(), t))).sort()).toEqual(['dns/TCP', 'dns/UDP', 'service temporal/temporal-frontend']);
  });

  test('every destination of the plan is rendered once, and nothing else is', () => {
    const plan = egressPlan(brokerOf(brokerDoc()), triageOf(triageDoc()));
    for (const [component, policy] of [
      ['worker', workerPolicy],
      ['broker', brokerPolicy],
      ['gateway', gatewayPolicy],
    ] as const) {
      const keys = plan[component].map(destinationKey);
      expect(new Set(keys).size).toBe(keys.length);
      // dns renders as two rules (UDP and TCP); everything else as one.
      expect(policy(render()).spec.egress).toHaveLength(keys.length + 1);
    }
    expect(render().map((p) => p.metadata.name)).toEqual([
      'keyless-triage-worker-egress',
      'keyless-triage-broker-egress',
      'keyless-triage-gateway-egress',
    ]);
  });
});

describe('sandbox settings are refused, since a policy rendered from them would be wrong', () => {
  test.each<[string, (b: Doc, t: Doc) => void, RegExp]>([
    ['a loopback broker upstream', (b) => (b.providers.slack.upstream = 'http://127.0.0.1:9999'), /loopback address .*sandbox's emulators/],
    ['a moto endpoint', (_b, t) => (t.aws.endpoint = 'http://127.0.0.1:5000'), /aws.endpoint is set/],
    ['a kubeconfig', (_b, t) => (t.kubernetes.kubeconfig = '/home/me/.kube/config'), /kubernetes.kubeconfig is set/],
    ['a loopback Temporal', (_b, t) => (t.temporal.address = '127.0.0.1:7233'), /temporal.address 127.0.0.1:7233 is a loopback address/],
    [
      'a broker URL on loopback (the sandbox)',
      (_b, t) => (t.broker.url = 'http://127.0.0.1:8790'),
      /broker.url http:\/\/127.0.0.1:8790 must name the broker's Service \(http:\/\/keyless-triage-broker.keyless-triage.svc.cluster.local:8790\)/,
    ],
    ['a broker URL elsewhere', (_b, t) => (t.broker.url = 'http://broker.example.com:8790'), /must name the broker's Service/],
    [
      'another Service of the same name',
      (_b, t) => (t.broker.url = 'http://keyless-triage-broker.default.svc:8790'),
      /must name the broker's Service/,
    ],
    [
      'a broker URL on another port',
      (_b, t) => (t.broker.url = 'http://keyless-triage-broker.keyless-triage.svc:9000'),
      /does not use the broker's listen port 8790/,
    ],
    [
      'a broker listening on loopback',
      (b) => {
        b.listen.host = '127.0.0.1';
        delete b.callers;
      },
      /listen.host 127.0.0.1 is a loopback address: the broker runs in its own pod/,
    ],
    ['a kubeconfig for the TokenReviews', (b) => (b.callers.kubeconfig = '/home/me/.kube/config'), /callers.kubeconfig is set/],
    [
      'a loopback Temporal in broker.yaml',
      (b) => (b.temporal.address = '127.0.0.1:7233'),
      /broker.yaml's temporal.address 127.0.0.1:7233 is a loopback address/,
    ],
  ])('%s', (_name, mutate, message) => {
    const b = brokerDoc();
    const t = triageDoc();
    mutate(b, t);
    expect(() => egressPlan(brokerOf(b), triageOf(t))).toThrow(EgressConfigError);
    expect(() => egressPlan(brokerOf(b), triageOf(t))).toThrow(message);
  });
});

describe('the Calico schema refuses what Calico documents as invalid', () => {
  const policy = (rule: Record<string, unknown>) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'n' },
    spec: { selector: 'all()', types: ['Egress'], egress: [rule] },
  });

  test.each<[string, Record<string, unknown>]>([
    [
      'services with ports',
      { action: 'Allow', protocol: 'TCP', destination: { services: { name: 'kubernetes', namespace: 'default' }, ports: [443] } },
    ],
    ['ports without TCP or UDP', { action: 'Allow', destination: { nets: ['10.0.0.0/8'], ports: [443] } }],
    ['domains in a Deny rule', { action: 'Deny', protocol: 'TCP', destination: { domains: ['example.com'], ports: [443] } }],
    [
      'a net of the wrong IP version',
      { action: 'Allow', ipVersion: 4, protocol: 'TCP', destination: { nets: ['fd00::1/128'], ports: [80] } },
    ],
    ['an unknown field', { action: 'Allow', protocol: 'TCP', destination: { domain: ['example.com'], ports: [443] } }],
    ['a bad CIDR', { action: 'Allow', protocol: 'TCP', destination: { nets: ['10.0.0.0/33'], ports: [443] } }],
  ])('%s', (_name, rule) => {
    expect(calicoNetworkPolicySchema.safeParse(policy(rule)).success).toBe(false);
  });

  test('and accepts the documented forms', () => {
    expect(
      calicoNetworkPolicySchema.safeParse(
        policy({ action: 'Allow', protocol: 'TCP', destination: { domains: ['*.example.com'], ports: [443] } }),
      ).success,
    ).toBe(true);
    expect(
      calicoNetworkPolicySchema.safeParse(
        policy({ action: 'Allow', destination: { services: { name: 'kubernetes', namespace: 'default' } } }),
      ).success,
    ).toBe(true);
  });
});

describe('triage egress', () => {
  let dir: string;
  let out: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-'));
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

  test('prints the policy, writes it with --out, and --check accepts what --out wrote', async () => {
    await run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE);
    expect(out.join('')).toBe(renderEgressFromFiles(BROKER_FILE, TRIAGE_FILE));
    const file = join(dir, 'egress-policy.yaml');
    await run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--out', file);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(COMMITTED, 'utf8'));
    await expect(run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--check', file)).resolves.toBeDefined();
  });

  test('--check fails with a diff and the command to re-render when the configuration changed', async () => {
    const b = brokerDoc();
    delete b.providers.datadog;
    const brokerFile = join(dir, 'broker.yaml');
    writeFileSync(brokerFile, JSON.stringify(b));
    const error = await run('--broker-config', brokerFile, '--config', TRIAGE_FILE, '--check', COMMITTED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgressDriftError);
    const message = (error as Error).message;
    expect(message).toContain(`${COMMITTED} is not what the configuration renders to`);
    expect(message).toContain('Re-render it with: npx triage egress --broker-config');
    expect(message).toMatch(/^- +- api\.datadoghq\.com$/m);
  });

  test('--check on a missing file says so', async () => {
    await expect(run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--check', join(dir, 'nope.yaml'))).rejects.toThrow(
      /cannot be read \(ENOENT\)/,
    );
  });

  test('--out and --check together are refused', async () => {
    await expect(run('--broker-config', BROKER_FILE, '--config', TRIAGE_FILE, '--out', 'a', '--check', 'b')).rejects.toThrow(
      /cannot be used with/,
    );
  });

  test('--broker-config is required', async () => {
    await expect(run('--config', TRIAGE_FILE)).rejects.toThrow(/--broker-config/);
  });
});

test('lineDiff marks what only the file has with - and what only the render has with +', () => {
  expect(lineDiff('a\nb\nc\nd\ne\nf\ng', 'a\nb\nc\nX\ne\nf\ng', 1)).toBe('  …\n  c\n- d\n+ X\n  e\n  …');
});
