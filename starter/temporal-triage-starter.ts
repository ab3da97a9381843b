// The gateway's TriageStarter, backed by Temporal.
import type { Client } from '@temporalio/client';
import { triageWorkflowId } from '../workflows/messages.js';
import { decide, DecisionRefused, signalResolved, startTriage, type TemporalSettings } from './triage-client.js';
import { TemporalUnavailableError, type TriageStarter } from './triage-starter.js';

/** Under the gateway's own 4 s budget, so the gRPC retries stop before PagerDuty's 5 s timeout. */
const TEMPORAL_DEADLINE_MS = 3500;

/**
 * A Slack click is acknowledged before the Update is sent, so Slack's 3 s do
 * not apply; this bounds the clicker's wait when no worker picks the Update
 * up. gRPC retries can overrun a deadline by a few seconds (more on a first,
 * lazy connect), so the gateway keeps its own 10 s limit on top.
 */
const DECIDE_DEADLINE_MS = 8_000;

export function temporalTriageStarter(client: Client, temporal: TemporalSettings): TriageStarter {
  // Anything but a definite answer from Temporal means "try again later": the
  // gateway turns it into a 503 and PagerDuty redelivers, so nothing is lost.
  const orUnavailable = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await client.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, fn);
    } catch (err) {
      throw new TemporalUnavailableError('Temporal did not accept the request', { cause: err });
    }
  };
  return {
    startTriage: ({ incident, eventId, webhookId }) =>
      orUnavailable(() =>
        startTriage(client, temporal, {
          incidentId: incident.id,
          source: { kind: 'webhook', eventId, ...(webhookId ? { webhookId } : {}) },
          incident,
        }),
      ),
    signalResolved: ({ incidentId, eventId }) =>
      orUnavailable(async () => ({ workflowId: triageWorkflowId(incidentId), status: await signalResolved(client, incidentId, eventId) })),
    async decide({ incidentId, decision, approver, planHash, comment, updateId }) {
      try {
        const record = await client.connection.withDeadline(Date.now() + DECIDE_DEADLINE_MS, () =>
          decide(client, incidentId, { decision, approver, planHash, ...(comment === undefined ? {} : { comment }) }, updateId),
        );
        return { status: 'recorded', record };
      } catch (err) {
        // Only the validator's refusal (or a missing workflow) is a definite "no";
        // a timeout may still end in a recorded decision, and a click with the
        // same updateId later gets that decision back rather than a second one.
        if (err instanceof DecisionRefused) return { status: 'refused', reason: err.message };
        throw new TemporalUnavailableError('Temporal did not answer the decision', { cause: err });
      }
    },
    async ready() {
      try {
        await client.connection.withDeadline(Date.now() + 1500, () => client.connection.workflowService.getSystemInfo({}));
        return true;
      } catch {
        return false;
      }
    },
  };
}
