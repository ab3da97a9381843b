// Slack interactivity: an Approve / Reject click on the approval card becomes
// the workflow's `decide` Update. Bolt runs in HTTP mode on the gateway's own
// Express app (an ExpressReceiver given our app and a router of ours), so
// Bolt's signature check guards the route and the PagerDuty webhook is left
// untouched. The gateway holds no bot token: every answer to the clicker goes
// to the interaction's response_url, which needs none.
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { App, ExpressReceiver, LogLevel, type Context, type Logger as BoltLogger, type RespondFn } from '@slack/bolt';
import type { FetchFunction } from '@slack/web-api';
import { z } from 'zod';
import { APPROVE_ACTION_ID, decodeActionValue, REJECT_ACTION_ID, type DecisionChoice } from '../workflows/messages.js';
import type { LogFields, Logger } from '../config/logger.js';
import { SLACK_TIMESTAMP_HEADER, slackTimestampVerdict, type SlackTimestampVerdict } from './slack-signature.js';
import { TemporalUnavailableError, withinDeadline, type DecideResult, type TriageClient } from './triage-client.js';

/** Bolt's default Request URL path; Slack's app settings point Interactivity here. */
export const SLACK_EVENTS_PATH = '/slack/events';

/**
 * A block_actions payload carries the whole card message; Block Kit caps a
 * message at 50 blocks of a few KB each, so 1 MiB is generous and still far
 * below Bolt's 4 MB default.
 */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;

// Slack user and channel ids (U0ALICE, W012AB3CD, C0123ABCD): the only shape
// that may reach a workflow input, an Update id or a log line.
const SLACK_ID = /^[A-Z0-9]{1,32}$/;
const MESSAGE_TS = /^\d{1,12}\.\d{1,9}$/;
const LOGGABLE_ACTION_ID = /^[A-Za-z0-9_.:-]{1,255}$/;

export interface SlackInteractionsOptions {
  /**
   * Called on every request, so a rotated secret file takes effect without a
   * restart (Bolt accepts a function for exactly this). Throw, or return '',
   * when no secret is available: the request is then answered 503.
   */
  signingSecret: () => string;
  triage: Pick<TriageClient, 'decide'>;
  logger: Logger;
  /**
   * How long a click waits for the `decide` Update: the one timeout on that
   * path (see `withinDeadline`). The click is already acknowledged, so this
   * bounds only how long the clicker waits to be told "try again".
   */
  decideTimeoutMs?: number;
  /** How long posting to a response_url may take. */
  respondTimeoutMs?: number;
  now?: () => number;
}

export interface ClickIdentity {
  channelId: string;
  messageTs: string;
  userId: string;
  actionId: string;
  planHash: string;
}

/**
 * The Update id for a click: the card message, who clicked, which button, and
 * the plan the card showed. Every delivery of one click carries the same
 * values, and so does a second click by the same person on the same button
 * (a double click, or "try again" after a timeout): Temporal runs that Update
 * once and gives every duplicate the first one's result, so the clicker reads
 * "Recorded" twice instead of "already decided". `action_ts` is left out on
 * purpose: it differs per click and would turn a double click into a second
 * Update that the validator refuses. A different button or a different user
 * is a different Update, which the validator refuses once a decision exists;
 * a newer plan on the same message is a different Update too. A refused
 * Update leaves nothing behind, so the same id is simply validated again.
 */
export function decisionUpdateId(click: ClickIdentity): string {
  return `slack:${click.channelId}:${click.messageTs}:${click.userId}:${click.actionId}:${click.planHash}`;
}

/** The signing secret, or undefined when none can be read. */
export function readSigningSecret(signingSecret: () => string): string | undefined {
  try {
    const secret = signingSecret();
    return secret.length > 0 ? secret : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves POST /slack/events on `app`. Call before the app's catch-all 404.
 * Without this call the path is simply not served.
 */
export function mountSlackInteractions(app: Express, options: SlackInteractionsOptions): void {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const decideTimeoutMs = options.decideTimeoutMs ?? 10_000;
  const respondTimeoutMs = options.respondTimeoutMs ?? 5_000;

  const router = express.Router();
  // Registered before Bolt's handler on the same route, so it runs first.
  router.post(SLACK_EVENTS_PATH, (req: Request, res: Response, next: NextFunction) => {
    const startedAt = performance.now();
    const verdict = slackTimestampVerdict(req.get(SLACK_TIMESTAMP_HEADER), now());
    // Acknowledged interactions log their own line once the work is done; this
    // one covers requests that never reached a listener.
    res.once('finish', () => {
      if (res.statusCode === 200) return;
      const outcome = typeof res.locals.slackOutcome === 'string' ? res.locals.slackOutcome : refusalOutcome(res.statusCode, verdict);
      logger[res.statusCode >= 500 ? 'error' : 'warn']('slack request refused', {
        outcome,
        statusCode: res.statusCode,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });
    if (verdict === 'future' || verdict === 'missing' || verdict === 'malformed') {
      res.locals.slackOutcome = `timestamp-${verdict}`;
      res.status(401).end();
      return;
    }
    // Bolt would answer 401 (empty secret) or 400 (a throwing one); this is our
    // misconfiguration, not a forged request, so it is a 503 with its own log.
    if (readSigningSecret(options.signingSecret) === undefined) {
      res.locals.slackOutcome = 'signing-secret-unavailable';
      res.status(503).end();
      return;
    }
    // Bolt unwraps `payload=` only when Content-Type is exactly this string and
    // otherwise fails to parse the form as JSON (400). Slack sends it bare;
    // browsers and fetch() add `;charset=UTF-8`, so the sandbox's page would
    // not. The header is not signed and only selects the parser.
    if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.get('content-type') ?? '')) {
      req.headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    next();
  });

  const boltLogger = forwardBoltErrors(logger);
  const receiver = new ExpressReceiver({
    // Read again here (a second tiny file read) because Bolt's callback gets no
    // request to carry the first read on. Should the file vanish between the
    // two reads, Bolt answers that one request 400 and Slack shows it failed.
    signingSecret: async () => options.signingSecret(),
    endpoints: SLACK_EVENTS_PATH,
    app,
    router,
    // ack() sends the 200 at once; the Update runs after it.
    processBeforeResponse: false,
    bodyLimit: SLACK_BODY_LIMIT_BYTES,
    logger: boltLogger,
  });

  const bolt = new App({
    receiver,
    // No bot token: replies go to response_url. Bolt insists on some way to
    // authorize, so this one yields an empty context.
    authorize: async () => ({}),
    ignoreSelf: false,
    // The default conversation store keeps per-channel state in memory forever.
    convoStore: false,
    logger: boltLogger,
    logLevel: LogLevel.ERROR,
    clientOptions: { fetch: timedFetch(respondTimeoutMs) },
  });

  bolt.error(async (error) => {
    logger.error('slack listener failed', { error });
  });

  // Only block_actions are ours. Anything else Slack may send to this URL is
  // acknowledged so Slack does not report a failure, and changes nothing.
  bolt.use(async (args) => {
    const body = args.body as { type?: unknown };
    if (body.type === 'block_actions') {
      await args.next();
      return;
    }
    await acknowledge(args);
    logger.info('slack interaction', {
      payloadType: typeof body.type === 'string' && LOGGABLE_ACTION_ID.test(body.type) ? body.type : 'unknown',
      outcome: 'ignored',
    });
  });

  // A click is acknowledged at once (Slack wants the 200 within 3 s; the
  // Update may take longer) and read field by field before any listener
  // runs, so Bolt's routing by action id only ever sees a well-formed click.
  bolt.use(async (args) => {
    await acknowledge(args);
    const click = readClick(args.body);
    if (click.kind === 'unreadable') {
      await answer(respondOf(args), () => ({
        outcome: 'malformed-payload',
        level: 'warn',
        fields: click.fields,
        reply: 'Not recorded: this click could not be read. Nothing was changed.',
      }));
      return;
    }
    args.context[CLICK] = click;
    await args.next();
  });

  bolt.action(APPROVE_ACTION_ID, ({ context, respond }) => answer(respond, () => decideClick(clickIn(context), 'approve')));
  bolt.action(REJECT_ACTION_ID, ({ context, respond }) => answer(respond, () => decideClick(clickIn(context), 'reject')));
  bolt.action(anyActionIdExcept(APPROVE_ACTION_ID, REJECT_ACTION_ID), ({ context, respond }) =>
    answer(respond, () => otherButton(clickIn(context))),
  );

  router.all(SLACK_EVENTS_PATH, (_req, res) => {
    res.status(405).set('Allow', 'POST').json({ error: 'method not allowed' });
  });

  /** Works out what to tell the clicker, tells them privately, and logs one line. */
  async function answer(respond: RespondFn | undefined, work: () => ClickResult | Promise<ClickResult>): Promise<void> {
    const startedAt = performance.now();
    const result = await work();
    let respondError: string | undefined;
    if (result.reply !== undefined) {
      if (respond === undefined) {
        respondError = 'no response_url in the payload';
      } else {
        try {
          await respond({ response_type: 'ephemeral', replace_original: false, text: result.reply });
        } catch (error) {
          // Bolt's RespondError or fetch's own; neither message carries the URL.
          const message = (error as { message?: unknown } | null)?.message;
          respondError = typeof message === 'string' ? message.slice(0, 200) : 'respond failed';
        }
      }
    }
    logger[result.level]('slack interaction', {
      ...result.fields,
      outcome: result.outcome,
      ...(respondError === undefined ? {} : { respondError }),
      durationMs: Math.round(performance.now() - startedAt),
    });
  }

  /** An Approve or Reject click: the `decide` Update for the incident and plan its button names. */
  async function decideClick(click: ReadableClick, decision: DecisionChoice): Promise<ClickResult> {
    const fields = clickFields(click);
    // The card's own decoder: one definition of the value on both sides.
    const target = typeof click.value === 'string' ? decodeActionValue(click.value) : undefined;
    if (target === undefined) {
      return {
        outcome: 'malformed-value',
        level: 'warn',
        fields,
        reply: 'Not recorded: this button does not name an incident and plan. Nothing was changed.',
      };
    }
    fields.incidentId = target.incidentId;
    if (click.message === undefined) {
      return {
        outcome: 'malformed-payload',
        level: 'warn',
        fields,
        reply: 'Not recorded: this click did not come from an approval card. Nothing was changed.',
      };
    }
    const updateId = decisionUpdateId({ ...click.message, userId: click.userId, actionId: click.actionId, planHash: target.planHash });
    fields.updateId = updateId;

    let decided: DecideResult;
    try {
      decided = await withinDeadline(decideTimeoutMs, (deadline) =>
        options.triage.decide(
          { incidentId: target.incidentId, channel: 'slack', decision, approver: click.userId, planHash: target.planHash, updateId },
          deadline,
        ),
      );
    } catch (error) {
      // The Update may or may not have run; a retry of this click carries the
      // same updateId, so trying again cannot decide twice.
      return {
        outcome: error instanceof TemporalUnavailableError ? 'temporal-unavailable' : 'decide-failed',
        level: 'error',
        fields: { ...fields, error },
        reply: 'Could not reach the triage service; try again.',
      };
    }
    if (decided.status === 'refused') {
      return {
        outcome: 'refused',
        level: 'info',
        fields: { ...fields, reason: decided.reason },
        reply: `Not recorded: ${slackText(decided.reason)}`,
      };
    }
    const { record } = decided;
    return {
      outcome: 'recorded',
      level: 'info',
      fields: { ...fields, decision: record.decision },
      // The clicker's own id, checked above: the updateId names them, so any
      // record handed back for it is theirs.
      reply: `Recorded: ${record.decision === 'approve' ? 'approved' : 'rejected'} by <@${click.userId}>`,
    };
  }
}

/** Any other button: a link on the card, or one this gateway does not know. */
function otherButton(click: ReadableClick): ClickResult {
  const fields = clickFields(click);
  // Link buttons (PagerDuty, Temporal Web UI) also send block_actions; Slack
  // has already opened the link, so there is nothing to say.
  if (click.isLink) return { outcome: 'link-opened', level: 'info', fields };
  return {
    outcome: 'unknown-action',
    level: 'warn',
    fields,
    reply: 'Not recorded: this button is not one the triage service knows. Nothing was changed.',
  };
}

/**
 * Any action id but these. Bolt runs every listener whose constraint matches,
 * so the listener for all other buttons has to leave ours out explicitly.
 */
function anyActionIdExcept(...actionIds: string[]): RegExp {
  const escaped = actionIds.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^(?!(?:${escaped.join('|')})$)`);
}

/** Bolt's ack, which every payload but an Events API event carries. */
async function acknowledge(args: object): Promise<void> {
  const ack = (args as { ack?: unknown }).ack;
  if (typeof ack === 'function') await (ack as () => Promise<void>)();
}

/** Bolt's respond, there when the payload has a response_url. */
function respondOf(args: object): RespondFn | undefined {
  return (args as { respond?: RespondFn }).respond;
}

// Where the click read by the middleware waits for its listener.
const CLICK = 'triageClick';

function clickIn(context: Context): ReadableClick {
  return context[CLICK] as ReadableClick;
}

function clickFields(click: ReadableClick): LogFields {
  return { action: click.actionId, userId: click.userId };
}

interface ClickResult {
  outcome: string;
  /** warn for clicks we could not read (a card bug or a forgery with a valid signature), error for our own failures. */
  level: 'info' | 'warn' | 'error';
  fields: LogFields;
  /** What the clicker is told, privately; nothing when undefined. */
  reply?: string;
}

type Click =
  | {
      kind: 'click';
      actionId: string;
      userId: string;
      value: unknown;
      isLink: boolean;
      message: { channelId: string; messageTs: string } | undefined;
    }
  | { kind: 'unreadable'; fields: LogFields };

type ReadableClick = Extract<Click, { kind: 'click' }>;

// The payload is parsed again here, field by field, although Bolt typed it:
// it is JSON off the network, and what survives goes into an Update and logs.
const clickSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().regex(SLACK_ID) }),
  actions: z
    .array(z.object({ action_id: z.string().regex(LOGGABLE_ACTION_ID), value: z.unknown().optional(), url: z.unknown().optional() }))
    .length(1),
  container: z.object({ message_ts: z.unknown().optional(), channel_id: z.unknown().optional() }).optional(),
  channel: z.object({ id: z.unknown().optional() }).nullish(),
  message: z.object({ ts: z.unknown().optional() }).nullish(),
});

function readClick(body: unknown): Click {
  const parsed = clickSchema.safeParse(body);
  if (!parsed.success) {
    const b = body as { user?: { id?: unknown } } | undefined;
    const userId = b?.user?.id;
    return { kind: 'unreadable', fields: typeof userId === 'string' && SLACK_ID.test(userId) ? { userId } : {} };
  }
  const p = parsed.data;
  const action = p.actions[0]!;
  // Buttons on a message: `container` names the message; older payloads only
  // had `channel` and `message`.
  const channelId = p.container?.channel_id ?? p.channel?.id;
  const messageTs = p.container?.message_ts ?? p.message?.ts;
  const message =
    typeof channelId === 'string' && SLACK_ID.test(channelId) && typeof messageTs === 'string' && MESSAGE_TS.test(messageTs)
      ? { channelId, messageTs }
      : undefined;
  return {
    kind: 'click',
    actionId: action.action_id,
    userId: p.user.id,
    value: action.value,
    isLink: typeof action.url === 'string',
    message,
  };
}

function refusalOutcome(statusCode: number, verdict: SlackTimestampVerdict): string {
  switch (statusCode) {
    case 401:
      // Bolt does not say which check failed; the timestamp tells them apart.
      return verdict === 'expired' ? 'timestamp-expired' : 'signature-invalid';
    case 400:
      return 'body-unreadable';
    case 413:
      return 'body-too-large';
    case 404:
      return 'not-acknowledged';
    default:
      return statusCode >= 500 ? 'internal-error' : `http-${statusCode}`;
  }
}

// Slack reads `&`, `<` and `>` in message text as markup; the refusal reason
// is our own text but names user ids, and must not become a mention or link.
function slackText(text: string): string {
  return text.slice(0, 500).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Bolt's own log lines are dropped except errors: every request already gets
 * one line of ours, and Bolt's debug output would carry payloads.
 */
function forwardBoltErrors(logger: Logger): BoltLogger {
  let level = LogLevel.ERROR;
  const describe = (part: unknown): string =>
    part instanceof Error ? `${part.name}: ${part.message}` : typeof part === 'string' ? part : typeof part;
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (...parts: unknown[]) => logger.error('slack bolt error', { detail: parts.map(describe).join(' ').slice(0, 500) }),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Bolt posts to response_url with this; a hung Slack endpoint must not hold the listener forever. */
function timedFetch(timeoutMs: number): FetchFunction {
  return (url, init) => fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
}
