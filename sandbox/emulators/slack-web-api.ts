// The Web API methods the triage app calls, under /api/<method>, in Slack's wire
// shapes: every answer is `{ ok: … }`, refusals included, mostly with HTTP 200,
// as Slack answers, so @slack/web-api works against it unchanged.
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { FaultSwitch } from './fault.js';
import { requestLogger, tokenMatches, type RequestLogEntry } from './http-server.js';
import { SlackApiError, contentArgs, hasContent, isObject, stringArg, type Params } from './slack-arguments.js';
import { APP, type ChannelRecord, type SlackWorkspace } from './slack-workspace.js';

/** The bot's grant (DESIGN.md): Slack reports it in `x-oauth-scopes`, which @slack/web-api surfaces. */
const BOT_SCOPES = 'chat:write,channels:read';
const CONVERSATIONS_LIST_DEFAULT_LIMIT = 100;
const CONVERSATIONS_LIST_MAX_LIMIT = 1000;
const CONVERSATION_TYPES = new Set(['public_channel', 'private_channel', 'mpim', 'im']);

/** Answers `{ ok: false, error }` and records the error for the request log. */
function sendSlackError(res: Response, status: number, error: string, extra: Record<string, unknown> = {}): void {
  res.locals.slackError = error;
  res.status(status).json({ ok: false, error, ...extra });
}

function requireChannel(ws: SlackWorkspace, p: Params, allowName: boolean): ChannelRecord {
  const channel = ws.channelByRef(stringArg(p, 'channel'), allowName);
  if (!channel) throw new SlackApiError('channel_not_found');
  return channel;
}

// ---- the methods -------------------------------------------------------------------

type Method = (ws: SlackWorkspace, p: Params, res: Response) => Record<string, unknown>;

function authTest(ws: SlackWorkspace): Record<string, unknown> {
  return {
    url: `${ws.baseUrl}/`,
    team: 'Keyless Sandbox',
    user: APP.name,
    team_id: ws.teamId,
    user_id: APP.botUserId,
    bot_id: APP.botId,
    is_enterprise_install: false,
  };
}

function conversationsList(ws: SlackWorkspace, p: Params): Record<string, unknown> {
  const types = (stringArg(p, 'types') ?? 'public_channel')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0 || !types.every((t) => CONVERSATION_TYPES.has(t))) throw new SlackApiError('invalid_types');
  const limitRaw = stringArg(p, 'limit');
  const limit = limitRaw === undefined || limitRaw === '' ? CONVERSATIONS_LIST_DEFAULT_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 0 || limit > CONVERSATIONS_LIST_MAX_LIMIT) throw new SlackApiError('invalid_limit');
  // Slack treats limit=0 as its default page size.
  const pageSize = limit === 0 ? CONVERSATIONS_LIST_DEFAULT_LIMIT : limit;
  // Every sandbox channel is public: asking for other types alone lists nothing.
  const all = types.includes('public_channel') ? [...ws.channels.values()] : [];
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
    channels: page.map((c) => ws.channelObject(c)),
    response_metadata: { next_cursor: next ? Buffer.from(`channel:${next.id}`).toString('base64') : '' },
  };
}

function conversationsInfo(ws: SlackWorkspace, p: Params): Record<string, unknown> {
  return { channel: { ...ws.channelObject(requireChannel(ws, p, false)), last_read: '0000000000.000000' } };
}

function chatPostMessage(ws: SlackWorkspace, p: Params, res: Response): Record<string, unknown> {
  const channel = requireChannel(ws, p, true);
  const content = contentArgs(p);
  if (!hasContent(content)) throw new SlackApiError('no_text');
  const retryAfter = ws.takePostToken(channel);
  if (retryAfter !== undefined) {
    res.status(429).set('retry-after', String(retryAfter));
    throw new SlackApiError('ratelimited');
  }
  const m = ws.post(channel, content, stringArg(p, 'thread_ts') || undefined);
  return {
    channel: channel.id,
    ts: m.ts,
    message: ws.messageObject(channel, m),
    // Slack warns when blocks come without the notification fallback text.
    ...(content.text === undefined || content.text === ''
      ? { warning: 'missing_text', response_metadata: { warnings: ['missing_text'] } }
      : {}),
  };
}

function chatUpdate(ws: SlackWorkspace, p: Params): Record<string, unknown> {
  const channel = requireChannel(ws, p, false);
  const m = ws.findMessage(channel, stringArg(p, 'ts'));
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
  m.edited = { user: APP.botUserId, ts: ws.nextTs() };
  ws.version++;
  return { channel: channel.id, ts: m.ts, text: m.text, message: ws.messageObject(channel, m) };
}

function chatPostEphemeral(ws: SlackWorkspace, p: Params): Record<string, unknown> {
  const channel = requireChannel(ws, p, true);
  const userId = stringArg(p, 'user');
  if (!userId || !ws.users.has(userId)) throw new SlackApiError('user_not_found');
  const content = contentArgs(p);
  if (!hasContent(content)) throw new SlackApiError('no_text');
  const threadTs = stringArg(p, 'thread_ts') || undefined;
  if (threadTs !== undefined && !ws.findMessage(channel, threadTs)) throw new SlackApiError('invalid_thread_ts');
  return { message_ts: ws.postEphemeral(channel, userId, content, threadTs).ts };
}

function chatGetPermalink(ws: SlackWorkspace, p: Params): Record<string, unknown> {
  const channel = requireChannel(ws, p, false);
  const m = ws.findMessage(channel, stringArg(p, 'message_ts'));
  if (!m) throw new SlackApiError('message_not_found');
  return { channel: channel.id, permalink: ws.permalink(channel, m) };
}

/** `read` methods also answer GET, as Slack's read methods do. */
const METHODS: Record<string, { read: boolean; run: Method }> = {
  'auth.test': { read: true, run: authTest },
  'conversations.list': { read: true, run: conversationsList },
  'conversations.info': { read: true, run: conversationsInfo },
  'chat.postMessage': { read: false, run: chatPostMessage },
  'chat.update': { read: false, run: chatUpdate },
  'chat.postEphemeral': { read: false, run: chatPostEphemeral },
  'chat.getPermalink': { read: true, run: chatGetPermalink },
};

// ---- HTTP --------------------------------------------------------------------

function faultGate(faults: FaultSwitch) {
  return async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
    await faults.delay();
    res.set('x-slack-req-id', randomBytes(16).toString('hex'));
    const fault = faults.take();
    if (!fault) {
      next();
      return;
    }
    if (fault.status === 429) {
      // Slack always names the wait.
      res.set('retry-after', String(fault.retryAfterSeconds ?? 1));
      sendSlackError(res, 429, 'ratelimited');
      return;
    }
    if (fault.retryAfterSeconds !== undefined) res.set('retry-after', String(fault.retryAfterSeconds));
    sendSlackError(
      res,
      fault.status,
      fault.status === 503 ? 'service_unavailable' : fault.status === 500 ? 'internal_error' : 'fatal_error',
    );
  };
}

/** Missing or unknown Content-Type on a body: Slack's own error names. */
function postTypeGate(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST') return next();
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (!hasBody) return next();
  const type = req.get('content-type');
  const error =
    type === undefined
      ? 'missing_post_type'
      : req.is(['application/json', 'application/x-www-form-urlencoded'])
        ? undefined
        : 'invalid_post_type';
  if (!error) return next();
  sendSlackError(res, 200, error);
}

function callMethod(ws: SlackWorkspace, botToken: string) {
  return (req: Request, res: Response): void => {
    res.set('x-oauth-scopes', BOT_SCOPES);
    const name = String(req.params.method);
    const method = Object.prototype.hasOwnProperty.call(METHODS, name) ? METHODS[name] : undefined;
    if (!method) return sendSlackError(res, 404, 'unknown_method', { req_method: name.slice(0, 100) });
    if (req.method !== 'POST' && !(method.read && req.method === 'GET')) {
      res.set('allow', method.read ? 'GET, POST' : 'POST');
      return sendSlackError(res, 405, 'method_not_allowed');
    }
    if (req.method === 'POST' && req.is('application/json') && !isObject(req.body)) return sendSlackError(res, 200, 'json_not_object');
    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!auth) return sendSlackError(res, 200, 'not_authed');
    if (!tokenMatches(auth, botToken)) return sendSlackError(res, 200, 'invalid_auth');
    const p: Params = { ...(req.query as Params), ...(isObject(req.body) ? req.body : {}) };
    try {
      const out = method.run(ws, p, res);
      res.json({ ok: true, ...out });
    } catch (err) {
      if (!(err instanceof SlackApiError)) throw err;
      sendSlackError(res, res.statusCode === 429 ? 429 : 200, err.code, err.extra);
    }
  };
}

export function webApiRouter(opts: { workspace: SlackWorkspace; faults: FaultSwitch; log: RequestLogEntry[]; botToken: string }): Router {
  const api = express.Router();
  api.use(requestLogger(opts.log, (res) => res.locals.slackError as string | undefined));
  api.use(faultGate(opts.faults));
  api.use(postTypeGate);
  api.use(express.json({ limit: '1mb', type: 'application/json' }));
  api.use(express.urlencoded({ limit: '1mb', extended: false, type: 'application/x-www-form-urlencoded' }));
  api.all('/:method', callMethod(opts.workspace, opts.botToken));
  return api;
}
