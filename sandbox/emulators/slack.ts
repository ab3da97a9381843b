// A Slack workspace for the sandbox, both sides of it. The Web API methods the
// triage app calls (auth.test, conversations.list/info, chat.postMessage,
// chat.update, chat.postEphemeral, chat.getPermalink) in Slack's wire shapes, so
// @slack/web-api works against it unchanged; and what Slack does towards the
// app: a click on a message button becomes a `block_actions` request to the
// app's Request URL, signed with the signing secret exactly as Slack signs it,
// whose `response_url` works as Slack's does. A plain web page (sandbox/slack-page/)
// shows the channels and lets a person click as one of the sandbox users; the
// signing secret stays in this process, the page only asks it to click.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { listen, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';
import { SlackInteractivity, type ClickInput, type ClickResult, type InteractionRecord } from './slack-interactivity.js';
import { findPageDir, pageRouter, sandboxRouter } from './slack-sandbox-routes.js';
import { webApiRouter } from './slack-web-api.js';
import { SlackWorkspace, type SandboxMessage, type SandboxSlackState, type SlackEphemeral, type SlackUser } from './slack-workspace.js';

export type { ClickInput, ClickResult, InteractionRecord } from './slack-interactivity.js';
export type { SandboxMessage, SandboxSlackState, SlackEphemeral, SlackMessage, SlackUser } from './slack-workspace.js';

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

function checkOptions(options: SlackEmulatorOptions): void {
  if (!options.botToken || /\s/.test(options.botToken)) throw new Error('Slack emulator: botToken must be one non-empty value');
  if (!options.signingSecret || /\s/.test(options.signingSecret))
    throw new Error('Slack emulator: signingSecret must be one non-empty value');
  if (options.teamId !== undefined && !/^T[A-Z0-9]{2,20}$/.test(options.teamId))
    throw new Error('Slack emulator: teamId must be T followed by uppercase letters and digits');
  if (options.teamDomain !== undefined && !/^[a-z0-9][a-z0-9-]{0,20}$/.test(options.teamDomain))
    throw new Error('Slack emulator: teamDomain must be lowercase letters, digits and "-"');
  if (options.channels.length === 0) throw new Error('Slack emulator: at least one channel is needed');
  if (options.users.length === 0) throw new Error('Slack emulator: at least one user is needed');
  const postLimit = options.channelPostLimit;
  if (postLimit && !(postLimit.perSecond > 0 && Number.isInteger(postLimit.burst) && postLimit.burst >= 1)) {
    throw new Error('Slack emulator: channelPostLimit needs perSecond > 0 and an integer burst >= 1');
  }
}

// Express 5 needs the four-argument signature to recognise an error handler.
function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
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
}

export async function startSlackEmulator(options: SlackEmulatorOptions): Promise<SlackEmulator> {
  checkOptions(options);
  const pageDir = options.pageDir ?? findPageDir();
  const workspace = new SlackWorkspace({
    teamId: options.teamId ?? 'T0SANDBOX',
    teamDomain: options.teamDomain ?? 'keyless-sandbox',
    channels: options.channels,
    users: options.users,
    now: options.now ?? Date.now,
    channelPostLimit: options.channelPostLimit,
  });
  if (options.gatewayUrl !== undefined) workspace.setGatewayUrl(options.gatewayUrl);
  const interactivity = new SlackInteractivity(workspace, options.signingSecret, options.interactivityTimeoutMs);
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/_sandbox', sandboxRouter({ workspace, interactivity, faults }));
  app.use(pageRouter(pageDir));
  app.use('/api', webApiRouter({ workspace, faults, log, botToken: options.botToken }));
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not Found\n');
  });
  app.use(errorHandler);

  const server = await listen(app, options);
  workspace.baseUrl = server.url;

  const channelNamed = (ref: string, given = ref) => {
    const channel = workspace.channelByRef(ref, true);
    if (!channel) throw new RangeError(`Slack emulator: no channel ${given}`);
    return channel;
  };
  return {
    url: server.url,
    close: server.close,
    setFault: (fault) => faults.set(fault),
    requestLog: log,
    interactions: interactivity.interactions,
    messages: (ref) => workspace.channelMessages(channelNamed(ref)),
    ephemerals: (userId) => workspace.ephemeralsOf(userId),
    setGatewayUrl: (url) => workspace.setGatewayUrl(url),
    channelId: (name) => channelNamed(name.startsWith('#') ? name : `#${name}`, name).id,
    click: (input) => interactivity.click(input),
    state: () => workspace.state(),
  };
}
