// The gateway's TriageStarter, backed by Temporal.
import type { Client } from '@temporalio/client';
import { triageWorkflowId } from '../workflows/messages.js';
import { signalResolved, startTriage, type TemporalSettings } from './triage-client.js';
import { TemporalUnavailableError, type TriageStarter } from './triage-starter.js';

/** Under the gateway's own 4 s budget, so the gRPC retries stop before PagerDuty's 5 s timeout. */
const TEMPORAL_DEADLINE_MS = 3500;

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
