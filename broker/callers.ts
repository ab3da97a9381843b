// Who is calling. In its own pod the broker is reachable over the pod network,
// so the NetworkPolicy that admits only worker pods is one half of the check;
// the other is the caller's projected ServiceAccount token, minted by the
// kubelet for the broker's audience alone and sent as `Proxy-Authorization:
// Bearer` (the header meant for credentials addressed to a proxy, and one the
// broker never forwards). The Kubernetes API decides whether the token is
// genuine, unexpired, bound to a live pod and meant for this audience
// (TokenReview); the broker decides whether its ServiceAccount may call.
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { CallersConfig } from './config.js';
import type { Logger } from '../config/logger.js';

export type CallerVerdict = { ok: true; caller: string } | { ok: false; status: 401 | 403 | 503; reason: string };

export interface CallerCheck {
  check(proxyAuthorization: string | string[] | undefined): Promise<CallerVerdict>;
}

/** What a TokenReview says about one token, as far as the broker reads it. */
export interface TokenReviewResult {
  authenticated: boolean;
  username?: string;
  audiences?: string[];
}

/** Sends one TokenReview; throws when the API could not answer. */
export type TokenReviewer = (token: string, audience: string) => Promise<TokenReviewResult>;

const REVIEW_TIMEOUT_MS = 5_000;
// Enough for every worker pod's current and rotated token; past it the oldest verdict goes first.
const MAX_CACHED = 1024;
// Projected tokens are a few hundred bytes to ~2 KB; anything far longer is not one.
const MAX_TOKEN_CHARS = 16 * 1024;

export class TokenReviewUnavailableError extends Error {
  override name = 'TokenReviewUnavailableError';
}

/** TokenReview through @kubernetes/client-node, as the broker's own ServiceAccount (in a pod) or a kubeconfig. */
export function kubernetesTokenReviewer(kubeconfig?: string): TokenReviewer {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  const api = kc.makeApiClient(AuthenticationV1Api);
  return async (token, audience) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TokenReviewUnavailableError('timed out')), REVIEW_TIMEOUT_MS);
    });
    try {
      const review = await Promise.race([
        api.createTokenReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
        }),
        timeout,
      ]);
      const status = review.status ?? {};
      return {
        authenticated: status.authenticated === true,
        ...(status.user?.username !== undefined && { username: status.user.username }),
        ...(status.audiences !== undefined && { audiences: status.audiences }),
      };
    } catch (err) {
      if (err instanceof TokenReviewUnavailableError) throw err;
      // The API's answer (403 when the broker's RBAC lacks tokenreviews create) or a network error: never the token.
      const code = (err as { code?: unknown })?.code;
      throw new TokenReviewUnavailableError(
        typeof code === 'number' ? `the Kubernetes API answered ${code}` : ((err as Error)?.name ?? 'error'),
      );
    } finally {
      clearTimeout(timer);
    }
  };
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Checks callers against `config`, reusing a token's verdict for
 * `config.cacheFor` so a triage's burst of calls costs one review. A failed
 * review is not remembered: the next request asks again.
 */
export function tokenReviewCallers(config: CallersConfig, review: TokenReviewer, log: Logger, now: () => number = Date.now): CallerCheck {
  const allowed = new Set(config.serviceAccounts.map((sa) => `system:serviceaccount:${sa.replace('/', ':')}`));
  const cache = new Map<string, { verdict: CallerVerdict; until: number }>();

  async function judge(token: string): Promise<CallerVerdict> {
    let result: TokenReviewResult;
    try {
      result = await review(token, config.audience);
    } catch (err) {
      log.error('caller token review failed', { reason: (err as Error).message });
      return { ok: false, status: 503, reason: 'caller check unavailable' };
    }
    // The API returns the audiences the token was accepted for; an empty answer from an older API means "the API's own".
    if (!result.authenticated || !(result.audiences ?? []).includes(config.audience)) {
      return { ok: false, status: 401, reason: 'caller token not valid' };
    }
    const user = result.username ?? '';
    if (!allowed.has(user)) return { ok: false, status: 403, reason: `caller not allowed: ${user.slice(0, 300)}` };
    return { ok: true, caller: user };
  }

  return {
    async check(header) {
      if (header === undefined) return { ok: false, status: 401, reason: 'no caller token' };
      const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
      if (!match || match[1]!.length > MAX_TOKEN_CHARS) return { ok: false, status: 401, reason: 'malformed caller token' };
      const key = digest(match[1]!);
      const cached = cache.get(key);
      if (cached && cached.until > now()) return cached.verdict;
      cache.delete(key);
      const verdict = await judge(match[1]!);
      if (verdict.ok || verdict.status !== 503) {
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        cache.set(key, { verdict, until: now() + config.cacheFor });
      }
      return verdict;
    },
  };
}
