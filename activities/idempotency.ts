import { createHash } from 'node:crypto';

// A write that may be retried after it succeeded (the worker died before
// reporting completion) must find its own earlier result. The key is derived
// from the workflow id alone, so every attempt of every worker computes the
// same one, and it goes into the approved plan, so the hash covers it.

export function idempotencyKey(workflowId: string): string {
  return createHash('sha256').update(`keyless-triage:${workflowId}`).digest('hex').slice(0, 20);
}

/** A deterministic label: GitHub lists issues by label consistently, unlike search, which lags. */
export function idempotencyLabel(key: string): string {
  return `triage-key:${key}`;
}

/** Hidden in the rendered issue; checked so a label added by hand to another issue cannot fool the lookup. */
export function idempotencyMarker(key: string): string {
  return `<!-- keyless-triage idempotency-key: ${key} -->`;
}
