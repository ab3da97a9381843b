// Sample PagerDuty v3 webhook envelopes, shaped after the examples in
// PagerDuty's "Webhooks overview" (event envelope + incident data type).

export const INCIDENT_ID = 'Q2K4WX9PLM1B7Z';
export const SERVICE_ID = 'PF9KMXH';

export interface Envelope {
  event: {
    id: string;
    event_type: string;
    resource_type: string;
    occurred_at: string;
    agent: Record<string, unknown> | null;
    client: Record<string, unknown> | null;
    data: Record<string, unknown>;
  };
}

export function incidentData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: INCIDENT_ID,
    type: 'incident',
    self: `https://api.pagerduty.com/incidents/${INCIDENT_ID}`,
    html_url: `https://acme.pagerduty.com/incidents/${INCIDENT_ID}`,
    number: 4711,
    status: 'triggered',
    incident_key: '6f1c2e0a9b3d4c5e8f7a6b5c4d3e2f10',
    created_at: '2025-11-27T09:12:44Z',
    title: 'checkout-api: 5xx rate above 5% for 10 minutes',
    service: {
      html_url: `https://acme.pagerduty.com/service-directory/${SERVICE_ID}`,
      id: SERVICE_ID,
      self: `https://api.pagerduty.com/services/${SERVICE_ID}`,
      summary: 'Checkout API',
      type: 'service_reference',
    },
    assignees: [
      {
        html_url: 'https://acme.pagerduty.com/users/PTUXL6G',
        id: 'PTUXL6G',
        self: 'https://api.pagerduty.com/users/PTUXL6G',
        summary: 'On-call Engineer',
        type: 'user_reference',
      },
    ],
    escalation_policy: {
      html_url: 'https://acme.pagerduty.com/escalation_policies/PUS0KTE',
      id: 'PUS0KTE',
      self: 'https://api.pagerduty.com/escalation_policies/PUS0KTE',
      summary: 'Checkout primary',
      type: 'escalation_policy_reference',
    },
    teams: [
      {
        html_url: 'https://acme.pagerduty.com/teams/PFCVPS0',
        id: 'PFCVPS0',
        self: 'https://api.pagerduty.com/teams/PFCVPS0',
        summary: 'Payments',
        type: 'team_reference',
      },
    ],
    priority: {
      html_url: 'https://acme.pagerduty.com/account/incident_priorities',
      id: 'PSO75BM',
      self: 'https://api.pagerduty.com/priorities/PSO75BM',
      summary: 'P1',
      type: 'priority_reference',
    },
    urgency: 'high',
    conference_bridge: null,
    resolve_reason: null,
    ...overrides,
  };
}

function incidentEvent(eventType: string, eventId: string, data: Record<string, unknown>, agent: Envelope['event']['agent']): Envelope {
  return {
    event: {
      id: eventId,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: '2025-11-27T09:12:45.123Z',
      agent,
      client: { name: 'Datadog' },
      data,
    },
  };
}

const serviceAgent = {
  html_url: `https://acme.pagerduty.com/services/${SERVICE_ID}`,
  id: SERVICE_ID,
  self: `https://api.pagerduty.com/services/${SERVICE_ID}`,
  summary: 'Checkout API',
  type: 'service_reference',
};

const userAgent = {
  html_url: 'https://acme.pagerduty.com/users/PTUXL6G',
  id: 'PTUXL6G',
  self: 'https://api.pagerduty.com/users/PTUXL6G',
  summary: 'On-call Engineer',
  type: 'user_reference',
};

export function triggeredEnvelope(dataOverrides: Record<string, unknown> = {}): Envelope {
  return incidentEvent('incident.triggered', '5ac64822-4adc-4fda-ade0-410becf0de4f', incidentData(dataOverrides), serviceAgent);
}

export function reopenedEnvelope(): Envelope {
  return incidentEvent('incident.reopened', '9b1e0c55-7f0d-4a4e-b3f1-0d1c2e3f4a5b', incidentData({ status: 'acknowledged' }), userAgent);
}

export function resolvedEnvelope(): Envelope {
  return incidentEvent(
    'incident.resolved',
    'c2d3e4f5-0a1b-4c2d-8e3f-4a5b6c7d8e9f',
    incidentData({ status: 'resolved', resolve_reason: null }),
    userAgent,
  );
}

export function acknowledgedEnvelope(): Envelope {
  return incidentEvent(
    'incident.acknowledged',
    'e1f2a3b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b',
    incidentData({ status: 'acknowledged' }),
    userAgent,
  );
}

/** What PagerDuty sends from "Send Test Event" on a webhook subscription. */
export function pingEnvelope(): Envelope {
  return {
    event: {
      id: '01CH754SM17TWPE2V2H4VPBRO7',
      event_type: 'pagey.ping',
      resource_type: 'pagey',
      occurred_at: '2025-11-27T09:00:00.000Z',
      agent: null,
      client: null,
      data: { message: 'Hello from your friend Pagey!', type: 'ping' },
    },
  };
}

export function bodyOf(envelope: unknown): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}
