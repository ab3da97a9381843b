// Forwards one allowed request to its upstream and streams the answer back.
// Bodies flow through in both directions without being held whole; only the
// request body is capped, because the caller is the one side we do not trust.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { inboundResponseHeaders, outboundRequestHeaders } from './headers.js';
import type { OutboundCredential } from './providers/credential.js';
import { sendJson } from './reply.js';
import type { Upstream } from './upstream.js';

/** nginx's convention for "the client closed the connection before we answered". */
export const CLIENT_CLOSED_STATUS = 499;

export interface ProxyOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxRequestBodyBytes: number;
  userAgent: string;
}

export interface ProxyTarget {
  upstream: Upstream;
  path: string;
  query: string;
  credential: OutboundCredential;
  defaultHeaders: Readonly<Record<string, string>>;
  /** The request body, already read (and checked) by the broker; the caller's stream is not read again. */
  body?: Buffer;
}

export interface ProxyOutcome {
  status: number;
  upstreamStatus?: number;
  bytesIn: number;
  bytesOut: number;
  reason?: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

class ByteCounter extends Transform {
  bytes = 0;
  exceeded = false;

  constructor(private readonly limit = Infinity) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.exceeded = true;
      callback(new Error('request body exceeds the limit'));
      return;
    }
    callback(null, chunk);
  }
}

export function tooLargeReply(res: ServerResponse, limit: number, bytesIn: number): ProxyOutcome {
  return {
    status: 413,
    bytesIn,
    // The rest of an oversized body is not worth reading: close the connection after answering.
    bytesOut: sendJson(res, 413, { error: 'request body too large', limit }, { connection: 'close' }),
    reason: 'request body too large',
  };
}

export async function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: ProxyTarget,
  options: ProxyOptions,
): Promise<ProxyOutcome> {
  const limit = options.maxRequestBodyBytes;
  const tooLarge = (bytesIn: number) => tooLargeReply(res, limit, bytesIn);

  if (target.body !== undefined) return forward(req, res, target, options, target.body, undefined);

  const declared = req.headers['content-length'];
  const declaredLength = declared === undefined ? undefined : Number(declared);
  if (declaredLength !== undefined && declaredLength > limit) return tooLarge(0);
  const hasBody = req.headers['transfer-encoding'] !== undefined || (declaredLength ?? 0) > 0;

  const requestBody = new ByteCounter(limit);
  if (hasBody) {
    pipeline(req, requestBody).catch(() => {
      // Surfaces through undici as a failed request; the cause is read from requestBody.
    });
  }
  return forward(req, res, target, options, hasBody ? requestBody : null, requestBody);
}

async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: ProxyTarget,
  options: ProxyOptions,
  body: Buffer | ByteCounter | null,
  streamed: ByteCounter | undefined,
): Promise<ProxyOutcome> {
  const requestBody = streamed ?? { bytes: body instanceof Buffer ? body.length : 0, exceeded: false };
  const tooLarge = (bytesIn: number) => tooLargeReply(res, options.maxRequestBodyBytes, bytesIn);

  // The caller hanging up must cancel the upstream call, not leave it running.
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);

  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await options.dispatcher.request({
      origin: target.upstream.origin,
      path: `${target.upstream.basePath}${target.path}${target.query ? `?${target.query}` : ''}`,
      method: req.method as Dispatcher.HttpMethod,
      headers: outboundRequestHeaders(req.headers, target.credential.headers, target.defaultHeaders, options.userAgent),
      body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: abort.signal,
    });
  } catch (err) {
    res.off('close', onClose);
    if (requestBody.exceeded) return tooLarge(requestBody.bytes);
    if (abort.signal.aborted || req.destroyed) {
      return { status: CLIENT_CLOSED_STATUS, bytesIn: requestBody.bytes, bytesOut: 0, reason: 'caller closed the connection' };
    }
    const code = (err as { code?: string }).code ?? '';
    if (TIMEOUT_CODES.has(code)) {
      return {
        status: 504,
        bytesIn: requestBody.bytes,
        bytesOut: sendJson(res, 504, { error: 'upstream timeout' }),
        reason: 'upstream timeout',
      };
    }
    return {
      status: 502,
      bytesIn: requestBody.bytes,
      bytesOut: sendJson(res, 502, { error: 'upstream unreachable' }),
      reason: `upstream error${code ? ` (${code})` : ''}`,
    };
  }

  const responseBody = new ByteCounter();
  const status = upstream.statusCode;
  try {
    res.writeHead(status, inboundResponseHeaders(upstream.headers));
  } catch {
    // Node refuses header values it could not send on (e.g. control characters).
    upstream.body.destroy();
    res.off('close', onClose);
    const bytesOut = sendJson(res, 502, { error: 'upstream sent an invalid response' });
    return { status: 502, upstreamStatus: status, bytesIn: requestBody.bytes, bytesOut, reason: 'invalid upstream response headers' };
  }
  try {
    await pipeline(upstream.body, responseBody, res);
    return { status, upstreamStatus: status, bytesIn: requestBody.bytes, bytesOut: responseBody.bytes };
  } catch (err) {
    // Headers are gone already: the only honest signal left is a cut connection.
    res.destroy();
    const code = (err as { code?: string }).code ?? '';
    const reason = abort.signal.aborted
      ? 'caller closed the connection'
      : TIMEOUT_CODES.has(code)
        ? 'upstream timeout during response body'
        : 'upstream response body failed';
    return { status, upstreamStatus: status, bytesIn: requestBody.bytes, bytesOut: responseBody.bytes, reason };
  } finally {
    res.off('close', onClose);
  }
}
