// `triage doctor`: checks that refuse an over-privileged or leaky setup. Each
// check proves one of the design's guarantees from inside the process it runs
// in (the worker's pod, or the sandbox worker's environment): what its
// Kubernetes token may do, where its AWS credentials come from, which
// credentials its environment and files hold, and where it can connect to.
// The worker runs them at start and refuses to start on a failure unless the
// operator accepts that failure by name (TRIAGE_DOCTOR_ALLOW_FAILED).
//
// Every dependency on the outside (environment, files, fetch, kubeconfig, AWS
// credentials, clock) comes in through DoctorDeps, so tests can drive the
// checks without touching the real process. No detail ever carries a secret
// value: checks name the variable or file and the kind of credential, and any
// value a check did find is masked again before a result leaves the runner.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type V1ResourceAttributes,
  type V1ResourceRule,
  type V1NonResourceRule,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { awsClientSettings } from '../activities/cloudwatch.js';
import { findSecrets, isSecretName } from '../activities/log-redaction.js';
import type { TriageConfig } from '../workers/config.js';
import { kubeConfigFrom } from '../workers/worker.js';

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
  /** How long broker.reachable waits for the broker to become ready (a sidecar starting next to the worker); default 0. */
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
const DEFAULT_CHECK_TIMEOUT_MS = 20_000;
/** Names the doctor in the apiserver audit log, CloudTrail and the broker's audit log. */
export const DOCTOR_TRIAGE_ID = 'doctor';
const USER_AGENT = `keyless-triage/0.1 (${DOCTOR_TRIAGE_ID})`;
/** Configuration files are small; a secret past this point would be in a file that is not configuration. */
export const MAX_SCAN_BYTES = 1024 * 1024;
const MASK = '[redacted]';

export function defaultDeps(env: NodeJS.ProcessEnv = process.env): DoctorDeps {
  return { env, readFile: readTextFile, fetch: globalThis.fetch, kubeConfig: kubeConfigFrom, now: Date.now };
}

/** Opens without following into a FIFO's wait (O_NONBLOCK), refuses anything but a regular file, reads a bounded prefix. */
async function readTextFile(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: info.isDirectory() ? 'EISDIR' : 'ENOTREG' });
    const size = Math.min(info.size, MAX_SCAN_BYTES);
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'read error';
}

/** What reading a file tells: its text, or why it could not be read. */
async function tryRead(ctx: DoctorContext, path: string): Promise<{ text: string } | { error: string }> {
  try {
    return { text: await ctx.deps.readFile(path) };
  } catch (err) {
    return { error: errnoOf(err) };
  }
}

function namespacesOf(config: TriageConfig): string[] {
  return [...new Set(Object.values(config.services).flatMap((s) => s.kubernetes?.namespaces ?? []))].sort();
}

function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---- Kubernetes ---------------------------------------------------------------------

/** Verbs that change cluster state, or grant more than the caller has. */
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', '*']);
const PRIVILEGE_VERBS = new Set(['impersonate', 'escalate', 'bind', 'approve', 'sign']);
/** Every authenticated user may ask what it may do (system:basic-user); these creates change nothing. */
const SELF_REVIEWS = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews']);
const REVIEW_GROUPS = new Set(['authorization.k8s.io', 'authentication.k8s.io']);

/** Cluster-wide writes probed one by one: a RoleBinding-only setup never shows them in a namespace's rules review. */
const CLUSTER_WRITE_PROBES: readonly V1ResourceAttributes[] = [
  { verb: 'create', group: '', resource: 'pods' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'exec' },
  { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token' },
  { verb: 'impersonate', group: '', resource: 'serviceaccounts' },
  { verb: 'delete', group: '', resource: 'namespaces' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
];

/** What the Kubernetes surface reads (activities/kubernetes.ts), beyond the pod and event lists kubernetes.read performs. */
const TRIAGE_READS: readonly V1ResourceAttributes[] = [
  { verb: 'list', group: 'apps', resource: 'deployments' },
  { verb: 'list', group: 'apps', resource: 'replicasets' },
  { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
];

/** Where a pod's service-account token is (automounted, or projected there as deploy/ does for the worker only). */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const BIND_VIEW = 'bind the worker\'s service account to the `view` ClusterRole (a ClusterRoleBinding, or a RoleBinding per namespace) and to nothing else';

function kubernetesRequestOptions(ctx: DoctorContext): ConfigurationOptions {
  const withTimeout: ObservableMiddleware = {
    pre: (rc) => {
      rc.setSignal(AbortSignal.timeout(ctx.probeTimeoutMs));
      return new Observable(Promise.resolve(rc));
    },
    post: (rc) => new Observable(Promise.resolve(rc)),
  };
  return setHeaderOptions('User-Agent', USER_AGENT, { middleware: [withTimeout], middlewareMergeStrategy: 'append' });
}

function attributes(a: V1ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return `${a.verb} ${resource}${a.group ? `.${a.group}` : ''}`;
}

/** What a failed apiserver call says, from its status code and the apiserver's own Status message: never the request's token. */
function kubernetesError(err: unknown): string {
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    let message = '';
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: unknown }) : (e.body as { message?: unknown } | undefined);
      if (typeof body?.message === 'string') message = body.message.slice(0, 300);
    } catch {
      // not a Status
    }
    const hint = e.code === 401 ? ' (the apiserver rejected the service-account token: expired, or for another cluster?)' : '';
    return `HTTP ${e.code}${message ? `: ${message}` : ''}${hint}`;
  }
  return `apiserver not reachable (${networkCode(err)})`;
}

function networkCode(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } } | undefined;
  for (const c of [e?.cause?.code, e?.code]) if (typeof c === 'string' && /^[A-Z0-9_]{2,40}$/.test(c)) return c;
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return typeof e?.name === 'string' ? e.name : 'error';
}

/**
 * Where the Kubernetes checks stop before they start: no namespace to check, no
 * way to reach a cluster, or (for the gateway, which needs no Kubernetes access)
 * no token at all, which is the best answer there is.
 */
async function kubernetesPrecondition(ctx: DoctorContext): Promise<CheckOutcome | undefined> {
  if (ctx.role === 'gateway' && !ctx.config.kubernetes.kubeconfig && 'error' in (await tryRead(ctx, IN_CLUSTER_TOKEN))) {
    return { status: 'pass', detail: `no Kubernetes credential here (no kubeconfig, no token at ${IN_CLUSTER_TOKEN}): the gateway needs none` };
  }
  if (ctx.namespaces.length === 0) return { status: 'skip', detail: 'no service has kubernetes.namespaces: the worker makes no Kubernetes call' };
  if (!ctx.config.kubernetes.kubeconfig && !ctx.deps.env.KUBERNETES_SERVICE_HOST && !ctx.deps.env.KUBERNETES_SERVICE_PORT) {
    return { status: 'fail', detail: 'not in a pod (KUBERNETES_SERVICE_HOST is unset) and no kubernetes.kubeconfig is configured: there is no cluster to check' };
  }
  return undefined;
}

async function accessReview(ctx: DoctorContext, attrs: V1ResourceAttributes): Promise<{ allowed: boolean; reason?: string; evaluationError?: string }> {
  const api = ctx.kubernetes().makeApiClient(AuthorizationV1Api);
  const review = await api.createSelfSubjectAccessReview(
    { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } } },
    kubernetesRequestOptions(ctx),
  );
  return {
    allowed: review.status?.allowed === true,
    ...(review.status?.reason ? { reason: review.status.reason } : {}),
    ...(review.status?.evaluationError ? { evaluationError: review.status.evaluationError } : {}),
  };
}

const kubernetesSecrets: DoctorCheck = {
  id: 'kubernetes.secrets',
  title: 'Kubernetes token cannot read Secrets',
  async run(ctx) {
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const scopes = [...ctx.namespaces, ''];
    const probes = scopes.flatMap((namespace) => ['get', 'list', 'watch'].map((verb) => ({ namespace, verb, group: '', resource: 'secrets' })));
    const answers = await Promise.all(probes.map(async (p) => ({ p, answer: await accessReview(ctx, p) })));
    const lines: string[] = [];
    for (const namespace of scopes) {
      const mine = answers.filter((a) => a.p.namespace === namespace);
      const allowed = mine.filter((a) => a.answer.allowed);
      if (allowed.length === 0) continue;
      const why = [...new Set(allowed.map((a) => a.answer.reason).filter(Boolean))].join('; ');
      lines.push(`${namespace ? `namespace ${namespace}` : 'cluster-wide'}: ${allowed.map((a) => a.p.verb).join(', ')} on secrets allowed${why ? ` (${why})` : ''}`);
    }
    const errors = answers.filter((a) => a.answer.evaluationError).map((a) => `${a.p.namespace || 'cluster-wide'} ${a.p.verb} secrets: evaluation error: ${a.answer.evaluationError}`);
    if (lines.length > 0) {
      return {
        status: 'fail',
        detail: [...lines, `what to do: remove the binding named above; ${BIND_VIEW} (view excludes Secrets)`].join('\n'),
      };
    }
    const checked = `${list(ctx.namespaces)} and cluster-wide`;
    if (errors.length > 0) return { status: 'warn', detail: [`no get/list/watch on secrets granted in ${checked}, but:`, ...errors].join('\n') };
    return { status: 'pass', detail: `no get, list or watch on secrets in ${checked} (${plural(probes.length, 'SelfSubjectAccessReview')})` };
  },
};

function describeRule(rule: V1ResourceRule): string {
  const groups = (rule.apiGroups ?? []).map((g) => (g === '' ? '""' : g));
  const names = rule.resourceNames?.length ? ` named ${rule.resourceNames.join(', ')}` : '';
  return `verbs [${rule.verbs.join(', ')}] on [${(rule.resources ?? []).join(', ')}]${names} in apiGroups [${groups.join(', ')}]`;
}

function isSelfReview(rule: V1ResourceRule): boolean {
  const resources = rule.resources ?? [];
  return (
    rule.verbs.every((v) => v === 'create') &&
    resources.length > 0 &&
    resources.every((r) => SELF_REVIEWS.has(r)) &&
    (rule.apiGroups ?? []).every((g) => REVIEW_GROUPS.has(g))
  );
}

/** Why a rule is too much for a read-only worker, or undefined. */
function ruleProblem(rule: V1ResourceRule): string | undefined {
  if (isSelfReview(rule)) return undefined;
  const writes = rule.verbs.filter((v) => WRITE_VERBS.has(v));
  const privileged = rule.verbs.filter((v) => PRIVILEGE_VERBS.has(v));
  if (writes.length > 0) return `grants ${writes.includes('*') ? 'every verb (*)' : `write verbs ${writes.join(', ')}`}`;
  if (privileged.length > 0) return `grants ${privileged.join(', ')}, which lets the token act as or above another identity`;
  if ((rule.resources ?? []).includes('*')) return 'covers every resource (*), Secrets included';
  return undefined;
}

function nonResourceProblem(rule: V1NonResourceRule): string | undefined {
  const writes = rule.verbs.filter((v) => !['get', 'head', 'options'].includes(v));
  return writes.length > 0 ? `grants ${writes.join(', ')} on non-resource URLs [${(rule.nonResourceURLs ?? []).join(', ')}]` : undefined;
}

const kubernetesWrites: DoctorCheck = {
  id: 'kubernetes.writes',
  title: 'Kubernetes token is read-only',
  async run(ctx) {
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const api = ctx.kubernetes().makeApiClient(AuthorizationV1Api);
    const reviews = await Promise.all(
      ctx.namespaces.map(async (namespace) => ({
        namespace,
        review: await api.createSelfSubjectRulesReview(
          { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } } },
          kubernetesRequestOptions(ctx),
        ),
      })),
    );
    // A cluster-wide rule shows in every namespace's review: one line per rule, listing where.
    const offending = new Map<string, { text: string; namespaces: string[] }>();
    const incomplete: string[] = [];
    for (const { namespace, review } of reviews) {
      const status = review.status;
      if (status?.incomplete) incomplete.push(`${namespace}${status.evaluationError ? ` (${status.evaluationError.slice(0, 200)})` : ''}`);
      const found = [
        ...(status?.resourceRules ?? []).map((r) => ({ problem: ruleProblem(r), text: describeRule(r) })),
        ...(status?.nonResourceRules ?? []).map((r) => ({ problem: nonResourceProblem(r), text: `verbs [${r.verbs.join(', ')}] on [${(r.nonResourceURLs ?? []).join(', ')}]` })),
      ];
      for (const { problem, text } of found) {
        if (!problem) continue;
        const key = `${problem} | ${text}`;
        const entry = offending.get(key) ?? { text: `rule ${text}: ${problem}`, namespaces: [] };
        entry.namespaces.push(namespace);
        offending.set(key, entry);
      }
    }
    const clusterAnswers = await Promise.all(CLUSTER_WRITE_PROBES.map(async (p) => ({ p, answer: await accessReview(ctx, { ...p, namespace: '' }) })));
    const clusterWrites = clusterAnswers.filter((a) => a.answer.allowed);

    const lines = [
      ...[...offending.values()].map((o) => `${o.text} (SelfSubjectRulesReview in ${list(o.namespaces)})`),
      ...clusterWrites.map((a) => `cluster-wide: ${attributes(a.p)} allowed${a.answer.reason ? ` (${a.answer.reason})` : ''}`),
    ];
    if (lines.length > 0) return { status: 'fail', detail: [...lines, `what to do: remove the Role/ClusterRole granting this; ${BIND_VIEW}`].join('\n') };
    const checked = `no write, escalation or wildcard rule in ${list(ctx.namespaces)}; none of ${CLUSTER_WRITE_PROBES.map(attributes).join(', ')} allowed cluster-wide`;
    if (incomplete.length > 0) {
      // EKS access policies (a webhook authorizer) cannot list rules; the access reviews above still asked them.
      return { status: 'warn', detail: `${checked}\nthe rules review is incomplete in ${list(incomplete)}: rules from other authorizers (e.g. EKS access policies) are not listed` };
    }
    return { status: 'pass', detail: checked };
  },
};

const kubernetesRead: DoctorCheck = {
  id: 'kubernetes.read',
  title: 'Kubernetes token can read what the triage needs',
  async run(ctx) {
    if (ctx.role === 'gateway') return { status: 'skip', detail: 'the gateway reads nothing from Kubernetes' };
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const core = ctx.kubernetes().makeApiClient(CoreV1Api);
    const problems: string[] = [];
    const good: string[] = [];
    await Promise.all(
      ctx.namespaces.map(async (namespace) => {
        const reads = [
          ['list pods', () => core.listNamespacedPod({ namespace, limit: 1 }, kubernetesRequestOptions(ctx))],
          ['list events', () => core.listNamespacedEvent({ namespace, limit: 1 }, kubernetesRequestOptions(ctx))],
        ] as const;
        const failed: string[] = [];
        for (const [what, read] of reads) {
          try {
            await read();
          } catch (err) {
            failed.push(`${what}: ${kubernetesError(err)}`);
          }
        }
        const reviews = await Promise.all(TRIAGE_READS.map(async (p) => ({ p, answer: await accessReview(ctx, { ...p, namespace }) })));
        for (const { p, answer } of reviews) if (!answer.allowed) failed.push(`${attributes(p)}: not allowed (SelfSubjectAccessReview)`);
        if (failed.length > 0) problems.push(...failed.map((f) => `namespace ${namespace}: cannot ${f}`));
        else good.push(namespace);
      }),
    );
    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [...problems.sort(), `what to do: the triage reads pods, events, deployments, replicasets and pod logs; ${BIND_VIEW}`].join('\n'),
      };
    }
    return { status: 'pass', detail: `listed pods and events, and may ${TRIAGE_READS.map(attributes).join(', ')}, in ${list(good.sort())}` };
  },
};

// ---- AWS ----------------------------------------------------------------------------

/** Variables the SDK's env provider reads: the worker must have none of them. */
const AWS_KEY_VARIABLES: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AWS access key id',
  AWS_SECRET_ACCESS_KEY: 'AWS secret access key',
  AWS_SESSION_TOKEN: 'AWS session token',
  AWS_SECURITY_TOKEN: 'AWS session token (legacy name)',
  // The container provider's inline token: Pod Identity uses the kubelet-rotated file instead.
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'inline container credentials token',
};
const STATIC_KEY_FIELDS = ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'];

type IniFile = Map<string, Map<string, string>>;

/** The AWS shared config/credentials format: `[section]`, `key = value`, `#`/`;` comments; keys compared lower-case. */
function parseIni(text: string): IniFile {
  const sections: IniFile = new Map();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && current) current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/** The profile's settings: a config file calls it `[profile name]` (`[default]` for the default), a credentials file `[name]`. */
function profileIn(file: IniFile, name: string, kind: 'config' | 'credentials'): Map<string, string> | undefined {
  if (kind === 'credentials') return file.get(name);
  return file.get(`profile ${name}`) ?? (name === 'default' ? file.get('default') : undefined);
}

const awsStaticKeys: DoctorCheck = {
  id: 'aws.static-keys',
  title: 'No static AWS keys',
  async run(ctx) {
    const env = ctx.deps.env;
    const home = ctx.deps.homeDir ?? env.HOME ?? homedir();
    const problems: string[] = [];
    const notes: string[] = [];
    for (const [name, kind] of Object.entries(AWS_KEY_VARIABLES)) {
      const value = env[name];
      if (value === undefined || value === '') continue;
      ctx.sensitive.add(value);
      problems.push(`env ${name}: ${kind}`);
    }

    const files = {
      credentials: resolve(expandHome(env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials', home)),
      config: resolve(expandHome(env.AWS_CONFIG_FILE || '~/.aws/config', home)),
    };
    const parsed: Partial<Record<keyof typeof files, IniFile>> = {};
    for (const kind of ['credentials', 'config'] as const) {
      const read = await tryRead(ctx, files[kind]);
      if ('error' in read) {
        notes.push(read.error === 'ENOENT' ? `no ${kind} file at ${files[kind]}` : `${kind} file ${files[kind]} not readable (${read.error})`);
        continue;
      }
      const ini = parseIni(read.text);
      parsed[kind] = ini;
      const withKeys = [...ini].filter(([, fields]) => STATIC_KEY_FIELDS.some((f) => fields.get(f)));
      for (const [section] of withKeys) problems.push(`file ${files[kind]} [${section}]: static AWS access key`);
      if (withKeys.length === 0) notes.push(`${kind} file ${files[kind]} holds no keys`);
    }

    const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE;
    if (profile) {
      // Follow source_profile the way the SDK does, to the profile whose credentials start the chain.
      const seen = new Set<string>();
      for (let name: string | undefined = profile; name !== undefined && !seen.has(name); ) {
        seen.add(name);
        const fromCredentials: Map<string, string> | undefined = parsed.credentials ? profileIn(parsed.credentials, name, 'credentials') : undefined;
        const fromConfig: Map<string, string> | undefined = parsed.config ? profileIn(parsed.config, name, 'config') : undefined;
        const get = (k: string): string | undefined => fromCredentials?.get(k) ?? fromConfig?.get(k);
        const via = name === profile ? '' : ` (its source_profile chain reaches ${name})`;
        if (STATIC_KEY_FIELDS.some((f) => get(f))) problems.push(`env AWS_PROFILE=${profile}: points at static keys${via}`);
        else if (get('credential_process')) problems.push(`env AWS_PROFILE=${profile}: runs a credential_process${via}, not Pod Identity`);
        else if (get('sso_session') || get('sso_start_url')) problems.push(`env AWS_PROFILE=${profile}: uses an SSO login cache${via}, not Pod Identity`);
        else if (!fromCredentials && !fromConfig) notes.push(`AWS_PROFILE=${profile} names no profile in the files`);
        name = get('source_profile');
      }
    }

    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [
          ...problems,
          'what to do: remove them; the SDK picks them before the Pod Identity agent, so the worker would act with a long-lived key (remove the variables from the pod spec, unmount the file)',
        ].join('\n'),
      };
    }
    return { status: 'pass', detail: [`no ${Object.keys(AWS_KEY_VARIABLES).join('/')} in the environment`, ...notes].join('\n') };
  },
};

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/;
/** The session name EC2 gives an instance profile's role: the node's identity, reached through IMDS. */
const INSTANCE_SESSION = /^i-[0-9a-f]{8,17}$/;
/** The design's session: one hour, plus slack for a session fetched just now. */
const MAX_SESSION_MS = 70 * 60_000;

function noCredentials(err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'CredentialsProviderError' || name === 'ProviderError';
}

function awsErrorText(err: unknown): string {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const name = typeof e?.name === 'string' ? e.name : 'error';
  if (noCredentials(err)) {
    return 'no AWS credentials in the default chain (in EKS: is the Pod Identity association in place and the agent running? In the sandbox: AWS_CONTAINER_CREDENTIALS_FULL_URI and its token file)';
  }
  const status = e?.$metadata?.httpStatusCode;
  return status !== undefined ? `GetCallerIdentity failed: HTTP ${status} ${name}` : `GetCallerIdentity failed: no answer (${networkCode(err)})`;
}

const awsIdentity: DoctorCheck = {
  id: 'aws.identity',
  title: 'AWS identity is a short-lived assumed-role session',
  async run(ctx) {
    const cloudwatch = Object.values(ctx.config.services).find((s) => s.cloudwatch);
    const gateway = ctx.role === 'gateway';
    if (!cloudwatch && !gateway) return { status: 'skip', detail: 'no service has cloudwatch configured: the worker makes no AWS call' };
    const region = cloudwatch?.cloudwatch?.region ?? ctx.config.aws.region;
    const sts = new STSClient({
      ...awsClientSettings({ region, triageId: DOCTOR_TRIAGE_ID, ...(ctx.config.aws.endpoint ? { endpoint: ctx.config.aws.endpoint } : {}) }),
      ...(ctx.deps.awsCredentials ? { credentials: ctx.deps.awsCredentials } : {}),
    });
    try {
      let arn: string | undefined;
      let expiration: Date | undefined;
      try {
        const identity = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(ctx.probeTimeoutMs) });
        arn = identity.Arn;
        // Memoized by the client: the session GetCallerIdentity was signed with, not a new one.
        expiration = (await sts.config.credentials()).expiration;
      } catch (err) {
        if (gateway && noCredentials(err)) return { status: 'pass', detail: 'no AWS credentials in the default chain: the gateway needs none' };
        return { status: 'fail', detail: awsErrorText(err) };
      }
      if (!arn) return { status: 'fail', detail: 'GetCallerIdentity returned no Arn' };
      if (gateway) return { status: 'fail', detail: `${arn}: the gateway holds an AWS identity it does not need\nwhat to do: remove it (and block IMDS from pods: hop limit 1)` };
      const role = ASSUMED_ROLE.exec(arn);
      if (!role) {
        const what = /:user\//.test(arn)
          ? 'an IAM user: its access keys are long-lived'
          : /:root$/.test(arn)
            ? "the account's root user"
            : /:federated-user\//.test(arn)
              ? 'a federated user (GetFederationToken, derived from an IAM user key)'
              : 'not an assumed-role session';
        return { status: 'fail', detail: `${arn} is ${what}\nwhat to do: remove the key the SDK found and let the Pod Identity association give the worker its role session` };
      }
      if (INSTANCE_SESSION.test(role[2]!)) {
        return {
          status: 'fail',
          detail: `${arn} is the node's instance role, reached through IMDS, not the worker's Pod Identity association\nwhat to do: create the association for the worker's service account, and block IMDS from pods (hop limit 1)`,
        };
      }
      const seen = `${arn} (assumed-role session of role ${role[1]}, ${ctx.config.aws.endpoint ? `via ${ctx.config.aws.endpoint}` : 'via the default chain'})`;
      if (!expiration) return { status: 'fail', detail: `${seen}: the credentials carry no expiry, so they are not a session from the agent` };
      const left = expiration.getTime() - ctx.deps.now();
      const expires = `expires in ${Math.round(left / 60_000)} min`;
      if (left > MAX_SESSION_MS) return { status: 'warn', detail: `${seen}, ${expires}: longer than the 1-hour session the design expects` };
      return { status: 'pass', detail: `${seen}, ${expires}` };
    } finally {
      sts.destroy();
    }
  },
};

// ---- credentials in the environment and in files -------------------------------------

/** Variables whose value is allowed although it leads to a credential, and why. */
const ALLOWED_VARIABLES: Readonly<Record<string, { why: string; valueIs: 'path' | 'url' }>> = {
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {
    valueIs: 'path',
    why: 'the Pod Identity token file: kubelet-projected and rotated, it only buys a 1-hour session from the node-local agent',
  },
  AWS_CONTAINER_CREDENTIALS_FULL_URI: { valueIs: 'url', why: 'the Pod Identity agent address' },
  AWS_WEB_IDENTITY_TOKEN_FILE: { valueIs: 'path', why: 'a projected web-identity token file (IRSA): short-lived, exchanged for an STS session' },
};

/** A secret-named variable's value that looks like a credential rather than a placeholder (`via-broker`, `unused`). */
function credentialShaped(value: string): boolean {
  return value.length >= 12 && !/\s/.test(value) && !value.startsWith('/') && /[A-Za-z]/.test(value) && /[0-9]/.test(value);
}

function isAbsolutePathValue(value: string): boolean {
  return isAbsolute(value) && value.length < 4096 && !/[\s\0]/.test(value);
}

const credentialsEnvironment: DoctorCheck = {
  id: 'credentials.environment',
  title: 'No credential in the environment',
  async run(ctx) {
    const problems: string[] = [];
    const allowed: string[] = [];
    for (const [name, value] of Object.entries(ctx.deps.env).sort(([a], [b]) => a.localeCompare(b))) {
      if (value === undefined || value === '') continue;
      if (AWS_KEY_VARIABLES[name]) continue; // aws.static-keys reports these
      const rule = ALLOWED_VARIABLES[name];
      if (rule) {
        const ok = rule.valueIs === 'path' ? isAbsolutePathValue(value) : URL.canParse(value) && !new URL(value).username && !new URL(value).password;
        if (ok) allowed.push(`${name} (${rule.why})`);
        else {
          ctx.sensitive.add(value);
          problems.push(`env ${name}: expected ${rule.valueIs === 'path' ? 'a file path' : 'a URL without credentials'}, found something else`);
        }
        continue;
      }
      const kinds = [...new Set(findSecrets(value).map((f) => f.kind))];
      if (kinds.length === 0 && isSecretName(name) && credentialShaped(value)) kinds.push('credential-shaped value in a secret-named variable');
      if (kinds.length === 0) continue;
      ctx.sensitive.add(value);
      problems.push(`env ${name}: ${kinds.join(', ')}`);
    }
    const allowedLine = allowed.length > 0 ? [`allowed: ${allowed.join('; ')}`] : [];
    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [
          ...problems,
          'what to do: remove it from the worker\'s environment; SaaS credentials belong to the broker (its own Secret, mounted into the broker container only)',
          ...allowedLine,
        ].join('\n'),
      };
    }
    return { status: 'pass', detail: [`${plural(Object.keys(ctx.deps.env).length, 'variable')} scanned, none holds a credential`, ...allowedLine].join('\n') };
  },
};

interface DeclaredSecret {
  path: string;
  what: string;
}

/** Secret files the configuration names for the gateway: the worker must not be able to read them. */
function gatewaySecretFiles(config: TriageConfig): DeclaredSecret[] {
  const gateway = config.gateway;
  if (!gateway) return [];
  return [
    ...gateway.pagerdutyWebhookSecretFiles.map((path) => ({ path, what: 'PagerDuty webhook signing secret' })),
    ...(gateway.slackSigningSecretFile ? [{ path: gateway.slackSigningSecretFile, what: 'Slack signing secret' }] : []),
  ];
}

/** The worker's own Temporal client credential files: read by design, so neither scanned nor refused. */
function temporalClientFiles(config: TriageConfig): DeclaredSecret[] {
  const t = config.temporal;
  return [
    ...(t.tls?.keyFile ? [{ path: t.tls.keyFile, what: 'Temporal client certificate key' }] : []),
    ...(t.tls?.certFile ? [{ path: t.tls.certFile, what: 'Temporal client certificate' }] : []),
    ...(t.apiKeyFile ? [{ path: t.apiKeyFile, what: 'Temporal API key' }] : []),
  ];
}

/** Secret files a broker configuration names (providers.*.<…>File): only the broker's container may read them. */
function brokerSecretFiles(doc: unknown, baseDir: string): DeclaredSecret[] {
  const providers = (doc as { providers?: Record<string, Record<string, unknown>> } | null)?.providers;
  if (!providers || typeof providers !== 'object') return [];
  const out: DeclaredSecret[] = [];
  for (const [provider, settings] of Object.entries(providers)) {
    if (!settings || typeof settings !== 'object') continue;
    for (const [key, value] of Object.entries(settings)) {
      if (!/File$/.test(key) || typeof value !== 'string' || value === '') continue;
      out.push({ path: isAbsolute(value) ? value : resolve(baseDir, value), what: `broker ${provider} ${key}` });
    }
  }
  return out;
}

/** Environment variables that name a file the process reads (beyond the ones handled elsewhere). */
const FILE_VARIABLE = /(?:_FILE|_CONFIG|_CONF|_PATH|_CERTS?)$|^KUBECONFIG$/;
const FILE_VARIABLES_ELSEWHERE = new Set(['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'TRIAGE_CONFIG', ...Object.keys(ALLOWED_VARIABLES)]);

interface KubeconfigUser {
  name?: string;
  user?: Record<string, unknown> & { 'auth-provider'?: { name?: string; config?: Record<string, unknown> }; exec?: { command?: string } };
}

/** What a kubeconfig's users authenticate with: a rotated token file is what a pod has; anything else is a credential held here. */
function kubeconfigFindings(text: string, path: string): { problems: string[]; allowed: DeclaredSecret[] } {
  const problems: string[] = [];
  const allowed: DeclaredSecret[] = [];
  let doc: { users?: KubeconfigUser[] } | undefined;
  try {
    doc = parseYaml(text) as { users?: KubeconfigUser[] };
  } catch {
    return { problems: [`kubeconfig ${path}: not valid YAML`], allowed };
  }
  for (const entry of Array.isArray(doc?.users) ? doc.users : []) {
    const user = entry.user ?? {};
    const who = `kubeconfig ${path} user ${JSON.stringify(String(entry.name ?? '')).slice(0, 80)}`;
    if (user['client-key-data'] || user['client-key']) problems.push(`${who}: client certificate private key (long-lived; use the pod's projected service-account token)`);
    if (user.exec?.command) problems.push(`${who}: runs an exec credential plugin (${String(user.exec.command).slice(0, 60)}), which needs credentials of its own`);
    const tokenFile = user.tokenFile ?? user['auth-provider']?.config?.tokenFile;
    if (typeof tokenFile === 'string') {
      allowed.push({ path: isAbsolute(tokenFile) ? tokenFile : resolve(dirname(path), tokenFile), what: 'Kubernetes service-account token file: projected and rotated by the kubelet in a pod' });
    }
  }
  return { problems, allowed };
}

const credentialsFiles: DoctorCheck = {
  id: 'credentials.files',
  title: 'No credential in readable configuration files',
  async run(ctx) {
    const env = ctx.deps.env;
    const problems: string[] = [];
    const scanned: string[] = [];
    const allowed: string[] = [];
    const unreadableSecrets: string[] = [];
    const own = temporalClientFiles(ctx.config);
    const ownPaths = new Set(own.map((f) => resolve(f.path)));
    const done = new Set<string>();

    const scan = async (path: string, label: string): Promise<string | undefined> => {
      const abs = resolve(path);
      if (done.has(abs) || ownPaths.has(abs)) return undefined;
      done.add(abs);
      const read = await tryRead(ctx, abs);
      if ('error' in read) {
        if (read.error !== 'ENOENT') scanned.push(`${label} ${abs} (not readable: ${read.error})`);
        return undefined;
      }
      if (read.text.includes('\0')) {
        scanned.push(`${label} ${abs} (binary, not scanned)`);
        return undefined;
      }
      scanned.push(`${label} ${abs}`);
      for (const f of findSecrets(read.text)) problems.push(`${label} ${abs} line ${f.line}: ${f.kind}`);
      return read.text;
    };

    if (ctx.configFile) await scan(ctx.configFile, 'config');
    else scanned.push('config (no file given)');

    const kubeconfigPath = ctx.config.kubernetes.kubeconfig;
    if (kubeconfigPath) {
      const text = await scan(kubeconfigPath, 'kubeconfig');
      if (text !== undefined) {
        const found = kubeconfigFindings(text, resolve(kubeconfigPath));
        problems.push(...found.problems);
        for (const f of found.allowed) {
          done.add(resolve(f.path));
          allowed.push(`${f.path} (${f.what})`);
        }
      }
    } else if (ctx.namespaces.length > 0 && ctx.role === 'worker') {
      allowed.push(`${IN_CLUSTER_TOKEN} (in-cluster service-account token: projected and rotated by the kubelet)`);
    }

    for (const name of Object.keys(ALLOWED_VARIABLES)) {
      const value = env[name];
      if (value && isAbsolutePathValue(value)) done.add(resolve(value));
    }
    for (const f of own) allowed.push(`${f.path} (${f.what}: the worker's own Temporal credential, not scanned)`);

    // Files named by the environment: a CA bundle, a kubeconfig, another component's config.
    for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
      if (!value || !FILE_VARIABLE.test(name) || FILE_VARIABLES_ELSEWHERE.has(name)) continue;
      for (const part of value.split(':')) if (isAbsolutePathValue(part)) await scan(part, `file from env ${name}`);
    }

    // Declared secrets of other components: their existence is fine, the worker reading them is not.
    const foreign: DeclaredSecret[] = ctx.role === 'worker' ? gatewaySecretFiles(ctx.config) : [];
    if (ctx.role === 'gateway') for (const f of gatewaySecretFiles(ctx.config)) allowed.push(`${f.path} (${f.what}: the gateway's own, not scanned)`);
    // The broker's configuration holds no secret, only where its secrets are: those must be out of reach here.
    const brokerConfig = env.BROKER_CONFIG;
    if (brokerConfig && isAbsolutePathValue(brokerConfig)) {
      const read = await tryRead(ctx, brokerConfig);
      if ('text' in read) {
        try {
          foreign.push(...brokerSecretFiles(parseYaml(read.text), dirname(brokerConfig)));
        } catch {
          problems.push(`env BROKER_CONFIG ${brokerConfig}: not valid YAML, so its secret files could not be checked`);
        }
      }
    }
    for (const f of foreign) {
      const abs = resolve(f.path);
      done.add(abs);
      const read = await tryRead(ctx, abs);
      if ('text' in read) {
        if (read.text.trim()) ctx.sensitive.add(read.text.trim());
        problems.push(`${abs}: ${f.what} is readable by the worker; mount it into its own component's container only`);
      } else unreadableSecrets.push(`${abs} (${read.error})`);
    }

    const context = [
      `scanned: ${scanned.length > 0 ? scanned.join('; ') : 'nothing'}`,
      ...(allowed.length > 0 ? [`allowed: ${allowed.join('; ')}`] : []),
      ...(unreadableSecrets.length > 0 ? [`other components' secret files not readable here, as they should be: ${unreadableSecrets.join('; ')}`] : []),
    ];
    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [...problems, 'what to do: keep credentials out of files the worker reads; secret files belong to the component that uses them', ...context].join('\n'),
      };
    }
    return { status: 'pass', detail: context.join('\n') };
  },
};

// ---- broker and egress ----------------------------------------------------------------

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;

interface ProviderStatus {
  readiness: string;
  routes?: number;
  repos?: number;
}

/** Which providers the configured services need the broker for. */
function neededProviders(config: TriageConfig): string[] {
  const services = Object.values(config.services);
  return [
    'pagerduty',
    ...(services.some((s) => s.github) ? ['github'] : []),
    ...(services.some((s) => s.slack) ? ['slack'] : []),
    ...(services.some((s) => s.datadog) ? ['datadog'] : []),
  ];
}

async function getJson(ctx: DoctorContext, url: string): Promise<{ status: number; body: unknown }> {
  const res = await ctx.deps.fetch(url, { headers: { 'x-triage-id': DOCTOR_TRIAGE_ID, accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(ctx.probeTimeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** The broker's view of its providers: /_broker/status, else /readyz, else /healthz (older brokers). */
async function brokerProviders(ctx: DoctorContext): Promise<{ ready: boolean; providers: Record<string, ProviderStatus>; source: string }> {
  const base = ctx.config.broker.url;
  const health = await getJson(ctx, `${base}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz answered HTTP ${health.status}`);
  const status = await getJson(ctx, `${base}/_broker/status`);
  const statusBody = status.body as { providers?: Record<string, ProviderStatus> } | undefined;
  const readyz = await getJson(ctx, `${base}/readyz`);
  if (status.status === 200 && statusBody?.providers) {
    const ready = readyz.status === 404 ? Object.values(statusBody.providers).every((p) => p.readiness === 'ready') : readyz.status === 200;
    return { ready, providers: statusBody.providers, source: '/_broker/status' };
  }
  const fallback = ((readyz.status === 404 ? health.body : readyz.body) as { providers?: Record<string, string> } | undefined)?.providers ?? {};
  const providers = Object.fromEntries(Object.entries(fallback).map(([name, readiness]) => [name, { readiness: String(readiness) }]));
  const ready = readyz.status === 404 ? Object.values(providers).every((p) => p.readiness === 'ready') : readyz.status === 200;
  return { ready, providers, source: readyz.status === 404 ? '/healthz' : '/readyz' };
}

function describeProvider(name: string, p: ProviderStatus): string {
  const extra = [...(p.routes !== undefined ? [plural(p.routes, 'route')] : []), ...(p.repos !== undefined ? [plural(p.repos, 'repo')] : [])];
  return `${name} (${p.readiness}${extra.length ? `, ${extra.join(', ')}` : ''})`;
}

const brokerReachable: DoctorCheck = {
  id: 'broker.reachable',
  title: 'Credential broker reachable and ready',
  budgetMs: (ctx) => ctx.brokerWaitMs + 4 * ctx.probeTimeoutMs,
  async run(ctx) {
    if (ctx.role === 'gateway') return { status: 'skip', detail: 'the gateway does not use the broker' };
    const base = ctx.config.broker.url;
    const host = new URL(base).hostname;
    if (!LOOPBACK.test(host)) {
      return { status: 'fail', detail: `broker.url ${base} is not a loopback address: the broker authenticates no caller, so it must be the sidecar on 127.0.0.1 in the worker's pod` };
    }
    const deadline = ctx.deps.now() + ctx.brokerWaitMs;
    let last: { ready: boolean; providers: Record<string, ProviderStatus>; source: string } | undefined;
    let unreachable: string | undefined;
    for (;;) {
      try {
        last = await brokerProviders(ctx);
        unreachable = undefined;
      } catch (err) {
        unreachable = err instanceof Error && /^GET /.test(err.message) ? err.message : networkCode(err);
      }
      if ((last?.ready && !unreachable) || ctx.deps.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (unreachable || !last) {
      return { status: 'fail', detail: `broker at ${base} not reachable (${unreachable ?? 'no answer'})\nwhat to do: check that the broker sidecar runs and listens on that port (its log says "broker listening")` };
    }
    const loaded = Object.entries(last.providers).map(([name, p]) => describeProvider(name, p));
    const missing = neededProviders(ctx.config).filter((p) => !last.providers[p]);
    const notReady = Object.entries(last.providers).filter(([, p]) => p.readiness !== 'ready');
    const lines: string[] = [];
    if (!last.ready) lines.push(`broker at ${base} is not ready: ${notReady.map(([name, p]) => `${name} ${p.readiness}`).join('; ') || 'it says so'}`);
    if (missing.length > 0) lines.push(`the configured services need ${list(missing)}, which the broker does not load: add ${missing.length === 1 ? 'it' : 'them'} to the broker's providers`);
    const summary = `providers (${last.source}): ${loaded.length > 0 ? loaded.join(', ') : 'none'}`;
    if (lines.length > 0) return { status: 'fail', detail: [...lines, summary].join('\n') };
    return { status: 'pass', detail: `${base} ready; ${summary}` };
  },
};

/** A read outside each provider's policy: harmless if it ever got through, and never on any allowlist. */
const OUT_OF_POLICY: Readonly<Record<string, string>> = {
  github: '/github/user',
  pagerduty: '/pagerduty/users',
  datadog: '/datadog/api/v1/validate',
  slack: '/slack/api/users.list',
};

function isLoopbackUrl(url: string): boolean {
  return LOOPBACK.test(new URL(url).hostname);
}

/** Through the broker: a route its policy does not list must be refused before anything goes upstream. */
interface BrokerPolicyProbe {
  problems: string[];
  proofs: string[];
  /** Why the policy could not be probed. */
  untested?: string;
}

async function probeBrokerPolicy(ctx: DoctorContext): Promise<BrokerPolicyProbe> {
  const problems: string[] = [];
  const proofs: string[] = [];
  try {
    const status = await getJson(ctx, `${ctx.config.broker.url}/_broker/status`);
    const loaded = (status.body as { providers?: Record<string, unknown> } | undefined)?.providers;
    const providers = status.status === 200 && loaded ? Object.keys(loaded).filter((p) => OUT_OF_POLICY[p]) : Object.keys(OUT_OF_POLICY);
    for (const path of [...providers.map((p) => OUT_OF_POLICY[p]!), '/example.com/']) {
      const answer = await getJson(ctx, `${ctx.config.broker.url}${path}`);
      const error = (answer.body as { error?: unknown } | undefined)?.error;
      const refused = (answer.status === 403 && error === 'denied') || (answer.status === 404 && error === 'not found');
      if (refused) proofs.push(`broker refused GET ${path} (${answer.status})`);
      else problems.push(`broker answered GET ${path} with HTTP ${answer.status}: a route outside its policy was not refused`);
    }
    return { problems, proofs };
  } catch (err) {
    return { problems, proofs, untested: `broker policy not tested: broker not reachable (${networkCode(err)}; see broker.reachable)` };
  }
}

/** Directly: a host outside the allowlist must not answer at all, whether the policy rejects or drops. */
async function probeDirectEgress(ctx: DoctorContext): Promise<{ problem?: string; proof?: string }> {
  const target = ctx.egressProbeUrl;
  if (isLoopbackUrl(target)) {
    return { problem: `the egress probe ${target} is a loopback address, which proves nothing about egress; set ${EGRESS_PROBE_ENV} to a host outside the allowlist` };
  }
  const started = ctx.deps.now();
  try {
    const res = await ctx.deps.fetch(target, { redirect: 'manual', signal: AbortSignal.timeout(ctx.probeTimeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    return {
      problem:
        `reached ${target} directly (HTTP ${res.status}): egress is not restricted\n` +
        `what to do: apply the egress policy (Calico FQDN allowlist) to this pod; the sandbox has none (accept it there by name: ${ALLOW_FAILED_ENV}=egress.denied)`,
    };
  } catch (err) {
    const code = networkCode(err);
    const after = Math.round((ctx.deps.now() - started) / 100) / 10;
    return { proof: `direct GET ${target} failed: ${code === 'timed out' ? `no answer within ${ctx.probeTimeoutMs / 1000} s (dropped)` : code} after ${after} s` };
  }
}

const egressDenied: DoctorCheck = {
  id: 'egress.denied',
  title: 'Egress outside the allowlist is refused',
  budgetMs: (ctx) => 3 * ctx.probeTimeoutMs + 2_000,
  async run(ctx) {
    const noBroker: BrokerPolicyProbe = { problems: [], proofs: ['broker policy: not tested (the gateway has no broker)'] };
    const [broker, direct] = await Promise.all([ctx.role === 'gateway' ? noBroker : probeBrokerPolicy(ctx), probeDirectEgress(ctx)]);
    const problems = [...broker.problems, ...(direct.problem ? [direct.problem] : [])];
    const proofs = [...broker.proofs, ...(broker.untested ? [broker.untested] : []), ...(direct.proof ? [direct.proof] : [])];
    if (problems.length > 0) return { status: 'fail', detail: [...problems, ...proofs].join('\n') };
    return { status: broker.untested ? 'warn' : 'pass', detail: proofs.join('\n') };
  },
};

export const CHECKS: readonly DoctorCheck[] = [
  kubernetesSecrets,
  kubernetesWrites,
  kubernetesRead,
  awsStaticKeys,
  awsIdentity,
  credentialsEnvironment,
  credentialsFiles,
  brokerReachable,
  egressDenied,
];

// ---- runner -----------------------------------------------------------------------------

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
    deps,
    sensitive: new Set(),
    namespaces: namespacesOf(options.config),
    kubernetes: () => (kube ??= deps.kubeConfig(options.config)),
  };
}

class CheckTimeout extends Error {}

async function runCheck(check: DoctorCheck, ctx: DoctorContext, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const budget = check.budgetMs?.(ctx) ?? timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([
      check.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout()), budget);
      }),
    ]);
  } catch (err) {
    const why = err instanceof CheckTimeout ? `did not finish within ${Math.round(budget / 1000)} s` : `could not run: ${err instanceof ApiException ? kubernetesError(err) : checkError(err)}`;
    outcome = { status: 'fail', detail: why };
  } finally {
    clearTimeout(timer);
  }
  return { id: check.id, title: check.title, ...outcome, durationMs: Math.round(performance.now() - started) };
}

/** An unexpected error, by its name and code: messages of library errors may quote what they were given. */
function checkError(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  const name = typeof e?.name === 'string' ? e.name : 'error';
  const code = networkCode(err);
  // A kubeconfig that cannot be loaded names its path; that is the useful part.
  const message = typeof e?.message === 'string' && name === 'Error' ? `: ${e.message.split('\n')[0]!.slice(0, 200)}` : '';
  return `${name}${code !== name ? ` (${code})` : ''}${message}`;
}

/** Replaces every value a check found with a mask, wherever a detail might repeat it. */
function mask(detail: string, sensitive: ReadonlySet<string>): string {
  let out = detail;
  for (const value of [...sensitive].sort((a, b) => b.length - a.length)) {
    if (value.length >= 4) out = out.split(value).join(MASK);
  }
  return out;
}

/** Runs every check at once (each bounded by its budget) and returns their results in a fixed order. */
export async function runChecks(options: DoctorOptions, checks: readonly DoctorCheck[] = CHECKS): Promise<CheckResult[]> {
  const ctx = createContext(options);
  const results = await Promise.all(checks.map((c) => runCheck(c, ctx, options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS)));
  return results.map((r) => ({ ...r, detail: mask(r.detail, ctx.sensitive) }));
}

// ---- the override ------------------------------------------------------------------------

export interface AllowFailed {
  ids: ReadonlySet<CheckId>;
  /** Why some or all of the override was not applied. */
  problems: string[];
}

/**
 * TRIAGE_DOCTOR_ALLOW_FAILED: comma-separated check ids whose failure the
 * operator accepts. A blanket value (`all`, `*`) is refused outright, so a
 * new check's failure can never be accepted before anyone has read it.
 */
export function parseAllowFailed(raw: string | undefined): AllowFailed {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.some((e) => ['all', '*'].includes(e.toLowerCase()))) {
    return {
      ids: new Set(),
      problems: [`${ALLOW_FAILED_ENV}=${raw?.trim()} is refused: "all" is not accepted; name each check whose failure you accept (${CHECK_IDS.join(', ')})`],
    };
  }
  const ids = new Set<CheckId>();
  const problems: string[] = [];
  for (const entry of entries) {
    if ((CHECK_IDS as readonly string[]).includes(entry)) ids.add(entry as CheckId);
    else problems.push(`${ALLOW_FAILED_ENV} names an unknown check "${entry.slice(0, 60)}" (known: ${CHECK_IDS.join(', ')})`);
  }
  return { ids, problems };
}

export interface DoctorReport {
  results: CheckResult[];
  /** No check failed (after the accepted failures were downgraded). */
  ok: boolean;
  /** Checks that failed and were accepted by name. */
  accepted: CheckId[];
  /** What the override did not do: refused, unknown ids, ids whose check did not fail. */
  notes: string[];
}

export function applyAllowFailed(results: readonly CheckResult[], allow: AllowFailed): DoctorReport {
  const accepted: CheckId[] = [];
  const out = results.map((r): CheckResult => {
    if (r.status !== 'fail' || !allow.ids.has(r.id)) return r;
    accepted.push(r.id);
    return { ...r, status: 'warn', acceptedFailure: true, detail: `FAILED, accepted by ${ALLOW_FAILED_ENV}:\n${r.detail}` };
  });
  const unused = [...allow.ids].filter((id) => !accepted.includes(id));
  const notes = [
    ...allow.problems,
    ...unused.map((id) => `${ALLOW_FAILED_ENV} accepts a failure of ${id}, which did not fail: remove it so a later failure is not accepted unread`),
  ];
  return { results: out, ok: out.every((r) => r.status !== 'fail'), accepted, notes };
}

export async function runDoctor(options: DoctorOptions, checks: readonly DoctorCheck[] = CHECKS): Promise<DoctorReport> {
  const env = options.deps?.env ?? process.env;
  return applyAllowFailed(await runChecks(options, checks), parseAllowFailed(env[ALLOW_FAILED_ENV]));
}

// ---- output ---------------------------------------------------------------------------------

function statusLabel(r: CheckResult): string {
  return r.acceptedFailure ? 'WARN!' : r.status.toUpperCase();
}

/** Columns check, status, detail; a multi-line detail continues on rows with the first two columns blank. */
export function formatTable(results: readonly CheckResult[]): string {
  const rows = [['check', 'status', 'detail'], ...results.map((r) => [r.id, statusLabel(r), r.detail])];
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  const lines: string[] = [];
  for (const [check, status, detail] of rows) {
    const [first, ...rest] = detail!.split('\n');
    lines.push(`${check!.padEnd(w0)}  ${status!.padEnd(w1)}  ${first}`.trimEnd());
    for (const more of rest) lines.push(`${''.padEnd(w0)}  ${''.padEnd(w1)}  ${more}`.trimEnd());
  }
  return lines.join('\n');
}

export function summarize(report: DoctorReport): string {
  const count = (s: CheckStatus) => report.results.filter((r) => r.status === s).length;
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
  const parts = [`${count('pass')} passed`, `${count('fail')} failed`, `${count('warn')} warned`, `${count('skip')} skipped`];
  const accepted = report.accepted.length > 0 ? `; failures accepted by ${ALLOW_FAILED_ENV}: ${report.accepted.join(', ')}` : '';
  return `${parts.join(', ')}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}${accepted}`;
}

export function formatReport(report: DoctorReport): string {
  return [formatTable(report.results), '', summarize(report), ...report.notes.map((n) => `note: ${n}`)].join('\n');
}

// ---- at worker start ---------------------------------------------------------------------------

export interface StartupDoctorOptions extends Omit<DoctorOptions, 'config' | 'role'> {
  /** Default 20 s: the broker sidecar may still be starting next to the worker. */
  brokerWaitMs?: number;
}

export interface StartupLogRecord {
  level: 'info' | 'warn' | 'error';
  msg: string;
  check?: CheckId;
  status?: CheckStatus;
  detail?: string;
}

export interface StartupDoctorReport extends DoctorReport {
  /** Whether the worker may start: no check failed, or every failure was accepted by name. */
  proceed: boolean;
  /** The table and summary, for a terminal. */
  text: string;
  /** One record per check and per note, for the worker's JSON log. Accepted failures are errors in the log, so they stay loud. */
  records: StartupLogRecord[];
  /** When proceed is false: why, and how to accept a failure knowingly. */
  refusal?: string;
}

/**
 * The checks the worker runs before it polls: run as the worker, with the
 * process environment unless `deps.env` says otherwise, and the override in
 * TRIAGE_DOCTOR_ALLOW_FAILED honoured. It never throws for a failing check;
 * it reports, and `proceed` says whether to start.
 */
export async function runStartupDoctor(config: TriageConfig, opts: StartupDoctorOptions = {}): Promise<StartupDoctorReport> {
  const report = await runDoctor({ ...opts, config, role: 'worker', brokerWaitMs: opts.brokerWaitMs ?? 20_000 });
  const records: StartupLogRecord[] = [
    ...report.results.map((r): StartupLogRecord => ({
      level: r.status === 'fail' || r.acceptedFailure ? 'error' : r.status === 'warn' ? 'warn' : 'info',
      msg: r.acceptedFailure ? 'doctor check failed; failure accepted by TRIAGE_DOCTOR_ALLOW_FAILED' : 'doctor check',
      check: r.id,
      status: r.status,
      detail: r.detail,
    })),
    ...report.notes.map((note): StartupLogRecord => ({ level: 'warn', msg: note })),
  ];
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
  return {
    ...report,
    proceed: report.ok,
    text: formatReport(report),
    records,
    ...(report.ok
      ? {}
      : {
          refusal:
            `refusing to start: doctor check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}. ` +
            `Fix what each says, or accept a failure knowingly by naming it: ${ALLOW_FAILED_ENV}=${failed.join(',')}`,
        }),
  };
}
