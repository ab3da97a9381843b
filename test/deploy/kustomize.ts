// `kustomize build` of deploy/ with the pinned kustomize (`make test` builds
// it): the base, the example overlay, and the overlay with one opt-in component.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../config/paths.js';

const KUSTOMIZE = process.env.KUSTOMIZE ?? join(PROJECT_ROOT, '.tools/bin/kustomize');
export const DEPLOY = join(PROJECT_ROOT, 'deploy');
export const OVERLAY = join(DEPLOY, 'overlays/example');
export const BASE = join(DEPLOY, 'base');

// Loose: each test checks the shape it relies on.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
};

export function kustomize(dir: string): K8sObject[] {
  if (!existsSync(KUSTOMIZE)) {
    throw new Error(
      `kustomize is missing at ${KUSTOMIZE}: run \`make .tools/bin/kustomize\` (make test builds it), or set KUSTOMIZE to a kustomize v5 binary`,
    );
  }
  const out = execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The overlay plus an opt-in component, the way an overlay that enables it would build. */
export function kustomizeWithComponent(component: string): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'kustomize-component-'));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${relative(dir, OVERLAY)}\ncomponents:\n  - ${relative(dir, component)}\n`,
    );
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
