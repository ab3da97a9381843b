// Slack, through the broker: the worker sends no token; the broker adds the
// bot token and allows only the chat/conversations methods the card needs.
import { ErrorCode, WebClient, type WebAPICallError } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { httpFailure, invalidRequest, networkFailure, rateLimitFailure, requireTriageId } from './http-failure.js';
import type { DecisionWords } from '../config/approval-text.js';
import { fillNote, noteValues, POST_FLAGS, type PlannedNote } from '../config/incident-note.js';
import { PlaceholderError } from '../config/write-plan.js';
import { approvalCard, closedCard, reminderMessage, type CardContext, type CardOutcome, type SlackMessage } from './slack-card.js';
import { callerHeaders, type CallerToken } from './broker-caller.js';

const SURFACE = 'slack';
const CHANNEL_ID = /^[CG][A-Z0-9]{8,}$/;
/** Slack asks apps to post about one message per second per channel. */
const CHANNEL_INTERVAL_MS = 1000;

export interface SlackClientOptions {
  /** The broker's `/slack` prefix; the Web API lives under `/api/`. */
  baseUrl: string;
  /** The worker's token for the broker (activities/broker-caller.ts). */
  callerToken?: CallerToken;
  timeoutMs?: number;
}

export interface SlackMessageRef {
  channelId: string;
  ts: string;
}

export function createSlackActivities(options: SlackClientOptions) {
  const channelIds = new Map<string, string>();
  const nextSlot = new Map<string, number>();

  // One client per triage: the triage id travels as a header to the broker's audit log.
  const client = (triageId: string) => {
    requireTriageId(SURFACE, triageId);
    return new WebClient(undefined, {
      slackApiUrl: `${options.baseUrl}/api/`,
      headers: { 'x-triage-id': triageId, ...callerHeaders(options.callerToken) },
      timeout: options.timeoutMs ?? 15_000,
      // Temporal owns retries: a 429 becomes a retry after Slack's Retry-After, durably.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
  };

  async function channelId(slack: WebClient, channel: string): Promise<string> {
    if (CHANNEL_ID.test(channel)) return channel;
    const known = channelIds.get(channel);
    if (known) return known;
    // Resolved once per worker process; channel ids do not change when channels are renamed.
    // Public channels only: private ones would need groups:read, beyond the bot's channels:read.
    for await (const page of slack.paginate('conversations.list', { types: 'public_channel', exclude_archived: true, limit: 200 })) {
      for (const c of (page as { channels?: { id?: string; name?: string }[] }).channels ?? []) {
        if (c.id && c.name) channelIds.set(c.name, c.id);
      }
      if (channelIds.has(channel)) break;
    }
    const id = channelIds.get(channel);
    if (!id) throw invalidRequest(SURFACE, `channel ${channel} not found or the app is not in it`);
    return id;
  }

  async function pace(channel: string): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, nextSlot.get(channel) ?? 0);
    nextSlot.set(channel, slot + CHANNEL_INTERVAL_MS);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }

  /** Posts to a channel by name or id; the answer names the channel's id. */
  async function send(slack: WebClient, channel: string, message: SlackMessage, threadTs?: string): Promise<SlackMessageRef> {
    await pace(channel);
    const res = await slack.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...POST_FLAGS,
    });
    return { channelId: String(res.channel ?? channel), ts: String(res.ts) };
  }

  async function post(triageId: string, channel: string, message: SlackMessage, threadTs?: string): Promise<SlackMessageRef> {
    const slack = client(triageId);
    try {
      return await send(slack, await channelId(slack, channel), message, threadTs);
    } catch (err) {
      throw slackFailure(err);
    }
  }

  return {
    async postApprovalCard(req: { triageId: string; channel: string; card: CardContext }): Promise<SlackMessageRef> {
      return post(req.triageId, req.channel, approvalCard(req.card));
    },

    async postApprovalReminder(req: { triageId: string; message: SlackMessageRef; card: CardContext }): Promise<SlackMessageRef> {
      return post(req.triageId, req.message.channelId, reminderMessage(req.card), req.message.ts);
    },

    /** Replaces the buttons with the outcome, so a stale card cannot be clicked into a decision. */
    async closeApprovalCard(req: { triageId: string; message: SlackMessageRef; card: CardContext; outcome: CardOutcome }): Promise<void> {
      const message = closedCard(req.card, req.outcome);
      const slack = client(req.triageId);
      try {
        await pace(req.message.channelId);
        await slack.chat.update({ channel: req.message.channelId, ts: req.message.ts, text: message.text, blocks: message.blocks });
      } catch (err) {
        throw slackFailure(err);
      }
    },

    /**
     * The plan's note, filled with the issue and the decision, posted to the
     * plan's channel as configured: the broker forwards exactly that and
     * nothing else. A plan approved before the note was planned has none.
     */
    async postIncidentNote(req: {
      triageId: string;
      note?: PlannedNote;
      decision: DecisionWords;
      issue: { repo: string; url: string; number: number };
    }): Promise<SlackMessageRef & { permalink?: string }> {
      if (!req.note) throw invalidRequest(SURFACE, 'the approved plan has no #incidents note (it predates the note in the plan)');
      let message: PlannedNote;
      try {
        message = fillNote(req.note, noteValues(req.decision, req.issue), { repo: req.issue.repo });
      } catch (err) {
        if (err instanceof PlaceholderError) throw invalidRequest(SURFACE, `note: ${err.message}`);
        throw err;
      }
      const slack = client(req.triageId);
      let ref: SlackMessageRef;
      try {
        ref = await send(slack, message.channel, message);
      } catch (err) {
        throw slackFailure(err);
      }
      try {
        const { permalink } = await slack.chat.getPermalink({ channel: ref.channelId, message_ts: ref.ts });
        return { ...ref, ...(permalink ? { permalink } : {}) };
      } catch {
        // The note is posted; a missing permalink only costs the link back from the issue.
        return ref;
      }
    },
  };
}

export function slackFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as WebAPICallError & {
    retryAfter?: number;
    statusCode?: number;
    headers?: Record<string, string>;
    data?: { error?: string };
  };
  switch (e?.code) {
    case ErrorCode.RateLimitedError:
      return rateLimitFailure(SURFACE, 429, (e.retryAfter ?? 1) * 1000, 'ratelimited');
    case ErrorCode.PlatformError:
      // `ok: false` answers (channel_not_found, invalid_blocks, not_authed …) will not fix themselves.
      return invalidRequest(SURFACE, `Slack refused the call: ${e.data?.error ?? 'unknown error'}`);
    case ErrorCode.HTTPError:
      return httpFailure({ surface: SURFACE, status: e.statusCode ?? 500, retryAfter: e.headers?.['retry-after'] });
    default:
      return networkFailure(SURFACE, err);
  }
}
