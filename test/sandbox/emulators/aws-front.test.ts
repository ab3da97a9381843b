import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetMetricDataCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import { signedService, startAwsFront, type AwsFront } from '../../../sandbox/emulators/aws-front.js';
import { sandboxCredentials, startMoto, type Moto } from '../../../sandbox/moto.js';
import { freePort } from '../../../sandbox/ports.js';
import { eventually } from '../../eventually.js';

const REGION = 'eu-west-1';
const credentials = sandboxCredentials();
let moto: Moto;
const fronts: AwsFront[] = [];

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);

afterAll(async () => {
  await Promise.all(fronts.map((f) => f.close()));
  await moto?.close();
});

async function front(conditions?: Parameters<typeof startAwsFront>[0]['conditions'], upstream = moto.url): Promise<AwsFront> {
  const f = await startAwsFront({ upstream, ...(conditions ? { conditions } : {}) });
  fronts.push(f);
  return f;
}

/** One attempt only, so an injected failure reaches the test as the SDK reports it. */
function client(url: string): CloudWatchClient {
  return new CloudWatchClient({ endpoint: url, region: REGION, credentials, protocol: AwsQueryProtocol, maxAttempts: 1 });
}

async function failureOf(p: Promise<unknown>): Promise<{ name: string; status?: number; retryAfter?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    return {
      name: e.name,
      ...(e.$metadata?.httpStatusCode !== undefined ? { status: e.$metadata.httpStatusCode } : {}),
      ...(e.$response?.headers?.['retry-after'] !== undefined ? { retryAfter: e.$response.headers['retry-after'] } : {}),
    };
  }
  throw new Error('expected the call to fail');
}

test('without conditions the front is transparent: what goes in through it comes back out through it', async () => {
  const f = await front();
  const cw = client(f.url);
  const at = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000);
  await cw.send(
    new PutMetricDataCommand({
      Namespace: 'Front/Test',
      MetricData: [{ MetricName: 'Latency', Value: 42, Timestamp: at, Unit: 'Milliseconds' }],
    }),
  );
  const listed = await cw.send(new ListMetricsCommand({ Namespace: 'Front/Test' }));
  expect(listed.Metrics?.map((m) => m.MetricName)).toEqual(['Latency']);
  const data = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(at.getTime() - 60_000),
      EndTime: new Date(at.getTime() + 60_000),
      MetricDataQueries: [
        { Id: 'm1', MetricStat: { Metric: { Namespace: 'Front/Test', MetricName: 'Latency' }, Period: 60, Stat: 'Maximum' } },
      ],
    }),
  );
  expect(data.MetricDataResults?.[0]?.Values).toEqual([42]);
  expect(f.requests.map((r) => r.status)).toEqual([200, 200, 200]);
});

test.each([
  [503, 'ServiceUnavailable'],
  [500, 'InternalFailure'],
  [429, 'Throttling'],
  [403, 'AccessDenied'],
])('an error rate of 1 with status %i reaches the SDK as %s', async (errorStatus, name) => {
  const f = await front({ latencyMs: 0, errorRate: 1, errorStatus, retryAfterSeconds: 7 });
  const failure = await failureOf(client(f.url).send(new ListMetricsCommand({ Namespace: 'Front/Test' })));
  expect(failure).toEqual({ name, status: errorStatus, retryAfter: '7' });
});

test.each([
  [429, [429, 200]],
  [503, [503, 200]],
  [403, [403]],
])("the SDK's own retry treats an injected %i as AWS's: retried when AWS would be", async (status, seen) => {
  const f = await front();
  f.setFault({ status, times: 1 });
  const retrying = new CloudWatchClient({ endpoint: f.url, region: REGION, credentials, protocol: AwsQueryProtocol, maxAttempts: 2 });
  const call = retrying.send(new ListMetricsCommand({}));
  if (seen.length > 1) await expect(call).resolves.toBeDefined();
  else await expect(call).rejects.toThrow();
  expect(f.requests.map((r) => r.status)).toEqual(seen);
});

test('a fault set for N requests fails exactly those, then moto answers again', async () => {
  const f = await front();
  f.setFault({ status: 503, times: 2 });
  const cw = client(f.url);
  expect((await failureOf(cw.send(new ListMetricsCommand({})))).name).toBe('ServiceUnavailable');
  expect((await failureOf(cw.send(new ListMetricsCommand({})))).name).toBe('ServiceUnavailable');
  await expect(cw.send(new ListMetricsCommand({}))).resolves.toBeDefined();
  expect(f.requests.map((r) => r.status)).toEqual([503, 503, 200]);
});

test('added latency holds every request back at least that long', async () => {
  const f = await front({ latencyMs: 300, errorRate: 0, errorStatus: 503 });
  const started = performance.now();
  await client(f.url).send(new ListMetricsCommand({}));
  expect(performance.now() - started).toBeGreaterThanOrEqual(300);
});

test('when moto is not there the front answers as an unavailable AWS endpoint, not with a hang or a reset', async () => {
  const f = await front(undefined, `http://127.0.0.1:${await freePort()}`);
  expect(await failureOf(client(f.url).send(new ListMetricsCommand({})))).toMatchObject({ name: 'ServiceUnavailable', status: 503 });
});

test('only a loopback moto can be the upstream', async () => {
  await expect(startAwsFront({ upstream: 'http://203.0.113.9:5000' })).rejects.toThrow(/loopback/);
});

test('STS on the same moto is not CloudWatch: its calls pass through a CloudWatch outage', async () => {
  const f = await front({ latencyMs: 0, errorRate: 1, errorStatus: 429 });
  const sts = new STSClient({ endpoint: f.url, region: REGION, credentials, maxAttempts: 1 });
  await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Arn: expect.stringMatching(/^arn:aws:/) });
  expect((await failureOf(client(f.url).send(new ListMetricsCommand({})))).name).toBe('Throttling');
});

test.each([
  [
    'CloudWatch',
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/monitoring/aws4_request, SignedHeaders=host, Signature=00',
    'monitoring',
  ],
  ['STS', 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00', 'sts'],
  ['unsigned', undefined, undefined],
  ['garbage', 'Credential=../../monitoring', undefined],
])('the signing service of a %s request is read from its credential scope', (_label, header, service) => {
  expect(signedService(header)).toBe(service);
});

describe('a client that gives up', () => {
  const SIGNED_FOR_CLOUDWATCH =
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/monitoring/aws4_request, SignedHeaders=host, Signature=00';

  /** An upstream that never answers, counting the connections made to it and those still open. */
  async function silentUpstream(): Promise<{ url: string; received: () => number; open: () => number; close(): Promise<void> }> {
    let received = 0;
    let open = 0;
    const server = createServer(() => undefined);
    server.on('connection', (socket) => {
      received += 1;
      open += 1;
      socket.once('close', () => (open -= 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      received: () => received,
      open: () => open,
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(() => r()));
      },
    };
  }

  async function abandon(url: string, afterMs: number): Promise<void> {
    await fetch(url, {
      method: 'POST',
      headers: { authorization: SIGNED_FOR_CLOUDWATCH },
      body: 'Action=ListMetrics',
      signal: AbortSignal.timeout(afterMs),
    }).catch(() => undefined);
  }

  test('during the added latency: nothing reaches moto', async () => {
    const upstream = await silentUpstream();
    const f = await front({ latencyMs: 400, errorRate: 0, errorStatus: 503 }, upstream.url);
    try {
      await abandon(f.url, 100);
      await new Promise((r) => setTimeout(r, 500));
      expect(upstream.received()).toBe(0);
    } finally {
      await upstream.close();
    }
  });

  test('while moto is answering: the forwarded request is closed too, not left open in moto', async () => {
    const upstream = await silentUpstream();
    const f = await front(undefined, upstream.url);
    try {
      await abandon(f.url, 200);
      await eventually(() => expect({ received: upstream.received(), open: upstream.open() }).toEqual({ received: 1, open: 0 }), 1000);
    } finally {
      await upstream.close();
    }
  });
});
