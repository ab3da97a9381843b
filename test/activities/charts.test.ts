import { formatValue, MAX_X_LABELS, mermaidXyChart, metricLine, sparkline } from '../../activities/charts.js';
import type { MetricSeries, MetricWindow } from '../../activities/model.js';

const B = '\u2800';
const MINUTE = 60_000;
const at = (hhmm: string): number => Date.parse(`2025-03-04T${hhmm}:00Z`);
const WINDOW: MetricWindow = {
  start: '2025-03-04T09:30:00Z',
  incidentWindowStart: '2025-03-04T10:30:00Z',
  end: '2025-03-04T11:00:00Z',
};

function series(values: readonly number[], overrides: Partial<MetricSeries> = {}, first = at('10:28'), stepMs = MINUTE): MetricSeries {
  return {
    label: 'ALB p99 latency',
    unit: 'Seconds',
    points: values.map((v, i) => [first + i * stepMs, v]),
    summary: { points: values.length },
    ...overrides,
  };
}

// The subset of xychart-beta the chart uses, line by line: quoted strings
// without `"`, numbers without exponents. A change of shape fails here.
const STRING = '"[^"\\n]*"';
const NUMBER = '-?\\d+(?:\\.\\d+)?';
const SHAPE = [
  /^```mermaid$/,
  /^xychart-beta$/,
  new RegExp(`^  title ${STRING}$`),
  new RegExp(`^  x-axis ${STRING} \\[(?:${STRING}, )*${STRING}\\]$`),
  new RegExp(`^  y-axis(?: ${STRING})? ${NUMBER} --> ${NUMBER}$`),
  new RegExp(`^  (?:line|bar) \\[(?:${NUMBER}, )*${NUMBER}\\]$`),
  /^```$/,
];

function expectWellFormed(markdown: string): string[] {
  const lines = markdown.split('\n');
  expect(lines).toHaveLength(SHAPE.length);
  lines.forEach((line, i) => expect(line).toMatch(SHAPE[i]!));
  return lines;
}

function categories(markdown: string): string[] {
  const axis = markdown.split('\n')[3]!;
  return [...axis.slice(axis.indexOf('[')).matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

function yAxis(markdown: string): string {
  return markdown.split('\n')[4]!.replace(/^ {2}y-axis(?: "[^"]*")? /, '');
}

describe('mermaidXyChart', () => {
  test('a small series renders exactly', () => {
    expect(mermaidXyChart(series([0.12, 0.1234567, 1.84, 0.1 + 0.2]), WINDOW)).toBe(
      [
        '```mermaid',
        'xychart-beta',
        '  title "ALB p99 latency (Seconds)"',
        '  x-axis "time (UTC), incident window from 10:30" ["10:28", "10:29", "10:30", "10:31"]',
        '  y-axis "Seconds" 0 --> 2.5',
        '  line [0.12, 0.1235, 1.84, 0.3]',
        '```',
      ].join('\n'),
    );
  });

  test('thinned labels count from the incident window start, blanks between are distinct', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const chart = mermaidXyChart(series(values, { dependency: 'orders-db', unit: 'Count' }, at('10:25')), WINDOW);
    expect(chart).toBe(
      [
        '```mermaid',
        'xychart-beta',
        '  title "ALB p99 latency (Count) · dependency orders-db"',
        `  x-axis "time (UTC), incident window from 10:30" ["${B}${B}${B}", "10:26", "${B}${B} ${B}", "10:28", "${B}${B}${B}${B}", "10:30", "${B}${B}  ${B}", "10:32", "${B}${B} ${B}${B}", "10:34"]`,
        '  y-axis "Count" 0 --> 12',
        '  line [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]',
        '```',
      ].join('\n'),
    );
  });

  test('90 points: a few evenly spaced HH:MM labels, every category distinct and non-empty', () => {
    const values = Array.from({ length: 90 }, (_, i) => (i < 70 ? 0.12 : 1.84));
    const chart = mermaidXyChart(series(values, {}, at('09:30')), WINDOW);
    expectWellFormed(chart);
    const cats = categories(chart);
    expect(cats).toHaveLength(90);
    // Mermaid trims categories and rejects "" (parse error); its band scale merges equal ones.
    expect(cats.every((c) => c.trim() !== '')).toBe(true);
    expect(new Set(cats).size).toBe(90);
    const labelled = cats.flatMap((c, i) => (/^\d\d:\d\d$/.test(c) ? [i] : []));
    expect(labelled.length).toBeGreaterThanOrEqual(MAX_X_LABELS - 1);
    expect(labelled.length).toBeLessThanOrEqual(MAX_X_LABELS);
    expect(cats[60]).toBe('10:30');
    const gaps = new Set(labelled.slice(1).map((i, k) => i - labelled[k]!));
    expect(gaps).toEqual(new Set([Math.ceil(90 / MAX_X_LABELS)]));
    expect(cats.filter((_, i) => !labelled.includes(i)).every((c) => /^[\u2800 ]+$/.test(c))).toBe(true);
  });

  test('points closer than a minute never repeat a label', () => {
    const chart = mermaidXyChart(
      series(
        Array.from({ length: 30 }, (_, i) => i),
        {},
        at('10:40'),
        1000,
      ),
      WINDOW,
    );
    const cats = categories(chart);
    expect(new Set(cats).size).toBe(30);
    expect(cats.filter((c) => /\d/.test(c))).toEqual(['10:40']);
  });

  test.each([
    { name: 'non-negative data starts at 0 with headroom', values: [0.12, 1.84], range: '0 --> 2.5' },
    { name: 'headroom of at least 10%', values: [50, 100], range: '0 --> 120' },
    { name: 'a flat series still has a range', values: [5, 5], range: '0 --> 6' },
    { name: 'all zeros', values: [0, 0, 0], range: '0 --> 1' },
    { name: 'negative data goes below 0', values: [-3, 2], range: '-4 --> 2.5' },
    { name: 'only negative data ends at 0', values: [-5, -1], range: '-6 --> 0' },
    { name: 'huge values, no exponent', values: [1.23e25, 1], range: '0 --> 15000000000000000000000000' },
    { name: 'tiny values, no exponent', values: [3e-9, 1e-9], range: '0 --> 0.000000004' },
  ])('y-axis: $name', ({ values, range }) => {
    const chart = mermaidXyChart(series(values), WINDOW);
    expectWellFormed(chart);
    expect(yAxis(chart)).toBe(range);
  });

  test('data values are compact decimals: 4 significant digits, no exponent, no -0', () => {
    const chart = mermaidXyChart(series([0.1 + 0.2, 1 / 3, 123456789, 1e-7, 2e21, -0, -2.5e-8]), WINDOW);
    expectWellFormed(chart);
    expect(chart.split('\n')[5]).toBe('  line [0.3, 0.3333, 123500000, 0.0000001, 2000000000000000000000, 0, -0.000000025]');
  });

  test('non-finite values and times a Date cannot hold are left out', () => {
    const chart = mermaidXyChart(series([1, Number.NaN, 2, Number.POSITIVE_INFINITY, 3]), WINDOW);
    expectWellFormed(chart);
    expect(chart.split('\n')[5]).toBe('  line [1, 2, 3]');
    expect(categories(chart)).toEqual(['10:28', '10:30', '10:32']);
    const far = mermaidXyChart(
      series([], {
        points: [
          [1e20, 9],
          [Number.NaN, 9],
          [at('10:30'), 1],
          [at('10:31'), 2],
        ],
      }),
      WINDOW,
    );
    expect(far.split('\n')[5]).toBe('  line [1, 2]');
  });

  test('one point is drawn as a bar (a line needs two)', () => {
    const chart = mermaidXyChart(series([0.5]), WINDOW);
    expectWellFormed(chart);
    expect(chart.split('\n')[5]).toBe('  bar [0.5]');
  });

  test('without a unit: no unit in the title, no y-axis title', () => {
    const chart = mermaidXyChart(series([1, 2], { unit: undefined }), WINDOW);
    const lines = expectWellFormed(chart);
    expect(lines[2]).toBe('  title "ALB p99 latency"');
    expect(lines[4]).toBe('  y-axis 0 --> 2.5');
  });

  test('an incident window start that does not parse is left out of the axis title', () => {
    const chart = mermaidXyChart(series([1, 2]), { ...WINDOW, incidentWindowStart: 'soon' });
    expect(expectWellFormed(chart)[3]).toBe('  x-axis "time (UTC)" ["10:28", "10:29"]');
  });

  test.each([
    { name: 'no points', points: [] as [number, number][] },
    { name: 'only non-finite values', points: [[at('10:30'), Number.NaN]] as [number, number][] },
  ])('$name: an italic line instead of a chart', ({ points }) => {
    expect(mermaidXyChart(series([], { points }), WINDOW)).toBe('_ALB p99 latency: no data points in the window_');
  });

  test('the label in the no-data line is inert Markdown', () => {
    const line = mermaidXyChart(series([], { label: '*bold* `code` @team\n# x' }), WINDOW);
    expect(line).toBe('_\\*bold\\* \\`code\\` @\u2060team #\u2060 x: no data points in the window_');
  });

  const HOSTILE = [
    'p99 "latency" (quoted)',
    'ends the string" \n  line [1, 2]',
    '```\n# heading after the fence\n```mermaid',
    '`"md string`',
    '%%{init: {"theme": "dark", "securityLevel": "loose"}}%%',
    '%\u200b%{init: {"theme": "dark"}}%\u200b%',
    'comment %% rest',
    'a\r\nb\u2028c\u0085d',
    'semi; colon: [brackets], {braces} <b>tag</b> #quot; \\"',
    'x'.repeat(500),
  ];

  test.each(HOSTILE.map((text) => ({ text, name: JSON.stringify(text).slice(0, 60) })))(
    'hostile text stays inside its quoted strings: $name',
    ({ text }) => {
      const chart = mermaidXyChart(series([1, 2, 3], { label: text, unit: text, dependency: text }), WINDOW);
      const lines = expectWellFormed(chart);
      const inside = lines.slice(1, -1).join('\n');
      expect(inside).not.toContain('`');
      expect(chart).not.toContain('%%');
      expect(lines[2]!.length).toBeLessThanOrEqual(200);
      expect(lines[4]!.length).toBeLessThanOrEqual(60);
      expect(lines[5]).toBe('  line [1, 2, 3]');
    },
  );

  test('quotes and backticks become apostrophes, %% one %', () => {
    const chart = mermaidXyChart(series([1, 2], { label: 'a "b" `c` 100%% d', unit: undefined }), WINDOW);
    expect(chart.split('\n')[2]).toBe(`  title "a 'b' 'c' 100% d"`);
  });
});

describe('sparkline', () => {
  test.each([
    { name: 'zero is ▁, max is █, scaled between', values: [0, 1, 2, 3, 4, 5, 6, 7], expected: '▁▂▃▄▅▆▇█' },
    { name: 'scaled from zero, so a small wobble stays small', values: [100, 101, 100], expected: '███' },
    { name: 'negative values are scaled from the lowest', values: [-2, 0, -1], expected: '▁█▅' },
    { name: 'a flat non-zero series is all █', values: [5, 5, 5], expected: '███' },
    { name: 'all zeros are all ▁', values: [0, 0, 0], expected: '▁▁▁' },
    { name: 'one value', values: [3], expected: '█' },
    {
      name: 'non-finite values are skipped',
      values: [Number.NaN, 1, Number.POSITIVE_INFINITY, 4, Number.NEGATIVE_INFINITY],
      expected: '▃█',
    },
    { name: 'empty input', values: [], expected: '' },
    { name: 'only non-finite input', values: [Number.NaN], expected: '' },
  ])('$name', ({ values, expected }) => {
    expect(sparkline(values)).toBe(expected);
  });

  test('longer input is averaged down to the width', () => {
    expect(sparkline(Array.from({ length: 90 }, (_, i) => i))).toHaveLength(24);
    expect(
      sparkline(
        Array.from({ length: 90 }, (_, i) => i),
        10,
      ),
    ).toHaveLength(10);
    // Pairs averaged: (0,0) (0,0) (8,8) (4,4) → 0 0 8 4.
    expect(sparkline([0, 0, 0, 0, 8, 8, 4, 4], 4)).toBe('▁▁█▅');
  });

  test('a spike survives averaging as the highest block', () => {
    const values = Array.from({ length: 90 }, (_, i) => (i === 45 ? 100 : 0));
    const line = sparkline(values);
    expect([...line].filter((c) => c === '█')).toHaveLength(1);
    expect(line.replace('█', '')).toMatch(/^▁+$/);
  });

  test('shorter input is not stretched; a width below 1 gives nothing', () => {
    expect(sparkline([1, 2, 3], 24)).toHaveLength(3);
    expect(sparkline([1, 2, 3], 0)).toBe('');
  });
});

describe('formatValue', () => {
  test.each([
    { value: 1.84, unit: 'Seconds', expected: '1.84 s' },
    { value: 0.123456, unit: 'Seconds', expected: '0.123 s' },
    { value: 2.5, unit: 'second', expected: '2.5 s' },
    { value: 120.4, unit: 'Milliseconds', expected: '120 ms' },
    { value: 950, unit: 'Microseconds', expected: '950 µs' },
    { value: 12.345, unit: 'Percent', expected: '12.3%' },
    { value: 42, unit: 'Count', expected: '42' },
    { value: 12_345, unit: 'Count', expected: '12.3k' },
    { value: 1_234_567, unit: 'Count', expected: '1.23M' },
    { value: 999.7, unit: undefined, expected: '1k' },
    { value: 7, unit: 'None', expected: '7' },
    { value: 512, unit: 'Bytes', expected: '512 B' },
    { value: 1536, unit: 'Bytes', expected: '1.5 KiB' },
    { value: 1023.9, unit: 'Bytes', expected: '1 KiB' },
    { value: 1000, unit: 'Bytes', expected: '0.977 KiB' },
    { value: 5 * 1024 ** 3, unit: 'Bytes', expected: '5 GiB' },
    { value: 12_345, unit: 'Bytes/Second', expected: '12.3k Bytes/Second' },
    { value: 1, unit: 'weird\nunit with a long name', expected: '1 weird unit with…' },
    { value: -3.21, unit: 'Seconds', expected: '-3.21 s' },
    { value: -0, unit: undefined, expected: '0' },
    { value: 0.1 + 0.2, unit: undefined, expected: '0.3' },
    { value: 1e-7, unit: 'Seconds', expected: '0.0000001 s' },
    { value: Number.NaN, unit: 'Seconds', expected: 'n/a' },
    { value: Number.POSITIVE_INFINITY, unit: undefined, expected: 'n/a' },
  ])('$value $unit → $expected', ({ value, unit, expected }) => {
    expect(formatValue(value, unit)).toBe(expected);
  });
});

describe('metricLine', () => {
  const points = series([0.12, 0.12, 1.84, 1.84]).points;

  test.each([
    {
      name: 'baseline, incident, ratio and start',
      summary: { baseline: 0.12, incident: 1.84, changeBeganAt: '2025-03-04T10:42:00Z', points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 0.12 → 1.84 s (×15), since 10:42 UTC',
    },
    {
      name: 'no start of the change',
      summary: { baseline: 0.12, incident: 1.84, points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 0.12 → 1.84 s (×15)',
    },
    {
      name: 'a zero baseline has no ratio',
      summary: { baseline: 0, incident: 5, points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 0 → 5 s',
    },
    {
      name: 'a drop has a ratio below 1',
      summary: { baseline: 2, incident: 0.5, points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 2 → 0.5 s (×0.25)',
    },
    {
      name: 'no baseline',
      summary: { incident: 1.84, changeBeganAt: '2025-03-04T10:42:00Z', points: 4 },
      expected: 'ALB p99 latency  ▁▁██  incident 1.84 s, since 10:42 UTC',
    },
    {
      name: 'no incident value',
      summary: { baseline: 0.12, points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 0.12 s',
    },
    {
      name: 'no numbers at all',
      summary: { points: 4 },
      expected: 'ALB p99 latency  ▁▁██',
    },
    {
      name: 'a start that does not parse is left out',
      summary: { baseline: 0.12, incident: 1.84, changeBeganAt: 'yesterday', points: 4 },
      expected: 'ALB p99 latency  ▁▁██  baseline 0.12 → 1.84 s (×15)',
    },
  ])('$name', ({ summary, expected }) => {
    expect(metricLine(series([], { points, summary }))).toBe(expected);
  });

  test('values in different binary units each keep their unit', () => {
    const line = metricLine(series([], { unit: 'Bytes', points, summary: { baseline: 512, incident: 1.5 * 1024 ** 2, points: 4 } }));
    expect(line).toBe('ALB p99 latency  ▁▁██  baseline 512 B → 1.5 MiB (×3100)');
  });

  test('no points: no data', () => {
    expect(metricLine(series([], { summary: { baseline: 1, points: 0 } }))).toBe('ALB p99 latency  no data');
  });

  test('the label is one printable, bounded line', () => {
    const line = metricLine(series([1, 2], { label: `evil\n<!channel>\u202e${'x'.repeat(200)}` }));
    expect(line).not.toMatch(/[\n\u202e]/);
    expect(line.startsWith('evil <!channel>x')).toBe(true);
    expect(line.indexOf('  ')).toBeLessThanOrEqual(60);
  });
});
