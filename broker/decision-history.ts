// The decisions a triage's history records. The `approval` query is answered
// by a worker of the task queue, that is, by the party the broker does not
// trust; the history is the Temporal server's record. A decision counts only
// when an accepted `decide` Update carries it, as the client (the gateway, or
// the CLI where allowed) sent it, and its handler did not fail. A worker that
// invents a decision in its query answer, with no Update from a client behind
// it, gets nothing written.
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { DECIDE_UPDATE } from '../config/identifiers.js';

/** What the deciding client sent, as far as the broker compares it with the query's answer. */
export interface RecordedDecision {
  decision: string;
  approver: string;
  planHash: string;
  channel?: string;
  identity?: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function decode(payload: temporal.api.common.v1.IPayload | undefined): Record<string, unknown> | undefined {
  if (!payload) return undefined;
  try {
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Every `decide` Update the server accepted and whose handler did not fail, in history order. */
export function recordedDecisions(events: readonly HistoryEvent[]): RecordedDecision[] {
  const failed = new Set<string>();
  for (const e of events) {
    const done = e.workflowExecutionUpdateCompletedEventAttributes;
    if (done?.outcome?.failure && done.meta?.updateId) failed.add(done.meta.updateId);
  }
  const out: RecordedDecision[] = [];
  for (const e of events) {
    const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (request?.input?.name !== DECIDE_UPDATE || failed.has(request.meta?.updateId ?? '')) continue;
    const arg = decode(request.input.args?.payloads?.[0] ?? undefined);
    const decision = text(arg?.decision);
    const approver = text(arg?.approver);
    const planHash = text(arg?.planHash);
    if (!decision || !approver || !planHash) continue;
    const channel = text(arg?.channel);
    const identity = text(arg?.identity);
    out.push({ decision, approver, planHash, ...(channel !== undefined && { channel }), ...(identity !== undefined && { identity }) });
  }
  return out;
}

/**
 * Whether the history holds the decision the query claims: the same choice,
 * approver, plan, channel and client, every word the broker will let a write
 * say about it. (Its time is the workflow's, which no client sends.)
 */
export function isRecorded(claimed: RecordedDecision, recorded: readonly RecordedDecision[]): boolean {
  return recorded.some(
    (r) =>
      r.decision === claimed.decision &&
      r.approver === claimed.approver &&
      r.planHash === claimed.planHash &&
      r.channel === claimed.channel &&
      r.identity === claimed.identity,
  );
}
