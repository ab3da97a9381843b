// The broker and egress checks, the worker's side of the credential boundary:
// the broker answers the worker's token and refuses a caller without one, it
// refuses routes outside its policy, and neither a host outside the allowlist
// nor a SaaS API the broker holds credentials for can be reached directly.
// Separate as the only checks that use deps.fetch.
import { callerHeaders } from '../../activities/broker-caller.js';
import type { TriageConfig } from '../../config/config.js';
import {
  ALLOW_FAILED_ENV,
  DOCTOR_TRIAGE_ID,
  EGRESS_PROBE_ENV,
  list,
  networkCode,
  plural,
  type DoctorCheck,
  type DoctorContext,
} from './context.js';

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;

interface ProviderStatus {
  readiness: string;
  routes?: number;
  repos?: number;
}

/** Which providers the configured services need the broker for. */
function neededProviders(config: TriageConfig): string[] {
  const services = Object.values(config.services);
  return [
    'pagerduty',
    ...(services.some((s) => s.github) ? ['github'] : []),
    ...(services.some((s) => s.slack) ? ['slack'] : []),
    ...(services.some((s) => s.datadog) ? ['datadog'] : []),
  ];
}

async function getJson(ctx: DoctorContext, url: string, asCaller = true): Promise<{ status: number; body: unknown }> {
  const res = await ctx.deps.fetch(url, {
    headers: { 'x-triage-id': DOCTOR_TRIAGE_ID, accept: 'application/json', ...(asCaller ? callerHeaders(ctx.callerToken) : {}) },
    redirect: 'manual',
    signal: AbortSignal.timeout(ctx.probeTimeoutMs),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** The broker answered, but not to this worker: waiting will not change that. */
class CallerRefused extends Error {}

/** The broker's view of its providers: /_broker/status, else /readyz, else /healthz (older brokers). */
async function brokerProviders(ctx: DoctorContext): Promise<{ ready: boolean; providers: Record<string, ProviderStatus>; source: string }> {
  const base = ctx.config.broker.url;
  const health = await getJson(ctx, `${base}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz answered HTTP ${health.status}`);
  const status = await getJson(ctx, `${base}/_broker/status`);
  if (status.status === 401 || status.status === 403) {
    const reason = (status.body as { reason?: unknown } | undefined)?.reason;
    throw new CallerRefused(
      `the broker refused the worker's token: HTTP ${status.status}${typeof reason === 'string' ? ` ${reason.slice(0, 200)}` : ''}`,
    );
  }
  const statusBody = status.body as { providers?: Record<string, ProviderStatus> } | undefined;
  const readyz = await getJson(ctx, `${base}/readyz`);
  if (status.status === 200 && statusBody?.providers) {
    const ready = readyz.status === 404 ? Object.values(statusBody.providers).every((p) => p.readiness === 'ready') : readyz.status === 200;
    return { ready, providers: statusBody.providers, source: '/_broker/status' };
  }
  const fallback =
    ((readyz.status === 404 ? health.body : readyz.body) as { providers?: Record<string, string> } | undefined)?.providers ?? {};
  const providers = Object.fromEntries(Object.entries(fallback).map(([name, readiness]) => [name, { readiness: String(readiness) }]));
  const ready = readyz.status === 404 ? Object.values(providers).every((p) => p.readiness === 'ready') : readyz.status === 200;
  return { ready, providers, source: readyz.status === 404 ? '/healthz' : '/readyz' };
}

function describeProvider(name: string, p: ProviderStatus): string {
  const extra = [
    ...(p.routes !== undefined ? [plural(p.routes, 'route')] : []),
    ...(p.repos !== undefined ? [plural(p.repos, 'repo')] : []),
  ];
  return `${name} (${p.readiness}${extra.length ? `, ${extra.join(', ')}` : ''})`;
}

export const brokerReachable: DoctorCheck = {
  id: 'broker.reachable',
  title: 'Credential broker reachable and ready',
  budgetMs: (ctx) => ctx.brokerWaitMs + 4 * ctx.probeTimeoutMs,
  async run(ctx) {
    if (ctx.role === 'gateway') return { status: 'skip', detail: 'the gateway does not use the broker' };
    const base = ctx.config.broker.url;
    const deadline = ctx.deps.now() + ctx.brokerWaitMs;
    let last: { ready: boolean; providers: Record<string, ProviderStatus>; source: string } | undefined;
    let unreachable: string | undefined;
    for (;;) {
      try {
        last = await brokerProviders(ctx);
        unreachable = undefined;
      } catch (err) {
        if (err instanceof CallerRefused) {
          return {
            status: 'fail',
            detail: `${err.message}\nwhat to do: check that broker.tokenFile is the projected token for the broker's audience (callers.audience in broker.yaml) and that callers.serviceAccounts lists this worker's ServiceAccount`,
          };
        }
        unreachable = err instanceof Error && /^GET /.test(err.message) ? err.message : networkCode(err);
      }
      if ((last?.ready && !unreachable) || ctx.deps.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (unreachable || !last) {
      return {
        status: 'fail',
        detail: `broker at ${base} not reachable (${unreachable ?? 'no answer'})\nwhat to do: check that the broker runs and listens there (its log says "broker listening"), that its Service selects it, and that the worker's egress policy allows it`,
      };
    }
    const loaded = Object.entries(last.providers).map(([name, p]) => describeProvider(name, p));
    const missing = neededProviders(ctx.config).filter((p) => !last.providers[p]);
    const notReady = Object.entries(last.providers).filter(([, p]) => p.readiness !== 'ready');
    const lines: string[] = [];
    if (!last.ready)
      lines.push(`broker at ${base} is not ready: ${notReady.map(([name, p]) => `${name} ${p.readiness}`).join('; ') || 'it says so'}`);
    if (missing.length > 0)
      lines.push(
        `the configured services need ${list(missing)}, which the broker does not load: add ${missing.length === 1 ? 'it' : 'them'} to the broker's providers`,
      );
    const summary = `providers (${last.source}): ${loaded.length > 0 ? loaded.join(', ') : 'none'}`;
    const callers = await callerCheck(ctx);
    if (callers.problem) lines.push(callers.problem);
    if (lines.length > 0) return { status: 'fail', detail: [...lines, summary].join('\n') };
    return { status: 'pass', detail: `${base} ready; ${summary}\n${callers.proof}` };
  },
};

/**
 * Off loopback, anyone the network lets in can call the broker: it must turn
 * away a caller without the token. A worker without broker.tokenFile talks to
 * a broker on loopback, which only its own pod or host can reach.
 */
async function callerCheck(ctx: DoctorContext): Promise<{ problem?: string; proof?: string }> {
  const base = ctx.config.broker.url;
  const onLoopback = LOOPBACK.test(new URL(base).hostname);
  if (!ctx.callerToken) return { proof: `callers: not authenticated (${onLoopback ? 'broker on loopback' : 'no broker.tokenFile'})` };
  const anonymous = await getJson(ctx, `${base}/_broker/status`, false);
  if (anonymous.status === 401) return { proof: 'callers: the worker token is accepted, a call without it is refused (401)' };
  return {
    problem: `the broker answered a call without the worker's token with HTTP ${anonymous.status}: it does not authenticate its callers\nwhat to do: set callers in broker.yaml (the broker's audience and this worker's ServiceAccount)`,
  };
}

/** A read outside each provider's policy: harmless if it ever got through, and never on any allowlist. */
const OUT_OF_POLICY: Readonly<Record<string, string>> = {
  github: '/github/user',
  pagerduty: '/pagerduty/users',
  datadog: '/datadog/api/v1/validate',
  slack: '/slack/api/users.list',
};

function isLoopbackUrl(url: string): boolean {
  return LOOPBACK.test(new URL(url).hostname);
}

/** Through the broker: a route its policy does not list must be refused before anything goes upstream. */
interface BrokerPolicyProbe {
  problems: string[];
  proofs: string[];
  /** Why the policy could not be probed. */
  untested?: string;
}

async function probeBrokerPolicy(ctx: DoctorContext): Promise<BrokerPolicyProbe> {
  const problems: string[] = [];
  const proofs: string[] = [];
  try {
    const status = await getJson(ctx, `${ctx.config.broker.url}/_broker/status`);
    const loaded = (status.body as { providers?: Record<string, unknown> } | undefined)?.providers;
    const providers = status.status === 200 && loaded ? Object.keys(loaded).filter((p) => OUT_OF_POLICY[p]) : Object.keys(OUT_OF_POLICY);
    for (const path of [...providers.map((p) => OUT_OF_POLICY[p]!), '/example.com/']) {
      const answer = await getJson(ctx, `${ctx.config.broker.url}${path}`);
      const error = (answer.body as { error?: unknown } | undefined)?.error;
      const refused = (answer.status === 403 && error === 'denied') || (answer.status === 404 && error === 'not found');
      if (refused) proofs.push(`broker refused GET ${path} (${answer.status})`);
      else problems.push(`broker answered GET ${path} with HTTP ${answer.status}: a route outside its policy was not refused`);
    }
    return { problems, proofs };
  } catch (err) {
    return { problems, proofs, untested: `broker policy not tested: broker not reachable (${networkCode(err)}; see broker.reachable)` };
  }
}

/** The SaaS APIs the broker holds credentials for, at their public addresses: the worker must not reach them itself. */
const SAAS_APIS: Readonly<Record<string, string>> = {
  pagerduty: 'https://api.pagerduty.com/',
  github: 'https://api.github.com/',
  slack: 'https://slack.com/api/api.test',
  datadog: 'https://api.datadoghq.com/',
};

/** Directly: a host outside the allowlist must not answer at all, whether the policy rejects or drops. */
async function probeDirectEgress(ctx: DoctorContext, target: string): Promise<{ problem?: string; proof?: string }> {
  if (isLoopbackUrl(target)) {
    return {
      problem: `the egress probe ${target} is a loopback address, which proves nothing about egress; set ${EGRESS_PROBE_ENV} to a host outside the allowlist`,
    };
  }
  const started = ctx.deps.now();
  try {
    const res = await ctx.deps.fetch(target, { redirect: 'manual', signal: AbortSignal.timeout(ctx.probeTimeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    return {
      problem:
        `reached ${target} directly (HTTP ${res.status}): egress is not restricted\n` +
        `what to do: apply the egress policy (Calico FQDN allowlist) to this pod; the sandbox has none (accept it there by name: ${ALLOW_FAILED_ENV}=egress.denied)`,
    };
  } catch (err) {
    const code = networkCode(err);
    const after = Math.round((ctx.deps.now() - started) / 100) / 10;
    return {
      proof: `direct GET ${target} failed: ${code === 'timed out' ? `no answer within ${ctx.probeTimeoutMs / 1000} s (dropped)` : code} after ${after} s`,
    };
  }
}

export const egressDenied: DoctorCheck = {
  id: 'egress.denied',
  title: 'Egress outside the allowlist is refused',
  budgetMs: (ctx) => 3 * ctx.probeTimeoutMs + 2_000,
  async run(ctx) {
    const noBroker: BrokerPolicyProbe = { problems: [], proofs: ['broker policy: not tested (the gateway has no broker)'] };
    const targets = [ctx.egressProbeUrl, ...(ctx.role === 'gateway' ? [] : neededProviders(ctx.config).map((p) => SAAS_APIS[p]!))];
    const [broker, ...direct] = await Promise.all([
      ctx.role === 'gateway' ? noBroker : probeBrokerPolicy(ctx),
      ...targets.map((target) => probeDirectEgress(ctx, target)),
    ]);
    const problems = [...broker.problems, ...direct.flatMap((d) => (d.problem ? [d.problem] : []))];
    const proofs = [...broker.proofs, ...(broker.untested ? [broker.untested] : []), ...direct.flatMap((d) => (d.proof ? [d.proof] : []))];
    if (problems.length > 0) return { status: 'fail', detail: [...problems, ...proofs].join('\n') };
    return { status: broker.untested ? 'warn' : 'pass', detail: proofs.join('\n') };
  },
};
