// The Kubernetes activity against a real kube-apiserver and against the
// emulator, holding the same objects: every shipped scenario (and those built
// in code for the other kinds) is written into the apiserver through its API
// (statuses through /status, events through core/v1 and events.k8s.io/v1;
// sandbox/kube-seed.ts), read back, and the emulator seeded with exactly what
// the apiserver then holds. The evidence must not tell the two apart, nor
// must the lists it is read from, but for what only a kubelet can serve: the
// container logs. The emulator stays for those, and for speed.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import type { KubernetesEvidence, LogTail } from '../../activities/model.js';
import { emulatorKubeConfig, startKubernetesEmulator, type KubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import { resourcePaths, type KubeApiserver } from '../../sandbox/kube-apiserver.js';
import { eventsApiCanWrite, type EventsApi } from '../../sandbox/events-api.js';
import { NAMESPACED, seedScenario, type SeededScenario } from '../../sandbox/kube-seed.js';
import { viewAndNodeReaderRules } from '../../sandbox/node-reader.js';
import { loadScenario, NODE_EVENTS_NAMESPACE, type Scenario, type ScenarioEvent } from '../../sandbox/scenario.js';
import { startTestApiserver } from '../kube-apiserver.js';
import { autoscalingStorageScenario } from '../sandbox/autoscaling-storage-scenario.js';
import { batchScenario } from '../sandbox/batch-scenario.js';
import { apiserverRequest } from '../sandbox/emulators/kubernetes-client.js';
import { nodesScenario } from '../sandbox/nodes-scenario.js';
import { statefulScenario } from '../sandbox/stateful-scenario.js';
import { evidenceRequest } from './evidence-request.js';

const SCENARIO_DIR = fileURLToPath(new URL('../../sandbox/scenarios/', import.meta.url));
/**
 * Every shipped scenario, then those built in code for the kinds no shipped
 * one holds (Jobs and CronJobs, Nodes, HPAs and claims, DaemonSets).
 */
const SCENARIOS: [string, () => Promise<Scenario>][] = [
  ...readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
    .sort()
    .map((f): [string, () => Promise<Scenario>] => [f, () => loadScenario(`${SCENARIO_DIR}${f}`)]),
  ...[batchScenario, nodesScenario, autoscalingStorageScenario, statefulScenario].map((build): [string, () => Promise<Scenario>] => [
    `${build().name} (built in code)`,
    () => Promise.resolve(build()),
  ]),
];
/** The emulator's bearer token, made for this run. */
const TOKEN = randomBytes(24).toString('hex');

let server: KubeApiserver;

beforeAll(async () => {
  server = await startTestApiserver('kubernetes-differential');
});

afterAll(async () => {
  await server?.close();
});

/**
 * Scenarios share namespace names, and without the controller-manager a
 * namespace is never gone once deleted, so each scenario's namespaces get
 * names no earlier scenario (nor the apiserver itself) took.
 */
const taken = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
function freshNamespace(name: string): string {
  let fresh = name;
  for (let n = 2; taken.has(fresh); n++) fresh = `${name}-${n}`;
  taken.add(fresh);
  return fresh;
}

/**
 * The scheduler's events (those with an `eventTime`) through
 * events.k8s.io/v1, as it writes them; of the others, every other one that
 * API can take (the first of them included), so that both APIs write events
 * of every recorder that has a host.
 */
function eventsApis(): (event: ScenarioEvent) => EventsApi {
  let writable = 0;
  return (event) => (event.eventTime || (eventsApiCanWrite(event) && writable++ % 2 === 0) ? 'events.k8s.io/v1' : 'v1');
}

interface Scope {
  namespaces: string[];
  labelSelector?: string;
}

/** As the sandbox stack's worker reads a cluster (scenario-diagnosis.ts): Node events from `default`, Nodes when the scenario lists any. */
function collect(kubeConfig: KubeConfig, scenario: Scenario, scope: Scope): Promise<KubernetesEvidence> {
  const readNodes = scenario.kubernetes.nodes.length > 0;
  return createKubernetesActivities({
    kubeConfig,
    nodeEventsNamespace: NODE_EVENTS_NAMESPACE,
    ...(readNodes ? { readNodes } : {}),
  }).collectKubernetesEvidence(evidenceRequest({ kubernetes: { cluster: 'sandbox', ...scope } }));
}

/** The emulator's token reads all the apiserver's admin reads here: `view` and the node-reader rules. */
async function withEmulator<T>(scenario: Scenario, use: (emulator: KubernetesEmulator) => Promise<T>): Promise<T> {
  const emulator = await startKubernetesEmulator({ scenario, token: TOKEN, rules: viewAndNodeReaderRules() });
  try {
    return await use(emulator);
  } finally {
    await emulator.close();
  }
}

const collectFromEmulator = (scenario: Scenario, scope: Scope) =>
  withEmulator(scenario, (emulator) => collect(emulatorKubeConfig(emulator.url, TOKEN), scenario, scope));

/**
 * A service scoped by labels, from the scenario's first pod: its first label,
 * set-based, and the absence of a label none of them carries, so that the
 * selector's operators and the activity's event scoping are both exercised.
 */
function labelSelectorOf(scenario: Scenario): string {
  const pod = Object.values(scenario.kubernetes.namespaces).flatMap((ns) => ns.pods)[0];
  const [key, value] = Object.entries(pod?.metadata.labels ?? {})[0] ?? [];
  if (key === undefined) throw new Error(`${scenario.name}: its first pod has no label to scope by`);
  return `${key} in (${value}),!keyless-triage.test/absent`;
}

type Get = (path: string) => Promise<{ status: number; body: Record<string, any> | undefined }>;

/**
 * A list read as the activity reads one, a page of `limit` at a time: each
 * page's items and what it says of the rest. The list's resourceVersion (and
 * the continue token that carries it) is each server's own clock, not compared.
 */
async function pages(get: Get, path: string, limit: number) {
  const read = [];
  let cont: string | undefined;
  do {
    const query = `limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
    const { status, body } = await get(`${path}${path.includes('?') ? '&' : '?'}${query}`);
    const { resourceVersion: _rv, continue: next, ...rest } = (body?.metadata ?? {}) as { resourceVersion?: string; continue?: string };
    read.push({
      status,
      kind: body?.kind,
      apiVersion: body?.apiVersion,
      metadata: { ...rest, more: next !== undefined },
      items: body?.items,
    });
    cont = next;
  } while (cont);
  return read;
}

/** The events written through events.k8s.io/v1 that the evidence shows (by object, reason and message), as `namespace/name`. */
function shownViaEventsApi(seeded: SeededScenario, evidence: KubernetesEvidence): string[] {
  const key = (kind: string, name: string, reason: string, message: string) => JSON.stringify([kind, name, reason, message]);
  const shown = new Set(evidence.namespaces.flatMap((ns) => ns.events.map((e) => key(e.object.kind, e.object.name, e.reason, e.message))));
  return Object.entries(seeded.scenario.kubernetes.namespaces).flatMap(([ns, content]) =>
    content.events
      .map((e) => ({ id: `${ns}/${e.metadata.name}`, key: key(e.involvedObject.kind, e.involvedObject.name, e.reason, e.message) }))
      .filter((e) => seeded.viaEventsApi.includes(e.id) && shown.has(e.key))
      .map((e) => e.id),
  );
}

/**
 * The evidence with what cannot agree set aside, and the logs it held:
 * - `collectedAt`, the clock at each collection;
 * - each container's `previousLog` and `currentLog`: the apiserver serves a
 *   log by proxying to the pod's kubelet, and none runs, so its reads fail,
 *   while the emulator serves the scenario's text. Which containers had their
 *   log read is still compared (the field stays, as "read").
 */
function withoutLogs(evidence: KubernetesEvidence): { evidence: unknown; logs: LogTail[] } {
  const logs: LogTail[] = [];
  const { collectedAt: _at, ...copy } = structuredClone(evidence);
  for (const ns of copy.namespaces) {
    for (const pod of ns.pods) {
      for (const container of pod.containers as unknown as Record<string, unknown>[]) {
        for (const field of ['previousLog', 'currentLog']) {
          if (container[field] === undefined) continue;
          logs.push(container[field] as LogTail);
          container[field] = 'read';
        }
      }
    }
  }
  return { evidence: copy, logs };
}

describe.each(SCENARIOS)('%s', (_name, load) => {
  let seeded: SeededScenario;
  let scope: Scope;
  let fromApiserver: KubernetesEvidence;

  beforeAll(async () => {
    const scenario = await load();
    seeded = await seedScenario(server, scenario, { namespace: freshNamespace, eventsApi: eventsApis() });
    scope = { namespaces: [...seeded.namespaces.values()] };
    fromApiserver = await collect(server.kubeConfig(), seeded.scenario, scope);
  });

  afterAll(async () => {
    await seeded?.removeShared();
  });

  test('the emulator holding what the apiserver holds gives the same evidence, logs aside', async () => {
    const real = withoutLogs(fromApiserver);
    expect(real.evidence).toEqual(withoutLogs(await collectFromEmulator(seeded.scenario, scope)).evidence);
    // Without a kubelet the apiserver cannot serve a log: every read it was asked for failed, none was made up.
    expect(real.logs.filter((log) => log.status !== 'unavailable')).toEqual([]);
    // The scenario's pods are there to be told apart, every one of them.
    const pods = (ns: string) => seeded.scenario.kubernetes.namespaces[ns]!.pods.length;
    expect(fromApiserver).toMatchObject({ namespaces: scope.namespaces.map((ns) => ({ namespace: ns, podCounts: { total: pods(ns) } })) });
  });

  test('scoped by a label selector, the same evidence', async () => {
    const scoped = { ...scope, labelSelector: labelSelectorOf(seeded.scenario) };
    const [real, emulated] = await Promise.all([
      collect(server.kubeConfig(), seeded.scenario, scoped),
      collectFromEmulator(seeded.scenario, scoped),
    ]);
    expect(withoutLogs(real).evidence).toEqual(withoutLogs(emulated).evidence);
  });

  test('events written through events.k8s.io/v1 give the evidence they would through core/v1', async () => {
    const asCoreV1 = await collectFromEmulator(seeded.asWrittenThroughCoreV1, scope);
    expect(withoutLogs(fromApiserver).evidence).toEqual(withoutLogs(asCoreV1).evidence);
    // Where any was written so, the evidence shows some: the comparison saw them.
    expect(shownViaEventsApi(seeded, fromApiserver).length > 0).toBe(seeded.viaEventsApi.length > 0);
  });

  test('every list the activity reads answers the same, page by page: items, their order and shape, what is left', async () => {
    const paths = resourcePaths(server);
    const namespaces = [...scope.namespaces, NODE_EVENTS_NAMESPACE];
    const collections = await Promise.all(
      namespaces.flatMap((namespace) => NAMESPACED.map((type) => paths.collection({ ...type, metadata: { namespace } }))),
    );
    const lists = [
      ...collections,
      // Node events as a worker whose nodeEventsNamespace it is reads them: where there are none, the selector finds none.
      ...namespaces.map((ns) => `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Node')}`),
      '/api/v1/nodes',
    ];
    const fromApiserverList: Get = async (path) => {
      const { status, body } = await server.request('GET', path);
      return { status, body: body as Record<string, any> };
    };
    await withEmulator(seeded.scenario, async (emulator) => {
      const fromEmulatorList: Get = (path) => apiserverRequest(emulator.url, path, { token: TOKEN });
      for (const path of lists) {
        // Pages of 3: most lists here take several, and the last is short.
        const [real, emulated] = await Promise.all([pages(fromApiserverList, path, 3), pages(fromEmulatorList, path, 3)]);
        expect({ path, pages: emulated }).toEqual({ path, pages: real });
      }
    });
  });
});
