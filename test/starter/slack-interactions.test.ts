// Slack clicks through the real gateway: Express + Bolt over HTTP, requests
// built and signed here exactly as Slack sends them, a fake TriageClient in
// place of Temporal and a local server in place of Slack's response_url.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayApp, type SlackGatewayOptions } from '../../starter/gateway.js';
import { createJsonLogger } from '../../config/logger.js';
import { signPagerDutyBody } from '../../starter/pagerduty-signature.js';
import {
  TemporalUnavailableError,
  type DecideRequest,
  type DecideResult,
  type SignalResolvedResult,
  type StartTriageResult,
  type TriageClient,
} from '../../starter/triage-client.js';
import { bodyOf, INCIDENT_ID, triggeredEnvelope } from './fixtures.js';

const SIGNING_SECRET = 'slack-signing-secret-8f3e1c0b7d2a4e69';
const ROTATED_SECRET = 'slack-signing-secret-rotated-51aa07c3';
const PD_SECRET = 'pd-webhook-secret-for-slack-suite-0c9d';
const PLAN_HASH = createHash('sha256').update('write plan for Q2K4WX9PLM1B7Z').digest('hex');
const CHANNEL_ID = 'C0INCIDNT1';
const MESSAGE_TS = '1732698765.000200';
const APPROVER = 'U0ALICE';
const TRIGGER_ID = '8125436171.7204836812.2d6fa5fd83cbb06b2f1bd1aa5e4c9b8f';

interface Click {
  actionId?: string;
  userId?: string;
  value?: unknown;
  actionTs?: string;
  url?: string;
  container?: Record<string, unknown>;
}

/** A block_actions payload shaped as Slack sends it for a button on a bot message. */
function blockActions(click: Click = {}): Record<string, unknown> {
  const actionId = click.actionId ?? 'triage_approve';
  const action: Record<string, unknown> = {
    action_id: actionId,
    block_id: 'triage-decision',
    text: { type: 'plain_text', text: actionId === 'triage_reject' ? 'Reject' : 'Approve', emoji: true },
    value: 'value' in click ? click.value : JSON.stringify({ i: INCIDENT_ID, h: PLAN_HASH }),
    style: actionId === 'triage_reject' ? 'danger' : 'primary',
    type: 'button',
    action_ts: click.actionTs ?? '1732698790.512345',
  };
  if (click.url !== undefined) action.url = click.url;
  return {
    type: 'block_actions',
    user: { id: click.userId ?? APPROVER, username: 'alice', name: 'alice', team_id: 'T0SANDBOX' },
    api_app_id: 'A0TRIAGE1',
    token: 'legacyVerificationTokenNotUsed',
    container: click.container ?? { type: 'message', message_ts: MESSAGE_TS, channel_id: CHANNEL_ID, is_ephemeral: false },
    trigger_id: TRIGGER_ID,
    team: { id: 'T0SANDBOX', domain: 'acme' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: CHANNEL_ID, name: 'checkout-oncall' },
    message: {
      type: 'message',
      subtype: 'bot_message',
      text: 'Triage for PagerDuty #4711: checkout-api 5xx rate',
      ts: MESSAGE_TS,
      bot_id: 'B0TRIAGE1',
      blocks: [{ type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: '*checkout-api* 5xx rate', verbatim: true } }],
    },
    state: { values: {} },
    response_url: `${responseBaseUrl}/actions/T0SANDBOX/6281/${Math.random().toString(36).slice(2)}`,
    actions: [action],
  };
}

/** Slack's form encoding: one `payload` field holding the JSON. */
function formBody(payload: unknown): string {
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

// Computed here from Slack's documented basis string, not with the gateway's helper.
function slackSignature(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex')}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Reply {
  status: number;
  text: string;
  ms: number;
}

const allResponseTexts: string[] = [];
const allLogLines: string[] = [];
const allSignatures: string[] = [];
const allPostedTexts: string[] = [];

async function post(path: string, body: string, headers: Record<string, string>): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`${gatewayUrl}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  allResponseTexts.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, text, ms: performance.now() - started };
}

function sendSigned(
  payload: unknown,
  opts: { secret?: string; timestamp?: number | string; signature?: string; contentType?: string; body?: string } = {},
): Promise<Reply> {
  const body = opts.body ?? formBody(payload);
  const timestamp = opts.timestamp ?? nowSeconds();
  const signature = opts.signature ?? slackSignature(opts.secret ?? SIGNING_SECRET, timestamp, body);
  allSignatures.push(signature);
  return post('/slack/events', body, {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  });
}

class FakeStarter implements TriageClient {
  readonly decisions: DecideRequest[] = [];
  decideImpl = async (req: DecideRequest): Promise<DecideResult> => ({
    status: 'recorded',
    record: { decision: req.decision, approver: req.approver, planHash: req.planHash, at: '2025-11-27T09:20:00.000Z' },
  });

  decide(req: DecideRequest): Promise<DecideResult> {
    this.decisions.push(req);
    return this.decideImpl(req);
  }
  async startTriage(): Promise<StartTriageResult> {
    return { workflowId: `triage-${INCIDENT_ID}`, status: 'started' };
  }
  async signalResolved(): Promise<SignalResolvedResult> {
    return { workflowId: `triage-${INCIDENT_ID}`, status: 'signalled' };
  }
  async ready(): Promise<boolean> {
    return true;
  }
}

interface Posted {
  path: string;
  contentType: string | undefined;
  json: Record<string, unknown>;
}

let gateway: Server;
let gatewayUrl: string;
let responder: Server;
let responseBaseUrl: string;
let posted: Posted[];
let starter: FakeStarter;
let signingSecret: () => string;
let logLines: string[];

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

async function startGateway(slack: Partial<SlackGatewayOptions> | null = {}): Promise<void> {
  starter = new FakeStarter();
  signingSecret = () => SIGNING_SECRET;
  logLines = [];
  const app = createGatewayApp({
    secrets: () => [PD_SECRET],
    triage: starter,
    logger: createJsonLogger({
      write: (line) => {
        logLines.push(line);
        allLogLines.push(line);
      },
    }),
    readyTimeoutMs: 100,
    ...(slack === null ? {} : { slack: { ...slack, signingSecret: () => signingSecret() } }),
  });
  gateway = createServer(app);
  gatewayUrl = await listen(gateway);
}

beforeAll(async () => {
  responder = createServer((req, res) => {
    void readAll(req).then((text) => {
      allPostedTexts.push(text);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { unparsable: text };
      }
      posted.push({ path: req.url ?? '', contentType: req.headers['content-type'], json });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  responseBaseUrl = await listen(responder);
});

afterAll(async () => {
  await close(responder);
});

beforeEach(async () => {
  posted = [];
  await startGateway();
});

afterEach(async () => {
  await close(gateway);
});

async function waitFor(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function interactionLogs(): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'slack interaction');
}

function refusalLogs(): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'slack request refused');
}

/** Waits for the one interaction log line, which is written after any reply was posted. */
async function settled(count = 1): Promise<Record<string, unknown>> {
  await waitFor(`${count} interaction log line(s)`, () => interactionLogs().length >= count);
  return interactionLogs()[count - 1]!;
}

const expectedUpdateId = (actionId = 'triage_approve', userId = APPROVER) =>
  `slack:${CHANNEL_ID}:${MESSAGE_TS}:${userId}:${actionId}:${PLAN_HASH}`;

/** Lets the gateway finish anything it might still do for a refused request. */
const quietPeriod = () => new Promise((r) => setTimeout(r, 300));

describe('POST /slack/events: verified clicks become the decide Update', () => {
  it('approve: acks at once, then sends decide through the Slack channel with the clicker, the plan hash and a click-derived updateId', async () => {
    const reply = await sendSigned(blockActions());
    expect(reply.status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toEqual([
      {
        incidentId: INCIDENT_ID,
        channel: 'slack',
        decision: 'approve',
        approver: APPROVER,
        planHash: PLAN_HASH,
        updateId: expectedUpdateId(),
      },
    ]);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.path).toMatch(/^\/actions\/T0SANDBOX\/6281\//);
    expect(posted[0]!.contentType).toMatch(/^application\/json/);
    expect(posted[0]!.json).toEqual({ response_type: 'ephemeral', replace_original: false, text: `Recorded: approved by <@${APPROVER}>` });
    expect(log).toMatchObject({
      level: 'info',
      action: 'triage_approve',
      userId: APPROVER,
      incidentId: INCIDENT_ID,
      outcome: 'recorded',
      decision: 'approve',
      updateId: expectedUpdateId(),
    });
  });

  it('answers 200 well within 3 s while decide takes 5 s (ack first, work after)', async () => {
    starter.decideImpl = async (req) => {
      await new Promise((r) => setTimeout(r, 5_000));
      return { status: 'recorded', record: { ...req, at: '2025-11-27T09:20:00.000Z' } };
    };
    const reply = await sendSigned(blockActions());
    expect(reply.status).toBe(200);
    expect(reply.ms).toBeLessThan(3_000);
    expect(starter.decisions).toHaveLength(1);
    expect(posted).toHaveLength(0);
    await settled();
    expect(posted.map((p) => p.json.text)).toEqual([`Recorded: approved by <@${APPROVER}>`]);
  }, 20_000);

  it('reject: decision "reject", its own updateId', async () => {
    expect((await sendSigned(blockActions({ actionId: 'triage_reject' }))).status).toBe(200);
    await settled();
    expect(starter.decisions).toEqual([
      {
        incidentId: INCIDENT_ID,
        channel: 'slack',
        decision: 'reject',
        approver: APPROVER,
        planHash: PLAN_HASH,
        updateId: expectedUpdateId('triage_reject'),
      },
    ]);
    expect(posted[0]!.json.text).toBe(`Recorded: rejected by <@${APPROVER}>`);
  });

  it('ten concurrent deliveries of one click: ten 200s, ten decide calls, one updateId', async () => {
    const payload = blockActions();
    const replies = await Promise.all(Array.from({ length: 10 }, () => sendSigned(payload)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    await settled(10);
    expect(starter.decisions).toHaveLength(10);
    expect(new Set(starter.decisions.map((d) => d.updateId))).toEqual(new Set([expectedUpdateId()]));
  });

  it('a double click (a new action_ts) names the same Update; another button or another user does not', async () => {
    await sendSigned(blockActions({ actionTs: '1732698790.000001' }));
    await sendSigned(blockActions({ actionTs: '1732698790.400002' }));
    await sendSigned(blockActions({ actionId: 'triage_reject' }));
    await sendSigned(blockActions({ userId: 'U0BOB' }));
    await settled(4);
    expect(starter.decisions.map((d) => d.updateId)).toEqual([
      expectedUpdateId(),
      expectedUpdateId(),
      expectedUpdateId('triage_reject'),
      expectedUpdateId('triage_approve', 'U0BOB'),
    ]);
  });

  it('accepts the form body when a client adds ;charset=UTF-8 to the content type', async () => {
    const reply = await sendSigned(blockActions(), { contentType: 'application/x-www-form-urlencoded;charset=UTF-8' });
    expect(reply.status).toBe(200);
    await settled();
    expect(starter.decisions).toHaveLength(1);
  });

  it('accepts a timestamp a little ahead of our clock (NTP skew)', async () => {
    expect((await sendSigned(blockActions(), { timestamp: nowSeconds() + 30 })).status).toBe(200);
    await settled();
    expect(starter.decisions).toHaveLength(1);
  });
});

describe('POST /slack/events: refused requests change nothing', () => {
  async function expectUntouched(reply: Reply, outcome: string): Promise<void> {
    expect(reply.status).toBe(401);
    await quietPeriod();
    expect(starter.decisions).toHaveLength(0);
    expect(posted).toHaveLength(0);
    expect(interactionLogs()).toHaveLength(0);
    expect(refusalLogs()).toEqual([expect.objectContaining({ level: 'warn', outcome, statusCode: 401 })]);
  }

  it('401 for a bad signature', async () => {
    const signature = `v0=${'0'.repeat(64)}`;
    await expectUntouched(await sendSigned(blockActions(), { signature }), 'signature-invalid');
  });

  it('401 when signed with another secret', async () => {
    await expectUntouched(await sendSigned(blockActions(), { secret: 'not-the-signing-secret' }), 'signature-invalid');
  });

  it('401 when the body was changed after signing', async () => {
    const body = formBody(blockActions());
    const signature = slackSignature(SIGNING_SECRET, nowSeconds(), body);
    const tampered = formBody(blockActions({ userId: 'U0MALLORY' }));
    await expectUntouched(await sendSigned(undefined, { body: tampered, signature }), 'signature-invalid');
  });

  it('401 for a correctly signed request whose timestamp is 6 minutes old', async () => {
    await expectUntouched(await sendSigned(blockActions(), { timestamp: nowSeconds() - 6 * 60 }), 'timestamp-expired');
  });

  it('401 for a correctly signed request whose timestamp is 5 minutes in the future', async () => {
    await expectUntouched(await sendSigned(blockActions(), { timestamp: nowSeconds() + 5 * 60 }), 'timestamp-future');
  });

  it('401 without signature headers', async () => {
    const reply = await post('/slack/events', formBody(blockActions()), { 'content-type': 'application/x-www-form-urlencoded' });
    await expectUntouched(reply, 'timestamp-missing');
  });

  it('401 for a timestamp that is not whole seconds', async () => {
    await expectUntouched(await sendSigned(blockActions(), { timestamp: `${nowSeconds()}.5` }), 'timestamp-malformed');
  });

  it('405 for GET', async () => {
    const res = await fetch(`${gatewayUrl}/slack/events`);
    expect(res.status).toBe(405);
  });
});

describe('POST /slack/events: outcomes told to the clicker only', () => {
  it('refused: an ephemeral "Not recorded" with the reason, via response_url', async () => {
    starter.decideImpl = async () => ({ status: 'refused', reason: 'U0MALLORY is not an approver for this service' });
    expect((await sendSigned(blockActions({ userId: 'U0MALLORY' }))).status).toBe(200);
    const log = await settled();
    expect(posted.map((p) => p.json)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: 'Not recorded: U0MALLORY is not an approver for this service' },
    ]);
    expect(log).toMatchObject({
      level: 'info',
      outcome: 'refused',
      userId: 'U0MALLORY',
      incidentId: INCIDENT_ID,
      reason: 'U0MALLORY is not an approver for this service',
    });
  });

  it('a refusal reason cannot turn into a mention or a link', async () => {
    starter.decideImpl = async () => ({ status: 'refused', reason: 'stale plan <!channel> <https://evil.example|here> & more' });
    await sendSigned(blockActions());
    await settled();
    expect(posted[0]!.json.text).toBe('Not recorded: stale plan &lt;!channel&gt; &lt;https://evil.example|here&gt; &amp; more');
  });

  it.each([
    ['not JSON', 'approve-please'],
    ['a bad plan hash', JSON.stringify({ i: INCIDENT_ID, h: 'abc123' })],
    ['an upper-case plan hash', JSON.stringify({ i: INCIDENT_ID, h: PLAN_HASH.toUpperCase() })],
    ['a bad incident id', JSON.stringify({ i: '../../etc/passwd', h: PLAN_HASH })],
    ['a missing field', JSON.stringify({ i: INCIDENT_ID })],
    ['no value at all', undefined],
    ['an over-long value', JSON.stringify({ i: INCIDENT_ID, h: PLAN_HASH, pad: 'x'.repeat(2100) })],
  ])('malformed value (%s): an ephemeral explanation, no Update', async (_name, value) => {
    expect((await sendSigned(blockActions({ value }))).status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.json).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(posted[0]!.json.text).toMatch(/^Not recorded: /);
    expect(log).toMatchObject({ level: 'warn', outcome: 'malformed-value', action: 'triage_approve', userId: APPROVER });
  });

  it('an unknown action: an ephemeral explanation, no Update', async () => {
    expect((await sendSigned(blockActions({ actionId: 'triage_snooze' }))).status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted.map((p) => p.json.text)).toEqual([expect.stringMatching(/^Not recorded: this button is not one/)]);
    expect(log).toMatchObject({ outcome: 'unknown-action', action: 'triage_snooze' });
  });

  it('a link button (PagerDuty, Web UI): acknowledged, nothing said, no Update', async () => {
    const reply = await sendSigned(
      blockActions({ actionId: 'open_pagerduty', url: 'https://acme.pagerduty.com/incidents/Q2K4WX9PLM1B7Z', value: undefined }),
    );
    expect(reply.status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted).toHaveLength(0);
    expect(log).toMatchObject({ level: 'info', outcome: 'link-opened' });
  });

  it('a click that is not on a message (no channel or ts): explained, no Update', async () => {
    const payload = blockActions({ container: { type: 'view', view_id: 'V0123' } });
    delete payload.channel;
    delete payload.message;
    await sendSigned(payload);
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted.map((p) => p.json.text)).toEqual([expect.stringMatching(/^Not recorded: /)]);
    expect(log).toMatchObject({ outcome: 'malformed-payload', incidentId: INCIDENT_ID });
  });

  it.each([
    ['no action', (payload: Record<string, unknown>) => (payload.actions = [])],
    [
      'two actions',
      (payload: Record<string, unknown>) => (payload.actions = [...(payload.actions as unknown[]), ...(payload.actions as unknown[])]),
    ],
    [
      'an action id that is not a string',
      (payload: Record<string, unknown>) => ((payload.actions as Array<Record<string, unknown>>)[0]!.action_id = 42),
    ],
  ])('a click with %s: explained, no Update, never routed by Bolt', async (_name, mangle) => {
    const payload = blockActions();
    mangle(payload);
    expect((await sendSigned(payload)).status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted.map((p) => p.json.text)).toEqual([expect.stringMatching(/^Not recorded: /)]);
    expect(log).toMatchObject({ level: 'warn', outcome: 'malformed-payload', userId: APPROVER });
  });

  it('an unreadable user id: explained, no Update', async () => {
    await sendSigned(blockActions({ userId: 'u-alice; drop table' }));
    const log = await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(posted.map((p) => p.json.text)).toEqual([expect.stringMatching(/^Not recorded: /)]);
    expect(log).toMatchObject({ outcome: 'malformed-payload' });
    expect(log.userId).toBeUndefined();
  });

  it('Temporal unreachable: still 200, then an ephemeral "try again"', async () => {
    starter.decideImpl = async () => {
      throw new TemporalUnavailableError('Temporal did not answer the decision');
    };
    expect((await sendSigned(blockActions())).status).toBe(200);
    const log = await settled();
    expect(posted.map((p) => p.json)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: 'Could not reach the triage service; try again.' },
    ]);
    expect(log).toMatchObject({ level: 'error', outcome: 'temporal-unavailable', updateId: expectedUpdateId() });
  });

  it('a decide that never answers: "try again" after the timeout', async () => {
    await close(gateway);
    await startGateway({ decideTimeoutMs: 200 });
    starter.decideImpl = () => new Promise<never>(() => undefined);
    expect((await sendSigned(blockActions())).status).toBe(200);
    const log = await settled();
    expect(posted.map((p) => p.json.text)).toEqual(['Could not reach the triage service; try again.']);
    expect(log).toMatchObject({ outcome: 'temporal-unavailable' });
  });

  it('an unexpected starter failure: also "try again", never a 5xx', async () => {
    starter.decideImpl = async () => {
      throw new Error('boom');
    };
    expect((await sendSigned(blockActions())).status).toBe(200);
    const log = await settled();
    expect(posted.map((p) => p.json.text)).toEqual(['Could not reach the triage service; try again.']);
    expect(log).toMatchObject({ level: 'error', outcome: 'decide-failed' });
  });

  it('a response_url that fails is logged, and the click was still decided', async () => {
    const payload = blockActions();
    payload.response_url = 'http://127.0.0.1:9/unreachable';
    expect((await sendSigned(payload)).status).toBe(200);
    const log = await settled();
    expect(starter.decisions).toHaveLength(1);
    expect(log).toMatchObject({ outcome: 'recorded', respondError: expect.any(String) });
  });

  it('other interaction types are acknowledged and ignored', async () => {
    const shortcut = {
      type: 'shortcut',
      callback_id: 'triage',
      trigger_id: TRIGGER_ID,
      user: { id: APPROVER },
      team: { id: 'T0SANDBOX' },
      token: 'x',
    };
    const reply = await sendSigned(shortcut);
    expect(reply.status).toBe(200);
    expect(reply.ms).toBeLessThan(2_000);
    await settled();
    expect(starter.decisions).toHaveLength(0);
    expect(interactionLogs()[0]).toMatchObject({ payloadType: 'shortcut', outcome: 'ignored' });
  });
});

describe('signing secret', () => {
  it('is re-read per request: after rotation the new secret is accepted and the old one refused', async () => {
    signingSecret = () => ROTATED_SECRET;
    expect((await sendSigned(blockActions(), { secret: SIGNING_SECRET })).status).toBe(401);
    expect((await sendSigned(blockActions(), { secret: ROTATED_SECRET })).status).toBe(200);
    await settled();
    expect(starter.decisions).toHaveLength(1);
  });

  it('unreadable: 503, not ready, nothing decided', async () => {
    signingSecret = () => {
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    };
    const reply = await sendSigned(blockActions());
    expect(reply.status).toBe(503);
    expect((await fetch(`${gatewayUrl}/readyz`)).status).toBe(503);
    await quietPeriod();
    expect(starter.decisions).toHaveLength(0);
    expect(refusalLogs()).toEqual([expect.objectContaining({ level: 'error', outcome: 'signing-secret-unavailable', statusCode: 503 })]);
  });

  it('empty: 503 as well, never an HMAC keyed with ""', async () => {
    signingSecret = () => '';
    expect((await sendSigned(blockActions(), { secret: '' })).status).toBe(503);
    await quietPeriod();
    expect(starter.decisions).toHaveLength(0);
  });
});

describe('without Slack configured', () => {
  beforeEach(async () => {
    await close(gateway);
    await startGateway(null);
  });

  it('/slack/events is 404 and the PagerDuty webhook keeps working', async () => {
    const reply = await sendSigned(blockActions());
    expect(reply.status).toBe(404);
    expect(starter.decisions).toHaveLength(0);
    const body = bodyOf(triggeredEnvelope());
    const pd = await post('/webhooks/pagerduty', body.toString('utf8'), {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDutyBody(body, PD_SECRET),
    });
    expect(pd.status).toBe(202);
  });
});

describe('with Slack configured, the PagerDuty webhook is unchanged', () => {
  it('still starts triage', async () => {
    const body = bodyOf(triggeredEnvelope());
    const pd = await post('/webhooks/pagerduty', body.toString('utf8'), {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDutyBody(body, PD_SECRET),
    });
    expect(pd.status).toBe(202);
  });
});

afterAll(() => {
  const hexes = allSignatures.map((s) => s.slice(3)).filter((h) => h !== '0'.repeat(64));
  for (const text of [...allResponseTexts, ...allLogLines, ...allPostedTexts]) {
    expect(text).not.toContain(SIGNING_SECRET);
    expect(text).not.toContain(ROTATED_SECRET);
  }
  for (const line of allLogLines) {
    for (const hex of hexes) expect(line).not.toContain(hex);
    // No raw payload: neither the form field, the trigger id, nor the response URL.
    expect(line).not.toContain('payload=');
    expect(line).not.toContain(TRIGGER_ID);
    expect(line).not.toContain('/actions/T0SANDBOX/');
    expect(line).not.toContain('legacyVerificationTokenNotUsed');
  }
  expect(allLogLines.length).toBeGreaterThan(30);
  // Every request above was handled by our code paths, none fell through to Bolt's error logging.
  expect(allLogLines.filter((l) => l.includes('"slack bolt error"') || l.includes('"slack listener failed"'))).toEqual([]);
});
