import { logAnomaliesAnalyzer } from '../../../activities/analyzers/log-anomalies.js';
import type { LogDigest, LogMessageGroup, LogSeries } from '../../../activities/model.js';
import { analysisInput, container, deployment, kubernetes, namespace, OLD_RS, podsOf, replicaSet } from './fixtures.js';

const series = (field: string, points: number[], shift?: LogSeries['shift']): LogSeries => ({
  field,
  samples: points.length * 10,
  min: Math.min(...points),
  max: Math.max(...points),
  points,
  ...(shift ? { shift } : {}),
});

const errors = (text: string, count: number, distinct: string[] = []): LogMessageGroup => ({
  line: 10,
  lastLine: 10 + count,
  text,
  level: 'error',
  count,
  distinct,
});

const digest = (overrides: Partial<LogDigest>): LogDigest => ({
  linesScanned: 1000,
  gap: false,
  errors: 0,
  warnings: 0,
  messages: [],
  changes: [],
  series: [],
  ...overrides,
});

function titles(d: LogDigest): string[] {
  const ns = namespace('shop', {
    pods: podsOf(OLD_RS, 2, () => ({
      containers: [container({ currentLog: { status: 'ok', lines: [], truncated: false, redactions: 0, digest: d } })],
    })),
    deployments: [deployment('checkout-api')],
    replicaSets: [replicaSet(OLD_RS)],
  });
  const findings = logAnomaliesAnalyzer(analysisInput(kubernetes(ns)));
  for (const f of findings) expect(f).toMatchObject({ analyzer: 'kubernetes.log-anomaly', severity: 'warning' });
  return findings.map((f) => f.title);
}

describe('logAnomaliesAnalyzer', () => {
  test.each([
    {
      name: 'a latency that climbs, with the error the log repeats',
      digest: digest({
        series: [series('response_time_ms', [100, 100, 300, 900, 3000, 6000])],
        messages: [errors('Request timeout after 5000ms', 40)],
      }),
      titles: ['checkout-api log: response time rose from 100 ms to 6,000 ms; 40 errors "Request timeout after 5000ms"'],
    },
    {
      name: 'memory that climbs in every stretch reads as a leak',
      digest: digest({ series: [series('memory_usage_mb', [100, 400, 900, 1800, 2900, 4095])] }),
      titles: ['checkout-api log: memory usage rose steadily from 100 MB to 4,095 MB, the pattern of a leak'],
    },
    {
      name: 'memory that ends higher after ups and downs rose, but is not called a leak',
      digest: digest({ series: [series('heap_mb', [100, 300, 150, 400, 250])] }),
      titles: ['checkout-api log: heap rose from 100 MB to 250 MB'],
    },
    {
      name: 'a hit rate that falls right after a configuration reload names the reload',
      digest: digest({
        series: [series('cache_stats.rate', [85, 85, 85, 25, 25, 25], { line: 501, before: 85, after: 25 })],
        changes: [{ line: 500, text: 'Configuration reloaded successfully' }],
      }),
      titles: ['checkout-api log: cache stats rate fell from 85 to 25 right after "Configuration reloaded successfully"'],
    },
    {
      name: 'a change announced long before the shift is not tied to it',
      digest: digest({
        series: [series('cache_stats.rate', [85, 85, 85, 25, 25, 25], { line: 501, before: 85, after: 25 })],
        changes: [{ line: 20, text: 'Configuration reloaded successfully' }],
      }),
      titles: ['checkout-api log: cache stats rate fell from 85 to 25'],
    },
    {
      name: 'a burst of one error names what its lines share',
      digest: digest({ messages: [errors('Too Many Requests', 12, ['status=429', 'client_ip=10.0.50.123'])] }),
      titles: ['checkout-api logs 12 errors "Too Many Requests" (status=429, client_ip=10.0.50.123)'],
    },
    { name: 'near miss: a latency up by half is noise', digest: digest({ series: [series('latency_ms', [100, 120, 150])] }), titles: [] },
    { name: 'near miss: memory up by half is not a leak', digest: digest({ series: [series('memory_mb', [258, 300, 376])] }), titles: [] },
    {
      name: 'near miss: a counter climbs by nature (hits, requests)',
      digest: digest({ series: [series('requests_total', [10, 1000, 100000]), series('cache_stats.hits', [1, 50, 4000])] }),
      titles: [],
    },
    { name: 'near miss: a hit rate that improves', digest: digest({ series: [series('hit_rate', [25, 50, 85])] }), titles: [] },
    { name: 'near miss: two errors are not a burst', digest: digest({ messages: [errors('timeout', 2)] }), titles: [] },
    {
      name: 'near miss: warnings repeated are not errors',
      digest: digest({ messages: [{ ...errors('slow request', 50), level: 'warning' }] }),
      titles: [],
    },
    { name: 'near miss: a quiet log', digest: digest({ linesScanned: 500 }), titles: [] },
  ])('$name', ({ digest: d, titles: expected }) => {
    expect(titles(d)).toEqual(expected);
  });

  test('the evidence says how much was read and quotes each error group and change', () => {
    const ns = namespace('shop', {
      pods: podsOf(OLD_RS, 1, () => ({
        containers: [
          container({
            currentLog: {
              status: 'ok',
              lines: [],
              truncated: true,
              redactions: 0,
              digest: digest({
                gap: true,
                errors: 40,
                messages: [{ ...errors('Request timeout', 40), source: 'gateway' }],
                changes: [{ line: 3, text: 'deployed v2' }],
                series: [series('latency_ms', [100, 900])],
              }),
            },
          }),
        ],
      })),
      deployments: [deployment('checkout-api')],
      replicaSets: [replicaSet(OLD_RS)],
    });
    const [finding] = logAnomaliesAnalyzer(analysisInput(kubernetes(ns)));
    expect(finding!.evidence).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^read 1,000 lines of the last hour \(its oldest and newest parts\) of .*: 40 error and 0 warning lines/),
        'trend: latency rose from 100 ms to 900 ms',
        'error ×40 from gateway: "Request timeout"',
        'change announced: "deployed v2"',
      ]),
    );
  });
});
