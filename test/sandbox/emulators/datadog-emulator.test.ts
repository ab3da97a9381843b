// The Datadog emulator against the official client (it must work unchanged,
// only the base URL differs) and against raw fetch for the wire details a
// client hides: auth failures, error bodies, rate-limit headers, 400s and 413.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, v1, v2 } from '@datadog/datadog-api-client';
import { buildScenario, type ScenarioDatadog, type ScenarioInput } from '../../../sandbox/scenario.js';
import { startDatadogEmulator, type DatadogEmulator } from '../../../sandbox/emulators/datadog.js';
import { runEmulators } from './emulators-process.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const API_KEY = 'dd-api-key-emulator-0123456789abcdef';
const APP_KEY = 'dd-app-key-emulator-fedcba9876543210';
const ERRORS_QUERY = 'sum:trace.http.request.errors{service:checkout-api}.as_count()';
const LATENCY_QUERY = 'avg:trace.http.request.duration{service:checkout-api}';

const INCIDENT = {
  id: 'PDDEMU1',
  incident_number: 9,
  title: 'checkout-api errors',
  status: 'triggered' as const,
  urgency: 'high' as const,
  created_at: '${now-10m}',
  html_url: 'https://example.pagerduty.com/incidents/PDDEMU1',
  service: { id: 'PCHKOUT', summary: 'checkout' },
};

function datadogScenario(datadog: NonNullable<ScenarioInput['datadog']>): ScenarioDatadog {
  return buildScenario(
    { name: 'datadog-emulator', description: 'Datadog emulator test', pagerduty: { incident: INCIDENT }, datadog },
    { now: NOW },
  ).datadog!;
}

const SCENARIO = datadogScenario({
  queries: [
    // One point a minute from 12:00 back to 11:50: 1, 2, ... 11.
    {
      label: 'checkout errors',
      query: ERRORS_QUERY,
      unit: 'error',
      series: { start: '${now-10m}', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
    },
    { label: 'checkout latency', query: LATENCY_QUERY, series: { start: '${now-10m}', stepSeconds: 30, values: [100, 200, 300, 400] } },
  ],
  monitors: [
    {
      id: 30,
      name: 'checkout 5xx rate',
      query: `sum(last_5m):${ERRORS_QUERY} > 50`,
      overall_state: 'Alert',
      overall_state_modified: '${now-9m}',
      tags: ['service:checkout-api', 'team:payments'],
      priority: 1,
    },
    {
      id: 10,
      name: 'checkout latency',
      query: `avg(last_5m):${LATENCY_QUERY} > 500`,
      overall_state: 'Warn',
      tags: ['service:checkout-api'],
    },
    {
      id: 20,
      name: 'cart errors',
      query: 'sum(last_5m):sum:trace.http.request.errors{service:cart,env:prod}.as_count() > 5',
      overall_state: 'OK',
      tags: ['service:cart', 'team:payments'],
    },
  ],
  logs: [
    {
      timestamp: '${now-1m}',
      service: 'checkout-api',
      status: 'error',
      host: 'node-1',
      message: 'upstream timeout calling payments',
      tags: ['env:prod'],
      repeat: 30,
      every: 10,
    },
    { timestamp: '${now-2m}', service: 'checkout-api', status: 'warn', message: 'slow query on orders', tags: ['env:prod'] },
    { timestamp: '${now-3m}', service: 'cart', status: 'error', message: 'Upstream TIMEOUT calling inventory', tags: ['env:staging'] },
  ],
});

let dd: DatadogEmulator;

beforeAll(async () => {
  dd = await startDatadogEmulator({ datadog: SCENARIO, apiKey: API_KEY, appKey: APP_KEY, now: () => NOW });
});
afterAll(() => dd.close());
afterEach(() => dd.setFault(null));

const KEYS = { 'DD-API-KEY': API_KEY, 'DD-APPLICATION-KEY': APP_KEY };

async function raw(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {}) {
  const method = init.method ?? (init.body !== undefined || init.rawBody !== undefined ? 'POST' : 'GET');
  const res = await fetch(`${dd.url}${path}`, {
    method,
    headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? KEYS) },
    ...(init.rawBody !== undefined ? { body: init.rawBody } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
}

function officialClient(keys: { apiKeyAuth?: string; appKeyAuth?: string } = { apiKeyAuth: API_KEY, appKeyAuth: APP_KEY }) {
  const configuration = client.createConfiguration({
    baseServer: new client.BaseServerConfiguration(dd.url, {}),
    authMethods: keys,
    enableRetry: false,
  });
  return { monitors: new v1.MonitorsApi(configuration), metrics: new v2.MetricsApi(configuration), logs: new v2.LogsApi(configuration) };
}

function timeseriesBody(attributes: Record<string, unknown>) {
  return {
    data: {
      type: 'timeseries_request',
      attributes: { from: NOW - 3_600_000, to: NOW, queries: [{ data_source: 'metrics', query: ERRORS_QUERY, name: 'a' }], ...attributes },
    },
  };
}

describe('auth', () => {
  test.each([
    ['no key', {}],
    ['only the API key', { 'DD-API-KEY': API_KEY }],
    ['only the application key', { 'DD-APPLICATION-KEY': APP_KEY }],
    ['a wrong application key', { 'DD-API-KEY': API_KEY, 'DD-APPLICATION-KEY': `${APP_KEY}x` }],
    ['the keys swapped', { 'DD-API-KEY': APP_KEY, 'DD-APPLICATION-KEY': API_KEY }],
  ])('%s → 403 {"errors":["Forbidden"]}', async (_, headers) => {
    const { status, body } = await raw('/api/v1/monitor', { headers });
    expect(status).toBe(403);
    expect(body).toEqual({ errors: ['Forbidden'] });
  });

  test('both keys → 200; the official client with both keys works', async () => {
    expect((await raw('/api/v1/monitor')).status).toBe(200);
    await expect(officialClient().monitors.listMonitors()).resolves.toHaveLength(3);
  });

  test('the official client without keys is refused', async () => {
    await expect(officialClient({}).monitors.listMonitors()).rejects.toMatchObject({ code: 403, body: { errors: ['Forbidden'] } });
  });

  test('the request log records the User-Agent and X-Triage-Id, never a key', async () => {
    await raw('/api/v1/monitor', {
      headers: { ...KEYS, 'user-agent': 'keyless-triage/0.1 (triage-PDDEMU1)', 'x-triage-id': 'triage-PDDEMU1' },
    });
    expect(dd.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/api/v1/monitor',
      status: 200,
      userAgent: 'keyless-triage/0.1 (triage-PDDEMU1)',
      triageId: 'triage-PDDEMU1',
    });
    expect(JSON.stringify(dd.requests)).not.toContain(API_KEY);
  });
});

describe('POST /api/v2/query/timeseries', () => {
  test('the official client reads the series: times in ms, values per formula, units', async () => {
    const res = await officialClient().metrics.queryTimeseriesData({
      body: {
        data: {
          type: 'timeseries_request',
          attributes: {
            from: NOW - 5 * 60_000,
            to: NOW,
            queries: [
              { dataSource: 'metrics', query: ERRORS_QUERY, name: 'errors' },
              { dataSource: 'metrics', query: 'avg:no.such.metric{*}', name: 'missing' },
            ],
            formulas: [{ formula: 'missing' }, { formula: 'errors' }],
          },
        },
      },
    });
    const attributes = res.data?.attributes;
    // Restricted to [from, to]: 11:55 to 12:00, six points.
    expect(attributes?.times).toEqual(Array.from({ length: 6 }, (_, i) => NOW - (5 - i) * 60_000));
    // The unknown query has no series, as Datadog answers a query without data; the other is formula 1.
    expect(attributes?.series).toEqual([
      expect.objectContaining({ queryIndex: 1, groupTags: [], unit: [expect.objectContaining({ name: 'error' }), null] }),
    ]);
    expect(attributes?.values).toEqual([[6, 7, 8, 9, 10, 11]]);
    expect(res.data?.type).toBe('timeseries_response');
  });

  test('interval buckets the points: counts are summed, gauges averaged; a missing point is null', async () => {
    const { status, body } = await raw('/api/v2/query/timeseries', {
      body: {
        data: {
          type: 'timeseries_request',
          attributes: {
            from: NOW - 10 * 60_000,
            to: NOW,
            interval: 120_000,
            queries: [
              { data_source: 'metrics', query: ERRORS_QUERY, name: 'errors' },
              { data_source: 'metrics', query: LATENCY_QUERY, name: 'latency' },
            ],
          },
        },
      },
    });
    expect(status).toBe(200);
    const { times, values, series } = body.data.attributes;
    expect(times).toEqual([0, 1, 2, 3, 4, 5].map((i) => NOW - 10 * 60_000 + i * 120_000));
    expect(series.map((s: { query_index: number }) => s.query_index)).toEqual([0, 1]);
    expect(values[0]).toEqual([1 + 2, 3 + 4, 5 + 6, 7 + 8, 9 + 10, 11]);
    // Latency points at 11:50:00, :30, 11:51:00 and :30 all fall in the 11:50 bucket; the others have no data.
    expect(values[1]).toEqual([250, null, null, null, null, null]);
  });

  test.each([
    ['a wrong data.type', { data: { type: 'scalar_request', attributes: timeseriesBody({}).data.attributes } }, /^data\.type: /],
    ['from after to', timeseriesBody({ from: NOW, to: NOW - 1 }), /from: must be before to/],
    ['from in seconds as a string', timeseriesBody({ from: String(NOW / 1000) }), /^data\.attributes\.from: /],
    ['no queries', timeseriesBody({ queries: [] }), /^data\.attributes\.queries: /],
    [
      'another data source',
      timeseriesBody({ queries: [{ data_source: 'cloud_cost', query: 'x', name: 'a' }] }),
      /data_source "metrics" only/,
    ],
    ['a formula with arithmetic', timeseriesBody({ formulas: [{ formula: 'a * 2' }] }), /formulas\.0\.formula: .*single query/],
    ['a zero interval', timeseriesBody({ interval: 0 }), /interval/],
    [
      'two queries with one name',
      timeseriesBody({
        queries: [
          { data_source: 'metrics', query: ERRORS_QUERY, name: 'a' },
          { data_source: 'metrics', query: LATENCY_QUERY, name: 'a' },
        ],
      }),
      /must be unique/,
    ],
  ])('%s → 400 with a reason', async (_, body, reason) => {
    const res = await raw('/api/v2/query/timeseries', { body });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.stringMatching(reason)]);
  });

  test('a body that is not JSON → 400; not declared as JSON → 415', async () => {
    expect(await raw('/api/v2/query/timeseries', { rawBody: '{"data": ' })).toMatchObject({
      status: 400,
      body: { errors: ['Request body is not valid JSON'] },
    });
    const res = await raw('/api/v2/query/timeseries', {
      rawBody: JSON.stringify(timeseriesBody({})),
      headers: { ...KEYS, 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
  });

  test('a body over 1 MiB → 413', async () => {
    const big = timeseriesBody({ queries: [{ data_source: 'metrics', query: ERRORS_QUERY, name: 'a', padding: 'x'.repeat(1024 * 1024) }] });
    const res = await raw('/api/v2/query/timeseries', { body: big });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ errors: ['Request body is larger than 1 MiB'] });
  });
});

describe('GET /api/v1/monitor', () => {
  test('the official client gets Monitor objects in Datadog field names', async () => {
    const [first] = await officialClient().monitors.listMonitors({ monitorTags: 'team:payments', withDowntimes: true });
    expect(first).toMatchObject({
      id: 20,
      name: 'cart errors',
      type: 'query alert',
      overallState: 'OK',
      tags: ['service:cart', 'team:payments'],
      matchingDowntimes: [],
    });
    const { body } = await raw('/api/v1/monitor?monitor_tags=service:checkout-api');
    expect(body[0]).toMatchObject({
      id: 10,
      overall_state: 'Warn',
      overall_state_modified: null,
      priority: null,
      options: { thresholds: { critical: 500 } },
      created: new Date(NOW).toISOString(),
    });
    expect(body[1]).toMatchObject({ id: 30, overall_state: 'Alert', overall_state_modified: '2025-03-01T11:51:00Z', priority: 1 });
  });

  test('monitor_tags: a monitor must carry every listed tag', async () => {
    const ids = async (q: string) => ((await raw(`/api/v1/monitor?${q}`)).body as { id: number }[]).map((m) => m.id);
    expect(await ids('monitor_tags=team:payments')).toEqual([20, 30]);
    expect(await ids('monitor_tags=team:payments,service:checkout-api')).toEqual([30]);
    expect(await ids('monitor_tags=team:nobody')).toEqual([]);
    // `tags` filters on the query's scope, not on the monitor's own tags.
    expect(await ids('tags=env:prod')).toEqual([20]);
    expect(await ids('tags=team:payments')).toEqual([]);
    expect(await ids('name=CHECKOUT')).toEqual([10, 30]);
    expect(await ids('id_offset=10')).toEqual([20, 30]);
  });

  test('paging with page and page_size, in id order', async () => {
    const ids = async (q: string) => ((await raw(`/api/v1/monitor?${q}`)).body as { id: number }[]).map((m) => m.id);
    expect(await ids('page=0&page_size=2')).toEqual([10, 20]);
    expect(await ids('page=1&page_size=2')).toEqual([30]);
    expect(await ids('page=2&page_size=2')).toEqual([]);
    // page_size alone does not page: Datadog returns every monitor.
    expect(await ids('page_size=1')).toEqual([10, 20, 30]);
  });

  test('group_states is validated but does not filter (it adds group detail in Datadog)', async () => {
    expect((await raw('/api/v1/monitor?group_states=alert,warn')).body).toHaveLength(3);
    expect(await raw('/api/v1/monitor?group_states=firing')).toMatchObject({
      status: 400,
      body: { errors: [expect.stringMatching(/group_states/)] },
    });
  });

  test.each(['page=-1', 'page_size=1001', 'page_size=0', 'with_downtimes=yes', 'page=1&page=2'])('%s → 400', async (q) => {
    const res = await raw(`/api/v1/monitor?${q}`);
    expect(res.status).toBe(400);
    expect(res.body.errors.length).toBeGreaterThan(0);
  });
});

describe('POST /api/v2/logs/events/search', () => {
  const search = (body: unknown) => raw('/api/v2/logs/events/search', { body });

  test('the official client pages through every match with its cursor', async () => {
    const seen: v2.Log[] = [];
    for await (const log of officialClient().logs.listLogsWithPagination({
      body: { filter: { query: 'service:checkout-api', from: 'now-1h', to: 'now' }, page: { limit: 7 }, sort: '-timestamp' },
    })) {
      seen.push(log);
    }
    // `repeat: 30` is 30 events; with the warn line, 31, newest first, ids unique.
    expect(seen).toHaveLength(31);
    expect(new Set(seen.map((l) => l.id)).size).toBe(31);
    const times = seen.map((l) => l.attributes!.timestamp!.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen[0]).toMatchObject({
      type: 'log',
      attributes: {
        service: 'checkout-api',
        status: 'error',
        host: 'node-1',
        tags: ['env:prod'],
        message: 'upstream timeout calling payments',
      },
    });
  });

  test('a page with more to come carries meta.page.after and links.next', async () => {
    const first = await search({ filter: { query: 'status:error', from: 'now-15m', to: 'now' }, page: { limit: 30 } });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(30);
    expect(first.body.meta).toMatchObject({ status: 'done', page: { after: expect.any(String) } });
    expect(first.body.links.next).toMatch(new RegExp(`^${dd.url}/api/v2/logs/events\\?`));
    const second = await search({
      filter: { query: 'status:error', from: 'now-15m', to: 'now' },
      page: { limit: 30, cursor: first.body.meta.page.after },
    });
    expect(second.body.data).toHaveLength(1);
    expect(new Set([...first.body.data, ...second.body.data].map((l: { id: string }) => l.id)).size).toBe(31);
    expect(second.body.meta.page).toBeUndefined();
    expect(second.body.links).toBeUndefined();
  });

  test.each([
    ['*', 32],
    ['service:checkout-api status:warn', 1],
    ['timeout', 31],
    ['TIMEOUT inventory', 1],
    ['env:staging', 1],
    ['host:node-1', 30],
    ['status:ERROR', 31],
  ])('query %j matches %d events', async (query, count) => {
    const { body } = await search({ filter: { query, from: 'now-1h', to: 'now' }, page: { limit: 1000 } });
    expect(body.data).toHaveLength(count);
  });

  test('time bounds (inclusive): ISO 8601, epoch ms and date math; sort ascending', async () => {
    const count = async (from: string, to: string) =>
      (await search({ filter: { query: '*', from, to }, page: { limit: 1000 } })).body.data.length;
    // From 11:58:00: the repeated line at 11:58:00 to 11:59:00 (7) and the warn line at 11:58:00.
    expect(await count('2025-03-01T11:58:00Z', '2025-03-01T12:00:00Z')).toBe(8);
    expect(await count(String(NOW - 2 * 60_000), String(NOW))).toBe(8);
    expect(await count('now-2m', 'now')).toBe(8);
    expect(await count('now-1d', 'now-1h')).toBe(0);
    const asc = await search({ filter: { from: 'now-1h' }, sort: 'timestamp', page: { limit: 1000 } });
    const times = asc.body.data.map((l: { attributes: { timestamp: string } }) => l.attributes.timestamp);
    expect(times).toEqual([...times].sort());
    expect([times[0], times.at(-1)]).toEqual(['2025-03-01T11:54:10.000Z', '2025-03-01T11:59:00.000Z']);
  });

  test('defaults: the last 15 minutes, 10 events', async () => {
    const { body } = await search({});
    expect(body.data).toHaveLength(10);
  });

  test.each([
    ['boolean operators', { filter: { query: 'service:cart OR service:checkout-api' } }, /does not support the search term "OR"/],
    ['a quoted phrase', { filter: { query: '"upstream timeout"' } }, /does not support/],
    ['negation', { filter: { query: '-status:info' } }, /does not support/],
    ['a facet attribute', { filter: { query: '@http.status_code:500' } }, /does not support/],
    ['a wildcard', { filter: { query: 'service:check*' } }, /does not support/],
    ['a limit over 1000', { page: { limit: 1001 } }, /^page\.limit: must be at most 1000/],
    ['an unknown sort', { sort: 'message' }, /^sort: /],
    ['a bad time', { filter: { from: 'yesterday' } }, /filter\.from and filter\.to/],
    ['from after to', { filter: { from: 'now', to: 'now-1h' } }, /must not be after/],
    ['a forged cursor', { page: { cursor: 'bm90LWEtY3Vyc29y' } }, /page\[cursor\] is invalid/],
  ])('%s → 400 with a reason', async (_, body, reason) => {
    const res = await search(body);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.stringMatching(reason)]);
  });

  test('a cursor is bound to its query', async () => {
    const first = await search({ filter: { query: 'service:checkout-api', from: 'now-1h' }, page: { limit: 5 } });
    const other = await search({
      filter: { query: 'service:cart', from: 'now-1h' },
      page: { limit: 5, cursor: first.body.meta.page.after },
    });
    expect(other.status).toBe(400);
  });
});

describe('rate limits, faults and unknown routes', () => {
  test('every response carries the X-RateLimit-* headers; Remaining counts down', async () => {
    const first = await raw('/api/v1/monitor');
    const second = await raw('/api/v1/monitor');
    for (const res of [first, second]) {
      expect(res.headers.get('x-ratelimit-limit')).toMatch(/^\d+$/);
      expect(res.headers.get('x-ratelimit-period')).toMatch(/^\d+$/);
      expect(res.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
      expect(res.headers.get('x-ratelimit-name')).toBe('monitor_list');
    }
    expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(Number(first.headers.get('x-ratelimit-remaining')) - 1);
    const refused = await raw('/api/v2/logs/events/search', { body: {}, headers: {} });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-ratelimit-name')).toBe('logs_list');
  });

  test("a 429 fault answers Remaining 0 and Reset = the fault's retryAfterSeconds", async () => {
    dd.setFault({ status: 429, retryAfterSeconds: 17, times: 1 });
    const res = await raw('/api/v2/query/timeseries', { body: timeseriesBody({}) });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ errors: ['Too Many Requests'] });
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('x-ratelimit-reset')).toBe('17');
    expect(res.headers.get('x-ratelimit-name')).toBe('query_timeseries');
    expect((await raw('/api/v2/query/timeseries', { body: timeseriesBody({}) })).status).toBe(200);
  });

  test('the official client sees a 429 as an ApiException with the errors body', async () => {
    dd.setFault({ status: 429, retryAfterSeconds: 3, times: 1 });
    await expect(officialClient().monitors.listMonitors()).rejects.toMatchObject({ code: 429 });
  });

  test('a 503 fault with retryAfterSeconds sends Retry-After', async () => {
    dd.setFault({ status: 503, retryAfterSeconds: 4, times: 1 });
    const res = await raw('/api/v1/monitor');
    expect(res).toMatchObject({ status: 503, body: { errors: ['Service Unavailable'] } });
    expect(res.headers.get('retry-after')).toBe('4');
  });

  test("the endpoint's own limit, once spent, answers 429 until its window resets", async () => {
    let clock = Date.parse('2025-03-01T13:00:30Z');
    const limited = await startDatadogEmulator({ datadog: SCENARIO, apiKey: API_KEY, appKey: APP_KEY, now: () => clock });
    try {
      const get = () => fetch(`${limited.url}/api/v1/monitor`, { headers: KEYS });
      const limit = Number((await get()).headers.get('x-ratelimit-limit'));
      for (let i = 1; i < limit; i++) await (await get()).arrayBuffer();
      const over = await get();
      expect(over.status).toBe(429);
      expect(await over.json()).toEqual({ errors: [`Rate limit of ${limit} requests in 60 seconds reached. Please try again later.`] });
      // Calendar-aligned: the minute ends at 13:01:00, 30 s later.
      expect(over.headers.get('x-ratelimit-reset')).toBe('30');
      clock += 30_000;
      expect((await get()).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  test("unknown routes → 404 in Datadog's error format", async () => {
    expect(await raw('/api/v1/dashboard')).toMatchObject({ status: 404, body: { errors: ['Not found'] } });
    expect(await raw('/api/v2/query/timeseries', { method: 'GET' })).toMatchObject({ status: 404, body: { errors: ['Not found'] } });
  });
});

describe('sandbox/emulators/main.ts', () => {
  let work: string;
  const files: Record<string, string> = {};
  const incidentYaml = [
    'name: datadog-main',
    'description: emulators process test',
    'pagerduty:',
    '  incident:',
    '    id: PDDMAIN',
    '    incident_number: 1',
    '    title: checkout errors',
    '    status: triggered',
    '    urgency: high',
    '    created_at: ${now-5m}',
    '    html_url: https://example.pagerduty.com/incidents/PDDMAIN',
    '    service: { id: PCHKOUT, summary: checkout }',
  ].join('\n');

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'datadog-main-'));
    const write = (name: string, value: string) => {
      files[name] = join(work, name);
      writeFileSync(files[name]!, value, { mode: 0o600 });
    };
    for (const [name, value] of Object.entries({ kube: 'kube-token-dd-main', pd: 'pd-token-dd-main', ddApi: API_KEY, ddApp: APP_KEY }))
      write(name, `${value}\n`);
    write('plain.yaml', `${incidentYaml}\n`);
    write(
      'with-datadog.yaml',
      `${incidentYaml}\ndatadog:\n  monitors:\n    - { id: 7, name: checkout errors, query: "sum(last_5m):sum:errors{*}.as_count() > 5", overall_state: Alert }\n`,
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const args = (scenario: string) => [
    '--scenario',
    files[scenario]!,
    '--kubernetes-token-file',
    files['kube']!,
    '--pagerduty-token-file',
    files['pd']!,
  ];
  const keyFiles = () => ['--datadog-api-key-file', files['ddApi']!, '--datadog-app-key-file', files['ddApp']!];

  test.each([
    ['with its datadog section', 'with-datadog.yaml', [7]],
    ['with an empty section when the scenario has none', 'plain.yaml', []],
  ])('with both key files Datadog starts %s, and datadogUrl is printed', async (_, scenario, ids) => {
    const proc = runEmulators([...args(scenario), ...keyFiles()]);
    try {
      const info = JSON.parse(await proc.firstLine) as { datadogUrl: string };
      expect(info.datadogUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${info.datadogUrl}/api/v1/monitor`, { headers: KEYS });
      expect(((await res.json()) as { id: number }[]).map((m) => m.id)).toEqual(ids);
      expect((await fetch(`${info.datadogUrl}/api/v1/monitor`)).status).toBe(403);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output()).not.toContain(API_KEY);
      expect(proc.output()).not.toContain(APP_KEY);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  test('without the key files there is no Datadog emulator', async () => {
    const proc = runEmulators(args('with-datadog.yaml'));
    try {
      expect(JSON.parse(await proc.firstLine)).not.toHaveProperty('datadogUrl');
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });

  test('one key file without the other is refused', async () => {
    const proc = runEmulators([...args('plain.yaml'), '--datadog-api-key-file', files['ddApi']!]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('--datadog-api-key-file and --datadog-app-key-file go together');
  });
});
