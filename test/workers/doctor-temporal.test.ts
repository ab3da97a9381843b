// `temporal.search-attributes` against a real dev server started bare, as a
// new self-hosted namespace is: the doctor fails naming the fix, the worker's
// own registration (the production path) makes it pass, and an unreachable
// server is a failure that says where it looked.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseConfig, type TriageConfig } from '../../config/config.js';
import { ensureSearchAttributes } from '../../config/temporal-search-attributes.js';
import { runChecks, CHECKS, type CheckResult } from '../../workers/doctor/doctor.js';
import { connectTemporalOperator } from '../../workers/doctor/temporal-checks.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';
import { findTemporalCli } from '../../sandbox/venv-tools.js';

const NAMES = triageSearchAttributes.map((k) => k.name);
const check = CHECKS.filter((c) => c.id === 'temporal.search-attributes');

let env: TestWorkflowEnvironment;

function configFor(address: string, registerSearchAttributes?: boolean): TriageConfig {
  return parseConfig({
    temporal: {
      address,
      namespace: 'default',
      taskQueue: 'keyless-triage',
      ...(registerSearchAttributes === undefined ? {} : { registerSearchAttributes }),
    },
    broker: { url: 'http://127.0.0.1:1' },
    kubernetes: { cluster: 'sandbox' },
    services: { PCHKOUT: { name: 'checkout', approvers: ['U0ALICE'] } },
  });
}

async function run(config: TriageConfig): Promise<CheckResult> {
  const [result] = await runChecks({ config }, check);
  return result!;
}

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: findTemporalCli() } } });
});

afterAll(async () => {
  await env?.teardown();
});

test('a bare namespace fails, naming each missing attribute and the command that adds it', async () => {
  const result = await run(configFor(env.address));
  expect(result.status).toBe('fail');
  expect(result.detail).toContain(`namespace default lacks ${NAMES.join(', ')}`);
  expect(result.detail).toContain('the worker registers them at start when its identity may');
  expect(result.detail).toContain(`temporal operator search-attribute create --namespace default --name ${NAMES[0]} --type Keyword`);
  expect(result.detail).toContain('tcld namespace search-attributes add');

  const off = await run(configFor(env.address, false));
  expect(off.detail).toContain('temporal.registerSearchAttributes is false');
});

test('after the worker registers them through the OperatorService, it passes', async () => {
  const operator = await connectTemporalOperator(configFor(env.address));
  try {
    expect(await ensureSearchAttributes(operator, 'default', NAMES, { register: true })).toEqual(NAMES);
  } finally {
    await operator.close();
  }
  const result = await run(configFor(env.address));
  expect(result).toMatchObject({ status: 'pass', detail: `namespace default has ${NAMES.length} Keyword attributes: ${NAMES.join(', ')}` });
});

test('an unreachable server fails and says where it looked', async () => {
  const result = await run(configFor('127.0.0.1:1'));
  expect(result.status).toBe('fail');
  expect(result.detail).toMatch(/^Temporal at 127\.0\.0\.1:1 not reachable/);
});
