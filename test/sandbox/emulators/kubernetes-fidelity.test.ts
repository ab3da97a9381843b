// The Kubernetes emulator against the Kubernetes OpenAPI v2 description
// (test/specs/kubernetes-swagger.json): the list and read routes it serves
// must answer what the matching swagger operation documents (PodList, EventList
// of core/v1, DeploymentList, ReplicaSetList, StatefulSetList, DaemonSetList
// and ControllerRevisionList of apps/v1, JobList and CronJobList of batch/v1,
// HorizontalPodAutoscalerList of autoscaling/v2, PersistentVolumeClaimList of
// core/v1 and the others below, and their items),
// every error must be a meta/v1 Status, and the query parameters it reads must
// be ones the operations list.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScenario, NODE_EVENTS_NAMESPACE, type Scenario } from '../../../sandbox/scenario.js';
import { startKubernetesEmulator, type KubernetesEmulator, type PolicyRule } from '../../../sandbox/emulators/kubernetes.js';
import { viewAndNodeReaderRules } from '../../../sandbox/node-reader.js';
import { batchScenario } from '../batch-scenario.js';
import { nodesScenario } from '../nodes-scenario.js';
import { autoscalingStorageScenario } from '../autoscaling-storage-scenario.js';
import { statefulScenario } from '../stateful-scenario.js';
import { generatedScenario } from '../generated-scenario.js';
import {
  ApiDescription,
  pointerOf,
  toJsonSchema,
  type JsonObject,
  type Operation,
  type Parameter,
  type SchemaPatch,
} from './openapi-schemas.js';
import { apiserverRequest } from './kubernetes-client.js';

const SPEC_FILE = fileURLToPath(new URL('../../specs/kubernetes-swagger.json', import.meta.url));
const SCENARIO_DIR = fileURLToPath(new URL('../../../sandbox/scenarios/', import.meta.url));
const EVAL_CASE_DIR = fileURLToPath(new URL('../../../eval/cases/', import.meta.url));
const TOKEN = 'k8s-fidelity-token-0123456789';
const NOW = Date.parse('2025-03-01T12:00:00Z');

/** The serialization grammar the Quantity description spells out (plus n and u, which the apiserver also writes). */
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;
const QUANTITY_DEFINITION = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/**
 * Where the swagger's schema refuses what the apiserver sends. A zero metav1.Time
 * (or MicroTime) marshals as JSON null, which is how a real cluster answers
 * `lastProbeTime`, an Event's `eventTime` and a pod template's `creationTimestamp`;
 * the generated schema only knows the string form.
 */
const SPEC_ERRATA: SchemaPatch[] = ['io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'].map(
  (name) => ({
    pointer: pointerOf('definitions', name),
    merge: { nullable: true },
    why: 'the zero time marshals as null',
  }),
);

/** Where the swagger's schema says less than its own prose, the tests ask for what the prose says. */
const STRICTER_THAN_SPEC: SchemaPatch[] = [
  {
    pointer: pointerOf('definitions', QUANTITY_DEFINITION),
    merge: { format: 'quantity' },
    why: 'the schema says only `type: string`; its description gives the serialization grammar',
  },
];

interface Resource {
  plural: string;
  scenarioKey:
    | 'pods'
    | 'events'
    | 'deployments'
    | 'replicaSets'
    | 'services'
    | 'endpoints'
    | 'networkPolicies'
    | 'jobs'
    | 'cronJobs'
    | 'horizontalPodAutoscalers'
    | 'persistentVolumeClaims'
    | 'statefulSets'
    | 'daemonSets'
    | 'controllerRevisions';
  /** The list route the emulator serves, as the swagger spells it. */
  template: string;
  /** What the swagger's list operation answers (asserted below, not assumed). */
  listDefinition: string;
}

const RESOURCES: Resource[] = [
  { plural: 'pods', scenarioKey: 'pods', template: '/api/v1/namespaces/{namespace}/pods', listDefinition: 'io.k8s.api.core.v1.PodList' },
  {
    plural: 'events',
    scenarioKey: 'events',
    template: '/api/v1/namespaces/{namespace}/events',
    listDefinition: 'io.k8s.api.core.v1.EventList',
  },
  {
    plural: 'deployments',
    scenarioKey: 'deployments',
    template: '/apis/apps/v1/namespaces/{namespace}/deployments',
    listDefinition: 'io.k8s.api.apps.v1.DeploymentList',
  },
  {
    plural: 'replicasets',
    scenarioKey: 'replicaSets',
    template: '/apis/apps/v1/namespaces/{namespace}/replicasets',
    listDefinition: 'io.k8s.api.apps.v1.ReplicaSetList',
  },
  {
    plural: 'services',
    scenarioKey: 'services',
    template: '/api/v1/namespaces/{namespace}/services',
    listDefinition: 'io.k8s.api.core.v1.ServiceList',
  },
  {
    plural: 'endpoints',
    scenarioKey: 'endpoints',
    template: '/api/v1/namespaces/{namespace}/endpoints',
    listDefinition: 'io.k8s.api.core.v1.EndpointsList',
  },
  {
    plural: 'networkpolicies',
    scenarioKey: 'networkPolicies',
    template: '/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies',
    listDefinition: 'io.k8s.api.networking.v1.NetworkPolicyList',
  },
  {
    plural: 'jobs',
    scenarioKey: 'jobs',
    template: '/apis/batch/v1/namespaces/{namespace}/jobs',
    listDefinition: 'io.k8s.api.batch.v1.JobList',
  },
  {
    plural: 'cronjobs',
    scenarioKey: 'cronJobs',
    template: '/apis/batch/v1/namespaces/{namespace}/cronjobs',
    listDefinition: 'io.k8s.api.batch.v1.CronJobList',
  },
  {
    plural: 'horizontalpodautoscalers',
    scenarioKey: 'horizontalPodAutoscalers',
    template: '/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers',
    listDefinition: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerList',
  },
  {
    plural: 'persistentvolumeclaims',
    scenarioKey: 'persistentVolumeClaims',
    template: '/api/v1/namespaces/{namespace}/persistentvolumeclaims',
    listDefinition: 'io.k8s.api.core.v1.PersistentVolumeClaimList',
  },
  {
    plural: 'statefulsets',
    scenarioKey: 'statefulSets',
    template: '/apis/apps/v1/namespaces/{namespace}/statefulsets',
    listDefinition: 'io.k8s.api.apps.v1.StatefulSetList',
  },
  {
    plural: 'daemonsets',
    scenarioKey: 'daemonSets',
    template: '/apis/apps/v1/namespaces/{namespace}/daemonsets',
    listDefinition: 'io.k8s.api.apps.v1.DaemonSetList',
  },
  {
    plural: 'controllerrevisions',
    scenarioKey: 'controllerRevisions',
    template: '/apis/apps/v1/namespaces/{namespace}/controllerrevisions',
    listDefinition: 'io.k8s.api.apps.v1.ControllerRevisionList',
  },
];

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

interface Routes {
  list: Operation;
  read: Operation;
  listDefinition: string;
  itemDefinition: string;
}

let spec: ApiDescription;
const routes = new Map<string, Routes>();
/** The Status definition, found as what deletecollection answers. */
let statusPointer: string;
let statusDefinition: string;

function definitionName(ref: unknown): string {
  const m = /^#\/definitions\/(.+)$/.exec(String(ref));
  if (!m) throw new Error(`expected a #/definitions/ ref, got ${String(ref)}`);
  return m[1]!;
}

function definition(name: string): JsonObject {
  return (spec.raw.definitions as Record<string, JsonObject>)[name]!;
}

/** `x-kubernetes-group-version-kind` of a definition, as apiVersion and kind on the wire. */
function wireKind(name: string): { apiVersion: string; kind: string } {
  const gvks = definition(name)['x-kubernetes-group-version-kind'] as unknown as GroupVersionKind[];
  if (!gvks || gvks.length !== 1) throw new Error(`${name} has no single x-kubernetes-group-version-kind`);
  const { group, version, kind } = gvks[0]!;
  return { apiVersion: group ? `${group}/${version}` : version, kind };
}

/** The definition a response schema names (`$ref: #/definitions/…`). */
function responseDefinition(op: Operation, status: number): string {
  return definitionName(spec.node(`${spec.responseSchemaPointer(op, status)}/$ref`));
}

beforeAll(() => {
  spec = ApiDescription.load(SPEC_FILE, { formats: { quantity: QUANTITY }, patches: [...SPEC_ERRATA, ...STRICTER_THAN_SPEC] });
  for (const r of RESOURCES) {
    const path = r.template.replace('{namespace}', 'ns');
    const list = spec.operation('GET', path)!;
    const read = spec.operation('GET', `${path}/name`)!;
    const listDefinition = responseDefinition(list, 200);
    const itemDefinition = definitionName(spec.node(pointerOf('definitions', listDefinition, 'properties', 'items', 'items', '$ref')));
    routes.set(r.plural, { list, read, listDefinition, itemDefinition });
  }
  const deleteCollection = spec.operation('DELETE', '/api/v1/namespaces/ns/pods')!;
  statusPointer = spec.responseSchemaPointer(deleteCollection, 200)!;
  statusDefinition = responseDefinition(deleteCollection, 200);
});

function route(plural: string): Routes {
  return routes.get(plural)!;
}

function get(k8s: KubernetesEmulator, path: string, init: { token?: string | null; method?: string; accept?: string } = {}) {
  return apiserverRequest(k8s.url, path, { ...init, token: init.token === undefined ? TOKEN : init.token });
}

/** Everything wrong with a body the apiserver would send for kind `definition`, its schema and its x-kubernetes-group-version-kind. */
function kindErrors(body: Record<string, any> | undefined, name: string): string[] {
  const { apiVersion, kind } = wireKind(name);
  return body?.apiVersion === apiVersion && body?.kind === kind
    ? []
    : [`${name} is ${apiVersion} ${kind} on the wire, got ${body?.apiVersion} ${body?.kind}`];
}

/**
 * A list item carries no kind or apiVersion: the apiserver names them once, in
 * the list's own (the swagger's x-kubernetes-group-version-kind is the kind of
 * the object read alone). A real kube-apiserver answers so; see
 * test/activities/kubernetes-apiserver.test.ts.
 */
function itemKindErrors(item: Record<string, any>): string[] {
  return item.kind === undefined && item.apiVersion === undefined
    ? []
    : [`a list item has no kind or apiVersion on the wire, got ${item.apiVersion} ${item.kind}`];
}

/** An object read by name as a list holds it. */
function asListItem({ kind: _k, apiVersion: _a, ...item }: Record<string, any>): Record<string, any> {
  return item;
}

function statusErrors(httpStatus: number, body: Record<string, any> | undefined): string[] {
  const problems = [...spec.schemaErrors(statusPointer, body), ...kindErrors(body, statusDefinition)];
  if (body?.code !== httpStatus) problems.push(`Status.code ${body?.code} is not the HTTP status ${httpStatus}`);
  if (body?.status !== 'Failure') problems.push(`an error Status has status "Failure", got ${body?.status}`);
  return problems;
}

// ---- the swagger's routes -----------------------------------------------------

test('the emulator’s list routes are the swagger’s list operations for PodList, EventList, ServiceList, EndpointsList (core/v1), DeploymentList, ReplicaSetList (apps/v1), NetworkPolicyList (networking.k8s.io/v1), JobList and CronJobList (batch/v1), HorizontalPodAutoscalerList (autoscaling/v2), PersistentVolumeClaimList (core/v1), StatefulSetList, DaemonSetList and ControllerRevisionList (apps/v1)', () => {
  for (const r of RESOURCES) {
    const { list, read, listDefinition, itemDefinition } = route(r.plural);
    expect([r.plural, list.raw['x-kubernetes-action'], read.raw['x-kubernetes-action']]).toEqual([r.plural, 'list', 'get']);
    expect(listDefinition).toBe(r.listDefinition);
    expect(responseDefinition(read, 200)).toBe(itemDefinition);
  }
  expect(RESOURCES.map((r) => route(r.plural).itemDefinition)).toEqual([
    'io.k8s.api.core.v1.Pod',
    'io.k8s.api.core.v1.Event',
    'io.k8s.api.apps.v1.Deployment',
    'io.k8s.api.apps.v1.ReplicaSet',
    'io.k8s.api.core.v1.Service',
    'io.k8s.api.core.v1.Endpoints',
    'io.k8s.api.networking.v1.NetworkPolicy',
    'io.k8s.api.batch.v1.Job',
    'io.k8s.api.batch.v1.CronJob',
    'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
    'io.k8s.api.core.v1.PersistentVolumeClaim',
    'io.k8s.api.apps.v1.StatefulSet',
    'io.k8s.api.apps.v1.DaemonSet',
    'io.k8s.api.apps.v1.ControllerRevision',
  ]);
  expect([statusDefinition, wireKind(statusDefinition)]).toEqual([
    'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
    { apiVersion: 'v1', kind: 'Status' },
  ]);
});

// ---- scenarios ------------------------------------------------------------------

/** Eval cases whose fixtures show the cluster's Nodes (`kubectl get nodes`), which list them. */
const NODE_EVAL_CASES: string[] = ['holmes-ask-13b-pending-node-selector-detailed.yaml'];

const SCENARIOS: [string, () => Promise<Scenario>][] = [
  ...readdirSync(SCENARIO_DIR)
    // `<name>.expected.yaml` holds a scenario's expected findings, not a scenario.
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
    .sort()
    .map((f): [string, () => Promise<Scenario>] => [f, () => loadScenario(`${SCENARIO_DIR}${f}`, { now: NOW })]),
  // Eval cases holding the kinds no shipped scenario lists: Services, Endpoints (one empty), NetworkPolicies, a Job, an HPA and a PVC.
  ...[
    'holmes-ask-84-network-policy-blocking-traffic.yaml',
    'holmes-ask-76-service-discovery-issue.yaml',
    'holmes-inv-07-job-syntax-error.yaml',
    'holmes-ask-85-hpa-not-scaling.yaml',
    'holmes-ask-24-misconfigured-pvc.yaml',
  ].map((f): [string, () => Promise<Scenario>] => [`eval ${f}`, () => loadScenario(`${EVAL_CASE_DIR}${f}`, { now: NOW })]),
  // CronJobs and Jobs in each state (failed, running, complete), owned by the CronJob.
  ['Jobs and CronJobs (built in code)', async () => batchScenario(NOW)],
  // HPAs at their maximum, unable to compute metrics and idle at min == max; a claim Pending on a missing class, one Bound.
  ['HorizontalPodAutoscalers and PersistentVolumeClaims (built in code)', async () => autoscalingStorageScenario(NOW)],
  // A StatefulSet mid-rollout, a DaemonSet at rest, and their ControllerRevisions (`data` a RawExtension object).
  ['StatefulSets, DaemonSets and ControllerRevisions (built in code)', async () => statefulScenario(NOW)],
  [
    'generated (1,500 + 5 pods, 400 + 3 warning events)',
    async () =>
      generatedScenario(
        {
          bulk: { pods: 1500, failing: 12, restarted: 30, warningEvents: 400, messageChars: 200 },
          small: { pods: 5, failing: 1, warningEvents: 3 },
        },
        NOW,
      ),
  ],
];

test('the scenario files are found', () => {
  expect(SCENARIOS.filter(([name]) => name.endsWith('.yaml')).length).toBeGreaterThan(0);
});

/** The namespaces the emulator serves: the scenario's, and `default` when it has Node events to hold. */
function servedNamespaces(scenario: Scenario): string[] {
  const listed = Object.keys(scenario.kubernetes.namespaces);
  return scenario.kubernetes.nodeEvents.length > 0 && !listed.includes(NODE_EVENTS_NAMESPACE) ? [...listed, NODE_EVENTS_NAMESPACE] : listed;
}

/** What the emulator serves of one resource in one namespace: the scenario's objects, plus its Node events among `default`'s events. */
function served(scenario: Scenario, ns: string, key: Resource['scenarioKey']): readonly unknown[] {
  const own = scenario.kubernetes.namespaces[ns]?.[key] ?? [];
  return key === 'events' && ns === NODE_EVENTS_NAMESPACE ? [...own, ...scenario.kubernetes.nodeEvents] : own;
}

/** Up to `n` objects spread through a list: first, last and evenly between. */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}

describe.each(SCENARIOS)('%s: bodies match the swagger', (_name, load) => {
  let scenario: Scenario;
  let k8s: KubernetesEmulator;
  let namespaces: string[];
  beforeAll(async () => {
    scenario = await load();
    k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
    namespaces = servedNamespaces(scenario);
  });
  afterAll(() => k8s?.close());

  describe.each(RESOURCES)('$plural', (r) => {
    const listPath = (ns: string) => r.template.replace('{namespace}', ns);

    test('the list in every namespace answers the list operation’s 200 schema, its kind as the swagger names it', async () => {
      expect(namespaces.length).toBeGreaterThan(0);
      const { list, listDefinition } = route(r.plural);
      for (const ns of namespaces) {
        const { status, body } = await get(k8s, listPath(ns));
        expect(status).toBe(200);
        expect(spec.responseErrors(list, 200, body)).toEqual([]);
        expect(kindErrors(body, listDefinition)).toEqual([]);
        expect(body!.items.flatMap(itemKindErrors)).toEqual([]);
        expect(body!.items).toHaveLength(served(scenario, ns, r.scenarioKey).length);
      }
    });

    test('chunked with limit and continue, every chunk answers the same schema and the chunks add up', async () => {
      const { list } = route(r.plural);
      for (const ns of namespaces) {
        const total = served(scenario, ns, r.scenarioKey).length;
        const limit = Math.max(1, Math.ceil(total / 3));
        const seen: string[] = [];
        let cont: string | undefined;
        do {
          const query = new URLSearchParams({ limit: String(limit), ...(cont ? { continue: cont } : {}) });
          expect(spec.queryErrors(list, query)).toEqual([]);
          const { status, body } = await get(k8s, `${listPath(ns)}?${query}`);
          expect(status).toBe(200);
          expect(spec.responseErrors(list, 200, body)).toEqual([]);
          seen.push(...body!.items.map((i: { metadata: { name: string } }) => i.metadata.name));
          cont = body!.metadata.continue;
        } while (cont);
        expect(seen).toHaveLength(total);
      }
    });

    test('reading one object by name answers the read operation’s 200 schema, and is the list’s item', async () => {
      const { read, itemDefinition } = route(r.plural);
      for (const ns of namespaces) {
        const listed = (await get(k8s, listPath(ns))).body!.items as Record<string, any>[];
        for (const item of spread(listed, 12)) {
          const { status, body } = await get(k8s, `${listPath(ns)}/${encodeURIComponent(item.metadata.name)}`);
          expect(status).toBe(200);
          expect(spec.responseErrors(read, 200, body)).toEqual([]);
          expect(kindErrors(body, itemDefinition)).toEqual([]);
          expect(asListItem(body!)).toEqual(item);
        }
      }
    });

    test('a missing object is a 404 Status', async () => {
      const { status, body } = await get(k8s, `${listPath(namespaces[0]!)}/no-such-object`);
      expect(status).toBe(404);
      expect(statusErrors(404, body)).toEqual([]);
      expect(body).toMatchObject({ reason: 'NotFound', details: { name: 'no-such-object', kind: r.plural } });
    });
  });

  test('the worker’s Node events query is one the events list operation takes, and answers its 200 schema with every Node event', async () => {
    const { list } = route('events');
    const query = new URLSearchParams({ fieldSelector: 'involvedObject.kind=Node', limit: '500' });
    expect(spec.queryErrors(list, query)).toEqual([]);
    const { status, body } = await get(k8s, `/api/v1/namespaces/${NODE_EVENTS_NAMESPACE}/events?${query}`);
    expect(status).toBe(200);
    expect(spec.responseErrors(list, 200, body)).toEqual([]);
    expect(body!.items.flatMap(itemKindErrors)).toEqual([]);
    const nodeEvents = served(scenario, NODE_EVENTS_NAMESPACE, 'events').filter(
      (e) => (e as { involvedObject: { kind: string } }).involvedObject.kind === 'Node',
    );
    expect(body!.items).toHaveLength(nodeEvents.length);
    for (const item of body!.items) expect(item.metadata.namespace).toBe(NODE_EVENTS_NAMESPACE);
  });

  test('GET /version answers getCodeVersion 200', async () => {
    const op = spec.operation('GET', '/version')!;
    const { status, body } = await get(k8s, '/version');
    expect([op.operationId, status]).toEqual(['getCodeVersion', 200]);
    expect(spec.responseErrors(op, 200, body)).toEqual([]);
  });
});

// ---- owner references ------------------------------------------------------------------

describe('owner references', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({
      scenario: await loadScenario(`${SCENARIO_DIR}crashloop-after-rollout.yaml`, { now: NOW }),
      token: TOKEN,
    });
  });
  afterAll(() => k8s?.close());

  test('pods and replica sets name their owners with the uid OwnerReference requires', async () => {
    for (const plural of ['pods', 'replicasets']) {
      const r = RESOURCES.find((x) => x.plural === plural)!;
      const { body } = await get(k8s, r.template.replace('{namespace}', 'checkout'));
      expect(spec.responseErrors(route(plural).list, 200, body)).toEqual([]);
    }
  });

  test("a CronJob's Jobs and a Job's pods carry their owner's own uid", async () => {
    const batch = await startKubernetesEmulator({ scenario: batchScenario(NOW), token: TOKEN });
    try {
      const items = async (plural: string) =>
        (await get(batch, `/apis/batch/v1/namespaces/batch/${plural}`)).body!.items as Record<string, any>[];
      // Keyed by the kind each list is of: list items carry none.
      const uids = new Map([
        ...(await items('cronjobs')).map((o) => [`CronJob/${o.metadata.name}`, o.metadata.uid as string] as [string, string]),
        ...(await items('jobs')).map((o) => [`Job/${o.metadata.name}`, o.metadata.uid as string] as [string, string]),
      ]);
      const pods = (await get(batch, '/api/v1/namespaces/batch/pods')).body!.items as Record<string, any>[];
      const refs = [...(await items('jobs')), ...pods].flatMap((o) => (o.metadata.ownerReferences ?? []) as Record<string, string>[]);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect([ref.kind, ref.name, ref.uid]).toEqual([ref.kind, ref.name, uids.get(`${ref.kind}/${ref.name}`)]);
    } finally {
      await batch.close();
    }
  });

  test("a StatefulSet's and a DaemonSet's pods and ControllerRevisions carry their owner's own uid; a revision's data is an object", async () => {
    const apps = await startKubernetesEmulator({ scenario: statefulScenario(NOW), token: TOKEN });
    try {
      const items = async (plural: string) =>
        (await get(apps, `/apis/apps/v1/namespaces/data/${plural}`)).body!.items as Record<string, any>[];
      const uids = new Map([
        ...(await items('statefulsets')).map((o) => [`StatefulSet/${o.metadata.name}`, o.metadata.uid as string] as [string, string]),
        ...(await items('daemonsets')).map((o) => [`DaemonSet/${o.metadata.name}`, o.metadata.uid as string] as [string, string]),
      ]);
      const revisions = await items('controllerrevisions');
      expect(revisions.map((r) => typeof r.data?.spec?.template)).toEqual(['object', 'object', 'object', 'object']);
      const pods = (await get(apps, '/api/v1/namespaces/data/pods')).body!.items as Record<string, any>[];
      const refs = [...revisions, ...pods].flatMap((o) => (o.metadata.ownerReferences ?? []) as Record<string, string>[]);
      expect(refs).toHaveLength(revisions.length + pods.length);
      for (const ref of refs) expect([ref.kind, ref.name, ref.uid]).toEqual([ref.kind, ref.name, uids.get(`${ref.kind}/${ref.name}`)]);
    } finally {
      await apps.close();
    }
  });
});

// ---- Nodes (cluster-scoped) ------------------------------------------------------------

/** `view` plus what deploy/components/node-reader grants (read from its ClusterRole): get and list on nodes. */
const NODE_READER: PolicyRule[] = viewAndNodeReaderRules();

const NODE_SCENARIOS: [string, () => Promise<Scenario>][] = [
  ['Nodes (built in code)', async () => nodesScenario(NOW)],
  ...NODE_EVAL_CASES.map((f): [string, () => Promise<Scenario>] => [`eval ${f}`, () => loadScenario(`${EVAL_CASE_DIR}${f}`, { now: NOW })]),
];

describe.each(NODE_SCENARIOS)('%s: /api/v1/nodes matches the swagger', (_name, load) => {
  let scenario: Scenario;
  let k8s: KubernetesEmulator;
  let list: Operation;
  let read: Operation;
  let listDefinition: string;
  let itemDefinition: string;
  beforeAll(async () => {
    scenario = await load();
    k8s = await startKubernetesEmulator({ scenario, token: TOKEN, rules: NODE_READER });
    list = spec.operation('GET', '/api/v1/nodes')!;
    read = spec.operation('GET', '/api/v1/nodes/name')!;
    listDefinition = responseDefinition(list, 200);
    itemDefinition = definitionName(spec.node(pointerOf('definitions', listDefinition, 'properties', 'items', 'items', '$ref')));
  });
  afterAll(() => k8s?.close());

  test('the routes are the swagger’s listCoreV1Node and readCoreV1Node, a NodeList of Nodes', () => {
    expect([list.operationId, list.raw['x-kubernetes-action'], read.operationId, read.raw['x-kubernetes-action']]).toEqual([
      'listCoreV1Node',
      'list',
      'readCoreV1Node',
      'get',
    ]);
    expect([listDefinition, itemDefinition]).toEqual(['io.k8s.api.core.v1.NodeList', 'io.k8s.api.core.v1.Node']);
  });

  test('the list answers its 200 schema with every node, cluster-scoped (no namespace), each readable by name', async () => {
    expect(scenario.kubernetes.nodes.length).toBeGreaterThan(0);
    const { status, body } = await get(k8s, '/api/v1/nodes');
    expect(status).toBe(200);
    expect(spec.responseErrors(list, 200, body)).toEqual([]);
    expect(kindErrors(body, listDefinition)).toEqual([]);
    expect(body!.items).toHaveLength(scenario.kubernetes.nodes.length);
    for (const item of body!.items as Record<string, any>[]) {
      expect(itemKindErrors(item)).toEqual([]);
      expect(item.metadata.namespace).toBeUndefined();
      const one = await get(k8s, `/api/v1/nodes/${encodeURIComponent(item.metadata.name)}`);
      expect(one.status).toBe(200);
      expect(spec.responseErrors(read, 200, one.body)).toEqual([]);
      expect(kindErrors(one.body, itemDefinition)).toEqual([]);
      expect(asListItem(one.body!)).toEqual(item);
    }
  });

  test('chunked with limit and continue, the chunks add up; a missing node is a 404 Status', async () => {
    const seen: string[] = [];
    let cont: string | undefined;
    do {
      const query = new URLSearchParams({ limit: '1', ...(cont ? { continue: cont } : {}) });
      expect(spec.queryErrors(list, query)).toEqual([]);
      const { body } = await get(k8s, `/api/v1/nodes?${query}`);
      expect(spec.responseErrors(list, 200, body)).toEqual([]);
      seen.push(...body!.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      cont = body!.metadata.continue;
    } while (cont);
    expect(seen).toHaveLength(scenario.kubernetes.nodes.length);
    const { status, body } = await get(k8s, '/api/v1/nodes/no-such-node');
    expect(status).toBe(404);
    expect(statusErrors(404, body)).toEqual([]);
    expect(body).toMatchObject({ reason: 'NotFound', message: 'nodes "no-such-node" not found', details: { kind: 'nodes' } });
  });

  test('under `view` alone (no node-reader binding) the list is a 403 Status at the cluster scope', async () => {
    const viewOnly = await startKubernetesEmulator({ scenario, token: TOKEN });
    try {
      const { status, body } = await get(viewOnly, '/api/v1/nodes');
      expect(status).toBe(403);
      expect(statusErrors(403, body)).toEqual([]);
      expect(body!.message).toMatch(/cannot list resource "nodes" in API group "" at the cluster scope$/);
    } finally {
      await viewOnly.close();
    }
  });
});

// ---- errors ---------------------------------------------------------------------------

describe('every error is a meta/v1 Status', () => {
  let scenario: Scenario;
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    scenario = await loadScenario(`${SCENARIO_DIR}crashloop-after-rollout.yaml`, { now: NOW });
    k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
  });
  afterAll(() => k8s?.close());
  afterEach(() => k8s.setFault(null));

  const PODS = '/api/v1/namespaces/checkout/pods';

  test('the swagger documents 401 without a body and no other error status, so errors are held to the Status definition', () => {
    for (const r of RESOURCES) {
      const { list, read } = route(r.plural);
      for (const op of [list, read]) expect([op.operationId, spec.documentedStatuses(op)]).toEqual([op.operationId, ['200', '401']]);
      expect(spec.responseSchemaPointer(list, 401)).toBeNull();
    }
  });

  test.each([
    ['no token', 401, PODS, { token: null }],
    ['a wrong token', 401, PODS, { token: 'wrong' }],
    ['a write', 405, PODS, { method: 'POST' }],
    ['protobuf only', 406, PODS, { accept: 'application/vnd.kubernetes.protobuf' }],
    ['a malformed label selector', 400, `${PODS}?labelSelector=${encodeURIComponent('app in (a')}`, {}],
    ['a field selector on an unsupported field', 400, `${PODS}?fieldSelector=spec.hostname%3Dx`, {}],
    ['a negative limit', 400, `${PODS}?limit=-1`, {}],
    ['a garbage continue token', 400, `${PODS}?limit=1&continue=%25%25`, {}],
    ['a resource the sandbox does not serve', 404, '/api/v1/componentstatuses', {}],
  ] as [string, number, string, { token?: string | null; method?: string; accept?: string }][])(
    '%s → %i',
    async (_what, expected, path, init) => {
      const { status, body } = await get(k8s, path, init);
      expect(status).toBe(expected);
      expect(statusErrors(status, body)).toEqual([]);
    },
  );

  test('a continue token from before the state changed → 410 Expired Status', async () => {
    const first = await get(k8s, `${PODS}?limit=1`);
    k8s.replaceScenario(scenario);
    const { status, body } = await get(k8s, `${PODS}?limit=1&continue=${encodeURIComponent(first.body!.metadata.continue)}`);
    expect(status).toBe(410);
    expect(statusErrors(410, body)).toEqual([]);
    expect(body!.reason).toBe('Expired');
  });

  test.each([429, 500, 503, 504])('fault %i, with retryAfterSeconds in the Status details', async (code) => {
    k8s.setFault({ status: code, retryAfterSeconds: 3, times: 1 });
    const { status, body } = await get(k8s, PODS);
    expect(status).toBe(code);
    expect(statusErrors(code, body)).toEqual([]);
    expect(body!.details.retryAfterSeconds).toBe(3);
  });
});

// ---- request parameters ---------------------------------------------------------------

describe('request parameters', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({
      scenario: generatedScenario({ bulk: { pods: 30, failing: 2, warningEvents: 10 } }, NOW),
      token: TOKEN,
    });
  });
  afterAll(() => k8s?.close());

  /** A meaningful value for each query parameter a list operation lists; the test fails when the swagger grows one. */
  const LIST_QUERY_SAMPLES: Record<string, string[]> = {
    allowWatchBookmarks: ['false'],
    continue: [], // filled from a real first page
    fieldSelector: ['metadata.name=bulk-api-5d6f7c8b9-p00001', 'metadata.namespace=bulk'],
    labelSelector: ['app=bulk-api', 'app in (bulk-api),pod-template-hash!=x', '!missing'],
    limit: ['1', '500'],
    pretty: ['true', 'false'],
    resourceVersion: ['0', ''],
    resourceVersionMatch: ['NotOlderThan'],
    sendInitialEvents: ['false'],
    shardSelector: [''],
    timeoutSeconds: ['30'],
    watch: ['false'],
  };

  function listQueryParameters(plural: string): Parameter[] {
    return spec.parameters(route(plural).list).filter((p) => p.in === 'query');
  }

  test('every query parameter of the four list operations has a sample here', () => {
    for (const r of RESOURCES)
      expect(
        listQueryParameters(r.plural)
          .map((p) => p.name)
          .sort(),
      ).toEqual(Object.keys(LIST_QUERY_SAMPLES).sort());
  });

  test.each(RESOURCES.map((r) => [r.plural, r] as const))(
    '%s: each listed parameter with a valid value is answered with a valid list',
    async (_plural, r) => {
      const { list } = route(r.plural);
      const path = r.template.replace('{namespace}', 'bulk');
      const cont = (await get(k8s, `${path}?limit=1`)).body!.metadata.continue as string | undefined;
      for (const p of listQueryParameters(r.plural)) {
        const values = p.name === 'continue' ? (cont ? [cont] : []) : LIST_QUERY_SAMPLES[p.name]!;
        for (const value of values) {
          const query = new URLSearchParams({
            [p.name]: value,
            ...(p.name === 'continue' ? { limit: '1' } : {}),
            ...(p.name === 'resourceVersionMatch' ? { resourceVersion: '0' } : {}),
          });
          expect(spec.queryErrors(list, query)).toEqual([]);
          const { status, body } = await get(k8s, `${path}?${query}`);
          expect([p.name, value, status]).toEqual([p.name, value, 200]);
          expect(spec.responseErrors(list, 200, body)).toEqual([]);
        }
      }
    },
  );

  test('the parameters the emulator reads are listed, and what their schema refuses it refuses too', async () => {
    const { list } = route('pods');
    const path = '/api/v1/namespaces/bulk/pods';
    for (const limit of ['ten', '1.5']) {
      const query = new URLSearchParams({ limit });
      expect(spec.queryErrors(list, query)).not.toEqual([]);
      const { status, body } = await get(k8s, `${path}?${query}`);
      expect([limit, status]).toEqual([limit, 400]);
      expect(statusErrors(400, body)).toEqual([]);
    }
    const read = listQueryParameters('pods').map((p) => p.name);
    for (const name of ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch']) expect(read).toContain(name);
  });

  test('watch=true: listed by the swagger, refused by the sandbox with a 400 Status (it serves no watch streams)', async () => {
    const { list } = route('pods');
    const query = new URLSearchParams({ watch: 'true' });
    expect(spec.queryErrors(list, query)).toEqual([]);
    const { status, body } = await get(k8s, `/api/v1/namespaces/bulk/pods?${query}`);
    expect(status).toBe(400);
    expect(statusErrors(400, body)).toEqual([]);
  });
});

// ---- pod logs ------------------------------------------------------------------------------

describe('GET .../pods/{name}/log', () => {
  let scenario: Scenario;
  let k8s: KubernetesEmulator;
  let op: Operation;
  /** A pod whose container has a previous-run log, from the scenario's `logs`. */
  let logged: { namespace: string; pod: string; container: string; previous: boolean };
  beforeAll(async () => {
    scenario = await loadScenario(`${SCENARIO_DIR}crashloop-after-rollout.yaml`, { now: NOW });
    k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
    op = spec.operation('GET', '/api/v1/namespaces/ns/pods/name/log')!;
    const [namespace, content] = Object.entries(scenario.kubernetes.namespaces).find(([, c]) => c.logs.length > 0)!;
    logged = { namespace, ...content.logs[0]! };
  });
  afterAll(() => k8s?.close());

  async function getLog(query: URLSearchParams) {
    const res = await fetch(`${k8s.url}/api/v1/namespaces/${logged.namespace}/pods/${logged.pod}/log?${query}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, text, body: type.includes('json') ? (JSON.parse(text) as Record<string, any>) : undefined };
  }

  /** A meaningful value for each query parameter readCoreV1NamespacedPodLog lists. */
  const LOG_QUERY_SAMPLES: Record<string, string[]> = {
    container: [], // the scenario's container
    follow: ['false'],
    insecureSkipTLSVerifyBackend: ['false'],
    limitBytes: ['64'],
    pretty: ['true'],
    previous: [], // what the scenario's log is
    sinceSeconds: ['600'],
    stream: ['All'],
    tailLines: ['3'],
    timestamps: ['false'],
  };

  test('it is readCoreV1NamespacedPodLog, a text/plain string; every listed parameter has a sample here', () => {
    expect(op.operationId).toBe('readCoreV1NamespacedPodLog');
    expect(op.raw.produces).toContain('text/plain');
    expect(
      spec
        .parameters(op)
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort(),
    ).toEqual(Object.keys(LOG_QUERY_SAMPLES).sort());
  });

  test('each scenario log, and each listed parameter with a valid value, answers 200 text/plain', async () => {
    const base = { container: logged.container, previous: String(logged.previous) };
    const queries = [
      new URLSearchParams(base),
      ...Object.entries(LOG_QUERY_SAMPLES).flatMap(([name, values]) => values.map((v) => new URLSearchParams({ ...base, [name]: v }))),
    ];
    for (const query of queries) {
      expect(spec.queryErrors(op, query)).toEqual([]);
      const { status, type, text } = await getLog(query);
      expect([query.toString(), status, type.split(';')[0]]).toEqual([query.toString(), 200, 'text/plain']);
      expect(spec.responseErrors(op, 200, text)).toEqual([]);
    }
  });

  test.each([
    ['tailLines', 'abc'],
    ['limitBytes', '1.5'],
    ['previous', 'maybe'],
    ['follow', 'maybe'],
  ])('%s=%s: refused by the parameter’s schema, and by the emulator with a 400 Status', async (name, value) => {
    const query = new URLSearchParams({ container: logged.container, [name]: value });
    expect(spec.queryErrors(op, query)).not.toEqual([]);
    const { status, body } = await getLog(query);
    expect(status).toBe(400);
    expect(statusErrors(400, body)).toEqual([]);
  });

  test.each([
    ['an unknown container', 400, { container: 'nope' }],
    ['a negative tailLines', 422, { tailLines: '-1' }],
    ['follow, which the sandbox does not stream', 400, { follow: 'true' }],
  ] as [string, number, Record<string, string>][])('%s → %i Status', async (_what, expected, params) => {
    const { status, body } = await getLog(
      new URLSearchParams({ container: logged.container, previous: String(logged.previous), ...params }),
    );
    expect(status).toBe(expected);
    expect(statusErrors(expected, body)).toEqual([]);
  });
});

// ---- the validator ----------------------------------------------------------------------

describe('the validator is strict enough to fail', () => {
  let podList: Record<string, any>;
  let deployment: Record<string, any>;
  let eventList: Record<string, any>;
  beforeAll(async () => {
    const k8s = await startKubernetesEmulator({
      scenario: generatedScenario({ bulk: { pods: 3, failing: 1, warningEvents: 2 } }, NOW),
      token: TOKEN,
    });
    try {
      podList = (await get(k8s, '/api/v1/namespaces/bulk/pods')).body!;
      eventList = (await get(k8s, '/api/v1/namespaces/bulk/events')).body!;
      deployment = (await get(k8s, '/apis/apps/v1/namespaces/bulk/deployments/bulk-api')).body!;
    } finally {
      await k8s.close();
    }
  });

  const pods = () => route('pods').list;
  const withPod = (change: (pod: Record<string, any>) => void) => {
    const copy = structuredClone(podList);
    change(copy.items[0]);
    return copy;
  };
  const withStrategy = (rollingUpdate: Record<string, unknown>) => ({
    ...deployment,
    spec: { ...deployment.spec, strategy: { type: 'RollingUpdate', rollingUpdate } },
  });
  const deploymentErrors = (body: unknown) => spec.responseErrors(route('deployments').read, 200, body);

  test('the emulator’s own bodies pass (the baseline the mutations start from)', () => {
    expect(spec.responseErrors(pods(), 200, podList)).toEqual([]);
    expect(spec.responseErrors(route('events').list, 200, eventList)).toEqual([]);
    expect(deploymentErrors(deployment)).toEqual([]);
  });

  test.each([
    ['a pod whose status.phase is a number', () => withPod((p) => (p.status.phase = 3))],
    ['a PodList without items', () => Object.fromEntries(Object.entries(podList).filter(([k]) => k !== 'items'))],
    ['a container without a name', () => withPod((p) => delete p.spec.containers[0].name)],
    ['a creationTimestamp that is no date-time', () => withPod((p) => (p.metadata.creationTimestamp = 'an hour ago'))],
    ['a restartCount that is a string', () => withPod((p) => (p.status.containerStatuses[0].restartCount = '7'))],
    ['a restartCount beyond int32', () => withPod((p) => (p.status.containerStatuses[0].restartCount = 2 ** 31))],
    ['a memory limit written as a number', () => withPod((p) => (p.spec.containers[0].resources.limits.memory = 268435456))],
    ['a memory limit outside the quantity grammar', () => withPod((p) => (p.spec.containers[0].resources.limits.memory = '256 MB'))],
    ['a label value that is a number', () => withPod((p) => (p.metadata.labels.app = 1))],
  ])('PodList refuses %s', (_what, mutated) => {
    expect(spec.responseErrors(pods(), 200, mutated())).not.toEqual([]);
  });

  test('an Event without involvedObject is refused', () => {
    const copy = structuredClone(eventList);
    delete copy.items[0].involvedObject;
    expect(spec.responseErrors(route('events').list, 200, copy)).not.toEqual([]);
  });

  test('int-or-string: an integer and a percentage pass, a boolean does not', () => {
    expect(deploymentErrors(withStrategy({ maxSurge: 1, maxUnavailable: '25%' }))).toEqual([]);
    expect(deploymentErrors(withStrategy({ maxSurge: true }))).not.toEqual([]);
  });

  test('quantities: the grammar’s forms pass', () => {
    for (const q of ['256Mi', '1', '0.5', '100m', '1e3', '2Gi', '12345n', '+1k', '.5']) expect([q, QUANTITY.test(q)]).toEqual([q, true]);
    for (const q of ['256 MB', 'Mi', '1.2.3', '']) expect([q, QUANTITY.test(q)]).toEqual([q, false]);
  });

  test('x-kubernetes-* extensions are dropped, int-or-string becomes a union, nothing else changes', () => {
    expect(toJsonSchema(definition('io.k8s.apimachinery.pkg.util.intstr.IntOrString'))).toEqual({
      description: definition('io.k8s.apimachinery.pkg.util.intstr.IntOrString').description,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
    });
    const converted = JSON.stringify(toJsonSchema(definition('io.k8s.api.core.v1.PodSpec')));
    expect(converted).not.toMatch(/"x-kubernetes-/);
    expect(JSON.stringify(definition('io.k8s.api.core.v1.PodSpec'))).toMatch(/"x-kubernetes-list-type"/);
  });

  test('the Status definition refuses a code that is a string', () => {
    expect(
      spec.schemaErrors(statusPointer, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: '404' }),
    ).not.toEqual([]);
  });
});
