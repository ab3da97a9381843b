// Runs the PagerDuty and Kubernetes emulators for the local stack. The launcher
// reads the one JSON line on stdout to learn the URLs; tokens come from files so
// they never appear in argv (visible in `ps`) or in any output.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadScenario } from '../scenario.js';
import { startKubernetesEmulator } from './kubernetes.js';
import { startPagerDutyEmulator } from './pagerduty.js';

const HOST = '127.0.0.1';

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new Error(`${flag} must be a port number (0-65535)`);
  return Number(value);
}

async function token(path: string | undefined, flag: string): Promise<string> {
  if (!path) throw new Error(`${flag} is required`);
  const value = (await readFile(path, 'utf8')).trim();
  if (value.length === 0 || /\s/.test(value)) throw new Error(`${flag}: the file must hold one token on one line`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      'pagerduty-port': { type: 'string' },
      'kubernetes-port': { type: 'string' },
      'pagerduty-token-file': { type: 'string' },
      'kubernetes-token-file': { type: 'string' },
    },
    strict: true,
  });
  if (!values.scenario) throw new Error('--scenario is required');
  const scenario = await loadScenario(values.scenario);
  const pagerduty = await startPagerDutyEmulator({
    scenario,
    token: await token(values['pagerduty-token-file'], '--pagerduty-token-file'),
    host: HOST,
    port: port(values['pagerduty-port'], '--pagerduty-port'),
  });
  const kubernetes = await startKubernetesEmulator({
    scenario,
    token: await token(values['kubernetes-token-file'], '--kubernetes-token-file'),
    host: HOST,
    port: port(values['kubernetes-port'], '--kubernetes-port'),
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    Promise.all([pagerduty.close(), kubernetes.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`emulators: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ pagerdutyUrl: pagerduty.url, kubernetesUrl: kubernetes.url, scenario: scenario.name })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
