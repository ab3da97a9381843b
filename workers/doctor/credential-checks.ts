// The credential checks: no credential in this process's environment or in the
// files it can read, and other components' secret files out of its reach.
// Separate because they scan content (findSecrets) rather than ask a service.
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findSecrets, isSecretName } from '../../config/log-redaction.js';
import type { TriageConfig } from '../../config/config.js';
import { AWS_KEY_VARIABLES } from './aws-checks.js';
import { plural, tryRead, type DoctorCheck } from './context.js';
import { IN_CLUSTER_TOKEN } from './kubernetes-checks.js';

/** Variables whose value is allowed although it leads to a credential, and why. */
const ALLOWED_VARIABLES: Readonly<Record<string, { why: string; valueIs: 'path' | 'url' }>> = {
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {
    valueIs: 'path',
    why: 'the Pod Identity token file: kubelet-projected and rotated, it only buys a 1-hour session from the node-local agent',
  },
  AWS_CONTAINER_CREDENTIALS_FULL_URI: { valueIs: 'url', why: 'the Pod Identity agent address' },
  AWS_WEB_IDENTITY_TOKEN_FILE: {
    valueIs: 'path',
    why: 'a projected web-identity token file (IRSA): short-lived, exchanged for an STS session',
  },
};

/** A secret-named variable's value that looks like a credential rather than a placeholder (`via-broker`, `unused`). */
function credentialShaped(value: string): boolean {
  return value.length >= 12 && !/\s/.test(value) && !value.startsWith('/') && /[A-Za-z]/.test(value) && /[0-9]/.test(value);
}

function isAbsolutePathValue(value: string): boolean {
  return isAbsolute(value) && value.length < 4096 && !/[\s\0]/.test(value);
}

export const credentialsEnvironment: DoctorCheck = {
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
        const ok =
          rule.valueIs === 'path'
            ? isAbsolutePathValue(value)
            : URL.canParse(value) && !new URL(value).username && !new URL(value).password;
        if (ok) allowed.push(`${name} (${rule.why})`);
        else {
          ctx.sensitive.add(value);
          problems.push(
            `env ${name}: expected ${rule.valueIs === 'path' ? 'a file path' : 'a URL without credentials'}, found something else`,
          );
        }
        continue;
      }
      const kinds = [...new Set(findSecrets(value).map((f) => f.kind))];
      if (kinds.length === 0 && isSecretName(name) && credentialShaped(value))
        kinds.push('credential-shaped value in a secret-named variable');
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
          "what to do: remove it from the worker's environment; SaaS credentials belong to the broker (its own Secret, mounted into the broker container only)",
          ...allowedLine,
        ].join('\n'),
      };
    }
    return {
      status: 'pass',
      detail: [`${plural(Object.keys(ctx.deps.env).length, 'variable')} scanned, none holds a credential`, ...allowedLine].join('\n'),
    };
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
const FILE_VARIABLES_ELSEWHERE = new Set([
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'TRIAGE_CONFIG',
  ...Object.keys(ALLOWED_VARIABLES),
]);

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
    if (user['client-key-data'] || user['client-key'])
      problems.push(`${who}: client certificate private key (long-lived; use the pod's projected service-account token)`);
    if (user.exec?.command)
      problems.push(
        `${who}: runs an exec credential plugin (${String(user.exec.command).slice(0, 60)}), which needs credentials of its own`,
      );
    const tokenFile = user.tokenFile ?? user['auth-provider']?.config?.tokenFile;
    if (typeof tokenFile === 'string') {
      allowed.push({
        path: isAbsolute(tokenFile) ? tokenFile : resolve(dirname(path), tokenFile),
        what: 'Kubernetes service-account token file: projected and rotated by the kubelet in a pod',
      });
    }
  }
  return { problems, allowed };
}

export const credentialsFiles: DoctorCheck = {
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
    if (ctx.role === 'gateway')
      for (const f of gatewaySecretFiles(ctx.config)) allowed.push(`${f.path} (${f.what}: the gateway's own, not scanned)`);
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
      ...(unreadableSecrets.length > 0
        ? [`other components' secret files not readable here, as they should be: ${unreadableSecrets.join('; ')}`]
        : []),
    ];
    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [
          ...problems,
          'what to do: keep credentials out of files the worker reads; secret files belong to the component that uses them',
          ...context,
        ].join('\n'),
      };
    }
    return { status: 'pass', detail: context.join('\n') };
  },
};
