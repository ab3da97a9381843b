import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, parseConfig, type TriageConfig } from '../../config/config.js';
import {
  clientConnectionOptions,
  lazyClientConnection,
  nativeConnectionOptions,
  readTemporalCredentials,
  TemporalCredentialError,
  TemporalCredentialSource,
  WorkerConnection,
  type NativeConnectionLike,
} from '../../config/temporal-connection.js';
import { createJsonLogger, silentLogger, type Logger } from '../../config/logger.js';
import { createTestCa, opensslAvailable, pemBodyLines, secretVolume, type TestCa } from './pki.js';
import { pemMarker } from '../fake-credentials.js';
import { eventually } from '../eventually.js';

if (!opensslAvailable()) throw new Error('these tests make certificates with the openssl CLI, which is not on PATH');

const services = { PCHKOUT: { name: 'checkout', approvers: ['U0ALICE'] } };
const DAY = 86_400_000;

function temporalSettings(temporal: Record<string, unknown>): TriageConfig['temporal'] {
  return parseConfig({ temporal, services }).temporal;
}

function capture(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  return { logger: createJsonLogger({ write: (l) => lines.push(l) }), lines, text: () => lines.join('') };
}

let ca: TestCa;
let client: ReturnType<TestCa['issue']>;

beforeAll(() => {
  ca = createTestCa();
  client = ca.issue('triage-worker');
});

describe('connection options', () => {
  test('plain: the local dev server, no TLS, no key', () => {
    const temporal = temporalSettings({});
    const creds = readTemporalCredentials(temporal);
    expect(creds).toEqual({});
    expect(nativeConnectionOptions(temporal, creds)).toEqual({ address: '127.0.0.1:7233' });
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger });
    expect(clientConnectionOptions(temporal, source)).toEqual({ address: '127.0.0.1:7233' });
    source.close();
  });

  test('self-hosted mTLS: the pair and the private CA from files, the server name override', () => {
    const temporal = temporalSettings({
      address: 'temporal-frontend.temporal.svc:7233',
      tls: { certFile: client.certFile, keyFile: client.keyFile, caFile: ca.certFile, serverName: 'frontend.temporal.internal' },
    });
    const creds = readTemporalCredentials(temporal);
    expect(nativeConnectionOptions(temporal, creds)).toEqual({
      address: 'temporal-frontend.temporal.svc:7233',
      tls: {
        serverNameOverride: 'frontend.temporal.internal',
        serverRootCACertificate: Buffer.from(ca.cert),
        clientCertPair: { crt: Buffer.from(client.cert), key: Buffer.from(client.key) },
      },
    });
    expect(creds.tls?.clientCert?.summary).toMatchObject({ subject: 'CN=triage-worker', issuer: 'CN=test-ca' });

    // The client channel reads its certificates from the source at each handshake.
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger });
    const options = clientConnectionOptions(temporal, source);
    expect(options.tls).toBeUndefined();
    expect(options.credentials?._isSecure()).toBe(true);
    expect(options.channelArgs).toEqual({
      'grpc.ssl_target_name_override': 'frontend.temporal.internal',
      'grpc.default_authority': 'frontend.temporal.internal',
    });
    const identity = jest.fn();
    const caUpdate = jest.fn();
    source.addIdentityCertificateListener(identity);
    source.addCaCertificateListener(caUpdate);
    expect(identity).toHaveBeenCalledWith({ certificate: Buffer.from(client.cert), privateKey: Buffer.from(client.key) });
    expect(caUpdate).toHaveBeenCalledWith({ caCertificate: Buffer.from(ca.cert) });
    source.close();
  });

  test('API key over TLS with a private CA: the key is a bearer token, TLS stays on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(dir, 'api-key'), 'key-one\n');
    const temporal = temporalSettings({
      address: 'temporal.internal:7233',
      apiKeyFile: join(dir, 'api-key'),
      tls: { caFile: ca.certFile },
    });
    const creds = readTemporalCredentials(temporal);
    expect(nativeConnectionOptions(temporal, creds)).toEqual({
      address: 'temporal.internal:7233',
      tls: { serverRootCACertificate: Buffer.from(ca.cert) },
      apiKey: 'key-one',
    });
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger });
    expect(clientConnectionOptions(temporal, source)).toEqual({
      address: 'temporal.internal:7233',
      tls: { serverRootCACertificate: Buffer.from(ca.cert) },
      apiKey: 'key-one',
    });
    source.close();
  });

  test('Temporal Cloud with an API key: the regional endpoint, TLS with the system roots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(dir, 'api-key'), 'cloud-key');
    const temporal = temporalSettings({
      address: 'us-east-1.aws.api.temporal.io:7233',
      namespace: 'triage.a1b2c',
      apiKeyFile: join(dir, 'api-key'),
    });
    expect(temporal.tls).toEqual({});
    const creds = readTemporalCredentials(temporal);
    expect(nativeConnectionOptions(temporal, creds)).toEqual({
      address: 'us-east-1.aws.api.temporal.io:7233',
      tls: {},
      apiKey: 'cloud-key',
    });
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger });
    expect(clientConnectionOptions(temporal, source)).toEqual({
      address: 'us-east-1.aws.api.temporal.io:7233',
      tls: {},
      apiKey: 'cloud-key',
    });
    source.close();
  });

  test('Temporal Cloud with mTLS: the namespace endpoint, the pair, no CA file', () => {
    const temporal = temporalSettings({
      address: 'triage.a1b2c.tmprl.cloud:7233',
      namespace: 'triage.a1b2c',
      tls: { certFile: client.certFile, keyFile: client.keyFile },
    });
    const creds = readTemporalCredentials(temporal);
    expect(nativeConnectionOptions(temporal, creds)).toEqual({
      address: 'triage.a1b2c.tmprl.cloud:7233',
      tls: { clientCertPair: { crt: Buffer.from(client.cert), key: Buffer.from(client.key) } },
    });
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger });
    const caUpdate = jest.fn();
    source.addCaCertificateListener(caUpdate);
    // No CA file: Node's default roots.
    expect(caUpdate).toHaveBeenCalledWith({ caCertificate: undefined });
    source.close();
  });
});

describe('validation at start', () => {
  const secretLines = () => [...pemBodyLines(client.key)];

  function expectCredentialError(temporal: TriageConfig['temporal'], message: RegExp | string, now?: Date): TemporalCredentialError {
    let caught: unknown;
    try {
      readTemporalCredentials(temporal, now);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TemporalCredentialError);
    expect(caught).toBeInstanceOf(ConfigError); // the entry points print it and exit 2
    const error = caught as TemporalCredentialError;
    expect(error.message).toMatch(message);
    for (const line of secretLines()) expect(error.message).not.toContain(line);
    return error;
  }

  test('a missing file is named, with the reason', () => {
    const temporal = temporalSettings({ tls: { certFile: '/nonexistent/tls.crt', keyFile: client.keyFile } });
    expectCredentialError(temporal, 'tls.certFile /nonexistent/tls.crt cannot be read (ENOENT)');
  });

  test('a certificate file without a PEM certificate is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-'));
    // The key where the certificate should be: a common mix-up, and the message must not echo it.
    writeFileSync(join(dir, 'tls.crt'), client.key);
    const temporal = temporalSettings({ tls: { certFile: join(dir, 'tls.crt'), keyFile: client.keyFile } });
    expectCredentialError(temporal, `tls.certFile ${join(dir, 'tls.crt')} holds no PEM certificate`);
  });

  test('a certificate block that does not parse is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-'));
    writeFileSync(join(dir, 'tls.crt'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const temporal = temporalSettings({ tls: { certFile: join(dir, 'tls.crt'), keyFile: client.keyFile } });
    expectCredentialError(temporal, 'certificate 1 in the file does not parse');
  });

  test("a key file that is not a key, or not the certificate's key, is named and not echoed", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-'));
    writeFileSync(join(dir, 'tls.key'), `${client.key.slice(0, 120)}garbage\n${pemMarker('END')}\n`);
    expectCredentialError(
      temporalSettings({ tls: { certFile: client.certFile, keyFile: join(dir, 'tls.key') } }),
      `tls.keyFile ${join(dir, 'tls.key')} is not an unencrypted PEM private key`,
    );
    const other = ca.issue('someone-else');
    expectCredentialError(
      temporalSettings({ tls: { certFile: client.certFile, keyFile: other.keyFile } }),
      `is not the private key of the certificate in ${client.certFile}`,
    );
  });

  test('an expired certificate stops start-up; one that is not valid yet too', () => {
    expectCredentialError(
      temporalSettings({ tls: { certFile: client.certFile, keyFile: client.keyFile } }),
      /the client certificate expired at \d{4}-/,
      new Date(Date.now() + 2 * DAY),
    );
    expectCredentialError(
      temporalSettings({ tls: { certFile: client.certFile, keyFile: client.keyFile } }),
      /not valid before/,
      new Date(Date.now() - DAY),
    );
  });

  test('a CA file without a certificate is named', () => {
    expectCredentialError(temporalSettings({ tls: { caFile: client.keyFile } }), `tls.caFile ${client.keyFile} holds no PEM certificate`);
  });

  test('an empty or multi-line API key file is named, the key never shown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(dir, 'empty'), '\n');
    writeFileSync(join(dir, 'two-lines'), 'secret-part-one\nsecret-part-two\n');
    expectCredentialError(temporalSettings({ apiKeyFile: join(dir, 'empty') }), `apiKeyFile ${join(dir, 'empty')} is empty`);
    const error = expectCredentialError(temporalSettings({ apiKeyFile: join(dir, 'two-lines') }), 'must hold the key alone, on one line');
    expect(error.message).not.toContain('secret-part');
  });

  test('a key without a certificate (and the reverse) is a configuration error', () => {
    expect(() => temporalSettings({ tls: { keyFile: client.keyFile } })).toThrow(
      'temporal.tls.certFile: keyFile is set but certFile is not',
    );
    expect(() => temporalSettings({ tls: { certFile: client.certFile } })).toThrow(
      'temporal.tls.keyFile: certFile is set but keyFile is not',
    );
  });

  test('start-up logs the certificate (public parts only) and warns when it is about to expire', () => {
    const log = capture();
    const temporal = temporalSettings({ tls: { certFile: client.certFile, keyFile: client.keyFile, expiryWarning: '2h' } });
    // 1-day certificate, 1 hour left.
    const source = TemporalCredentialSource.open(temporal, { logger: log.logger, now: () => new Date(Date.now() + DAY - 3_600_000) });
    source.close();
    const records = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({
      level: 'info',
      msg: 'temporal client certificate loaded',
      file: client.certFile,
      certificate: { subject: 'CN=triage-worker' },
    });
    expect(records[1]).toMatchObject({ level: 'warn', msg: expect.stringContaining('expires soon'), minutesLeft: expect.any(Number) });
    for (const line of pemBodyLines(client.key)) expect(log.text()).not.toContain(line);
  });

  test('without expiryWarning, the warning comes in the last quarter of the lifetime', () => {
    const temporal = temporalSettings({ tls: { certFile: client.certFile, keyFile: client.keyFile } });
    const at = (msLeft: number) => {
      const log = capture();
      TemporalCredentialSource.open(temporal, { logger: log.logger, now: () => new Date(Date.now() + DAY - msLeft) }).close();
      return log.text();
    };
    expect(at(8 * 3_600_000)).not.toContain('expires soon');
    expect(at(5 * 3_600_000)).toContain('expires soon');
  });
});

describe('rotation', () => {
  interface FakeConnection extends NativeConnectionLike {
    options: NativeConnectionOptions;
    setApiKey: jest.Mock<(key: string) => Promise<void>>;
    close: jest.Mock<() => Promise<void>>;
  }

  function fakeConnect() {
    const opened: FakeConnection[] = [];
    const connect = async (options: NativeConnectionOptions): Promise<FakeConnection> => {
      const conn: FakeConnection = { options, setApiKey: jest.fn(async () => undefined), close: jest.fn(async () => undefined) };
      opened.push(conn);
      return conn;
    };
    return { connect, opened };
  }

  /** Stands in for a Worker: its `connection` setter is where the SDK swaps Core's client. */
  function fakeWorker(initial: FakeConnection) {
    const swaps: FakeConnection[] = [];
    let current = initial;
    return {
      swaps,
      get connection(): FakeConnection | undefined {
        return current;
      },
      set connection(next: FakeConnection | undefined) {
        current = next!;
        swaps.push(next!);
      },
    };
  }

  test('a new API key file is set on the worker connection, without a new connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(dir, 'api-key'), 'key-one');
    const log = capture();
    const { connect, opened } = fakeConnect();
    const wc = await WorkerConnection.open(temporalSettings({ address: 'temporal.internal:7233', apiKeyFile: join(dir, 'api-key') }), {
      logger: log.logger,
      connect,
      source: { checkInterval: 60_000 },
    });
    expect(opened[0]?.options.apiKey).toBe('key-one');
    const worker = fakeWorker(opened[0]!);
    wc.attach(worker);

    writeFileSync(join(dir, 'api-key'), 'key-two\n');
    await wc.credentials.check();
    expect(opened[0]!.setApiKey).toHaveBeenCalledWith('key-two');
    expect(opened).toHaveLength(1);
    expect(worker.swaps).toHaveLength(0);
    expect(log.text()).toContain('temporal API key file changed');
    expect(log.text()).not.toContain('key-two');
    expect(log.text()).not.toContain('key-one');
    await wc.close();
    expect(opened[0]!.close).toHaveBeenCalled();
  });

  test('a new certificate pair opens a new connection, swaps it into the worker and closes the old one', async () => {
    const volume = secretVolume({ 'tls.crt': client.cert, 'tls.key': client.key, 'ca.crt': ca.cert });
    const log = capture();
    const { connect, opened } = fakeConnect();
    const wc = await WorkerConnection.open(
      temporalSettings({
        tls: { certFile: join(volume.dir, 'tls.crt'), keyFile: join(volume.dir, 'tls.key'), caFile: join(volume.dir, 'ca.crt') },
      }),
      { logger: log.logger, connect, source: { checkInterval: 60_000 } },
    );
    const worker = fakeWorker(opened[0]!);
    wc.attach(worker);

    const renewed = ca.issue('triage-worker-renewed');
    volume.update({ 'tls.crt': renewed.cert, 'tls.key': renewed.key, 'ca.crt': ca.cert });
    await wc.credentials.check();

    expect(opened).toHaveLength(2);
    expect(opened[1]!.options.tls).toMatchObject({ clientCertPair: { crt: Buffer.from(renewed.cert), key: Buffer.from(renewed.key) } });
    expect(worker.swaps).toEqual([opened[1]]);
    expect(opened[0]!.close).toHaveBeenCalled();
    expect(log.text()).toContain('worker now uses a new Temporal connection');
    expect(log.text()).toContain('CN=triage-worker-renewed');
    for (const line of [...pemBodyLines(client.key), ...pemBodyLines(renewed.key)]) expect(log.text()).not.toContain(line);

    // Nothing changed: no new connection.
    await wc.credentials.check();
    expect(opened).toHaveLength(2);
    await wc.close();
    expect(opened[1]!.close).toHaveBeenCalled();
  });

  test('the atomic symlink swap of a Kubernetes Secret volume is noticed without an explicit check', async () => {
    const volume = secretVolume({ 'tls.crt': client.cert, 'tls.key': client.key });
    const { connect, opened } = fakeConnect();
    const wc = await WorkerConnection.open(
      temporalSettings({ tls: { certFile: join(volume.dir, 'tls.crt'), keyFile: join(volume.dir, 'tls.key') } }),
      {
        logger: silentLogger,
        connect,
        // The watcher should see it well before the periodic check would.
        source: { checkInterval: 60_000, settleDelay: 20 },
      },
    );
    const worker = fakeWorker(opened[0]!);
    wc.attach(worker);
    const renewed = ca.issue('triage-worker-watched');
    volume.update({ 'tls.crt': renewed.cert, 'tls.key': renewed.key });
    await eventually(() => expect(worker.swaps).toHaveLength(1));
    expect(opened[1]!.options.tls).toMatchObject({ clientCertPair: { crt: Buffer.from(renewed.cert) } });
    await wc.close();
  });

  test('the periodic check catches a change no file event announced', async () => {
    // The configured path is a symlink into a directory nobody watches; writing there raises no event in the watched one.
    const elsewhere = mkdtempSync(join(tmpdir(), 'vault-'));
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(elsewhere, 'key'), 'key-one');
    symlinkSync(join(elsewhere, 'key'), join(dir, 'api-key'));
    const { connect, opened } = fakeConnect();
    const temporal = temporalSettings({ address: 'temporal.internal:7233', apiKeyFile: join(dir, 'api-key') });
    const wc = await WorkerConnection.open(temporal, { logger: silentLogger, connect, source: { checkInterval: 100, settleDelay: 10 } });
    wc.attach(fakeWorker(opened[0]!));
    writeFileSync(join(elsewhere, 'key'), 'key-two');
    await eventually(() => expect(opened[0]!.setApiKey).toHaveBeenCalledWith('key-two'));
    await wc.close();
  });

  test('a half-written pair is not taken: the old connection stays until the files match again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'tls.crt'), client.cert);
    writeFileSync(join(dir, 'tls.key'), client.key);
    const log = capture();
    const { connect, opened } = fakeConnect();
    const wc = await WorkerConnection.open(temporalSettings({ tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') } }), {
      logger: log.logger,
      connect,
      source: { checkInterval: 60_000, settleDelay: 5 },
    });
    const worker = fakeWorker(opened[0]!);
    wc.attach(worker);
    const renewed = ca.issue('triage-worker-half');
    writeFileSync(join(dir, 'tls.crt'), renewed.cert); // the key is not there yet
    await wc.credentials.check();
    expect(worker.swaps).toHaveLength(0);
    expect(log.text()).toContain('not usable; still using the last good ones');
    expect(log.text()).toContain('is not the private key of the certificate');
    writeFileSync(join(dir, 'tls.key'), renewed.key);
    await wc.credentials.check();
    expect(worker.swaps).toHaveLength(1);
    expect(log.text()).toContain('usable again');
    for (const line of [...pemBodyLines(client.key), ...pemBodyLines(renewed.key)]) expect(log.text()).not.toContain(line);
    await wc.close();
  });

  test('when the new connection cannot be made, the worker keeps the old one and the next check retries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'tls.crt'), client.cert);
    writeFileSync(join(dir, 'tls.key'), client.key);
    const log = capture();
    const { connect, opened } = fakeConnect();
    let failNext = false;
    const flaky = async (options: NativeConnectionOptions) => {
      if (failNext) {
        failNext = false;
        throw new Error('TransportError: tls handshake eof');
      }
      return connect(options);
    };
    const wc = await WorkerConnection.open(temporalSettings({ tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') } }), {
      logger: log.logger,
      connect: flaky,
      source: { checkInterval: 60_000 },
    });
    const worker = fakeWorker(opened[0]!);
    wc.attach(worker);
    const renewed = ca.issue('triage-worker-retry');
    writeFileSync(join(dir, 'tls.crt'), renewed.cert);
    writeFileSync(join(dir, 'tls.key'), renewed.key);
    failNext = true;
    await wc.credentials.check();
    expect(worker.swaps).toHaveLength(0);
    expect(log.text()).toContain('keeping the current connection');
    await wc.credentials.check();
    expect(worker.swaps).toHaveLength(1);
    await wc.close();
  });

  test('the client connection (gateway, CLI) takes a new API key with setApiKey', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikey-'));
    writeFileSync(join(dir, 'api-key'), 'key-one');
    const connection = lazyClientConnection(temporalSettings({ address: 'temporal.internal:7233', apiKeyFile: join(dir, 'api-key') }), {
      logger: silentLogger,
      source: { checkInterval: 50, settleDelay: 10 },
    });
    const setApiKey = jest.spyOn(connection, 'setApiKey');
    writeFileSync(join(dir, 'api-key'), 'key-two');
    await eventually(() => expect(setApiKey).toHaveBeenCalledWith('key-two'));
    // Closing the connection stops following the file.
    await connection.close();
    writeFileSync(join(dir, 'api-key'), 'key-three');
    await new Promise((r) => setTimeout(r, 200));
    expect(setApiKey).not.toHaveBeenCalledWith('key-three');
  });

  test('the client connection hands a renewed pair to the gRPC channel for its next handshake', async () => {
    const volume = secretVolume({ 'tls.crt': client.cert, 'tls.key': client.key });
    const temporal = temporalSettings({ tls: { certFile: join(volume.dir, 'tls.crt'), keyFile: join(volume.dir, 'tls.key') } });
    const source = TemporalCredentialSource.open(temporal, { logger: silentLogger, checkInterval: 60_000 });
    const identity = jest.fn();
    source.addIdentityCertificateListener(identity);
    const renewed = ca.issue('gateway-renewed');
    volume.update({ 'tls.crt': renewed.cert, 'tls.key': renewed.key });
    await source.check();
    expect(identity).toHaveBeenLastCalledWith({ certificate: Buffer.from(renewed.cert), privateKey: Buffer.from(renewed.key) });
    source.close();
  });

  test('a certificate that expires without renewal is reported once, as an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'tls.crt'), client.cert);
    writeFileSync(join(dir, 'tls.key'), client.key);
    const log = capture();
    let now = new Date();
    const source = TemporalCredentialSource.open(
      temporalSettings({ tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') } }),
      {
        logger: log.logger,
        checkInterval: 60_000,
        settleDelay: 1,
        now: () => now,
      },
    );
    now = new Date(Date.now() + 2 * DAY);
    await source.check();
    await source.check();
    const errors = log.lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((r) => r.level === 'error');
    expect(errors.map((e) => e.msg)).toEqual([
      'temporal credential files are not usable; still using the last good ones',
      expect.stringContaining('has expired and no renewed one was mounted'),
    ]);
    source.close();
  });
});
