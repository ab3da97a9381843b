// GitHub installation tokens narrowed per repository, against the GitHub
// emulator, which narrows and enforces as GitHub does (a token reaches only
// the repositories and permissions it was minted for), driven by the
// production GitHub activities through a real broker. The App is installed on
// three repositories; the broker lists two; each write must go out with a
// token that reaches its own repository and nothing else.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { createGitHubActivities } from '../../activities/github.js';
import { idempotencyKey, idempotencyLabel, idempotencyMarker } from '../../activities/idempotency.js';
import type { TriageApproval } from '../../broker/approval.js';
import type { AuditRecord } from '../../broker/audit.js';
import { BACK_LINK_TEMPLATE, hashPlan, type WritePlan } from '../../config/write-plan.js';
import { startBroker, type RunningBroker } from '../../broker/broker.js';
import { parseBrokerConfig } from '../../broker/config.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../sandbox/emulators/github.js';
import { capturingLogger, readAudit } from './harness.js';

const APP_ID = '2002';
const INSTALLATION_ID = 88;
const CHECKOUT = 'acme/checkout';
const PAYMENTS = 'acme/payments';
/** Installed for the App, but not in the broker's `repos`. */
const UNLISTED = 'acme/secrets';
const NARROW = { issues: 'write', metadata: 'read' };

const credentialId = (repo: string) => `github-app:${APP_ID}/installation:${INSTALLATION_ID}/repo:${repo}`;

let dir: string;
let emulator: GitHubEmulator;
let broker: RunningBroker;
let privateKeyPem: string;
const logs: string[] = [];
let audit: AuditRecord[];

function issueRequest(repo: string, triageId: string) {
  const key = idempotencyKey(triageId);
  return {
    triageId,
    repo,
    title: `[triage] ${triageId}`,
    body: `Findings.\n${idempotencyMarker(key)}\n`,
    labels: ['triage', idempotencyLabel(key)],
    idempotencyKey: key,
  };
}

// What each triage's `approval` query would answer: its plan approved (the check itself: approval.test.ts).
const approvals = new Map<string, TriageApproval>();
function approve(req: ReturnType<typeof issueRequest>): void {
  const { triageId, ...github } = req;
  const plan: WritePlan = { github: { ...github, backLink: BACK_LINK_TEMPLATE }, slack: {} };
  const hash = hashPlan(plan);
  const decision = { decision: 'approve', planHash: hash, approver: 'U0ALICE', at: '2026-12-07T10:00:00.000Z' };
  approvals.set(triageId, { planHash: hash, plan, decision });
}

beforeAll(async () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privateKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  dir = await mkdtemp(join(tmpdir(), 'github-repo-tokens-'));
  await writeFile(join(dir, 'github-app.pem'), privateKeyPem, { mode: 0o600 });
  emulator = await startGitHubEmulator({
    appId: APP_ID,
    installationId: INSTALLATION_ID,
    appPublicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    repos: [CHECKOUT, PAYMENTS, UNLISTED],
  });
  broker = await startBroker(
    parseBrokerConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        auditLog: 'audit.jsonl',
        providers: {
          github: {
            upstream: emulator.url,
            appId: APP_ID,
            installationId: INSTALLATION_ID,
            privateKeyFile: 'github-app.pem',
            repos: [CHECKOUT, PAYMENTS],
          },
        },
      },
      dir,
    ),
    {
      log: capturingLogger(logs),
      approvals: { lookup: (id) => Promise.resolve(approvals.get(id)), close: () => Promise.resolve() },
    },
  );

  const github = createGitHubActivities({ baseUrl: `${broker.url}/github` });
  const requests = [issueRequest(CHECKOUT, 'triage-QCHECKOUT'), issueRequest(PAYMENTS, 'triage-QPAYMENTS')];
  requests.forEach(approve);
  const checkout = await github.createGitHubIssue(requests[0]!);
  approvals.get('triage-QCHECKOUT')!.githubIssue = { repo: checkout.repo, number: checkout.number, url: checkout.url };
  await github.createGitHubIssue(requests[1]!);
  await github.linkIssueToNote({
    triageId: 'triage-QCHECKOUT',
    repo: CHECKOUT,
    number: checkout.number,
    noteUrl: 'https://acme.slack.com/archives/C0INCIDENTS/p1700000000000100',
  });
  audit = await readAudit(join(dir, 'audit.jsonl'), 6);
});

afterAll(async () => {
  await broker?.close();
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

test('each repository gets one token of its own, minted for it alone with issues: write and metadata: read', () => {
  expect(emulator.mints().map(({ repositories, permissions }) => ({ repositories, permissions }))).toEqual([
    { repositories: [CHECKOUT], permissions: NARROW },
    { repositories: [PAYMENTS], permissions: NARROW },
  ]);
  // The writes landed: the emulator answers a wrongly scoped token with 404 or 403.
  expect(emulator.issues(CHECKOUT)).toEqual([expect.objectContaining({ body: expect.stringContaining('#incidents note') })]);
  expect(emulator.issues(PAYMENTS)).toHaveLength(1);
});

test('the audit log names which repository token each call used', () => {
  expect(audit.map((l) => `${l.method} ${l.path} ${l.status} ${l.credentialId}`)).toEqual([
    `GET /repos/${CHECKOUT}/issues 200 ${credentialId(CHECKOUT)}`,
    `POST /repos/${CHECKOUT}/issues 201 ${credentialId(CHECKOUT)}`,
    `GET /repos/${PAYMENTS}/issues 200 ${credentialId(PAYMENTS)}`,
    `POST /repos/${PAYMENTS}/issues 201 ${credentialId(PAYMENTS)}`,
    `GET /repos/${CHECKOUT}/issues/1 200 ${credentialId(CHECKOUT)}`,
    `PATCH /repos/${CHECKOUT}/issues/1 200 ${credentialId(CHECKOUT)}`,
  ]);
});

test("one repository's token reaches no other repository of the installation", async () => {
  const [checkoutToken, paymentsToken] = emulator.issuedTokens();
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const as = (token: string) =>
    new Octokit({ baseUrl: emulator.url, auth: token, userAgent: 'keyless-triage-test/1', log: silent }).rest.issues;
  expect((await as(checkoutToken!).listForRepo({ owner: 'acme', repo: 'checkout' })).status).toBe(200);
  for (const repo of ['payments', 'secrets'])
    await expect(as(checkoutToken!).listForRepo({ owner: 'acme', repo })).rejects.toMatchObject({ status: 404 });
  await expect(as(paymentsToken!).create({ owner: 'acme', repo: 'checkout', title: 'elsewhere' })).rejects.toMatchObject({ status: 404 });
});

test('no token value or key material is logged', async () => {
  const texts = [await readFile(join(dir, 'audit.jsonl'), 'utf8'), ...logs].join('\n');
  expect(logs.filter((l) => l.includes('installation token minted'))).toHaveLength(2);
  const secrets = [...emulator.issuedTokens(), ...privateKeyPem.split('\n').filter((line) => line.length >= 40)];
  expect(secrets.filter((s) => texts.includes(s))).toEqual([]);
});
