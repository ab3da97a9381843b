// A read-only Kubernetes apiserver for the sandbox: the few list endpoints the
// triage worker calls (Nodes among them, cluster-scoped) and the pod log, with
// the apiserver's List/Status wire shapes, selectors, chunked lists and
// bearer-token auth, so @kubernetes/client-node works against it unchanged
// (only the server URL differs).
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import express, { type NextFunction, type Request, type Response } from 'express';
import { NODE_EVENTS_NAMESPACE, type Scenario, type ScenarioNamespace, type SurfaceConditions } from '../scenario.js';
import { FaultSwitch, type Fault } from './fault.js';
import { listen, requestLogger, tokenMatches, type ListenOptions, type Listening, type RequestLogEntry } from './http-server.js';
import { AUTHENTICATION_API_VERSION, reviewToken, TOKEN_REVIEW_PATH, type TokenReviewOptions } from './kubernetes-token-review.js';
import { SelectorError, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

export interface KubernetesEmulatorOptions extends ListenOptions {
  scenario: Scenario;
  /** Added latency and error rate on every API request (scenario `conditions` or the environment). */
  conditions?: SurfaceConditions;
  token: string;
  /**
   * RBAC rules the token's service account is bound to cluster-wide (a
   * ClusterRoleBinding). Default: the built-in `view` ClusterRole, which reads
   * the common resources but not Secrets. The account also holds what the
   * bootstrap policy gives every authenticated user and every service account
   * (`system:basic-user`, `system:discovery`, `system:public-info-viewer`,
   * `system:service-account-issuer-discovery`), as on a real cluster.
   */
  rules?: PolicyRule[];
  /** Rules bound in one namespace only (RoleBindings), by namespace. */
  namespaceRules?: Record<string, PolicyRule[]>;
  /** Serves TokenReviews to one more client, the broker (kubernetes-token-review.ts). */
  tokenReview?: TokenReviewOptions;
}

export interface KubernetesEmulator extends Listening {
  setFault(fault: Fault | null): void;
  /** API requests received so far, including refused ones. */
  readonly requests: number;
  /** The most recent requests with their User-Agent / X-Triage-Id and status, oldest first. */
  readonly requestLog: readonly RequestLogEntry[];
  /** Swaps the cluster state; continue tokens issued before become stale (410), as after an etcd compaction. */
  replaceScenario(scenario: Scenario): void;
  /** Rebinds the service account: `rules` cluster-wide (null: the `view` ClusterRole), `namespaceRules` per namespace. */
  setRbac(rbac: { rules?: PolicyRule[] | null; namespaceRules?: Record<string, PolicyRule[]> }): void;
}

type KubeObject = { metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

interface ResourceType {
  /** URL segment, e.g. `pods`. */
  plural: string;
  scenarioKey: keyof ScenarioNamespace;
  kind: string;
  apiVersion: string;
  /** Field selectors the apiserver accepts for this resource, beyond metadata.name/namespace. */
  fields: string[];
}

const RESOURCES: ResourceType[] = [
  {
    plural: 'pods',
    scenarioKey: 'pods',
    kind: 'Pod',
    apiVersion: 'v1',
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  },
  {
    plural: 'events',
    scenarioKey: 'events',
    kind: 'Event',
    apiVersion: 'v1',
    fields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
  { plural: 'deployments', scenarioKey: 'deployments', kind: 'Deployment', apiVersion: 'apps/v1', fields: [] },
  { plural: 'replicasets', scenarioKey: 'replicaSets', kind: 'ReplicaSet', apiVersion: 'apps/v1', fields: ['status.replicas'] },
  { plural: 'services', scenarioKey: 'services', kind: 'Service', apiVersion: 'v1', fields: [] },
  { plural: 'endpoints', scenarioKey: 'endpoints', kind: 'Endpoints', apiVersion: 'v1', fields: [] },
  { plural: 'networkpolicies', scenarioKey: 'networkPolicies', kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', fields: [] },
  { plural: 'jobs', scenarioKey: 'jobs', kind: 'Job', apiVersion: 'batch/v1', fields: ['status.successful'] },
  { plural: 'cronjobs', scenarioKey: 'cronJobs', kind: 'CronJob', apiVersion: 'batch/v1', fields: [] },
  {
    plural: 'horizontalpodautoscalers',
    scenarioKey: 'horizontalPodAutoscalers',
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v2',
    fields: [],
  },
  { plural: 'persistentvolumeclaims', scenarioKey: 'persistentVolumeClaims', kind: 'PersistentVolumeClaim', apiVersion: 'v1', fields: [] },
  { plural: 'statefulsets', scenarioKey: 'statefulSets', kind: 'StatefulSet', apiVersion: 'apps/v1', fields: [] },
  { plural: 'daemonsets', scenarioKey: 'daemonSets', kind: 'DaemonSet', apiVersion: 'apps/v1', fields: [] },
  { plural: 'controllerrevisions', scenarioKey: 'controllerRevisions', kind: 'ControllerRevision', apiVersion: 'apps/v1', fields: [] },
];

/** Cluster-scoped resources: served at `<prefix>/<plural>`, from the scenario's `kubernetes.<scenarioKey>`. */
interface ClusterResourceType {
  plural: string;
  scenarioKey: 'nodes';
  kind: string;
  apiVersion: string;
  fields: string[];
}

const CLUSTER_RESOURCES: ClusterResourceType[] = [
  { plural: 'nodes', scenarioKey: 'nodes', kind: 'Node', apiVersion: 'v1', fields: ['spec.unschedulable'] },
];

const ROUTE_PREFIX: Record<string, string> = {
  v1: '/api/v1',
  'apps/v1': '/apis/apps/v1',
  'networking.k8s.io/v1': '/apis/networking.k8s.io/v1',
  'batch/v1': '/apis/batch/v1',
  'autoscaling/v2': '/apis/autoscaling/v2',
};

const REASONS: Record<number, { reason: string; message: string }> = {
  400: { reason: 'BadRequest', message: 'the server rejected our request for an unknown reason' },
  401: { reason: 'Unauthorized', message: 'Unauthorized' },
  403: { reason: 'Forbidden', message: 'forbidden' },
  404: { reason: 'NotFound', message: 'the server could not find the requested resource' },
  405: { reason: 'MethodNotAllowed', message: 'the server does not allow this method on the requested resource' },
  406: { reason: 'NotAcceptable', message: 'only the following media types are accepted: application/json' },
  409: { reason: 'Conflict', message: 'the server reported a conflict' },
  410: { reason: 'Expired', message: 'the resource version is too old' },
  415: { reason: 'UnsupportedMediaType', message: 'the body of the request was in an unknown format' },
  422: { reason: 'Invalid', message: 'the server rejected our request due to an error in our request' },
  429: { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
  500: { reason: 'InternalError', message: 'Internal error occurred: sandbox fault' },
  503: { reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' },
  504: {
    reason: 'Timeout',
    message: 'the server was unable to return a response in the time allotted, but may still be processing the request',
  },
};

function statusBody(code: number, message?: string, details?: Record<string, unknown>) {
  const known = REASONS[code];
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: message ?? known?.message ?? `HTTP ${code}`,
    reason: known?.reason ?? '',
    ...(details ? { details } : {}),
    code,
  };
}

function sendStatus(res: Response, code: number, message?: string, details?: Record<string, unknown>): void {
  res.status(code).json(statusBody(code, message, details));
}

function uidFor(kind: string, namespace: string, name: string): string {
  const h = createHash('sha1').update(`${kind}/${namespace}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface Store {
  resourceVersion: number;
  /** namespace → resource plural → objects sorted by name (etcd key order). */
  namespaces: Map<string, Map<string, KubeObject[]>>;
  /** Container logs by logKey. */
  logs: Map<string, string>;
  /** Cluster-scoped resource plural → objects sorted by name. */
  cluster: Map<string, KubeObject[]>;
}

function logKey(namespace: string, pod: string, container: string, previous: boolean): string {
  return JSON.stringify([namespace, pod, container, previous]);
}

/**
 * The scenario's namespaces, with its Node events added to namespace
 * `default`'s events, where the kubelet records them. `default` exists on
 * every cluster, so it is served even when the scenario lists nothing else there.
 */
function clusterNamespaces(scenario: Scenario): [string, ScenarioNamespace][] {
  const namespaces = Object.entries(scenario.kubernetes.namespaces);
  const { nodeEvents } = scenario.kubernetes;
  if (nodeEvents.length === 0) return namespaces;
  const own = scenario.kubernetes.namespaces[NODE_EVENTS_NAMESPACE];
  const merged: ScenarioNamespace = own
    ? { ...own, events: [...own.events, ...nodeEvents] }
    : {
        pods: [],
        logs: [],
        events: [...nodeEvents],
        deployments: [],
        replicaSets: [],
        services: [],
        endpoints: [],
        networkPolicies: [],
        jobs: [],
        cronJobs: [],
        horizontalPodAutoscalers: [],
        persistentVolumeClaims: [],
        statefulSets: [],
        daemonSets: [],
        controllerRevisions: [],
      };
  return [...namespaces.filter(([ns]) => ns !== NODE_EVENTS_NAMESPACE), [NODE_EVENTS_NAMESPACE, merged]];
}

/** Fills what the apiserver always returns (kind, apiVersion, namespace, uid, resourceVersion), once, up front. */
function buildStore(scenario: Scenario, previous?: Store): Store {
  let rv = (previous?.resourceVersion ?? 1000) + 1;
  const namespaces = new Map<string, Map<string, KubeObject[]>>();
  const logs = new Map<string, string>();
  for (const [ns, content] of clusterNamespaces(scenario)) {
    for (const log of content.logs) logs.set(logKey(ns, log.pod, log.container, log.previous), log.text);
    // An owner reference carries the owner's uid (the API requires it); scenarios name owners by kind and name.
    const ownerUid = (kind: string, name: string): string => {
      const owners: readonly { metadata: { name: string; uid?: string | undefined } }[] =
        kind === 'ReplicaSet'
          ? content.replicaSets
          : kind === 'Deployment'
            ? content.deployments
            : kind === 'Job'
              ? content.jobs
              : kind === 'CronJob'
                ? content.cronJobs
                : kind === 'StatefulSet'
                  ? content.statefulSets
                  : kind === 'DaemonSet'
                    ? content.daemonSets
                    : [];
      return owners.find((o) => o.metadata.name === name)?.metadata.uid ?? uidFor(kind, ns, name);
    };
    const byResource = new Map<string, KubeObject[]>();
    for (const type of RESOURCES) {
      const items = (content[type.scenarioKey] as KubeObject[]).map((raw) => {
        const { apiVersion: _a, kind: _k, metadata, ...rest } = structuredClone(raw);
        const meta = { ...metadata } as KubeObject['metadata'] & Record<string, unknown>;
        meta.namespace = ns;
        meta.uid ??= uidFor(type.kind, ns, meta.name);
        if (Array.isArray(meta.ownerReferences)) {
          meta.ownerReferences = meta.ownerReferences.map((ref) => ({ ...ref, uid: ref.uid ?? ownerUid(ref.kind, ref.name) }));
        }
        meta.resourceVersion ??= String(++rv);
        return { apiVersion: type.apiVersion, kind: type.kind, metadata: meta, ...rest } as KubeObject;
      });
      items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
      byResource.set(type.plural, items);
    }
    namespaces.set(ns, byResource);
  }
  const cluster = new Map<string, KubeObject[]>();
  for (const type of CLUSTER_RESOURCES) {
    const items = (scenario.kubernetes[type.scenarioKey] as KubeObject[]).map((raw) => {
      const { apiVersion: _a, kind: _k, metadata, ...rest } = structuredClone(raw);
      const meta = { ...metadata } as KubeObject['metadata'] & Record<string, unknown>;
      // Cluster-scoped: the uid is derived from the name alone, and no namespace is set.
      meta.uid ??= uidFor(type.kind, '', meta.name);
      meta.resourceVersion ??= String(++rv);
      return { apiVersion: type.apiVersion, kind: type.kind, metadata: meta, ...rest } as KubeObject;
    });
    items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
    cluster.set(type.plural, items);
  }
  return { resourceVersion: rv + 1, namespaces, logs, cluster };
}

function fieldValue(obj: KubeObject, field: string): string {
  // The apiserver exposes an Event's `source` field as its reporting component.
  const path = field === 'source' ? ['source', 'component'] : field.split('.');
  let cur: unknown = obj;
  for (const seg of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

// ---- continue tokens ----------------------------------------------------------

// Shaped like the apiserver's (base64url JSON of version, resourceVersion, start key)
// so clients that treat it as opaque behave here as they would against a real cluster.
interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastName: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: `${lastName}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

class ContinueError extends Error {}

function decodeContinue(raw: string): ContinueToken {
  if (raw.length > 2048 || !/^[A-Za-z0-9_-]+={0,2}$/.test(raw)) throw new ContinueError('continue key is not valid: illegal base64 data');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new ContinueError('continue key is not valid: not a continue token');
  }
  const t = parsed as Partial<ContinueToken> | null;
  if (!t || typeof t !== 'object' || t.v !== 'meta.k8s.io/v1')
    throw new ContinueError('continue key is not valid: server does not recognize this encoded key');
  if (typeof t.rv !== 'number' || !Number.isInteger(t.rv) || t.rv <= 0)
    throw new ContinueError('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof t.start !== 'string' || t.start.length === 0) throw new ContinueError('continue key is not valid: encoded start key is empty');
  return t as ContinueToken;
}

// ---- request handling ---------------------------------------------------------

function queryParam(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((range) => {
    const type = range.split(';')[0]!.trim().toLowerCase();
    return type === 'application/json' || type === 'application/*' || type === '*/*' || type === '';
  });
}

/** The objects a list or get reads: a namespace's, or for a cluster-scoped resource the cluster's. */
function objectsOf(store: Store, type: ResourceType | ClusterResourceType, req: Request): KubeObject[] {
  if (CLUSTER_RESOURCES.includes(type as ClusterResourceType)) return store.cluster.get(type.plural) ?? [];
  return store.namespaces.get(String(req.params.namespace))?.get(type.plural) ?? [];
}

/** A list names its items' kind and apiVersion once, in its own: the apiserver leaves them out of each item. */
function listItem({ kind: _k, apiVersion: _a, ...item }: KubeObject): Omit<KubeObject, 'kind' | 'apiVersion'> {
  return item;
}

function listHandler(getStore: () => Store, type: ResourceType | ClusterResourceType) {
  const supportedFields = new Set(['metadata.name', 'metadata.namespace', ...type.fields]);
  return (req: Request, res: Response): void => {
    const store = getStore();
    const watch = queryParam(req, 'watch');
    if (watch === 'true' || watch === '1') {
      sendStatus(res, 400, 'watch is not supported by the sandbox apiserver');
      return;
    }
    let labelReqs;
    let fieldReqs;
    try {
      labelReqs = parseLabelSelector(queryParam(req, 'labelSelector') ?? '');
      fieldReqs = parseFieldSelector(queryParam(req, 'fieldSelector') ?? '', supportedFields);
    } catch (err) {
      if (err instanceof SelectorError) {
        sendStatus(res, 400, err.message);
        return;
      }
      throw err;
    }
    const limitRaw = queryParam(req, 'limit');
    if (limitRaw !== undefined && !/^\d{1,9}$/.test(limitRaw)) {
      sendStatus(res, 400, `limit: Invalid value: ${JSON.stringify(limitRaw)}: must be a non-negative integer`);
      return;
    }
    const limit = limitRaw === undefined ? 0 : Number(limitRaw);
    const continueRaw = queryParam(req, 'continue');
    let startAfter: string | undefined;
    if (continueRaw) {
      let token: ContinueToken;
      try {
        token = decodeContinue(continueRaw);
      } catch (err) {
        if (err instanceof ContinueError) {
          sendStatus(res, 400, err.message);
          return;
        }
        throw err;
      }
      if (token.rv !== store.resourceVersion) {
        sendStatus(
          res,
          410,
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
        return;
      }
      startAfter = token.start.replace(/\u0000$/, '');
    }

    // An unknown namespace lists as empty, as on a real cluster.
    const all = objectsOf(store, type, req);
    const matching = all.filter(
      (o) =>
        (startAfter === undefined || o.metadata.name > startAfter) &&
        matchesLabels(labelReqs, o.metadata.labels) &&
        matchesFields(fieldReqs, (f) => fieldValue(o, f)),
    );
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const more = page.length < matching.length;
    const last = page[page.length - 1];
    const selectorsUsed = labelReqs.length > 0 || fieldReqs.length > 0;
    res.json({
      kind: `${type.kind}List`,
      apiVersion: type.apiVersion,
      metadata: {
        resourceVersion: String(store.resourceVersion),
        ...(more && last ? { continue: encodeContinue(store.resourceVersion, last.metadata.name) } : {}),
        // The apiserver only counts the remainder when it need not evaluate selectors.
        ...(more && !selectorsUsed ? { remainingItemCount: matching.length - page.length } : {}),
      },
      items: page.map(listItem),
    });
  };
}

function getHandler(getStore: () => Store, type: ResourceType | ClusterResourceType) {
  return (req: Request, res: Response): void => {
    const name = String(req.params.name);
    const found = objectsOf(getStore(), type, req).find((o) => o.metadata.name === name);
    if (!found) {
      // The apiserver names the resource with its group: `deployments.apps`, `jobs.batch`, plain `pods` for the core group.
      const group = type.apiVersion.includes('/') ? type.apiVersion.slice(0, type.apiVersion.indexOf('/')) : '';
      sendStatus(res, 404, `${type.plural}${group ? `.${group}` : ''} "${name}" not found`, {
        name,
        ...(group ? { group } : {}),
        kind: type.plural,
      });
      return;
    }
    res.json(found);
  };
}

// ---- pod logs -------------------------------------------------------------------

interface PodForLogs {
  metadata: { name: string };
  spec: { containers: { name: string }[]; initContainers?: { name: string }[] };
  status?: {
    containerStatuses?: ContainerStatusForLogs[];
    initContainerStatuses?: ContainerStatusForLogs[];
  };
}

interface ContainerStatusForLogs {
  name: string;
  restartCount: number;
  state?: { waiting?: { reason?: string } };
  lastState?: { terminated?: unknown };
}

class QueryError extends Error {}

/** Go's strconv.ParseBool, which the apiserver uses for query booleans. */
function parseBool(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  throw new QueryError(`strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
}

function parseInteger(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(raw)) throw new QueryError(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

/** The last `tailLines` lines (each with its newline), then at most `limitBytes` bytes of them, as the kubelet does. */
function tailOf(text: string, tailLines: number | undefined, limitBytes: number | undefined): Buffer {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const tail = tailLines === undefined ? lines : tailLines === 0 ? [] : lines.slice(-tailLines);
  const bytes = Buffer.from(tail.join(''), 'utf8');
  // Cut mid-line and even mid-character, as the kubelet's limit writer does.
  return limitBytes === undefined ? bytes : bytes.subarray(0, limitBytes);
}

/**
 * GET .../pods/{name}/log: the scenario's `logs`, as text/plain. Container
 * defaulting, the errors and their wording follow the apiserver and kubelet;
 * `timestamps` is ignored (scenario logs carry no per-line times).
 */
function logHandler(getStore: () => Store) {
  return (req: Request, res: Response): void => {
    const store = getStore();
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    const pod = store.namespaces
      .get(namespace)
      ?.get('pods')
      ?.find((o) => o.metadata.name === name) as PodForLogs | undefined;
    if (!pod) {
      sendStatus(res, 404, `pods "${name}" not found`, { name, kind: 'pods' });
      return;
    }
    let follow, previous, tailLines, limitBytes;
    try {
      follow = parseBool(queryParam(req, 'follow'));
      previous = parseBool(queryParam(req, 'previous'));
      tailLines = parseInteger(queryParam(req, 'tailLines'));
      limitBytes = parseInteger(queryParam(req, 'limitBytes'));
    } catch (err) {
      if (err instanceof QueryError) {
        sendStatus(res, 400, err.message);
        return;
      }
      throw err;
    }
    if (follow === true) {
      sendStatus(res, 400, 'follow is not supported by the sandbox apiserver: it does not stream logs');
      return;
    }
    const invalid = [
      ...(typeof tailLines === 'number' && tailLines < 0
        ? [`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`]
        : []),
      ...(typeof limitBytes === 'number' && limitBytes < 1 ? [`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`] : []),
    ];
    if (invalid.length > 0) {
      const causes = invalid.map((message) => ({ reason: 'FieldValueInvalid', message, field: message.split(':')[0] }));
      sendStatus(res, 422, `PodLogOptions "${name}" is invalid: ${invalid.length > 1 ? `[${invalid.join(', ')}]` : invalid[0]}`, {
        name,
        kind: 'PodLogOptions',
        causes,
      });
      return;
    }

    const containers = pod.spec.containers.map((c) => c.name);
    const initContainers = (pod.spec.initContainers ?? []).map((c) => c.name);
    let container = queryParam(req, 'container') ?? '';
    if (container === '') {
      if (containers.length !== 1) {
        const init = initContainers.length > 0 ? ` or one of the init containers: [${initContainers.join(' ')}]` : '';
        sendStatus(res, 400, `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${init}`);
        return;
      }
      container = containers[0]!;
    } else if (!containers.includes(container) && !initContainers.includes(container)) {
      sendStatus(res, 400, `container ${container} is not valid for pod ${name}`);
      return;
    }

    const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find(
      (s) => s.name === container,
    );
    const restarted = status?.lastState?.terminated !== undefined && status.restartCount > 0;
    let text: string | undefined;
    if (previous === true) {
      text = restarted ? store.logs.get(logKey(namespace, name, container, true)) : undefined;
      if (text === undefined) {
        sendStatus(res, 400, `previous terminated container "${container}" in pod "${name}" not found`);
        return;
      }
    } else {
      const waiting = status?.state?.waiting;
      // A container waiting to restart serves its last run's log, as the kubelet does.
      text =
        store.logs.get(logKey(namespace, name, container, false)) ??
        (waiting && restarted ? store.logs.get(logKey(namespace, name, container, true)) : undefined);
      if (text === undefined && waiting && !restarted) {
        sendStatus(res, 400, `container "${container}" in pod "${name}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`);
        return;
      }
    }
    res
      .status(200)
      .type('text/plain')
      .send(tailOf(text ?? '', tailLines, limitBytes));
  };
}

// ---- RBAC -----------------------------------------------------------------------
// The apiserver's RBAC authorizer, for the one subject the emulator's token
// stands for: the rules it is bound to answer SelfSubjectAccessReview and
// SelfSubjectRulesReview, and decide every read the emulator serves (403 with
// the apiserver's wording when they do not allow it).

/** An RBAC PolicyRule (rbac.authorization.k8s.io/v1), as a Role or ClusterRole lists it. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const READ = ['get', 'list', 'watch'];

/**
 * What the built-in `view` ClusterRole grants: the rules of
 * `system:aggregate-to-view` (Kubernetes' bootstrap policy), which the
 * aggregation controller copies into `view`. Read-only, and no Secrets.
 */
export const VIEW_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  {
    verbs: READ,
    apiGroups: [''],
    resources: [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
  },
  {
    verbs: READ,
    apiGroups: [''],
    resources: [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
  },
  { verbs: READ, apiGroups: [''], resources: ['namespaces'] },
  { verbs: READ, apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
  {
    verbs: READ,
    apiGroups: ['apps'],
    resources: [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
  },
  { verbs: READ, apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'] },
  { verbs: READ, apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'] },
  {
    verbs: READ,
    apiGroups: ['extensions'],
    resources: [
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'ingresses',
      'ingresses/status',
      'networkpolicies',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'replicationcontrollers/scale',
    ],
  },
  { verbs: READ, apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'] },
  { verbs: READ, apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'] },
  // Kubernetes 1.34 (DynamicResourceAllocation on by default): test/deploy/rbac.test.ts holds these rules against a real `view`.
  { verbs: READ, apiGroups: ['resource.k8s.io'], resources: ['resourceclaims', 'resourceclaims/status', 'resourceclaimtemplates'] },
];

/** The bootstrap policy's ClusterRoleBindings (each to a ClusterRole of its name) that reach a service account through its groups. */
const BUILT_IN_BINDINGS: readonly { name: string; group: string; rules: readonly PolicyRule[] }[] = [
  {
    name: 'system:basic-user',
    group: 'system:authenticated',
    rules: [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ],
  },
  {
    name: 'system:discovery',
    group: 'system:authenticated',
    rules: [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ],
  },
  {
    name: 'system:public-info-viewer',
    group: 'system:authenticated',
    rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
  },
  {
    name: 'system:service-account-issuer-discovery',
    group: 'system:serviceaccounts',
    rules: [
      {
        verbs: ['get'],
        nonResourceURLs: ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'],
      },
    ],
  },
];

/** The service account the emulator's token authenticates as. */
const SUBJECT = { namespace: 'keyless-triage', name: 'keyless-triage-worker' };
const SUBJECT_USER = `system:serviceaccount:${SUBJECT.namespace}:${SUBJECT.name}`;
const BINDING_NAME = 'keyless-triage-worker';

interface Rbac {
  /** Null: the `view` ClusterRole. */
  clusterRules: PolicyRule[] | null;
  namespaceRules: Record<string, PolicyRule[]>;
}

interface ResourceRequest {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  name: string;
  /** "" for a cluster-scoped request, or one across all namespaces. */
  namespace: string;
}

const has = (list: readonly string[] | undefined, value: string, all = '*') => (list ?? []).some((v) => v === all || v === value);

/** rbac/v1 helpers' RuleAllows for a resource request: verbs, groups, resources (`*`, or `*` + `/sub` for a subresource), resourceNames. */
function ruleAllowsResource(rule: PolicyRule, req: ResourceRequest): boolean {
  if (!has(rule.verbs, req.verb) || !has(rule.apiGroups, req.group)) return false;
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const resourceMatches = (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (req.subresource !== '' && r === `*/${req.subresource}`),
  );
  if (!resourceMatches) return false;
  return (rule.resourceNames ?? []).length === 0 || (rule.resourceNames ?? []).includes(req.name);
}

/** NonResourceURLMatches: `*`, an exact path, or a prefix ending in `*`. */
function ruleAllowsNonResource(rule: PolicyRule, verb: string, path: string): boolean {
  if (!has(rule.verbs, verb)) return false;
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

interface Grant {
  rules: readonly PolicyRule[];
  /** As the RBAC authorizer names it in an SSAR's reason. */
  source: string;
  /** RoleBinding rules apply in their namespace only, and never to non-resource URLs. */
  namespace?: string;
}

function grantsOf(rbac: Rbac): Grant[] {
  const sa = `ServiceAccount "${SUBJECT.name}/${SUBJECT.namespace}"`;
  const role = rbac.clusterRules === null ? 'view' : BINDING_NAME;
  return [
    ...BUILT_IN_BINDINGS.map((b) => ({
      rules: b.rules,
      source: `ClusterRoleBinding "${b.name}" of ClusterRole "${b.name}" to Group "${b.group}"`,
    })),
    {
      rules: rbac.clusterRules ?? VIEW_CLUSTER_ROLE_RULES,
      source: `ClusterRoleBinding "${BINDING_NAME}" of ClusterRole "${role}" to ${sa}`,
    },
    ...Object.entries(rbac.namespaceRules).map(([ns, rules]) => ({
      rules,
      namespace: ns,
      source: `RoleBinding "${BINDING_NAME}/${ns}" of Role "${BINDING_NAME}" to ${sa}`,
    })),
  ];
}

/** The first grant that allows the request, as the authorizer's reason, or undefined (RBAC has no opinion: denied). */
function authorizeResource(rbac: Rbac, req: ResourceRequest): string | undefined {
  for (const grant of grantsOf(rbac)) {
    if (grant.namespace !== undefined && grant.namespace !== req.namespace) continue;
    if (grant.rules.some((r) => r.nonResourceURLs === undefined && ruleAllowsResource(r, req))) return `RBAC: allowed by ${grant.source}`;
  }
  return undefined;
}

function authorizeNonResource(rbac: Rbac, verb: string, path: string): string | undefined {
  for (const grant of grantsOf(rbac)) {
    if (grant.namespace !== undefined) continue;
    if (grant.rules.some((r) => r.nonResourceURLs !== undefined && ruleAllowsNonResource(r, verb, path)))
      return `RBAC: allowed by ${grant.source}`;
  }
  return undefined;
}

/** The apiserver's Forbidden Status for a request RBAC did not allow. */
function sendForbidden(res: Response, req: ResourceRequest): void {
  const qualified = req.group ? `${req.resource}.${req.group}` : req.resource;
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const where = req.namespace ? ` in the namespace "${req.namespace}"` : ' at the cluster scope';
  const message = `${qualified}${req.name ? ` "${req.name}"` : ''} is forbidden: User "${SUBJECT_USER}" cannot ${req.verb} resource "${combined}" in API group "${req.group}"${where}`;
  sendStatus(res, 403, message, {
    ...(req.name ? { name: req.name } : {}),
    ...(req.group ? { group: req.group } : {}),
    kind: req.resource,
  });
}

/** Decides a read the emulator serves before its handler runs, as the apiserver's authorization filter does. */
function requireAccess(
  getRbac: () => Rbac,
  type: { plural: string; apiVersion: string },
  verbOf: (req: Request) => string,
  subresource = '',
) {
  const group = type.apiVersion.includes('/') ? type.apiVersion.split('/')[0]! : '';
  return (req: Request, res: Response, next: NextFunction): void => {
    const request: ResourceRequest = {
      verb: verbOf(req),
      group,
      resource: type.plural,
      subresource,
      name: req.params.name === undefined ? '' : String(req.params.name),
      namespace: String(req.params.namespace ?? ''),
    };
    if (authorizeResource(getRbac(), request) === undefined) {
      sendForbidden(res, request);
      return;
    }
    next();
  };
}

function listVerb(req: Request): string {
  const watch = queryParam(req, 'watch');
  return watch === 'true' || watch === '1' ? 'watch' : 'list';
}

/** RulesFor(user, namespace): cluster bindings, then the namespace's RoleBindings, split into resource and non-resource rules. */
function rulesFor(rbac: Rbac, namespace: string) {
  const resourceRules: Record<string, unknown>[] = [];
  const nonResourceRules: Record<string, unknown>[] = [];
  for (const grant of grantsOf(rbac)) {
    if (grant.namespace !== undefined && grant.namespace !== namespace) continue;
    for (const rule of grant.rules) {
      if (rule.nonResourceURLs !== undefined) {
        // Non-resource URLs only mean something in a ClusterRole bound cluster-wide.
        if (grant.namespace === undefined) nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs });
        continue;
      }
      resourceRules.push({
        verbs: rule.verbs,
        ...(rule.apiGroups?.length ? { apiGroups: rule.apiGroups } : {}),
        ...(rule.resources?.length ? { resources: rule.resources } : {}),
        ...(rule.resourceNames?.length ? { resourceNames: rule.resourceNames } : {}),
      });
    }
  }
  return { resourceRules, nonResourceRules, incomplete: false };
}

const AUTHORIZATION_API_VERSION = 'authorization.k8s.io/v1';
const REVIEW_PATHS = {
  access: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
  rules: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
} as const;
const MAX_REVIEW_BODY_BYTES = 64 * 1024;

class BodyError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The review object the client posted; only JSON is accepted (the apiserver also takes YAML and protobuf, no client here sends them). */
async function readReview(req: Request, kind: string, apiVersion = AUTHORIZATION_API_VERSION): Promise<Record<string, unknown>> {
  const type = (req.get('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new BodyError(415, `the body of the request was in an unknown format - accepted media types include: application/json`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REVIEW_BODY_BYTES) throw new BodyError(413, 'the request body is too large');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BodyError(400, `couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BodyError(400, "couldn't get version/kind; json parse error: not an object");
  const obj = body as Record<string, unknown>;
  if (obj.kind !== undefined && obj.kind !== kind)
    throw new BodyError(400, `the body of the request is a ${String(obj.kind)}, not a ${kind}`);
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
    throw new BodyError(
      400,
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  return obj;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function reviewHandler(getRbac: () => Rbac, kind: 'SelfSubjectAccessReview' | 'SelfSubjectRulesReview') {
  return async (req: Request, res: Response): Promise<void> => {
    let review: Record<string, unknown>;
    try {
      review = await readReview(req, kind);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      sendStatus(res, err.code, err.message);
      return;
    }
    const spec = (review.spec !== null && typeof review.spec === 'object' ? review.spec : {}) as Record<string, unknown>;
    const created = { kind, apiVersion: AUTHORIZATION_API_VERSION, metadata: { creationTimestamp: null } };

    if (kind === 'SelfSubjectRulesReview') {
      const namespace = str(spec.namespace);
      if (namespace === '') {
        sendStatus(res, 400, 'no namespace on request');
        return;
      }
      // The apiserver answers with a fresh object: the spec is not echoed.
      res.status(201).json({ ...created, spec: {}, status: rulesFor(getRbac(), namespace) });
      return;
    }

    const resource = spec.resourceAttributes as Record<string, unknown> | undefined;
    const nonResource = spec.nonResourceAttributes as Record<string, unknown> | undefined;
    if ((resource === undefined) === (nonResource === undefined)) {
      const field = resource === undefined ? 'spec.resourceAttributes' : 'spec.nonResourceAttributes';
      const detail =
        resource === undefined
          ? 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified'
          : 'Invalid value: "null": cannot be specified in combination with resourceAttributes';
      sendStatus(res, 422, `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: ${field}: ${detail}`, {
        group: 'authorization.k8s.io',
        kind,
        causes: [{ reason: resource === undefined ? 'FieldValueRequired' : 'FieldValueInvalid', message: detail, field }],
      });
      return;
    }
    const reason =
      resource !== undefined
        ? authorizeResource(getRbac(), {
            verb: str(resource.verb),
            group: str(resource.group),
            resource: str(resource.resource),
            subresource: str(resource.subresource),
            name: str(resource.name),
            namespace: str(resource.namespace),
          })
        : authorizeNonResource(getRbac(), str(nonResource!.verb), str(nonResource!.path));
    res.status(201).json({
      ...created,
      spec: resource !== undefined ? { resourceAttributes: resource } : { nonResourceAttributes: nonResource },
      status: reason === undefined ? { allowed: false } : { allowed: true, reason },
    });
  };
}

const VERSION_INFO = {
  major: '1',
  minor: '34',
  gitVersion: 'v1.34.4-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.22.10',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function createKubernetesApp(opts: {
  getStore: () => Store;
  getRbac: () => Rbac;
  token: string;
  tokenReview: TokenReviewOptions | undefined;
  faults: FaultSwitch;
  onRequest: () => void;
  log: RequestLogEntry[];
}) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(opts.log));

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    opts.onRequest();
    await opts.faults.delay();
    const fault = opts.faults.take();
    if (fault) {
      if (fault.retryAfterSeconds !== undefined) res.set('Retry-After', String(fault.retryAfterSeconds));
      const details = fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : undefined;
      sendStatus(res, fault.status, undefined, details);
      return;
    }
    const header = req.get('authorization');
    // /version is readable anonymously on a default cluster (system:public-info-viewer).
    const anonymousVersion = header === undefined && req.path === '/version';
    if (!anonymousVersion) {
      const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      // The reviewer's token is another ServiceAccount's: bound to create tokenreviews, and nothing else.
      const reviewer = opts.tokenReview !== undefined && m !== null && tokenMatches(m[1], opts.tokenReview.reviewerToken);
      if (reviewer && !(req.method === 'POST' && req.path === TOKEN_REVIEW_PATH)) {
        sendStatus(res, 403, `the token reviewer may only create tokenreviews.authentication.k8s.io`);
        return;
      }
      if (!reviewer && (!m || !tokenMatches(m[1], opts.token))) {
        sendStatus(res, 401);
        return;
      }
      if (!reviewer && req.path === TOKEN_REVIEW_PATH) {
        sendStatus(
          res,
          403,
          `tokenreviews.authentication.k8s.io is forbidden: User "${SUBJECT_USER}" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`,
          { group: 'authentication.k8s.io', kind: 'tokenreviews' },
        );
        return;
      }
    }
    // The reviews are the only create the emulator serves: they change nothing.
    const review =
      req.method === 'POST' && (req.path === REVIEW_PATHS.access || req.path === REVIEW_PATHS.rules || req.path === TOKEN_REVIEW_PATH);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !review) {
      sendStatus(res, 405);
      return;
    }
    if (!acceptsJson(req.get('accept'))) {
      sendStatus(res, 406);
      return;
    }
    next();
  });

  app.get('/version', (_req, res) => {
    res.json(VERSION_INFO);
  });
  for (const type of RESOURCES) {
    const base = `${ROUTE_PREFIX[type.apiVersion]}/namespaces/:namespace/${type.plural}`;
    app.get(base, requireAccess(opts.getRbac, type, listVerb), listHandler(opts.getStore, type));
    app.get(
      `${base}/:name`,
      requireAccess(opts.getRbac, type, () => 'get'),
      getHandler(opts.getStore, type),
    );
  }
  for (const type of CLUSTER_RESOURCES) {
    const base = `${ROUTE_PREFIX[type.apiVersion]}/${type.plural}`;
    // No namespace in the request: RBAC decides it at the cluster scope, where only a ClusterRoleBinding grants it.
    app.get(base, requireAccess(opts.getRbac, type, listVerb), listHandler(opts.getStore, type));
    app.get(
      `${base}/:name`,
      requireAccess(opts.getRbac, type, () => 'get'),
      getHandler(opts.getStore, type),
    );
  }
  app.get(
    '/api/v1/namespaces/:namespace/pods/:name/log',
    requireAccess(opts.getRbac, { plural: 'pods', apiVersion: 'v1' }, () => 'get', 'log'),
    logHandler(opts.getStore),
  );
  app.post(REVIEW_PATHS.access, reviewHandler(opts.getRbac, 'SelfSubjectAccessReview'));
  app.post(REVIEW_PATHS.rules, reviewHandler(opts.getRbac, 'SelfSubjectRulesReview'));
  const tokenReview = opts.tokenReview;
  if (tokenReview) {
    app.post(TOKEN_REVIEW_PATH, async (req: Request, res: Response) => {
      let review: Record<string, unknown>;
      try {
        review = await readReview(req, 'TokenReview', AUTHENTICATION_API_VERSION);
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        sendStatus(res, err.code, err.message);
        return;
      }
      const spec = (review.spec !== null && typeof review.spec === 'object' ? review.spec : {}) as Record<string, unknown>;
      res.status(201).json({
        kind: 'TokenReview',
        apiVersion: AUTHENTICATION_API_VERSION,
        metadata: { creationTimestamp: null },
        spec,
        status: reviewToken(spec, tokenReview, Date.now()),
      });
    });
  }
  app.use((_req: Request, res: Response) => {
    sendStatus(res, 404);
  });
  // Express 5 needs the four-argument signature to recognise an error handler.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendStatus(res, 500, 'Internal error occurred: the sandbox apiserver failed to handle the request');
  });
  return app;
}

export async function startKubernetesEmulator(options: KubernetesEmulatorOptions): Promise<KubernetesEmulator> {
  if (options.token.length === 0) throw new Error('the Kubernetes emulator needs a non-empty token');
  let store = buildStore(options.scenario);
  let requests = 0;
  const log: RequestLogEntry[] = [];
  const faults = new FaultSwitch(options.conditions);
  let rbac: Rbac = {
    clusterRules: options.rules ? structuredClone(options.rules) : null,
    namespaceRules: structuredClone(options.namespaceRules ?? {}),
  };
  const app = createKubernetesApp({
    getStore: () => store,
    getRbac: () => rbac,
    token: options.token,
    tokenReview: options.tokenReview,
    faults,
    onRequest: () => void requests++,
    log,
  });
  const server = await listen(app, options);
  return {
    url: server.url,
    close: server.close,
    setFault: (fault) => faults.set(fault),
    get requests() {
      return requests;
    },
    requestLog: log,
    replaceScenario(scenario) {
      store = buildStore(scenario, store);
    },
    setRbac(next) {
      rbac = {
        clusterRules: next.rules ? structuredClone(next.rules) : null,
        namespaceRules: structuredClone(next.namespaceRules ?? {}),
      };
    },
  };
}

/** A client configuration that reaches the emulator with only its URL and a bearer token: nothing from ~/.kube. */
export function emulatorKubeConfig(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server, skipTLSVerify: true }],
    users: [{ name: 'triage', token }],
    contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'triage' }],
    currentContext: 'sandbox',
  });
  return kc;
}
