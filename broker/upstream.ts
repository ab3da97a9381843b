// The broker's only way out: one connection pool whose dispatcher refuses any
// origin that is not a configured upstream, so no code path (a bug, a
// redirect, a library) can carry a credential anywhere else.
import { Agent, type Dispatcher } from 'undici';
import type { BrokerConfig, ProviderName } from './config.js';

export interface Upstream {
  origin: string;
  /** Path prefix of the configured base URL, without a trailing slash ("" for most). */
  basePath: string;
}

export function upstreamsOf(config: Pick<BrokerConfig, 'providers'>): Partial<Record<ProviderName, Upstream>> {
  const out: Partial<Record<ProviderName, Upstream>> = {};
  for (const [name, provider] of Object.entries(config.providers) as [ProviderName, { upstream: string } | undefined][]) {
    if (!provider) continue;
    const url = new URL(provider.upstream);
    out[name] = { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
  }
  return out;
}

/** Every origin the broker may connect to: the upstreams plus the PagerDuty token endpoint. */
export function allowedOrigins(config: Pick<BrokerConfig, 'providers'>): Set<string> {
  const origins = new Set(Object.values(upstreamsOf(config)).map((u) => u.origin));
  if (config.providers.pagerduty) origins.add(new URL(config.providers.pagerduty.tokenUrl).origin);
  return origins;
}

export class EgressDeniedError extends Error {
  override name = 'EgressDeniedError';
  readonly code = 'BROKER_EGRESS_DENIED';
}

export interface UpstreamPool {
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

export function createUpstreamPool(config: Pick<BrokerConfig, 'providers' | 'upstreamTimeoutMs'>): UpstreamPool {
  const timeout = config.upstreamTimeoutMs;
  const agent = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 10_000 });
  const origins = allowedOrigins(config);
  const dispatcher = agent.compose((dispatch) => (opts, handler) => {
    const origin = opts.origin === undefined ? '' : new URL(String(opts.origin)).origin;
    if (!origins.has(origin)) throw new EgressDeniedError(`origin ${origin || '(none)'} is not a configured upstream`);
    return dispatch(opts, handler);
  });
  return { dispatcher, close: () => agent.close() };
}
