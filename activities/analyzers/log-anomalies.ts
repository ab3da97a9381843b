// A service that degrades without failing a probe: its pods stay Running and
// Ready, and only its log shows that something changed. Read from the digest
// of a running replica's log window, the way an on-call engineer skims it: a
// number the log reports that moved the wrong way (latency up, memory climbing
// steadily, a hit rate down), whether it moved right after a line announcing a
// change, and which error the log repeats most and what those lines share.
// A warning and a symptom: a cause named on an object outranks it.
import type { LogDigest, LogMessageGroup, LogSeries, PodSummary } from '../model.js';
import { asAnalyzer, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { assessPerWorkload, describeWorkloadHealth, workloadAssessment } from './workloads.js';

export const LOG_ANOMALY_ANALYZER = 'kubernetes.log-anomaly';

/** Fewer repeats of one error than this in a window is background noise, not a burst. */
const BURST_MIN = 3;
/** A latency or saturation figure must grow this many times over to be called a rise. */
const RISE_FACTOR = 3;
/** Memory must at least double, and climb in every stretch of the window, to read as a leak. */
const LEAK_FACTOR = 2;
/** A hit or success ratio that loses this share of its value has fallen. */
const FALL_SHARE = 0.5;
/** A shift counts as following a change announced at most this share of the window earlier (and at least a few lines). */
const CHANGE_REACH = 0.02;

type Kind = 'latency' | 'memory' | 'saturation' | 'ratio' | 'error-rate';

// The field's name says what it measures; a counter (hits, requests, bytes) measures nothing that can "rise".
const KINDS: readonly { kind: Kind; pattern: RegExp }[] = [
  { kind: 'error-rate', pattern: /(?:error|fail(?:ure)?)s?[_ .-]?(?:rate|ratio|percent|pct)/i },
  { kind: 'latency', pattern: /latenc|response[_ .-]?time|duration|elapsed|wait[_ .-]?(?:time|ms)|_wait_|took|rtt|p9[59]|p50/i },
  { kind: 'memory', pattern: /mem(?:ory)?(?:[_ .-]|$)|memory|heap|\brss\b|_rss/i },
  {
    kind: 'saturation',
    pattern: /pool|active[_ .-]?conn|queue|backlog|utili[sz]ation|saturation|usage[_ .-]?(?:percent|pct)|in[_ .-]?flight/i,
  },
  { kind: 'ratio', pattern: /(?:hit|success|availability|cache).*(?:rate|ratio|percent|pct)|(?:hit|success)[_ .-]?(?:rate|ratio)/i },
];

const UNITS: readonly [RegExp, string][] = [
  [/[_.-]?(?:ms|millis(?:econds)?)$/i, 'ms'],
  [/[_.-]?(?:s|sec|secs|seconds)$/i, 's'],
  [/[_.-]?(?:mb|mib|megabytes)$/i, 'MB'],
  [/[_.-]?(?:gb|gib)$/i, 'GB'],
  [/[_.-]?(?:kb|kib)$/i, 'KB'],
  [/[_.-]?bytes$/i, 'bytes'],
  [/[_.-]?(?:percent|pct|percentage)$/i, '%'],
];

function kindOf(field: string): Kind | undefined {
  return KINDS.find((k) => k.pattern.test(field))?.kind;
}

/** `response_time_ms` → "response time" in ms; `cache_stats.rate` → "cache stats rate". */
function describeField(field: string): { name: string; unit: string } {
  let name = field;
  let unit = '';
  for (const [pattern, u] of UNITS) {
    if (pattern.test(name) && name.replace(pattern, '') !== '') {
      name = name.replace(pattern, '');
      unit = u;
      break;
    }
  }
  return { name: cleanText(name.replace(/[_.]+/g, ' ').trim(), 60), unit };
}

function withUnit(value: number, unit: string): string {
  const n = value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return unit === '' ? n : unit === '%' ? `${n}%` : `${n} ${unit}`;
}

interface Trend {
  kind: Kind;
  phrase: string;
  /** How far it moved, as a factor: ranks the trends of one log. */
  factor: number;
}

function steadilyRising(points: readonly number[]): boolean {
  return points.every((p, i) => i === 0 || p >= points[i - 1]!);
}

/** The change line just before the series shifted, when there is one. */
function changeBefore(digest: LogDigest, series: LogSeries): string | undefined {
  const shift = series.shift;
  if (!shift) return undefined;
  const reach = Math.max(3, Math.ceil(digest.linesScanned * CHANGE_REACH));
  const change = digest.changes.filter((c) => c.line < shift.line && c.line >= shift.line - reach).at(-1);
  return change ? cleanText(change.text, 120) : undefined;
}

function trendOf(digest: LogDigest, series: LogSeries): Trend | undefined {
  const kind = kindOf(series.field);
  if (!kind || series.points.length < 2) return undefined;
  const { name, unit } = describeField(series.field);
  const start = series.points[0]!;
  const end = series.points[series.points.length - 1]!;
  const change = changeBefore(digest, series);
  const after = change ? ` right after "${change}"` : '';
  const rising = kind === 'latency' || kind === 'saturation' || kind === 'error-rate';
  if (rising && start > 0 && end >= RISE_FACTOR * start) {
    return { kind, phrase: `${name} rose from ${withUnit(start, unit)} to ${withUnit(end, unit)}${after}`, factor: end / start };
  }
  if (kind === 'memory' && start > 0 && end >= LEAK_FACTOR * start) {
    const leak = steadilyRising(series.points);
    const how = leak ? ' steadily' : '';
    const reading = leak && !change ? ', the pattern of a leak' : '';
    return {
      kind,
      phrase: `${name} rose${how} from ${withUnit(start, unit)} to ${withUnit(end, unit)}${after}${reading}`,
      factor: end / start,
    };
  }
  if (kind === 'ratio' && start > 0 && end <= start * (1 - FALL_SHARE)) {
    return {
      kind,
      phrase: `${name} fell from ${withUnit(start, unit)} to ${withUnit(end, unit)}${after}`,
      factor: start / Math.max(end, start / 1000),
    };
  }
  return undefined;
}

function burstOf(digest: LogDigest): LogMessageGroup | undefined {
  const top = digest.messages.filter((m) => m.level === 'error').sort((a, b) => b.count - a.count)[0];
  return top && top.count >= BURST_MIN ? top : undefined;
}

function describeBurst(burst: LogMessageGroup): string {
  const shared = burst.distinct.length > 0 ? ` (${burst.distinct.map((d) => cleanText(d, 80)).join(', ')})` : '';
  return `${burst.count.toLocaleString('en-US')} errors "${cleanText(burst.text, 120)}"${shared}`;
}

interface Anomaly {
  pod: PodSummary;
  digest: LogDigest;
  trends: Trend[];
  burst?: LogMessageGroup;
}

function anomalyOf(pod: PodSummary): Anomaly | undefined {
  for (const container of pod.containers) {
    const digest = container.currentLog?.status === 'ok' ? container.currentLog.digest : undefined;
    if (!digest) continue;
    const trends = digest.series.flatMap((s) => trendOf(digest, s) ?? []).sort((a, b) => b.factor - a.factor);
    const burst = burstOf(digest);
    if (trends.length > 0 || burst) return { pod, digest, trends, ...(burst ? { burst } : {}) };
  }
  return undefined;
}

export const assessLogAnomalies: Assessor = assessPerWorkload(
  (ns) => ns.pods.filter((pod) => anomalyOf(pod) !== undefined),
  (ns, group) => {
    const { workload, pods } = group;
    const anomaly = anomalyOf(pods[0]!)!;
    const { digest, trends, burst } = anomaly;
    const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : workload.label;
    const scope = `${digest.linesScanned.toLocaleString('en-US')} lines of the last hour${digest.gap ? ' (its oldest and newest parts)' : ''}`;
    const title =
      trends.length > 0
        ? `${subject} log: ${trends[0]!.phrase}${burst ? `; ${describeBurst(burst)}` : ''}`
        : `${subject} logs ${describeBurst(burst!)}`;
    const evidence = [
      `read ${scope} of ${cleanText(anomaly.pod.name, 253)}: ${digest.errors} error and ${digest.warnings} warning lines; ${describeWorkloadHealth(workload)}`,
      ...trends.map((t) => `trend: ${t.phrase}`),
      ...digest.messages.map(
        (m) =>
          `${m.level} ×${m.count}${m.source ? ` from ${cleanText(m.source, 63)}` : ''}: "${cleanText(m.text, 160)}"${m.distinct.length > 0 ? ` (${m.distinct.join(', ')})` : ''}`,
      ),
      ...digest.changes.map((c) => `change announced: "${cleanText(c.text, 160)}"`),
    ];
    return {
      ...workloadAssessment(ns, group, undefined, { analyzer: LOG_ANOMALY_ANALYZER, severity: 'warning', title, evidence }),
      symptom: true,
    };
  },
);

export const logAnomaliesAnalyzer = asAnalyzer(assessLogAnomalies);
