import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { buildScenario, loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { startKubernetesEmulator, type KubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import { GENERATED_INCIDENT, generatedScenario } from './generated-scenario.js';

const CRASHLOOP = fileURLToPath(new URL('../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const TOKEN = 'sandbox-k8s-token-0123456789';

let scenario: Scenario;
let k8s: KubernetesEmulator;

beforeAll(async () => {
  scenario = await loadScenario(CRASHLOOP);
  k8s = await startKubernetesEmulator({ scenario, token: TOKEN });
});
afterAll(() => k8s.close());
afterEach(() => k8s.setFault(null));

async function get(path: string, init: { token?: string | null; method?: string; accept?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers['Authorization'] = `Bearer ${init.token ?? TOKEN}`;
  if (init.accept) headers['Accept'] = init.accept;
  const res = await fetch(`${k8s.url}${path}`, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

function names(body: Record<string, any> | undefined): string[] {
  return (body?.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
}

describe('lists', () => {
  test('pods come back as a PodList with kind, apiVersion and metadata filled', async () => {
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
    expect(item).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { namespace: 'checkout', uid: '3f6a1c2e-8b4d-4e7a-9c1f-2d5b6a7e8f01' } });
    expect(item.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(item.status.containerStatuses[0].state.waiting.reason).toBe('CrashLoopBackOff');
  });

  test.each([
    ['/api/v1/namespaces/checkout/events', 'EventList', 'v1', 'Event'],
    ['/apis/apps/v1/namespaces/checkout/deployments', 'DeploymentList', 'apps/v1', 'Deployment'],
    ['/apis/apps/v1/namespaces/checkout/replicasets', 'ReplicaSetList', 'apps/v1', 'ReplicaSet'],
  ])('%s is a %s', async (path, listKind, apiVersion, kind) => {
    const { status, body } = await get(path);
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: listKind, apiVersion });
    expect(body?.items.length).toBeGreaterThan(0);
    for (const item of body?.items ?? []) expect(item).toMatchObject({ kind, apiVersion });
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
    expect(missing.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "nope" not found' });
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
      expect(body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: `previous terminated container "checkout-api" in pod "${pod}" not found` });
    }
  });

  test('the current log of a container waiting to restart is its last run; a running one without a log is empty', async () => {
    expect((await getLog(logPath(CRASHED))).text).toBe(scenarioLog(CRASHED));
    expect(await getLog(logPath('checkout-api-5c7d9f8b46-m4t8v', 'previous=false'))).toMatchObject({ status: 200, text: '' });
  });

  test('an unknown pod is a NotFound Status; an unknown container a BadRequest', async () => {
    const missing = await getLog(logPath('nope', 'previous=true'));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404, message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } });
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
    ['tailLines=-1', 422, 'PodLogOptions "checkout-api-6b8f7c9d54-x7k2p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'],
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
                  spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'proxy', image: 'proxy:1' }], initContainers: [{ name: 'migrate', image: 'migrate:1' }] },
                  status: { phase: 'Running' as const, containerStatuses: [status('app', 3, 'CrashLoopBackOff'), status('proxy', 0, 'ContainerCreating')] },
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
      expect(body?.message).toBe('a container name must be specified for pod two, choose one of: [app proxy] or one of the init containers: [migrate]');
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
    const warnings = await get(`/api/v1/namespaces/checkout/events?fieldSelector=${encodeURIComponent('type=Warning,involvedObject.kind=Pod')}`);
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
    expect(body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
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
      expect(body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'ServiceUnavailable', code: 503, details: { retryAfterSeconds: 7 } });
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
  function kubeConfig(token: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'sandbox', server: k8s.url, skipTLSVerify: true }],
      users: [{ name: 'triage', token }],
      contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'triage' }],
      currentContext: 'sandbox',
    });
    return kc;
  }

  test('CoreV1Api.listNamespacedPod returns typed pods', async () => {
    const core = kubeConfig(TOKEN).makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'checkout', labelSelector: 'app=checkout-api', limit: 2 });
    expect(list.kind).toBe('PodList');
    expect(list.items).toHaveLength(2);
    expect(list.items[0]?.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const rest = await core.listNamespacedPod({ namespace: 'checkout', labelSelector: 'app=checkout-api', limit: 2, _continue: list.metadata?._continue });
    expect(rest.items.map((p) => p.metadata?.name)).toEqual(['checkout-api-6b8f7c9d54-x7k2p']);
    expect(rest.metadata?._continue).toBeUndefined();
  });

  test('a wrong token surfaces as ApiException 401', async () => {
    const core = kubeConfig('wrong').makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace: 'checkout' })).rejects.toMatchObject({ code: 401 });
  });

  test('CoreV1Api.readNamespacedPodLog returns the text; a missing previous log is an ApiException 400 with its Status', async () => {
    const core = kubeConfig(TOKEN).makeApiClient(CoreV1Api);
    const text = await core.readNamespacedPodLog({ namespace: 'checkout', name: 'checkout-api-6b8f7c9d54-x7k2p', previous: true, tailLines: 1 });
    expect(text).toMatch(/^level=fatal msg="startup failed/);
    const err = await core.readNamespacedPodLog({ namespace: 'checkout', name: 'checkout-api-6b8f7c9d54-q9w4z', previous: true }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(400);
    expect(JSON.parse(String(err?.body))).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: expect.stringContaining('previous terminated container') });
  });

  test('VersionApi.getCode', async () => {
    const info = await kubeConfig(TOKEN).makeApiClient(VersionApi).getCode();
    expect(info.major).toBe('1');
  });
});
