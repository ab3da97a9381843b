import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "1h", "2d" or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration ${value}: must be a non-negative number of milliseconds`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new Error(`invalid duration "${value}": use a number with a unit, e.g. 30s, 15m, 1h`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** A configuration setting holding a duration: validated by parseDuration, in milliseconds after parsing. */
export const durationSetting = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
