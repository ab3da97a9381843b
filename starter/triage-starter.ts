import type { DecisionChoice, DecisionRecord } from '../workflows/messages.js';
import type { PagerDutyWebhookIncident } from './pagerduty-webhook.js';

export type { PagerDutyWebhookIncident } from './pagerduty-webhook.js';

export interface StartTriageRequest {
  incident: PagerDutyWebhookIncident;
  /** PagerDuty's `event.id`. */
  eventId: string;
  /** `X-Webhook-Id`: identical on every retry of one delivery. */
  webhookId?: string;
}

export interface StartTriageResult {
  workflowId: string;
  status: 'started' | 'already-running' | 'already-triaged';
}

export interface SignalResolvedRequest {
  incidentId: string;
  eventId: string;
}

export interface SignalResolvedResult {
  workflowId: string;
  status: 'signalled' | 'not-running';
}

export interface DecideRequest {
  incidentId: string;
  decision: DecisionChoice;
  /** The Slack user id of whoever clicked; the workflow checks it against the service's approvers. */
  approver: string;
  /** The plan hash on the card that was clicked; a stale one is refused. */
  planHash: string;
  comment?: string;
  /**
   * Derived from the click, so every delivery of it names the same Update and
   * Temporal runs it once, handing later duplicates the first one's result.
   */
  updateId: string;
}

/** A refusal is a definite answer (nothing changed); anything uncertain is thrown instead. */
export type DecideResult = { status: 'recorded'; record: DecisionRecord } | { status: 'refused'; reason: string };

/**
 * What the gateway needs from Temporal. Implementations must be idempotent per
 * incident (the workflow id is derived from the incident id) because PagerDuty
 * delivers at least once and the gateway forwards every verified delivery.
 */
export interface TriageStarter {
  startTriage(req: StartTriageRequest): Promise<StartTriageResult>;
  signalResolved(req: SignalResolvedRequest): Promise<SignalResolvedResult>;
  /** Sends the `decide` Update. Throws TemporalUnavailableError when the outcome is unknown. */
  decide(req: DecideRequest): Promise<DecideResult>;
  ready(): Promise<boolean>;
}

/**
 * Thrown when Temporal cannot be reached. The gateway turns it into a 503 so
 * PagerDuty retries the delivery instead of dropping it, and into "try again"
 * for a Slack click, which has already been acknowledged.
 */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';

  constructor(message = 'Temporal is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
