// The committed copy of a file the CLI renders (the egress policies, the IAM
// policy), for `--check`: a missing or unreadable file is drift too, and the
// error says how to render it.
import { readFileSync } from 'node:fs';

export function readCommitted(file: string, rerender: string, drift: new (message: string) => Error): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new drift(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); render it with: ${rerender}`);
  }
}
