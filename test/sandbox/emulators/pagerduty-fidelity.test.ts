// The PagerDuty emulator against PagerDuty's published REST description
// (test/specs/pagerduty-rest-openapiv3.json): every body it answers on the
// routes it serves must match the operation's response schema for that status,
// and the query parameters it accepts must be the ones the operation lists.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildScenario, loadScenario, type Scenario } from '../../../sandbox/scenario.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../../sandbox/emulators/pagerduty.js';
import { generatedScenario } from '../generated-scenario.js';
import {
  ApiDescription,
  pointerOf,
  toJsonSchema,
  type ApiDescriptionOptions,
  type Operation,
  type Parameter,
  type SchemaPatch,
} from './openapi-schemas.js';

const SPEC_FILE = fileURLToPath(new URL('../../specs/pagerduty-rest-openapiv3.json', import.meta.url));
const SCENARIO_DIR = fileURLToPath(new URL('../../../sandbox/scenarios/', import.meta.url));
const TOKEN = 'pd-fidelity-token-0123456';
const NOW = Date.parse('2025-03-01T12:00:00Z');
const INCIDENT = pointerOf('components', 'schemas', 'Incident', 'allOf', '1');

/**
 * Where the published schema contradicts the description's own examples or
 * prose, the schema gives way, field by field. `example` names the documented
 * example that shows the value (checked below: without the erratum it fails).
 */
const SPEC_ERRATA: (SchemaPatch & { example?: string })[] = [
  {
    pointer: `${INCIDENT}/properties/resolved_at`,
    merge: { nullable: true },
    why: 'its description says it is null until the incident is resolved',
    example: '/incident/resolved_at',
  },
  {
    pointer: `${INCIDENT}/properties/resolve_reason`,
    merge: { nullable: true },
    why: 'null unless the incident was resolved by a merge',
    example: '/incident/resolve_reason',
  },
  {
    pointer: `${INCIDENT}/properties/alert_grouping/properties/ended_at`,
    merge: { nullable: true },
    why: 'null while alert grouping is still active',
    example: '/incident/alert_grouping/ended_at',
  },
  {
    pointer: `${INCIDENT}/properties/alert_grouping`,
    merge: { nullable: true },
    why: 'its description says "Will be null if the incident has no alerts"',
  },
  {
    pointer: pointerOf('components', 'schemas', 'Alert', 'allOf', '1', 'properties', 'body', 'properties', 'details'),
    merge: { type: ['object', 'string'] },
    why: 'its description says "An arbitrary JSON object or string"',
  },
  {
    pointer: `${INCIDENT}/properties/priority`,
    merge: { nullable: true },
    why: 'an incident without a priority has `priority: null` (API behaviour the description does not spell out)',
  },
];

/** Where the published schema says less than every real response does, the tests ask for more. */
const STRICTER_THAN_SPEC: SchemaPatch[] = [
  {
    pointer: INCIDENT,
    merge: { required: ['id', 'type', 'incident_number', 'status'] },
    why: 'the Incident schema requires nothing, yet every reference to one requires id and type (Reference.required)',
  },
  {
    pointer: pointerOf('components', 'schemas', 'Alert', 'allOf', '1'),
    merge: { required: ['type', 'id', 'status'] },
    why: 'the Alert schema requires only type; an alert the API lists always has its id and status',
  },
];

const FORMATS: ApiDescriptionOptions['formats'] = {
  // Not a JSON Schema format (ajv-formats' `url` also refuses loopback hosts, which is where the sandbox lives).
  url: (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
  // Rails time zone names ("Eastern Time (US & Canada)") and IANA names: lists, not grammars.
  'activesupport-time-zone': true,
  tzinfo: true,
  'partial-time': /^\d{2}:\d{2}:\d{2}$/,
};

let spec: ApiDescription;
let getIncident: Operation;
let listAlerts: Operation;
let createNote: Operation;
/** PagerDuty's generic error body schema, as the operations' documented 404 refers to it. */
let genericError: string;

beforeAll(() => {
  spec = ApiDescription.load(SPEC_FILE, { formats: FORMATS, patches: [...SPEC_ERRATA, ...STRICTER_THAN_SPEC] });
  getIncident = spec.operation('GET', '/incidents/X')!;
  listAlerts = spec.operation('GET', '/incidents/X/alerts')!;
  createNote = spec.operation('POST', '/incidents/X/notes')!;
  genericError = spec.responseSchemaPointer(getIncident, 404)!;
});

interface Call {
  method?: string;
  authorization?: string | null;
  accept?: string | null;
  contentType?: string;
  body?: unknown;
}

async function call(pd: PagerDutyEmulator, path: string, init: Call = {}) {
  const headers: Record<string, string> = {};
  if (init.authorization !== null) headers['Authorization'] = init.authorization ?? `Token token=${TOKEN}`;
  if (init.accept !== null) headers['Accept'] = init.accept ?? 'application/vnd.pagerduty+json;version=2';
  if (init.contentType) headers['Content-Type'] = init.contentType;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${pd.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

/** Documented sample values of one query parameter: valid ones, and ones its schema refuses. */
function samples(p: Parameter): { valid: string[]; invalid: string[] } {
  const schema = spec.parameterSchema(p);
  if (Array.isArray(schema.enum)) return { valid: schema.enum.map(String), invalid: [`not-${p.name.replace('[]', '')}`] };
  if (schema.type === 'integer') return { valid: ['1'], invalid: ['abc', '1.5'] };
  if (schema.type === 'boolean') return { valid: ['true', 'false'], invalid: ['maybe'] };
  return { valid: ['x'], invalid: [] };
}

function queryParameters(op: Operation): Parameter[] {
  return spec.parameters(op).filter((p) => p.in === 'query');
}

// ---- scenarios --------------------------------------------------------------

/** A bigger incident than the files hold: many alerts of every status and severity, and the minimal incident fields. */
function generatedPagerDutyScenario(): Scenario {
  const base = generatedScenario({ bulk: { pods: 3, failing: 1 } }, NOW);
  const severities = ['info', 'warning', 'error', 'critical'] as const;
  const alerts = Array.from({ length: 130 }, (_, i) => ({
    id: `QGEN${String(i).padStart(5, '0')}`,
    status: i % 4 === 0 ? ('resolved' as const) : ('triggered' as const),
    severity: severities[i % 4]!,
    summary: `bulk-api p99 latency above SLO (shard ${i})`,
    created_at: `\${now-${130 - i}m}`,
    ...(i % 4 === 0 ? { resolved_at: '${now-1m}' } : {}),
    ...(i % 3 === 0 ? { alert_key: `bulk-api/latency/${i}` } : {}),
    ...(i % 5 === 0 ? { suppressed: true } : {}),
    ...(i % 2 === 0 ? { integration: { id: 'PINTGEN', summary: 'Datadog' } } : {}),
    ...(i % 7 === 0
      ? {}
      : {
          body: {
            details: i % 11 === 0 ? 'plain text details' : { shard: i, p99_ms: 900 + i },
            contexts: [{ type: 'link', href: 'https://example.com' }],
          },
        }),
  }));
  return buildScenario({ ...base, pagerduty: { incident: base.pagerduty.incident, alerts } }, { now: NOW, source: 'generated' });
}

const SCENARIOS: [string, () => Promise<Scenario>][] = [
  ...readdirSync(SCENARIO_DIR)
    // `<name>.expected.yaml` holds a scenario's expected findings, not a scenario.
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
    .sort()
    .map((f): [string, () => Promise<Scenario>] => [f, () => loadScenario(`${SCENARIO_DIR}${f}`, { now: NOW })]),
  ['generated (130 alerts, minimal incident)', async () => generatedPagerDutyScenario()],
];

test('the scenario files are found', () => {
  expect(SCENARIOS.filter(([name]) => name.endsWith('.yaml')).length).toBeGreaterThan(0);
});

describe.each(SCENARIOS)('%s: bodies match the REST description', (_name, load) => {
  let scenario: Scenario;
  let pd: PagerDutyEmulator;
  beforeAll(async () => {
    scenario = await load();
    pd = await startPagerDutyEmulator({ scenario, token: TOKEN });
  });
  afterAll(() => pd?.close());

  test('GET /incidents/{id}, by id and by number, answers getIncident 200', async () => {
    const { id, incident_number } = scenario.pagerduty.incident;
    for (const ref of [id, String(incident_number)]) {
      const { status, body } = await call(pd, `/incidents/${ref}`);
      expect(status).toBe(200);
      expect(spec.responseErrors(getIncident, 200, body)).toEqual([]);
    }
  });

  test('every page of GET /incidents/{id}/alerts answers listIncidentAlerts 200', async () => {
    const seen: string[] = [];
    for (let offset = 0, more = true; more;) {
      const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}/alerts?limit=25&offset=${offset}&total=true`);
      expect(status).toBe(200);
      expect(spec.responseErrors(listAlerts, 200, body)).toEqual([]);
      seen.push(...body!.alerts.map((a: { id: string }) => a.id));
      more = body!.more;
      offset += body!.alerts.length;
    }
    expect(seen.sort()).toEqual(scenario.pagerduty.alerts.map((a) => a.id).sort());
  });

  test('each documented value of each listIncidentAlerts query parameter answers 200 in the documented shape', async () => {
    const alertKey = scenario.pagerduty.alerts.find((a) => a.alert_key)?.alert_key;
    for (const p of queryParameters(listAlerts)) {
      for (const value of p.name === 'alert_key' && alertKey ? [alertKey] : samples(p).valid) {
        const query = new URLSearchParams({ [p.name]: value });
        expect(spec.queryErrors(listAlerts, query)).toEqual([]);
        const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}/alerts?${query}`);
        expect([p.name, value, status]).toEqual([p.name, value, 200]);
        expect(spec.responseErrors(listAlerts, 200, body)).toEqual([]);
      }
    }
  });

  test('an unknown incident answers getIncident 404 in the documented error shape', async () => {
    const { status, body } = await call(pd, '/incidents/PNOSUCH1');
    expect(status).toBe(404);
    expect(spec.responseErrors(getIncident, 404, body)).toEqual([]);
  });
});

// ---- errors -----------------------------------------------------------------

describe('error responses', () => {
  const CLIENT = { clientId: 'fidelity-client', clientSecret: 'fidelity-secret-0123' };
  let scenario: Scenario;
  let pd: PagerDutyEmulator;
  let incidentPath: string;

  beforeAll(async () => {
    scenario = await loadScenario(`${SCENARIO_DIR}crashloop-after-rollout.yaml`, { now: NOW });
    pd = await startPagerDutyEmulator({ scenario, token: TOKEN, oauth: { ...CLIENT, grantedScopes: ['incidents.read', 'services.read'] } });
    incidentPath = `/incidents/${scenario.pagerduty.incident.id}`;
  });
  afterAll(() => pd?.close());
  afterEach(() => pd.setFault(null));

  async function bearer(scope: string): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      scope: `as_account-us.sandbox ${scope}`,
    });
    const res = await fetch(`${pd.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return `Bearer ${((await res.json()) as { access_token: string }).access_token}`;
  }

  test.each([
    ['no Authorization', 'getIncident', 401, '', { authorization: null }],
    ['a wrong API key', 'listIncidentAlerts', 401, '/alerts', { authorization: 'Token token=wrong' }],
    ['Accept asking for API version 1', 'getIncident', 400, '', { accept: 'application/vnd.pagerduty+json;version=1' }],
    ['a limit that is no number', 'listIncidentAlerts', 400, '/alerts?limit=abc', {}],
    ['limit=0', 'listIncidentAlerts', 400, '/alerts?limit=0', {}],
    ['an offset window past 10,000', 'listIncidentAlerts', 400, '/alerts?offset=9950&limit=100', {}],
    ['three sort fields', 'listIncidentAlerts', 400, '/alerts?sort_by=created_at,resolved_at,created_at:desc', {}],
    [
      'a note, with the read-only API key',
      'createIncidentNote',
      403,
      '/notes',
      { method: 'POST', body: { note: { content: 'Firefighters are on the scene.' } } },
    ],
    ['an unknown incident', 'getIncident', 404, '/incidents/PNOSUCH1', {}],
  ] as [string, string, number, string, Call][])('%s → %s %i', async (_what, operationId, expected, suffix, init) => {
    const path = suffix.startsWith('/incidents/') ? suffix : `${incidentPath}${suffix}`;
    const { status, body } = await call(pd, path, init);
    expect(status).toBe(expected);
    const op = spec.operation(init.method ?? 'GET', path.split('?')[0]!)!;
    expect(op.operationId).toBe(operationId);
    if (init.body !== undefined)
      expect(spec.schemaErrors(`${op.pointer}${pointerOf('requestBody', 'content', 'application/json', 'schema')}`, init.body)).toEqual([]);
    expect(spec.responseErrors(op, status, body)).toEqual([]);
  });

  test('scoped OAuth: a token without the operation’s scope answers the documented 403', async () => {
    const withoutRead = await bearer('services.read');
    const read = await call(pd, incidentPath, { authorization: withoutRead });
    expect(read.status).toBe(403);
    expect(spec.responseErrors(getIncident, 403, read.body)).toEqual([]);
    // createIncidentNote requires incidents.write (x-pd-requires-scope), which this client is never granted.
    expect(createNote.raw['x-pd-requires-scope']).toBe('incidents.write');
    const write = await call(pd, `${incidentPath}/notes`, {
      method: 'POST',
      authorization: await bearer('incidents.read incidents.write'),
      body: { note: { content: 'x' } },
    });
    expect(write.status).toBe(403);
    expect(spec.responseErrors(createNote, 403, write.body)).toEqual([]);
  });

  test('a rate-limit fault answers the documented 429 on both operations', async () => {
    pd.setFault({ status: 429, retryAfterSeconds: 5, times: 2 });
    const incident = await call(pd, incidentPath);
    const alerts = await call(pd, `${incidentPath}/alerts`);
    expect([incident.status, alerts.status]).toEqual([429, 429]);
    expect(spec.responseErrors(getIncident, 429, incident.body)).toEqual([]);
    expect(spec.responseErrors(listAlerts, 429, alerts.body)).toEqual([]);
  });

  // The description leaves these statuses out of the operations; the emulator answers them as the API does,
  // so their bodies are held to the description's generic error schema instead.
  test.each([
    ['listIncidentAlerts', 'alerts of an unknown incident', '/incidents/PNOSUCH1/alerts', {}, null, 404],
    ['getIncident', 'an Accept the API cannot produce', '', { accept: 'text/html' }, null, 406],
    ['listIncidentAlerts', 'an Accept the API cannot produce', '/alerts', { accept: 'text/html' }, null, 406],
    ['getIncident', 'an internal error', '', {}, 500, 500],
    ['listIncidentAlerts', 'an outage', '/alerts', {}, 503, 503],
  ] as [string, string, string, Call, number | null, number][])(
    '%s does not document %s (%#); the body is still PagerDuty’s error shape',
    async (operationId, _what, suffix, init, fault, expected) => {
      if (fault !== null) pd.setFault({ status: fault, times: 1 });
      const path = suffix.startsWith('/incidents/') ? suffix : `${incidentPath}${suffix}`;
      const { status, body } = await call(pd, path, init);
      expect(status).toBe(expected);
      const op = spec.operation('GET', path)!;
      expect(op.operationId).toBe(operationId);
      expect(spec.responseSchemaPointer(op, status)).toBeUndefined();
      expect(spec.schemaErrors(genericError, body)).toEqual([]);
      expect(body).toEqual({ error: { message: expect.any(String), code: expect.any(Number) } });
    },
  );

  test('the OAuth token route is not part of the REST description (it is identity.pagerduty.com), so it is not checked here', () => {
    expect(spec.operation('POST', '/oauth/token')).toBeUndefined();
    expect(Object.keys(spec.raw.paths as object).filter((p) => p.includes('oauth/token'))).toEqual([]);
  });
});

// ---- request parameters -----------------------------------------------------

describe('request parameters', () => {
  let scenario: Scenario;
  let pd: PagerDutyEmulator;
  beforeAll(async () => {
    scenario = generatedPagerDutyScenario();
    pd = await startPagerDutyEmulator({ scenario, token: TOKEN });
  });
  afterAll(() => pd?.close());

  test('the operations the emulator serves list the query parameters it reads', () => {
    expect(queryParameters(getIncident).map((p) => p.name)).toEqual(['include[]']);
    expect(
      queryParameters(listAlerts)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['alert_key', 'include[]', 'limit', 'offset', 'sort_by', 'statuses[]', 'total']);
  });

  test('getIncident: every documented include[] value is accepted', async () => {
    for (const p of queryParameters(getIncident)) {
      for (const value of samples(p).valid) {
        const query = new URLSearchParams({ [p.name]: value });
        expect(spec.queryErrors(getIncident, query)).toEqual([]);
        const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}?${query}`);
        expect([value, status]).toEqual([value, 200]);
        expect(spec.responseErrors(getIncident, 200, body)).toEqual([]);
      }
    }
  });

  test.each([
    ['getIncident', ''],
    ['listIncidentAlerts', '/alerts'],
  ])('%s: a value the parameter’s schema refuses is refused with the documented 400', async (_operationId, suffix) => {
    const op = suffix ? listAlerts : getIncident;
    let tried = 0;
    for (const p of queryParameters(op)) {
      for (const value of samples(p).invalid) {
        const query = new URLSearchParams({ [p.name]: value });
        expect(spec.queryErrors(op, query)).not.toEqual([]);
        const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}${suffix}?${query}`);
        expect([p.name, value, status]).toEqual([p.name, value, 400]);
        expect(spec.responseErrors(op, 400, body)).toEqual([]);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(0);
  });

  test('sort_by takes two comma-separated fields, as its description says', async () => {
    const query = new URLSearchParams({ sort_by: 'resolved_at:desc,created_at:asc', limit: '100' });
    expect(spec.queryErrors(listAlerts, query)).toEqual([]);
    const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}/alerts?${query}`);
    expect(status).toBe(200);
    expect(spec.responseErrors(listAlerts, 200, body)).toEqual([]);
    const keys = body!.alerts.map((a: { resolved_at: string | null; created_at: string }) => [
      Date.parse(a.resolved_at ?? '1970-01-01T00:00:00Z'),
      Date.parse(a.created_at),
    ]);
    const sorted = [...keys].sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
  });

  test('the documented Accept and Content-Type header values are accepted', async () => {
    const header = (name: string) => spec.parameters(getIncident).find((p) => p.in === 'header' && p.name === name)!;
    const accept = spec.parameterSchema(header('Accept')).default as string;
    const contentType = spec.parameterSchema(header('Content-Type')).enum as string[];
    expect(accept).toBe('application/vnd.pagerduty+json;version=2');
    for (const type of contentType) {
      const { status, body } = await call(pd, `/incidents/${scenario.pagerduty.incident.id}`, { accept, contentType: type });
      expect(status).toBe(200);
      expect(spec.responseErrors(getIncident, 200, body)).toEqual([]);
    }
  });

  test('queryErrors itself refuses a parameter the operation does not list', () => {
    expect(spec.queryErrors(listAlerts, new URLSearchParams({ urgency: 'high' }))).toEqual([
      expect.stringContaining('lists no query parameter "urgency"'),
    ]);
  });
});

// ---- the validator ----------------------------------------------------------

describe('the validator is strict enough to fail', () => {
  let incident: Record<string, any>;
  let alertsPage: Record<string, any>;
  beforeAll(async () => {
    const scenario = await loadScenario(`${SCENARIO_DIR}crashloop-after-rollout.yaml`, { now: NOW });
    const pd = await startPagerDutyEmulator({ scenario, token: TOKEN });
    try {
      incident = (await call(pd, `/incidents/${scenario.pagerduty.incident.id}`)).body!.incident;
      alertsPage = (await call(pd, `/incidents/${scenario.pagerduty.incident.id}/alerts`)).body!;
    } finally {
      await pd.close();
    }
  });

  test('the emulator’s own bodies pass (the baseline the mutations start from)', () => {
    expect(spec.responseErrors(getIncident, 200, { incident })).toEqual([]);
    expect(spec.responseErrors(listAlerts, 200, alertsPage)).toEqual([]);
  });

  const without = (o: Record<string, any>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  test.each([
    ['no incident at all', () => ({})],
    ['an incident without id', () => ({ incident: without(incident, 'id') })],
    ['an incident_number that is a string', () => ({ incident: { ...incident, incident_number: String(incident.incident_number) } })],
    ['a status outside the enum', () => ({ incident: { ...incident, status: 'open' } })],
    ['urgency outside the enum', () => ({ incident: { ...incident, urgency: 'urgent' } })],
    ['created_at that is no date-time', () => ({ incident: { ...incident, created_at: '5 minutes ago' } })],
    ['self that is no URL', () => ({ incident: { ...incident, self: 'incidents/Q1' } })],
    ['a service reference without id', () => ({ incident: { ...incident, service: without(incident.service, 'id') } })],
    ['a null incident_key', () => ({ incident: { ...incident, incident_key: null } })],
    ['a null escalation_policy', () => ({ incident: { ...incident, escalation_policy: null } })],
  ])('getIncident 200 refuses %s', (_what, mutate) => {
    expect(spec.responseErrors(getIncident, 200, mutate())).not.toEqual([]);
  });

  test.each([
    ['no alerts array', () => without(alertsPage, 'alerts')],
    ['an alert without type', () => ({ ...alertsPage, alerts: [without(alertsPage.alerts[0], 'type')] })],
    ['an alert without id', () => ({ ...alertsPage, alerts: [without(alertsPage.alerts[0], 'id')] })],
    ['a severity outside the enum', () => ({ ...alertsPage, alerts: [{ ...alertsPage.alerts[0], severity: 'fatal' }] })],
    [
      'an incident reference of the wrong type',
      () => ({ ...alertsPage, alerts: [{ ...alertsPage.alerts[0], incident: { ...alertsPage.alerts[0].incident, type: 'incident' } }] }),
    ],
    ['more that is a string', () => ({ ...alertsPage, more: 'no' })],
    ['total that is a string', () => ({ ...alertsPage, total: '2' })],
  ])('listIncidentAlerts 200 refuses %s', (_what, mutate) => {
    expect(spec.responseErrors(listAlerts, 200, mutate())).not.toEqual([]);
  });

  test('the error schema refuses a code that is a string, and a 200 body for an undocumented status is reported', () => {
    expect(spec.responseErrors(getIncident, 404, { error: { message: 'Not Found', code: '2100' } })).not.toEqual([]);
    expect(spec.responseErrors(getIncident, 418, { incident })).toEqual([expect.stringContaining('documents no 418 response')]);
  });
});

// ---- the description itself -------------------------------------------------

describe('the errata', () => {
  const EXAMPLES: [string, string, number][] = [
    ['GET', '/incidents/X', 200],
    ['GET', '/incidents/X/alerts', 200],
    ['POST', '/incidents/X/notes', 200],
  ];

  function example(op: Operation, status: number): unknown {
    const pointer = spec.responseSchemaPointer(op, status)!.replace(/\/schema$/, '');
    const media = spec.resolve(pointer) as { examples?: Record<string, { value: unknown }> };
    return Object.values(media.examples ?? {})[0]?.value;
  }

  test('with them, the description’s own response examples for these operations validate', () => {
    for (const [method, path, status] of EXAMPLES) {
      const op = spec.operation(method, path)!;
      expect(example(op, status)).toBeDefined();
      expect(spec.responseErrors(op, status, example(op, status))).toEqual([]);
    }
  });

  test('without them, the getIncident example fails exactly where an erratum cites it', () => {
    const published = ApiDescription.load(SPEC_FILE, { formats: FORMATS });
    const op = published.operation('GET', '/incidents/X')!;
    const failing = new Set(published.responseErrors(op, 200, example(op, 200)).map((e) => e.split(' ')[2]));
    expect([...failing].sort()).toEqual(SPEC_ERRATA.flatMap((e) => (e.example ? [e.example] : [])).sort());
  });

  test('each patch still points at a schema of the description', () => {
    for (const patch of [...SPEC_ERRATA, ...STRICTER_THAN_SPEC])
      expect([patch.pointer, typeof spec.resolve(patch.pointer)]).toEqual([patch.pointer, 'object']);
  });
});

describe('OpenAPI 3.0 → JSON Schema', () => {
  test('nullable becomes a union with null; without it null is refused', () => {
    expect(toJsonSchema({ type: 'string', nullable: true, enum: ['a', null] })).toEqual({
      anyOf: [{ type: 'string', enum: ['a', null] }, { type: 'null' }],
    });
    expect(toJsonSchema({ type: 'string', format: 'date-time' })).toEqual({ type: 'string', format: 'date-time' });
  });

  test('annotations go, properties that share their names stay', () => {
    expect(
      toJsonSchema({
        type: 'object',
        example: { a: 1 },
        'x-pd-requires-scope': 'incidents.read',
        discriminator: { propertyName: 'type' },
        properties: {
          example: { type: 'string', example: 'x' },
          nullable: { type: 'boolean' },
          discriminator: { $ref: '#/components/schemas/A' },
        },
      }),
    ).toEqual({
      type: 'object',
      properties: { example: { type: 'string' }, nullable: { type: 'boolean' }, discriminator: { $ref: '#/components/schemas/A' } },
    });
  });

  test('draft-4 boolean exclusive bounds become numbers', () => {
    expect(toJsonSchema({ type: 'integer', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: false })).toEqual({
      type: 'integer',
      exclusiveMinimum: 0,
      maximum: 10,
    });
  });

  test('a format nobody registered is an error, not a silent pass', () => {
    const doc = { openapi: '3.0.2', paths: {}, components: { schemas: { A: { type: 'string', format: 'made-up' } } } };
    const api = new ApiDescription(structuredClone(doc), 'memory://made-up');
    expect(() => api.validator(pointerOf('components', 'schemas', 'A'))).toThrow(/unknown format "made-up"/);
  });
});
