// A person in a real browser: Debian's Chromium, driven by playwright-core,
// clicks the approval card in the sandbox Slack page. The click travels as a
// signed block_actions request to the gateway, exactly as Slack would send it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { SANDBOX_NON_APPROVER, startStack, type RunningStack } from '../../sandbox/stack.js';
import { incidentEnvelope, postSignedWebhook } from '../../sandbox/webhook.js';
import { queryStatus } from '../../starter/triage-client.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { triageWorkflowId, type TriageOutcome, type TriageStatus } from '../../workflows/messages.js';
import { SCENARIO_FILE } from '../workflows/harness.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let stack: RunningStack;
let client: Client;
let browser: Browser;
let scenario: Scenario;

async function waitForStatus(incidentId: string, done: (s: TriageStatus) => boolean): Promise<TriageStatus> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const status = await queryStatus(client, incidentId);
      if (done(status)) return status;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`${incidentId}: status condition not met`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function actAs(page: Page, userId: string): Promise<void> {
  await page.getByLabel('Acting user').selectOption(userId);
}

beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, 'dist/workers/main.js'))) throw new Error('run `npm run build` first (make test does)');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: make test installs Debian's chromium package`);
  scenario = await loadScenario(SCENARIO_FILE);
  stack = await startStack({ dir: mkdtempSync(join(tmpdir(), 'triage-browser-')), scenario: SCENARIO_FILE });
  client = new Client({
    connection: await Connection.connect({ address: stack.info.temporalAddress }),
    namespace: stack.info.temporalNamespace,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The machine has no internet: without these, Chromium's background connections fail noisily.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await client?.connection.close();
  await stack?.stop();
});

test('an approver clicks Approve in the sandbox Slack; a non-approver only gets an explanation', async () => {
  const incidentId = scenario.pagerduty.incident.id;
  const secret = readFileSync(stack.info.pagerdutyWebhookSecretFile, 'utf8');
  expect((await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, 'incident.triggered'), secret)).status).toBe(202);
  const { slackCard } = await waitForStatus(incidentId, (s) => s.stage === 'awaiting-decision' && s.slackCard !== undefined);

  const page = await browser.newPage();
  await page.goto(`${stack.info.slackPageUrl}channels/${slackCard!.channelId}`);
  const card = page.locator(`article[data-ts="${slackCard!.ts}"]`);
  await expect(card.getByRole('button', { name: 'Approve' }).isVisible()).resolves.toBe(true);
  expect(await card.textContent()).toContain(scenario.pagerduty.incident.title);

  // A non-approver: the gateway refuses through response_url, visible only to them.
  await actAs(page, SANDBOX_NON_APPROVER);
  await card.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
  const explanation = page.locator('article[data-ephemeral="true"]', { hasText: 'not an approver' });
  await explanation.waitFor({ timeout: 15_000 });
  expect((await queryStatus(client, incidentId)).stage).toBe('awaiting-decision');

  // An approver: the decision is recorded, the workflow writes the issue and the note.
  await actAs(page, stack.info.approvers[0]!);
  await card.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
  const outcome = (await client.workflow.getHandle(triageWorkflowId(incidentId)).result()) as TriageOutcome;
  expect(outcome.stage).toBe('approved');
  expect(outcome.decision?.approver).toBe(stack.info.approvers[0]);
  expect(outcome.githubIssue?.url).toMatch(/\/acme\/checkout\/issues\/1$/);

  // The page shows the closed card (no buttons) and the #incidents note.
  await card.getByRole('button', { name: 'Approve' }).waitFor({ state: 'detached', timeout: 15_000 });
  expect(await card.textContent()).toContain('Approved');
  await page.getByRole('link', { name: `#${stack.info.slackChannels.incidents}` }).click();
  await page
    .locator('article', { hasText: outcome.githubIssue!.url.split('/').slice(-1)[0]! })
    .first()
    .waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(stack.info.logDir, 'sandbox-slack.png') });
  await page.close();
});
