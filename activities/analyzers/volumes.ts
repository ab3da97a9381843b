// Pods held up by their persistent storage: a PersistentVolumeClaim that cannot
// be provisioned or bound keeps the pod from being scheduled at all, and a
// volume that cannot be attached or mounted keeps a scheduled pod in
// ContainerCreating. The scheduler only says a claim is unbound; the claim's own
// events say why, so a finding names the claim and its cause and ranks above
// the scheduler's generic account of the same pods. A listed claim's phase
// says whether it is still Pending (a Bound one is history, whatever its old
// events say) and which class it names; a claim naming none, with no default
// StorageClass, stays Pending with no warning at all.
import type { EventSummary, IncidentRef, NamespaceEvidence, PersistentVolumeClaimSummary, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { missingMountReferences, stripCombined, unlistedPodsMayBeStuck } from './config-refs.js';
import {
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  eventCount,
  groupByWorkload,
  isoSeconds,
  newestEventFirst,
  objectRef,
  parseTime,
  plural,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const VOLUMES_ANALYZER = 'kubernetes.volumes';

const OBJECT_NAME = '[a-z0-9][a-z0-9.-]{0,252}';

/** Warning events the PersistentVolume controller records on a claim it cannot satisfy, and what each means for it. */
const CLAIM_FAILURES: ReadonlyMap<string, string> = new Map([
  ['ProvisioningFailed', 'cannot be provisioned'],
  ['FailedBinding', 'cannot be bound'],
]);

/**
 * pv_controller.go, when the claim's class does not exist: the StorageClass
 * lister's NotFound, `storageclass.storage.k8s.io "<name>" not found`.
 */
const CLASS_NOT_FOUND = new RegExp(`^storageclass\\.storage\\.k8s\\.io "(${OBJECT_NAME})" not found$`);

/**
 * pv_controller.go ("Failed to provision volume with StorageClass %q: %v") and
 * the CSI external-provisioner ("failed to provision volume with StorageClass %q: %v").
 */
const PROVISION_FAILED = new RegExp(`^failed to provision volume with StorageClass "(${OBJECT_NAME})": (.+)$`, 'i');

/**
 * What the scheduler's volume binding says of a pod whose claims are not bound:
 * "pod has unbound immediate PersistentVolumeClaims" (an Immediate-binding
 * class), "node(s) didn't find available persistent volumes to bind" and, for
 * WaitForFirstConsumer, a PreBind failure of the VolumeBinding plugin.
 */
const UNBOUND_CLAIM_MESSAGES: readonly RegExp[] = [
  /pod has unbound immediate PersistentVolumeClaims/,
  /didn't find available persistent volumes to bind/,
  /running PreBind plugin "VolumeBinding"/,
];

/** The scheduler, for a pod whose claim does not exist: `persistentvolumeclaim "<name>" not found`. */
const CLAIM_NOT_FOUND = new RegExp(`persistentvolumeclaim "(${OBJECT_NAME})" not found`, 'g');

/**
 * The attach/detach controller's reconciler: `Multi-Attach error for volume
 * "<volume>" Volume is already used by pod(s) <pods>`, or, when the pods using
 * it are not visible, `... Volume is already exclusively attached to one node
 * and can't be attached to another`.
 */
const MULTI_ATTACH =
  /^Multi-Attach error for volume "([^"]{1,253})" Volume is already (?:used by pod\(s\) (.{1,500})|exclusively attached to one node and can't be attached to another)$/;

/**
 * The volume operation executor's GenerateError, `<operation> failed for volume
 * "<volume>" : <error>`: AttachVolume.Attach, MountVolume.MountDevice,
 * MountVolume.SetUp, MapVolume.SetUpDevice and the like.
 */
const OPERATION_FAILED = /^((?:AttachVolume|MountVolume|MapVolume)\.[A-Za-z]{1,40}) failed for volume "([^"]{1,253})" : (.+)$/;

/**
 * The kubelet's volume manager when it gives up waiting: "Unable to attach or
 * mount volumes: unmounted volumes=[a b], unattached volumes=[...]: timed out
 * waiting for the condition" (since 1.26 also `failed to process volumes=[...]`;
 * before 1.17 "... list of unmounted volumes=[a b]. list of unattached ...").
 */
const UNMOUNTED_VOLUMES = /unmounted volumes=\[([^\]]{0,500})\]/;
const TIMEOUT_TAIL = /\]: ([^\]]{1,120})$/;

const CAUSE_LIMIT = 120;
const MESSAGE_LIMIT = 200;

interface ClaimFailure {
  name: string;
  /** e.g. `cannot be provisioned: StorageClass standard-v2 not found`. */
  problem: string;
  message: string;
  events: EventSummary[];
  /** The claim as listed, when the worker could list claims. */
  claim?: PersistentVolumeClaimSummary;
  /** Pods whose volumes name it (known when the pods' claims are summarised). */
  waiting: string[];
}

/** A claim naming no class (absent, or "" for none) binds only to a matching PersistentVolume, which nothing will create. */
const NO_CLASS_PROBLEM = 'cannot be bound: it names no StorageClass (and there is no default) and no PersistentVolume matches it';

/** A pod the scheduler cannot place because of its claims. */
interface BlockedPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  unbound: boolean;
  missingClaims: string[];
  messages: string[];
}

/** One reason a scheduled pod cannot attach or mount a volume. */
interface VolumeTrouble {
  volumes: string[];
  cause: string;
  /** 0: Multi-Attach, 1: an operation's own error, 2: the volume manager's timeout, which only says something is missing. */
  rank: number;
  event: EventSummary;
}

interface StuckPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  troubles: VolumeTrouble[];
}

function seenLine(label: string, events: readonly EventSummary[]): string {
  const seen = events.reduce((sum, e) => sum + eventCount(e), 0);
  const times = events.flatMap((e) => parseTime(e.lastSeen) ?? []);
  return `${label} seen ${plural(seen, 'time')}${times.length > 0 ? `, last at ${isoSeconds(Math.max(...times))}` : ''}`;
}

function claimCause(message: string): string {
  const text = stripCombined(cleanText(message));
  const missingClass = CLASS_NOT_FOUND.exec(text);
  if (missingClass) return `StorageClass ${missingClass[1]!} not found`;
  const failed = PROVISION_FAILED.exec(text);
  if (failed) return `provisioning with StorageClass ${failed[1]!} failed: ${cleanText(failed[2], CAUSE_LIMIT)}`;
  return cleanText(text, CAUSE_LIMIT);
}

function waitingPods(ns: NamespaceEvidence, claim: string): string[] {
  return ns.pods.filter((p) => p.claims?.includes(claim)).map((p) => p.name);
}

function claimFailures(ns: NamespaceEvidence): ClaimFailure[] {
  const listed = new Map((ns.persistentVolumeClaims ?? []).map((c) => [c.name, c]));
  const byClaim = new Map<string, EventSummary[]>();
  for (const event of ns.events) {
    if (event.type !== 'Warning' || event.object.kind !== 'PersistentVolumeClaim' || !CLAIM_FAILURES.has(event.reason)) continue;
    // A claim listed as Bound (or Lost) got past provisioning: its warnings are history.
    const claim = listed.get(event.object.name);
    if (claim && claim.phase !== 'Pending') continue;
    byClaim.set(event.object.name, [...(byClaim.get(event.object.name) ?? []), event]);
  }
  const fromEvents = [...byClaim.entries()].map(([name, events]): ClaimFailure => {
    // The newest event is the controller's current account; earlier ones may describe a fixed class.
    const newest = [...events].sort(newestEventFirst)[0]!;
    const claim = listed.get(name);
    return {
      name,
      problem: `${CLAIM_FAILURES.get(newest.reason)!}: ${claimCause(newest.message)}`,
      message: cleanText(stripCombined(newest.message), MESSAGE_LIMIT),
      events,
      ...(claim ? { claim } : {}),
      waiting: waitingPods(ns, name),
    };
  });
  // The controller records only a Normal event (FailedBinding, "no storage class is set") for a claim without a class.
  const classless = [...listed.values()]
    .filter((c) => c.phase === 'Pending' && !c.storageClassName && !byClaim.has(c.name))
    .map((claim): ClaimFailure => ({
      name: claim.name,
      problem: NO_CLASS_PROBLEM,
      message: '',
      events: [],
      claim,
      waiting: waitingPods(ns, claim.name),
    }));
  return [...fromEvents, ...classless].sort((a, b) => compareText(a.name, b.name));
}

function blockedBy(message: string): { unbound: boolean; missingClaims: string[] } {
  const text = cleanText(message);
  return {
    unbound: UNBOUND_CLAIM_MESSAGES.some((pattern) => pattern.test(text)),
    missingClaims: [...text.matchAll(CLAIM_NOT_FOUND)].map((m) => m[1]!),
  };
}

/** Pods the scheduler holds back for their claims: the pod's condition when listed, its FailedScheduling events otherwise. */
function blockedPods(ns: NamespaceEvidence): BlockedPod[] {
  const pods: BlockedPod[] = [];
  const listed = new Set(ns.pods.map((pod) => pod.name));
  for (const pod of ns.pods) {
    const message = pod.unscheduled?.message;
    if (message === undefined) continue;
    const blocked = blockedBy(message);
    if (!blocked.unbound && blocked.missingClaims.length === 0) continue;
    const entry: BlockedPod = { name: pod.name, pod, ...blocked, messages: [cleanText(message)] };
    if (pod.replicaSet !== undefined) entry.replicaSet = pod.replicaSet;
    pods.push(entry);
  }
  if (!unlistedPodsMayBeStuck(ns)) return pods;
  const byName = new Map<string, BlockedPod>();
  for (const event of ns.events) {
    if (event.reason !== 'FailedScheduling' || event.object.kind !== 'Pod' || listed.has(event.object.name)) continue;
    const blocked = blockedBy(event.message);
    if (!blocked.unbound && blocked.missingClaims.length === 0) continue;
    const entry = byName.get(event.object.name) ?? { name: event.object.name, unbound: false, missingClaims: [], messages: [] };
    entry.unbound ||= blocked.unbound;
    entry.missingClaims.push(...blocked.missingClaims);
    entry.messages.push(cleanText(event.message));
    byName.set(event.object.name, entry);
  }
  return [...pods, ...byName.values()];
}

function namesPhrase(names: readonly string[]): string {
  const shown = names.slice(0, 2).map((n) => cleanText(n, 253));
  const rest = names.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(' and ');
}

/** `PersistentVolumeClaim a cannot be provisioned: …`, or, for several, their names and the first claim's problem. */
function claimsPhrase(claims: readonly ClaimFailure[]): string {
  if (claims.length === 1) return `PersistentVolumeClaim ${cleanText(claims[0]!.name, 253)} ${claims[0]!.problem}`;
  const problems = [...new Set(claims.map((c) => c.problem))];
  const others = problems.length > 1 ? ` (and ${plural(problems.length - 1, 'other error')})` : '';
  return `PersistentVolumeClaims ${namesPhrase(claims.map((c) => c.name))} ${problems[0]!}${others}`;
}

function describeClaim(claim: PersistentVolumeClaimSummary): string {
  const storageClass =
    claim.storageClassName === undefined
      ? 'no StorageClass named'
      : claim.storageClassName === ''
        ? 'StorageClass "" (none: a PersistentVolume must be provided)'
        : `StorageClass ${cleanText(claim.storageClassName, 253)}`;
  const asks = [claim.requested ? cleanText(claim.requested, 20) : '', claim.accessModes.map((m) => cleanText(m, 20)).join(',')].filter(
    (part) => part !== '',
  );
  const created = claim.createdAt ? `, created ${cleanText(claim.createdAt, 40)}` : '';
  return `PersistentVolumeClaim ${cleanText(claim.name, 253)}: ${cleanText(claim.phase, 20)}, ${storageClass}${asks.length > 0 ? `, requests ${asks.join(' ')}` : ''}${created}`;
}

function claimLines(claims: readonly ClaimFailure[]): string[] {
  return claims.flatMap((claim) => [
    ...(claim.events.length > 0
      ? [
          seenLine(
            `${[...new Set(claim.events.map((e) => cleanText(e.reason, 40)))].sort(compareText).join(', ')} on PersistentVolumeClaim ${cleanText(claim.name, 253)}`,
            claim.events,
          ),
          `persistentvolume-controller: ${claim.message}`,
        ]
      : []),
    ...(claim.claim ? [describeClaim(claim.claim)] : []),
    ...(claim.waiting.length > 0 ? [`pods waiting on it: ${claim.waiting.map((n) => cleanText(n, 253)).join(', ')}`] : []),
  ]);
}

function withClaims(assessment: Assessment, ns: NamespaceEvidence, claims: readonly string[]): Assessment {
  return {
    ...assessment,
    finding: {
      ...assessment.finding,
      objects: [...assessment.finding.objects, ...claims.map((name) => objectRef('PersistentVolumeClaim', ns.namespace, name))],
    },
    // The claims count with the pods: the claim is the object to fix, and this
    // outranks the scheduler's account of the same pods, which counts only them.
    affected: assessment.affected + claims.length,
  };
}

/**
 * The failing claims these pods wait on: the ones their volumes name when the
 * pods' claims are summarised, else (older evidence) every failing claim of
 * the namespace.
 */
function claimsOf(pods: readonly BlockedPod[], failing: readonly ClaimFailure[]): readonly ClaimFailure[] {
  const named = pods.flatMap((p) => p.pod?.claims ?? []);
  if (!pods.every((p) => p.pod?.claims !== undefined)) return failing;
  return failing.filter((c) => named.includes(c.name));
}

function assessBlockedGroup(
  ns: NamespaceEvidence,
  group: WorkloadGroup<BlockedPod>,
  failing: readonly ClaimFailure[],
  incident: IncidentRef,
): Assessment | undefined {
  const { workload, pods } = group;
  const missing = [...new Set(pods.flatMap((p) => p.missingClaims))].sort(compareText);
  // Without a claim's own events the scheduler's message is all there is, and the unschedulable finding already cites it.
  const claims = pods.some((p) => p.unbound) ? claimsOf(pods, failing) : [];
  if (missing.length === 0 && claims.length === 0) return undefined;
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const cause =
    missing.length > 0 ? `PersistentVolumeClaim${missing.length > 1 ? 's' : ''} ${namesPhrase(missing)} not found` : claimsPhrase(claims);
  const messages = [...new Set(pods.flatMap((p) => p.messages))].sort(compareText);
  const evidence = [
    `${plural(pods.length, 'pod')} pending, not scheduled; ${describeWorkloadHealth(workload)}`,
    ...(messages.length > 0
      ? [`scheduler: ${messages[0]}${messages.length > 1 ? ` (and ${plural(messages.length - 1, 'other message')})` : ''}`]
      : []),
    ...(missing.length > 0
      ? [`the pods name PersistentVolumeClaims that do not exist: ${missing.map((n) => cleanText(n, 253)).join(', ')}`]
      : []),
    ...claimLines(claims),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  const assessment = workloadAssessment(ns, group, link, {
    analyzer: VOLUMES_ANALYZER,
    severity: 'critical',
    title: `${subject} pending${titleSuffixFor(link)}: ${cause}`,
    evidence,
  });
  return withClaims(assessment, ns, [...missing, ...claims.map((c) => c.name)]);
}

/** A failing claim no pod the scheduler holds back waits for: the pods may be out of scope, not created, or not yet told. */
function assessClaim(ns: NamespaceEvidence, claim: ClaimFailure): Assessment {
  const waiting = claim.waiting.length > 0 ? `; ${plural(claim.waiting.length, 'pod')} waiting: ${namesPhrase(claim.waiting)}` : '';
  return {
    finding: {
      analyzer: VOLUMES_ANALYZER,
      severity: 'warning',
      surface: 'kubernetes',
      title: cleanText(`PersistentVolumeClaim ${cleanText(claim.name, 253)} ${claim.problem}${waiting}`),
      objects: [objectRef('PersistentVolumeClaim', ns.namespace, claim.name)],
      evidence: claimLines([claim]).map((line) => cleanText(line)),
    },
    affected: 1,
    rolloutCorrelated: false,
  };
}

function splitVolumes(list: string): string[] {
  return list.split(' ').filter((v) => v !== '');
}

/** The volume troubles one event reports; a ConfigMap or Secret that does not exist is the config-refs analyzer's. */
function troublesOf(event: EventSummary): VolumeTrouble[] {
  const text = stripCombined(cleanText(event.message));
  if (event.reason === 'FailedAttachVolume') {
    const multi = MULTI_ATTACH.exec(text);
    if (multi) {
      const users = multi[2] !== undefined ? `used by pod(s) ${cleanText(multi[2], CAUSE_LIMIT)}` : 'exclusively attached to another node';
      return [{ volumes: [multi[1]!], cause: `volume ${cleanText(multi[1], 253)} already ${users} (Multi-Attach error)`, rank: 0, event }];
    }
  }
  if (event.reason !== 'FailedAttachVolume' && event.reason !== 'FailedMount') return [];
  if (missingMountReferences(text)) return [];
  const failed = OPERATION_FAILED.exec(text);
  if (failed) {
    const verb = failed[1]!.startsWith('AttachVolume') ? 'attached' : 'mounted';
    const volume = cleanText(failed[2], 253);
    return [{ volumes: [failed[2]!], cause: `volume ${volume} cannot be ${verb}: ${cleanText(failed[3], CAUSE_LIMIT)}`, rank: 1, event }];
  }
  const unmounted = UNMOUNTED_VOLUMES.exec(text);
  if (unmounted) {
    const tail = TIMEOUT_TAIL.exec(text)?.[1] ?? 'timed out';
    return [{ volumes: splitVolumes(unmounted[1]!), cause: tail, rank: 2, event }];
  }
  return [];
}

/**
 * The troubles of one pod, less the volume manager's timeouts that a more
 * specific error or a missing ConfigMap or Secret already explains: the
 * kubelet reports both for the same volume.
 */
function podTroubles(events: readonly EventSummary[]): VolumeTrouble[] {
  const explained = new Set(events.flatMap((e) => missingMountReferences(e.message)?.volume ?? []));
  const troubles = events.flatMap(troublesOf);
  const specific = troubles.filter((t) => t.rank < 2);
  for (const t of specific) for (const v of t.volumes) explained.add(v);
  const timeouts = troubles.flatMap((t): VolumeTrouble[] => {
    if (t.rank < 2) return [];
    const left = t.volumes.filter((v) => !explained.has(v));
    if (left.length === 0) return [];
    const names = left.map((v) => cleanText(v, 63));
    return [
      {
        ...t,
        volumes: left,
        cause: `volume${left.length > 1 ? 's' : ''} ${namesPhrase(names)} not mounted: ${cleanText(t.cause, CAUSE_LIMIT)}`,
      },
    ];
  });
  return [...specific, ...timeouts];
}

function stuckPods(ns: NamespaceEvidence): StuckPod[] {
  const listed = new Map(ns.pods.map((pod) => [pod.name, pod]));
  const byPod = new Map<string, EventSummary[]>();
  for (const event of ns.events) {
    if (event.type !== 'Warning' || event.object.kind !== 'Pod') continue;
    if (event.reason !== 'FailedMount' && event.reason !== 'FailedAttachVolume') continue;
    byPod.set(event.object.name, [...(byPod.get(event.object.name) ?? []), event]);
  }
  return [...byPod.entries()].flatMap(([name, events]): StuckPod[] => {
    const pod = listed.get(name);
    // A listed pod past Pending has its volumes; the events are history.
    if (pod ? pod.phase !== 'Pending' : !unlistedPodsMayBeStuck(ns)) return [];
    const troubles = podTroubles(events);
    if (troubles.length === 0) return [];
    const stuck: StuckPod = { name, troubles };
    if (pod) stuck.pod = pod;
    if (pod?.replicaSet !== undefined) stuck.replicaSet = pod.replicaSet;
    return [stuck];
  });
}

function assessStuckGroup(ns: NamespaceEvidence, group: WorkloadGroup<StuckPod>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const byCause = new Map<string, { rank: number; pods: Set<string>; events: EventSummary[] }>();
  for (const pod of pods) {
    for (const trouble of pod.troubles) {
      const entry = byCause.get(trouble.cause) ?? { rank: trouble.rank, pods: new Set<string>(), events: [] };
      entry.pods.add(pod.name);
      entry.events.push(trouble.event);
      byCause.set(trouble.cause, entry);
    }
  }
  const causes = [...byCause.entries()].sort(([a, x], [b, y]) => x.rank - y.rank || y.pods.size - x.pods.size || compareText(a, b));
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const more = causes.length > 1 ? ` and ${causes.length - 1} more` : '';
  const events = [...new Set(pods.flatMap((p) => p.troubles.map((t) => t.event)))];
  const reasons = [...new Set(events.map((e) => cleanText(e.reason, 40)))].sort(compareText).join(', ');
  const evidence = [
    `${plural(pods.length, 'pod')} scheduled but cannot start: volumes not ready; ${describeWorkloadHealth(workload)}`,
    ...causes.map(([cause, entry]) => `${cause}: ${plural(entry.pods.size, 'pod')}`),
    seenLine(`${reasons} warning`, events),
    `kubelet: ${cleanText(stripCombined([...events].sort(newestEventFirst)[0]!.message), MESSAGE_LIMIT)}`,
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: VOLUMES_ANALYZER,
    severity: 'critical',
    title: `${subject} cannot start${titleSuffixFor(link)}: ${causes[0]![0]}${more}`,
    evidence,
  });
}

export const assessVolumes: Assessor = (input) =>
  (input.kubernetes?.namespaces ?? []).flatMap((ns) => {
    const failing = claimFailures(ns);
    const blocked = blockedPods(ns);
    const blockedFindings = groupByWorkload(ns, blocked).flatMap((group) => assessBlockedGroup(ns, group, failing, input.incident) ?? []);
    // A claim cited with the pods it holds back is not a finding of its own (without the pods' claims, every failing claim is cited).
    const cited = new Set(blockedFindings.flatMap((a) => a.finding.objects));
    const claimFindings = failing
      .filter((claim) => !cited.has(objectRef('PersistentVolumeClaim', ns.namespace, claim.name)))
      .map((claim) => assessClaim(ns, claim));
    const stuckFindings = groupByWorkload(ns, stuckPods(ns)).map((group) => assessStuckGroup(ns, group, input.incident));
    return [...blockedFindings, ...claimFindings, ...stuckFindings];
  });

export const volumesAnalyzer = asAnalyzer(assessVolumes);
