// Configuration for the worker, the gateway and the CLI: one YAML file plus
// environment overrides, validated once at start. It holds no credential and
// no path to one the worker could read: SaaS credentials live in the broker's
// own configuration. Two exceptions, both paths to mounted files, never their
// content: the gateway's secret files (PagerDuty webhook, Slack signing), which
// only the gateway mounts, and the short-lived Temporal client credential
// (certificate pair or API key), which the worker and the gateway both need.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { APPROVAL_CHANNELS, CLOUDWATCH_STATS, CLOUDWATCH_UNITS, DEFAULT_APPROVAL_CHANNELS, SURFACES } from './vocabulary.js';
import { durationSetting } from './duration.js';

const duration = durationSetting;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));
/** True for a loopback broker URL, and for one that is not a URL at all (its own check names that). */
function isLoopbackUrl(url: string): boolean {
  if (!URL.canParse(url)) return true;
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/.test(new URL(url).hostname);
}
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port');
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name (DNS-1123 label)');

const slackChannel = z
  .string()
  .regex(/^#?[a-z0-9][a-z0-9._-]{0,79}$|^[CG][A-Z0-9]{8,}$/, 'must be a Slack channel name or id')
  .transform((c) => c.replace(/^#/, ''));

const approvalChannels = z
  .array(z.enum(APPROVAL_CHANNELS))
  .min(1, `list at least one of ${APPROVAL_CHANNELS.join(', ')}`)
  .refine((c) => new Set(c).size === c.length, 'list each channel once');

/** Every service's approval settings, unless the service sets its own. */
const approvalSchema = z
  .object({ reminderAfter: duration, expireAfter: duration, channels: approvalChannels.default([...DEFAULT_APPROVAL_CHANNELS]) })
  .strict()
  .refine((a) => a.expireAfter > a.reminderAfter, { message: 'expireAfter must be longer than reminderAfter' })
  .transform((a) => ({ reminderAfterMs: a.reminderAfter, expireAfterMs: a.expireAfter, channels: a.channels }));

/** A service's own approval settings: each one it leaves out is the global `approval` one (checked in configSchema). */
const serviceApprovalSchema = z
  .object({ reminderAfter: duration.optional(), expireAfter: duration.optional(), channels: approvalChannels.optional() })
  .strict()
  .transform((a) => ({
    ...(a.reminderAfter !== undefined ? { reminderAfterMs: a.reminderAfter } : {}),
    ...(a.expireAfter !== undefined ? { expireAfterMs: a.expireAfter } : {}),
    ...(a.channels !== undefined ? { channels: a.channels } : {}),
  }));

const metricMeaning = {
  label: z.string().min(1).max(80),
  /** Names the dependency the series measures (a database, a payment API), so a regression there can be named as the cause. */
  dependency: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "-" and "_"')
    .optional(),
};

const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1');

const cloudWatchSchema = z.object({
  /** Defaults to aws.region. */
  region: awsRegion.optional(),
  metrics: z
    .array(
      z.object({
        ...metricMeaning,
        namespace: z.string().min(1).max(255),
        metricName: z.string().min(1).max(255),
        dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).default({}),
        stat: z.enum(CLOUDWATCH_STATS).default('Average'),
        /** CloudWatch's rule: 1, 5, 10 or 30 seconds (high-resolution metrics), or a multiple of 60 seconds. */
        period: duration
          .default(60_000)
          .refine(
            (ms) => [1_000, 5_000, 10_000, 30_000].includes(ms) || (ms > 0 && ms % 60_000 === 0),
            'must be 1s, 5s, 10s, 30s or a whole number of minutes',
          ),
        unit: z.enum(CLOUDWATCH_UNITS).optional(),
      }),
    )
    .min(1)
    .max(20),
});

const datadogSchema = z.object({
  queries: z
    .array(z.object({ ...metricMeaning, query: z.string().min(1).max(2000) }))
    .max(20)
    .default([]),
  /** Monitors with any of these tags are checked for Alert and Warn. */
  monitorTags: z.array(z.string().min(1).max(200)).max(20).default([]),
  logQuery: z.string().min(1).max(1000).optional(),
});

const serviceSchema = z.object({
  name: z.string().min(1),
  surfaces: z.array(z.enum(SURFACES)).min(1).optional(),
  kubernetes: z
    .object({
      namespaces: z.array(dnsLabel).min(1),
      labelSelector: z.string().max(1024).optional(),
    })
    .optional(),
  cloudwatch: cloudWatchSchema.optional(),
  datadog: datadogSchema.optional(),
  approvers: z.array(z.string().min(1).max(128)).min(1, 'list at least one approver'),
  approval: serviceApprovalSchema.optional(),
  github: z.object({ repo: z.string().regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/, 'must be owner/name') }).optional(),
  /** Channel names (with or without #) or ids: the approval card goes to the first, the note after approval to the second. */
  slack: z.object({ approvalChannel: slackChannel, incidentsChannel: slackChannel.default('incidents') }).optional(),
});

const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a DNS name',
  );
const filePath = z.string().min(1, 'must be a file path');

/**
 * TLS to the Temporal frontend. Every value is a path to a mounted file, never
 * PEM content: the files rotate (cert-manager, Vault agent, SPIFFE helper) and
 * are re-read when they do.
 */
const temporalTlsSchema = z
  .object({
    /** Client certificate (PEM, leaf first) for mTLS; needs keyFile. */
    certFile: filePath.optional(),
    /** Its private key (PEM). */
    keyFile: filePath.optional(),
    /** CA bundle (PEM) the server certificate must chain to; the system roots when unset. */
    caFile: filePath.optional(),
    /** Name the server certificate must carry, when it differs from the address's host. */
    serverName: hostname.optional(),
    /** Warn when the client certificate expires within this; default a quarter of its lifetime. */
    expiryWarning: duration.optional(),
  })
  .strict();

// Temporal Cloud's two gRPC endpoint forms (docs.temporal.io/cloud/namespaces#access-namespaces).
const CLOUD_NAMESPACE_ENDPOINT = /\.tmprl\.cloud:\d+$/i;
const CLOUD_REGIONAL_ENDPOINT = /\.api\.temporal\.io:\d+$/i;

const temporalSchema = z
  .object({
    address: hostPort.default('127.0.0.1:7233'),
    namespace: z.string().min(1).default('default'),
    taskQueue: z.string().min(1).default('keyless-triage'),
    uiUrl: httpUrl.default('http://127.0.0.1:8233'),
    /** `true`: TLS with the system roots; an object: see temporalTlsSchema; unset or `false`: plaintext (local dev server). */
    // `false` becomes null, `true` an empty object: a union would hide the object's own error messages.
    tls: z.preprocess((v) => (v === true ? {} : v === false ? null : v), temporalTlsSchema.nullable()).optional(),
    /** A file holding a Temporal Cloud API key (sent as a bearer token, over TLS only); re-read when it changes. */
    apiKeyFile: filePath.optional(),
    /**
     * The worker registers the triage's search attributes on the namespace at start when they are missing
     * (OperatorService), unless this is `false` (an identity that may not): the worker then only checks them and names the fix.
     */
    registerSearchAttributes: z.boolean().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const tls = t.tls ?? undefined;
    const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (tls?.keyFile && !tls.certFile)
      issue(['tls', 'certFile'], 'keyFile is set but certFile is not: a client certificate needs both files');
    if (tls?.certFile && !tls.keyFile)
      issue(['tls', 'keyFile'], 'certFile is set but keyFile is not: a client certificate needs both files');
    if (tls?.certFile && t.apiKeyFile) {
      issue(['apiKeyFile'], 'choose one client credential: tls.certFile/keyFile (mTLS) or apiKeyFile (API key), not both');
    }
    if (t.apiKeyFile && t.tls === null) issue(['tls'], 'tls is false but apiKeyFile is set: an API key is only ever sent over TLS');
    const cloud = CLOUD_NAMESPACE_ENDPOINT.test(t.address) || CLOUD_REGIONAL_ENDPOINT.test(t.address);
    if (cloud && !tls?.certFile && !t.apiKeyFile) {
      issue(['address'], `${t.address} is Temporal Cloud: set tls.certFile and tls.keyFile (mTLS) or apiKeyFile (API key)`);
    }
    if (CLOUD_REGIONAL_ENDPOINT.test(t.address) && tls?.certFile) {
      issue(
        ['address'],
        `${t.address} is a regional endpoint, which takes API keys; for mTLS use the namespace endpoint <namespace>.<account>.tmprl.cloud:7233`,
      );
    }
    if (cloud && !t.namespace.includes('.'))
      issue(['namespace'], 'a Temporal Cloud namespace is written <namespace>.<account>, e.g. triage.a1b2c');
  })
  .transform(({ tls, apiKeyFile, ...rest }) => {
    // One shape for the code: `tls` present means TLS on. An API key turns it on, as in the Temporal CLI.
    const tlsSettings = tls === undefined && apiKeyFile ? {} : (tls ?? undefined);
    return { ...rest, ...(tlsSettings ? { tls: tlsSettings } : {}), ...(apiKeyFile ? { apiKeyFile } : {}) };
  });

export type TemporalTlsSettings = z.infer<typeof temporalTlsSchema>;

export const configSchema = z
  .object({
    temporal: temporalSchema.prefault({}),
    gateway: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8787),
        /** One file per accepted secret: two during a rotation. */
        pagerdutyWebhookSecretFiles: z.array(z.string().min(1)).min(1).max(2),
        /** Slack's signing secret; without it `/slack/events` is not served. */
        slackSigningSecretFile: z.string().min(1).optional(),
      })
      .optional(),
    /** The worker's loopback health endpoint (`/healthz`, `/readyz`) for the container's exec probes; 0 picks a free port. */
    worker: z.object({ healthPort: z.number().int().min(0).max(65535).default(8791) }).prefault({}),
    /** The credential broker: every SaaS call goes through it, and it alone holds the credentials. */
    broker: z
      .object({
        url: httpUrl.default('http://127.0.0.1:8790'),
        /**
         * The projected ServiceAccount token (the broker's audience) sent with
         * every call, re-read as the kubelet rotates it. Required unless the
         * broker is on loopback.
         */
        tokenFile: z.string().min(1).optional(),
      })
      .strict()
      .refine((b) => b.tokenFile !== undefined || isLoopbackUrl(b.url), {
        path: ['tokenFile'],
        message: 'required when the broker is not on loopback: the broker only answers callers that present their ServiceAccount token',
      })
      .prefault({}),
    kubernetes: z
      .object({
        cluster: z.string().min(1).default('in-cluster'),
        /** Unset in a pod: the in-cluster service-account token is used. */
        kubeconfig: z.string().min(1).optional(),
        /**
         * Where the kubelet records Node events (`default` on EKS). Set it, and
         * bind the worker with deploy/components/node-events, to read node
         * pressure; unset, no namespace beyond the services' is read.
         */
        nodeEventsNamespace: dnsLabel.optional(),
        /**
         * Whether to list the cluster's Nodes (their Ready condition, taints,
         * cordon, scheduling labels). Nodes are cluster-scoped, so the `view`
         * RoleBindings do not grant them: bind the worker with
         * deploy/components/node-reader first.
         */
        readNodes: z.boolean().optional(),
      })
      .prefault({}),
    /**
     * Credentials come from the SDK's default chain (Pod Identity in EKS), never
     * from here. `endpoint` is for the sandbox (moto) only.
     */
    aws: z.object({ region: awsRegion.default('us-east-1'), endpoint: httpUrl.optional() }).prefault({}),
    approval: approvalSchema.prefault({ reminderAfter: '15m', expireAfter: '1h' }),
    retry: z
      .object({
        maximumAttempts: z.number().int().min(1).max(100).default(5),
        initialInterval: duration.default(1000),
        maximumInterval: duration.default(30_000),
      })
      .prefault({})
      .transform((r) => ({
        maximumAttempts: r.maximumAttempts,
        initialIntervalMs: r.initialInterval,
        maximumIntervalMs: r.maximumInterval,
      })),
    /** The writes after approval (GitHub issue): a timeout long enough for one call, and patient retries. */
    writes: z
      .object({ timeout: duration.default(30_000), maximumAttempts: z.number().int().min(1).max(100).default(10) })
      .prefault({})
      .transform((w) => ({ timeoutMs: w.timeout, maximumAttempts: w.maximumAttempts })),
    services: z
      .record(z.string().regex(/^[A-Z0-9]{1,32}$/i, 'must be a PagerDuty service id'), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, {
        message: 'configure at least one PagerDuty service',
      }),
  })
  .strict()
  .superRefine((config, ctx) => {
    // A service's deadlines are checked as they take effect: its own where set, the global ones elsewhere.
    if (!config.approval) return;
    for (const [id, service] of Object.entries(config.services ?? {})) {
      const own = service?.approval;
      if (own?.reminderAfterMs === undefined && own?.expireAfterMs === undefined) continue;
      const reminder = own.reminderAfterMs ?? config.approval.reminderAfterMs;
      const expiry = own.expireAfterMs ?? config.approval.expireAfterMs;
      if (expiry <= reminder) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', id, 'approval', own.expireAfterMs === undefined ? 'reminderAfter' : 'expireAfter'],
          message: 'expireAfter must be longer than reminderAfter (a setting the service leaves out is the global approval one)',
        });
      }
    }
  });

export type TriageConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables that override a setting, by the setting's path. */
export const ENV_OVERRIDES: Record<string, string> = {
  TEMPORAL_ADDRESS: 'temporal.address',
  TEMPORAL_NAMESPACE: 'temporal.namespace',
  TRIAGE_TASK_QUEUE: 'temporal.taskQueue',
  TEMPORAL_UI_URL: 'temporal.uiUrl',
  // The Temporal CLI's names (`temporal options`) where the meaning is the same: paths, not data.
  TEMPORAL_TLS: 'temporal.tls',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'temporal.tls.certFile',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'temporal.tls.keyFile',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'temporal.tls.caFile',
  TEMPORAL_TLS_SERVER_NAME: 'temporal.tls.serverName',
  // The CLI has no file form for the API key (TEMPORAL_API_KEY is the key itself); this is ours.
  TEMPORAL_API_KEY_FILE: 'temporal.apiKeyFile',
  TRIAGE_BROKER_URL: 'broker.url',
  TRIAGE_BROKER_TOKEN_FILE: 'broker.tokenFile',
  TRIAGE_KUBECONFIG: 'kubernetes.kubeconfig',
  TRIAGE_GATEWAY_PORT: 'gateway.port',
  // Not AWS_REGION: EKS's Pod Identity webhook injects that with the cluster's region, which would silently move the metrics.
  TRIAGE_AWS_REGION: 'aws.region',
};

/**
 * Temporal CLI variables that carry credential material inline. Refused rather
 * than ignored: ignoring one would silently connect without the credential,
 * and honouring it would put a secret in the environment.
 */
const INLINE_TEMPORAL_CREDENTIALS: Record<string, string> = {
  TEMPORAL_API_KEY: 'write the key to a file and set TEMPORAL_API_KEY_FILE (or temporal.apiKeyFile)',
  TEMPORAL_TLS_CLIENT_KEY_DATA: 'mount the key as a file and set TEMPORAL_TLS_CLIENT_KEY_PATH (or temporal.tls.keyFile)',
  TEMPORAL_TLS_CLIENT_CERT_DATA: 'mount the certificate as a file and set TEMPORAL_TLS_CLIENT_CERT_PATH (or temporal.tls.certFile)',
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'mount the CA bundle as a file and set TEMPORAL_TLS_SERVER_CA_CERT_PATH (or temporal.tls.caFile)',
};

/** Where the configuration file is: `--config`, then TRIAGE_CONFIG, then the sandbox's. */
export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.TRIAGE_CONFIG ?? '.sandbox/triage.yaml');
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): TriageConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read configuration file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); set TRIAGE_CONFIG or pass --config`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`configuration file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(raw, { env, baseDir: dirname(path), source: path });
}

export function parseConfig(raw: unknown, opts: { env?: NodeJS.ProcessEnv; baseDir?: string; source?: string } = {}): TriageConfig {
  const source = opts.source ?? 'configuration';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source}: must be a YAML mapping`);
  const merged = applyEnv(structuredClone(raw) as Record<string, unknown>, opts.env ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return resolvePaths(result.data, opts.baseDir ?? process.cwd());
}

/**
 * The `temporal` settings from the environment alone, for a process started
 * without a configuration file (the CLI): the same variables, checks and
 * defaults as in a file; relative paths are relative to the working directory.
 */
/**
 * What the CLI needs: the config file's Temporal settings when there is a file
 * (`--config`, TRIAGE_CONFIG, the sandbox's), else the environment's.
 */
export function temporalSettingsFor(explicitConfig?: string, env: NodeJS.ProcessEnv = process.env): TriageConfig['temporal'] {
  const path = configPath(explicitConfig, env);
  if (explicitConfig || env.TRIAGE_CONFIG || existsSync(path)) return loadConfig(path, env).temporal;
  return temporalSettingsFromEnv(env);
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, baseDir: string = process.cwd()): TriageConfig['temporal'] {
  const raw = applyEnv({}, env);
  const result = configSchema.shape.temporal.safeParse(raw.temporal);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${['temporal', ...i.path].join('.')}: ${i.message}`);
    throw new ConfigError(`Temporal settings from the environment are invalid:\n${lines.join('\n')}`);
  }
  return resolveTemporalPaths(result.data, baseDir);
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, advice] of Object.entries(INLINE_TEMPORAL_CREDENTIALS)) {
    if (env[name]) throw new ConfigError(`${name} is set, but credentials are never taken from the environment: ${advice}`);
  }
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const keys = path.split('.');
    const key = keys.pop()!;
    let target = raw;
    for (const k of keys) {
      // A TLS file or server name from the environment turns TLS on, as in the Temporal CLI (`tls: true` becomes `{}`).
      if (target[k] === null || typeof target[k] !== 'object') target[k] = {};
      target = target[k] as Record<string, unknown>;
    }
    if (path === 'temporal.tls') {
      const on = parseFlag(name, value);
      // TEMPORAL_TLS=true keeps the file's TLS settings; false turns TLS off.
      if (!on || typeof target[key] !== 'object' || target[key] === null) target[key] = on;
    } else {
      target[key] = key === 'port' ? Number(value) : value;
    }
  }
  return raw;
}

function parseFlag(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, not "${value}"`);
}

// Relative file paths in the file are relative to the file, not to wherever the process started.
function resolvePaths(config: TriageConfig, baseDir: string): TriageConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    temporal: resolveTemporalPaths(config.temporal, baseDir),
    kubernetes: { ...config.kubernetes, ...(config.kubernetes.kubeconfig ? { kubeconfig: abs(config.kubernetes.kubeconfig) } : {}) },
    ...(config.gateway
      ? {
          gateway: {
            ...config.gateway,
            pagerdutyWebhookSecretFiles: config.gateway.pagerdutyWebhookSecretFiles.map(abs),
            ...(config.gateway.slackSigningSecretFile ? { slackSigningSecretFile: abs(config.gateway.slackSigningSecretFile) } : {}),
          },
        }
      : {}),
  };
}

function resolveTemporalPaths(temporal: TriageConfig['temporal'], baseDir: string): TriageConfig['temporal'] {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const { tls, apiKeyFile } = temporal;
  return {
    ...temporal,
    ...(tls
      ? {
          tls: {
            ...tls,
            ...(tls.certFile ? { certFile: abs(tls.certFile) } : {}),
            ...(tls.keyFile ? { keyFile: abs(tls.keyFile) } : {}),
            ...(tls.caFile ? { caFile: abs(tls.caFile) } : {}),
          },
        }
      : {}),
    ...(apiKeyFile ? { apiKeyFile: abs(apiKeyFile) } : {}),
  };
}
