// A scenario diagnosed without Temporal: the fast path `make eval` and the
// scenario-library test share. Kubernetes evidence is collected by the real
// activity from the Kubernetes emulator; CloudWatch and Datadog evidence is
// built straight from the scenario's series with the same window and summary
// functions the collectors use. The full-stack run through the real collectors
// is the e2e test's job.
import { performance } from 'node:perf_hooks';
import { diagnose, type DiagnosisCore } from '../activities/analyzers/index.js';
import { createKubernetesActivities } from '../activities/kubernetes.js';
import { downsample, metricWindow, summarizeSeries } from '../activities/metric-summary.js';
import type {
  AnalysisInput,
  CloudWatchEvidence,
  DatadogEvidence,
  DatadogLogMessage,
  DatadogMonitorSummary,
  EvidenceRequest,
  IncidentRef,
  MetricSeries,
  MetricWindow,
  SurfaceName,
} from '../activities/model.js';
import { emulatorKubeConfig, startKubernetesEmulator } from './emulators/kubernetes.js';
import { viewAndNodeReaderRules } from './node-reader.js';
import { NODE_EVENTS_NAMESPACE, type Scenario, type ScenarioCloudWatch, type ScenarioDatadog } from './scenario.js';

const TOKEN = 'scenario-diagnosis-token';
/** The Datadog collector reads one page of this many log events and keeps this many messages. */
const MAX_LOGS = 1000;
const TOP_MESSAGES = 10;

export interface ScenarioDiagnosis extends DiagnosisCore {
  surfaces: SurfaceName[];
  /** Collecting the evidence from the emulator, in milliseconds. */
  collectMs: number;
  /** The analyzers alone, in milliseconds: what a triage spends on diagnosis. */
  diagnoseMs: number;
}

/** Evidence from the scenario as the collectors would gather it at `now`, then the analyzers' verdict. */
export async function diagnoseScenario(scenario: Scenario, now: number): Promise<ScenarioDiagnosis> {
  const started = performance.now();
  const incident = incidentOf(scenario);
  const window = metricWindow(incident.createdAt, now);
  const input: AnalysisInput = { incident };
  const surfaces: SurfaceName[] = ['pagerduty'];

  const namespaces = Object.keys(scenario.kubernetes.namespaces);
  if (namespaces.length > 0) {
    // A case that lists Nodes is run as a cluster with deploy/components/node-reader applied and readNodes on.
    const readNodes = scenario.kubernetes.nodes.length > 0;
    const k8s = await startKubernetesEmulator({ scenario, token: TOKEN, ...(readNodes ? { rules: viewAndNodeReaderRules() } : {}) });
    try {
      // As the sandbox stack configures the worker: Node events are read where the kubelet records them.
      const activities = createKubernetesActivities({
        kubeConfig: emulatorKubeConfig(k8s.url, TOKEN),
        nodeEventsNamespace: NODE_EVENTS_NAMESPACE,
        ...(readNodes ? { readNodes } : {}),
      });
      input.kubernetes = await activities.collectKubernetesEvidence(request(incident, namespaces));
    } finally {
      await k8s.close();
    }
    surfaces.push('kubernetes');
  }
  if (scenario.cloudwatch) {
    input.cloudwatch = cloudWatchEvidence(scenario.cloudwatch, window);
    surfaces.push('cloudwatch');
  }
  if (scenario.datadog) {
    input.datadog = datadogEvidence(scenario.datadog, window);
    surfaces.push('datadog');
  }
  const collected = performance.now();
  const diagnosis = diagnose(input);
  const done = performance.now();
  return { ...diagnosis, surfaces, collectMs: collected - started, diagnoseMs: done - collected };
}

export function incidentOf(scenario: Scenario): IncidentRef {
  const i = scenario.pagerduty.incident;
  return {
    id: i.id,
    number: i.incident_number,
    title: i.title,
    status: i.status,
    urgency: i.urgency,
    serviceId: i.service.id,
    serviceName: i.service.summary,
    createdAt: i.created_at,
    htmlUrl: i.html_url,
  };
}

function request(incident: IncidentRef, namespaces: string[]): EvidenceRequest {
  return {
    triageId: `triage-${incident.id}`,
    incident,
    scope: {
      serviceId: incident.serviceId,
      serviceName: incident.serviceName,
      surfaces: ['pagerduty', 'kubernetes', 'cloudwatch', 'datadog'],
      kubernetes: { cluster: 'sandbox', namespaces },
      approvers: ['U0ALICE', 'U0BOB'],
      approval: { reminderAfterMs: 900_000, expireAfterMs: 3_600_000 },
      retry: { maximumAttempts: 1, initialIntervalMs: 100, maximumIntervalMs: 1000 },
      writes: { timeoutMs: 30_000, maximumAttempts: 1 },
      temporalUiUrl: 'http://127.0.0.1:8233',
      namespace: 'default',
    },
  };
}

/** What a collector returns for one series: the points it reads (the window only), downsampled, and their summary. */
function metricSeries(
  meaning: { label: string; dependency?: string | undefined; unit?: string | undefined },
  points: [number, number][],
  window: MetricWindow,
): MetricSeries {
  const from = Date.parse(window.start);
  const to = Date.parse(window.end);
  const read = points.filter(([t]) => t >= from && t <= to);
  const series: MetricSeries = { label: meaning.label, points: downsample(read), summary: summarizeSeries(read, window) };
  if (meaning.dependency !== undefined) series.dependency = meaning.dependency;
  if (meaning.unit !== undefined) series.unit = meaning.unit;
  return series;
}

function cloudWatchEvidence(cw: ScenarioCloudWatch, window: MetricWindow): CloudWatchEvidence {
  return {
    surface: 'cloudwatch',
    region: cw.region,
    readBy: { arn: 'arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/scenario-library', account: '123456789012' },
    window,
    series: cw.metrics.map((m) => metricSeries(m, m.series, window)),
  };
}

/** Monitors carrying any configured tag, in Alert or Warn, ranked as the collector ranks them (state, priority, most recent change, id). */
function monitorsOf(dd: ScenarioDatadog): DatadogMonitorSummary[] {
  if (dd.monitorTags.length === 0) return [];
  return dd.monitors
    .filter((m) => (m.overall_state === 'Alert' || m.overall_state === 'Warn') && dd.monitorTags.some((t) => m.tags.includes(t)))
    .map((m) => {
      const summary: DatadogMonitorSummary = { id: m.id, name: m.name, state: m.overall_state as 'Alert' | 'Warn', tags: m.tags };
      if (m.priority !== null) summary.priority = m.priority;
      if (m.overall_state_modified !== undefined) summary.since = new Date(Date.parse(m.overall_state_modified)).toISOString();
      return summary;
    })
    .sort(
      (a, b) =>
        (a.state === 'Alert' ? 0 : 1) - (b.state === 'Alert' ? 0 : 1) ||
        (a.priority ?? Number.MAX_SAFE_INTEGER) - (b.priority ?? Number.MAX_SAFE_INTEGER) ||
        (b.since ? Date.parse(b.since) : 0) - (a.since ? Date.parse(a.since) : 0) ||
        a.id - b.id,
    );
}

/** The subset of log search the sandbox supports: `service:`, `status:`, `host:`, other `key:value` as tags, bare words in the message. */
function logMatcher(query: string): (log: ScenarioDatadog['logs'][number]) => boolean {
  const terms = query
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '' && t !== '*');
  return (log) =>
    terms.every((term) => {
      const kv = /^([A-Za-z][\w.-]*):(.+)$/.exec(term);
      if (!kv) return log.message.toLowerCase().includes(term.toLowerCase());
      const [, key, value] = kv as unknown as [string, string, string];
      if (key === 'service') return log.service === value;
      if (key === 'status') return log.status === value.toLowerCase();
      if (key === 'host') return log.host === value;
      return log.tags.includes(`${key}:${value}`);
    });
}

function logsOf(dd: ScenarioDatadog, window: MetricWindow): DatadogEvidence['logs'] {
  if (dd.logQuery === undefined) return undefined;
  const from = Date.parse(window.start);
  const to = Date.parse(window.end);
  const matches = logMatcher(dd.logQuery);
  const events = dd.logs
    .filter(matches)
    .flatMap((line) => Array.from({ length: line.repeat }, (_, k) => ({ line, at: Date.parse(line.timestamp) - k * line.every * 1000 })))
    .filter(({ at }) => at >= from && at <= to)
    .sort((a, b) => b.at - a.at)
    .slice(0, MAX_LOGS + 1);
  const read = events.slice(0, MAX_LOGS);
  const groups = new Map<string, { count: number; services: Set<string>; statuses: Set<string>; lastSeen: number }>();
  for (const { line, at } of read) {
    const g = groups.get(line.message) ?? { count: 0, services: new Set<string>(), statuses: new Set<string>(), lastSeen: 0 };
    g.count += 1;
    g.services.add(line.service);
    g.statuses.add(line.status);
    g.lastSeen = Math.max(g.lastSeen, at);
    groups.set(line.message, g);
  }
  const top = [...groups.entries()]
    .map(([message, g]): DatadogLogMessage => {
      const entry: DatadogLogMessage = { message, count: g.count, lastSeen: new Date(g.lastSeen).toISOString() };
      if (g.services.size === 1) entry.service = [...g.services][0]!;
      if (g.statuses.size === 1) entry.status = [...g.statuses][0]!;
      return entry;
    })
    .sort((a, b) => b.count - a.count || Date.parse(b.lastSeen) - Date.parse(a.lastSeen))
    .slice(0, TOP_MESSAGES);
  return { query: dd.logQuery, scanned: read.length, top, truncated: events.length > MAX_LOGS };
}

function datadogEvidence(dd: ScenarioDatadog, window: MetricWindow): DatadogEvidence {
  const monitors = monitorsOf(dd);
  const logs = logsOf(dd, window);
  return {
    surface: 'datadog',
    window,
    series: dd.queries.map((q) => metricSeries(q, q.series, window)),
    monitors,
    monitorsOmitted: 0,
    ...(logs ? { logs } : {}),
  };
}
