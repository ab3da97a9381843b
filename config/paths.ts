import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The same code runs from source (ts-jest) and from dist/, so paths are found
// by walking up to package.json rather than by a fixed number of "..".
function findProjectRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
export const WORKFLOWS_SOURCE = join(PROJECT_ROOT, 'workflows', 'index.ts');
export const WORKFLOW_BUNDLE = join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** Git-ignored: the sandbox stack's config, generated secrets, SQLite database and logs (the CLI looks there too). */
export const SANDBOX_DIR = join(PROJECT_ROOT, '.sandbox');
export const STACK_FILE = join(SANDBOX_DIR, 'stack.json');
/** Where `make demo` runs its stack, and where `triage audit` looks once that stack is gone. */
export const DEMO_DIR = join(SANDBOX_DIR, 'demo');

/** Where `make demo` leaves a triage's history when it stops the stack (and Temporal with it). */
export function sandboxHistoryExport(workflowId: string, stackDir = DEMO_DIR): string {
  return join(stackDir, 'history', `${workflowId}.json`);
}
