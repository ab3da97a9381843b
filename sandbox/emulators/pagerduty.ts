// A read-only PagerDuty REST API v2 for the sandbox: the incident and its alerts,
// in the documented wire shape (see test/specs/pagerduty-rest-openapiv3.json),
// with PagerDuty's auth header forms, classic offset pagination and error bodies;
// and the scoped-OAuth token endpoint (client-credentials grant) that on the real
// service lives at https://identity.pagerduty.com/oauth/token.
import express, { type NextFunction, type Request, type Response } from 'express';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Scenario, ScenarioAlert, ScenarioIncident, SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import {
  fromLoopback,
  listen,
  requestLogger,
  tokenMatches,
  type ListenOptions,
  type Listening,
  type RequestLogEntry,
} from './http-server.js';
import { IssuedTokens } from './issued-tokens.js';

export interface PagerDutyOAuthOptions {
  clientId: string;
  clientSecret: string;
  /**
   * Grant only these of the requested scopes. PagerDuty silently issues a token
   * with fewer scopes than asked when the app lacks some; this simulates it.
   */
  grantedScopes?: string[];
  /** The client's account as `<region>.<subdomain>` (e.g. `us.acme`); when set, token requests for another account are refused. */
  account?: string;
  /** Lifetime of access tokens (`expires_in`); default one day. */
  tokenTtlSeconds?: number;
}

export interface PagerDutyEmulatorOptions extends ListenOptions {
  scenario: Scenario;
  /** Added latency and error rate on every REST request (scenario `conditions` or the environment). */
  conditions?: SurfaceConditions;
  /** A REST API key, sent as `Token token=…` (or `Bearer …`); it reads everything. At least one of `token` and `oauth` is needed. */
  token?: string;
  /** Enables `POST /oauth/token`; REST routes then also take `Bearer <access token it issued>`. */
  oauth?: PagerDutyOAuthOptions;
  /** Clock in ms since the epoch, for expiry tests. */
  now?: () => number;
}

export interface PagerDutyEmulator extends Listening {
  setFault(fault: Fault | null): void;
  /** API requests received so far, including refused ones. */
  readonly requests: number;
  /** The most recent requests with their User-Agent / X-Triage-Id and status, oldest first. */
  readonly requestLog: readonly RequestLogEntry[];
  /** Every OAuth access token issued so far, expired ones included (for leak scans). */
  issuedTokens(): string[];
}

// PagerDuty's documented error codes for the statuses the emulator produces.
const ERRORS: Record<number, { message: string; code: number }> = {
  400: { message: 'Invalid Input Provided', code: 2001 },
  401: { message: 'Unauthorized', code: 2006 },
  403: { message: 'Access Denied', code: 2010 },
  404: { message: 'Not Found', code: 2100 },
  429: { message: 'Rate Limit Exceeded', code: 2020 },
};

function sendError(res: Response, status: number, errors?: string[]): void {
  const known = ERRORS[status] ?? { message: STATUS_CODES[status] ?? 'Error', code: 2000 };
  res.status(status).json({ error: { message: known.message, code: known.code, ...(errors ? { errors } : {}) } });
}

/** What PagerDuty answers a scoped token that lacks the endpoint's scope (the body carries no code). */
function sendMissingScope(res: Response, scope: string): void {
  res.status(403).json({ error: { message: 'Token missing required scopes', required_scopes: scope } });
}

// ---- OAuth (client-credentials grant) -----------------------------------------

const DEFAULT_OAUTH_TTL_S = 86_400;
/** `as_account-<region>.<subdomain>` names the account a token is for; PagerDuty serves the us and eu regions. */
const ACCOUNT_SCOPE = /^as_account-((?:us|eu)\.[a-z0-9][a-z0-9-]{0,62})$/;
/** Resource scopes look like `incidents.read`, `services.write`, `workflow_integrations:connections.read`. */
const RESOURCE_SCOPE = /^[a-z_]+(?::[a-z_]+)?\.(?:read|write)$/;

interface OAuthGrant {
  scopes: Set<string>;
}

/** RFC 6749 section 5.2 error responses, which PagerDuty's identity service follows. */
function sendOAuthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set({ 'cache-control': 'no-store', pragma: 'no-cache' }).json({ error, error_description: description });
}

function accessToken(): string {
  // PagerDuty's documented shape: pdus+_0<account-ish id>_<uuid>.
  return `pdus+_0${randomBytes(4).toString('hex').toUpperCase().slice(0, 6)}_${randomUUID()}`;
}

/** The API's classic pagination caps `limit` at 100 and `offset + limit` at 10,000. */
const MAX_LIMIT = 100;
const MAX_OFFSET_WINDOW = 10_000;
const DEFAULT_LIMIT = 25;
const SORTS = new Set(['created_at', 'resolved_at', 'created_at:asc', 'created_at:desc', 'resolved_at:asc', 'resolved_at:desc']);
/** `sort_by` takes one or two of SORTS, comma-separated ("A maximum of two fields can be included"). */
const MAX_SORT_FIELDS = 2;
const ALERT_INCLUDES = new Set(['services', 'first_trigger_log_entries', 'incidents']);
const INCIDENT_INCLUDES = new Set([
  'acknowledgers',
  'agents',
  'assignees',
  'conference_bridge',
  'custom_fields',
  'escalation_policies',
  'first_trigger_log_entries',
  'priorities',
  'services',
  'teams',
  'users',
]);
const STATUSES = new Set(['triggered', 'resolved']);

function acceptable(accept: string | undefined): 'ok' | 'bad-version' | 'not-acceptable' {
  if (!accept) return 'ok';
  let sawVersion = false;
  for (const range of accept.split(',')) {
    const [typeRaw, ...params] = range.split(';').map((s) => s.trim());
    const type = (typeRaw ?? '').toLowerCase();
    if (type === 'application/vnd.pagerduty+json') {
      const version = params.find((p) => p.toLowerCase().startsWith('version='))?.slice('version='.length);
      if (version === undefined || version === '2') return 'ok';
      sawVersion = true;
    } else if (type === 'application/json' || type === 'application/*' || type === '*/*') {
      return 'ok';
    }
  }
  return sawVersion ? 'bad-version' : 'not-acceptable';
}

function queryValues(req: Request, name: string): string[] {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function singleQuery(req: Request, name: string): string | undefined {
  return queryValues(req, name)[0];
}

interface Urls {
  api: string;
  web: string;
}

function reference(type: string, id: string, summary: string, self: string, html: string) {
  return { id, type, summary, self, html_url: html };
}

function serviceRef(incident: ScenarioIncident, urls: Urls) {
  const s = incident.service;
  return reference(
    'service_reference',
    s.id,
    s.summary,
    `${urls.api}/services/${s.id}`,
    s.html_url ?? `${urls.web}/service-directory/${s.id}`,
  );
}

function logEntryRef(incident: ScenarioIncident, urls: Urls) {
  const id = `R${incident.id}TRIG`.slice(0, 32);
  return {
    id,
    type: 'trigger_log_entry_reference',
    summary: 'Triggered through the API.',
    self: `${urls.api}/log_entries/${id}?incident_id=${incident.id}`,
    html_url: `${urls.web}/incidents/${incident.id}/log_entries/${id}`,
  };
}

/** Every incident has a de-duplication key; PagerDuty makes up a 32-hex one when the trigger did not give one. */
function incidentKey(incident: ScenarioIncident): string {
  return incident.incident_key ?? createHash('sha256').update(`incident-key/${incident.id}`).digest('hex').slice(0, 32);
}

/** Every service has an escalation policy, so every incident names one; a scenario that leaves it out gets the account's "Default". */
function escalationPolicy(incident: ScenarioIncident): { id: string; summary: string } {
  if (incident.escalation_policy) return incident.escalation_policy;
  const id = `P${createHash('sha256').update(`escalation-policy/${incident.service.id}`).digest('hex').slice(0, 6).toUpperCase()}`;
  return { id, summary: 'Default' };
}

function renderIncident(incident: ScenarioIncident, alerts: ScenarioAlert[], urls: Urls) {
  const triggered = alerts.filter((a) => a.status === 'triggered').length;
  const lastChange = incident.last_status_change_at ?? incident.updated_at ?? incident.created_at;
  const userRef = (r: { id: string; summary: string }) =>
    reference('user_reference', r.id, r.summary, `${urls.api}/users/${r.id}`, `${urls.web}/users/${r.id}`);
  const ep = escalationPolicy(incident);
  return {
    id: incident.id,
    type: 'incident',
    summary: `[#${incident.incident_number}] ${incident.title}`,
    self: `${urls.api}/incidents/${incident.id}`,
    html_url: incident.html_url,
    incident_number: incident.incident_number,
    title: incident.title,
    description: incident.description ?? incident.title,
    created_at: incident.created_at,
    updated_at: incident.updated_at ?? lastChange,
    status: incident.status,
    incident_key: incidentKey(incident),
    service: serviceRef(incident, urls),
    // The API empties assignments once an incident is resolved.
    assignments:
      incident.status === 'resolved' ? [] : (incident.assignments ?? []).map((a) => ({ at: a.at, assignee: userRef(a.assignee) })),
    assigned_via: 'escalation_policy',
    last_status_change_at: lastChange,
    resolved_at: incident.resolved_at ?? null,
    first_trigger_log_entry: logEntryRef(incident, urls),
    alert_counts: { all: alerts.length, triggered, resolved: alerts.length - triggered },
    is_mergeable: true,
    incident_type: { name: 'incident_default' },
    escalation_policy: reference(
      'escalation_policy_reference',
      ep.id,
      ep.summary,
      `${urls.api}/escalation_policies/${ep.id}`,
      `${urls.web}/escalation_policies/${ep.id}`,
    ),
    teams: (incident.teams ?? []).map((t) =>
      reference('team_reference', t.id, t.summary, `${urls.api}/teams/${t.id}`, `${urls.web}/teams/${t.id}`),
    ),
    pending_actions: [],
    acknowledgements: [],
    alert_grouping: null,
    last_status_change_by: serviceRef(incident, urls),
    priority: incident.priority
      ? {
          id: incident.priority.id,
          type: 'priority_reference',
          summary: incident.priority.summary,
          self: `${urls.api}/priorities/${incident.priority.id}`,
        }
      : null,
    resolve_reason: null,
    incidents_responders: [],
    responder_requests: [],
    subscriber_requests: [],
    urgency: incident.urgency,
  };
}

/** Alerts only reach PagerDuty through an integration; a scenario that leaves it out gets the service's Events API v2 one. */
function alertIntegration(alert: ScenarioAlert, incident: ScenarioIncident): { id: string; summary: string } {
  if (alert.integration) return alert.integration;
  const id = `P${createHash('sha256').update(`integration/${incident.service.id}`).digest('hex').slice(0, 6).toUpperCase()}`;
  return { id, summary: 'Events API V2' };
}

function renderAlert(alert: ScenarioAlert, incident: ScenarioIncident, urls: Urls) {
  const integration = alertIntegration(alert, incident);
  return {
    id: alert.id,
    type: 'alert',
    summary: alert.summary,
    self: `${urls.api}/incidents/${incident.id}/alerts/${alert.id}`,
    html_url: `${urls.web}/alerts/${alert.id}`,
    created_at: alert.created_at,
    status: alert.status,
    resolved_at: alert.resolved_at ?? null,
    alert_key: alert.alert_key ?? alert.id.toLowerCase(),
    service: serviceRef(incident, urls),
    first_trigger_log_entry: logEntryRef(incident, urls),
    incident: reference(
      'incident_reference',
      incident.id,
      `[#${incident.incident_number}] ${incident.title}`,
      `${urls.api}/incidents/${incident.id}`,
      incident.html_url,
    ),
    suppressed: alert.suppressed ?? false,
    severity: alert.severity,
    integration: reference(
      'events_api_v2_inbound_integration_reference',
      integration.id,
      integration.summary,
      `${urls.api}/services/${incident.service.id}/integrations/${integration.id}`,
      `${urls.web}/services/${incident.service.id}/integrations/${integration.id}`,
    ),
    body: {
      type: 'alert_body',
      contexts: alert.body?.contexts ?? [],
      details: alert.body?.details ?? {},
      ...(alert.body?.cef_details ? { cef_details: alert.body.cef_details } : {}),
    },
  };
}

/** Orders by each `field[:dir]` in turn, then by id so pages are stable. */
function compareBy(sorts: string[]): (a: ScenarioAlert, b: ScenarioAlert) => number {
  const keys = sorts.map((sort) => {
    const [field, dir] = sort.split(':') as [string, string | undefined];
    const sign = dir === 'desc' ? -1 : 1;
    const at = (a: ScenarioAlert) => Date.parse((field === 'resolved_at' ? (a.resolved_at ?? '') : a.created_at) || '1970-01-01T00:00:00Z');
    return { sign, at };
  });
  return (a, b) => {
    for (const { sign, at } of keys) {
      const d = at(a) - at(b);
      if (d !== 0) return sign * d;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

function parseIntParam(raw: string | undefined, name: string, errors: string[]): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) {
    errors.push(`${name[0]!.toUpperCase()}${name.slice(1)} must be a non-negative integer.`);
    return undefined;
  }
  return Number(raw);
}

interface AppOptions {
  scenario: Scenario;
  token: string | undefined;
  oauth:
    | (Required<Pick<PagerDutyOAuthOptions, 'clientId' | 'clientSecret' | 'tokenTtlSeconds'>> &
        Pick<PagerDutyOAuthOptions, 'grantedScopes' | 'account'>)
    | undefined;
  tokens: IssuedTokens<OAuthGrant>;
  now: () => number;
  faults: FaultSwitch;
  onRequest: () => void;
  log: RequestLogEntry[];
}

function tokenEndpoint(opts: AppOptions) {
  const form = express.urlencoded({ extended: false, limit: '16kb', type: 'application/x-www-form-urlencoded', parameterLimit: 20 });
  return [
    form,
    (req: Request, res: Response) => {
      opts.onRequest();
      const oauth = opts.oauth;
      if (!oauth) {
        sendOAuthError(res, 400, 'unauthorized_client', 'this sandbox PagerDuty has no OAuth client configured');
        return;
      }
      if (!req.is('application/x-www-form-urlencoded')) {
        sendOAuthError(res, 400, 'invalid_request', 'the request body must be application/x-www-form-urlencoded');
        return;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const param = (name: string): string | undefined | null => {
        const v = body[name];
        // A repeated parameter is an error in OAuth 2.0 (RFC 6749 section 3.2).
        return v === undefined ? undefined : typeof v === 'string' ? v : null;
      };
      const grantType = param('grant_type');
      const clientId = param('client_id');
      const clientSecret = param('client_secret');
      const scope = param('scope');
      if (grantType === null || clientId === null || clientSecret === null || scope === null) {
        sendOAuthError(res, 400, 'invalid_request', 'a parameter was given more than once');
        return;
      }
      if (!grantType) {
        sendOAuthError(res, 400, 'invalid_request', 'grant_type is required');
        return;
      }
      if (grantType !== 'client_credentials') {
        sendOAuthError(res, 400, 'unsupported_grant_type', 'this client may only use the client_credentials grant');
        return;
      }
      // Both compared every time, so timing does not tell which one was wrong.
      const idOk = tokenMatches(clientId ?? '', oauth.clientId);
      const secretOk = tokenMatches(clientSecret ?? '', oauth.clientSecret);
      if (!idOk || !secretOk) {
        sendOAuthError(res, 401, 'invalid_client', 'client authentication failed');
        return;
      }
      const requested = (scope ?? '').split(' ').filter((s) => s.length > 0);
      const accounts = requested.map((s) => ACCOUNT_SCOPE.exec(s)?.[1]).filter((a): a is string => a !== undefined);
      const resources = requested.filter((s) => !s.startsWith('as_account-'));
      if (
        accounts.length !== 1 ||
        resources.some((s) => !RESOURCE_SCOPE.test(s)) ||
        (oauth.account !== undefined && accounts[0] !== oauth.account)
      ) {
        sendOAuthError(res, 400, 'invalid_request', 'Invalid scope');
        return;
      }
      const allowed = oauth.grantedScopes === undefined ? undefined : new Set(oauth.grantedScopes);
      const granted = [...new Set(resources)].filter((s) => allowed === undefined || allowed.has(s));
      const token = accessToken();
      opts.tokens.add(token, { scopes: new Set(granted) }, opts.now() + oauth.tokenTtlSeconds * 1000);
      res
        .status(200)
        .set({ 'cache-control': 'no-store', pragma: 'no-cache' })
        .json({
          access_token: token,
          scope: [`as_account-${accounts[0]}`, ...granted].join(' '),
          token_type: 'bearer',
          expires_in: oauth.tokenTtlSeconds,
        });
    },
  ];
}

/** What every REST request passes: added latency, injected faults, the key or scoped token, and the Accept header. */
function restGate(opts: AppOptions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    opts.onRequest();
    await opts.faults.delay();
    const fault = opts.faults.take();
    if (fault) {
      if (fault.retryAfterSeconds !== undefined) res.set('Retry-After', String(fault.retryAfterSeconds));
      sendError(res, fault.status);
      return;
    }
    // REST API keys use `Token token=…`; scoped OAuth (what the broker mints) uses `Bearer …`.
    const m = /^(Token token=|Bearer )(\S+)$/.exec(req.get('authorization') ?? '');
    const given = m?.[2];
    let scopes: Set<string> | 'api-key' | undefined;
    if (given !== undefined && opts.token !== undefined && tokenMatches(given, opts.token)) {
      scopes = 'api-key';
    } else if (given !== undefined && m?.[1] === 'Bearer ') {
      const checked = opts.tokens.check(given);
      if ('grant' in checked) scopes = checked.grant.scopes;
    }
    if (scopes === undefined) {
      // Unknown and expired tokens alike: PagerDuty answers 401 and the client mints a new one.
      sendError(res, 401);
      return;
    }
    const reading = req.method === 'GET' || req.method === 'HEAD';
    if (scopes !== 'api-key' && !scopes.has(reading ? 'incidents.read' : 'incidents.write')) {
      sendMissingScope(res, reading ? 'incidents.read' : 'incidents.write');
      return;
    }
    if (!reading) {
      sendError(res, 403, ['The sandbox PagerDuty API grants a read-only key.']);
      return;
    }
    const accept = acceptable(req.get('accept'));
    if (accept === 'bad-version') {
      sendError(res, 400, ['The Accept header must request version 2 of the API.']);
      return;
    }
    if (accept === 'not-acceptable') {
      sendError(res, 406);
      return;
    }
    next();
  };
}

/** The scenario's one incident, by its id or its number, as the API accepts either. */
function findIncident(opts: AppOptions, idOrNumber: string): ScenarioIncident | undefined {
  const { incident } = opts.scenario.pagerduty;
  return idOrNumber === incident.id || idOrNumber === String(incident.incident_number) ? incident : undefined;
}

function urlsFor(opts: AppOptions, req: Request): Urls {
  return { api: `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`, web: new URL(opts.scenario.pagerduty.incident.html_url).origin };
}

function getIncident(opts: AppOptions) {
  return (req: Request, res: Response): void => {
    const found = findIncident(opts, String(req.params.id));
    if (!found) {
      sendError(res, 404);
      return;
    }
    // The references come back as references whatever is asked; an unknown name is still refused, as for alerts.
    if (queryValues(req, 'include[]').some((s) => !INCIDENT_INCLUDES.has(s))) {
      sendError(res, 400, [`Include must be one of ${[...INCIDENT_INCLUDES].join(', ')}.`]);
      return;
    }
    res.json({ incident: renderIncident(found, opts.scenario.pagerduty.alerts, urlsFor(opts, req)) });
  };
}

function listAlerts(opts: AppOptions) {
  return (req: Request, res: Response): void => {
    const found = findIncident(opts, String(req.params.id));
    if (!found) {
      sendError(res, 404);
      return;
    }
    const errors: string[] = [];
    const limitRaw = parseIntParam(singleQuery(req, 'limit'), 'limit', errors);
    const offset = parseIntParam(singleQuery(req, 'offset'), 'offset', errors) ?? 0;
    if (limitRaw === 0) errors.push('Limit must be greater than 0.');
    const limit = Math.min(limitRaw ?? DEFAULT_LIMIT, MAX_LIMIT);
    const totalRaw = singleQuery(req, 'total');
    if (totalRaw !== undefined && totalRaw !== 'true' && totalRaw !== 'false') errors.push('Total must be true or false.');
    const sorts = (singleQuery(req, 'sort_by') ?? 'created_at').split(',');
    const badSort = sorts.find((s) => !SORTS.has(s));
    if (badSort !== undefined) errors.push(`Sort by "${badSort.slice(0, 40)}" is not supported.`);
    else if (sorts.length > MAX_SORT_FIELDS) errors.push(`Sort by takes at most ${MAX_SORT_FIELDS} fields.`);
    const statuses = queryValues(req, 'statuses[]');
    if (statuses.some((s) => !STATUSES.has(s))) errors.push('Statuses must be triggered or resolved.');
    if (queryValues(req, 'include[]').some((s) => !ALERT_INCLUDES.has(s)))
      errors.push('Include must be services, first_trigger_log_entries or incidents.');
    if (errors.length === 0 && offset + limit > MAX_OFFSET_WINDOW)
      errors.push(`Offset must be less than ${MAX_OFFSET_WINDOW - limit + 1}.`);
    if (errors.length > 0) {
      sendError(res, 400, errors);
      return;
    }
    const alertKey = singleQuery(req, 'alert_key');
    const selected = opts.scenario.pagerduty.alerts
      .filter(
        (a) =>
          (statuses.length === 0 || statuses.includes(a.status)) &&
          (alertKey === undefined || (a.alert_key ?? a.id.toLowerCase()) === alertKey),
      )
      .sort(compareBy(sorts));
    const page = selected.slice(offset, offset + limit);
    const urls = urlsFor(opts, req);
    res.json({
      alerts: page.map((a) => renderAlert(a, found, urls)),
      limit,
      offset,
      more: offset + page.length < selected.length,
      // Counting is opt-in on the real API (`total=true`); otherwise it answers null.
      total: totalRaw === 'true' ? selected.length : null,
    });
  };
}

// Express 5 needs the four-argument signature to recognise an error handler.
function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (req.path === '/oauth/token') {
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.parse.failed' || type === 'entity.too.large' || type === 'parameters.too.many')
      sendOAuthError(res, 400, 'invalid_request', 'the request body could not be read');
    else sendOAuthError(res, 500, 'server_error', 'internal error');
    return;
  }
  sendError(res, 500);
}

function createPagerDutyApp(opts: AppOptions) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(opts.log));

  // Sandbox-only: what a leak scan looks for. Loopback only; no auth and no faults.
  app.get('/_sandbox/issued-tokens', (req, res) => {
    if (!fromLoopback(req)) {
      res.status(403).json({ error: { message: 'sandbox control routes answer loopback clients only', code: 2010 } });
      return;
    }
    res.json({ tokens: opts.tokens.all() });
  });

  // The token endpoint is another service in production (identity.pagerduty.com), so REST faults leave it alone.
  app.post('/oauth/token', ...tokenEndpoint(opts));

  app.use(restGate(opts));
  app.get('/incidents/:id', getIncident(opts));
  app.get('/incidents/:id/alerts', listAlerts(opts));
  app.use((_req: Request, res: Response) => {
    sendError(res, 404);
  });
  app.use(errorHandler);
  return app;
}

export async function startPagerDutyEmulator(options: PagerDutyEmulatorOptions): Promise<PagerDutyEmulator> {
  if (options.token === undefined && options.oauth === undefined)
    throw new Error('the PagerDuty emulator needs a token, an OAuth client, or both');
  if (options.token !== undefined && options.token.length === 0) throw new Error('the PagerDuty emulator needs a non-empty token');
  const oauth = options.oauth;
  if (oauth) {
    if (oauth.clientId.length === 0 || oauth.clientSecret.length === 0)
      throw new Error('the PagerDuty OAuth client needs a non-empty id and secret');
    if (oauth.tokenTtlSeconds !== undefined && (!Number.isInteger(oauth.tokenTtlSeconds) || oauth.tokenTtlSeconds < 1)) {
      throw new Error('the PagerDuty OAuth tokenTtlSeconds must be a positive integer');
    }
    if (oauth.account !== undefined && !ACCOUNT_SCOPE.test(`as_account-${oauth.account}`))
      throw new Error('the PagerDuty OAuth account must look like us.<subdomain> or eu.<subdomain>');
    const bad = oauth.grantedScopes?.find((s) => !RESOURCE_SCOPE.test(s));
    if (bad !== undefined)
      throw new Error(`the PagerDuty OAuth granted scope ${JSON.stringify(bad)} is not a resource scope like incidents.read`);
  }
  const now = options.now ?? Date.now;
  let requests = 0;
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);
  const tokens = new IssuedTokens<OAuthGrant>(now);
  const app = createPagerDutyApp({
    scenario: options.scenario,
    token: options.token,
    oauth: oauth && {
      clientId: oauth.clientId,
      clientSecret: oauth.clientSecret,
      tokenTtlSeconds: oauth.tokenTtlSeconds ?? DEFAULT_OAUTH_TTL_S,
      ...(oauth.grantedScopes ? { grantedScopes: [...oauth.grantedScopes] } : {}),
      ...(oauth.account !== undefined ? { account: oauth.account } : {}),
    },
    tokens,
    now,
    faults,
    onRequest: () => void requests++,
    log,
  });
  const server = await listen(app, options);
  return {
    url: server.url,
    close: server.close,
    setFault: (fault) => faults.set(fault),
    get requests() {
      return requests;
    },
    requestLog: log,
    issuedTokens: () => tokens.all(),
  };
}
