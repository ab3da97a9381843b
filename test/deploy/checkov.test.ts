// checkov (pinned in requirements-dev.txt, installed in .venv) over deploy/:
// the raw manifests (framework kubernetes) and every kustomization as
// kustomize renders it (framework kustomize). No check may fail. A check may
// only be skipped by a `checkov.io/skip<N>: CKV_K8S_xx=<reason>` annotation
// on the object it concerns, where a reviewer sees it: this test passes no
// skip flag, runs checkov where no .checkov.yaml can reach it, with none of
// its CKV_* variables, and checks that the number of skips checkov reports is
// the number of annotations in the manifests.
//
// Offline: no API key (so no platform calls), --skip-download (no policy
// metadata download), CKV_SKIP_PACKAGE_UPDATE_CHECK (no PyPI version check).
// Every HTTP(S) client checkov uses honours HTTP(S)_PROXY, which point at a
// local listener that counts connections: there must be none.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../config/paths.js';

const CHECKOV = join(PROJECT_ROOT, '.venv/bin/checkov');
const KUSTOMIZE = process.env.KUSTOMIZE ?? join(PROJECT_ROOT, '.tools/bin/kustomize');
const DEPLOY = join(PROJECT_ROOT, 'deploy');
/** The kustomizations checkov renders (a Component is not built on its own). */
// Every directory with a kustomization.yaml: checkov's kustomize framework renders each one, components included.
const KUSTOMIZATIONS = [
  join(DEPLOY, 'base'),
  join(DEPLOY, 'overlays/example'),
  join(DEPLOY, 'components/cluster-wide-view'),
  join(DEPLOY, 'components/node-events'),
  join(DEPLOY, 'components/node-reader'),
  join(DEPLOY, 'components/cilium-egress'),
];
const SKIP_ANNOTATION = /^checkov\.io\/skip\d+$/;

interface CheckovReport {
  check_type: string;
  results: { failed_checks?: { check_id: string; check_name: string; resource: string; file_path: string }[] };
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number; resource_count: number };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(e.name) ? [path] : [];
  });
}

/** Skip annotations on the objects in a YAML stream (only objects with a kind count, as for checkov). */
function skipAnnotations(text: string): string[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; metadata?: { annotations?: Record<string, string> } } | null)
    .filter((o) => o?.kind)
    .flatMap((o) =>
      Object.entries(o!.metadata?.annotations ?? {})
        .filter(([k]) => SKIP_ANNOTATION.test(k))
        .map(([, v]) => v),
    );
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let work: string;
let proxy: Server;
let proxyConnections = 0;
let reports: CheckovReport[];
let stderr: string;

beforeAll(async () => {
  if (!existsSync(CHECKOV))
    throw new Error(`checkov is missing at ${CHECKOV}: run \`make install\` (it installs requirements-dev.txt into .venv)`);
  if (!existsSync(KUSTOMIZE))
    throw new Error(`kustomize is missing at ${KUSTOMIZE}: run \`make .tools/bin/kustomize\` (make test builds it), or set KUSTOMIZE`);

  work = mkdtempSync(join(tmpdir(), 'checkov-'));
  // PATH holds kustomize and nothing else, so checkov renders with the pinned
  // kustomize (it would prefer a kubectl on PATH, whose kustomize differs).
  mkdirSync(join(work, 'bin'));
  symlinkSync(KUSTOMIZE, join(work, 'bin', 'kustomize'));
  proxy = createServer((socket) => {
    proxyConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const started = Date.now();
  const result = await run(
    CHECKOV,
    ['-d', DEPLOY, '--framework', 'kubernetes', 'kustomize', '--quiet', '--compact', '-o', 'json', '--skip-download'],
    {
      cwd: work,
      env: {
        PATH: join(work, 'bin'),
        HOME: work,
        TMPDIR: work,
        LANG: 'C.UTF-8',
        CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true',
        HTTP_PROXY: proxyUrl,
        HTTPS_PROXY: proxyUrl,
        http_proxy: proxyUrl,
        https_proxy: proxyUrl,
      },
    },
  );
  stderr = result.stderr;
  if (result.code !== 0 && result.code !== 1)
    throw new Error(`checkov exited ${result.code} after ${Date.now() - started} ms:\n${result.stderr.slice(-4000)}`);
  const parsed = JSON.parse(result.stdout) as CheckovReport | CheckovReport[];
  reports = Array.isArray(parsed) ? parsed : [parsed];
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

test('scans the raw manifests and the rendered kustomizations', () => {
  expect(reports.map((r) => r.check_type).sort()).toEqual(['kubernetes', 'kustomize']);
  for (const r of reports) {
    expect({ framework: r.check_type, parsingErrors: r.summary.parsing_errors }).toEqual({ framework: r.check_type, parsingErrors: 0 });
    expect(r.summary.resource_count).toBeGreaterThan(10);
    expect(r.summary.passed).toBeGreaterThan(100);
  }
});

test('no check fails', () => {
  const failed = reports.flatMap((r) =>
    (r.results.failed_checks ?? []).map((c) => `${r.check_type}: ${c.check_id} ${c.check_name} — ${c.resource} (${c.file_path})`),
  );
  expect(failed).toEqual([]);
  for (const r of reports) expect(r.summary.failed).toBe(0);
});

test('every skip is an annotation with a reason, and checkov skipped nothing else', () => {
  const raw = yamlFiles(DEPLOY).flatMap((f) => skipAnnotations(readFileSync(f, 'utf8')));
  for (const value of raw) expect(value).toMatch(/^CKV2?_K8S_\d+=\S.{40,}$/);
  const rendered = KUSTOMIZATIONS.flatMap((dir) => skipAnnotations(execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8' })));
  expect(
    yamlFiles(DEPLOY)
      .filter((f) => f.endsWith('/kustomization.yaml'))
      .map((f) => resolve(f, '..'))
      .sort(),
  ).toEqual([...KUSTOMIZATIONS].sort());
  const skipped = Object.fromEntries(reports.map((r) => [r.check_type, r.summary.skipped]));
  expect(skipped).toEqual({ kubernetes: raw.length, kustomize: rendered.length });
  // A config file next to the manifests could carry skip-check; there is none.
  expect(yamlFiles(DEPLOY).filter((f) => /(^|\/)\.checkov\.ya?ml$/.test(f))).toEqual([]);
});

test('runs offline: no connection attempt', () => {
  expect({ connections: proxyConnections, stderr: stderr.split('\n').filter((l) => /https?:\/\//.test(l)) }).toEqual({
    connections: 0,
    stderr: [],
  });
});
