// The Kubernetes evidence activity: lists pods, events, deployments, replica
// sets, Services, Endpoints, NetworkPolicies, Jobs, CronJobs, StatefulSets,
// DaemonSets, ControllerRevisions, HorizontalPodAutoscalers and
// PersistentVolumeClaims in the scoped namespaces (and the cluster's Nodes,
// once, when configured), reads the logs of the few containers that crashed
// and of one quiet replica per workload (read-only verbs the `view` role
// grants, pods/log included) and returns a bounded summary. Every request
// names the triage in its User-Agent, which the apiserver audit log records,
// so the audit trail joins on one id.
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Node,
} from '@kubernetes/client-node';
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { EVIDENCE_LIMITS, fitKubernetesEvidence } from './evidence-bounds.js';
import { evidenceText } from '../config/untrusted-text.js';
import { httpFailure, invalidRequest, malformedResponse, networkFailure, requireTriageId } from './http-failure.js';
import {
  currentLogTargets,
  logLines,
  previousLogTail,
  previousLogTargets,
  summarizeNamespace,
  type LogTarget,
  type NamespaceObjects,
} from './kubernetes-summary.js';
import { summarizeNodes } from './kubernetes-nodes.js';
import { digestLog } from './log-digest.js';
import type { EvidenceRequest, KubernetesEvidence, LogTail, NamespaceEvidence, NodesEvidence, OptionalRead } from './model.js';
import { kubernetesUserAgent } from '../config/user-agent.js';

const SURFACE = 'kubernetes';
export { USER_AGENT_PRODUCT } from '../config/user-agent.js';
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_PAGE_SIZE = 500;
/** A namespace with more objects than this is listed only this far; the summary says so in the log. */
const MAX_LIST_ITEMS = 50_000;
const MAX_NAMESPACES = 20;
const MAX_SELECTOR_CHARS = 1024;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** One line more than is kept, so a log of exactly the kept length is known to be whole. */
const LOG_TAIL_LINES = EVIDENCE_LIMITS.logLinesPerContainer + 1;
/** Bytes per log read: room for long JSON lines, while a runaway line cannot make the read large. */
const LOG_LIMIT_BYTES = 32 * 1024;
/** Bytes per read of a running container's log window; a window is read in two reads at most. */
const LOG_WINDOW_BYTES = 2 * 1024 * 1024;

export interface KubernetesActivitiesOptions {
  kubeConfig: KubeConfig;
  /** Per request; the activity's own timeout bounds the whole collection. */
  timeoutMs?: number;
  /** Objects per list page (`limit`); every page is read. */
  pageSize?: number;
  /**
   * Where the kubelet records Node events (`default`). When set, they are read
   * too (a field selector keeps them to Nodes) and each namespace keeps those
   * about the nodes its pods run on: node pressure explains evictions.
   */
  nodeEventsNamespace?: string;
  /**
   * Whether to list the cluster's Nodes (cluster-scoped: the `view` role bound
   * in a namespace does not grant it; deploy/components/node-reader does). Read
   * once per triage; a refusal is recorded as unavailable.
   */
  readNodes?: boolean;
}

interface ListPage<T> {
  items: T[];
  metadata?: { _continue?: string };
}

type Logger = { warn(message: string, meta?: Record<string, unknown>): void };

/** The activity logger when running as an activity (tests call the function directly). */
function activityLog(): Logger | undefined {
  return asyncLocalStorage.getStore()?.log;
}

function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'Status') {
    const message = (value as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  }
  return undefined;
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * ApiException's own message embeds the response headers and body, so it is
 * never passed on; only status, Retry-After and the Status message are used.
 */
function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    return httpFailure({
      surface: SURFACE,
      status: e.code,
      retryAfter: headerValue(e.headers, 'retry-after'),
      reason: statusMessage(e.body),
    });
  }
  if (err instanceof SyntaxError) return malformedResponse(SURFACE, 'response body is not JSON');
  const e = err as { name?: unknown; code?: unknown; type?: unknown } | null;
  if (
    e &&
    typeof e === 'object' &&
    (e.name === 'FetchError' || e.name === 'AbortError' || e.name === 'TimeoutError' || typeof e.code === 'string')
  ) {
    return networkFailure(SURFACE, err);
  }
  return ApplicationFailure.create({
    message: `${SURFACE}: unexpected client error`,
    type: 'KubernetesClientError',
    nonRetryable: false,
    details: [{ surface: SURFACE }],
  });
}

/**
 * Why a previous log could not be read, for the evidence. A 403 is named for
 * what fixes it: the worker's role lacks `get` on `pods/log` (the `view`
 * ClusterRole has it; a hand-written Role may not).
 */
function logUnavailableReason(err: unknown): string {
  if (err instanceof ApiException && (err as ApiException<unknown>).code === 403) {
    return "HTTP 403 Forbidden: the worker's Kubernetes role does not grant get on pods/log in this namespace";
  }
  const failure = toFailure(err);
  const message = failure instanceof Error ? failure.message.replace(`${SURFACE}: `, '') : 'unexpected client error';
  return evidenceText(message, EVIDENCE_LIMITS.textChars);
}

/** The HTTP status an upstream answered with, as http-failure.ts records it on the activity failure. */
function failedStatus(err: unknown): unknown {
  if (!(err instanceof ApplicationFailure)) return undefined;
  return (err.details?.[0] as { status?: unknown } | undefined)?.status;
}

export function createKubernetesActivities(options: KubernetesActivitiesOptions) {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const apps = options.kubeConfig.makeApiClient(AppsV1Api);
  const networking = options.kubeConfig.makeApiClient(NetworkingV1Api);
  const batch = options.kubeConfig.makeApiClient(BatchV1Api);
  const autoscaling = options.kubeConfig.makeApiClient(AutoscalingV2Api);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;

  /**
   * Per-request options: client-node 1.4 applies call-time middleware after the
   * kubeconfig's auth, so the User-Agent set here is the one sent; the abort
   * signal bounds the request and follows the activity's cancellation.
   */
  function requestOptions(userAgent: string): ConfigurationOptions {
    const cancel = asyncLocalStorage.getStore()?.cancellationSignal;
    const withSignal: ObservableMiddleware = {
      pre: (ctx) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        ctx.setSignal(cancel ? AbortSignal.any([timeout, cancel]) : timeout);
        return new Observable(Promise.resolve(ctx));
      },
      post: (ctx) => new Observable(Promise.resolve(ctx)),
    };
    return setHeaderOptions('User-Agent', userAgent, { middleware: [withSignal], middlewareMergeStrategy: 'append' });
  }

  /** Reads every page. A continue token that expires mid-list (410) restarts the list once, as the API docs advise. */
  async function listAll<T>(what: string, page: (cont: string | undefined) => Promise<ListPage<T>>): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let cont: string | undefined;
      try {
        do {
          const res = await page(cont);
          if (!res || !Array.isArray(res.items)) throw malformedResponse(SURFACE, `${what} list has no items array`);
          items.push(...res.items);
          cont = res.metadata?._continue || undefined;
          if (cont && items.length >= MAX_LIST_ITEMS) {
            activityLog()?.warn('kubernetes list stopped at the item cap', { what, items: items.length });
            return items;
          }
        } while (cont);
        return items;
      } catch (err) {
        if (attempt === 0 && cont !== undefined && err instanceof ApiException && (err as ApiException<unknown>).code === 410) continue;
        // A cancelled activity must surface as cancelled, not as a retryable network error.
        if (asyncLocalStorage.getStore()?.cancellationSignal.aborted) throw err;
        throw toFailure(err);
      }
    }
  }

  /**
   * Optional evidence: a failure to read it (no RoleBinding in that namespace,
   * a timeout) is recorded, and the rest of the surface stands. It never
   * rejects, so the namespace reads can wait on it without an unhandled
   * rejection when one of them fails first; a cancellation surfaces through
   * those reads.
   */
  async function collectNodeEvents(
    namespace: string,
    userAgent: string,
  ): Promise<{ events: CoreV1Event[]; status: NonNullable<KubernetesEvidence['nodeEvents']> }> {
    try {
      const events = await listAll('node events', (cont) =>
        core.listNamespacedEvent(
          { namespace, fieldSelector: 'involvedObject.kind=Node', limit: pageSize, ...(cont ? { _continue: cont } : {}) },
          requestOptions(userAgent),
        ),
      );
      return { events, status: { namespace, status: 'ok' } };
    } catch (err) {
      const reason = evidenceText(err instanceof Error ? err.message : String(err), EVIDENCE_LIMITS.textChars);
      activityLog()?.warn('node events unavailable', { namespace, reason });
      return { events: [], status: { namespace, status: 'unavailable', reason } };
    }
  }

  /**
   * The cluster's Nodes, optional like the Node events: a failure (a 403
   * without the node-reader binding, a timeout) is recorded and the surface
   * stands. Never rejects, for the same reason as collectNodeEvents.
   */
  async function collectNodes(userAgent: string): Promise<{ nodes: V1Node[] } | { unavailable: string }> {
    try {
      return {
        nodes: await listAll('nodes', (cont) =>
          core.listNode({ limit: pageSize, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
        ),
      };
    } catch (err) {
      const reason =
        failedStatus(err) === 403
          ? "HTTP 403 Forbidden: the worker's Kubernetes role does not grant list on nodes (deploy/components/node-reader does)"
          : evidenceText(err instanceof Error ? err.message : String(err), EVIDENCE_LIMITS.textChars);
      activityLog()?.warn('nodes unavailable', { reason });
      return { unavailable: reason };
    }
  }

  /**
   * Optional objects (Services, Endpoints, NetworkPolicies, Jobs, CronJobs,
   * StatefulSets, DaemonSets, ControllerRevisions, HorizontalPodAutoscalers,
   * PersistentVolumeClaims): a refused read (403, a
   * hand-written Role without them) or a resource the apiserver does not serve
   * (404) is recorded as unavailable and the surface stands; any other failure
   * fails the surface as the other lists do.
   */
  async function listOptional<T>(
    kind: string,
    page: (cont: string | undefined) => Promise<ListPage<T>>,
  ): Promise<{ items?: T[]; unavailable?: OptionalRead }> {
    try {
      return { items: await listAll(kind, page) };
    } catch (err) {
      const status = failedStatus(err);
      if (status === 403) {
        const reason = `HTTP 403 Forbidden: the worker's Kubernetes role does not grant list on ${kind} in this namespace`;
        activityLog()?.warn('kubernetes optional read refused', { kind });
        return { unavailable: { kind, status: 'unavailable', reason } };
      }
      if (status === 404) {
        activityLog()?.warn('kubernetes optional read not served', { kind });
        return { unavailable: { kind, status: 'unavailable', reason: `HTTP 404 Not Found: the apiserver does not serve ${kind}` } };
      }
      throw err;
    }
  }

  /**
   * HPAs and claims, with the label selector: an HPA's conditions say it cannot
   * compute its metrics or is at its maximum after its events expire; a
   * claim's phase, that pods still wait on it. PersistentVolumes and
   * StorageClasses are cluster-scoped and outside `view`: never read.
   */
  function listScalingAndStorage(base: { namespace: string; limit: number; labelSelector?: string }, userAgent: string) {
    return Promise.all([
      listOptional('horizontalpodautoscalers', (cont) =>
        autoscaling.listNamespacedHorizontalPodAutoscaler({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
      listOptional('persistentvolumeclaims', (cont) =>
        core.listNamespacedPersistentVolumeClaim({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
    ]);
  }

  /**
   * StatefulSets, DaemonSets and the ControllerRevisions that hold their pod
   * templates, as optional reads by the label selector (a revision carries its
   * pods' labels). Revisions are read only to be digested into their owners'
   * summaries.
   */
  async function listStatefulControllers(
    base: { namespace: string; limit: number; labelSelector?: string },
    userAgent: string,
  ): Promise<{
    reads: { unavailable?: OptionalRead }[];
    objects: Pick<NamespaceObjects, 'statefulSets' | 'daemonSets' | 'controllerRevisions'>;
  }> {
    const request = (cont: string | undefined) => ({ ...base, ...(cont ? { _continue: cont } : {}) });
    const [statefulSets, daemonSets, controllerRevisions] = await Promise.all([
      listOptional('statefulsets', (cont) => apps.listNamespacedStatefulSet(request(cont), requestOptions(userAgent))),
      listOptional('daemonsets', (cont) => apps.listNamespacedDaemonSet(request(cont), requestOptions(userAgent))),
      listOptional('controllerrevisions', (cont) => apps.listNamespacedControllerRevision(request(cont), requestOptions(userAgent))),
    ]);
    return {
      reads: [statefulSets, daemonSets, controllerRevisions],
      objects: {
        ...(statefulSets.items ? { statefulSets: statefulSets.items } : {}),
        ...(daemonSets.items ? { daemonSets: daemonSets.items } : {}),
        ...(controllerRevisions.items ? { controllerRevisions: controllerRevisions.items } : {}),
      },
    };
  }

  async function collectNamespace(
    namespace: string,
    labelSelector: string | undefined,
    userAgent: string,
    nodeEvents: Promise<readonly CoreV1Event[]>,
  ): Promise<NamespaceEvidence> {
    const base = { namespace, limit: pageSize, ...(labelSelector ? { labelSelector } : {}) };
    const page = (cont: string | undefined) => ({ namespace, limit: pageSize, ...(cont ? { _continue: cont } : {}) });
    const scalingAndStorage = listScalingAndStorage(base, userAgent);
    // Awaited after the lists below; marked handled so that, when one of those fails first, its failure is not unhandled.
    scalingAndStorage.catch(() => undefined);
    const [pods, events, deployments, replicaSets, services, endpoints, networkPolicies, jobs, cronJobs, controllers] = await Promise.all([
      listAll('pods', (cont) => core.listNamespacedPod({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent))),
      // Events carry no labels of their object; they are scoped after listing instead.
      listAll('events', (cont) =>
        core.listNamespacedEvent({ namespace, limit: pageSize, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
      listAll('deployments', (cont) =>
        apps.listNamespacedDeployment({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
      listAll('replicasets', (cont) =>
        apps.listNamespacedReplicaSet({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
      // Not by the label selector: a Service or NetworkPolicy about the selected pods need not carry their labels.
      listOptional('services', (cont) => core.listNamespacedService(page(cont), requestOptions(userAgent))),
      listOptional('endpoints', (cont) => core.listNamespacedEndpoints(page(cont), requestOptions(userAgent))),
      listOptional('networkpolicies', (cont) => networking.listNamespacedNetworkPolicy(page(cont), requestOptions(userAgent))),
      // A failed Job's status outlives its events (kept about an hour): it is what says the controller gave up.
      listOptional('jobs', (cont) => batch.listNamespacedJob({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent))),
      listOptional('cronjobs', (cont) =>
        batch.listNamespacedCronJob({ ...base, ...(cont ? { _continue: cont } : {}) }, requestOptions(userAgent)),
      ),
      listStatefulControllers(base, userAgent),
    ]);
    const [hpas, claims] = await scalingAndStorage;
    const unavailable = [services, endpoints, networkPolicies, jobs, cronJobs, ...controllers.reads, hpas, claims].flatMap((r) =>
      r.unavailable ? [r.unavailable] : [],
    );
    return summarizeNamespace({
      namespace,
      ...(labelSelector ? { labelSelector } : {}),
      pods,
      events,
      deployments,
      replicaSets,
      ...(services.items ? { services: services.items } : {}),
      ...(endpoints.items ? { endpoints: endpoints.items } : {}),
      ...(networkPolicies.items ? { networkPolicies: networkPolicies.items } : {}),
      ...(jobs.items ? { jobs: jobs.items } : {}),
      ...(cronJobs.items ? { cronJobs: cronJobs.items } : {}),
      ...(hpas.items ? { horizontalPodAutoscalers: hpas.items } : {}),
      ...(claims.items ? { persistentVolumeClaims: claims.items } : {}),
      ...controllers.objects,
      ...(unavailable.length > 0 ? { unavailable } : {}),
      nodeEvents: await nodeEvents,
    });
  }

  /** One read of a container's log: its text and whether the kubelet stopped at `limitBytes`, or why it could not be read. */
  async function readLog(
    target: LogTarget,
    userAgent: string,
    limitBytes: number,
    tailLines?: number,
  ): Promise<{ body: string; limitReached: boolean } | { unavailable: string }> {
    let body: unknown;
    try {
      body = await core.readNamespacedPodLog(
        {
          namespace: target.namespace,
          name: target.pod,
          container: target.container.name,
          previous: target.previous,
          ...(target.sinceSeconds !== undefined ? { sinceSeconds: target.sinceSeconds } : {}),
          ...(tailLines !== undefined ? { tailLines } : {}),
          limitBytes,
        },
        requestOptions(userAgent),
      );
    } catch (err) {
      if (asyncLocalStorage.getStore()?.cancellationSignal.aborted) throw err;
      return { unavailable: logUnavailableReason(err) };
    }
    if (typeof body !== 'string') return { unavailable: 'the log answer is not text' };
    // Decoding can only lengthen the body (an invalid byte becomes a 3-byte U+FFFD), so a cut answer is never missed.
    return { body, limitReached: Buffer.byteLength(body, 'utf8') >= limitBytes };
  }

  /**
   * The end of a container's log (its previous instance's, or its own). The kubelet seeks
   * to the last `tailLines` lines and then stops writing at `limitBytes`, so a
   * cut answer holds the oldest of those lines and lacks the newest, the ones
   * that say why the container died. A cut read is therefore repeated with a
   * quarter as many lines (21, 5, 1). A failed read makes the log unavailable,
   * never the surface.
   */
  async function readLogTail(target: LogTarget, userAgent: string): Promise<LogTail> {
    return readNewest(target, userAgent, LOG_TAIL_LINES, LOG_LIMIT_BYTES, (read) => previousLogTail(read));
  }

  /** Reads the newest `tailLines` lines, a quarter as many again while the answer is cut, and hands the last read on. */
  async function readNewest(
    target: LogTarget,
    userAgent: string,
    firstTailLines: number,
    limitBytes: number,
    done: (read: { body: string; limitReached: boolean; shortened: boolean }) => LogTail,
  ): Promise<LogTail> {
    let shortened = false;
    for (let tailLines = firstTailLines; ; tailLines = Math.max(1, Math.floor(tailLines / 4))) {
      const read = await readLog(target, userAgent, limitBytes, tailLines);
      if ('unavailable' in read) return { status: 'unavailable', reason: read.unavailable };
      if (!read.limitReached || tailLines === 1) return done({ ...read, shortened });
      shortened = true;
    }
  }

  /**
   * A running container's log over its window (the last hour), read whole when
   * it fits one read and otherwise as its oldest and newest parts, so that a
   * burst of errors that has stopped or a number that has been climbing is seen,
   * not only the newest lines. The newest lines are kept as a previous log's
   * are; everything read is summarised into a digest.
   */
  async function readLogWindow(target: LogTarget, userAgent: string): Promise<LogTail> {
    const head = await readLog(target, userAgent, LOG_WINDOW_BYTES);
    if ('unavailable' in head) return { status: 'unavailable', reason: head.unavailable };
    if (!head.limitReached) return { ...previousLogTail({ ...head, shortened: false }), digest: digestLog([logLines(head)]) };
    // Longer than one read: then the newest lines, as many as fit one read at the head's line length.
    const headLines = logLines(head);
    return readNewest(target, userAgent, Math.max(1, Math.floor(headLines.length * 0.8)), LOG_WINDOW_BYTES, (tail) => ({
      ...previousLogTail({ ...tail, shortened: true }),
      digest: digestLog([headLines, logLines(tail)]),
    }));
  }

  return {
    async collectKubernetesEvidence(req: EvidenceRequest): Promise<KubernetesEvidence> {
      const scope = req.scope.kubernetes;
      if (!scope) throw invalidRequest(SURFACE, 'no Kubernetes scope is configured for this service');
      requireTriageId(SURFACE, req.triageId);
      const namespaces = [...new Set(scope.namespaces)];
      if (namespaces.length > MAX_NAMESPACES)
        throw invalidRequest(SURFACE, `at most ${MAX_NAMESPACES} namespaces per triage, got ${namespaces.length}`);
      const badNamespace = namespaces.find((ns) => !DNS1123_LABEL.test(ns));
      if (badNamespace !== undefined)
        throw invalidRequest(SURFACE, `namespace ${JSON.stringify(badNamespace.slice(0, 70))} is not a DNS-1123 label`);
      const selector = scope.labelSelector?.trim() || undefined;
      if (selector !== undefined && (selector.length > MAX_SELECTOR_CHARS || /[\u0000-\u001f\u007f]/.test(selector))) {
        throw invalidRequest(SURFACE, 'label selector is too long or has control characters');
      }

      const userAgent = kubernetesUserAgent(req.triageId);
      const nodeEventsNamespace = options.nodeEventsNamespace;
      // Read alongside the namespaces; each waits for it only to summarise.
      const node = nodeEventsNamespace !== undefined ? collectNodeEvents(nodeEventsNamespace, userAgent) : undefined;
      const nodeEvents = node ? node.then((n) => n.events) : Promise.resolve([]);
      // Cluster-wide, so once per triage; summarised after the namespaces, whose pods say which nodes matter.
      const nodeList = options.readNodes === true ? collectNodes(userAgent) : undefined;
      const collected = await Promise.all(namespaces.map((ns) => collectNamespace(ns, selector, userAgent, nodeEvents)));
      const nodeStatus = node ? (await node).status : undefined;
      const listedNodes = nodeList ? await nodeList : undefined;
      const nodes: NodesEvidence | undefined =
        listedNodes === undefined
          ? undefined
          : 'nodes' in listedNodes
            ? summarizeNodes(listedNodes.nodes, collected)
            : { status: 'unavailable', reason: listedNodes.unavailable };
      const crashed = previousLogTargets(collected);
      await Promise.all([
        ...crashed.map(async (target) => {
          target.container.previousLog = await readLogTail(target, userAgent);
        }),
        ...currentLogTargets(collected, crashed).map(async (target) => {
          target.container.currentLog = await readLogWindow(target, userAgent);
        }),
      ]);
      const evidence: KubernetesEvidence = {
        surface: 'kubernetes',
        cluster: scope.cluster,
        collectedAt: new Date().toISOString(),
        namespaces: collected,
        ...(nodeStatus ? { nodeEvents: nodeStatus } : {}),
        ...(nodes ? { nodes } : {}),
      };
      const fitted = fitKubernetesEvidence(evidence);
      if (fitted.report.bytesBefore !== fitted.report.bytesAfter) {
        activityLog()?.warn('kubernetes evidence trimmed to its byte budget', { ...fitted.report });
      }
      return fitted.evidence;
    },
  };
}
