import { isAbsolute, relative, sep } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';

/** A path as generated files and re-render hints show it: relative to the project, so the text does not depend on where the command ran. */
export function shown(path: string): string {
  const rel = relative(PROJECT_ROOT, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}
