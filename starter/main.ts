// Gateway entry point: `node dist/starter/main.js` (TRIAGE_CONFIG names the YAML file).
import { readFileSync } from 'node:fs';
import { ConfigError, configPath, loadConfig } from '../config/config.js';
import { createGatewayApp } from './gateway.js';
import { createJsonLogger } from '../config/logger.js';
import { clientIdentity, lazyClient, triageClient } from './triage-client.js';

function main(): void {
  const config = loadConfig(configPath());
  if (!config.gateway) throw new ConfigError('gateway: section missing (host, port, pagerdutyWebhookSecretFiles)');
  const { host, port, pagerdutyWebhookSecretFiles, slackSigningSecretFile } = config.gateway;
  const logger = createJsonLogger({ base: { component: 'gateway' } });
  // Read on each delivery: a rotated Secret (two files during the overlap) needs no restart.
  const secrets = () => pagerdutyWebhookSecretFiles.map((f) => readFileSync(f, 'utf8').trim()).filter((s) => s.length > 0);
  secrets(); // fail at start, not on the first page, if a file is unreadable
  // Also read per request: Bolt takes the signing secret as a function, so a
  // regenerated secret is live as soon as the mounted file changes, no restart.
  const slackSigningSecret = slackSigningSecretFile ? () => readFileSync(slackSigningSecretFile, 'utf8').trim() : undefined;
  if (slackSigningSecret && slackSigningSecret() === '')
    throw new ConfigError(`gateway.slackSigningSecretFile: ${slackSigningSecretFile} is empty`);
  const client = lazyClient(config.temporal, { identity: clientIdentity.gateway() });
  const app = createGatewayApp({
    secrets,
    triage: triageClient(client, config.temporal, logger),
    logger,
    ...(slackSigningSecret ? { slack: { signingSecret: slackSigningSecret } } : {}),
  });
  const server = app.listen(port, host, () =>
    logger.info('gateway listening', { url: `http://${host}:${port}`, slackInteractions: slackSigningSecret !== undefined }),
  );
  const shutdown = () => {
    logger.info('gateway stopping');
    server.close(() => void client.connection.close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

try {
  main();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `gateway failed: ${(err as Error).message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}
