// mTLS against a real Temporal server, with a certificate rotation in the
// middle. `temporal server start-dev` has no TLS flags, so the dev server sits
// behind an mTLS-terminating TCP proxy (as a TLS-passthrough-less ingress or an
// Envoy sidecar would): it asks for a client certificate, checks it against the
// test CA, records who connected, and can refuse a certificate the way a
// server refuses an expired one.
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { findTemporalCli } from '../../sandbox/venv-tools.js';
import { createJsonLogger } from '../../config/logger.js';
import { parseConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { lazyClientConnection, WorkerConnection } from '../../config/temporal-connection.js';
import { createTestCa, opensslAvailable, secretVolume } from '../config/pki.js';
import type { echo } from './echo-workflow.js';
import { eventually } from '../eventually.js';

if (!opensslAvailable()) throw new Error('this test makes certificates with the openssl CLI, which is not on PATH');

interface MtlsProxy {
  port: number;
  /** Subject CN of every client certificate that completed a handshake, in order. */
  handshakes: string[];
  /** From now on, handshakes with this CN are dropped (as a server drops an expired certificate). */
  refuse(cn: string): void;
  /** Ends every open connection made with this CN. */
  cut(cn: string): void;
  close(): Promise<void>;
}

async function startMtlsProxy(backend: string, pki: { key: string; cert: string; ca: string }): Promise<MtlsProxy> {
  const [host, port] = [backend.slice(0, backend.lastIndexOf(':')), Number(backend.slice(backend.lastIndexOf(':') + 1))];
  const open = new Set<{ cn: string; client: TLSSocket; upstream: Socket }>();
  const refused = new Set<string>();
  const handshakes: string[] = [];
  const server = createServer({ ...pki, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (client) => {
    const cn = String(client.getPeerCertificate().subject?.CN ?? '');
    if (refused.has(cn)) {
      client.destroy();
      return;
    }
    handshakes.push(cn);
    const upstream = tcpConnect(port, host);
    const entry = { cn, client, upstream };
    open.add(entry);
    const end = () => {
      open.delete(entry);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('tlsClientError', () => undefined); // a client without a valid certificate: refused, as it should be
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    handshakes,
    refuse: (cn) => refused.add(cn),
    cut(cn) {
      for (const e of [...open]) if (e.cn === cn) e.client.destroy();
    },
    close() {
      for (const e of [...open]) e.client.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

let env: TestWorkflowEnvironment;
let proxy: MtlsProxy;
const ca = createTestCa('temporal-test-ca');
const serverCert = ca.issue('temporal-frontend', { usage: 'server', dnsNames: ['localhost'] });
const certA = ca.issue('triage-a');
const certB = ca.issue('triage-b');

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: findTemporalCli() } } });
  proxy = await startMtlsProxy(env.address, { key: serverCert.key, cert: serverCert.cert, ca: ca.cert });
});

afterAll(async () => {
  await proxy?.close();
  await env?.teardown();
});

test('worker and client connect with mTLS from files and keep working across a certificate rotation', async () => {
  const address = `127.0.0.1:${proxy.port}`;

  // Without a client certificate the server side refuses: the proxy really enforces mTLS.
  await expect(
    NativeConnection.connect({ address, tls: { serverNameOverride: 'localhost', serverRootCACertificate: Buffer.from(ca.cert) } }),
  ).rejects.toThrow();

  const volume = secretVolume({ 'tls.crt': certA.cert, 'tls.key': certA.key, 'ca.crt': ca.cert });
  const temporal = parseConfig({
    temporal: {
      address,
      namespace: env.namespace ?? 'default',
      taskQueue: `mtls-${randomUUID()}`,
      tls: {
        certFile: join(volume.dir, 'tls.crt'),
        keyFile: join(volume.dir, 'tls.key'),
        caFile: join(volume.dir, 'ca.crt'),
        serverName: 'localhost',
      },
    },
    services: { PCHKOUT: { name: 'checkout', approvers: ['U0ALICE'] } },
  }).temporal;
  const lines: string[] = [];
  const logger = createJsonLogger({ write: (l) => lines.push(l) });
  const fast = { checkInterval: 500, settleDelay: 50 };

  const workerConnection = await WorkerConnection.open(temporal, { logger, source: fast });
  const worker = await Worker.create({
    connection: workerConnection.connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: join(PROJECT_ROOT, 'test/integration/echo-workflow.ts'),
      logger: new DefaultLogger('WARN'),
    }),
  });
  workerConnection.attach(worker);
  const client = new Client({ connection: lazyClientConnection(temporal, { logger, source: fast }), namespace: temporal.namespace });
  const run = (text: string) =>
    client.workflow.execute<typeof echo>('echo', {
      taskQueue: temporal.taskQueue,
      workflowId: `echo-${randomUUID()}`,
      args: [text],
      workflowExecutionTimeout: '20 seconds',
    });

  try {
    await worker.runUntil(async () => {
      expect(await run('before rotation')).toBe('before rotation');
      expect(new Set(proxy.handshakes)).toEqual(new Set(['triage-a']));

      // cert-manager renews: the Secret volume's ..data symlink is swapped to the new pair.
      volume.update({ 'tls.crt': certB.cert, 'tls.key': certB.key, 'ca.crt': ca.cert });
      await eventually(() => expect(lines.join('')).toContain('worker now uses a new Temporal connection'), 20_000, 50);
      expect(proxy.handshakes).toContain('triage-b');

      // The old certificate is no longer accepted and its connections are gone:
      // both sides must now be on the new one (the client at its next handshake).
      proxy.refuse('triage-a');
      proxy.cut('triage-a');
      expect(await run('after rotation')).toBe('after rotation');
    });
  } finally {
    await client.connection.close();
    await workerConnection.close();
  }
  const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  expect(msgs).toEqual(
    expect.arrayContaining([
      'temporal client certificate loaded',
      'temporal TLS files changed; taking the new ones',
      'worker now uses a new Temporal connection with the rotated TLS files',
    ]),
  );
  expect(lines.join('')).not.toContain(certA.key.split('\n')[1]);
  expect(lines.join('')).not.toContain(certB.key.split('\n')[1]);
});
