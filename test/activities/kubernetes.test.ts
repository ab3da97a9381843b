import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import { MAX_EVIDENCE_BYTES, evidenceBytes } from '../../activities/evidence-bounds.js';
import type { KubernetesEvidence, LogTail, NamespaceEvidence } from '../../activities/model.js';
import { buildScenario, loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startKubernetesEmulator, type KubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import { GENERATED_INCIDENT, failingIndexes, generatedNamespace, podName, type GeneratedNamespace } from '../sandbox/generated-scenario.js';
import { BATCH_NAMESPACE, batchScenario } from '../sandbox/batch-scenario.js';
import { nodesScenario } from '../sandbox/nodes-scenario.js';
import { viewAndNodeReaderRules } from '../../sandbox/node-reader.js';
import { autoscalingStorageScenario } from '../sandbox/autoscaling-storage-scenario.js';
import { statefulScenario } from '../sandbox/stateful-scenario.js';
import { evidenceRequest } from './evidence-request.js';
import { failureOf } from './failure-of.js';
import { emulatorKubeConfig } from '../sandbox/emulators/kubernetes-client.js';

const CRASHLOOP = fileURLToPath(new URL('../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const TOKEN = 'k8s-activity-token-4567';
const NOW = Date.parse('2025-03-01T12:00:00Z');

const kubeConfig = (server: string, token = TOKEN) => emulatorKubeConfig(server, token);

function only(evidence: KubernetesEvidence, namespace: string): NamespaceEvidence {
  const ns = evidence.namespaces.find((n) => n.namespace === namespace);
  if (!ns) throw new Error(`no evidence for ${namespace}`);
  return ns;
}

function previousLogOf(evidence: KubernetesEvidence, namespace: string, pod: string): LogTail | undefined {
  return only(evidence, namespace).pods.find((p) => p.name === pod)?.containers[0]?.previousLog;
}

const logReads = (log: readonly { path: string }[]) => log.filter((r) => r.path.endsWith('/log'));

/**
 * An apiserver in front of the emulator that answers pod log reads itself: how
 * a role without pods/log, or a kubelet that never answers, looks to the client.
 */
async function logProxy(
  upstream: string,
  answerLog: (res: ServerResponse, query: URLSearchParams) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const [path, query] = (req.url ?? '').split('?');
    if (path!.endsWith('/log')) {
      answerLog(res, new URLSearchParams(query ?? ''));
      return;
    }
    void fetch(`${upstream}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (up) => {
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await up.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Generated namespaces (as generatedScenario builds them) with a previous log for each failing pod. */
function scenarioWithLogs(namespaces: Record<string, GeneratedNamespace>, logText: (pod: string) => string): Scenario {
  return buildScenario(
    {
      name: 'generated-logs',
      description: 'built in code',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: {
        namespaces: Object.fromEntries(
          Object.entries(namespaces).map(([ns, shape]) => [
            ns,
            {
              ...generatedNamespace(shape, ns),
              logs: [...failingIndexes(shape)].map((i) => ({ pod: podName(i), container: 'api', text: logText(podName(i)) })),
            },
          ]),
        ),
      },
    },
    { source: 'generated', now: NOW },
  );
}

describe('the crashloop-after-rollout scenario', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({ scenario: await loadScenario(CRASHLOOP, { now: NOW }), token: TOKEN });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setFault(null));

  const collect = (
    scope = { cluster: 'sandbox', namespaces: ['checkout'] } as { cluster: string; namespaces: string[]; labelSelector?: string },
    token = TOKEN,
  ) =>
    createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url, token) }).collectKubernetesEvidence(
      evidenceRequest({ kubernetes: scope }),
    );

  test('the CrashLoopBackOff pods lead the evidence, with their rollout context', async () => {
    const evidence = await collect();
    expect(evidence).toMatchObject({ surface: 'kubernetes', cluster: 'sandbox' });
    const ns = only(evidence, 'checkout');
    expect(ns.podCounts).toEqual({ total: 4, notReady: 2, byPhase: { Running: 4 }, byWaitingReason: { CrashLoopBackOff: 2 } });
    // The two failing pods lead; the healthy ones are counted, and only one replica of the
    // workload with no failure (checkout-worker) is listed, last, for its own log.
    expect(ns.pods.map((p) => p.name)).toEqual([
      'checkout-api-6b8f7c9d54-x7k2p',
      'checkout-api-6b8f7c9d54-q9w4z',
      'checkout-worker-7f6d5c4b9-h2n6r',
    ]);
    expect(ns.pods[2]?.containers[0]?.currentLog).toMatchObject({ status: 'ok' });
    expect(ns.podsOmitted).toBe(0);
    expect(ns.pods[0]).toEqual({
      name: 'checkout-api-6b8f7c9d54-x7k2p',
      phase: 'Running',
      ready: false,
      node: 'ip-10-0-3-17.eu-west-1.compute.internal',
      createdAt: '2025-03-01T11:51:00Z',
      labels: { app: 'checkout-api', 'app.kubernetes.io/part-of': 'checkout' },
      replicaSet: 'checkout-api-6b8f7c9d54',
      containers: [
        {
          name: 'checkout-api',
          image: 'registry.example.com/checkout/checkout-api:2.14.0',
          ready: false,
          restartCount: 6,
          waiting: {
            reason: 'CrashLoopBackOff',
            message: expect.stringContaining('back-off 2m40s restarting failed container=checkout-api'),
          },
          lastTerminated: { reason: 'Error', exitCode: 1, finishedAt: '2025-03-01T11:58:00Z' },
          memoryLimit: '512Mi',
          previousLog: {
            status: 'ok',
            lines: expect.arrayContaining([expect.stringContaining('startup failed: config: ORDERS_DB_HOST is required since 2.14.0')]),
            truncated: false,
            redactions: 1,
          },
        },
      ],
    });
  });

  test("the crashed container's previous log: its last lines, the planted password redacted", async () => {
    const evidence = await collect();
    const log = previousLogOf(evidence, 'checkout', 'checkout-api-6b8f7c9d54-x7k2p');
    expect(log).toEqual({ status: 'ok', lines: expect.any(Array), truncated: false, redactions: 1 });
    if (log?.status !== 'ok') throw new Error('no log');
    expect(log.lines).toHaveLength(8);
    expect(log.lines[0]).toBe('level=info msg="starting checkout-api" version=2.14.0 commit=3e9a4f1 go=go1.22.10');
    expect(log.lines[3]).toBe(
      'level=info msg="connecting to orders database" dsn="host=127.0.0.1 port=5432 dbname=orders user=checkout password=[redacted] sslmode=require"',
    );
    expect(log.lines[7]).toMatch(/^level=fatal msg="startup failed: config: ORDERS_DB_HOST is required/);
    expect(JSON.stringify(evidence)).not.toContain('Chk0ut-Pr0d-2025');
  });

  test("a crashed container without a previous log is unavailable, with the apiserver's reason; the surface is not", async () => {
    const log = previousLogOf(await collect(), 'checkout', 'checkout-api-6b8f7c9d54-q9w4z');
    expect(log).toEqual({
      status: 'unavailable',
      reason: 'HTTP 400 Bad Request: previous terminated container "checkout-api" in pod "checkout-api-6b8f7c9d54-q9w4z" not found',
    });
  });

  test('a healthy workload gets one replica’s own log read, and no previous log: it never restarted', async () => {
    const before = k8s.requestLog.length;
    const evidence = await collect({ cluster: 'sandbox', namespaces: ['checkout'], labelSelector: 'app=checkout-worker' });
    expect(logReads(k8s.requestLog.slice(before)).map((r) => r.path)).toEqual([
      '/api/v1/namespaces/checkout/pods/checkout-worker-7f6d5c4b9-h2n6r/log',
    ]);
    expect(JSON.stringify(evidence)).not.toContain('previousLog');
  });

  test('a role without pods/log (403) makes the log unavailable, naming pods/log; the surface still succeeds', async () => {
    const proxy = await logProxy(k8s.url, (res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message:
            'pods "checkout-api-6b8f7c9d54-x7k2p" is forbidden: User "system:serviceaccount:triage:keyless-triage" cannot get resource "pods/log" in API group "" in the namespace "checkout"',
          reason: 'Forbidden',
          details: { name: 'checkout-api-6b8f7c9d54-x7k2p', kind: 'pods' },
          code: 403,
        }),
      );
    });
    try {
      const evidence = await createKubernetesActivities({ kubeConfig: kubeConfig(proxy.url) }).collectKubernetesEvidence(
        evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['checkout'] } }),
      );
      expect(only(evidence, 'checkout').pods).toHaveLength(3);
      for (const pod of ['checkout-api-6b8f7c9d54-x7k2p', 'checkout-api-6b8f7c9d54-q9w4z']) {
        expect(previousLogOf(evidence, 'checkout', pod)).toEqual({ status: 'unavailable', reason: expect.stringContaining('pods/log') });
      }
    } finally {
      await proxy.close();
    }
  });

  test("a running container's log too long for one read is read at both ends, and its digest keeps errors that have stopped", async () => {
    // 4 MB of the last hour: a burst of pool errors early on, calm since.
    const lines = Array.from({ length: 40_000 }, (_, i) =>
      i >= 100 && i < 120
        ? `2025-03-01T11:01:00Z ERROR Timeout waiting for database connection (pool 100/100) request=${i}`
        : `2025-03-01T11:01:00Z INFO GET /orders/${String(i).padStart(6, '0')} 200 12ms ${'x'.repeat(40)}`,
    );
    const body = lines.map((l) => `${l}\n`).join('');
    const queries: URLSearchParams[] = [];
    const proxy = await logProxy(k8s.url, (res, query) => {
      queries.push(query);
      const tail = query.has('tailLines')
        ? lines
            .slice(-Number(query.get('tailLines')))
            .map((l) => `${l}\n`)
            .join('')
        : body;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.from(tail).subarray(0, Number(query.get('limitBytes'))));
    });
    try {
      const evidence = await createKubernetesActivities({ kubeConfig: kubeConfig(proxy.url) }).collectKubernetesEvidence(
        evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['checkout'] } }),
      );
      const log = only(evidence, 'checkout').pods.find((p) => p.name === 'checkout-worker-7f6d5c4b9-h2n6r')?.containers[0]?.currentLog;
      expect(log).toMatchObject({ status: 'ok', truncated: true, digest: { gap: true, errors: 20 } });
      if (log?.status !== 'ok') throw new Error('no log');
      expect(log.lines.at(-1)).toBe(lines.at(-1));
      expect(log.digest?.messages[0]).toMatchObject({
        count: 20,
        text: expect.stringContaining('Timeout waiting for database connection'),
      });
      const windowReads = queries.filter((q) => q.get('sinceSeconds') === '3600');
      expect(windowReads.map((q) => q.get('tailLines'))).toEqual([null, expect.stringMatching(/^\d+$/)]);
      expect(evidenceBytes(evidence)).toBeLessThanOrEqual(MAX_EVIDENCE_BYTES);
    } finally {
      await proxy.close();
    }
  });

  test('a log read that never answers times out into unavailable, within the request timeout', async () => {
    const proxy = await logProxy(k8s.url, () => {
      // never answers
    });
    try {
      const started = Date.now();
      const evidence = await createKubernetesActivities({ kubeConfig: kubeConfig(proxy.url), timeoutMs: 500 }).collectKubernetesEvidence(
        evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['checkout'] } }),
      );
      expect(previousLogOf(evidence, 'checkout', 'checkout-api-6b8f7c9d54-x7k2p')).toEqual({
        status: 'unavailable',
        reason: 'request timed out',
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await proxy.close();
    }
  });

  test('Warning events newest first, scaling events kept, routine Normal events dropped', async () => {
    const ns = only(await collect(), 'checkout');
    expect(ns.events.map((e) => `${e.type}/${e.reason}/${e.object.name}`)).toEqual([
      'Warning/BackOff/checkout-api-6b8f7c9d54-x7k2p',
      'Warning/BackOff/checkout-api-6b8f7c9d54-q9w4z',
      'Warning/Unhealthy/checkout-api-6b8f7c9d54-x7k2p',
      // Same second: ordered by event name, whatever order the server lists them in.
      'Normal/SuccessfulCreate/checkout-api-6b8f7c9d54',
      'Normal/ScalingReplicaSet/checkout-api',
      'Normal/ScalingReplicaSet/checkout-api',
    ]);
    expect(ns.events[0]).toMatchObject({ count: 27, lastSeen: '2025-03-01T11:59:30Z', object: { kind: 'Pod' } });
    expect(ns.eventsOmitted).toBe(0);
  });

  test('deployments (unhealthy first) and the newest three revisions per deployment', async () => {
    const ns = only(await collect(), 'checkout');
    expect(ns.deployments.map((d) => d.name)).toEqual(['checkout-api', 'checkout-worker']);
    expect(ns.deployments[0]).toMatchObject({
      revision: 7,
      replicas: 3,
      ready: 1,
      updated: 2,
      available: 1,
      images: ['registry.example.com/checkout/checkout-api:2.14.0'],
    });
    expect(ns.deployments[0]?.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Available=True', 'Progressing=True']);
    expect(ns.replicaSets.map((r) => `${r.deployment}@${r.revision}`)).toEqual([
      'checkout-api@7',
      'checkout-api@6',
      'checkout-api@5',
      'checkout-worker@3',
    ]);
    expect(ns.replicaSets[0]).toEqual({
      name: 'checkout-api-6b8f7c9d54',
      deployment: 'checkout-api',
      revision: 7,
      createdAt: '2025-03-01T11:51:00Z',
      replicas: 2,
      ready: 0,
      images: ['registry.example.com/checkout/checkout-api:2.14.0'],
      // Keyed digests, never the template's values.
      template: expect.objectContaining({ 'checkout-api: image': expect.stringMatching(/^[0-9a-f]{16}$/) }),
    });
    expect(JSON.stringify(ns.replicaSets)).not.toContain('ORDERS_DB_HOST');
  });

  test('a label selector scopes pods, workloads and their events', async () => {
    const ns = only(await collect({ cluster: 'sandbox', namespaces: ['checkout'], labelSelector: 'app=checkout-worker' }), 'checkout');
    expect(ns.labelSelector).toBe('app=checkout-worker');
    expect(ns.podCounts.total).toBe(1);
    // Healthy: listed only as the one replica whose own log is read.
    expect(ns.pods.map((p) => [p.name, p.ready])).toEqual([['checkout-worker-7f6d5c4b9-h2n6r', true]]);
    expect(ns.deployments.map((d) => d.name)).toEqual(['checkout-worker']);
    expect(ns.events).toEqual([]);
  });

  test('namespaces are collected in parallel; an unknown one is simply empty', async () => {
    const evidence = await collect({ cluster: 'sandbox', namespaces: ['checkout', 'payments'] });
    expect(evidence.namespaces.map((n) => n.namespace)).toEqual(['checkout', 'payments']);
    expect(only(evidence, 'payments').podCounts.total).toBe(0);
  });

  test('every request carries the triage id in its User-Agent', async () => {
    const before = k8s.requestLog.length;
    await collect();
    const mine = k8s.requestLog.slice(before);
    expect(mine.map((r) => r.path).sort()).toEqual([
      '/api/v1/namespaces/checkout/endpoints',
      '/api/v1/namespaces/checkout/events',
      '/api/v1/namespaces/checkout/persistentvolumeclaims',
      '/api/v1/namespaces/checkout/pods',
      '/api/v1/namespaces/checkout/pods/checkout-api-6b8f7c9d54-q9w4z/log',
      '/api/v1/namespaces/checkout/pods/checkout-api-6b8f7c9d54-x7k2p/log',
      '/api/v1/namespaces/checkout/pods/checkout-worker-7f6d5c4b9-h2n6r/log',
      '/api/v1/namespaces/checkout/services',
      '/apis/apps/v1/namespaces/checkout/controllerrevisions',
      '/apis/apps/v1/namespaces/checkout/daemonsets',
      '/apis/apps/v1/namespaces/checkout/deployments',
      '/apis/apps/v1/namespaces/checkout/replicasets',
      '/apis/apps/v1/namespaces/checkout/statefulsets',
      '/apis/autoscaling/v2/namespaces/checkout/horizontalpodautoscalers',
      '/apis/batch/v1/namespaces/checkout/cronjobs',
      '/apis/batch/v1/namespaces/checkout/jobs',
      '/apis/networking.k8s.io/v1/namespaces/checkout/networkpolicies',
    ]);
    for (const r of mine) expect(r.userAgent).toBe('keyless-triage/0.1 (triage-Q1CHECKOUT1)');
  });

  test('401 from the apiserver → non-retryable ApplicationFailure', async () => {
    const f = await failureOf(collect(undefined, 'wrong-token'));
    expect(f).toMatchObject({
      nonRetryable: true,
      type: 'HttpClientError',
      message: 'kubernetes: HTTP 401 Unauthorized',
      details: [{ surface: 'kubernetes', status: 401 }],
    });
  });

  test('503 with Retry-After: 7 → retryable with nextRetryDelay 7 s', async () => {
    k8s.setFault({ status: 503, retryAfterSeconds: 7 });
    const f = await failureOf(collect());
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpServerError', nextRetryDelay: 7000 });
    expect(f.message).toBe('kubernetes: HTTP 503 Service Unavailable: the server is currently unable to handle the request');
  });

  test('the apiserver Status message is the reason, never the ApiException text with headers', async () => {
    k8s.setFault({ status: 403 });
    const f = await failureOf(collect());
    expect(f.message).toBe('kubernetes: HTTP 403 Forbidden: forbidden');
    expect(f.message).not.toMatch(/Headers|content-type/i);
  });

  test.each([['Checkout'], ['../kube-system'], ['a'.repeat(64)], ['kube_system'], ['']])(
    'namespace %j is refused before any request',
    async (bad) => {
      const before = k8s.requests;
      const f = await failureOf(collect({ cluster: 'sandbox', namespaces: ['checkout', bad] }));
      expect(f).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
      expect(k8s.requests).toBe(before);
    },
  );

  test('no Kubernetes scope is a non-retryable configuration error', async () => {
    const f = await failureOf(createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url) }).collectKubernetesEvidence(evidenceRequest()));
    expect(f).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
  });
});

describe('Node events from the namespace the kubelet records them in', () => {
  const POD_NODE = 'ip-10-0-3-17.eu-west-1.compute.internal';
  const OTHER_NODE = 'ip-10-0-9-99.eu-west-1.compute.internal';
  let k8s: KubernetesEmulator;

  function nodeEvent(name: string, node: string, reason: string, type: string) {
    return {
      metadata: { name, namespace: 'default', creationTimestamp: new Date(NOW - 5 * 60_000).toISOString() },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node },
      type,
      reason,
      message: `Node ${node} status is now: ${reason}`,
      count: 3,
      firstTimestamp: new Date(NOW - 6 * 60_000).toISOString(),
      lastTimestamp: new Date(NOW - 2 * 60_000).toISOString(),
      source: { component: 'kubelet', host: node },
    };
  }

  beforeAll(async () => {
    // The kubelet records Node events in `default`; the scenario gains that namespace, events only.
    const raw = parseYaml(readFileSync(CRASHLOOP, 'utf8')) as { kubernetes: { namespaces: Record<string, unknown> } };
    raw.kubernetes.namespaces.default = {
      events: [
        nodeEvent('pressure-on-pod-node', POD_NODE, 'NodeHasInsufficientMemory', 'Normal'),
        nodeEvent('routine-on-pod-node', POD_NODE, 'NodeHasSufficientDisk', 'Normal'),
        // A node's other warnings are not the namespace's: they would take its warning slots.
        ...Array.from({ length: 60 }, (_, i) => nodeEvent(`image-gc-${i}`, POD_NODE, 'ImageGCFailed', 'Warning')),
        nodeEvent('pressure-elsewhere', OTHER_NODE, 'NodeHasDiskPressure', 'Normal'),
      ],
    };
    const scenario = buildScenario(raw, { source: CRASHLOOP, now: NOW });
    k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setRbac({ rules: null, namespaceRules: {} }));

  const collect = (nodeEventsNamespace?: string) =>
    createKubernetesActivities({
      kubeConfig: kubeConfig(k8s.url),
      ...(nodeEventsNamespace ? { nodeEventsNamespace } : {}),
    }).collectKubernetesEvidence(evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['checkout'] } }));
  const nodeReasons = (evidence: KubernetesEvidence) =>
    only(evidence, 'checkout')
      .events.filter((e) => e.object.kind === 'Node')
      .map((e) => `${e.object.name}:${e.reason}`);

  test("a namespace gains the pressure events of its pods' nodes, not other nodes' and not routine ones", async () => {
    const evidence = await collect('default');
    expect(evidence.nodeEvents).toEqual({ namespace: 'default', status: 'ok' });
    expect(nodeReasons(evidence)).toEqual([`${POD_NODE}:NodeHasInsufficientMemory`]);
    expect(only(evidence, 'checkout').events.filter((e) => e.object.kind === 'Pod').length).toBeGreaterThan(0);
    expect(k8s.requestLog.some((r) => r.path === '/api/v1/namespaces/default/events')).toBe(true);
  });

  test('unconfigured, no namespace beyond the triaged ones is read', async () => {
    const before = k8s.requestLog.length;
    const evidence = await collect();
    expect(evidence.nodeEvents).toBeUndefined();
    expect(nodeReasons(evidence)).toEqual([]);
    expect(k8s.requestLog.slice(before).filter((r) => r.path.includes('/namespaces/default/'))).toEqual([]);
  });

  test('without a binding in that namespace (403) the node events are unavailable, with the reason, and the surface stands', async () => {
    k8s.setRbac({
      rules: [],
      namespaceRules: {
        checkout: [
          {
            verbs: ['get', 'list', 'watch'],
            apiGroups: ['', 'apps'],
            resources: ['pods', 'pods/log', 'events', 'deployments', 'replicasets'],
          },
        ],
      },
    });
    const evidence = await collect('default');
    expect(evidence.nodeEvents).toEqual({
      namespace: 'default',
      status: 'unavailable',
      reason: expect.stringMatching(/forbidden.*events.*default/),
    });
    expect(only(evidence, 'checkout').pods.length).toBeGreaterThan(0);
    expect(nodeReasons(evidence)).toEqual([]);
    // Services, Endpoints, NetworkPolicies, Jobs, CronJobs, StatefulSets, DaemonSets, ControllerRevisions, HPAs and claims are
    // refused too: recorded as unavailable, never read as absent.
    const ns = only(evidence, 'checkout');
    expect(ns.unavailable?.map((u) => u.kind)).toEqual([
      'services',
      'endpoints',
      'networkpolicies',
      'jobs',
      'cronjobs',
      'statefulsets',
      'daemonsets',
      'controllerrevisions',
      'horizontalpodautoscalers',
      'persistentvolumeclaims',
    ]);
    expect([ns.statefulSets, ns.daemonSets]).toEqual([undefined, undefined]);
    expect(ns.unavailable?.[0]?.reason).toMatch(/403 Forbidden.*list on services/);
    expect(ns.unavailable?.[3]?.reason).toMatch(/403 Forbidden.*list on jobs/);
    expect([ns.services, ns.endpoints, ns.networkPolicies, ns.jobs, ns.cronJobs]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([ns.horizontalPodAutoscalers, ns.persistentVolumeClaims]).toEqual([undefined, undefined]);
  });

  test('under the view role, Services, Endpoints, NetworkPolicies, Jobs, CronJobs, StatefulSets and DaemonSets are read (none here) and nothing is unavailable', async () => {
    const ns = only(await collect(), 'checkout');
    expect([ns.services, ns.endpoints, ns.networkPolicies, ns.jobs, ns.cronJobs, ns.statefulSets, ns.daemonSets, ns.unavailable]).toEqual([
      [],
      [],
      [],
      [],
      [],
      [],
      [],
      undefined,
    ]);
    expect([ns.horizontalPodAutoscalers, ns.persistentVolumeClaims]).toEqual([[], []]);
  });
});

describe('a namespace of 2,000 pods, 10 failing', () => {
  let k8s: KubernetesEmulator;
  const shape = { pods: 2000, failing: 10, restarted: 300, warningEvents: 400, messageChars: 1000 };
  // Every failing pod has a previous log of long, coloured lines full of credentials.
  const crashLog = (pod: string) =>
    Array.from({ length: 30 }, (_, i) =>
      i === 29
        ? `fatal error: runtime: out of memory (${pod})`
        : `\u001b[33mwarn\u001b[0m batch=${i} token=ghp_${'A'.repeat(36)} password=bulk-Secret-${i} ${'x'.repeat(900)}`,
    ).join('\n') + '\n';
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({ scenario: scenarioWithLogs({ bulk: shape, 'bulk-b': shape }, crashLog), token: TOKEN });
  });
  afterAll(() => k8s.close());

  test('every page is read, the bound holds, and all failing pods are kept', async () => {
    const notable = generatedNamespace(shape, 'bulk').pods.filter((p) => p.status.containerStatuses[0]!.restartCount > 0).length;
    expect(notable).toBeGreaterThan(300);
    const before = k8s.requestLog.length;
    const evidence = await createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url) }).collectKubernetesEvidence(
      evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['bulk', 'bulk-b'] } }),
    );
    const podPages = k8s.requestLog.slice(before).filter((r) => r.path === '/api/v1/namespaces/bulk/pods');
    expect(podPages).toHaveLength(4);

    expect(evidenceBytes(evidence)).toBeLessThanOrEqual(MAX_EVIDENCE_BYTES);
    for (const name of ['bulk', 'bulk-b']) {
      const ns = only(evidence, name);
      expect(ns.podCounts.total).toBe(2000);
      expect(ns.podCounts.notReady).toBe(10);
      expect(ns.podCounts.byWaitingReason).toEqual({ CrashLoopBackOff: 10 });
      const expectedFailing = [...failingIndexes(shape)].map(podName).sort();
      const shownFailing = ns.pods.filter((p) => p.containers.some((c) => c.waiting?.reason === 'CrashLoopBackOff')).map((p) => p.name);
      expect(shownFailing.sort()).toEqual(expectedFailing);
      // Failing pods first, then restarted ones; everything not shown is counted.
      expect(ns.pods.slice(0, 10).every((p) => p.containers[0]?.waiting?.reason === 'CrashLoopBackOff')).toBe(true);
      // Two full namespaces do not fit in 64 KiB: the byte budget, not the per-list cap, decided here.
      expect(ns.pods.length).toBeLessThan(50);
      expect(ns.pods.length + ns.podsOmitted).toBe(notable);
      expect(ns.events.length).toBeLessThanOrEqual(50);
      expect(ns.events.length + ns.eventsOmitted).toBe(400);
      expect(Math.max(...ns.events.map((e) => e.message.length))).toBeLessThanOrEqual(300);
    }

    // 20 crashing containers, 5 log reads: one per workload first, then the next most notable.
    // Every workload has a crash read, so no running replica's own log is read besides.
    const reads = logReads(k8s.requestLog.slice(before));
    expect(reads).toHaveLength(5);
    expect(new Set(reads.map((r) => r.path.split('/')[4])).size).toBe(2);
    const logs = evidence.namespaces.flatMap((ns) =>
      ns.pods.flatMap((p) => p.containers.flatMap((c) => (c.previousLog ? [c.previousLog] : []))),
    );
    expect(logs).toHaveLength(5);
    for (const log of logs) {
      if (log.status !== 'ok') throw new Error(`log unavailable: ${log.reason}`);
      // The budget shed old lines before pods; the newest few, with the cause, stay.
      expect(log.lines.length).toBeGreaterThanOrEqual(5);
      expect(log.lines.length).toBeLessThanOrEqual(20);
      expect(log.lines[log.lines.length - 1]).toMatch(/^fatal error: runtime: out of memory/);
      expect(log.truncated).toBe(true);
      expect(log.redactions).toBeGreaterThan(0);
      expect(Math.max(...log.lines.map((l) => l.length))).toBeLessThanOrEqual(300);
    }
    const json = JSON.stringify(evidence);
    expect(json).not.toMatch(/ghp_|bulk-Secret|\\u001b|\[33m/);
  });
});

describe('previous logs with long lines', () => {
  const shape = { pods: 3, failing: 1 };
  const longLines = (pod: string) =>
    Array.from({ length: 40 }, (_, i) => (i === 39 ? `panic: cannot open ledger (${pod})` : `${i} ${'y'.repeat(3000)}`)).join('\n') + '\n';

  test('a read cut at limitBytes lacks the newest lines, so it is repeated with fewer: the last line is kept', async () => {
    const k8s = await startKubernetesEmulator({ scenario: scenarioWithLogs({ ledger: shape }, longLines), token: TOKEN });
    try {
      const evidence = await createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url) }).collectKubernetesEvidence(
        evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['ledger'] } }),
      );
      // 21 lines of 3 KB pass the 32 KiB limit; 5 do not.
      expect(logReads(k8s.requestLog)).toHaveLength(2);
      const log = only(evidence, 'ledger').pods[0]?.containers[0]?.previousLog;
      if (log?.status !== 'ok') throw new Error('no log');
      expect(log.truncated).toBe(true);
      expect(log.lines.map((l) => l.slice(0, 3))).toEqual(['35 ', '36 ', '37 ', '38 ', 'pan']);
      expect(log.lines[4]).toMatch(/^panic: cannot open ledger/);
    } finally {
      await k8s.close();
    }
  });
});

describe('Jobs and CronJobs', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({ scenario: batchScenario(NOW), token: TOKEN });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setRbac({ rules: null, namespaceRules: {} }));

  const collect = (url = k8s.url, labelSelector?: string) =>
    createKubernetesActivities({ kubeConfig: kubeConfig(url) }).collectKubernetesEvidence(
      evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['batch'], ...(labelSelector ? { labelSelector } : {}) } }),
    );
  const at = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString().replace('.000Z', 'Z');

  test('are read: failed Jobs first, then running, then complete, each naming its CronJob; the CronJob with its schedule and times', async () => {
    const ns = only(await collect(), 'batch');
    expect(ns.jobs?.map((j) => [j.name, j.cronJob])).toEqual([
      ['backup-29012340', 'backup'],
      ['report', undefined],
      ['backup-29008020', 'backup'],
    ]);
    expect(ns.jobs?.[0]).toEqual({
      name: 'backup-29012340',
      createdAt: at(40),
      completions: 1,
      parallelism: 1,
      backoffLimit: 1,
      active: 0,
      succeeded: 0,
      failed: 2,
      startTime: at(40),
      conditions: [
        {
          type: 'FailureTarget',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastTransitionTime: at(30),
        },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastTransitionTime: at(30),
        },
      ],
      cronJob: 'backup',
    });
    expect(ns.jobs?.[1]).toMatchObject({ active: 1, activeDeadlineSeconds: 3600, backoffLimit: 6 });
    expect(ns.cronJobs).toEqual([
      { name: 'backup', schedule: '20 11 * * *', suspend: false, active: 0, lastScheduleTime: at(40), lastSuccessfulTime: at(3 * 24 * 60) },
    ]);
    expect(ns.unavailable).toBeUndefined();
  });

  test('the label selector scopes them, and keeps the events about the Jobs it selects', async () => {
    const ns = only(await collect(k8s.url, 'app=backup'), 'batch');
    expect(ns.jobs?.map((j) => j.name)).toEqual(['backup-29012340', 'backup-29008020']);
    expect(ns.cronJobs?.map((c) => c.name)).toEqual(['backup']);
    expect(ns.events.map((e) => `${e.object.kind}/${e.object.name}:${e.reason}`)).toEqual(['Job/backup-29012340:BackoffLimitExceeded']);
  });

  test('a role without batch (403) makes them unavailable, not absent; the surface stands', async () => {
    k8s.setRbac({
      rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: ['', 'apps', 'networking.k8s.io', 'autoscaling'], resources: ['*'] }],
    });
    const ns = only(await collect(), 'batch');
    expect(ns.unavailable?.map((u) => u.kind)).toEqual(['jobs', 'cronjobs']);
    expect(ns.unavailable?.[1]?.reason).toMatch(/403 Forbidden.*list on cronjobs/);
    expect([ns.jobs, ns.cronJobs]).toEqual([undefined, undefined]);
    expect(ns.pods.map((p) => p.job)).toEqual(['backup-29012340']);
  });

  test('an apiserver that does not serve batch/v1 (404) makes them unavailable too', async () => {
    const server = createServer((req, res) => {
      if ((req.url ?? '').startsWith('/apis/batch/')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
        return;
      }
      void fetch(`${k8s.url}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (up) => {
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await up.arrayBuffer()));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const ns = only(await collect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), 'batch');
      expect(ns.unavailable).toEqual([
        { kind: 'jobs', status: 'unavailable', reason: 'HTTP 404 Not Found: the apiserver does not serve jobs' },
        { kind: 'cronjobs', status: 'unavailable', reason: 'HTTP 404 Not Found: the apiserver does not serve cronjobs' },
      ]);
      expect(ns.pods).toHaveLength(BATCH_NAMESPACE.pods.length);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('Nodes (kubernetes.readNodes)', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    // Bound as deploy/components/node-reader binds the worker in production.
    k8s = await startKubernetesEmulator({ scenario: nodesScenario(NOW), token: TOKEN, rules: viewAndNodeReaderRules() });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setRbac({ rules: viewAndNodeReaderRules() }));

  const collect = (readNodes?: boolean) =>
    createKubernetesActivities({
      kubeConfig: kubeConfig(k8s.url),
      ...(readNodes !== undefined ? { readNodes } : {}),
    }).collectKubernetesEvidence(evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['shop'] } }));
  const at = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString().replace('.000Z', 'Z');
  const nodeReads = () => k8s.requestLog.filter((r) => r.path.startsWith('/api/v1/nodes'));

  test('not configured: no Node is read and the evidence has none', async () => {
    const before = nodeReads().length;
    const evidence = await collect();
    expect(evidence.nodes).toBeUndefined();
    expect(nodeReads().length).toBe(before);
  });

  test('read once per triage: the nodes hosting our pods, then down, then cordoned, each with its Ready, pressure, taints and scheduling labels', async () => {
    const before = nodeReads().length;
    const evidence = await collect(true);
    expect(nodeReads().length - before).toBe(1);
    const nodes = evidence.nodes;
    if (nodes?.status !== 'ok') throw new Error(`nodes ${JSON.stringify(nodes)}`);
    expect(nodes.total).toBe(4);
    expect(nodes.items.map((n) => n.name)).toEqual([
      'ip-10-0-2-20.ec2.internal',
      'ip-10-0-1-10.ec2.internal',
      'ip-10-0-3-30.ec2.internal',
      'ip-10-0-4-40.ec2.internal',
    ]);
    expect(nodes.items[0]).toEqual({
      name: 'ip-10-0-2-20.ec2.internal',
      ready: {
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: at(25),
      },
      taints: ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'],
      labels: {
        'topology.kubernetes.io/zone': 'us-east-1b',
        'node.kubernetes.io/instance-type': 'm5.large',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'eks.amazonaws.com/nodegroup': 'general',
      },
      allocatable: { cpu: '1930m', memory: '7291952Ki' },
      pods: 1,
    });
    expect(nodes.items[2]).toMatchObject({
      unschedulable: true,
      taints: ['dedicated=data:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule'],
    });
    // The label keys pending pods select on are kept, with the values every node carries for them.
    expect(nodes.items[3]).toMatchObject({ pressure: ['MemoryPressure'], labels: expect.objectContaining({ team: 'data' }) });
    expect(nodes.labelValues).toEqual({ disktype: [], team: ['data'] });
    // A pending pod keeps its tolerations, which say which taints it accepts.
    expect(only(evidence, 'shop').pods.find((p) => p.name === 'etl-0')?.unscheduled?.tolerations).toEqual([
      'node.kubernetes.io/memory-pressure:NoSchedule',
    ]);
  });

  test('configured without the node-reader binding (view alone): unavailable with the reason, and the namespaces stand', async () => {
    k8s.setRbac({ rules: null });
    const evidence = await collect(true);
    expect(evidence.nodes).toEqual({
      status: 'unavailable',
      reason: "HTTP 403 Forbidden: the worker's Kubernetes role does not grant list on nodes (deploy/components/node-reader does)",
    });
    expect(only(evidence, 'shop').pods.length).toBeGreaterThan(0);
  });
});

describe('HorizontalPodAutoscalers and PersistentVolumeClaims', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({ scenario: autoscalingStorageScenario(NOW), token: TOKEN });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setRbac({ rules: null, namespaceRules: {} }));

  const collect = (labelSelector?: string) =>
    createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url) }).collectKubernetesEvidence(
      evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['shop'], ...(labelSelector ? { labelSelector } : {}) } }),
    );
  const at = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString().replace('.000Z', 'Z');

  test('are read: the HPA without metrics first, then the one at its maximum, each with its target, replicas, conditions and metrics against their targets', async () => {
    const ns = only(await collect(), 'shop');
    expect(ns.horizontalPodAutoscalers?.map((h) => h.name)).toEqual(['api', 'web', 'batch']);
    expect(ns.horizontalPodAutoscalers?.[1]).toEqual({
      name: 'web',
      target: { kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      currentReplicas: 10,
      desiredReplicas: 10,
      conditions: [
        {
          type: 'AbleToScale',
          status: 'True',
          reason: 'ReadyForNewScale',
          message: 'recommended size matches current size',
          lastTransitionTime: at(25),
        },
        {
          type: 'ScalingActive',
          status: 'True',
          reason: 'ValidMetricFound',
          message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
          lastTransitionTime: at(30 * 24 * 60),
        },
        {
          type: 'ScalingLimited',
          status: 'True',
          reason: 'TooManyReplicas',
          message: 'the desired replica count is more than the maximum replica count',
          lastTransitionTime: at(25),
        },
      ],
      metrics: ['cpu 180% of request (target 70%)'],
    });
    expect(ns.horizontalPodAutoscalers?.[0]).toMatchObject({
      desiredReplicas: 0,
      metrics: ['cpu: no current value (target 50%)'],
      conditions: [{ type: 'AbleToScale' }, { type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric' }],
    });
    expect(ns.unavailable).toBeUndefined();
  });

  test('claims: the Pending one first, with its class and request; the Bound one with its volume; a pod names the claims it mounts', async () => {
    const ns = only(await collect(), 'shop');
    expect(ns.persistentVolumeClaims).toEqual([
      {
        name: 'data-db',
        phase: 'Pending',
        storageClassName: 'fast-ssd',
        requested: '1Gi',
        accessModes: ['ReadWriteOnce'],
        createdAt: at(12),
        conditions: [],
      },
      {
        name: 'logs',
        phase: 'Bound',
        storageClassName: 'gp3',
        requested: '10Gi',
        accessModes: ['ReadWriteOnce'],
        volumeName: 'pvc-3f0c2a4e-9b1d-4c6e-8a7f-2d5e1b9c0a11',
        createdAt: at(30 * 24 * 60),
        conditions: [],
      },
    ]);
    expect(ns.pods.map((p) => [p.name, p.claims])).toEqual([['db-0', ['data-db']]]);
  });

  test('the label selector scopes them, and keeps the events about the claims it selects', async () => {
    const ns = only(await collect('app=db'), 'shop');
    expect([ns.horizontalPodAutoscalers, ns.persistentVolumeClaims?.map((c) => c.name)]).toEqual([[], ['data-db']]);
    expect(ns.events.map((e) => `${e.object.kind}/${e.object.name}:${e.reason}`)).toEqual([
      'PersistentVolumeClaim/data-db:ProvisioningFailed',
    ]);
  });

  test('a role without autoscaling nor claims (403) makes them unavailable, not absent; the surface stands', async () => {
    k8s.setRbac({
      rules: [
        { verbs: ['get', 'list', 'watch'], apiGroups: ['apps', 'networking.k8s.io', 'batch'], resources: ['*'] },
        { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log', 'events', 'services', 'endpoints'] },
      ],
    });
    const ns = only(await collect(), 'shop');
    expect(ns.unavailable?.map((u) => u.kind)).toEqual(['horizontalpodautoscalers', 'persistentvolumeclaims']);
    expect(ns.unavailable?.[1]?.reason).toMatch(/403 Forbidden.*list on persistentvolumeclaims/);
    expect([ns.horizontalPodAutoscalers, ns.persistentVolumeClaims]).toEqual([undefined, undefined]);
    expect(ns.pods.map((p) => p.name)).toEqual(['db-0']);
  });
});

const CORE_READ = [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log', 'events'] }];

describe('StatefulSets, DaemonSets and their ControllerRevisions', () => {
  let k8s: KubernetesEmulator;
  beforeAll(async () => {
    k8s = await startKubernetesEmulator({ scenario: statefulScenario(NOW), token: TOKEN });
  });
  afterAll(() => k8s.close());
  afterEach(() => k8s.setRbac({ rules: null, namespaceRules: {} }));

  const collect = (labelSelector?: string) =>
    createKubernetesActivities({ kubeConfig: kubeConfig(k8s.url) }).collectKubernetesEvidence(
      evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['data'], ...(labelSelector ? { labelSelector } : {}) } }),
    );
  const at = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString().replace('.000Z', 'Z');

  test('are read with their newest two revisions, digested like ReplicaSets: the env change between them shows, the raw data is not kept', async () => {
    const ns = only(await collect(), 'data');
    const [db] = ns.statefulSets ?? [];
    expect(db).toMatchObject({
      name: 'db',
      replicas: 3,
      ready: 2,
      updated: 1,
      currentRevision: 'db-5d8c7b6f4',
      updateRevision: 'db-7c9d4f8b6',
      updateStrategy: 'RollingUpdate',
      images: ['postgres:16.2'],
    });
    expect(db).not.toHaveProperty('partition');
    expect(db?.revisions.map((r) => [r.name, r.revision, r.createdAt, r.images])).toEqual([
      ['db-7c9d4f8b6', 2, at(10), ['postgres:16.2']],
      ['db-5d8c7b6f4', 1, at(30 * 24 * 60), ['postgres:16.2']],
    ]);
    const [newer, older] = db!.revisions;
    const changed = Object.keys(newer!.template!).filter((part) => newer!.template![part] !== older!.template![part]);
    expect(changed).toEqual(['db: env']);
    expect(JSON.stringify(ns)).not.toContain('MAX_CONNECTIONS');
    expect(ns.daemonSets).toEqual([
      {
        name: 'node-agent',
        desired: 1,
        ready: 1,
        updated: 1,
        unavailable: 0,
        misscheduled: 0,
        updateStrategy: 'RollingUpdate',
        images: ['agent:3.1'],
        revisions: [expect.objectContaining({ name: 'node-agent-6b7f9c8d5', revision: 3 }), expect.objectContaining({ revision: 2 })],
      },
    ]);
    // The crash-looping ordinal, and the DaemonSet's one quiet pod; db's healthy ordinals are of a failing workload.
    expect(ns.pods.map((p) => [p.name, p.statefulSet ?? p.daemonSet, p.controllerRevision])).toEqual([
      ['db-2', 'db', 'db-7c9d4f8b6'],
      ['node-agent-x7k2p', 'node-agent', '6b7f9c8d5'],
    ]);
  });

  test('the label selector scopes them and their revisions', async () => {
    const ns = only(await collect('app=node-agent'), 'data');
    expect([ns.statefulSets, ns.daemonSets?.map((d) => [d.name, d.revisions.length])]).toEqual([[], [['node-agent', 2]]]);
  });

  test('a role without them (403) makes them unavailable, not absent; the surface stands and pods still name their owner', async () => {
    k8s.setRbac({
      rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: ['apps'], resources: ['deployments', 'replicasets'] }, ...CORE_READ],
    });
    const ns = only(await collect(), 'data');
    expect(ns.unavailable?.map((u) => u.kind)).toEqual(expect.arrayContaining(['statefulsets', 'daemonsets', 'controllerrevisions']));
    expect([ns.statefulSets, ns.daemonSets]).toEqual([undefined, undefined]);
    expect(ns.pods.map((p) => p.statefulSet)).toEqual(['db']);
  });
});

describe('no answer from the apiserver', () => {
  const scope = { cluster: 'sandbox', namespaces: ['checkout'] };

  test('connection refused → retryable network failure', async () => {
    const gone = await startKubernetesEmulator({ scenario: await loadScenario(CRASHLOOP), token: TOKEN });
    await gone.close();
    const f = await failureOf(
      createKubernetesActivities({ kubeConfig: kubeConfig(gone.url) }).collectKubernetesEvidence(evidenceRequest({ kubernetes: scope })),
    );
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpNetworkError', message: 'kubernetes: request failed (ECONNREFUSED)' });
  });

  test('cancelling the activity aborts the requests and surfaces as a cancellation, not a retryable failure', async () => {
    let opened = 0;
    let closed = 0;
    const server = createServer((req) => {
      // never answers; counts how many requests the client abandons
      opened++;
      req.socket.on('close', () => closed++);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const env = new MockActivityEnvironment();
      const { collectKubernetesEvidence } = createKubernetesActivities({ kubeConfig: kubeConfig(url), timeoutMs: 60_000 });
      const running = env.run(collectKubernetesEvidence, evidenceRequest({ kubernetes: scope }));
      setTimeout(() => env.cancel(), 200);
      const err = await running.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      expect(err).not.toBeInstanceOf(ApplicationFailure);
      // The abort reached the sockets: all twelve list requests were dropped long before the 60 s timeout.
      for (let i = 0; i < 50 && closed < 14; i++) await new Promise((r) => setTimeout(r, 20));
      expect(opened).toBe(14);
      expect(closed).toBe(14);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a hanging apiserver times out per request → retryable HttpTimeout', async () => {
    const server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const started = Date.now();
      const f = await failureOf(
        createKubernetesActivities({ kubeConfig: kubeConfig(url), timeoutMs: 300 }).collectKubernetesEvidence(
          evidenceRequest({ kubernetes: scope }),
        ),
      );
      expect(f).toMatchObject({ nonRetryable: false, type: 'HttpTimeout', message: 'kubernetes: request timed out' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
