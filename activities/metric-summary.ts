// Turns a metric series into the few numbers a diagnosis compares: the baseline
// before the change, the incident window, the peak and when the change began.
// Shared by CloudWatch and Datadog so both surfaces are judged the same way.
import type { MetricSummary, MetricWindow } from './model.js';

/** How far back the baseline reaches before the incident window. */
export const BASELINE_MS = 60 * 60_000;
/** Alerts fire after the change: the incident window opens this long before the incident was created. */
export const LEAD_MS = 15 * 60_000;
/** Charts and history stay small: longer series are averaged into this many buckets. */
export const MAX_SERIES_POINTS = 90;

/** The window to read for an incident created at `incidentCreatedAt`, ending at `now` (never before the incident). */
export function metricWindow(incidentCreatedAt: string, now: number): MetricWindow {
  const created = Date.parse(incidentCreatedAt);
  if (!Number.isFinite(created)) throw new RangeError(`incident creation time ${JSON.stringify(incidentCreatedAt)} is not a timestamp`);
  const incidentWindowStart = created - LEAD_MS;
  const end = Math.max(now, created + 60_000);
  return {
    start: new Date(incidentWindowStart - BASELINE_MS).toISOString(),
    incidentWindowStart: new Date(incidentWindowStart).toISOString(),
    end: new Date(end).toISOString(),
  };
}

function mean(values: number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

function standardDeviation(values: number[], avg: number): number {
  return Math.sqrt(values.reduce((a, v) => a + (v - avg) ** 2, 0) / values.length);
}

/**
 * A point has departed from the baseline when it differs by more than three
 * standard deviations and by more than half the baseline (or, for a zero
 * baseline, is non-zero): noise alone rarely does both.
 */
function departs(value: number, baseline: number, spread: number): boolean {
  const delta = Math.abs(value - baseline);
  const floor = baseline === 0 ? 0 : Math.abs(baseline) * 0.5;
  return delta > 3 * spread && delta > floor;
}

/** Points must be `[epoch ms, value]`; non-finite values and points outside the window are ignored. */
export function summarizeSeries(points: readonly (readonly [number, number])[], window: MetricWindow): MetricSummary {
  const start = Date.parse(window.start);
  const split = Date.parse(window.incidentWindowStart);
  const end = Date.parse(window.end);
  const inWindow = points
    .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v) && t >= start && t <= end)
    .sort((a, b) => a[0] - b[0]);
  const before = inWindow.filter(([t]) => t < split).map(([, v]) => v);
  const during = inWindow.filter(([t]) => t >= split);
  const summary: MetricSummary = { points: inWindow.length };
  const baseline = mean(before);
  const incident = mean(during.map(([, v]) => v));
  if (baseline !== undefined) summary.baseline = baseline;
  if (incident !== undefined) summary.incident = incident;
  const peak = during.reduce<readonly [number, number] | undefined>(
    (best, p) => (best === undefined || p[1] > best[1] ? p : best),
    undefined,
  );
  if (peak) summary.peak = { value: peak[1], at: new Date(peak[0]).toISOString() };
  if (baseline !== undefined) {
    const spread = standardDeviation(before, baseline);
    // Departed and still departed at the next point: one spike is not a change.
    const began = during.findIndex(([, v], i) => {
      const next = during[i + 1];
      return departs(v, baseline, spread) && (next === undefined || departs(next[1], baseline, spread));
    });
    if (began >= 0) summary.changeBeganAt = new Date(during[began]![0]).toISOString();
  }
  return summary;
}

/** Averages consecutive points into at most `max` buckets, keeping the first timestamp of each. */
export function downsample(points: readonly (readonly [number, number])[], max = MAX_SERIES_POINTS): [number, number][] {
  const finite = points.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v)).map(([t, v]) => [t, v] as [number, number]);
  if (finite.length <= max) return finite;
  const size = Math.ceil(finite.length / max);
  const out: [number, number][] = [];
  for (let i = 0; i < finite.length; i += size) {
    const bucket = finite.slice(i, i + size);
    out.push([bucket[0]![0], bucket.reduce((a, [, v]) => a + v, 0) / bucket.length]);
  }
  return out;
}
