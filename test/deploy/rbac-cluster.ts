// What the RBAC test does to a real kube-apiserver (sandbox/kube-apiserver.ts),
// as kubectl would: apply and delete rendered objects, mint a ServiceAccount
// token (TokenRequest), ask access and rules reviews, and make one request as
// a token so the apiserver itself decides. Resources are found through
// discovery, the way kubectl maps `deployments` to apps/v1.
import { resourcePaths, type ApiAnswer, type KubeApiserver } from '../../sandbox/kube-apiserver.js';
import type { K8sObject } from './kustomize.js';

/** One request, as RBAC sees it (a SubjectAccessReview's resourceAttributes). */
export interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Absent or '' for cluster-wide. */
  namespace?: string;
  name?: string;
}

export interface UserInfo {
  username: string;
  groups: string[];
}

/** One granted (verb, resource) or (verb, URL) pair, comparable across rule shapes. */
export type Grant = string;

interface Rules {
  resourceRules?: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
  nonResourceRules?: { verbs: string[]; nonResourceURLs?: string[] }[];
  incomplete?: boolean;
}

export const grant = (verb: string, group: string, resource: string): Grant => `${verb} ${group || '""'} ${resource}`;
export const nonResourceGrant = (verb: string, url: string): Grant => `${verb} url ${url}`;

/** Every rule flattened to (verb, group, resource) pairs, so two ways of writing the same grants compare equal. */
export function grantsOf(rules: Rules): Set<Grant> {
  const out = new Set<Grant>();
  for (const r of rules.resourceRules ?? []) {
    const names = r.resourceNames?.length ? ` named ${[...r.resourceNames].sort().join(',')}` : '';
    for (const verb of r.verbs)
      for (const group of r.apiGroups ?? []) for (const resource of r.resources ?? []) out.add(`${grant(verb, group, resource)}${names}`);
  }
  for (const r of rules.nonResourceRules ?? [])
    for (const verb of r.verbs) for (const url of r.nonResourceURLs ?? []) out.add(nonResourceGrant(verb, url));
  return out;
}

const describe_ = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const key = (o: K8sObject) => `${o.apiVersion} ${describe_(o)}`;

/** The objects an overlay gains by enabling a component: those of `withComponent` that `base` lacks. */
export function added(withComponent: readonly K8sObject[], base: readonly K8sObject[]): K8sObject[] {
  const had = new Set(base.map(key));
  return withComponent.filter((o) => !had.has(key(o)));
}

/**
 * Polls until `check` holds: the RBAC authorizer reads bindings from an
 * informer cache, so a binding just created or deleted takes a moment to count.
 */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectStatus(answer: ApiAnswer, ok: number[], what: string): void {
  if (!ok.includes(answer.status))
    throw new Error(`${what}: HTTP ${answer.status} ${(answer.body as { message?: string } | undefined)?.message ?? ''}`);
}

export function cluster(server: KubeApiserver) {
  const paths = resourcePaths(server);
  const preferred = new Map<string, Promise<{ groupVersion: string; resources: { name: string; namespaced: boolean }[] }>>();

  /** The served version of a group and its resources, as discovery gives them. */
  function groupResources(group: string) {
    let found = preferred.get(group);
    if (!found) {
      found = (async () => {
        let groupVersion = 'v1';
        if (group) {
          const g = await server.request('GET', `/apis/${group}`);
          expectStatus(g, [200], `discovery of ${group}`);
          groupVersion = (g.body as { preferredVersion: { groupVersion: string } }).preferredVersion.groupVersion;
        }
        const answer = await server.request('GET', group ? `/apis/${groupVersion}` : '/api/v1');
        expectStatus(answer, [200], `discovery of ${groupVersion}`);
        return { groupVersion, resources: (answer.body as { resources: { name: string; namespaced: boolean }[] }).resources };
      })();
      preferred.set(group, found);
    }
    return found;
  }

  /** The URL a request for `a` goes to. */
  async function pathOf(a: Access): Promise<string> {
    const { groupVersion, resources } = await groupResources(a.group);
    if (!resources.some((r) => r.name === a.resource)) throw new Error(`the apiserver serves no ${a.resource} in ${groupVersion}`);
    const base = a.group ? `/apis/${groupVersion}` : '/api/v1';
    const scope = a.namespace ? `/namespaces/${a.namespace}` : '';
    const name = a.name ? `/${a.name}` : '';
    return `${base}${scope}/${a.resource}${name}${a.subresource ? `/${a.subresource}` : ''}`;
  }

  async function applyOne(obj: K8sObject): Promise<void> {
    const collection = await paths.collection(obj);
    const answer = await server.request('PATCH', `${collection}/${obj.metadata.name}?fieldManager=kubectl&force=true`, obj, {
      contentType: 'application/apply-patch+yaml',
    });
    expectStatus(answer, [200, 201], `apply ${describe_(obj)}`);
  }

  /**
   * `kubectl apply --server-side`: Namespaces first, then any namespace the
   * objects live in that none of them creates (the workload namespaces the
   * RoleBindings grant exist before keyless-triage is installed).
   */
  async function apply(objects: readonly K8sObject[]): Promise<void> {
    for (const ns of objects.filter((o) => o.kind === 'Namespace')) await applyOne(ns);
    for (const name of new Set(objects.flatMap((o) => o.metadata.namespace ?? []))) {
      const answer = await server.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      expectStatus(answer, [201, 409], `namespace ${name}`);
    }
    for (const obj of objects.filter((o) => o.kind !== 'Namespace')) await applyOne(obj);
  }

  /** `kubectl delete`: RBAC objects go at once (no finalizers, no controllers needed). */
  async function remove(objects: readonly K8sObject[]): Promise<void> {
    for (const obj of objects) {
      const answer = await server.request('DELETE', `${await paths.collection(obj)}/${obj.metadata.name}`);
      expectStatus(answer, [200], `delete ${describe_(obj)}`);
    }
  }

  return {
    pathOf,
    apply,
    remove,

    /**
     * Applies `objects`, waits until `inForce` says the authorizer sees them,
     * runs `body`, then deletes them and waits until it no longer does.
     */
    async withApplied(objects: readonly K8sObject[], inForce: () => Promise<boolean>, body: () => Promise<void>): Promise<void> {
      await apply(objects);
      try {
        await until(`${objects.map(describe_).join(', ')} in force`, inForce);
        await body();
      } finally {
        await remove(objects);
        await until(`${objects.map(describe_).join(', ')} gone`, async () => !(await inForce()));
      }
    },

    /**
     * A token for a ServiceAccount, from the TokenRequest API, as the kubelet projects one into a pod:
     * for the API server, or for `audience` (a projected volume's serviceAccountToken.audience).
     */
    async token(namespace: string, name: string, audience?: string): Promise<string> {
      const answer = await server.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600, ...(audience && { audiences: [audience] }) },
      });
      expectStatus(answer, [201], `TokenRequest for ${namespace}/${name}`);
      return (answer.body as { status: { token: string } }).status.token;
    },

    /**
     * What a TokenReview sent with `reviewer`'s token answers about `token` for `audiences`, as the broker
     * asks it about a caller: the HTTP status of the review itself, and the verdict.
     */
    async tokenReview(
      reviewer: string,
      token: string,
      audiences: string[],
    ): Promise<{ status: number; authenticated?: boolean; user?: UserInfo; audiences?: string[] }> {
      const answer = await server.request(
        'POST',
        '/apis/authentication.k8s.io/v1/tokenreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
        { token: reviewer },
      );
      if (answer.status !== 201) return { status: answer.status };
      const review = (answer.body as { status: { authenticated?: boolean; user?: UserInfo; audiences?: string[] } }).status;
      return {
        status: answer.status,
        authenticated: review.authenticated ?? false,
        ...(review.user && { user: { username: review.user.username, groups: review.user.groups } }),
        ...(review.audiences && { audiences: review.audiences }),
      };
    },

    /** Who the apiserver takes a token for (SelfSubjectReview): the user and groups RBAC matches bindings against. */
    async whoAmI(token: string): Promise<UserInfo> {
      const answer = await server.request(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        { token },
      );
      expectStatus(answer, [201], 'SelfSubjectReview');
      const { username, groups } = (answer.body as { status: { userInfo: UserInfo } }).status.userInfo;
      return { username, groups };
    },

    /** `kubectl auth can-i --list -n <namespace>` for the token. */
    async rulesReview(token: string, namespace: string): Promise<Rules> {
      const answer = await server.request(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
        { token },
      );
      expectStatus(answer, [201], `SelfSubjectRulesReview in ${namespace}`);
      return (answer.body as { status: Rules }).status;
    },

    /** `kubectl auth can-i` for the token itself: the decision, and the binding RBAC names for a yes. */
    async selfAccessReview(token: string, a: Access): Promise<{ allowed: boolean; reason?: string }> {
      const answer = await server.request(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: a } },
        { token },
      );
      expectStatus(answer, [201], 'SelfSubjectAccessReview');
      return (answer.body as { status: { allowed: boolean; reason?: string } }).status;
    },

    /** `kubectl auth can-i --as`, asked by the admin for someone else (SubjectAccessReview). */
    async access(user: UserInfo, a: Access): Promise<boolean> {
      const answer = await server.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: user.username, groups: user.groups, resourceAttributes: a },
      });
      expectStatus(answer, [201], 'SubjectAccessReview');
      return (answer.body as { status: { allowed: boolean } }).status.allowed;
    },

    /**
     * The request `a` names, sent with `token`: the apiserver authorizes it
     * before it reads the body, so a refused write needs no valid object.
     */
    async call(token: string, a: Access): Promise<ApiAnswer> {
      const path = await pathOf(a);
      switch (a.verb) {
        case 'list':
        case 'get':
          return server.request('GET', path, undefined, { token });
        case 'create':
          return server.request('POST', path, { metadata: { name: 'from-the-worker' } }, { token });
        case 'update':
          return server.request('PUT', path, { metadata: { name: a.name } }, { token });
        case 'patch':
          return server.request(
            'PATCH',
            path,
            { metadata: { labels: { 'patched-by': 'worker' } } },
            {
              token,
              contentType: 'application/merge-patch+json',
            },
          );
        case 'delete':
          return server.request('DELETE', path, undefined, { token });
        default:
          throw new Error(`no request for verb ${a.verb}`);
      }
    },
  };
}

export type Cluster = ReturnType<typeof cluster>;
