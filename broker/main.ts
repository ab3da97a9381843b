// The broker process (its own Deployment): `BROKER_CONFIG=/etc/broker/broker.yaml node dist/broker/main.js`.
// Exits 1 when it cannot serve what it is configured for (bad config, audit
// log not writable, PagerDuty grant failed or narrowed), so a rollout fails
// loudly instead of the worker meeting 503s later.
import { startBroker } from './broker.js';
import { loadBrokerConfigFromEnv } from './config.js';
import { createJsonLogger } from '../config/logger.js';

const log = createJsonLogger({ base: { component: 'broker' } });

async function main(): Promise<void> {
  let broker;
  try {
    broker = await startBroker(loadBrokerConfigFromEnv(), { log });
  } catch (err) {
    log.error('broker failed to start', { reason: (err as Error).message });
    process.exitCode = 1;
    return;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('broker stopping', { signal });
    broker.close().then(
      () => {
        log.info('broker stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error('broker shutdown failed', { reason: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
