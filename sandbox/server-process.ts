// A third-party server the sandbox runs as a child process (moto, etcd,
// kube-apiserver): started in its own process group, waited on until it
// answers, and stopped with everything it spawned. Its last lines go into
// every error, so a server that will not start says why.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../config/paths.js';

const STOP_GRACE_MS = 5_000;
const LOG_LINES_KEPT = 20;

export interface ServerProcessOptions {
  /** How errors name it, and where it should answer. */
  name: string;
  address: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Where its output goes. With a log file the server is detached from this
   * process's event loop, so it can outlive it (the stack records its pid for
   * `make down`); without one its output is piped, the last lines kept for
   * error messages, and this process stays up until close().
   */
  logFile?: string;
  /** Resolves true once the server serves; polled every 100 ms. */
  ready(): Promise<boolean>;
  startupTimeoutMs: number;
}

export interface ServerProcess {
  pid: number;
  /** Its last lines of output. */
  tail(): string;
  close(): Promise<void>;
}

function capture(child: ChildProcess): () => string {
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => [...lines, partial].filter(Boolean).join('\n');
}

function fileTail(path: string): () => string {
  return () => (existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-LOG_LINES_KEPT).join('\n') : '');
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts the server in its own process group and resolves once `ready` says so. */
export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const log = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  // Own process group, so close() (or `make down`) stops it with anything it spawned.
  const child = spawn(opts.command, opts.args, {
    cwd: PROJECT_ROOT,
    env: opts.env ?? process.env,
    stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
    detached: true,
  });
  if (log !== undefined) {
    closeSync(log);
    child.unref();
  }
  const tail = opts.logFile ? fileTail(opts.logFile) : capture(child);
  const failure = (why: string) => {
    const lines = tail();
    return new Error(`${opts.name} ${why}${lines ? `; its last lines${opts.logFile ? ` (${opts.logFile})` : ''}:\n${lines}` : ''}`);
  };

  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // 'close' comes after the output pipes drain, so the last lines are in by then.
  const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (exited(child) || child.pid === undefined) return;
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), STOP_GRACE_MS);
      await exit;
      clearTimeout(timer);
    })());

  const deadline = Date.now() + opts.startupTimeoutMs;
  while (!(await opts.ready())) {
    if (spawnError) throw failure(`could not be started (${spawnError.message})`);
    if (exited(child)) {
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
      throw failure(`exited (${child.exitCode ?? child.signalCode}) while starting on ${opts.address}`);
    }
    if (Date.now() > deadline) {
      await close();
      throw failure(`did not answer on ${opts.address} within ${opts.startupTimeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, tail, close };
}
