// The broker's caller authentication as a real kube-apiserver decides it: the
// broker's own ServiceAccount sends TokenReviews with the RBAC the deployment
// gives it, and callers present projected tokens minted by the TokenRequest
// API, as the kubelet mints them. A compromised or foreign pod gets nothing
// through: no token, a token for another audience, another ServiceAccount's
// token, a token whose pod is gone. The apiserver's audit log of it stays in
// .sandbox/test-artifacts/kube-apiserver/broker-callers/audit.log.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerStartError, startBroker } from '../../broker/broker.js';
import { parseBrokerConfig } from '../../broker/config.js';
import type { KubeApiserver } from '../../sandbox/kube-apiserver.js';
import { startTestApiserver } from '../kube-apiserver.js';
import { readAuditLog } from '../kube-audit.js';
import { brokerDeployment, BROKER_SERVICE_ACCOUNT as BROKER_SA, NAMESPACE } from './broker-rbac.js';
import { capturingLogger, createWorld, type World } from './harness.js';

const SUITE = 'broker-callers';
const WORKER_SA = 'keyless-triage-worker';
const OTHER_SA = 'keyless-triage-gateway';
const ROUTE = '/pagerduty/incidents/Q1CHECKOUT1';

let server: KubeApiserver;
let world: World;
let kubeconfigFile: string;
let workerToken: string;
let BROKER_AUDIENCE: string;

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const answer = await server.request(method, path, body);
  if (answer.status >= 300 && answer.status !== 409)
    throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** A token as the kubelet projects it: TokenRequest for the ServiceAccount, optionally bound to a pod. */
async function tokenFor(sa: string, audiences: string[] | undefined, pod?: { name: string; uid: string }): Promise<string> {
  const body = (await admin('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      ...(audiences && { audiences }),
      expirationSeconds: 3600,
      ...(pod && { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } }),
    },
  })) as { status: { token: string } };
  return body.status.token;
}

async function createPod(name: string): Promise<{ name: string; uid: string }> {
  const pod = (await admin('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { serviceAccountName: WORKER_SA, containers: [{ name: 'worker', image: 'registry.example/worker:1' }] },
  })) as { metadata: { uid: string } };
  return { name, uid: pod.metadata.uid };
}

/** A kubeconfig that authenticates as the broker's ServiceAccount, as its in-cluster token would. */
async function brokerKubeconfig(dir: string): Promise<string> {
  const file = join(dir, 'broker-kubeconfig.yaml');
  writeFileSync(file, server.kubeConfig(await tokenFor(BROKER_SA, undefined)).exportConfig(), { mode: 0o600 });
  return file;
}

const bearer = (token: string) => ({ 'proxy-authorization': `Bearer ${token}` });

beforeAll(async () => {
  server = await startTestApiserver(SUITE);
  await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  for (const sa of [WORKER_SA, BROKER_SA, OTHER_SA]) {
    await admin('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: sa },
    });
  }
  const deployment = brokerDeployment();
  BROKER_AUDIENCE = deployment.callers.audience;
  expect(deployment.callers.serviceAccounts).toEqual([`${NAMESPACE}/${WORKER_SA}`]);
  for (const object of deployment.rbac) await admin('POST', object.path, object.body);
  world = await createWorld({ noBroker: true });
  kubeconfigFile = await brokerKubeconfig(world.dir);
  const config = parseBrokerConfig(
    {
      ...world.configDoc,
      callers: {
        audience: BROKER_AUDIENCE,
        serviceAccounts: [`${NAMESPACE}/${WORKER_SA}`],
        kubeconfig: kubeconfigFile,
        cacheFor: '1500ms',
      },
    },
    world.dir,
  );
  world.broker = await startBroker(config, { log: world.logger, credentialRetryMs: 0 });
  workerToken = await tokenFor(WORKER_SA, [BROKER_AUDIENCE], await createPod('worker-0'));
}, 60_000);

afterAll(async () => {
  await world?.close();
  await server?.close();
});

test("the worker's projected token for the broker's audience is let through, and the audit line names the ServiceAccount", async () => {
  const reply = await world.call('GET', ROUTE, { headers: { ...bearer(workerToken), 'x-triage-id': 'triage-QCALLER1' } });
  expect(reply.status).toBe(200);
  const line = (await world.audit(1)).find((r) => r.triageId === 'triage-QCALLER1');
  expect(line).toMatchObject({ decision: 'allowed', caller: `system:serviceaccount:${NAMESPACE}:${WORKER_SA}` });
  // The caller's token is the broker's business only: PagerDuty sees the broker's credential.
  expect(world.pagerduty.requests.at(-1)?.headers['proxy-authorization']).toBeUndefined();
});

test.each<[string, () => Promise<Record<string, string>>, number, string]>([
  ['no token', async () => ({}), 401, 'no caller token'],
  [
    'a token that is not a bearer token',
    async () => ({ 'proxy-authorization': `Basic ${Buffer.from('a:b').toString('base64')}` }),
    401,
    'malformed caller token',
  ],
  ['a forged token', async () => bearer(`${workerToken.slice(0, -8)}AAAAAAAA`), 401, 'caller token not valid'],
  [
    "the worker's token for the Kubernetes API (another audience)",
    async () => bearer(await tokenFor(WORKER_SA, undefined)),
    401,
    'caller token not valid',
  ],
  [
    "another ServiceAccount's token for the broker's audience",
    async () => bearer(await tokenFor(OTHER_SA, [BROKER_AUDIENCE])),
    403,
    `caller not allowed: system:serviceaccount:${NAMESPACE}:${OTHER_SA}`,
  ],
])('%s is refused, audited, and nothing reaches the upstream', async (_name, headers, status, reason) => {
  const before = world.pagerduty.requests.length;
  const reply = await world.call('GET', ROUTE, { headers: { ...(await headers()), 'x-triage-id': 'triage-QINTRUDER' } });
  expect(reply.status).toBe(status);
  expect(reply.json()).toEqual({ error: 'denied', reason });
  expect(world.pagerduty.requests.length).toBe(before);
  const lines = (await world.audit(1)).filter((r) => r.triageId === 'triage-QINTRUDER');
  expect(lines.at(-1)).toMatchObject({ decision: 'denied', status, reason, provider: 'pagerduty' });
});

test("a token stops working once its pod is deleted, within the apiserver's and the broker's caches", async () => {
  const pod = await createPod('worker-1');
  const token = await tokenFor(WORKER_SA, [BROKER_AUDIENCE], pod);
  expect((await world.call('GET', ROUTE, { headers: bearer(token) })).status).toBe(200);
  await admin('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${pod.name}?gracePeriodSeconds=0`);
  // The apiserver remembers a successful authentication for 10 s (its token cache), the broker for cacheFor.
  const deadline = Date.now() + 15_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    status = (await world.call('GET', ROUTE, { headers: bearer(token) })).status;
  }
  expect(status).toBe(401);
}, 30_000);

test('a burst of calls with one token costs one TokenReview', async () => {
  const token = await tokenFor(WORKER_SA, [BROKER_AUDIENCE], await createPod('worker-2'));
  // The apiserver's own audit log counts the reviews the broker sent (written before each answer).
  const reviews = () =>
    readAuditLog(server.auditLog).filter(
      (e) => e.objectRef?.resource === 'tokenreviews' && e.stage === 'ResponseComplete' && e.user.username.endsWith(`:${BROKER_SA}`),
    ).length;
  const before = reviews();
  const first = await world.call('GET', ROUTE, { headers: bearer(token) });
  const rest = await Promise.all(Array.from({ length: 9 }, () => world.call('GET', ROUTE, { headers: bearer(token) })));
  expect([first, ...rest].map((r) => r.status)).toEqual(Array(10).fill(200));
  expect(reviews() - before).toBe(1);
});

test("the probes answer the kubelet without a token; the doctor's status view does not", async () => {
  expect((await world.call('GET', '/healthz')).status).toBe(200);
  expect((await world.call('GET', '/readyz')).status).toBe(200);
  expect((await world.call('GET', '/_broker/status')).status).toBe(401);
  expect((await world.call('GET', '/_broker/status', { headers: bearer(workerToken) })).status).toBe(200);
});

test('a broker whose ServiceAccount may not create TokenReviews refuses to start, saying what it needs', async () => {
  await admin('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'unbound' },
  });
  const file = join(world.dir, 'unbound-kubeconfig.yaml');
  writeFileSync(file, server.kubeConfig(await tokenFor('unbound', undefined)).exportConfig(), { mode: 0o600 });
  const config = parseBrokerConfig(
    { ...world.configDoc, callers: { audience: BROKER_AUDIENCE, serviceAccounts: [`${NAMESPACE}/${WORKER_SA}`], kubeconfig: file } },
    world.dir,
  );
  const started = startBroker(config, { log: capturingLogger([]), credentialRetryMs: 0 });
  await expect(started).rejects.toThrow(BrokerStartError);
  await expect(started).rejects.toThrow(/the Kubernetes API answered 403.*needs create on tokenreviews/);
});

test('no caller token appears in the broker log or audit trail', async () => {
  const texts = await world.observableTexts();
  for (const text of texts) expect(text).not.toContain(workerToken.split('.')[2]!);
});
