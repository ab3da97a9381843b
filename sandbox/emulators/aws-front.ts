// moto is a third-party server with no knob for latency or failures, so the
// sandbox puts this front between the worker and moto: it forwards every
// request untouched and applies the CloudWatch surface's standing conditions
// (added latency, an error rate) and test-set faults to CloudWatch's requests.
// moto serves STS on the same port; AWS throttles each service on its own, so
// STS calls pass through whatever CloudWatch is doing. Failures are
// answered the way CloudWatch's Query protocol answers them (an XML
// ErrorResponse with a code the SDK maps to retryable or not), so the worker's
// AWS client sees what it would see from AWS.
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import express from 'express';
import type { SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { listen, requestLogger, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';

export interface AwsFrontOptions extends ListenOptions {
  /** moto's URL (loopback http). */
  upstream: string;
  conditions?: SurfaceConditions;
}

export interface AwsFront extends Listening {
  requests: RequestLogEntry[];
  setFault(fault: Fault | null): void;
}

/** The Query protocol's error code for an injected status, as CloudWatch and STS use them. */
function awsErrorCode(status: number): { code: string; type: 'Sender' | 'Receiver' } {
  if (status === 429) return { code: 'Throttling', type: 'Sender' };
  if (status === 403) return { code: 'AccessDenied', type: 'Sender' };
  if (status === 503) return { code: 'ServiceUnavailable', type: 'Receiver' };
  if (status >= 500) return { code: 'InternalFailure', type: 'Receiver' };
  return { code: 'InvalidParameterValue', type: 'Sender' };
}

function sendAwsError(res: ServerResponse, status: number, retryAfterSeconds: number | undefined): void {
  const { code, type } = awsErrorCode(status);
  const requestId = randomUUID();
  const body =
    '<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">' +
    `<Error><Type>${type}</Type><Code>${code}</Code><Message>sandbox: injected ${status}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.statusCode = status;
  res.setHeader('content-type', 'text/xml');
  res.setHeader('x-amzn-requestid', requestId);
  if (retryAfterSeconds !== undefined) res.setHeader('retry-after', String(retryAfterSeconds));
  res.end(body);
}

/** The service a SigV4-signed request is for, from its credential scope (`…/<date>/<region>/<service>/aws4_request`). */
export function signedService(authorization: string | undefined): string | undefined {
  return /\bCredential=[^/\s,]+\/\d{8}\/[a-z0-9-]+\/([a-z0-9-]+)\/aws4_request\b/.exec(authorization ?? '')?.[1];
}

const CLOUDWATCH_SIGNING_NAME = 'monitoring';

function forward(upstream: URL, agent: Agent, req: IncomingMessage, res: ServerResponse): void {
  const proxied = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  proxied.on('error', () => {
    // moto is down: what a client sees from an AWS endpoint that cannot answer.
    if (!res.headersSent) sendAwsError(res, 503, undefined);
    else res.destroy();
  });
  // A client that gives up (the SDK's timeout) must not leave a request open in moto.
  res.on('close', () => {
    if (!res.writableFinished) proxied.destroy();
  });
  req.pipe(proxied);
}

export async function startAwsFront(opts: AwsFrontOptions): Promise<AwsFront> {
  const upstream = new URL(opts.upstream);
  if (upstream.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(upstream.hostname)) {
    throw new Error('the AWS front forwards to a loopback http upstream (moto) only');
  }
  const faults = new FaultSwitch(opts.conditions);
  // Its own pool, so close() can drop the connections to moto along with the clients'.
  const agent = new Agent({ keepAlive: true });
  const requests: RequestLogEntry[] = [];
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLogger(requests));
  app.use(async (req, res) => {
    if (signedService(req.get('authorization')) !== CLOUDWATCH_SIGNING_NAME) {
      forward(upstream, agent, req, res);
      return;
    }
    await faults.delay();
    // Gone during the added latency (the client timed out): nothing to answer, nothing to forward.
    if (res.destroyed || req.destroyed) return;
    const fault = faults.take();
    if (fault) {
      // The request body is not read; drain it so the connection stays usable.
      req.resume();
      sendAwsError(res, fault.status, fault.retryAfterSeconds);
      return;
    }
    forward(upstream, agent, req, res);
  });
  const server = await listen(app, opts, () => agent.destroy());
  return { url: server.url, close: server.close, requests, setFault: (f) => faults.set(f) };
}
