// Builds the workflow bundle once, at build time, so a production worker
// starts without webpack and runs exactly the code that was reviewed.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE, WORKFLOWS_SOURCE } from '../config/paths.js';

const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_SOURCE,
  logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
});
await writeFile(WORKFLOW_BUNDLE, code);
console.log(`workflow bundle: ${WORKFLOW_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
