// `triage egress`: renders the egress allowlist (Calico NetworkPolicies, or
// CiliumNetworkPolicies with --cni cilium) from
// the broker's and the worker's configuration, writes it, or checks that a
// committed file is what the configuration renders to.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadBrokerConfig } from '../broker/config.js';
import { renderCiliumEgressPolicyYaml } from './egress-cilium.js';
import { egressPlan, lineDiff, renderEgressPolicyYaml } from './egress-policy.js';
import { configPath, loadConfig } from '../config/config.js';
import { shown } from './project-path.js';
import { readCommitted } from './committed-file.js';

/** The policy engines `--cni` renders for. */
export const CNIS = ['calico', 'cilium'] as const;
export type Cni = (typeof CNIS)[number];

export class EgressDriftError extends Error {
  override name = 'EgressDriftError';
}

interface EgressOptions {
  brokerConfig: string;
  config?: string;
  out?: string;
  check?: string;
  cni: Cni;
}

/** The policy YAML the two configuration files render to. */
export function renderEgressFromFiles(brokerConfigFile: string, triageConfigFile: string, cni: Cni = 'calico'): string {
  if (!(CNIS as readonly string[]).includes(cni)) throw new Error(`unknown CNI ${String(cni)}: use one of ${CNIS.join(', ')}`);
  const brokerPath = resolve(brokerConfigFile);
  const triagePath = resolve(triageConfigFile);
  // No environment overrides: the file is rendered from the files alone, and
  // the manifests set none of TRIAGE_CONFIG's override variables that differ
  // from them (test/deploy/manifests.test.ts).
  const triage = loadConfig(triagePath, {});
  const broker = loadBrokerConfig(brokerPath);
  const render = cni === 'cilium' ? renderCiliumEgressPolicyYaml : renderEgressPolicyYaml;
  return render(egressPlan(broker, triage), { brokerConfig: shown(brokerPath), triageConfig: shown(triagePath) });
}

/** Compares a committed file with the render; throws EgressDriftError with a diff when they differ. */
export function checkEgressFile(file: string, rendered: string, rerender: string): void {
  const committed = readCommitted(file, rerender, EgressDriftError);
  if (committed === rendered) return;
  throw new EgressDriftError(
    `${file} is not what the configuration renders to (lines with - are in the file, lines with + in the render).\n` +
      `Re-render it with: ${rerender}\n\n${lineDiff(committed, rendered)}`,
  );
}

export function egressCommand(): Command {
  return new Command('egress')
    .description("render the egress allowlist (Calico or Cilium network policies) from the broker's and the worker's configuration")
    .requiredOption('--broker-config <file>', "the broker's YAML configuration (its upstreams are the SaaS hosts)")
    .addOption(
      new Option('--cni <cni>', 'the policy engine: calico (Enterprise/Cloud, domains rules) or cilium (toFQDNs)')
        .choices(CNIS)
        .default('calico'),
    )
    .option('--config <file>', 'worker configuration YAML (default: $TRIAGE_CONFIG, else .sandbox/triage.yaml)')
    .addOption(new Option('--out <file>', 'write the policy to this file instead of stdout').conflicts('check'))
    .addOption(new Option('--check <file>', 'exit non-zero, with a diff, when this file differs from the render').conflicts('out'))
    .action((_opts: EgressOptions, cmd: Command) => {
      // `--config` is also the program's global option; whichever parsed it holds it.
      const opts = cmd.optsWithGlobals<EgressOptions>();
      const triageFile = configPath(opts.config);
      const rendered = renderEgressFromFiles(opts.brokerConfig, triageFile, opts.cni);
      const target = opts.out ?? opts.check;
      const cniFlag = opts.cni === 'calico' ? '' : ` --cni ${opts.cni}`;
      const rerender = `npx triage egress${cniFlag} --broker-config ${shown(resolve(opts.brokerConfig))} --config ${shown(triageFile)} --out ${target ? shown(resolve(target)) : '<file>'}`;
      if (opts.check) {
        checkEgressFile(opts.check, rendered, rerender);
        console.log(`${opts.check} is up to date`);
      } else if (opts.out) {
        writeFileSync(opts.out, rendered);
        console.log(`wrote ${opts.out}`);
      } else {
        process.stdout.write(rendered);
      }
    });
}
