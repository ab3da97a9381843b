import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../workers/config.js';
import { parseDuration } from '../../workers/duration.js';

const valid = {
  services: { PCHKOUT: { name: 'checkout', approvers: ['U0ALICE'], kubernetes: { namespaces: ['checkout'] } } },
};

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
  ])('%s stops start-up with a message naming the setting', (_name, raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
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
