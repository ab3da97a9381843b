// Text from outside (incident titles, event messages, log lines, failure
// messages) is shown as one printable, bounded line wherever it lands: the
// Temporal Web UI, logs, the CLI, a card or an issue. This is the one
// definition of that line; the escapers for each output format build on it.

export const ELLIPSIS = '…';

// Cc: C0/C1 controls and DEL (terminal escapes lose their ESC). Cf: bidi
// embeddings, overrides and isolates, zero-width spaces and joiners, soft
// hyphens, tag characters. Cs: lone surrogates (not valid UTF-8, and JSON
// encoders disagree on them). Zl/Zp: line and paragraph separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
// Turned into a space first, so words on either side of a line break stay apart.
const LINE_BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return String(value);
}

/** Printable one-line text: line breaks become spaces, invisible characters go, runs of spaces collapse. */
export function printableLine(value: unknown): string {
  return asText(value).replace(LINE_BREAKS, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
}

/** At most `max` UTF-16 units; an ellipsis marks a cut, which never leaves half of a surrogate pair. */
export function cutToLength(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}${ELLIPSIS}`;
}

/** Printable one line of at most `max` UTF-16 units, for bounds other than the analyzers' (Block Kit fields, evidence). */
export function boundedLine(value: unknown, max: number): string {
  return cutToLength(printableLine(value), max);
}
