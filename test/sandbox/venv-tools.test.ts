import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTemporalCli } from '../../sandbox/venv-tools.js';
import { PROJECT_ROOT } from '../../config/paths.js';

function fakeCli(dir: string): string {
  const path = join(dir, 'temporal');
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('finding the Temporal CLI', () => {
  test('TEMPORAL_CLI wins when it is an executable', () => {
    const cli = fakeCli(mkdtempSync(join(tmpdir(), 'cli-')));
    expect(findTemporalCli({ TEMPORAL_CLI: cli, PATH: '' })).toBe(cli);
  });

  test('a TEMPORAL_CLI that is not executable is an error, not a silent fallback', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI: '/nonexistent/temporal' })).toThrow(/TEMPORAL_CLI is set to \/nonexistent\/temporal/);
  });

  test('then the project venv, installed by make', () => {
    expect(findTemporalCli({ PATH: '' })).toBe(join(PROJECT_ROOT, '.venv', 'bin', 'temporal'));
  });
});
