// The scenario's optional `slack` section: the sandbox workspace's channels and users.
import { fileURLToPath } from 'node:url';
import { ScenarioError, loadScenario, parseScenario } from '../../../sandbox/scenario.js';

const CRASHLOOP = fileURLToPath(new URL('../../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));

const withSlack = (slack: string) => `
name: tiny
description: smallest valid scenario
pagerduty:
  incident:
    id: PABC123
    incident_number: 1
    title: something broke
    status: triggered
    urgency: high
    created_at: \${now-12m}
    html_url: https://example.pagerduty.com/incidents/PABC123
    service: { id: PSVC1, summary: svc }
${slack}`;

function errorOf(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

test('the crashloop scenario: #checkout-oncall and #incidents; alice, bob and mallory', async () => {
  expect((await loadScenario(CRASHLOOP)).slack).toEqual({
    channels: [{ name: 'checkout-oncall' }, { name: 'incidents' }],
    users: [
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0BOB', name: 'bob' },
      { id: 'U0MALLORY', name: 'mallory' },
    ],
  });
});

test('is optional', () => {
  expect(parseScenario(withSlack('')).slack).toBeUndefined();
});

test.each([
  ['a "#" in a channel name', 'slack:\n  channels: [{ name: "#incidents" }]\n  users: [{ id: U0A1, name: a }]\n', 'slack.channels[0].name'],
  ['an upper-case channel name', 'slack:\n  channels: [{ name: Incidents }]\n  users: [{ id: U0A1, name: a }]\n', 'slack.channels[0].name'],
  [
    'a user id that is not U…/W…',
    'slack:\n  channels: [{ name: incidents }]\n  users: [{ id: alice, name: alice }]\n',
    'slack.users[0].id',
  ],
  ['no channels', 'slack:\n  channels: []\n  users: [{ id: U0A1, name: a }]\n', 'slack.channels'],
  [
    'a duplicate channel',
    'slack:\n  channels: [{ name: incidents }, { name: incidents }]\n  users: [{ id: U0A1, name: a }]\n',
    'slack.channels[1].name',
  ],
  [
    'a duplicate user id',
    'slack:\n  channels: [{ name: incidents }]\n  users: [{ id: U0A1, name: a }, { id: U0A1, name: b }]\n',
    'slack.users[1].id',
  ],
  [
    'a duplicate username',
    'slack:\n  channels: [{ name: incidents }]\n  users: [{ id: U0A1, name: a }, { id: U0A2, name: a }]\n',
    'slack.users[1].name',
  ],
  ['an unknown key', 'slack:\n  channels: [{ name: incidents, private: true }]\n  users: [{ id: U0A1, name: a }]\n', 'slack.channels[0]'],
])('refuses %s, naming the field', (_what, section, path) => {
  const err = errorOf(() => parseScenario(withSlack(section)));
  expect(err.issues.map((i) => i.path)).toContain(path);
});
