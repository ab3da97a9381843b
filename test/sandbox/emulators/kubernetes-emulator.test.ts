import { fileURLToPath } from 'node:url';
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { buildScenario, loadScenario, type Scenario } from '../../../sandbox/scenario.js';
import { startKubernetesEmulator, type KubernetesEmulator } from '../../../sandbox/emulators/kubernetes.js';
import { GENERATED_INCIDENT, generatedScenario } from '../generated-scenario.js';

const CRASHLOOP = fileURLToPath(new URL('../../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const TOKEN = 'sandbox-k8s-token-0123456789';

let scenario: Scenario;
let k8s: KubernetesEmulator;

beforeAll(async () => {
  scenario = await loadScenario(CRASHLOOP);
  k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
});
afterAll(() => k8s.close());
afterEach(() => k8s.setFault(null));

function get(path: string, init: { token?: string | null; method?: string; accept?: string } = {}) {
  return apiserverRequest(k8s.url, path, { ...init, token: init.token === undefined ? TOKEN : init.token });
}

function names(body: Record<string, any> | undefined): string[] {
  return (body?.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
}

describe('lists', () => {
  test('pods come back as a PodList with kind, apiVersion and metadata filled, its items without kind or apiVersion', async () => {
    const { status, body } = await get('/api/v1/namespaces/checkout/pods');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    expect(body?.metadata.continue).toBeUndefined();
    expect(names(body)).toEqual([
      'checkout-api-5c7d9f8b46-m4t8v',
      'checkout-api-6b8f7c9d54-q9w4z',
      'checkout-api-6b8f7c9d54-x7k2p',
      'checkout-worker-7f6d5c4b9-h2n6r',
    ]);
    const item = body?.items[2];
    // As a real kube-apiserver answers: the list names its items' kind once.
    expect(item).not.toHaveProperty('kind');
    expect(item).not.toHaveProperty('apiVersion');
    expect(item).toMatchObject({ metadata: { namespace: 'checkout', uid: '3f6a1c2e-8b4d-4e7a-9c1f-2d5b6a7e8f01' } });
    expect(item.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(item.status.containerStatuses[0].state.waiting.reason).toBe('CrashLoopBackOff');
  });

  test.each([
    ['/api/v1/namespaces/checkout/events', 'EventList', 'v1', 'Event'],
    ['/apis/apps/v1/namespaces/checkout/deployments', 'DeploymentList', 'apps/v1', 'Deployment'],
    ['/apis/apps/v1/namespaces/checkout/replicasets', 'ReplicaSetList', 'apps/v1', 'ReplicaSet'],
  ])('%s is a %s; its items name their kind when read alone', async (path, listKind, apiVersion, kind) => {
    const { status, body } = await get(path);
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: listKind, apiVersion });
    expect(body?.items.length).toBeGreaterThan(0);
    for (const item of body?.items ?? []) {
      expect(item).not.toHaveProperty('kind');
      const alone = await get(`${path}/${item.metadata.name}`);
      expect(alone.body).toEqual({ kind, apiVersion, ...item });
    }
  });

  test('an unknown namespace lists as empty, not 404', async () => {
    const { status, body } = await get('/api/v1/namespaces/nowhere/pods');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'PodList', items: [] });
  });

  test('get by name, and NotFound for a missing object', async () => {
    const found = await get('/apis/apps/v1/namespaces/checkout/deployments/checkout-api');
    expect(found.body).toMatchObject({ kind: 'Deployment', metadata: { name: 'checkout-api' } });
    const missing = await get('/api/v1/namespaces/checkout/pods/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: 'pods "nope" not found',
    });
  });

  test('/version', async () => {
    const { status, body } = await get('/version', { token: null });
    expect(status).toBe(200);
    expect(body).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) });
  });
});

describe('pod logs', () => {
  const CRASHED = 'checkout-api-6b8f7c9d54-x7k2p';
  const logPath = (pod: string, query = '') => `/api/v1/namespaces/checkout/pods/${pod}/log${query ? `?${query}` : ''}`;

  async function getLog(path: string, base = k8s.url) {
    const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    const json = res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, any>) : undefined;
    return { status: res.status, type: res.headers.get('content-type'), text, body: json };
  }

  function scenarioLog(pod: string): string {
    const log = scenario.kubernetes.namespaces['checkout']?.logs.find((l) => l.pod === pod && l.previous);
    if (!log) throw new Error(`no log for ${pod}`);
    return log.text;
  }

  test("previous=true answers the scenario's log as text/plain, defaulting the only container", async () => {
    const { status, type, text } = await getLog(logPath(CRASHED, 'previous=true'));
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(text).toBe(scenarioLog(CRASHED));
    expect(text).toContain('startup failed');
    expect((await getLog(logPath(CRASHED, 'previous=true&container=checkout-api'))).text).toBe(text);
  });

  test('tailLines keeps the last lines; limitBytes then cuts the start of that tail, mid-line', async () => {
    const lines = scenarioLog(CRASHED).split('\n').slice(0, -1);
    expect((await getLog(logPath(CRASHED, 'previous=true&tailLines=2'))).text).toBe(`${lines.slice(-2).join('\n')}\n`);
    expect((await getLog(logPath(CRASHED, 'previous=true&tailLines=2&limitBytes=20'))).text).toBe(lines[lines.length - 2]!.slice(0, 20));
    expect((await getLog(logPath(CRASHED, 'previous=true&tailLines=0'))).text).toBe('');
    expect((await getLog(logPath(CRASHED, 'previous=true&tailLines=500'))).text).toBe(scenarioLog(CRASHED));
  });

  test('previous=true without a previous log, or for a container that never restarted, is the apiserver 400', async () => {
    for (const pod of ['checkout-api-6b8f7c9d54-q9w4z', 'checkout-api-5c7d9f8b46-m4t8v']) {
      const { status, body } = await getLog(logPath(pod, 'previous=true'));
      expect(status).toBe(400);
      expect(body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'BadRequest',
        code: 400,
        message: `previous terminated container "checkout-api" in pod "${pod}" not found`,
      });
    }
  });

  test('the current log of a container waiting to restart is its last run; a running one without a log is empty', async () => {
    expect((await getLog(logPath(CRASHED))).text).toBe(scenarioLog(CRASHED));
    expect(await getLog(logPath('checkout-api-5c7d9f8b46-m4t8v', 'previous=false'))).toMatchObject({ status: 200, text: '' });
  });

  test('an unknown pod is a NotFound Status; an unknown container a BadRequest', async () => {
    const missing = await getLog(logPath('nope', 'previous=true'));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: 'pods "nope" not found',
      details: { name: 'nope', kind: 'pods' },
    });
    const container = await getLog(logPath(CRASHED, 'container=sidecar'));
    expect(container.status).toBe(400);
    expect(container.body?.message).toBe(`container sidecar is not valid for pod ${CRASHED}`);
  });

  test('follow is refused: the sandbox does not stream', async () => {
    const { status, body } = await getLog(logPath(CRASHED, 'follow=true'));
    expect(status).toBe(400);
    expect(body).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: expect.stringContaining('follow') });
    expect((await getLog(logPath(CRASHED, 'follow=false&previous=1'))).status).toBe(200);
  });

  test.each([
    [
      'tailLines=-1',
      422,
      'PodLogOptions "checkout-api-6b8f7c9d54-x7k2p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    ],
    ['limitBytes=0', 422, 'PodLogOptions "checkout-api-6b8f7c9d54-x7k2p" is invalid: limitBytes: Invalid value: 0: must be greater than 0'],
    ['tailLines=ten', 400, 'strconv.ParseInt: parsing "ten": invalid syntax'],
    ['previous=yes', 400, 'strconv.ParseBool: parsing "yes": invalid syntax'],
  ])('%s → %i', async (query, code, message) => {
    const { status, body } = await getLog(logPath(CRASHED, query));
    expect(status).toBe(code);
    expect(body).toMatchObject({ kind: 'Status', code, message });
  });

  test('the same auth and faults as every other route', async () => {
    const res = await fetch(`${k8s.url}${logPath(CRASHED, 'previous=true')}`);
    expect(res.status).toBe(401);
    k8s.setFault({ status: 503, retryAfterSeconds: 3 });
    const { status, body } = await getLog(logPath(CRASHED, 'previous=true'));
    expect(status).toBe(503);
    expect(body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
  });

  describe('a pod with several containers', () => {
    let multi: KubernetesEmulator;
    beforeAll(async () => {
      const status = (name: string, restartCount: number, waiting: string) => ({
        name,
        image: `${name}:1`,
        ready: false,
        restartCount,
        state: { waiting: { reason: waiting } },
        ...(restartCount > 0 ? { lastState: { terminated: { exitCode: 1, reason: 'Error' } } } : {}),
      });
      const input = {
        name: 'multi',
        description: 'a pod with a sidecar and an init container',
        pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
        kubernetes: {
          namespaces: {
            checkout: {
              pods: [
                {
                  metadata: { name: 'two' },
                  spec: {
                    containers: [
                      { name: 'app', image: 'app:1' },
                      { name: 'proxy', image: 'proxy:1' },
                    ],
                    initContainers: [{ name: 'migrate', image: 'migrate:1' }],
                  },
                  status: {
                    phase: 'Running' as const,
                    containerStatuses: [status('app', 3, 'CrashLoopBackOff'), status('proxy', 0, 'ContainerCreating')],
                  },
                },
              ],
              logs: [
                { pod: 'two', container: 'app', text: 'app crashed\n' },
                { pod: 'two', container: 'migrate', previous: false, text: 'migrations applied\n' },
              ],
            },
          },
        },
      };
      multi = await startKubernetesEmulator({ scenario: buildScenario(input), token: TOKEN });
    });
    afterAll(() => multi.close());

    test('no container named is the apiserver 400 listing them, init containers included', async () => {
      const { status, body } = await getLog(logPath('two', 'previous=true'), multi.url);
      expect(status).toBe(400);
      expect(body?.message).toBe(
        'a container name must be specified for pod two, choose one of: [app proxy] or one of the init containers: [migrate]',
      );
    });

    test('each container answers its own log; one still waiting to start is the kubelet 400', async () => {
      expect((await getLog(logPath('two', 'container=app&previous=true'), multi.url)).text).toBe('app crashed\n');
      expect((await getLog(logPath('two', 'container=migrate'), multi.url)).text).toBe('migrations applied\n');
      const waiting = await getLog(logPath('two', 'container=proxy'), multi.url);
      expect(waiting.status).toBe(400);
      expect(waiting.body?.message).toBe('container "proxy" in pod "two" is waiting to start: ContainerCreating');
    });
  });
});

describe('selectors', () => {
  test.each([
    ['app=checkout-api', 3],
    ['app==checkout-worker', 1],
    ['app!=checkout-api', 1],
    ['app=checkout-api,pod-template-hash=6b8f7c9d54', 2],
    ['app in (checkout-api,checkout-worker)', 4],
    ['pod-template-hash notin (6b8f7c9d54)', 2],
    ['app.kubernetes.io/part-of', 3],
    ['!app.kubernetes.io/part-of', 1],
  ])('labelSelector %j selects %i pods', async (selector, count) => {
    const { status, body } = await get(`/api/v1/namespaces/checkout/pods?labelSelector=${encodeURIComponent(selector)}`);
    expect(status).toBe(200);
    expect(body?.items).toHaveLength(count);
  });

  test('a malformed label selector is a 400 BadRequest Status', async () => {
    const { status, body } = await get(`/api/v1/namespaces/checkout/pods?labelSelector=${encodeURIComponent('app in (a')}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400 });
  });

  test('field selectors the apiserver supports work; others are a 400', async () => {
    const warnings = await get(
      `/api/v1/namespaces/checkout/events?fieldSelector=${encodeURIComponent('type=Warning,involvedObject.kind=Pod')}`,
    );
    expect(warnings.body?.items).toHaveLength(3);
    const named = await get('/api/v1/namespaces/checkout/pods?fieldSelector=metadata.name%3Dcheckout-api-6b8f7c9d54-q9w4z');
    expect(names(named.body)).toEqual(['checkout-api-6b8f7c9d54-q9w4z']);
    const bad = await get('/api/v1/namespaces/checkout/pods?fieldSelector=spec.containers%3Dx');
    expect(bad.status).toBe(400);
    expect(bad.body?.message).toBe('field label not supported: spec.containers');
  });
});

describe('auth and methods', () => {
  test.each([
    ['missing', null],
    ['wrong', 'not-the-token'],
  ])('%s token → 401 Unauthorized Status', async (_what, token) => {
    const { status, body } = await get('/api/v1/namespaces/checkout/pods', { token });
    expect(status).toBe(401);
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  test('a wrong token is refused even on /version', async () => {
    expect((await get('/version', { token: 'nope' })).status).toBe(401);
  });

  test.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%s → 405 MethodNotAllowed', async (method) => {
    const { status, body } = await get('/api/v1/namespaces/checkout/pods', { method });
    expect(status).toBe(405);
    expect(body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
  });

  test('unknown paths are a NotFound Status', async () => {
    const { status, body } = await get('/api/v1/namespaces/checkout/secrets');
    expect(status).toBe(404);
    expect(body).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  test('an Accept without JSON is refused', async () => {
    expect((await get('/api/v1/namespaces/checkout/pods', { accept: 'application/vnd.kubernetes.protobuf' })).status).toBe(406);
  });
});

describe('faults', () => {
  test('every request fails while set, with Retry-After and the Status shape', async () => {
    k8s.setFault({ status: 503, retryAfterSeconds: 7 });
    for (const path of ['/api/v1/namespaces/checkout/pods', '/version']) {
      const { status, headers, body } = await get(path);
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toBe('7');
      expect(body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'ServiceUnavailable',
        code: 503,
        details: { retryAfterSeconds: 7 },
      });
    }
    k8s.setFault(null);
    expect((await get('/api/v1/namespaces/checkout/pods')).status).toBe(200);
  });

  test('times limits the fault to the next N requests, then the surface recovers', async () => {
    k8s.setFault({ status: 429, times: 2 });
    expect((await get('/version')).status).toBe(429);
    expect((await get('/version')).body).toMatchObject({ reason: 'TooManyRequests', code: 429 });
    expect((await get('/version')).status).toBe(200);
  });

  test('invalid faults are refused', () => {
    expect(() => k8s.setFault({ status: 200 })).toThrow(RangeError);
    expect(() => k8s.setFault({ status: 500, times: 0 })).toThrow(RangeError);
  });

  test('requests are counted, refused ones included', async () => {
    const before = k8s.requests;
    await get('/version');
    await get('/version', { token: 'nope' });
    expect(k8s.requests).toBe(before + 2);
  });
});

describe('chunked lists over 2,000 pods', () => {
  let big: KubernetesEmulator;
  beforeAll(async () => {
    big = await startKubernetesEmulator({ scenario: generatedScenario({ bulk: { pods: 2000, failing: 10 } }), token: TOKEN });
  });
  afterAll(() => big.close());

  async function bigGet(path: string) {
    const res = await fetch(`${big.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('limit + continue walks every pod exactly once', async () => {
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const { status, body } = await bigGet(`/api/v1/namespaces/bulk/pods?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      expect(status).toBe(200);
      seen.push(...names(body));
      cont = body.metadata.continue;
      if (cont) expect(body.metadata.remainingItemCount).toBe(2000 - seen.length);
      pages++;
    } while (cont);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(2000);
    expect(new Set(seen).size).toBe(2000);
  });

  test('a selector applies across pages (no remainingItemCount then)', async () => {
    const first = await bigGet('/api/v1/namespaces/bulk/pods?limit=3&labelSelector=app%3Dbulk-api');
    expect(first.body.items).toHaveLength(3);
    expect(first.body.metadata.remainingItemCount).toBeUndefined();
    expect(first.body.metadata.continue).toEqual(expect.any(String));
  });

  test('a garbage continue token is a 400; a stale one is a 410 Expired', async () => {
    const garbage = await bigGet('/api/v1/namespaces/bulk/pods?limit=10&continue=%25%25%25');
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const notJson = await bigGet(`/api/v1/namespaces/bulk/pods?limit=10&continue=${Buffer.from('hello').toString('base64url')}`);
    expect(notJson.status).toBe(400);

    const first = await bigGet('/api/v1/namespaces/bulk/pods?limit=10');
    big.replaceScenario(generatedScenario({ bulk: { pods: 2000, failing: 10 } }));
    const stale = await bigGet(`/api/v1/namespaces/bulk/pods?limit=10&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    expect(stale.status).toBe(410);
    expect(stale.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  test('a bad limit is a 400', async () => {
    expect((await bigGet('/api/v1/namespaces/bulk/pods?limit=-1')).status).toBe(400);
    expect((await bigGet('/api/v1/namespaces/bulk/pods?limit=ten')).status).toBe(400);
  });
});

describe('@kubernetes/client-node against the emulator', () => {
  const kubeConfig = (token: string) => emulatorKubeConfig(k8s.url, token);

  test('CoreV1Api.listNamespacedPod returns typed pods', async () => {
    const core = kubeConfig(TOKEN).makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'checkout', labelSelector: 'app=checkout-api', limit: 2 });
    expect(list.kind).toBe('PodList');
    expect(list.items).toHaveLength(2);
    expect(list.items[0]?.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const rest = await core.listNamespacedPod({
      namespace: 'checkout',
      labelSelector: 'app=checkout-api',
      limit: 2,
      _continue: list.metadata?._continue,
    });
    expect(rest.items.map((p) => p.metadata?.name)).toEqual(['checkout-api-6b8f7c9d54-x7k2p']);
    expect(rest.metadata?._continue).toBeUndefined();
  });

  test('a wrong token surfaces as ApiException 401', async () => {
    const core = kubeConfig('wrong').makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace: 'checkout' })).rejects.toMatchObject({ code: 401 });
  });

  test('CoreV1Api.readNamespacedPodLog returns the text; a missing previous log is an ApiException 400 with its Status', async () => {
    const core = kubeConfig(TOKEN).makeApiClient(CoreV1Api);
    const text = await core.readNamespacedPodLog({
      namespace: 'checkout',
      name: 'checkout-api-6b8f7c9d54-x7k2p',
      previous: true,
      tailLines: 1,
    });
    expect(text).toMatch(/^level=fatal msg="startup failed/);
    const err = await core.readNamespacedPodLog({ namespace: 'checkout', name: 'checkout-api-6b8f7c9d54-q9w4z', previous: true }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(400);
    expect(JSON.parse(String(err?.body))).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: expect.stringContaining('previous terminated container'),
    });
  });

  test('VersionApi.getCode', async () => {
    const info = await kubeConfig(TOKEN).makeApiClient(VersionApi).getCode();
    expect(info.major).toBe('1');
  });
});

describe('node events', () => {
  const pressure = (node: string, reason: string, hex: string) => ({
    metadata: { name: `${node}.${hex}`, creationTimestamp: '${now-12m}' },
    involvedObject: { kind: 'Node', name: node, uid: node },
    type: reason === 'EvictionThresholdMet' ? ('Warning' as const) : ('Normal' as const),
    reason,
    message: reason === 'EvictionThresholdMet' ? 'Attempting to reclaim memory' : `Node ${node} status is now: ${reason}`,
    count: 1,
    firstTimestamp: '${now-12m}',
    lastTimestamp: '${now-2m}',
    source: { component: 'kubelet', host: node },
  });
  const podEvent = (namespace: string, pod: string) => ({
    metadata: { name: `${pod}.1820b6f1c3a5e701` },
    involvedObject: { kind: 'Pod', name: pod, namespace },
    type: 'Warning' as const,
    reason: 'Evicted',
    message: 'The node was low on resource: memory.',
    lastTimestamp: '${now-11m}',
  });
  const NODE_EVENTS = [
    pressure('node-a', 'NodeHasInsufficientMemory', '1820b6d8e2a4c6f1'),
    pressure('node-a', 'EvictionThresholdMet', '1820b6d8e3b5d702'),
    pressure('node-b', 'NodeHasDiskPressure', '1820b6d8e4c6e813'),
  ];
  const shop = {
    pods: [{ metadata: { name: 'web-1' }, spec: { nodeName: 'node-a', containers: [{ name: 'web', image: 'web:1' }] } }],
    events: [podEvent('shop', 'web-1')],
  };

  let cluster: KubernetesEmulator;
  beforeAll(async () => {
    const input = {
      name: 'nodes',
      description: 'node pressure',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { shop }, nodeEvents: NODE_EVENTS },
    };
    cluster = await startKubernetesEmulator({ scenario: buildScenario(input), token: TOKEN });
  });
  afterAll(() => cluster.close());

  async function clusterGet(path: string) {
    const res = await fetch(`${cluster.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('are served as events of namespace default, which the scenario does not list, and nowhere else', async () => {
    const { status, body } = await clusterGet('/api/v1/namespaces/default/events');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'EventList', apiVersion: 'v1' });
    expect(body.items).toHaveLength(3);
    for (const item of body.items) {
      expect(item).toMatchObject({
        metadata: { namespace: 'default', uid: expect.any(String), resourceVersion: expect.stringMatching(/^\d+$/) },
      });
      expect(item.involvedObject.kind).toBe('Node');
      expect(item.involvedObject.namespace).toBeUndefined();
    }
    expect(names((await clusterGet('/api/v1/namespaces/shop/events')).body)).toEqual(['web-1.1820b6f1c3a5e701']);
    // `default` holds events only: no pods, deployments or replica sets come with them.
    expect((await clusterGet('/api/v1/namespaces/default/pods')).body.items).toEqual([]);
    const one = await clusterGet('/api/v1/namespaces/default/events/node-a.1820b6d8e3b5d702');
    expect(one.body).toMatchObject({ reason: 'EvictionThresholdMet', metadata: { namespace: 'default' } });
  });

  test('fieldSelector involvedObject.kind=Node selects them, alone or with the node name', async () => {
    const nodes = await clusterGet(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Node')}`);
    expect(nodes.status).toBe(200);
    expect(nodes.body.items).toHaveLength(3);
    const nodeA = await clusterGet(
      `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Node,involvedObject.name=node-a')}`,
    );
    expect(nodeA.body.items.map((e: { reason: string }) => e.reason).sort()).toEqual(['EvictionThresholdMet', 'NodeHasInsufficientMemory']);
    const pods = await clusterGet(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Pod')}`);
    expect(pods.body.items).toEqual([]);
  });

  test('the worker’s list call (CoreV1Api, field selector, chunked) reads them', async () => {
    const core = emulatorKubeConfig(cluster.url, TOKEN).makeApiClient(CoreV1Api);
    const first = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node', limit: 2 });
    const rest = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.kind=Node',
      limit: 2,
      _continue: first.metadata?._continue,
    });
    expect([...first.items, ...rest.items].map((e) => `${e.involvedObject.name}/${e.reason}`)).toEqual([
      'node-a/NodeHasInsufficientMemory',
      'node-a/EvictionThresholdMet',
      'node-b/NodeHasDiskPressure',
    ]);
    expect(first.items[0]?.lastTimestamp).toBeInstanceOf(Date);
  });

  test('join the events a scenario lists under its own default namespace', async () => {
    const input = {
      name: 'nodes-and-default',
      description: 'a scenario that triages namespace default',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { default: { ...shop, events: [podEvent('default', 'web-1')] } }, nodeEvents: NODE_EVENTS },
    };
    const both = await startKubernetesEmulator({ scenario: buildScenario(input), token: TOKEN });
    try {
      const res = await fetch(`${both.url}/api/v1/namespaces/default/events`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as Record<string, any>;
      expect(body.items.map((e: { involvedObject: { kind: string } }) => e.involvedObject.kind).sort()).toEqual([
        'Node',
        'Node',
        'Node',
        'Pod',
      ]);
      const pods = await fetch(`${both.url}/api/v1/namespaces/default/pods`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(names((await pods.json()) as Record<string, any>)).toEqual(['web-1']);
    } finally {
      await both.close();
    }
  });

  test('without node events, an unlisted default namespace stays empty', async () => {
    expect((await get('/api/v1/namespaces/default/events')).body?.items).toEqual([]);
  });
});

// ---- RBAC: SelfSubjectAccessReview, SelfSubjectRulesReview, and reads it decides ----

import { AuthorizationV1Api, type V1ResourceAttributes } from '@kubernetes/client-node';
import { VIEW_CLUSTER_ROLE_RULES, type PolicyRule } from '../../../sandbox/emulators/kubernetes.js';
import { apiserverRequest, emulatorKubeConfig } from './kubernetes-client.js';

describe('RBAC', () => {
  let rbac: KubernetesEmulator;
  beforeAll(async () => {
    rbac = await startKubernetesEmulator({ scenario, token: TOKEN });
  });
  afterAll(() => rbac.close());
  afterEach(() => rbac.setRbac({ rules: null }));

  function api(): AuthorizationV1Api {
    return emulatorKubeConfig(rbac.url, TOKEN).makeApiClient(AuthorizationV1Api);
  }

  async function can(attrs: V1ResourceAttributes): Promise<boolean> {
    const review = await api().createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } },
    });
    return review.status?.allowed ?? false;
  }

  async function post(path: string, body: unknown, contentType = 'application/json') {
    const res = await fetch(`${rbac.url}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('the default is the view ClusterRole: reads of the common resources, no Secrets, no writes', async () => {
    expect(await can({ namespace: 'checkout', verb: 'list', resource: 'pods' })).toBe(true);
    expect(await can({ namespace: 'checkout', verb: 'get', resource: 'pods', subresource: 'log', name: 'any' })).toBe(true);
    expect(await can({ namespace: 'checkout', verb: 'watch', group: 'apps', resource: 'deployments' })).toBe(true);
    expect(await can({ namespace: '', verb: 'list', resource: 'events' })).toBe(true);
    for (const verb of ['get', 'list', 'watch']) {
      expect(await can({ namespace: 'checkout', verb, resource: 'secrets' })).toBe(false);
      expect(await can({ namespace: '', verb, resource: 'secrets' })).toBe(false);
    }
    expect(await can({ namespace: 'checkout', verb: 'create', resource: 'pods' })).toBe(false);
    expect(await can({ namespace: 'checkout', verb: 'create', resource: 'pods', subresource: 'exec' })).toBe(false);
    expect(await can({ namespace: '', verb: 'delete', resource: 'namespaces' })).toBe(false);
    // The bootstrap policy gives every authenticated user the self reviews.
    expect(await can({ verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' })).toBe(true);
  });

  test('the review comes back as the apiserver sends it: 201, the spec echoed, the status with the binding that allowed it', async () => {
    const attrs = { namespace: 'checkout', verb: 'list', group: '', resource: 'pods' };
    const allowed = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: attrs },
    });
    expect(allowed.status).toBe(201);
    expect(allowed.body).toEqual({
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: attrs },
      status: {
        allowed: true,
        reason: expect.stringMatching(/^RBAC: allowed by ClusterRoleBinding ".+" of ClusterRole "view" to ServiceAccount ".+\/.+"$/),
      },
    });
    const denied = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: { resourceAttributes: { ...attrs, resource: 'secrets' } },
    });
    expect(denied.body.status).toEqual({ allowed: false });
    const version = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: { nonResourceAttributes: { verb: 'get', path: '/version' } },
    });
    expect(version.body.status).toMatchObject({ allowed: true, reason: expect.stringContaining('system:discovery') });
    const metrics = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: { nonResourceAttributes: { verb: 'get', path: '/metrics' } },
    });
    expect(metrics.body.status).toEqual({ allowed: false });
  });

  test('SelfSubjectRulesReview lists the bound rules with the built-in ones, through the typed client', async () => {
    const review = await api().createSelfSubjectRulesReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'checkout' } },
    });
    expect(review.status?.incomplete).toBe(false);
    const rules = review.status?.resourceRules ?? [];
    expect(rules).toEqual(
      expect.arrayContaining(
        VIEW_CLUSTER_ROLE_RULES.map((r) =>
          expect.objectContaining({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources }),
        ) as never[],
      ),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      }),
    );
    expect(rules.flatMap((r) => r.resources ?? [])).not.toContain('secrets');
    expect(review.status?.nonResourceRules).toContainEqual(
      expect.objectContaining({ verbs: ['get'], nonResourceURLs: expect.arrayContaining(['/version', '/api/*']) }),
    );
    const raw = await post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { spec: { namespace: 'checkout' } });
    expect(raw.status).toBe(201);
    expect(raw.body).toMatchObject({ kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', spec: {} });
    // No resourceNames key when a rule has none (omitempty).
    expect(raw.body.status.resourceRules.every((r: Record<string, unknown>) => !('resourceNames' in r))).toBe(true);
  });

  test.each<[string, PolicyRule, V1ResourceAttributes, boolean]>([
    [
      'exact verb, group and resource',
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'] },
      { verb: 'get', resource: 'secrets', namespace: 'checkout' },
      true,
    ],
    [
      'another verb',
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'] },
      { verb: 'list', resource: 'secrets', namespace: 'checkout' },
      false,
    ],
    [
      'another group',
      { verbs: ['get'], apiGroups: ['apps'], resources: ['secrets'] },
      { verb: 'get', resource: 'secrets', namespace: 'checkout' },
      false,
    ],
    ['* verbs', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, { verb: 'delete', resource: 'pods', namespace: 'checkout' }, true],
    [
      '* groups',
      { verbs: ['create'], apiGroups: ['*'], resources: ['deployments'] },
      { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'checkout' },
      true,
    ],
    [
      '* resources includes subresources',
      { verbs: ['create'], apiGroups: [''], resources: ['*'] },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'checkout' },
      true,
    ],
    [
      'a resource does not include its subresources',
      { verbs: ['create'], apiGroups: [''], resources: ['pods'] },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'checkout' },
      false,
    ],
    [
      '*/subresource',
      { verbs: ['get'], apiGroups: [''], resources: ['*/log'] },
      { verb: 'get', resource: 'pods', subresource: 'log', namespace: 'checkout' },
      true,
    ],
    [
      'resourceNames: the named one',
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] },
      { verb: 'get', resource: 'secrets', name: 'tls', namespace: 'checkout' },
      true,
    ],
    [
      'resourceNames: another one',
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] },
      { verb: 'get', resource: 'secrets', name: 'db', namespace: 'checkout' },
      false,
    ],
    [
      'resourceNames: a list (no name)',
      { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] },
      { verb: 'list', resource: 'secrets', namespace: 'checkout' },
      false,
    ],
    [
      'a requested * needs a * rule',
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
      { verb: '*', resource: 'pods', namespace: 'checkout' },
      false,
    ],
  ])('rule evaluation: %s', async (_what, rule, attrs, expected) => {
    rbac.setRbac({ rules: [rule] });
    expect(await can(attrs)).toBe(expected);
  });

  test('RoleBindings apply in their namespace only; the rules review of that namespace lists them', async () => {
    rbac.setRbac({
      rules: [...VIEW_CLUSTER_ROLE_RULES],
      namespaceRules: { checkout: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'] }] },
    });
    expect(await can({ namespace: 'checkout', verb: 'list', resource: 'secrets' })).toBe(true);
    expect(await can({ namespace: 'payments', verb: 'list', resource: 'secrets' })).toBe(false);
    expect(await can({ namespace: '', verb: 'list', resource: 'secrets' })).toBe(false);
    const inCheckout = await api().createSelfSubjectRulesReview({ body: { spec: { namespace: 'checkout' } } });
    const inPayments = await api().createSelfSubjectRulesReview({ body: { spec: { namespace: 'payments' } } });
    expect(inCheckout.status?.resourceRules).toContainEqual(expect.objectContaining({ resources: ['secrets'] }));
    expect(inPayments.status?.resourceRules).not.toContainEqual(expect.objectContaining({ resources: ['secrets'] }));
  });

  test('the reads the emulator serves are decided by the same rules, with the apiserver’s Forbidden', async () => {
    rbac.setRbac({ rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] });
    const pods = await fetch(`${rbac.url}/api/v1/namespaces/checkout/pods`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(pods.status).toBe(200);
    const events = await fetch(`${rbac.url}/api/v1/namespaces/checkout/events`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(events.status).toBe(403);
    expect(await events.json()).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message:
        'events is forbidden: User "system:serviceaccount:keyless-triage:keyless-triage-worker" cannot list resource "events" in API group "" in the namespace "checkout"',
      details: { kind: 'events' },
    });
    const deployments = await fetch(`${rbac.url}/apis/apps/v1/namespaces/checkout/deployments/checkout-api`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await deployments.json()).toMatchObject({
      code: 403,
      message: expect.stringMatching(
        /^deployments\.apps "checkout-api" is forbidden: .* cannot get resource "deployments" in API group "apps"/,
      ),
    });
    const log = await fetch(`${rbac.url}/api/v1/namespaces/checkout/pods/checkout-api-6b8f7c9d54-x7k2p/log?previous=true`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await log.json()).toMatchObject({ code: 403, message: expect.stringContaining('cannot get resource "pods/log"') });
  });

  test('malformed reviews get the apiserver’s errors; other writes are still refused', async () => {
    const rules = await api()
      .createSelfSubjectRulesReview({ body: { spec: {} } })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: unknown },
      );
    expect(rules?.code).toBe(400);
    expect(JSON.parse(String(rules?.body))).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'no namespace on request' });
    const neither = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { spec: {} });
    expect(neither.status).toBe(422);
    expect(neither.body).toMatchObject({
      reason: 'Invalid',
      message: expect.stringContaining('exactly one of nonResourceAttributes or resourceAttributes'),
    });
    const both = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: { resourceAttributes: {}, nonResourceAttributes: {} },
    });
    expect(both.status).toBe(422);
    expect((await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', '{not json')).status).toBe(400);
    expect((await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { kind: 'SubjectAccessReview', spec: {} })).status).toBe(
      400,
    );
    expect((await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'spec: {}', 'text/plain')).status).toBe(415);
    const write = await fetch(`${rbac.url}/api/v1/namespaces/checkout/pods`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(405);
    const anonymous = await fetch(`${rbac.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
  });
});
