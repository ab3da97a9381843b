// moto (`moto_server`) plays AWS in the sandbox: CloudWatch holds the
// scenario's metrics and STS hands out the sessions the Pod Identity emulator
// gives the worker. This module starts it and seeds it; nothing here is used
// against real AWS.
import { randomBytes } from 'node:crypto';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import type { ListenOptions, Listening } from './emulators/http-server.js';
import { freePort } from './ports.js';
import { startServerProcess } from './server-process.js';
import type { ScenarioCloudWatch } from './scenario.js';
import { findMotoServer } from './venv-tools.js';

const STARTUP_TIMEOUT_MS = 30_000;
/** PutMetricData takes at most 1,000 MetricDatum per call and 1 MB per HTTP POST. */
const MAX_DATUMS_PER_CALL = 1000;
const MAX_PAYLOAD_BYTES = 900 * 1024;
/** CloudWatch refuses points older than two weeks or more than two hours ahead; the sandbox keeps to the same rule. */
const OLDEST_POINT_MS = 14 * 86_400_000;
const NEWEST_POINT_MS = 2 * 3_600_000;

export interface MotoOptions extends ListenOptions {
  /**
   * Where moto's output goes. With a log file moto is detached from this
   * process's event loop, so it can outlive it (the stack records its pid for
   * `make down`); without one its output is piped, the last lines kept for
   * error messages, and this process stays up until close().
   */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  startupTimeoutMs?: number;
}

export interface Moto extends Listening {
  pid: number;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts moto_server in its own process group and resolves once it answers HTTP. */
export async function startMoto(opts: MotoOptions = {}): Promise<Moto> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || (await freePort());
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const server = await startServerProcess({
    name: 'moto_server',
    address: url,
    command: findMotoServer(opts.env),
    args: ['-H', host, '-p', String(port)],
    env: { ...(opts.env ?? process.env), PYTHONUNBUFFERED: '1' },
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
    ready: () => answers(url),
    startupTimeoutMs: opts.startupTimeoutMs ?? STARTUP_TIMEOUT_MS,
  });
  return { url, pid: server.pid, close: server.close };
}

export interface SandboxCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** moto accepts any key pair; a fresh random one per run keeps fixed keys out of the repository. */
export function sandboxCredentials(): SandboxCredentials {
  return {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
}

/** A CloudWatch client for moto: moto speaks the Query protocol, not the SDK's default. */
export function motoCloudWatchClient(url: string, region: string, credentials: SandboxCredentials): CloudWatchClient {
  return new CloudWatchClient({ endpoint: url, region, credentials, protocol: AwsQueryProtocol, maxAttempts: 3 });
}

/** A rough size of one datum in the Query encoding (`MetricData.member.N.Dimensions.member.M.Value=...`). */
function encodedBytes(datum: MetricDatum): number {
  const FIELD = 48;
  let bytes = FIELD * 4 + encodeURIComponent(datum.MetricName ?? '').length + (datum.Unit?.length ?? 0);
  for (const d of datum.Dimensions ?? [])
    bytes += 2 * FIELD + encodeURIComponent(d.Name ?? '').length + encodeURIComponent(d.Value ?? '').length;
  return bytes;
}

export interface SeedResult {
  datapoints: number;
  calls: number;
}

/**
 * Writes every point of every scenario metric with PutMetricData, in batches
 * within CloudWatch's limits. The credentials only need to be well formed: moto
 * files the data under the account the key maps to (123456789012 for any key
 * it did not issue), which is the account the Pod Identity emulator's default
 * role lives in.
 */
export async function seedCloudWatch(
  url: string,
  cloudwatch: ScenarioCloudWatch,
  credentials: SandboxCredentials,
  now: number = Date.now(),
): Promise<SeedResult> {
  const byNamespace = new Map<string, MetricDatum[]>();
  for (const metric of cloudwatch.metrics) {
    const dimensions = Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value }));
    for (const [t, value] of metric.series) {
      if (t < now - OLDEST_POINT_MS || t > now + NEWEST_POINT_MS) {
        throw new RangeError(
          `cloudwatch metric "${metric.label}": point at ${new Date(t).toISOString()} is outside what CloudWatch accepts (from two weeks ago to two hours ahead)`,
        );
      }
      const datum: MetricDatum = { MetricName: metric.metricName, Dimensions: dimensions, Timestamp: new Date(t), Value: value };
      if (metric.unit) datum.Unit = metric.unit;
      // Periods under a minute read high-resolution data, which must be written as such.
      if (metric.periodSeconds < 60) datum.StorageResolution = 1;
      const list = byNamespace.get(metric.namespace) ?? [];
      list.push(datum);
      byNamespace.set(metric.namespace, list);
    }
  }

  const client = motoCloudWatchClient(url, cloudwatch.region, credentials);
  let calls = 0;
  let datapoints = 0;
  try {
    for (const [namespace, data] of byNamespace) {
      let batch: MetricDatum[] = [];
      let bytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }));
        calls += 1;
        datapoints += batch.length;
        batch = [];
        bytes = 0;
      };
      for (const datum of data) {
        const size = encodedBytes(datum);
        if (batch.length === MAX_DATUMS_PER_CALL || bytes + size > MAX_PAYLOAD_BYTES) await flush();
        batch.push(datum);
        bytes += size;
      }
      await flush();
    }
  } finally {
    client.destroy();
  }
  return { datapoints, calls };
}
