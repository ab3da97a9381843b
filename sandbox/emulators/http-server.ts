// What both emulators need from a listening socket: a URL to hand out, a close
// that does not hang on keep-alive connections, and a constant-time token check.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Express } from 'express';

export interface Listening {
  url: string;
  close(): Promise<void>;
}

export function listen(app: Express, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(port, host);
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
            server.close((err) => (err ? fail(err) : done()));
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
