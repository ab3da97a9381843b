// The container image (deploy/Dockerfile, .dockerignore): linted with hadolint,
// and checked for what matters when the process is assumed compromised: who it
// runs as, what goes into the image, and that the three entry points it
// documents are the ones the build produces. The tests need no container
// engine: image-layout.test.ts runs the processes from the same file layout,
// and `make image-check` (deploy/image/, part of `make test` where buildah is
// installed) builds the image itself with buildah and runs them in it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../config/paths.js';

const DOCKERFILE = join(PROJECT_ROOT, 'deploy', 'Dockerfile');
const DOCKERIGNORE = join(PROJECT_ROOT, '.dockerignore');
const HADOLINT = join(PROJECT_ROOT, '.venv', 'bin', 'hadolint');

/** The deploy manifests run the containers as this uid/gid (runAsUser/runAsGroup). */
const RUNTIME_USER = '10001:10001';

/** What a Pod may run, as the Dockerfile header documents it; each must be built into dist/. */
const ENTRY_POINTS = ['dist/workers/main.js', 'dist/starter/main.js', 'dist/broker/main.js'];

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  /** The base image with the global build arguments at their defaults, as a plain `docker build` reads it. */
  from: string;
  /** The FROM line's image as written (e.g. `${BUILD_BASE}`). */
  written: string;
  name?: string;
  instructions: Instruction[];
}

/** The ARGs before the first FROM (the only ones a FROM line can use), with their defaults. */
const globalArgs = new Map<string, string>();

/** Enough of the Dockerfile grammar for these checks: comments, continuations, stages, global ARGs. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i]!;
    if (/^\s*(#|$)/.test(logical)) continue;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      logical = logical.replace(/\\\s*$/, ' ') + next.trim();
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(logical);
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(logical)}`);
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const [written, as, name] = instruction.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      const from = written!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
        const arg = (braced ?? bare)!;
        if (!globalArgs.has(arg))
          throw new Error(`Dockerfile line ${start + 1}: FROM uses ${arg}, which no ARG before the first FROM declares`);
        return globalArgs.get(arg)!;
      });
      stages.push({ from, written: written!, ...(as?.toUpperCase() === 'AS' ? { name } : {}), instructions: [] });
    } else {
      if (stages.length === 0) {
        if (instruction.keyword === 'ARG') {
          const [arg, value] = instruction.args.split('=', 2);
          globalArgs.set(arg!, value ?? '');
          continue;
        }
        throw new Error(`Dockerfile line ${start + 1}: ${instruction.keyword} before FROM`);
      }
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
const stages = parseDockerfile(dockerfileText);
const finalStage = stages.at(-1)!;
const all = stages.flatMap((s) => s.instructions);
const inFinal = (keyword: string) => finalStage.instructions.filter((i) => i.keyword === keyword);

/** COPY's flags and its sources (everything but the last word, which is the destination). */
function copyParts(args: string): { from?: string; sources: string[]; destination: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1), destination: rest.at(-1)! };
}

describe('hadolint', () => {
  function hadolint(args: string[], input?: string) {
    if (!existsSync(HADOLINT)) throw new Error(`${HADOLINT} is missing: run \`make install\` (make test does)`);
    const run = spawnSync(HADOLINT, ['--format', 'json', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      ...(input !== undefined ? { input } : {}),
    });
    return {
      status: run.status,
      findings: JSON.parse(run.stdout || '[]') as Array<{ code: string; line: number; message: string }>,
      stderr: run.stderr,
    };
  }

  test('reports a finding for a Dockerfile with one (so a silent run means something)', () => {
    const run = hadolint(['-'], 'FROM node:latest\nRUN echo hi\n');
    expect(run.findings.map((f) => f.code)).toContain('DL3007');
    expect(run.status).toBe(1);
  });

  test('finds nothing in deploy/Dockerfile', () => {
    const run = hadolint([DOCKERFILE]);
    expect(run.findings).toEqual([]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test('no rule is switched off without a reason on the line above', () => {
    const lines = dockerfileText.split('\n');
    lines.forEach((line, i) => {
      if (/hadolint\s+ignore=/.test(line)) expect(lines[i - 1] ?? '').toMatch(/^\s*#\s*\S.{10,}/);
    });
  });
});

describe('image', () => {
  test('is multi-stage, and every base image has an explicit, non-latest tag or is an earlier stage', () => {
    expect(stages.length).toBeGreaterThan(1);
    const names = new Set<string>();
    for (const s of stages) {
      if (!names.has(s.from)) expect(s.from).toMatch(/^[a-z0-9./-]+(:[\w.-]+)(@sha256:[a-f0-9]{64})?$|@sha256:[a-f0-9]{64}$/);
      expect(s.from).not.toMatch(/:latest$/);
      if (s.name) names.add(s.name);
    }
  });

  // make image (deploy/image/) builds this file with local stand-ins for the two
  // public bases, passed as these arguments; a plain docker build uses the defaults.
  test('takes its base images as build arguments, defaulting to the public images with the Node the project runs', () => {
    const nodeVersion = /^NODE_VERSION := (\S+)$/m.exec(readFileSync(join(PROJECT_ROOT, 'Makefile'), 'utf8'))?.[1];
    expect(nodeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.fromEntries(globalArgs)).toEqual({
      BUILD_BASE: `node:${nodeVersion}-bookworm-slim`,
      RUNTIME_BASE: `gcr.io/distroless/nodejs${nodeVersion!.split('.')[0]}-debian12:nonroot`,
    });
    const names = new Set(stages.flatMap((s) => (s.name ? [s.name] : [])));
    const images = stages.filter((s) => !names.has(s.written)).map((s) => s.written);
    expect(new Set(images)).toEqual(new Set(['${BUILD_BASE}', '${RUNTIME_BASE}']));
  });

  test('runs as the numeric non-root user the manifests expect', () => {
    const users = inFinal('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(
      user
        .split(':')
        .map(Number)
        .every((id) => id > 0),
    ).toBe(true);
    expect(user).toBe(RUNTIME_USER);
    // The image's passwd names that uid (distroless has no useradd), so os.userInfo() works.
    const [uid, gid] = RUNTIME_USER.split(':');
    const accounts = stages.find((s) => s.name === 'accounts')!;
    expect(accounts.instructions.find((i) => i.keyword === 'RUN')?.args).toContain(`:x:${uid}:${gid}:`);
  });

  // WORKDIR creates its directory as the current user, and distroless's :nonroot
  // base sets USER 65532: without a USER root before it, /app would be that
  // user's (make image-check finds every file under /app root-owned).
  test('creates /app as root, whatever user the runtime base sets', () => {
    const instructions = finalStage.instructions;
    const workdir = instructions.findIndex((i) => i.keyword === 'WORKDIR' && i.args === '/app');
    expect(workdir).toBeGreaterThanOrEqual(0);
    const user = instructions
      .slice(0, workdir)
      .filter((i) => i.keyword === 'USER')
      .at(-1)?.args;
    expect(user).toMatch(/^(0|root)(:(0|root))?$/);
  });

  test('adds nothing from a URL (no ADD at all: COPY is enough here)', () => {
    for (const i of all.filter((x) => x.keyword === 'ADD')) expect(i.args).not.toMatch(/https?:\/\/|git@|\.git\b/);
    expect(all.filter((x) => x.keyword === 'ADD')).toEqual([]);
  });

  test('declares no secret-looking build argument or environment variable', () => {
    const names = [...all, ...parseArgsBeforeFrom()].flatMap((i) => {
      if (i.keyword === 'ARG') return [i.args.split('=')[0]!];
      if (i.keyword === 'ENV') return [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)[=\s]/g)].map((m) => m[1]!);
      return [];
    });
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).not.toMatch(/TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL|AUTH/i);
  });

  function parseArgsBeforeFrom(): Instruction[] {
    const head = dockerfileText.slice(0, dockerfileText.search(/^FROM\s/m));
    return [...head.matchAll(/^ARG\s+(.+)$/gm)].map((m) => ({ keyword: 'ARG', args: m[1]!.trim(), line: 0 }));
  }

  test('builds from the lock file with install scripts off, and the runtime gets production dependencies only', () => {
    const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b(?=.*--ignore-scripts)(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r) && /dist\/workflow-bundle\.js/.test(r))).toBe(true);
    const nodeModules = inFinal('COPY')
      .map((i) => copyParts(i.args))
      .find((c) => c.destination.replace(/\/$/, '').endsWith('node_modules'));
    expect(nodeModules?.from).toBeDefined();
    const depsStage = stages.find((s) => s.name === nodeModules!.from)!;
    expect(
      depsStage.instructions.some(
        (i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && /--omit=dev/.test(i.args) && /--ignore-scripts/.test(i.args),
      ),
    ).toBe(true);
  });

  test('the final stage holds dist/ (with the workflow bundle), production node_modules, package.json and the CLI: nothing else', () => {
    const copies = inFinal('COPY').map((i) => copyParts(i.args));
    const fromContext = copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext.sort()).toEqual(['bin/triage.js', 'package.json']);
    const fromStages = copies.filter((c) => c.from).flatMap((c) => c.sources.map((s) => `${c.from}:${s}`));
    const buildStage = stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args)))!;
    expect(fromStages).toContain(`${buildStage.name}:/src/dist`);
    expect(fromStages.filter((s) => s.endsWith('/node_modules'))).toHaveLength(1);
    // The build stage's WORKDIR is where dist/ and the bundle are produced.
    expect(buildStage.instructions.find((i) => i.keyword === 'WORKDIR')?.args).toBe('/src');
    // Only accounts (passwd/group) besides the above.
    expect(fromStages.filter((s) => !s.endsWith('/dist') && !s.endsWith('/node_modules')).sort()).toEqual([
      'accounts:/accounts/group',
      'accounts:/accounts/passwd',
    ]);
  });

  test('runs in production mode, the worker by default, node as the entrypoint, no Docker healthcheck', () => {
    const env = Object.fromEntries(
      inFinal('ENV').flatMap((i) => [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
    );
    expect(env.NODE_ENV).toBe('production');
    // No fallback from a missing Pod Identity association to the node's instance role.
    expect(env.AWS_EC2_METADATA_DISABLED).toBe('true');
    expect(JSON.parse(inFinal('ENTRYPOINT').at(-1)!.args)).toEqual(['/nodejs/bin/node']);
    // The Deployments run `command: ["node", ...]` and `node -e` exec probes: node must resolve on PATH.
    expect(env.PATH?.split(':')).toContain('/nodejs/bin');
    expect(JSON.parse(inFinal('CMD').at(-1)!.args)).toEqual([ENTRY_POINTS[0]]);
    expect(inFinal('HEALTHCHECK').map((i) => i.args)).toEqual(['NONE']);
    expect(inFinal('WORKDIR').at(-1)?.args).toBe('/app');
  });

  test('carries the OCI source and licence labels', () => {
    const labels = inFinal('LABEL')
      .map((i) => i.args)
      .join(' ');
    expect(labels).toContain('org.opencontainers.image.source=');
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
    expect(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
  });

  test('documents exactly the three entry points in its header', () => {
    const header = dockerfileText.slice(0, dockerfileText.search(/^FROM\s/m));
    const documented = [...header.matchAll(/command: \["node", "([^"]+)"\]/g)].map((m) => m[1]);
    expect(documented).toEqual(ENTRY_POINTS);
  });
});

describe('built entry points', () => {
  const dist = join(PROJECT_ROOT, 'dist');

  function requireBuilt(path: string): string {
    const full = join(PROJECT_ROOT, path);
    if (!existsSync(full)) throw new Error(`${full} is missing: run \`npm run build\` first (make test does)`);
    return full;
  }

  test('the three entry points, the CLI and the workflow bundle exist in dist/', () => {
    for (const p of [...ENTRY_POINTS, 'dist/cli/main.js', 'dist/workflow-bundle.js'])
      expect(statSync(requireBuilt(p)).size).toBeGreaterThan(0);
  });

  // The image drops dist/sandbox (the local emulators); nothing it runs may need it.
  test('no entry point reaches dist/sandbox through its imports', () => {
    const seen = new Set<string>();
    const queue = [...ENTRY_POINTS, 'dist/cli/main.js'].map(requireBuilt);
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), m[1]!);
        expect(relative(dist, target).split('/')[0]).not.toBe('sandbox');
        if (existsSync(target)) queue.push(target);
      }
    }
    expect(seen.size).toBeGreaterThan(ENTRY_POINTS.length);
  });
});

/**
 * .dockerignore as BuildKit reads it: patterns are Go globs on slash paths
 * (`*` and `?` stay within a segment, `**` spans segments), a pattern that
 * matches a parent directory matches everything under it, and the last
 * matching line wins (`!` re-includes).
 */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const exclude = !l.startsWith('!');
      const pattern = (exclude ? l : l.slice(1)).replace(/^\/+|\/+$/g, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          i++;
          if (pattern[i + 1] === '/') {
            i++;
            re += '(.*/)?';
          } else re += '.*';
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { exclude, re: new RegExp(`^${re}$`) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = r.exclude;
    return excluded;
  };
}

describe('.dockerignore', () => {
  const isExcluded = dockerignore(readFileSync(DOCKERIGNORE, 'utf8'));

  test.each([
    '.sandbox/secrets/broker/github-app.pem',
    '.sandbox/triage.yaml',
    '.venv/bin/hadolint',
    '.git/config',
    '.tools/bin/kustomize',
    'node_modules/undici/package.json',
    'dist/workers/main.js',
    'test/deploy/dockerfile.test.ts',
    'coverage/lcov.info',
    'github-app.pem',
    'sandbox/emulators/leaked.pem',
    'broker/tls.key',
    '.env',
    'starter/.env.production',
    'broker/secrets/github-app-key',
    'README.md',
  ])('keeps %s out of the build context', (path) => {
    expect(isExcluded(path)).toBe(true);
  });

  test('lets in every file the Dockerfile copies from the context, including all sources the build compiles', () => {
    const fromContext = all
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyParts(i.args))
      .filter((c) => !c.from)
      .flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(5);
    const walk = (p: string): string[] =>
      statSync(join(PROJECT_ROOT, p)).isDirectory() ? readdirSync(join(PROJECT_ROOT, p)).flatMap((e) => walk(`${p}/${e}`)) : [p];
    for (const source of fromContext) {
      for (const file of walk(source)) expect([file, isExcluded(file)]).toEqual([file, false]);
    }
  });
});
