// Every shipped scenario through the real stack (Temporal dev server, the
// emulators, moto behind the emulated Pod Identity Agent, the broker, the
// worker and the gateway, each its own process), checked against its
// `.expected.yaml`. Then the same stack with Datadog answering 500, and with
// CloudWatch throttling, on every request: the triage must still reach a
// decision and write its issue.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { compareWithExpected, expectedFindingsPath, loadExpectedFindings } from '../../sandbox/expected-findings.js';
import { loadScenario } from '../../sandbox/scenario.js';
import { startStack, type RunningStack } from '../../sandbox/stack.js';
import { incidentEnvelope, postSignedWebhook } from '../../sandbox/webhook.js';
import { decide } from '../../starter/triage-client.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { waitForStatus } from '../wait-for-status.js';

const SCENARIO_DIR = join(PROJECT_ROOT, 'sandbox/scenarios');
const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
  .sort()
  .map((f) => join(SCENARIO_DIR, f));

const STAGES_AFTER_DIAGNOSIS = new Set([
  'awaiting-decision',
  'escalated',
  'approved',
  'rejected',
  'expired',
  'resolved-before-decision',
  'failed',
]);

interface Running {
  stack: RunningStack;
  client: Client;
  incidentId: string;
}

/** Starts a stack on `scenario`, pages it, and runs `fn` with the stack and a client. */
async function withTriage<T>(scenarioPath: string, environment: Record<string, string>, fn: (r: Running) => Promise<T>): Promise<T> {
  const stack = await startStack({
    dir: mkdtempSync(join(tmpdir(), `triage-scenario-${basename(scenarioPath, '.yaml')}-`)),
    scenario: scenarioPath,
    retry: { maximumAttempts: 3, initialInterval: '200ms', maximumInterval: '1s' },
    environment,
  });
  const connection = await Connection.connect({ address: stack.info.temporalAddress });
  try {
    const client = new Client({ connection, namespace: stack.info.temporalNamespace });
    const scenario = await loadScenario(scenarioPath);
    const secret = readFileSync(stack.info.pagerdutyWebhookSecretFile, 'utf8');
    const res = await postSignedWebhook(stack.info.gatewayUrl, incidentEnvelope(scenario, 'incident.triggered'), secret);
    expect(res.status).toBe(202);
    return await fn({ stack, client, incidentId: scenario.pagerduty.incident.id });
  } finally {
    await connection.close();
    await stack.stop();
  }
}

test('the library ships the scenarios the docs promise', () => {
  expect(scenarios.map((s) => basename(s, '.yaml'))).toEqual(
    expect.arrayContaining([
      'crashloop-after-rollout',
      'dependency-latency',
      'evicted-memory-pressure',
      'imagepullbackoff-bad-tag',
      'oom-after-limit-change',
      'unschedulable-cpu',
      'statefulset-rollout',
    ]),
  );
});

describe.each(scenarios.map((path) => [basename(path, '.yaml'), path]))('scenario %s through the full stack', (_name, path) => {
  test('yields its expected findings', async () => {
    const expected = await loadExpectedFindings(expectedFindingsPath(path));
    await withTriage(path, {}, async ({ client, incidentId }) => {
      const status = await waitForStatus(client, incidentId, (s) => STAGES_AFTER_DIAGNOSIS.has(s.stage), 60_000);
      expect(status.stage).toBe('awaiting-decision');
      const problems = compareWithExpected(
        { headline: status.headline ?? '', findings: status.findings, surfaces: status.surfaces },
        expected,
      );
      expect(problems).toEqual([]);
    });
  });
});

const OUTAGES = [
  { surface: 'datadog', environment: { SANDBOX_DATADOG_ERROR_RATE: '1', SANDBOX_DATADOG_ERROR_STATUS: '500' }, reason: /500/ },
  // Throttled on every call, retries included: what a CloudWatch account at its GetMetricData quota looks like.
  {
    surface: 'cloudwatch',
    environment: { SANDBOX_CLOUDWATCH_ERROR_RATE: '1', SANDBOX_CLOUDWATCH_ERROR_STATUS: '429' },
    reason: /Throttling|429/,
  },
] as const;

test.each(OUTAGES)(
  'with $surface failing every request, the triage completes with it unavailable and the other findings intact',
  async ({ surface, environment, reason }) => {
    const path = join(SCENARIO_DIR, 'crashloop-after-rollout.yaml');
    const expected = await loadExpectedFindings(expectedFindingsPath(path));
    await withTriage(path, environment, async ({ stack, client, incidentId }) => {
      const status = await waitForStatus(client, incidentId, (s) => STAGES_AFTER_DIAGNOSIS.has(s.stage), 60_000);
      expect(status.stage).toBe('awaiting-decision');
      expect(status.surfaces.find((s) => s.surface === surface)).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(reason),
      });
      // Nothing from the failed surface: neither its own analyzers' findings nor metric shifts read from it.
      expect(status.findings.filter((f) => f.surface === surface || f.analyzer.startsWith(`${surface}.`))).toEqual([]);
      const without = {
        ...expected,
        findings: expected.findings.filter((f) => f.surface !== surface && !f.analyzer.startsWith(`${surface}.`)),
        surfaces: { ...expected.surfaces, [surface]: 'unavailable' as const },
      };
      expect(
        compareWithExpected({ headline: status.headline ?? '', findings: status.findings, surfaces: status.surfaces }, without),
      ).toEqual([]);

      await decide(
        client,
        incidentId,
        { channel: 'slack', decision: 'approve', approver: stack.info.approvers[0]!, planHash: status.planHash! },
        `e2e-${incidentId}`,
      );
      const done = await waitForStatus(client, incidentId, (s) => s.githubIssue !== undefined || s.stage === 'failed', 60_000);
      expect(done.githubIssue?.url).toMatch(/\/issues\/1$/);
      const issues = (await (await fetch(`${stack.info.githubUrl}/_sandbox/issues`)).json()) as { issues: { issue: { body: string } }[] };
      expect(issues.issues[0]?.issue.body).toMatch(new RegExp(`\\*\\*${surface}\\*\\*: unavailable: .*(${reason.source})`));
    });
  },
);
