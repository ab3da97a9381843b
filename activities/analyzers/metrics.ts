// Metric series from CloudWatch and Datadog, judged by their summaries alone:
// a series has shifted when its incident-window mean departs from the baseline
// and the departure persisted (summary.changeBeganAt). Which series measure a
// dependency comes from configuration, so naming a dependency as the cause is
// a fact about the evidence and the settings, never a guess from metric names.
import { formatValue } from '../charts.js';
import type { AnalysisInput, MetricSeries, Severity, SurfaceName } from '../model.js';
import { cleanText } from '../../config/untrusted-text.js';
import type { Assessment, Assessor } from './assessment.js';
import { compareText } from './workloads.js';

export const METRIC_SHIFT_ANALYZER = 'metrics.shift';
export const DEPENDENCY_ANALYZER = 'metrics.dependency';

/** Below this ratio (or above its inverse) a change is within what services do on an ordinary day. */
export const SHIFT_RATIO = 1.5;

interface SourcedSeries {
  surface: Extract<SurfaceName, 'cloudwatch' | 'datadog'>;
  series: MetricSeries;
}

export interface Shift {
  direction: 'up' | 'down';
  /** incident / baseline; Infinity when the baseline was zero. */
  ratio: number;
  since: string;
}

const SURFACE_LABEL = { cloudwatch: 'CloudWatch', datadog: 'Datadog' } as const;

export function shiftOf(series: MetricSeries): Shift | undefined {
  const { baseline, incident, changeBeganAt } = series.summary;
  if (baseline === undefined || incident === undefined || changeBeganAt === undefined) return undefined;
  if (baseline === 0) return incident > 0 ? { direction: 'up', ratio: Infinity, since: changeBeganAt } : undefined;
  const ratio = incident / baseline;
  if (ratio >= SHIFT_RATIO) return { direction: 'up', ratio, since: changeBeganAt };
  if (ratio > 0 && ratio <= 1 / SHIFT_RATIO) return { direction: 'down', ratio, since: changeBeganAt };
  if (ratio <= 0 && baseline > 0) return { direction: 'down', ratio: 0, since: changeBeganAt };
  return undefined;
}

function sourced(input: AnalysisInput): SourcedSeries[] {
  return [
    ...(input.cloudwatch?.series ?? []).map((series) => ({ surface: 'cloudwatch' as const, series })),
    ...(input.datadog?.series ?? []).map((series) => ({ surface: 'datadog' as const, series })),
  ];
}

/** `14:02 UTC`: findings are read by people in one incident channel, in one time zone. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? 'an unknown time' : `${d.toISOString().slice(11, 16)} UTC`;
}

function describeRatio(shift: Shift): string {
  if (shift.ratio === Infinity) return 'up from zero';
  if (shift.direction === 'up') return `up ×${shift.ratio >= 10 ? Math.round(shift.ratio) : shift.ratio.toFixed(1)}`;
  return shift.ratio === 0 ? 'down to zero' : `down to ${Math.round(shift.ratio * 100)}% of baseline`;
}

function label(s: SourcedSeries): string {
  return cleanText(s.series.label, 80);
}

/** The citation: where the numbers come from and what they are. */
function evidenceLine(s: SourcedSeries, shift: Shift): string {
  const { summary, unit } = s.series;
  const parts = [
    `${SURFACE_LABEL[s.surface]} ${label(s)}: baseline ${formatValue(summary.baseline ?? 0, unit)} → ${formatValue(summary.incident ?? 0, unit)} in the incident window (${describeRatio(shift)})`,
    `change began ${clockTime(shift.since)}`,
  ];
  if (summary.peak) parts.push(`peak ${formatValue(summary.peak.value, unit)} at ${clockTime(summary.peak.at)}`);
  return parts.join(', ');
}

function metricRef(s: SourcedSeries): string {
  return `Metric/${s.surface}/${label(s)}`;
}

function earliest(times: readonly string[]): string {
  return [...times].sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? '';
}

/** Series that measure the service itself: a shift there is a symptom worth showing, not a cause. */
export const assessMetricShifts: Assessor = (input) =>
  sourced(input)
    .filter((s) => s.series.dependency === undefined)
    .flatMap((s): Assessment[] => {
      const shift = shiftOf(s.series);
      if (!shift) return [];
      return [
        {
          finding: {
            analyzer: METRIC_SHIFT_ANALYZER,
            severity: 'warning',
            surface: s.surface,
            title: `${label(s)} ${describeRatio(shift)} since ${clockTime(shift.since)} (${SURFACE_LABEL[s.surface]})`,
            objects: [metricRef(s)],
            evidence: [evidenceLine(s, shift)],
          },
          affected: 1,
          rolloutCorrelated: false,
          symptom: true,
        },
      ];
    });

/** Measured in both windows and not shifted: a series that says the dependency behaved as usual. */
function steady(series: MetricSeries): boolean {
  return series.summary.baseline !== undefined && series.summary.incident !== undefined && shiftOf(series) === undefined;
}

const WEAKER: Record<Severity, Severity> = { critical: 'warning', warning: 'info', info: 'info' };

/**
 * One finding per dependency with a shifted series. Two or more shifted series
 * (say CloudWatch latency and Datadog errors) corroborate each other, which is
 * what makes it critical: one noisy signal alone stays a warning. A series of
 * the same dependency that stayed steady speaks against it, and weakens the
 * finding by one step.
 */
export const assessDependencies: Assessor = (input) => {
  const byDependency = new Map<string, { shifted: { s: SourcedSeries; shift: Shift }[]; steady: SourcedSeries[] }>();
  for (const s of sourced(input)) {
    if (s.series.dependency === undefined) continue;
    const name = cleanText(s.series.dependency, 63);
    const entry = byDependency.get(name) ?? { shifted: [], steady: [] };
    const shift = shiftOf(s.series);
    if (shift) entry.shifted.push({ s, shift });
    else if (steady(s.series)) entry.steady.push(s);
    byDependency.set(name, entry);
  }
  return [...byDependency.entries()]
    .filter(([, { shifted }]) => shifted.length > 0)
    .sort(([a], [b]) => compareText(a, b))
    .map(([dependency, { shifted, steady: unchanged }]): Assessment => {
      const surfaces = [...new Set(shifted.map(({ s }) => s.surface))];
      const signals = shifted.length === 1 ? '1 signal' : `${shifted.length} signals`;
      const corroborated: Severity = shifted.length >= 2 ? 'critical' : 'warning';
      const severity = unchanged.length > 0 ? WEAKER[corroborated] : corroborated;
      return {
        finding: {
          analyzer: DEPENDENCY_ANALYZER,
          severity,
          surface: surfaces[0] ?? 'cloudwatch',
          title: `Dependency ${dependency} degraded since ${clockTime(earliest(shifted.map(({ shift }) => shift.since)))} (${signals}: ${surfaces.map((s) => SURFACE_LABEL[s]).join(', ')}${unchanged.length > 0 ? `; ${unchanged.length} steady` : ''})`,
          objects: [`Dependency/${dependency}`, ...shifted.map(({ s }) => metricRef(s))],
          evidence: [
            ...shifted.map(({ s, shift }) => evidenceLine(s, shift)),
            ...unchanged.map(
              (s) =>
                `${SURFACE_LABEL[s.surface]} ${label(s)}: steady (baseline ${formatValue(s.series.summary.baseline ?? 0, s.series.unit)} → ${formatValue(s.series.summary.incident ?? 0, s.series.unit)})`,
            ),
          ],
        },
        affected: shifted.length,
        rolloutCorrelated: false,
      };
    });
};
