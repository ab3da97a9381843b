// Worker entry point: `node dist/workers/main.js` (TRIAGE_CONFIG names the YAML file).
import { existsSync } from 'node:fs';
import { runStartupDoctor } from './doctor/doctor.js';
import { createJsonLogger } from '../config/logger.js';
import { ConfigError, configPath, loadConfig } from '../config/config.js';
import { WORKFLOW_BUNDLE } from '../config/paths.js';
import { WorkerConnection } from '../config/temporal-connection.js';
import { ensureSearchAttributes, SearchAttributesMissing } from '../config/temporal-search-attributes.js';
import { triageSearchAttributes } from '../workflows/search-attributes.js';
import { startWorkerHealth } from './health.js';
import { activitiesFrom, createTriageWorker, kubeConfigFrom } from './worker.js';

/** Exit code when the start-up doctor refuses: apart from configuration errors (2). */
const DOCTOR_REFUSED = 3;

const log = createJsonLogger({ base: { component: 'worker' } });

async function main(): Promise<void> {
  const config = loadConfig(configPath());
  if (!existsSync(WORKFLOW_BUNDLE)) throw new ConfigError(`workflow bundle ${WORKFLOW_BUNDLE} is missing; run \`npm run build\``);
  // Refuse to run over-privileged or leaky (readable Secrets, static AWS keys, credentials in the
  // environment, open egress) before polling a single task; `triage doctor` runs the same checks.
  const kubeConfig = kubeConfigFrom(config);
  const doctor = await runStartupDoctor(config, { configFile: configPath(), deps: { kubeConfig: () => kubeConfig } });
  for (const { level, msg, ...fields } of doctor.records) log[level](msg, fields);
  if (!doctor.proceed) {
    console.error(doctor.refusal);
    process.exit(DOCTOR_REFUSED);
  }
  // Validates the Temporal credential files (if any) and follows their rotation.
  const temporal = await WorkerConnection.open(config.temporal, { logger: log });
  const registered = await ensureSearchAttributes(
    temporal.connection,
    config.temporal.namespace,
    triageSearchAttributes.map((k) => k.name),
    { register: config.temporal.registerSearchAttributes !== false },
  );
  if (registered.length > 0) log.info('search attributes registered', { namespace: config.temporal.namespace, registered });
  const worker = await createTriageWorker(config, {
    connection: temporal.connection,
    workflowBundle: { codePath: WORKFLOW_BUNDLE },
    activities: activitiesFrom(config, kubeConfig),
  });
  temporal.attach(worker);
  const health = await startWorkerHealth({ state: () => worker.getState(), port: config.worker.healthPort });
  // The SDK's runtime turns SIGTERM/SIGINT into a graceful shutdown: no new
  // tasks are polled and running activities get until the grace period to finish.
  log.info('worker started', { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, health: health.url });
  try {
    await worker.run();
  } finally {
    await health.close();
    await temporal.close();
  }
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  const msg =
    err instanceof ConfigError || err instanceof SearchAttributesMissing
      ? err.message
      : `worker failed: ${(err as Error)?.message ?? String(err)}`;
  console.error(msg);
  process.exit(err instanceof ConfigError ? 2 : err instanceof SearchAttributesMissing ? DOCTOR_REFUSED : 1);
});
