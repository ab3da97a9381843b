// The Kubernetes checks: what the service-account token may do, asked of the
// apiserver through access and rules reviews. Separate because they alone talk
// to the apiserver; the runner reuses kubernetesError for a check that throws.
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type V1ResourceAttributes,
  type V1ResourceRule,
  type V1NonResourceRule,
} from '@kubernetes/client-node';
import {
  DOCTOR_TRIAGE_ID,
  list,
  networkCode,
  plural,
  tryRead,
  type CheckOutcome,
  type DoctorCheck,
  type DoctorContext,
} from './context.js';

const USER_AGENT = `keyless-triage/0.1 (${DOCTOR_TRIAGE_ID})`;

/** Verbs that change cluster state, or grant more than the caller has. */
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', '*']);
const PRIVILEGE_VERBS = new Set(['impersonate', 'escalate', 'bind', 'approve', 'sign']);
/** Every authenticated user may ask what it may do (system:basic-user); these creates change nothing. */
const SELF_REVIEWS = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews']);
const REVIEW_GROUPS = new Set(['authorization.k8s.io', 'authentication.k8s.io']);

/** Cluster-wide writes probed one by one: a RoleBinding-only setup never shows them in a namespace's rules review. */
const CLUSTER_WRITE_PROBES: readonly V1ResourceAttributes[] = [
  { verb: 'create', group: '', resource: 'pods' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'exec' },
  { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token' },
  { verb: 'impersonate', group: '', resource: 'serviceaccounts' },
  { verb: 'delete', group: '', resource: 'namespaces' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
];

/** What the Kubernetes surface reads (activities/kubernetes.ts), beyond the pod and event lists kubernetes.read performs. */
export const TRIAGE_READS: readonly V1ResourceAttributes[] = [
  { verb: 'list', group: 'apps', resource: 'deployments' },
  { verb: 'list', group: 'apps', resource: 'replicasets' },
  { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
];

/**
 * The optional reads (listOptional in activities/kubernetes.ts): a triage
 * without them still runs and records them as unavailable, so a refusal warns.
 */
export const OPTIONAL_TRIAGE_READS: readonly V1ResourceAttributes[] = [
  { verb: 'list', group: '', resource: 'services' },
  { verb: 'list', group: '', resource: 'endpoints' },
  { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies' },
  { verb: 'list', group: 'batch', resource: 'jobs' },
  { verb: 'list', group: 'batch', resource: 'cronjobs' },
  { verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers' },
  { verb: 'list', group: '', resource: 'persistentvolumeclaims' },
  { verb: 'list', group: 'apps', resource: 'statefulsets' },
  { verb: 'list', group: 'apps', resource: 'daemonsets' },
  { verb: 'list', group: 'apps', resource: 'controllerrevisions' },
];

/** Where a pod's service-account token is (automounted, or projected there as deploy/ does for the worker only). */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const BIND_VIEW =
  "bind the worker's service account to the `view` ClusterRole (a ClusterRoleBinding, or a RoleBinding per namespace) and to nothing else";

function kubernetesRequestOptions(ctx: DoctorContext): ConfigurationOptions {
  const withTimeout: ObservableMiddleware = {
    pre: (rc) => {
      rc.setSignal(AbortSignal.timeout(ctx.probeTimeoutMs));
      return new Observable(Promise.resolve(rc));
    },
    post: (rc) => new Observable(Promise.resolve(rc)),
  };
  return setHeaderOptions('User-Agent', USER_AGENT, { middleware: [withTimeout], middlewareMergeStrategy: 'append' });
}

function attributes(a: V1ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return `${a.verb} ${resource}${a.group ? `.${a.group}` : ''}`;
}

/** What a failed apiserver call says, from its status code and the apiserver's own Status message: never the request's token. */
export function kubernetesError(err: unknown): string {
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    let message = '';
    try {
      const body =
        typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: unknown }) : (e.body as { message?: unknown } | undefined);
      if (typeof body?.message === 'string') message = body.message.slice(0, 300);
    } catch {
      // not a Status
    }
    const hint = e.code === 401 ? ' (the apiserver rejected the service-account token: expired, or for another cluster?)' : '';
    return `HTTP ${e.code}${message ? `: ${message}` : ''}${hint}`;
  }
  return `apiserver not reachable (${networkCode(err)})`;
}

/**
 * Where the Kubernetes checks stop before they start: no namespace to check, no
 * way to reach a cluster, or (for the gateway, which needs no Kubernetes access)
 * no token at all, which is the best answer there is.
 */
async function kubernetesPrecondition(ctx: DoctorContext): Promise<CheckOutcome | undefined> {
  if (ctx.role === 'gateway' && !ctx.config.kubernetes.kubeconfig && 'error' in (await tryRead(ctx, IN_CLUSTER_TOKEN))) {
    return {
      status: 'pass',
      detail: `no Kubernetes credential here (no kubeconfig, no token at ${IN_CLUSTER_TOKEN}): the gateway needs none`,
    };
  }
  if (ctx.namespaces.length === 0)
    return { status: 'skip', detail: 'no service has kubernetes.namespaces: the worker makes no Kubernetes call' };
  if (!ctx.config.kubernetes.kubeconfig && !ctx.deps.env.KUBERNETES_SERVICE_HOST && !ctx.deps.env.KUBERNETES_SERVICE_PORT) {
    return {
      status: 'fail',
      detail: 'not in a pod (KUBERNETES_SERVICE_HOST is unset) and no kubernetes.kubeconfig is configured: there is no cluster to check',
    };
  }
  return undefined;
}

async function accessReview(
  ctx: DoctorContext,
  attrs: V1ResourceAttributes,
): Promise<{ allowed: boolean; reason?: string; evaluationError?: string }> {
  const api = ctx.kubernetes().makeApiClient(AuthorizationV1Api);
  const review = await api.createSelfSubjectAccessReview(
    { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } } },
    kubernetesRequestOptions(ctx),
  );
  return {
    allowed: review.status?.allowed === true,
    ...(review.status?.reason ? { reason: review.status.reason } : {}),
    ...(review.status?.evaluationError ? { evaluationError: review.status.evaluationError } : {}),
  };
}

export const kubernetesSecrets: DoctorCheck = {
  id: 'kubernetes.secrets',
  title: 'Kubernetes token cannot read Secrets',
  async run(ctx) {
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const scopes = [...ctx.namespaces, ''];
    const probes = scopes.flatMap((namespace) =>
      ['get', 'list', 'watch'].map((verb) => ({ namespace, verb, group: '', resource: 'secrets' })),
    );
    const answers = await Promise.all(probes.map(async (p) => ({ p, answer: await accessReview(ctx, p) })));
    const lines: string[] = [];
    for (const namespace of scopes) {
      const mine = answers.filter((a) => a.p.namespace === namespace);
      const allowed = mine.filter((a) => a.answer.allowed);
      if (allowed.length === 0) continue;
      const why = [...new Set(allowed.map((a) => a.answer.reason).filter(Boolean))].join('; ');
      lines.push(
        `${namespace ? `namespace ${namespace}` : 'cluster-wide'}: ${allowed.map((a) => a.p.verb).join(', ')} on secrets allowed${why ? ` (${why})` : ''}`,
      );
    }
    const errors = answers
      .filter((a) => a.answer.evaluationError)
      .map((a) => `${a.p.namespace || 'cluster-wide'} ${a.p.verb} secrets: evaluation error: ${a.answer.evaluationError}`);
    if (lines.length > 0) {
      return {
        status: 'fail',
        detail: [...lines, `what to do: remove the binding named above; ${BIND_VIEW} (view excludes Secrets)`].join('\n'),
      };
    }
    const checked = list([...ctx.namespaces, 'cluster-wide']);
    if (errors.length > 0)
      return { status: 'warn', detail: [`no get/list/watch on secrets granted in ${checked}, but:`, ...errors].join('\n') };
    return {
      status: 'pass',
      detail: `no get, list or watch on secrets in ${checked} (${plural(probes.length, 'SelfSubjectAccessReview')})`,
    };
  },
};

function describeRule(rule: V1ResourceRule): string {
  const groups = (rule.apiGroups ?? []).map((g) => (g === '' ? '""' : g));
  const names = rule.resourceNames?.length ? ` named ${rule.resourceNames.join(', ')}` : '';
  return `verbs [${rule.verbs.join(', ')}] on [${(rule.resources ?? []).join(', ')}]${names} in apiGroups [${groups.join(', ')}]`;
}

function isSelfReview(rule: V1ResourceRule): boolean {
  const resources = rule.resources ?? [];
  return (
    rule.verbs.every((v) => v === 'create') &&
    resources.length > 0 &&
    resources.every((r) => SELF_REVIEWS.has(r)) &&
    (rule.apiGroups ?? []).every((g) => REVIEW_GROUPS.has(g))
  );
}

/** Why a rule is too much for a read-only worker, or undefined. */
function ruleProblem(rule: V1ResourceRule): string | undefined {
  if (isSelfReview(rule)) return undefined;
  const writes = rule.verbs.filter((v) => WRITE_VERBS.has(v));
  const privileged = rule.verbs.filter((v) => PRIVILEGE_VERBS.has(v));
  if (writes.length > 0) return `grants ${writes.includes('*') ? 'every verb (*)' : `write verbs ${writes.join(', ')}`}`;
  if (privileged.length > 0) return `grants ${privileged.join(', ')}, which lets the token act as or above another identity`;
  if ((rule.resources ?? []).includes('*')) return 'covers every resource (*), Secrets included';
  return undefined;
}

function nonResourceProblem(rule: V1NonResourceRule): string | undefined {
  const writes = rule.verbs.filter((v) => !['get', 'head', 'options'].includes(v));
  return writes.length > 0 ? `grants ${writes.join(', ')} on non-resource URLs [${(rule.nonResourceURLs ?? []).join(', ')}]` : undefined;
}

export const kubernetesWrites: DoctorCheck = {
  id: 'kubernetes.writes',
  title: 'Kubernetes token is read-only',
  async run(ctx) {
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const api = ctx.kubernetes().makeApiClient(AuthorizationV1Api);
    const reviews = await Promise.all(
      ctx.namespaces.map(async (namespace) => ({
        namespace,
        review: await api.createSelfSubjectRulesReview(
          { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } } },
          kubernetesRequestOptions(ctx),
        ),
      })),
    );
    // A cluster-wide rule shows in every namespace's review: one line per rule, listing where.
    const offending = new Map<string, { text: string; namespaces: string[] }>();
    const incomplete: string[] = [];
    for (const { namespace, review } of reviews) {
      const status = review.status;
      if (status?.incomplete) incomplete.push(`${namespace}${status.evaluationError ? ` (${status.evaluationError.slice(0, 200)})` : ''}`);
      const found = [
        ...(status?.resourceRules ?? []).map((r) => ({ problem: ruleProblem(r), text: describeRule(r) })),
        ...(status?.nonResourceRules ?? []).map((r) => ({
          problem: nonResourceProblem(r),
          text: `verbs [${r.verbs.join(', ')}] on [${(r.nonResourceURLs ?? []).join(', ')}]`,
        })),
      ];
      for (const { problem, text } of found) {
        if (!problem) continue;
        const key = `${problem} | ${text}`;
        const entry = offending.get(key) ?? { text: `rule ${text}: ${problem}`, namespaces: [] };
        entry.namespaces.push(namespace);
        offending.set(key, entry);
      }
    }
    const clusterAnswers = await Promise.all(
      CLUSTER_WRITE_PROBES.map(async (p) => ({ p, answer: await accessReview(ctx, { ...p, namespace: '' }) })),
    );
    const clusterWrites = clusterAnswers.filter((a) => a.answer.allowed);

    const lines = [
      ...[...offending.values()].map((o) => `${o.text} (SelfSubjectRulesReview in ${list(o.namespaces)})`),
      ...clusterWrites.map((a) => `cluster-wide: ${attributes(a.p)} allowed${a.answer.reason ? ` (${a.answer.reason})` : ''}`),
    ];
    if (lines.length > 0)
      return { status: 'fail', detail: [...lines, `what to do: remove the Role/ClusterRole granting this; ${BIND_VIEW}`].join('\n') };
    const checked = `no write, escalation or wildcard rule in ${list(ctx.namespaces)}; none of ${CLUSTER_WRITE_PROBES.map(attributes).join(', ')} allowed cluster-wide`;
    if (incomplete.length > 0) {
      // EKS access policies (a webhook authorizer) cannot list rules; the access reviews above still asked them.
      return {
        status: 'warn',
        detail: `${checked}\nthe rules review is incomplete in ${list(incomplete)}: rules from other authorizers (e.g. EKS access policies) are not listed`,
      };
    }
    return { status: 'pass', detail: checked };
  },
};

export const kubernetesRead: DoctorCheck = {
  id: 'kubernetes.read',
  title: 'Kubernetes token can read what the triage needs',
  async run(ctx) {
    if (ctx.role === 'gateway') return { status: 'skip', detail: 'the gateway reads nothing from Kubernetes' };
    const stop = await kubernetesPrecondition(ctx);
    if (stop) return stop;
    const core = ctx.kubernetes().makeApiClient(CoreV1Api);
    const problems: string[] = [];
    const good: string[] = [];
    const optionalMissing: string[] = [];
    await Promise.all(
      ctx.namespaces.map(async (namespace) => {
        const reads = [
          ['list pods', () => core.listNamespacedPod({ namespace, limit: 1 }, kubernetesRequestOptions(ctx))],
          ['list events', () => core.listNamespacedEvent({ namespace, limit: 1 }, kubernetesRequestOptions(ctx))],
        ] as const;
        const failed: string[] = [];
        for (const [what, read] of reads) {
          try {
            await read();
          } catch (err) {
            failed.push(`${what}: ${kubernetesError(err)}`);
          }
        }
        const review = (reads: readonly V1ResourceAttributes[]) =>
          Promise.all(reads.map(async (p) => ({ p, answer: await accessReview(ctx, { ...p, namespace }) })));
        const [reviews, optional] = await Promise.all([review(TRIAGE_READS), review(OPTIONAL_TRIAGE_READS)]);
        for (const { p, answer } of reviews) if (!answer.allowed) failed.push(`${attributes(p)}: not allowed (SelfSubjectAccessReview)`);
        const refused = optional.filter(({ answer }) => !answer.allowed).map(({ p }) => attributes(p));
        if (refused.length > 0) optionalMissing.push(`namespace ${namespace}: may not ${refused.join(', ')} (SelfSubjectAccessReview)`);
        if (failed.length > 0) problems.push(...failed.map((f) => `namespace ${namespace}: cannot ${f}`));
        else good.push(namespace);
      }),
    );
    if (problems.length > 0) {
      return {
        status: 'fail',
        detail: [...problems.sort(), `what to do: the triage reads pods, events, deployments, replicasets and pod logs; ${BIND_VIEW}`].join(
          '\n',
        ),
      };
    }
    const read = `listed pods and events, and may ${TRIAGE_READS.map(attributes).join(', ')}, in ${list(good.sort())}`;
    const optionalWarning =
      optionalMissing.length > 0
        ? [
            ...optionalMissing.sort(),
            `what to do: triages run without these and record them as unavailable; ${BIND_VIEW} (\`view\` grants them)`,
          ]
        : [];
    // Node events and Nodes are optional evidence: without them a triage still runs, so a refusal warns.
    let listed = read;
    const warnings = [...optionalWarning];
    const nodeEventsNamespace = ctx.config.kubernetes.nodeEventsNamespace;
    if (nodeEventsNamespace !== undefined) {
      try {
        await core.listNamespacedEvent(
          { namespace: nodeEventsNamespace, fieldSelector: 'involvedObject.kind=Node', limit: 1 },
          kubernetesRequestOptions(ctx),
        );
        listed = `${listed}; listed Node events in ${nodeEventsNamespace}`;
      } catch (err) {
        warnings.push(
          `cannot list Node events in ${nodeEventsNamespace} (kubernetes.nodeEventsNamespace): ${kubernetesError(err)}`,
          'what to do: apply deploy/components/node-events (a Role that reads events there, nothing else), or unset kubernetes.nodeEventsNamespace; triages run without node pressure until then',
        );
      }
    }
    if (ctx.config.kubernetes.readNodes === true) {
      try {
        await core.listNode({ limit: 1 }, kubernetesRequestOptions(ctx));
        listed = `${listed}; listed Nodes`;
      } catch (err) {
        warnings.push(
          `cannot list Nodes (kubernetes.readNodes): ${kubernetesError(err)}`,
          'what to do: apply deploy/components/node-reader (a ClusterRole that gets and lists Nodes, nothing else), or unset kubernetes.readNodes; triages run without Node conditions and taints until then',
        );
      }
    }
    return warnings.length > 0 ? { status: 'warn', detail: [listed, ...warnings].join('\n') } : { status: 'pass', detail: listed };
  },
};
