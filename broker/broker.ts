// Assembles a running broker from its config: credentials, policy, audit
// log, upstream pool, HTTP server. `main.ts` is a thin process wrapper around
// `startBroker`; tests call it directly.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAuditLog, type AuditSink } from './audit.js';
import type { BrokerConfig, ProviderName } from './config.js';
import { createJsonLogger, type Logger } from '../config/logger.js';
import { buildPolicy, type Policy } from './policy.js';
import type { Clock, CredentialProvider } from './providers/credential.js';
import { createDatadogCredentials } from './providers/datadog.js';
import { createGitHubCredentials } from './providers/github.js';
import { createPagerDutyCredentials } from './providers/pagerduty.js';
import { createSlackCredentials } from './providers/slack.js';
import { CredentialUnavailableError } from './secret-file.js';
import { temporalApprovals, type ApprovalSource } from './approval.js';
import { kubernetesTokenReviewer, tokenReviewCallers, type TokenReviewer } from './callers.js';
import { createBrokerHandler, createConnectRefusal } from './server.js';
import { createUpstreamPool, upstreamsOf, type UpstreamPool } from './upstream.js';

export const BROKER_USER_AGENT = 'keyless-triage-broker/0.1';

export interface StartBrokerOptions {
  /** Defaults to JSON lines on stdout. */
  log?: Logger;
  /** Token-expiry clock (epoch ms); tests move it forward instead of waiting an hour. */
  now?: Clock;
  /** After a failed token mint or grant, how long the same failure is answered before trying again. */
  credentialRetryMs?: number;
  /** Where writes' approvals are read; defaults to Temporal as `config.temporal` names it. */
  approvals?: ApprovalSource;
  /** How caller tokens are reviewed; defaults to the Kubernetes API as `config.callers` names it. */
  tokenReviewer?: TokenReviewer;
}

export interface RunningBroker {
  /** e.g. http://127.0.0.1:8790 */
  url: string;
  port: number;
  policy: Policy;
  /** Stops accepting, lets in-flight requests finish (up to shutdownGrace), flushes the audit log. */
  close(): Promise<void>;
}

export class BrokerStartError extends Error {
  override name = 'BrokerStartError';
}

export async function startBroker(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const log = options.log ?? createJsonLogger({ base: { component: 'broker' } });
  const now = options.now ?? Date.now;
  const failureBackoffMs = options.credentialRetryMs ?? 5_000;
  const pool = createUpstreamPool(config);
  const cleanup: (() => Promise<void>)[] = [() => pool.close()];
  try {
    const credentials = createCredentials(config, pool, { log, now, failureBackoffMs });

    // PagerDuty narrows a grant silently; a broker that would answer every
    // PagerDuty call with 503 should fail its rollout instead of starting.
    if (credentials.pagerduty) {
      try {
        await credentials.pagerduty.credential({});
      } catch (err) {
        if (err instanceof CredentialUnavailableError) throw new BrokerStartError(`pagerduty: ${err.message}`);
        throw err;
      }
    }
    for (const provider of Object.values(credentials)) {
      const readiness = await provider.readiness();
      if (readiness !== 'ready') log.warn('provider not ready at start', { provider: provider.provider, readiness });
    }

    let audit: AuditSink;
    try {
      audit = await openAuditLog(config.auditLog, (err) =>
        log.error('audit log write failed', { path: config.auditLog, code: (err as NodeJS.ErrnoException).code }),
      );
    } catch (err) {
      throw new BrokerStartError(`cannot open audit log ${config.auditLog} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    cleanup.unshift(() => audit.close());

    const approvals = options.approvals ?? (config.temporal ? temporalApprovals(config.temporal, log) : undefined);
    if (approvals) cleanup.unshift(() => approvals.close());
    else if (config.providers.github || config.providers.slack) log.warn('no temporal settings: every GitHub and Slack write is refused');

    const callers = config.callers && (await callerCheck(config.callers, options.tokenReviewer, log));

    const policy = buildPolicy(config);
    const server = createServer(
      createBrokerHandler({
        policy,
        credentials,
        upstreams: upstreamsOf(config),
        audit,
        log,
        ...(approvals && { approvals }),
        ...(callers && { callers }),
        proxy: {
          dispatcher: pool.dispatcher,
          timeoutMs: config.upstreamTimeoutMs,
          maxRequestBodyBytes: config.maxRequestBodyBytes,
          userAgent: BROKER_USER_AGENT,
        },
      }),
    );
    server.on('connect', createConnectRefusal({ audit }));
    await listen(server, config.listen.host, config.listen.port);
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}`;
    log.info('broker listening', {
      url,
      providers: Object.keys(credentials),
      auditLog: config.auditLog,
      callers: config.callers ? config.callers.serviceAccounts : 'unauthenticated (loopback)',
    });

    let closing: Promise<void> | undefined;
    return {
      url,
      port: address.port,
      policy,
      close: () => (closing ??= shutdown(server, config.shutdownGraceMs, cleanup, log)),
    };
  } catch (err) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw err;
  }
}

/**
 * A broker whose TokenReviews fail would refuse every call; one review of a
 * token that cannot be valid proves, before the rollout goes on, that the API
 * answers and the broker's RBAC lets it ask (an answer, not its verdict).
 */
async function callerCheck(config: NonNullable<BrokerConfig['callers']>, reviewer: TokenReviewer | undefined, log: Logger) {
  let review: TokenReviewer;
  try {
    review = reviewer ?? kubernetesTokenReviewer(config.kubeconfig);
    await review('keyless-triage-broker-start-check', config.audience);
  } catch (err) {
    throw new BrokerStartError(
      `callers: cannot review tokens (${(err as Error).message}); the broker's ServiceAccount needs create on tokenreviews`,
    );
  }
  return tokenReviewCallers(config, review, log);
}

function createCredentials(
  config: BrokerConfig,
  pool: UpstreamPool,
  deps: { log: Logger; now: Clock; failureBackoffMs: number },
): Partial<Record<ProviderName, CredentialProvider>> {
  const { github, pagerduty, datadog, slack } = config.providers;
  const shared = { ...deps, dispatcher: pool.dispatcher, timeoutMs: config.upstreamTimeoutMs, userAgent: BROKER_USER_AGENT };
  return {
    ...(github && { github: createGitHubCredentials(github, shared) }),
    ...(pagerduty && { pagerduty: createPagerDutyCredentials(pagerduty, shared) }),
    ...(datadog && { datadog: createDatadogCredentials(datadog) }),
    ...(slack && { slack: createSlackCredentials(slack) }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function shutdown(server: Server, graceMs: number, cleanup: (() => Promise<void>)[], log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections would otherwise hold close() open until they time out.
  server.closeIdleConnections();
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => {
    log.warn('shutdown grace expired; closing remaining connections', { graceMs });
    server.closeAllConnections();
  }, graceMs);
  try {
    await closed;
  } finally {
    clearInterval(idleSweep);
    clearTimeout(deadline);
  }
  for (const step of cleanup) await step().catch((err: unknown) => log.error('shutdown step failed', { error: (err as Error).name }));
}
