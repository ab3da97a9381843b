// Slack request timestamps, checked before Bolt sees the request. Bolt verifies
// the v0 signature and refuses timestamps older than its 5-minute replay
// window, but accepts any timestamp in the future: a request signed with a
// far-future timestamp (a leaked or pre-computed signature) would then be
// replayable for as long as that future lasts. We bound the skew ourselves.
import { createHmac } from 'node:crypto';

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';

/** Bolt's replay window; mirrored here only to name the outcome in our logs. */
export const SLACK_REPLAY_WINDOW_SECONDS = 5 * 60;

/** Clock skew tolerated for timestamps ahead of ours; Slack's clocks are NTP-synced, as ours are. */
export const SLACK_MAX_FUTURE_SKEW_SECONDS = 60;

export type SlackTimestampVerdict = 'ok' | 'missing' | 'malformed' | 'future' | 'expired';

// Slack sends whole Unix seconds. Bolt would also take "1.7e9" or " 17… ",
// which no genuine request carries, so anything else is refused up front.
const UNIX_SECONDS = /^\d{1,12}$/;

export function slackTimestampVerdict(header: string | undefined, nowMs: number): SlackTimestampVerdict {
  if (header === undefined || header === '') return 'missing';
  if (!UNIX_SECONDS.test(header)) return 'malformed';
  const ts = Number(header);
  const now = Math.floor(nowMs / 1000);
  if (ts > now + SLACK_MAX_FUTURE_SKEW_SECONDS) return 'future';
  if (ts < now - SLACK_REPLAY_WINDOW_SECONDS) return 'expired';
  return 'ok';
}

/**
 * The `X-Slack-Signature` Slack would send for `rawBody` at `timestamp`: for
 * the sandbox's Slack page and the demo, which must sign exactly as Slack does.
 */
export function signSlackRequest(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}
