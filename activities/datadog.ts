// Datadog evidence: the service's configured metric queries around the incident,
// its monitors in Alert or Warn, and the most frequent error log messages of the
// window. Calls go through the official client, pointed at the broker's
// `/datadog` prefix; the broker adds DD-API-KEY and DD-APPLICATION-KEY, so the
// client here is configured to send no key at all.
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { client, v1, v2 } from '@datadog/datadog-api-client';
import { EVIDENCE_LIMITS, MAX_EVIDENCE_BYTES, evidenceBytes } from './evidence-bounds.js';
import { httpFailure, invalidRequest, malformedResponse, networkFailure, requireTriageId, retryAfterMs } from './http-failure.js';
import { downsample, metricWindow, summarizeSeries } from './metric-summary.js';
import type {
  DatadogEvidence,
  DatadogLogMessage,
  DatadogMonitorSummary,
  DatadogQuery,
  EvidenceRequest,
  MetricSeries,
  MetricWindow,
} from './model.js';
import { evidenceText } from '../config/untrusted-text.js';
import { callerHeaders, type CallerToken } from './broker-caller.js';

const SURFACE = 'datadog';
const USER_AGENT = 'keyless-triage/0.1';
const DEFAULT_TIMEOUT_MS = 15_000;
/** A thousand log events with long messages fit easily; anything larger is not an answer we want in memory. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** One point a minute: the metric summary compares minutes, and 75 minutes stay under Datadog's point limits. */
const INTERVAL_MS = 60_000;
const MONITORS_SHOWN = 20;
const MONITOR_PAGE_SIZE = 1000;
/** 10,000 monitors per tag is far past any one service; reading stops there. */
const MAX_MONITOR_PAGES = 10;
const TAGS_PER_MONITOR = 10;
const TAG_CHARS = 100;
/** One page at Datadog's maximum size: enough to rank messages, bounded whatever the error storm. */
const MAX_LOGS = 1000;
const TOP_MESSAGES = 10;
const SIGNIFICANT_DIGITS = 6;

export interface DatadogActivitiesOptions {
  /** The broker's `/datadog` prefix (or the sandbox emulator in tests). */
  baseUrl: string;
  /** The worker's token for the broker (activities/broker-caller.ts). */
  callerToken?: CallerToken;
  timeoutMs?: number;
  /** Clock in ms since the epoch; the evidence window ends here. */
  now?: () => number;
}

/** Reads a response body, refusing to buffer more than MAX_BODY_BYTES. */
async function readBounded(res: Response): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) {
    await res.body?.cancel();
    throw malformedResponse(SURFACE, `response of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw malformedResponse(SURFACE, `response exceeds the ${MAX_BODY_BYTES}-byte limit`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Datadog's error body is `{"errors": ["..."]}`; the first entry is the reason. */
function errorReason(text: string): string | undefined {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown }).errors;
    return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : undefined;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone says enough.
    return undefined;
  }
}

/**
 * The client's transport: fetch with a timeout and the activity's cancellation,
 * the triage id on every call, and non-2xx answers turned into the same
 * failures every surface throws, before the client could wrap them in an
 * ApiException that loses the rate-limit headers.
 */
class TriageHttpLibrary implements client.HttpLibrary {
  constructor(
    private readonly triageId: string,
    private readonly timeoutMs: number,
    private readonly callerToken: CallerToken | undefined,
  ) {}

  async send(request: client.RequestContext): Promise<client.ResponseContext> {
    const body = request.getBody();
    if (body !== undefined && typeof body !== 'string') throw new TypeError('datadog: only JSON request bodies are expected');
    const headers = new Headers(request.getHeaders());
    // The client's own product token stays: it tells Datadog support which client version called.
    headers.set('user-agent', `${USER_AGENT} (${this.triageId}) ${headers.get('user-agent') ?? ''}`.trim());
    headers.set('x-triage-id', this.triageId);
    for (const [name, value] of Object.entries(callerHeaders(this.callerToken))) headers.set(name, value);

    const cancel = asyncLocalStorage.getStore()?.cancellationSignal;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(request.getUrl(), {
        method: request.getHttpMethod(),
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
        redirect: 'error',
      });
      text = await readBounded(res);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      // A cancelled activity must surface as cancelled, not as a retryable network error.
      if (cancel?.aborted) throw err;
      throw networkFailure(SURFACE, err);
    }
    if (!res.ok) {
      // A 429 says when the window resets in X-RateLimit-Reset (seconds); Retry-After is the fallback.
      const reset = res.status === 429 ? res.headers.get('x-ratelimit-reset') : null;
      const retryAfter = retryAfterMs(reset) !== undefined ? reset : res.headers.get('retry-after');
      throw httpFailure({ surface: SURFACE, status: res.status, retryAfter, reason: errorReason(text) });
    }
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => (responseHeaders[name] = value));
    return new client.ResponseContext(res.status, responseHeaders, {
      text: async () => text,
      binary: async () => Buffer.from(text, 'utf8'),
    });
  }
}

/** Averages carry 15 digits nobody reads; six keep charts exact enough and the history small. */
function rounded(value: number): number {
  return Number(value.toPrecision(SIGNIFICANT_DIGITS));
}

function compareMonitors(a: DatadogMonitorSummary, b: DatadogMonitorSummary): number {
  const state = (m: DatadogMonitorSummary) => (m.state === 'Alert' ? 0 : 1);
  const priority = (m: DatadogMonitorSummary) => m.priority ?? Number.MAX_SAFE_INTEGER;
  // The most recent state change first: the monitors that moved with the incident.
  const since = (m: DatadogMonitorSummary) => (m.since ? Date.parse(m.since) : 0);
  return state(a) - state(b) || priority(a) - priority(b) || since(b) - since(a) || a.id - b.id;
}

function toMonitorSummary(m: v1.Monitor): DatadogMonitorSummary | undefined {
  const state = m.overallState;
  if ((state !== 'Alert' && state !== 'Warn') || typeof m.id !== 'number') return undefined;
  const summary: DatadogMonitorSummary = {
    id: m.id,
    name: evidenceText(m.name ?? '', EVIDENCE_LIMITS.shortTextChars),
    state,
    tags: (m.tags ?? []).slice(0, TAGS_PER_MONITOR).map((t) => evidenceText(t, TAG_CHARS)),
  };
  if (typeof m.priority === 'number' && Number.isInteger(m.priority)) summary.priority = m.priority;
  // Datadog still sends overall_state_modified, but the client's Monitor model no
  // longer declares it, so it arrives among the additional properties, as a string.
  const since = m.additionalProperties?.['overall_state_modified'];
  if (typeof since === 'string' && Number.isFinite(Date.parse(since))) summary.since = new Date(Date.parse(since)).toISOString();
  return summary;
}

/**
 * Groups log events by message, cleaned and redacted first: lines that differ
 * only by a credential are one group. A service or status is named only when
 * every occurrence shares it.
 */
function topMessages(logs: v2.Log[]): DatadogLogMessage[] {
  const groups = new Map<string, { count: number; services: Set<string>; statuses: Set<string>; lastSeen: number }>();
  for (const log of logs) {
    const a = log.attributes;
    const at = a?.timestamp;
    if (!(at instanceof Date) || !Number.isFinite(at.getTime())) throw malformedResponse(SURFACE, 'a log event has no timestamp');
    const message = evidenceText(a?.message ?? '', EVIDENCE_LIMITS.textChars);
    const group = groups.get(message) ?? { count: 0, services: new Set<string>(), statuses: new Set<string>(), lastSeen: 0 };
    group.count += 1;
    group.services.add(evidenceText(a?.service ?? '', 100));
    group.statuses.add(evidenceText(a?.status ?? '', 32));
    group.lastSeen = Math.max(group.lastSeen, at.getTime());
    groups.set(message, group);
  }
  const only = (values: Set<string>) => (values.size === 1 ? [...values][0] || undefined : undefined);
  return [...groups.entries()]
    .map(([message, g]) => {
      const entry: DatadogLogMessage = { message, count: g.count, lastSeen: new Date(g.lastSeen).toISOString() };
      const service = only(g.services);
      const status = only(g.statuses);
      if (service) entry.service = service;
      if (status) entry.status = status;
      return entry;
    })
    .sort(
      (a, b) =>
        b.count - a.count ||
        Date.parse(b.lastSeen) - Date.parse(a.lastSeen) ||
        (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
    )
    .slice(0, TOP_MESSAGES);
}

/**
 * The byte-budget backstop: halve every series' points (the summaries keep
 * their numbers), then move the last shown monitors into the omitted count.
 */
function fitDatadogEvidence(evidence: DatadogEvidence, maxBytes: number = MAX_EVIDENCE_BYTES): DatadogEvidence {
  if (evidenceBytes(evidence) <= maxBytes) return evidence;
  const out = structuredClone(evidence);
  while (evidenceBytes(out) > maxBytes && out.series.some((s) => s.points.length > 2)) {
    for (const s of out.series) s.points = downsample(s.points, Math.ceil(s.points.length / 2)).map(([t, v]) => [t, rounded(v)]);
  }
  while (evidenceBytes(out) > maxBytes && out.monitors.length > 0) {
    out.monitors.pop();
    out.monitorsOmitted += 1;
  }
  return out;
}

export function createDatadogActivities(options: DatadogActivitiesOptions) {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('datadog baseUrl must be http(s)');
  if (base.username || base.password || base.search || base.hash)
    throw new TypeError('datadog baseUrl must not carry credentials, a query or a fragment');
  const baseUrl = base.href.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now ?? Date.now;

  /** One client per triage: the transport carries that triage's id. */
  function apis(triageId: string) {
    const configuration = client.createConfiguration({
      baseServer: new client.BaseServerConfiguration(baseUrl, {}),
      httpApi: new TriageHttpLibrary(triageId, timeoutMs, options.callerToken),
      // Named but empty on purpose: otherwise the client fills them from DD_API_KEY /
      // DD_APP_KEY in the environment, and the worker must never send a key.
      authMethods: { apiKeyAuth: '', appKeyAuth: '' },
      // Temporal retries the activity with the workflow's policy; a second retry loop would hide that.
      enableRetry: false,
    });
    return { monitors: new v1.MonitorsApi(configuration), metrics: new v2.MetricsApi(configuration), logs: new v2.LogsApi(configuration) };
  }

  /** HTTP failures pass through; anything else the client throws means the answer did not match Datadog's schema. */
  async function call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (asyncLocalStorage.getStore()?.cancellationSignal.aborted) throw err;
      throw malformedResponse(SURFACE, `${what} response does not match the Datadog API`);
    }
  }

  async function collectSeries(api: v2.MetricsApi, queries: DatadogQuery[], window: MetricWindow): Promise<MetricSeries[]> {
    if (queries.length === 0) return [];
    const names = queries.map((_, i) => `query${i}`);
    const response = await call('timeseries', () =>
      api.queryTimeseriesData({
        body: {
          data: {
            type: 'timeseries_request',
            attributes: {
              from: Date.parse(window.start),
              to: Date.parse(window.end),
              interval: INTERVAL_MS,
              queries: queries.map((q, i) => ({ dataSource: 'metrics', query: q.query, name: names[i]! })),
              // One formula per query, so each configured query comes back as its own series.
              formulas: names.map((formula) => ({ formula })),
            },
          },
        },
      }),
    );
    const attributes = response.data?.attributes;
    const times = attributes?.times ?? [];
    return queries.map((q, i) => {
      // Series and values pair up by position; query_index names the formula. A query
      // grouped `by {...}` yields several series: the first is kept, configuration should aggregate.
      const index = attributes?.series?.findIndex((s) => s.queryIndex === i) ?? -1;
      const values = index >= 0 ? (attributes?.values?.[index] ?? []) : [];
      const points = times.flatMap((t, k): [number, number][] => {
        const v = values[k];
        return typeof v === 'number' && Number.isFinite(v) && Number.isFinite(t) ? [[t, v]] : [];
      });
      const series: MetricSeries = {
        label: q.label,
        points: downsample(points).map(([t, v]) => [t, rounded(v)]),
        summary: summarizeSeries(points, window),
      };
      if (q.dependency !== undefined) series.dependency = q.dependency;
      const unit = index >= 0 ? attributes?.series?.[index]?.unit?.[0]?.name : undefined;
      if (typeof unit === 'string' && unit.length > 0) series.unit = evidenceText(unit, 32);
      return series;
    });
  }

  async function collectMonitors(api: v1.MonitorsApi, tags: string[]): Promise<{ shown: DatadogMonitorSummary[]; omitted: number }> {
    // Datadog ANDs the tags of one `monitor_tags` list; "any of" needs one listing per tag.
    const lists = await Promise.all(
      [...new Set(tags)].map(async (tag) => {
        const found: v1.Monitor[] = [];
        for (let page = 0; page < MAX_MONITOR_PAGES; page++) {
          const batch = await call('monitors', () => api.listMonitors({ monitorTags: tag, page, pageSize: MONITOR_PAGE_SIZE }));
          found.push(...batch);
          if (batch.length < MONITOR_PAGE_SIZE) break;
        }
        return found;
      }),
    );
    const byId = new Map<number, DatadogMonitorSummary>();
    for (const m of lists.flat()) {
      const summary = toMonitorSummary(m);
      if (summary) byId.set(summary.id, summary);
    }
    const ranked = [...byId.values()].sort(compareMonitors);
    return { shown: ranked.slice(0, MONITORS_SHOWN), omitted: Math.max(0, ranked.length - MONITORS_SHOWN) };
  }

  async function collectLogs(api: v2.LogsApi, query: string, window: MetricWindow): Promise<NonNullable<DatadogEvidence['logs']>> {
    const response = await call('logs', () =>
      api.listLogs({
        body: {
          filter: { query, from: window.start, to: window.end },
          // Newest first, so a storm larger than the bound keeps its most recent lines.
          sort: '-timestamp',
          page: { limit: MAX_LOGS },
        },
      }),
    );
    const logs = response.data ?? [];
    return {
      query: evidenceText(query, 1000),
      scanned: logs.length,
      top: topMessages(logs),
      truncated: typeof response.meta?.page?.after === 'string' && response.meta.page.after.length > 0,
    };
  }

  return {
    async collectDatadogEvidence(req: EvidenceRequest): Promise<DatadogEvidence> {
      const scope = req.scope.datadog;
      if (!scope) throw invalidRequest(SURFACE, 'no Datadog scope is configured for this service');
      requireTriageId(SURFACE, req.triageId);
      if (scope.monitorTags.some((t) => t.includes(',') || t.trim() !== t || t.length === 0)) {
        throw invalidRequest(SURFACE, 'monitor tags must be single tags without commas or surrounding spaces');
      }
      let window: MetricWindow;
      try {
        window = metricWindow(req.incident.createdAt, now());
      } catch {
        throw invalidRequest(SURFACE, 'the incident creation time is not a timestamp');
      }

      const api = apis(req.triageId);
      const [series, monitors, logs] = await Promise.all([
        collectSeries(api.metrics, scope.queries, window),
        scope.monitorTags.length > 0 ? collectMonitors(api.monitors, scope.monitorTags) : { shown: [], omitted: 0 },
        scope.logQuery !== undefined ? collectLogs(api.logs, scope.logQuery, window) : undefined,
      ]);
      return fitDatadogEvidence({
        surface: 'datadog',
        window,
        series,
        monitors: monitors.shown,
        monitorsOmitted: monitors.omitted,
        ...(logs ? { logs } : {}),
      });
    },
  };
}
