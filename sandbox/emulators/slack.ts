// A Slack workspace for the sandbox, both sides of it. The Web API methods the
// triage app calls (auth.test, conversations.list/info, chat.postMessage,
// chat.update, chat.postEphemeral, chat.getPermalink) in Slack's wire shapes, so
// @slack/web-api works against it unchanged; and what Slack does towards the
// app: a click on a message button becomes a `block_actions` request to the
// app's Request URL, signed with the signing secret exactly as Slack signs it,
// whose `response_url` works as Slack's does. A plain web page (sandbox/slack-page/)
// shows the channels and lets a person click as one of the sandbox users; the
// signing secret stays in this process, the page only asks it to click.
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { fromLoopback, listen, requestLogger, tokenMatches, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';
import { randomBase62 } from './issued-tokens.js';
import { BLOCK_KIT_LIMITS, characters, checkBlocks, findButton } from './slack-blocks.js';

export interface SlackUser {
  /** `U…` or `W…`, as Slack's user ids. */
  id: string;
  name: string;
}

export interface SlackEmulatorOptions extends ListenOptions {
  /** Added latency and error rate on every API request (scenario `conditions` or the environment). */
  conditions?: SurfaceConditions;
  /** The bot token (`xoxb-…`) every Web API call must carry as `Authorization: Bearer …`. */
  botToken: string;
  /** The app's signing secret: clicks are signed with it, as Slack signs them. */
  signingSecret: string;
  /** The app's base URL; clicks go to `<gatewayUrl>/slack/events`, Bolt's default Request URL. */
  gatewayUrl?: string;
  /** Public channels the app is a member of. */
  channels: { name: string }[];
  /** The people who can click; every one is in every channel. */
  users: SlackUser[];
  teamId?: string;
  teamDomain?: string;
  /** Clock in ms since the epoch (message ts, request signing, response_url expiry). */
  now?: () => number;
  /** How long a click waits for the app. Slack gives up after 3 s and shows the user an error. */
  interactivityTimeoutMs?: number;
  /**
   * Enforces chat.postMessage's "about one message per second per channel, short
   * bursts allowed" with a 429 and Retry-After; off unless given.
   */
  channelPostLimit?: { perSecond: number; burst: number };
  /** Where the page's files are; found next to the sources by default. */
  pageDir?: string;
}

/** A message as the Web API and the interaction payload render it. */
export interface SlackMessage {
  type: 'message';
  /** Only for a deleted parent whose thread lives on. */
  subtype?: 'tombstone';
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  ts: string;
  text: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  reply_users_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  edited?: { user: string; ts: string };
  bot_profile?: Record<string, unknown>;
}

/** A top-level message with its thread. */
export interface SandboxMessage extends SlackMessage {
  replies: SlackMessage[];
}

export interface SlackEphemeral {
  /** Who sees it. */
  user: string;
  channel: string;
  ts: string;
  text: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
  thread_ts?: string;
}

export interface SandboxSlackState {
  /** Bumped on every change, so a poller can tell when to redraw. */
  version: number;
  team: { id: string; domain: string; name: string };
  app: { id: string; botId: string; botUserId: string; name: string };
  users: SlackUser[];
  /** Where clicks go; null until one is configured. */
  gatewayUrl: string | null;
  channels: { id: string; name: string; messages: SandboxMessage[] }[];
  /** By user id: what only that user sees, oldest first. */
  ephemerals: Record<string, SlackEphemeral[]>;
}

export interface ClickInput {
  /** Channel id, or name with or without "#". */
  channel: string;
  /** The message's ts (a channel message, a thread reply, or one of the user's ephemerals). */
  ts: string;
  actionId: string;
  userId: string;
  /** Shifts the signed timestamp, to send a stale or future-dated click as an attacker would. */
  timestampOffsetSeconds?: number;
  /** Signs with a key other than the signing secret. */
  badSignature?: boolean;
}

export type ClickResult =
  | { delivered: true; status: number; body: string; actionTs: string; responseUrl: string }
  | { delivered: false; status: number; error: string };

export interface InteractionRecord {
  at: string;
  userId: string;
  channel: string;
  messageTs: string;
  actionId: string;
  /** The app's HTTP status; absent when it could not be reached. */
  status?: number;
  error?: string;
}

export interface SlackEmulator extends Listening {
  setFault(fault: Fault | null): void;
  /** Web API calls, oldest first, with the Slack error when the answer was `ok: false`. */
  readonly requestLog: readonly RequestLogEntry[];
  /** Clicks delivered to the app (or not), oldest first. */
  readonly interactions: readonly InteractionRecord[];
  /** A channel's top-level messages (id or name), oldest first, each with its thread replies. */
  messages(channel: string): SandboxMessage[];
  /** What only this user sees, in every channel, oldest first. */
  ephemerals(userId: string): SlackEphemeral[];
  setGatewayUrl(url: string | undefined): void;
  /** The id of a channel by name ("#" optional). */
  channelId(name: string): string;
  /** What the page's click does: signs a block_actions request and sends it to the app. */
  click(input: ClickInput): Promise<ClickResult>;
  state(): SandboxSlackState;
}

/** Used when a scenario has no `slack` section. */
export const DEFAULT_SLACK_WORKSPACE: { channels: { name: string }[]; users: SlackUser[] } = {
  channels: [{ name: 'incidents' }],
  users: [
    { id: 'U0ALICE', name: 'alice' },
    { id: 'U0BOB', name: 'bob' },
    { id: 'U0MALLORY', name: 'mallory' },
  ],
};

// ---- Slack's constants ---------------------------------------------------------

const APP = { id: 'A0TRIAGEAPP', botId: 'B0TRIAGEBOT', botUserId: 'U0TRIAGEBOT', name: 'keyless-triage' };
/** The bot's grant (DESIGN.md): Slack reports it in `x-oauth-scopes`, which @slack/web-api surfaces. */
const BOT_SCOPES = 'chat:write,channels:read';
/** The legacy verification token in payloads; Bolt ignores it in favour of the signature. */
const VERIFICATION_TOKEN = 'sandboxVerificationToken0';
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const RESPONSE_URL_MAX_USES = 5;
const DEFAULT_INTERACTIVITY_TIMEOUT_MS = 3000;
const CONVERSATIONS_LIST_DEFAULT_LIMIT = 100;
const CONVERSATIONS_LIST_MAX_LIMIT = 1000;
const MAX_ATTACHMENTS = 100;
const MAX_GATEWAY_BODY = 64 * 1024;
const TS = /^\d{10}\.\d{6}$/;
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,79}$/;
const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,79}$/;
const CONVERSATION_TYPES = new Set(['public_channel', 'private_channel', 'mpim', 'im']);

/** A Web API refusal: HTTP 200 with `{ ok: false, error }`, as Slack answers. */
class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
  }
}

type Params = Record<string, unknown>;

interface MessageRecord {
  ts: string;
  text: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
  threadTs?: string;
  edited?: { user: string; ts: string };
  tombstone?: boolean;
}

interface ChannelRecord {
  id: string;
  name: string;
  createdS: number;
  messages: MessageRecord[];
}

interface ResponseUrlRecord {
  channel: string;
  user: string;
  messageTs: string;
  ephemeral: boolean;
  createdAtMs: number;
  uses: number;
}

/** Stable across restarts, so links in a demo survive one. */
function channelIdFor(name: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`channel:${name}`).digest('hex').slice(0, 16)}`).toString(36).toUpperCase();
  return `C0${digits.padStart(9, '0').slice(0, 9)}`;
}

function formatTs(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Finds the page's files from the sources and from dist/ alike: the first `sandbox/slack-page` above this module. */
function findPageDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'slack-page'), join(dir, 'sandbox', 'slack-page')]) {
      if (existsSync(join(candidate, 'index.html'))) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

// ---- argument parsing, as the Web API does it -------------------------------------

function stringArg(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) throw new SlackApiError('invalid_array_arg');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new SlackApiError('invalid_arguments', { response_metadata: { messages: [`[ERROR] expected a string for argument \`${name}\``] } });
}

function invalidBlocks(errors: string[]): SlackApiError {
  return new SlackApiError('invalid_blocks', { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

interface Content {
  text?: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
}

/** text, blocks and attachments of a post or update, checked as Slack checks them. */
function contentArgs(p: Params): Content {
  const out: Content = {};
  const text = stringArg(p, 'text');
  if (text !== undefined) {
    if (characters(text) > BLOCK_KIT_LIMITS.messageText) throw new SlackApiError('msg_too_long');
    out.text = text;
  }
  if (p.blocks !== undefined && p.blocks !== null && p.blocks !== '') {
    const checked = checkBlocks(p.blocks);
    if ('error' in checked) throw checked.error === 'invalid_blocks' ? invalidBlocks(checked.errors) : new SlackApiError(checked.error);
    out.blocks = checked.blocks;
  }
  if (p.attachments !== undefined && p.attachments !== null && p.attachments !== '') {
    let attachments: unknown = p.attachments;
    if (typeof attachments === 'string') {
      try {
        attachments = JSON.parse(attachments) as unknown;
      } catch {
        throw new SlackApiError('invalid_attachments');
      }
    }
    if (!Array.isArray(attachments) || !attachments.every(isObject)) throw new SlackApiError('invalid_attachments');
    if (attachments.length > MAX_ATTACHMENTS) throw new SlackApiError('too_many_attachments');
    out.attachments = structuredClone(attachments);
  }
  return out;
}

function hasContent(c: Content): boolean {
  return (c.text !== undefined && c.text.trim() !== '') || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;
}

// ---- the emulator ------------------------------------------------------------------

export async function startSlackEmulator(options: SlackEmulatorOptions): Promise<SlackEmulator> {
  if (!options.botToken || /\s/.test(options.botToken)) throw new Error('Slack emulator: botToken must be one non-empty value');
  if (!options.signingSecret || /\s/.test(options.signingSecret)) throw new Error('Slack emulator: signingSecret must be one non-empty value');
  const teamId = options.teamId ?? 'T0SANDBOX';
  if (!/^T[A-Z0-9]{2,20}$/.test(teamId)) throw new Error('Slack emulator: teamId must be T followed by uppercase letters and digits');
  const teamDomain = options.teamDomain ?? 'keyless-sandbox';
  if (!/^[a-z0-9][a-z0-9-]{0,20}$/.test(teamDomain)) throw new Error('Slack emulator: teamDomain must be lowercase letters, digits and "-"');
  if (options.channels.length === 0) throw new Error('Slack emulator: at least one channel is needed');
  if (options.users.length === 0) throw new Error('Slack emulator: at least one user is needed');
  const now = options.now ?? Date.now;
  const interactivityTimeoutMs = options.interactivityTimeoutMs ?? DEFAULT_INTERACTIVITY_TIMEOUT_MS;
  const postLimit = options.channelPostLimit;
  if (postLimit && !(postLimit.perSecond > 0 && Number.isInteger(postLimit.burst) && postLimit.burst >= 1)) {
    throw new Error('Slack emulator: channelPostLimit needs perSecond > 0 and an integer burst >= 1');
  }
  const pageDir = options.pageDir ?? findPageDir();

  const channels = new Map<string, ChannelRecord>();
  const startedS = Math.floor(now() / 1000);
  for (const { name } of options.channels) {
    if (!CHANNEL_NAME.test(name)) throw new Error(`Slack emulator: channel name ${JSON.stringify(name)} is not a Slack channel name`);
    const id = channelIdFor(name);
    if (channels.has(id)) throw new Error(`Slack emulator: channel ${name} is listed twice`);
    channels.set(id, { id, name, createdS: startedS, messages: [] });
  }
  const users = new Map<string, SlackUser>();
  for (const u of options.users) {
    if (!USER_ID.test(u.id) || !USER_NAME.test(u.name)) throw new Error(`Slack emulator: user ${JSON.stringify(u)} needs a Slack user id and username`);
    if (users.has(u.id)) throw new Error(`Slack emulator: user ${u.id} is listed twice`);
    users.set(u.id, { id: u.id, name: u.name });
  }

  const ephemerals: SlackEphemeral[] = [];
  const responseUrls = new Map<string, ResponseUrlRecord>();
  const log: RequestLogEntry[] = [];
  const interactions: InteractionRecord[] = [];
  const faults = new FaultSwitch(options.conditions);
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  let gatewayUrl: string | undefined;
  let version = 0;
  let lastMicros = 0;
  let baseUrl = '';

  const setGatewayUrl = (url: string | undefined): void => {
    if (url === undefined) {
      gatewayUrl = undefined;
    } else {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new RangeError('gateway URL must be an absolute http(s) URL');
      }
      if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password || parsed.search || parsed.hash) {
        throw new RangeError('gateway URL must be an http(s) URL without credentials, query or fragment');
      }
      gatewayUrl = parsed.toString().replace(/\/+$/, '');
    }
    version++;
  };
  if (options.gatewayUrl !== undefined) setGatewayUrl(options.gatewayUrl);

  /** Unique and increasing, like Slack's: seconds, then six digits. */
  const nextTs = (): string => {
    lastMicros = Math.max(Math.floor(now()) * 1000, lastMicros + 1);
    return formatTs(lastMicros);
  };

  const channelByRef = (ref: string | undefined, allowName: boolean): ChannelRecord | undefined => {
    if (!ref) return undefined;
    const byId = channels.get(ref);
    if (byId) return byId;
    if (!allowName) return undefined;
    const name = ref.startsWith('#') ? ref.slice(1) : ref;
    return [...channels.values()].find((c) => c.name === name);
  };

  const requireChannel = (p: Params, allowName: boolean): ChannelRecord => {
    const channel = channelByRef(stringArg(p, 'channel'), allowName);
    if (!channel) throw new SlackApiError('channel_not_found');
    return channel;
  };

  // ---- rendering ------------------------------------------------------------

  const botProfile = () => ({ id: APP.botId, app_id: APP.id, name: APP.name, icons: {}, deleted: false, updated: startedS, team_id: teamId });

  const messageObject = (channel: ChannelRecord, m: MessageRecord, withProfile = true): SlackMessage => {
    const out: SlackMessage = {
      type: 'message',
      ...(m.tombstone ? { subtype: 'tombstone' as const } : {}),
      user: APP.botUserId,
      bot_id: APP.botId,
      app_id: APP.id,
      team: teamId,
      ts: m.ts,
      text: m.text,
      ...(m.blocks ? { blocks: structuredClone(m.blocks) } : {}),
      ...(m.attachments ? { attachments: structuredClone(m.attachments) } : {}),
      ...(m.edited ? { edited: { ...m.edited } } : {}),
      ...(withProfile ? { bot_profile: botProfile() } : {}),
    };
    if (m.threadTs) {
      out.thread_ts = m.threadTs;
      out.parent_user_id = APP.botUserId;
    } else {
      const replies = channel.messages.filter((r) => r.threadTs === m.ts);
      if (replies.length > 0) {
        out.thread_ts = m.ts;
        out.reply_count = replies.length;
        out.reply_users_count = 1;
        out.reply_users = [APP.botUserId];
        out.latest_reply = replies.at(-1)!.ts;
      }
    }
    return out;
  };

  const channelMessages = (channel: ChannelRecord): SandboxMessage[] =>
    channel.messages
      .filter((m) => !m.threadTs)
      .map((m) => ({
        ...messageObject(channel, m),
        replies: channel.messages.filter((r) => r.threadTs === m.ts).map((r) => messageObject(channel, r)),
      }));

  const channelObject = (c: ChannelRecord) => ({
    id: c.id,
    name: c.name,
    is_channel: true,
    is_group: false,
    is_im: false,
    is_mpim: false,
    is_private: false,
    created: c.createdS,
    is_archived: false,
    is_general: c.name === 'general',
    unlinked: 0,
    name_normalized: c.name,
    is_shared: false,
    is_org_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    context_team_id: teamId,
    updated: c.createdS * 1000,
    parent_conversation: null,
    creator: '',
    is_ext_shared: false,
    shared_team_ids: [teamId],
    pending_connected_team_ids: [],
    is_member: true,
    topic: { value: '', creator: '', last_set: 0 },
    purpose: { value: '', creator: '', last_set: 0 },
    previous_names: [],
    num_members: users.size + 1,
  });

  const permalink = (c: ChannelRecord, m: MessageRecord): string => {
    const base = `${baseUrl}/archives/${c.id}/p${m.ts.replace('.', '')}`;
    return m.threadTs ? `${base}?thread_ts=${m.threadTs}&cid=${c.id}` : base;
  };

  const state = (): SandboxSlackState => ({
    version,
    team: { id: teamId, domain: teamDomain, name: 'Keyless Sandbox' },
    app: { id: APP.id, botId: APP.botId, botUserId: APP.botUserId, name: APP.name },
    users: [...users.values()].map((u) => ({ ...u })),
    gatewayUrl: gatewayUrl ?? null,
    channels: [...channels.values()].map((c) => ({ id: c.id, name: c.name, messages: channelMessages(c) })),
    ephemerals: Object.fromEntries([...users.keys()].map((id) => [id, ephemerals.filter((e) => e.user === id).map((e) => structuredClone(e))])),
  });

  // ---- writes shared by the Web API and response_url --------------------------------

  const findMessage = (channel: ChannelRecord, ts: string | undefined): MessageRecord | undefined =>
    ts === undefined ? undefined : channel.messages.find((m) => m.ts === ts && !m.tombstone);

  const post = (channel: ChannelRecord, content: Content, threadTs: string | undefined): MessageRecord => {
    let parentTs: string | undefined;
    if (threadTs !== undefined) {
      const target = TS.test(threadTs) ? channel.messages.find((m) => m.ts === threadTs) : undefined;
      if (!target) throw new SlackApiError('invalid_thread_ts');
      // A reply's ts names its thread, as on Slack.
      parentTs = target.threadTs ?? target.ts;
    }
    const m: MessageRecord = { ts: nextTs(), text: content.text ?? '', ...(content.blocks ? { blocks: content.blocks } : {}), ...(content.attachments ? { attachments: content.attachments } : {}) };
    if (parentTs) m.threadTs = parentTs;
    channel.messages.push(m);
    version++;
    return m;
  };

  const postEphemeral = (channel: ChannelRecord, user: string, content: Content, threadTs: string | undefined): SlackEphemeral => {
    const e: SlackEphemeral = {
      user,
      channel: channel.id,
      ts: nextTs(),
      text: content.text ?? '',
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(content.attachments ? { attachments: content.attachments } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    };
    ephemerals.push(e);
    version++;
    return e;
  };

  const takePostToken = (channel: ChannelRecord): number | undefined => {
    if (!postLimit) return undefined;
    const t = now();
    const b = buckets.get(channel.id) ?? { tokens: postLimit.burst, atMs: t };
    b.tokens = Math.min(postLimit.burst, b.tokens + ((t - b.atMs) / 1000) * postLimit.perSecond);
    b.atMs = t;
    buckets.set(channel.id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / postLimit.perSecond));
  };

  // ---- the Web API methods -------------------------------------------------------------

  type Method = (p: Params, res: Response) => Record<string, unknown>;
  const methods: Record<string, { read: boolean; run: Method }> = {
    'auth.test': {
      read: true,
      run: () => ({ url: `${baseUrl}/`, team: 'Keyless Sandbox', user: APP.name, team_id: teamId, user_id: APP.botUserId, bot_id: APP.botId, is_enterprise_install: false }),
    },
    'conversations.list': {
      read: true,
      run: (p) => {
        const types = (stringArg(p, 'types') ?? 'public_channel').split(',').map((t) => t.trim()).filter((t) => t !== '');
        if (types.length === 0 || !types.every((t) => CONVERSATION_TYPES.has(t))) throw new SlackApiError('invalid_types');
        const limitRaw = stringArg(p, 'limit');
        const limit = limitRaw === undefined || limitRaw === '' ? CONVERSATIONS_LIST_DEFAULT_LIMIT : Number(limitRaw);
        if (!Number.isInteger(limit) || limit < 0 || limit > CONVERSATIONS_LIST_MAX_LIMIT) throw new SlackApiError('invalid_limit');
        // Slack treats limit=0 as its default page size.
        const pageSize = limit === 0 ? CONVERSATIONS_LIST_DEFAULT_LIMIT : limit;
        // Every sandbox channel is public: asking for other types alone lists nothing.
        const all = types.includes('public_channel') ? [...channels.values()] : [];
        const cursor = stringArg(p, 'cursor');
        let start = 0;
        if (cursor) {
          const decoded = Buffer.from(cursor, 'base64').toString('utf8');
          const m = /^channel:(C[A-Z0-9]+)$/.exec(decoded);
          start = m ? all.findIndex((c) => c.id === m[1]) : -1;
          if (start < 0) throw new SlackApiError('invalid_cursor');
        }
        const page = all.slice(start, start + pageSize);
        const next = all[start + pageSize];
        return {
          channels: page.map(channelObject),
          response_metadata: { next_cursor: next ? Buffer.from(`channel:${next.id}`).toString('base64') : '' },
        };
      },
    },
    'conversations.info': {
      read: true,
      run: (p) => ({ channel: { ...channelObject(requireChannel(p, false)), last_read: '0000000000.000000' } }),
    },
    'chat.postMessage': {
      read: false,
      run: (p, res) => {
        const channel = requireChannel(p, true);
        const content = contentArgs(p);
        if (!hasContent(content)) throw new SlackApiError('no_text');
        const retryAfter = takePostToken(channel);
        if (retryAfter !== undefined) {
          res.status(429).set('retry-after', String(retryAfter));
          throw new SlackApiError('ratelimited');
        }
        const m = post(channel, content, stringArg(p, 'thread_ts') || undefined);
        return {
          channel: channel.id,
          ts: m.ts,
          message: messageObject(channel, m),
          // Slack warns when blocks come without the notification fallback text.
          ...(content.text === undefined || content.text === '' ? { warning: 'missing_text', response_metadata: { warnings: ['missing_text'] } } : {}),
        };
      },
    },
    'chat.update': {
      read: false,
      run: (p) => {
        const channel = requireChannel(p, false);
        const m = findMessage(channel, stringArg(p, 'ts'));
        if (!m) throw new SlackApiError('message_not_found');
        const content = contentArgs(p);
        if (!hasContent(content) && (m.blocks?.length ?? 0) === 0 && (m.attachments?.length ?? 0) === 0) throw new SlackApiError('no_text');
        // What an update leaves out stays as it was; an empty blocks array removes them.
        if (content.text !== undefined) m.text = content.text;
        if (p.blocks !== undefined) {
          if (content.blocks && content.blocks.length > 0) m.blocks = content.blocks;
          else delete m.blocks;
        }
        if (content.attachments !== undefined) m.attachments = content.attachments;
        m.edited = { user: APP.botUserId, ts: nextTs() };
        version++;
        const rendered = messageObject(channel, m);
        return { channel: channel.id, ts: m.ts, text: m.text, message: rendered };
      },
    },
    'chat.postEphemeral': {
      read: false,
      run: (p) => {
        const channel = requireChannel(p, true);
        const userId = stringArg(p, 'user');
        if (!userId || !users.has(userId)) throw new SlackApiError('user_not_found');
        const content = contentArgs(p);
        if (!hasContent(content)) throw new SlackApiError('no_text');
        const threadTs = stringArg(p, 'thread_ts') || undefined;
        if (threadTs !== undefined && !findMessage(channel, threadTs)) throw new SlackApiError('invalid_thread_ts');
        return { message_ts: postEphemeral(channel, userId, content, threadTs).ts };
      },
    },
    'chat.getPermalink': {
      read: true,
      run: (p) => {
        const channel = requireChannel(p, false);
        const m = findMessage(channel, stringArg(p, 'message_ts'));
        if (!m) throw new SlackApiError('message_not_found');
        return { channel: channel.id, permalink: permalink(channel, m) };
      },
    },
  };

  // ---- clicks: what Slack sends the app ------------------------------------------

  const click = async (input: ClickInput): Promise<ClickResult> => {
    const refuse = (status: number, error: string): ClickResult => ({ delivered: false, status, error });
    const user = users.get(input.userId);
    if (!user) return refuse(404, `no sandbox user ${input.userId}`);
    const channel = channelByRef(input.channel, true);
    if (!channel) return refuse(404, `no channel ${input.channel}`);
    const offset = input.timestampOffsetSeconds ?? 0;
    if (!Number.isSafeInteger(offset) || Math.abs(offset) > 10 * 365 * 86_400) return refuse(400, 'timestampOffsetSeconds must be an integer number of seconds');

    const message = findMessage(channel, input.ts);
    const ephemeral = message ? undefined : ephemerals.find((e) => e.ts === input.ts && e.channel === channel.id && e.user === user.id);
    if (!message && !ephemeral) return refuse(404, `no message ${input.ts} in #${channel.name} that ${user.name} can see`);
    const found = findButton(message?.blocks ?? ephemeral?.blocks, input.actionId);
    if (!found) return refuse(404, `the message has no button with action_id ${input.actionId}`);
    if (!gatewayUrl) return refuse(409, 'no gateway URL is configured (setGatewayUrl, --gateway-url or POST /_sandbox/gateway-url)');

    const responseId = randomBase62(32);
    responseUrls.set(responseId, { channel: channel.id, user: user.id, messageTs: input.ts, ephemeral: ephemeral !== undefined, createdAtMs: now(), uses: 0 });
    const responseUrl = `${baseUrl}/_sandbox/response/${responseId}`;
    const actionTs = formatTs(Math.floor(now()) * 1000 + randomInt(1000));
    const threadTs = message?.threadTs ?? ephemeral?.thread_ts;
    const { button } = found;
    const payload = {
      type: 'block_actions',
      user: { id: user.id, username: user.name, name: user.name, team_id: teamId },
      api_app_id: APP.id,
      token: VERIFICATION_TOKEN,
      container: {
        type: 'message',
        message_ts: input.ts,
        channel_id: channel.id,
        is_ephemeral: ephemeral !== undefined,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      },
      trigger_id: `${randomInt(1e9, 1e10)}.${randomInt(1e9, 1e10)}.${randomBytes(16).toString('hex')}`,
      team: { id: teamId, domain: teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel.id, name: channel.name },
      // Slack sends the message as it stands; ephemeral ones it does not send at all.
      ...(message ? { message: messageObject(channel, message) } : {}),
      state: { values: {} },
      response_url: responseUrl,
      actions: [
        {
          action_id: input.actionId,
          block_id: found.blockId,
          text: structuredClone(button.text),
          ...(typeof button.value === 'string' ? { value: button.value } : {}),
          ...(typeof button.style === 'string' ? { style: button.style } : {}),
          type: 'button',
          action_ts: actionTs,
        },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = Math.floor(now() / 1000) + offset;
    const key = input.badSignature ? randomBytes(32) : options.signingSecret;
    const signature = `v0=${createHmac('sha256', key).update(`v0:${timestamp}:${body}`).digest('hex')}`;

    const record: InteractionRecord = { at: new Date(now()).toISOString(), userId: user.id, channel: channel.id, messageTs: input.ts, actionId: input.actionId };
    interactions.push(record);
    if (interactions.length > 1000) interactions.splice(0, interactions.length - 1000);
    try {
      const res = await fetch(`${gatewayUrl}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': signature,
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(interactivityTimeoutMs),
      });
      const text = (await res.text()).slice(0, MAX_GATEWAY_BODY);
      record.status = res.status;
      return { delivered: true, status: res.status, body: text, actionTs, responseUrl };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      record.error = timedOut ? 'operation_timeout' : 'unreachable';
      // Slack shows the user a warning when the app does not answer within 3 s.
      return timedOut ? refuse(504, `operation_timeout: the app did not answer within ${interactivityTimeoutMs} ms`) : refuse(502, `the app at ${gatewayUrl} could not be reached: ${(err as Error).message}`);
    }
  };

  // ---- response_url -------------------------------------------------------------------

  const respond = (id: string, raw: unknown): { status: number; body: Record<string, unknown> } => {
    const record = responseUrls.get(id);
    // Slack's response URLs work five times within thirty minutes.
    if (!record || record.uses >= RESPONSE_URL_MAX_USES || now() - record.createdAtMs > RESPONSE_URL_TTL_MS) {
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    }
    if (!isObject(raw)) return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    const channel = channels.get(record.channel)!;
    let content: Content;
    try {
      content = contentArgs(raw);
    } catch (err) {
      if (err instanceof SlackApiError) return { status: 400, body: { ok: false, error: err.code, ...err.extra } };
      throw err;
    }
    const flag = (name: string) => raw[name] === true || raw[name] === 'true';
    const threadTs = typeof raw.thread_ts === 'string' && raw.thread_ts !== '' ? raw.thread_ts : undefined;
    const originalEphemeral = record.ephemeral ? ephemerals.find((e) => e.ts === record.messageTs && e.user === record.user) : undefined;
    const original = record.ephemeral ? undefined : findMessage(channel, record.messageTs);

    if (flag('delete_original')) {
      if (originalEphemeral) ephemerals.splice(ephemerals.indexOf(originalEphemeral), 1);
      else if (original) {
        // A deleted parent leaves a tombstone so its thread stays readable.
        const hasReplies = channel.messages.some((m) => m.threadTs === original.ts);
        if (hasReplies) Object.assign(original, { text: 'This message was deleted.', tombstone: true, blocks: undefined, attachments: undefined });
        else channel.messages.splice(channel.messages.indexOf(original), 1);
      } else return { status: 404, body: { ok: false, error: 'message_not_found' } };
      record.uses++;
      version++;
      return { status: 200, body: { ok: true } };
    }
    if (!hasContent(content)) return { status: 400, body: { ok: false, error: 'no_text' } };
    if (flag('replace_original')) {
      const target = originalEphemeral ?? original;
      if (!target) return { status: 404, body: { ok: false, error: 'message_not_found' } };
      target.text = content.text ?? '';
      if (content.blocks) target.blocks = content.blocks;
      else delete target.blocks;
      if (content.attachments) target.attachments = content.attachments;
      else delete target.attachments;
    } else if (raw.response_type === 'in_channel') {
      try {
        post(channel, content, threadTs);
      } catch (err) {
        if (err instanceof SlackApiError) return { status: 400, body: { ok: false, error: err.code } };
        throw err;
      }
    } else {
      // Without response_type, Slack answers the clicking user alone.
      postEphemeral(channel, record.user, content, threadTs);
    }
    record.uses++;
    version++;
    return { status: 200, body: { ok: true } };
  };

  // ---- HTTP --------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  /** Control routes and the page: this machine only, and no other site's page (DNS rebinding, CSRF). */
  const localOnly = (req: Request, res: Response, next: NextFunction): void => {
    const host = req.hostname;
    const loopbackName = host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
    if (!fromLoopback(req) || !loopbackName) {
      res.status(403).json({ error: 'the sandbox Slack answers loopback clients only' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.get('origin');
      const site = req.get('sec-fetch-site');
      if ((origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`) || (site !== undefined && site !== 'same-origin' && site !== 'none')) {
        res.status(403).json({ error: 'cross-site requests are refused' });
        return;
      }
    }
    next();
  };

  const sandbox = express.Router();
  sandbox.use(localOnly);
  sandbox.get('/state', (_req, res) => {
    res.set('cache-control', 'no-store').json(state());
  });
  sandbox.post('/click', express.json({ limit: '16kb' }), async (req, res) => {
    const b = req.body as Record<string, unknown> | undefined;
    const str = (k: string) => (typeof b?.[k] === 'string' ? (b[k] as string) : undefined);
    const channel = str('channel');
    const ts = str('ts');
    const actionId = str('actionId');
    const userId = str('userId');
    const offset = b?.timestampOffsetSeconds;
    if (!req.is('application/json') || !channel || !ts || !actionId || !userId || (offset !== undefined && typeof offset !== 'number') || (b?.badSignature !== undefined && typeof b.badSignature !== 'boolean')) {
      res.status(400).json({ error: 'body must be JSON {"channel", "ts", "actionId", "userId", "timestampOffsetSeconds"?: number, "badSignature"?: boolean}' });
      return;
    }
    const result = await click({
      channel,
      ts,
      actionId,
      userId,
      ...(typeof offset === 'number' ? { timestampOffsetSeconds: offset } : {}),
      ...(b?.badSignature === true ? { badSignature: true } : {}),
    });
    // The app's own status, so the page and tests see its 200 or 401.
    if (result.delivered) res.status(result.status).json({ status: result.status, body: result.body, actionTs: result.actionTs });
    else res.status(result.status).json({ error: result.error });
  });
  sandbox.post('/response/:id', express.json({ limit: '1mb', type: () => true }), (req, res) => {
    const out = respond(String(req.params.id), req.body);
    res.status(out.status).json(out.body);
  });
  sandbox.post('/gateway-url', express.json({ limit: '4kb', type: () => true }), (req, res) => {
    const url = (req.body as { url?: unknown } | undefined)?.url;
    try {
      if (url !== null && typeof url !== 'string') throw new RangeError('body must be {"url": "<http(s) URL>"} or {"url": null}');
      setGatewayUrl(url ?? undefined);
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
      return;
    }
    res.json({ gatewayUrl: gatewayUrl ?? null });
  });
  // The emulators run in their own process in the stack; tests reach its faults here.
  sandbox.post('/fault', express.json({ limit: '4kb', strict: false, type: () => true }), (req, res) => {
    const body = (req.body ?? null) as unknown;
    try {
      if (body !== null && !isObject(body)) throw new RangeError('body must be {"status", "retryAfterSeconds"?, "times"?} or null');
      faults.set(body === null || Object.keys(body).length === 0 ? null : (body as unknown as Fault));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
      return;
    }
    res.json({ fault: body });
  });
  sandbox.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use('/_sandbox', sandbox);

  // ---- the page ---------------------------------------------------------------------
  const pageHeaders = (res: Response) => {
    // No inline script or style, nothing from elsewhere: message text is untrusted.
    res.set({
      'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
  };
  const sendPage = (_req: Request, res: Response) => {
    pageHeaders(res);
    if (!pageDir) {
      res.status(503).type('text/plain').send('the sandbox Slack page files (sandbox/slack-page/) were not found\n');
      return;
    }
    res.sendFile(join(pageDir, 'index.html'));
  };
  app.get(['/', '/channels/:id', '/archives/:id/:message'], localOnly, sendPage);
  if (pageDir) {
    app.use('/static', localOnly, (_req, res, next) => {
      pageHeaders(res);
      next();
    }, express.static(pageDir, { index: false, dotfiles: 'deny', etag: false, lastModified: false }));
  }

  // ---- the Web API ----------------------------------------------------------------------
  const api = express.Router();
  api.use(requestLogger(log, (res) => res.locals.slackError as string | undefined));
  api.use(async (_req: Request, res: Response, next: NextFunction) => {
    await faults.delay();
    res.set('x-slack-req-id', randomBytes(16).toString('hex'));
    const fault = faults.take();
    if (fault) {
      if (fault.status === 429) {
        // Slack always names the wait.
        res.set('retry-after', String(fault.retryAfterSeconds ?? 1));
        res.locals.slackError = 'ratelimited';
        res.status(429).json({ ok: false, error: 'ratelimited' });
        return;
      }
      if (fault.retryAfterSeconds !== undefined) res.set('retry-after', String(fault.retryAfterSeconds));
      const error = fault.status === 503 ? 'service_unavailable' : fault.status === 500 ? 'internal_error' : 'fatal_error';
      res.locals.slackError = error;
      res.status(fault.status).json({ ok: false, error });
      return;
    }
    next();
  });
  // Missing or unknown Content-Type on a body: Slack's own error names.
  api.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (!hasBody) return next();
    const type = req.get('content-type');
    const error = type === undefined ? 'missing_post_type' : req.is(['application/json', 'application/x-www-form-urlencoded']) ? undefined : 'invalid_post_type';
    if (!error) return next();
    res.locals.slackError = error;
    res.json({ ok: false, error });
  });
  api.use(express.json({ limit: '1mb', type: 'application/json' }));
  api.use(express.urlencoded({ limit: '1mb', extended: false, type: 'application/x-www-form-urlencoded' }));
  api.all('/:method', (req: Request, res: Response) => {
    res.set('x-oauth-scopes', BOT_SCOPES);
    const fail = (error: string, extra: Record<string, unknown> = {}, status = 200) => {
      res.locals.slackError = error;
      res.status(status).json({ ok: false, error, ...extra });
    };
    const name = String(req.params.method);
    const method = Object.prototype.hasOwnProperty.call(methods, name) ? methods[name] : undefined;
    if (!method) return fail('unknown_method', { req_method: name.slice(0, 100) }, 404);
    if (req.method !== 'POST' && !(method.read && req.method === 'GET')) {
      res.set('allow', method.read ? 'GET, POST' : 'POST');
      return fail('method_not_allowed', {}, 405);
    }
    if (req.method === 'POST' && req.is('application/json') && !isObject(req.body)) return fail('json_not_object');
    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!auth) return fail('not_authed');
    if (!tokenMatches(auth, options.botToken)) return fail('invalid_auth');
    const p: Params = { ...(req.query as Params), ...(isObject(req.body) ? req.body : {}) };
    try {
      const out = method.run(p, res);
      res.json({ ok: true, ...out });
    } catch (err) {
      if (!(err instanceof SlackApiError)) throw err;
      fail(err.code, err.extra, res.statusCode === 429 ? 429 : 200);
    }
  });
  app.use('/api', api);

  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not Found\n');
  });
  // Express 5 needs the four-argument signature to recognise an error handler.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    const isApi = req.originalUrl.startsWith('/api/');
    let status = 500;
    let error = 'internal_error';
    if (type === 'entity.parse.failed') {
      status = isApi ? 200 : 400;
      error = isApi ? (req.is('application/json') ? 'invalid_json' : 'invalid_form_data') : 'invalid_payload';
    } else if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
      status = isApi ? 200 : 415;
      error = 'invalid_charset';
    } else if (type === 'entity.too.large') {
      status = 413;
      error = 'request_too_large';
    }
    res.locals.slackError = error;
    if (res.headersSent) return;
    res.status(status).json(isApi ? { ok: false, error } : { error });
  });

  const server = await listen(app, options);
  // Links (permalinks, response_url) use the emulator's own address.
  baseUrl = server.url;

  return {
    url: server.url,
    close: server.close,
    setFault: (fault) => faults.set(fault),
    requestLog: log,
    interactions,
    messages: (ref) => {
      const channel = channelByRef(ref, true);
      if (!channel) throw new RangeError(`Slack emulator: no channel ${ref}`);
      return channelMessages(channel);
    },
    ephemerals: (userId) => ephemerals.filter((e) => e.user === userId).map((e) => structuredClone(e)),
    setGatewayUrl,
    channelId: (name) => {
      const channel = channelByRef(name.startsWith('#') ? name : `#${name}`, true);
      if (!channel) throw new RangeError(`Slack emulator: no channel ${name}`);
      return channel.id;
    },
    click,
    state,
  };
}
