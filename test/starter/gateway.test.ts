import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayApp, WEBHOOK_BODY_LIMIT_BYTES, type GatewayDeps } from '../../starter/gateway.js';
import { createJsonLogger } from '../../config/logger.js';
import { signPagerDutyBody } from '../../starter/pagerduty-signature.js';
import {
  TemporalUnavailableError,
  type SignalResolvedRequest,
  type SignalResolvedResult,
  type StartTriageRequest,
  type StartTriageResult,
  type TriageClient,
} from '../../starter/triage-client.js';
import {
  INCIDENT_ID,
  SERVICE_ID,
  acknowledgedEnvelope,
  bodyOf,
  pingEnvelope,
  reopenedEnvelope,
  resolvedEnvelope,
  triggeredEnvelope,
} from './fixtures.js';

const SECRET = 'pd-webhook-secret-3f9c2a7e51d04b8e';
const NEXT_SECRET = 'pd-webhook-secret-rotated-8c1d7f20';
const WEBHOOK_ID = 'd1b3c9a0-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const SUBSCRIPTION_ID = 'PY1OQAS';

class RecordingStarter implements TriageClient {
  readonly starts: StartTriageRequest[] = [];
  readonly resolves: SignalResolvedRequest[] = [];
  startImpl = async (req: StartTriageRequest): Promise<StartTriageResult> => ({
    workflowId: `triage-${req.incident.id}`,
    status: 'started',
  });
  resolveImpl = async (req: SignalResolvedRequest): Promise<SignalResolvedResult> => ({
    workflowId: `triage-${req.incidentId}`,
    status: 'signalled',
  });
  readyImpl = async (): Promise<boolean> => true;

  startTriage(req: StartTriageRequest): Promise<StartTriageResult> {
    this.starts.push(req);
    return this.startImpl(req);
  }
  signalResolved(req: SignalResolvedRequest): Promise<SignalResolvedResult> {
    this.resolves.push(req);
    return this.resolveImpl(req);
  }
  ready(): Promise<boolean> {
    return this.readyImpl();
  }
  // Slack decisions are covered in slack-interactions.test.ts; no PagerDuty path decides.
  decide(): Promise<never> {
    return Promise.reject(new Error('decide is not used by the PagerDuty webhook'));
  }
}

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
  json: Record<string, unknown>;
}

// Everything any test received or logged; checked for leaks at the end.
const allResponseTexts: string[] = [];
const allLogLines: string[] = [];

let server: Server;
let baseUrl: string;
let starter: RecordingStarter;
let secrets: string[];
let logLines: string[];

async function startGateway(overrides: Partial<GatewayDeps> = {}): Promise<void> {
  starter = new RecordingStarter();
  secrets = [SECRET];
  logLines = [];
  const app = createGatewayApp({
    secrets: () => secrets,
    triage: starter,
    logger: createJsonLogger({
      write: (line) => {
        logLines.push(line);
        allLogLines.push(line);
      },
    }),
    readyTimeoutMs: 100,
    webhookTimeoutMs: 200,
    ...overrides,
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stopGateway(): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

async function request(path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  allResponseTexts.push(text, JSON.stringify([...res.headers]));
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Left empty; the assertions on `json` then fail loudly.
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, json };
}

function postRaw(body: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return request('/webhooks/pagerduty', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
}

function postSigned(
  body: Buffer | string,
  options: { secret?: string; signature?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return postRaw(raw, {
    'x-pagerduty-signature': options.signature ?? signPagerDutyBody(raw, options.secret ?? SECRET),
    'x-webhook-id': WEBHOOK_ID,
    'x-webhook-subscription': SUBSCRIPTION_ID,
    ...options.headers,
  });
}

function parsedLogs(): Array<Record<string, unknown>> {
  return logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectNothingStarted(): void {
  expect(starter.starts).toHaveLength(0);
  expect(starter.resolves).toHaveLength(0);
}

beforeEach(() => startGateway());
afterEach(() => stopGateway());

describe('health', () => {
  it('GET /healthz is 200 ok', async () => {
    const res = await request('/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when the starter is ready', async () => {
    const res = await request('/readyz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ready' });
  });

  it('GET /readyz is 503 when the starter is not ready', async () => {
    starter.readyImpl = async () => false;
    const res = await request('/readyz');
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ status: 'not-ready' });
  });

  it('GET /readyz is 503 when the readiness check throws', async () => {
    starter.readyImpl = async () => {
      throw new TemporalUnavailableError();
    };
    expect((await request('/readyz')).status).toBe(503);
  });

  it('GET /readyz is 503 when the readiness check does not answer in time', async () => {
    starter.readyImpl = () => new Promise<boolean>(() => undefined);
    const started = Date.now();
    expect((await request('/readyz')).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('GET /readyz is 503 when no webhook secret is configured', async () => {
    secrets = [];
    expect((await request('/readyz')).status).toBe(503);
  });
});

describe('routing', () => {
  it('answers an unknown route with 404 JSON', async () => {
    const res = await request('/nope');
    expect(res.status).toBe(404);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(res.json).toEqual({ error: 'not found' });
  });

  it('answers GET on the webhook path with 405', async () => {
    const res = await request('/webhooks/pagerduty');
    expect(res.status).toBe(405);
    expect(res.json).toEqual({ error: 'method not allowed' });
  });
});

describe('POST /webhooks/pagerduty: accepted deliveries', () => {
  it('starts triage for incident.triggered and answers 202 with the workflow id', async () => {
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'started', workflowId: `triage-${INCIDENT_ID}` });
    expect(starter.starts).toEqual([
      {
        incident: {
          id: INCIDENT_ID,
          number: 4711,
          title: 'checkout-api: 5xx rate above 5% for 10 minutes',
          urgency: 'high',
          serviceId: SERVICE_ID,
          serviceName: 'Checkout API',
          htmlUrl: `https://acme.pagerduty.com/incidents/${INCIDENT_ID}`,
          status: 'triggered',
        },
        eventId: '5ac64822-4adc-4fda-ade0-410becf0de4f',
        webhookId: WEBHOOK_ID,
      },
    ]);
  });

  it('starts triage for incident.reopened', async () => {
    starter.startImpl = async (req) => ({ workflowId: `triage-${req.incident.id}`, status: 'already-triaged' });
    const res = await postSigned(bodyOf(reopenedEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'already-triaged', workflowId: `triage-${INCIDENT_ID}` });
    expect(starter.starts).toHaveLength(1);
    expect(starter.starts[0]?.incident.status).toBe('acknowledged');
  });

  it('answers only once startTriage has resolved', async () => {
    let release!: (result: StartTriageResult) => void;
    starter.startImpl = () => new Promise<StartTriageResult>((resolve) => (release = resolve));
    let settled = false;
    const pending = postSigned(bodyOf(triggeredEnvelope())).then((res) => {
      settled = true;
      return res;
    });
    while (starter.starts.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    release({ workflowId: `triage-${INCIDENT_ID}`, status: 'already-running' });
    const res = await pending;
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'already-running', workflowId: `triage-${INCIDENT_ID}` });
  });

  it('signals incident.resolved and answers 202', async () => {
    const res = await postSigned(bodyOf(resolvedEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'signalled', workflowId: `triage-${INCIDENT_ID}` });
    expect(starter.resolves).toEqual([{ incidentId: INCIDENT_ID, eventId: 'c2d3e4f5-0a1b-4c2d-8e3f-4a5b6c7d8e9f' }]);
    expect(starter.starts).toHaveLength(0);
  });

  it('answers 202 for a resolve when no triage is running', async () => {
    starter.resolveImpl = async (req) => ({ workflowId: `triage-${req.incidentId}`, status: 'not-running' });
    const res = await postSigned(bodyOf(resolvedEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'not-running', workflowId: `triage-${INCIDENT_ID}` });
  });

  it('acknowledges pagey.ping without touching Temporal', async () => {
    const res = await postSigned(bodyOf(pingEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'ignored', eventType: 'pagey.ping' });
    expectNothingStarted();
  });

  it('acknowledges other event types without touching Temporal', async () => {
    const res = await postSigned(bodyOf(acknowledgedEnvelope()));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'ignored', eventType: 'incident.acknowledged' });
    expectNothingStarted();
  });

  it('reads the body as raw bytes whatever the content type says', async () => {
    const raw = bodyOf(triggeredEnvelope());
    const headers = { 'x-pagerduty-signature': signPagerDutyBody(raw, SECRET) };
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      expect((await postRaw(raw, { ...headers, 'content-type': contentType })).status).toBe(202);
    }
    expect(starter.starts).toHaveLength(3);
  });

  it('verifies the exact bytes: non-canonical JSON with unicode is accepted as sent', async () => {
    const raw = Buffer.from(
      JSON.stringify(triggeredEnvelope({ title: 'Düsseldorf ☃ — disk full' }), null, 3).replace(/\n/g, '\r\n'),
      'utf8',
    );
    const res = await postSigned(raw);
    expect(res.status).toBe(202);
    expect(starter.starts[0]?.incident.title).toBe('Düsseldorf ☃ — disk full');
  });

  it('does not pass on an X-Webhook-Id that is not a sane token', async () => {
    const res = await postSigned(bodyOf(triggeredEnvelope()), { headers: { 'x-webhook-id': 'x'.repeat(500) } });
    expect(res.status).toBe(202);
    expect(starter.starts[0]).not.toHaveProperty('webhookId');
  });

  it('gives all of 20 concurrent identical deliveries a 202 and hands each to the starter', async () => {
    const raw = bodyOf(triggeredEnvelope());
    let calls = 0;
    starter.startImpl = async (req) => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 10));
      return { workflowId: `triage-${req.incident.id}`, status: calls === 1 ? 'started' : 'already-running' };
    };
    const replies = await Promise.all(Array.from({ length: 20 }, () => postSigned(raw)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(replies.map((r) => r.json.workflowId))).toEqual(new Set([`triage-${INCIDENT_ID}`]));
    expect(starter.starts).toHaveLength(20);
    expect(new Set(starter.starts.map((s) => s.webhookId))).toEqual(new Set([WEBHOOK_ID]));
  });
});

describe('POST /webhooks/pagerduty: signatures and secret rotation', () => {
  it('accepts either secret while two are configured', async () => {
    secrets = [NEXT_SECRET, SECRET];
    expect((await postSigned(bodyOf(triggeredEnvelope()), { secret: SECRET })).status).toBe(202);
    expect((await postSigned(bodyOf(triggeredEnvelope()), { secret: NEXT_SECRET })).status).toBe(202);
  });

  it('accepts a header carrying two signatures when one matches', async () => {
    const raw = bodyOf(triggeredEnvelope());
    const signature = `${signPagerDutyBody(raw, 'pagerduty-new-secret')}, ${signPagerDutyBody(raw, SECRET)}`;
    expect((await postSigned(raw, { signature })).status).toBe(202);
  });

  it('re-reads the secrets on every request, so rotation needs no restart', async () => {
    const raw = bodyOf(triggeredEnvelope());
    expect((await postSigned(raw, { secret: NEXT_SECRET })).status).toBe(401);
    secrets = [NEXT_SECRET, SECRET];
    expect((await postSigned(raw, { secret: NEXT_SECRET })).status).toBe(202);
    secrets = [NEXT_SECRET];
    expect((await postSigned(raw, { secret: SECRET })).status).toBe(401);
    expect(starter.starts).toHaveLength(1);
  });
});

describe('POST /webhooks/pagerduty: rejected deliveries start nothing', () => {
  it('400 when the signature header is missing', async () => {
    const res = await postRaw(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'missing signature' });
    expectNothingStarted();
  });

  it('400 when the signature header is malformed, without echoing it', async () => {
    const res = await postSigned(bodyOf(triggeredEnvelope()), { signature: 'v1=not-hex-MARKER-IN-HEADER' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'malformed signature' });
    expect(res.text).not.toContain('MARKER');
    expectNothingStarted();
  });

  it('401 when signed with another secret', async () => {
    const res = await postSigned(bodyOf(triggeredEnvelope()), { secret: 'attacker-guess' });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid signature' });
    expectNothingStarted();
  });

  it('401 when one byte of the body changed after signing', async () => {
    const raw = bodyOf(triggeredEnvelope());
    const signature = signPagerDutyBody(raw, SECRET);
    const tampered = Buffer.from(raw.toString('utf8').replace('"number":4711', '"number":4712'), 'utf8');
    expect(tampered.length).toBe(raw.length);
    expect((await postSigned(tampered, { signature })).status).toBe(401);
    expectNothingStarted();
  });

  it('400 when a signed body is not JSON, without echoing it', async () => {
    const res = await postSigned('MARKER-IN-BODY this is not json');
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'body is not JSON' });
    expect(res.text).not.toContain('MARKER');
    expectNothingStarted();
  });

  it('400 when a signed, empty body is sent', async () => {
    const res = await postSigned(Buffer.alloc(0));
    expect(res.status).toBe(400);
    expectNothingStarted();
  });

  it('400 when a signed body is not a v3 envelope', async () => {
    const res = await postSigned(bodyOf({ messages: [{ event: 'incident.trigger', id: 'MARKER' }] }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'not a PagerDuty v3 webhook' });
    expectNothingStarted();
  });

  it('400 when a signed incident event lacks incident fields', async () => {
    const res = await postSigned(bodyOf(triggeredEnvelope({ id: '../MARKER', service: undefined })));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'incident fields missing or invalid' });
    expect(res.text).not.toContain('MARKER');
    expectNothingStarted();
  });

  it('413 when the body is over 256 KiB, before the signature is looked at', async () => {
    const raw = Buffer.alloc(WEBHOOK_BODY_LIMIT_BYTES + 1, 0x20);
    const res = await postSigned(raw);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: 'payload too large' });
    expect((await postRaw(raw)).status).toBe(413);
    expectNothingStarted();
  });

  it('accepts a body of exactly 256 KiB', async () => {
    const json = JSON.stringify(triggeredEnvelope());
    const raw = Buffer.from(json + ' '.repeat(WEBHOOK_BODY_LIMIT_BYTES - Buffer.byteLength(json)), 'utf8');
    expect(raw.length).toBe(WEBHOOK_BODY_LIMIT_BYTES);
    expect((await postSigned(raw)).status).toBe(202);
  });
});

describe('POST /webhooks/pagerduty: our own failures are 503, never 4xx', () => {
  it('503 when the starter reports Temporal unavailable', async () => {
    starter.startImpl = async () => {
      throw new TemporalUnavailableError('connect ECONNREFUSED 127.0.0.1:7233');
    };
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'temporarily unavailable' });
    expect(res.text).not.toContain('7233');
  });

  it('503 when the starter fails unexpectedly', async () => {
    starter.startImpl = async () => {
      throw new TypeError('boom');
    };
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'temporarily unavailable' });
  });

  it('503 when the resolve signal fails', async () => {
    starter.resolveImpl = async () => {
      throw new TemporalUnavailableError();
    };
    expect((await postSigned(bodyOf(resolvedEnvelope()))).status).toBe(503);
  });

  it('503 when the starter does not answer in time', async () => {
    starter.startImpl = () => new Promise<StartTriageResult>(() => undefined);
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(503);
    expect(parsedLogs().at(-1)).toMatchObject({ outcome: 'temporal-unavailable', statusCode: 503 });
  });

  it('503 when no secret is configured', async () => {
    secrets = [''];
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(503);
    expectNothingStarted();
  });

  it('503 when the secrets cannot be read', async () => {
    await stopGateway();
    await startGateway({
      secrets: () => {
        throw new Error('EACCES /var/run/secrets/pagerduty');
      },
    });
    const res = await postSigned(bodyOf(triggeredEnvelope()));
    expect(res.status).toBe(503);
    expect(res.text).not.toContain('EACCES');
    expectNothingStarted();
  });
});

describe('logging', () => {
  it('writes one structured line per webhook with the useful fields', async () => {
    await postSigned(bodyOf(triggeredEnvelope()));
    const webhookLines = parsedLogs().filter((l) => l.msg === 'pagerduty webhook');
    expect(webhookLines).toHaveLength(1);
    expect(webhookLines[0]).toMatchObject({
      level: 'info',
      eventType: 'incident.triggered',
      eventId: '5ac64822-4adc-4fda-ade0-410becf0de4f',
      incidentId: INCIDENT_ID,
      webhookId: WEBHOOK_ID,
      subscriptionId: SUBSCRIPTION_ID,
      workflowId: `triage-${INCIDENT_ID}`,
      outcome: 'started',
      statusCode: 202,
    });
    expect(typeof webhookLines[0]?.time).toBe('string');
    expect(typeof webhookLines[0]?.durationMs).toBe('number');
  });

  it('logs rejected deliveries at warn and failures at error', async () => {
    await postSigned(bodyOf(triggeredEnvelope()), { secret: 'wrong' });
    starter.startImpl = async () => {
      throw new TemporalUnavailableError();
    };
    await postSigned(bodyOf(triggeredEnvelope()));
    expect(parsedLogs().map((l) => [l.level, l.outcome, l.statusCode])).toEqual([
      ['warn', 'signature-mismatch', 401],
      ['error', 'temporal-unavailable', 503],
    ]);
  });
});

afterAll(() => {
  // Every signature any test sent, for every body shape it used.
  const signatureHexes = [triggeredEnvelope(), resolvedEnvelope(), pingEnvelope()].flatMap((e) =>
    [SECRET, NEXT_SECRET].map((s) => signPagerDutyBody(bodyOf(e), s).slice(3)),
  );
  for (const text of [...allResponseTexts, ...allLogLines]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(NEXT_SECRET);
    for (const hex of signatureHexes) expect(text).not.toContain(hex);
  }
  expect(allResponseTexts.length).toBeGreaterThan(40);
  expect(allLogLines.length).toBeGreaterThan(20);
});
