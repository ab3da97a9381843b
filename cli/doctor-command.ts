// `triage doctor`: runs the doctor's checks in this process and prints the
// table (or JSON). Run it where the worker runs (`kubectl exec` into the
// worker container, or with the sandbox worker's environment): it checks the
// process it runs in. Exits 1 when a check failed, unless that failure is
// accepted by name in TRIAGE_DOCTOR_ALLOW_FAILED, as at worker start.
import { Command, Option } from 'commander';
import { configPath, loadConfig } from '../config/config.js';
import { formatReport, runDoctor, summarize, type DoctorDeps, type DoctorReport, type DoctorRole } from '../workers/doctor/doctor.js';

/** Thrown after the report is printed, so `runCli` exits 1. */
export class DoctorFailed extends Error {
  override name = 'DoctorFailed';
}

interface DoctorCommandOptions {
  config?: string;
  json?: boolean;
  role: DoctorRole;
  egressProbeUrl?: string;
}

export interface DoctorCommandSetup {
  /** Tests only: the doctor's outside world. */
  deps?: Partial<DoctorDeps>;
  /** Where the report goes; default stdout. */
  print?: (text: string) => void;
}

function toJson(report: DoctorReport) {
  return {
    ok: report.ok,
    summary: summarize(report),
    checks: report.results.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      ...(r.acceptedFailure ? { acceptedFailure: true } : {}),
      detail: r.detail,
      durationMs: r.durationMs,
    })),
    accepted: report.accepted,
    notes: report.notes,
  };
}

export function doctorCommand(setup: DoctorCommandSetup = {}): Command {
  const print = setup.print ?? ((text: string) => console.log(text));
  return new Command('doctor')
    .description(
      'check that this process holds no more than the design allows: Kubernetes token read-only and without Secrets, AWS only an assumed-role session, no credential in the environment or readable files, the broker ready, egress refused',
    )
    .addOption(new Option('--config <file>', 'worker configuration YAML (default: $TRIAGE_CONFIG, else .sandbox/triage.yaml)'))
    .option('--json', 'print the results as JSON')
    .addOption(
      new Option('--role <role>', 'whose setup this is: the gateway may read its own secret files, the worker may not')
        .choices(['worker', 'gateway'])
        .default('worker'),
    )
    .addOption(
      new Option(
        '--egress-probe-url <url>',
        'a host outside the egress allowlist that must not be reachable (default: $TRIAGE_DOCTOR_EGRESS_PROBE_URL, else https://example.com/)',
      ),
    )
    .action(async (_opts: DoctorCommandOptions, command: Command) => {
      // `--config` is also the program's option; commander gives it to whichever parses it first.
      const opts = command.optsWithGlobals<DoctorCommandOptions>();
      const env = setup.deps?.env ?? process.env;
      const file = configPath(opts.config, env);
      const config = loadConfig(file, env);
      const report = await runDoctor({
        config,
        configFile: file,
        role: opts.role,
        ...(opts.egressProbeUrl ? { egressProbeUrl: opts.egressProbeUrl } : {}),
        ...(setup.deps ? { deps: setup.deps } : {}),
      });
      print(opts.json ? JSON.stringify(toJson(report), null, 2) : formatReport(report));
      if (!report.ok) {
        const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
        throw new DoctorFailed(`doctor: ${failed.length} check${failed.length === 1 ? '' : 's'} failed (${failed.join(', ')})`);
      }
    });
}
