// The AWS checks: no static keys anywhere the SDK would find them, and the
// identity it does find is a short-lived assumed-role session. Separate as the
// only checks that read the AWS shared files and call STS.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { awsClientSettings } from '../../activities/cloudwatch.js';
import { DOCTOR_TRIAGE_ID, networkCode, tryRead, type DoctorCheck } from './context.js';

/** Variables the SDK's env provider reads: the worker must have none of them. */
export const AWS_KEY_VARIABLES: Readonly<Record<string, string>> = {
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

export const awsStaticKeys: DoctorCheck = {
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
        notes.push(
          read.error === 'ENOENT' ? `no ${kind} file at ${files[kind]}` : `${kind} file ${files[kind]} not readable (${read.error})`,
        );
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
      for (let name: string | undefined = profile; name !== undefined && !seen.has(name);) {
        seen.add(name);
        const fromCredentials: Map<string, string> | undefined = parsed.credentials
          ? profileIn(parsed.credentials, name, 'credentials')
          : undefined;
        const fromConfig: Map<string, string> | undefined = parsed.config ? profileIn(parsed.config, name, 'config') : undefined;
        const get = (k: string): string | undefined => fromCredentials?.get(k) ?? fromConfig?.get(k);
        const via = name === profile ? '' : ` (its source_profile chain reaches ${name})`;
        if (STATIC_KEY_FIELDS.some((f) => get(f))) problems.push(`env AWS_PROFILE=${profile}: points at static keys${via}`);
        else if (get('credential_process')) problems.push(`env AWS_PROFILE=${profile}: runs a credential_process${via}, not Pod Identity`);
        else if (get('sso_session') || get('sso_start_url'))
          problems.push(`env AWS_PROFILE=${profile}: uses an SSO login cache${via}, not Pod Identity`);
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
  return status !== undefined
    ? `GetCallerIdentity failed: HTTP ${status} ${name}`
    : `GetCallerIdentity failed: no answer (${networkCode(err)})`;
}

export const awsIdentity: DoctorCheck = {
  id: 'aws.identity',
  title: 'AWS identity is a short-lived assumed-role session',
  async run(ctx) {
    const cloudwatch = Object.values(ctx.config.services).find((s) => s.cloudwatch);
    const gateway = ctx.role === 'gateway';
    if (!cloudwatch && !gateway) return { status: 'skip', detail: 'no service has cloudwatch configured: the worker makes no AWS call' };
    const region = cloudwatch?.cloudwatch?.region ?? ctx.config.aws.region;
    const sts = new STSClient({
      ...awsClientSettings({
        region,
        triageId: DOCTOR_TRIAGE_ID,
        ...(ctx.config.aws.endpoint ? { endpoint: ctx.config.aws.endpoint } : {}),
      }),
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
        if (gateway && noCredentials(err))
          return { status: 'pass', detail: 'no AWS credentials in the default chain: the gateway needs none' };
        return { status: 'fail', detail: awsErrorText(err) };
      }
      if (!arn) return { status: 'fail', detail: 'GetCallerIdentity returned no Arn' };
      if (gateway)
        return {
          status: 'fail',
          detail: `${arn}: the gateway holds an AWS identity it does not need\nwhat to do: remove it (and block IMDS from pods: hop limit 1)`,
        };
      const role = ASSUMED_ROLE.exec(arn);
      if (!role) {
        const what = /:user\//.test(arn)
          ? 'an IAM user: its access keys are long-lived'
          : /:root$/.test(arn)
            ? "the account's root user"
            : /:federated-user\//.test(arn)
              ? 'a federated user (GetFederationToken, derived from an IAM user key)'
              : 'not an assumed-role session';
        return {
          status: 'fail',
          detail: `${arn} is ${what}\nwhat to do: remove the key the SDK found and let the Pod Identity association give the worker its role session`,
        };
      }
      if (INSTANCE_SESSION.test(role[2]!)) {
        return {
          status: 'fail',
          detail: `${arn} is the node's instance role, reached through IMDS, not the worker's Pod Identity association\nwhat to do: create the association for the worker's service account, and block IMDS from pods (hop limit 1)`,
        };
      }
      const seen = `${arn} (assumed-role session of role ${role[1]}, ${ctx.config.aws.endpoint ? `via ${ctx.config.aws.endpoint}` : 'via the default chain'})`;
      if (!expiration)
        return { status: 'fail', detail: `${seen}: the credentials carry no expiry, so they are not a session from the agent` };
      const left = expiration.getTime() - ctx.deps.now();
      const expires = `expires in ${Math.round(left / 60_000)} min`;
      if (left > MAX_SESSION_MS)
        return { status: 'warn', detail: `${seen}, ${expires}: longer than the 1-hour session the design expects` };
      return { status: 'pass', detail: `${seen}, ${expires}` };
    } finally {
      sts.destroy();
    }
  },
};
