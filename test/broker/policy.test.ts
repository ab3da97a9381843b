import { parseBrokerConfig } from '../../broker/config.js';
import { buildPolicy, decide, describePolicy, formatPolicy } from '../../broker/policy.js';

function policyFor() {
  return buildPolicy(
    parseBrokerConfig(
      {
        auditLog: '/tmp/audit.jsonl',
        providers: {
          github: { appId: '1', installationId: 2, privateKeyFile: 'k.pem', repos: ['acme/checkout', 'Acme/Payments.API'] },
          pagerduty: { clientIdFile: 'id', clientSecretFile: 'secret', account: 'as_account-us.acme' },
          datadog: { apiKeyFile: 'a', appKeyFile: 'b' },
          slack: { botTokenFile: 't' },
        },
      },
      '/etc/broker',
    ),
  );
}

const policy = policyFor();

describe('allowed routes', () => {
  test.each([
    ['GET', '/github/repos/acme/checkout/issues'],
    ['GET', '/github/repos/acme/checkout/issues?labels=a,b&state=all&per_page=100'],
    ['POST', '/github/repos/acme/checkout/issues'],
    ['GET', '/github/repos/acme/checkout/issues/42'],
    ['PATCH', '/github/repos/acme/checkout/issues/42'],
    ['GET', '/github/repos/ACME/CHECKOUT/issues'],
    ['GET', '/github/repos/acme/payments.api/issues'],
    ['GET', '/pagerduty/incidents/Q1CHECKOUT1'],
    ['GET', '/pagerduty/incidents/Q1CHECKOUT1/alerts'],
    ['GET', '/pagerduty/incidents/Q1CHECKOUT1/alerts?limit=100&offset=0&total=true&sort_by=created_at:desc'],
    ['POST', '/datadog/api/v2/query/timeseries'],
    ['GET', '/datadog/api/v1/monitor?monitor_tags=service:checkout&page=0&page_size=100'],
    ['POST', '/datadog/api/v2/logs/events/search'],
    ['POST', '/slack/api/conversations.list'],
    ['POST', '/slack/api/chat.postMessage'],
    ['POST', '/slack/api/chat.update'],
    ['POST', '/slack/api/chat.getPermalink'],
  ])('%s %s', (method, target) => {
    const d = decide(policy, method, target);
    expect(d).toMatchObject({ allowed: true });
  });

  test('the upstream path and query are forwarded exactly as sent', () => {
    const d = decide(policy, 'GET', '/github/repos/ACME/checkout/issues?labels=triage%3Akey&state=all');
    expect(d).toEqual(
      expect.objectContaining({
        allowed: true,
        provider: 'github',
        path: '/repos/ACME/checkout/issues',
        query: 'labels=triage%3Akey&state=all',
      }),
    );
  });
});

describe('denied routes', () => {
  test.each([
    ['DELETE', '/github/repos/acme/checkout/issues/42', 'method not allowed'],
    ['PUT', '/github/repos/acme/checkout/issues', 'method not allowed'],
    ['HEAD', '/github/repos/acme/checkout/issues', 'method not allowed'],
    ['GET', '/github/repos/acme/checkout', 'path not allowed'],
    ['GET', '/github/repos/acme/checkout/pulls', 'path not allowed'],
    ['GET', '/github/user', 'path not allowed'],
    ['POST', '/github/app/installations/7890/access_tokens', 'path not allowed'],
    ['GET', '/github/repos/acme/checkout/issues/42/comments', 'path not allowed'],
    ['GET', '/github/repos/acme/checkout/issues/4a', 'path not allowed'],
    ['GET', '/github/repos/acme/checkout/issues/', 'malformed path'],
    ['GET', '/github/repos/evil/checkout/issues', 'repository not allowlisted'],
    ['POST', '/github/repos/acme/checkout-fork/issues', 'repository not allowlisted'],
    ['GET', '/github/repos/acme/checkout/issues?q=secret', 'query parameter not allowed: q'],
    ['GET', '/github/repos/acme/checkout/issues/42?state=open', 'query parameter not allowed: state'],
    // Read parameters no activity sends are refused too: the policy is exactly as wide as the code.
    ['GET', '/github/repos/acme/checkout/issues?sort=created&direction=desc', 'query parameter not allowed: sort'],
    ['GET', '/github/repos/acme/checkout/issues?page=2', 'query parameter not allowed: page'],
    ['GET', '/pagerduty/incidents/Q1CHECKOUT1?include[]=services', 'query parameter not allowed: include[]'],
    ['GET', '/pagerduty/incidents/Q1CHECKOUT1/alerts?statuses[]=triggered', 'query parameter not allowed: statuses[]'],
    ['GET', '/datadog/api/v1/monitor?name=checkout', 'query parameter not allowed: name'],
    ['GET', '/pagerduty/incidents', 'path not allowed'],
    ['GET', '/pagerduty/incidents/Q1-CHECKOUT', 'path not allowed'],
    ['GET', '/pagerduty/incidents/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456', 'path not allowed'],
    ['PUT', '/pagerduty/incidents/Q1CHECKOUT1', 'method not allowed'],
    ['POST', '/pagerduty/incidents/Q1CHECKOUT1/notes', 'path not allowed'],
    ['GET', '/pagerduty/users', 'path not allowed'],
    ['DELETE', '/datadog/api/v1/monitor', 'method not allowed'],
    ['GET', '/datadog/api/v1/dashboard', 'path not allowed'],
    ['POST', '/slack/api/chat.delete', 'path not allowed'],
    ['GET', '/slack/api/chat.postMessage', 'method not allowed'],
    // Never called by the product: the gateway answers clicks through response_url, not chat.postEphemeral.
    ['POST', '/slack/api/chat.postEphemeral', 'path not allowed'],
    ['POST', '/slack/api/auth.test', 'path not allowed'],
    ['POST', '/slack/api/conversations.info', 'path not allowed'],
    ['GET', '/slack/api/conversations.info?channel=C123', 'path not allowed'],
    // WebClient POSTs; a GET with the arguments in the query is not how the code calls it.
    ['GET', '/slack/api/conversations.list?types=public_channel&limit=200', 'method not allowed'],
    ['POST', '/slack/api/conversations.list?token=xoxb-other', 'query parameter not allowed: token'],
    ['POST', '/slack/api/users.list', 'path not allowed'],
  ])('%s %s → %s', (method, target, reason) => {
    expect(decide(policy, method, target)).toMatchObject({ allowed: false, status: 403, reason });
  });

  test.each([
    ['/github/../pagerduty/incidents/Q1', 'path traversal'],
    ['/github/repos/acme/checkout/../../evil/x/issues', 'path traversal'],
    ['/github/repos/acme/checkout/issues/./42', 'path traversal'],
    ['/github/repos/acme/../issues', 'path traversal'],
    ['/github/repos/acme/%2e%2e/issues', 'encoded characters in path'],
    ['/github/repos/acme%2fcheckout/issues', 'encoded characters in path'],
    ['/github/repos/acme/checkout%2Fissues', 'encoded characters in path'],
    ['/github/repos/acme/checkout/issues%00', 'encoded characters in path'],
    ['/github/repos/acme\\checkout/issues', 'malformed path'],
    ['/github//repos/acme/checkout/issues', 'malformed path'],
    ['/github/repos/acme/checkout/issues#x', 'malformed path'],
    ['http://evil.example/github/repos/acme/checkout/issues', 'malformed request target'],
    ['*', 'malformed request target'],
    ['/github/repos/acme/checkout/issues?labels=<script>', 'malformed query'],
  ])('traversal and encoding tricks: %s', (target, reason) => {
    expect(decide(policy, 'GET', target)).toMatchObject({ allowed: false, status: 403, reason });
  });

  test('a repository name of "." or ".." cannot stand in for an allowlisted one', () => {
    expect(decide(policy, 'GET', '/github/repos/acme/../issues')).toMatchObject({ allowed: false });
    expect(decide(policy, 'GET', '/github/repos/acme/./issues')).toMatchObject({ allowed: false });
  });

  test('unknown and unconfigured providers are 404', () => {
    expect(decide(policy, 'GET', '/aws/anything')).toMatchObject({
      allowed: false,
      status: 404,
      reason: 'unknown provider',
      provider: 'aws',
    });
    expect(decide(policy, 'GET', '/')).toMatchObject({ allowed: false, status: 404, reason: 'unknown provider' });
    const onlySlack = buildPolicy(parseBrokerConfig({ auditLog: 'a', providers: { slack: { botTokenFile: 't' } } }, '/x'));
    expect(decide(onlySlack, 'GET', '/github/repos/acme/checkout/issues')).toMatchObject({
      allowed: false,
      status: 404,
      reason: 'provider not configured',
    });
  });
});

test('no config opens PagerDuty notes: no activity writes them', () => {
  const config = (notes: boolean) => ({
    auditLog: 'a',
    providers: { pagerduty: { clientIdFile: 'id', clientSecretFile: 'secret', account: 'as_account-us.acme', notes } },
  });
  expect(decide(buildPolicy(parseBrokerConfig(config(false), '/x')), 'POST', '/pagerduty/incidents/Q1/notes')).toMatchObject({
    allowed: false,
    reason: 'path not allowed',
  });
  expect(() => parseBrokerConfig(config(true), '/x')).toThrow(/providers\.pagerduty\.notes: no activity writes PagerDuty notes/);
});

test('the policy can be printed for review', () => {
  const lines = describePolicy(policy);
  expect(lines).toContainEqual({
    provider: 'github',
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues',
    query: [],
    repos: ['acme/checkout', 'acme/payments.api'],
  });
  expect(lines.filter((l) => l.provider === 'slack').map((l) => `${l.method} ${l.path}`)).toEqual([
    'POST /api/conversations.list',
    'POST /api/chat.postMessage',
    'POST /api/chat.update',
    'POST /api/chat.getPermalink',
  ]);
  expect(formatPolicy(policy)).toContain(
    'github    GET   /repos/{owner}/{repo}/issues?labels,state,per_page  repos: acme/checkout, acme/payments.api',
  );
});
