// A deployment rolled out shortly before the incident is the first suspect of
// any on-call engineer. This finding states the correlation; the pod-level
// analyzers say whether the failing pods belong to the new revision.
import type { DeploymentSummary, NamespaceEvidence, ReplicaSetSummary, Severity } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../untrusted-text.js';
import {
  compareText,
  DEFAULT_ROLLOUT_WINDOW_MINUTES,
  describeLead,
  describeMemoryLimitChange,
  memoryLimitChanges,
  templateChanges,
  objectRef,
  recentRollout,
  type Rollout,
} from './workloads.js';

export const ROLLOUT_ANALYZER = 'kubernetes.rollout';

export interface RolloutAnalyzerOptions {
  /** Minutes before the incident in which a rollout is reported. */
  windowMinutes?: number;
}

function imagesOf(rs: ReplicaSetSummary | undefined, fallback: readonly string[] = []): string[] {
  const images = rs && rs.images.length > 0 ? rs.images : fallback;
  return [...new Set(images.map((image) => cleanText(image, 200)))].sort(compareText);
}

function imageLine(rollout: Rollout, deployment: DeploymentSummary): string {
  const after = imagesOf(rollout.newest, deployment.images);
  if (!rollout.previous) return `first revision of the deployment; images ${after.join(', ') || 'unknown'}`;
  const before = imagesOf(rollout.previous);
  if (before.join('\n') === after.join('\n')) {
    return `images unchanged (${after.join(', ') || 'unknown'}): the new revision changed other parts of the pod template`;
  }
  const removed = before.filter((image) => !after.includes(image));
  const added = after.filter((image) => !before.includes(image));
  return `image changed from ${removed.join(', ') || 'none'} to ${added.join(', ') || 'none'}`;
}

function changedLine(rollout: Rollout): string[] {
  const changes = templateChanges(rollout);
  const shown = changes.slice(0, 8);
  return changes.length === 0
    ? []
    : [`pod template changed: ${shown.join(', ')}${changes.length > shown.length ? ` and ${changes.length - shown.length} more` : ''}`];
}

function replicaSetLine(label: string, rs: ReplicaSetSummary): string {
  return `${label} ReplicaSet ${cleanText(rs.name, 253)} (revision ${rs.revision ?? 'unknown'}): ${rs.ready}/${rs.replicas} ready`;
}

/** Conditions that say the rollout is not healthy; ReplicaFailure is the one whose True is bad news. */
function failingConditions(deployment: DeploymentSummary): DeploymentSummary['conditions'] {
  return deployment.conditions.filter((c) => {
    if (c.type === 'ReplicaFailure') return c.status === 'True';
    return (c.type === 'Progressing' || c.type === 'Available') && c.status === 'False';
  });
}

/** A rollout is only a warning when the deployment is not healthy afterwards. */
function severityOf(deployment: DeploymentSummary): Severity {
  const degraded =
    deployment.ready < deployment.replicas || deployment.available < deployment.replicas || failingConditions(deployment).length > 0;
  return degraded ? 'warning' : 'info';
}

function assessDeployment(ns: NamespaceEvidence, deployment: DeploymentSummary, rollout: Rollout): Assessment {
  const name = cleanText(deployment.name, 253);
  const conditions = failingConditions(deployment).map(
    (c) =>
      `condition ${cleanText(c.type, 40)}=${cleanText(c.status, 10)}${c.reason ? ` (${cleanText(c.reason, 60)})` : ''}${c.message ? `: ${cleanText(c.message, 200)}` : ''}`,
  );
  const evidence = [
    `Deployment ${cleanText(ns.namespace, 63)}/${name} revision ${rollout.revision} created at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`,
    imageLine(rollout, deployment),
    ...memoryLimitChanges(rollout).map((change) => describeMemoryLimitChange(change, rollout.revision)),
    ...changedLine(rollout),
    replicaSetLine('new', rollout.newest),
    ...(rollout.previous ? [replicaSetLine('previous', rollout.previous)] : []),
    `Deployment status: ${deployment.ready}/${deployment.replicas} ready, ${deployment.updated} updated, ${deployment.available} available`,
    ...conditions,
  ];
  const objects = [
    objectRef('Deployment', ns.namespace, deployment.name),
    objectRef('ReplicaSet', ns.namespace, rollout.newest.name),
    ...(rollout.previous ? [objectRef('ReplicaSet', ns.namespace, rollout.previous.name)] : []),
  ];
  return {
    finding: {
      analyzer: ROLLOUT_ANALYZER,
      severity: severityOf(deployment),
      surface: 'kubernetes',
      title: cleanText(
        `rollout of ${name} to revision ${rollout.revision} at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`,
      ),
      objects,
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: 1,
    // The rollout is the subject of this finding, not a corroboration of it.
    rolloutCorrelated: false,
  };
}

export function createRolloutAssessor(options: RolloutAnalyzerOptions = {}): Assessor {
  const windowMinutes = options.windowMinutes ?? DEFAULT_ROLLOUT_WINDOW_MINUTES;
  return (input) => {
    const namespaces = input.kubernetes?.namespaces ?? [];
    return namespaces.flatMap((ns) =>
      [...ns.deployments]
        .sort((a, b) => compareText(a.name, b.name))
        .flatMap((deployment) => {
          const rollout = recentRollout(ns, deployment.name, input.incident, windowMinutes);
          return rollout ? [assessDeployment(ns, deployment, rollout)] : [];
        }),
    );
  };
}

export const assessRollouts = createRolloutAssessor();

export const rolloutAnalyzer = asAnalyzer(assessRollouts);
