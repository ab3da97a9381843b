// PagerDuty REST API v2 activities: the incident (to start and to refresh) and
// its alerts. Plain fetch, no SDK: two GET endpoints do not justify one, and the
// broker in front of the real API only needs the path and the X-Triage-Id.
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { EVIDENCE_LIMITS, fitPagerDutyEvidence } from './evidence-bounds.js';
import { PAGERDUTY_ID } from '../config/identifiers.js';
import { httpFailure, invalidRequest, malformedResponse, networkFailure, requireTriageId } from './http-failure.js';
import type { AlertSummary, EvidenceRequest, IncidentRef, PagerDutyEvidence } from './model.js';
import { evidenceText } from '../config/untrusted-text.js';
import { callerHeaders, type CallerToken } from './broker-caller.js';

const SURFACE = 'pagerduty';
const ACCEPT = 'application/vnd.pagerduty+json;version=2';
const USER_AGENT = 'keyless-triage/0.1';
const DEFAULT_TIMEOUT_MS = 10_000;
/** PagerDuty's maximum page size. */
const ALERTS_PAGE_SIZE = 100;
/** 1,000 alerts is far past what a human reads; the rest is only counted. */
const MAX_ALERT_PAGES = 10;
/** A response body larger than this is not a PagerDuty answer we want in memory. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** PagerDuty ids (and incident numbers, which the API also accepts) are alphanumeric. */

export interface PagerDutyClientOptions {
  /** `https://api.pagerduty.com`, the broker's `/pagerduty` prefix, or the sandbox emulator. */
  baseUrl: string;
  /** The Authorization header value, fetched per call so a rotated token is picked up; empty when the broker injects it. */
  authorization: () => Promise<string> | string;
  /** The worker's token for the broker (activities/broker-caller.ts). */
  callerToken?: CallerToken;
  timeoutMs?: number;
}

const reference = z.looseObject({ id: z.string().min(1), summary: z.string() });

const incidentBody = z.object({
  incident: z.looseObject({
    id: z.string().regex(PAGERDUTY_ID),
    incident_number: z.number().int(),
    title: z.string(),
    status: z.string(),
    urgency: z.string(),
    created_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a timestamp'),
    html_url: z.string(),
    service: reference,
  }),
});

const alertBody = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  severity: z.string().optional(),
  summary: z.string().nullable().optional(),
  created_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a timestamp'),
  body: z
    .looseObject({
      details: z.unknown().optional(),
      cef_details: z.looseObject({ source_origin: z.unknown().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});

const alertsPage = z.object({
  alerts: z.array(alertBody),
  limit: z.number().int().optional(),
  offset: z.number().int().optional(),
  more: z.boolean().optional(),
  total: z.number().int().min(0).nullable().optional(),
});

const errorBody = z.object({
  error: z.looseObject({ message: z.string().optional(), errors: z.array(z.string()).optional() }),
});

function joinUrl(baseUrl: string, path: string, query?: Record<string, string>): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = query ? new URLSearchParams(query).toString() : '';
  return url.toString();
}

function checkId(id: string, what: string): void {
  if (typeof id !== 'string' || !PAGERDUTY_ID.test(id)) throw invalidRequest(SURFACE, `${what} must be alphanumeric (1-32 characters)`);
}

/**
 * Only the source is read from an alert's body: its custom details are free-form, whatever the
 * sender put there (request dumps, connection strings), and the evidence keeps none of them.
 */
function alertSource(a: z.infer<typeof alertBody>): string | undefined {
  const origin = a.body?.cef_details?.source_origin;
  if (typeof origin === 'string' && origin.length > 0) return origin;
  const details = a.body?.details;
  if (details !== null && typeof details === 'object' && typeof (details as Record<string, unknown>)['source'] === 'string') {
    return (details as Record<string, string>)['source'];
  }
  return undefined;
}

function toAlertSummary(a: z.infer<typeof alertBody>): AlertSummary {
  const summary: AlertSummary = {
    id: evidenceText(a.id, 64),
    status: evidenceText(a.status, 32),
    severity: evidenceText(a.severity ?? 'unknown', 32),
    summary: evidenceText(a.summary ?? '', EVIDENCE_LIMITS.textChars),
    createdAt: new Date(Date.parse(a.created_at)).toISOString().replace(/\.000Z$/, 'Z'),
  };
  const source = alertSource(a);
  if (source !== undefined) summary.source = evidenceText(source, EVIDENCE_LIMITS.shortTextChars);
  return summary;
}

export function createPagerDutyActivities(options: PagerDutyClientOptions) {
  const baseUrl = new URL(options.baseUrl);
  if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') throw new TypeError('pagerduty baseUrl must be http(s)');
  if (baseUrl.username || baseUrl.password) throw new TypeError('pagerduty baseUrl must not carry credentials');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function getJson<T>(
    path: string,
    query: Record<string, string> | undefined,
    triageId: string | undefined,
    schema: z.ZodType<T>,
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: ACCEPT, 'User-Agent': triageId ? `${USER_AGENT} (${triageId})` : USER_AGENT };
    let authorization: string;
    try {
      authorization = await options.authorization();
      Object.assign(headers, callerHeaders(options.callerToken));
    } catch {
      // A token file mid-rotation can be briefly missing: retry, and say nothing about the file.
      throw ApplicationFailure.create({
        message: `${SURFACE}: credential unavailable`,
        type: 'CredentialUnavailable',
        nonRetryable: false,
        details: [{ surface: SURFACE }],
      });
    }
    if (typeof authorization !== 'string' || !/^[\x20-\x7e]*$/.test(authorization)) {
      throw ApplicationFailure.create({
        message: `${SURFACE}: credential is not a valid header value`,
        type: 'CredentialUnavailable',
        nonRetryable: true,
        details: [{ surface: SURFACE }],
      });
    }
    if (authorization) headers['Authorization'] = authorization;
    if (triageId) headers['X-Triage-Id'] = triageId;

    const cancel = asyncLocalStorage.getStore()?.cancellationSignal;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(joinUrl(options.baseUrl, path, query), {
        headers,
        signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
        redirect: 'error',
      });
      const length = Number(res.headers.get('content-length') ?? '0');
      if (length > MAX_BODY_BYTES) throw malformedResponse(SURFACE, `response of ${length} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
      text = await res.text();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      // A cancelled activity must surface as cancelled, not as a retryable network error.
      if (cancel?.aborted) throw err;
      throw networkFailure(SURFACE, err);
    }
    if (!res.ok) {
      let reason: string | undefined;
      try {
        const parsed = errorBody.safeParse(JSON.parse(text));
        if (parsed.success) reason = [parsed.data.error.message, parsed.data.error.errors?.[0]].filter(Boolean).join(': ');
      } catch {
        // Not JSON (a proxy's HTML page, say): the status alone says enough.
      }
      throw httpFailure({ surface: SURFACE, status: res.status, retryAfter: res.headers.get('retry-after'), reason });
    }
    if (text.length > MAX_BODY_BYTES) throw malformedResponse(SURFACE, `response exceeds the ${MAX_BODY_BYTES}-byte limit`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw malformedResponse(SURFACE, `${path.split('/')[1] ?? 'response'} body is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw malformedResponse(SURFACE, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'unexpected shape'}`);
    }
    return parsed.data;
  }

  async function fetchIncident(incidentId: string, triageId?: string): Promise<IncidentRef> {
    checkId(incidentId, 'incident id');
    if (triageId !== undefined) requireTriageId(SURFACE, triageId);
    const { incident } = await getJson(`/incidents/${incidentId}`, undefined, triageId, incidentBody);
    return {
      id: incident.id,
      number: incident.incident_number,
      title: evidenceText(incident.title, EVIDENCE_LIMITS.textChars),
      status: evidenceText(incident.status, 32),
      urgency: evidenceText(incident.urgency, 32),
      serviceId: evidenceText(incident.service.id, 64),
      serviceName: evidenceText(incident.service.summary, EVIDENCE_LIMITS.shortTextChars),
      createdAt: new Date(Date.parse(incident.created_at)).toISOString().replace(/\.000Z$/, 'Z'),
      htmlUrl: evidenceText(incident.html_url, 512),
    };
  }

  async function collectAlerts(incidentId: string, triageId: string): Promise<PagerDutyEvidence['alerts']> {
    const collected: AlertSummary[] = [];
    let reportedTotal: number | null | undefined;
    for (let page = 0; page < MAX_ALERT_PAGES; page++) {
      const query = { limit: String(ALERTS_PAGE_SIZE), offset: String(collected.length), total: 'true', sort_by: 'created_at:desc' };
      const body = await getJson(`/incidents/${incidentId}/alerts`, query, triageId, alertsPage);
      collected.push(...body.alerts.map(toAlertSummary));
      reportedTotal = body.total;
      if (body.more !== true || body.alerts.length === 0) break;
    }
    // Sorted here too: the server's order is a request, not a guarantee.
    collected.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const shown = collected.slice(0, EVIDENCE_LIMITS.alertsShown);
    const total = Math.max(reportedTotal ?? collected.length, collected.length);
    return { total, shown, omitted: total - shown.length };
  }

  return {
    fetchIncident,

    async collectPagerDutyEvidence(req: EvidenceRequest): Promise<PagerDutyEvidence> {
      checkId(req.incident.id, 'incident id');
      requireTriageId(SURFACE, req.triageId);
      // Re-read: status and urgency may have changed since the workflow started.
      const [incident, alerts] = await Promise.all([
        fetchIncident(req.incident.id, req.triageId),
        collectAlerts(req.incident.id, req.triageId),
      ]);
      const fitted = fitPagerDutyEvidence({ surface: 'pagerduty', incident, alerts });
      if (fitted.report.dropped.alerts > 0)
        asyncLocalStorage.getStore()?.log.warn('pagerduty evidence trimmed to its byte budget', { ...fitted.report });
      return fitted.evidence;
    },
  };
}
