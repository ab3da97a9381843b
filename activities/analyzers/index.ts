// The analyzer registry and the diagnosis: run every analyzer over the
// evidence, rank what they found by strength of evidence, and name the most
// likely cause only when the evidence supports one.
import type { AnalysisInput, Analyzer, EventSummary, Finding, Severity, SurfaceName } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { assessConfigRefs, CONFIG_REFS_ANALYZER } from './config-refs.js';
import { assessCrashLoops, CRASHLOOP_ANALYZER } from './crashloop.js';
import { assessErrorLogs, assessMonitors, ERROR_LOGS_ANALYZER, MONITORS_ANALYZER } from './datadog.js';
import { assessDependencies, assessMetricShifts, DEPENDENCY_ANALYZER, METRIC_SHIFT_ANALYZER } from './metrics.js';
import { assessEvictions, EVICTIONS_ANALYZER } from './evictions.js';
import { assessFailedCreates, FAILED_CREATE_ANALYZER } from './failed-create.js';
import { assessHpas, HPA_ANALYZER } from './hpa.js';
import { assessImagePulls, IMAGE_PULL_ANALYZER } from './image-pull.js';
import { assessJobs, JOBS_ANALYZER } from './jobs.js';
import { assessLogAnomalies, LOG_ANOMALY_ANALYZER } from './log-anomalies.js';
import { assessLogErrors, LOG_ERRORS_ANALYZER } from './log-errors.js';
import { assessNetworkPolicies, NETWORK_POLICY_ANALYZER } from './network-policy.js';
import { assessNodesNotReady, NODE_NOT_READY_ANALYZER } from './node-not-ready.js';
import { assessOomKills, OOM_ANALYZER } from './oom.js';
import { assessProbes, PROBES_ANALYZER } from './probes.js';
import { assessRestarts, RESTARTS_ANALYZER } from './restarts.js';
import { assessRollouts, ROLLOUT_ANALYZER } from './rollout.js';
import { assessServiceSelectors, SERVICE_SELECTOR_ANALYZER } from './service-selector.js';
import { assessUnschedulable, UNSCHEDULABLE_ANALYZER } from './unschedulable.js';
import { assessVolumes, VOLUMES_ANALYZER } from './volumes.js';
import { cleanText } from '../../config/untrusted-text.js';
import { compareText, parseTime } from './workloads.js';

export interface RegisteredAnalyzer {
  name: string;
  /** The surface whose evidence it reads, named when the analyzer itself fails. */
  surface: SurfaceName;
  assess: Assessor;
}

/** One entry per failure mode. */
export const ANALYZERS: readonly RegisteredAnalyzer[] = [
  { name: CRASHLOOP_ANALYZER, surface: 'kubernetes', assess: assessCrashLoops },
  { name: IMAGE_PULL_ANALYZER, surface: 'kubernetes', assess: assessImagePulls },
  { name: UNSCHEDULABLE_ANALYZER, surface: 'kubernetes', assess: assessUnschedulable },
  { name: ROLLOUT_ANALYZER, surface: 'kubernetes', assess: assessRollouts },
  { name: PROBES_ANALYZER, surface: 'kubernetes', assess: assessProbes },
  { name: OOM_ANALYZER, surface: 'kubernetes', assess: assessOomKills },
  { name: EVICTIONS_ANALYZER, surface: 'kubernetes', assess: assessEvictions },
  { name: RESTARTS_ANALYZER, surface: 'kubernetes', assess: assessRestarts },
  { name: JOBS_ANALYZER, surface: 'kubernetes', assess: assessJobs },
  { name: LOG_ERRORS_ANALYZER, surface: 'kubernetes', assess: assessLogErrors },
  { name: LOG_ANOMALY_ANALYZER, surface: 'kubernetes', assess: assessLogAnomalies },
  { name: NODE_NOT_READY_ANALYZER, surface: 'kubernetes', assess: assessNodesNotReady },
  { name: CONFIG_REFS_ANALYZER, surface: 'kubernetes', assess: assessConfigRefs },
  { name: VOLUMES_ANALYZER, surface: 'kubernetes', assess: assessVolumes },
  { name: FAILED_CREATE_ANALYZER, surface: 'kubernetes', assess: assessFailedCreates },
  { name: HPA_ANALYZER, surface: 'kubernetes', assess: assessHpas },
  { name: NETWORK_POLICY_ANALYZER, surface: 'kubernetes', assess: assessNetworkPolicies },
  { name: SERVICE_SELECTOR_ANALYZER, surface: 'kubernetes', assess: assessServiceSelectors },
  { name: DEPENDENCY_ANALYZER, surface: 'cloudwatch', assess: assessDependencies },
  { name: METRIC_SHIFT_ANALYZER, surface: 'cloudwatch', assess: assessMetricShifts },
  { name: MONITORS_ANALYZER, surface: 'datadog', assess: assessMonitors },
  { name: ERROR_LOGS_ANALYZER, surface: 'datadog', assess: assessErrorLogs },
];

export const NO_CLEAR_CAUSE = 'No clear cause in the evidence collected';

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITY_ORDER[a] - SEVERITY_ORDER[b];
}

/**
 * Strongest evidence first: severity, then a cause before a symptom, then how
 * many objects are affected, then whether a rollout just before the incident
 * produced them, then how much evidence the finding cites. Only then analyzer
 * name, objects and title, so equal evidence always ranks the same.
 */
export function compareAssessments(a: Assessment, b: Assessment): number {
  return (
    compareSeverity(a.finding.severity, b.finding.severity) ||
    Number(a.symptom === true) - Number(b.symptom === true) ||
    b.affected - a.affected ||
    Number(b.rolloutCorrelated) - Number(a.rolloutCorrelated) ||
    b.finding.evidence.length - a.finding.evidence.length ||
    compareText(a.finding.analyzer, b.finding.analyzer) ||
    compareText(a.finding.objects.join('\n'), b.finding.objects.join('\n')) ||
    compareText(a.finding.title, b.finding.title)
  );
}

export function rankAssessments(assessments: readonly Assessment[]): Assessment[] {
  return [...assessments].sort(compareAssessments);
}

/**
 * A bug in one analyzer must not cost the on-call engineer the others'
 * findings; the failure is reported so nobody mistakes silence for health.
 */
function assessSafely(analyzer: RegisteredAnalyzer, input: AnalysisInput): Assessment[] {
  try {
    return analyzer.assess(input);
  } catch (error) {
    const message = cleanText(error instanceof Error ? error.message : error, 200);
    return [
      {
        finding: {
          analyzer: analyzer.name,
          severity: 'info',
          surface: analyzer.surface,
          title: `analyzer ${analyzer.name} failed; its failure mode was not checked`,
          objects: [],
          evidence: [`error: ${message || 'unknown'}`],
        },
        affected: 0,
        rolloutCorrelated: false,
      },
    ];
  }
}

export function assessAll(input: AnalysisInput, analyzers: readonly RegisteredAnalyzer[] = ANALYZERS): Assessment[] {
  const current = withinIncidentWindow(input);
  return rankAssessments(analyzers.flatMap((analyzer) => assessSafely(analyzer, current)));
}

/**
 * Events last seen this long before the incident began are history: last
 * night's failed mount, a node that was NotReady for a minute this morning.
 * They stay in the evidence the report cites, but no analyzer sees them, so
 * they cannot make a finding on their own; the objects' current state (a pod
 * still Pending, a Job's Failed condition) still can.
 */
export const EVENT_WINDOW_MINUTES = 60;

export function withinIncidentWindow(input: AnalysisInput): AnalysisInput {
  const began = parseTime(input.incident.createdAt);
  if (began === undefined || !input.kubernetes) return input;
  const since = began - EVENT_WINDOW_MINUTES * 60_000;
  // An event with no time cannot be judged old.
  const current = (e: EventSummary): boolean => (parseTime(e.lastSeen) ?? since) >= since;
  return {
    ...input,
    kubernetes: {
      ...input.kubernetes,
      namespaces: input.kubernetes.namespaces.map((ns) => ({ ...ns, events: ns.events.filter(current) })),
    },
  };
}

/** Every finding the evidence supports, strongest first. */
export function runAnalyzers(input: AnalysisInput, analyzers: readonly RegisteredAnalyzer[] = ANALYZERS): Finding[] {
  return assessAll(input, analyzers).map((assessment) => assessment.finding);
}

/** The registry as plain `Analyzer`s, for callers that only want findings. */
export const analyzers: readonly Analyzer[] = ANALYZERS.map(({ assess }) => asAnalyzer(assess));

/**
 * One line naming the most likely cause: the top-ranked finding, unless it is
 * only informational (a healthy rollout is not a cause) or there is nothing.
 * Expects findings in ranked order, as `runAnalyzers` returns them.
 */
export function headline(findings: readonly Finding[]): string {
  // A firing monitor is usually the page itself: naming it as the cause would only restate it.
  const top = findings.find((f) => !RESTATES_THE_PAGE.has(f.analyzer));
  if (!top || top.severity === 'info') return NO_CLEAR_CAUSE;
  return cleanText(top.title);
}

const RESTATES_THE_PAGE: ReadonlySet<string> = new Set([MONITORS_ANALYZER]);

export interface DiagnosisCore {
  findings: Finding[];
  headline: string;
}

export function diagnose(input: AnalysisInput, analyzers: readonly RegisteredAnalyzer[] = ANALYZERS): DiagnosisCore {
  const findings = runAnalyzers(input, analyzers);
  return { findings, headline: headline(findings) };
}

export type { Assessment, Assessor } from './assessment.js';
