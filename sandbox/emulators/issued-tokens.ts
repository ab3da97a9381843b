// Short-lived credentials an emulator mints (GitHub installation tokens,
// PagerDuty OAuth access tokens), kept so the emulator can check them and so
// tests can scan logs, histories and process environments for every one.
import { createHash, randomInt } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters drawn uniformly from [A-Za-z0-9] with a CSPRNG (randomInt avoids modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class IssuedTokens<Grant> {
  // Keyed by digest, not by the token: a Map lookup compares keys with early
  // exit, and comparing digests leaks nothing useful about the token itself.
  private readonly grants = new Map<string, { grant: Grant; expiresAtMs: number }>();
  private readonly issued: string[] = [];

  constructor(private readonly now: () => number) {}

  add(token: string, grant: Grant, expiresAtMs: number): void {
    this.grants.set(digest(token), { grant, expiresAtMs });
    this.issued.push(token);
  }

  /** The grant behind a token, or why there is none. */
  check(token: string): { grant: Grant } | { refused: 'unknown' | 'expired' } {
    const found = this.grants.get(digest(token));
    if (!found) return { refused: 'unknown' };
    if (this.now() >= found.expiresAtMs) return { refused: 'expired' };
    return { grant: found.grant };
  }

  /** Every token ever issued, expired ones included, oldest first. */
  all(): string[] {
    return [...this.issued];
  }
}
