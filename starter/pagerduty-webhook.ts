import { z } from 'zod';
import { PAGERDUTY_ID } from '../config/identifiers.js';

/** The incident as the gateway hands it to the workflow starter. */
export interface PagerDutyWebhookIncident {
  id: string;
  number: number;
  /** Untrusted text from whoever raised the alert: data, never instructions. */
  title: string;
  urgency: 'high' | 'low';
  serviceId: string;
  serviceName: string;
  htmlUrl: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
}

export type StartEventType = 'incident.triggered' | 'incident.reopened';

export type PagerDutyWebhookParseResult =
  | { kind: 'start'; incident: PagerDutyWebhookIncident; eventId: string; eventType: StartEventType }
  | { kind: 'resolved'; incidentId: string; eventId: string }
  | { kind: 'ignored'; eventType: string; eventId: string }
  | { kind: 'invalid'; error: PagerDutyWebhookError };

/** Fixed strings, so a response or log line can never carry request content. */
export type PagerDutyWebhookError = 'body is not JSON' | 'not a PagerDuty v3 webhook' | 'incident fields missing or invalid';

export const MAX_TITLE_LENGTH = 1024;
export const MAX_SERVICE_NAME_LENGTH = 256;

// PagerDuty object ids become Temporal workflow ids: the shared rule pins them down.
const pagerDutyId = z.string().regex(PAGERDUTY_ID);

// Only the fields we act on are checked: anything stricter turns a harmless
// schema change at PagerDuty into a 4xx, and PagerDuty drops 4xx deliveries.
const envelopeSchema = z.object({
  event: z.object({
    // Printable ASCII: event ids end up in logs and workflow inputs.
    id: z.string().regex(/^[\x21-\x7e]{1,128}$/),
    event_type: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
    data: z.unknown(),
  }),
});

const incidentRefSchema = z.object({
  id: pagerDutyId,
  type: z.literal('incident'),
});

const incidentSchema = incidentRefSchema.extend({
  number: z.number().int().positive(),
  title: z.string().transform((t) => truncate(t, MAX_TITLE_LENGTH)),
  urgency: z.enum(['high', 'low']),
  status: z.enum(['triggered', 'acknowledged', 'resolved']),
  // The link is shown to humans in Slack and GitHub; refuse `javascript:` and friends.
  html_url: z.url({ protocol: /^https?$/ }).max(2048),
  service: z.object({
    id: pagerDutyId,
    summary: z.string().transform((s) => truncate(s, MAX_SERVICE_NAME_LENGTH)),
  }),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parsePagerDutyWebhook(rawBody: Buffer): PagerDutyWebhookParseResult {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(rawBody));
  } catch {
    return { kind: 'invalid', error: 'body is not JSON' };
  }

  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { kind: 'invalid', error: 'not a PagerDuty v3 webhook' };
  const { id: eventId, event_type: eventType, data } = envelope.data.event;

  switch (eventType) {
    case 'incident.triggered':
    case 'incident.reopened': {
      const incident = incidentSchema.safeParse(data);
      if (!incident.success) return { kind: 'invalid', error: 'incident fields missing or invalid' };
      const d = incident.data;
      return {
        kind: 'start',
        eventId,
        eventType,
        incident: {
          id: d.id,
          number: d.number,
          title: d.title,
          urgency: d.urgency,
          serviceId: d.service.id,
          serviceName: d.service.summary,
          htmlUrl: d.html_url,
          status: d.status,
        },
      };
    }
    case 'incident.resolved': {
      // Resolving needs only the id: a resolve must get through even if the
      // rest of the incident looks unusual.
      const ref = incidentRefSchema.safeParse(data);
      if (!ref.success) return { kind: 'invalid', error: 'incident fields missing or invalid' };
      return { kind: 'resolved', incidentId: ref.data.id, eventId };
    }
    default:
      return { kind: 'ignored', eventType, eventId };
  }
}

/** Cuts by code point so a surrogate pair is never split in half. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const codePoints = Array.from(text);
  return codePoints.length <= max ? text : `${codePoints.slice(0, max - 1).join('')}…`;
}
