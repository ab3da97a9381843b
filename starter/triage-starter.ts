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

/**
 * What the gateway needs from Temporal. Implementations must be idempotent per
 * incident (the workflow id is derived from the incident id) because PagerDuty
 * delivers at least once and the gateway forwards every verified delivery.
 */
export interface TriageStarter {
  startTriage(req: StartTriageRequest): Promise<StartTriageResult>;
  signalResolved(req: SignalResolvedRequest): Promise<SignalResolvedResult>;
  ready(): Promise<boolean>;
}

/**
 * Thrown when Temporal cannot be reached. The gateway turns it into a 503 so
 * PagerDuty retries the delivery instead of dropping it.
 */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';

  constructor(message = 'Temporal is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
