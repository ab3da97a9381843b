// `make eval`: every eval case (eval/cases/) and every shipped scenario
// (sandbox/scenarios/) diagnosed on the fast path, no Temporal, and scored on
// its headline. A benchmark, not a test: it prints the table and the figures,
// writes them as JSON, and exits 0 whatever the score.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { PROJECT_ROOT, SANDBOX_DIR } from '../config/paths.js';
import type { Finding } from '../activities/model.js';
import { expectedFindingsPath, loadExpectedFindings, type ExpectedFindings } from './expected-findings.js';
import { loadScenario } from './scenario.js';
import { diagnoseScenario } from './scenario-diagnosis.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const EVAL_DIR = join(PROJECT_ROOT, 'eval', 'cases');
const SCENARIO_DIR = join(PROJECT_ROOT, 'sandbox', 'scenarios');
const RESULTS_FILE = join(SANDBOX_DIR, 'eval-results.json');
const GOALS = { correctShare: 0.9, diagnoseMsPerCase: 50 };

type Verdict = 'correct' | 'partial' | 'wrong' | 'error';

interface CaseResult {
  case: string;
  set: 'eval' | 'scenario';
  failureMode: string;
  expected: string;
  headline: string;
  verdict: Verdict;
  /** A healthy case that produced a critical finding: a false page for whoever reads it. */
  falseCritical: boolean;
  collectMs: number;
  diagnoseMs: number;
}

function caseFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expected.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Correct: the headline says what the case expects. Partial: a finding that
 * says it is there, but another ranks first. Healthy cases must also raise
 * nothing critical.
 */
function verdictOf(expected: ExpectedFindings, headline: string, findings: readonly Finding[]): Verdict {
  const healthy = expected.failureMode === 'healthy';
  if (expected.headline.test(headline) && !(healthy && findings.some((f) => f.severity === 'critical'))) return 'correct';
  if (!healthy && findings.slice(1).some((f) => expected.headline.test(f.title))) return 'partial';
  return 'wrong';
}

/** The failure mode a shipped scenario stands for when its file names none: its top expected analyzer. */
function failureModeOf(expected: ExpectedFindings): string {
  return expected.failureMode ?? expected.findings[0]?.analyzer.replace(/^[a-z]+\./, '') ?? 'unknown';
}

async function runCase(path: string, set: CaseResult['set']): Promise<CaseResult> {
  const scenario = await loadScenario(path, { now: NOW });
  const expected = await loadExpectedFindings(expectedFindingsPath(path));
  const { headline, findings, collectMs, diagnoseMs } = await diagnoseScenario(scenario, NOW);
  return {
    case: basename(path, '.yaml'),
    set,
    failureMode: failureModeOf(expected),
    expected: expected.headline.source,
    headline,
    verdict: verdictOf(expected, headline, findings),
    falseCritical: expected.failureMode === 'healthy' && findings.some((f) => f.severity === 'critical'),
    collectMs,
    diagnoseMs,
  };
}

const cut = (text: string, width: number): string => (text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}…`);
const ms = (n: number): string => `${n.toFixed(1)} ms`;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function printTable(results: readonly CaseResult[]): void {
  console.log(`${cut('CASE', 40)} ${cut('MODE', 24)} ${cut('VERDICT', 8)} ${cut('HEADLINE', 70)} EXPECTED`);
  for (const r of results) {
    console.log(`${cut(r.case, 40)} ${cut(r.failureMode, 24)} ${cut(r.verdict, 8)} ${cut(r.headline, 70)} /${r.expected}/`);
  }
}

function summarise(results: readonly CaseResult[]) {
  const evalCases = results.filter((r) => r.set === 'eval');
  const count = (rs: readonly CaseResult[], v: Verdict) => rs.filter((r) => r.verdict === v).length;
  const modes = [...new Set(results.map((r) => r.failureMode))].sort();
  const perMode = modes.map((mode) => {
    const rs = results.filter((r) => r.failureMode === mode);
    return {
      mode,
      cases: rs.length,
      correct: count(rs, 'correct'),
      partial: count(rs, 'partial'),
      wrong: count(rs, 'wrong') + count(rs, 'error'),
    };
  });
  const diagnose = results.map((r) => r.diagnoseMs);
  const collect = results.map((r) => r.collectMs);
  return {
    evalCases: evalCases.length,
    evalCorrect: count(evalCases, 'correct'),
    evalPartial: count(evalCases, 'partial'),
    evalWrong: count(evalCases, 'wrong') + count(evalCases, 'error'),
    unreadable: results.filter((r) => r.verdict === 'error').map((r) => r.case),
    score: evalCases.length === 0 ? 0 : count(evalCases, 'correct') / evalCases.length,
    scenarios: results.length - evalCases.length,
    scenariosCorrect: count(
      results.filter((r) => r.set === 'scenario'),
      'correct',
    ),
    falseCriticalOnHealthy: results.filter((r) => r.falseCritical).map((r) => r.case),
    perMode,
    diagnoseMs: { median: percentile(diagnose, 0.5), p95: percentile(diagnose, 0.95), max: Math.max(0, ...diagnose) },
    collectMs: { median: percentile(collect, 0.5), p95: percentile(collect, 0.95), max: Math.max(0, ...collect) },
    goals: GOALS,
  };
}

/** A case that cannot be read is reported and counted, so one broken file does not hide the others' verdicts. */
async function runCaseOrReport(path: string, set: CaseResult['set']): Promise<CaseResult> {
  try {
    return await runCase(path, set);
  } catch (err) {
    const message = (err as Error).message;
    console.error(`${relative(PROJECT_ROOT, path)}: ${message}`);
    const name = basename(path, '.yaml');
    return {
      case: name,
      set,
      failureMode: 'unreadable',
      expected: '',
      headline: message.split('\n')[0]!,
      verdict: 'error',
      falseCritical: false,
      collectMs: 0,
      diagnoseMs: 0,
    };
  }
}

async function main(): Promise<void> {
  // `make eval CASE=<text>` (or an argument) runs only the cases whose name contains it.
  const only = process.argv[2] ?? process.env.CASE ?? '';
  const pick = (paths: string[]) => paths.filter((p) => basename(p).includes(only));
  const results: CaseResult[] = [];
  for (const path of pick(caseFiles(EVAL_DIR))) results.push(await runCaseOrReport(path, 'eval'));
  for (const path of pick(caseFiles(SCENARIO_DIR))) results.push(await runCaseOrReport(path, 'scenario'));
  printTable(results);
  const summary = summarise(results);

  console.log('\nper failure mode (eval cases and shipped scenarios)');
  for (const m of summary.perMode) {
    console.log(`  ${cut(m.mode, 28)} ${m.correct}/${m.cases} correct, ${m.partial} partial, ${m.wrong} wrong`);
  }
  const pct = (summary.score * 100).toFixed(1);
  console.log(
    `\neval cases: ${summary.evalCorrect}/${summary.evalCases} correct (${pct} %, goal ≥ ${GOALS.correctShare * 100} %), ` +
      `${summary.evalPartial} partial, ${summary.evalWrong} wrong`,
  );
  console.log(`shipped scenarios: ${summary.scenariosCorrect}/${summary.scenarios} correct`);
  if (summary.unreadable.length > 0) console.log(`unreadable cases (counted as not correct): ${summary.unreadable.join(', ')}`);
  const falseCritical = summary.falseCriticalOnHealthy;
  console.log(`healthy cases with a critical finding: ${falseCritical.length === 0 ? 'none' : falseCritical.join(', ')} (goal: none)`);
  const d = summary.diagnoseMs;
  const c = summary.collectMs;
  console.log(`diagnosis per case: median ${ms(d.median)}, p95 ${ms(d.p95)}, max ${ms(d.max)} (goal < ${GOALS.diagnoseMsPerCase} ms)`);
  console.log(`evidence collection from the emulator per case: median ${ms(c.median)}, p95 ${ms(c.p95)}, max ${ms(c.max)}`);

  mkdirSync(SANDBOX_DIR, { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ now: new Date(NOW).toISOString(), summary, results }, null, 2)}\n`);
  console.log(`results: ${relative(process.cwd(), RESULTS_FILE)}`);
}

main().catch((err: unknown) => {
  console.error(`eval failed: ${(err as Error).message}`);
  process.exit(1);
});
