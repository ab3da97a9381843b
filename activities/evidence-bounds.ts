// Evidence is an activity result, so it is stored in Temporal history on every
// run and read by analyzers, the report and humans. Each surface therefore
// returns a summary with hard bounds, never raw API objects: the per-list caps
// below pick what to keep, and the byte budget is the backstop that holds even
// when every list is full of long strings. Every text in it came through
// evidenceText (config/untrusted-text.ts): printable, redacted, and cut
// to the limits below.
import type { KubernetesEvidence, LogTail, NamespaceEvidence, NodeSummary, PagerDutyEvidence } from './model.js';

/** The serialized evidence of one surface never exceeds this. */
export const MAX_EVIDENCE_BYTES = 64 * 1024;

export const EVIDENCE_LIMITS = {
  /** Free text (messages, summaries, titles) is cut to this many characters. */
  textChars: 300,
  /** Names, images, reasons: short by nature, cut in case they are not. */
  shortTextChars: 256,
  alertsShown: 20,
  podsPerNamespace: 50,
  containersPerPod: 10,
  warningEventsPerNamespace: 50,
  scalingEventsPerNamespace: 10,
  /** Node pressure events, whatever their type: one per node and reason (repeats are counted), so a few nodes' worth. */
  nodePressureEventsPerNamespace: 10,
  deploymentsPerNamespace: 20,
  revisionsPerDeployment: 3,
  conditionsPerDeployment: 5,
  imagesPerWorkload: 10,
  /** Containers per triage whose previous log is read: the most notable crashes, not every replica's. */
  previousLogsPerTriage: 5,
  /**
   * Running containers per triage whose own log is read: one replica per
   * workload, unready ones first, since an app can fail while its pods look
   * healthy. Each namespace lists at most this many such quiet replicas.
   */
  currentLogsPerTriage: 5,
  /** The newest lines of a previous container's log that are kept; each is cut to `textChars`. */
  logLinesPerContainer: 20,
  /** When over budget, logs are cut to this many newest lines before any pod or event is dropped. */
  logLinesFloor: 5,
  /** Pod labels kept per pod (selectors name few). */
  labelsPerPod: 10,
  servicesPerNamespace: 20,
  endpointsPerNamespace: 20,
  networkPoliciesPerNamespace: 20,
  /** Failed Jobs before running ones before complete ones, newest first within each. */
  jobsPerNamespace: 20,
  cronJobsPerNamespace: 20,
  /** A Job has a handful of condition types (Failed, Complete, FailureTarget, SuccessCriteriaMet, Suspended). */
  conditionsPerJob: 5,
  /** HPAs that cannot compute their metrics, then those at their maximum, then the rest. */
  horizontalPodAutoscalersPerNamespace: 20,
  /** AbleToScale, ScalingActive, ScalingLimited. */
  conditionsPerHpa: 3,
  /** Metrics an HPA scales on, each as one line of current value and target. */
  metricsPerHpa: 4,
  /** Pending claims, then Lost, then Bound; newest first within each. */
  persistentVolumeClaimsPerNamespace: 20,
  conditionsPerClaim: 3,
  /** Claims a pod's volumes name. */
  claimsPerPod: 5,
  /** Unhealthy or mid-rollout first; each with its newest `revisionsPerWorkload` ControllerRevisions. */
  statefulSetsPerNamespace: 20,
  daemonSetsPerNamespace: 20,
  /** The two a rollout moves between: enough to name what it changed. */
  revisionsPerWorkload: 2,
  /** Rules per NetworkPolicy direction, and peers and ports per rule. */
  rulesPerPolicy: 10,
  peersPerRule: 10,
  portsPerRule: 10,
  /** Selector terms (`key=value`) kept per selector. */
  selectorTerms: 10,
  /** Nodes kept per triage: those hosting listed pods, not Ready or cordoned first. */
  nodesPerTriage: 50,
  taintsPerNode: 10,
  /** Scheduling labels kept per node (a fixed few, plus the keys pending pods select on). */
  labelsPerNode: 12,
  /** Label keys pending pods' nodeSelectors name, and the values the nodes carry per key. */
  nodeSelectorKeys: 6,
  labelValuesPerKey: 20,
  tolerationsPerPod: 10,
} as const;

export function evidenceBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

export interface TrimReport {
  bytesBefore: number;
  bytesAfter: number;
  /** False only if even an evidence object stripped to its counts is over budget. */
  fits: boolean;
  dropped: {
    pods: number;
    events: number;
    replicaSets: number;
    deployments: number;
    jobs: number;
    nodes: number;
    autoscalersAndClaims: number;
    statefulSets: number;
    daemonSets: number;
    alerts: number;
    logLines: number;
    logDigests: number;
    namespaceDetails: number;
  };
}

function emptyReport(bytes: number): TrimReport {
  return {
    bytesBefore: bytes,
    bytesAfter: bytes,
    fits: true,
    dropped: {
      pods: 0,
      events: 0,
      replicaSets: 0,
      deployments: 0,
      jobs: 0,
      nodes: 0,
      autoscalersAndClaims: 0,
      statefulSets: 0,
      daemonSets: 0,
      alerts: 0,
      logLines: 0,
      logDigests: 0,
      namespaceDetails: 0,
    },
  };
}

type ListKey =
  | 'pods'
  | 'events'
  | 'replicaSets'
  | 'deployments'
  | 'jobs'
  | 'cronJobs'
  | 'horizontalPodAutoscalers'
  | 'persistentVolumeClaims'
  | 'statefulSets'
  | 'daemonSets';

/**
 * Removes the tail of one list (lists are ordered most important first) and
 * counts it in the matching `...Omitted` field. Returns an estimate of the bytes
 * saved so the caller need not re-serialize after every single removal.
 */
function dropLast(ns: NamespaceEvidence, key: ListKey): number {
  const list = ns[key] as unknown[] | undefined;
  const removed = list?.pop();
  if (removed === undefined) return 0;
  if (key === 'pods') ns.podsOmitted += 1;
  if (key === 'events') ns.eventsOmitted += 1;
  return evidenceBytes(removed) + 1;
}

/** A node that hosts none of the listed pods and is Ready and schedulable: context, not evidence. */
function unremarkable(node: NodeSummary): boolean {
  return node.ready.status === 'True' && !node.unschedulable && (node.pods ?? 0) === 0 && (node.pressure ?? []).length === 0;
}

/**
 * Drops Nodes from the tail (they are ordered most telling first), only
 * unremarkable ones when `unremarkableOnly`. The total stays, so a reader
 * knows the list is partial. Returns the new byte count.
 */
function dropNodes(evidence: KubernetesEvidence, bytes: number, maxBytes: number, unremarkableOnly: boolean, report: TrimReport): number {
  const items = evidence.nodes?.status === 'ok' ? evidence.nodes.items : [];
  while (bytes > maxBytes && items.length > 0 && (!unremarkableOnly || unremarkable(items[items.length - 1]!))) {
    bytes -= evidenceBytes(items.pop()) + 1;
    report.dropped.nodes += 1;
    if (bytes <= maxBytes) bytes = evidenceBytes(evidence);
  }
  return bytes;
}

type ShownLog = Extract<LogTail, { status: 'ok' }>;

function shownLogs(evidence: KubernetesEvidence): ShownLog[] {
  return evidence.namespaces.flatMap((ns) =>
    ns.pods.flatMap((p) =>
      p.containers.flatMap((c) => [c.previousLog, c.currentLog].filter((log): log is ShownLog => log?.status === 'ok')),
    ),
  );
}

/**
 * Removes the oldest line of the longest log that has more than `floor` lines
 * (the newest lines say why the container died) and marks that log truncated.
 * Returns an estimate of the bytes saved, 0 when no log is above the floor.
 */
function dropOldestLogLine(logs: ShownLog[], floor: number): number {
  let longest: ShownLog | undefined;
  for (const log of logs) if (log.lines.length > floor && (!longest || log.lines.length > longest.lines.length)) longest = log;
  if (!longest) return 0;
  const line = longest.lines.shift()!;
  longest.truncated = true;
  return evidenceBytes(line) + 1;
}

/**
 * Trims Kubernetes evidence until it serializes within `maxBytes`: first the
 * oldest lines of container logs, down to their newest few (a log otherwise
 * goes with its pod), then the digests of running containers' logs; then the
 * least notable pods and the oldest events (alternating from whichever list is
 * longest, so neither is emptied while the other is full), then replica sets,
 * deployments, Jobs and CronJobs, HPAs and PersistentVolumeClaims, DaemonSets
 * and StatefulSets, then the remaining Nodes (healthy Nodes hosting none of the
 * listed pods go first, before any pod), and as a last resort the details of
 * whole namespaces (their Services, Endpoints and NetworkPolicies too), which
 * keep their counts.
 * Returns a new object; the input is not modified.
 */
export function fitKubernetesEvidence(
  evidence: KubernetesEvidence,
  maxBytes: number = MAX_EVIDENCE_BYTES,
): { evidence: KubernetesEvidence; report: TrimReport } {
  const before = evidenceBytes(evidence);
  const report = emptyReport(before);
  if (before <= maxBytes) return { evidence, report };
  const out = structuredClone(evidence);
  let bytes = before;

  const logs = shownLogs(out);
  while (bytes > maxBytes) {
    const saved = dropOldestLogLine(logs, EVIDENCE_LIMITS.logLinesFloor);
    if (saved === 0) break;
    bytes -= saved;
    report.dropped.logLines += 1;
    if (bytes <= maxBytes) bytes = evidenceBytes(out);
  }

  // A digest summarises lines history never holds; it goes before any pod does, the largest first.
  while (bytes > maxBytes) {
    const withDigest = logs.filter((log) => log.digest !== undefined);
    if (withDigest.length === 0) break;
    const largestDigest = withDigest.reduce((a, b) => (evidenceBytes(b.digest) > evidenceBytes(a.digest) ? b : a));
    bytes -= evidenceBytes(largestDigest.digest) + 10;
    delete largestDigest.digest;
    report.dropped.logDigests += 1;
    if (bytes <= maxBytes) bytes = evidenceBytes(out);
  }

  // Healthy nodes none of our pods run on go before any pod or event.
  bytes = dropNodes(out, bytes, maxBytes, true, report);

  const largest = (keys: ListKey[]): { ns: NamespaceEvidence; key: ListKey } | undefined => {
    let best: { ns: NamespaceEvidence; key: ListKey; len: number } | undefined;
    for (const ns of out.namespaces) {
      for (const key of keys) {
        const len = ns[key]?.length ?? 0;
        // Events before pods on a tie: a failing pod is the evidence, its events repeat it.
        if (len > 0 && (!best || len > best.len)) best = { ns, key, len };
      }
    }
    return best;
  };

  const stages: { keys: ListKey[]; counter: keyof TrimReport['dropped'] }[] = [
    { keys: ['events', 'pods'], counter: 'events' },
    { keys: ['replicaSets'], counter: 'replicaSets' },
    { keys: ['deployments'], counter: 'deployments' },
    // Complete Jobs are at the tail and go first; a failed Job's status is what the jobs analyzer reads.
    { keys: ['jobs', 'cronJobs'], counter: 'jobs' },
    // Healthy HPAs and Bound claims are at the tail and go first.
    { keys: ['horizontalPodAutoscalers', 'persistentVolumeClaims'], counter: 'autoscalersAndClaims' },
    // Settled ones are at the tail; an unsettled one with its two revisions is what the rollout analyzer reads.
    { keys: ['daemonSets'], counter: 'daemonSets' },
    { keys: ['statefulSets'], counter: 'statefulSets' },
  ];
  for (const stage of stages) {
    while (bytes > maxBytes) {
      const target = largest(stage.keys);
      if (!target) break;
      bytes -= dropLast(target.ns, target.key);
      report.dropped[target.key === 'pods' ? 'pods' : target.key === 'events' ? 'events' : stage.counter] += 1;
      // The estimate ignores digit growth in the omitted counters: re-measure when it claims success.
      if (bytes <= maxBytes) bytes = evidenceBytes(out);
    }
  }
  // Then the nodes that are down, cordoned or host our pods, before whole namespaces go.
  bytes = dropNodes(out, bytes, maxBytes, false, report);
  for (let i = out.namespaces.length - 1; i >= 0 && bytes > maxBytes; i--) {
    const ns = out.namespaces[i]!;
    ns.podsOmitted += ns.pods.length;
    ns.eventsOmitted += ns.events.length;
    ns.pods = [];
    ns.events = [];
    ns.deployments = [];
    ns.replicaSets = [];
    delete ns.services;
    delete ns.endpoints;
    delete ns.networkPolicies;
    delete ns.jobs;
    delete ns.cronJobs;
    delete ns.horizontalPodAutoscalers;
    delete ns.persistentVolumeClaims;
    delete ns.statefulSets;
    delete ns.daemonSets;
    report.dropped.namespaceDetails += 1;
    bytes = evidenceBytes(out);
  }
  report.bytesAfter = evidenceBytes(out);
  report.fits = report.bytesAfter <= maxBytes;
  return { evidence: out, report };
}

/** The same backstop for PagerDuty: drop the oldest shown alerts (they stay counted in `omitted`). */
export function fitPagerDutyEvidence(
  evidence: PagerDutyEvidence,
  maxBytes: number = MAX_EVIDENCE_BYTES,
): { evidence: PagerDutyEvidence; report: TrimReport } {
  const before = evidenceBytes(evidence);
  const report = emptyReport(before);
  if (before <= maxBytes) return { evidence, report };
  const out = structuredClone(evidence);
  let bytes = before;
  while (bytes > maxBytes && out.alerts.shown.length > 0) {
    out.alerts.shown.pop();
    out.alerts.omitted += 1;
    report.dropped.alerts += 1;
    bytes = evidenceBytes(out);
  }
  report.bytesAfter = bytes;
  report.fits = bytes <= maxBytes;
  return { evidence: out, report };
}
