import { assessDependencies, assessMetricShifts, shiftOf } from '../../../activities/analyzers/metrics.js';
import { runAnalyzers } from '../../../activities/analyzers/index.js';
import type { AnalysisInput, CloudWatchEvidence, DatadogEvidence, MetricSeries, MetricWindow } from '../../../activities/model.js';
import { healthyNamespace, incident, kubernetes } from './fixtures.js';

const WINDOW: MetricWindow = {
  start: '2024-05-01T09:15:00.000Z',
  incidentWindowStart: '2024-05-01T10:15:00.000Z',
  end: '2024-05-01T10:40:00.000Z',
};

function series(label: string, summary: Partial<MetricSeries['summary']>, extra: Partial<MetricSeries> = {}): MetricSeries {
  return { label, points: [], summary: { points: 100, ...summary }, ...extra };
}

const shifted = (label: string, baseline: number, incidentMean: number, extra: Partial<MetricSeries> = {}) =>
  series(
    label,
    {
      baseline,
      incident: incidentMean,
      changeBeganAt: '2024-05-01T10:18:00.000Z',
      peak: { value: incidentMean * 1.2, at: '2024-05-01T10:25:00.000Z' },
    },
    extra,
  );

function cloudwatch(...s: MetricSeries[]): CloudWatchEvidence {
  return {
    surface: 'cloudwatch',
    region: 'eu-west-1',
    readBy: { arn: 'arn:aws:sts::123456789012:assumed-role/triage/s', account: '123456789012' },
    window: WINDOW,
    series: s,
  };
}

function datadog(...s: MetricSeries[]): DatadogEvidence {
  return { surface: 'datadog', window: WINDOW, series: s, monitors: [], monitorsOmitted: 0 };
}

function input(parts: Partial<AnalysisInput>): AnalysisInput {
  return { incident: incident(), ...parts };
}

describe('shiftOf', () => {
  test.each([
    { name: 'no baseline', s: series('x', { incident: 5, changeBeganAt: WINDOW.end }), expected: undefined },
    { name: 'no persisted change', s: series('x', { baseline: 1, incident: 5 }), expected: undefined },
    { name: 'within ordinary variation', s: shifted('x', 1, 1.3), expected: undefined },
    { name: 'up 3x', s: shifted('x', 1, 3), expected: { direction: 'up', ratio: 3 } },
    { name: 'up from zero', s: shifted('x', 0, 4), expected: { direction: 'up', ratio: Infinity } },
    { name: 'zero stays zero', s: shifted('x', 0, 0), expected: undefined },
    { name: 'down to a third', s: shifted('x', 300, 100), expected: { direction: 'down' } },
    { name: 'down to zero', s: shifted('x', 300, 0), expected: { direction: 'down', ratio: 0 } },
  ])('$name', ({ s, expected }) => {
    const shift = shiftOf(s);
    if (expected === undefined) expect(shift).toBeUndefined();
    else expect(shift).toMatchObject(expected);
  });
});

describe('metric analyzers', () => {
  const cases: { name: string; input: AnalysisInput; analyzers: string[]; titles: string[]; severities?: string[] }[] = [
    { name: 'no metric surfaces', input: input({ kubernetes: kubernetes(healthyNamespace()) }), analyzers: [], titles: [] },
    {
      name: 'steady metrics',
      input: input({ cloudwatch: cloudwatch(series('ALB p99 latency', { baseline: 0.12, incident: 0.13 })) }),
      analyzers: [],
      titles: [],
    },
    {
      name: 'a service metric shifts: a symptom, a warning',
      input: input({ cloudwatch: cloudwatch(shifted('ALB 5xx', 2, 40, { unit: 'Count' })) }),
      analyzers: ['metrics.shift'],
      titles: ['ALB 5xx up ×20 since 10:18 UTC (CloudWatch)'],
      severities: ['warning'],
    },
    {
      name: 'one dependency signal: a warning',
      input: input({
        cloudwatch: cloudwatch(shifted('orders-db read latency', 0.004, 0.09, { unit: 'Seconds', dependency: 'orders-db' })),
      }),
      analyzers: ['metrics.dependency'],
      titles: ['Dependency orders-db degraded since 10:18 UTC (1 signal: CloudWatch)'],
      severities: ['warning'],
    },
    {
      name: 'two surfaces agree on a dependency: critical, and it leads',
      input: input({
        cloudwatch: cloudwatch(
          shifted('orders-db read latency', 0.004, 0.09, { dependency: 'orders-db' }),
          shifted('ALB p99 latency', 0.2, 1.1),
        ),
        datadog: datadog(shifted('orders-db client errors', 0, 35, { dependency: 'orders-db' })),
      }),
      analyzers: ['metrics.dependency', 'metrics.shift'],
      titles: [
        'Dependency orders-db degraded since 10:18 UTC (2 signals: CloudWatch, Datadog)',
        'ALB p99 latency up ×5.5 since 10:18 UTC (CloudWatch)',
      ],
      severities: ['critical', 'warning'],
    },
    {
      name: 'a steady series of the same dependency weakens two agreeing signals to a warning',
      input: input({
        cloudwatch: cloudwatch(
          shifted('orders-db read latency', 0.004, 0.09, { dependency: 'orders-db' }),
          series('orders-db connections', { baseline: 40, incident: 42 }, { dependency: 'orders-db' }),
        ),
        datadog: datadog(shifted('orders-db client errors', 0, 35, { dependency: 'orders-db' })),
      }),
      analyzers: ['metrics.dependency'],
      titles: ['Dependency orders-db degraded since 10:18 UTC (2 signals: CloudWatch, Datadog; 1 steady)'],
      severities: ['warning'],
    },
    {
      name: 'one signal against a steady one is only worth a line',
      input: input({
        cloudwatch: cloudwatch(
          shifted('orders-db read latency', 0.004, 0.09, { dependency: 'orders-db' }),
          series('orders-db errors', { baseline: 1, incident: 1.1 }, { dependency: 'orders-db' }),
        ),
      }),
      analyzers: ['metrics.dependency'],
      titles: ['Dependency orders-db degraded since 10:18 UTC (1 signal: CloudWatch; 1 steady)'],
      severities: ['info'],
    },
    {
      name: 'near miss: a series with no baseline says nothing either way',
      input: input({
        cloudwatch: cloudwatch(
          shifted('orders-db read latency', 0.004, 0.09, { dependency: 'orders-db' }),
          series('orders-db errors', { incident: 1.1 }, { dependency: 'orders-db' }),
        ),
      }),
      analyzers: ['metrics.dependency'],
      titles: ['Dependency orders-db degraded since 10:18 UTC (1 signal: CloudWatch)'],
      severities: ['warning'],
    },
    {
      name: 'a steady dependency is not named',
      input: input({
        datadog: datadog(
          series('orders-db errors', { baseline: 1, incident: 1.1, changeBeganAt: WINDOW.end }, { dependency: 'orders-db' }),
        ),
      }),
      analyzers: [],
      titles: [],
    },
  ];

  test.each(cases)('$name', ({ input: i, analyzers, titles, severities }) => {
    const findings = runAnalyzers(i).filter((f) => f.analyzer.startsWith('metrics.'));
    expect(findings.map((f) => f.analyzer)).toEqual(analyzers);
    expect(findings.map((f) => f.title)).toEqual(titles);
    if (severities) expect(findings.map((f) => f.severity)).toEqual(severities);
  });

  test('every finding cites the numbers it rests on', () => {
    const [finding] = assessMetricShifts(input({ cloudwatch: cloudwatch(shifted('ALB p99 latency', 0.2, 1.1, { unit: 'Seconds' })) }));
    expect(finding?.finding.evidence).toEqual([
      'CloudWatch ALB p99 latency: baseline 0.2 s → 1.1 s in the incident window (up ×5.5), change began 10:18 UTC, peak 1.32 s at 10:25 UTC',
    ]);
    expect(finding?.finding.objects).toEqual(['Metric/cloudwatch/ALB p99 latency']);
  });

  test('labels and dependency names are cleaned before they reach a title', () => {
    const [finding] = assessDependencies(
      input({ cloudwatch: cloudwatch(shifted('lat\u001b[2J\nency', 1, 5, { dependency: 'db\u0007' })) }),
    );
    expect(finding?.finding.title).not.toMatch(/[\u0000-\u001f]/);
    expect(finding?.finding.evidence.join('')).not.toMatch(/[\u0000-\u001f]/);
  });
});
