// The worker's IAM documents (deploy/iam/): linted with parliament, and held to
// what the code calls, so a new AWS call without a policy change (or a grant
// nobody uses) fails here rather than in production. That the permissions
// policy is the render of the configuration is test/deploy/iam-render.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REQUIRED_IAM_ACTIONS } from '../../activities/cloudwatch.js';
import { iamPermissionsPolicy, NEEDS_NO_PERMISSION, renderIamPolicyJson } from '../../cli/iam-policy.js';
import { parseConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';

const IAM_DIR = join(PROJECT_ROOT, 'deploy', 'iam');
const PARLIAMENT = join(PROJECT_ROOT, '.venv', 'bin', 'parliament');
const CREATE_ROLE = join(IAM_DIR, 'create-role.sh');

/** Actions that can only be granted on Resource "*", and why. */
const RESOURCE_STAR_ONLY: Record<string, string> = {
  'cloudwatch:GetMetricData':
    'the Service Authorization Reference lists no resource type for it (metrics are not IAM resources), so Resource must be "*"',
};

const WRITE_VERBS =
  /^(Put|Create|Delete|Update|Set|Tag|Untag|Attach|Detach|Enable|Disable|Start|Stop|Pass|Assume|Modify|Associate|Disassociate|Add|Remove|Reset|Restore|Import|Export|Send|Invoke|Run|Terminate|Reboot|Cancel|Register|Deregister|Upload|Write|Link|Unlink|Mute|Unmute)/;

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  NotResource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function readPolicy(name: string): { text: string; doc: PolicyDocument } {
  const text = readFileSync(join(IAM_DIR, name), 'utf8');
  return { text, doc: JSON.parse(text) as PolicyDocument };
}

/**
 * parliament 1.6.4 refuses `--file` when stdin is not a terminal (as under
 * Jest and CI), so the policy goes in on stdin, which is what it reads by
 * default. It exits 0 with no output when it has no finding and 1 otherwise,
 * printing one JSON object per line with --json.
 */
function parliament(
  policy: string,
  ...flags: string[]
): { status: number | null; findings: Array<{ issue: string; detail: unknown }>; stderr: string } {
  if (!existsSync(PARLIAMENT)) throw new Error(`${PARLIAMENT} is missing: run \`make install\` (make test does)`);
  const run = spawnSync(PARLIAMENT, ['--json', ...flags], { input: policy, encoding: 'utf8', timeout: 60_000 });
  const findings = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { issue: string; detail: unknown });
  return { status: run.status, findings, stderr: run.stderr };
}

interface Privilege {
  privilege: string;
  access_level: string;
  resource_types: Array<{ resource_type: string }>;
}

let services: Array<{ prefix: string; privileges: Privilege[] }> | undefined;

/** parliament's copy of the Service Authorization Reference, for access levels and resource types. */
function iamDefinition(action: string): Privilege | undefined {
  if (!services) {
    const lib = join(PROJECT_ROOT, '.venv', 'lib');
    const python = readdirSync(lib).find((d) => existsSync(join(lib, d, 'site-packages', 'parliament', 'iam_definition.json')));
    if (!python) throw new Error('parliament/iam_definition.json not found under .venv/lib: run `make install`');
    services = JSON.parse(readFileSync(join(lib, python, 'site-packages', 'parliament', 'iam_definition.json'), 'utf8')) as Array<{
      prefix: string;
      privileges: Privilege[];
    }>;
  }
  const [prefix, name] = action.split(':');
  return services.find((s) => s.prefix === prefix)?.privileges.find((p) => p.privilege === name);
}

describe('parliament', () => {
  test('reports a finding for a policy with one (so a silent run means something)', () => {
    const bad = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'cloudwatch:GetMetricDatum', Resource: '*' }],
    });
    const run = parliament(bad);
    expect(run.status).toBe(1);
    expect(run.findings.map((f) => f.issue)).toContain('UNKNOWN_ACTION');
  });

  test('finds nothing in the permissions policy, with and without the community auditors', () => {
    const { text } = readPolicy('permissions-policy.json');
    for (const flags of [[], ['--include-community-auditors']]) {
      const run = parliament(text, ...flags);
      expect(run.findings).toEqual([]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    }
  });

  test('finds nothing in what triage iam renders for a configuration without CloudWatch (a Deny statement)', () => {
    const triage = parseYaml(readFileSync(join(PROJECT_ROOT, 'deploy/overlays/example/triage.yaml'), 'utf8')) as {
      services: Record<string, { cloudwatch?: unknown }>;
    };
    for (const s of Object.values(triage.services)) delete s.cloudwatch;
    const policy = renderIamPolicyJson(iamPermissionsPolicy(parseConfig(triage, { env: {} })));
    expect(policy).toContain('"Effect": "Deny"');
    for (const flags of [[], ['--include-community-auditors']]) {
      const run = parliament(policy, ...flags);
      expect(run.findings).toEqual([]);
      expect(run.status).toBe(0);
    }
  });

  // parliament lints identity policies: a trust policy has no Resource, which it
  // reports as MALFORMED. Given the role as the Resource, it still checks the
  // action names and that each condition key exists for those actions with the
  // right operator type; the trust-specific structure is asserted below.
  test('finds nothing in the trust policy once the role stands in as its Resource', () => {
    const { doc } = readPolicy('trust-policy.json');
    const asIdentityPolicy = {
      ...doc,
      Statement: doc.Statement.map(({ Principal: _principal, ...s }) => ({
        ...s,
        Resource: 'arn:aws:iam::111122223333:role/keyless-triage-worker',
      })),
    };
    const run = parliament(JSON.stringify(asIdentityPolicy));
    expect(run.findings).toEqual([]);
    expect(run.status).toBe(0);
  });
});

describe('permissions policy', () => {
  const { doc } = readPolicy('permissions-policy.json');
  const actions = doc.Statement.flatMap((s) => list(s.Action));

  test('is a plain allow-list: no Deny tricks, NotAction or NotResource', () => {
    expect(doc.Version).toBe('2012-10-17');
    for (const s of doc.Statement) {
      expect(s.Effect).toBe('Allow');
      expect(s.NotAction).toBeUndefined();
      expect(s.NotResource).toBeUndefined();
      expect(s.Principal).toBeUndefined();
    }
  });

  test('grants exactly what the code calls, minus what needs no permission', () => {
    const needed = REQUIRED_IAM_ACTIONS.filter((a) => !(a in NEEDS_NO_PERMISSION));
    expect([...new Set(actions)].sort()).toEqual([...needed].sort());
    // Every exemption names an action the code really calls, so stale ones go.
    for (const a of Object.keys(NEEDS_NO_PERMISSION)) expect(REQUIRED_IAM_ACTIONS).toContain(a);
    for (const a of Object.keys(NEEDS_NO_PERMISSION)) expect(actions).not.toContain(a);
  });

  test('names every action in full: no wildcards', () => {
    for (const a of actions) expect(a).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
  });

  test('grants only read access', () => {
    for (const a of actions) {
      const name = a.split(':')[1]!;
      expect(name).not.toMatch(WRITE_VERBS);
      const definition = iamDefinition(a);
      expect(definition).toBeDefined();
      expect(['Read', 'List']).toContain(definition!.access_level);
    }
  });

  test('uses Resource "*" only for actions that have no resource type', () => {
    for (const s of doc.Statement) {
      const resources = list(s.Resource);
      expect(resources.length).toBeGreaterThan(0);
      if (resources.includes('*')) {
        expect(resources).toEqual(['*']);
        for (const a of list(s.Action)) {
          expect(Object.keys(RESOURCE_STAR_ONLY)).toContain(a);
          // Cross-checked against the reference, so the reason above stays true.
          expect(iamDefinition(a)!.resource_types.map((r) => r.resource_type)).toEqual(['']);
        }
      }
    }
  });

  test('is limited to the configured regions', () => {
    for (const s of doc.Statement) {
      const regions = list(s.Condition?.StringEquals?.['aws:RequestedRegion']);
      expect(regions.length).toBeGreaterThan(0);
      for (const r of regions) expect(r).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
    }
  });
});

describe('trust policy', () => {
  const { doc } = readPolicy('trust-policy.json');

  test('lets only EKS Pod Identity assume the role, with AssumeRole and TagSession', () => {
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement).toHaveLength(1);
    const [s] = doc.Statement;
    expect(s!.Effect).toBe('Allow');
    expect(s!.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(s!.NotPrincipal).toBeUndefined();
    expect(s!.NotAction).toBeUndefined();
    expect(list(s!.Action).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
  });

  test('is scoped to one account, one cluster and the worker ServiceAccount', () => {
    const condition = doc.Statement[0]!.Condition ?? {};
    expect(Object.keys(condition)).toEqual(['StringEquals']);
    const eq = condition.StringEquals!;
    const account = eq['aws:SourceAccount'];
    expect(account).toMatch(/^\d{12}$/);
    const clusterArn = eq['aws:RequestTag/eks-cluster-arn'];
    expect(clusterArn).toMatch(new RegExp(`^arn:aws(-cn|-us-gov)?:eks:[a-z0-9-]+:${account}:cluster/[0-9A-Za-z][A-Za-z0-9_-]*$`));
    expect(eq['aws:RequestTag/kubernetes-namespace']).toBe('keyless-triage');
    expect(eq['aws:RequestTag/kubernetes-service-account']).toBe('keyless-triage-worker');
    // Single values only: a list would widen the grant to every entry.
    for (const v of Object.values(eq)) expect(typeof v).toBe('string');
  });
});

describe('create-role.sh', () => {
  test('parses (bash -n)', () => {
    const run = spawnSync('bash', ['-n', CREATE_ROLE], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  function dryRun(args: string[]) {
    // No AWS CLI and no credentials: a dry run must not need either.
    return spawnSync('bash', [CREATE_ROLE, '--dry-run', ...args], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' },
      timeout: 30_000,
    });
  }

  function section(stdout: string, title: string): unknown {
    const start = stdout.indexOf(`--- ${title}`);
    expect(start).toBeGreaterThanOrEqual(0);
    const body = stdout.slice(stdout.indexOf('\n', start) + 1);
    return JSON.parse(body.slice(0, body.indexOf('\n---')));
  }

  test('renders the trust policy with the given account and cluster, applies the permissions policy as triage iam rendered it, and prints the association it creates', () => {
    const run = dryRun(['--account-id', '444455556666', '--region', 'us-east-1', '--cluster', 'blue']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const trust = section(run.stdout, 'trust policy') as PolicyDocument;
    const eq = trust.Statement[0]!.Condition!.StringEquals!;
    expect(eq['aws:SourceAccount']).toBe('444455556666');
    expect(eq['aws:RequestTag/eks-cluster-arn']).toBe('arn:aws:eks:us-east-1:444455556666:cluster/blue');
    expect(section(run.stdout, 'permissions policy')).toEqual(readPolicy('permissions-policy.json').doc);
    expect(run.stdout).toMatch(/^metric regions: +eu-west-1,us-east-1$/m);
    expect(run.stdout).not.toContain('111122223333');
    expect(run.stdout).toMatch(/\+ aws iam create-role --role-name keyless-triage-worker .*--max-session-duration 3600/);
    expect(run.stdout).toMatch(/\+ aws iam put-role-policy --role-name keyless-triage-worker /);
    expect(run.stdout).toMatch(
      /\+ aws eks create-pod-identity-association --region us-east-1 --cluster-name blue --namespace keyless-triage --service-account keyless-triage-worker --role-arn arn:aws:iam::444455556666:role\/keyless-triage-worker/,
    );
  });

  test.each([
    [['--account-id', '4444', '--region', 'us-east-1', '--cluster', 'blue'], /account-id/],
    [['--account-id', '444455556666', '--region', 'us-east-1"', '--cluster', 'blue'], /region/],
    [['--account-id', '444455556666', '--region', 'us-east-1', '--cluster', 'blue/../x'], /cluster/],
  ])('refuses values that would not render to a valid policy: %j', (args, message) => {
    const run = dryRun(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test('refuses a region list of its own, which would disagree with the configuration, and says how to render the policy', () => {
    const args = ['--account-id', '444455556666', '--region', 'us-east-1', '--cluster', 'blue'];
    for (const run of [
      dryRun([...args, '--metric-regions', 'us-east-1']),
      spawnSync('bash', [CREATE_ROLE, '--dry-run', ...args], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', METRIC_REGIONS: 'us-east-1' },
        timeout: 30_000,
      }),
    ]) {
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('npx triage iam --config <triage.yaml> --out deploy/iam/permissions-policy.json');
      expect(run.stdout).toBe('');
    }
  });
});
