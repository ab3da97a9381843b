// What every emulator needs from a listening socket: a URL to hand out, a close
// that does not hang on keep-alive connections and then releases what else the
// emulator holds, and a constant-time token check.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Express, NextFunction, Request, Response } from 'express';

/** What every started emulator, front and agent hands back, and what the sandbox needs to reach and stop it. */
export interface Listening {
  url: string;
  /** Idempotent: every call waits for the same shutdown. */
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
}

/**
 * Serves `app` until close(), which then runs `release` once: what the emulator
 * holds besides its sockets (timers, client pools). It runs after the sockets
 * are gone, so a request still in flight ends with its connection rather than
 * with an error from a half-released emulator.
 */
export function listen(app: Express, where: ListenOptions, release?: () => void): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(where.port ?? 0, where.host ?? '127.0.0.1');
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${hostPart}:${addr.port}`,
        close: () =>
          (closing ??= new Promise<void>((done, fail) => {
            server.close((err) => {
              release?.();
              if (err) fail(err);
              else done();
            });
            // Idle keep-alive sockets from clients would otherwise hold close() open.
            server.closeAllConnections();
          })),
      });
    });
  });
}

/** Compares digests so neither the token's length nor its prefix leaks through timing. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined || given.length === 0 || expected.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** One line of an emulator's request log: what an apiserver audit log or a SaaS access log would show. */
export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  userAgent?: string;
  triageId?: string;
  /** The API's own error code, for APIs that answer errors with a 2xx status (Slack's `{ ok: false, error }`). */
  error?: string;
}

const MAX_LOG_ENTRIES = 1000;

/**
 * Records every request once its response is sent (the last 1,000), so tests
 * can check what the client sent: the triage id in the User-Agent or X-Triage-Id.
 */
export function requestLogger(log: RequestLogEntry[], errorOf?: (res: Response) => string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      // originalUrl, not path: under a mounted router `path` loses the mount point.
      const entry: RequestLogEntry = { method: req.method, path: req.originalUrl.split('?')[0] ?? req.path, status: res.statusCode };
      const userAgent = req.get('user-agent');
      const triageId = req.get('x-triage-id');
      const error = errorOf?.(res);
      if (userAgent) entry.userAgent = userAgent.slice(0, 256);
      if (triageId) entry.triageId = triageId.slice(0, 128);
      if (error) entry.error = error.slice(0, 64);
      log.push(entry);
      if (log.length > MAX_LOG_ENTRIES) log.splice(0, log.length - MAX_LOG_ENTRIES);
    });
    next();
  };
}

/**
 * The `/_sandbox/` control routes and the sandbox-only web pages answer the
 * local machine only: they need no credential, so they must not be reachable
 * from elsewhere even when an emulator listens on a wider address.
 */
export function fromLoopback(req: Request): boolean {
  const addr = req.socket.remoteAddress ?? '';
  return addr === '::1' || /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr);
}
