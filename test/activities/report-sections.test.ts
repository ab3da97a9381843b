import { capBody, MAX_BODY } from '../../activities/report.js';
import { cardMetricLines, MAX_CHARTS, renderDatadog, renderLogTails, renderMetrics } from '../../activities/report-sections.js';
import type { CloudWatchEvidence, DatadogEvidence, KubernetesEvidence, MetricSeries, MetricWindow } from '../../activities/model.js';

const WINDOW: MetricWindow = {
  start: '2024-05-01T09:15:00.000Z',
  incidentWindowStart: '2024-05-01T10:15:00.000Z',
  end: '2024-05-01T10:40:00.000Z',
};
const T0 = Date.parse(WINDOW.start);

function series(label: string, baseline: number, incident: number, extra: Partial<MetricSeries> = {}): MetricSeries {
  const points = Array.from({ length: 86 }, (_, m): [number, number] => [T0 + m * 60_000, m < 63 ? baseline : incident]);
  const shifted = Math.abs(incident - baseline) > baseline * 0.5;
  return {
    label,
    points,
    summary: {
      points: 86,
      baseline,
      incident,
      ...(shifted ? { changeBeganAt: '2024-05-01T10:18:00.000Z' } : {}),
      peak: { value: incident, at: '2024-05-01T10:20:00.000Z' },
    },
    ...extra,
  };
}

function cloudwatch(...s: MetricSeries[]): CloudWatchEvidence {
  return {
    surface: 'cloudwatch',
    region: 'eu-west-1',
    readBy: { arn: 'arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/eks-s', account: '123456789012' },
    window: WINDOW,
    series: s,
  };
}

function datadog(overrides: Partial<DatadogEvidence> = {}): DatadogEvidence {
  return { surface: 'datadog', window: WINDOW, series: [], monitors: [], monitorsOmitted: 0, ...overrides };
}

describe('metric charts in the issue', () => {
  test('the series that moved most is charted first, with who read it', () => {
    const body = renderMetrics(
      cloudwatch(series('steady', 10, 10.5), series('p99 latency', 0.1, 2, { unit: 'Seconds' })),
      datadog({ series: [series('errors', 1, 5)] }),
    )!;
    expect(body.indexOf('p99 latency')).toBeLessThan(body.indexOf('errors'));
    expect(body.indexOf('errors')).toBeLessThan(body.indexOf('steady'));
    expect(body).toContain('assumed-role/keyless-triage-worker/eks-s');
    expect(body.match(/```mermaid\nxychart-beta/g)).toHaveLength(3);
  });

  test('charts are bounded; the rest are counted', () => {
    const many = Array.from({ length: MAX_CHARTS + 3 }, (_, i) => series(`s${i}`, 1, 1));
    const body = renderMetrics(cloudwatch(...many))!;
    expect(body.match(/```mermaid/g)).toHaveLength(MAX_CHARTS);
    expect(body).toContain('3 more series are in the workflow history');
  });

  test('no metric surface, no section', () => {
    expect(renderMetrics(undefined, undefined)).toBeUndefined();
  });

  test('the card gets one sparkline line per series, strongest first', () => {
    const lines = cardMetricLines(cloudwatch(series('steady', 10, 10)), datadog({ series: [series('errors', 1, 9)] }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Datadog: errors +[▁▂▃▄▅▆▇█]+ +baseline 1 → 9/);
    expect(lines[1]).toMatch(/^CloudWatch: steady/);
  });
});

describe('Datadog monitors and logs in the issue', () => {
  test('monitor names and log messages are escaped data', () => {
    const body = renderDatadog(
      datadog({
        monitors: [{ id: 7, name: 'ping @oncall-team <b>now</b>', state: 'Alert', tags: [] }],
        monitorsOmitted: 2,
        logs: {
          query: 'service:checkout status:error',
          scanned: 12,
          truncated: false,
          top: [{ message: 'see https://evil.example/x #12', count: 12, lastSeen: WINDOW.end }],
        },
      }),
    )!;
    expect(body).not.toContain('<b>');
    expect(body).not.toMatch(/(^|\s)@oncall-team/);
    expect(body).not.toContain('https://evil.example');
    expect(body).toContain('- and 2 more');
    expect(body).toContain('×12');
  });

  test('nothing firing and no logs: no section', () => {
    expect(renderDatadog(datadog())).toBeUndefined();
  });
});

describe('previous-container log tails in the issue', () => {
  function withLog(lines: string[]): KubernetesEvidence {
    return {
      surface: 'kubernetes',
      cluster: 'c',
      collectedAt: WINDOW.end,
      namespaces: [
        {
          namespace: 'shop',
          podCounts: { total: 1, notReady: 1, byPhase: { Running: 1 }, byWaitingReason: {} },
          pods: [
            {
              name: 'api-1',
              phase: 'Running',
              ready: false,
              containers: [
                {
                  name: 'api',
                  image: 'i',
                  ready: false,
                  restartCount: 3,
                  previousLog: { status: 'ok', lines, truncated: false, redactions: 1 },
                },
              ],
            },
          ],
          podsOmitted: 0,
          events: [],
          eventsOmitted: 0,
          deployments: [],
          replicaSets: [],
        },
      ],
    };
  }

  test('a log line with a fence cannot close the block it is quoted in', () => {
    const body = renderLogTails(withLog(['starting', '```', 'now this would be **markdown** @here', '`````']))!;
    const fence = /^(`+)text$/m.exec(body)?.[1];
    expect(fence?.length).toBeGreaterThan(5);
    expect(body.trimEnd().endsWith(fence!)).toBe(true);
    expect(body).toContain('1 secret-shaped value redacted');
  });

  test('no tails, no section', () => {
    expect(renderLogTails({ surface: 'kubernetes', cluster: 'c', collectedAt: WINDOW.end, namespaces: [] })).toBeUndefined();
  });
});

describe('capBody', () => {
  test('a cut inside a chart closes the fence before the truncation note', () => {
    const chart = ['```mermaid', ...Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`), '```'].join('\n');
    const capped = capBody(`intro\n\n${chart}`);
    expect(capped.length).toBeLessThanOrEqual(MAX_BODY);
    expect(capped).toMatch(/\n```\n\n_\(truncated: the workflow history has the full diagnosis\)_$/);
  });

  test('a cut outside a fence adds no fence', () => {
    const capped = capBody(Array.from({ length: 5000 }, (_, i) => `- line ${i} ${'y'.repeat(20)}`).join('\n'));
    expect(capped).not.toContain('```');
  });
});
