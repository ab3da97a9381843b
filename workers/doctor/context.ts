// What every doctor check shares: the result types and check ids, the context
// a check runs in (its injected dependencies and defaults), and the helpers
// several check groups use. One place the check groups and the report build on.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { STSClientConfig } from '@aws-sdk/client-sts';
import type { KubeConfig } from '@kubernetes/client-node';
import type { TriageConfig } from '../../config/config.js';
import type { WithOperator } from '../../config/temporal-search-attributes.js';
import { kubeConfigFrom } from '../worker.js';
import { projectedToken, type CallerToken } from '../../activities/broker-caller.js';

// ---- results ----------------------------------------------------------------------

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckOutcome {
  status: CheckStatus;
  /** One reason per line: what was found, where, and for a failure what to do. Never a secret value. */
  detail: string;
}

export interface CheckResult extends CheckOutcome {
  id: CheckId;
  title: string;
  /** A failure the operator accepted by naming it in TRIAGE_DOCTOR_ALLOW_FAILED: reported as a warning. */
  acceptedFailure?: boolean;
  durationMs: number;
}

export const CHECK_IDS = [
  'kubernetes.secrets',
  'kubernetes.writes',
  'kubernetes.read',
  'aws.static-keys',
  'aws.identity',
  'credentials.environment',
  'credentials.files',
  'broker.reachable',
  'egress.denied',
  'temporal.search-attributes',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface DoctorCheck {
  id: CheckId;
  title: string;
  run(ctx: DoctorContext): Promise<CheckOutcome>;
  /** How long the check may take; the runner's default otherwise. */
  budgetMs?(ctx: DoctorContext): number;
}

// ---- dependencies and context -------------------------------------------------------

/** `worker`: the gateway's secret files must be unreadable here. `gateway`: they are this process's own. */
export type DoctorRole = 'worker' | 'gateway';

export interface DoctorDeps {
  /** The environment the checks inspect. The AWS SDK's default chain reads the real process environment. */
  env: NodeJS.ProcessEnv;
  /** A regular file's text (the first MAX_SCAN_BYTES); rejects with the errno code (ENOENT, EACCES, …). */
  readFile(path: string): Promise<string>;
  fetch: typeof globalThis.fetch;
  /** The Kubernetes client configuration the worker uses; default kubeConfigFrom(config). */
  kubeConfig(config: TriageConfig): KubeConfig;
  /** Where `~/.aws` is; default $HOME, else the user's home directory. */
  homeDir?: string;
  /** Tests only: credentials for aws.identity instead of the SDK's default chain. */
  awsCredentials?: NonNullable<STSClientConfig['credentials']>;
  now(): number;
  /** An OperatorService client for the configured namespace; default a client connection from the \`temporal\` settings. */
  temporalOperator(config: TriageConfig): Promise<TemporalOperator>;
}

export interface TemporalOperator extends WithOperator {
  close(): Promise<void>;
}

export interface DoctorOptions {
  config: TriageConfig;
  /** The configuration file the process loaded, scanned by credentials.files. */
  configFile?: string;
  role?: DoctorRole;
  /** A host outside the allowlist that egress.denied must fail to reach; default $TRIAGE_DOCTOR_EGRESS_PROBE_URL, else https://example.com/. */
  egressProbeUrl?: string;
  /** How long one outbound probe may take before it counts as dropped; default 5 s. */
  probeTimeoutMs?: number;
  /** How long broker.reachable waits for the broker to become ready (rolled out with the worker, it may still start); default 0. */
  brokerWaitMs?: number;
  /** Per check; default 20 s. */
  checkTimeoutMs?: number;
  deps?: Partial<DoctorDeps>;
}

export interface DoctorContext {
  config: TriageConfig;
  configFile: string | undefined;
  role: DoctorRole;
  egressProbeUrl: string;
  probeTimeoutMs: number;
  brokerWaitMs: number;
  /** The worker's token for the broker, when broker.tokenFile names one (activities/broker-caller.ts). */
  callerToken: CallerToken | undefined;
  deps: DoctorDeps;
  /** Values a check found that must never be shown; the runner masks them in every detail. */
  sensitive: Set<string>;
  /** The namespaces the configured services read, sorted. */
  namespaces: string[];
  kubernetes(): KubeConfig;
}

export const ALLOW_FAILED_ENV = 'TRIAGE_DOCTOR_ALLOW_FAILED';
export const EGRESS_PROBE_ENV = 'TRIAGE_DOCTOR_EGRESS_PROBE_URL';
const DEFAULT_EGRESS_PROBE_URL = 'https://example.com/';
const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 20_000;
/** Names the doctor in the apiserver audit log, CloudTrail and the broker's audit log. */
export const DOCTOR_TRIAGE_ID = 'doctor';
/** Configuration files are small; a secret past this point would be in a file that is not configuration. */
export const MAX_SCAN_BYTES = 1024 * 1024;

export function defaultDeps(env: NodeJS.ProcessEnv = process.env): DoctorDeps {
  return {
    env,
    readFile: readTextFile,
    fetch: globalThis.fetch,
    kubeConfig: kubeConfigFrom,
    now: Date.now,
    // Loaded when asked: the Temporal client is not needed by the other checks.
    temporalOperator: async (config) => (await import('./temporal-checks.js')).connectTemporalOperator(config),
  };
}

export function createContext(options: DoctorOptions): DoctorContext {
  const deps: DoctorDeps = { ...defaultDeps(options.deps?.env ?? process.env), ...options.deps };
  let kube: KubeConfig | undefined;
  return {
    config: options.config,
    configFile: options.configFile,
    role: options.role ?? 'worker',
    egressProbeUrl: options.egressProbeUrl ?? deps.env[EGRESS_PROBE_ENV] ?? DEFAULT_EGRESS_PROBE_URL,
    probeTimeoutMs: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    brokerWaitMs: options.brokerWaitMs ?? 0,
    callerToken: options.config.broker.tokenFile ? projectedToken(options.config.broker.tokenFile) : undefined,
    deps,
    sensitive: new Set(),
    namespaces: namespacesOf(options.config),
    kubernetes: () => (kube ??= deps.kubeConfig(options.config)),
  };
}

/** Opens without following into a FIFO's wait (O_NONBLOCK), refuses anything but a regular file, reads a bounded prefix. */
async function readTextFile(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw Object.assign(new Error(`${path} is not a regular file`), { code: info.isDirectory() ? 'EISDIR' : 'ENOTREG' });
    const size = Math.min(info.size, MAX_SCAN_BYTES);
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function namespacesOf(config: TriageConfig): string[] {
  return [...new Set(Object.values(config.services).flatMap((s) => s.kubernetes?.namespaces ?? []))].sort();
}

// ---- shared by the checks ----------------------------------------------------------

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'read error';
}

/** What reading a file tells: its text, or why it could not be read. */
export async function tryRead(ctx: DoctorContext, path: string): Promise<{ text: string } | { error: string }> {
  try {
    return { text: await ctx.deps.readFile(path) };
  } catch (err) {
    return { error: errnoOf(err) };
  }
}

export function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function networkCode(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } } | undefined;
  for (const c of [e?.cause?.code, e?.code]) if (typeof c === 'string' && /^[A-Z0-9_]{2,40}$/.test(c)) return c;
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return typeof e?.name === 'string' ? e.name : 'error';
}
