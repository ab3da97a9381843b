// Worker entry point: `node dist/workers/main.js` (TRIAGE_CONFIG names the YAML file).
import { existsSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, configPath, loadConfig } from './config.js';
import { WORKFLOW_BUNDLE } from './paths.js';
import { createTriageWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig(configPath());
  if (!existsSync(WORKFLOW_BUNDLE)) throw new ConfigError(`workflow bundle ${WORKFLOW_BUNDLE} is missing; run \`npm run build\``);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createTriageWorker(config, { connection, workflowBundle: { codePath: WORKFLOW_BUNDLE } });
  // The SDK's runtime turns SIGTERM/SIGINT into a graceful shutdown: no new
  // tasks are polled and running activities get until the grace period to finish.
  console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'worker started', taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }));
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
  console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'worker stopped' }));
}

main().catch((err: unknown) => {
  const msg = err instanceof ConfigError ? err.message : `worker failed: ${(err as Error)?.message ?? String(err)}`;
  console.error(msg);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
