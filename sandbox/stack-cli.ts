// `make up` / `make down`: the local stack in the background, described by .sandbox/stack.json.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SANDBOX_DIR, STACK_FILE } from '../config/paths.js';
import { scenarioPath } from './locations.js';
import { processAlive, startStack, stopPids, type StackInfo } from './stack.js';
import type { ApprovalChannel } from '../config/vocabulary.js';

function runningStack(): StackInfo | undefined {
  if (!existsSync(STACK_FILE)) return undefined;
  const info = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
  return Object.values(info.pids).some(processAlive) ? info : undefined;
}

async function up(): Promise<void> {
  const existing = runningStack();
  if (existing) {
    console.log(`stack already running (started ${existing.startedAt}); gateway ${existing.gatewayUrl}, Web UI ${existing.temporalUiUrl}`);
    return;
  }
  // The worker's configuration refuses any other value, naming it.
  const channels = process.env.SANDBOX_APPROVAL_CHANNELS?.split(',').map((c) => c.trim()) as ApprovalChannel[] | undefined;
  const { info } = await startStack({
    dir: SANDBOX_DIR,
    scenario: scenarioPath(),
    ports: { temporal: 7233, temporalUi: 8233, gateway: 8787 },
    ...(channels ? { approvalChannels: channels } : {}),
  });
  writeFileSync(STACK_FILE, JSON.stringify(info, null, 2) + '\n');
  console.log(`stack up (${STACK_FILE})`);
  console.log(`  gateway         ${info.gatewayUrl}/webhooks/pagerduty`);
  console.log(`  Temporal        ${info.temporalAddress}   Web UI ${info.temporalUiUrl}`);
  console.log(`  broker          ${info.brokerUrl}   audit ${info.brokerAuditLog}`);
  console.log(`  PagerDuty API   ${info.pagerdutyUrl}`);
  console.log(`  Kubernetes API  ${info.kubernetesUrl}`);
  console.log(`  GitHub API      ${info.githubUrl}   repo ${info.githubRepo ?? '(none)'}`);
  console.log(`  sandbox Slack   ${info.slackPageUrl}   (pick a user, click Approve on the card)`);
  console.log(`  logs            ${info.logDir}`);
  console.log(`try: npx triage start ${info.incidentId} && npx triage status ${info.incidentId}`);
}

async function down(): Promise<void> {
  if (!existsSync(STACK_FILE)) {
    console.log('no stack running (.sandbox/stack.json not found)');
    return;
  }
  const info = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
  const pids = Object.values(info.pids).reverse();
  stopPids(pids);
  const deadline = Date.now() + 15_000;
  while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(processAlive)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  rmSync(STACK_FILE);
  console.log(`stack down (stopped ${Object.keys(info.pids).join(', ')})`);
}

const command = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down };
const run = command ? commands[command] : undefined;
if (!run) {
  console.error('usage: stack-cli.js up|down');
  process.exit(2);
}
run().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
