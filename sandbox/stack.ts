// The local stack: a real Temporal dev server, the SaaS emulators, the worker
// and the gateway, each its own process, wired by a generated configuration.
// Used by `make up`/`make down`, `make demo` and the end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify as toYaml } from 'yaml';
import { PROJECT_ROOT } from '../workers/paths.js';
import { triageSearchAttributes } from '../workflows/search-attributes.js';
import { loadScenario } from './scenario.js';
import { freePort, portIsFree } from './ports.js';
import { findTemporalCli } from './temporal-cli.js';

/** Sandbox users in the Slack sense; the first two approve, the third does not. */
export const SANDBOX_APPROVERS = ['U0ALICE', 'U0BOB'];
export const SANDBOX_NON_APPROVER = 'U0MALLORY';

export interface StackOptions {
  /** Working directory for the stack's files (config, secrets, SQLite, logs). */
  dir: string;
  scenario: string;
  /** Fixed ports; anything left out gets a free ephemeral port. */
  ports?: Partial<Record<'temporal' | 'temporalUi' | 'gateway' | 'pagerduty' | 'kubernetes', number>>;
  approval?: { reminderAfter: string; expireAfter: string };
  retry?: { maximumAttempts: number; initialInterval: string; maximumInterval: string };
}

export interface StackInfo {
  gatewayUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  temporalNamespace: string;
  taskQueue: string;
  pagerdutyUrl: string;
  kubernetesUrl: string;
  pagerdutyWebhookSecretFile: string;
  configFile: string;
  scenario: string;
  incidentId: string;
  approvers: string[];
  logDir: string;
  pids: Record<string, number>;
  startedAt: string;
}

export interface RunningStack {
  info: StackInfo;
  stop(): Promise<void>;
}

const NAMESPACE = 'default';
const TASK_QUEUE = 'keyless-triage';

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const dir = resolve(opts.dir);
  const logDir = join(dir, 'logs');
  const secretDir = join(dir, 'secrets');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(secretDir, { recursive: true, mode: 0o700 });
  const scenarioPath = resolve(opts.scenario);
  const scenario = await loadScenario(scenarioPath);

  // Generated per run, readable by this user only, never printed.
  const secret = (name: string) => {
    const file = join(secretDir, name);
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    return file;
  };
  const webhookSecretFile = secret('pagerduty-webhook-secret');
  const pagerdutyTokenFile = secret('pagerduty-token');
  const kubernetesTokenFile = secret('kubernetes-token');

  const port = async (name: keyof NonNullable<StackOptions['ports']>) => opts.ports?.[name] ?? (await freePort());
  const ports = {
    temporal: await port('temporal'),
    temporalUi: await port('temporalUi'),
    gateway: await port('gateway'),
    pagerduty: await port('pagerduty'),
    kubernetes: await port('kubernetes'),
  };
  for (const [name, p] of Object.entries(ports)) {
    if (!(await portIsFree(p))) throw new Error(`port ${p} (${name}) is in use; is another stack running? (\`make down\` stops the one \`make up\` started)`);
  }

  const children: { name: string; child: ChildProcess }[] = [];
  const stop = async () => {
    for (const { child } of [...children].reverse()) await terminate(child);
  };

  try {
    const temporal = launch('temporal', findTemporalCli(), [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(ports.temporal),
      '--ui-port', String(ports.temporalUi),
      '--db-filename', join(dir, 'temporal.db'),
      '--namespace', NAMESPACE,
      '--log-level', 'warn',
      ...triageSearchAttributes.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ], logDir);
    children.push({ name: 'temporal', child: temporal });
    const temporalAddress = `127.0.0.1:${ports.temporal}`;
    await waitForTemporal(temporalAddress, temporal, logDir);

    const emulators = launch('emulators', process.execPath, [
      join(PROJECT_ROOT, 'dist/sandbox/emulators/main.js'),
      '--scenario', scenarioPath,
      '--pagerduty-port', String(ports.pagerduty),
      '--kubernetes-port', String(ports.kubernetes),
      '--pagerduty-token-file', pagerdutyTokenFile,
      '--kubernetes-token-file', kubernetesTokenFile,
    ], logDir);
    children.push({ name: 'emulators', child: emulators });
    await waitForLog(join(logDir, 'emulators.log'), /"pagerdutyUrl"/, emulators, 'emulators');
    const pagerdutyUrl = `http://127.0.0.1:${ports.pagerduty}`;
    const kubernetesUrl = `http://127.0.0.1:${ports.kubernetes}`;

    const kubeconfigFile = join(dir, 'kubeconfig.yaml');
    writeFileSync(kubeconfigFile, toYaml(kubeconfig(kubernetesUrl, kubernetesTokenFile)));

    const configFile = join(dir, 'triage.yaml');
    const temporalUiUrl = `http://127.0.0.1:${ports.temporalUi}`;
    writeFileSync(
      configFile,
      toYaml({
        temporal: { address: temporalAddress, namespace: NAMESPACE, taskQueue: TASK_QUEUE, uiUrl: temporalUiUrl },
        gateway: { host: '127.0.0.1', port: ports.gateway, pagerdutyWebhookSecretFiles: [webhookSecretFile] },
        pagerduty: { apiUrl: pagerdutyUrl, tokenFile: pagerdutyTokenFile },
        kubernetes: { cluster: 'sandbox', kubeconfig: kubeconfigFile },
        approval: opts.approval ?? { reminderAfter: '10m', expireAfter: '30m' },
        retry: opts.retry ?? { maximumAttempts: 3, initialInterval: '500ms', maximumInterval: '5s' },
        services: {
          [scenario.pagerduty.incident.service.id]: {
            name: scenario.pagerduty.incident.service.summary,
            kubernetes: { namespaces: Object.keys(scenario.kubernetes.namespaces) },
            approvers: SANDBOX_APPROVERS,
          },
        },
      }),
    );

    const env = { ...process.env, TRIAGE_CONFIG: configFile };
    const worker = launch('worker', process.execPath, [join(PROJECT_ROOT, 'dist/workers/main.js')], logDir, env);
    children.push({ name: 'worker', child: worker });
    await waitForLog(join(logDir, 'worker.log'), /worker started/, worker, 'worker');

    const gateway = launch('gateway', process.execPath, [join(PROJECT_ROOT, 'dist/starter/gateway-main.js')], logDir, env);
    children.push({ name: 'gateway', child: gateway });
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    await waitForHttp(`${gatewayUrl}/healthz`, gateway, logDir, 'gateway');

    const info: StackInfo = {
      gatewayUrl,
      temporalAddress,
      temporalUiUrl,
      temporalNamespace: NAMESPACE,
      taskQueue: TASK_QUEUE,
      pagerdutyUrl,
      kubernetesUrl,
      pagerdutyWebhookSecretFile: webhookSecretFile,
      configFile,
      scenario: scenarioPath,
      incidentId: scenario.pagerduty.incident.id,
      approvers: SANDBOX_APPROVERS,
      logDir,
      pids: Object.fromEntries(children.map(({ name, child }) => [name, child.pid!])),
      startedAt: new Date().toISOString(),
    };
    return { info, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function kubeconfig(server: string, tokenFile: string) {
  // The same file-backed token provider the client uses in a pod, so the token
  // stays out of the kubeconfig and a rotated file is picked up.
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'triage-worker', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } } }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'triage-worker' } }],
    'current-context': 'sandbox',
  };
}

function launch(name: string, command: string, args: string[], logDir: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const log = openSync(join(logDir, `${name}.log`), 'w');
  // Own process group, so `make down` can stop a service with everything it spawned.
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.unref();
  return child;
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
    if (child.exitCode !== null || child.signalCode !== null) throw failure(name, logDir, `exited (${child.exitCode ?? child.signalCode}) while starting`);
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

async function waitForLog(file: string, pattern: RegExp, child: ChildProcess, name: string): Promise<void> {
  await until(name, child, resolve(file, '..'), async () => existsSync(file) && pattern.test(readFileSync(file, 'utf8')));
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
