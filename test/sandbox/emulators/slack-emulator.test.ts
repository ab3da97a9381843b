// The Slack Web API emulator, driven by the real @slack/web-api client: every
// method the triage app uses, Slack's auth and Block Kit refusals, and 429s.
import { request as httpRequest } from 'node:http';
import { ErrorCode, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import type { SlackEmulator } from '../../../sandbox/emulators/slack.js';
import { approvalCard, BOT_TOKEN, slackEmulator, USERS, webClient } from './slack-fixtures.js';

let slack: SlackEmulator;

beforeAll(async () => {
  slack = await slackEmulator();
});
afterAll(() => slack.close());
afterEach(() => slack.setFault(null));

async function platformError(call: Promise<unknown>): Promise<WebAPIPlatformError> {
  try {
    await call;
  } catch (err) {
    expect((err as WebAPIPlatformError).code).toBe(ErrorCode.PlatformError);
    return err as WebAPIPlatformError;
  }
  throw new Error('the call succeeded');
}

async function raw(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(`${slack.url}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as any,
  };
}

describe('auth', () => {
  test('auth.test names the bot, its team and its scopes', async () => {
    const res = await webClient(slack.url).auth.test();
    expect(res).toMatchObject({
      ok: true,
      url: `${slack.url}/`,
      team_id: 'T0SANDBOX',
      user_id: 'U0TRIAGEBOT',
      bot_id: 'B0TRIAGEBOT',
      user: 'keyless-triage',
    });
    expect(res.response_metadata?.scopes).toEqual(['chat:write', 'channels:read']);
  });

  test('no token → not_authed, a wrong token → invalid_auth, both with HTTP 200 as Slack answers', async () => {
    expect((await platformError(webClient(slack.url, null).auth.test())).data.error).toBe('not_authed');
    expect(
      (await platformError(webClient(slack.url, 'xoxb-wrong').chat.postMessage({ channel: '#incidents', text: 'hi' }))).data.error,
    ).toBe('invalid_auth');
    const res = await raw('/api/auth.test', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}x` } });
    expect(res).toMatchObject({ status: 200, body: { ok: false, error: 'invalid_auth' } });
    // Tokens only in the header: a token in the form body is not a credential here.
    const inBody = await raw('/api/auth.test', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${BOT_TOKEN}`,
    });
    expect(inBody.body).toEqual({ ok: false, error: 'not_authed' });
  });
});

describe('conversations', () => {
  test('conversations.list pages with next_cursor; WebClient.paginate walks them', async () => {
    const client = webClient(slack.url);
    const first = await client.conversations.list({ limit: 1 });
    expect(first.channels?.map((c) => c.name)).toEqual(['checkout-oncall']);
    expect(first.response_metadata?.next_cursor).toMatch(/^[A-Za-z0-9+/=]+$/);
    const second = await client.conversations.list({ limit: 1, cursor: first.response_metadata!.next_cursor! });
    expect(second.channels?.map((c) => c.name)).toEqual(['incidents']);
    expect(second.response_metadata?.next_cursor).toBe('');

    const names: string[] = [];
    for await (const page of client.paginate('conversations.list', {
      types: 'public_channel,private_channel',
      exclude_archived: true,
      limit: 1,
    })) {
      names.push(...(page as unknown as { channels: { name: string }[] }).channels.map((c) => c.name));
    }
    expect(names).toEqual(['checkout-oncall', 'incidents']);
    expect(first.channels?.[0]).toMatchObject({
      id: slack.channelId('checkout-oncall'),
      is_channel: true,
      is_private: false,
      is_archived: false,
      is_member: true,
    });
  });

  test('conversations.list: other types list nothing; bad types, limits and cursors are refused', async () => {
    const client = webClient(slack.url);
    expect((await client.conversations.list({ types: 'private_channel,im' })).channels).toEqual([]);
    expect((await platformError(client.conversations.list({ types: 'public_channel,bogus' }))).data.error).toBe('invalid_types');
    expect((await platformError(client.conversations.list({ limit: 1001 }))).data.error).toBe('invalid_limit');
    expect((await platformError(client.conversations.list({ cursor: 'bm9wZQ==' }))).data.error).toBe('invalid_cursor');
  });

  test('conversations.* also answer GET with a query string', async () => {
    const res = await raw(`/api/conversations.info?channel=${slack.channelId('incidents')}`, {
      headers: { authorization: `Bearer ${BOT_TOKEN}` },
    });
    expect(res.body).toMatchObject({ ok: true, channel: { id: slack.channelId('incidents'), name: 'incidents' } });
    // Writes are POST only.
    const get = await raw('/api/chat.postMessage?channel=incidents&text=hi', { headers: { authorization: `Bearer ${BOT_TOKEN}` } });
    expect(get.status).toBe(405);
  });

  test('conversations.info takes an id; a name or an unknown id is channel_not_found', async () => {
    const client = webClient(slack.url);
    const res = await client.conversations.info({ channel: slack.channelId('incidents') });
    expect(res.channel).toMatchObject({ id: slack.channelId('incidents'), name: 'incidents', is_member: true });
    expect((await platformError(client.conversations.info({ channel: 'incidents' }))).data.error).toBe('channel_not_found');
    expect((await platformError(client.conversations.info({ channel: 'C0NOPE00000' }))).data.error).toBe('channel_not_found');
  });
});

describe('chat', () => {
  test('chat.postMessage by name or id: increasing ts, the stored message, generated block ids', async () => {
    const client = webClient(slack.url, BOT_TOKEN, { headers: { 'x-triage-id': 'triage-Q1CHECKOUT1' } });
    const card = approvalCard();
    const a = await client.chat.postMessage({ channel: '#checkout-oncall', ...card });
    const b = await client.chat.postMessage({ channel: slack.channelId('checkout-oncall'), text: 'second' });
    const c = await client.chat.postMessage({ channel: 'checkout-oncall', text: 'third' });
    expect(a).toMatchObject({
      ok: true,
      channel: slack.channelId('checkout-oncall'),
      message: { type: 'message', bot_id: 'B0TRIAGEBOT', text: card.text },
    });
    for (const r of [a, b, c]) expect(r.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(a.ts! < b.ts! && b.ts! < c.ts!).toBe(true);
    // Slack fills in block_id where the app left it out; given ones are kept.
    const blocks = a.message!.blocks!;
    expect(blocks.every((bl) => typeof bl.block_id === 'string' && bl.block_id.length > 0)).toBe(true);
    expect(blocks[4]?.block_id).toBe('triage_decision');

    const stored = slack.messages(slack.channelId('checkout-oncall')).find((m) => m.ts === a.ts);
    expect(stored?.blocks).toEqual(blocks);
    expect(slack.requestLog.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/chat.postMessage',
      status: 200,
      triageId: 'triage-Q1CHECKOUT1',
    });
  });

  test("blocks without text are posted with Slack's missing_text warning", async () => {
    const res = await webClient(slack.url).chat.postMessage({ channel: '#incidents', text: '', blocks: [{ type: 'divider' }] });
    expect(res).toMatchObject({ ok: true, warning: 'missing_text' });
  });

  test('thread replies: under their parent, a reply ts names the same thread; an unknown parent is refused', async () => {
    const client = webClient(slack.url);
    const parent = await client.chat.postMessage({ channel: '#incidents', text: 'parent' });
    const r1 = await client.chat.postMessage({ channel: '#incidents', text: 'reply 1', thread_ts: parent.ts! });
    await client.chat.postMessage({ channel: '#incidents', text: 'reply 2', thread_ts: r1.ts! });
    const top = slack.messages('incidents').find((m) => m.ts === parent.ts)!;
    expect(top).toMatchObject({ thread_ts: parent.ts, reply_count: 2 });
    expect(top.replies.map((r) => [r.text, r.thread_ts])).toEqual([
      ['reply 1', parent.ts],
      ['reply 2', parent.ts],
    ]);
    expect(slack.messages('incidents').some((m) => m.text === 'reply 1')).toBe(false);
    expect(
      (await platformError(client.chat.postMessage({ channel: '#incidents', text: 'x', thread_ts: '1111111111.000001' }))).data.error,
    ).toBe('invalid_thread_ts');
  });

  test('chat.update replaces text and blocks, keeps blocks it is not given, marks the edit; unknown ts → message_not_found', async () => {
    const client = webClient(slack.url);
    const posted = await client.chat.postMessage({ channel: '#checkout-oncall', ...approvalCard() });
    const channel = posted.channel!;
    const updated = await client.chat.update({
      channel,
      ts: posted.ts!,
      text: 'Approved by alice',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Approved* by <@U0ALICE>' } }],
    });
    expect(updated).toMatchObject({ ok: true, channel, ts: posted.ts, text: 'Approved by alice', message: { text: 'Approved by alice' } });
    const textOnly = await client.chat.update({ channel, ts: posted.ts!, text: 'Approved by alice at 12:00' });
    expect(textOnly.message?.blocks).toHaveLength(1);
    const stored = slack.messages(channel).find((m) => m.ts === posted.ts)!;
    expect(stored).toMatchObject({ text: 'Approved by alice at 12:00', edited: { user: 'U0TRIAGEBOT' } });
    expect(stored.blocks?.[0]).toMatchObject({ type: 'section' });

    expect((await platformError(client.chat.update({ channel, ts: '1111111111.000001', text: 'x' }))).data.error).toBe('message_not_found');
    expect((await platformError(client.chat.update({ channel: 'C0NOPE00000', ts: posted.ts!, text: 'x' }))).data.error).toBe(
      'channel_not_found',
    );
  });

  test('chat.postEphemeral is stored for that user only; unknown users are refused', async () => {
    const client = webClient(slack.url);
    const res = await client.chat.postEphemeral({
      channel: '#checkout-oncall',
      user: 'U0MALLORY',
      text: 'You are not an approver for checkout.',
    });
    expect(res.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(slack.ephemerals('U0MALLORY').at(-1)).toMatchObject({
      user: 'U0MALLORY',
      channel: slack.channelId('checkout-oncall'),
      ts: res.message_ts,
      text: 'You are not an approver for checkout.',
    });
    expect(slack.ephemerals('U0BOB').some((e) => e.ts === res.message_ts)).toBe(false);
    expect((await platformError(client.chat.postEphemeral({ channel: '#checkout-oncall', user: 'U0NOBODY', text: 'x' }))).data.error).toBe(
      'user_not_found',
    );
  });

  test("chat.getPermalink points at the sandbox page, in Slack's /archives form", async () => {
    const client = webClient(slack.url);
    const parent = await client.chat.postMessage({ channel: '#incidents', text: 'note' });
    const reply = await client.chat.postMessage({ channel: '#incidents', text: 'reply', thread_ts: parent.ts! });
    const channel = parent.channel!;
    const link = await client.chat.getPermalink({ channel, message_ts: parent.ts! });
    expect(link).toMatchObject({ ok: true, channel, permalink: `${slack.url}/archives/${channel}/p${parent.ts!.replace('.', '')}` });
    const replyLink = await client.chat.getPermalink({ channel, message_ts: reply.ts! });
    expect(replyLink.permalink).toBe(
      `${slack.url}/archives/${channel}/p${reply.ts!.replace('.', '')}?thread_ts=${parent.ts}&cid=${channel}`,
    );
    const page = await fetch(link.permalink!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('aria-label="Acting user"');
    expect((await platformError(client.chat.getPermalink({ channel, message_ts: '1111111111.000001' }))).data.error).toBe(
      'message_not_found',
    );
  });

  test('a JSON body works as well as a form body', async () => {
    const res = await raw('/api/chat.postMessage', {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({
        channel: 'incidents',
        text: 'from JSON',
        blocks: [{ type: 'section', text: { type: 'plain_text', text: 'hello' } }],
      }),
    });
    expect(res.body).toMatchObject({ ok: true, message: { text: 'from JSON' } });
    const bad = await raw('/api/chat.postMessage', {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: '{"channel":',
    });
    expect(bad.body).toEqual({ ok: false, error: 'invalid_json' });
    const xml = await raw('/api/chat.postMessage', {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/xml' },
      body: '<x/>',
    });
    expect(xml.body).toEqual({ ok: false, error: 'invalid_post_type' });
  });
});

describe('what Slack refuses', () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const button = (over: Record<string, unknown> = {}) => ({
    type: 'actions',
    elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'Go' }, ...over }],
  });

  test.each([
    ['51 blocks', Array.from({ length: 51 }, () => ({ type: 'divider' })), '/blocks'],
    ['section text of 3001 characters', [section('x'.repeat(3001))], '/blocks/0/text/text'],
    ['a field of 2001 characters', [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'x'.repeat(2001) }] }], '/blocks/0/fields/0/text'],
    ['11 fields', [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'plain_text', text: 'f' })) }], '/blocks/0/fields'],
    ['header text of 151 characters', [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }], '/blocks/0/text/text'],
    ['a mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], '/blocks/0/text/type'],
    ['button text of 76 characters', [button({ text: { type: 'plain_text', text: 'b'.repeat(76) } })], '/blocks/0/elements/0/text/text'],
    ['a button value of 2001 characters', [button({ value: 'v'.repeat(2001) })], '/blocks/0/elements/0/value'],
    ['a button style other than primary/danger', [button({ style: 'green' })], '/blocks/0/elements/0/style'],
    [
      'a confirm without deny',
      [
        button({
          confirm: {
            title: { type: 'plain_text', text: 't' },
            text: { type: 'plain_text', text: 'x' },
            confirm: { type: 'plain_text', text: 'ok' },
          },
        }),
      ],
      '/blocks/0/elements/0/confirm/deny',
    ],
    ['an unknown block type', [{ type: 'marquee', text: 'hi' }], '/blocks/0/type'],
    ['an empty section', [{ type: 'section' }], '/blocks/0'],
    ['an empty text', [section('')], '/blocks/0/text/text'],
    [
      'duplicate block ids',
      [
        { type: 'divider', block_id: 'x' },
        { type: 'divider', block_id: 'x' },
      ],
      '/blocks/1/block_id',
    ],
    [
      'duplicate action ids in a block',
      [{ type: 'actions', elements: [button().elements[0], button().elements[0]] }],
      '/blocks/0/elements/1/action_id',
    ],
  ])('%s → invalid_blocks, pointing at the field', async (_what, blocks, pointer) => {
    const err = await platformError(
      webClient(slack.url).chat.postMessage({ channel: '#incidents', text: 'fallback', blocks: blocks as never }),
    );
    expect(err.data.error).toBe('invalid_blocks');
    const errors = (err.data as unknown as { errors: string[] }).errors;
    expect(errors.some((e) => e.endsWith(`[json-pointer:${pointer}]`))).toBe(true);
    expect(slack.requestLog.at(-1)).toMatchObject({ status: 200, error: 'invalid_blocks' });
  });

  test('exactly at every limit is fine', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(150) } },
      section('s'.repeat(3000)),
      button({ text: { type: 'plain_text', text: 'b'.repeat(75) }, value: 'v'.repeat(2000), action_id: 'a'.repeat(255) }),
      ...Array.from({ length: 47 }, () => ({ type: 'divider' })),
    ];
    expect(blocks).toHaveLength(50);
    // Characters, not UTF-16 units: 3000 emoji are 6000 code units.
    const emoji = [section('😀'.repeat(3000))];
    const client = webClient(slack.url);
    await expect(client.chat.postMessage({ channel: '#incidents', text: 't'.repeat(40_000), blocks })).resolves.toMatchObject({ ok: true });
    await expect(client.chat.postMessage({ channel: '#incidents', text: 'emoji', blocks: emoji })).resolves.toMatchObject({ ok: true });
  });

  test('text over 40,000 characters → msg_too_long; nothing to post → no_text; no channel → channel_not_found; broken blocks JSON → invalid_blocks_format', async () => {
    const client = webClient(slack.url);
    expect((await platformError(client.chat.postMessage({ channel: '#incidents', text: 'x'.repeat(40_001) }))).data.error).toBe(
      'msg_too_long',
    );
    expect((await platformError(client.chat.postMessage({ channel: '#incidents', text: '' }))).data.error).toBe('no_text');
    expect((await platformError(client.chat.postMessage({ channel: '#nowhere', text: 'x' }))).data.error).toBe('channel_not_found');
    expect((await platformError(client.apiCall('chat.postMessage', { text: 'x' }))).data.error).toBe('channel_not_found');
    const res = await raw('/api/chat.postMessage', {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: 'incidents', text: 'x', blocks: '[{"type":' }).toString(),
    });
    expect(res.body).toEqual({ ok: false, error: 'invalid_blocks_format' });
    expect(slack.messages('incidents').some((m) => m.text === 'x')).toBe(false);
  });

  test('an unknown method is unknown_method', async () => {
    const res = await raw('/api/chat.delete', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } });
    expect(res).toMatchObject({ status: 404, body: { ok: false, error: 'unknown_method', req_method: 'chat.delete' } });
  });
});

describe('rate limits', () => {
  test('a 429 fault answers with Retry-After and ratelimited; WebClient with rejectRateLimitedCalls surfaces retryAfter', async () => {
    slack.setFault({ status: 429, retryAfterSeconds: 7, times: 2 });
    const client = webClient(slack.url, BOT_TOKEN, { rejectRateLimitedCalls: true });
    let caught: WebAPIRateLimitedError | undefined;
    try {
      await client.chat.postMessage({ channel: '#incidents', text: 'limited' });
    } catch (err) {
      caught = err as WebAPIRateLimitedError;
    }
    expect(caught?.code).toBe(ErrorCode.RateLimitedError);
    expect(caught?.retryAfter).toBe(7);
    const res = await raw('/api/auth.test', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.body).toEqual({ ok: false, error: 'ratelimited' });
    expect(slack.requestLog.at(-1)).toMatchObject({ status: 429, error: 'ratelimited' });
    // `times: 2` used up: the next call goes through, and nothing was posted meanwhile.
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(slack.messages('incidents').some((m) => m.text === 'limited')).toBe(false);
  });

  test('with channelPostLimit, chat.postMessage beyond about one per second per channel gets 429 and Retry-After', async () => {
    let nowMs = Date.parse('2026-03-01T10:00:00Z');
    const limited = await slackEmulator({ now: () => nowMs, channelPostLimit: { perSecond: 1, burst: 2 } });
    try {
      const client = webClient(limited.url, BOT_TOKEN, { rejectRateLimitedCalls: true });
      await client.chat.postMessage({ channel: '#incidents', text: '1' });
      await client.chat.postMessage({ channel: '#incidents', text: '2' });
      await expect(client.chat.postMessage({ channel: '#incidents', text: '3' })).rejects.toMatchObject({
        code: ErrorCode.RateLimitedError,
        retryAfter: 1,
      });
      // Another channel has its own budget; updates are not limited.
      await client.chat.postMessage({ channel: '#checkout-oncall', text: 'elsewhere' });
      nowMs += 1000;
      await client.chat.postMessage({ channel: '#incidents', text: '3' });
      expect(limited.messages('incidents').map((m) => m.text)).toEqual(['1', '2', '3']);
    } finally {
      await limited.close();
    }
  });

  test("other faults look like Slack's server errors", async () => {
    slack.setFault({ status: 503, times: 1 });
    const res = await raw('/api/auth.test', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } });
    expect(res).toMatchObject({ status: 503, body: { ok: false, error: 'service_unavailable' } });
  });

  test('POST /_sandbox/fault sets and clears a fault for a separate process', async () => {
    const set = await raw('/_sandbox/fault', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 429, retryAfterSeconds: 3 }),
    });
    expect(set.status).toBe(200);
    expect((await raw('/api/auth.test', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } })).status).toBe(429);
    await raw('/_sandbox/fault', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' });
    expect((await raw('/api/auth.test', { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } })).status).toBe(200);
    const bad = await raw('/_sandbox/fault', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 200 }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('the sandbox control routes', () => {
  test("/_sandbox/state: channels with messages and threads, and every user's ephemerals", async () => {
    const s = await raw('/_sandbox/state');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ team: { id: 'T0SANDBOX' }, users: USERS, gatewayUrl: null });
    expect(s.body.channels.map((c: { name: string }) => c.name)).toEqual(['checkout-oncall', 'incidents']);
    expect(Object.keys(s.body.ephemerals).sort()).toEqual(USERS.map((u) => u.id).sort());
    expect(typeof s.body.version).toBe('number');
  });

  test('refuse other sites: a foreign Origin or Host', async () => {
    const click = await raw('/_sandbox/click', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    });
    expect(click.status).toBe(403);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends its own Host.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${slack.url}/_sandbox/state`, { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  test('channelId resolves names, with or without "#"', () => {
    expect(slack.channelId('incidents')).toMatch(/^C0[A-Z0-9]{9}$/);
    expect(slack.channelId('#incidents')).toBe(slack.channelId('incidents'));
    expect(() => slack.channelId('nowhere')).toThrow(RangeError);
  });
});
