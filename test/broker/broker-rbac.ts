// What the example overlay gives the broker, read from its rendered objects so
// the caller tests run with exactly the deployment's RBAC and audience: the
// ClusterRoles bound to the broker's ServiceAccount, and broker.yaml's callers.
import { parse as parseYaml } from 'yaml';
import { kustomize, OVERLAY, type K8sObject } from '../deploy/kustomize.js';

export const NAMESPACE = 'keyless-triage';
export const BROKER_SERVICE_ACCOUNT = 'keyless-triage-broker';

export interface BrokerDeployment {
  /** broker.yaml's `callers`, as the overlay configures them. */
  callers: { audience: string; serviceAccounts: string[] };
  /** The ClusterRoles and ClusterRoleBindings that grant the broker's ServiceAccount anything, with the API path to create each. */
  rbac: { path: string; body: K8sObject }[];
}

export function brokerDeployment(): BrokerDeployment {
  const objects = kustomize(OVERLAY);
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('keyless-triage-broker-config'));
  if (!config) throw new Error('the overlay renders no keyless-triage-broker-config ConfigMap');
  const { callers } = parseYaml(config.data['broker.yaml'] as string) as BrokerDeployment;
  const bindings = objects.filter(
    (o) =>
      (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') &&
      (o.subjects as { kind: string; name: string; namespace?: string }[]).some(
        (s) => s.kind === 'ServiceAccount' && s.name === BROKER_SERVICE_ACCOUNT && s.namespace === NAMESPACE,
      ),
  );
  const roles = objects.filter(
    (o) => o.kind === 'ClusterRole' && bindings.some((b) => b.roleRef.kind === 'ClusterRole' && b.roleRef.name === o.metadata.name),
  );
  const path = (o: K8sObject) =>
    o.kind === 'RoleBinding'
      ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${o.metadata.namespace}/rolebindings`
      : `/apis/rbac.authorization.k8s.io/v1/${o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings'}`;
  return { callers, rbac: [...roles, ...bindings].map((body) => ({ path: path(body), body })) };
}
