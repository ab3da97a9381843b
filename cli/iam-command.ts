// `triage iam`: renders the worker role's permissions policy from the worker's
// configuration, writes it, or checks that a committed file is what the
// configuration renders to.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { configPath, loadConfig } from '../config/config.js';
import { lineDiff } from './egress-policy.js';
import { allowedRegions, iamPermissionsPolicy, renderIamPolicyJson } from './iam-policy.js';
import { shown } from './project-path.js';
import { readCommitted } from './committed-file.js';

export class IamDriftError extends Error {
  override name = 'IamDriftError';
}

interface IamOptions {
  config?: string;
  out?: string;
  check?: string;
}

/** The policy JSON the configuration file renders to. */
export function renderIamFromFile(triageConfigFile: string): string {
  // No environment overrides, as for `triage egress`: the committed file must
  // not depend on the shell it was rendered in (TRIAGE_AWS_REGION would move it).
  return renderIamPolicyJson(iamPermissionsPolicy(loadConfig(resolve(triageConfigFile), {})));
}

const regionList = (regions: string[]): string => (regions.length > 0 ? regions.join(', ') : 'no region');

/** The actions a policy's Allow statements name, for saying what changed when the regions did not. */
function allowedActions(policy: unknown): string[] {
  const statements = (policy as { Statement?: unknown } | null)?.Statement;
  if (!Array.isArray(statements)) return [];
  const actions = statements.flatMap((s: { Effect?: unknown; Action?: unknown }) =>
    s?.Effect !== 'Allow' ? [] : Array.isArray(s.Action) ? s.Action.map(String) : typeof s.Action === 'string' ? [s.Action] : [],
  );
  return [...new Set(actions)].sort();
}

/**
 * Compares a committed file with the render; throws IamDriftError when they
 * differ, naming the regions (the usual cause: a service's CloudWatch region
 * changed) or the actions (the code calls something new), then a diff.
 */
export function checkIamFile(file: string, rendered: string, rerender: string): void {
  const committed = readCommitted(file, rerender, IamDriftError);
  if (committed === rendered) return;

  const want: unknown = JSON.parse(rendered);
  let have: unknown;
  let why: string;
  try {
    have = JSON.parse(committed);
    const [hasRegions, wantsRegions] = [allowedRegions(have), allowedRegions(want)];
    const [hasActions, wantsActions] = [allowedActions(have), allowedActions(want)];
    if (hasRegions.join() !== wantsRegions.join()) {
      why = `${file} allows ${regionList(hasRegions)} but the configuration reads CloudWatch in ${regionList(wantsRegions)}`;
    } else if (hasActions.join() !== wantsActions.join()) {
      why = `${file} grants ${hasActions.join(', ') || 'no action'} but the code needs ${wantsActions.join(', ') || 'no action'}`;
    } else {
      why = `${file} is not what the configuration renders to`;
    }
  } catch (err) {
    why = `${file} is not valid JSON (${(err as Error).message})`;
  }
  throw new IamDriftError(
    `${why}: run ${rerender}\n\n(lines with - are in the file, lines with + in the render)\n${lineDiff(committed, rendered)}`,
  );
}

export function iamCommand(): Command {
  return new Command('iam')
    .description("render the worker role's IAM permissions policy (CloudWatch regions) from the worker's configuration")
    .option('--config <file>', 'worker configuration YAML (default: $TRIAGE_CONFIG, else .sandbox/triage.yaml)')
    .addOption(new Option('--out <file>', 'write the policy to this file instead of stdout').conflicts('check'))
    .addOption(
      new Option('--check <file>', 'exit non-zero, naming the regions that differ, when this file differs from the render').conflicts(
        'out',
      ),
    )
    .action((_opts: IamOptions, cmd: Command) => {
      // `--config` is also the program's global option; whichever parsed it holds it.
      const opts = cmd.optsWithGlobals<IamOptions>();
      const triageFile = configPath(opts.config);
      const rendered = renderIamFromFile(triageFile);
      const target = opts.out ?? opts.check;
      const rerender = `npx triage iam --config ${shown(triageFile)} --out ${target ? shown(resolve(target)) : '<file>'}`;
      if (opts.check) {
        checkIamFile(opts.check, rendered, rerender);
        console.log(`${opts.check} is up to date`);
      } else if (opts.out) {
        writeFileSync(opts.out, rendered);
        console.log(`wrote ${opts.out}`);
      } else {
        process.stdout.write(rendered);
      }
    });
}
