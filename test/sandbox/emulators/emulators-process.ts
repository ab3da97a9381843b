import { spawn, type ChildProcess } from 'node:child_process';
import { builtEntry } from '../../built-entry.js';

export interface EmulatorsProcess {
  child: ChildProcess;
  /** The JSON line the emulators print once listening; rejects if the process exits first. */
  firstLine: Promise<string>;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts the emulators' entry point as the stack launcher does. */
export function runEmulators(args: string[]): EmulatorsProcess {
  const child = spawn(process.execPath, [builtEntry('sandbox/emulators/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const nl = stdout.indexOf('\n');
      if (nl >= 0) resolve(stdout.slice(0, nl));
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  // Tests of failing starts await the exit, not the line.
  firstLine.catch(() => undefined);
  return { child, firstLine, output: () => stdout + stderr, exited };
}
