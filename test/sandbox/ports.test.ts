import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort, lostPortRace, portIsFree, sandboxPortRange } from '../../sandbox/ports.js';

const ephemeralFloor = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test('sandbox ports come from below the ephemeral range, so client sockets cannot take them before the service binds', async () => {
  const { low, high } = sandboxPortRange();
  // Concurrent calls: each port is reserved before it is checked, so none is handed out twice.
  const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(low);
    expect(port).toBeLessThan(high);
  }
  if (ephemeralFloor > low + 1000) expect(high).toBe(ephemeralFloor);
  expect(new Set(ports).size).toBe(ports.length);
});

test('a bound port is reported as in use', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    expect(await portIsFree(port)).toBe(false);
  } finally {
    await new Promise((r) => server.close(r));
  }
  expect(await portIsFree(port)).toBe(true);
});

test.each([
  [
    'Node EADDRINUSE',
    'emulators exited (1) while starting; last lines:\nemulators: listen EADDRINUSE: address already in use 127.0.0.1:40901',
    true,
  ],
  ['Go bind error', 'temporal exited (1) while starting; last lines:\nlisten tcp 127.0.0.1:7233: bind: address already in use', true],
  ['fixed port taken before start', 'port 7233 (temporal) is in use; is another stack running?', false],
  ['slow start', 'worker did not become ready within 60s', false],
])('a lost port race is told apart from other start failures: %s', (_label, message, race) => {
  expect(lostPortRace(new Error(message))).toBe(race);
});
