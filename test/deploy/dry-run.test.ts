// Every render of deploy/ (the base, the example overlay, and the overlay with
// each opt-in component) as a real kube-apiserver takes it: server-side
// dry-run with unknown fields refused (fieldValidation=Strict), after the
// Calico and Cilium CRDs are installed from their published YAML. This is
// what `kubectl apply --dry-run=server --validate=strict` would say on a
// cluster, without a cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cniCrdFiles, installCrds, resourcePaths, type KubeApiserver, type KubeObject } from '../../sandbox/kube-apiserver.js';
import { startTestApiserver } from '../kube-apiserver.js';
import { BASE, DEPLOY, kustomize, kustomizeWithComponent, OVERLAY, type K8sObject } from './kustomize.js';

const COMPONENTS = ['cluster-wide-view', 'node-events', 'node-reader', 'cilium-egress'];

let server: KubeApiserver;
let paths: ReturnType<typeof resourcePaths>;

beforeAll(async () => {
  server = await startTestApiserver('dry-run');
  paths = resourcePaths(server);
  const crds = cniCrdFiles().flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o?.kind === 'CustomResourceDefinition'),
  );
  await installCrds(server, crds);
});

afterAll(async () => {
  await server?.close();
});

/** Namespaced objects are admitted only into namespaces that exist: create each (for real) once. */
async function ensureNamespaces(objects: readonly K8sObject[]): Promise<void> {
  const names = new Set(objects.flatMap((o) => [o.metadata.namespace ?? [], o.kind === 'Namespace' ? o.metadata.name : []].flat()));
  for (const name of names) {
    const answer = await server.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (answer.status !== 201 && answer.status !== 409) throw new Error(`namespace ${name}: HTTP ${answer.status}`);
  }
}

/** `kubectl apply --server-side --dry-run=server --validate=strict`. */
async function dryRun(obj: K8sObject) {
  const collection = await paths.collection(obj);
  return server.request(
    'PATCH',
    `${collection}/${obj.metadata.name}?dryRun=All&fieldManager=keyless-triage-test&fieldValidation=Strict`,
    obj,
    {
      contentType: 'application/apply-patch+yaml',
    },
  );
}

/** A client-side create as `kubectl create --dry-run=server` sends it: `--validate=strict` (the default) or `--validate=false`. */
async function dryRunCreate(obj: K8sObject, fieldValidation: 'Strict' | 'Ignore') {
  const collection = await paths.collection(obj);
  return server.request('POST', `${collection}?dryRun=All&fieldValidation=${fieldValidation}`, obj);
}

const describe_ = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Calico's DNS policy field, which Calico Open Source's API does not have. */
function withoutDomains(obj: K8sObject): K8sObject {
  const copy = structuredClone(obj);
  for (const rule of copy.spec.egress ?? []) delete rule.destination?.domains;
  return copy;
}

const isCalico = (o: K8sObject) => o.apiVersion === 'projectcalico.org/v3';

const renders: [string, () => K8sObject[]][] = [
  ['base', () => kustomize(BASE)],
  ['overlays/example', () => kustomize(OVERLAY)],
  ...COMPONENTS.map((c): [string, () => K8sObject[]] => [
    `overlays/example + components/${c}`,
    () => kustomizeWithComponent(join(DEPLOY, 'components', c)),
  ]),
];

describe.each(renders)('%s', (_name, render) => {
  test('every object is admitted by server-side dry-run, unknown fields refused', async () => {
    const objects = render();
    await ensureNamespaces(objects);
    const refused: string[] = [];
    for (const obj of objects) {
      // Calico's own objects are checked below, without the Enterprise-only field.
      const answer = await dryRun(isCalico(obj) ? withoutDomains(obj) : obj);
      if (answer.status !== 200 && answer.status !== 201)
        refused.push(`${describe_(obj)}: HTTP ${answer.status} ${(answer.body as { message?: string }).message}`);
    }
    expect(refused).toEqual([]);
    // Every render holds an egress allowlist, Calico's or Cilium's.
    expect(objects.some((o) => isCalico(o) || o.apiVersion === 'cilium.io/v2')).toBe(true);
  });
});

describe('Calico Open Source and destination.domains', () => {
  let policies: K8sObject[];
  beforeAll(async () => {
    const objects = kustomize(OVERLAY);
    await ensureNamespaces(objects);
    policies = objects.filter(isCalico);
    expect(policies.map(describe_).sort()).toEqual([
      'NetworkPolicy keyless-triage/keyless-triage-broker-egress',
      'NetworkPolicy keyless-triage/keyless-triage-gateway-egress',
      'NetworkPolicy keyless-triage/keyless-triage-worker-egress',
    ]);
  });

  /** `unknown field "<path>"` for each rule of the policy that names domains. */
  function domainPaths(policy: K8sObject): string[] {
    return (policy.spec.egress as { destination?: { domains?: unknown } }[])
      .flatMap((rule, i) => (rule.destination?.domains ? [`spec.egress[${i}].destination.domains`] : []))
      .sort();
  }

  test('its published CRD has no domains field: a server-side apply is refused', async () => {
    for (const policy of policies) {
      expect(domainPaths(policy).length).toBeGreaterThan(0);
      const answer = await dryRun(policy);
      expect(answer.status).toBe(500);
      expect((answer.body as { message: string }).message).toMatch(/\.destination\.domains: field not declared in schema$/);
    }
  });

  test("a client-side apply with strict validation (kubectl's default) is refused, naming exactly those fields", async () => {
    for (const policy of policies) {
      const answer = await dryRunCreate(policy, 'Strict');
      expect(answer.status).toBe(400);
      const named = [...(answer.body as { message: string }).message.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]).sort();
      expect(named).toEqual(domainPaths(policy));
    }
  });

  test('with validation off the field is dropped and the rule kept: "any host on that port", as docs/deploy.md warns', async () => {
    const policy = policies[0]!;
    const answer = await dryRunCreate(policy, 'Ignore');
    expect(answer.status).toBe(201);
    const rules = (answer.body as K8sObject).spec.egress as { action: string; destination?: Record<string, unknown> }[];
    for (const path of domainPaths(policy)) {
      const rule = rules[Number(/\[(\d+)\]/.exec(path)![1])]!;
      expect(rule.action).toBe('Allow');
      expect(Object.keys(rule.destination ?? {})).toEqual(['ports']);
    }
  });
});
