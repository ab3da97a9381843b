// The names configuration is written in, shared with the worker's evidence
// model so a configured value is one the activities understand.

/** The evidence surfaces, one activity each. */
export const SURFACES = ['pagerduty', 'kubernetes', 'cloudwatch', 'datadog'] as const;
export type SurfaceName = (typeof SURFACES)[number];

/**
 * Where a person may approve or reject a write plan: the Slack card's buttons
 * (the gateway checks Slack's signature, so the approver is the Slack user who
 * clicked) or `triage approve|reject` (whose `--as` names anyone the person
 * with Temporal access chooses).
 */
export const APPROVAL_CHANNELS = ['slack', 'cli'] as const;
export type ApprovalChannel = (typeof APPROVAL_CHANNELS)[number];
/** Only the channel whose approver is authenticated by someone other than the sender. */
export const DEFAULT_APPROVAL_CHANNELS: readonly ApprovalChannel[] = ['slack'];

const CHANNEL_NAMES: Readonly<Record<ApprovalChannel, string>> = { slack: 'Slack', cli: 'the triage CLI' };

/** "Slack" or "the triage CLI"; undefined for anything else, such as the missing channel of an older decision. */
export function channelName(channel: unknown): string | undefined {
  return typeof channel === 'string' && Object.hasOwn(CHANNEL_NAMES, channel) ? CHANNEL_NAMES[channel as ApprovalChannel] : undefined;
}

/** " via Slack", " via the triage CLI", or nothing for a decision recorded before channels were. */
export function viaChannel(channel: unknown): string {
  const name = channelName(channel);
  return name ? ` via ${name}` : '';
}

/** The CloudWatch statistics both AWS and moto compute; percentiles are left out for that reason. */
export const CLOUDWATCH_STATS = ['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount'] as const;
export type CloudWatchStat = (typeof CLOUDWATCH_STATS)[number];

/** CloudWatch's StandardUnit values. */
export const CLOUDWATCH_UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;
export type CloudWatchUnit = (typeof CLOUDWATCH_UNITS)[number];
