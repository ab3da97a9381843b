// GitHub App installation tokens, minted from the App's private key with @octokit/app. The key
// never leaves the broker; the worker only ever sees the proxy. Each token is
// narrowed to the one repository of the request and to what the issue
// activities need, so a token (in a log, a crash dump, a compromised broker's
// memory) reaches one repository's issues and nothing else the App may hold.
import { App } from '@octokit/app';
import { Octokit } from '@octokit/rest';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import type { GitHubProviderConfig } from '../config.js';
import { CredentialUnavailableError, SecretFile } from '../secret-file.js';
import type { CredentialProvider, CredentialRequest, MintingDeps, OutboundCredential } from './credential.js';
import { TokenCache, type MintedToken } from './token-cache.js';

// Octokit's messages quote response bodies; what the broker logs it says itself.
const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export const GITHUB_REFRESH_MARGIN_MS = 5 * 60_000;

/** Create, list, read and edit issues; `metadata: read` comes with every token anyway and is asked for so the grant says so. */
export const GITHUB_TOKEN_PERMISSIONS: Readonly<Record<string, 'read' | 'write'>> = { issues: 'write', metadata: 'read' };

/** Names the App installation, and the repository a token was minted for; never a token value. */
/** What the App's installation auth answers (@octokit/auth-app's installation authentication), as far as it is read here. */
interface InstallationToken {
  token: string;
  expiresAt: string;
  repositoryNames?: string[];
  permissions: Record<string, string | undefined>;
}

export function githubCredentialId(config: Pick<GitHubProviderConfig, 'appId' | 'installationId'>, repo?: string): string {
  return `github-app:${config.appId}/installation:${config.installationId}${repo === undefined ? '' : `/repo:${repo}`}`;
}

export function createGitHubCredentials(config: GitHubProviderConfig, deps: MintingDeps): CredentialProvider {
  const keyFile = new SecretFile(config.privateKeyFile, 'GitHub App private key');
  const installation = githubCredentialId(config);
  // One cache per allowlisted repository, keyed as the policy keys it (lower case); minted with the configured spelling.
  const repos = new Map(
    config.repos.map((fullName) => [
      fullName.toLowerCase(),
      {
        fullName,
        name: fullName.split('/')[1]!,
        credentialId: githubCredentialId(config, fullName),
        cache: new TokenCache<MintedToken>({
          now: deps.now,
          refreshMarginMs: GITHUB_REFRESH_MARGIN_MS,
          failureBackoffMs: deps.failureBackoffMs,
        }),
      },
    ]),
  );
  // The token request goes to the configured upstream (never a host from the
  // request), through the broker's own connection pool and timeout, and does
  // not follow redirects: a redirect would carry the App JWT elsewhere.
  const AppOctokit = Octokit.defaults({
    baseUrl: config.upstream,
    userAgent: deps.userAgent,
    log: SILENT,
    request: { fetch: boundFetch(deps.dispatcher, deps.timeoutMs) },
  });

  let app: { version: number; app: App } | undefined;

  return {
    provider: 'github',

    async credential(req: CredentialRequest): Promise<OutboundCredential> {
      // Every GitHub route is repository-scoped; without a repository the only token would be installation-wide.
      const repo = req.repo === undefined ? undefined : repos.get(req.repo);
      if (!repo) throw new Error('github credential asked for without an allowlisted repository');
      const key = await keyFile.read();
      if (app?.version !== key.version) {
        // A new key means the old App identity may be revoked: drop its tokens.
        if (app) deps.log.info('github app private key changed; cached installation tokens dropped', { credentialId: installation });
        for (const r of repos.values()) r.cache.clear();
        app = {
          version: key.version,
          app: new App({
            appId: config.appId,
            privateKey: key.value,
            Octokit: AppOctokit,
            log: { ...SILENT, warn: () => deps.log.warn('github installation token request retried', { credentialId: installation }) },
          }),
        };
      }
      const { octokit } = app.app;
      const { credentialId } = repo;
      const minted = await repo.cache.get(String(key.version), async () => {
        try {
          const result = (await octokit.auth({
            type: 'installation',
            installationId: config.installationId,
            // `refresh`: the library's own cache ignores expires_at; ours decides when to re-mint.
            refresh: true,
            repositoryNames: [repo.name],
            permissions: { ...GITHUB_TOKEN_PERMISSIONS },
          })) as InstallationToken;
          const expiresAt = Date.parse(result.expiresAt);
          if (!result.token || !Number.isFinite(expiresAt))
            throw new CredentialUnavailableError('installation token response lacks token or expires_at');
          // GitHub answers 422 rather than narrowing; a token wider than asked means the request body was ignored.
          const wider = widerThanAsked(result.repositoryNames, repo.name, result.permissions);
          if (wider) throw new CredentialUnavailableError(`installation token is wider than requested (${wider})`);
          deps.log.info('github installation token minted', {
            credentialId,
            permissions: result.permissions,
            expiresAt: new Date(expiresAt).toISOString(),
          });
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
        for (const r of repos.values()) {
          const failure = r.cache.lastFailure(String(key.version));
          if (failure) return `unavailable: ${r.fullName}: ${failure.message}`;
        }
        return 'ready';
      } catch (err) {
        return `unavailable: ${(err as Error).message}`;
      }
    },
  };
}

/** What the minted token reaches beyond the one repository and GITHUB_TOKEN_PERMISSIONS; undefined when nothing. */
function widerThanAsked(
  repositoryNames: string[] | undefined,
  name: string,
  permissions: Record<string, string | undefined>,
): string | undefined {
  if (repositoryNames?.length !== 1 || repositoryNames[0]!.toLowerCase() !== name.toLowerCase()) return 'repositories';
  for (const [permission, level] of Object.entries(permissions)) {
    const asked = GITHUB_TOKEN_PERMISSIONS[permission];
    if (asked === undefined || (level !== asked && !(level === 'read' && asked === 'write'))) return `${permission}: ${String(level)}`;
  }
  return undefined;
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
