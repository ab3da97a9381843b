// The local stack: a real Temporal dev server, the SaaS emulators, the worker
// and the gateway, each its own process, wired by a generated configuration.
// Used by `make up`/`make down`, `make demo` and the end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify as toYaml } from 'yaml';
import type { ApprovalChannel } from '../config/vocabulary.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { loadScenario, NODE_EVENTS_NAMESPACE, type Scenario } from './scenario.js';
import { sandboxCredentials, seedCloudWatch, startMoto, type Moto } from './moto.js';
import { CREDENTIALS_PATH } from './emulators/pod-identity.js';
import { freePort, lostPortRace, portIsFree } from './ports.js';
import { findTemporalCli } from './venv-tools.js';

/** Sandbox users in the Slack sense; the first two approve, the third does not. */
export const SANDBOX_APPROVERS = ['U0ALICE', 'U0BOB'];
export const SANDBOX_NON_APPROVER = 'U0MALLORY';

export interface StackOptions {
  /** Working directory for the stack's files (config, secrets, SQLite, logs). */
  dir: string;
  scenario: string;
  /** Fixed ports; anything left out gets a free port below the ephemeral range (sandbox/ports.ts). */
  ports?: Partial<
    Record<
      ServiceName | 'temporalUi' | 'pagerduty' | 'kubernetes' | 'github' | 'slack' | 'datadog' | 'moto' | 'cloudwatch' | 'podIdentity',
      number
    >
  >;
  approval?: { reminderAfter: string; expireAfter: string };
  /** `approval.channels`; unset, the production default (Slack only). */
  approvalChannels?: ApprovalChannel[];
  retry?: { maximumAttempts: number; initialInterval: string; maximumInterval: string };
  /** Timeout of one write attempt (GitHub); short in tests that kill the worker mid-write. */
  writeTimeout?: string;
  /** Added to every service's environment, e.g. `SANDBOX_DATADOG_ERROR_RATE` for the emulators. */
  environment?: Record<string, string>;
}

type ServiceName = 'temporal' | 'emulators' | 'broker' | 'worker' | 'gateway';

export interface StackInfo {
  gatewayUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  temporalNamespace: string;
  taskQueue: string;
  brokerUrl: string;
  brokerAuditLog: string;
  /** The worker's token for the broker, as the kubelet would project it; the broker answers nothing without it. */
  brokerCallerTokenFile: string;
  pagerdutyUrl: string;
  kubernetesUrl: string;
  githubUrl: string;
  githubRepo?: string;
  slackUrl: string;
  datadogUrl: string;
  /** moto, serving CloudWatch and STS. */
  motoUrl: string;
  /** What the worker calls for CloudWatch and STS: a front on moto that applies the cloudwatch conditions. */
  cloudwatchUrl: string;
  /** The emulated EKS Pod Identity Agent the worker gets its AWS credentials from. */
  podIdentityUrl: string;
  /** The sandbox Slack: pick a user, see the card, click its buttons. */
  slackPageUrl: string;
  slackChannels: { approval: string; incidents: string };
  pagerdutyWebhookSecretFile: string;
  configFile: string;
  brokerConfigFile: string;
  secretDir: string;
  scenario: string;
  incidentId: string;
  approvers: string[];
  logDir: string;
  pids: Record<string, number>;
  startedAt: string;
}

export interface RunningStack {
  info: StackInfo;
  /** SIGKILL the worker, as a node failure would: no graceful shutdown, no completions reported. */
  killWorker(): Promise<void>;
  /** Start a new worker process (after killWorker). */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

const NAMESPACE = 'default';
const TASK_QUEUE = 'keyless-triage';
const GITHUB_APP_ID = '424242';
const GITHUB_INSTALLATION_ID = 4242;
const PAGERDUTY_ACCOUNT = 'as_account-us.sandbox';

const START_ATTEMPTS = 3;

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(opts);
    } catch (err) {
      // Another process may bind a port between our check and the service's
      // own bind; the next attempt picks fresh ports (a fixed port that is
      // taken by then fails the up-front check with its own message).
      if (attempt >= START_ATTEMPTS || !lostPortRace(err)) throw err;
    }
  }
}

async function startStackOnce(opts: StackOptions): Promise<RunningStack> {
  const dir = resolve(opts.dir);
  const logDir = join(dir, 'logs');
  const secretDir = join(dir, 'secrets');
  const brokerSecretDir = join(secretDir, 'broker');
  rmSync(logDir, { recursive: true, force: true }); // one run's logs, complete: a restarted worker appends to its file
  mkdirSync(logDir, { recursive: true });
  mkdirSync(brokerSecretDir, { recursive: true, mode: 0o700 });
  const scenarioPath = resolve(opts.scenario);
  const scenario = await loadScenario(scenarioPath);

  // Generated per run, readable by this user only, never printed. The
  // broker's credentials sit in their own directory that only the broker's
  // configuration names; the emulators play the SaaS side and know them too.
  const secret = (file: string, value: string = randomBytes(32).toString('hex')) => {
    writeFileSync(file, value, { mode: 0o600 });
    return file;
  };
  const webhookSecretFile = secret(join(secretDir, 'pagerduty-webhook-secret'));
  const kubernetesTokenFile = secret(join(secretDir, 'kubernetes-token'));
  const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const githubPrivateKeyFile = secret(
    join(brokerSecretDir, 'github-app.pem'),
    appKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const githubPublicKeyFile = join(dir, 'github-app.pub.pem');
  writeFileSync(githubPublicKeyFile, appKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const pagerdutyClientIdFile = secret(join(brokerSecretDir, 'pagerduty-client-id'), randomBytes(16).toString('hex'));
  const pagerdutyClientSecretFile = secret(join(brokerSecretDir, 'pagerduty-client-secret'));
  const slackBotTokenFile = secret(join(brokerSecretDir, 'slack-bot-token'), `xoxb-sandbox-${randomBytes(24).toString('hex')}`);
  const slackSigningSecretFile = secret(join(secretDir, 'slack-signing-secret'));
  const datadogApiKeyFile = secret(join(brokerSecretDir, 'datadog-api-key'), randomBytes(16).toString('hex'));
  const datadogAppKeyFile = secret(join(brokerSecretDir, 'datadog-app-key'), randomBytes(20).toString('hex'));
  // What the kubelet projects into an EKS pod for the Pod Identity Agent: a token, not an AWS credential.
  const podIdentityTokenFile = secret(join(secretDir, 'pod-identity-token'));
  // What the kubelet projects for the broker's callers (the worker's ServiceAccount, the broker's audience),
  // and the broker's own ServiceAccount token, with which it asks the API to review them.
  const brokerCallerTokenFile = secret(join(secretDir, 'broker-caller-token'));
  const brokerKubernetesTokenFile = secret(join(brokerSecretDir, 'kubernetes-token'));

  const port = async (name: keyof NonNullable<StackOptions['ports']>) => opts.ports?.[name] ?? (await freePort());
  const ports = {
    temporal: await port('temporal'),
    temporalUi: await port('temporalUi'),
    gateway: await port('gateway'),
    broker: await port('broker'),
    pagerduty: await port('pagerduty'),
    kubernetes: await port('kubernetes'),
    github: await port('github'),
    slack: await port('slack'),
    datadog: await port('datadog'),
    moto: await port('moto'),
    cloudwatch: await port('cloudwatch'),
    podIdentity: await port('podIdentity'),
  };
  const podIdentityUrl = `http://127.0.0.1:${ports.podIdentity}${CREDENTIALS_PATH}`;
  for (const [name, p] of Object.entries(ports)) {
    if (!(await portIsFree(p)))
      throw new Error(`port ${p} (${name}) is in use; is another stack running? (\`make down\` stops the one \`make up\` started)`);
  }

  const children = new Map<ServiceName, ChildProcess>();
  let moto: Moto | undefined;
  const stop = async () => {
    for (const child of [...children.values()].reverse()) await terminate(child);
    await moto?.close();
  };
  const childEnv = { ...process.env, ...opts.environment };
  const configFile = join(dir, 'triage.yaml');
  const workerConfigFile = join(dir, 'worker.yaml');
  const startWorker = async () => {
    const log = join(logDir, 'worker.log');
    const from = existsSync(log) ? statSync(log).size : 0;
    const worker = launch(
      'worker',
      process.execPath,
      [join(PROJECT_ROOT, 'dist/workers/main.js')],
      logDir,
      workerEnvironment(childEnv, { configFile: workerConfigFile, home: dir, agentUrl: podIdentityUrl, tokenFile: podIdentityTokenFile }),
    );
    children.set('worker', worker);
    await waitForLog(log, /worker started/, worker, 'worker', from);
  };

  try {
    const temporal = launch(
      'temporal',
      findTemporalCli(),
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(ports.temporal),
        '--ui-port',
        String(ports.temporalUi),
        '--db-filename',
        join(dir, 'temporal.db'),
        '--namespace',
        NAMESPACE,
        '--log-level',
        'warn',
        // No --search-attribute: like a real namespace, this one starts without them, and the worker registers them.
      ],
      logDir,
    );
    children.set('temporal', temporal);
    const temporalAddress = `127.0.0.1:${ports.temporal}`;
    await waitForTemporal(temporalAddress, temporal, logDir);

    moto = await startMoto({ port: ports.moto, logFile: join(logDir, 'moto.log') });
    if (scenario.cloudwatch) await seedCloudWatch(moto.url, scenario.cloudwatch, sandboxCredentials());

    const githubRepo = scenario.github?.repo;
    const emulators = launch(
      'emulators',
      process.execPath,
      [
        join(PROJECT_ROOT, 'dist/sandbox/emulators/main.js'),
        '--scenario',
        scenarioPath,
        '--pagerduty-port',
        String(ports.pagerduty),
        '--kubernetes-port',
        String(ports.kubernetes),
        '--github-port',
        String(ports.github),
        '--kubernetes-token-file',
        kubernetesTokenFile,
        '--kubernetes-reviewer-token-file',
        brokerKubernetesTokenFile,
        '--kubernetes-projected-token',
        `${BROKER_CALLER.namespace}/${BROKER_CALLER.serviceAccount}:${BROKER_CALLER.audience}=${brokerCallerTokenFile}`,
        '--pagerduty-client-id-file',
        pagerdutyClientIdFile,
        '--pagerduty-client-secret-file',
        pagerdutyClientSecretFile,
        '--github-app-id',
        GITHUB_APP_ID,
        '--github-installation-id',
        String(GITHUB_INSTALLATION_ID),
        '--github-app-public-key-file',
        githubPublicKeyFile,
        ...(githubRepo ? ['--github-repo', githubRepo] : []),
        '--slack-port',
        String(ports.slack),
        '--slack-bot-token-file',
        slackBotTokenFile,
        '--slack-signing-secret-file',
        slackSigningSecretFile,
        '--gateway-url',
        `http://127.0.0.1:${ports.gateway}`,
        '--datadog-port',
        String(ports.datadog),
        '--datadog-api-key-file',
        datadogApiKeyFile,
        '--datadog-app-key-file',
        datadogAppKeyFile,
        '--pod-identity-port',
        String(ports.podIdentity),
        '--pod-identity-token-file',
        podIdentityTokenFile,
        '--sts-endpoint',
        moto.url,
        '--cloudwatch-port',
        String(ports.cloudwatch),
        '--cloudwatch-upstream',
        moto.url,
      ],
      logDir,
      childEnv,
    );
    children.set('emulators', emulators);
    await waitForLog(join(logDir, 'emulators.log'), /"pagerdutyUrl"/, emulators, 'emulators');
    const pagerdutyUrl = `http://127.0.0.1:${ports.pagerduty}`;
    const kubernetesUrl = `http://127.0.0.1:${ports.kubernetes}`;
    const githubUrl = `http://127.0.0.1:${ports.github}`;
    const slackUrl = `http://127.0.0.1:${ports.slack}`;
    const datadogUrl = `http://127.0.0.1:${ports.datadog}`;
    const cloudwatchUrl = `http://127.0.0.1:${ports.cloudwatch}`;
    const slackChannels = sandboxChannels(scenario.slack?.channels.map((c) => c.name) ?? []);

    const brokerConfigFile = join(dir, 'broker.yaml');
    const brokerAuditLog = join(logDir, 'broker-audit.jsonl');
    const brokerKubeconfigFile = join(dir, 'broker-kubeconfig.yaml');
    writeFileSync(brokerKubeconfigFile, toYaml(kubeconfig(kubernetesUrl, brokerKubernetesTokenFile, 'triage-broker')));
    writeFileSync(
      brokerConfigFile,
      toYaml({
        listen: { host: '127.0.0.1', port: ports.broker },
        // As in its own pod: callers are authenticated by token even on loopback, through the same TokenReview path.
        callers: {
          audience: BROKER_CALLER.audience,
          serviceAccounts: [`${BROKER_CALLER.namespace}/${BROKER_CALLER.serviceAccount}`],
          kubeconfig: brokerKubeconfigFile,
        },
        auditLog: brokerAuditLog,
        upstreamTimeout: '15s',
        providers: {
          github: {
            upstream: githubUrl,
            appId: GITHUB_APP_ID,
            installationId: GITHUB_INSTALLATION_ID,
            privateKeyFile: githubPrivateKeyFile,
            repos: githubRepo ? [githubRepo] : [],
          },
          pagerduty: {
            upstream: pagerdutyUrl,
            tokenUrl: `${pagerdutyUrl}/oauth/token`,
            clientIdFile: pagerdutyClientIdFile,
            clientSecretFile: pagerdutyClientSecretFile,
            account: PAGERDUTY_ACCOUNT,
            notes: false,
          },
          slack: { upstream: slackUrl, botTokenFile: slackBotTokenFile },
          datadog: { upstream: datadogUrl, apiKeyFile: datadogApiKeyFile, appKeyFile: datadogAppKeyFile },
        },
        // Writes are forwarded only after the broker has read their approval from this dev server.
        temporal: { address: temporalAddress, namespace: NAMESPACE },
      }),
      { mode: 0o600 },
    );
    const broker = launch('broker', process.execPath, [join(PROJECT_ROOT, 'dist/broker/main.js')], logDir, {
      ...childEnv,
      BROKER_CONFIG: brokerConfigFile,
    });
    children.set('broker', broker);
    await waitForLog(join(logDir, 'broker.log'), /broker listening/, broker, 'broker');
    const brokerUrl = `http://127.0.0.1:${ports.broker}`;

    const kubeconfigFile = join(dir, 'kubeconfig.yaml');
    writeFileSync(kubeconfigFile, toYaml(kubeconfig(kubernetesUrl, kubernetesTokenFile, 'triage-worker')));

    const temporalUiUrl = `http://127.0.0.1:${ports.temporalUi}`;
    const settings = {
      temporal: { address: temporalAddress, namespace: NAMESPACE, taskQueue: TASK_QUEUE, uiUrl: temporalUiUrl },
      broker: { url: brokerUrl, tokenFile: brokerCallerTokenFile },
      worker: { healthPort: 0 },
      // Where the kubelet records Node events, as on EKS; the sandbox token may read it (`view` cluster-wide).
      // No readNodes: the emulator process binds `view` only, and Nodes are read only where node-reader is bound (the eval binds it).
      kubernetes: { cluster: 'sandbox', kubeconfig: kubeconfigFile, nodeEventsNamespace: NODE_EVENTS_NAMESPACE },
      aws: { region: scenario.cloudwatch?.region ?? 'eu-west-1', endpoint: cloudwatchUrl },
      approval: {
        ...(opts.approval ?? { reminderAfter: '10m', expireAfter: '30m' }),
        ...(opts.approvalChannels ? { channels: opts.approvalChannels } : {}),
      },
      retry: opts.retry ?? { maximumAttempts: 3, initialInterval: '500ms', maximumInterval: '5s' },
      writes: { timeout: opts.writeTimeout ?? '30s', maximumAttempts: 10 },
      services: {
        [scenario.pagerduty.incident.service.id]: {
          name: scenario.pagerduty.incident.service.summary,
          kubernetes: { namespaces: Object.keys(scenario.kubernetes.namespaces) },
          approvers: SANDBOX_APPROVERS,
          ...metricSettings(scenario),
          ...(githubRepo ? { github: { repo: githubRepo } } : {}),
          slack: { approvalChannel: slackChannels.approval, incidentsChannel: slackChannels.incidents },
        },
      },
    };
    // The gateway's file names its secret files; the worker's does not, as in a pod where it cannot read them.
    const gatewaySettings = {
      host: '127.0.0.1',
      port: ports.gateway,
      pagerdutyWebhookSecretFiles: [webhookSecretFile],
      slackSigningSecretFile,
    };
    writeFileSync(configFile, toYaml({ ...settings, gateway: gatewaySettings }));
    writeFileSync(workerConfigFile, toYaml(settings));

    await startWorker();

    const gateway = launch('gateway', process.execPath, [join(PROJECT_ROOT, 'dist/starter/main.js')], logDir, {
      ...childEnv,
      TRIAGE_CONFIG: configFile,
    });
    children.set('gateway', gateway);
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    await waitForHttp(`${gatewayUrl}/healthz`, gateway, logDir, 'gateway');

    const info: StackInfo = {
      gatewayUrl,
      temporalAddress,
      temporalUiUrl,
      temporalNamespace: NAMESPACE,
      taskQueue: TASK_QUEUE,
      brokerUrl,
      brokerAuditLog,
      brokerCallerTokenFile,
      pagerdutyUrl,
      kubernetesUrl,
      githubUrl,
      ...(githubRepo ? { githubRepo } : {}),
      slackUrl,
      datadogUrl,
      motoUrl: moto.url,
      cloudwatchUrl,
      podIdentityUrl,
      slackPageUrl: `${slackUrl}/`,
      slackChannels,
      pagerdutyWebhookSecretFile: webhookSecretFile,
      configFile,
      brokerConfigFile,
      secretDir,
      scenario: scenarioPath,
      incidentId: scenario.pagerduty.incident.id,
      approvers: SANDBOX_APPROVERS,
      logDir,
      pids: { ...Object.fromEntries([...children].map(([name, child]) => [name, child.pid!])), moto: moto.pid },
      startedAt: new Date().toISOString(),
    };
    const killWorker = async () => {
      const worker = children.get('worker');
      if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      process.kill(-worker.pid!, 'SIGKILL');
      await exited;
    };
    return {
      info,
      stop,
      killWorker,
      startWorker: async () => {
        await startWorker();
        info.pids.worker = children.get('worker')!.pid!;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The worker's environment as a pod spec would give it: only what it needs
 * (no inherited tokens from the shell or the CI runner), the Pod Identity
 * Agent's address and token file, and no AWS key of any kind, so the SDK's
 * default chain can only use the agent, as in production.
 */
function workerEnvironment(
  base: NodeJS.ProcessEnv,
  where: { configFile: string; home: string; agentUrl: string; tokenFile: string },
): NodeJS.ProcessEnv {
  const passed = Object.entries(base).filter(([name]) =>
    /^(PATH|TMPDIR|LANG|LC_[A-Z]+|TZ|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|SANDBOX_[A-Z_]+|TRIAGE_[A-Z_]+|TEMPORAL_[A-Z_]+)$/.test(name),
  );
  return {
    ...Object.fromEntries(passed),
    // The stack's directory, not the developer's: the SDK would prefer ~/.aws/credentials over the agent.
    HOME: where.home,
    TRIAGE_CONFIG: where.configFile,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: where.agentUrl,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: where.tokenFile,
    AWS_EC2_METADATA_DISABLED: 'true',
    // The sandbox has no egress policy: a machine with internet would reach the probe host.
    TRIAGE_DOCTOR_ALLOW_FAILED: 'egress.denied',
  };
}

/** The scenario's metric definitions are the service's configured metrics; the data stays with moto and the Datadog emulator. */
function metricSettings(scenario: Scenario): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (scenario.cloudwatch) {
    settings.cloudwatch = {
      region: scenario.cloudwatch.region,
      metrics: scenario.cloudwatch.metrics.map(({ series: _series, periodSeconds, ...metric }) => ({
        ...metric,
        period: `${periodSeconds}s`,
      })),
    };
  }
  if (scenario.datadog) {
    const { queries, monitorTags, logQuery } = scenario.datadog;
    settings.datadog = {
      queries: queries.map(({ label, query, dependency }) => ({ label, query, ...(dependency ? { dependency } : {}) })),
      monitorTags,
      ...(logQuery ? { logQuery } : {}),
    };
  }
  return settings;
}

/** The approval card goes to the scenario's first channel other than #incidents; the note to #incidents. */
function sandboxChannels(names: string[]): { approval: string; incidents: string } {
  return { approval: names.find((n) => n !== 'incidents') ?? 'incidents', incidents: 'incidents' };
}

/** The worker's ServiceAccount, as the broker's callers name it, and the broker's token audience (deploy/overlays/example/broker.yaml). */
const BROKER_CALLER = { namespace: 'keyless-triage', serviceAccount: 'keyless-triage-worker', audience: 'keyless-triage-broker' } as const;

function kubeconfig(server: string, tokenFile: string, user: string) {
  // The same file-backed token provider the client uses in a pod, so the token
  // stays out of the kubeconfig and a rotated file is picked up.
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: user, user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } } }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user } }],
    'current-context': 'sandbox',
  };
}

function launch(name: string, command: string, args: string[], logDir: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const log = openSync(join(logDir, `${name}.log`), 'a');
  // Own process group, so `make down` can stop a service with everything it spawned.
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.unref();
  return child;
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function stopPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  stopPids([child.pid]);
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function failure(name: string, logDir: string, why: string): Error {
  return new Error(`${name} ${why}; last lines of ${join(logDir, `${name}.log`)}:\n${tail(join(logDir, `${name}.log`))}`);
}

async function until(name: string, child: ChildProcess, logDir: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw failure(name, logDir, `exited (${child.exitCode ?? child.signalCode}) while starting`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw failure(name, logDir, `did not become ready within ${timeoutMs / 1000}s`);
}

async function waitForTemporal(address: string, child: ChildProcess, logDir: string): Promise<void> {
  await until('temporal', child, logDir, async () => {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
        return true;
      } finally {
        await connection.close();
      }
    } catch {
      return false;
    }
  });
}

async function waitForLog(file: string, pattern: RegExp, child: ChildProcess, name: string, fromByte = 0): Promise<void> {
  await until(
    name,
    child,
    resolve(file, '..'),
    async () => existsSync(file) && pattern.test(readFileSync(file).subarray(fromByte).toString('utf8')),
  );
}

async function waitForHttp(url: string, child: ChildProcess, logDir: string, name: string): Promise<void> {
  await until(name, child, logDir, async () => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
    } catch {
      return false;
    }
  });
}
