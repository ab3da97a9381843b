// The broker's policy is exactly as wide as the code: every route (and every
// query parameter) it allows is one a production activity sends, and nothing
// the activities send falls outside it. A real broker with every provider
// stands in front of the sandbox emulators; the activities the worker
// registers (workers/worker.ts) run each read and write path once, as a triage
// does; then the broker's own audit log is mapped back to the policy's rules.
// A route nobody calls, or a call the policy refuses, fails here by name.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceRequest, SurfaceResult } from '../../activities/model.js';
import type { CardContext } from '../../activities/slack-card.js';
import type { TriageApproval } from '../../broker/approval.js';
import type { AuditRecord } from '../../broker/audit.js';
import { startBroker, type RunningBroker } from '../../broker/broker.js';
import { parseBrokerConfig, type BrokerConfig } from '../../broker/config.js';
import { buildPolicy, decide, describePolicy, type Policy } from '../../broker/policy.js';
import { parseConfig } from '../../config/config.js';
import { silentLogger } from '../../config/logger.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { startDatadogEmulator } from '../../sandbox/emulators/datadog.js';
import { startGitHubEmulator } from '../../sandbox/emulators/github.js';
import { emulatorKubeConfig } from '../../sandbox/emulators/kubernetes.js';
import { startPagerDutyEmulator } from '../../sandbox/emulators/pagerduty.js';
import { startSlackEmulator } from '../../sandbox/emulators/slack.js';
import { loadScenario, type Scenario } from '../../sandbox/scenario.js';
import { activitiesFrom } from '../../workers/worker.js';
import { startTap, type FakeUpstream } from './fake-upstreams.js';
import { readAudit } from './harness.js';

const REPO = 'acme/checkout';
const APPROVAL_CHANNEL = 'checkout-oncall';
const INCIDENTS_CHANNEL = 'incidents';
const APPROVER = 'U0ALICE';
const TRIAGE_ID = 'triage-route-coverage';

type Activities = ReturnType<typeof activitiesFrom>;

interface Stack {
  /** What the workflow's `approval` query would answer; runEveryPath moves it along as the workflow would. */
  approval: TriageApproval;
  scenario: Scenario;
  brokerConfig: BrokerConfig;
  broker: RunningBroker;
  /** Between the activities and the broker: what they sent, query included. */
  tap: FakeUpstream;
  activities: Activities;
  auditLog: string;
  github: Awaited<ReturnType<typeof startGitHubEmulator>>;
  slack: Awaited<ReturnType<typeof startSlackEmulator>>;
  close(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const scenario = await loadScenario(join(PROJECT_ROOT, 'sandbox/scenarios/crashloop-after-rollout.yaml'));
  if (!scenario.datadog) throw new Error('the scenario has no Datadog section');
  const dir = await mkdtemp(join(tmpdir(), 'route-coverage-'));
  const secret = async (name: string, value = randomBytes(24).toString('hex')) => {
    await writeFile(join(dir, name), value, { mode: 0o600 });
    return value;
  };
  const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await secret('github-app.pem', appKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const pd = { clientId: await secret('pd-client-id'), clientSecret: await secret('pd-client-secret') };
  const dd = { apiKey: await secret('dd-api-key'), appKey: await secret('dd-app-key') };
  const botToken = await secret('slack-bot-token', `xoxb-${randomBytes(24).toString('hex')}`);

  const pagerduty = await startPagerDutyEmulator({ scenario, oauth: pd });
  const datadog = await startDatadogEmulator({ datadog: scenario.datadog, ...dd });
  const github = await startGitHubEmulator({
    appId: '1001',
    installationId: 77,
    appPublicKeyPem: appKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    repos: [REPO],
  });
  const slack = await startSlackEmulator({
    botToken,
    signingSecret: randomBytes(16).toString('hex'),
    channels: [{ name: APPROVAL_CHANNEL }, { name: INCIDENTS_CHANNEL }],
    users: [{ id: APPROVER, name: 'alice' }],
  });

  const auditLog = join(dir, 'broker-audit.jsonl');
  // Every provider, each as wide as its config can make it.
  const brokerConfig = parseBrokerConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      auditLog,
      providers: {
        github: { upstream: github.url, appId: '1001', installationId: 77, privateKeyFile: 'github-app.pem', repos: [REPO] },
        pagerduty: {
          upstream: pagerduty.url,
          tokenUrl: `${pagerduty.url}/oauth/token`,
          clientIdFile: 'pd-client-id',
          clientSecretFile: 'pd-client-secret',
          account: 'as_account-us.sandbox',
        },
        datadog: { upstream: datadog.url, apiKeyFile: 'dd-api-key', appKeyFile: 'dd-app-key' },
        slack: { upstream: slack.url, botTokenFile: 'slack-bot-token' },
      },
    },
    dir,
  );
  // The approval check itself is tested against Temporal in approval.test.ts; here it sees the state the workflow would serve.
  const approval: TriageApproval = {};
  const broker = await startBroker(brokerConfig, {
    log: silentLogger,
    approvals: { lookup: (id) => Promise.resolve(id === TRIAGE_ID ? approval : undefined), close: () => Promise.resolve() },
  });
  const tap = await startTap(broker.url);

  const { queries, monitorTags, logQuery } = scenario.datadog;
  const config = parseConfig({
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'route-coverage', uiUrl: 'http://127.0.0.1:8233' },
    broker: { url: tap.url },
    kubernetes: { cluster: 'sandbox' },
    approval: { reminderAfter: '10m', expireAfter: '30m' },
    services: {
      [scenario.pagerduty.incident.service.id]: {
        name: scenario.pagerduty.incident.service.summary,
        datadog: {
          queries: queries.map(({ label, query, dependency }) => ({ label, query, ...(dependency ? { dependency } : {}) })),
          monitorTags,
          ...(logQuery ? { logQuery } : {}),
        },
        approvers: [APPROVER],
        github: { repo: REPO },
        slack: { approvalChannel: APPROVAL_CHANNEL, incidentsChannel: INCIDENTS_CHANNEL },
      },
    },
  });
  // No Kubernetes surface is configured: the client is never used.
  const activities = activitiesFrom(config, emulatorKubeConfig('http://127.0.0.1:9', 'unused'));

  return {
    approval,
    scenario,
    brokerConfig,
    broker,
    tap,
    activities,
    auditLog,
    github,
    slack,
    close: async () => {
      await tap.close();
      await broker.close();
      await Promise.all([pagerduty.close(), datadog.close(), github.close(), slack.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One triage's calls through the broker, in the workflow's order: every read, then every write after approval. */
async function runEveryPath(stack: Stack): Promise<void> {
  const { activities: a, scenario } = stack;
  const incident = await a.fetchIncident(scenario.pagerduty.incident.id, TRIAGE_ID);
  const scope = await a.resolveScope(incident.serviceId);
  expect(scope.surfaces).toEqual(['pagerduty', 'datadog']);
  const request: EvidenceRequest = { triageId: TRIAGE_ID, incident, scope };
  const surfaces: SurfaceResult[] = [
    { surface: 'pagerduty', status: 'ok', evidence: await a.collectPagerDutyEvidence(request) },
    { surface: 'datadog', status: 'ok', evidence: await a.collectDatadogEvidence(request) },
  ];
  const diagnosis = await a.diagnose({
    incident,
    scope,
    surfaces,
    workflowId: TRIAGE_ID,
    temporalUiUrl: scope.temporalUiUrl,
    namespace: scope.namespace,
  });
  const card: CardContext = {
    incident,
    headline: diagnosis.headline,
    findings: diagnosis.findings,
    surfaces: diagnosis.surfaces,
    planHash: diagnosis.planHash,
    workflowId: TRIAGE_ID,
    webUiUrl: `${scope.temporalUiUrl}/namespaces/default/workflows/${TRIAGE_ID}`,
    approvers: scope.approvers,
    expiresAt: new Date(Date.now() + scope.approval.expireAfterMs).toISOString(),
    githubRepo: REPO,
  };
  Object.assign(stack.approval, { planHash: diagnosis.planHash, plan: diagnosis.plan });
  const posted = await a.postApprovalCard({ triageId: TRIAGE_ID, channel: scope.slack!.approvalChannel, card });
  stack.approval.slackCard = posted;
  await a.postApprovalReminder({ triageId: TRIAGE_ID, message: posted, card });

  const decision = { decision: 'approve' as const, approver: APPROVER, at: new Date().toISOString() };
  const { repo, title, body, labels, idempotencyKey } = diagnosis.plan.github;
  stack.approval.decision = { ...decision, planHash: diagnosis.planHash };
  const issue = await a.createGitHubIssue({ triageId: TRIAGE_ID, repo: repo!, title, body, labels, idempotencyKey, approval: decision });
  expect(issue.created).toBe(true);
  stack.approval.githubIssue = { repo: issue.repo, number: issue.number, url: issue.url };
  const note = await a.postIncidentNote({ triageId: TRIAGE_ID, note: diagnosis.plan.slack.note, decision, issue });
  expect(note.permalink).toEqual(expect.any(String));
  await a.linkIssueToNote({ triageId: TRIAGE_ID, repo: issue.repo, number: issue.number, noteUrl: note.permalink! });
  await a.closeApprovalCard({
    triageId: TRIAGE_ID,
    message: posted,
    card,
    outcome: { kind: 'decided', decision, issue: { url: issue.url, number: issue.number } },
  });
  // The writes landed where a person would look for them.
  expect(stack.github.issues(REPO)).toEqual([
    expect.objectContaining({ number: issue.number, body: expect.stringContaining(note.permalink!) }),
  ]);
}

const routeName = (provider: string, method: string, path: string) => `${provider} ${method} ${path}`;

/** The rule an allowed request matched, by name, with the query parameter names it sent; or why the policy refused it. */
function ruleOf(policy: Policy, method: string, target: string): { route: string; params: string[] } | { refused: string } {
  const d = decide(policy, method, target);
  if (!d.allowed) return { refused: `${method} ${target.split('?')[0]} (${d.reason})` };
  return { route: routeName(d.provider, d.rule.method, d.rule.path), params: [...new URLSearchParams(d.query).keys()] };
}

let stack: Stack;
let audit: AuditRecord[];
/** Why the triage's calls stopped early; the tests below still name the route that caused it. */
let pathFailure: unknown;

beforeAll(async () => {
  stack = await startStack();
  try {
    await runEveryPath(stack);
  } catch (err) {
    pathFailure = err;
  }
  audit = await readAudit(stack.auditLog, stack.tap.requests.length);
});
afterAll(() => stack?.close());

test('every request the activities sent reached an upstream through the broker, and was audited as allowed', () => {
  expect(pathFailure).toBeUndefined();
  expect(stack.tap.requests.length).toBeGreaterThan(0);
  expect(audit).toHaveLength(stack.tap.requests.length);
  const failed = audit.filter((l) => l.decision !== 'allowed' || l.upstreamStatus === undefined || l.upstreamStatus >= 400);
  expect(failed.map((l) => `${l.method} /${l.provider}${l.path} → ${l.status} ${l.reason ?? ''}`)).toEqual([]);
  expect(new Set(audit.map((l) => l.triageId))).toEqual(new Set([TRIAGE_ID]));
});

test('the routes the activities used are exactly the routes the policy allows', () => {
  const policy = buildPolicy(stack.brokerConfig);
  const allowed = new Set(describePolicy(policy).map((l) => routeName(l.provider, l.method, l.path)));
  const used = new Set<string>();
  const outsidePolicy: string[] = [];
  for (const line of audit) {
    const r = ruleOf(policy, line.method, `/${line.provider}${line.path}`);
    if ('refused' in r) outsidePolicy.push(r.refused);
    else used.add(r.route);
  }
  // A route here is a credential capability no activity exercises: remove it from broker/policy.ts, or add the activity call that needs it.
  const unexercised = [...allowed].filter((route) => !used.has(route));
  expect({ unexercised, outsidePolicy }).toEqual({ unexercised: [], outsidePolicy: [] });
});

test("each route's query parameters are exactly the ones the activities send", () => {
  const policy = buildPolicy(stack.brokerConfig);
  const sent = new Map<string, Set<string>>();
  for (const { method, url } of stack.tap.requests) {
    const r = ruleOf(policy, method, url);
    if ('refused' in r) continue; // named by the route test
    const names = sent.get(r.route) ?? new Set<string>();
    for (const name of r.params) names.add(name);
    sent.set(r.route, names);
  }
  const unsent = describePolicy(policy).flatMap((l) => {
    const names = sent.get(routeName(l.provider, l.method, l.path));
    return l.query.filter((q) => !names?.has(q)).map((q) => `${routeName(l.provider, l.method, l.path)} ?${q}`);
  });
  expect(unsent).toEqual([]);
});
