import { downsample, LEAD_MS, MAX_SERIES_POINTS, metricWindow, summarizeSeries } from '../../activities/metric-summary.js';

const CREATED = '2024-05-01T10:30:00Z';
const NOW = Date.parse('2024-05-01T10:40:00Z');
const window = metricWindow(CREATED, NOW);
const MIN = 60_000;

/** One point a minute from the window's start to its end, `at(minutesFromStart)` giving the value. */
function series(at: (minute: number) => number): [number, number][] {
  const start = Date.parse(window.start);
  const minutes = (Date.parse(window.end) - start) / MIN;
  return Array.from({ length: minutes + 1 }, (_, m) => [start + m * MIN, at(m)]);
}

describe('metricWindow', () => {
  test('a baseline hour, then the incident window from 15 minutes before the incident to now', () => {
    expect(window).toEqual({
      start: '2024-05-01T09:15:00.000Z',
      incidentWindowStart: '2024-05-01T10:15:00.000Z',
      end: '2024-05-01T10:40:00.000Z',
    });
    expect(Date.parse(CREATED) - Date.parse(window.incidentWindowStart)).toBe(LEAD_MS);
  });

  test('a triage that runs at once still reads a minute past the incident', () => {
    expect(metricWindow(CREATED, Date.parse(CREATED)).end).toBe('2024-05-01T10:31:00.000Z');
  });

  test('a bad creation time is refused', () => {
    expect(() => metricWindow('yesterday', NOW)).toThrow(/not a timestamp/);
  });
});

describe('summarizeSeries', () => {
  test('a step change: baseline, incident mean, peak and when it began', () => {
    // minute 63 of the window is 10:18, three minutes into the incident window.
    const summary = summarizeSeries(
      series((m) => (m < 63 ? 100 + (m % 3) : 400 + (m % 5))),
      window,
    );
    expect(summary.baseline).toBeCloseTo(101, 0);
    expect(summary.incident).toBeGreaterThan(330);
    expect(summary.peak).toEqual({ value: 404, at: expect.stringMatching(/^2024-05-01T10:/) });
    expect(summary.changeBeganAt).toBe('2024-05-01T10:18:00.000Z');
    expect(summary.points).toBe(86);
  });

  test('noise is not a change', () => {
    expect(
      summarizeSeries(
        series((m) => 100 + ((m * 37) % 11) - 5),
        window,
      ).changeBeganAt,
    ).toBeUndefined();
  });

  test('a single spike is not a change', () => {
    expect(
      summarizeSeries(
        series((m) => (m === 70 ? 900 : 100)),
        window,
      ).changeBeganAt,
    ).toBeUndefined();
  });

  test('a drop is a change too', () => {
    expect(
      summarizeSeries(
        series((m) => (m < 65 ? 1000 : 50)),
        window,
      ).changeBeganAt,
    ).toBe('2024-05-01T10:20:00.000Z');
  });

  test('from zero, anything persistent is a change', () => {
    expect(
      summarizeSeries(
        series((m) => (m < 66 ? 0 : 3)),
        window,
      ).changeBeganAt,
    ).toBe('2024-05-01T10:21:00.000Z');
  });

  test('no points, points outside the window and non-finite values give an empty summary', () => {
    expect(summarizeSeries([], window)).toEqual({ points: 0 });
    expect(
      summarizeSeries(
        [
          [Date.parse('2024-04-01T00:00:00Z'), 5],
          [Date.parse(window.end), Number.NaN],
        ],
        window,
      ),
    ).toEqual({ points: 0 });
  });

  test('only incident-window data: no baseline, so no change is claimed', () => {
    const late = series((m) => (m < 61 ? Number.NaN : 500));
    const summary = summarizeSeries(late, window);
    expect(summary.baseline).toBeUndefined();
    expect(summary.incident).toBe(500);
    expect(summary.changeBeganAt).toBeUndefined();
  });
});

describe('downsample', () => {
  test('keeps short series as they are', () => {
    expect(
      downsample([
        [1, 2],
        [3, 4],
      ]),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  test('averages long series into at most the bound, keeping time order', () => {
    const long = Array.from({ length: 1440 }, (_, i): [number, number] => [i * MIN, i % 2 === 0 ? 10 : 20]);
    const out = downsample(long);
    expect(out.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    expect(out.every(([, v]) => v === 15)).toBe(true);
    expect(out.map(([t]) => t)).toEqual([...out.map(([t]) => t)].sort((a, b) => a - b));
  });
});
