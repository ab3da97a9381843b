import type { EvidenceRequest, IncidentRef, KubernetesScope } from '../../activities/model.js';

export const INCIDENT: IncidentRef = {
  id: 'Q1CHECKOUT1',
  number: 4211,
  title: 'checkout-api 5xx rate above 5%',
  status: 'triggered',
  urgency: 'high',
  serviceId: 'PCHKOUT',
  serviceName: 'checkout',
  createdAt: '2025-03-01T11:55:00Z',
  htmlUrl: 'https://keyless-sandbox.pagerduty.com/incidents/Q1CHECKOUT1',
};

export function evidenceRequest(
  opts: { incident?: Partial<IncidentRef>; kubernetes?: KubernetesScope; triageId?: string } = {},
): EvidenceRequest {
  const incident = { ...INCIDENT, ...opts.incident };
  return {
    triageId: opts.triageId ?? `triage-${incident.id}`,
    incident,
    scope: {
      serviceId: incident.serviceId,
      serviceName: incident.serviceName,
      surfaces: ['pagerduty', 'kubernetes'],
      ...(opts.kubernetes ? { kubernetes: opts.kubernetes } : {}),
      approvers: ['U0ONCALL'],
      approval: { reminderAfterMs: 900_000, expireAfterMs: 3_600_000 },
      retry: { maximumAttempts: 3, initialIntervalMs: 100, maximumIntervalMs: 1000 },
      writes: { timeoutMs: 30_000, maximumAttempts: 10 },
      temporalUiUrl: 'http://127.0.0.1:8233',
      namespace: 'default',
    },
  };
}
