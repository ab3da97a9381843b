// Step 4-5 of the workflow: turn the surfaces' evidence into a diagnosis and
// the write plan a human approves. The plan is hashed so an approval names the
// exact text that will be written; nothing here reads a clock or the network,
// so a retried activity produces the same plan and the same hash.
import { BACK_LINK_TEMPLATE, hashPlan } from '../config/write-plan.js';
import {
  SURFACES,
  type AnalysisInput,
  type Diagnosis,
  type Finding,
  type IncidentRef,
  type KubernetesEvidence,
  type PagerDutyEvidence,
  type Severity,
  type SurfaceName,
  type SurfaceResult,
  type TriageScope,
  type WritePlan,
} from './model.js';
import { compareSeverity, diagnose } from './analyzers/index.js';
import { idempotencyKey, idempotencyLabel, idempotencyMarker } from './idempotency.js';
import { cardMetricLines, renderDatadog, renderLogTails, renderMetrics } from './report-sections.js';
import { plannedNote } from './slack-card.js';
import { workflowUiUrl } from '../workflows/messages.js';
import { cleanText, escapeGitHubMarkdown, gitHubText as md, neutralizeGitHubReferences, safeLinkTarget } from '../config/untrusted-text.js';

export interface DiagnosisRequest {
  incident: IncidentRef;
  scope: TriageScope;
  surfaces: SurfaceResult[];
  workflowId: string;
  temporalUiUrl: string;
  /** Temporal namespace of the workflow, for the Web UI link. */
  namespace: string;
}

type SurfaceStatus = Diagnosis['surfaces'][number];

/** GitHub rejects bodies over 65,536 characters; stay clear of it. */
export const MAX_BODY = 60_000;
const MAX_FINDINGS_IN_BODY = 20;
const MAX_EVIDENCE_LINES = 8;
const MAX_ALERTS_IN_BODY = 10;
const ISSUE_TITLE_INCIDENT_LIMIT = 150;

export function buildDiagnosis(request: DiagnosisRequest): Diagnosis {
  const { input, surfaces } = collectEvidence(request);
  const { findings, headline } = diagnose(input);
  const plan = buildWritePlan({ ...request, input, surfaces, findings, headline });
  return { findings, headline, surfaces, plan, planHash: hashPlan(plan), metricLines: cardMetricLines(input.cloudwatch, input.datadog) };
}

// ---- evidence ----------------------------------------------------------------

export interface CollectedEvidence {
  input: AnalysisInput;
  surfaces: SurfaceStatus[];
}

/** Every surface in scope gets a status; a missing result is as unavailable as a failed one. */
export function collectEvidence(request: Pick<DiagnosisRequest, 'incident' | 'scope' | 'surfaces'>): CollectedEvidence {
  const input: AnalysisInput = { incident: request.incident };
  const names = SURFACES.filter((name) => request.scope.surfaces.includes(name) || request.surfaces.some((r) => r.surface === name));
  const surfaces = names.map((name): SurfaceStatus => {
    const result = request.surfaces.find((r) => r.surface === name);
    if (!result) return { surface: name, status: 'unavailable', reason: 'no result was recorded for this surface' };
    if (result.status === 'unavailable') {
      return { surface: name, status: 'unavailable', reason: cleanText(result.reason) || 'no reason given' };
    }
    const { evidence } = result;
    if (evidence.surface !== name) {
      return { surface: name, status: 'unavailable', reason: `evidence was for ${cleanText(evidence.surface, 40)}` };
    }
    switch (evidence.surface) {
      case 'pagerduty':
        input.pagerduty = evidence;
        break;
      case 'kubernetes':
        input.kubernetes = evidence;
        break;
      case 'cloudwatch':
        input.cloudwatch = evidence;
        break;
      case 'datadog':
        input.datadog = evidence;
        break;
    }
    return { surface: name, status: 'ok' };
  });
  return { input, surfaces };
}

// ---- write plan --------------------------------------------------------------

interface PlanSources extends Omit<DiagnosisRequest, 'surfaces'> {
  input: AnalysisInput;
  surfaces: SurfaceStatus[];
  findings: Finding[];
  headline: string;
}

function maxSeverity(findings: readonly Finding[]): Severity | undefined {
  return [...findings].map((f) => f.severity).sort(compareSeverity)[0];
}

export function issueTitle(incident: IncidentRef): string {
  // Issue titles are plain text on GitHub (no Markdown to escape) and do not
  // create cross-references; the incident's own text still gets word joiners
  // so a title like "@org/team #12" reads as text wherever it is shown.
  return `[triage] ${neutralizeGitHubReferences(cleanText(incident.title, ISSUE_TITLE_INCIDENT_LIMIT))} (PagerDuty #${neutralizeGitHubReferences(incidentNumber(incident))})`;
}

function incidentNumber(incident: IncidentRef): string {
  return Number.isSafeInteger(incident.number) ? String(incident.number) : cleanText(incident.number, 20);
}

function buildWritePlan(sources: PlanSources): WritePlan {
  const severity = maxSeverity(sources.findings);
  const key = idempotencyKey(sources.workflowId);
  const title = issueTitle(sources.incident);
  return {
    github: {
      ...(sources.scope.github ? { repo: sources.scope.github.repo } : {}),
      title,
      body: `${renderIssueBody(sources)}\n\n${idempotencyMarker(key)}\n`,
      labels: ['triage', ...(severity ? [`severity:${severity}`] : []), idempotencyLabel(key)],
      idempotencyKey: key,
      backLink: BACK_LINK_TEMPLATE,
    },
    slack: planNote(sources, title),
  };
}

/** The note links the issue, so there is one only where both a repository and Slack channels are configured. */
function planNote(sources: PlanSources, issueTitle: string): WritePlan['slack'] {
  const { scope, incident, headline, findings, temporalUiUrl, namespace, workflowId } = sources;
  if (!scope.slack || !scope.github) return {};
  const webUiUrl = workflowUiUrl({ uiUrl: temporalUiUrl, namespace }, workflowId);
  return { note: plannedNote({ channel: scope.slack.incidentsChannel, incident, headline, findings, webUiUrl, issueTitle }) };
}

// ---- Markdown ----------------------------------------------------------------
//
// The body is GitHub-flavoured Markdown written by code; every piece of text
// that came from evidence or PagerDuty goes through `md` (escapeGitHubMarkdown
// in untrusted-text.ts), so it cannot ping anyone, cross-reference an issue,
// autolink a URL, inject HTML or break the layout. Code-built text avoids
// `#<digits>` too ("incident 1234"), since GitHub would link it to an issue of
// the repository the body is written to.

function link(text: string, url: string): string {
  const target = safeLinkTarget(url);
  return target ? `[${escapeGitHubMarkdown(text)}](${target})` : `${escapeGitHubMarkdown(text)} (link omitted: not an http(s) URL)`;
}

function renderIssueBody(sources: PlanSources): string {
  const sections = [
    renderSummary(sources),
    renderFindings(sources.findings),
    renderSurfaces(sources),
    renderLinks(sources),
    '---\n_Written by keyless-triage from read-only evidence, after a human approved this plan. Text copied from the evidence is shown as data, cleaned and truncated._',
  ];
  return capBody(sections.join('\n\n'));
}

function renderSummary({ incident, headline }: PlanSources): string {
  return [
    `**Most likely cause:** ${md(headline)}`,
    '',
    '| incident | service | urgency | status | opened |',
    '| --- | --- | --- | --- | --- |',
    `| ${link(`PagerDuty incident ${incidentNumber(incident)}`, incident.htmlUrl)}: ${md(incident.title, ISSUE_TITLE_INCIDENT_LIMIT)} | ${md(incident.serviceName, 100)} | ${md(incident.urgency, 20)} | ${md(incident.status, 20)} | ${md(incident.createdAt, 40)} |`,
  ].join('\n');
}

function renderFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return '## Findings\n\nNo analyzer found a known failure mode in the evidence collected.';
  const shown = findings.slice(0, MAX_FINDINGS_IN_BODY).map((finding, index) => {
    const lines = [
      `### ${index + 1}. ${finding.severity}: ${md(finding.title)}`,
      '',
      `Analyzer ${md(finding.analyzer, 60)} on ${md(finding.surface, 40)}${finding.objects.length > 0 ? `; objects: ${finding.objects.map((o) => md(o)).join(', ')}` : ''}`,
      '',
      ...finding.evidence.slice(0, MAX_EVIDENCE_LINES).map((line) => `- ${md(line)}`),
    ];
    if (finding.evidence.length > MAX_EVIDENCE_LINES) {
      lines.push(`- (${finding.evidence.length - MAX_EVIDENCE_LINES} more evidence lines in the workflow history)`);
    }
    return lines.join('\n');
  });
  const omitted = findings.length - shown.length;
  return [
    '## Findings',
    ...shown,
    ...(omitted > 0 ? [`${omitted} weaker findings are not shown here; the workflow history has all of them.`] : []),
  ].join('\n\n');
}

function renderSurfaces({ surfaces, input }: PlanSources): string {
  const statusLines = surfaces.map((s) =>
    s.status === 'ok'
      ? `- **${s.surface}**: ok${surfaceDetail(s.surface, input)}`
      : `- **${s.surface}**: unavailable: ${md(s.reason ?? 'no reason given')}`,
  );
  const details = [
    ...(input.kubernetes ? [renderKubernetes(input.kubernetes)] : []),
    ...(input.kubernetes ? [renderLogTails(input.kubernetes)] : []),
    renderMetrics(input.cloudwatch, input.datadog),
    ...(input.datadog ? [renderDatadog(input.datadog)] : []),
    ...(input.pagerduty ? [renderAlerts(input.pagerduty)] : []),
  ].filter((d): d is string => d !== undefined);
  return ['## Evidence surfaces', statusLines.join('\n'), ...details].join('\n\n');
}

function surfaceDetail(surface: SurfaceName, input: AnalysisInput): string {
  if (surface === 'pagerduty' && input.pagerduty) {
    const { alerts } = input.pagerduty;
    return `, ${alerts.total} alert${alerts.total === 1 ? '' : 's'} (${alerts.shown.length} shown)`;
  }
  if (surface === 'kubernetes' && input.kubernetes) {
    const pods = input.kubernetes.namespaces.reduce((sum, ns) => sum + ns.podCounts.total, 0);
    const namespaces = input.kubernetes.namespaces.length;
    return `, cluster ${md(input.kubernetes.cluster, 100)}, ${namespaces} namespace${namespaces === 1 ? '' : 's'}, ${pods} pod${pods === 1 ? '' : 's'}`;
  }
  if (surface === 'cloudwatch' && input.cloudwatch) {
    return `, ${input.cloudwatch.series.length} metric${input.cloudwatch.series.length === 1 ? '' : 's'} in ${md(input.cloudwatch.region, 30)}`;
  }
  if (surface === 'datadog' && input.datadog) {
    const { series, monitors, monitorsOmitted } = input.datadog;
    return `, ${series.length} quer${series.length === 1 ? 'y' : 'ies'}, ${monitors.length + monitorsOmitted} monitor${monitors.length + monitorsOmitted === 1 ? '' : 's'} in Alert or Warn`;
  }
  return '';
}

function renderKubernetes(evidence: KubernetesEvidence): string {
  const rows = evidence.namespaces.map((ns) => {
    const waiting = Object.entries(ns.podCounts.byWaitingReason)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([reason, count]) => `${md(reason, 60)}: ${count}`)
      .join(', ');
    return `| ${md(ns.namespace, 63)} | ${ns.podCounts.total} | ${ns.podCounts.notReady} | ${waiting || 'none'} | ${ns.events.length + ns.eventsOmitted} |`;
  });
  return [
    `### Kubernetes: cluster ${md(evidence.cluster, 100)}, collected ${md(evidence.collectedAt, 40)}`,
    '',
    '| namespace | pods | not ready | waiting | warning events |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function renderAlerts(evidence: PagerDutyEvidence): string {
  const { alerts } = evidence;
  const lines = alerts.shown
    .slice(0, MAX_ALERTS_IN_BODY)
    .map((a) => `- ${md(a.severity, 20)}, ${md(a.status, 20)}, ${md(a.createdAt, 40)}: ${md(a.summary, 200)}`);
  const hidden = alerts.total - lines.length;
  return [`### PagerDuty alerts`, '', ...(lines.length > 0 ? lines : ['- none']), ...(hidden > 0 ? [`- and ${hidden} more`] : [])].join(
    '\n',
  );
}

function renderLinks({ incident, temporalUiUrl, namespace, workflowId }: PlanSources): string {
  return [
    '## Links',
    '',
    `- PagerDuty: ${link(`incident ${incidentNumber(incident)}`, incident.htmlUrl)}`,
    `- Temporal workflow: ${link(cleanText(workflowId, 200), workflowUiUrl({ uiUrl: temporalUiUrl, namespace }, workflowId))}`,
  ].join('\n');
}

/**
 * Cut at a line boundary so no escape sequence or table row is split, and
 * close a code fence the cut left open (a chart or a log tail), or the note
 * below would render as code.
 */
export function capBody(body: string): string {
  if (body.length <= MAX_BODY) return body;
  const cut = body.lastIndexOf('\n', MAX_BODY - 200);
  const kept = body.slice(0, cut > 0 ? cut : MAX_BODY - 200);
  let open: string | undefined;
  for (const line of kept.split('\n')) {
    const fence = /^(`{3,})/.exec(line)?.[1];
    if (fence === undefined) continue;
    if (open === undefined) open = fence;
    else if (line.trim() === open) open = undefined;
  }
  return `${kept}${open ? `\n${open}` : ''}\n\n_(truncated: the workflow history has the full diagnosis)_`;
}

// The canonical form and the hash live in config/write-plan.ts, shared with the broker.
export { canonicalJson, hashPlan } from '../config/write-plan.js';
