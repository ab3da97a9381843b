// The worker serves no traffic, so Kubernetes can only ask it how it is: a
// loopback endpoint that reports the SDK worker's own state. Loopback because
// the probes are exec probes inside the container, and nothing else needs it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

export interface WorkerHealth {
  url: string;
  close(): Promise<void>;
}

/** Alive: not failed or stopped (the kubelet restarts a container that is not). */
const ALIVE: ReadonlySet<State> = new Set(['INITIALIZED', 'RUNNING', 'STOPPING', 'DRAINING', 'DRAINED']);

/**
 * `GET /healthz` answers 200 while the worker is alive, `GET /readyz` 200 only
 * while it is polling (RUNNING); both 503 otherwise, with the state in the body.
 */
export function startWorkerHealth(opts: { state: () => State; port: number; host?: string }): Promise<WorkerHealth> {
  const server: Server = createServer((req, res) => {
    const state = opts.state();
    const ok = req.url === '/healthz' ? ALIVE.has(state) : req.url === '/readyz' ? state === 'RUNNING' : undefined;
    if (req.method !== 'GET' || ok === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found: GET /healthz or /readyz' }));
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ state }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { address, port } = server.address() as AddressInfo;
      resolve({
        url: `http://${address}:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
