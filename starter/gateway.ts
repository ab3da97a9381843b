import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { createJsonLogger, type LogFields, type Logger } from '../config/logger.js';
import { PAGERDUTY_SIGNATURE_HEADER, verifyPagerDutySignature } from './pagerduty-signature.js';
import { parsePagerDutyWebhook } from './pagerduty-webhook.js';
import { mountSlackInteractions, readSigningSecret } from './slack-interactions.js';
import { TemporalUnavailableError, withinDeadline, type TriageClient } from './triage-client.js';

export const PAGERDUTY_WEBHOOK_PATH = '/webhooks/pagerduty';

/** PagerDuty drops every webhook above 256 KB, so nothing larger is genuine. */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;

export interface GatewayDeps {
  /** Called per request so a rotated secret takes effect without a restart. */
  secrets: () => readonly string[];
  triage: TriageClient;
  logger?: Logger;
  /** How long `/readyz` waits for `triage.ready()`. */
  readyTimeoutMs?: number;
  /**
   * How long a webhook waits for Temporal: the one timeout on that path (see
   * `withinDeadline`). PagerDuty gives up after 5 s and retries; answering 503
   * first frees the connection and says so in our log.
   */
  webhookTimeoutMs?: number;
  /** Slack interactivity on `/slack/events`; without it that path answers 404. */
  slack?: SlackGatewayOptions;
}

export interface SlackGatewayOptions {
  /** Called per request, like `secrets`, so a rotated signing secret needs no restart. */
  signingSecret: () => string;
  /** How long a click waits for the `decide` Update before the clicker is told to try again. */
  decideTimeoutMs?: number;
}

interface WebhookReply {
  statusCode: number;
  body: Record<string, unknown>;
  outcome: string;
  fields?: LogFields;
}

const UNAVAILABLE = { error: 'temporarily unavailable' } as const;

// X-Webhook-Id and X-Webhook-Subscription are not covered by the signature:
// they are logged and passed on as hints only, and only if they look sane.
const HEADER_TOKEN = /^[\x21-\x7e]{1,128}$/;

export function createGatewayApp(deps: GatewayDeps): Express {
  const logger = deps.logger ?? createJsonLogger({ base: { component: 'gateway' } });
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2_000;
  const webhookTimeoutMs = deps.webhookTimeoutMs ?? 4_000;

  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await isReady(deps, readyTimeoutMs);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready' });
  });

  const sendWebhookReply = (req: Request, res: Response, reply: WebhookReply): void => {
    res.status(reply.statusCode).json(reply.body);
    const level = reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warn' : 'info';
    const startedAt = typeof res.locals.startedAt === 'number' ? res.locals.startedAt : performance.now();
    logger[level]('pagerduty webhook', {
      webhookId: headerToken(req, 'x-webhook-id'),
      subscriptionId: headerToken(req, 'x-webhook-subscription'),
      ...reply.fields,
      outcome: reply.outcome,
      statusCode: reply.statusCode,
      durationMs: Math.round(performance.now() - startedAt),
    });
  };

  const markStart = (_req: Request, res: Response, next: NextFunction): void => {
    res.locals.startedAt = performance.now();
    next();
  };
  // Signatures cover the exact bytes, so the body stays a Buffer whatever
  // Content-Type claims.
  const readRawBody = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES });
  const handle = async (req: Request, res: Response): Promise<void> => {
    sendWebhookReply(req, res, await handlePagerDutyWebhook(req, deps, webhookTimeoutMs));
  };
  // Reached when the body cannot be read, or if the handler itself failed.
  const handleBodyError = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(err);
      return;
    }
    sendWebhookReply(req, res, bodyReadFailure(err));
  };
  app.post(PAGERDUTY_WEBHOOK_PATH, markStart, readRawBody, handle, handleBodyError);

  app.all(PAGERDUTY_WEBHOOK_PATH, (_req, res) => {
    res.status(405).set('Allow', 'POST').json({ error: 'method not allowed' });
  });

  if (deps.slack) {
    mountSlackInteractions(app, {
      signingSecret: deps.slack.signingSecret,
      triage: deps.triage,
      logger,
      ...(deps.slack.decideTimeoutMs === undefined ? {} : { decideTimeoutMs: deps.slack.decideTimeoutMs }),
    });
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      res.status(status).json({ error: 'bad request' });
      return;
    }
    logger.error('unhandled gateway error', { method: req.method, path: req.path, error: err });
    res.status(500).json({ error: 'internal error' });
  });

  return app;
}

async function handlePagerDutyWebhook(req: Request, deps: GatewayDeps, timeoutMs: number): Promise<WebhookReply> {
  const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const refused = checkSignature(req, rawBody, deps);
  if (refused) return refused;

  const event = parsePagerDutyWebhook(rawBody);
  switch (event.kind) {
    case 'invalid':
      return { statusCode: 400, body: { error: event.error }, outcome: 'invalid-payload' };

    case 'ignored':
      return {
        statusCode: 202,
        body: { status: 'ignored', eventType: event.eventType },
        outcome: 'ignored',
        fields: { eventType: event.eventType, eventId: event.eventId },
      };

    case 'start': {
      const webhookId = headerToken(req, 'x-webhook-id');
      const start = { incident: event.incident, eventId: event.eventId, ...(webhookId === undefined ? {} : { webhookId }) };
      return forwardToTemporal(
        { eventType: event.eventType, eventId: event.eventId, incidentId: event.incident.id },
        timeoutMs,
        (deadline) => deps.triage.startTriage(start, deadline),
      );
    }

    case 'resolved':
      return forwardToTemporal(
        { eventType: 'incident.resolved', eventId: event.eventId, incidentId: event.incidentId },
        timeoutMs,
        (deadline) => deps.triage.signalResolved({ incidentId: event.incidentId, eventId: event.eventId }, deadline),
      );
  }
}

/** The reply for a delivery that must go no further, or undefined when its signature checks out. */
function checkSignature(req: Request, rawBody: Buffer, deps: GatewayDeps): WebhookReply | undefined {
  let secrets: string[] | undefined;
  try {
    secrets = configuredSecrets(deps);
  } catch (error) {
    return { statusCode: 503, body: UNAVAILABLE, outcome: 'secrets-unreadable', fields: { error } };
  }
  // Our misconfiguration, not the sender's: 503 keeps PagerDuty retrying while it is fixed.
  if (secrets === undefined) return { statusCode: 503, body: UNAVAILABLE, outcome: 'no-secret-configured' };

  switch (verifyPagerDutySignature(rawBody, req.get(PAGERDUTY_SIGNATURE_HEADER), secrets)) {
    case 'missing':
      return { statusCode: 400, body: { error: 'missing signature' }, outcome: 'signature-missing' };
    case 'malformed':
      return { statusCode: 400, body: { error: 'malformed signature' }, outcome: 'signature-malformed' };
    case 'mismatch':
      return { statusCode: 401, body: { error: 'invalid signature' }, outcome: 'signature-mismatch' };
    case 'ok':
      return undefined;
  }
}

/** 202 with Temporal's answer (the workflow id and what happened to it), or 503 when there was none in time. */
async function forwardToTemporal(
  fields: LogFields,
  timeoutMs: number,
  call: (deadline: number) => Promise<{ workflowId: string; status: string }>,
): Promise<WebhookReply> {
  try {
    const { workflowId, status } = await withinDeadline(timeoutMs, call);
    return { statusCode: 202, body: { status, workflowId }, outcome: status, fields: { ...fields, workflowId } };
  } catch (error) {
    // Any failure on our side is a 5xx: PagerDuty retries those for 48 h but
    // drops a delivery answered with a 4xx, which would lose the page.
    const outcome = error instanceof TemporalUnavailableError ? 'temporal-unavailable' : 'starter-failed';
    return { statusCode: 503, body: UNAVAILABLE, outcome, fields: { ...fields, error } };
  }
}

function bodyReadFailure(err: unknown): WebhookReply {
  const status = clientErrorStatus(err);
  if (status === 413) return { statusCode: 413, body: { error: 'payload too large' }, outcome: 'too-large' };
  if (status !== undefined) return { statusCode: 400, body: { error: 'unreadable body' }, outcome: 'unreadable-body' };
  return { statusCode: 503, body: UNAVAILABLE, outcome: 'internal-error', fields: { error: err } };
}

// Not ready without a webhook secret (or, when Slack is configured, its
// signing secret) either: every delivery or click would get a 503.
async function isReady(deps: GatewayDeps, timeoutMs: number): Promise<boolean> {
  try {
    if (deps.slack && readSigningSecret(deps.slack.signingSecret) === undefined) return false;
    return configuredSecrets(deps) !== undefined && (await withinDeadline(timeoutMs, (deadline) => deps.triage.ready(deadline)));
  } catch {
    return false;
  }
}

/** The usable secrets, or undefined when none is configured. */
function configuredSecrets(deps: GatewayDeps): string[] | undefined {
  const secrets = deps.secrets().filter((s) => s.length > 0);
  return secrets.length > 0 ? secrets : undefined;
}

function headerToken(req: Request, name: string): string | undefined {
  const value = req.get(name);
  return value !== undefined && HEADER_TOKEN.test(value) ? value : undefined;
}

function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
