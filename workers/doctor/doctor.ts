// `triage doctor`: checks that refuse an over-privileged or leaky setup. Each
// check proves one of the design's guarantees from inside the process it runs
// in (the worker's pod, or the sandbox worker's environment): what its
// Kubernetes token may do, where its AWS credentials come from, which
// credentials its environment and files hold, and where it can connect to.
// The worker runs them at start and refuses to start on a failure unless the
// operator accepts that failure by name (TRIAGE_DOCTOR_ALLOW_FAILED).
//
// Every dependency on the outside (environment, files, fetch, kubeconfig, AWS
// credentials, clock) comes in through DoctorDeps, so tests can drive the
// checks without touching the real process. No detail ever carries a secret
// value: checks name the variable or file and the kind of credential, and any
// value a check did find is masked again before a result leaves the runner.
//
// This file is the entry point: the list of checks in their order, running
// them, and the start-up doctor. The checks, their shared context and the
// report (runner, override, table) live in ./doctor/; what other modules use
// of them is re-exported here.
import type { TriageConfig } from '../../config/config.js';
import { awsIdentity, awsStaticKeys } from './aws-checks.js';
import { brokerReachable, egressDenied } from './broker-checks.js';
import {
  ALLOW_FAILED_ENV,
  createContext,
  DEFAULT_CHECK_TIMEOUT_MS,
  type CheckId,
  type CheckResult,
  type CheckStatus,
  type DoctorCheck,
  type DoctorOptions,
} from './context.js';
import { credentialsEnvironment, credentialsFiles } from './credential-checks.js';
import { kubernetesRead, kubernetesSecrets, kubernetesWrites } from './kubernetes-checks.js';
import { temporalSearchAttributes } from './temporal-checks.js';
import { applyAllowFailed, formatReport, mask, parseAllowFailed, runCheck, type DoctorReport } from './report.js';

export {
  ALLOW_FAILED_ENV,
  CHECK_IDS,
  createContext,
  defaultDeps,
  DOCTOR_TRIAGE_ID,
  EGRESS_PROBE_ENV,
  MAX_SCAN_BYTES,
  type CheckId,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  type DoctorCheck,
  type DoctorContext,
  type DoctorDeps,
  type DoctorOptions,
  type DoctorRole,
  type TemporalOperator,
} from './context.js';
export { applyAllowFailed, formatReport, formatTable, parseAllowFailed, summarize, type AllowFailed, type DoctorReport } from './report.js';

export const CHECKS: readonly DoctorCheck[] = [
  kubernetesSecrets,
  kubernetesWrites,
  kubernetesRead,
  awsStaticKeys,
  awsIdentity,
  credentialsEnvironment,
  credentialsFiles,
  brokerReachable,
  egressDenied,
  temporalSearchAttributes,
];

/** At start the worker registers the search attributes itself right after these (or refuses, naming the fix). */
const STARTUP_CHECKS = CHECKS.filter((c) => c !== temporalSearchAttributes);

// ---- running the checks ---------------------------------------------------------------

/** Runs every check at once (each bounded by its budget) and returns their results in a fixed order. */
export async function runChecks(options: DoctorOptions, checks: readonly DoctorCheck[] = CHECKS): Promise<CheckResult[]> {
  const ctx = createContext(options);
  const results = await Promise.all(checks.map((c) => runCheck(c, ctx, options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS)));
  return results.map((r) => ({ ...r, detail: mask(r.detail, ctx.sensitive) }));
}

export async function runDoctor(options: DoctorOptions, checks: readonly DoctorCheck[] = CHECKS): Promise<DoctorReport> {
  const env = options.deps?.env ?? process.env;
  return applyAllowFailed(await runChecks(options, checks), parseAllowFailed(env[ALLOW_FAILED_ENV]));
}

// ---- at worker start ---------------------------------------------------------------------------

export interface StartupDoctorOptions extends Omit<DoctorOptions, 'config' | 'role'> {
  /** Default 20 s: a broker rolled out with the worker may still be starting. */
  brokerWaitMs?: number;
}

export interface StartupLogRecord {
  level: 'info' | 'warn' | 'error';
  msg: string;
  check?: CheckId;
  status?: CheckStatus;
  detail?: string;
}

export interface StartupDoctorReport extends DoctorReport {
  /** Whether the worker may start: no check failed, or every failure was accepted by name. */
  proceed: boolean;
  /** The table and summary, for a terminal. */
  text: string;
  /** One record per check and per note, for the worker's JSON log. Accepted failures are errors in the log, so they stay loud. */
  records: StartupLogRecord[];
  /** When proceed is false: why, and how to accept a failure knowingly. */
  refusal?: string;
}

/**
 * The checks the worker runs before it polls: run as the worker, with the
 * process environment unless `deps.env` says otherwise, and the override in
 * TRIAGE_DOCTOR_ALLOW_FAILED honoured. It never throws for a failing check;
 * it reports, and `proceed` says whether to start.
 */
export async function runStartupDoctor(config: TriageConfig, opts: StartupDoctorOptions = {}): Promise<StartupDoctorReport> {
  const report = await runDoctor({ ...opts, config, role: 'worker', brokerWaitMs: opts.brokerWaitMs ?? 20_000 }, STARTUP_CHECKS);
  const records: StartupLogRecord[] = [
    ...report.results.map((r): StartupLogRecord => ({
      level: r.status === 'fail' || r.acceptedFailure ? 'error' : r.status === 'warn' ? 'warn' : 'info',
      msg: r.acceptedFailure ? 'doctor check failed; failure accepted by TRIAGE_DOCTOR_ALLOW_FAILED' : 'doctor check',
      check: r.id,
      status: r.status,
      detail: r.detail,
    })),
    ...report.notes.map((note): StartupLogRecord => ({ level: 'warn', msg: note })),
  ];
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
  return {
    ...report,
    proceed: report.ok,
    text: formatReport(report),
    records,
    ...(report.ok
      ? {}
      : {
          refusal:
            `refusing to start: doctor check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}. ` +
            `Fix what each says, or accept a failure knowingly by naming it: ${ALLOW_FAILED_ENV}=${failed.join(',')}`,
        }),
  };
}
