// The broker ships as its own container image, so it carries its own small
// parsers instead of importing the worker's modules.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "5m", "1h" or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`must be a non-negative number of milliseconds, got ${value}`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw new Error(`must be a duration such as 500ms, 30s or 5m, got "${value}"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}
