// Connections to Temporal for the worker (NativeConnection) and for the gateway
// and CLI (Connection), built from the `temporal` settings: plaintext to the
// local dev server, TLS, mTLS with a client certificate pair, or a Temporal
// Cloud API key. Credentials are files (mounted Secrets that rotate every few
// hours), re-read when they change:
//
// - API key: `setApiKey` on the live connection (both SDK connection types
//   have it); the next request carries the new key.
// - Client certificate, worker: Rust Core fixes TLS at connect time, so a new
//   NativeConnection is opened with the new pair and swapped into the running
//   Worker (`worker.connection = next`, SDK 1.24, sdk-typescript#1902, made for
//   exactly this); the old one is then closed. Running tasks are not disturbed.
// - Client certificate, client: grpc-js takes a CertificateProvider and builds
//   each new TLS handshake from the latest pair it was given, so the same
//   Connection keeps working across rotations.
//
// Nothing here logs or puts into an error message the content of a key file:
// errors name the file and what is wrong with it; certificates (public) are
// logged by subject, serial, expiry and fingerprint.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import grpc from '@grpc/grpc-js';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import type { Logger } from './logger.js';
import { ConfigError, type TriageConfig } from './config.js';

type TemporalSettings = TriageConfig['temporal'];
type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** A Temporal credential file is missing, unreadable, malformed or expired. Names the file, never its content. */
export class TemporalCredentialError extends ConfigError {
  override name = 'TemporalCredentialError';
}

/** What may be logged about a certificate: all of it is public. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

export interface ClientCertificate {
  /** PEM as read from certFile (leaf first, then any intermediates). */
  crt: Buffer;
  /** PEM as read from keyFile. */
  key: Buffer;
  summary: CertificateSummary;
  notBefore: Date;
  notAfter: Date;
}

/** The credentials the files held at the last successful read. */
export interface TemporalCredentials {
  /** Present when TLS is on. */
  tls?: { serverName?: string; ca?: Buffer; clientCert?: ClientCertificate };
  apiKey?: string;
}

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// Clocks in a cluster drift a little; a certificate issued "now" by a CA a few seconds ahead is fine.
const CLOCK_SKEW_MS = 5 * 60_000;

function readCredentialFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new TemporalCredentialError(`${what} ${file} cannot be read (${code})`);
  }
}

function parseCertificates(pem: Buffer, file: string, what: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw new TemporalCredentialError(`${what} ${file} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TemporalCredentialError(`${what} ${file}: certificate ${i + 1} in the file does not parse`);
    }
  });
}

export function summarize(cert: X509Certificate): CertificateSummary {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

function readClientCertificate(certFile: string, keyFile: string, now: Date): ClientCertificate {
  const crt = readCredentialFile(certFile, 'tls.certFile');
  const key = readCredentialFile(keyFile, 'tls.keyFile');
  const [leaf] = parseCertificates(crt, certFile, 'tls.certFile') as [X509Certificate];
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // The parser's message is not echoed: it is about the key's content.
    throw new TemporalCredentialError(`tls.keyFile ${keyFile} is not an unencrypted PEM private key`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TemporalCredentialError(`tls.keyFile ${keyFile} is not the private key of the certificate in ${certFile}`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new TemporalCredentialError(`tls.certFile ${certFile}: the client certificate expired at ${notAfter.toISOString()}`);
  }
  if (notBefore.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw new TemporalCredentialError(`tls.certFile ${certFile}: the client certificate is not valid before ${notBefore.toISOString()}`);
  }
  return { crt, key, summary: summarize(leaf), notBefore, notAfter };
}

function readApiKey(file: string): string {
  const key = readCredentialFile(file, 'apiKeyFile').toString('utf8').trim();
  if (key === '') throw new TemporalCredentialError(`apiKeyFile ${file} is empty`);
  // It travels as an HTTP header value: one line of visible ASCII.
  if (!/^[\x21-\x7e]+$/.test(key))
    throw new TemporalCredentialError(`apiKeyFile ${file} must hold the key alone, on one line, without spaces`);
  return key;
}

/** Reads and validates every credential file the settings name. Throws TemporalCredentialError naming the file. */
export function readTemporalCredentials(temporal: TemporalSettings, now: Date = new Date()): TemporalCredentials {
  const { tls, apiKeyFile } = temporal;
  const creds: TemporalCredentials = {};
  if (tls) {
    let ca: Buffer | undefined;
    if (tls.caFile) {
      ca = readCredentialFile(tls.caFile, 'tls.caFile');
      parseCertificates(ca, tls.caFile, 'tls.caFile');
    }
    const clientCert = tls.certFile && tls.keyFile ? readClientCertificate(tls.certFile, tls.keyFile, now) : undefined;
    creds.tls = { ...(tls.serverName ? { serverName: tls.serverName } : {}), ...(ca ? { ca } : {}), ...(clientCert ? { clientCert } : {}) };
  }
  if (apiKeyFile) creds.apiKey = readApiKey(apiKeyFile);
  return creds;
}

function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Whether two reads would build the same TLS connection. */
export function sameTls(a: TemporalCredentials['tls'], b: TemporalCredentials['tls']): boolean {
  if (!a || !b) return a === b;
  return (
    a.serverName === b.serverName &&
    sameBuffer(a.ca, b.ca) &&
    sameBuffer(a.clientCert?.crt, b.clientCert?.crt) &&
    sameBuffer(a.clientCert?.key, b.clientCert?.key)
  );
}

/** Options for the worker's NativeConnection (Rust Core): TLS material is copied in at connect time. */
export function nativeConnectionOptions(temporal: TemporalSettings, creds: TemporalCredentials): NativeConnectionOptions {
  const tls = creds.tls;
  return {
    address: temporal.address,
    ...(tls
      ? {
          tls: {
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.ca ? { serverRootCACertificate: tls.ca } : {}),
            ...(tls.clientCert ? { clientCertPair: { crt: tls.clientCert.crt, key: tls.clientCert.key } } : {}),
          },
        }
      : {}),
    ...(creds.apiKey ? { apiKey: creds.apiKey } : {}),
  };
}

/**
 * Options for a client Connection (grpc-js). With TLS and no API key, the
 * channel takes its certificates from `source` at every handshake, so a
 * rotated pair is used from the next (re)connect on. With an API key the SDK
 * refuses custom channel credentials, so TLS is static there; the key itself
 * follows rotation through setApiKey.
 */
export function clientConnectionOptions(temporal: TemporalSettings, source: TemporalCredentialSource): ConnectionOptions {
  const { tls, apiKey } = source.current;
  if (!tls) return { address: temporal.address };
  if (apiKey) {
    return {
      address: temporal.address,
      tls: { ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}), ...(tls.ca ? { serverRootCACertificate: tls.ca } : {}) },
      apiKey,
    };
  }
  return {
    address: temporal.address,
    credentials: grpc.experimental.createCertificateProviderChannelCredentials(source, tls.clientCert ? source : null),
    ...(tls.serverName
      ? { channelArgs: { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } }
      : {}),
  };
}

export interface CredentialSourceOptions {
  logger: Logger;
  /** How often the files are re-read without a file event (ms). Kubernetes swaps a symlink, which watchers can miss. */
  checkInterval?: number;
  /** Wait after a file event before reading, so a writer that updates several files is done (ms). */
  settleDelay?: number;
  now?: () => Date;
}

type Subscriber = (creds: TemporalCredentials) => void | Promise<void>;

/**
 * The Temporal credential files, read once at start (throwing on anything
 * unusable) and then followed: fs.watch on their directories, plus a periodic
 * re-read. A change is taken only when the new files validate as a whole; until
 * then the previous credentials stay in use. Also a grpc-js CertificateProvider.
 */
export class TemporalCredentialSource implements CertificateProvider {
  private creds: TemporalCredentials;
  private readonly subscribers = new Set<Subscriber>();
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private lastProblem: string | undefined;
  private readonly expiryNoticesGiven = new Set<string>();
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly settleDelay: number;

  private constructor(
    readonly temporal: TemporalSettings,
    private readonly opts: CredentialSourceOptions,
  ) {
    this.logger = opts.logger;
    this.now = opts.now ?? (() => new Date());
    this.settleDelay = opts.settleDelay ?? 500;
    this.creds = readTemporalCredentials(temporal, this.now());
    const cert = this.creds.tls?.clientCert;
    if (cert) {
      this.logger.info('temporal client certificate loaded', { file: temporal.tls?.certFile, certificate: cert.summary });
      this.warnOnUsage(cert);
    }
    if (this.creds.apiKey) this.logger.info('temporal API key loaded', { file: temporal.apiKeyFile });
    this.noticeExpiry();
  }

  /** Reads the files now (throws TemporalCredentialError) and starts following them. */
  static open(temporal: TemporalSettings, opts: CredentialSourceOptions): TemporalCredentialSource {
    const source = new TemporalCredentialSource(temporal, opts);
    source.follow();
    return source;
  }

  get current(): TemporalCredentials {
    return this.creds;
  }

  /** The files this source follows. */
  get files(): string[] {
    const { tls, apiKeyFile } = this.temporal;
    return [tls?.certFile, tls?.keyFile, tls?.caFile, apiKeyFile].filter((f): f is string => f !== undefined);
  }

  /**
   * `fn` runs after every check with the current credentials, changed or not,
   * so a consumer whose last apply failed retries on the next check.
   */
  subscribe(fn: Subscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Re-reads the files; resolves once subscribers have run. Concurrent calls share one read, plus one more if asked during it. */
  check(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.rerun = false;
          await this.checkOnce();
        } while (this.rerun);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.settleTimer);
    for (const w of this.watchers.splice(0)) w.close();
    this.subscribers.clear();
  }

  // grpc-js CertificateProvider: listeners get the current value at once, then every change.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    listener(this.caUpdate());
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    listener(this.identityUpdate());
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate {
    // No caFile: an undefined CA makes Node use its default roots (plus NODE_EXTRA_CA_CERTS).
    return { caCertificate: this.creds.tls?.ca as Buffer };
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate | null {
    const cert = this.creds.tls?.clientCert;
    return cert ? { certificate: cert.crt, privateKey: cert.key } : null;
  }

  private follow(): void {
    if (this.files.length === 0) return;
    // The directory, not the file: Kubernetes updates a Secret volume by
    // swapping the `..data` symlink, which a watch on the file never sees.
    for (const dir of new Set(this.files.map((f) => dirname(f)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.soon());
        watcher.on('error', () => watcher.close()); // the periodic check still runs
        this.watchers.push(watcher);
      } catch {
        // No inotify here (or the directory is gone): the periodic check covers it.
      }
    }
    this.timer = setInterval(() => void this.check(), this.opts.checkInterval ?? 30_000);
    this.timer.unref();
  }

  private soon(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.check(), this.settleDelay);
    this.settleTimer.unref();
  }

  private async checkOnce(): Promise<void> {
    let next: TemporalCredentials;
    try {
      next = readTemporalCredentials(this.temporal, this.now());
    } catch {
      // A writer may be between the certificate and the key: look again once before calling it a problem.
      await new Promise((r) => setTimeout(r, this.settleDelay));
      try {
        next = readTemporalCredentials(this.temporal, this.now());
      } catch (err) {
        const problem = err instanceof Error ? err.message : String(err);
        if (problem !== this.lastProblem) {
          this.logger.error('temporal credential files are not usable; still using the last good ones', { problem });
          this.lastProblem = problem;
        }
        this.noticeExpiry();
        await this.notify();
        return;
      }
    }
    if (this.lastProblem) this.logger.info('temporal credential files are usable again');
    this.lastProblem = undefined;
    const tlsChanged = !sameTls(this.creds.tls, next.tls);
    const apiKeyChanged = this.creds.apiKey !== next.apiKey;
    if (tlsChanged || apiKeyChanged) {
      this.creds = next;
      if (tlsChanged) {
        const cert = next.tls?.clientCert;
        this.logger.info('temporal TLS files changed; taking the new ones', {
          files: [this.temporal.tls?.certFile, this.temporal.tls?.keyFile, this.temporal.tls?.caFile].filter(Boolean),
          ...(cert ? { certificate: cert.summary } : {}),
        });
        if (cert) this.warnOnUsage(cert);
        for (const l of this.caListeners) l(this.caUpdate());
        for (const l of this.identityListeners) l(this.identityUpdate());
      }
      if (apiKeyChanged) this.logger.info('temporal API key file changed; taking the new key', { file: this.temporal.apiKeyFile });
    }
    this.noticeExpiry();
    await this.notify();
  }

  private async notify(): Promise<void> {
    for (const fn of [...this.subscribers]) {
      try {
        await fn(this.creds);
      } catch (err) {
        this.logger.error('applying temporal credentials failed', { error: (err as Error).message });
      }
    }
  }

  /** Once per certificate: a warning when it is close to expiry (renewal is failing), an error once it has expired. */
  private noticeExpiry(): void {
    const cert = this.creds.tls?.clientCert;
    if (!cert) return;
    const now = this.now().getTime();
    const left = cert.notAfter.getTime() - now;
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    const threshold = this.temporal.tls?.expiryWarning ?? lifetime / 4;
    const fields = { file: this.temporal.tls?.certFile, certificate: cert.summary, minutesLeft: Math.floor(left / 60_000) };
    if (left <= 0) {
      if (this.once(`expired:${cert.summary.fingerprint256}`)) {
        this.logger.error(
          'temporal client certificate has expired and no renewed one was mounted; new connections to Temporal will be refused',
          fields,
        );
      }
    } else if (left <= threshold && this.once(`expiring:${cert.summary.fingerprint256}`)) {
      this.logger.warn(
        'temporal client certificate expires soon and has not been renewed; check cert-manager (or whatever writes the file)',
        fields,
      );
    }
  }

  private warnOnUsage(cert: ClientCertificate): void {
    const usages = new X509Certificate(cert.crt).keyUsage;
    if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH_EKU)) {
      this.logger.warn('temporal client certificate lacks the clientAuth extended key usage; the server is likely to refuse it', {
        file: this.temporal.tls?.certFile,
        certificate: cert.summary,
      });
    }
  }

  private once(key: string): boolean {
    if (this.expiryNoticesGiven.has(key)) return false;
    this.expiryNoticesGiven.add(key);
    return true;
  }
}

/** What the worker side needs of a NativeConnection; tests pass fakes. */
export type NativeConnectionLike = Pick<NativeConnection, 'setApiKey' | 'close'>;

/** A running Worker as far as connection replacement goes (its `connection` setter calls Core's replace_client). */
export interface ConnectionHolder<C extends NativeConnectionLike = NativeConnection> {
  connection: C | undefined;
}

export interface WorkerConnectionOptions<C extends NativeConnectionLike> {
  logger: Logger;
  /** Opens a NativeConnection; the SDK's by default. */
  connect?: (options: NativeConnectionOptions) => Promise<C>;
  source?: Omit<CredentialSourceOptions, 'logger'>;
}

/**
 * The worker's connection to Temporal, kept in step with the credential files:
 * a new API key is set on the live connection; a new certificate pair or CA
 * opens a new connection that replaces the one the Worker uses.
 */
export class WorkerConnection<C extends NativeConnectionLike = NativeConnection> {
  private holder: ConnectionHolder<C> | undefined;
  private applied: TemporalCredentials;
  private applying = false;
  private closed = false;
  private unsubscribe: () => void = () => undefined;

  private constructor(
    private readonly source: TemporalCredentialSource,
    private readonly connect: (options: NativeConnectionOptions) => Promise<C>,
    private readonly logger: Logger,
    /** The connection opened at start; after a rotation the Worker holds another. */
    readonly connection: C,
  ) {
    this.applied = source.current;
  }

  static async open<C extends NativeConnectionLike = NativeConnection>(
    temporal: TemporalSettings,
    opts: WorkerConnectionOptions<C>,
  ): Promise<WorkerConnection<C>> {
    const connect = opts.connect ?? (defaultNativeConnect as unknown as (options: NativeConnectionOptions) => Promise<C>);
    const source = TemporalCredentialSource.open(temporal, { ...opts.source, logger: opts.logger });
    try {
      const connection = await connect(nativeConnectionOptions(temporal, source.current));
      return new WorkerConnection(source, connect, opts.logger, connection);
    } catch (err) {
      source.close();
      throw err;
    }
  }

  get credentials(): TemporalCredentialSource {
    return this.source;
  }

  /** Starts following rotation for `worker`, which must be using `this.connection`. */
  attach(worker: ConnectionHolder<C>): void {
    this.holder = worker;
    this.unsubscribe = this.source.subscribe((creds) => this.apply(creds));
    void this.apply(this.source.current);
  }

  /** Stops following the files and closes whichever connection is current. Call after the Worker has stopped. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.source.close();
    await (this.holder?.connection ?? this.connection).close();
  }

  private async apply(creds: TemporalCredentials): Promise<void> {
    const holder = this.holder;
    if (!holder || this.applying || this.closed) return;
    this.applying = true;
    try {
      if (!sameTls(creds.tls, this.applied.tls)) await this.replaceConnection(holder, creds);
      else if (creds.apiKey && creds.apiKey !== this.applied.apiKey) {
        await holder.connection?.setApiKey(creds.apiKey);
        this.applied = { ...this.applied, apiKey: creds.apiKey };
        this.logger.info('temporal API key rotated on the worker connection', { file: this.source.temporal.apiKeyFile });
      }
    } finally {
      this.applying = false;
    }
  }

  private async replaceConnection(holder: ConnectionHolder<C>, creds: TemporalCredentials): Promise<void> {
    let next: C;
    try {
      next = await this.connect(nativeConnectionOptions(this.source.temporal, creds));
    } catch (err) {
      // Kept: the current connection works until it has to reconnect. Retried at the next check.
      this.logger.error('could not connect to Temporal with the rotated TLS files; keeping the current connection', {
        error: (err as Error).message,
      });
      return;
    }
    if (this.closed) {
      await next.close().catch(() => undefined);
      return;
    }
    const previous = holder.connection;
    try {
      holder.connection = next;
    } catch (err) {
      // The Worker is shutting down (or never had a connection): nothing to replace.
      this.logger.warn('worker did not take the new Temporal connection', { error: (err as Error).message });
      await next.close().catch(() => undefined);
      return;
    }
    this.applied = creds;
    this.logger.info('worker now uses a new Temporal connection with the rotated TLS files', {
      ...(creds.tls?.clientCert ? { certificate: creds.tls.clientCert.summary } : {}),
    });
    await previous
      ?.close()
      .catch((err: Error) => this.logger.warn('closing the previous Temporal connection failed', { error: err.message }));
  }
}

async function defaultNativeConnect(options: NativeConnectionOptions): Promise<NativeConnection> {
  // Loaded here, not at the top: the gateway and the CLI import this module and need no Rust Core.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(options);
}

/** A client Connection that stops following the credential files when closed. */
class FollowingConnection extends Connection {
  stopFollowing: () => void = () => undefined;
  override async close(): Promise<void> {
    this.stopFollowing();
    await super.close();
  }
}

/**
 * A lazy client Connection (gateway, CLI) that follows the credential files:
 * TLS through the CertificateProvider, the API key through setApiKey.
 * Throws TemporalCredentialError at once if a file is unusable.
 */
export function lazyClientConnection(
  temporal: TemporalSettings,
  opts: { logger: Logger; source?: Omit<CredentialSourceOptions, 'logger'> },
): Connection {
  const source = TemporalCredentialSource.open(temporal, { ...opts.source, logger: opts.logger });
  // `lazy` constructs `this`, so this is a FollowingConnection. No connect
  // timeout: the SDK applies one only in Connection.connect, never when a
  // lazy connection connects on first use.
  const connection = FollowingConnection.lazy(clientConnectionOptions(temporal, source)) as FollowingConnection;
  let appliedKey = source.current.apiKey;
  const unsubscribe = source.subscribe((creds) => {
    if (creds.apiKey && creds.apiKey !== appliedKey) {
      connection.setApiKey(creds.apiKey);
      appliedKey = creds.apiKey;
      opts.logger.info('temporal API key rotated on the client connection', { file: temporal.apiKeyFile });
    }
  });
  connection.stopFollowing = () => {
    unsubscribe();
    source.close();
  };
  return connection;
}
