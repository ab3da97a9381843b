// A real kube-apiserver per test file (sandbox/kube-apiserver.ts), in a
// folder of its own under .sandbox/test-artifacts/, where its audit log stays
// after the run for the audit-trail work to read.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_DIR } from '../config/paths.js';
import { startKubeApiserver, type KubeApiserver } from '../sandbox/kube-apiserver.js';

export const APISERVER_ARTIFACTS = join(SANDBOX_DIR, 'test-artifacts', 'kube-apiserver');

export async function startTestApiserver(suite: string): Promise<KubeApiserver> {
  const dir = join(APISERVER_ARTIFACTS, suite);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return startKubeApiserver(dir);
}
