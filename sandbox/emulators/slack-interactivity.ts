// What Slack does towards the app: a click on a message button becomes a
// `block_actions` request to the app's Request URL, signed with the signing
// secret exactly as Slack signs it, whose `response_url` works as Slack's does.
// The signing secret stays in this process; the page only asks it to click.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { randomBase62 } from './issued-tokens.js';
import { SlackApiError, contentArgs, hasContent, isObject, type Content } from './slack-arguments.js';
import { findButton } from './slack-blocks.js';
import {
  APP,
  formatTs,
  type ChannelRecord,
  type MessageRecord,
  type SlackEphemeral,
  type SlackUser,
  type SlackWorkspace,
} from './slack-workspace.js';

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

/** The legacy verification token in payloads; Bolt ignores it in favour of the signature. */
const VERIFICATION_TOKEN = 'sandboxVerificationToken0';
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const RESPONSE_URL_MAX_USES = 5;
const DEFAULT_INTERACTIVITY_TIMEOUT_MS = 3000;
const MAX_GATEWAY_BODY = 64 * 1024;
const MAX_INTERACTIONS = 1000;

interface ResponseUrlRecord {
  channel: string;
  user: string;
  messageTs: string;
  ephemeral: boolean;
  createdAtMs: number;
  uses: number;
}

type ResponseUrlAnswer = { status: number; body: Record<string, unknown> };

function refuse(status: number, error: string): ClickResult {
  return { delivered: false, status, error };
}

/** The button clicked and the message it is on: a channel message or thread reply, or one of the user's ephemerals. */
interface ClickTarget {
  input: ClickInput;
  user: SlackUser;
  channel: ChannelRecord;
  message: MessageRecord | undefined;
  ephemeral: SlackEphemeral | undefined;
  found: { blockId: string; button: Record<string, unknown> };
}

function blockActionsPayload(ws: SlackWorkspace, target: ClickTarget, responseUrl: string, actionTs: string) {
  const { input, user, channel, message, ephemeral, found } = target;
  const threadTs = message?.threadTs ?? ephemeral?.thread_ts;
  const { button } = found;
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: ws.teamId },
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
    team: { id: ws.teamId, domain: ws.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channel.name },
    // Slack sends the message as it stands; ephemeral ones it does not send at all.
    ...(message ? { message: ws.messageObject(channel, message) } : {}),
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
}

export class SlackInteractivity {
  /** Clicks delivered to the app (or not), oldest first. */
  readonly interactions: InteractionRecord[] = [];
  private readonly responseUrls = new Map<string, ResponseUrlRecord>();
  private readonly timeoutMs: number;

  /** `timeoutMs`: how long a click waits for the app; Slack gives up after 3 s. */
  constructor(
    private readonly ws: SlackWorkspace,
    private readonly signingSecret: string,
    timeoutMs: number | undefined,
  ) {
    this.timeoutMs = timeoutMs ?? DEFAULT_INTERACTIVITY_TIMEOUT_MS;
  }

  /** What the page's click does: signs a block_actions request and sends it to the app. */
  async click(input: ClickInput): Promise<ClickResult> {
    const { ws } = this;
    const user = ws.users.get(input.userId);
    if (!user) return refuse(404, `no sandbox user ${input.userId}`);
    const channel = ws.channelByRef(input.channel, true);
    if (!channel) return refuse(404, `no channel ${input.channel}`);
    const offset = input.timestampOffsetSeconds ?? 0;
    if (!Number.isSafeInteger(offset) || Math.abs(offset) > 10 * 365 * 86_400)
      return refuse(400, 'timestampOffsetSeconds must be an integer number of seconds');

    const message = ws.findMessage(channel, input.ts);
    const ephemeral = message ? undefined : ws.ephemerals.find((e) => e.ts === input.ts && e.channel === channel.id && e.user === user.id);
    if (!message && !ephemeral) return refuse(404, `no message ${input.ts} in #${channel.name} that ${user.name} can see`);
    const found = findButton(message?.blocks ?? ephemeral?.blocks, input.actionId);
    if (!found) return refuse(404, `the message has no button with action_id ${input.actionId}`);
    const gatewayUrl = ws.gatewayUrl;
    if (!gatewayUrl) return refuse(409, 'no gateway URL is configured (setGatewayUrl, --gateway-url or POST /_sandbox/gateway-url)');

    const responseId = randomBase62(32);
    this.responseUrls.set(responseId, {
      channel: channel.id,
      user: user.id,
      messageTs: input.ts,
      ephemeral: ephemeral !== undefined,
      createdAtMs: ws.now(),
      uses: 0,
    });
    const responseUrl = `${ws.baseUrl}/_sandbox/response/${responseId}`;
    const actionTs = formatTs(Math.floor(ws.now()) * 1000 + randomInt(1000));
    const payload = blockActionsPayload(ws, { input, user, channel, message, ephemeral, found }, responseUrl, actionTs);
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = Math.floor(ws.now() / 1000) + offset;
    const key = input.badSignature ? randomBytes(32) : this.signingSecret;
    const signature = `v0=${createHmac('sha256', key).update(`v0:${timestamp}:${body}`).digest('hex')}`;

    const record: InteractionRecord = {
      at: new Date(ws.now()).toISOString(),
      userId: user.id,
      channel: channel.id,
      messageTs: input.ts,
      actionId: input.actionId,
    };
    this.interactions.push(record);
    if (this.interactions.length > MAX_INTERACTIONS) this.interactions.splice(0, this.interactions.length - MAX_INTERACTIONS);
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
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = (await res.text()).slice(0, MAX_GATEWAY_BODY);
      record.status = res.status;
      return { delivered: true, status: res.status, body: text, actionTs, responseUrl };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      record.error = timedOut ? 'operation_timeout' : 'unreachable';
      // Slack shows the user a warning when the app does not answer within 3 s.
      return timedOut
        ? refuse(504, `operation_timeout: the app did not answer within ${this.timeoutMs} ms`)
        : refuse(502, `the app at ${gatewayUrl} could not be reached: ${(err as Error).message}`);
    }
  }

  /** A POST to a response_url the app was given with a click. */
  respond(id: string, raw: unknown): ResponseUrlAnswer {
    const { ws } = this;
    const record = this.responseUrls.get(id);
    // Slack's response URLs work five times within thirty minutes.
    if (!record || record.uses >= RESPONSE_URL_MAX_USES || ws.now() - record.createdAtMs > RESPONSE_URL_TTL_MS) {
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    }
    if (!isObject(raw)) return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    const channel = ws.channels.get(record.channel)!;
    let content: Content;
    try {
      content = contentArgs(raw);
    } catch (err) {
      if (err instanceof SlackApiError) return { status: 400, body: { ok: false, error: err.code, ...err.extra } };
      throw err;
    }
    const flag = (name: string) => raw[name] === true || raw[name] === 'true';
    const threadTs = typeof raw.thread_ts === 'string' && raw.thread_ts !== '' ? raw.thread_ts : undefined;
    const originalEphemeral = record.ephemeral ? ws.ephemerals.find((e) => e.ts === record.messageTs && e.user === record.user) : undefined;
    const original = record.ephemeral ? undefined : ws.findMessage(channel, record.messageTs);

    if (flag('delete_original')) {
      if (originalEphemeral) ws.ephemerals.splice(ws.ephemerals.indexOf(originalEphemeral), 1);
      else if (original) {
        // A deleted parent leaves a tombstone so its thread stays readable.
        const hasReplies = channel.messages.some((m) => m.threadTs === original.ts);
        if (hasReplies)
          Object.assign(original, { text: 'This message was deleted.', tombstone: true, blocks: undefined, attachments: undefined });
        else channel.messages.splice(channel.messages.indexOf(original), 1);
      } else return { status: 404, body: { ok: false, error: 'message_not_found' } };
      return this.used(record);
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
        ws.post(channel, content, threadTs);
      } catch (err) {
        if (err instanceof SlackApiError) return { status: 400, body: { ok: false, error: err.code } };
        throw err;
      }
    } else {
      // Without response_type, Slack answers the clicking user alone.
      ws.postEphemeral(channel, record.user, content, threadTs);
    }
    return this.used(record);
  }

  private used(record: ResponseUrlRecord): ResponseUrlAnswer {
    record.uses++;
    this.ws.version++;
    return { status: 200, body: { ok: true } };
  }
}
