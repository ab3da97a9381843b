#!/usr/bin/env node
// `npx triage …`: runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('triage: the CLI is not built; run `npm run build` in the project directory');
  process.exit(1);
}
const { runCli } = await import(cli.href);
process.exitCode = await runCli(process.argv);
