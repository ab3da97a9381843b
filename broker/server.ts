// The broker's HTTP front: `/healthz`, `/readyz`, `/_broker/status`, and `/<provider>/<upstream path>`
// decided by the policy, given its credential, proxied, and audited. Plain
// node:http, because the proxy needs the raw request target and the raw
// streams, which a framework would parse or buffer first.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { triageIdFrom, type AuditRecord, type AuditSink } from './audit.js';
import { PROVIDERS, type ProviderName } from './config.js';
import type { Logger } from '../config/logger.js';
import { ApprovalUnavailableError, checkWrite, writeKind, type ApprovalSource } from './approval.js';
import type { CallerCheck } from './callers.js';
import { decide, type Policy } from './policy.js';
import type { CredentialProvider, OutboundCredential } from './providers/credential.js';
import { proxyRequest, tooLargeReply, CLIENT_CLOSED_STATUS, type ProxyOptions } from './proxy.js';
import { sendJson } from './reply.js';
import { CredentialUnavailableError } from './secret-file.js';
import type { Upstream } from './upstream.js';

export interface BrokerHandlerDeps {
  policy: Policy;
  credentials: Partial<Record<ProviderName, CredentialProvider>>;
  upstreams: Partial<Record<ProviderName, Upstream>>;
  audit: AuditSink;
  proxy: ProxyOptions;
  log: Logger;
  /** Where a write's approval is read; without one, every write is refused. */
  approvals?: ApprovalSource;
  /** Who may call; absent only on loopback (broker/config.ts refuses it elsewhere). */
  callers?: CallerCheck;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createBrokerHandler(deps: BrokerHandlerDeps): Handler {
  return (req, res) => {
    handle(req, res, deps).catch((err: unknown) => {
      // A bug must not take the process down or leave the caller hanging.
      deps.log.error('broker request failed', { error: (err as Error)?.name ?? 'error' });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
}

/**
 * CONNECT would make the broker a tunnel to any host. Node resets such
 * sockets silently when nobody listens; this refuses them visibly, in the
 * audit log too.
 */
export function createConnectRefusal(deps: Pick<BrokerHandlerDeps, 'audit'>): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    const body = JSON.stringify({ error: 'denied', reason: 'CONNECT not allowed' });
    socket.end(
      `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    deps.audit.write({
      time: new Date().toISOString(),
      provider: '',
      method: 'CONNECT',
      path: (req.url ?? '').slice(0, 2048),
      decision: 'denied',
      reason: 'CONNECT not allowed',
      triageId: triageIdFrom(req.headers['x-triage-id']),
      status: 403,
      bytesIn: 0,
      bytesOut: Buffer.byteLength(body),
      durationMs: 0,
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: BrokerHandlerDeps): Promise<void> {
  const started = performance.now();
  const target = req.url ?? '';
  const method = req.method ?? '';

  // Probes would drown the audit trail and carry no credential use.
  if (target === '/healthz' || target.startsWith('/healthz?')) {
    await healthz(req, res, deps);
    return;
  }
  const probe = PROBES.get(target.split('?')[0]!);
  if (probe) {
    await probe(req, res, deps);
    return;
  }

  const triageId = triageIdFrom(req.headers['x-triage-id']);
  let caller: string | undefined;
  const audit = (fields: Omit<AuditRecord, 'time' | 'method' | 'triageId' | 'durationMs' | 'caller'>) => {
    deps.audit.write({
      time: new Date().toISOString(),
      provider: fields.provider,
      method: method.slice(0, 16),
      path: fields.path,
      decision: fields.decision,
      ...(fields.reason !== undefined && { reason: fields.reason }),
      ...(fields.credentialId !== undefined && { credentialId: fields.credentialId }),
      triageId,
      ...(caller !== undefined && { caller }),
      status: fields.status,
      ...(fields.upstreamStatus !== undefined && { upstreamStatus: fields.upstreamStatus }),
      bytesIn: fields.bytesIn,
      bytesOut: fields.bytesOut,
      durationMs: Math.round(performance.now() - started),
    });
  };

  const decision = decide(deps.policy, method, target);
  const statusView = target.split('?')[0] === STATUS_PATH;
  if (deps.callers) {
    const verdict = await deps.callers.check(req.headers['proxy-authorization']);
    if (!verdict.ok) {
      const bytesOut = sendJson(
        res,
        verdict.status,
        { error: 'denied', reason: verdict.reason },
        verdict.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
      );
      audit({
        provider: decision.provider,
        path: decision.path,
        decision: 'denied',
        reason: verdict.reason,
        status: verdict.status,
        bytesIn: 0,
        bytesOut,
      });
      return;
    }
    caller = verdict.caller;
  }
  if (statusView) {
    await brokerStatus(req, res, deps);
    return;
  }
  if (!decision.allowed) {
    const error = decision.status === 404 ? 'not found' : 'denied';
    const bytesOut = sendJson(res, decision.status, { error, reason: decision.reason });
    audit({
      provider: decision.provider,
      path: decision.path,
      decision: 'denied',
      reason: decision.reason,
      status: decision.status,
      bytesIn: 0,
      bytesOut,
    });
    return;
  }

  const { provider, path } = decision;
  // A write is read whole and checked against the approved plan before any credential is fetched.
  let body: Buffer | undefined;
  const kind = writeKind(provider, method, path);
  if (kind) {
    const read = await readBody(req, deps.proxy.maxRequestBodyBytes);
    if (read === undefined) {
      const { status, reason, bytesOut } = tooLargeReply(res, deps.proxy.maxRequestBodyBytes, 0);
      audit({ provider, path, decision: 'denied', reason, status, bytesIn: 0, bytesOut });
      return;
    }
    body = read;
    let refusal: { status: 403 | 503; reason: string } | undefined;
    try {
      const approval = deps.approvals && triageId !== null && triageId !== 'invalid' ? await deps.approvals.lookup(triageId) : undefined;
      const verdict = checkWrite({ kind, path, contentType: String(req.headers['content-type'] ?? ''), body }, approval);
      if (!verdict.ok) refusal = { status: 403, reason: verdict.reason };
    } catch (err) {
      if (!(err instanceof ApprovalUnavailableError)) throw err;
      refusal = { status: 503, reason: 'approval unavailable' };
    }
    if (refusal) {
      const bytesOut = sendJson(res, refusal.status, { error: 'denied', reason: refusal.reason });
      audit({ provider, path, decision: 'denied', reason: refusal.reason, status: refusal.status, bytesIn: body.length, bytesOut });
      return;
    }
  }
  const credentials = deps.credentials[provider];
  const upstream = deps.upstreams[provider];
  if (!credentials || !upstream) throw new Error(`provider ${provider} is in the policy but not wired`);

  let credential: OutboundCredential;
  try {
    credential = await credentials.credential(decision.repo !== undefined ? { repo: decision.repo } : {});
  } catch (err) {
    if (!(err instanceof CredentialUnavailableError)) throw err;
    const bytesOut = sendJson(res, 503, { error: 'credential unavailable', reason: err.message });
    audit({ provider, path, decision: 'allowed', reason: `credential unavailable: ${err.message}`, status: 503, bytesIn: 0, bytesOut });
    return;
  }

  // A body read whole has ended its stream (which destroys it): then only the socket tells whether the caller left.
  if (body === undefined ? req.destroyed : req.socket.destroyed) {
    audit({
      provider,
      path,
      decision: 'allowed',
      reason: 'caller closed the connection',
      credentialId: credential.credentialId,
      status: CLIENT_CLOSED_STATUS,
      bytesIn: 0,
      bytesOut: 0,
    });
    return;
  }

  const outcome = await proxyRequest(
    req,
    res,
    { upstream, path, query: decision.query, credential, defaultHeaders: credentials.defaultHeaders ?? {}, ...(body && { body }) },
    deps.proxy,
  );
  audit({
    provider,
    path,
    decision: 'allowed',
    ...(outcome.reason !== undefined && { reason: outcome.reason }),
    credentialId: credential.credentialId,
    status: outcome.status,
    ...(outcome.upstreamStatus !== undefined && { upstreamStatus: outcome.upstreamStatus }),
    bytesIn: outcome.bytesIn,
    bytesOut: outcome.bytesOut,
  });
}

/** The whole body, or undefined past `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function healthz(req: IncomingMessage, res: ServerResponse, deps: BrokerHandlerDeps): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  sendJson(res, 200, { status: 'ok', providers: await providerReadiness(deps) });
}

async function providerReadiness(deps: BrokerHandlerDeps): Promise<Record<string, string>> {
  const providers: Record<string, string> = {};
  for (const name of PROVIDERS) {
    const credentials = deps.credentials[name];
    if (credentials) providers[name] = await credentials.readiness();
  }
  return providers;
}

function onlyReads(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
  return false;
}

/** 200 when every configured provider has its credential at hand, else 503 naming the ones that do not. */
async function readyz(req: IncomingMessage, res: ServerResponse, deps: BrokerHandlerDeps): Promise<void> {
  if (!onlyReads(req, res)) return;
  const providers = await providerReadiness(deps);
  const ready = Object.values(providers).every((r) => r === 'ready');
  sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', providers });
}

/** Which providers are loaded, whether each is ready, and how many routes (and repositories) its policy allows. */
async function brokerStatus(req: IncomingMessage, res: ServerResponse, deps: BrokerHandlerDeps): Promise<void> {
  if (!onlyReads(req, res)) return;
  const readiness = await providerReadiness(deps);
  const providers: Record<string, { readiness: string; routes: number; repos?: number }> = {};
  for (const name of PROVIDERS) {
    const policy = deps.policy[name];
    if (!policy && readiness[name] === undefined) continue;
    providers[name] = {
      readiness: readiness[name] ?? 'unavailable: no credential provider',
      routes: policy?.rules.length ?? 0,
      ...(policy?.repos ? { repos: policy.repos.size } : {}),
    };
  }
  const ready = Object.values(providers).every((p) => p.readiness === 'ready');
  sendJson(res, 200, { status: ready ? 'ready' : 'not ready', providers });
}

/**
 * Read-only views for the kubelet's probes, answered before the caller check
 * (the kubelet has no token), neither proxied nor audited. They say whether
 * each provider's credential is at hand; never a credential id or value (a
 * readiness reason names at most a secret file's path).
 */
const PROBES = new Map<string, (req: IncomingMessage, res: ServerResponse, deps: BrokerHandlerDeps) => Promise<void>>([
  ['/readyz', readyz],
]);

/** `triage doctor`'s view (no provider is named `_broker`): for authenticated callers only, since it describes the policy. */
const STATUS_PATH = '/_broker/status';
