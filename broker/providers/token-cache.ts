// Caches one minted token per credential version: refreshed shortly before it
// expires, minted once for any number of concurrent callers, and dropped as
// soon as the secret it was minted from changes.
import { CredentialUnavailableError } from '../secret-file.js';
import type { Clock } from './credential.js';

export interface MintedToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface TokenCacheOptions {
  now: Clock;
  /** Re-mint this long before expiry (capped at half the token's lifetime). */
  refreshMarginMs: number;
  /** After a failed mint, answer with the same failure for this long instead of hammering the token endpoint. */
  failureBackoffMs: number;
}

type State<T> =
  | { kind: 'empty' }
  | { kind: 'token'; key: string; token: T; refreshAt: number }
  | { kind: 'failed'; key: string; error: CredentialUnavailableError; retryAt: number };

export class TokenCache<T extends MintedToken> {
  private state: State<T> = { kind: 'empty' };
  private inflight: { key: string; promise: Promise<T> } | undefined;

  constructor(private readonly options: TokenCacheOptions) {}

  /** `key` names the secret version the token is minted from. */
  async get(key: string, mint: () => Promise<T>): Promise<T> {
    const now = this.options.now();
    const s = this.state;
    if (s.kind === 'token' && s.key === key && now < s.refreshAt) return s.token;
    if (s.kind === 'failed' && s.key === key && now < s.retryAt) throw s.error;
    if (this.inflight?.key === key) return this.inflight.promise;

    const startedAt = now;
    const promise = mint().then(
      (token) => {
        const lifetime = Math.max(0, token.expiresAt - startedAt);
        const margin = Math.min(this.options.refreshMarginMs, lifetime / 2);
        this.state = { kind: 'token', key, token, refreshAt: token.expiresAt - margin };
        return token;
      },
      (err: unknown) => {
        const error = err instanceof CredentialUnavailableError ? err : new CredentialUnavailableError('credential could not be obtained');
        this.state = { kind: 'failed', key, error, retryAt: this.options.now() + this.options.failureBackoffMs };
        throw error;
      },
    );
    const entry = { key, promise };
    this.inflight = entry;
    try {
      return await promise;
    } finally {
      if (this.inflight === entry) this.inflight = undefined;
    }
  }

  /** The last outcome for `key`, for readiness: never mints. */
  lastFailure(key: string): CredentialUnavailableError | undefined {
    return this.state.kind === 'failed' && this.state.key === key ? this.state.error : undefined;
  }

  clear(): void {
    this.state = { kind: 'empty' };
  }
}
