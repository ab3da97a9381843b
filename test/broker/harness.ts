// A whole broker world for a test: fresh secrets generated at run time, fake
// upstreams, a config pointing at them, a broker with a captured log, and a
// client that keeps every response body so tests can scan them for secrets.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApprovalSource, TriageApproval } from '../../broker/approval.js';
import type { AuditRecord } from '../../broker/audit.js';
import { plannedNote } from '../../activities/slack-card.js';
import { incident } from '../activities/analyzers/fixtures.js';
import { issueBodyWithApproval } from '../../config/approval-text.js';
import { fillNote, noteValues } from '../../config/incident-note.js';
import { BACK_LINK_TEMPLATE, hashPlan, type WritePlan } from '../../config/write-plan.js';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../broker/broker.js';
import { parseBrokerConfig, type BrokerConfig } from '../../broker/config.js';
import type { Logger } from '../../config/logger.js';
import {
  startEchoFake,
  startGitHubFake,
  startPagerDutyFake,
  type FakeUpstream,
  type GitHubFake,
  type PagerDutyFake,
} from './fake-upstreams.js';

export const APP_ID = '123456';
export const INSTALLATION_ID = 7890;
export const REPO = 'acme/checkout';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

export interface CallOptions {
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** A plain node:http client: it sends any header and any path verbatim (no normalisation), as an attacker could. */
export function call(baseUrl: string, method: string, path: string, options: CallOptions = {}, sink?: string[]): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        sink?.push(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function keyPairPem(): { privateKeyPem: string; publicKeyPem: string } {
  // PKCS#1, the format GitHub hands out for App keys.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface WorldOptions {
  /** The GitHub allowlist; default [REPO]. */
  repos?: string[];
  upstreamTimeout?: string;
  /** Extra top-level config keys / overrides, merged over the generated document. */
  configOverrides?: Record<string, unknown>;
  broker?: StartBrokerOptions;
  /** Do not start the broker (tests that call startBroker themselves). */
  noBroker?: boolean;
}

export interface World {
  dir: string;
  secrets: {
    githubPrivateKeyPem: string;
    pagerdutyClientId: string;
    pagerdutyClientSecret: string;
    datadogApiKey: string;
    datadogAppKey: string;
    slackBotToken: string;
  };
  files: Record<'githubKey' | 'pdClientId' | 'pdClientSecret' | 'ddApiKey' | 'ddAppKey' | 'slackToken', string>;
  github: GitHubFake;
  pagerduty: PagerDutyFake;
  datadog: FakeUpstream;
  slack: FakeUpstream;
  config: BrokerConfig;
  configDoc: Record<string, unknown>;
  auditPath: string;
  broker: RunningBroker;
  logs: string[];
  logger: Logger;
  responses: string[];
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Audit records written so far; waits until at least `count` are on disk. */
  audit(count?: number): Promise<AuditRecord[]>;
  /** Every secret value the world generated or the fakes issued. */
  allSecrets(): string[];
  /** Every text a secret must never appear in: audit file, log lines, response bodies. */
  observableTexts(): Promise<string[]>;
  close(): Promise<void>;
}

export function randomSecret(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('hex')}`;
}

export function capturingLogger(lines: string[]): Logger {
  const emit =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push(JSON.stringify({ level, msg, ...fields }));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-test-'));
  const keys = keyPairPem();
  const secrets = {
    githubPrivateKeyPem: keys.privateKeyPem,
    pagerdutyClientId: randomSecret('pdcid-'),
    pagerdutyClientSecret: randomSecret('pdsecret-'),
    datadogApiKey: randomBytes(16).toString('hex'),
    datadogAppKey: randomBytes(20).toString('hex'),
    slackBotToken: randomSecret('xoxb-'),
  };
  const files = {
    githubKey: join(dir, 'github-app.pem'),
    pdClientId: join(dir, 'pagerduty-client-id'),
    pdClientSecret: join(dir, 'pagerduty-client-secret'),
    ddApiKey: join(dir, 'datadog-api-key'),
    ddAppKey: join(dir, 'datadog-app-key'),
    slackToken: join(dir, 'slack-bot-token'),
  };
  await writeFile(files.githubKey, secrets.githubPrivateKeyPem, { mode: 0o600 });
  // Trailing newlines, as `kubectl create secret --from-file` often leaves them: the broker trims.
  await writeFile(files.pdClientId, `${secrets.pagerdutyClientId}\n`);
  await writeFile(files.pdClientSecret, `${secrets.pagerdutyClientSecret}\n`);
  await writeFile(files.ddApiKey, `${secrets.datadogApiKey}\n`);
  await writeFile(files.ddAppKey, secrets.datadogAppKey);
  await writeFile(files.slackToken, `${secrets.slackBotToken}\n`);

  const github = await startGitHubFake({ publicKeyPem: keys.publicKeyPem, appId: APP_ID, installationId: INSTALLATION_ID });
  const pagerduty = await startPagerDutyFake({
    clientId: () => world.secrets.pagerdutyClientId,
    clientSecret: () => world.secrets.pagerdutyClientSecret,
  });
  const datadog = await startEchoFake();
  const slack = await startEchoFake();

  const auditPath = join(dir, 'audit', 'broker-audit.jsonl');
  const configDoc: Record<string, unknown> = {
    listen: { host: '127.0.0.1', port: 0 },
    auditLog: 'audit/broker-audit.jsonl',
    upstreamTimeout: options.upstreamTimeout ?? '5s',
    shutdownGrace: '2s',
    providers: {
      github: {
        upstream: github.url,
        appId: APP_ID,
        installationId: INSTALLATION_ID,
        privateKeyFile: 'github-app.pem',
        repos: options.repos ?? [REPO],
      },
      pagerduty: {
        upstream: pagerduty.url,
        tokenUrl: `${pagerduty.url}/oauth/token`,
        clientIdFile: 'pagerduty-client-id',
        clientSecretFile: 'pagerduty-client-secret',
        account: 'as_account-us.acme',
      },
      datadog: { upstream: datadog.url, apiKeyFile: 'datadog-api-key', appKeyFile: 'datadog-app-key' },
      slack: { upstream: slack.url, botTokenFile: 'slack-bot-token' },
    },
    ...options.configOverrides,
  };
  const config = parseBrokerConfig(configDoc, dir);
  const logs: string[] = [];
  const logger = capturingLogger(logs);
  const responses: string[] = [];

  const world: World = {
    dir,
    secrets,
    files,
    github,
    pagerduty,
    datadog,
    slack,
    config,
    configDoc,
    auditPath,
    broker: undefined as unknown as RunningBroker,
    logs,
    logger,
    responses,
    call: (method, path, callOptions) => call(world.broker.url, method, path, callOptions, responses),
    audit: (count = 0) => readAudit(auditPath, count),
    allSecrets: () => [
      ...Object.values(world.secrets).flatMap((s) => (s.includes('PRIVATE KEY') ? pemBodyLines(s) : [s])),
      ...github.issued.map((t) => t.token),
      ...pagerduty.tokens,
    ],
    observableTexts: async () => [await readFile(auditPath, 'utf8').catch(() => ''), ...logs, ...responses],
    close: async () => {
      await world.broker?.close();
      await Promise.all([github.close(), pagerduty.close(), datadog.close(), slack.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (!options.noBroker) {
    world.broker = await startBroker(config, { log: logger, credentialRetryMs: 0, approvals: approvedTriage(), ...options.broker });
  }
  return world;
}

/** The base64 lines of a PEM key: any one of them appearing anywhere is a leak. */
function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));
}

export async function readAudit(path: string, count = 0, timeoutMs = 2000): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    // A line still being appended has no newline yet: leave it for the next read.
    const lines = text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean);
    if (lines.length >= count || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as AuditRecord);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function expectNoSecrets(world: World): Promise<void> {
  const texts = await world.observableTexts();
  const secrets = world.allSecrets();
  expect(secrets.length).toBeGreaterThan(6);
  const leaks: string[] = [];
  for (const secret of secrets) {
    for (const text of texts) if (text.includes(secret)) leaks.push(`${secret.slice(0, 6)}… in ${text.slice(0, 120)}`);
  }
  expect(leaks).toEqual([]);
}

// ---- an approved plan, for the tests of the proxy's mechanics ---------------
//
// The approval check itself is tested against a real Temporal server
// (approval.test.ts) and case by case (approval-check.test.ts); the mechanics
// tests stand a fixed answer in for Temporal's, and send that plan's writes.

export const APPROVED_PLAN: WritePlan = {
  github: {
    repo: REPO,
    title: 'Checkout pods crash-looping',
    body: 'approved text',
    labels: ['triage'],
    idempotencyKey: 'k',
    backLink: BACK_LINK_TEMPLATE,
  },
  slack: {
    note: plannedNote({
      channel: 'incidents',
      incident: incident(),
      headline: 'Checkout pods crash-looping',
      findings: [],
      webUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/triage-QAPPROVED',
      issueTitle: 'Checkout pods crash-looping',
    }),
  },
};

/** The issue the workflow recorded once created. */
export const APPROVED_ISSUE = { repo: REPO, number: 17, url: `https://github.com/${REPO}/issues/17` };

/** The decision as the workflow records it: who, through which channel, when, from which Temporal client. */
export const APPROVED_DECISION = {
  decision: 'approve',
  planHash: hashPlan(APPROVED_PLAN),
  approver: 'U0ALICE',
  at: '2026-12-07T10:00:00.000Z',
  channel: 'slack',
  identity: 'keyless-triage-gateway@gw-7d9f',
} as const;

/** The triage's approval state as Temporal would answer it: the plan approved, issue 17 created, the card posted. */
export const APPROVED_STATE: TriageApproval = {
  planHash: hashPlan(APPROVED_PLAN),
  plan: APPROVED_PLAN,
  decision: APPROVED_DECISION,
  githubIssue: APPROVED_ISSUE,
  slackCard: { channelId: 'C0APPROVAL', ts: '1.1' },
};

/** An approval source answering APPROVED_STATE, with `overrides`. */
export function approvedTriage(overrides: Partial<TriageApproval> = {}): ApprovalSource {
  const approval: TriageApproval = { ...APPROVED_STATE, ...overrides };
  return { lookup: () => Promise.resolve(approval), close: () => Promise.resolve() };
}

const CREATED_BODY = issueBodyWithApproval(APPROVED_PLAN.github.body, APPROVED_DECISION);

const NOTE = fillNote(APPROVED_PLAN.slack.note!, noteValues(APPROVED_DECISION, APPROVED_ISSUE), APPROVED_PLAN.github);

/** The approved writes, as the activities send them: the issue create, its back-link edit, and the #incidents note (a form). */
export const APPROVED_WRITES = {
  create: JSON.stringify({ title: APPROVED_PLAN.github.title, body: CREATED_BODY, labels: APPROVED_PLAN.github.labels }),
  edit: JSON.stringify({ body: `${CREATED_BODY}\n**Slack:** [the #incidents note](https://acme.slack.com/archives/C0INCIDENTS/p1)\n` }),
  note: new URLSearchParams({
    channel: NOTE.channel,
    text: NOTE.text,
    blocks: JSON.stringify(NOTE.blocks),
    link_names: 'false',
    unfurl_links: 'false',
    unfurl_media: 'false',
  }).toString(),
};
