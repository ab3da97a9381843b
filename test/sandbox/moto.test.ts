import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { motoCloudWatchClient, sandboxCredentials, seedCloudWatch, startMoto, type Moto } from '../../sandbox/moto.js';
import { findMotoServer } from '../../sandbox/venv-tools.js';
import { buildScenario, type ScenarioCloudWatch } from '../../sandbox/scenario.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { processAlive } from '../../sandbox/stack.js';

const MINUTE = 60_000;
/** Close to the real time: CloudWatch takes points from the last two weeks only. */
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;

function cloudWatchScenario(metrics: unknown[]): ScenarioCloudWatch {
  const scenario = buildScenario(
    {
      name: 'moto-seed',
      description: 'metrics for the moto seeding tests',
      pagerduty: {
        incident: {
          id: 'PMOTO01',
          incident_number: 1,
          title: 'latency',
          status: 'triggered',
          urgency: 'high',
          created_at: '${now-5m}',
          html_url: 'https://example.pagerduty.com/incidents/PMOTO01',
          service: { id: 'PMOTOSV', summary: 'moto' },
        },
      },
      cloudwatch: { region: 'eu-west-1', metrics },
    },
    { now: NOW },
  );
  return scenario.cloudwatch!;
}

function script(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'moto-fake-')), 'moto_server');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('finding moto_server', () => {
  test('MOTO_SERVER wins when it is an executable', () => {
    const fake = script('exit 0');
    expect(findMotoServer({ MOTO_SERVER: fake, PATH: '' })).toBe(fake);
  });

  test('a MOTO_SERVER that is not executable is an error, not a silent fallback', () => {
    expect(() => findMotoServer({ MOTO_SERVER: '/nonexistent/moto_server' })).toThrow(/MOTO_SERVER is set to \/nonexistent\/moto_server/);
  });

  test('then the project venv, installed by make', () => {
    expect(findMotoServer({ PATH: '' })).toBe(join(PROJECT_ROOT, '.venv', 'bin', 'moto_server'));
  });
});

describe('starting moto', () => {
  test('a moto_server that exits at once is reported with its last lines', async () => {
    const fake = script('echo "OSError: [Errno 98] Address already in use" >&2\nexit 3');
    await expect(startMoto({ env: { ...process.env, MOTO_SERVER: fake } })).rejects.toThrow(
      /moto_server exited \(3\) while starting[\s\S]*Address already in use/,
    );
  });

  test('one that never answers is stopped after the startup timeout', async () => {
    const fake = script('echo listening, honestly\nexec sleep 30');
    await expect(startMoto({ env: { ...process.env, MOTO_SERVER: fake }, startupTimeoutMs: 500 })).rejects.toThrow(
      /did not answer on http:\/\/127\.0\.0\.1:\d+ within 0\.5s[\s\S]*listening, honestly/,
    );
  });

  test('the real server answers, logs to the file it was given, and close() stops its process group', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'moto-log-')), 'moto.log');
    const moto = await startMoto({ logFile });
    expect(moto.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${moto.url}/moto-api/`)).status).toBe(200);
    expect(readFileSync(logFile, 'utf8')).toMatch(/GET \/moto-api\//);
    await moto.close();
    expect(processAlive(moto.pid)).toBe(false);
    await expect(fetch(`${moto.url}/moto-api/`)).rejects.toThrow();
  });
});

describe('seeding CloudWatch', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(() => moto.close());

  async function read(cloudwatch: ScenarioCloudWatch, i: number, period: number, stat: string, minutes: number) {
    const m = cloudwatch.metrics[i]!;
    const client = motoCloudWatchClient(moto.url, cloudwatch.region, sandboxCredentials());
    try {
      const out = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(NOW - minutes * MINUTE),
          EndTime: new Date(NOW + MINUTE),
          ScanBy: 'TimestampAscending',
          MetricDataQueries: [
            {
              Id: 'q',
              MetricStat: {
                Metric: {
                  Namespace: m.namespace,
                  MetricName: m.metricName,
                  Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })),
                },
                Period: period,
                Stat: stat,
                ...(m.unit ? { Unit: m.unit } : {}),
              },
            },
          ],
        }),
      );
      const result = out.MetricDataResults?.[0];
      return (result?.Timestamps ?? []).map((t, k) => [t.getTime(), result!.Values![k]!] as [number, number]);
    } finally {
      client.destroy();
    }
  }

  test('every point lands with its timestamp, value, dimensions and unit', async () => {
    const cloudwatch = cloudWatchScenario([
      {
        label: 'checkout latency',
        namespace: 'AWS/ApplicationELB',
        metricName: 'TargetResponseTime',
        dimensions: { LoadBalancer: 'app/checkout/0123456789abcdef' },
        unit: 'Seconds',
        series: { start: '${now-10m}', values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1] },
      },
      {
        label: 'orders errors',
        namespace: 'Checkout',
        metricName: 'Errors',
        dimensions: { Service: 'orders' },
        stat: 'Sum',
        unit: 'Count',
        series: { start: '${now-10m}', values: [5, 6] },
      },
    ]);
    const result = await seedCloudWatch(moto.url, cloudwatch, sandboxCredentials());
    expect(result).toEqual({ datapoints: 13, calls: 2 }); // one call per namespace
    const latency = await read(cloudwatch, 0, 60, 'Average', 10);
    expect(latency).toEqual(cloudwatch.metrics[0]!.series);
    // Another unit, or other dimensions, is another metric.
    const wrongUnit = await read({ ...cloudwatch, metrics: [{ ...cloudwatch.metrics[0]!, unit: 'Milliseconds' }] }, 0, 60, 'Average', 10);
    expect(wrongUnit).toEqual([]);
    const errors = await read(cloudwatch, 1, 60, 'Sum', 10);
    expect(errors).toEqual([
      [NOW - 10 * MINUTE, 5],
      [NOW - 9 * MINUTE, 6],
    ]);
  });

  test('more than 1,000 points go in several calls, none lost', async () => {
    const cloudwatch = cloudWatchScenario([
      {
        label: 'queue depth',
        namespace: 'Bulk',
        metricName: 'QueueDepth',
        dimensions: { Queue: 'bulk-jobs' },
        series: { start: '${now-1439m}', end: '${now}', stepSeconds: 60, baseline: 10, jitter: 0 },
      },
    ]);
    expect(cloudwatch.metrics[0]!.series).toHaveLength(1440);
    const result = await seedCloudWatch(moto.url, cloudwatch, sandboxCredentials());
    expect(result).toEqual({ datapoints: 1440, calls: 2 });
    const hourly = await read(cloudwatch, 0, 3600, 'SampleCount', 1440);
    expect(hourly.reduce((n, [, count]) => n + count, 0)).toBe(1440);
  });

  test('points CloudWatch would refuse (older than two weeks) are refused here too, naming the metric', async () => {
    const cloudwatch = cloudWatchScenario([
      { label: 'ancient', namespace: 'Old', metricName: 'Thing', series: { start: '${now-15d}', values: [1] } },
    ]);
    await expect(seedCloudWatch(moto.url, cloudwatch, sandboxCredentials())).rejects.toThrow(
      /cloudwatch metric "ancient": point at .* is outside what CloudWatch accepts/,
    );
  });
});
