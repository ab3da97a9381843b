// broker/main.ts as its pod runs it: a real `node` process reading
// BROKER_CONFIG, one JSON "broker listening" line on stdout, exit 1 when the
// PagerDuty grant is short, exit 0 after SIGTERM with the audit log flushed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { builtEntry } from '../built-entry.js';
import { call, createWorld, type World } from './harness.js';

const MAIN = builtEntry('broker/main.js');

interface Run {
  child: ChildProcess;
  stdout: string[];
  exit: Promise<number | null>;
  line(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    stdout.push(...lines.filter(Boolean));
  });
  child.stderr!.on('data', (chunk: Buffer) => stdout.push(`stderr: ${chunk.toString('utf8')}`));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  return {
    child,
    stdout,
    exit,
    async line(msg, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = stdout.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.msg === msg);
        if (found) return found;
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no "${msg}" line; stdout so far:\n${stdout.join('\n')}`);
    },
  };
}

async function worldWithConfigFile(): Promise<{ world: World; configFile: string }> {
  const world = await createWorld({ noBroker: true });
  const configFile = join(world.dir, 'broker.yaml');
  await writeFile(configFile, stringify(world.configDoc));
  return { world, configFile };
}

test('starts, logs one listening line, proxies, and exits 0 on SIGTERM with the audit flushed', async () => {
  const { world, configFile } = await worldWithConfigFile();
  const broker = run({ BROKER_CONFIG: configFile });
  try {
    const listening = await broker.line('broker listening');
    expect(listening).toMatchObject({ level: 'info', msg: 'broker listening', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const reply = await call(listening.url as string, 'GET', '/pagerduty/incidents/Q1', { headers: { 'x-triage-id': 'triage-main' } });
    expect(reply.status).toBe(200);
    expect(world.pagerduty.grants).toHaveLength(1);

    broker.child.kill('SIGTERM');
    expect(await broker.exit).toBe(0);
    const audit = (await readFile(world.auditPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toEqual([expect.objectContaining({ provider: 'pagerduty', triageId: 'triage-main', status: 200 })]);

    const output = broker.stdout.join('\n');
    for (const secret of world.allSecrets()) expect(output).not.toContain(secret);
    expect(broker.stdout.filter((l) => !l.startsWith('{'))).toEqual([]);
  } finally {
    broker.child.kill('SIGKILL');
    await world.close();
  }
}, 30_000);

test('exits 1 with a clear message when PagerDuty narrows the grant', async () => {
  const { world, configFile } = await worldWithConfigFile();
  world.pagerduty.grantedScope = () => 'as_account-us.acme';
  const broker = run({ BROKER_CONFIG: configFile });
  try {
    expect(await broker.exit).toBe(1);
    expect(await broker.line('broker failed to start', 0)).toMatchObject({
      level: 'error',
      reason: 'pagerduty: granted scope lacks incidents.read',
    });
    expect(broker.stdout.some((l) => l.includes('broker listening'))).toBe(false);
  } finally {
    broker.child.kill('SIGKILL');
    await world.close();
  }
}, 30_000);

test('exits 1 naming the setting when the config is invalid, or BROKER_CONFIG is unset', async () => {
  const { world, configFile } = await worldWithConfigFile();
  try {
    await writeFile(configFile, 'auditLog: a.jsonl\nupstreamTimeout: later\n');
    const bad = run({ BROKER_CONFIG: configFile });
    expect(await bad.exit).toBe(1);
    expect((await bad.line('broker failed to start', 0)).reason).toContain('upstreamTimeout: invalid duration');

    const unset = run({});
    expect(await unset.exit).toBe(1);
    expect((await unset.line('broker failed to start', 0)).reason).toContain('BROKER_CONFIG is not set');
  } finally {
    await world.close();
  }
}, 30_000);
