// A deployment rolled out shortly before the incident is the first suspect of
// any on-call engineer. This finding states the correlation; the pod-level
// analyzers say whether the failing pods belong to the new revision.
// StatefulSets and DaemonSets roll out the same way through ControllerRevisions.
import type {
  ControllerRevisionSummary,
  DaemonSetSummary,
  DeploymentSummary,
  NamespaceEvidence,
  ReplicaSetSummary,
  Severity,
  StatefulSetSummary,
} from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  compareText,
  DEFAULT_ROLLOUT_WINDOW_MINUTES,
  describeLead,
  describeMemoryLimitChange,
  memoryLimitChanges,
  templateChanges,
  objectRef,
  plural,
  recentControllerRollout,
  recentRollout,
  revisionObject,
  runsRevision,
  type RevisionedKind,
  type Rollout,
} from './workloads.js';

export const ROLLOUT_ANALYZER = 'kubernetes.rollout';

export interface RolloutAnalyzerOptions {
  /** Minutes before the incident in which a rollout is reported. */
  windowMinutes?: number;
}

function imagesOf(rs: ReplicaSetSummary | ControllerRevisionSummary | undefined, fallback: readonly string[] = []): string[] {
  const images = rs && rs.images.length > 0 ? rs.images : fallback;
  return [...new Set(images.map((image) => cleanText(image, 200)))].sort(compareText);
}

function imageLine(rollout: Rollout, workload: { images: string[] }): string {
  const after = imagesOf(rollout.newest, workload.images);
  if (!rollout.previous) {
    return `first revision of the ${rollout.kind ?? 'deployment'}; images ${after.join(', ') || 'unknown'}`;
  }
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

function replicaSetLine(label: string, rs: ReplicaSetSummary | ControllerRevisionSummary): string {
  if (!('replicas' in rs)) return `${label} ControllerRevision ${cleanText(rs.name, 253)} (revision ${rs.revision})`;
  return `${label} ReplicaSet ${cleanText(rs.name, 253)} (revision ${rs.revision ?? 'unknown'}): ${rs.ready}/${rs.replicas} ready`;
}

/** Conditions that say the rollout is not healthy; ReplicaFailure is the one whose True is bad news. */
function failingConditions(deployment: Pick<DeploymentSummary, 'conditions'>): DeploymentSummary['conditions'] {
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

function conditionLine(c: DeploymentSummary['conditions'][number]): string {
  return `condition ${cleanText(c.type, 40)}=${cleanText(c.status, 10)}${c.reason ? ` (${cleanText(c.reason, 60)})` : ''}${c.message ? `: ${cleanText(c.message, 200)}` : ''}`;
}

function assessDeployment(ns: NamespaceEvidence, deployment: DeploymentSummary, rollout: Rollout): Assessment {
  const name = cleanText(deployment.name, 253);
  const conditions = failingConditions(deployment).map(conditionLine);
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

// ---- StatefulSets and DaemonSets ---------------------------------------------

/** Where a StatefulSet's or DaemonSet's rollout stands, and whether that is by design. */
interface ControllerProgress {
  kind: RevisionedKind;
  name: string;
  desired: number;
  ready: number;
  updated: number;
  status: string;
  progress: string;
  images: string[];
  conditions: DeploymentSummary['conditions'];
}

function statefulSetProgress(set: StatefulSetSummary, rollout: Rollout): ControllerProgress {
  const onDelete = set.updateStrategy === 'OnDelete';
  const partition = onDelete ? 0 : Math.min(set.partition ?? 0, set.replicas);
  const pending = Math.max(0, set.replicas - set.updated);
  const progress =
    pending === 0
      ? 'complete: every pod runs the update revision'
      : onDelete
        ? `OnDelete: ${plural(pending, 'pod')} take revision ${rollout.revision} only when deleted, so waiting is not stuck by itself`
        : partition > 0 && set.updated >= set.replicas - partition
          ? `partition ${partition} holds ordinals below ${partition} at the current revision on purpose; ${set.updated} of ${set.replicas} updated`
          : `in progress: ${set.updated} of ${set.replicas} updated, from the highest ordinal down`;
  const revisions =
    set.updateRevision !== undefined
      ? `, update revision ${cleanText(set.updateRevision, 253)}${set.currentRevision !== undefined && set.currentRevision !== set.updateRevision ? `, current revision ${cleanText(set.currentRevision, 253)}` : ''}`
      : '';
  return {
    kind: 'StatefulSet',
    name: set.name,
    desired: set.replicas,
    ready: set.ready,
    updated: set.updated,
    status: `StatefulSet status: ${set.ready}/${set.replicas} ready, ${set.updated} updated${revisions}; strategy ${cleanText(set.updateStrategy, 30)}`,
    progress,
    images: set.images,
    conditions: set.conditions,
  };
}

function daemonSetProgress(set: DaemonSetSummary, rollout: Rollout): ControllerProgress {
  const onDelete = set.updateStrategy === 'OnDelete';
  const pending = Math.max(0, set.desired - set.updated);
  const progress =
    pending === 0
      ? 'complete: every node runs the newest revision'
      : onDelete
        ? `OnDelete: ${plural(pending, 'pod')} take revision ${rollout.revision} only when deleted, so waiting is not stuck by itself`
        : `in progress: ${set.updated} of ${set.desired} nodes updated`;
  return {
    kind: 'DaemonSet',
    name: set.name,
    desired: set.desired,
    ready: set.ready,
    updated: set.updated,
    status: `DaemonSet status: ${set.ready}/${set.desired} ready, ${set.updated} updated, ${set.unavailable} unavailable, ${set.misscheduled} misscheduled; strategy ${cleanText(set.updateStrategy, 30)}`,
    progress,
    images: set.images,
    conditions: [],
  };
}

/**
 * A warning when pods are not ready: the rollout is stuck or broke what it
 * replaced. A rollout that waits on deletes (OnDelete) or stops at a
 * partition with every pod ready is doing what it was told: info.
 */
function controllerSeverity(progress: ControllerProgress): Severity {
  return progress.ready < progress.desired || failingConditions(progress).length > 0 ? 'warning' : 'info';
}

function assessController(ns: NamespaceEvidence, progress: ControllerProgress, rollout: Rollout): Assessment {
  const name = cleanText(progress.name, 253);
  const unready = ns.pods.filter(
    (pod) =>
      (progress.kind === 'StatefulSet' ? pod.statefulSet : pod.daemonSet) === progress.name &&
      !pod.ready &&
      runsRevision(ns, pod, progress.name, rollout.newest),
  );
  const evidence = [
    `${progress.kind} ${cleanText(ns.namespace, 63)}/${name} revision ${rollout.revision} (${revisionObject(rollout)}) created at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`,
    imageLine(rollout, progress),
    ...memoryLimitChanges(rollout).map((change) => describeMemoryLimitChange(change, rollout.revision)),
    ...changedLine(rollout),
    ...(rollout.previous ? [replicaSetLine('previous', rollout.previous)] : []),
    progress.status,
    progress.progress,
    ...(unready.length > 0
      ? [
          `${plural(unready.length, 'pod')} of revision ${rollout.revision} not ready: ${unready
            .slice(0, 5)
            .map((pod) => cleanText(pod.name, 253))
            .join(', ')}`,
        ]
      : []),
    ...failingConditions(progress).map(conditionLine),
  ];
  return {
    finding: {
      analyzer: ROLLOUT_ANALYZER,
      severity: controllerSeverity(progress),
      surface: 'kubernetes',
      title: cleanText(
        `rollout of ${progress.kind} ${name} to revision ${rollout.revision} at ${rollout.createdAt}, ${describeLead(rollout.minutesBefore)}`,
      ),
      objects: [
        objectRef(progress.kind, ns.namespace, progress.name),
        objectRef('ControllerRevision', ns.namespace, rollout.newest.name),
        ...(rollout.previous ? [objectRef('ControllerRevision', ns.namespace, rollout.previous.name)] : []),
      ],
      evidence: evidence.map((line) => cleanText(line)),
    },
    affected: 1,
    rolloutCorrelated: false,
  };
}

function assessControllers(ns: NamespaceEvidence, input: Parameters<Assessor>[0], windowMinutes: number): Assessment[] {
  const sets = [...(ns.statefulSets ?? [])]
    .sort((a, b) => compareText(a.name, b.name))
    .flatMap((set) => {
      const rollout = recentControllerRollout(ns, 'StatefulSet', set.name, input.incident, windowMinutes);
      return rollout ? [assessController(ns, statefulSetProgress(set, rollout), rollout)] : [];
    });
  const daemons = [...(ns.daemonSets ?? [])]
    .sort((a, b) => compareText(a.name, b.name))
    .flatMap((set) => {
      const rollout = recentControllerRollout(ns, 'DaemonSet', set.name, input.incident, windowMinutes);
      return rollout ? [assessController(ns, daemonSetProgress(set, rollout), rollout)] : [];
    });
  return [...sets, ...daemons];
}

export function createRolloutAssessor(options: RolloutAnalyzerOptions = {}): Assessor {
  const windowMinutes = options.windowMinutes ?? DEFAULT_ROLLOUT_WINDOW_MINUTES;
  return (input) => {
    const namespaces = input.kubernetes?.namespaces ?? [];
    return namespaces.flatMap((ns) => [
      ...[...ns.deployments]
        .sort((a, b) => compareText(a.name, b.name))
        .flatMap((deployment) => {
          const rollout = recentRollout(ns, deployment.name, input.incident, windowMinutes);
          return rollout ? [assessDeployment(ns, deployment, rollout)] : [];
        }),
      ...assessControllers(ns, input, windowMinutes),
    ]);
  };
}

export const assessRollouts = createRolloutAssessor();

export const rolloutAnalyzer = asAnalyzer(assessRollouts);
