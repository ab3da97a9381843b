import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';
export const DEFAULT_SCENARIO = 'crashloop-after-rollout';

/** A scenario by name (`SCENARIO=<name>`), from sandbox/scenarios/. */
export function scenarioPath(name = process.env.SCENARIO || DEFAULT_SCENARIO): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`invalid scenario name "${name}": use the file name without .yaml`);
  const path = join(PROJECT_ROOT, 'sandbox', 'scenarios', `${name}.yaml`);
  if (!existsSync(path)) throw new Error(`no scenario "${name}" (looked for ${path})`);
  return path;
}
