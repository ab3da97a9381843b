// The names configuration is written in, shared with the worker's evidence
// model so a configured value is one the activities understand.

/** The evidence surfaces, one activity each. */
export const SURFACES = ['pagerduty', 'kubernetes', 'cloudwatch', 'datadog'] as const;
export type SurfaceName = (typeof SURFACES)[number];

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
