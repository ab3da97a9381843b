// Header rules for both directions of the proxy. The broker is the end of
// the caller's connection and the start of a new one upstream, so hop-by-hop
// headers stop here, and credentials only ever come from the broker.
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

/** Whatever the caller sends here is dropped: the broker adds the real credential. */
export const CALLER_CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'dd-api-key', 'dd-application-key', 'proxy-authorization']);

const DROPPED_REQUEST_HEADERS = new Set([
  // undici sets Host from the configured upstream; a caller's Host must not pick a virtual host.
  'host',
  // The triage id is for the broker's audit line; SaaS APIs neither need nor log it.
  'x-triage-id',
  // The broker answers 100-continue itself (Node does); undici does not accept it on outbound requests.
  'expect',
  // The broker is not a forwarding proxy for the caller; these would only describe the pod's loopback.
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  // The policy decides on the request line's method and path. Frameworks and
  // gateways in front of an API may honour these instead, turning an allowed
  // POST or GET into a DELETE, or an allowed path into another one, upstream
  // of the check.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
]);

const DROPPED_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2']);

type HeaderValue = string | string[] | undefined;

/** Header names listed in Connection are hop-by-hop for this one hop (RFC 9110 §7.6.1). */
function connectionListed(connection: HeaderValue): Set<string> {
  const values = Array.isArray(connection) ? connection : connection ? [connection] : [];
  return new Set(
    values
      .flatMap((v) => v.split(','))
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

function isHopByHop(name: string, listed: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || listed.has(name);
}

export function outboundRequestHeaders(
  incoming: IncomingHttpHeaders,
  credential: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
  userAgent: string,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(incoming)) {
    const name = rawName.toLowerCase();
    if (value === undefined || isHopByHop(name, listed) || CALLER_CREDENTIAL_HEADERS.has(name) || DROPPED_REQUEST_HEADERS.has(name))
      continue;
    out[name] = value;
  }
  for (const [name, value] of Object.entries(defaults)) if (out[name] === undefined) out[name] = value;
  // GitHub refuses requests without a User-Agent.
  if (out['user-agent'] === undefined) out['user-agent'] = userAgent;
  for (const [name, value] of Object.entries(credential)) out[name.toLowerCase()] = value;
  return out;
}

export function inboundResponseHeaders(upstream: Record<string, HeaderValue>): Record<string, string | string[]> {
  const listed = connectionListed(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(upstream)) {
    const name = rawName.toLowerCase();
    if (value === undefined || isHopByHop(name, listed) || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    out[name] = value;
  }
  return out;
}
