// The TokenReview API of the Kubernetes emulator, for the broker's caller
// check: the tokens the sandbox projects for pods (as the kubelet would, for a
// ServiceAccount and audiences) are genuine until they expire; anything else
// is not. The answer has the apiserver's shape: `authenticated`, the
// ServiceAccount's user and groups, and the audiences the token and the review
// have in common (the API's own audience when the review names none).
import { tokenMatches } from './http-server.js';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
export const AUTHENTICATION_API_VERSION = 'authentication.k8s.io/v1';
/** What a token without explicit audiences is for, as on EKS and kind. */
export const API_AUDIENCE = 'https://kubernetes.default.svc';

export interface ProjectedServiceAccountToken {
  token: string;
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  /** Epoch ms; absent: does not expire within a sandbox's life. */
  expiresAtMs?: number;
}

export interface TokenReviewOptions {
  /** The bearer token of the one client allowed to create TokenReviews (the broker's ServiceAccount). */
  reviewerToken: string;
  tokens: ProjectedServiceAccountToken[];
}

export interface TokenReviewStatus {
  authenticated: boolean;
  user?: { username: string; groups: string[] };
  audiences?: string[];
  error?: string;
}

export function reviewToken(spec: Record<string, unknown>, options: TokenReviewOptions, now: number): TokenReviewStatus {
  const token = typeof spec.token === 'string' ? spec.token : '';
  const wanted = Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : [API_AUDIENCE];
  const found = options.tokens.find((t) => tokenMatches(token, t.token));
  if (!found || (found.expiresAtMs !== undefined && now >= found.expiresAtMs)) {
    return { authenticated: false, error: '[invalid bearer token, service account token has been invalidated]' };
  }
  const shared = wanted.filter((a) => found.audiences.includes(a));
  if (shared.length === 0) {
    return {
      authenticated: false,
      error: `[invalid bearer token, token audiences ${JSON.stringify(found.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]`,
    };
  }
  return {
    authenticated: true,
    user: {
      username: `system:serviceaccount:${found.namespace}:${found.serviceAccount}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${found.namespace}`, 'system:authenticated'],
    },
    audiences: shared,
  };
}
