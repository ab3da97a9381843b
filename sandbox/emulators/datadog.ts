// A read-only Datadog API for the sandbox: the three endpoints the triage reads
// (v2 timeseries query, v1 monitor list, v2 logs search) in Datadog's wire
// format, with its two-key auth, `{"errors": [...]}` bodies and X-RateLimit-*
// headers, so @datadog/datadog-api-client works against it unchanged (only the
// base URL differs). The data comes from the scenario's `datadog` section.
import { createHash, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ScenarioDatadog, SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { listen, requestLogger, tokenMatches, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';

export interface DatadogEmulatorOptions extends ListenOptions {
  datadog: ScenarioDatadog;
  /** Both keys are required on every request, as `DD-API-KEY` and `DD-APPLICATION-KEY`. */
  apiKey: string;
  appKey: string;
  /** Clock in ms since the epoch: `now` in log date math and the rate-limit windows. */
  now?: () => number;
  /** Added latency and error rate on every API request (scenario `conditions` or the environment). */
  conditions?: SurfaceConditions;
}

export interface DatadogEmulator extends Listening {
  setFault(fault: Fault | null): void;
  /** The most recent requests with their User-Agent / X-Triage-Id and status, oldest first. */
  readonly requests: readonly RequestLogEntry[];
}

/** What Datadog accepts per request body before answering 413. */
const MAX_BODY = '1mb';

// ---- errors and rate limits ------------------------------------------------------

function sendErrors(res: Response, status: number, errors: string[] = [STATUS_CODES[status] ?? 'Error']): void {
  res.status(status).json({ errors });
}

interface RateBucket {
  name: string;
  limit: number;
  periodSeconds: number;
}

// Sandbox limits of the same order as Datadog's defaults; each endpoint has its own bucket.
const BUCKETS = {
  timeseries: { name: 'query_timeseries', limit: 1600, periodSeconds: 3600 },
  monitors: { name: 'monitor_list', limit: 1000, periodSeconds: 60 },
  logs: { name: 'logs_list', limit: 300, periodSeconds: 3600 },
  other: { name: 'default', limit: 1000, periodSeconds: 60 },
} satisfies Record<string, RateBucket>;

function bucketFor(method: string, path: string): RateBucket {
  if (method === 'POST' && path === '/api/v2/query/timeseries') return BUCKETS.timeseries;
  if (method === 'GET' && path === '/api/v1/monitor') return BUCKETS.monitors;
  if (method === 'POST' && path === '/api/v2/logs/events/search') return BUCKETS.logs;
  return BUCKETS.other;
}

/** Calendar-aligned windows, as Datadog documents for X-RateLimit-Period. */
class RateWindows {
  private readonly used = new Map<string, { windowStart: number; count: number }>();

  hit(bucket: RateBucket, nowMs: number): { remaining: number; resetSeconds: number; exceeded: boolean } {
    const nowS = Math.floor(nowMs / 1000);
    const windowStart = nowS - (nowS % bucket.periodSeconds);
    const entry = this.used.get(bucket.name);
    const count = entry && entry.windowStart === windowStart ? entry.count + 1 : 1;
    this.used.set(bucket.name, { windowStart, count });
    return {
      remaining: Math.max(0, bucket.limit - count),
      resetSeconds: windowStart + bucket.periodSeconds - nowS,
      exceeded: count > bucket.limit,
    };
  }
}

function setRateHeaders(res: Response, bucket: RateBucket, remaining: number, resetSeconds: number): void {
  res.set({
    'x-ratelimit-limit': String(bucket.limit),
    'x-ratelimit-period': String(bucket.periodSeconds),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(resetSeconds),
    'x-ratelimit-name': bucket.name,
  });
}

/** The first zod issue as one line a client can act on, e.g. `data.attributes.from: expected number`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.join('.');
  return `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid request body'}`;
}

// ---- timeseries (POST /api/v2/query/timeseries) ----------------------------------

const QUERY_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const epochMs = z.number().int().min(0).max(8.64e15);

const timeseriesRequest = z
  .object({
    data: z.looseObject({
      type: z.literal('timeseries_request'),
      attributes: z.looseObject({
        from: epochMs,
        to: epochMs,
        interval: z.number().int().min(1).optional(),
        queries: z
          .array(
            z.looseObject({
              // Other data sources (cloud_cost, events...) exist upstream; the scenario only has metrics.
              data_source: z.literal('metrics', { message: 'the sandbox serves data_source "metrics" only' }),
              query: z.string().min(1).max(4000),
              name: z.string().regex(QUERY_NAME, 'must start with a letter and hold letters, digits and "_"').optional(),
            }),
          )
          .min(1)
          .max(100),
        formulas: z.array(z.looseObject({ formula: z.string().min(1) })).optional(),
      }),
    }),
  })
  .superRefine((body, ctx) => {
    const { from, to, queries, formulas } = body.data.attributes;
    if (from >= to) ctx.addIssue({ code: 'custom', path: ['data', 'attributes', 'from'], message: 'must be before to' });
    const names = queries.flatMap((q) => (q.name === undefined ? [] : [q.name]));
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', path: ['data', 'attributes', 'queries'], message: 'query names must be unique' });
    }
    formulas?.forEach((f, i) => {
      // Arithmetic over queries is Datadog's job; the sandbox evaluates formulas that name one query.
      if (!names.includes(f.formula.trim())) {
        ctx.addIssue({
          code: 'custom',
          path: ['data', 'attributes', 'formulas', i, 'formula'],
          message: 'the sandbox evaluates formulas that name a single query',
        });
      }
    });
  });

/** Datadog rolls counts up by summing and gauges by averaging. */
function rollUp(points: readonly (readonly [number, number])[], intervalMs: number, sum: boolean): [number, number][] {
  const buckets = new Map<number, number[]>();
  for (const [t, v] of points) {
    const start = t - (t % intervalMs);
    const bucket = buckets.get(start);
    if (bucket) bucket.push(v);
    else buckets.set(start, [v]);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, vs]) => {
      const total = vs.reduce((a, b) => a + b, 0);
      return [t, sum ? total : total / vs.length];
    });
}

function renderTimeseries(body: z.output<typeof timeseriesRequest>, scenario: ScenarioDatadog) {
  const { from, to, interval, queries, formulas } = body.data.attributes;
  // With formulas the response has one entry per formula; without, one per query.
  const outputs = formulas ? formulas.map((f) => queries.find((q) => q.name === f.formula.trim())!) : queries;
  const series: { query_index: number; points: Map<number, number>; unit: string | undefined }[] = [];
  outputs.forEach((q, index) => {
    const known = scenario.queries.find((s) => s.query === q.query);
    if (!known) return;
    const inRange = known.series.filter(([t]) => t >= from && t <= to);
    const points = interval ? rollUp(inRange, interval, q.query.includes('.as_count()')) : inRange;
    if (points.length > 0) series.push({ query_index: index, points: new Map(points), unit: known.unit });
  });
  const times = [...new Set(series.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
  return {
    data: {
      type: 'timeseries_response',
      attributes: {
        series: series.map((s) => ({
          group_tags: [],
          query_index: s.query_index,
          // [primary unit, per unit]; the scenario names only the primary one.
          unit: s.unit ? [{ name: s.unit, plural: s.unit, short_name: s.unit, scale_factor: 1 }, null] : null,
        })),
        times,
        values: series.map((s) => times.map((t) => s.points.get(t) ?? null)),
      },
    },
  };
}

// ---- monitors (GET /api/v1/monitor) ----------------------------------------------

type ScenarioMonitor = ScenarioDatadog['monitors'][number];

const GROUP_STATES = new Set(['all', 'alert', 'warn', 'no data']);
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The tags inside a monitor query's `{...}` scopes, which the `tags` parameter filters on. */
function scopeTags(query: string): Set<string> {
  return new Set([...query.matchAll(/\{([^}]*)\}/g)].flatMap((m) => commaList(m[1] ?? '')));
}

function thresholds(query: string): Record<string, number> {
  const m = /(?:>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(query);
  return m ? { critical: Number(m[1]) } : {};
}

function renderMonitor(m: ScenarioMonitor, startedAt: string, withDowntimes: boolean) {
  return {
    id: m.id,
    name: m.name,
    type: m.type,
    query: m.query,
    message: m.message,
    tags: m.tags,
    priority: m.priority,
    options: {
      thresholds: thresholds(m.query),
      notify_no_data: false,
      notify_audit: false,
      include_tags: true,
      require_full_window: false,
      new_group_delay: 60,
    },
    overall_state: m.overall_state,
    overall_state_modified: m.overall_state_modified ?? null,
    created: startedAt,
    modified: m.overall_state_modified ?? startedAt,
    deleted: null,
    multi: false,
    restricted_roles: null,
    draft_status: 'published',
    ...(withDowntimes ? { matching_downtimes: [] } : {}),
  };
}

/** A non-negative integer query parameter; a problem is added to `errors`. */
function intParam(value: string | undefined, name: string, max: number, errors: string[]): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > max) {
    errors.push(`${name} must be an integer between 0 and ${max}`);
    return undefined;
  }
  return Number(value);
}

function listMonitors(req: Request, res: Response, monitors: readonly ScenarioMonitor[], startedAt: string): void {
  const query: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.query)) {
    if (typeof value !== 'string') {
      sendErrors(res, 400, [`${key.slice(0, 40)} must be given once`]);
      return;
    }
    query[key] = value;
  }
  const errors: string[] = [];
  const groupStates = query['group_states'] === undefined ? [] : commaList(query['group_states']);
  if (groupStates.some((s) => !GROUP_STATES.has(s)))
    errors.push('group_states must be a comma separated list of all, alert, warn and no data');
  const withDowntimes = query['with_downtimes'];
  if (withDowntimes !== undefined && withDowntimes !== 'true' && withDowntimes !== 'false')
    errors.push('with_downtimes must be true or false');
  const page = intParam(query['page'], 'page', 1_000_000, errors);
  const pageSize = intParam(query['page_size'], 'page_size', MAX_PAGE_SIZE, errors) ?? DEFAULT_PAGE_SIZE;
  const idOffset = intParam(query['id_offset'], 'id_offset', Number.MAX_SAFE_INTEGER, errors);
  if (pageSize === 0) errors.push('page_size must be at least 1');
  if (errors.length > 0) {
    sendErrors(res, 400, errors);
    return;
  }
  // group_states adds per-group detail in Datadog; it does not filter, and the scenario has no groups.
  const monitorTags = commaList(query['monitor_tags'] ?? '');
  const scope = commaList(query['tags'] ?? '');
  const name = query['name']?.toLowerCase();
  const selected = [...monitors]
    .sort((a, b) => a.id - b.id)
    .filter(
      (m) =>
        // Several tags narrow the list: a monitor must carry every one of them.
        monitorTags.every((t) => m.tags.includes(t)) &&
        (scope.length === 0 || scope.every((t) => scopeTags(m.query).has(t))) &&
        (name === undefined || m.name.toLowerCase().includes(name)) &&
        (idOffset === undefined || m.id > idOffset),
    );
  // Without `page` Datadog returns every monitor; page_size applies only with it.
  const paged = page === undefined ? selected : selected.slice(page * pageSize, (page + 1) * pageSize);
  res.json(paged.map((m) => renderMonitor(m, startedAt, withDowntimes === 'true')));
}

// ---- logs (POST /api/v2/logs/events/search) --------------------------------------

interface StoredLog {
  id: string;
  timestamp: number;
  message: string;
  service: string;
  status: string;
  host: string | undefined;
  tags: string[];
}

/** Each scenario line `repeat` times, `every` seconds apart going back from its timestamp; newest first. */
function expandLogs(logs: ScenarioDatadog['logs']): StoredLog[] {
  const out: StoredLog[] = [];
  logs.forEach((line, i) => {
    const last = Date.parse(line.timestamp);
    for (let k = 0; k < line.repeat; k++) {
      // Datadog log ids are opaque base64-ish strings; these are stable across runs.
      const id = `AQAAA${createHash('sha256').update(`${i}:${k}`).digest('base64url').slice(0, 40)}`;
      out.push({
        id,
        timestamp: last - k * line.every * 1000,
        message: line.message,
        service: line.service,
        status: line.status,
        host: line.host,
        tags: line.tags,
      });
    }
  });
  return out.sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? -1 : 1));
}

const DATE_MATH = /^now(?:([+-])(\d{1,9})([smhdw]))?$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const isoTimestamp = z.iso.datetime({ offset: true });

/** Datadog's accepted time forms: ISO 8601, epoch milliseconds, and `now` with optional `-15m` style math. */
function parseLogTime(value: string, nowMs: number): number | undefined {
  if (/^\d{1,16}$/.test(value)) return Number(value);
  const math = DATE_MATH.exec(value);
  if (math) {
    const [, sign, amount, unit] = math;
    return sign && amount && unit ? nowMs + (sign === '-' ? -1 : 1) * Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS] : nowMs;
  }
  return isoTimestamp.safeParse(value).success ? Date.parse(value) : undefined;
}

type LogPredicate = (log: StoredLog) => boolean;

class LogQueryError extends Error {}

/**
 * The part of Datadog's log search syntax the triage uses: terms separated by
 * spaces, all of which must match. `service:`, `status:` and `host:` match those
 * fields, any other `key:value` matches a tag, a bare word matches the message
 * (case-insensitively), and `*` matches everything. Boolean operators,
 * negation, groups, quotes, wildcards and `@attributes` are refused rather than
 * half-supported.
 */
function parseLogQuery(query: string): LogPredicate {
  const predicates: LogPredicate[] = [];
  for (const term of query
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0)) {
    if (term === '*') continue;
    if (/^(AND|OR|NOT)$/.test(term) || /["()\\*?[\]{}]/.test(term) || term.startsWith('-') || term.startsWith('@')) {
      throw new LogQueryError(
        `the sandbox does not support the search term ${JSON.stringify(term.slice(0, 60))}; use key:value terms and plain words`,
      );
    }
    const kv = /^([A-Za-z][\w.-]*):(.+)$/.exec(term);
    if (kv) {
      const key = kv[1]!;
      const value = kv[2]!;
      if (key === 'service') predicates.push((l) => l.service === value);
      else if (key === 'status') predicates.push((l) => l.status === value.toLowerCase());
      else if (key === 'host') predicates.push((l) => l.host === value);
      else predicates.push((l) => l.tags.includes(`${key}:${value}`));
      continue;
    }
    if (!/^[\w./-]+$/.test(term))
      throw new LogQueryError(`the sandbox does not support the search term ${JSON.stringify(term.slice(0, 60))}`);
    const word = term.toLowerCase();
    predicates.push((l) => l.message.toLowerCase().includes(word));
  }
  return (l) => predicates.every((p) => p(l));
}

const MAX_LOG_LIMIT = 1000;

const logsRequest = z.looseObject({
  filter: z
    .looseObject({
      query: z.string().max(4000).default('*'),
      from: z.string().default('now-15m'),
      to: z.string().default('now'),
      indexes: z.array(z.string()).optional(),
      storage_tier: z.enum(['indexes', 'online-archives', 'flex']).optional(),
    })
    .prefault({}),
  options: z.looseObject({ timezone: z.string().optional(), timeOffset: z.number().int().optional() }).optional(),
  page: z
    .looseObject({
      cursor: z.string().max(1024).optional(),
      limit: z.number().int().min(1).max(MAX_LOG_LIMIT, `must be at most ${MAX_LOG_LIMIT}`).default(10),
    })
    .prefault({}),
  sort: z.enum(['timestamp', '-timestamp']).default('-timestamp'),
});

/**
 * The cursor pins the query, the sort and the resolved time range, as
 * Datadog's does: a next page is the rest of the same search even when `now`
 * has moved on. Base64url JSON: opaque to clients, readable in a debugger.
 */
interface Cursor {
  offset: number;
  from: number;
  to: number;
  query: string;
  sort: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

const cursorShape = z.strictObject({
  offset: z.number().int().min(0),
  from: z.number(),
  to: z.number(),
  query: z.string(),
  sort: z.string(),
});

function decodeCursor(value: string): Cursor | undefined {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function renderLog(l: StoredLog) {
  const timestamp = new Date(l.timestamp).toISOString();
  return {
    id: l.id,
    type: 'log',
    attributes: {
      timestamp,
      message: l.message,
      service: l.service,
      status: l.status,
      ...(l.host !== undefined ? { host: l.host } : {}),
      tags: l.tags,
      attributes: {},
    },
  };
}

function searchLogs(req: Request, res: Response, logs: readonly StoredLog[], nowMs: number): void {
  const parsed = logsRequest.safeParse(req.body);
  if (!parsed.success) {
    sendErrors(res, 400, [firstIssue(parsed.error)]);
    return;
  }
  const { filter, page, sort } = parsed.data;
  let cursor: Cursor;
  if (page.cursor !== undefined) {
    const decoded = decodeCursor(page.cursor);
    if (!decoded || decoded.query !== filter.query || decoded.sort !== sort) {
      sendErrors(res, 400, ['page[cursor] is invalid or belongs to another query']);
      return;
    }
    cursor = decoded;
  } else {
    const from = parseLogTime(filter.from, nowMs);
    const to = parseLogTime(filter.to, nowMs);
    if (from === undefined || to === undefined) {
      sendErrors(res, 400, ['filter.from and filter.to must be ISO 8601 timestamps, epoch milliseconds or date math like now-15m']);
      return;
    }
    if (from > to) {
      sendErrors(res, 400, ['filter.from must not be after filter.to']);
      return;
    }
    cursor = { offset: 0, from, to, query: filter.query, sort };
  }
  let matches: LogPredicate;
  try {
    matches = parseLogQuery(filter.query);
  } catch (err) {
    if (!(err instanceof LogQueryError)) throw err;
    sendErrors(res, 400, [err.message]);
    return;
  }
  const selected = logs.filter((l) => l.timestamp >= cursor.from && l.timestamp <= cursor.to && matches(l));
  if (sort === 'timestamp') selected.reverse();
  const pageItems = selected.slice(cursor.offset, cursor.offset + page.limit);
  const nextOffset = cursor.offset + pageItems.length;
  const after = nextOffset < selected.length ? encodeCursor({ ...cursor, offset: nextOffset }) : undefined;
  const origin = `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;
  res.json({
    data: pageItems.map(renderLog),
    meta: { elapsed: 1, request_id: randomUUID(), status: 'done', ...(after ? { page: { after } } : {}) },
    ...(after
      ? {
          links: {
            next: `${origin}/api/v2/logs/events?${new URLSearchParams({ 'filter[query]': filter.query, 'page[cursor]': after, 'page[limit]': String(page.limit), sort }).toString()}`,
          },
        }
      : {}),
  });
}

// ---- the app ---------------------------------------------------------------------

interface AppOptions {
  datadog: ScenarioDatadog;
  logs: StoredLog[];
  apiKey: string;
  appKey: string;
  now: () => number;
  startedAt: string;
  faults: FaultSwitch;
  log: RequestLogEntry[];
}

function createDatadogApp(opts: AppOptions) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(opts.log));
  const limits = new RateWindows();
  const jsonBody = express.json({ limit: MAX_BODY, type: 'application/json' });

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    await opts.faults.delay();
    const bucket = bucketFor(req.method, req.path);
    const usage = limits.hit(bucket, opts.now());
    setRateHeaders(res, bucket, usage.remaining, usage.resetSeconds);
    const fault = opts.faults.take();
    if (fault) {
      if (fault.status === 429) {
        // Datadog says when to come back through the rate-limit headers, not Retry-After.
        setRateHeaders(res, bucket, 0, fault.retryAfterSeconds ?? usage.resetSeconds);
      } else if (fault.retryAfterSeconds !== undefined) {
        res.set('retry-after', String(fault.retryAfterSeconds));
      }
      sendErrors(res, fault.status);
      return;
    }
    if (usage.exceeded) {
      sendErrors(res, 429, [`Rate limit of ${bucket.limit} requests in ${bucket.periodSeconds} seconds reached. Please try again later.`]);
      return;
    }
    const apiOk = tokenMatches(req.get('dd-api-key'), opts.apiKey);
    const appOk = tokenMatches(req.get('dd-application-key'), opts.appKey);
    if (!apiOk || !appOk) {
      sendErrors(res, 403, ['Forbidden']);
      return;
    }
    next();
  });

  const requireJson = (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('application/json')) {
      sendErrors(res, 415, ['Content-Type must be application/json']);
      return;
    }
    next();
  };

  app.post('/api/v2/query/timeseries', requireJson, jsonBody, (req, res) => {
    const parsed = timeseriesRequest.safeParse(req.body);
    if (!parsed.success) {
      sendErrors(res, 400, [firstIssue(parsed.error)]);
      return;
    }
    res.json(renderTimeseries(parsed.data, opts.datadog));
  });

  app.get('/api/v1/monitor', (req, res) => listMonitors(req, res, opts.datadog.monitors, opts.startedAt));

  app.post('/api/v2/logs/events/search', requireJson, jsonBody, (req, res) => searchLogs(req, res, opts.logs, opts.now()));

  app.use((_req: Request, res: Response) => {
    sendErrors(res, 404, ['Not found']);
  });
  // Express 5 needs the four-argument signature to recognise an error handler.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.too.large') sendErrors(res, 413, ['Request body is larger than 1 MiB']);
    else if (type === 'entity.parse.failed') sendErrors(res, 400, ['Request body is not valid JSON']);
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported') sendErrors(res, 415);
    else sendErrors(res, 500);
  });
  return app;
}

export async function startDatadogEmulator(options: DatadogEmulatorOptions): Promise<DatadogEmulator> {
  if (options.apiKey.length === 0 || options.appKey.length === 0)
    throw new Error('the Datadog emulator needs a non-empty API key and application key');
  const now = options.now ?? Date.now;
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);
  const app = createDatadogApp({
    datadog: options.datadog,
    logs: expandLogs(options.datadog.logs),
    apiKey: options.apiKey,
    appKey: options.appKey,
    now,
    startedAt: new Date(now()).toISOString(),
    faults,
    log,
  });
  const server = await listen(app, options);
  return { url: server.url, close: server.close, setFault: (fault) => faults.set(fault), requests: log };
}
