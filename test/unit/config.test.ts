import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../workers/config.js';
import { parseDuration } from '../../workers/duration.js';

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
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'keyless-triage', uiUrl: 'http://127.0.0.1:8233' });
    expect(config.approval).toEqual({ reminderAfterMs: 15 * 60_000, expireAfterMs: 60 * 60_000 });
    expect(config.retry).toEqual({ maximumAttempts: 5, initialIntervalMs: 1000, maximumIntervalMs: 30_000 });
  });

  test.each([
    ['a broker URL that is not a URL', { ...valid, broker: { url: 'localhost 8790' } }, 'broker.url: must be an http(s) URL'],
    ['no approvers', { ...valid, services: { PCHKOUT: { name: 'checkout', approvers: [] } } }, 'services.PCHKOUT.approvers: list at least one approver'],
    ['a bad namespace', { ...valid, services: { PCHKOUT: { name: 'c', approvers: ['U1'], kubernetes: { namespaces: ['Bad_NS'] } } } }, 'services.PCHKOUT.kubernetes.namespaces.0'],
    ['a bad duration', { ...valid, approval: { reminderAfter: 'soon', expireAfter: '1h' } }, 'approval.reminderAfter: invalid duration "soon"'],
    ['expiry before reminder', { ...valid, approval: { reminderAfter: '1h', expireAfter: '5m' } }, 'expireAfter must be longer than reminderAfter'],
    ['a bad Temporal address', { ...valid, temporal: { address: 'not an address' } }, 'temporal.address: must be host:port'],
    ['an unknown top-level key', { ...valid, temporl: {} }, 'temporl'],
    ['no services', { ...valid, services: {} }, 'configure at least one PagerDuty service'],
    ['a CloudWatch statistic AWS does not compute here', withMetrics({ stat: 'p99' }), 'services.PCHKOUT.cloudwatch.metrics.0.stat'],
    ['a CloudWatch period that is not whole minutes', withMetrics({ period: '90s' }), 'must be 1s, 5s, 10s, 30s or a whole number of minutes'],
    ['a unit CloudWatch does not know', withMetrics({ unit: 'Furlongs' }), 'services.PCHKOUT.cloudwatch.metrics.0.unit'],
    ['a bad AWS region', { ...valid, aws: { region: 'Ireland' } }, 'aws.region: must be an AWS region'],
    ['a dependency name with spaces', withMetrics({ dependency: 'orders db' }), 'services.PCHKOUT.cloudwatch.metrics.0.dependency'],
  ])('%s stops start-up with a message naming the setting', (_name, raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  test('CloudWatch and Datadog settings get defaults; the region comes from aws.region or AWS_REGION', () => {
    const raw = {
      ...withMetrics({ dimensions: { LoadBalancer: 'app/checkout/1' } }),
      aws: { region: 'eu-west-1' },
    };
    const svc = { ...raw.services.PCHKOUT, datadog: { queries: [{ label: 'errors', query: 'sum:errors{service:checkout}', dependency: 'orders-db' }] } };
    const config = parseConfig({ ...raw, services: { PCHKOUT: svc } });
    expect(config.services.PCHKOUT?.cloudwatch?.metrics[0]).toMatchObject({ stat: 'Average', period: 60_000, dimensions: { LoadBalancer: 'app/checkout/1' } });
    expect(config.services.PCHKOUT?.datadog).toEqual({ queries: [{ label: 'errors', query: 'sum:errors{service:checkout}', dependency: 'orders-db' }], monitorTags: [] });
    expect(config.aws).toEqual({ region: 'eu-west-1' });
    expect(parseConfig(raw, { env: { AWS_REGION: 'us-west-2' } }).aws.region).toBe('us-west-2');
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

  test.each(['', '10', '5 minutes', '-1s', 'm'])('"%s" is refused', (input) => expect(() => parseDuration(input)).toThrow(/invalid duration/));
});
