// Everything done with checks and their results outside the checks: running
// one within its budget and masking what it found, the TRIAGE_DOCTOR_ALLOW_FAILED
// override, and the table. Kept apart from the checks, which know none of this.
import { ApiException } from '@kubernetes/client-node';
import {
  ALLOW_FAILED_ENV,
  CHECK_IDS,
  networkCode,
  type CheckId,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  type DoctorCheck,
  type DoctorContext,
} from './context.js';
import { kubernetesError } from './kubernetes-checks.js';

// ---- runner -----------------------------------------------------------------------------

const MASK = '[redacted]';

class CheckTimeout extends Error {}

export async function runCheck(check: DoctorCheck, ctx: DoctorContext, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const budget = check.budgetMs?.(ctx) ?? timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([
      check.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout()), budget);
      }),
    ]);
  } catch (err) {
    const why =
      err instanceof CheckTimeout
        ? `did not finish within ${Math.round(budget / 1000)} s`
        : `could not run: ${err instanceof ApiException ? kubernetesError(err) : checkError(err)}`;
    outcome = { status: 'fail', detail: why };
  } finally {
    clearTimeout(timer);
  }
  return { id: check.id, title: check.title, ...outcome, durationMs: Math.round(performance.now() - started) };
}

/** An unexpected error, by its name and code: messages of library errors may quote what they were given. */
function checkError(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  const name = typeof e?.name === 'string' ? e.name : 'error';
  const code = networkCode(err);
  // A kubeconfig that cannot be loaded names its path; that is the useful part.
  const message = typeof e?.message === 'string' && name === 'Error' ? `: ${e.message.split('\n')[0]!.slice(0, 200)}` : '';
  return `${name}${code !== name ? ` (${code})` : ''}${message}`;
}

/** Replaces every value a check found with a mask, wherever a detail might repeat it. */
export function mask(detail: string, sensitive: ReadonlySet<string>): string {
  let out = detail;
  for (const value of [...sensitive].sort((a, b) => b.length - a.length)) {
    if (value.length >= 4) out = out.split(value).join(MASK);
  }
  return out;
}

// ---- the override ------------------------------------------------------------------------

export interface AllowFailed {
  ids: ReadonlySet<CheckId>;
  /** Why some or all of the override was not applied. */
  problems: string[];
}

/**
 * TRIAGE_DOCTOR_ALLOW_FAILED: comma-separated check ids whose failure the
 * operator accepts. A blanket value (`all`, `*`) is refused outright, so a
 * new check's failure can never be accepted before anyone has read it.
 */
export function parseAllowFailed(raw: string | undefined): AllowFailed {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.some((e) => ['all', '*'].includes(e.toLowerCase()))) {
    return {
      ids: new Set(),
      problems: [
        `${ALLOW_FAILED_ENV}=${raw?.trim()} is refused: "all" is not accepted; name each check whose failure you accept (${CHECK_IDS.join(', ')})`,
      ],
    };
  }
  const ids = new Set<CheckId>();
  const problems: string[] = [];
  for (const entry of entries) {
    if ((CHECK_IDS as readonly string[]).includes(entry)) ids.add(entry as CheckId);
    else problems.push(`${ALLOW_FAILED_ENV} names an unknown check "${entry.slice(0, 60)}" (known: ${CHECK_IDS.join(', ')})`);
  }
  return { ids, problems };
}

export interface DoctorReport {
  results: CheckResult[];
  /** No check failed (after the accepted failures were downgraded). */
  ok: boolean;
  /** Checks that failed and were accepted by name. */
  accepted: CheckId[];
  /** What the override did not do: refused, unknown ids, ids whose check did not fail. */
  notes: string[];
}

export function applyAllowFailed(results: readonly CheckResult[], allow: AllowFailed): DoctorReport {
  const accepted: CheckId[] = [];
  const out = results.map((r): CheckResult => {
    if (r.status !== 'fail' || !allow.ids.has(r.id)) return r;
    accepted.push(r.id);
    return { ...r, status: 'warn', acceptedFailure: true, detail: `FAILED, accepted by ${ALLOW_FAILED_ENV}:\n${r.detail}` };
  });
  const unused = [...allow.ids].filter((id) => !accepted.includes(id));
  const notes = [
    ...allow.problems,
    ...unused.map(
      (id) => `${ALLOW_FAILED_ENV} accepts a failure of ${id}, which did not fail: remove it so a later failure is not accepted unread`,
    ),
  ];
  return { results: out, ok: out.every((r) => r.status !== 'fail'), accepted, notes };
}

// ---- output ---------------------------------------------------------------------------------

function statusLabel(r: CheckResult): string {
  return r.acceptedFailure ? 'WARN!' : r.status.toUpperCase();
}

/** Columns check, status, detail; a multi-line detail continues on rows with the first two columns blank. */
export function formatTable(results: readonly CheckResult[]): string {
  const rows = [['check', 'status', 'detail'], ...results.map((r) => [r.id, statusLabel(r), r.detail])];
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  const lines: string[] = [];
  for (const [check, status, detail] of rows) {
    const [first, ...rest] = detail!.split('\n');
    lines.push(`${check!.padEnd(w0)}  ${status!.padEnd(w1)}  ${first}`.trimEnd());
    for (const more of rest) lines.push(`${''.padEnd(w0)}  ${''.padEnd(w1)}  ${more}`.trimEnd());
  }
  return lines.join('\n');
}

export function summarize(report: DoctorReport): string {
  const count = (s: CheckStatus) => report.results.filter((r) => r.status === s).length;
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
  const parts = [`${count('pass')} passed`, `${count('fail')} failed`, `${count('warn')} warned`, `${count('skip')} skipped`];
  const accepted = report.accepted.length > 0 ? `; failures accepted by ${ALLOW_FAILED_ENV}: ${report.accepted.join(', ')}` : '';
  return `${parts.join(', ')}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}${accepted}`;
}

export function formatReport(report: DoctorReport): string {
  return [formatTable(report.results), '', summarize(report), ...report.notes.map((n) => `note: ${n}`)].join('\n');
}
