// A real Temporal dev server (the project's Temporal CLI, never a download),
// the workflow bundle built once per suite, and per-test emulators + worker.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { parseConfig, type TriageConfig } from '../../workers/config.js';
import { PROJECT_ROOT, WORKFLOWS_SOURCE } from '../../workers/paths.js';
import { activitiesFrom } from '../../workers/worker.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';
import { findTemporalCli } from '../../sandbox/temporal-cli.js';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startPagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';
import { startKubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import { queryStatus } from '../../starter/triage-client.js';
import type { TriageStatus } from '../../workflows/messages.js';

export const SCENARIO_FILE = join(PROJECT_ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml');
export const APPROVERS = ['U0ALICE', 'U0BOB'];

let runtimeInstalled = false;

export async function startTestEnvironment(): Promise<{ env: TestWorkflowEnvironment; bundle: WorkflowBundle }> {
  if (!runtimeInstalled) {
    // Runtime.install may run once per process, before any connection.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findTemporalCli() }, searchAttributes: triageSearchAttributes },
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_SOURCE, logger: new DefaultLogger('WARN') });
  return { env, bundle };
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
}

export interface FixtureOptions {
  approval?: { reminderAfter: string; expireAfter: string };
  mutate?: (s: Scenario) => void;
  /** The service id the configuration knows; defaults to the scenario's. */
  configuredServiceId?: string;
}

/**
 * Runs `fn` with emulators serving a fresh incident and a worker on its own
 * task queue, then tears both down.
 */
export async function withTriageWorker<T>(
  { env, bundle }: { env: TestWorkflowEnvironment; bundle: WorkflowBundle },
  opts: FixtureOptions,
  fn: (fx: TriageFixture) => Promise<T>,
): Promise<T> {
  const scenario = await uniqueScenario(opts.mutate);
  const dir = mkdtempSync(join(tmpdir(), 'triage-test-'));
  const pdToken = randomBytes(24).toString('hex');
  const k8sToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'pagerduty-token');
  writeFileSync(tokenFile, pdToken, { mode: 0o600 });
  const pagerduty = await startPagerDutyEmulator({ scenario, token: pdToken });
  const kubernetes = await startKubernetesEmulator({ scenario, token: k8sToken });
  const taskQueue = `triage-test-${counter}`;
  const config = parseConfig({
    temporal: { address: env.address, namespace: env.namespace ?? 'default', taskQueue, uiUrl: 'http://127.0.0.1:8233' },
    pagerduty: { apiUrl: pagerduty.url, tokenFile },
    kubernetes: { cluster: 'sandbox' },
    approval: opts.approval ?? { reminderAfter: '10m', expireAfter: '30m' },
    retry: { maximumAttempts: 3, initialInterval: '100ms', maximumInterval: '1s' },
    services: {
      [opts.configuredServiceId ?? scenario.pagerduty.incident.service.id]: {
        name: scenario.pagerduty.incident.service.summary,
        kubernetes: { namespaces: Object.keys(scenario.kubernetes.namespaces) },
        approvers: APPROVERS,
      },
    },
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server: kubernetes.url, skipTLSVerify: true }],
    users: [{ name: 'worker', token: k8sToken }],
    contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'worker' }],
    currentContext: 'sandbox',
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: activitiesFrom(config, kc),
  });
  try {
    return await worker.runUntil(fn({ scenario, incidentId: scenario.pagerduty.incident.id, config, pagerduty, kubernetes }));
  } finally {
    await Promise.all([pagerduty.close(), kubernetes.close()]);
  }
}

export async function waitForStatus(
  env: TestWorkflowEnvironment,
  incidentId: string,
  done: (s: TriageStatus) => boolean,
  timeoutMs = 30_000,
): Promise<TriageStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: TriageStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await queryStatus(env.client, incidentId);
      if (done(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status condition not met within ${timeoutMs} ms; last status: ${JSON.stringify(last)}`);
}
