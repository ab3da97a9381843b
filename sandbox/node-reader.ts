// The rules deploy/components/node-reader grants, read from the manifest an
// operator applies, so the sandbox binds exactly what production binds: a
// worker that reads Nodes in the eval does so because that ClusterRole allows
// it, and a change to the component shows up here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../config/paths.js';
import { VIEW_CLUSTER_ROLE_RULES, type PolicyRule } from './emulators/kubernetes.js';

export const NODE_READER_CLUSTER_ROLE = join(PROJECT_ROOT, 'deploy/components/node-reader/clusterrole.yaml');

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

export function nodeReaderRules(file = NODE_READER_CLUSTER_ROLE): PolicyRule[] {
  const role = parseYaml(readFileSync(file, 'utf8')) as { kind?: unknown; rules?: unknown } | null;
  if (role?.kind !== 'ClusterRole' || !Array.isArray(role.rules)) throw new Error(`${file}: not a ClusterRole with rules`);
  return role.rules.map((r: Record<string, unknown>, i) => {
    if (!strings(r.verbs) || !strings(r.apiGroups) || !strings(r.resources)) throw new Error(`${file}: rules[${i}] is not a resource rule`);
    return { verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources };
  });
}

/** `view` cluster-wide, as the emulator binds by default, plus the node-reader ClusterRole's rules. */
export function viewAndNodeReaderRules(): PolicyRule[] {
  return [...VIEW_CLUSTER_ROLE_RULES, ...nodeReaderRules()];
}
