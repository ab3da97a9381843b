// The apiserver audit stream from a real kube-apiserver: the Kubernetes
// activity runs against it with a triage id, and the audit log the apiserver
// wrote is fed to `triage audit` beside a history whose Kubernetes activity
// spans that run. Every request of the triage lands under that activity, by
// its User-Agent; the apiserver's own requests of the same span stay visible
// as unattributed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import { runAudit } from '../../cli/audit-command.js';
import type { KubeApiserver } from '../../sandbox/kube-apiserver.js';
import { evidenceRequest } from '../activities/evidence-request.js';
import { eventually } from '../eventually.js';
import { readAuditLog } from '../kube-audit.js';
import { APISERVER_ARTIFACTS, startTestApiserver } from '../kube-apiserver.js';
import { HistoryBuilder, T0, WORKFLOW_ID } from './history-builder.js';

const SUITE = 'audit-timeline';
let server: KubeApiserver;

beforeAll(async () => {
  server = await startTestApiserver(SUITE);
});

afterAll(async () => {
  await server?.close();
});

test("the Kubernetes activity's requests, read from the apiserver's audit log, land under that activity with the triage's id", async () => {
  const started = Date.now();
  await createKubernetesActivities({ kubeConfig: server.kubeConfig() }).collectKubernetesEvidence(
    evidenceRequest({ kubernetes: { cluster: 'sandbox', namespaces: ['default'] }, triageId: WORKFLOW_ID }),
  );
  const completed = Date.now();
  const ours = () => readAuditLog(server.auditLog).filter((e) => e.userAgent?.includes(WORKFLOW_ID) && e.stage === 'ResponseComplete');
  await eventually(() => expect(ours().length).toBeGreaterThanOrEqual(4));
  const requests = ours().length;

  // The history's times are offsets from its T0; this one's run is the activity that just ran.
  const h = new HistoryBuilder().started(started - 1_000 - T0);
  h.activity(started - T0, completed - T0, 'collectKubernetesEvidence', 'Kubernetes: pods, events, rollouts in default');
  h.complete_(completed + 1_000 - T0, 'approved');
  const dir = join(APISERVER_ARTIFACTS, SUITE);
  const historyFile = join(dir, 'history.json');
  writeFileSync(historyFile, JSON.stringify(h.json()));
  const brokerFile = join(dir, 'broker-audit.jsonl');
  writeFileSync(brokerFile, '');

  const out: string[] = [];
  const { timeline } = await runAudit(
    'Q1CHECKOUT1',
    { history: historyFile, brokerAudit: [brokerFile], kubeAudit: [server.auditLog] },
    { out: (t) => out.push(t), note: () => undefined },
  );
  const kube = timeline.entries.filter((e) => e.source === 'kube-audit');
  const attributed = kube.filter((e) => e.activity);
  expect(attributed).toHaveLength(requests);
  for (const e of attributed) {
    expect(e).toMatchObject({
      activity: { activityType: 'collectKubernetesEvidence', attempt: 1 },
      external: { by: 'user-agent' },
      depth: 1,
    });
  }
  expect(attributed.map((e) => e.what)).toEqual(expect.arrayContaining([expect.stringMatching(/^list pods default → 200 · /)]));
  // The apiserver's own requests in the triage's span are shown, never dropped, and say why they are not the triage's.
  for (const e of kube.filter((k) => !k.activity)) expect(e.unattributed).toMatch(/no triage id in its user agent/);
  expect(timeline.counts.external['kube-audit']).toMatchObject({ attributed: requests, otherTriages: 0 });
  // On screen, the first of them right under the activity's start.
  const lines = out.join('\n').split('\n');
  const start = lines.findIndex((l) => l.includes('collectKubernetesEvidence#1 started'));
  expect(lines[start + 1]).toMatch(/kube-audit {2}\s+↳ list /);
}, 60_000);
