// Charts people look at instead of reading: a Mermaid chart for the GitHub
// issue (GitHub renders Mermaid natively, so nothing is uploaded) and a
// one-line sparkline summary for the Slack card. Pure functions of a series.
//
// Labels, units and dependency names come from configuration, but they are
// treated as untrusted like everything else: inside the chart they only ever
// appear in a double-quoted Mermaid string, made printable and one line, with
// no `"` (ends the string), no backtick (starts a Mermaid markdown string, and
// fences are made of them) and no `%%` (comments and `%%{init}%%` directives,
// which Mermaid looks for anywhere in the text). With no line break a value
// cannot start a line, so it cannot close the code fence either.
import type { MetricSeries, MetricWindow } from './model.js';
import { cutToLength, printableLine } from '../config/printable-text.js';
import { cleanText, escapeGitHubMarkdown } from '../config/untrusted-text.js';

const MAX_TITLE_LABEL = 80;
const MAX_TITLE_UNIT = 24;
const MAX_TITLE_DEPENDENCY = 40;
const MAX_LINE_LABEL = 60;
const MAX_UNKNOWN_UNIT = 16;

/** About this many `HH:MM` labels fit under a default-width (700 px) chart without touching. */
export const MAX_X_LABELS = 8;

const BLOCKS = '▁▂▃▄▅▆▇█';

// ---- numbers ---------------------------------------------------------------------

// Intl never switches to exponent notation, which Mermaid's number token
// (`[+-]?(\d+(\.\d+)?|\.\d+)`) does not accept and people misread; `+ 0`
// turns -0 into 0.
const CHART_DIGITS = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4, useGrouping: false });
const VALUE_DIGITS = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, useGrouping: false });
const RATIO_DIGITS = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 2, useGrouping: false });

function chartNumber(value: number): string {
  return CHART_DIGITS.format(value + 0);
}

const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P'] as const;
const IEC_UNITS = [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB'] as const;

/**
 * `value` divided by `base` until fewer than 1000 remain (so never more than 3
 * digits before the point, even in binary units), with the prefix index used.
 */
function scaled(value: number, base: number, steps: number): [string, number] {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < steps - 1) {
    v /= base;
    i++;
  }
  let text = VALUE_DIGITS.format(v + 0);
  // Rounding can reach the next prefix: 999.7 shows as 1k, not 1000.
  if (Math.abs(Number(text)) >= 1000 && i < steps - 1) {
    v /= base;
    i++;
    text = VALUE_DIGITS.format(v + 0);
  }
  return [text, i];
}

/** Fixed suffixes for the units CloudWatch and Datadog report most; counts need none. */
const UNIT_SUFFIX: Record<string, string> = {
  second: ' s',
  seconds: ' s',
  millisecond: ' ms',
  milliseconds: ' ms',
  microsecond: ' µs',
  microseconds: ' µs',
  percent: '%',
  count: '',
  none: '',
};

/** A value as a number and a unit suffix, so two values of one unit can share it. */
function valueParts(value: number, unit: string | undefined): { number: string; unit: string } {
  if (!Number.isFinite(value)) return { number: 'n/a', unit: '' };
  const key = printableLine(unit).toLowerCase();
  if (key === 'bytes' || key === 'byte') {
    const [number, i] = scaled(value, 1024, IEC_UNITS.length);
    return { number, unit: IEC_UNITS[i] ?? '' };
  }
  const suffix = Object.hasOwn(UNIT_SUFFIX, key) ? UNIT_SUFFIX[key] : undefined;
  if (suffix !== undefined && suffix !== '') return { number: VALUE_DIGITS.format(value + 0), unit: suffix };
  // Counts and units without a short form: k, M, G… keep big numbers short.
  const [number, i] = scaled(value, 1000, SI_PREFIXES.length);
  const rest = suffix === undefined && key !== '' ? ` ${cleanText(unit, MAX_UNKNOWN_UNIT)}` : '';
  return { number: `${number}${SI_PREFIXES[i] ?? ''}`, unit: rest };
}

/**
 * A value with 3 significant digits and a short unit: `1.84 s`, `120 ms`,
 * `12.5%`, `1.5 MiB` (Bytes in binary prefixes), `12.3k` (Count: no unit);
 * other units are kept as given, shortened: `12.3k Bytes/Second`. Never in
 * exponent notation; `n/a` for a non-finite value.
 */
export function formatValue(value: number, unit?: string): string {
  const parts = valueParts(value, unit);
  return `${parts.number}${parts.unit}`;
}

// ---- sparkline -------------------------------------------------------------------

/** Averages `values` into `width` consecutive buckets of (nearly) equal size; needs values.length > width. */
function resample(values: readonly number[], width: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < width; j++) {
    const bucket = values.slice(Math.floor((j * values.length) / width), Math.floor(((j + 1) * values.length) / width));
    out.push(bucket.reduce((a, v) => a + v, 0) / bucket.length);
  }
  return out;
}

/**
 * `▁▂▃▄▅▆▇█`, one character per value; longer input is averaged down to
 * `width` characters, non-finite values are skipped. The scale starts at zero
 * for non-negative data (at the lowest value otherwise), as the chart's y-axis
 * does: scaled from the lowest value, a 5% wobble would look like a cliff.
 * All zeros are all `▁`. Empty input (or width < 1) gives an empty string.
 */
export function sparkline(values: readonly number[], width = 24): string {
  const size = Math.floor(width);
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0 || !(size >= 1)) return '';
  const shown = finite.length > size ? resample(finite, size) : finite;
  const min = Math.min(0, ...shown);
  const span = Math.max(...shown) - min;
  const top = BLOCKS.length - 1;
  return shown.map((v) => BLOCKS[span > 0 ? Math.round(((v - min) / span) * top) : 0]).join('');
}

// ---- Slack line ------------------------------------------------------------------

function utcHourMinute(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** A time that may not parse, as `HH:MM`, or undefined. */
function parsedHourMinute(iso: string | undefined): string | undefined {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isFinite(ms) ? utcHourMinute(ms) : undefined;
}

function finiteOrUndefined(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Points with a finite value at a time a Date can hold (toISOString throws beyond ±8.64e15 ms). */
function finitePoints(series: MetricSeries): [number, number][] {
  return series.points.filter(([t, v]) => Number.isFinite(new Date(t).getTime()) && Number.isFinite(v));
}

/**
 * One line for the Slack card:
 * `ALB p99 latency  ▁▁▂▁▇█▇  baseline 0.12 → 1.84 s (×15), since 10:42 UTC`
 * (the baseline mean, then the incident-window mean; the ratio only when the
 * baseline is above 0; "since" only when the change has a start). Plain text,
 * printable and bounded but not escaped: for a `plain_text` object, or escape
 * it for mrkdwn.
 */
export function metricLine(series: MetricSeries): string {
  const label = cleanText(series.label, MAX_LINE_LABEL) || 'metric';
  const points = finitePoints(series);
  if (points.length === 0) return `${label}  no data`;
  const parts = [label, sparkline(points.map(([, v]) => v))];
  const { changeBeganAt } = series.summary;
  const baseline = finiteOrUndefined(series.summary.baseline);
  const incident = finiteOrUndefined(series.summary.incident);
  let change = '';
  if (baseline !== undefined && incident !== undefined) {
    const before = valueParts(baseline, series.unit);
    const during = valueParts(incident, series.unit);
    // One unit for both when they share it: `0.12 → 1.84 s`, but `512 B → 1.5 MiB`.
    change = `baseline ${before.number}${before.unit === during.unit ? '' : before.unit} → ${formatValue(incident, series.unit)}`;
    if (baseline > 0) change += ` (×${RATIO_DIGITS.format(incident / baseline)})`;
  } else if (baseline !== undefined) {
    change = `baseline ${formatValue(baseline, series.unit)}`;
  } else if (incident !== undefined) {
    change = `incident ${formatValue(incident, series.unit)}`;
  }
  const since = parsedHourMinute(changeBeganAt);
  if (since) change += `${change ? ', ' : ''}since ${since} UTC`;
  if (change) parts.push(change);
  return parts.join('  ');
}

// ---- Mermaid chart ---------------------------------------------------------------

/** Untrusted text for inside a double-quoted Mermaid string (see the top of this file). */
function mermaidText(value: unknown, max: number): string {
  const text = printableLine(value).replace(/["`]/g, "'").replace(/%+/g, '%');
  return cutToLength(text, max);
}

/** Rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten: axis ends people can read. */
function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((s) => s * power >= value * (1 - 1e-12)) ?? 10;
  return step * power;
}

/** From 0 (or below, for negative data) to at least 10% above the extremes, on round numbers. */
function yRange(values: readonly number[]): [number, number] {
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  if (high === low) return [0, 1];
  const headroom = (high - low) * 0.1;
  return [low < 0 ? -niceCeil(-low + headroom) : 0, high > 0 ? niceCeil(high + headroom) : 0];
}

const BLANK = '\u2800';

/**
 * Mermaid's x-axis categories must be non-empty after trimming (`""` does not
 * parse, `" "` trims to empty) and distinct (the band scale merges equal
 * ones), and every one is drawn: 90 `HH:MM` labels overlap. So the points
 * between labels get the k-th blank category: k in binary, spelled with a
 * space and U+2800 BRAILLE PATTERN BLANK, between two U+2800. Distinct,
 * never trimmed, and blank on screen.
 */
function blankCategory(k: number): string {
  return `${BLANK}${k.toString(2).replace(/0/g, ' ').replace(/1/g, BLANK)}${BLANK}`;
}

/**
 * `HH:MM` (UTC) on every `step`-th point, counted from the first point of the
 * incident window so its start is always labelled (from the first point when
 * `incidentStart` is NaN or after the last), and blank elsewhere.
 */
function xCategories(times: readonly number[], incidentStart: number): string[] {
  const step = Math.max(1, Math.ceil(times.length / MAX_X_LABELS));
  const split = times.findIndex((t) => t >= incidentStart);
  const anchor = split < 0 ? 0 : split;
  const used = new Set<string>();
  let blanks = 0;
  return times.map((t, i) => {
    const label = utcHourMinute(t);
    if ((i - anchor) % step === 0 && !used.has(label)) {
      used.add(label);
      return label;
    }
    return blankCategory(++blanks);
  });
}

/**
 * A GitHub Markdown ```mermaid block with an `xychart-beta` line chart of
 * the series: the title names the label, unit and dependency; the x-axis has
 * thinned `HH:MM` UTC labels and names where the incident window begins
 * (xychart-beta has no marker or annotation to draw it); the y-axis starts at
 * 0 for non-negative data and leaves headroom. A series without points gives
 * one italic line instead.
 */
export function mermaidXyChart(series: MetricSeries, window: MetricWindow): string {
  const points = finitePoints(series);
  if (points.length === 0) {
    const label = cleanText(series.label, MAX_TITLE_LABEL);
    return `_${label ? `${escapeGitHubMarkdown(label)}: ` : ''}no data points in the window_`;
  }
  const label = mermaidText(series.label, MAX_TITLE_LABEL) || 'metric';
  const unit = mermaidText(series.unit, MAX_TITLE_UNIT);
  const dependency = mermaidText(series.dependency, MAX_TITLE_DEPENDENCY);
  const title = `${label}${unit ? ` (${unit})` : ''}${dependency ? ` · dependency ${dependency}` : ''}`;

  const windowStart = parsedHourMinute(window.incidentWindowStart);
  const xTitle = `time (UTC)${windowStart ? `, incident window from ${windowStart}` : ''}`;
  const categories = xCategories(
    points.map(([t]) => t),
    Date.parse(window.incidentWindowStart),
  );
  const values = points.map(([, v]) => v);
  const [low, high] = yRange(values);
  // A line needs two points; a single one would draw nothing.
  const plot = values.length === 1 ? 'bar' : 'line';
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis "${xTitle}" [${categories.map((c) => `"${c}"`).join(', ')}]`,
    `  y-axis${unit ? ` "${unit}"` : ''} ${chartNumber(low)} --> ${chartNumber(high)}`,
    `  ${plot} [${values.map(chartNumber).join(', ')}]`,
    '```',
  ].join('\n');
}
