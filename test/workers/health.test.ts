import type { State } from '@temporalio/worker';
import { startWorkerHealth, type WorkerHealth } from '../../workers/health.js';

let state: State = 'INITIALIZED';
let health: WorkerHealth;

beforeAll(async () => {
  health = await startWorkerHealth({ state: () => state, port: 0 });
});
afterAll(() => health.close());

async function status(path: string, method = 'GET'): Promise<{ code: number; body: unknown }> {
  const res = await fetch(`${health.url}${path}`, { method });
  return { code: res.status, body: await res.json() };
}

test('listens on loopback only', () => {
  expect(health.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test.each<[State, number, number]>([
  ['INITIALIZED', 200, 503],
  ['RUNNING', 200, 200],
  ['DRAINING', 200, 503],
  ['STOPPING', 200, 503],
  ['DRAINED', 200, 503],
  ['STOPPED', 503, 503],
  ['FAILED', 503, 503],
])('a worker %s is alive: %d, ready: %d', async (s, alive, ready) => {
  state = s;
  expect(await status('/healthz')).toEqual({ code: alive, body: { state: s } });
  expect(await status('/readyz')).toEqual({ code: ready, body: { state: s } });
});

test('anything else is 404', async () => {
  expect((await status('/metrics')).code).toBe(404);
  expect((await status('/healthz', 'POST')).code).toBe(404);
});
