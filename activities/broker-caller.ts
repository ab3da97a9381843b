// How the worker shows the broker who it is: the projected ServiceAccount
// token the kubelet mints for the broker's audience (the worker's own
// credential for nothing else), sent on every call as `Proxy-Authorization:
// Bearer`, the header for credentials addressed to a proxy; the broker checks
// it with a TokenReview and never forwards it. No token (the broker on
// loopback, in tests) sends nothing.
import { readFileSync } from 'node:fs';

/** The current token, or undefined when the broker does not authenticate callers. */
export type CallerToken = () => string | undefined;

export const CALLER_TOKEN_HEADER = 'proxy-authorization';

// The kubelet rewrites the file well before the token expires (at 80 % of its
// lifetime); reading it at most this often keeps up without a read per call.
const REREAD_MS = 30_000;

export class CallerTokenError extends Error {
  override name = 'CallerTokenError';
}

/** Reads the projected token file, again every 30 s; a failed re-read keeps the token it had. */
export function projectedToken(file: string, now: () => number = Date.now): CallerToken {
  let token: string | undefined;
  let readAt = -Infinity;
  return () => {
    if (now() - readAt < REREAD_MS && token !== undefined) return token;
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (!/^[A-Za-z0-9._-]+$/.test(text)) throw new CallerTokenError(`broker token file ${file} does not hold a token`);
      token = text;
      readAt = now();
    } catch (err) {
      if (token === undefined) {
        if (err instanceof CallerTokenError) throw err;
        throw new CallerTokenError(`cannot read the broker token file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    return token;
  };
}

/** The header that carries the token, or none. */
export function callerHeaders(token: CallerToken | undefined): Record<string, string> {
  const value = token?.();
  return value === undefined ? {} : { [CALLER_TOKEN_HEADER]: `Bearer ${value}` };
}
