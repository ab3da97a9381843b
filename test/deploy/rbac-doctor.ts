// `triage doctor` pointed at a real kube-apiserver, the way it runs outside a
// pod: kubernetes.kubeconfig names a kubeconfig with the apiserver, its CA and
// a token file (the form a projected token takes); the rest of the
// configuration is the example overlay's. Tokens only ever live in files under
// a temporary folder, removed at close.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { doctorCommand } from '../../cli/doctor-command.js';
import type { TriageConfig } from '../../config/config.js';
import type { KubeApiserver } from '../../sandbox/kube-apiserver.js';
import { freePort } from '../../sandbox/ports.js';
import { CHECKS, runChecks, type CheckResult, type TemporalOperator } from '../../workers/doctor/doctor.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';

const KUBERNETES_CHECKS = CHECKS.filter((c) => c.id.startsWith('kubernetes.'));

/** No route out but loopback, as the egress policy leaves the worker. */
const refusingFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname === '127.0.0.1') return fetch(input, init);
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error(`connect ECONNREFUSED ${url.hostname}:443`), { code: 'ECONNREFUSED' }),
  });
};

/** A Temporal namespace that has the search attributes: Temporal is not this test's subject. */
const registeredNamespace = async (): Promise<TemporalOperator> => ({
  operatorService: {
    listSearchAttributes: async () => ({ customAttributes: Object.fromEntries(triageSearchAttributes.map((k) => [k.name, 2])) }),
    addSearchAttributes: async () => ({}),
  } as never,
  close: async () => undefined,
});

export interface CliRun {
  json: { ok: boolean; checks: { id: string; status: string; detail: string }[] };
  /** What the command threw after printing (DoctorFailed when a check failed). */
  thrown?: unknown;
}

export function doctorHarness(server: KubeApiserver, config: TriageConfig, raw: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'rbac-doctor-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const ca = join(dir, 'apiserver-ca.pem');
  writeFileSync(ca, server.caPem);
  let files = 0;

  function kubeconfigFor(token: string): string {
    files++;
    const tokenFile = join(dir, `token-${files}`);
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const file = join(dir, `kubeconfig-${files}.yaml`);
    writeFileSync(
      file,
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'apiserver', cluster: { server: server.url, 'certificate-authority': ca } }],
        users: [{ name: 'worker', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } } }],
        contexts: [{ name: 'apiserver', context: { cluster: 'apiserver', user: 'worker' } }],
        'current-context': 'apiserver',
      }),
    );
    return file;
  }

  return {
    /** The kubernetes.* checks as `token`, by id; `kubernetes` adds settings (readNodes, nodeEventsNamespace). */
    async checks(token: string, kubernetes: Partial<TriageConfig['kubernetes']> = {}): Promise<Record<string, CheckResult>> {
      const settings = { ...config.kubernetes, kubeconfig: kubeconfigFor(token), ...kubernetes };
      const results = await runChecks({ config: { ...config, kubernetes: settings }, deps: { env: {} } }, KUBERNETES_CHECKS);
      return Object.fromEntries(results.map((r) => [r.id, r]));
    },

    /**
     * `triage doctor --config <file> --json`, every check, as the CLI runs it.
     * The file is the overlay's triage.yaml with a kubeconfig for `token`; no
     * broker runs here, and without CloudWatch services no AWS identity is asked
     * of this machine.
     */
    async cli(token: string): Promise<CliRun> {
      const services = Object.fromEntries(
        Object.entries(raw.services as Record<string, Record<string, unknown>>).map(([id, { cloudwatch: _, ...service }]) => [id, service]),
      );
      const file = join(dir, 'triage.yaml');
      const doc = {
        ...raw,
        kubernetes: { ...(raw.kubernetes as object), kubeconfig: kubeconfigFor(token) },
        broker: { url: `http://127.0.0.1:${await freePort()}` },
        services,
      };
      writeFileSync(file, toYaml(doc));
      const printed: string[] = [];
      const triage = new Command('triage').option('--config <file>').exitOverride();
      triage.addCommand(
        doctorCommand({
          deps: {
            env: { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' },
            fetch: refusingFetch,
            homeDir: home,
            temporalOperator: registeredNamespace,
          },
          print: (t) => printed.push(t),
        }),
      );
      let thrown: unknown;
      await triage.parseAsync(['node', 'triage', 'doctor', '--config', file, '--json']).catch((err: unknown) => (thrown = err));
      return { json: JSON.parse(printed[0]!) as CliRun['json'], ...(thrown === undefined ? {} : { thrown }) };
    },

    close(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type DoctorHarness = ReturnType<typeof doctorHarness>;
