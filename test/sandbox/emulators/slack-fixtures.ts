// Shared by the Slack emulator tests: the scenario's workspace, a card shaped
// like the triage app's, and a WebClient that fails fast instead of retrying.
import { randomBytes } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from '../../../sandbox/emulators/slack.js';

export const BOT_TOKEN = `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
export const SIGNING_SECRET = randomBytes(16).toString('hex');
export const USERS = [
  { id: 'U0ALICE', name: 'alice' },
  { id: 'U0BOB', name: 'bob' },
  { id: 'U0MALLORY', name: 'mallory' },
];
export const CHANNELS = [{ name: 'checkout-oncall' }, { name: 'incidents' }];

export const silentLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel() {
    return 'error' as never;
  },
  setName() {},
};

export function slackEmulator(extra: Partial<SlackEmulatorOptions> = {}): Promise<SlackEmulator> {
  return startSlackEmulator({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, channels: CHANNELS, users: USERS, ...extra });
}

/** `token: null` sends no Authorization header. */
export function webClient(
  url: string,
  token: string | null = BOT_TOKEN,
  extra: ConstructorParameters<typeof WebClient>[1] = {},
): WebClient {
  return new WebClient(token ?? undefined, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 }, logger: silentLogger, ...extra });
}

/** An approval card as the triage app posts it: header, findings, Approve (with a confirm) and Reject. */
export function approvalCard(title = 'checkout-api 5xx rate above 5%') {
  return {
    text: `Triage ready: ${title}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*CrashLoopBackOff* after rollout to revision 7 — <https://pd.example/incidents/Q1|PagerDuty>' },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Service*\ncheckout' },
          { type: 'mrkdwn', text: '*Urgency*\nhigh' },
        ],
      },
      { type: 'divider' },
      {
        type: 'actions',
        block_id: 'triage_decision',
        elements: [
          {
            type: 'button',
            action_id: 'triage_approve',
            text: { type: 'plain_text', text: 'Approve' },
            style: 'primary',
            value: 'approve:plan-hash-1',
            confirm: {
              title: { type: 'plain_text', text: 'File the GitHub issue?' },
              text: { type: 'mrkdwn', text: 'This files an issue in *acme/checkout*.' },
              confirm: { type: 'plain_text', text: 'Approve' },
              deny: { type: 'plain_text', text: 'Cancel' },
            },
          },
          {
            type: 'button',
            action_id: 'triage_reject',
            text: { type: 'plain_text', text: 'Reject' },
            style: 'danger',
            value: 'reject:plan-hash-1',
          },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'triage-Q1CHECKOUT1' }] },
    ],
  };
}

export async function eventually<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
