// Builds and sends PagerDuty v3 webhook deliveries the way PagerDuty does:
// a JSON envelope, signed with HMAC-SHA256 over the exact bytes sent.
import { randomUUID } from 'node:crypto';
import { signPagerDutyBody } from '../starter/pagerduty-signature.js';
import type { Scenario } from './scenario.js';

export type WebhookEventType = 'incident.triggered' | 'incident.reopened' | 'incident.resolved' | 'pagey.ping';

export function incidentEnvelope(scenario: Scenario, eventType: WebhookEventType, eventId: string = randomUUID()): string {
  const inc = scenario.pagerduty.incident;
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: eventType,
      resource_type: eventType === 'pagey.ping' ? 'pagey' : 'incident',
      occurred_at: new Date().toISOString(),
      agent: null,
      client: null,
      data:
        eventType === 'pagey.ping'
          ? { message: 'Hello from your friend Pagey!', type: 'ping' }
          : {
              id: inc.id,
              type: 'incident',
              self: `https://api.pagerduty.com/incidents/${inc.id}`,
              html_url: inc.html_url,
              number: inc.incident_number,
              status: eventType === 'incident.resolved' ? 'resolved' : 'triggered',
              incident_key: null,
              created_at: inc.created_at,
              title: inc.title,
              service: { id: inc.service.id, type: 'service_reference', summary: inc.service.summary, html_url: null, self: null },
              assignees: [],
              escalation_policy: null,
              teams: [],
              priority: null,
              urgency: inc.urgency,
              conference_bridge: null,
              resolve_reason: null,
            },
    },
  });
}

export async function postSignedWebhook(
  gatewayUrl: string,
  body: string,
  secret: string,
  webhookId: string = randomUUID(),
): Promise<Response> {
  return fetch(`${gatewayUrl}/webhooks/pagerduty`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDutyBody(Buffer.from(body), secret),
      'x-webhook-id': webhookId,
      'user-agent': 'PagerDuty-Webhook/V3.0',
    },
    body,
  });
}
