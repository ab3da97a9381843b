// The broker's configuration: one YAML file named by BROKER_CONFIG, validated
// once at start. It names secret *files*, never secret values, so the file
// itself can be reviewed and checked in.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type TriageConfig } from '../config/config.js';
import { durationSetting } from '../config/duration.js';

export const PROVIDERS = ['github', 'pagerduty', 'datadog', 'slack'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const DEFAULT_PORT = 8790;
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return LOOPBACK_HOSTS.has(bare) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

const duration = durationSetting;

// Upstreams are the broker's whole egress allowlist. Plain http would put the
// credential on the wire in clear text, so it is only accepted for loopback
// (the sandbox emulators).
const upstreamUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an absolute URL, got "${value}"` });
    return z.NEVER;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    ctx.addIssue({ code: 'custom', message: 'must be https (plain http only for a loopback host)' });
    return z.NEVER;
  }
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials, a query or a fragment' });
    return z.NEVER;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
});

const filePath = z.string().min(1, 'must name a file');

const repoName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/, 'must be owner/repo')
  .refine((r) => !r.split('/').some((part) => part === '.' || part === '..'), 'must be owner/repo');

const githubSchema = z.strictObject({
  upstream: upstreamUrl.default('https://api.github.com'),
  appId: z
    .union([z.string(), z.number().int().positive()])
    .transform(String)
    .pipe(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be the App id (or client id)')),
  installationId: z.union([
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d{1,20}$/, 'must be a number')
      .transform(Number),
  ]),
  privateKeyFile: filePath,
  repos: z.array(repoName).min(1, 'list at least one owner/repo'),
});

const pagerdutySchema = z.strictObject({
  upstream: upstreamUrl.default('https://api.pagerduty.com'),
  tokenUrl: upstreamUrl.default('https://identity.pagerduty.com/oauth/token'),
  clientIdFile: filePath,
  clientSecretFile: filePath,
  account: z
    .string()
    .regex(/^as_account-[A-Za-z0-9-]+\.[A-Za-z0-9-]+$/, 'must be as_account-<region>.<subdomain>, e.g. as_account-us.acme'),
  // No activity writes PagerDuty notes, so no config may open that write (the route and incidents.write
  // would be a capability nothing uses). `false` is still accepted: existing configs name it.
  notes: z
    .literal(false, {
      error: 'no activity writes PagerDuty notes, so the broker allows no PagerDuty write and requests no incidents.write; remove it',
    })
    .default(false),
});

const datadogSchema = z.strictObject({
  upstream: upstreamUrl.default('https://api.datadoghq.com'),
  apiKeyFile: filePath,
  appKeyFile: filePath,
});

const slackSchema = z.strictObject({
  upstream: upstreamUrl.default('https://slack.com'),
  botTokenFile: filePath,
});

/** `namespace/name` of a ServiceAccount whose pods may call the broker. */
const serviceAccount = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/, 'must be namespace/name of a ServiceAccount');

/**
 * Who may call: pods presenting a projected ServiceAccount token minted for
 * the broker's own audience, checked with a TokenReview by the Kubernetes API.
 */
const callersSchema = z.strictObject({
  audience: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$/, 'must be a token audience such as keyless-triage-broker'),
  serviceAccounts: z.array(serviceAccount).min(1, 'list at least one namespace/name'),
  /** Where the TokenReview is sent; unset in a pod: the in-cluster API with the broker's own token. */
  kubeconfig: filePath.optional(),
  /** How long a reviewed token's verdict is reused before it is reviewed again. */
  cacheFor: duration.default(60_000),
});

export const brokerConfigSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORT),
      })
      .prefault({}),
    callers: callersSchema.optional(),
    auditLog: filePath,
    upstreamTimeout: duration.default(30_000),
    maxRequestBodyBytes: z.number().int().positive().default(DEFAULT_MAX_REQUEST_BODY_BYTES),
    /** How long SIGTERM waits for in-flight requests before closing their connections. */
    shutdownGrace: duration.default(20_000),
    providers: z
      .strictObject({
        github: githubSchema.optional(),
        pagerduty: pagerdutySchema.optional(),
        datadog: datadogSchema.optional(),
        slack: slackSchema.optional(),
      })
      .prefault({}),
    /**
     * Where the broker reads a triage's plan and decision before it forwards a
     * write (the worker's `temporal` settings; an identity that may query
     * workflows is enough). Without it every write is refused.
     */
    temporal: configSchema.shape.temporal.unwrap().optional(),
  })
  // Off loopback the network is shared with every pod the NetworkPolicy lets in; a caller must then prove who it is.
  .refine((c) => isLoopbackHost(c.listen.host) || c.callers !== undefined, {
    path: ['callers'],
    message: 'required when listen.host is not a loopback address: the broker authenticates its callers by ServiceAccount token',
  });

type ParsedConfig = z.output<typeof brokerConfigSchema>;

export type GitHubProviderConfig = NonNullable<ParsedConfig['providers']['github']>;
export type PagerDutyProviderConfig = NonNullable<ParsedConfig['providers']['pagerduty']>;
export type DatadogProviderConfig = NonNullable<ParsedConfig['providers']['datadog']>;
export type SlackProviderConfig = NonNullable<ParsedConfig['providers']['slack']>;

export type CallersConfig = NonNullable<ParsedConfig['callers']>;

export interface BrokerConfig {
  listen: { host: string; port: number };
  /** Unset only on loopback (the config refuses it elsewhere): callers are then not authenticated. */
  callers?: CallersConfig;
  /** Absolute path. */
  auditLog: string;
  upstreamTimeoutMs: number;
  maxRequestBodyBytes: number;
  shutdownGraceMs: number;
  providers: {
    github?: GitHubProviderConfig;
    pagerduty?: PagerDutyProviderConfig;
    datadog?: DatadogProviderConfig;
    slack?: SlackProviderConfig;
  };
  temporal?: TriageConfig['temporal'];
}

export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/**
 * Validates an already-parsed document. Relative file paths resolve against
 * `baseDir` (the config file's directory), so a config and its secrets can
 * move together.
 */
export function parseBrokerConfig(raw: unknown, baseDir: string, source = 'broker config'): BrokerConfig {
  const result = brokerConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${settingName(issue.path)}: ${issue.message}`);
    throw new BrokerConfigError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  const c = result.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const { github, pagerduty, datadog, slack } = c.providers;
  return {
    listen: c.listen,
    ...(c.callers && { callers: { ...c.callers, ...(c.callers.kubeconfig && { kubeconfig: abs(c.callers.kubeconfig) }) } }),
    auditLog: abs(c.auditLog),
    upstreamTimeoutMs: c.upstreamTimeout,
    maxRequestBodyBytes: c.maxRequestBodyBytes,
    shutdownGraceMs: c.shutdownGrace,
    providers: {
      ...(github && { github: { ...github, privateKeyFile: abs(github.privateKeyFile) } }),
      ...(pagerduty && {
        pagerduty: { ...pagerduty, clientIdFile: abs(pagerduty.clientIdFile), clientSecretFile: abs(pagerduty.clientSecretFile) },
      }),
      ...(datadog && { datadog: { ...datadog, apiKeyFile: abs(datadog.apiKeyFile), appKeyFile: abs(datadog.appKeyFile) } }),
      ...(slack && { slack: { ...slack, botTokenFile: abs(slack.botTokenFile) } }),
    },
    ...(c.temporal && { temporal: temporalWithAbsolutePaths(c.temporal, abs) }),
  };
}

function temporalWithAbsolutePaths(t: TriageConfig['temporal'], abs: (p: string) => string): TriageConfig['temporal'] {
  const { tls, apiKeyFile } = t;
  return {
    ...t,
    ...(tls && {
      tls: {
        ...tls,
        ...(tls.caFile && { caFile: abs(tls.caFile) }),
        ...(tls.certFile && { certFile: abs(tls.certFile) }),
        ...(tls.keyFile && { keyFile: abs(tls.keyFile) }),
      },
    }),
    ...(apiKeyFile && { apiKeyFile: abs(apiKeyFile) }),
  };
}

export function loadBrokerConfig(file: string): BrokerConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BrokerConfigError(`cannot read broker config ${path} (${(err as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BrokerConfigError(`broker config ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseBrokerConfig(doc, dirname(path), `broker config ${path}`);
}

/** The config from the file named by BROKER_CONFIG. */
export function loadBrokerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const file = env.BROKER_CONFIG;
  if (!file) throw new BrokerConfigError('BROKER_CONFIG is not set: it must name the broker YAML config file');
  return loadBrokerConfig(file);
}

function settingName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
