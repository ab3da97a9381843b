// The IAM permissions policy rendered from configuration (cli/iam-policy.ts,
// `triage iam`): the committed deploy/iam/permissions-policy.json must be what
// the deployed configuration renders to (so a region change without a
// re-render fails here, as AccessDenied would in production), the regions must
// be exactly those the services read CloudWatch in, and the egress policy and
// the IAM policy must name the same regions however the configuration changes.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REQUIRED_IAM_ACTIONS } from '../../activities/cloudwatch.js';
import { parseBrokerConfig } from '../../broker/config.js';
import { egressPlan } from '../../cli/egress-policy.js';
import { checkIamFile, IamDriftError, iamCommand, renderIamFromFile } from '../../cli/iam-command.js';
import {
  allowedRegions,
  grantedActions,
  iamPermissionsPolicy,
  NEEDS_NO_PERMISSION,
  renderIamPolicyJson,
  type PolicyDocument,
} from '../../cli/iam-policy.js';
import { runCli } from '../../cli/main.js';
import { ConfigError, parseConfig, type TriageConfig } from '../../config/config.js';
import { PROJECT_ROOT } from '../../config/paths.js';

const COMMITTED = join(PROJECT_ROOT, 'deploy/iam/permissions-policy.json');
const EGRESS_POLICY = join(PROJECT_ROOT, 'deploy/base/egress-policy.yaml');
const EXAMPLE_TRIAGE = join(PROJECT_ROOT, 'deploy/overlays/example/triage.yaml');
const EXAMPLE_BROKER = join(PROJECT_ROOT, 'deploy/overlays/example/broker.yaml');

type Doc = Record<string, any>;
const triageDoc = (): Doc => parseYaml(readFileSync(EXAMPLE_TRIAGE, 'utf8'));
const triageOf = (doc: Doc): TriageConfig => parseConfig(doc, { env: {} });
const policyOf = (doc: Doc): PolicyDocument => iamPermissionsPolicy(triageOf(doc));

/** A service with CloudWatch metrics in `region` (or the default region when undefined). */
function cloudwatchService(name: string, region?: string): Doc {
  const metric = {
    label: `${name} 5xx`,
    namespace: 'AWS/ApplicationELB',
    metricName: 'HTTPCode_Target_5XX_Count',
    stat: 'Sum',
    period: '60s',
  };
  return { name, approvers: ['U0ALICE'], cloudwatch: { ...(region ? { region } : {}), metrics: [metric] } };
}

/** The example configuration with its services replaced. */
function withServices(services: Record<string, Doc>, awsRegion?: string): Doc {
  const doc = triageDoc();
  doc.services = services;
  if (awsRegion === undefined) delete doc.aws;
  else doc.aws = { region: awsRegion };
  return doc;
}

describe('the committed deploy/iam/permissions-policy.json', () => {
  /**
   * The configuration the cluster runs with: the one the egress policy names
   * in its header, which test/deploy/egress.test.ts holds to the overlay's
   * ConfigMap (here the example overlay; an installation's own in a fork).
   */
  function deployedConfig(): string {
    const m = /^# {3}npx triage egress --broker-config \S+ --config (\S+) --out <this file>$/m.exec(readFileSync(EGRESS_POLICY, 'utf8'));
    if (!m) throw new Error(`${EGRESS_POLICY} does not name the configuration it was rendered from`);
    return join(PROJECT_ROOT, m[1]!);
  }

  test('is what the deployed configuration renders to (triage iam --check)', () => {
    const config = deployedConfig();
    const rerender = `npx triage iam --config ${relative(PROJECT_ROOT, config)} --out deploy/iam/permissions-policy.json`;
    expect(() => checkIamFile(COMMITTED, renderIamFromFile(config), rerender)).not.toThrow();
  });

  test('in this repository that is the example overlay, whose services read CloudWatch in two regions', () => {
    expect(deployedConfig()).toBe(EXAMPLE_TRIAGE);
    expect(allowedRegions(JSON.parse(readFileSync(COMMITTED, 'utf8')))).toEqual(['eu-west-1', 'us-east-1']);
  });
});

describe('iamPermissionsPolicy: the regions are those the services read CloudWatch in', () => {
  test.each<[string, Doc, string[]]>([
    ['the example: the default region and one service of its own', triageDoc(), ['eu-west-1', 'us-east-1']],
    [
      'every service names its region: the default is not added',
      withServices({ PA: cloudwatchService('a', 'ap-southeast-2'), PB: cloudwatchService('b', 'eu-central-1') }, 'eu-west-1'),
      ['ap-southeast-2', 'eu-central-1'],
    ],
    [
      'no service names one: aws.region',
      withServices({ PA: cloudwatchService('a'), PB: cloudwatchService('b') }, 'eu-north-1'),
      ['eu-north-1'],
    ],
    ['no aws section: the schema default, us-east-1', withServices({ PA: cloudwatchService('a') }), ['us-east-1']],
    [
      'the same region named twice and again as the default: once, sorted',
      withServices(
        {
          PC: cloudwatchService('c', 'us-west-2'),
          PA: cloudwatchService('a', 'eu-west-1'),
          PB: cloudwatchService('b'),
          PD: cloudwatchService('d', 'us-west-2'),
        },
        'eu-west-1',
      ),
      ['eu-west-1', 'us-west-2'],
    ],
    [
      'a service that turns CloudWatch off does not count',
      withServices({ PA: { ...cloudwatchService('a', 'sa-east-1'), surfaces: ['pagerduty'] }, PB: cloudwatchService('b') }, 'eu-west-1'),
      ['eu-west-1'],
    ],
  ])('%s', (_name, doc, regions) => {
    const policy = policyOf(doc);
    expect(policy.Statement).toEqual([
      {
        Sid: 'ReadCloudWatchMetricsInTriageRegions',
        Effect: 'Allow',
        Action: ['cloudwatch:GetMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': regions } },
      },
    ]);
    expect(allowedRegions(policy)).toEqual(regions);
  });

  test('without CloudWatch anywhere the one statement denies it, so the role grants nothing', () => {
    const doc = triageDoc();
    for (const s of Object.values<Doc>(doc.services)) delete s.cloudwatch;
    const policy = policyOf(doc);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'NoServiceReadsCloudWatch', Effect: 'Deny', Action: ['cloudwatch:GetMetricData'], Resource: '*' }],
    });
    expect(allowedRegions(policy)).toEqual([]);
  });

  test('grants the actions the code calls (REQUIRED_IAM_ACTIONS) except those IAM does not evaluate', () => {
    expect(grantedActions()).toEqual(REQUIRED_IAM_ACTIONS.filter((a) => !(a in NEEDS_NO_PERMISSION)).sort());
    expect(grantedActions()).toEqual(['cloudwatch:GetMetricData']);
    for (const a of Object.keys(NEEDS_NO_PERMISSION)) expect(REQUIRED_IAM_ACTIONS).toContain(a);
  });

  test('renders two-space JSON with a final newline, the form the committed file diffs in', () => {
    const text = renderIamPolicyJson(policyOf(triageDoc()));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect(text.split('\n')[1]).toBe('  "Version": "2012-10-17",');
  });

  test.each<[string, (doc: Doc) => void]>([
    ['the example', () => undefined],
    ['a moved default region', (doc) => (doc.aws.region = 'eu-central-1')],
    ['a service in another partition', (doc) => (doc.services.PPAYMENTS.cloudwatch.region = 'cn-north-1')],
    ['CloudWatch turned off for one service', (doc) => (doc.services.PPAYMENTS.surfaces = ['pagerduty', 'kubernetes'])],
  ])('the egress policy opens CloudWatch in exactly the regions IAM allows: %s', (_name, mutate) => {
    const doc = triageDoc();
    mutate(doc);
    const broker = parseBrokerConfig(parseYaml(readFileSync(EXAMPLE_BROKER, 'utf8')), '/etc/broker');
    const egressRegions = egressPlan(broker, triageOf(doc))
      .worker.flatMap((d) => (d.why.startsWith('AWS CloudWatch ') ? [d.why.slice('AWS CloudWatch '.length)] : []))
      .sort();
    expect(allowedRegions(policyOf(doc))).toEqual(egressRegions);
  });
});

describe('triage iam', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'iam-'));
    out = [];
    err = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(`${args.join(' ')}\n`));
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(`${args.join(' ')}\n`));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    iamCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined })
      .parseAsync(args, { from: 'user' });

  /** A configuration file in the temporary directory (JSON is YAML). */
  function configFile(doc: Doc, name = 'triage.yaml'): string {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  test('prints the policy, writes it with --out, and --check accepts what --out wrote', async () => {
    await run('--config', EXAMPLE_TRIAGE);
    expect(out.join('')).toBe(renderIamFromFile(EXAMPLE_TRIAGE));
    const file = join(dir, 'permissions-policy.json');
    out = [];
    await run('--config', EXAMPLE_TRIAGE, '--out', file);
    expect(out.join('')).toBe(`wrote ${file}\n`);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(COMMITTED, 'utf8'));
    out = [];
    await run('--config', EXAMPLE_TRIAGE, '--check', file);
    expect(out.join('')).toBe(`${file} is up to date\n`);
  });

  test('reads the program-wide --config too, and leaves TRIAGE_AWS_REGION out of the render', async () => {
    const saved = process.env.TRIAGE_AWS_REGION;
    process.env.TRIAGE_AWS_REGION = 'ap-south-1';
    try {
      expect(await runCli(['node', 'triage', '--config', EXAMPLE_TRIAGE, 'iam'])).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.TRIAGE_AWS_REGION;
      else process.env.TRIAGE_AWS_REGION = saved;
    }
    expect(out.join('')).toBe(readFileSync(COMMITTED, 'utf8'));
  });

  test('--check names the regions that differ and the command that re-renders, then shows the diff', async () => {
    const doc = triageDoc();
    doc.services.PPAYMENTS.cloudwatch.region = 'ap-northeast-1';
    const config = configFile(doc);
    const error = await run('--config', config, '--check', COMMITTED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IamDriftError);
    const message = (error as Error).message;
    expect(message.split('\n')[0]).toBe(
      `${COMMITTED} allows eu-west-1, us-east-1 but the configuration reads CloudWatch in ap-northeast-1, eu-west-1: ` +
        `run npx triage iam --config ${config} --out deploy/iam/permissions-policy.json`,
    );
    expect(message).toMatch(/^- +"us-east-1"$/m);
    expect(message).toMatch(/^\+ +"ap-northeast-1",$/m);
  });

  test('a drifted file makes the CLI exit 1 with that message', async () => {
    const file = join(dir, 'permissions-policy.json');
    const stale = JSON.parse(readFileSync(COMMITTED, 'utf8')) as PolicyDocument;
    stale.Statement[0]!.Condition!.StringEquals['aws:RequestedRegion'] = ['eu-west-1'];
    writeFileSync(file, `${JSON.stringify(stale, null, 2)}\n`);
    expect(await runCli(['node', 'triage', 'iam', '--config', EXAMPLE_TRIAGE, '--check', file])).toBe(1);
    expect(err.join('').split('\n')[0]).toBe(
      `triage: ${file} allows eu-west-1 but the configuration reads CloudWatch in eu-west-1, us-east-1: ` +
        `run npx triage iam --config deploy/overlays/example/triage.yaml --out ${file}`,
    );
  });

  test('--check says so when the configuration reads no CloudWatch but the file allows it', async () => {
    const doc = triageDoc();
    for (const s of Object.values<Doc>(doc.services)) delete s.cloudwatch;
    await expect(run('--config', configFile(doc), '--check', COMMITTED)).rejects.toThrow(
      `${COMMITTED} allows eu-west-1, us-east-1 but the configuration reads CloudWatch in no region: run`,
    );
  });

  test('--check names the actions when the regions agree but the grants do not', async () => {
    const file = join(dir, 'permissions-policy.json');
    const wider = JSON.parse(readFileSync(COMMITTED, 'utf8')) as PolicyDocument;
    wider.Statement[0]!.Action.push('cloudwatch:ListMetrics');
    writeFileSync(file, `${JSON.stringify(wider, null, 2)}\n`);
    await expect(run('--config', EXAMPLE_TRIAGE, '--check', file)).rejects.toThrow(
      `${file} grants cloudwatch:GetMetricData, cloudwatch:ListMetrics but the code needs cloudwatch:GetMetricData: run`,
    );
  });

  test('--check refuses a file that differs only in formatting, and one that is not JSON', async () => {
    const file = join(dir, 'permissions-policy.json');
    writeFileSync(file, JSON.stringify(JSON.parse(readFileSync(COMMITTED, 'utf8'))));
    await expect(run('--config', EXAMPLE_TRIAGE, '--check', file)).rejects.toThrow(`${file} is not what the configuration renders to: run`);
    writeFileSync(file, '{ "Version": ');
    await expect(run('--config', EXAMPLE_TRIAGE, '--check', file)).rejects.toThrow(`${file} is not valid JSON (`);
  });

  test('--check on a missing file says so', async () => {
    await expect(run('--config', EXAMPLE_TRIAGE, '--check', join(dir, 'nope.json'))).rejects.toThrow(
      /cannot be read \(ENOENT\); render it with/,
    );
  });

  test('--out and --check together are refused', async () => {
    await expect(run('--config', EXAMPLE_TRIAGE, '--out', 'a', '--check', 'b')).rejects.toThrow(/cannot be used with/);
  });

  test.each<[string, () => string, RegExp]>([
    ['a missing file', () => join(dir, 'missing.yaml'), /cannot read configuration file .*missing\.yaml \(ENOENT\)/],
    ['a file that is not YAML', () => (writeFileSync(join(dir, 'bad.yaml'), 'services: [\n'), join(dir, 'bad.yaml')), /is not valid YAML/],
    [
      'a region that is not one',
      () => {
        const doc = triageDoc();
        doc.services.PPAYMENTS.cloudwatch.region = 'us-east-1"]';
        return configFile(doc);
      },
      /services\.PPAYMENTS\.cloudwatch\.region: must be an AWS region/,
    ],
  ])(
    'a bad configuration is a ConfigError that says what is wrong, and the CLI prints it and exits 1: %s',
    async (_name, file, message) => {
      const path = file();
      const error = await run('--config', path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect(await runCli(['node', 'triage', 'iam', '--config', path])).toBe(1);
      expect(err.join('')).toMatch(message);
      expect(out).toEqual([]);
    },
  );
});
