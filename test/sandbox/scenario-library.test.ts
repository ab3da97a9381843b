// Every shipped scenario, diagnosed without Temporal (sandbox/scenario-diagnosis.ts),
// must match its `.expected.yaml`. The full-stack run through the real
// collectors is a separate, slower test.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareWithExpected, expectedFindingsPath, loadExpectedFindings } from '../../sandbox/expected-findings.js';
import { diagnoseScenario } from '../../sandbox/scenario-diagnosis.js';
import { loadScenario } from '../../sandbox/scenario.js';

const DIR = fileURLToPath(new URL('../../sandbox/scenarios/', import.meta.url));
const NOW = Date.parse('2025-03-01T12:00:00Z');

const scenarioFiles = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
  .sort();

test('there are scenarios, and every expected file has its scenario', () => {
  expect(scenarioFiles.length).toBeGreaterThanOrEqual(5);
  const orphans = readdirSync(DIR)
    .filter((f) => f.endsWith('.expected.yaml'))
    .filter((f) => !scenarioFiles.includes(f.replace(/\.expected\.yaml$/, '.yaml')));
  expect(orphans).toEqual([]);
});

test('scenarios use distinct PagerDuty incidents and services, and all have a GitHub repo and a Slack workspace', async () => {
  const scenarios = await Promise.all(scenarioFiles.map((f) => loadScenario(join(DIR, f), { now: NOW })));
  const ids = (values: string[]) => new Set(values).size;
  expect(ids(scenarios.map((s) => s.pagerduty.incident.id))).toBe(scenarios.length);
  expect(ids(scenarios.map((s) => s.pagerduty.incident.service.id))).toBe(scenarios.length);
  expect(ids(scenarios.map((s) => s.name))).toBe(scenarios.length);
  for (const s of scenarios) {
    expect({ name: s.name, repo: typeof s.github?.repo, slack: s.slack?.channels.map((c) => c.name).includes('incidents') }).toEqual({
      name: s.name,
      repo: 'string',
      slack: true,
    });
  }
});

describe.each(scenarioFiles)('%s', (file) => {
  const path = join(DIR, file);

  test('is named after its file and has an expected-findings file', async () => {
    const scenario = await loadScenario(path, { now: NOW });
    expect(`${scenario.name}.yaml`).toBe(file);
    expect(existsSync(expectedFindingsPath(path))).toBe(true);
  });

  test('diagnoses as its expected-findings file says', async () => {
    const scenario = await loadScenario(path, { now: NOW });
    const expected = await loadExpectedFindings(expectedFindingsPath(path));
    const { findings, headline, surfaces } = await diagnoseScenario(scenario, NOW);
    const problems = compareWithExpected(
      { headline, findings, surfaces: surfaces.map((surface) => ({ surface, status: 'ok' as const })) },
      expected,
    );
    // On a mismatch, show what the analyzers did say.
    expect({
      problems,
      findings: problems.length > 0 ? [headline, ...findings.map((f) => `[${f.severity}] ${f.analyzer}: ${f.title}`)] : [],
    }).toEqual({
      problems: [],
      findings: [],
    });
  });
});
