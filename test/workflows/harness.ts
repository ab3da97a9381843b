// A real Temporal dev server (the project's Temporal CLI, never a download),
// the workflow bundle built once per suite, and per-test emulators + worker.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { parseConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT, WORKFLOWS_SOURCE } from '../../config/paths.js';
import { activitiesFrom } from '../../workers/worker.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';
import type { ApprovalChannel } from '../../workflows/messages.js';
import { findTemporalCli } from '../../sandbox/venv-tools.js';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startPagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';
import { startKubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import { startGitHubEmulator } from '../../sandbox/emulators/github.js';
import { startSlackEmulator } from '../../sandbox/emulators/slack.js';
import { startBroker } from '../../broker/broker.js';
import { parseBrokerConfig } from '../../broker/config.js';
import { silentLogger } from '../../config/logger.js';
import { emulatorKubeConfig } from '../sandbox/emulators/kubernetes-client.js';

export const SCENARIO_FILE = join(PROJECT_ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml');
export const APPROVERS = ['U0ALICE', 'U0BOB'];
export const GITHUB_REPO = 'acme/checkout';
export const APPROVAL_CHANNEL = 'checkout-oncall';
export const INCIDENTS_CHANNEL = 'incidents';
const APP_ID = '1001';
const INSTALLATION_ID = 77;
// One App key pair per test process: generating RSA keys is slow.
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

let runtimeInstalled = false;

export interface TestContext {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
  /**
   * A client without the SDK's gRPC retry interceptor: against a local server
   * retries only hide failures, and a retry timer firing after teardown throws
   * "Channel has been shut down" into whichever suite runs next.
   */
  client: Client;
  teardown(): Promise<void>;
}

/**
 * Another client on the suite's connection, with its own identity. Tests send
 * decisions as the gateway or the CLI would, naming the channel themselves:
 * any client with write access to the namespace can, which is why that access
 * is approval power (docs/threat-model.md).
 */
export function clientAs(ctx: Pick<TestContext, 'client'>, identity: string): Client {
  return new Client({ connection: ctx.client.connection, namespace: ctx.client.options.namespace, identity });
}

export async function startTestEnvironment(): Promise<TestContext> {
  if (!runtimeInstalled) {
    // Runtime.install may run once per process, before any connection. Tests
    // fail activities on purpose; their warnings would only bury real errors.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findTemporalCli() }, searchAttributes: triageSearchAttributes },
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_SOURCE, logger: new DefaultLogger('WARN') });
  const client = new Client({
    connection: await Connection.connect({ address: env.address, interceptors: [] }),
    namespace: env.namespace ?? 'default',
  });
  return {
    env,
    bundle,
    client,
    async teardown() {
      await client.connection.close();
      await env.teardown();
    },
  };
}

let counter = 0;

/** A scenario copy whose incident id is unique, so each test triages its own incident. */
export async function uniqueScenario(mutate?: (s: Scenario) => void): Promise<Scenario> {
  const scenario = await loadScenario(SCENARIO_FILE);
  counter += 1;
  scenario.pagerduty.incident.id = `QTEST${counter}${randomBytes(3).toString('hex').toUpperCase()}`;
  mutate?.(scenario);
  return scenario;
}

export interface TriageFixture {
  scenario: Scenario;
  incidentId: string;
  config: TriageConfig;
  pagerduty: Awaited<ReturnType<typeof startPagerDutyEmulator>>;
  kubernetes: Awaited<ReturnType<typeof startKubernetesEmulator>>;
  github: Awaited<ReturnType<typeof startGitHubEmulator>>;
  slack: Awaited<ReturnType<typeof startSlackEmulator>>;
  broker: Awaited<ReturnType<typeof startBroker>>;
  auditLog: string;
}

export interface FixtureOptions {
  approval?: { reminderAfter: string; expireAfter: string };
  /** The service's own approval.channels; unset, the default: Slack only. */
  approvalChannels?: ApprovalChannel[];
  mutate?: (s: Scenario) => void;
  /** The service id the configuration knows; defaults to the scenario's. */
  configuredServiceId?: string;
  writeTimeout?: string;
  /** Stands in for some of the worker's activities, e.g. an earlier release's. */
  activities?: (production: Activities) => Partial<Activities>;
}

type Activities = ReturnType<typeof activitiesFrom>;

/**
 * Runs `fn` with emulators serving a fresh incident and a worker on its own
 * task queue, then tears both down.
 */
export async function withTriageWorker<T>(
  { env, bundle }: Pick<TestContext, 'env' | 'bundle'>,
  opts: FixtureOptions,
  fn: (fx: TriageFixture) => Promise<T>,
): Promise<T> {
  const scenario = await uniqueScenario(opts.mutate);
  const dir = mkdtempSync(join(tmpdir(), 'triage-test-'));
  const secret = (name: string, value = randomBytes(24).toString('hex')) => {
    writeFileSync(join(dir, name), value, { mode: 0o600 });
    return { file: join(dir, name), value };
  };
  const k8sToken = randomBytes(24).toString('hex');
  const clientId = secret('pagerduty-client-id');
  const clientSecret = secret('pagerduty-client-secret');
  const privateKey = secret('github-app.pem', appKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const pagerduty = await startPagerDutyEmulator({ scenario, oauth: { clientId: clientId.value, clientSecret: clientSecret.value } });
  const kubernetes = await startKubernetesEmulator({ scenario, token: k8sToken });
  const github = await startGitHubEmulator({
    appId: APP_ID,
    installationId: INSTALLATION_ID,
    appPublicKeyPem: appKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    repos: [GITHUB_REPO],
  });
  const botToken = secret('slack-bot-token');
  const slack = await startSlackEmulator({
    botToken: botToken.value,
    signingSecret: randomBytes(16).toString('hex'),
    channels: [{ name: APPROVAL_CHANNEL }, { name: INCIDENTS_CHANNEL }],
    users: APPROVERS.map((id) => ({ id, name: id.toLowerCase() })),
  });
  const auditLog = join(dir, 'broker-audit.jsonl');
  const broker = await startBroker(
    parseBrokerConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        auditLog,
        providers: {
          github: {
            upstream: github.url,
            appId: APP_ID,
            installationId: INSTALLATION_ID,
            privateKeyFile: privateKey.file,
            repos: [GITHUB_REPO],
          },
          pagerduty: {
            upstream: pagerduty.url,
            tokenUrl: `${pagerduty.url}/oauth/token`,
            clientIdFile: clientId.file,
            clientSecretFile: clientSecret.file,
            account: 'as_account-us.sandbox',
          },
          slack: { upstream: slack.url, botTokenFile: botToken.file },
        },
        // The production path: writes are checked against the workflow's approval in this dev server.
        temporal: { address: env.address, namespace: env.namespace ?? 'default' },
      },
      dir,
    ),
    { log: silentLogger },
  );
  const taskQueue = `triage-test-${counter}`;
  const config = parseConfig({
    temporal: { address: env.address, namespace: env.namespace ?? 'default', taskQueue, uiUrl: 'http://127.0.0.1:8233' },
    broker: { url: broker.url },
    kubernetes: { cluster: 'sandbox' },
    approval: opts.approval ?? { reminderAfter: '10m', expireAfter: '30m' },
    retry: { maximumAttempts: 3, initialInterval: '100ms', maximumInterval: '1s' },
    writes: { timeout: opts.writeTimeout ?? '10s', maximumAttempts: 5 },
    services: {
      [opts.configuredServiceId ?? scenario.pagerduty.incident.service.id]: {
        name: scenario.pagerduty.incident.service.summary,
        kubernetes: { namespaces: Object.keys(scenario.kubernetes.namespaces) },
        approvers: APPROVERS,
        github: { repo: GITHUB_REPO },
        slack: { approvalChannel: APPROVAL_CHANNEL, incidentsChannel: INCIDENTS_CHANNEL },
        ...(opts.approvalChannels ? { approval: { channels: opts.approvalChannels } } : {}),
      },
    },
  });
  const kc = emulatorKubeConfig(kubernetes.url, k8sToken);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: withOverrides(activitiesFrom(config, kc), opts.activities),
  });
  try {
    return await worker.runUntil(
      fn({ scenario, incidentId: scenario.pagerduty.incident.id, config, pagerduty, kubernetes, github, slack, broker, auditLog }),
    );
  } finally {
    await broker.close();
    await Promise.all([pagerduty.close(), kubernetes.close(), github.close(), slack.close()]);
  }
}

function withOverrides(production: Activities, override: FixtureOptions['activities']): Activities {
  return override ? { ...production, ...override(production) } : production;
}
