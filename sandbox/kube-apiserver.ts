// A real kube-apiserver on etcd, both built from the Go module proxy into
// .tools/kube (`make kube`), for the tests that must not trust our own
// emulator: server-side dry-run of the manifests, RBAC as Kubernetes decides
// it, and the Kubernetes activity's reads. Plain flags, loopback only: an
// admin token from a token file, RBAC, a service-account signing key made
// for this run (so TokenRequest works), and an audit log (audit.k8s.io/v1).
// kube-controller-manager runs one controller, ClusterRole aggregation, which
// fills the built-in `view`, `edit` and `admin` roles the manifests bind to.
// Nothing else reconciles: tests set the state they read, statuses included.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { PROJECT_ROOT } from '../config/paths.js';
import { freePort } from './ports.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const KUBE_DIR = join(PROJECT_ROOT, '.tools', 'kube');
const CALICO_CRDS = join(PROJECT_ROOT, 'sandbox', 'kube', 'crds', 'calico');
const STARTUP_TIMEOUT_MS = 60_000;
/** Metadata for every request: who asked for what, and the answer. Enough to line the worker's reads up with a triage. */
const AUDIT_POLICY = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  /** `Warning` headers (for example an unknown field under fieldValidation=Warn). */
  warnings: string[];
}

export interface RequestOptions {
  token?: string;
  /** For example `application/apply-patch+yaml` (server-side apply; JSON is YAML). */
  contentType?: string;
}

export interface KubeApiserver {
  /** https://127.0.0.1:<port> */
  url: string;
  /** The serving certificate the apiserver made for itself, to trust. */
  caPem: string;
  /** audit.k8s.io/v1 events, one JSON object per line. */
  auditLog: string;
  /** A client configuration for `token`, by default the admin's (system:masters). */
  kubeConfig(token?: string): KubeConfig;
  /** One raw request, as the admin unless `token` says otherwise; a body is sent as JSON unless `contentType` says otherwise. */
  request(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/** The built binaries, or an error saying how to build them. */
export function kubeBinaries(): { apiserver: string; controllerManager: string; etcd: string } {
  const binaries = {
    apiserver: join(KUBE_DIR, 'kube-apiserver'),
    controllerManager: join(KUBE_DIR, 'kube-controller-manager'),
    etcd: join(KUBE_DIR, 'etcd'),
  };
  for (const binary of Object.values(binaries)) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`make kube\` (builds it from the Go module proxy)`);
  }
  return binaries;
}

/** The CRDs the egress manifests need: Calico's (vendored) and Cilium's (from its Go module, by `make kube`). */
export function cniCrdFiles(): string[] {
  const calico = join(CALICO_CRDS, 'networkpolicies.projectcalico.org.yaml');
  const ciliumDir = existsSync(join(KUBE_DIR, 'crds'))
    ? readdirSync(join(KUBE_DIR, 'crds')).find((d) => d.startsWith('cilium-'))
    : undefined;
  if (!ciliumDir) throw new Error(`Cilium's CRDs are missing under ${join(KUBE_DIR, 'crds')}: run \`make kube\``);
  return [calico, join(KUBE_DIR, 'crds', ciliumDir, 'ciliumnetworkpolicies.yaml')];
}

function call(
  url: string,
  caPem: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      {
        method,
        ca: caPem,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (healthz, readyz)
          }
          const warning = res.headers.warning;
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings: warning === undefined ? [] : [warning].flat() });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Starts etcd, then kube-apiserver on it, in `dir` (which must exist);
 * resolves once /readyz says ok. close() leaves only the audit log there.
 */
export async function startKubeApiserver(dir: string): Promise<KubeApiserver> {
  const bin = kubeBinaries();
  const [etcdClient, etcdPeer, securePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const etcd = await startServerProcess({
    name: 'etcd',
    address: etcdUrl,
    command: bin.etcd,
    args: [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--log-level=warn',
    ],
    ready: async () => (await fetch(`${etcdUrl}/health`).catch(() => undefined))?.ok === true,
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
  });

  let apiserver: ServerProcess | undefined;
  let controllerManager: ServerProcess | undefined;
  try {
    const adminToken = randomBytes(32).toString('hex');
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, `${adminToken},admin,admin-uid,system:masters\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPub = join(dir, 'service-account.pub');
    const saKey = join(dir, 'service-account.key');
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const policy = join(dir, 'audit-policy.yaml');
    writeFileSync(policy, AUDIT_POLICY);
    const certDir = join(dir, 'certs');
    mkdirSync(certDir, { recursive: true });
    const auditLog = join(dir, 'audit.log');
    const url = `https://127.0.0.1:${securePort}`;
    const caFile = join(certDir, 'apiserver.crt');
    let caPem = '';
    apiserver = await startServerProcess({
      name: 'kube-apiserver',
      address: url,
      command: bin.apiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${tokens}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        `--audit-log-path=${auditLog}`,
        `--audit-policy-file=${policy}`,
        '--audit-log-format=json',
        // Without the token controller no ServiceAccount gets a default token; Pods name theirs.
        '--disable-admission-plugins=ServiceAccount',
      ],
      ready: async () => {
        if (!caPem && existsSync(caFile)) caPem = readFileSync(caFile, 'utf8');
        if (!caPem) return false;
        const answer = await call(url, caPem, adminToken, 'GET', '/readyz').catch(() => undefined);
        return answer?.status === 200;
      },
      startupTimeoutMs: STARTUP_TIMEOUT_MS,
    });
    const admin = (path: string) => call(url, caPem, adminToken, 'GET', path);
    const kubeconfig = join(dir, 'controller-manager.kubeconfig');
    writeFileSync(kubeconfig, adminKubeconfig(url, caFile, adminToken), { mode: 0o600 });
    controllerManager = await startServerProcess({
      name: 'kube-controller-manager',
      address: url,
      command: bin.controllerManager,
      args: [`--kubeconfig=${kubeconfig}`, '--controllers=clusterrole-aggregation', '--leader-elect=false', '--secure-port=0'],
      // Serving nothing itself, it is ready once it has done its one job.
      ready: async () => {
        const view = await admin('/apis/rbac.authorization.k8s.io/v1/clusterroles/view').catch(() => undefined);
        return ((view?.body as { rules?: unknown[] } | undefined)?.rules?.length ?? 0) > 0;
      },
      startupTimeoutMs: STARTUP_TIMEOUT_MS,
    });
    const [server, manager] = [apiserver, controllerManager];
    return {
      url,
      caPem,
      auditLog,
      kubeConfig(token = adminToken) {
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [{ name: 'apiserver', server: url, caData: Buffer.from(caPem).toString('base64') }],
          users: [{ name: 'user', token }],
          contexts: [{ name: 'apiserver', cluster: 'apiserver', user: 'user' }],
          currentContext: 'apiserver',
        });
        return kc;
      },
      request: (method, path, body, opts = {}) => call(url, caPem, opts.token ?? adminToken, method, path, body, opts.contentType),
      async close() {
        await manager.close();
        await server.close();
        await etcd.close();
        // The audit log stays as the run's record; the data and the keys go.
        for (const path of [join(dir, 'etcd'), tokens, saKey, kubeconfig, certDir]) rmSync(path, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await controllerManager?.close();
    await apiserver?.close();
    await etcd.close();
    throw err;
  }
}

function adminKubeconfig(url: string, caFile: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'apiserver', cluster: { server: url, 'certificate-authority': caFile } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'apiserver', context: { cluster: 'apiserver', user: 'admin' } }],
    'current-context': 'apiserver',
  });
}

// ---- objects by kind, as kubectl finds them -------------------------------------------

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Where objects of a kind live: the apiserver's discovery, asked once per group version. */
export function resourcePaths(server: Pick<KubeApiserver, 'request'>) {
  const cache = new Map<string, Promise<ApiResource[]>>();
  const resources = (apiVersion: string) => {
    let found = cache.get(apiVersion);
    if (!found) {
      found = server.request('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`).then((answer) => {
        if (answer.status !== 200) throw new Error(`discovery of ${apiVersion} answered HTTP ${answer.status}`);
        return (answer.body as { resources: ApiResource[] }).resources.filter((r) => !r.name.includes('/'));
      });
      cache.set(apiVersion, found);
    }
    return found;
  };
  return {
    /** The collection path an object of this kind is created in. */
    async collection(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
      const resource = (await resources(obj.apiVersion)).find((r) => r.kind === obj.kind);
      if (!resource) throw new Error(`the apiserver serves no ${obj.kind} in ${obj.apiVersion}`);
      const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
      if (!resource.namespaced) return `${base}/${resource.name}`;
      if (!obj.metadata.namespace) throw new Error(`${obj.kind} ${obj.metadata.name} has no namespace`);
      return `${base}/namespaces/${obj.metadata.namespace}/${resource.name}`;
    },
  };
}

/**
 * Creates CRDs and waits until each is Established (served), as `kubectl
 * apply` followed by `kubectl wait --for=condition=Established` would.
 */
export async function installCrds(server: KubeApiserver, crds: readonly KubeObject[]): Promise<void> {
  for (const crd of crds) {
    const answer = await server.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (answer.status !== 201) throw new Error(`CRD ${crd.metadata.name}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  const deadline = Date.now() + 30_000;
  for (const crd of crds) {
    for (;;) {
      const answer = await server.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      const conditions = (answer.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} was not Established within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
