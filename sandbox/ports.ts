import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Ports the kernel hands to outgoing connections (and to listen(0)) come from
// the ephemeral range; a port picked there and bound a few seconds later can
// meanwhile be taken by any client socket on the machine. Sandbox ports come
// from below that range, where only explicit binds land.
const SANDBOX_PORT_FLOOR = 20_000;
const handedOut = new Set<number>();

function ephemeralFloor(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > SANDBOX_PORT_FLOOR + 1000) return low;
  } catch {
    // not Linux: use the IANA dynamic range's start
  }
  return 49_152;
}

/** A port that was free a moment ago, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralFloor();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = SANDBOX_PORT_FLOOR + Math.floor(Math.random() * (ceiling - SANDBOX_PORT_FLOOR));
    if (handedOut.has(port)) continue;
    if (await portIsFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${SANDBOX_PORT_FLOOR} and ${ceiling} after 200 tries`);
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** True when a start failed because something else bound one of its ports first. */
export function lostPortRace(error: unknown): boolean {
  return /EADDRINUSE|address already in use/i.test(error instanceof Error ? error.message : String(error));
}
