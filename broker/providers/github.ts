// GitHub App installation tokens, minted from the App's private key. The key
// never leaves the broker; the worker only ever sees the proxy.
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import type { GitHubProviderConfig } from '../config.js';
import { CredentialUnavailableError, SecretFile } from '../secret-file.js';
import type { CredentialProvider, MintingDeps, OutboundCredential } from './credential.js';
import { TokenCache, type MintedToken } from './token-cache.js';

export const GITHUB_REFRESH_MARGIN_MS = 5 * 60_000;

type AppAuth = ReturnType<typeof createAppAuth>;

export function githubCredentialId(config: Pick<GitHubProviderConfig, 'appId' | 'installationId'>): string {
  return `github-app:${config.appId}/installation:${config.installationId}`;
}

export function createGitHubCredentials(config: GitHubProviderConfig, deps: MintingDeps): CredentialProvider {
  const keyFile = new SecretFile(config.privateKeyFile, 'GitHub App private key');
  const credentialId = githubCredentialId(config);
  const cache = new TokenCache<MintedToken>({
    now: deps.now,
    refreshMarginMs: GITHUB_REFRESH_MARGIN_MS,
    failureBackoffMs: deps.failureBackoffMs,
  });
  // The token request goes to the configured upstream (never a host from the
  // request), through the broker's own connection pool and timeout, and does
  // not follow redirects: a redirect would carry the App JWT elsewhere.
  const request = new Octokit({
    baseUrl: config.upstream,
    userAgent: deps.userAgent,
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    request: { fetch: boundFetch(deps.dispatcher, deps.timeoutMs) },
  }).request;

  let auth: { version: number; fn: AppAuth } | undefined;

  return {
    provider: 'github',

    async credential(): Promise<OutboundCredential> {
      const key = await keyFile.read();
      if (auth?.version !== key.version) {
        // A new key means the old App identity may be revoked: drop its tokens.
        if (auth) deps.log.info('github app private key changed; cached installation token dropped', { credentialId });
        cache.clear();
        auth = {
          version: key.version,
          fn: createAppAuth({
            appId: config.appId,
            privateKey: key.value,
            installationId: config.installationId,
            request,
            log: { warn: () => deps.log.warn('github installation token request retried', { credentialId }) },
          }),
        };
      }
      const appAuth = auth.fn;
      const minted = await cache.get(String(key.version), async () => {
        try {
          // `refresh`: the library's own cache ignores expires_at; ours decides when to re-mint.
          const result = await appAuth({ type: 'installation', refresh: true });
          const expiresAt = Date.parse(result.expiresAt);
          if (!result.token || !Number.isFinite(expiresAt))
            throw new CredentialUnavailableError('installation token response lacks token or expires_at');
          deps.log.info('github installation token minted', { credentialId, expiresAt: new Date(expiresAt).toISOString() });
          return { token: result.token, expiresAt };
        } catch (err) {
          const reason = mintFailureReason(err, config.privateKeyFile);
          deps.log.warn('github installation token unavailable', { credentialId, reason });
          throw new CredentialUnavailableError(reason);
        }
      });
      return { headers: { authorization: `token ${minted.token}` }, credentialId };
    },

    async readiness(): Promise<string> {
      try {
        const key = await keyFile.read();
        const failure = cache.lastFailure(String(key.version));
        return failure ? `unavailable: ${failure.message}` : 'ready';
      } catch (err) {
        return `unavailable: ${(err as Error).message}`;
      }
    },
  };
}

/**
 * Only the shape of the failure: Octokit's error messages quote the response
 * body, and nothing upstream says belongs in our logs or replies verbatim.
 */
function mintFailureReason(err: unknown, keyPath: string): string {
  if (err instanceof CredentialUnavailableError) return err.message;
  const e = err as { name?: string; status?: number; response?: unknown };
  if (e?.name === 'HttpError' && typeof e.status === 'number') {
    return e.response
      ? `installation token request failed (HTTP ${e.status})`
      : 'installation token request failed (upstream unreachable or timed out)';
  }
  return `cannot sign the App JWT with the private key in ${keyPath}`;
}

function boundFetch(dispatcher: Dispatcher, timeoutMs: number): typeof fetch {
  return ((input: string | URL, init: RequestInit = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return undiciFetch(input, { ...(init as object), dispatcher, signal, redirect: 'manual' });
  }) as unknown as typeof fetch;
}
