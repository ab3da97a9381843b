import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Ports the kernel hands to outgoing connections (and to listen(0)) come from
// the ephemeral range; a port picked there and bound a few seconds later can
// meanwhile be taken by any client socket on the machine. Sandbox ports come
// from below that range, where only explicit binds land.
const SANDBOX_PORT_FLOOR = 20_000;
/** Used when the ephemeral range leaves no room below it: fewer collisions, and the start retries the rest. */
const FALLBACK_SPAN = 10_000;
const handedOut = new Set<number>();

/** Where sandbox ports are drawn from: [low, high). */
export function sandboxPortRange(): { low: number; high: number } {
  let ephemeralLow = 49_152; // the IANA dynamic range, where BSD and macOS take ephemeral ports
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) ephemeralLow = low;
  } catch {
    // not Linux
  }
  return ephemeralLow > SANDBOX_PORT_FLOOR + 1000
    ? { low: SANDBOX_PORT_FLOOR, high: ephemeralLow }
    : { low: SANDBOX_PORT_FLOOR, high: SANDBOX_PORT_FLOOR + FALLBACK_SPAN };
}

/** A port that was free a moment ago, from the sandbox range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const { low, high } = sandboxPortRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    // Reserved before the check, so a concurrent call cannot pick it meanwhile.
    handedOut.add(port);
    if (await portIsFree(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port between ${low} and ${high} after 200 tries`);
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
