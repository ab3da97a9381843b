// Clicks, as Slack delivers them: the emulator signs a block_actions request and
// a real Bolt app verifies it, handles it, and answers through response_url.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bolt from '@slack/bolt';
import type { BlockButtonAction } from '@slack/bolt';
import type { SlackEmulator } from '../../../sandbox/emulators/slack.js';
import { approvalCard, BOT_TOKEN, eventually, SIGNING_SECRET, silentLogger, slackEmulator, webClient } from './slack-fixtures.js';

const { App, ExpressReceiver } = bolt;

let slack: SlackEmulator;
let app: InstanceType<typeof App>;
let server: Server;
let gatewayUrl: string;
const seen: BlockButtonAction[] = [];
const verificationFailures: string[] = [];

beforeAll(async () => {
  slack = await slackEmulator();
  // Bolt logs why it refused a request; the tests read that to know the 401 came from verification.
  const logger = { ...silentLogger, warn: (...args: unknown[]) => void verificationFailures.push(args.map(String).join(' ')) };
  const receiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, logger });
  app = new App({
    receiver,
    token: BOT_TOKEN,
    // Bolt checks its token with auth.test on start: against the emulator.
    clientOptions: { slackApiUrl: `${slack.url}/api/` },
    logger,
  });
  app.action<BlockButtonAction>('triage_approve', async ({ ack, body, respond }) => {
    await ack();
    seen.push(body);
    await respond({ response_type: 'ephemeral', replace_original: false, text: `Thanks <@${body.user.id}>, noted.` });
  });
  app.action<BlockButtonAction>('triage_reject', async ({ ack, body, respond }) => {
    await ack();
    seen.push(body);
    await respond({
      replace_original: true,
      text: 'Rejected',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Rejected* by <@${body.user.id}>` } }],
    });
  });
  app.action<BlockButtonAction>('announce', async ({ ack, body, respond }) => {
    await ack();
    seen.push(body);
    await respond({ response_type: 'in_channel', text: `${body.user.name} announced it` });
  });
  server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  slack.setGatewayUrl(gatewayUrl);
});
afterAll(async () => {
  await app.stop();
  await slack.close();
});
beforeEach(() => {
  seen.length = 0;
});

async function postCard(channel = '#checkout-oncall') {
  const res = await webClient(slack.url).chat.postMessage({ channel, ...approvalCard() });
  return { channel: res.channel!, ts: res.ts! };
}

async function click(body: Record<string, unknown>) {
  const res = await fetch(`${slack.url}/_sandbox/click`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a click reaches Bolt as Slack sends it: the user, the button, the message; respond() lands as an ephemeral', async () => {
  const card = await postCard();
  const res = await click({ channel: card.channel, ts: card.ts, actionId: 'triage_approve', userId: 'U0ALICE' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 200, body: '', actionTs: expect.stringMatching(/^\d{10}\.\d{6}$/) });

  const body = await eventually(() => seen[0]);
  expect(body).toMatchObject({
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0SANDBOX' },
    api_app_id: 'A0TRIAGEAPP',
    team: { id: 'T0SANDBOX', domain: 'keyless-sandbox' },
    channel: { id: card.channel, name: 'checkout-oncall' },
    container: { type: 'message', message_ts: card.ts, channel_id: card.channel, is_ephemeral: false },
    message: { type: 'message', ts: card.ts, bot_id: 'B0TRIAGEBOT', text: approvalCard().text },
  });
  expect(body.token).toEqual(expect.any(String));
  expect(body.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
  expect(body.response_url).toMatch(new RegExp(`^${slack.url}/_sandbox/response/[A-Za-z0-9]{32}$`));
  expect(body.actions).toEqual([
    {
      action_id: 'triage_approve',
      block_id: 'triage_decision',
      text: { type: 'plain_text', text: 'Approve' },
      value: 'approve:plan-hash-1',
      style: 'primary',
      type: 'button',
      action_ts: res.body.actionTs,
    },
  ]);
  // The message carries its blocks, so the app can read the card it is deciding on.
  expect(body.message?.blocks).toEqual(slack.messages(card.channel).find((m) => m.ts === card.ts)?.blocks);

  const ephemeral = await eventually(() => slack.ephemerals('U0ALICE').find((e) => e.text === 'Thanks <@U0ALICE>, noted.'));
  expect(ephemeral).toMatchObject({ user: 'U0ALICE', channel: card.channel });
  expect(slack.ephemerals('U0MALLORY').some((e) => e.text.includes('noted'))).toBe(false);
  expect(slack.interactions.at(-1)).toMatchObject({
    userId: 'U0ALICE',
    channel: card.channel,
    messageTs: card.ts,
    actionId: 'triage_approve',
    status: 200,
  });
});

test.each([
  ['a forged signature', { badSignature: true }, 'Signature mismatch'],
  ['a timestamp ten minutes old', { timestampOffsetSeconds: -600 }, 'Timestamp is too old'],
])('%s: Bolt answers 401 and the handler never runs', async (_what, extra, reason) => {
  const card = await postCard();
  const before = verificationFailures.length;
  const res = await click({ channel: card.channel, ts: card.ts, actionId: 'triage_approve', userId: 'U0BOB', ...extra });
  expect(res.status).toBe(401);
  expect(res.body.status).toBe(401);
  await new Promise((r) => setTimeout(r, 100));
  expect(seen).toHaveLength(0);
  expect(verificationFailures.slice(before).join('\n')).toContain(reason);
});

test('a click dated ten minutes ahead passes Bolt alone: the gateway must refuse future timestamps itself', async () => {
  const card = await postCard();
  const res = await click({ channel: card.channel, ts: card.ts, actionId: 'triage_approve', userId: 'U0BOB', timestampOffsetSeconds: 600 });
  expect(res.status).toBe(200);
  await eventually(() => seen[0]);
});

test('respond({ replace_original }) replaces the card; response_type in_channel posts to the channel', async () => {
  const card = await postCard();
  expect((await click({ channel: card.channel, ts: card.ts, actionId: 'triage_reject', userId: 'U0BOB' })).status).toBe(200);
  const replaced = await eventually(() => slack.messages(card.channel).find((m) => m.ts === card.ts && m.text === 'Rejected'));
  expect(replaced.blocks).toEqual([expect.objectContaining({ type: 'section', text: { type: 'mrkdwn', text: '*Rejected* by <@U0BOB>' } })]);

  const posted = await webClient(slack.url).chat.postMessage({
    channel: '#incidents',
    text: 'note',
    blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'announce', text: { type: 'plain_text', text: 'Announce' } }] }],
  });
  expect((await click({ channel: 'incidents', ts: posted.ts, actionId: 'announce', userId: 'U0MALLORY' })).status).toBe(200);
  await eventually(() => slack.messages('incidents').find((m) => m.text === 'mallory announced it'));
});

describe('clicks that cannot be delivered', () => {
  test.each([
    ['an unknown user', { userId: 'U0NOBODY' }, 404],
    ['an unknown channel', { channel: 'C0NOPE00000' }, 404],
    ['an unknown message', { ts: '1111111111.000001' }, 404],
    ['a button the message does not have', { actionId: 'triage_escalate' }, 404],
    ['a malformed offset', { timestampOffsetSeconds: 1.5 }, 400],
  ])('%s → %s', async (_what, over, status) => {
    const card = await postCard();
    const res = await click({ channel: card.channel, ts: card.ts, actionId: 'triage_approve', userId: 'U0ALICE', ...over });
    expect(res.status).toBe(status);
    expect(res.body.error).toEqual(expect.any(String));
    expect(seen).toHaveLength(0);
  });

  test('a body that is not the click shape → 400', async () => {
    const res = await fetch(`${slack.url}/_sandbox/click`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'x' }),
    });
    expect(res.status).toBe(400);
  });
});

describe('against a recording app', () => {
  let recorder: Server;
  let recorderUrl: string;
  let delayMs = 0;
  const requests: { headers: IncomingMessage['headers']; body: string; path: string }[] = [];

  beforeAll(async () => {
    recorder = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        requests.push({ headers: req.headers, body, path: req.url ?? '' });
        setTimeout(() => res.writeHead(200).end(), delayMs);
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    recorder.closeAllConnections();
    await new Promise((resolve) => recorder.close(resolve));
  });

  test('the request is form-encoded payload=…, signed v0 over "v0:<timestamp>:<raw body>"', async () => {
    const other = await slackEmulator({ gatewayUrl: `${recorderUrl}/` });
    try {
      const posted = await webClient(other.url).chat.postMessage({ channel: '#checkout-oncall', ...approvalCard() });
      const before = Math.floor(Date.now() / 1000);
      const result = await other.click({ channel: 'checkout-oncall', ts: posted.ts!, actionId: 'triage_approve', userId: 'U0ALICE' });
      expect(result).toMatchObject({ delivered: true, status: 200 });
      const got = requests.at(-1)!;
      expect(got.path).toBe('/slack/events');
      expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded');
      const timestamp = got.headers['x-slack-request-timestamp'] as string;
      expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
      const expected = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${got.body}`).digest('hex')}`;
      expect(got.headers['x-slack-signature']).toBe(expected);
      expect(got.body.startsWith('payload=')).toBe(true);
      const payload = JSON.parse(new URLSearchParams(got.body).get('payload')!) as { type: string };
      expect(payload.type).toBe('block_actions');
    } finally {
      await other.close();
    }
  });

  test('a button on an ephemeral message: only its user can click it, and the payload says is_ephemeral', async () => {
    const other = await slackEmulator({ gatewayUrl: recorderUrl });
    try {
      const { message_ts: ts } = await webClient(other.url).chat.postEphemeral({
        channel: '#checkout-oncall',
        user: 'U0BOB',
        text: 'Retry?',
        blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'retry', text: { type: 'plain_text', text: 'Retry' } }] }],
      });
      expect((await other.click({ channel: 'checkout-oncall', ts: ts!, actionId: 'retry', userId: 'U0ALICE' })).status).toBe(404);
      expect(await other.click({ channel: 'checkout-oncall', ts: ts!, actionId: 'retry', userId: 'U0BOB' })).toMatchObject({
        delivered: true,
        status: 200,
      });
      const payload = JSON.parse(new URLSearchParams(requests.at(-1)!.body).get('payload')!) as Record<string, unknown>;
      expect(payload.container).toMatchObject({ message_ts: ts, is_ephemeral: true });
      expect(payload).not.toHaveProperty('message');
      // An actions block without a block_id gets one, and it is the one in the payload.
      expect((payload.actions as { block_id: string }[])[0]?.block_id).toEqual(expect.any(String));
    } finally {
      await other.close();
    }
  });

  test('response_url: works five times within thirty minutes, then expired_url; unknown ids are 404', async () => {
    let nowMs = Date.now();
    const other = await slackEmulator({ gatewayUrl: recorderUrl, now: () => nowMs });
    try {
      const posted = await webClient(other.url).chat.postMessage({ channel: '#checkout-oncall', ...approvalCard() });
      const first = await other.click({ channel: 'checkout-oncall', ts: posted.ts!, actionId: 'triage_approve', userId: 'U0ALICE' });
      const second = await other.click({ channel: 'checkout-oncall', ts: posted.ts!, actionId: 'triage_approve', userId: 'U0ALICE' });
      if (!first.delivered || !second.delivered) throw new Error('not delivered');
      const send = (url: string, body: unknown) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      for (let i = 1; i <= 5; i++) {
        const res = await send(first.responseUrl, { text: `answer ${i}` });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ ok: true });
      }
      const sixth = await send(first.responseUrl, { text: 'answer 6' });
      expect(sixth.status).toBe(404);
      expect(await sixth.json()).toEqual({ ok: false, error: 'expired_url' });
      expect(other.ephemerals('U0ALICE').map((e) => e.text)).toEqual(['answer 1', 'answer 2', 'answer 3', 'answer 4', 'answer 5']);

      nowMs += 31 * 60_000;
      expect((await send(second.responseUrl, { text: 'late' })).status).toBe(404);
      expect((await send(`${other.url}/_sandbox/response/nope`, { text: 'x' })).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  test('response_url refuses what chat.postMessage refuses, and delete_original removes the card', async () => {
    const other = await slackEmulator({ gatewayUrl: recorderUrl });
    try {
      const posted = await webClient(other.url).chat.postMessage({ channel: '#checkout-oncall', ...approvalCard() });
      const result = await other.click({ channel: 'checkout-oncall', ts: posted.ts!, actionId: 'triage_approve', userId: 'U0ALICE' });
      if (!result.delivered) throw new Error('not delivered');
      const send = (body: unknown) =>
        fetch(result.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const invalid = await send({ text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
      expect((await send({})).status).toBe(400);
      expect((await send({ delete_original: true })).status).toBe(200);
      expect(other.messages('checkout-oncall').some((m) => m.ts === posted.ts)).toBe(false);
    } finally {
      await other.close();
    }
  });

  test("an app slower than Slack's 3 s (here 200 ms) → 504 operation_timeout; no app → 502; none configured → 409", async () => {
    const other = await slackEmulator({ gatewayUrl: recorderUrl, interactivityTimeoutMs: 200 });
    try {
      const posted = await webClient(other.url).chat.postMessage({ channel: '#checkout-oncall', ...approvalCard() });
      const input = { channel: 'checkout-oncall', ts: posted.ts!, actionId: 'triage_approve', userId: 'U0ALICE' };
      delayMs = 500;
      expect(await other.click(input)).toMatchObject({
        delivered: false,
        status: 504,
        error: expect.stringContaining('operation_timeout'),
      });
      delayMs = 0;
      other.setGatewayUrl('http://127.0.0.1:9');
      expect(await other.click(input)).toMatchObject({ delivered: false, status: 502 });
      other.setGatewayUrl(undefined);
      expect(await other.click(input)).toMatchObject({ delivered: false, status: 409 });
      // The stack can point it at the gateway later.
      const set = await fetch(`${other.url}/_sandbox/gateway-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: recorderUrl }),
      });
      expect(await set.json()).toEqual({ gatewayUrl: recorderUrl });
      expect(await other.click(input)).toMatchObject({ delivered: true, status: 200 });
    } finally {
      delayMs = 0;
      await other.close();
    }
  });
});
