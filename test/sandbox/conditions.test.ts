import { conditionsFor } from '../../sandbox/conditions.js';
import { FaultSwitch, seededRandom } from '../../sandbox/emulators/fault.js';
import { buildScenario } from '../../sandbox/scenario.js';

const minimal = {
  name: 'conditions',
  description: 'conditions only',
  pagerduty: {
    incident: {
      id: 'Q1COND',
      incident_number: 1,
      title: 't',
      status: 'triggered',
      urgency: 'high',
      created_at: '${now-5m}',
      html_url: 'https://sandbox.pagerduty.com/incidents/Q1COND',
      service: { id: 'PSVC', summary: 'svc' },
    },
  },
};

describe('surface conditions', () => {
  test('default to none', () => {
    expect(conditionsFor('datadog', buildScenario(minimal), {})).toEqual({ latencyMs: 0, errorRate: 0, errorStatus: 503 });
  });

  test('come from the scenario, and the environment overrides them', () => {
    const scenario = buildScenario({
      ...minimal,
      conditions: { datadog: { latencyMs: 50, errorRate: 0.2, errorStatus: 429, retryAfterSeconds: 3 } },
    });
    expect(conditionsFor('datadog', scenario, {})).toEqual({ latencyMs: 50, errorRate: 0.2, errorStatus: 429, retryAfterSeconds: 3 });
    expect(conditionsFor('datadog', scenario, { SANDBOX_DATADOG_ERROR_RATE: '1', SANDBOX_DATADOG_ERROR_STATUS: '500' })).toMatchObject({
      errorRate: 1,
      errorStatus: 500,
      latencyMs: 50,
    });
    expect(conditionsFor('slack', scenario, {})).toMatchObject({ errorRate: 0 });
  });

  test.each([
    [{ SANDBOX_GITHUB_ERROR_RATE: 'lots' }, /SANDBOX_GITHUB_ERROR_RATE must be a number/],
    [{ SANDBOX_GITHUB_ERROR_RATE: '1.5' }, /github conditions are invalid.*errorRate/],
    [{ SANDBOX_GITHUB_ERROR_STATUS: '200' }, /errorStatus/],
    [{ SANDBOX_GITHUB_LATENCY_MS: '-1' }, /latencyMs/],
  ])('a bad override %j fails loudly', (env, message) => {
    expect(() => conditionsFor('github', buildScenario(minimal), env)).toThrow(message);
  });

  test('an unknown surface in the scenario is refused', () => {
    expect(() => buildScenario({ ...minimal, conditions: { moto: { errorRate: 1 } } })).toThrow(/conditions/);
  });
});

describe('FaultSwitch with conditions', () => {
  test('an error rate fails about that share of requests, the same ones every run', () => {
    const run = () => {
      const faults = new FaultSwitch({ latencyMs: 0, errorRate: 0.25, errorStatus: 503, retryAfterSeconds: 2 }, seededRandom(7));
      return Array.from({ length: 2000 }, () => faults.take());
    };
    const first = run();
    const failed = first.filter(Boolean).length;
    expect(failed).toBeGreaterThan(400);
    expect(failed).toBeLessThan(600);
    expect(first.find(Boolean)).toEqual({ status: 503, retryAfterSeconds: 2 });
    expect(run()).toEqual(first);
  });

  test('an error rate of 1 fails every request; a set fault still wins', () => {
    const faults = new FaultSwitch({ latencyMs: 0, errorRate: 1, errorStatus: 500 });
    expect(faults.take()).toEqual({ status: 500 });
    faults.set({ status: 429, retryAfterSeconds: 1, times: 1 });
    expect(faults.take()).toEqual({ status: 429, retryAfterSeconds: 1 });
    expect(faults.take()).toEqual({ status: 500 });
  });

  test('added latency delays each request', async () => {
    const faults = new FaultSwitch({ latencyMs: 60, errorRate: 0, errorStatus: 503 });
    const started = performance.now();
    await faults.delay();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});
