// The worker's Kubernetes access as a real kube-apiserver decides it: the
// example overlay applied for real, a token for the worker's ServiceAccount
// from the TokenRequest API, and that token's reads, refusals and rules review
// held against what docs/deploy.md promises. The broker's token may review
// tokens and nothing else, and its review of the worker's broker token (minted
// for the broker's audience, as the worker pod projects it) names the worker;
// neither of the worker's tokens is good where the other is. The opt-in
// components change exactly what they say. `triage doctor` passes with the intended bindings
// and fails, naming the binding, when the account is given more or nothing.
// The apiserver's audit log of all this stays in
// .sandbox/test-artifacts/kube-apiserver/rbac/audit.log.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseBrokerConfig, type BrokerConfig } from '../../broker/config.js';
import { createKubernetesActivities, USER_AGENT_PRODUCT } from '../../activities/kubernetes.js';
import type { KubernetesEvidence } from '../../activities/model.js';
import { DoctorFailed } from '../../cli/doctor-command.js';
import { parseConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { startKubernetesEmulator, VIEW_CLUSTER_ROLE_RULES, type KubernetesEmulator } from '../../sandbox/emulators/kubernetes.js';
import type { KubeApiserver } from '../../sandbox/kube-apiserver.js';
import { loadScenario } from '../../sandbox/scenario.js';
import { list } from '../../workers/doctor/context.js';
import { DOCTOR_TRIAGE_ID } from '../../workers/doctor/doctor.js';
import { OPTIONAL_TRIAGE_READS, TRIAGE_READS } from '../../workers/doctor/kubernetes-checks.js';
import { evidenceRequest } from '../activities/evidence-request.js';
import { eventually } from '../eventually.js';
import { APISERVER_ARTIFACTS, startTestApiserver } from '../kube-apiserver.js';
import { readAuditLog, records } from '../kube-audit.js';
import { DEPLOY, kustomize, kustomizeWithComponent, OVERLAY, type K8sObject } from './kustomize.js';
import { added, cluster, grant, grantsOf, type Access, type Cluster, type UserInfo } from './rbac-cluster.js';
import { canIClaims, promised, tokenTable } from './rbac-docs.js';
import { doctorHarness, type DoctorHarness } from './rbac-doctor.js';

const SUITE = 'rbac';
const DEPLOY_DOC = join(PROJECT_ROOT, 'docs', 'deploy.md');
const TRIAGE_ID = 'triage-RBAC1';
/** Namespaces no RoleBinding reaches: the cluster's own, and where Node events live without the node-events component. */
const UNBOUND = ['kube-system', 'default'];

let server: KubeApiserver;
let k: Cluster;
let overlay: K8sObject[];
let triaged: string[];
let worker: { namespace: string; name: string };
let gateway: { namespace: string; name: string };
let brokerAccount: { namespace: string; name: string };
let brokerConfig: BrokerConfig;
/** The audience the worker pod's broker-token volume asks for. */
let brokerAudience: string;
let workerToken: string;
let workerUser: UserInfo;
let evidence: KubernetesEvidence;
let doctor: DoctorHarness;

/** Calico's and Cilium's policies: their CRDs and fields are dry-run.test.ts's subject; RBAC does not depend on them. */
const isCniPolicy = (o: K8sObject) => o.apiVersion === 'projectcalico.org/v3' || o.apiVersion.startsWith('cilium.io/');

/** What a triaged namespace holds for the reads to find, and the writes to be refused on: a workload, its config, a Secret. */
function workload(namespace: string): K8sObject[] {
  const labels = { 'app.kubernetes.io/name': 'web' };
  const pod = { containers: [{ name: 'web', image: 'registry.example/web:1' }] };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } },
    },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace, labels }, spec: pod },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace }, data: { mode: 'prod' } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-credentials', namespace },
      stringData: { password: randomBytes(16).toString('hex') },
    },
  ];
}

/** The ServiceAccount a Deployment's pods run as. */
function accountOf(objects: readonly K8sObject[], deployment: string): { namespace: string; name: string } {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment)!;
  return { namespace: d.metadata.namespace!, name: d.spec.template.spec.serviceAccountName as string };
}

/** The overlay's triage.yaml, as the worker reads it from the generated ConfigMap. */
function configured(objects: readonly K8sObject[]): { config: TriageConfig; raw: Record<string, unknown> } {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('keyless-triage-config-'));
  const raw = parseYaml(map!.data['triage.yaml'] as string) as Record<string, unknown>;
  return { config: parseConfig(raw, { env: {} }), raw };
}

beforeAll(async () => {
  server = await startTestApiserver(SUITE);
  k = cluster(server);
  overlay = kustomize(OVERLAY);
  const { config, raw } = configured(overlay);
  triaged = [...new Set(Object.values(config.services).flatMap((s) => s.kubernetes?.namespaces ?? []))].sort();
  const subject = overlay.find((o) => o.kind === 'RoleBinding')!.subjects[0] as { namespace: string; name: string };
  worker = { namespace: subject.namespace, name: subject.name };
  gateway = accountOf(overlay, 'keyless-triage-gateway');
  brokerAccount = accountOf(overlay, 'keyless-triage-broker');
  const brokerMap = overlay.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('keyless-triage-broker-config-'))!;
  brokerConfig = parseBrokerConfig(parseYaml(brokerMap.data['broker.yaml'] as string), '/etc/broker');
  const workerPod = overlay.find((o) => o.kind === 'Deployment' && o.metadata.name === 'keyless-triage-worker')!.spec.template.spec;
  brokerAudience = workerPod.volumes.find((v: any) => v.name === 'broker-token').projected.sources[0].serviceAccountToken.audience;

  await k.apply(overlay.filter((o) => !isCniPolicy(o)));
  await k.apply(triaged.flatMap(workload));
  workerToken = await k.token(worker.namespace, worker.name);
  workerUser = await k.whoAmI(workerToken);
  doctor = doctorHarness(server, config, raw);

  // Read once, with nothing but the worker's token, as a triage would.
  evidence = await createKubernetesActivities({ kubeConfig: server.kubeConfig(workerToken) }).collectKubernetesEvidence(
    evidenceRequest({ triageId: TRIAGE_ID, kubernetes: { cluster: config.kubernetes.cluster, namespaces: triaged } }),
  );
});

afterAll(async () => {
  doctor?.close();
  await server?.close();
});

const describeAccess = (a: Access) =>
  `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}${a.name ? ` ${a.name}` : ''} ${a.namespace ? `in ${a.namespace}` : 'cluster-wide'}`;

/** What the activity lists in a namespace, as the doctor's kubernetes.read asks for it: pods and events by listing, the rest by review. */
const doctorListReads = (): Access[] =>
  [
    { verb: 'list', group: '', resource: 'pods' },
    { verb: 'list', group: '', resource: 'events' },
    ...TRIAGE_READS,
    ...OPTIONAL_TRIAGE_READS,
  ]
    .filter((a) => a.verb === 'list')
    .map((a) => ({ verb: a.verb!, group: a.group ?? '', resource: a.resource! }));

/** Everything the worker must be refused: Secrets anywhere, any write, reads where no binding reaches, and cluster-scoped Nodes. */
function refusals(): Access[] {
  const writes = triaged.flatMap((namespace) =>
    ['create', 'update', 'patch', 'delete'].flatMap((verb) =>
      [
        { group: '', resource: 'pods', name: 'web-0' },
        { group: 'apps', resource: 'deployments', name: 'web' },
        { group: '', resource: 'configmaps', name: 'web' },
      ].map(({ name, ...r }) => ({ verb, namespace, ...r, ...(verb === 'create' ? {} : { name }) })),
    ),
  );
  const secrets = [
    ...triaged.flatMap((namespace) => [
      { verb: 'list', group: '', resource: 'secrets', namespace },
      { verb: 'get', group: '', resource: 'secrets', namespace, name: 'db-credentials' },
    ]),
    { verb: 'list', group: '', resource: 'secrets' },
  ];
  const elsewhere = UNBOUND.flatMap((namespace) => [
    { verb: 'list', group: '', resource: 'pods', namespace },
    { verb: 'list', group: '', resource: 'events', namespace },
    { verb: 'list', group: 'apps', resource: 'deployments', namespace },
  ]);
  return [...secrets, ...writes, ...elsewhere, { verb: 'list', group: '', resource: 'nodes' }];
}

/** Sends each request with `token` and returns those not refused as RBAC refuses: 403, naming the user and the verb. */
async function notRefused(token: string, user: UserInfo, accesses: readonly Access[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const a of accesses) {
    const answer = await k.call(token, a);
    const message = (answer.body as { message?: string }).message ?? '';
    if (answer.status !== 403 || !message.includes(`User "${user.username}" cannot ${a.verb} resource "${a.resource}"`))
      wrong.push(`${describeAccess(a)}: HTTP ${answer.status} ${message}`);
  }
  return wrong;
}

const allowed = (token: string, a: Access) => k.selfAccessReview(token, a).then((r) => r.allowed);
const status = (a: Access, token = workerToken) => k.call(token, a).then((answer) => answer.status);
const componentObjects = (name: string) => added(kustomizeWithComponent(join(DEPLOY, 'components', name)), overlay);
const sortedGrants = async (namespace: string) => [...grantsOf(await k.rulesReview(workerToken, namespace))].sort();

describe("the worker's ServiceAccount token, with the example overlay applied", () => {
  test('authenticates as the ServiceAccount the RoleBindings name', () => {
    expect(workerUser.username).toBe(`system:serviceaccount:${worker.namespace}:${worker.name}`);
    expect(workerUser.groups).toEqual(expect.arrayContaining([`system:serviceaccounts:${worker.namespace}`, 'system:authenticated']));
  });

  test('the Kubernetes activity reads all it lists in each triaged namespace, nothing unavailable, and sees the workload there', () => {
    expect(evidence.namespaces.map((n) => n.namespace)).toEqual(triaged);
    for (const ns of evidence.namespaces) {
      expect({ namespace: ns.namespace, unavailable: ns.unavailable }).toEqual({ namespace: ns.namespace, unavailable: undefined });
      expect(ns.podCounts.total).toBe(1);
      expect(ns.deployments.map((d) => d.name)).toEqual(['web']);
    }
  });

  test("the doctor's kubernetes.read asks for exactly the lists the activity made, and the apiserver allowed each", async () => {
    const expected = triaged.flatMap((namespace) => doctorListReads().map((a) => `list ${a.group}/${a.resource} in ${namespace}: 200`));
    await eventually(() => {
      const made = readAuditLog(server.auditLog).filter((e) => e.userAgent === `${USER_AGENT_PRODUCT} (${TRIAGE_ID})`);
      const seen = made.map(
        (e) => `${e.verb} ${e.objectRef?.apiGroup ?? ''}/${e.objectRef?.resource} in ${e.objectRef?.namespace}: ${e.responseStatus?.code}`,
      );
      expect([...new Set(seen)].sort()).toEqual(expected.sort());
      expect(made.every((e) => e.user.username === workerUser.username)).toBe(true);
    });
  });

  test('it may get pods/log in each triaged namespace (RBAC says yes; the log itself would come from a kubelet)', async () => {
    for (const namespace of triaged)
      expect(await allowed(workerToken, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace })).toBe(true);
  });

  test('Secrets (in its namespaces and cluster-wide), writes, unbound namespaces and Nodes are refused with 403', async () => {
    expect(await notRefused(workerToken, workerUser, refusals())).toEqual([]);
  });

  test('events.k8s.io Events are refused too: `view` grants the core ones, which the activity reads', async () => {
    for (const namespace of triaged) {
      expect(await status({ verb: 'list', group: 'events.k8s.io', resource: 'events', namespace })).toBe(403);
      expect(await status({ verb: 'list', group: '', resource: 'events', namespace })).toBe(200);
    }
  });

  test('its SelfSubjectRulesReview in each namespace is the table in docs/deploy.md', async () => {
    const rows = tokenTable(readFileSync(DEPLOY_DOC, 'utf8'));
    for (const namespace of [...triaged, ...UNBOUND]) {
      const review = await k.rulesReview(workerToken, namespace);
      expect(review.incomplete).toBe(false);
      expect({ namespace, grants: [...grantsOf(review)].sort() }).toEqual({
        namespace,
        grants: [...promised(rows, namespace, triaged)].sort(),
      });
    }
  });

  test('every `kubectl auth can-i` answer in docs/deploy.md is the apiserver’s (SubjectAccessReview as that user)', async () => {
    const claims = canIClaims(readFileSync(DEPLOY_DOC, 'utf8'));
    expect(claims.filter((c) => c.as === workerUser.username).length).toBeGreaterThanOrEqual(5);
    const users = new Map<string, UserInfo>();
    const wrong: string[] = [];
    for (const claim of claims) {
      // kubectl impersonates a ServiceAccount with the groups its token carries; the apiserver says which those are.
      const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claim.as);
      if (!users.has(claim.as))
        users.set(claim.as, sa ? await k.whoAmI(await k.token(sa[1]!, sa[2]!)) : { username: claim.as, groups: ['system:authenticated'] });
      // A resource the core group does not serve must be written with its group, as kubectl would resolve it.
      await k.pathOf({ verb: claim.access.verb, group: claim.access.group, resource: claim.access.resource });
      const allowed = await k.access(users.get(claim.as)!, claim.access);
      if (allowed !== claim.expected) wrong.push(`line ${claim.line}: ${claim.text} is ${allowed ? 'yes' : 'no'}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("the broker's ServiceAccount token, and the worker's token for the broker", () => {
  let brokerToken: string;
  let brokerUser: UserInfo;
  /** The worker's token as its pod's broker-token volume holds it. */
  let workerBrokerToken: string;
  const workerName = () => `system:serviceaccount:${worker.namespace}:${worker.name}`;
  const reviewTokens: Access = { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' };

  beforeAll(async () => {
    brokerToken = await k.token(brokerAccount.namespace, brokerAccount.name);
    brokerUser = await k.whoAmI(brokerToken);
    workerBrokerToken = await k.token(worker.namespace, worker.name, brokerAudience);
  });

  test("the worker pod's broker token is minted for the audience broker.yaml checks", () => {
    expect(brokerAudience).toBe(brokerConfig.callers!.audience);
  });

  test("a TokenReview by the broker of the worker's broker token names the worker's ServiceAccount, which broker.yaml lists", async () => {
    const review = await k.tokenReview(brokerToken, workerBrokerToken, [brokerConfig.callers!.audience]);
    expect(review).toMatchObject({ status: 201, authenticated: true, audiences: [brokerConfig.callers!.audience] });
    expect(review.user!.username).toBe(workerName());
    expect(brokerConfig.callers!.serviceAccounts).toContain(`${worker.namespace}/${worker.name}`);
  });

  test("the worker's API token is no broker credential, and its broker token no API credential", async () => {
    expect(await k.tokenReview(brokerToken, workerToken, [brokerConfig.callers!.audience])).toMatchObject({
      status: 201,
      authenticated: false,
    });
    const [namespace] = triaged as [string];
    expect(await status({ verb: 'list', group: '', resource: 'pods', namespace }, workerBrokerToken)).toBe(401);
  });

  test("another ServiceAccount's token for the broker's audience authenticates, as that account, which broker.yaml does not list", async () => {
    const gatewayBrokerToken = await k.token(gateway.namespace, gateway.name, brokerConfig.callers!.audience);
    const review = await k.tokenReview(brokerToken, gatewayBrokerToken, [brokerConfig.callers!.audience]);
    expect(review.user?.username).toBe(`system:serviceaccount:${gateway.namespace}:${gateway.name}`);
    expect(brokerConfig.callers!.serviceAccounts).not.toContain(`${gateway.namespace}/${gateway.name}`);
  });

  test('only the broker may review tokens: the worker and the gateway get 403', async () => {
    expect(await allowed(brokerToken, reviewTokens)).toBe(true);
    const gatewayToken = await k.token(gateway.namespace, gateway.name);
    for (const token of [workerToken, gatewayToken]) {
      expect(await allowed(token, reviewTokens)).toBe(false);
      expect((await k.tokenReview(token, workerBrokerToken, [brokerConfig.callers!.audience])).status).toBe(403);
    }
  });

  test("the broker's token may create TokenReviews and nothing else beyond what every identity may (its rules review in each namespace)", async () => {
    const rows = tokenTable(readFileSync(DEPLOY_DOC, 'utf8'));
    for (const namespace of [brokerAccount.namespace, ...triaged, ...UNBOUND]) {
      const review = await k.rulesReview(brokerToken, namespace);
      expect(review.incomplete).toBe(false);
      // The table's "everywhere" rows are what any ServiceAccount gets; a namespace the broker is not in has no triaged rows.
      expect({ namespace, grants: [...grantsOf(review)].sort() }).toEqual({
        namespace,
        grants: [...promised(rows, namespace, []), grant('create', 'authentication.k8s.io', 'tokenreviews')].sort(),
      });
    }
  });

  test('it is refused what system:auth-delegator would add, Secrets, and reads', async () => {
    const refused: Access[] = [
      { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' },
      { verb: 'get', group: '', resource: 'secrets', namespace: brokerAccount.namespace, name: 'keyless-triage-broker' },
      { verb: 'list', group: '', resource: 'secrets' },
      ...triaged.map((namespace) => ({ verb: 'list', group: '', resource: 'pods', namespace })),
    ];
    expect(await notRefused(brokerToken, brokerUser, refused)).toEqual([]);
  });
});

describe('the opt-in components change what they say and nothing else', () => {
  test('node-reader: Nodes become listable; the rules elsewhere gain exactly its row of the table', async () => {
    const rows = tokenTable(readFileSync(DEPLOY_DOC, 'utf8'));
    const nodes = { verb: 'list', group: '', resource: 'nodes' };
    expect(await status(nodes)).toBe(403);
    const before = (await doctor.checks(workerToken, { readNodes: true }))['kubernetes.read']!;
    expect(before.status).toBe('warn');
    expect(before.detail).toContain('cannot list Nodes (kubernetes.readNodes): HTTP 403: nodes is forbidden');
    await k.withApplied(
      componentObjects('node-reader'),
      async () => (await status(nodes)) === 200,
      async () => {
        for (const namespace of [...triaged, ...UNBOUND])
          expect({ namespace, grants: await sortedGrants(namespace) }).toEqual({
            namespace,
            grants: [...promised(rows, namespace, triaged, ['node-reader'])].sort(),
          });
        const read = (await doctor.checks(workerToken, { readNodes: true }))['kubernetes.read']!;
        expect(read).toMatchObject({ status: 'pass', detail: expect.stringMatching(/; listed Nodes$/) });
      },
    );
    expect(await status(nodes)).toBe(403);
  });

  test('node-events: events in default become listable, and nothing else there', async () => {
    const rows = tokenTable(readFileSync(DEPLOY_DOC, 'utf8'));
    const events = { verb: 'list', group: '', resource: 'events', namespace: 'default' };
    await k.withApplied(
      componentObjects('node-events'),
      async () => (await status(events)) === 200,
      async () => {
        expect(await status({ verb: 'list', group: '', resource: 'pods', namespace: 'default' })).toBe(403);
        for (const namespace of [...triaged, ...UNBOUND])
          expect({ namespace, grants: await sortedGrants(namespace) }).toEqual({
            namespace,
            grants: [...promised(rows, namespace, triaged, ['node-events'])].sort(),
          });
        const read = (await doctor.checks(workerToken, { nodeEventsNamespace: 'default' }))['kubernetes.read']!;
        expect(read).toMatchObject({ status: 'pass', detail: expect.stringMatching(/; listed Node events in default$/) });
      },
    );
    expect(await status(events)).toBe(403);
  });

  test('cluster-wide-view: `view` holds in every namespace, and Secrets stay refused everywhere', async () => {
    const kubeSystemPods = { verb: 'list', group: '', resource: 'pods', namespace: 'kube-system' };
    await k.withApplied(
      componentObjects('cluster-wide-view'),
      async () => (await status(kubeSystemPods)) === 200,
      async () => {
        expect(await status({ verb: 'list', group: '', resource: 'pods' })).toBe(200);
        const secrets = [...UNBOUND, ...triaged, ''].map((namespace) => ({ verb: 'list', group: '', resource: 'secrets', namespace }));
        expect(await notRefused(workerToken, workerUser, secrets)).toEqual([]);
        const inTriaged = await sortedGrants(triaged[0]!);
        for (const namespace of UNBOUND)
          expect({ namespace, grants: await sortedGrants(namespace) }).toEqual({ namespace, grants: inTriaged });
        expect((await doctor.checks(workerToken))['kubernetes.secrets']!.status).toBe('pass');
      },
    );
    expect(await status(kubeSystemPods)).toBe(403);
  });
});

describe('triage doctor against the real apiserver', () => {
  const rbac = 'rbac.authorization.k8s.io';
  const toWorker = () => [{ kind: 'ServiceAccount', name: worker.name, namespace: worker.namespace }];
  const boundAs = (binding: string, kind: string, role: string, where: string) =>
    `RBAC: allowed by ${binding} "${where}" of ${kind} "${role}" to ServiceAccount "${worker.name}/${worker.namespace}"`;

  test('the worker’s token passes kubernetes.secrets, .writes and .read, saying what it asked', async () => {
    const results = await doctor.checks(workerToken);
    expect(results['kubernetes.secrets']).toMatchObject({
      status: 'pass',
      detail: `no get, list or watch on secrets in ${list([...triaged, 'cluster-wide'])} (${(triaged.length + 1) * 3} SelfSubjectAccessReviews)`,
    });
    expect(results['kubernetes.writes']).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(
        new RegExp(`^no write, escalation or wildcard rule in ${list(triaged)}; none of create pods, .* allowed cluster-wide$`),
      ),
    });
    expect(results['kubernetes.read']).toMatchObject({
      status: 'pass',
      detail: `listed pods and events, and may list deployments.apps, list replicasets.apps, get pods/log, in ${list(triaged)}`,
    });
  });

  test('a ClusterRoleBinding that lets it get Secrets fails kubernetes.secrets, naming the binding; removed, it passes again', async () => {
    const objects: K8sObject[] = [
      {
        apiVersion: `${rbac}/v1`,
        kind: 'ClusterRole',
        metadata: { name: 'triage-debug' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      },
      {
        apiVersion: `${rbac}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'triage-debug' },
        roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'triage-debug' },
        subjects: toWorker(),
      },
    ];
    const why = boundAs('ClusterRoleBinding', 'ClusterRole', 'triage-debug', 'triage-debug');
    await k.withApplied(
      objects,
      () => allowed(workerToken, { verb: 'get', group: '', resource: 'secrets', namespace: triaged[0] }),
      async () => {
        const results = await doctor.checks(workerToken);
        expect(results['kubernetes.secrets']!.status).toBe('fail');
        expect(results['kubernetes.secrets']!.detail.split('\n')).toEqual([
          ...triaged.map((namespace) => `namespace ${namespace}: get on secrets allowed (${why})`),
          `cluster-wide: get on secrets allowed (${why})`,
          expect.stringMatching(/^what to do: remove the binding named above; .*`view` ClusterRole/),
        ]);
        expect(results['kubernetes.writes']!.status).toBe('pass');
        expect(results['kubernetes.read']!.status).toBe('pass');
      },
    );
    expect((await doctor.checks(workerToken))['kubernetes.secrets']!.status).toBe('pass');
  });

  test('`edit` bound in one namespace fails kubernetes.writes, quoting its rules there only, and kubernetes.secrets (edit reads Secrets)', async () => {
    const [namespace, ...others] = triaged as [string, ...string[]];
    const binding: K8sObject = {
      apiVersion: `${rbac}/v1`,
      kind: 'RoleBinding',
      metadata: { name: 'triage-debug-edit', namespace },
      roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'edit' },
      subjects: toWorker(),
    };
    await k.withApplied(
      [binding],
      () => allowed(workerToken, { verb: 'create', group: '', resource: 'pods', namespace }),
      async () => {
        const results = await doctor.checks(workerToken);
        const writes = results['kubernetes.writes']!;
        expect(writes.status).toBe('fail');
        const lines = writes.detail.split('\n');
        expect(lines).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^rule verbs \\[[^\\]]*\\bcreate\\b[^\\]]*\\] on \\[[^\\]]*\\bpods\\b[^\\]]*\\] in apiGroups \\[""\\]: grants write verbs .*\\(SelfSubjectRulesReview in ${namespace}\\)$`,
            ),
          ),
        );
        expect(lines).toContainEqual(expect.stringMatching(/grants impersonate, which lets the token act as or above another identity/));
        for (const other of others) expect(writes.detail).not.toContain(other);
        // A RoleBinding grants nothing cluster-wide: the cluster-wide probes stay refused.
        expect(writes.detail).not.toContain('cluster-wide:');
        expect(results['kubernetes.secrets']).toMatchObject({
          status: 'fail',
          detail: expect.stringContaining(
            `namespace ${namespace}: get, list, watch on secrets allowed (${boundAs('RoleBinding', 'ClusterRole', 'edit', `triage-debug-edit/${namespace}`)})`,
          ),
        });
      },
    );
    expect((await doctor.checks(workerToken))['kubernetes.writes']!.status).toBe('pass');
  });

  test("a ServiceAccount with no binding (the gateway's) fails kubernetes.read with the apiserver's 403", async () => {
    const token = await k.token(gateway.namespace, gateway.name);
    const user = `system:serviceaccount:${gateway.namespace}:${gateway.name}`;
    const results = await doctor.checks(token);
    const read = results['kubernetes.read']!;
    expect(read.status).toBe('fail');
    for (const namespace of triaged) {
      expect(read.detail).toContain(
        `namespace ${namespace}: cannot list pods: HTTP 403: pods is forbidden: User "${user}" cannot list resource "pods" in API group "" in the namespace "${namespace}"`,
      );
      expect(read.detail).toContain(`namespace ${namespace}: cannot list deployments.apps: not allowed (SelfSubjectAccessReview)`);
    }
    expect(results['kubernetes.secrets']!.status).toBe('pass');
    expect(results['kubernetes.writes']!.status).toBe('pass');
  });

  test('`triage doctor --json` with a kubeconfig for the worker’s token prints the same kubernetes lines', async () => {
    const direct = Object.values(await doctor.checks(workerToken)).map(({ id, status, detail }) => ({ id, status, detail }));
    const run = await doctor.cli(workerToken);
    expect(run.json.checks.filter((c) => c.id.startsWith('kubernetes.')).map(({ id, status, detail }) => ({ id, status, detail }))).toEqual(
      direct,
    );
    // The token file is how a pod authenticates: allowed, not a credential held in the file.
    expect(run.json.checks.find((c) => c.id === 'credentials.files')!.status).toBe('pass');
    // No broker runs beside this test: that alone fails, and the CLI exits non-zero for it.
    expect(run.json.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['broker.reachable']);
    expect(run.thrown).toBeInstanceOf(DoctorFailed);
  });
});

describe('the audit log (audit.k8s.io/v1), kept as an artefact for the audit work', () => {
  test("records the worker's reads with the triage in userAgent, its refusals as 403, and the doctor's probes, under its name", async () => {
    expect(server.auditLog).toBe(join(APISERVER_ARTIFACTS, SUITE, 'audit.log'));
    const [namespace] = triaged as [string];
    const refused: Access[] = [
      { verb: 'get', group: '', resource: 'secrets', namespace, name: 'db-credentials' },
      { verb: 'create', group: '', resource: 'pods', namespace },
      { verb: 'list', group: '', resource: 'pods', namespace: 'kube-system' },
    ];
    for (const a of refused) await k.call(workerToken, a);
    await doctor.checks(workerToken);
    const who = workerUser.username;
    await eventually(() => {
      const events = readAuditLog(server.auditLog);
      expect(events.every((e) => e.kind === 'Event' && e.apiVersion === 'audit.k8s.io/v1')).toBe(true);
      for (const a of refused) {
        const found = events.find((e) => records(e, who, a, 403));
        expect({ request: describeAccess(a), decision: found?.annotations?.['authorization.k8s.io/decision'] }).toEqual({
          request: describeAccess(a),
          decision: 'forbid',
        });
      }
      for (const ns of triaged) {
        const read = events.find(
          (e) =>
            records(e, who, { verb: 'list', group: '', resource: 'pods', namespace: ns }, 200) &&
            e.userAgent === `${USER_AGENT_PRODUCT} (${TRIAGE_ID})`,
        );
        expect({ ns, decision: read?.annotations?.['authorization.k8s.io/decision'] }).toEqual({ ns, decision: 'allow' });
      }
      const probes = events.filter((e) => e.user.username === who && e.userAgent === `${USER_AGENT_PRODUCT} (${DOCTOR_TRIAGE_ID})`);
      expect(probes.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.responseStatus?.code}`)).toContain(
        'create selfsubjectaccessreviews 201',
      );
    });
  });
});

describe("the project's Kubernetes emulator, bound as the overlay binds the worker, answers as the apiserver does", () => {
  let emulator: KubernetesEmulator;
  let emulatorToken: string;

  beforeAll(async () => {
    emulatorToken = randomBytes(24).toString('hex');
    emulator = await startKubernetesEmulator({
      scenario: await loadScenario(join(PROJECT_ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml')),
      token: emulatorToken,
      rules: [],
      namespaceRules: Object.fromEntries(triaged.map((namespace) => [namespace, [...VIEW_CLUSTER_ROLE_RULES]])),
    });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  async function emulatorReview(resource: string, body: object): Promise<any> {
    const answer = await fetch(`${emulator.url}/apis/authorization.k8s.io/v1/${resource}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', ...body }),
    });
    expect(answer.status).toBe(201);
    return answer.json();
  }

  test('the same SelfSubjectRulesReview in each namespace', async () => {
    for (const namespace of [...triaged, ...UNBOUND]) {
      const emulated = await emulatorReview('selfsubjectrulesreviews', { kind: 'SelfSubjectRulesReview', spec: { namespace } });
      expect({ namespace, grants: [...grantsOf(emulated.status)].sort() }).toEqual({ namespace, grants: await sortedGrants(namespace) });
    }
  });

  test('the same access decisions, and reasons of the shape the doctor quotes', async () => {
    const reasonShape = (namespace: string) =>
      new RegExp(
        `^RBAC: allowed by RoleBinding "[^"/]+/${namespace}" of (Cluster)?Role "[^"]+" to ServiceAccount "${worker.name}/${worker.namespace}"$`,
      );
    const asked = [
      ...triaged.flatMap((namespace) => doctorListReads().map((a) => ({ ...a, namespace }))),
      ...triaged.map((namespace) => ({ verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace })),
      ...refusals(),
    ];
    const differ: string[] = [];
    for (const a of asked) {
      const emulated = (
        await emulatorReview('selfsubjectaccessreviews', { kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: a } })
      ).status;
      const real = await k.selfAccessReview(workerToken, a);
      if (emulated.allowed !== real.allowed) differ.push(`${describeAccess(a)}: emulator ${emulated.allowed}, apiserver ${real.allowed}`);
      for (const [who, reason] of [
        ['emulator', emulated.reason],
        ['apiserver', real.reason],
      ] as const)
        if (real.allowed && !reasonShape(a.namespace!).test(reason ?? '')) differ.push(`${describeAccess(a)}: ${who}'s reason ${reason}`);
    }
    expect(differ).toEqual([]);
  });
});
