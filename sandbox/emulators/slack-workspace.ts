// The sandbox Slack workspace: its channels, people, messages and ephemerals,
// rendered in the Web API's wire shapes. The Web API, response_url and the page
// all read and write this one state, so a message posted one way is seen the
// same way by the others.
import { createHash } from 'node:crypto';
import { SlackApiError, type Content } from './slack-arguments.js';

export interface SlackUser {
  /** `U…` or `W…`, as Slack's user ids. */
  id: string;
  name: string;
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

export const APP = { id: 'A0TRIAGEAPP', botId: 'B0TRIAGEBOT', botUserId: 'U0TRIAGEBOT', name: 'keyless-triage' };
const TS = /^\d{10}\.\d{6}$/;
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,79}$/;
const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,79}$/;

export interface MessageRecord {
  ts: string;
  text: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
  threadTs?: string;
  edited?: { user: string; ts: string };
  tombstone?: boolean;
}

export interface ChannelRecord {
  id: string;
  name: string;
  createdS: number;
  messages: MessageRecord[];
}

interface WorkspaceOptions {
  teamId: string;
  teamDomain: string;
  channels: { name: string }[];
  users: SlackUser[];
  now: () => number;
  /** chat.postMessage's per-channel limit; none unless given. */
  channelPostLimit?: { perSecond: number; burst: number };
}

/** Stable across restarts, so links in a demo survive one. */
function channelIdFor(name: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`channel:${name}`).digest('hex').slice(0, 16)}`)
    .toString(36)
    .toUpperCase();
  return `C0${digits.padStart(9, '0').slice(0, 9)}`;
}

export function formatTs(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

export class SlackWorkspace {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly now: () => number;
  readonly channels = new Map<string, ChannelRecord>();
  readonly users = new Map<string, SlackUser>();
  /** Every user's ephemerals, oldest first. */
  readonly ephemerals: SlackEphemeral[] = [];
  version = 0;
  gatewayUrl: string | undefined;
  /** Links (permalinks, response_url) use the emulator's own address, known once it listens. */
  baseUrl = '';
  private readonly startedS: number;
  private readonly postLimit: { perSecond: number; burst: number } | undefined;
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  private lastMicros = 0;

  constructor(options: WorkspaceOptions) {
    this.teamId = options.teamId;
    this.teamDomain = options.teamDomain;
    this.now = options.now;
    this.postLimit = options.channelPostLimit;
    this.startedS = Math.floor(this.now() / 1000);
    for (const { name } of options.channels) {
      if (!CHANNEL_NAME.test(name)) throw new Error(`Slack emulator: channel name ${JSON.stringify(name)} is not a Slack channel name`);
      const id = channelIdFor(name);
      if (this.channels.has(id)) throw new Error(`Slack emulator: channel ${name} is listed twice`);
      this.channels.set(id, { id, name, createdS: this.startedS, messages: [] });
    }
    for (const u of options.users) {
      if (!USER_ID.test(u.id) || !USER_NAME.test(u.name))
        throw new Error(`Slack emulator: user ${JSON.stringify(u)} needs a Slack user id and username`);
      if (this.users.has(u.id)) throw new Error(`Slack emulator: user ${u.id} is listed twice`);
      this.users.set(u.id, { id: u.id, name: u.name });
    }
  }

  setGatewayUrl(url: string | undefined): void {
    if (url === undefined) {
      this.gatewayUrl = undefined;
    } else {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new RangeError('gateway URL must be an absolute http(s) URL');
      }
      if (
        (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
        parsed.username ||
        parsed.password ||
        parsed.search ||
        parsed.hash
      ) {
        throw new RangeError('gateway URL must be an http(s) URL without credentials, query or fragment');
      }
      this.gatewayUrl = parsed.toString().replace(/\/+$/, '');
    }
    this.version++;
  }

  /** Unique and increasing, like Slack's: seconds, then six digits. */
  nextTs(): string {
    this.lastMicros = Math.max(Math.floor(this.now()) * 1000, this.lastMicros + 1);
    return formatTs(this.lastMicros);
  }

  channelByRef(ref: string | undefined, allowName: boolean): ChannelRecord | undefined {
    if (!ref) return undefined;
    const byId = this.channels.get(ref);
    if (byId) return byId;
    if (!allowName) return undefined;
    const name = ref.startsWith('#') ? ref.slice(1) : ref;
    return [...this.channels.values()].find((c) => c.name === name);
  }

  // ---- writes shared by the Web API and response_url --------------------------------

  findMessage(channel: ChannelRecord, ts: string | undefined): MessageRecord | undefined {
    return ts === undefined ? undefined : channel.messages.find((m) => m.ts === ts && !m.tombstone);
  }

  post(channel: ChannelRecord, content: Content, threadTs: string | undefined): MessageRecord {
    let parentTs: string | undefined;
    if (threadTs !== undefined) {
      const target = TS.test(threadTs) ? channel.messages.find((m) => m.ts === threadTs) : undefined;
      if (!target) throw new SlackApiError('invalid_thread_ts');
      // A reply's ts names its thread, as on Slack.
      parentTs = target.threadTs ?? target.ts;
    }
    const m: MessageRecord = {
      ts: this.nextTs(),
      text: content.text ?? '',
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(content.attachments ? { attachments: content.attachments } : {}),
    };
    if (parentTs) m.threadTs = parentTs;
    channel.messages.push(m);
    this.version++;
    return m;
  }

  postEphemeral(channel: ChannelRecord, user: string, content: Content, threadTs: string | undefined): SlackEphemeral {
    const e: SlackEphemeral = {
      user,
      channel: channel.id,
      ts: this.nextTs(),
      text: content.text ?? '',
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(content.attachments ? { attachments: content.attachments } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    };
    this.ephemerals.push(e);
    this.version++;
    return e;
  }

  /** Takes one post from the channel's bucket; the seconds to wait when it is empty. */
  takePostToken(channel: ChannelRecord): number | undefined {
    const limit = this.postLimit;
    if (!limit) return undefined;
    const t = this.now();
    const b = this.buckets.get(channel.id) ?? { tokens: limit.burst, atMs: t };
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.atMs) / 1000) * limit.perSecond);
    b.atMs = t;
    this.buckets.set(channel.id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
  }

  // ---- rendering ------------------------------------------------------------

  messageObject(channel: ChannelRecord, m: MessageRecord): SlackMessage {
    const out: SlackMessage = {
      type: 'message',
      ...(m.tombstone ? { subtype: 'tombstone' as const } : {}),
      user: APP.botUserId,
      bot_id: APP.botId,
      app_id: APP.id,
      team: this.teamId,
      ts: m.ts,
      text: m.text,
      ...(m.blocks ? { blocks: structuredClone(m.blocks) } : {}),
      ...(m.attachments ? { attachments: structuredClone(m.attachments) } : {}),
      ...(m.edited ? { edited: { ...m.edited } } : {}),
      bot_profile: {
        id: APP.botId,
        app_id: APP.id,
        name: APP.name,
        icons: {},
        deleted: false,
        updated: this.startedS,
        team_id: this.teamId,
      },
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
  }

  channelMessages(channel: ChannelRecord): SandboxMessage[] {
    return channel.messages
      .filter((m) => !m.threadTs)
      .map((m) => ({
        ...this.messageObject(channel, m),
        replies: channel.messages.filter((r) => r.threadTs === m.ts).map((r) => this.messageObject(channel, r)),
      }));
  }

  channelObject(c: ChannelRecord) {
    return {
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
      context_team_id: this.teamId,
      updated: c.createdS * 1000,
      parent_conversation: null,
      creator: '',
      is_ext_shared: false,
      shared_team_ids: [this.teamId],
      pending_connected_team_ids: [],
      is_member: true,
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      previous_names: [],
      num_members: this.users.size + 1,
    };
  }

  permalink(c: ChannelRecord, m: MessageRecord): string {
    const base = `${this.baseUrl}/archives/${c.id}/p${m.ts.replace('.', '')}`;
    return m.threadTs ? `${base}?thread_ts=${m.threadTs}&cid=${c.id}` : base;
  }

  /** What only this user sees, copies so the caller cannot change the workspace. */
  ephemeralsOf(userId: string): SlackEphemeral[] {
    return this.ephemerals.filter((e) => e.user === userId).map((e) => structuredClone(e));
  }

  state(): SandboxSlackState {
    return {
      version: this.version,
      team: { id: this.teamId, domain: this.teamDomain, name: 'Keyless Sandbox' },
      app: { id: APP.id, botId: APP.botId, botUserId: APP.botUserId, name: APP.name },
      users: [...this.users.values()].map((u) => ({ ...u })),
      gatewayUrl: this.gatewayUrl ?? null,
      channels: [...this.channels.values()].map((c) => ({ id: c.id, name: c.name, messages: this.channelMessages(c) })),
      ephemerals: Object.fromEntries([...this.users.keys()].map((id) => [id, this.ephemeralsOf(id)])),
    };
  }
}
