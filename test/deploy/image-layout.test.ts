// The runtime image's file layout, assembled without Docker: package.json, the
// CLI, dist/ without dist/sandbox, and node_modules from `npm ci --omit=dev`,
// as deploy/Dockerfile's final stage holds them (dockerfile.test.ts pins that
// list). Then every process the image documents is run from it, so an import
// of a devDependency or of the sandbox fails here rather than in a pod.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../config/paths.js';

let app: string;

/** What the image's ENV sets, and nothing from this shell (no PATH tools, no tokens). */
const IMAGE_ENV = { NODE_ENV: 'production', AWS_EC2_METADATA_DISABLED: 'true', PATH: process.env.PATH ?? '/usr/bin:/bin' };

function run(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: app, env: { ...IMAGE_ENV, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** A module that the image lacks shows up as this, whatever the entry point does next. */
const MISSING_MODULE = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'triage-image-'));
  for (const file of ['package.json', 'package-lock.json', 'bin/triage.js']) {
    mkdirSync(join(app, file, '..'), { recursive: true });
    cpSync(join(PROJECT_ROOT, file), join(app, file));
  }
  cpSync(join(PROJECT_ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  rmSync(join(app, 'dist', 'sandbox'), { recursive: true, force: true });
  // The deps stage's install; the cache the project's own `npm ci` filled makes it quick.
  const install = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: app,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (install.status !== 0) throw new Error(`npm ci --omit=dev failed (${install.status}): ${install.stderr.slice(-2000)}`);
  rmSync(join(app, 'package-lock.json'));
}, 320_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

test.each([
  [
    'worker',
    'dist/workers/main.js',
    { TRIAGE_CONFIG: '/nonexistent/triage.yaml' },
    /cannot read configuration file \/nonexistent\/triage\.yaml/,
  ],
  [
    'gateway',
    'dist/starter/main.js',
    { TRIAGE_CONFIG: '/nonexistent/triage.yaml' },
    /cannot read configuration file \/nonexistent\/triage\.yaml/,
  ],
  ['broker', 'dist/broker/main.js', {}, /BROKER_CONFIG is not set/],
])('the %s loads all its modules from the image layout and stops at its missing configuration, naming it', (_name, entry, env, message) => {
  const result = run([entry], env);
  expect(result.stderr + result.stdout).not.toMatch(MISSING_MODULE);
  expect(result.stderr + result.stdout).toMatch(message);
  expect(result.status).not.toBe(0);
});

// The CLI imports its commands statically, so a help run loads every one of them.
test('the CLI loads from the image layout with all its commands', () => {
  const help = run(['bin/triage.js', '--help']);
  expect(help.stderr).not.toMatch(MISSING_MODULE);
  expect(help.status).toBe(0);
  const commands = [...help.stdout.slice(help.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
  expect(commands).toEqual(expect.arrayContaining(['start', 'approve', 'reject', 'status', 'audit', 'doctor', 'egress', 'replay']));
});

test("the prebuilt workflow bundle and Temporal's native core load from the image layout: a recorded history replays", () => {
  const history = join(PROJECT_ROOT, 'test', 'histories', 'four-surfaces-approved.json');
  const result = run(['bin/triage.js', 'replay', history]);
  expect(result.stderr).not.toMatch(MISSING_MODULE);
  expect(result.stdout).toContain('deterministic');
  expect(result.status).toBe(0);
});
