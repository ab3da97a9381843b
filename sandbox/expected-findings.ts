// What a scenario is expected to yield, next to the scenario as
// `<name>.expected.yaml`. Tests run each scenario through the real stack and
// compare; users writing their own scenario get the same check for free.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Finding, SurfaceName } from '../activities/model.js';
import { SURFACES } from '../activities/model.js';

const pattern = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(err as Error).message}` });
    return z.NEVER;
  }
});

const expectedFinding = z.strictObject({
  analyzer: z.string().min(1),
  /** The surface whose evidence it rests on; metric findings come from CloudWatch or Datadog. */
  surface: z.enum(SURFACES).optional(),
  severity: z.enum(['critical', 'warning', 'info']).optional(),
  /** A regular expression the title must match. */
  title: pattern.optional(),
  /** Objects the finding must cite (it may cite more). */
  objects: z.array(z.string()).default([]),
  /**
   * Regular expressions each of which some evidence line must match. Checked
   * only against findings that carry their evidence: the workflow's status
   * query leaves evidence out, so a full-stack run checks the rest.
   */
  evidence: z.array(pattern).default([]),
});

const expectedSchema = z.strictObject({
  /** A regular expression the headline must match. */
  headline: pattern,
  /** What `make eval` totals the case under (`crashloop`, `oom-kill`, `healthy`, …). */
  failureMode: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/)
    .optional(),
  /** Each must be among the findings. */
  findings: z.array(expectedFinding).default([]),
  /** The first one listed under `findings` must also rank first. */
  topFinding: z.boolean().default(true),
  /** Analyzer name prefixes that must produce nothing, e.g. `kubernetes.` for a healthy cluster. */
  absent: z.array(z.string().min(1)).default([]),
  /** Surface statuses, e.g. `{ datadog: unavailable }`; surfaces not named must be ok. */
  surfaces: z.partialRecord(z.enum(SURFACES), z.enum(['ok', 'unavailable'])).default({}),
});

export type ExpectedFindings = z.output<typeof expectedSchema>;

export function expectedFindingsPath(scenarioPath: string): string {
  return scenarioPath.replace(/\.ya?ml$/, '.expected.yaml');
}

export async function loadExpectedFindings(path: string): Promise<ExpectedFindings> {
  const result = expectedSchema.safeParse(parseYaml(await readFile(path, 'utf8')));
  if (!result.success) {
    throw new Error(
      `${path}: invalid expected findings\n${result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  return result.data;
}

export type OutcomeFinding = Pick<Finding, 'analyzer' | 'surface' | 'severity' | 'title' | 'objects'> & { evidence?: readonly string[] };

export interface Outcome {
  headline: string;
  findings: OutcomeFinding[];
  surfaces: { surface: SurfaceName; status: 'ok' | 'unavailable'; reason?: string }[];
}

/** Every way the outcome differs from the expectation, one line each; empty when it matches. */
export function compareWithExpected(outcome: Outcome, expected: ExpectedFindings): string[] {
  const problems: string[] = [];
  if (!expected.headline.test(outcome.headline))
    problems.push(`headline ${JSON.stringify(outcome.headline)} does not match ${expected.headline}`);
  const matches = (f: OutcomeFinding, e: ExpectedFindings['findings'][number]) =>
    f.analyzer === e.analyzer &&
    (e.surface === undefined || f.surface === e.surface) &&
    (e.severity === undefined || f.severity === e.severity) &&
    (e.title === undefined || e.title.test(f.title)) &&
    e.objects.every((o) => f.objects.includes(o)) &&
    (f.evidence === undefined || e.evidence.every((p) => f.evidence!.some((line) => p.test(line))));
  for (const e of expected.findings) {
    if (!outcome.findings.some((f) => matches(f, e))) {
      const evidence = e.evidence.length ? ` with evidence matching ${e.evidence.map(String).join(', ')}` : '';
      problems.push(
        `no ${e.analyzer} finding${e.severity ? ` (${e.severity})` : ''}${e.title ? ` titled ${e.title}` : ''}${e.objects.length ? ` citing ${e.objects.join(', ')}` : ''}${evidence}`,
      );
    }
  }
  const [first] = expected.findings;
  const [top] = outcome.findings;
  if (expected.topFinding && first && (!top || !matches(top, first))) {
    problems.push(`top finding is ${top ? `${top.analyzer}: ${JSON.stringify(top.title)}` : 'missing'}, expected ${first.analyzer}`);
  }
  for (const prefix of expected.absent) {
    for (const f of outcome.findings.filter((x) => x.analyzer.startsWith(prefix)))
      problems.push(`unexpected ${f.analyzer} finding: ${JSON.stringify(f.title)}`);
  }
  for (const s of outcome.surfaces) {
    const want = expected.surfaces[s.surface] ?? 'ok';
    if (s.status !== want) problems.push(`surface ${s.surface} is ${s.status}${s.reason ? ` (${s.reason})` : ''}, expected ${want}`);
  }
  return problems;
}
