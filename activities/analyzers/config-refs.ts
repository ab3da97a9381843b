// Pods that cannot start because their spec names a ConfigMap, a Secret or a
// key in one that does not exist: the kubelet refuses to build the container
// (CreateContainerConfigError) or to mount the volume (FailedMount, the pod
// stuck in ContainerCreating). The kubelet's message names the missing object,
// so the finding does too. Only names and keys are ever read: the evidence
// holds no Secret, and nothing here would print a value.
import type { ContainerSummary, EventSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  eventCount,
  isoSeconds,
  parseTime,
  plural,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const CONFIG_REFS_ANALYZER = 'kubernetes.config-refs';

/** Waiting reasons the kubelet sets when it cannot turn the container spec into a container. */
export const CONFIG_WAITING_REASONS: readonly string[] = ['CreateContainerConfigError', 'CreateContainerError'];

const OBJECT_NAME = '[a-z0-9][a-z0-9.-]{0,252}';
const KEY = '[-._a-zA-Z0-9]{1,253}';

/**
 * The kubelet's ConfigMap and Secret managers answer a missing object with
 * apierrors.NewNotFound, whose text is `<resource> "<name>" not found`: the
 * managers spell the resource `configmap` and `secret`, an API read spells it
 * `configmaps` and `secrets`.
 */
const NOT_FOUND = new RegExp(`^(configmaps?|secrets?) "(${OBJECT_NAME})" not found$`, 'i');

/**
 * pkg/kubelet/kubelet_pods.go, for an env or envFrom key the object lacks:
 * fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", key, pod.Namespace, name)
 * and the same with Secret.
 */
const KEY_NOT_FOUND = new RegExp(`^couldn't find key (${KEY}) in (ConfigMap|Secret) [a-z0-9][a-z0-9.-]{0,62}/(${OBJECT_NAME})$`);

/**
 * The configmap and secret volume plugins, for an `items` key the object lacks:
 * "configmap references non-existent config key: %s" and
 * "secret references non-existent secret key: %s". They name no object.
 */
const VOLUME_KEY_NOT_FOUND = new RegExp(`^(configmap|secret) references non-existent (?:config|secret) key: (${KEY})$`);

/**
 * The volume operation executor's GenerateError:
 * `MountVolume.SetUp failed for volume "<volume>" : <error>`. A projected
 * volume aggregates its sources' errors as `[<error>, <error>]`.
 */
const MOUNT_SETUP_FAILED = /^MountVolume\.SetUp failed for volume "([^"]{1,253})" : (.+)$/;

/** The kubelet's Failed event repeats the waiting message after this prefix. */
const ERROR_PREFIX = /^Error: /;

const MESSAGE_LIMIT = 200;
const TITLE_MESSAGE_LIMIT = 120;

type RefKind = 'ConfigMap' | 'Secret';

/** One reason a pod cannot start, as the title states it. */
interface ConfigFailure {
  /** e.g. `ConfigMap app-config not found (volume config-volume)`. */
  cause: string;
  /** The cause names a missing ConfigMap, Secret or key, rather than quoting an unparsed runtime error. */
  reference: boolean;
  /** e.g. `container database`, `volume config-volume`. */
  where: string;
  /** The kubelet's words, cleaned and bounded. */
  message: string;
  event?: EventSummary;
}

/** A pod that cannot start, listed in the evidence or known only from its FailedMount events. */
interface StuckPod {
  name: string;
  replicaSet?: string;
  pod?: PodSummary;
  failures: ConfigFailure[];
}

function refKind(resource: string): RefKind {
  return resource.toLowerCase().startsWith('configmap') ? 'ConfigMap' : 'Secret';
}

/** What one kubelet error says is missing, when it is a ConfigMap, a Secret or a key of one. */
function missingReference(error: string, volume?: string): string | undefined {
  const where = volume !== undefined ? ` (volume ${cleanText(volume, 63)})` : '';
  const notFound = NOT_FOUND.exec(error);
  if (notFound) return `${refKind(notFound[1]!)} ${notFound[2]!} not found${where}`;
  const key = KEY_NOT_FOUND.exec(error);
  if (key) return `key ${key[1]!} missing from ${key[2]!} ${key[3]!}`;
  const volumeKey = VOLUME_KEY_NOT_FOUND.exec(error);
  if (volumeKey) return `key ${volumeKey[2]!} missing from the ${refKind(volumeKey[1]!)}${where}`;
  return undefined;
}

/** An aggregate `[a, b]` holds one error per projected source; anything else is one error. */
function splitAggregate(error: string): string[] {
  return error.startsWith('[') && error.endsWith(']') ? error.slice(1, -1).split(', ') : [error];
}

/**
 * The volume and the missing ConfigMap, Secret or key a kubelet FailedMount
 * message names; undefined for any other mount failure, which belongs to the
 * volumes analyzer. Shared with it, so a mount failure is reported once.
 */
export function missingMountReferences(message: string): { volume: string; causes: string[] } | undefined {
  const match = MOUNT_SETUP_FAILED.exec(stripCombined(cleanText(message)));
  if (!match) return undefined;
  const volume = match[1]!;
  const causes = splitAggregate(match[2]!.trim()).flatMap((error) => missingReference(error.trim(), volume) ?? []);
  return causes.length > 0 ? { volume, causes } : undefined;
}

/** The event correlator prefixes a message it folded similar ones into. */
export function stripCombined(message: string): string {
  return message.replace(/^\(combined from similar events\): /, '');
}

function containerFailure(container: ContainerSummary): ConfigFailure | undefined {
  const reason = container.waiting?.reason;
  if (reason === undefined || !CONFIG_WAITING_REASONS.includes(reason)) return undefined;
  const message = cleanText(container.waiting?.message, MESSAGE_LIMIT);
  const error = message.replace(ERROR_PREFIX, '');
  const where = `${container.init ? 'init container' : 'container'} ${cleanText(container.name, 63)}`;
  const reference = missingReference(error);
  if (reference !== undefined) return { cause: reference, reference: true, where, message };
  const quoted = cleanText(error, TITLE_MESSAGE_LIMIT);
  return { cause: quoted === '' ? reason : `${reason}: ${quoted}`, reference: false, where, message };
}

function isFailedMount(event: EventSummary): boolean {
  return event.type === 'Warning' && event.reason === 'FailedMount' && event.object.kind === 'Pod';
}

function mountFailures(event: EventSummary): ConfigFailure[] {
  const parsed = missingMountReferences(event.message);
  if (!parsed) return [];
  const message = cleanText(stripCombined(event.message), MESSAGE_LIMIT);
  const where = `volume ${cleanText(parsed.volume, 63)}`;
  return parsed.causes.map((cause) => ({ cause, reference: true, where, message, event }));
}

/**
 * Whether a pod named by an event may still exist without being listed. Pods
 * are listed unhealthy first, so once a healthy pod is listed, or nothing was
 * omitted, a missing pod was deleted or is no longer stuck.
 */
export function unlistedPodsMayBeStuck(ns: NamespaceEvidence): boolean {
  return ns.podsOmitted > 0 && ns.pods.every((pod) => pod.quiet === true || !pod.ready);
}

function stuckPods(ns: NamespaceEvidence): StuckPod[] {
  const byName = new Map<string, StuckPod>();
  const entry = (name: string, pod?: PodSummary): StuckPod => {
    const existing = byName.get(name);
    if (existing) return existing;
    const created: StuckPod = { name, failures: [] };
    if (pod) created.pod = pod;
    if (pod?.replicaSet !== undefined) created.replicaSet = pod.replicaSet;
    byName.set(name, created);
    return created;
  };
  for (const pod of ns.pods) {
    const failures = pod.containers.flatMap((c) => containerFailure(c) ?? []);
    if (failures.length > 0) entry(pod.name, pod).failures.push(...failures);
  }
  const listed = new Map(ns.pods.map((pod) => [pod.name, pod]));
  for (const event of ns.events.filter(isFailedMount)) {
    const pod = listed.get(event.object.name);
    // A listed pod past Pending has mounted its volumes since; the event is history.
    const stuck = pod ? pod.phase === 'Pending' : unlistedPodsMayBeStuck(ns);
    const failures = stuck ? mountFailures(event) : [];
    if (failures.length > 0) entry(event.object.name, pod).failures.push(...failures);
  }
  return [...byName.values()];
}

interface CauseSummary {
  cause: string;
  reference: boolean;
  pods: number;
  wheres: string[];
  messages: string[];
}

/** Distinct causes, the one most pods share first; a named missing object before an unparsed runtime error. */
function causesOf(pods: readonly StuckPod[]): CauseSummary[] {
  const byCause = new Map<string, CauseSummary>();
  for (const pod of pods) {
    for (const cause of new Set(pod.failures.map((f) => f.cause))) {
      const ofCause = pod.failures.filter((f) => f.cause === cause);
      const summary = byCause.get(cause) ?? { cause, reference: ofCause[0]!.reference, pods: 0, wheres: [], messages: [] };
      summary.pods += 1;
      summary.wheres.push(...ofCause.map((f) => f.where));
      summary.messages.push(...ofCause.map((f) => f.message).filter((m) => m !== ''));
      byCause.set(cause, summary);
    }
  }
  return [...byCause.values()].sort(
    (a, b) => b.pods - a.pods || Number(b.reference) - Number(a.reference) || compareText(a.cause, b.cause),
  );
}

function causeLines(causes: readonly CauseSummary[]): string[] {
  return causes.flatMap((c) => {
    const wheres = [...new Set(c.wheres)].sort(compareText);
    const messages = [...new Set(c.messages)].sort(compareText);
    return [
      `${c.cause}: ${plural(c.pods, 'pod')} (${wheres.join(', ')})`,
      ...(messages.length > 0 ? [`kubelet: ${messages[0]}${messages.length > 1 ? ` (and ${messages.length - 1} similar)` : ''}`] : []),
    ];
  });
}

function mountEventLine(pods: readonly StuckPod[]): string[] {
  const events = [...new Set(pods.flatMap((p) => p.failures.flatMap((f) => (f.event ? [f.event] : []))))];
  if (events.length === 0) return [];
  const seen = events.reduce((sum, e) => sum + eventCount(e), 0);
  const times = events.flatMap((e) => parseTime(e.lastSeen) ?? []);
  const onPods = pods.filter((p) => p.failures.some((f) => f.event)).length;
  const last = times.length > 0 ? `, last at ${isoSeconds(Math.max(...times))}` : '';
  return [`FailedMount warning seen ${plural(seen, 'time')} on ${plural(onPods, 'pod')}${last}`];
}

function stateOf(pods: readonly StuckPod[]): string {
  const reasons = new Set(
    pods.flatMap((p) => p.pod?.containers.flatMap((c) => (c.waiting && !c.ready ? [cleanText(c.waiting.reason, 40)] : [])) ?? []),
  );
  return reasons.size > 0 ? ` (waiting in ${[...reasons].sort(compareText).join(', ')})` : '';
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<StuckPod>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const causes = causesOf(pods);
  const [top] = causes;
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const more = causes.length > 1 ? ` and ${causes.length - 1} more` : '';
  const evidence = [
    `${plural(pods.length, 'pod')} cannot start${stateOf(pods)}; ${describeWorkloadHealth(workload)}`,
    ...causeLines(causes),
    ...mountEventLine(pods),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: CONFIG_REFS_ANALYZER,
    severity: 'critical',
    title: `${subject} cannot start${titleSuffixFor(link)}: ${top?.cause ?? 'container configuration failing'}${more}`,
    evidence,
  });
}

export const assessConfigRefs: Assessor = assessPerWorkload(stuckPods, assessGroup);

export const configRefsAnalyzer = asAnalyzer(assessConfigRefs);
