// The evidence sections of the GitHub issue that show numbers and quoted text:
// metric charts (CloudWatch, Datadog), Datadog monitors and error logs, and
// the previous-container log tails. Same rule as the rest of the body: every
// piece of evidence text is cleaned and escaped; log lines go in a fence no
// line can close.
import { metricLine, mermaidXyChart } from './charts.js';
import { shiftOf } from './analyzers/metrics.js';
import type { CloudWatchEvidence, DatadogEvidence, KubernetesEvidence, MetricSeries } from './model.js';
import { cleanText, gitHubText as md } from '../config/untrusted-text.js';

/** Charts are the biggest part of the body; past this many, the history has the rest. */
export const MAX_CHARTS = 8;
/** The card shows one sparkline line per series, strongest shift first. */
export const MAX_CARD_METRICS = 6;
const MAX_MONITORS_IN_BODY = 10;
const MAX_LOG_TAILS_IN_BODY = 3;

interface Charted {
  source: string;
  series: MetricSeries;
}

/** Shifted series first (largest change first), then the others in configured order. */
function byStrength(a: Charted, b: Charted): number {
  const strength = (c: Charted) => {
    const shift = shiftOf(c.series);
    if (!shift) return 0;
    return shift.direction === 'up' ? shift.ratio : shift.ratio === 0 ? Infinity : 1 / shift.ratio;
  };
  return strength(b) - strength(a);
}

function charted(cloudwatch?: CloudWatchEvidence, datadog?: DatadogEvidence): Charted[] {
  return [
    ...(cloudwatch?.series ?? []).map((series) => ({ source: 'CloudWatch', series })),
    ...(datadog?.series ?? []).map((series) => ({ source: 'Datadog', series })),
  ].sort(byStrength);
}

/** One sparkline line per metric for the Slack card. */
export function cardMetricLines(cloudwatch?: CloudWatchEvidence, datadog?: DatadogEvidence): string[] {
  return charted(cloudwatch, datadog)
    .slice(0, MAX_CARD_METRICS)
    .map(({ source, series }) => `${source}: ${metricLine(series)}`);
}

export function renderMetrics(cloudwatch?: CloudWatchEvidence, datadog?: DatadogEvidence): string | undefined {
  const all = charted(cloudwatch, datadog);
  if (all.length === 0) return undefined;
  const window = cloudwatch?.window ?? datadog?.window;
  const lines = ['### Metrics'];
  if (cloudwatch) {
    lines.push('', `CloudWatch in ${md(cloudwatch.region, 30)}, read as ${md(cloudwatch.readBy.arn, 200)}.`);
  }
  if (window) {
    lines.push('', `Baseline ${md(window.start, 40)} to ${md(window.incidentWindowStart, 40)}; incident window to ${md(window.end, 40)}.`);
  }
  for (const { source, series } of all.slice(0, MAX_CHARTS)) {
    const chartWindow = source === 'CloudWatch' ? cloudwatch!.window : datadog!.window;
    lines.push('', `**${source}:** ${md(metricLine(series), 300)}`, '', mermaidXyChart(series, chartWindow));
  }
  if (all.length > MAX_CHARTS) lines.push('', `${all.length - MAX_CHARTS} more series are in the workflow history.`);
  return lines.join('\n');
}

export function renderDatadog(datadog: DatadogEvidence): string | undefined {
  const lines: string[] = [];
  if (datadog.monitors.length > 0) {
    lines.push('### Datadog monitors in Alert or Warn', '');
    for (const m of datadog.monitors.slice(0, MAX_MONITORS_IN_BODY)) {
      lines.push(`- ${m.state}: monitor ${m.id}, ${md(m.name, 200)}${m.since ? ` (since ${md(m.since, 40)})` : ''}`);
    }
    const hidden = datadog.monitors.length - Math.min(datadog.monitors.length, MAX_MONITORS_IN_BODY) + datadog.monitorsOmitted;
    if (hidden > 0) lines.push(`- and ${hidden} more`);
  }
  if (datadog.logs && datadog.logs.top.length > 0) {
    const { logs } = datadog;
    if (lines.length > 0) lines.push('');
    lines.push(
      `### Datadog error logs: ${md(logs.query, 200)}`,
      '',
      `${logs.truncated ? 'More than ' : ''}${logs.scanned} lines read; most frequent messages:`,
      '',
    );
    for (const m of logs.top) lines.push(`- ×${m.count}${m.service ? ` ${md(m.service, 60)}` : ''}: ${md(m.message, 300)}`);
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/** A fence longer than any backtick run in the text, so no log line can end it early. */
function fenced(lines: readonly string[]): string {
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((run) => run.length))));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...lines, fence].join('\n');
}

export function renderLogTails(kubernetes: KubernetesEvidence): string | undefined {
  const tails = kubernetes.namespaces.flatMap((ns) =>
    ns.pods.flatMap((pod) =>
      // A healthy replica's own log stays in the history: the issue quotes its signature line, not other services' traffic.
      pod.containers.flatMap((c) => (c.previousLog ? [{ ns: ns.namespace, pod: pod.name, container: c.name, log: c.previousLog }] : [])),
    ),
  );
  if (tails.length === 0) return undefined;
  const sections = tails.slice(0, MAX_LOG_TAILS_IN_BODY).map(({ ns, pod, container, log }) => {
    const heading = `#### Previous container log: ${md(ns, 63)}/${md(pod, 253)}, container ${md(container, 63)}`;
    if (log.status === 'unavailable') return `${heading}\n\nunavailable: ${md(log.reason, 200)}`;
    const note = `last ${log.lines.length} lines${log.truncated ? ' (cut)' : ''}${log.redactions > 0 ? `, ${log.redactions} secret-shaped value${log.redactions === 1 ? '' : 's'} redacted` : ''}`;
    return `${heading}\n\n${note}\n\n${fenced(log.lines.map((l) => cleanText(l, 400)))}`;
  });
  return sections.join('\n\n');
}
