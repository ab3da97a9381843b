// Pod names, images, event messages and incident titles come from systems an
// attacker may write to. They are copied into findings only through this
// function, so the report never carries terminal escapes, bidi overrides or
// line breaks that could forge structure, and never more than a bounded length.

export const MAX_UNTRUSTED_TEXT = 300;

// Cc: C0/C1 controls and DEL; Cf: bidi overrides, zero-width characters; Cs:
// lone surrogates; Zl/Zp: line and paragraph separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const WHITESPACE_CONTROL = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

/** Printable one-line text of at most `max` UTF-16 units; an ellipsis marks a cut. */
export function cleanText(value: unknown, max: number = MAX_UNTRUSTED_TEXT): string {
  const raw = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  const oneLine = raw.replace(WHITESPACE_CONTROL, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  return truncate(oneLine, Math.min(max, MAX_UNTRUSTED_TEXT));
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  // Never leave half of a surrogate pair at the cut.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}
