import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerConfigError, loadBrokerConfig, loadBrokerConfigFromEnv, parseBrokerConfig } from '../../broker/config.js';

const EXAMPLE = `
listen: { host: 127.0.0.1, port: 8790 }
auditLog: /var/log/broker/broker-audit.jsonl
upstreamTimeout: 30s
providers:
  github:
    upstream: https://api.github.com
    appId: "123456"
    installationId: 7890
    privateKeyFile: /var/run/secrets/broker/github-app.pem
    repos: [acme/checkout]
  pagerduty:
    upstream: https://api.pagerduty.com
    tokenUrl: https://identity.pagerduty.com/oauth/token
    clientIdFile: /var/run/secrets/broker/pagerduty-client-id
    clientSecretFile: /var/run/secrets/broker/pagerduty-client-secret
    account: "as_account-us.acme"
    notes: false
  datadog:
    upstream: https://api.datadoghq.com
    apiKeyFile: secrets/dd-api-key
    appKeyFile: secrets/dd-app-key
  slack:
    upstream: https://slack.com/
    botTokenFile: slack-bot-token
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'broker-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string) {
  const file = join(dir, `broker-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(file, yaml);
  return loadBrokerConfig(file);
}

async function loadError(yaml: string): Promise<string> {
  try {
    await load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(BrokerConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

test('broker/broker.example.yaml is a valid config', () => {
  const config = loadBrokerConfig(join(process.cwd(), 'broker', 'broker.example.yaml'));
  expect(Object.keys(config.providers)).toEqual(['github', 'pagerduty', 'datadog', 'slack']);
  expect(config.providers.pagerduty?.account).toBe('as_account-us.acme');
});

test('the documented example loads; relative secret paths resolve against the config directory', async () => {
  const config = await load(EXAMPLE);
  expect(config).toEqual({
    listen: { host: '127.0.0.1', port: 8790 },
    auditLog: '/var/log/broker/broker-audit.jsonl',
    upstreamTimeoutMs: 30_000,
    maxRequestBodyBytes: 1024 * 1024,
    shutdownGraceMs: 20_000,
    providers: {
      github: {
        upstream: 'https://api.github.com',
        appId: '123456',
        installationId: 7890,
        privateKeyFile: '/var/run/secrets/broker/github-app.pem',
        repos: ['acme/checkout'],
      },
      pagerduty: {
        upstream: 'https://api.pagerduty.com',
        tokenUrl: 'https://identity.pagerduty.com/oauth/token',
        clientIdFile: '/var/run/secrets/broker/pagerduty-client-id',
        clientSecretFile: '/var/run/secrets/broker/pagerduty-client-secret',
        account: 'as_account-us.acme',
        notes: false,
      },
      datadog: {
        upstream: 'https://api.datadoghq.com',
        apiKeyFile: join(dir, 'secrets/dd-api-key'),
        appKeyFile: join(dir, 'secrets/dd-app-key'),
      },
      slack: { upstream: 'https://slack.com', botTokenFile: join(dir, 'slack-bot-token') },
    },
  });
});

test('defaults: loopback:8790, 30s, public upstreams, no providers', () => {
  const config = parseBrokerConfig({ auditLog: 'audit.jsonl', providers: { slack: { botTokenFile: 't' } } }, '/etc/broker');
  expect(config.listen).toEqual({ host: '127.0.0.1', port: 8790 });
  expect(config.upstreamTimeoutMs).toBe(30_000);
  expect(config.auditLog).toBe('/etc/broker/audit.jsonl');
  expect(config.providers).toEqual({ slack: { upstream: 'https://slack.com', botTokenFile: '/etc/broker/t' } });
});

test.each([
  ['upstreamTimeout: soon', 'upstreamTimeout: invalid duration'],
  [
    'providers: { github: { appId: "1", installationId: 2, privateKeyFile: k, repos: [acme] } }',
    'providers.github.repos[0]: must be owner/repo',
  ],
  [
    'providers: { github: { appId: "1", installationId: 2, privateKeyFile: k, repos: [] } }',
    'providers.github.repos: list at least one owner/repo',
  ],
  ['providers: { github: { appId: "1", installationId: 2, privateKeyfile: k, repos: [a/b] } }', 'providers.github'],
  [
    'providers: { github: { appId: "1", installationId: 2, privateKeyFile: k, repos: [a/b], upstream: "http://api.github.com" } }',
    'providers.github.upstream: must be https',
  ],
  [
    'providers: { slack: { botTokenFile: t, upstream: "https://user:pw@slack.com" } }',
    'providers.slack.upstream: must not carry credentials',
  ],
  [
    'providers: { pagerduty: { clientIdFile: a, clientSecretFile: b, account: acme } }',
    'providers.pagerduty.account: must be as_account-<region>.<subdomain>',
  ],
  ['providers: { datadog: { apiKeyFile: a } }', 'providers.datadog.appKeyFile'],
  ['providers: { jira: { token: x } }', 'providers'],
  ['listen: { host: 0.0.0.0 }', 'callers: required when listen.host is not a loopback address'],
  ['callers: { audience: keyless-triage-broker, serviceAccounts: [keyless-triage] }', 'callers.serviceAccounts[0]: must be namespace/name'],
  ['callers: { audience: "", serviceAccounts: [a/b] }', 'callers.audience'],
  ['listen: { port: 70000 }', 'listen.port'],
])('%s → names the setting', async (fragment, expected) => {
  const message = await loadError(`auditLog: audit.jsonl\n${fragment}\n`);
  expect(message).toContain(expected);
});

test('a missing auditLog is named', async () => {
  expect(await loadError('providers: {}\n')).toContain('auditLog');
});

test('http upstreams are accepted for loopback only (the sandbox)', () => {
  const config = parseBrokerConfig(
    { auditLog: 'a', providers: { slack: { botTokenFile: 't', upstream: 'http://127.0.0.1:4010/slack/' } } },
    '/x',
  );
  expect(config.providers.slack?.upstream).toBe('http://127.0.0.1:4010/slack');
});

test('BROKER_CONFIG is required', () => {
  expect(() => loadBrokerConfigFromEnv({})).toThrow('BROKER_CONFIG is not set');
});

test('an unreadable config file is reported with its path', () => {
  expect(() => loadBrokerConfig(join(dir, 'nope.yaml'))).toThrow(`cannot read broker config ${join(dir, 'nope.yaml')} (ENOENT)`);
});
