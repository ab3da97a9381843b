// PagerDuty scoped OAuth: a client-credentials grant for exactly the scopes
// the policy needs. PagerDuty silently narrows a grant to what the App was
// given, so the returned `scope` is checked rather than trusted.
import { z } from 'zod';
import type { PagerDutyProviderConfig } from '../config.js';
import { CredentialUnavailableError, fingerprintOf, SecretFile } from '../secret-file.js';
import type { CredentialProvider, MintingDeps, OutboundCredential } from './credential.js';
import { TokenCache, type MintedToken } from './token-cache.js';

export const PAGERDUTY_ACCEPT = 'application/vnd.pagerduty+json;version=2';
export const PAGERDUTY_REFRESH_MARGIN_MS = 5 * 60_000;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

export interface PagerDutyCredentialProvider extends CredentialProvider {
  /** The scopes the grant must include, given the config. */
  readonly requiredScopes: readonly string[];
}

/** The activities only read incidents and their alerts: nothing else is ever requested. */
export const PAGERDUTY_SCOPES: readonly string[] = ['incidents.read'];

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type is not bearer'),
  expires_in: z.number().positive(),
  scope: z.string(),
});

interface GrantedToken extends MintedToken {
  scope: string[];
}

export function createPagerDutyCredentials(config: PagerDutyProviderConfig, deps: MintingDeps): PagerDutyCredentialProvider {
  const clientIdFile = new SecretFile(config.clientIdFile, 'PagerDuty OAuth client id');
  const clientSecretFile = new SecretFile(config.clientSecretFile, 'PagerDuty OAuth client secret');
  const requiredScopes = PAGERDUTY_SCOPES;
  const requestedScope = [config.account, ...requiredScopes].join(' ');
  const tokenUrl = new URL(config.tokenUrl);
  const cache = new TokenCache<GrantedToken>({
    now: deps.now,
    refreshMarginMs: PAGERDUTY_REFRESH_MARGIN_MS,
    failureBackoffMs: deps.failureBackoffMs,
  });

  const readSecrets = async () => {
    const [id, secret] = await Promise.all([clientIdFile.read(), clientSecretFile.read()]);
    return { id, secret, key: `${id.version}:${secret.version}`, credentialId: `pagerduty-oauth:${fingerprintOf(id.value)}` };
  };

  const grant = async (clientId: string, clientSecret: string, credentialId: string): Promise<GrantedToken> => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: requestedScope,
    }).toString();
    let status: number;
    let text: string;
    try {
      const res = await deps.dispatcher.request({
        origin: tokenUrl.origin,
        path: `${tokenUrl.pathname}${tokenUrl.search}`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': deps.userAgent },
        body,
        headersTimeout: deps.timeoutMs,
        bodyTimeout: deps.timeoutMs,
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      status = res.statusCode;
      text = await readBounded(res.body, MAX_TOKEN_RESPONSE_BYTES);
    } catch {
      throw new CredentialUnavailableError('token grant failed (token endpoint unreachable or timed out)');
    }
    // The error body may describe the client; it stays out of logs and replies.
    if (status !== 200) throw new CredentialUnavailableError(`token grant failed (HTTP ${status})`);
    let parsed: z.infer<typeof tokenResponseSchema>;
    try {
      parsed = tokenResponseSchema.parse(JSON.parse(text));
    } catch {
      throw new CredentialUnavailableError('token grant returned an unexpected response');
    }
    const granted = parsed.scope.split(/\s+/).filter(Boolean);
    const missing = requiredScopes.filter((s) => !granted.includes(s));
    if (missing.length > 0) throw new CredentialUnavailableError(`granted scope lacks ${missing.join(' ')}`);
    const expiresAt = deps.now() + parsed.expires_in * 1000;
    deps.log.info('pagerduty oauth token granted', {
      credentialId,
      scope: granted.join(' '),
      expiresAt: new Date(expiresAt).toISOString(),
    });
    return { token: parsed.access_token, expiresAt, scope: granted };
  };

  return {
    provider: 'pagerduty',
    requiredScopes,
    defaultHeaders: { accept: PAGERDUTY_ACCEPT },

    async credential(): Promise<OutboundCredential> {
      const { id, secret, key, credentialId } = await readSecrets();
      const token = await cache.get(key, async () => {
        try {
          return await grant(id.value, secret.value, credentialId);
        } catch (err) {
          deps.log.warn('pagerduty oauth token unavailable', { credentialId, reason: (err as Error).message });
          throw err;
        }
      });
      return { headers: { authorization: `Bearer ${token.token}` }, credentialId };
    },

    async readiness(): Promise<string> {
      try {
        const { key } = await readSecrets();
        const failure = cache.lastFailure(key);
        return failure ? `unavailable: ${failure.message}` : 'ready';
      } catch (err) {
        return `unavailable: ${(err as Error).message}`;
      }
    },
  };
}

async function readBounded(body: AsyncIterable<Buffer | string> & { destroy(err?: Error): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      throw new Error('response too large');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
