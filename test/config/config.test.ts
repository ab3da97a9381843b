import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig, temporalSettingsFromEnv } from '../../config/config.js';
import { parseDuration } from '../../config/duration.js';
import { activitiesFrom } from '../../workers/worker.js';
import { emulatorKubeConfig } from '../sandbox/emulators/kubernetes-client.js';

const valid = {
  services: { PCHKOUT: { name: 'checkout', approvers: ['U0ALICE'], kubernetes: { namespaces: ['checkout'] } } },
};

function withMetrics(metric: Record<string, unknown>) {
  const base = { label: 'p99', namespace: 'AWS/ApplicationELB', metricName: 'TargetResponseTime' };
  return { ...valid, services: { PCHKOUT: { ...valid.services.PCHKOUT, cloudwatch: { metrics: [{ ...base, ...metric }] } } } };
}

describe('configuration', () => {
  test('defaults fill what is not set', () => {
    const config = parseConfig(valid);
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'keyless-triage',
      uiUrl: 'http://127.0.0.1:8233',
    });
    // Only Slack, whose approver the gateway takes from a signed click, may decide unless configured otherwise.
    expect(config.approval).toEqual({ reminderAfterMs: 15 * 60_000, expireAfterMs: 60 * 60_000, channels: ['slack'] });
    expect(config.retry).toEqual({ maximumAttempts: 5, initialIntervalMs: 1000, maximumIntervalMs: 30_000 });
  });

  test.each([
    ['a broker URL that is not a URL', { ...valid, broker: { url: 'localhost 8790' } }, 'broker.url: must be an http(s) URL'],
    [
      'a broker off loopback without the token to show it',
      { ...valid, broker: { url: 'http://keyless-triage-broker.keyless-triage.svc:8790' } },
      'broker.tokenFile: required when the broker is not on loopback',
    ],
    [
      'no approvers',
      { ...valid, services: { PCHKOUT: { name: 'checkout', approvers: [] } } },
      'services.PCHKOUT.approvers: list at least one approver',
    ],
    [
      'a bad namespace',
      { ...valid, services: { PCHKOUT: { name: 'c', approvers: ['U1'], kubernetes: { namespaces: ['Bad_NS'] } } } },
      'services.PCHKOUT.kubernetes.namespaces.0',
    ],
    [
      'a bad duration',
      { ...valid, approval: { reminderAfter: 'soon', expireAfter: '1h' } },
      'approval.reminderAfter: invalid duration "soon"',
    ],
    [
      'expiry before reminder',
      { ...valid, approval: { reminderAfter: '1h', expireAfter: '5m' } },
      'expireAfter must be longer than reminderAfter',
    ],
    [
      'an unknown approval channel',
      { ...valid, approval: { reminderAfter: '15m', expireAfter: '1h', channels: ['email'] } },
      'approval.channels.0',
    ],
    [
      'no approval channel',
      { ...valid, approval: { reminderAfter: '15m', expireAfter: '1h', channels: [] } },
      'list at least one of slack, cli',
    ],
    [
      'a misspelt approval setting, which would otherwise leave the default in place',
      { ...valid, services: { PCHKOUT: { ...valid.services.PCHKOUT, approval: { channel: ['cli'] } } } },
      'services.PCHKOUT.approval',
    ],
    [
      "a service's expiry before the global reminder it inherits",
      {
        ...valid,
        approval: { reminderAfter: '30m', expireAfter: '2h' },
        services: { PCHKOUT: { ...valid.services.PCHKOUT, approval: { expireAfter: '20m' } } },
      },
      'services.PCHKOUT.approval.expireAfter: expireAfter must be longer than reminderAfter',
    ],
    ['a bad Temporal address', { ...valid, temporal: { address: 'not an address' } }, 'temporal.address: must be host:port'],
    ['an unknown top-level key', { ...valid, temporl: {} }, 'temporl'],
    ['no services', { ...valid, services: {} }, 'configure at least one PagerDuty service'],
    ['a CloudWatch statistic AWS does not compute here', withMetrics({ stat: 'p99' }), 'services.PCHKOUT.cloudwatch.metrics.0.stat'],
    [
      'a CloudWatch period that is not whole minutes',
      withMetrics({ period: '90s' }),
      'must be 1s, 5s, 10s, 30s or a whole number of minutes',
    ],
    ['a unit CloudWatch does not know', withMetrics({ unit: 'Furlongs' }), 'services.PCHKOUT.cloudwatch.metrics.0.unit'],
    ['a bad AWS region', { ...valid, aws: { region: 'Ireland' } }, 'aws.region: must be an AWS region'],
    ['a dependency name with spaces', withMetrics({ dependency: 'orders db' }), 'services.PCHKOUT.cloudwatch.metrics.0.dependency'],
  ])('%s stops start-up with a message naming the setting', (_name, raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  test('CloudWatch and Datadog settings get defaults; the region comes from aws.region or TRIAGE_AWS_REGION', () => {
    const raw = {
      ...withMetrics({ dimensions: { LoadBalancer: 'app/checkout/1' } }),
      aws: { region: 'eu-west-1' },
    };
    const svc = {
      ...raw.services.PCHKOUT,
      datadog: { queries: [{ label: 'errors', query: 'sum:errors{service:checkout}', dependency: 'orders-db' }] },
    };
    const config = parseConfig({ ...raw, services: { PCHKOUT: svc } });
    expect(config.services.PCHKOUT?.cloudwatch?.metrics[0]).toMatchObject({
      stat: 'Average',
      period: 60_000,
      dimensions: { LoadBalancer: 'app/checkout/1' },
    });
    expect(config.services.PCHKOUT?.datadog).toEqual({
      queries: [{ label: 'errors', query: 'sum:errors{service:checkout}', dependency: 'orders-db' }],
      monitorTags: [],
    });
    expect(config.aws).toEqual({ region: 'eu-west-1' });
    expect(parseConfig(raw, { env: { TRIAGE_AWS_REGION: 'us-west-2' } }).aws.region).toBe('us-west-2');
    // EKS injects AWS_REGION into every container; it must not move the configured metrics.
    expect(parseConfig(raw, { env: { AWS_REGION: 'us-west-2' } }).aws.region).toBe('eu-west-1');
  });

  test("a service's approval settings override the global ones one by one, and the worker's scope gets the result", async () => {
    const raw = {
      ...valid,
      approval: { reminderAfter: '10m', expireAfter: '1h', channels: ['slack', 'cli'] },
      services: {
        PCHKOUT: { ...valid.services.PCHKOUT, approval: { channels: ['slack'] } },
        PSEARCH: { name: 'search', approvers: ['U0BOB'], approval: { expireAfter: '4h' } },
        PPAY: { name: 'payments', approvers: ['U0BOB'] },
      },
    };
    const { resolveScope } = activitiesFrom(parseConfig(raw), emulatorKubeConfig('https://127.0.0.1:1', 'unused'));
    expect((await resolveScope('PCHKOUT')).approval).toEqual({ reminderAfterMs: 600_000, expireAfterMs: 3_600_000, channels: ['slack'] });
    expect((await resolveScope('PSEARCH')).approval).toEqual({
      reminderAfterMs: 600_000,
      expireAfterMs: 4 * 3_600_000,
      channels: ['slack', 'cli'],
    });
    expect((await resolveScope('PPAY')).approval.channels).toEqual(['slack', 'cli']);
  });

  test('environment variables override the file', () => {
    const config = parseConfig(valid, { env: { TEMPORAL_ADDRESS: 'temporal.internal:7233', TRIAGE_BROKER_URL: 'http://127.0.0.1:9000/' } });
    expect(config.temporal.address).toBe('temporal.internal:7233');
    expect(config.broker.url).toBe('http://127.0.0.1:9000');
  });

  test('relative paths are relative to the file; unreadable files and bad YAML are named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const file = join(dir, 'triage.yaml');
    writeFileSync(file, 'kubernetes:\n  kubeconfig: kube/config\nservices:\n  PCHKOUT: { name: checkout, approvers: [U0ALICE] }\n');
    expect(loadConfig(file, {}).kubernetes.kubeconfig).toBe(join(dir, 'kube/config'));
    expect(() => loadConfig(join(dir, 'missing.yaml'), {})).toThrow(/cannot read configuration file .*missing.yaml \(ENOENT\)/);
    writeFileSync(file, 'services: [\n');
    expect(() => loadConfig(file, {})).toThrow(/not valid YAML/);
  });
});

describe('durations', () => {
  test.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    [250, 250],
  ])('%s → %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  test.each(['', '10', '5 minutes', '-1s', 'm'])('"%s" is refused', (input) =>
    expect(() => parseDuration(input)).toThrow(/invalid duration/),
  );
});

describe('temporal connection settings', () => {
  const withTemporal = (temporal: Record<string, unknown>) => ({ ...valid, temporal });
  const pair = { certFile: '/var/run/secrets/temporal/tls.crt', keyFile: '/var/run/secrets/temporal/tls.key' };

  test('TLS is off unless asked for; `true` means the system roots; an API key turns it on', () => {
    expect(parseConfig(valid).temporal.tls).toBeUndefined();
    expect(parseConfig(withTemporal({ tls: false })).temporal.tls).toBeUndefined();
    expect(parseConfig(withTemporal({ tls: true })).temporal.tls).toEqual({});
    const cloud = parseConfig(
      withTemporal({ address: 'eu-west-1.aws.api.temporal.io:7233', namespace: 'triage.a1b2c', apiKeyFile: '/keys/temporal' }),
    ).temporal;
    expect(cloud).toMatchObject({ tls: {}, apiKeyFile: '/keys/temporal' });
    const mtls = parseConfig(
      withTemporal({ address: 'triage.a1b2c.tmprl.cloud:7233', namespace: 'triage.a1b2c', tls: { ...pair, expiryWarning: '2h' } }),
    ).temporal;
    expect(mtls.tls).toEqual({ ...pair, expiryWarning: 7_200_000 });
  });

  test('credential paths are relative to the configuration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const file = join(dir, 'triage.yaml');
    writeFileSync(
      file,
      'temporal:\n  tls: { certFile: tls/tls.crt, keyFile: tls/tls.key, caFile: /etc/ca.crt }\nservices:\n  PCHKOUT: { name: checkout, approvers: [U0ALICE] }\n',
    );
    expect(loadConfig(file, {}).temporal.tls).toEqual({
      certFile: join(dir, 'tls/tls.crt'),
      keyFile: join(dir, 'tls/tls.key'),
      caFile: '/etc/ca.crt',
    });
    writeFileSync(file, 'temporal:\n  apiKeyFile: keys/temporal\nservices:\n  PCHKOUT: { name: checkout, approvers: [U0ALICE] }\n');
    expect(loadConfig(file, {}).temporal.apiKeyFile).toBe(join(dir, 'keys/temporal'));
  });

  test("the Temporal CLI's environment variables for TLS files, and TEMPORAL_API_KEY_FILE, override the file", () => {
    const env = {
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/tls/tls.crt',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/tls/tls.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/tls/ca.crt',
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
    };
    expect(parseConfig(withTemporal({ tls: true }), { env }).temporal.tls).toEqual({
      certFile: '/tls/tls.crt',
      keyFile: '/tls/tls.key',
      caFile: '/tls/ca.crt',
      serverName: 'frontend.temporal.internal',
    });
    // A file path from the environment turns TLS on, as in the Temporal CLI.
    expect(parseConfig(valid, { env: { TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/tls/ca.crt' } }).temporal.tls).toEqual({
      caFile: '/tls/ca.crt',
    });
    expect(parseConfig(valid, { env: { TEMPORAL_API_KEY_FILE: '/keys/temporal' } }).temporal).toMatchObject({
      tls: {},
      apiKeyFile: '/keys/temporal',
    });
  });

  test('TEMPORAL_TLS=true keeps the file’s TLS settings; false turns TLS off', () => {
    expect(parseConfig(withTemporal({ tls: { caFile: '/tls/ca.crt' } }), { env: { TEMPORAL_TLS: 'true' } }).temporal.tls).toEqual({
      caFile: '/tls/ca.crt',
    });
    expect(parseConfig(valid, { env: { TEMPORAL_TLS: 'true' } }).temporal.tls).toEqual({});
    expect(parseConfig(withTemporal({ tls: { caFile: '/tls/ca.crt' } }), { env: { TEMPORAL_TLS: 'false' } }).temporal.tls).toBeUndefined();
    expect(() => parseConfig(valid, { env: { TEMPORAL_TLS: 'maybe' } })).toThrow('TEMPORAL_TLS must be true or false, not "maybe"');
  });

  test.each(['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA', 'TEMPORAL_TLS_CLIENT_CERT_DATA', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'])(
    '%s (inline credential material) is refused, not ignored, and not echoed',
    (name) => {
      const run = () => parseConfig(valid, { env: { [name]: 'inline-secret-value' } });
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(new RegExp(`^${name} is set, but credentials are never taken from the environment: .*_(PATH|FILE)`));
      expect(run).not.toThrow(/inline-secret-value/);
    },
  );

  test.each([
    ['a key without a certificate', { tls: { keyFile: pair.keyFile } }, 'temporal.tls.certFile: keyFile is set but certFile is not'],
    ['a certificate without a key', { tls: { certFile: pair.certFile } }, 'temporal.tls.keyFile: certFile is set but keyFile is not'],
    ['mTLS and an API key at once', { tls: pair, apiKeyFile: '/keys/temporal' }, 'temporal.apiKeyFile: choose one client credential'],
    ['an API key over plaintext', { tls: false, apiKeyFile: '/keys/temporal' }, 'temporal.tls: tls is false but apiKeyFile is set'],
    [
      'Temporal Cloud without a credential',
      { address: 'triage.a1b2c.tmprl.cloud:7233', namespace: 'triage.a1b2c' },
      'temporal.address: triage.a1b2c.tmprl.cloud:7233 is Temporal Cloud',
    ],
    [
      'a client certificate on the regional API-key endpoint',
      { address: 'us-east-1.aws.api.temporal.io:7233', namespace: 'triage.a1b2c', tls: pair },
      'for mTLS use the namespace endpoint',
    ],
    [
      'a Cloud namespace without its account',
      { address: 'triage.a1b2c.tmprl.cloud:7233', namespace: 'triage', tls: pair },
      'temporal.namespace: a Temporal Cloud namespace is written <namespace>.<account>',
    ],
    ['PEM content instead of a path', { tls: { certPem: '-----BEGIN CERTIFICATE-----' } }, 'temporal.tls: Unrecognized key: "certPem"'],
    ['a server name that is not a DNS name', { tls: { serverName: 'not a name' } }, 'temporal.tls.serverName: must be a DNS name'],
    ['a bad expiry warning', { tls: { ...pair, expiryWarning: 'soon' } }, 'temporal.tls.expiryWarning: invalid duration'],
  ])('%s is refused with a message naming the setting', (_name, temporal, message) => {
    expect(() => parseConfig(withTemporal(temporal))).toThrow(ConfigError);
    expect(() => parseConfig(withTemporal(temporal))).toThrow(message);
  });

  test('without a configuration file, the same variables and checks apply (the CLI), paths relative to the working directory', () => {
    expect(temporalSettingsFromEnv({}, '/work')).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'keyless-triage',
      uiUrl: 'http://127.0.0.1:8233',
    });
    const cloud = temporalSettingsFromEnv(
      {
        TEMPORAL_ADDRESS: 'triage.a1b2c.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'triage.a1b2c',
        TEMPORAL_TLS_CLIENT_CERT_PATH: 'tls/tls.crt',
        TEMPORAL_TLS_CLIENT_KEY_PATH: '/tls/tls.key',
      },
      '/work',
    );
    expect(cloud).toMatchObject({
      address: 'triage.a1b2c.tmprl.cloud:7233',
      tls: { certFile: '/work/tls/tls.crt', keyFile: '/tls/tls.key' },
    });
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CLIENT_KEY_PATH: '/tls/tls.key' })).toThrow(
      'temporal.tls.certFile: keyFile is set but certFile is not',
    );
    expect(() => temporalSettingsFromEnv({ TEMPORAL_API_KEY: 'inline' })).toThrow(
      'TEMPORAL_API_KEY is set, but credentials are never taken from the environment',
    );
  });
});
