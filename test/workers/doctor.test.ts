// `triage doctor` against the sandbox's pieces: the Kubernetes emulator (with
// RBAC), moto and the emulated Pod Identity agent, the broker in front of the
// SaaS emulators. The intended setup passes every check; each way of making it
// over-privileged or leaky fails the check that guards against it, naming what
// and where, and never printing the secret value itself (every value here is
// generated at run time).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { startBroker, type RunningBroker } from '../../broker/broker.js';
import type { TokenReviewer } from '../../broker/callers.js';
import { parseBrokerConfig } from '../../broker/config.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../sandbox/emulators/github.js';
import {
  startKubernetesEmulator,
  VIEW_CLUSTER_ROLE_RULES,
  type KubernetesEmulator,
  type PolicyRule,
} from '../../sandbox/emulators/kubernetes.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';
import { startPodIdentityAgent, type PodIdentityAgent } from '../../sandbox/emulators/pod-identity.js';
import { startSlackEmulator, type SlackEmulator } from '../../sandbox/emulators/slack.js';
import { startMoto, type Moto } from '../../sandbox/moto.js';
import { freePort } from '../../sandbox/ports.js';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { findSecrets } from '../../config/log-redaction.js';
import { silentLogger } from '../../config/logger.js';
import {
  ALLOW_FAILED_ENV,
  CHECK_IDS,
  CHECKS,
  formatTable,
  parseAllowFailed,
  runChecks,
  runDoctor,
  runStartupDoctor,
  type CheckId,
  type CheckResult,
  type DoctorDeps,
  type DoctorOptions,
} from '../../workers/doctor/doctor.js';
import { doctorCommand, DoctorFailed } from '../../cli/doctor-command.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';
import { readAudit } from '../broker/harness.js';
import { loadConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';

const SCENARIO_FILE = join(PROJECT_ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml');
const GITHUB_REPO = 'acme/checkout';
const APP_ID = '2002';
const INSTALLATION_ID = 88;
const POD = 'keyless-triage-worker-7d9f8';

// The SDK's default chain reads the process environment: set up as in a pod
// with a Pod Identity association, and restored afterwards (Jest gives each
// test file its own copy of process.env). The doctor's own checks read the
// injected environment only.
const AWS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

let dir: string;
let home: string;
let scenario: Scenario;
let k8s: KubernetesEmulator;
let moto: Moto;
let agent: PodIdentityAgent;
let pagerduty: PagerDutyEmulator;
let github: GitHubEmulator;
let slack: SlackEmulator;
let broker: RunningBroker;
let brokerDoc: Record<string, unknown>;
let slackTokenFile: string;
let slackToken: string;
let configFile: string;
let config: TriageConfig;
let workerEnv: NodeJS.ProcessEnv;
let saved: Record<string, string | undefined>;

/** A Calico-style egress policy in front of fetch: loopback (the broker) passes, anything else is refused. */
const refusingFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname === '127.0.0.1') return fetch(input, init);
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error(`connect ECONNREFUSED ${url.hostname}:443`), { code: 'ECONNREFUSED' }),
  });
};

/** A policy that drops packets instead: no answer until the caller gives up. */
const droppingFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname === '127.0.0.1') return fetch(input, init);
  return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
};

function secretFile(name: string, value: string): string {
  const file = join(dir, name);
  writeFileSync(file, value, { mode: 0o600 });
  return file;
}

function writeConfig(name: string, doc: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, toYaml(doc));
  return file;
}

function configDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'keyless-triage' },
    broker: { url: broker.url },
    kubernetes: { cluster: 'sandbox', kubeconfig: join(dir, 'kubeconfig.yaml') },
    aws: { region: 'eu-west-1', endpoint: moto.url },
    services: {
      PCHKOUT: {
        name: 'checkout',
        kubernetes: { namespaces: Object.keys(scenario.kubernetes.namespaces) },
        cloudwatch: {
          region: 'eu-west-1',
          metrics: [{ label: 'checkout latency', namespace: 'AWS/ApplicationELB', metricName: 'TargetResponseTime' }],
        },
        approvers: ['U0ALICE'],
        github: { repo: GITHUB_REPO },
        slack: { approvalChannel: 'checkout-oncall', incidentsChannel: 'incidents' },
      },
    },
    ...overrides,
  };
}

function options(
  extra: { env?: NodeJS.ProcessEnv; config?: TriageConfig; configFile?: string; deps?: Partial<DoctorDeps> } & Partial<DoctorOptions> = {},
): DoctorOptions {
  const { env, deps, ...rest } = extra;
  return {
    config,
    configFile,
    ...rest,
    deps: { env: { ...workerEnv, ...env }, fetch: refusingFetch, homeDir: home, temporalOperator: registeredNamespace, ...deps },
  };
}

/** A namespace that has the triage search attributes (doctor-temporal.test.ts checks a real one). */
const registeredNamespace = async () => ({
  operatorService: {
    listSearchAttributes: async () => ({ customAttributes: Object.fromEntries(triageSearchAttributes.map((k) => [k.name, 2])) }),
    addSearchAttributes: async () => ({}),
  } as never,
  close: async () => undefined,
});

const only = (...ids: CheckId[]) => CHECKS.filter((c) => ids.includes(c.id));

function result(results: readonly CheckResult[], id: CheckId): CheckResult {
  const found = results.find((r) => r.id === id);
  if (!found) throw new Error(`no result for ${id}`);
  return found;
}

/** Everything a run shows: the table and the JSON of its results. */
function shown(results: readonly CheckResult[]): string {
  return `${formatTable(results)}\n${JSON.stringify(results)}`;
}

beforeAll(async () => {
  saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
  for (const k of AWS_ENV) delete process.env[k];
  dir = mkdtempSync(join(tmpdir(), 'doctor-test-'));
  home = join(dir, 'home');
  mkdirSync(home);
  process.env.AWS_CONFIG_FILE = join(dir, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-aws-credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';

  scenario = await loadScenario(SCENARIO_FILE);
  const k8sToken = randomBytes(24).toString('hex');
  const k8sTokenFile = secretFile('kubernetes-token', k8sToken);
  k8s = await startKubernetesEmulator({ scenario, token: k8sToken });
  writeConfig('kubeconfig.yaml', {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server: k8s.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'triage-worker', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile: k8sTokenFile } } } }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'triage-worker' } }],
    'current-context': 'sandbox',
  });

  moto = await startMoto();
  const podTokenFile = secretFile(
    'eks-pod-identity-token',
    `eyJ${randomBytes(24).toString('base64url')}.${randomBytes(48).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
  );
  agent = await startPodIdentityAgent({ stsEndpoint: moto.url, tokenFile: podTokenFile, podName: POD });
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = agent.url;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = podTokenFile;

  const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = appKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const clientId = randomBytes(16).toString('hex');
  const clientSecret = randomBytes(24).toString('hex');
  slackToken = `xoxb-${randomBytes(4).readUInt32BE()}-${randomBytes(4).readUInt32BE()}-${randomBytes(12).toString('hex')}`;
  pagerduty = await startPagerDutyEmulator({ scenario, oauth: { clientId, clientSecret } });
  github = await startGitHubEmulator({
    appId: APP_ID,
    installationId: INSTALLATION_ID,
    appPublicKeyPem: publicKeyPem,
    repos: [GITHUB_REPO],
  });
  slack = await startSlackEmulator({
    botToken: slackToken,
    signingSecret: randomBytes(16).toString('hex'),
    channels: [{ name: 'checkout-oncall' }, { name: 'incidents' }],
    users: [{ id: 'U0ALICE', name: 'alice' }],
  });
  slackTokenFile = secretFile('slack-bot-token', slackToken);
  brokerDoc = {
    listen: { host: '127.0.0.1', port: 0 },
    auditLog: join(dir, 'broker-audit.jsonl'),
    providers: {
      github: {
        upstream: github.url,
        appId: APP_ID,
        installationId: INSTALLATION_ID,
        privateKeyFile: secretFile('github-app.pem', appKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
        repos: [GITHUB_REPO],
      },
      pagerduty: {
        upstream: pagerduty.url,
        tokenUrl: `${pagerduty.url}/oauth/token`,
        clientIdFile: secretFile('pagerduty-client-id', clientId),
        clientSecretFile: secretFile('pagerduty-client-secret', clientSecret),
        account: 'as_account-us.sandbox',
      },
      slack: { upstream: slack.url, botTokenFile: slackTokenFile },
    },
  };
  broker = await startBroker(parseBrokerConfig(brokerDoc, dir), { log: silentLogger, credentialRetryMs: 0 });

  configFile = writeConfig('triage.yaml', configDoc());
  // What the sandbox stack gives the worker, plus a CA file named the way Node takes one.
  workerEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    TRIAGE_CONFIG: configFile,
    NODE_EXTRA_CA_CERTS: writeConfig('extra-ca.pem', {}).replace('extra-ca.pem', 'github-app.pub.pem'),
    AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: podTokenFile,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  writeFileSync(workerEnv.NODE_EXTRA_CA_CERTS!, publicKeyPem);
  config = loadConfig(configFile, workerEnv);
});

afterAll(async () => {
  await broker?.close();
  await Promise.all([k8s?.close(), pagerduty?.close(), github?.close(), slack?.close(), agent?.close()]);
  await moto?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const k of AWS_ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

afterEach(() => k8s.setRbac({ rules: null }));

describe('the intended setup', () => {
  test('passes every check, and says what each one saw', async () => {
    const report = await runDoctor(options());
    expect(report.results.map((r) => r.id)).toEqual([...CHECK_IDS]);
    for (const r of report.results)
      expect({ id: r.id, status: r.status, detail: r.detail }).toEqual({ id: r.id, status: 'pass', detail: r.detail });
    expect(report.ok).toBe(true);
    const text = formatTable(report.results);
    expect(text.split('\n')[0]).toMatch(/^check\s+status\s+detail$/);
    expect(result(report.results, 'kubernetes.secrets').detail).toBe(
      'no get, list or watch on secrets in checkout and cluster-wide (6 SelfSubjectAccessReviews)',
    );
    expect(result(report.results, 'aws.identity').detail).toMatch(
      new RegExp(
        `^arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/eks-sandbox-${POD} \\(assumed-role session of role keyless-triage-worker, via ${moto.url}\\), expires in (59|60) min$`,
      ),
    );
    expect(result(report.results, 'broker.reachable').detail).toBe(
      `${broker.url} ready; providers (/_broker/status): github (ready, 4 routes, 1 repo), pagerduty (ready, 2 routes), slack (ready, 4 routes)\ncallers: not authenticated (broker on loopback)`,
    );
    expect(result(report.results, 'credentials.environment').detail).toContain(
      'allowed: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (the Pod Identity token file',
    );
    const files = result(report.results, 'credentials.files').detail;
    expect(files).toContain(`config ${configFile}`);
    expect(files).toContain(`kubeconfig ${join(dir, 'kubeconfig.yaml')}`);
    expect(files).toContain(`file from env NODE_EXTRA_CA_CERTS ${workerEnv.NODE_EXTRA_CA_CERTS}`);
    expect(files).toContain(`${join(dir, 'kubernetes-token')} (Kubernetes service-account token file`);
    expect(result(report.results, 'egress.denied').detail).toMatch(
      /broker refused GET \/github\/user \(403\)[^]*direct GET https:\/\/example\.com\/ failed: ECONNREFUSED/,
    );
  });

  test('the doctor’s probes are in the apiserver’s and the broker’s logs under its own name', async () => {
    const before = k8s.requestLog.length;
    await runChecks(options(), only('kubernetes.writes', 'egress.denied'));
    const seen = k8s.requestLog.slice(before);
    expect(seen.map((e) => `${e.method} ${e.path} ${e.status}`)).toContain(
      'POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews 201',
    );
    expect(seen.every((e) => e.userAgent === 'keyless-triage/0.1 (doctor)')).toBe(true);
    const audit = await readAudit(join(dir, 'broker-audit.jsonl'), 4);
    expect(audit).toContainEqual(
      expect.objectContaining({ provider: 'github', method: 'GET', path: '/user', decision: 'denied', status: 403, triageId: 'doctor' }),
    );
  });
});

describe('an over-privileged Kubernetes token', () => {
  const run = () => runChecks(options(), only('kubernetes.secrets', 'kubernetes.writes', 'kubernetes.read'));
  const withRules = (extra: PolicyRule[]) => k8s.setRbac({ rules: [...VIEW_CLUSTER_ROLE_RULES, ...extra] });

  test('that may get Secrets fails kubernetes.secrets, naming the scope, the verb and the binding', async () => {
    withRules([{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]);
    const results = await run();
    const secrets = result(results, 'kubernetes.secrets');
    expect(secrets.status).toBe('fail');
    expect(secrets.detail).toContain(
      'namespace checkout: get on secrets allowed (RBAC: allowed by ClusterRoleBinding "keyless-triage-worker"',
    );
    expect(secrets.detail).toContain('cluster-wide: get on secrets allowed');
    expect(secrets.detail).toMatch(/what to do: .*`view` ClusterRole/);
    expect(result(results, 'kubernetes.writes').status).toBe('pass');
    expect(result(results, 'kubernetes.read').status).toBe('pass');
  });

  test('with * verbs fails kubernetes.writes, quoting the rule, and the cluster-wide probes find it too', async () => {
    withRules([{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }]);
    const writes = result(await run(), 'kubernetes.writes');
    expect(writes.status).toBe('fail');
    expect(writes.detail).toContain(
      'rule verbs [*] on [pods] in apiGroups [""]: grants every verb (*) (SelfSubjectRulesReview in checkout)',
    );
    expect(writes.detail).toContain('cluster-wide: create pods allowed (RBAC: allowed by');
    expect(writes.detail).not.toContain('selfsubjectaccessreviews');
  });

  test('with a namespaced write (a RoleBinding) fails kubernetes.writes', async () => {
    k8s.setRbac({
      rules: null,
      namespaceRules: { checkout: [{ verbs: ['patch', 'update'], apiGroups: ['apps'], resources: ['deployments'] }] },
    });
    const writes = result(await run(), 'kubernetes.writes');
    expect(writes.status).toBe('fail');
    expect(writes.detail).toContain(
      'rule verbs [patch, update] on [deployments] in apiGroups [apps]: grants write verbs patch, update (SelfSubjectRulesReview in checkout)',
    );
  });

  test('reading every resource (*) fails both checks: * includes Secrets', async () => {
    k8s.setRbac({ rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: ['*'], resources: ['*'] }] });
    const results = await run();
    expect(result(results, 'kubernetes.secrets').status).toBe('fail');
    const writes = result(results, 'kubernetes.writes');
    expect(writes.status).toBe('fail');
    expect(writes.detail).toContain('covers every resource (*), Secrets included');
  });

  test('impersonation is an escalation, not a read', async () => {
    withRules([{ verbs: ['impersonate'], apiGroups: [''], resources: ['serviceaccounts'] }]);
    const writes = result(await run(), 'kubernetes.writes');
    expect(writes.status).toBe('fail');
    expect(writes.detail).toContain('grants impersonate');
    expect(writes.detail).toContain('cluster-wide: impersonate serviceaccounts allowed');
  });

  test('a token that cannot list events fails kubernetes.read with the apiserver’s reason', async () => {
    k8s.setRbac({
      rules: VIEW_CLUSTER_ROLE_RULES.map((r) => ({
        ...r,
        resources: (r.resources ?? []).filter((x) => x !== 'events' && x !== 'pods/log'),
      })),
    });
    const read = result(await run(), 'kubernetes.read');
    expect(read.status).toBe('fail');
    expect(read.detail).toContain(
      'namespace checkout: cannot list events: HTTP 403: events is forbidden: User "system:serviceaccount:keyless-triage:keyless-triage-worker" cannot list resource "events" in API group "" in the namespace "checkout"',
    );
    expect(read.detail).toContain('namespace checkout: cannot get pods/log: not allowed (SelfSubjectAccessReview)');
  });

  test('a token that may not list Jobs and CronJobs warns, naming them: triages run without them', async () => {
    k8s.setRbac({ rules: VIEW_CLUSTER_ROLE_RULES.filter((r) => !(r.apiGroups ?? []).includes('batch')) });
    const read = result(await run(), 'kubernetes.read');
    expect(read.status).toBe('warn');
    expect(read.detail).toContain('namespace checkout: may not list jobs.batch, list cronjobs.batch (SelfSubjectAccessReview)');
    expect(read.detail).toMatch(/what to do: triages run without these/);
  });

  test('a token that may not list HPAs and PersistentVolumeClaims warns, naming them: triages run without them', async () => {
    k8s.setRbac({
      rules: VIEW_CLUSTER_ROLE_RULES.filter((r) => !(r.apiGroups ?? []).includes('autoscaling')).map((r) => ({
        ...r,
        resources: (r.resources ?? []).filter((x) => !x.startsWith('persistentvolumeclaims')),
      })),
    });
    const read = result(await run(), 'kubernetes.read');
    expect(read.status).toBe('warn');
    expect(read.detail).toContain(
      'namespace checkout: may not list horizontalpodautoscalers.autoscaling, list persistentvolumeclaims (SelfSubjectAccessReview)',
    );
  });

  test('a token that may list Deployments but not StatefulSets, DaemonSets and ControllerRevisions warns, naming them', async () => {
    const narrowed = VIEW_CLUSTER_ROLE_RULES.map((r) =>
      (r.apiGroups ?? []).includes('apps')
        ? { ...r, resources: (r.resources ?? []).filter((x) => !/^(statefulsets|daemonsets|controllerrevisions)/.test(x)) }
        : r,
    );
    k8s.setRbac({ rules: narrowed });
    const read = result(await run(), 'kubernetes.read');
    expect(read.status).toBe('warn');
    expect(read.detail).toContain(
      'namespace checkout: may not list statefulsets.apps, list daemonsets.apps, list controllerrevisions.apps (SelfSubjectAccessReview)',
    );
  });

  describe('Node events (kubernetes.nodeEventsNamespace)', () => {
    const withNodeEvents = () => options({ config: { ...config, kubernetes: { ...config.kubernetes, nodeEventsNamespace: 'default' } } });

    test('readable: kubernetes.read passes and says so', async () => {
      const read = result(await runChecks(withNodeEvents(), only('kubernetes.read')), 'kubernetes.read');
      expect(read).toMatchObject({ status: 'pass', detail: expect.stringMatching(/; listed Node events in default$/) });
    });

    test('refused there: a warning naming the namespace, the reason and the component, not a failure (triages run without them)', async () => {
      k8s.setRbac({ rules: [], namespaceRules: { checkout: [...VIEW_CLUSTER_ROLE_RULES] } });
      const read = result(await runChecks(withNodeEvents(), only('kubernetes.read')), 'kubernetes.read');
      expect(read.status).toBe('warn');
      expect(read.detail).toContain('cannot list Node events in default (kubernetes.nodeEventsNamespace): HTTP 403: events is forbidden');
      expect(read.detail).toContain('deploy/components/node-events');
    });
  });

  describe('Nodes (kubernetes.readNodes)', () => {
    const withNodes = () => options({ config: { ...config, kubernetes: { ...config.kubernetes, readNodes: true } } });

    test('not configured: Nodes are not listed, and view alone passes', async () => {
      const read = result(await runChecks(options(), only('kubernetes.read')), 'kubernetes.read');
      expect(read.status).toBe('pass');
      expect(read.detail).not.toContain('Nodes');
    });

    test('configured under view alone (cluster-scoped, not granted): a warning naming the setting and the component, not a failure', async () => {
      const read = result(await runChecks(withNodes(), only('kubernetes.read')), 'kubernetes.read');
      expect(read.status).toBe('warn');
      expect(read.detail).toContain('cannot list Nodes (kubernetes.readNodes): HTTP 403: nodes is forbidden');
      expect(read.detail).toMatch(/what to do: apply deploy\/components\/node-reader .*or unset kubernetes.readNodes/);
    });

    test('configured with the node-reader rules bound: kubernetes.read passes and says so', async () => {
      k8s.setRbac({ rules: [...VIEW_CLUSTER_ROLE_RULES, { verbs: ['get', 'list'], apiGroups: [''], resources: ['nodes'] }] });
      const read = result(await runChecks(withNodes(), only('kubernetes.read')), 'kubernetes.read');
      expect(read).toMatchObject({ status: 'pass', detail: expect.stringMatching(/; listed Nodes$/) });
    });
  });

  test('a rejected token fails the Kubernetes checks with 401, not with the token', async () => {
    const wrongToken = randomBytes(24).toString('hex');
    const kubeconfig = writeConfig('kubeconfig-wrong.yaml', {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sandbox', cluster: { server: k8s.url, 'insecure-skip-tls-verify': true } }],
      users: [
        { name: 'w', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile: secretFile('wrong-token', wrongToken) } } } },
      ],
      contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'w' } }],
      'current-context': 'sandbox',
    });
    const results = await runChecks(
      options({ config: { ...config, kubernetes: { cluster: 'sandbox', kubeconfig } } }),
      only('kubernetes.secrets', 'kubernetes.read'),
    );
    for (const r of results) expect(r.status).toBe('fail');
    expect(result(results, 'kubernetes.secrets').detail).toMatch(/^could not run: HTTP 401/);
    expect(shown(results)).not.toContain(wrongToken);
  });

  test('without a kubeconfig outside a pod there is no cluster to check', async () => {
    const results = await runChecks(options({ config: { ...config, kubernetes: { cluster: 'in-cluster' } } }), only('kubernetes.secrets'));
    expect(results[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('not in a pod (KUBERNETES_SERVICE_HOST is unset)'),
    });
  });
});

describe('AWS', () => {
  test('static keys in the environment fail aws.static-keys, naming each variable and never its value', async () => {
    const keyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secret = randomBytes(30).toString('base64');
    const token = randomBytes(64).toString('base64');
    const results = await runChecks(
      options({ env: { AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } }),
      only('aws.static-keys', 'credentials.environment'),
    );
    const keys = result(results, 'aws.static-keys');
    expect(keys.status).toBe('fail');
    expect(keys.detail.split('\n').slice(0, 3)).toEqual([
      'env AWS_ACCESS_KEY_ID: AWS access key id',
      'env AWS_SECRET_ACCESS_KEY: AWS secret access key',
      'env AWS_SESSION_TOKEN: AWS session token',
    ]);
    // One failure, one place: the generic scan leaves the AWS variables to aws.static-keys.
    expect(result(results, 'credentials.environment').status).toBe('pass');
    for (const value of [keyId, secret, token]) expect(shown(results)).not.toContain(value);
  });

  test('a readable shared credentials file with keys fails, naming the file and profile', async () => {
    const otherHome = join(dir, 'home-with-keys');
    mkdirSync(join(otherHome, '.aws'), { recursive: true });
    const keyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secret = randomBytes(30).toString('base64');
    writeFileSync(join(otherHome, '.aws', 'credentials'), `[default]\naws_access_key_id = ${keyId}\naws_secret_access_key = ${secret}\n`);
    writeFileSync(
      join(otherHome, '.aws', 'config'),
      `[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = default\n`,
    );
    const results = await runChecks(options({ env: { AWS_PROFILE: 'ops' }, deps: { homeDir: otherHome } }), only('aws.static-keys'));
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.detail).toContain(`file ${join(otherHome, '.aws', 'credentials')} [default]: static AWS access key`);
    expect(results[0]!.detail).toContain('env AWS_PROFILE=ops: points at static keys (its source_profile chain reaches default)');
    for (const value of [keyId, secret]) expect(shown(results)).not.toContain(value);
  });

  test('an IAM user instead of an assumed-role session fails aws.identity with its ARN', async () => {
    const credentials = {
      accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    const results = await runChecks(options({ deps: { awsCredentials: credentials } }), only('aws.identity'));
    expect(results[0]!.status).toBe('fail');
    // moto answers an `sts` partition-style ARN for users; AWS says `iam`. Both are users.
    expect(results[0]!.detail).toMatch(/^arn:aws:(?:iam|sts)::\d{12}:user\/\S+ is an IAM user: its access keys are long-lived/);
    expect(shown(results)).not.toContain(credentials.secretAccessKey);
  });

  test("the node's instance role (IMDS) is an assumed role too, and still fails aws.identity", async () => {
    const sts = new STSClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: {
        accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
      },
    });
    const node = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::123456789012:role/eks-node-group',
        RoleSessionName: 'i-0123456789abcdef0',
        DurationSeconds: 3600,
      }),
    );
    sts.destroy();
    const c = node.Credentials!;
    const results = await runChecks(
      options({
        deps: {
          awsCredentials: {
            accessKeyId: c.AccessKeyId!,
            secretAccessKey: c.SecretAccessKey!,
            sessionToken: c.SessionToken!,
            expiration: c.Expiration!,
          },
        },
      }),
      only('aws.identity'),
    );
    expect(results[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/assumed-role\/eks-node-group\/i-0123456789abcdef0 is the node's instance role, reached through IMDS/),
    });
  });

  test('aws.identity is skipped when no service reads CloudWatch', async () => {
    const { cloudwatch: _cw, ...service } = config.services.PCHKOUT!;
    const results = await runChecks(options({ config: { ...config, services: { PCHKOUT: service } } }), only('aws.identity'));
    expect(results[0]).toMatchObject({ status: 'skip', detail: expect.stringContaining('no service has cloudwatch') });
  });
});

describe('credentials in the environment and in files', () => {
  test('a Slack bot token in an environment variable fails credentials.environment, by name and kind', async () => {
    const token = `xoxb-${randomBytes(4).readUInt32BE()}-${randomBytes(4).readUInt32BE()}-${randomBytes(12).toString('hex')}`;
    const results = await runChecks(options({ env: { NOTIFIER_HOOK: token } }), only('credentials.environment'));
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.detail.split('\n')[0]).toBe('env NOTIFIER_HOOK: Slack token');
    expect(shown(results)).not.toContain(token);
  });

  test('other credential shapes: a GitHub token, a PEM key, a password in a URL, a bearer JWT, a secret-named value; placeholders pass', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const jwt = `eyJ${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
    const values = {
      CI_GH: `ghp_${randomBytes(18).toString('hex')}`,
      APP_SIGNING_KEY: pem,
      DATABASE_URL: `postgres://app:${randomBytes(9).toString('hex')}@db:5432/app`,
      UPSTREAM_HEADERS: `Authorization: Bearer ${jwt}`,
      DB_PASSWORD: randomBytes(12).toString('hex'),
      JUST_A_JWT: jwt,
    };
    const results = await runChecks(
      options({ env: { ...values, GITHUB_TOKEN: 'via-broker', SLACK_BOT_TOKEN: 'unused', ID_TOKEN_AUDIENCE: 'sts.amazonaws.com' } }),
      only('credentials.environment'),
    );
    const detail = results[0]!.detail;
    expect(results[0]!.status).toBe('fail');
    expect(detail).toContain('env CI_GH: GitHub token');
    expect(detail).toContain('env APP_SIGNING_KEY: private key (PEM)');
    expect(detail).toContain('env DATABASE_URL: password in a URL');
    expect(detail).toContain('env UPSTREAM_HEADERS: Authorization header credential');
    expect(detail).toContain('env DB_PASSWORD: credential-shaped value in a secret-named variable');
    // A bare JWT has no bearer context: an id token, a signed claim; not reported.
    expect(detail).not.toContain('JUST_A_JWT');
    expect(detail).not.toMatch(/GITHUB_TOKEN|SLACK_BOT_TOKEN|ID_TOKEN_AUDIENCE/);
    for (const value of Object.values(values)) expect(shown(results)).not.toContain(value.split('\n')[1] ?? value);
  });

  test('the Pod Identity token file variable is allowed as a path, and refused when it holds the token itself', async () => {
    const inline = `eyJ${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
    const results = await runChecks(options({ env: { AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: inline } }), only('credentials.environment'));
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.detail).toContain('env AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: expected a file path, found something else');
    expect(shown(results)).not.toContain(inline);
  });

  test('a gateway secret file the worker can read fails credentials.files; as the gateway, or unreadable, it passes', async () => {
    const webhookSecret = randomBytes(32).toString('hex');
    const secretPath = secretFile('pagerduty-webhook-secret', webhookSecret);
    const file = writeConfig('triage-with-gateway.yaml', configDoc({ gateway: { pagerdutyWebhookSecretFiles: [secretPath] } }));
    const withGateway = loadConfig(file, workerEnv);
    const asWorker = await runChecks(options({ config: withGateway, configFile: file }), only('credentials.files'));
    expect(asWorker[0]!.status).toBe('fail');
    expect(asWorker[0]!.detail.split('\n')[0]).toBe(
      `${secretPath}: PagerDuty webhook signing secret is readable by the worker; mount it into its own component's container only`,
    );
    expect(shown(asWorker)).not.toContain(webhookSecret);

    const asGateway = await runChecks(options({ config: withGateway, configFile: file, role: 'gateway' }), only('credentials.files'));
    expect(asGateway[0]).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining(`${secretPath} (PagerDuty webhook signing secret: the gateway's own, not scanned)`),
    });

    // In EKS the file is mounted into the gateway's pod only: the worker cannot open it.
    const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    const readFile: DoctorDeps['readFile'] = async (path) => {
      if (path === secretPath) throw denied;
      const { readFile: read } = await import('node:fs/promises');
      return read(path, 'utf8');
    };
    const unreadable = await runChecks(options({ config: withGateway, configFile: file, deps: { readFile } }), only('credentials.files'));
    expect(unreadable[0]).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining(`not readable here, as they should be: ${secretPath} (EACCES)`),
    });
  });

  test('credentials inside configuration files fail credentials.files with file, line and kind', async () => {
    const inlineToken = randomBytes(24).toString('hex');
    const kubeconfig = writeConfig('kubeconfig-inline.yaml', {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sandbox', cluster: { server: k8s.url } }],
      users: [{ name: 'admin', user: { token: inlineToken, 'client-key-data': Buffer.from(randomBytes(64)).toString('base64') } }],
      contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'admin' } }],
      'current-context': 'sandbox',
    });
    const results = await runChecks(
      options({ config: { ...config, kubernetes: { cluster: 'sandbox', kubeconfig } } }),
      only('credentials.files'),
    );
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.detail).toMatch(new RegExp(`kubeconfig ${kubeconfig} line \\d+: secret-named field "token"`));
    expect(results[0]!.detail).toContain(`kubeconfig ${kubeconfig} user "admin": client certificate private key`);
    expect(shown(results)).not.toContain(inlineToken);
  });
});

describe('the broker and egress', () => {
  test('an unreachable broker fails broker.reachable; egress.denied says the policy went untested', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const results = await runChecks(options({ config: { ...config, broker: { url } } }), only('broker.reachable', 'egress.denied'));
    expect(result(results, 'broker.reachable')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`^broker at ${url} not reachable \\(ECONNREFUSED\\)`)),
    });
    expect(result(results, 'egress.denied')).toMatchObject({ status: 'warn', detail: expect.stringContaining('broker policy not tested') });
  });

  test('a broker that is not ready, or lacks a provider the services need, fails broker.reachable', async () => {
    rmSync(slackTokenFile);
    try {
      const results = await runChecks(options(), only('broker.reachable'));
      expect(results[0]!.status).toBe('fail');
      expect(results[0]!.detail).toMatch(new RegExp(`^broker at ${broker.url} is not ready: slack unavailable: .*slack-bot-token`));
    } finally {
      writeFileSync(slackTokenFile, slackToken, { mode: 0o600 });
    }
    const withDatadog = structuredClone(config);
    withDatadog.services.PCHKOUT!.datadog = { queries: [], monitorTags: ['service:checkout'] };
    const missing = await runChecks(options({ config: withDatadog }), only('broker.reachable'));
    expect(missing[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('the configured services need datadog, which the broker does not load'),
    });
  });

  test("the worker's token opens a broker that authenticates callers; a broker that answers without it fails", async () => {
    const tokenFile = secretFile('broker-token', `eyJ.${randomBytes(16).toString('hex')}.sig`);
    const workerToken = readFileSync(tokenFile, 'utf8');
    const reviews: string[] = [];
    const tokenReviewer: TokenReviewer = async (token, audience) => {
      reviews.push(token);
      return token === workerToken
        ? { authenticated: true, username: 'system:serviceaccount:keyless-triage:keyless-triage-worker', audiences: [audience] }
        : { authenticated: false };
    };
    const callers = { audience: 'keyless-triage-broker', serviceAccounts: ['keyless-triage/keyless-triage-worker'] };
    const guarded = await startBroker(parseBrokerConfig({ ...brokerDoc, callers }, dir), { log: silentLogger, tokenReviewer });
    try {
      const withToken = (url: string) => ({ ...config, broker: { url, tokenFile } });
      const [passed] = await runChecks(options({ config: withToken(guarded.url) }), only('broker.reachable'));
      expect(passed).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('callers: the worker token is accepted, a call without it is refused (401)'),
      });
      expect(reviews).toContain(workerToken);

      const [failed] = await runChecks(options({ config: withToken(broker.url) }), only('broker.reachable'));
      expect(failed).toMatchObject({ status: 'fail', detail: expect.stringContaining('it does not authenticate its callers') });

      // A token the broker does not accept fails at once, saying which side to look at.
      writeFileSync(tokenFile, `eyJ.${randomBytes(16).toString('hex')}.sig`);
      const [refused] = await runChecks(options({ config: withToken(guarded.url), brokerWaitMs: 10_000 }), only('broker.reachable'));
      expect(refused).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining("the broker refused the worker's token: HTTP 401 caller token not valid"),
      });
    } finally {
      await guarded.close();
    }
  });

  test('open egress fails egress.denied; a dropped connection passes once the probe gives up', async () => {
    const open: typeof fetch = async (input, init) =>
      new URL(String(input)).hostname === '127.0.0.1' ? fetch(input, init) : new Response('<html>example</html>', { status: 200 });
    const opened = await runChecks(options({ deps: { fetch: open } }), only('egress.denied'));
    expect(opened[0]!.status).toBe('fail');
    expect(opened[0]!.detail.split('\n')[0]).toBe('reached https://example.com/ directly (HTTP 200): egress is not restricted');
    // The SaaS APIs the broker holds credentials for are probed too: the worker must not reach them itself.
    for (const api of ['https://api.pagerduty.com/', 'https://api.github.com/', 'https://slack.com/api/api.test'])
      expect(opened[0]!.detail).toContain(`reached ${api} directly (HTTP 200)`);

    const dropped = await runChecks(
      options({ deps: { fetch: droppingFetch }, probeTimeoutMs: 300, egressProbeUrl: 'https://203.0.113.7/' }),
      only('egress.denied'),
    );
    expect(dropped[0]).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/direct GET https:\/\/203\.0\.113\.7\/ failed: no answer within 0\.3 s \(dropped\)/),
    });

    const loopback = await runChecks(options({ egressProbeUrl: `${broker.url}/healthz` }), only('egress.denied'));
    expect(loopback[0]).toMatchObject({ status: 'fail', detail: expect.stringContaining('is a loopback address, which proves nothing') });
  });
});

describe('as the gateway', () => {
  test('no Kubernetes token, no AWS identity and no broker is the passing answer', async () => {
    const noCredentials = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    };
    const results = await runChecks(
      options({
        role: 'gateway',
        config: { ...config, kubernetes: { cluster: 'in-cluster' } },
        env: { KUBERNETES_SERVICE_HOST: '10.100.0.1' },
        deps: { awsCredentials: noCredentials },
      }),
    );
    expect(Object.fromEntries(results.map((r) => [r.id, r.status]))).toEqual({
      'kubernetes.secrets': 'pass',
      'kubernetes.writes': 'pass',
      'kubernetes.read': 'skip',
      'aws.static-keys': 'pass',
      'aws.identity': 'pass',
      'credentials.environment': 'pass',
      'credentials.files': 'pass',
      'broker.reachable': 'skip',
      'egress.denied': 'pass',
      'temporal.search-attributes': 'pass',
    });
    expect(result(results, 'kubernetes.secrets').detail).toContain('the gateway needs none');
    expect(result(results, 'aws.identity').detail).toBe('no AWS credentials in the default chain: the gateway needs none');
  });

  test('a gateway with an AWS identity fails aws.identity', async () => {
    const results = await runChecks(options({ role: 'gateway' }), only('aws.identity'));
    expect(results[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('the gateway holds an AWS identity it does not need'),
    });
  });
});

describe('the override and the startup doctor', () => {
  const slackLike = () => `xoxb-${randomBytes(4).readUInt32BE()}-${randomBytes(12).toString('hex')}`;
  const keyId = () => `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;

  test('parseAllowFailed takes check ids, refuses all outright and names unknown ids', () => {
    expect([...parseAllowFailed(' egress.denied , aws.identity,').ids]).toEqual(['egress.denied', 'aws.identity']);
    for (const blanket of ['all', 'ALL', '*', 'egress.denied,all']) {
      const parsed = parseAllowFailed(blanket);
      expect(parsed.ids.size).toBe(0);
      expect(parsed.problems[0]).toMatch(/is refused: "all" is not accepted; name each check/);
    }
    expect(parseAllowFailed('egress.deny').problems).toEqual([expect.stringContaining('unknown check "egress.deny"')]);
    expect(parseAllowFailed(undefined)).toEqual({ ids: new Set(), problems: [] });
  });

  test('the override downgrades exactly the named failure to a loud warning', async () => {
    const token = slackLike();
    const both = { NOTIFIER_HOOK: token, AWS_ACCESS_KEY_ID: keyId() };
    const partly = await runStartupDoctor(config, {
      ...options({ env: { ...both, [ALLOW_FAILED_ENV]: 'credentials.environment' } }),
      brokerWaitMs: 0,
    });
    expect(result(partly.results, 'credentials.environment')).toMatchObject({
      status: 'warn',
      acceptedFailure: true,
      detail: expect.stringMatching(/^FAILED, accepted by TRIAGE_DOCTOR_ALLOW_FAILED:\nenv NOTIFIER_HOOK: Slack token/),
    });
    expect(result(partly.results, 'aws.static-keys').status).toBe('fail');
    expect(partly.proceed).toBe(false);
    expect(partly.refusal).toBe(
      'refusing to start: doctor check failed: aws.static-keys. Fix what each says, or accept a failure knowingly by naming it: TRIAGE_DOCTOR_ALLOW_FAILED=aws.static-keys',
    );
    expect(partly.records.find((r) => r.check === 'credentials.environment')).toMatchObject({
      level: 'error',
      msg: expect.stringContaining('failure accepted'),
    });
    expect(partly.text).toMatch(/credentials\.environment\s+WARN!\s+FAILED, accepted by/);
    expect(partly.text).not.toContain(token);

    const accepted = await runStartupDoctor(config, {
      ...options({ env: { ...both, [ALLOW_FAILED_ENV]: 'credentials.environment,aws.static-keys' } }),
      brokerWaitMs: 0,
    });
    expect(accepted.proceed).toBe(true);
    expect(accepted.accepted).toEqual(['aws.static-keys', 'credentials.environment']);
    expect(accepted.results.filter((r) => r.status === 'fail')).toEqual([]);
  });

  test('"all" is refused: nothing is accepted and the worker does not start', async () => {
    const report = await runStartupDoctor(config, {
      ...options({ env: { NOTIFIER_HOOK: slackLike(), [ALLOW_FAILED_ENV]: 'all' } }),
      brokerWaitMs: 0,
    });
    expect(report.proceed).toBe(false);
    expect(result(report.results, 'credentials.environment').status).toBe('fail');
    expect(report.notes[0]).toMatch(/^TRIAGE_DOCTOR_ALLOW_FAILED=all is refused/);
    expect(report.records).toContainEqual({ level: 'warn', msg: expect.stringContaining('is refused') });
  });

  test('accepting a check that passes is reported, so a later failure is not accepted unread', async () => {
    const report = await runStartupDoctor(config, { ...options({ env: { [ALLOW_FAILED_ENV]: 'egress.denied' } }), brokerWaitMs: 0 });
    expect(report.proceed).toBe(true);
    expect(report.accepted).toEqual([]);
    expect(report.notes).toEqual([expect.stringContaining('accepts a failure of egress.denied, which did not fail')]);
  });

  test('at start the broker check waits for the broker to become ready', async () => {
    rmSync(slackTokenFile);
    setTimeout(() => writeFileSync(slackTokenFile, slackToken, { mode: 0o600 }), 600);
    const t0 = Date.now();
    const results = await runChecks(options({ brokerWaitMs: 5_000 }), only('broker.reachable'));
    expect(results[0]!.status).toBe('pass');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
  });
});

describe('triage doctor', () => {
  function program(env: NodeJS.ProcessEnv, out: string[]): Command {
    // As cli/main.ts registers it: the program has a --config of its own.
    const triage = new Command('triage').option('--config <file>').exitOverride();
    triage.addCommand(
      doctorCommand({
        deps: { env, fetch: refusingFetch, homeDir: home, temporalOperator: registeredNamespace },
        print: (t) => out.push(t),
      }),
    );
    return triage;
  }

  test('--json prints every check and passes on the intended setup, with --config after the subcommand', async () => {
    const out: string[] = [];
    await program(workerEnv, out).parseAsync(['node', 'triage', 'doctor', '--config', configFile, '--json']);
    const json = JSON.parse(out[0]!) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(json.ok).toBe(true);
    expect(json.checks.map((c) => `${c.id} ${c.status}`)).toEqual(CHECK_IDS.map((id) => `${id} pass`));
  });

  test('a failure prints the table and ends in DoctorFailed (runCli exits 1)', async () => {
    const out: string[] = [];
    const token = `xoxb-${randomBytes(4).readUInt32BE()}-${randomBytes(12).toString('hex')}`;
    const env = { ...workerEnv, TRIAGE_CONFIG: configFile, NOTIFIER_HOOK: token };
    const run = program(env, out).parseAsync(['node', 'triage', 'doctor']);
    await expect(run).rejects.toThrow(DoctorFailed);
    await expect(run).rejects.toThrow('doctor: 1 check failed (credentials.environment)');
    expect(out[0]).toMatch(/^check\s+status\s+detail\n/);
    expect(out[0]).toMatch(/credentials\.environment\s+FAIL\s+env NOTIFIER_HOOK: Slack token/);
    expect(out[0]).toContain('9 passed, 1 failed, 0 warned, 0 skipped (failed: credentials.environment)');
    expect(out[0]).not.toContain(token);
  });
});

test('findSecrets (the redaction rules, for scanners): kinds and lines, never values; certificates and bare JWTs are not credentials', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trimEnd();
  const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString().trimEnd();
  const jwt = `eyJ${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
  const text = [
    'temporal:', // 1
    `  ca: |`, // 2
    ...publicPem.split('\n').map((l) => `    ${l}`), // 3-6
    `idToken: ${jwt}`, // 7: secret-named key
    `audience: ${jwt}`, // 8: a bare JWT, no bearer context
    `header: "Authorization: Bearer ${jwt}"`, // 9
    `aws_secret_access_key = ${randomBytes(30).toString('base64')}`, // 10
    ...privatePem.split('\n'), // 11-
  ].join('\n');
  expect(findSecrets(text)).toEqual([
    { line: 7, kind: 'secret-named field "idToken"' },
    { line: 9, kind: 'Authorization header credential' },
    { line: 10, kind: 'secret-named field "aws_secret_access_key"' },
    { line: 11, kind: 'private key (PEM)' },
  ]);
});

test('formatTable: one row per check, details continue under their own column', () => {
  const rows: CheckResult[] = [
    { id: 'aws.identity', title: '', status: 'pass', detail: 'arn:aws:sts::1:assumed-role/r/s', durationMs: 1 },
    {
      id: 'credentials.environment',
      title: '',
      status: 'warn',
      acceptedFailure: true,
      detail: 'FAILED, accepted\nenv X: Slack token',
      durationMs: 1,
    },
  ];
  expect(formatTable(rows)).toBe(
    [
      'check                    status  detail',
      'aws.identity             PASS    arn:aws:sts::1:assumed-role/r/s',
      'credentials.environment  WARN!   FAILED, accepted',
      '                                 env X: Slack token',
    ].join('\n'),
  );
});
