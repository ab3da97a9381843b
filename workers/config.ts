// Configuration for the worker, the gateway and the CLI: one YAML file plus
// environment overrides, validated once at start. It holds no credential and
// no path to one the worker could read: SaaS credentials live in the broker's
// own configuration; the gateway's secret files (PagerDuty webhook, Slack
// signing) are the one exception, and only the gateway mounts them.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CLOUDWATCH_STATS, CLOUDWATCH_UNITS, SURFACES } from '../activities/model.js';
import { durationSetting } from './duration.js';

const duration = durationSetting;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port');
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name (DNS-1123 label)');

const slackChannel = z
  .string()
  .regex(/^#?[a-z0-9][a-z0-9._-]{0,79}$|^[CG][A-Z0-9]{8,}$/, 'must be a Slack channel name or id')
  .transform((c) => c.replace(/^#/, ''));

const approvalSchema = z
  .object({ reminderAfter: duration, expireAfter: duration })
  .refine((a) => a.expireAfter > a.reminderAfter, { message: 'expireAfter must be longer than reminderAfter' })
  .transform((a) => ({ reminderAfterMs: a.reminderAfter, expireAfterMs: a.expireAfter }));

const metricMeaning = {
  label: z.string().min(1).max(80),
  /** Names the dependency the series measures (a database, a payment API), so a regression there can be named as the cause. */
  dependency: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "-" and "_"').optional(),
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
          .refine((ms) => [1_000, 5_000, 10_000, 30_000].includes(ms) || (ms > 0 && ms % 60_000 === 0), 'must be 1s, 5s, 10s, 30s or a whole number of minutes'),
        unit: z.enum(CLOUDWATCH_UNITS).optional(),
      }),
    )
    .min(1)
    .max(20),
});

const datadogSchema = z.object({
  queries: z.array(z.object({ ...metricMeaning, query: z.string().min(1).max(2000) })).max(20).default([]),
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
  approval: approvalSchema.optional(),
  github: z.object({ repo: z.string().regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/, 'must be owner/name') }).optional(),
  /** Channel names (with or without #) or ids: the approval card goes to the first, the note after approval to the second. */
  slack: z.object({ approvalChannel: slackChannel, incidentsChannel: slackChannel.default('incidents') }).optional(),
});

export const configSchema = z
  .object({
    temporal: z
      .object({
        address: hostPort.default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        taskQueue: z.string().min(1).default('keyless-triage'),
        uiUrl: httpUrl.default('http://127.0.0.1:8233'),
      })
      .prefault({}),
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
    /** The credential broker sidecar: every SaaS call goes through it, and it alone holds the credentials. */
    broker: z.object({ url: httpUrl.default('http://127.0.0.1:8790') }).prefault({}),
    kubernetes: z
      .object({
        cluster: z.string().min(1).default('in-cluster'),
        /** Unset in a pod: the in-cluster service-account token is used. */
        kubeconfig: z.string().min(1).optional(),
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
      .transform((r) => ({ maximumAttempts: r.maximumAttempts, initialIntervalMs: r.initialInterval, maximumIntervalMs: r.maximumInterval })),
    /** The writes after approval (GitHub issue): a timeout long enough for one call, and patient retries. */
    writes: z
      .object({ timeout: duration.default(30_000), maximumAttempts: z.number().int().min(1).max(100).default(10) })
      .prefault({})
      .transform((w) => ({ timeoutMs: w.timeout, maximumAttempts: w.maximumAttempts })),
    services: z.record(z.string().regex(/^[A-Z0-9]{1,32}$/i, 'must be a PagerDuty service id'), serviceSchema).refine((s) => Object.keys(s).length > 0, {
      message: 'configure at least one PagerDuty service',
    }),
  })
  .strict();

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
  TRIAGE_BROKER_URL: 'broker.url',
  TRIAGE_KUBECONFIG: 'kubernetes.kubeconfig',
  TRIAGE_GATEWAY_PORT: 'gateway.port',
  AWS_REGION: 'aws.region',
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
    throw new ConfigError(`cannot read configuration file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); set TRIAGE_CONFIG or pass --config`);
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

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const [section, key] = path.split('.') as [string, string];
    const target = (raw[section] ??= {}) as Record<string, unknown>;
    target[key] = key === 'port' ? Number(value) : value;
  }
  return raw;
}

// Relative file paths in the file are relative to the file, not to wherever the process started.
function resolvePaths(config: TriageConfig, baseDir: string): TriageConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
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
