import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';

/**
 * A process entry point as it ships: compiled under dist/ by `npm run build`,
 * which `make test` runs first. Tests that start real processes use it.
 */
export function builtEntry(relative: string): string {
  const path = join(PROJECT_ROOT, 'dist', relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first (make test does)`);
  return path;
}
