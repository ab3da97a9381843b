// The Kubernetes manifests in deploy/, as `kustomize build` renders them:
// every object is checked against the Kubernetes OpenAPI description
// (test/specs/kubernetes-swagger.json, with unknown fields refused as
// `kubectl --validate=strict` would) or, for the Calico and Cilium policies,
// against the schemas written from their documented APIs (cli/egress-policy.ts,
// cli/egress-cilium.ts). Then the
// rules the design depends on are checked as behaviour: hardened containers,
// no Secret anywhere in the worker pod, the broker in pods of its own with the
// broker's Secret, reached through its Service by the worker pods only (their
// token minted for the broker's audience), a gateway with no API identity,
// RBAC that is `view` for the worker and TokenReviews for the broker and
// nothing else, and configuration that agrees with the manifests.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseBrokerConfig, type BrokerConfig } from '../../broker/config.js';
import { ciliumNetworkPolicySchema } from '../../cli/egress-cilium.js';
import { BROKER_SERVICE, calicoNetworkPolicySchema } from '../../cli/egress-policy.js';
import { ENV_OVERRIDES, parseConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { builtEntry } from '../built-entry.js';
import { BASE, DEPLOY, kustomize, kustomizeWithComponent, OVERLAY, type K8sObject } from './kustomize.js';
import { ApiDescription, pointerOf, type JsonObject, type SchemaPatch } from '../sandbox/emulators/openapi-schemas.js';

const SPEC_FILE = fileURLToPath(new URL('../specs/kubernetes-swagger.json', import.meta.url));
const COMPONENT = join(DEPLOY, 'components/cluster-wide-view');
const NODE_EVENTS = join(DEPLOY, 'components/node-events');
const NODE_READER = join(DEPLOY, 'components/node-reader');
const CILIUM_EGRESS = join(DEPLOY, 'components/cilium-egress');

const NAMESPACE = 'keyless-triage';
const WORKER_SA = 'keyless-triage-worker';
const GATEWAY_SA = 'keyless-triage-gateway';
const BROKER_SA = 'keyless-triage-broker';
const BROKER_SECRET = 'keyless-triage-broker';
const GATEWAY_SECRET = 'keyless-triage-gateway';
/** The API groups whose objects are checked against the swagger; anything else must be Calico's or Cilium's. */
const SWAGGER_GROUPS = new Set(['', 'apps', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io']);
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

type Container = { name: string; [k: string]: any };
type PodSpec = { containers: Container[]; initContainers?: Container[]; volumes?: any[]; [k: string]: any };

let spec: ApiDescription;
const definitionByKind = new Map<string, string>();
let overlay: K8sObject[];
let base: K8sObject[];
let withComponent: K8sObject[];
let withNodeEvents: K8sObject[];
let withNodeReader: K8sObject[];
let withCiliumEgress: K8sObject[];
let triage: TriageConfig;
let broker: BrokerConfig;

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

beforeAll(() => {
  const raw = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as { definitions: Record<string, JsonObject> };
  // kubectl's strict field validation refuses unknown fields; the published schema does not say so.
  const strict: SchemaPatch[] = Object.entries(raw.definitions)
    .filter(([, d]) => d.type === 'object' && d.properties !== undefined && d.additionalProperties === undefined)
    .map(([name]) => ({
      pointer: pointerOf('definitions', name),
      merge: { additionalProperties: false },
      why: 'unknown fields are errors (kubectl --validate=strict)',
    }));
  const quantity: SchemaPatch = {
    pointer: pointerOf('definitions', 'io.k8s.apimachinery.pkg.api.resource.Quantity'),
    merge: { format: 'quantity' },
    why: 'the schema says only `type: string`; its description gives the serialization grammar',
  };
  spec = new ApiDescription(raw as unknown as JsonObject, `file://${SPEC_FILE}`, {
    formats: { quantity: QUANTITY },
    patches: [...strict, quantity],
  });
  for (const [name, d] of Object.entries(raw.definitions)) {
    for (const gvk of (d['x-kubernetes-group-version-kind'] as unknown as { group: string; version: string; kind: string }[] | undefined) ??
      []) {
      definitionByKind.set(`${gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version}/${gvk.kind}`, name);
    }
  }

  overlay = kustomize(OVERLAY);
  base = kustomize(BASE);
  withComponent = kustomizeWithComponent(COMPONENT);
  withNodeEvents = kustomizeWithComponent(NODE_EVENTS);
  withNodeReader = kustomizeWithComponent(NODE_READER);
  withCiliumEgress = kustomizeWithComponent(CILIUM_EGRESS);

  const configMap = (name: string) => overlay.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${name}-`));
  triage = parseConfig(parseYaml(configMap('keyless-triage-config')!.data['triage.yaml']), { env: {} });
  broker = parseBrokerConfig(parseYaml(configMap('keyless-triage-broker-config')!.data['broker.yaml']), '/etc/broker');
});

const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the build`);
  return o;
};
const podSpec = (o: K8sObject): PodSpec => o.spec.template.spec;
const allContainers = (p: PodSpec): Container[] => [...(p.initContainers ?? []), ...p.containers];
const workloads = (objects: K8sObject[]) =>
  objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind));

/** The projected ServiceAccount tokens of a pod's volumes, by volume name. */
function tokenVolumes(p: PodSpec): Record<string, { audience?: string; expirationSeconds?: number; path: string }> {
  return Object.fromEntries(
    (p.volumes ?? []).flatMap((v: any) =>
      (v.projected?.sources ?? []).filter((s: any) => s.serviceAccountToken).map((s: any) => [v.name, s.serviceAccountToken]),
    ),
  );
}

/** The volumes a container mounts, resolved to their definitions. */
function mountedVolumes(p: PodSpec, c: Container): any[] {
  return (c.volumeMounts ?? []).map((m: any) => (p.volumes ?? []).find((v: any) => v.name === m.name)).filter(Boolean);
}

function secretsOfVolume(v: any): string[] {
  if (v.secret) return [v.secret.secretName];
  return (v.projected?.sources ?? []).filter((s: any) => s.secret).map((s: any) => s.secret.name);
}

describe.each([
  ['overlays/example', () => overlay],
  ['base', () => base],
  ['overlays/example + components/cluster-wide-view', () => withComponent],
  ['overlays/example + components/node-events', () => withNodeEvents],
  ['overlays/example + components/node-reader', () => withNodeReader],
  ['overlays/example + components/cilium-egress', () => withCiliumEgress],
])('kustomize build deploy/%s', (_name, objects) => {
  test('renders objects', () => {
    expect(objects().length).toBeGreaterThan(5);
  });

  test('every object conforms to the Kubernetes OpenAPI description or to the Calico or Cilium schema', () => {
    const problems: string[] = [];
    for (const o of objects()) {
      const where = `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
      if (SWAGGER_GROUPS.has(groupOf(o.apiVersion))) {
        const definition = definitionByKind.get(`${o.apiVersion}/${o.kind}`);
        if (!definition) {
          problems.push(`${where}: ${o.apiVersion} ${o.kind} is not in the Kubernetes description`);
          continue;
        }
        problems.push(...spec.schemaErrors(pointerOf('definitions', definition), o).map((e) => `${where}: ${e}`));
      } else if (o.apiVersion === 'projectcalico.org/v3' && o.kind === 'NetworkPolicy') {
        const result = calicoNetworkPolicySchema.safeParse(o);
        if (!result.success) problems.push(...result.error.issues.map((i) => `${where}: ${i.path.join('.')}: ${i.message}`));
      } else if (o.apiVersion === 'cilium.io/v2' && o.kind === 'CiliumNetworkPolicy') {
        const result = ciliumNetworkPolicySchema.safeParse(o);
        if (!result.success) problems.push(...result.error.issues.map((i) => `${where}: ${i.path.join('.')}: ${i.message}`));
      } else {
        problems.push(`${where}: no schema to check ${o.apiVersion} ${o.kind} against`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('no Role or ClusterRole grants access to Secrets; every binding is for the worker (to `view`, a Role that only reads events, or a ClusterRole that only reads nodes) or for the broker (a ClusterRole that only creates TokenReviews)', () => {
    for (const role of objects().filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
      for (const rule of role.rules ?? []) {
        expect({ role: role.metadata.name, resources: rule.resources }).not.toEqual(
          expect.objectContaining({ resources: expect.arrayContaining([expect.stringMatching(/^(secrets|\*)$/)]) }),
        );
      }
    }
    const roles = new Map(
      objects()
        .filter((o) => o.kind === 'Role')
        .map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]),
    );
    const clusterRoles = new Map(
      objects()
        .filter((o) => o.kind === 'ClusterRole')
        .map((r) => [r.metadata.name, r]),
    );
    for (const binding of objects().filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      if (binding.subjects.some((s: any) => s.name === BROKER_SA)) {
        expect(binding.kind).toBe('ClusterRoleBinding');
        expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: BROKER_SA, namespace: NAMESPACE }]);
        expect(clusterRoles.get(binding.roleRef.name)?.rules).toEqual([
          { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        ]);
        continue;
      }
      if (binding.roleRef.kind === 'ClusterRole' && binding.roleRef.name !== 'view') {
        // The node-reader component: a ClusterRole of its own that gets and lists Nodes, bound cluster-wide, nothing else.
        expect(binding.kind).toBe('ClusterRoleBinding');
        expect(clusterRoles.get(binding.roleRef.name)?.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }]);
      } else if (binding.roleRef.kind === 'Role') {
        // The node-events component: its Role, in the binding's namespace, reads events and nothing else.
        const role = roles.get(`${binding.metadata.namespace}/${binding.roleRef.name}`);
        expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] }]);
      } else {
        expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
      }
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: WORKER_SA, namespace: NAMESPACE }]);
    }
  });

  test('no Secret is rendered: they are created with kubectl, never from the repository', () => {
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('hardening of every container', () => {
  const cases = () =>
    workloads(overlay).flatMap((w) => allContainers(podSpec(w)).map((c) => ({ workload: w.metadata.name, pod: podSpec(w), container: c })));

  test('there are the three containers the design names, from one image pinned by digest', () => {
    expect(
      cases()
        .map((c) => `${c.workload}/${c.container.name}`)
        .sort(),
    ).toEqual(['keyless-triage-broker/broker', 'keyless-triage-gateway/gateway', 'keyless-triage-worker/worker']);
    const images = new Set(cases().map((c) => c.container.image));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/);
    for (const { container } of cases()) expect(container.imagePullPolicy).toBe('Always');
  });

  test('non-root with numeric ids, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    for (const { workload, pod, container } of cases()) {
      const at = `${workload}/${container.name}`;
      const sc = { ...pod.securityContext, ...container.securityContext };
      expect({ at, runAsNonRoot: sc.runAsNonRoot }).toEqual({ at, runAsNonRoot: true });
      expect({ at, uid: Number.isInteger(sc.runAsUser) && sc.runAsUser >= 10000 }).toEqual({ at, uid: true });
      expect({ at, gid: Number.isInteger(sc.runAsGroup) && sc.runAsGroup > 0 }).toEqual({ at, gid: true });
      expect({ at, ro: container.securityContext?.readOnlyRootFilesystem }).toEqual({ at, ro: true });
      expect({ at, ape: container.securityContext?.allowPrivilegeEscalation }).toEqual({ at, ape: false });
      expect({ at, privileged: container.securityContext?.privileged ?? false }).toEqual({ at, privileged: false });
      expect({ at, drop: container.securityContext?.capabilities?.drop, add: container.securityContext?.capabilities?.add }).toEqual({
        at,
        drop: ['ALL'],
        add: undefined,
      });
      expect({ at, seccomp: sc.seccompProfile?.type }).toEqual({ at, seccomp: 'RuntimeDefault' });
      expect({ at, hostNetwork: pod.hostNetwork ?? false, hostPID: pod.hostPID ?? false, hostIPC: pod.hostIPC ?? false }).toEqual({
        at,
        hostNetwork: false,
        hostPID: false,
        hostIPC: false,
      });
    }
  });

  test('CPU and memory requests and limits', () => {
    for (const { workload, container } of cases()) {
      const r = container.resources ?? {};
      expect({
        at: `${workload}/${container.name}`,
        requests: Object.keys(r.requests ?? {}).sort(),
        limits: Object.keys(r.limits ?? {}).sort(),
      }).toEqual({
        at: `${workload}/${container.name}`,
        requests: ['cpu', 'memory'],
        limits: ['cpu', 'memory'],
      });
    }
  });

  test('liveness and readiness probes on every container', () => {
    for (const { workload, container } of cases()) {
      const at = `${workload}/${container.name}`;
      expect({ at, liveness: container.livenessProbe !== undefined, readiness: container.readinessProbe !== undefined }).toEqual({
        at,
        liveness: true,
        readiness: true,
      });
    }
  });

  test("the worker's probes ask its loopback health endpoint, on the port triage.yaml gives it", () => {
    const worker = podSpec(find(overlay, 'Deployment', 'keyless-triage-worker')).containers.find((c) => c.name === 'worker')!;
    const port = triage.worker.healthPort;
    expect(worker.ports).toBeUndefined();
    expect(worker.livenessProbe.exec.command.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    for (const probe of [worker.startupProbe, worker.readinessProbe])
      expect(probe.exec.command.join(' ')).toContain(`http://127.0.0.1:${port}/readyz`);
  });

  test('the broker is a Deployment of its own: no broker container in the worker pod, which runs the worker and nothing else', () => {
    const pod = podSpec(find(overlay, 'Deployment', 'keyless-triage-worker'));
    expect(allContainers(pod).map((c) => c.name)).toEqual(['worker']);
    expect(pod.initContainers).toBeUndefined();
    expect((pod.volumes ?? []).map((v: any) => v.name).sort()).toEqual(['broker-token', 'config', 'kube-api-access', 'worker-tmp']);
    const brokerPod = podSpec(find(overlay, 'Deployment', 'keyless-triage-broker'));
    expect(allContainers(brokerPod).map((c) => c.name)).toEqual(['broker']);
  });

  test("the broker listens on its port off loopback, where the Service sends and triage.yaml's broker.url points", () => {
    const brokerContainer = podSpec(find(overlay, 'Deployment', 'keyless-triage-broker')).containers[0]!;
    expect(broker.listen.host).toBe('0.0.0.0');
    expect(brokerContainer.ports).toEqual([{ name: 'http', containerPort: broker.listen.port, protocol: 'TCP' }]);
    const service = find(overlay, 'Service', BROKER_SERVICE.name);
    expect(service.metadata.namespace).toBe(BROKER_SERVICE.namespace);
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: broker.listen.port, targetPort: 'http', protocol: 'TCP' }]);
    const url = new URL(triage.broker.url);
    expect(url.protocol).toBe('http:');
    expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    expect(Number(url.port)).toBe(service.spec.ports[0].port);
  });

  test('the broker Service selects the broker pods and no other', () => {
    const service = find(overlay, 'Service', BROKER_SERVICE.name);
    const selected = workloads(overlay).filter((d) =>
      Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
    );
    expect(selected.map((d) => d.metadata.name)).toEqual(['keyless-triage-broker']);
  });

  test("the broker's kubelet probes ask its unauthenticated /healthz (started, alive) and /readyz (credentials usable) on its port", () => {
    const brokerContainer = podSpec(find(overlay, 'Deployment', 'keyless-triage-broker')).containers[0]!;
    for (const probe of [brokerContainer.startupProbe, brokerContainer.livenessProbe])
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(brokerContainer.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  test('terminationGracePeriodSeconds covers the graceful shutdowns', () => {
    const workerTs = readFileSync(join(PROJECT_ROOT, 'workers/worker.ts'), 'utf8');
    const workerGrace = Number(/shutdownGraceTime: '(\d+) seconds'/.exec(workerTs)?.[1]);
    expect(workerGrace).toBeGreaterThan(0);
    expect(podSpec(find(overlay, 'Deployment', 'keyless-triage-worker')).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      workerGrace + 5,
    );
    // The preStop sleep lets the Service drop the pod before the broker stops accepting; then in-flight requests finish.
    const brokerPod = podSpec(find(overlay, 'Deployment', 'keyless-triage-broker'));
    expect(brokerPod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      brokerPod.containers[0]!.lifecycle.preStop.sleep.seconds + broker.shutdownGraceMs / 1000 + 5,
    );
    const gateway = podSpec(find(overlay, 'Deployment', 'keyless-triage-gateway'));
    const gatewayMain = readFileSync(join(PROJECT_ROOT, 'starter/main.ts'), 'utf8');
    const gatewayExit = Number(/setTimeout\(\(\) => process\.exit\(0\), (\d+)\)/.exec(gatewayMain)?.[1]) / 1000;
    expect(gatewayExit).toBeGreaterThan(0);
    expect(gateway.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      gateway.containers[0]!.lifecycle.preStop.sleep.seconds + gatewayExit,
    );
  });

  test("the entry points are scripts npm run build produces, run by the image's node", () => {
    // deploy/Dockerfile: ENTRYPOINT is node itself, and a container picks its script with args.
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const node = (JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[])[0]!;
    for (const { workload, container } of cases()) {
      expect({ at: `${workload}/${container.name}`, command: container.command }).toEqual({
        at: `${workload}/${container.name}`,
        command: undefined,
      });
      expect(container.args).toHaveLength(1);
      expect(() => builtEntry(container.args[0].replace(/^dist\//, ''))).not.toThrow();
      for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
        if (probe?.exec) expect(probe.exec.command[0]).toBe(node);
      }
    }
    expect(
      cases()
        .map((c) => c.container.args[0])
        .sort(),
    ).toEqual(['dist/broker/main.js', 'dist/starter/main.js', 'dist/workers/main.js']);
  });

  test('writable paths are emptyDirs with a size limit', () => {
    for (const w of workloads(overlay)) {
      for (const v of podSpec(w).volumes ?? [])
        if (v.emptyDir)
          expect({ volume: v.name, sizeLimit: v.emptyDir.sizeLimit }).toEqual({ volume: v.name, sizeLimit: expect.any(String) });
    }
  });
});

describe('credentials', () => {
  const workerPod = () => podSpec(find(overlay, 'Deployment', 'keyless-triage-worker'));
  const brokerPod = () => podSpec(find(overlay, 'Deployment', 'keyless-triage-broker'));
  const gatewayPod = () => podSpec(find(overlay, 'Deployment', 'keyless-triage-gateway'));

  test('the worker container has no Secret: not in env, not through envFrom, not in a volume', () => {
    const pod = workerPod();
    const worker = pod.containers.find((c) => c.name === 'worker')!;
    expect((worker.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef)).toEqual([]);
    expect((worker.envFrom ?? []).filter((e: any) => e.secretRef)).toEqual([]);
    expect(mountedVolumes(pod, worker).flatMap(secretsOfVolume)).toEqual([]);
    // Its configuration comes from the ConfigMap only.
    const config = mountedVolumes(pod, worker).find((v) => v.name === 'config');
    expect(config.configMap.name).toMatch(/^keyless-triage-config-/);
    expect(worker.env.find((e: any) => e.name === 'TRIAGE_CONFIG').value).toBe('/etc/keyless-triage/triage.yaml');
  });

  test('the worker pod mounts no Secret, in any volume, mounted or not', () => {
    expect((workerPod().volumes ?? []).flatMap(secretsOfVolume)).toEqual([]);
  });

  test("only the broker container mounts the broker's Secret, and only the gateway the gateway's", () => {
    const mounts: string[] = [];
    for (const w of workloads(overlay)) {
      const pod = podSpec(w);
      for (const c of allContainers(pod))
        for (const s of mountedVolumes(pod, c).flatMap(secretsOfVolume)) mounts.push(`${w.metadata.name}/${c.name} <- ${s}`);
      for (const c of allContainers(pod)) {
        for (const e of c.env ?? [])
          expect({ container: c.name, secretEnv: e.valueFrom?.secretKeyRef }).toEqual({ container: c.name, secretEnv: undefined });
        for (const e of c.envFrom ?? [])
          expect({ container: c.name, secretEnvFrom: e.secretRef }).toEqual({ container: c.name, secretEnvFrom: undefined });
      }
    }
    expect(mounts.sort()).toEqual([
      `keyless-triage-broker/broker <- ${BROKER_SECRET}`,
      `keyless-triage-gateway/gateway <- ${GATEWAY_SECRET}`,
    ]);
  });

  test("the broker's secret files and config are where broker.yaml and BROKER_CONFIG say", () => {
    const pod = brokerPod();
    const brokerContainer = pod.containers[0]!;
    const secretMount = brokerContainer.volumeMounts.find(
      (m: any) => mountedVolumes(pod, { name: 'x', volumeMounts: [m] })[0]?.secret?.secretName === BROKER_SECRET,
    );
    const { github, pagerduty, datadog, slack } = broker.providers;
    const files = [
      github?.privateKeyFile,
      pagerduty?.clientIdFile,
      pagerduty?.clientSecretFile,
      datadog?.apiKeyFile,
      datadog?.appKeyFile,
      slack?.botTokenFile,
    ];
    for (const f of files) expect(f?.startsWith(`${secretMount.mountPath}/`)).toBe(true);
    const configDir = brokerContainer.volumeMounts.find((m: any) => m.name === 'config').mountPath;
    expect(mountedVolumes(pod, brokerContainer).find((v) => v.name === 'config').configMap.name).toMatch(/^keyless-triage-broker-config-/);
    expect(brokerContainer.env).toEqual([{ name: 'BROKER_CONFIG', value: `${configDir}/broker.yaml` }]);
  });

  test("the gateway's secret files are where triage.yaml says, and the gateway listens where the Service sends", () => {
    const pod = gatewayPod();
    const gateway = pod.containers[0]!;
    const secretMount = gateway.volumeMounts.find((m: any) => m.name === 'gateway-secrets');
    expect(mountedVolumes(pod, gateway).find((v) => v.name === 'gateway-secrets').secret.secretName).toBe(GATEWAY_SECRET);
    for (const f of [...triage.gateway!.pagerdutyWebhookSecretFiles, triage.gateway!.slackSigningSecretFile!])
      expect(f.startsWith(`${secretMount.mountPath}/`)).toBe(true);
    expect(triage.gateway!.host).toBe('0.0.0.0');
    expect(gateway.ports).toEqual([{ name: 'http', containerPort: triage.gateway!.port, protocol: 'TCP' }]);
    const service = find(overlay, 'Service', 'keyless-triage-gateway');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(gateway.livenessProbe.httpGet.path).toBe('/healthz');
    expect(gateway.readinessProbe.httpGet.path).toBe('/readyz');
  });

  test('the gateway has no Kubernetes identity: no token, no binding', () => {
    const sa = find(overlay, 'ServiceAccount', GATEWAY_SA);
    expect(sa.automountServiceAccountToken).toBe(false);
    const pod = gatewayPod();
    expect(pod.serviceAccountName).toBe(GATEWAY_SA);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect((pod.volumes ?? []).filter((v: any) => v.projected?.sources?.some((s: any) => s.serviceAccountToken))).toEqual([]);
    for (const objects of [overlay, withComponent]) {
      const bound = objects.filter((o) => /Binding$/.test(o.kind) && (o.subjects ?? []).some((s: any) => s.name === GATEWAY_SA));
      expect(bound).toEqual([]);
    }
  });

  test("the worker pod's two tokens: the API server's (kube-api-access) and one minted for the broker's audience, where broker.tokenFile points", () => {
    const pod = workerPod();
    expect(find(overlay, 'ServiceAccount', WORKER_SA).automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(WORKER_SA);
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokens = tokenVolumes(pod);
    expect(Object.keys(tokens).sort()).toEqual(['broker-token', 'kube-api-access']);
    // The API server's own audience (the default) for the API; the broker's for the broker: each is refused by the other.
    expect(tokens['kube-api-access']!.audience).toBeUndefined();
    expect(tokens['broker-token']!.audience).toBe(broker.callers!.audience);
    expect(tokens['broker-token']!.audience).not.toBe('');
    for (const t of Object.values(tokens)) expect(t.expirationSeconds).toBeLessThanOrEqual(3600);
    const worker = pod.containers[0]!;
    const mount = worker.volumeMounts.find((m: any) => m.name === 'broker-token');
    expect(mount.readOnly).toBe(true);
    expect(`${mount.mountPath}/${tokens['broker-token']!.path}`).toBe(triage.broker.tokenFile);
    expect(dirname(triage.broker.tokenFile!)).toBe(mount.mountPath);
    expect(basename(triage.broker.tokenFile!)).toBe('token');
  });

  test("the broker accepts the worker's ServiceAccount as a caller, and only it", () => {
    expect(broker.callers!.serviceAccounts).toEqual([`${NAMESPACE}/${WORKER_SA}`]);
    expect(broker.callers!.kubeconfig).toBeUndefined();
  });

  test("the broker pod gets its own API token (for TokenReviews), projected like the worker's, and no other", () => {
    const pod = brokerPod();
    expect(find(overlay, 'ServiceAccount', BROKER_SA).automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(BROKER_SA);
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokens = tokenVolumes(pod);
    expect(Object.keys(tokens)).toEqual(['kube-api-access']);
    expect(tokens['kube-api-access']!.audience).toBeUndefined();
    expect(tokens['kube-api-access']!.expirationSeconds).toBeLessThanOrEqual(3600);
    const mount = pod.containers[0]!.volumeMounts.find((m: any) => m.name === 'kube-api-access');
    expect(mount).toEqual({ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
  });

  test('EKS Pod Identity: nothing but the ServiceAccount name, and no AWS anything in the broker', () => {
    // No IRSA role annotation, no static AWS key: the association is made with the AWS API.
    for (const name of [WORKER_SA, BROKER_SA]) {
      const sa = find(overlay, 'ServiceAccount', name);
      expect({ sa: name, eks: Object.keys(sa.metadata.annotations ?? {}).filter((k) => k.startsWith('eks.amazonaws.com/')) }).toEqual({
        sa: name,
        eks: [],
      });
    }
    for (const w of workloads(overlay)) {
      for (const c of allContainers(podSpec(w))) {
        for (const e of c.env ?? [])
          expect(e.name).not.toMatch(/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|CONTAINER_)/);
      }
    }
  });
});

describe('configuration agrees with the manifests', () => {
  test('one RoleBinding to `view` per namespace the services name, and no other', () => {
    const configured = [...new Set(Object.values(triage.services).flatMap((s) => s.kubernetes?.namespaces ?? []))].sort();
    const bound = overlay
      .filter((o) => o.kind === 'RoleBinding')
      .map((o) => o.metadata.namespace)
      .sort();
    expect(bound).toEqual(configured);
    // Cluster-wide, the worker is bound only with the opt-in component; the broker's TokenReview grant is cluster-scoped by nature.
    const clusterBindings = (objects: K8sObject[]) =>
      objects
        .filter((o) => o.kind === 'ClusterRoleBinding')
        .map((o) => o.metadata.name)
        .sort();
    expect(clusterBindings(overlay)).toEqual(['keyless-triage-broker-tokenreview']);
    expect(clusterBindings(withComponent)).toEqual(['keyless-triage-broker-tokenreview', 'keyless-triage-worker-view']);
  });

  test('the node-events component adds one Role and its binding, in the namespace the kubelet records Node events in, and nothing else', () => {
    const added = withNodeEvents.filter(
      (o) =>
        !overlay.some((x) => x.kind === o.kind && x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace),
    );
    expect(added.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'Role default/keyless-triage-worker-node-events',
      'RoleBinding default/keyless-triage-worker-node-events',
    ]);
    // Opt-in on both sides: the example overlay's triage.yaml does not ask for Node events either.
    expect(triage.kubernetes.nodeEventsNamespace).toBeUndefined();
  });

  test('the node-reader component adds one ClusterRole that gets and lists Nodes and its binding to the worker, and nothing else', () => {
    const added = withNodeReader.filter(
      (o) =>
        !overlay.some((x) => x.kind === o.kind && x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace),
    );
    expect(added.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole /keyless-triage-worker-node-reader',
      'ClusterRoleBinding /keyless-triage-worker-node-reader',
    ]);
    expect(find(withNodeReader, 'ClusterRoleBinding', 'keyless-triage-worker-node-reader').roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'keyless-triage-worker-node-reader',
    });
    // Opt-in on both sides: the example overlay's triage.yaml does not read Nodes either.
    expect(triage.kubernetes.readNodes ?? false).toBe(false);
  });

  test('environment overrides set in the manifests repeat triage.yaml, so the file (and the egress render) stay the truth', () => {
    const setting = (path: string) => path.split('.').reduce<any>((node, key) => node?.[key], triage);
    for (const w of workloads(overlay)) {
      for (const c of allContainers(podSpec(w))) {
        for (const e of c.env ?? []) {
          const path = ENV_OVERRIDES[e.name];
          if (!path) continue;
          expect({ container: c.name, [e.name]: e.value }).toEqual({ container: c.name, [e.name]: String(setting(path)) });
        }
      }
    }
  });

  test('every namespaced object lives in keyless-triage, except the RoleBindings in the namespaces they grant', () => {
    for (const o of overlay) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) continue;
      if (o.kind === 'RoleBinding') expect(o.metadata.namespace).not.toBe(NAMESPACE);
      else
        expect({ object: `${o.kind}/${o.metadata.name}`, namespace: o.metadata.namespace }).toEqual({
          object: `${o.kind}/${o.metadata.name}`,
          namespace: NAMESPACE,
        });
    }
    expect(find(overlay, 'Namespace', NAMESPACE).metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('disruption and network policy', () => {
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  test('each Deployment has a PodDisruptionBudget that selects its pods and leaves room to drain', () => {
    for (const d of workloads(overlay)) {
      const labels = d.spec.template.metadata.labels;
      const pdbs = overlay.filter((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec.selector.matchLabels, labels));
      expect({ deployment: d.metadata.name, pdbs: pdbs.length }).toEqual({ deployment: d.metadata.name, pdbs: 1 });
      expect(d.spec.replicas).toBeGreaterThan(pdbs[0]!.spec.minAvailable);
    }
  });

  test('default deny in both directions, DNS for all, ingress to the gateway port and to the broker port, nothing else', () => {
    const policies = overlay.filter((o) => o.kind === 'NetworkPolicy' && o.apiVersion === 'networking.k8s.io/v1');
    const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny?.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    const ingress = policies.filter((p) => p.spec.ingress);
    expect(ingress.map((p) => p.metadata.name).sort()).toEqual(['allow-broker-ingress', 'allow-gateway-ingress']);
    const gateway = find(overlay, 'NetworkPolicy', 'allow-gateway-ingress');
    expect(gateway.spec.podSelector.matchLabels).toEqual(find(overlay, 'Deployment', 'keyless-triage-gateway').spec.selector.matchLabels);
    expect(gateway.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: triage.gateway!.port }] }]);
    const egress = policies.filter((p) => p.spec.egress);
    expect(egress).toHaveLength(1);
    expect(egress[0]!.spec.egress.flatMap((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort()).toEqual([
      'TCP/53',
      'UDP/53',
    ]);
  });

  test("the broker's ingress admits the worker pods, on the broker's port, and no other pod", () => {
    const policy = find(overlay, 'NetworkPolicy', 'allow-broker-ingress');
    const selected = (selector: Record<string, string>) =>
      workloads(overlay)
        .filter((d) => matches(selector, d.spec.template.metadata.labels))
        .map((d) => d.metadata.name);
    expect(selected(policy.spec.podSelector.matchLabels)).toEqual(['keyless-triage-broker']);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    const [rule] = policy.spec.ingress;
    // A podSelector alone: pods of this namespace only.
    expect(rule.from).toHaveLength(1);
    expect(Object.keys(rule.from[0])).toEqual(['podSelector']);
    expect(selected(rule.from[0].podSelector.matchLabels)).toEqual(['keyless-triage-worker']);
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: broker.listen.port }]);
  });

  test("each Calico egress policy selects exactly its Deployment's pods", () => {
    const calico = overlay.filter((o) => o.apiVersion === 'projectcalico.org/v3');
    expect(calico.map((c) => c.metadata.name).sort()).toEqual([
      'keyless-triage-broker-egress',
      'keyless-triage-gateway-egress',
      'keyless-triage-worker-egress',
    ]);
    for (const policy of calico) {
      const terms = Object.fromEntries(
        (policy.spec.selector as string).split('&&').map((t) => /^\s*([\w./-]+) == '([^']*)'\s*$/.exec(t)!.slice(1, 3) as [string, string]),
      );
      const selected = workloads(overlay).filter((d) => matches(terms, d.spec.template.metadata.labels));
      expect(selected.map((d) => d.metadata.name)).toEqual([policy.metadata.name.replace(/-egress$/, '')]);
      expect(policy.spec.types).toEqual(['Egress']);
      expect(policy.metadata.namespace).toBe(NAMESPACE);
    }
  });

  test("the cilium-egress component replaces the Calico egress policies with Cilium ones that select the same Deployments' pods, and changes nothing else", () => {
    const key = (o: K8sObject) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    // Fresh builds: other tests sort arrays of the shared ones in place.
    const plain = kustomize(OVERLAY);
    const cilium = kustomizeWithComponent(CILIUM_EGRESS);
    const before = new Set(plain.map(key));
    const after = new Set(cilium.map(key));
    expect([...before].filter((k) => !after.has(k)).sort()).toEqual([
      'projectcalico.org/v3 NetworkPolicy keyless-triage/keyless-triage-broker-egress',
      'projectcalico.org/v3 NetworkPolicy keyless-triage/keyless-triage-gateway-egress',
      'projectcalico.org/v3 NetworkPolicy keyless-triage/keyless-triage-worker-egress',
    ]);
    expect([...after].filter((k) => !before.has(k)).sort()).toEqual([
      'cilium.io/v2 CiliumNetworkPolicy keyless-triage/keyless-triage-broker-egress',
      'cilium.io/v2 CiliumNetworkPolicy keyless-triage/keyless-triage-gateway-egress',
      'cilium.io/v2 CiliumNetworkPolicy keyless-triage/keyless-triage-worker-egress',
    ]);
    for (const o of cilium.filter((x) => before.has(key(x)))) expect(o).toEqual(plain.find((x) => key(x) === key(o)));
    for (const policy of cilium.filter((o) => o.kind === 'CiliumNetworkPolicy')) {
      const selected = workloads(cilium).filter((d) => matches(policy.spec.endpointSelector.matchLabels, d.spec.template.metadata.labels));
      expect(selected.map((d) => d.metadata.name)).toEqual([policy.metadata.name.replace(/-egress$/, '')]);
      expect(policy.metadata.labels?.['app.kubernetes.io/part-of']).toBe('keyless-triage');
    }
  });
});
