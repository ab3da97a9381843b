// The eval set is data `make eval` scores the diagnosis on; these checks keep
// it honest: every case loads, is named after its file, says where it came
// from, and has an expected-findings file with a failure mode.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';
import { expectedFindingsPath, loadExpectedFindings } from '../sandbox/expected-findings.js';
import { loadScenario } from '../sandbox/scenario.js';

const DIR = join(PROJECT_ROOT, 'eval', 'cases');
const files = readdirSync(DIR).sort();
const cases = files.filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'));

test('there are cases, every expected file has its case, and the license travels with them', () => {
  expect(cases.length).toBeGreaterThan(0);
  const orphans = files.filter((f) => f.endsWith('.expected.yaml') && !cases.includes(f.replace(/\.expected\.yaml$/, '.yaml')));
  expect(orphans).toEqual([]);
  expect(readFileSync(join(PROJECT_ROOT, 'eval', 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
});

test.each(cases)('%s loads, names its source and has a failure mode', async (file) => {
  const path = join(DIR, file);
  const scenario = await loadScenario(path, { now: Date.parse('2025-03-01T12:00:00Z') });
  expect(`${scenario.name}.yaml`).toBe(file);
  expect(readFileSync(path, 'utf8')).toMatch(/HolmesGPT/);
  const expected = await loadExpectedFindings(expectedFindingsPath(path));
  expect(expected.failureMode).toMatch(/^[a-z0-9-]+$/);
  // The expectation quotes the source case's expected_output, so a reader can judge the pattern.
  expect(readFileSync(expectedFindingsPath(path), 'utf8')).toMatch(/expected_output/);
});
