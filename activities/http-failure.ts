// One place decides which upstream failures are worth retrying, so every surface
// behaves the same in the workflow: a bad request or a refused credential will
// not fix itself (fail fast, show "unavailable: why"), a rate limit or an
// outage might (retry, honouring the server's Retry-After).
//
// Failure messages and details end up in Temporal history and the Web UI: they
// carry the surface, the status and a short reason, never headers, URLs with
// query strings, or anything that could be a credential.
import { ApplicationFailure } from '@temporalio/common';
import { isTriageId } from '../config/identifiers.js';
import { STATUS_CODES } from 'node:http';
import { evidenceText } from '../config/untrusted-text.js';

export const HTTP_FAILURE_TYPES = {
  clientError: 'HttpClientError',
  rateLimited: 'HttpRateLimited',
  serverError: 'HttpServerError',
  network: 'HttpNetworkError',
  timeout: 'HttpTimeout',
  malformedResponse: 'MalformedResponse',
  invalidRequest: 'InvalidRequest',
} as const;

/** A server asking for longer than this is treated as asking for this; the retry policy still bounds attempts. */
export const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;

const MAX_REASON_CHARS = 200;

export interface HttpFailureInput {
  /** The evidence surface or upstream, e.g. `pagerduty`, `kubernetes`. */
  surface: string;
  status: number;
  /** The raw `Retry-After` header value: delay-seconds or an HTTP-date. */
  retryAfter?: string | null | undefined;
  /** A short reason from the error body; untrusted, so it is cleaned and cut here. */
  reason?: string | null | undefined;
  /** For tests: the instant an HTTP-date Retry-After is measured from. */
  now?: number;
}

/**
 * Makes upstream text safe to put in a failure message: one line (control characters would let
 * it forge extra lines in logs), bounded, and redacted like evidence, since the message becomes
 * a surface's "unavailable" reason in the issue and the card. Credentials have no business in an
 * error body, but an upstream that echoes a request is not repeated.
 */
export function safeReason(text: unknown, max = MAX_REASON_CHARS): string | undefined {
  if (typeof text !== 'string') return undefined;
  const cleaned = evidenceText(text, max);
  return cleaned.length === 0 ? undefined : cleaned;
}

/** Milliseconds to wait from a Retry-After value, capped; undefined when absent, unparseable, or not in the future. */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  if (ms <= 0) return undefined;
  return Math.min(ms, MAX_RETRY_DELAY_MS);
}

export function isRetryableStatus(status: number): boolean {
  // 408 and 425 are the client-side statuses that mean "try again", not "you are wrong".
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

function typeFor(status: number): string {
  if (status === 429) return HTTP_FAILURE_TYPES.rateLimited;
  if (isRetryableStatus(status)) return HTTP_FAILURE_TYPES.serverError;
  return HTTP_FAILURE_TYPES.clientError;
}

/** Turns a non-2xx response into the ApplicationFailure the activity throws. */
export function httpFailure(input: HttpFailureInput): ApplicationFailure {
  const { surface, status } = input;
  const statusText = STATUS_CODES[status] ?? 'Unknown Status';
  const reason = safeReason(input.reason);
  const retryable = isRetryableStatus(status);
  const delay = retryable ? retryAfterMs(input.retryAfter, input.now) : undefined;
  const message = `${surface}: HTTP ${status} ${statusText}${reason && reason !== statusText ? `: ${reason}` : ''}`;
  return ApplicationFailure.create({
    message,
    type: typeFor(status),
    nonRetryable: !retryable,
    details: [{ surface, status }],
    ...(delay !== undefined ? { nextRetryDelay: delay } : {}),
  });
}

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; errno?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(e.code)) return e.code;
  return e.cause !== undefined && e.cause !== err ? errorCode(e.cause) : undefined;
}

function isTimeout(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { name?: unknown; type?: unknown };
  // AbortSignal.timeout() rejects with TimeoutError (fetch); node-fetch reports an abort as `aborted`.
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.type === 'aborted';
}

/**
 * A request that got no HTTP answer: connection refused, reset, DNS, timeout.
 * Always retryable; the message keeps only the error code (the raw message may
 * contain the URL, and with it whatever the caller put in the query).
 */
export function networkFailure(surface: string, err: unknown): ApplicationFailure {
  const timeout = isTimeout(err);
  const code = errorCode(err);
  const what = timeout ? 'request timed out' : `request failed${code ? ` (${code})` : ''}`;
  return ApplicationFailure.create({
    message: `${surface}: ${what}`,
    type: timeout ? HTTP_FAILURE_TYPES.timeout : HTTP_FAILURE_TYPES.network,
    nonRetryable: false,
    details: [{ surface, ...(code ? { code } : {}) }],
  });
}

/** The upstream answered 2xx with something that is not the documented shape: retrying will not help. */
export function malformedResponse(surface: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${surface}: malformed response: ${safeReason(what) ?? 'unexpected shape'}`,
    type: HTTP_FAILURE_TYPES.malformedResponse,
    nonRetryable: true,
    details: [{ surface }],
  });
}

/** The activity's own input is unusable (bad id, bad namespace name): refuse before any request is built. */
/** The triage id a request carries to the broker's audit log and the User-Agent; refused before any call when malformed. */
export function requireTriageId(surface: string, triageId: unknown): string {
  if (!isTriageId(triageId)) throw invalidRequest(surface, 'triage id must be 1-128 of [A-Za-z0-9._:-], starting with a letter or digit');
  return triageId;
}

export function invalidRequest(surface: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${surface}: invalid request: ${safeReason(what) ?? 'rejected'}`,
    type: HTTP_FAILURE_TYPES.invalidRequest,
    nonRetryable: true,
    details: [{ surface }],
  });
}

/**
 * A rate limit signalled by something other than 429: GitHub's secondary rate
 * limits answer 403 with `retry-after`, or with `x-ratelimit-remaining: 0` and
 * `x-ratelimit-reset` (epoch seconds). Retryable, after the server's delay.
 */
export function rateLimitFailure(surface: string, status: number, delayMs: number | undefined, reason?: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${surface}: HTTP ${status} rate limited${safeReason(reason) ? `: ${safeReason(reason)}` : ''}`,
    type: HTTP_FAILURE_TYPES.rateLimited,
    nonRetryable: false,
    details: [{ surface, status }],
    ...(delayMs !== undefined ? { nextRetryDelay: Math.min(delayMs, MAX_RETRY_DELAY_MS) } : {}),
  });
}
