// A scenario's Kubernetes objects written into a real kube-apiserver
// (sandbox/kube-apiserver.ts) the way the cluster's own components write
// them: each object created, then its status written through the /status
// subresource with the resourceVersion of the create, as its controller or
// kubelet would; owner references and event subjects carry the uids the
// apiserver gave. Nothing reconciles there, so what is written is what is
// served. What the apiserver then holds is read back as a Scenario, to seed
// the emulator with the same state.
import { randomUUID } from 'node:crypto';
import { asEventsV1, eventsApiCanWrite, type EventsApi } from './events-api.js';
import { resourcePaths, type KubeApiserver, type KubeObject } from './kube-apiserver.js';
import { buildScenario, NODE_EVENTS_NAMESPACE, type Scenario, type ScenarioEvent, type ScenarioNamespace } from './scenario.js';

type Server = Pick<KubeApiserver, 'request'>;
type Paths = ReturnType<typeof resourcePaths>;
type ObjectKey = Exclude<keyof ScenarioNamespace, 'logs'>;

/** The namespaced kinds a scenario holds, owners before what they own, events last (their subjects exist by then). */
export const NAMESPACED: readonly { key: ObjectKey; apiVersion: string; kind: string }[] = [
  { key: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment' },
  { key: 'cronJobs', apiVersion: 'batch/v1', kind: 'CronJob' },
  { key: 'statefulSets', apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { key: 'daemonSets', apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { key: 'replicaSets', apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  { key: 'jobs', apiVersion: 'batch/v1', kind: 'Job' },
  { key: 'controllerRevisions', apiVersion: 'apps/v1', kind: 'ControllerRevision' },
  { key: 'persistentVolumeClaims', apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { key: 'pods', apiVersion: 'v1', kind: 'Pod' },
  { key: 'services', apiVersion: 'v1', kind: 'Service' },
  { key: 'endpoints', apiVersion: 'v1', kind: 'Endpoints' },
  { key: 'networkPolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { key: 'horizontalPodAutoscalers', apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { key: 'events', apiVersion: 'v1', kind: 'Event' },
];

export interface SeedOptions {
  /**
   * The apiserver's name for a scenario namespace, asked once for each (default: the same). Two
   * scenarios may share a namespace name, and a namespace is never deleted
   * without the controller-manager, so one apiserver serves many scenarios
   * under distinct names. Node events stay in `default`: the apiserver
   * accepts an event about a cluster-scoped object nowhere else (but kube-system).
   */
  namespace?: (scenarioNamespace: string) => string;
  /**
   * Which API writes each event (see eventsApiCanWrite). Default: as its
   * recorder did, events.k8s.io/v1 for an event with an `eventTime` (the
   * scheduler's), core/v1 for the others (the kubelet's, the controllers').
   */
  eventsApi?: (event: ScenarioEvent, index: number) => EventsApi;
}

export interface SeededScenario {
  /** The scenario with its Kubernetes part as the apiserver holds it, read back under the apiserver's namespace names. */
  scenario: Scenario;
  /**
   * The same, but each event written through events.k8s.io/v1 as core/v1
   * would have stored it instead: the apiserver's answer to a server-side
   * dry run of that create, made just before the real write.
   */
  asWrittenThroughCoreV1: Scenario;
  /** Scenario namespace → the apiserver's. */
  namespaces: ReadonlyMap<string, string>;
  /** The events written through events.k8s.io/v1, as `namespace/name`. */
  viaEventsApi: string[];
  /** Deletes what other scenarios on this apiserver would see: the PriorityClasses, Nodes and node events it wrote. */
  removeShared(): Promise<void>;
}

const nameOf = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** The answer's body if it is `expected`, else an error naming the object and the apiserver's reason. */
function accepted(answer: { status: number; body: unknown }, expected: number, what: string): KubeObject {
  if (answer.status !== expected) {
    const message = (answer.body as { message?: unknown } | null)?.message;
    throw new Error(`${what}: HTTP ${answer.status} ${typeof message === 'string' ? message : JSON.stringify(answer.body)}`);
  }
  return answer.body as KubeObject;
}

/** Uids the apiserver gave, by `kind/name` in one namespace (or among cluster-scoped objects). */
class Uids {
  private readonly byKey = new Map<string, string>();
  set(kind: string, name: string, uid: string): void {
    this.byKey.set(`${kind}/${name}`, uid);
  }
  get(kind: string, name: string): string | undefined {
    return this.byKey.get(`${kind}/${name}`);
  }
}

/** POST the object, then PUT its status through /status with the resourceVersion the create returned. */
async function createWithStatus(server: Server, paths: Paths, obj: KubeObject): Promise<KubeObject> {
  const { status, ...spec } = obj;
  const collection = await paths.collection(obj);
  const created = accepted(await server.request('POST', collection, spec), 201, `create ${nameOf(obj)}`);
  if (status === undefined) return created;
  const path = `${collection}/${obj.metadata.name}/status`;
  return accepted(await server.request('PUT', path, { ...created, status }), 200, `status of ${nameOf(obj)}`);
}

/** A controller names its owner by uid; an owner the scenario does not list gets one, as the apiserver requires. */
function withOwnerUids(metadata: KubeObject['metadata'], uids: Uids): KubeObject['metadata'] {
  const refs = metadata.ownerReferences as { kind: string; name: string; uid?: string }[] | undefined;
  if (!refs) return metadata;
  return { ...metadata, ownerReferences: refs.map((ref) => ({ ...ref, uid: uids.get(ref.kind, ref.name) ?? ref.uid ?? randomUUID() })) };
}

/** The scenario's object as the API takes it: in its apiserver namespace, server-owned metadata left to the server. */
function apiObject(raw: object, type: { apiVersion: string; kind: string }, namespace: string | undefined, uids: Uids): KubeObject {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = structuredClone(raw) as KubeObject;
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, ...meta } = metadata;
  return {
    apiVersion: type.apiVersion,
    kind: type.kind,
    metadata: withOwnerUids({ ...meta, ...(namespace !== undefined ? { namespace } : {}) }, uids),
    ...rest,
  };
}

/** The labels by which a Job selects its pods, made from its uid: the apiserver's to set, unless the selector is manual. */
const JOB_UID_LABELS = ['batch.kubernetes.io/controller-uid', 'controller-uid'];

type JobSpec = { manualSelector?: boolean; selector?: unknown; template?: { metadata?: { labels?: Record<string, string> } } };

/** A Job as a client writes it: without the selector and template labels the apiserver generates (and refuses from a client). */
function withoutGeneratedSelector(job: KubeObject): KubeObject {
  const { selector: _s, ...spec } = job.spec as JobSpec;
  if ((job.spec as JobSpec).manualSelector) return job;
  const labels = Object.entries(spec.template?.metadata?.labels ?? {}).filter(([key]) => !JOB_UID_LABELS.includes(key));
  return {
    ...job,
    spec: { ...spec, template: { ...spec.template, metadata: { ...spec.template?.metadata, labels: Object.fromEntries(labels) } } },
  };
}

/** A Job's pods carry its uid in those labels, as the job controller makes them. */
function withJobUidLabels(pod: KubeObject, uids: Uids): KubeObject {
  const job = (pod.metadata.ownerReferences as { kind: string; name: string }[] | undefined)?.find((ref) => ref.kind === 'Job');
  const uid = job && uids.get('Job', job.name);
  const labels = pod.metadata.labels as Record<string, string> | undefined;
  if (!uid || !labels) return pod;
  const relabelled = Object.fromEntries(Object.entries(labels).map(([key, value]) => [key, JOB_UID_LABELS.includes(key) ? uid : value]));
  return { ...pod, metadata: { ...pod.metadata, labels: relabelled } };
}

/** What a namespaced object's writer sends for it. */
function asWritten(obj: KubeObject, uids: Uids): KubeObject {
  if (obj.kind === 'Job') return withoutGeneratedSelector(obj);
  if (obj.kind === 'Pod') return withJobUidLabels(obj, uids);
  return obj;
}

/** A core/v1 event's subject, under its apiserver namespace and with the uid its object was given. */
function withSubject(event: KubeObject, namespaces: ReadonlyMap<string, string>, uids: Uids, nodeUids: Uids): KubeObject {
  const subject = event.involvedObject as { kind: string; name: string; namespace?: string; uid?: string };
  const namespace = subject.namespace ? (namespaces.get(subject.namespace) ?? subject.namespace) : undefined;
  const uid =
    subject.kind === 'Node'
      ? nodeUids.get('Node', subject.name)
      : namespace === event.metadata.namespace
        ? uids.get(subject.kind, subject.name)
        : undefined;
  return { ...event, involvedObject: { ...subject, ...(namespace ? { namespace } : {}), ...(uid ? { uid } : {}) } };
}

/** Writes a core/v1 event through `api`; for events.k8s.io/v1, returns what core/v1 would have stored instead. */
async function writeEvent(server: Server, paths: Paths, event: KubeObject, api: EventsApi): Promise<KubeObject | undefined> {
  const collection = await paths.collection(event);
  if (api === 'v1') {
    accepted(await server.request('POST', collection, event), 201, `create ${nameOf(event)}`);
    return undefined;
  }
  if (!eventsApiCanWrite(event)) throw new Error(`${nameOf(event)}: events.k8s.io/v1 needs a reporting controller, instance and time`);
  // Before the write: a dry run of a name that exists is refused.
  const asCoreV1 = accepted(await server.request('POST', `${collection}?dryRun=All`, event), 201, `dry run of ${nameOf(event)}`);
  const v1 = asEventsV1(event);
  accepted(await server.request('POST', await paths.collection(v1), v1), 201, `create ${nameOf(v1)} through events.k8s.io/v1`);
  return asCoreV1;
}

async function createNamespace(server: Server, name: string): Promise<void> {
  const answer = await server.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // `default` always exists; so may a namespace an earlier seed made.
  if (answer.status !== 409) accepted(answer, 201, `create Namespace ${name}`);
}

/** Every object of the scenario's kinds in `namespace`, as a list there returns them. */
async function readNamespace(server: Server, paths: Paths, namespace: string): Promise<Record<ObjectKey, unknown[]>> {
  const read = await Promise.all(
    NAMESPACED.map(async (type) => {
      const collection = await paths.collection({ ...type, metadata: { namespace } });
      const list = accepted(await server.request('GET', collection), 200, `list ${type.kind} in ${namespace}`);
      return [type.key, list.items as unknown[]] as const;
    }),
  );
  return Object.fromEntries(read) as Record<ObjectKey, unknown[]>;
}

/** `${` in a string read back is literal: escaped so that buildScenario does not take it for a time template. */
function escapeTemplates(value: unknown): unknown {
  // A function, not '$${': in a replacement string `$$` stands for one `$`.
  if (typeof value === 'string') return value.replaceAll('${', () => '$${');
  if (Array.isArray(value)) return value.map(escapeTemplates);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeTemplates(v)]));
  return value;
}

/** What writeScenario has written so far. */
interface Written {
  namespaces: Map<string, string>;
  /** By `namespace/name`: what core/v1 would have stored for each event written through events.k8s.io/v1. */
  asCoreV1: Map<string, KubeObject>;
  /** Paths of the objects other scenarios on this apiserver would see. */
  shared: string[];
}

async function removeAll(server: Server, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const answer = await server.request('DELETE', path);
    if (answer.status !== 404) accepted(answer, 200, `delete ${path}`);
  }
}

/** Writes the scenario's PriorityClasses and Nodes, then each namespace's objects, then its node events. */
async function writeScenario(server: Server, paths: Paths, scenario: Scenario, opts: SeedOptions, written: Written): Promise<void> {
  const rename = opts.namespace ?? ((ns: string) => ns);
  const eventsApi = opts.eventsApi ?? ((e: ScenarioEvent): EventsApi => (e.eventTime ? 'events.k8s.io/v1' : 'v1'));
  for (const ns of Object.keys(scenario.kubernetes.namespaces)) written.namespaces.set(ns, rename(ns));
  let eventIndex = 0;
  const writeEvents = async (events: readonly ScenarioEvent[], namespace: string, uids: Uids, nodeUids: Uids) => {
    for (const raw of events) {
      const event = withSubject(apiObject(raw, { apiVersion: 'v1', kind: 'Event' }, namespace, uids), written.namespaces, uids, nodeUids);
      const asCoreV1 = await writeEvent(server, paths, event, eventsApi(raw, eventIndex++));
      const path = `${await paths.collection(event)}/${event.metadata.name}`;
      if (asCoreV1) written.asCoreV1.set(`${namespace}/${event.metadata.name}`, asCoreV1);
      if (namespace === NODE_EVENTS_NAMESPACE && (event.involvedObject as { kind?: string }).kind === 'Node') written.shared.push(path);
    }
  };

  for (const priorityClass of scenario.kubernetes.priorityClasses) {
    const type = { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' };
    const created = await createWithStatus(server, paths, apiObject(priorityClass, type, undefined, new Uids()));
    written.shared.push(`${await paths.collection(created)}/${created.metadata.name}`);
  }
  const nodeUids = new Uids();
  for (const node of scenario.kubernetes.nodes) {
    const created = await createWithStatus(server, paths, apiObject(node, { apiVersion: 'v1', kind: 'Node' }, undefined, nodeUids));
    nodeUids.set('Node', created.metadata.name!, created.metadata.uid as string);
    written.shared.push(`${await paths.collection(created)}/${created.metadata.name}`);
  }
  for (const [ns, content] of Object.entries(scenario.kubernetes.namespaces)) {
    const namespace = written.namespaces.get(ns)!;
    await createNamespace(server, namespace);
    const uids = new Uids();
    for (const type of NAMESPACED.filter((t) => t.key !== 'events')) {
      for (const raw of content[type.key]) {
        const created = await createWithStatus(server, paths, asWritten(apiObject(raw, type, namespace, uids), uids));
        uids.set(type.kind, created.metadata.name!, created.metadata.uid as string);
      }
    }
    await writeEvents(content.events, namespace, uids, nodeUids);
  }
  await writeEvents(scenario.kubernetes.nodeEvents, NODE_EVENTS_NAMESPACE, new Uids(), nodeUids);
}

/**
 * The scenario as the apiserver holds it: every object of the namespaces the
 * triage reads (the scenario's, and `default` for the node events), and its
 * own Nodes and PriorityClasses (others', on a shared apiserver, are theirs),
 * as lists and reads return them; its logs and everything outside Kubernetes as given.
 * `replace` swaps events (by `namespace/name`) for other objects.
 */
async function readBack(
  server: Server,
  paths: Paths,
  scenario: Scenario,
  written: Written,
): Promise<(replace?: ReadonlyMap<string, KubeObject>) => Scenario> {
  const read = [...new Set([...written.namespaces.values(), NODE_EVENTS_NAMESPACE])];
  const contents = await Promise.all(read.map((ns) => readNamespace(server, paths, ns)));
  const readOwn = (objects: readonly { metadata: { name: string } }[], type: { apiVersion: string; kind: string }) =>
    Promise.all(
      objects.map(async ({ metadata: { name } }) => {
        const path = `${await paths.collection({ ...type, metadata: {} })}/${name}`;
        return accepted(await server.request('GET', path), 200, `read ${type.kind} ${name}`);
      }),
    );
  const nodes = await readOwn(scenario.kubernetes.nodes, { apiVersion: 'v1', kind: 'Node' });
  const priorityClasses = await readOwn(scenario.kubernetes.priorityClasses, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' });
  const logsOf = new Map([...written.namespaces].map(([ns, mapped]) => [mapped, scenario.kubernetes.namespaces[ns]!.logs]));
  return (replace = new Map()) => {
    const namespace = (ns: string, content: Record<ObjectKey, unknown[]>) => ({
      ...content,
      events: content.events.map((e) => replace.get(`${ns}/${(e as KubeObject).metadata.name}`) ?? e),
      logs: logsOf.get(ns) ?? [],
    });
    const input = escapeTemplates({
      ...scenario,
      kubernetes: {
        namespaces: Object.fromEntries(read.map((ns, i) => [ns, namespace(ns, contents[i]!)])),
        nodes,
        priorityClasses,
        nodeEvents: [],
      },
    });
    return buildScenario(input, { source: `${scenario.name} as the apiserver holds it` });
  };
}

/**
 * Writes the scenario into the apiserver (see writeScenario) and reads back
 * what it then holds.
 */
export async function seedScenario(server: Server, scenario: Scenario, opts: SeedOptions = {}): Promise<SeededScenario> {
  const paths = resourcePaths(server);
  const written: Written = { namespaces: new Map(), asCoreV1: new Map(), shared: [] };
  try {
    await writeScenario(server, paths, scenario, opts, written);
    const asHeld = await readBack(server, paths, scenario, written);
    return {
      scenario: asHeld(),
      asWrittenThroughCoreV1: asHeld(written.asCoreV1),
      namespaces: written.namespaces,
      viaEventsApi: [...written.asCoreV1.keys()],
      removeShared: () => removeAll(server, written.shared),
    };
  } catch (err) {
    // A half-written scenario must not leave its Nodes and node events to the next one.
    await removeAll(server, written.shared);
    throw err;
  }
}
