// Incident titles, service names, pod and image names, event messages, log
// lines, approver ids and comments come from systems an attacker may write to.
// Everything that copies such text into evidence, findings, the GitHub issue or
// a Slack message goes through this module, so there is one definition of
// "printable, one line, redacted, bounded" and one escaping per output format.
//
// Four layers, applied in this order:
//   1. printableLine (config/printable-text.ts): no control, bidi, zero-width or line-break characters,
//      so text cannot reorder what a reader sees, forge structure or split a secret past the rules;
//   2. redaction (config/log-redaction.ts): credentials go before the text is stored anywhere;
//   3. cutting to length: bounded, with an ellipsis, never splitting a surrogate pair;
//   4. an escaper for the place the text goes (Slack mrkdwn, GitHub Markdown,
//      GitHub plain-text title). Escaping comes last because it lengthens text.
// evidenceText is 1 to 3, and every activity applies it where an API answer
// becomes evidence, so Temporal history, the card, the issue and the note
// never see a credential; cleanText applies it again where evidence is copied.

import { cutToLength, ELLIPSIS, printableLine } from './printable-text.js';
import { redactLogLine } from './log-redaction.js';

export const MAX_UNTRUSTED_TEXT = 300;

/**
 * How much of a text redaction reads. Evidence keeps at most a thousand
 * characters of any one text, so this is ample, and it keeps a hostile
 * megabyte-long field from costing more than a long line.
 */
export const REDACTION_WINDOW = 8192;

/**
 * U+2060 WORD JOINER: invisible and not whitespace, so GitHub's mention,
 * reference and autolink recognisers see `@`, `#`, `://` and `www.` followed
 * by a character they do not accept, while a reader sees the text unchanged.
 */
export const WORD_JOINER = '\u2060';

/**
 * The one way untrusted text enters evidence: one printable line, every
 * secret-shaped string replaced, at most `max` characters. `keep: 'end'`
 * keeps the end of a long text instead of its start (a process's last words).
 *
 * Redaction runs before the cut, so a cut can never leave half of a
 * credential that no rule recognises any more. A text kept from its start is
 * read REDACTION_WINDOW characters far, less the token the window cuts
 * through, for the same reason. A text kept from its end is redacted whole:
 * a window there would cut a secret off from the key or marker before it
 * that makes it recognisable (still linear, and its one caller, a
 * container's termination message, is at most 4 KiB).
 */
export function evidenceText(value: unknown, max: number, keep: 'start' | 'end' = 'start'): string {
  const line = printableLine(value);
  if (keep === 'end') return cutStart(redactLogLine(line).text, max);
  if (line.length <= REDACTION_WINDOW) return cutToLength(redactLogLine(line).text, max);
  return cutToLength(`${redactLogLine(windowHead(line)).text}${ELLIPSIS}`, max);
}

/**
 * Characters no secret-shaped token runs across: a token cut by the window
 * ends at the last of them before it. (A quoted value may hold them, but its
 * key is inside the window, and redaction takes an unclosed value to the end.)
 */
const TOKEN_BOUNDARY = /[\s"'`,;&|<>(){}[\]\\]/;

/** The first REDACTION_WINDOW characters of a longer line, less the token the window cuts through. */
function windowHead(line: string): string {
  let end = REDACTION_WINDOW;
  while (end > 0 && !TOKEN_BOUNDARY.test(line[end]!)) end--;
  return line.slice(0, end);
}

/** At most `max` UTF-16 units from the end; a leading ellipsis marks a cut, which never leaves half of a surrogate pair. */
function cutStart(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  let cut = text.slice(-(max - 1));
  if (/^[\uDC00-\uDFFF]/.test(cut)) cut = cut.slice(1);
  return `${ELLIPSIS}${cut.trimStart()}`;
}

/**
 * What analyzers and the report copy from evidence: as evidenceText, and
 * never longer than MAX_UNTRUSTED_TEXT whatever limit the caller asks for.
 * Evidence is already redacted; redacting again costs little and covers
 * evidence recorded before a rule existed.
 */
export function cleanText(value: unknown, max: number = MAX_UNTRUSTED_TEXT): string {
  return evidenceText(value, Math.min(max, MAX_UNTRUSTED_TEXT));
}

// ---- Slack mrkdwn --------------------------------------------------------------

/**
 * Slack parses `&`, `<` and `>` as control characters in mrkdwn (links,
 * mentions, `<!channel>`, dates) and wants exactly these three as HTML
 * entities; with them escaped no `<…>` sequence can come from the text.
 */
export function escapeSlackMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * For the top-level `text` of a message (the notification and fallback text),
 * which Slack parses as mrkdwn and, if a poster ever sets `link_names` or
 * `parse: full`, also scans for `@channel`, `@here` and `@name`: escaped, and
 * every `@` followed by a word joiner so those flags cannot create a mention.
 */
export function escapeSlackText(text: string): string {
  return escapeSlackMrkdwn(text).replace(/@/g, `@${WORD_JOINER}`);
}

/**
 * Cuts already-escaped mrkdwn without leaving half an entity (`&am…`), which
 * Slack would show as garbage.
 */
export function cutEscapedSlack(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = cutToLength(text, max);
  const partial = /&[a-z]{0,3}…$/.exec(cut);
  if (partial) cut = `${cut.slice(0, partial.index).trimEnd()}${ELLIPSIS}`;
  return cut;
}

// ---- links ---------------------------------------------------------------------

/**
 * An http(s) URL safe as a Markdown link target, or undefined: characters that
 * would end the target or a table cell are percent-encoded.
 */
export function safeLinkTarget(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return url.href.replace(/[()|`'"<> ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * An http(s) URL for a Slack `<url|label>` link: `|`, `<`, `>` are
 * percent-encoded and `&` is an entity, as Slack expects inside mrkdwn. `{`
 * and `}` are percent-encoded too, so a link in a planned message (the
 * #incidents note) can never read as one of its placeholders.
 */
export function slackLinkTarget(value: string): string | undefined {
  const target = safeLinkTarget(value);
  return target === undefined ? undefined : target.replace(/&/g, '&amp;').replace(/[{}]/g, (c) => (c === '{' ? '%7B' : '%7D'));
}

// ---- GitHub --------------------------------------------------------------------

/**
 * Stops GitHub from turning plain text into pings, cross-references and
 * links, by putting a word joiner where its recognisers need two characters
 * to be adjacent:
 * - `@user`, `@org/team`, `user@example.com`, `owner/repo@sha`: after `@`;
 * - `#123`, `owner/repo#123` (and ATX headings): after `#`;
 * - `GH-123`: after `GH-`;
 * - `https://…`, `ftp://…`: inside `://`; `www.example.com`: before the dot;
 * - commit SHAs (7 to 40 hex digits): inside every run of 7 or more hex
 *   digits, so no run of more than 6 remains.
 * Used alone for issue titles (plain text) and as the last step of
 * escapeGitHubMarkdown. Repository-configured custom autolinks (e.g.
 * `JIRA-123`) are not covered: they link to the repository's own tracker and
 * notify nobody.
 */
export function neutralizeGitHubReferences(text: string): string {
  const wj = WORD_JOINER;
  return text
    .replace(/[@#]/g, `$&${wj}`)
    .replace(/(gh-)(?=\d)/gi, `$1${wj}`)
    .replace(/:\/\//g, `:${wj}//`)
    .replace(/(www)\./gi, `$1${wj}.`)
    .replace(/[0-9a-f]{7,}/gi, (run) => run.match(/.{1,6}/g)!.join(wj));
}

/**
 * Untrusted text as inert GitHub-flavoured Markdown (expects printableLine
 * output: one line, no controls).
 * - `\` first, so no later escape can be undone by a preceding backslash;
 * - `&`, `<`, `>` as entities: no raw HTML, no `<!--` comment (the
 *   idempotency marker stays the only one), no `<url>` autolink, no quote,
 *   no entity written by the text itself;
 * - `$` as `&dollar;`: GitHub renders `$…$` as math and a backslash does not
 *   reliably escape it there;
 * - `` ` * _ ~ [ ] | `` backslash-escaped: no code spans or fences, emphasis,
 *   strikethrough, links, images, footnotes, task boxes or table cells;
 * - a leading `-`, `+`, `=` or `1.`/`1)` escaped, since the text may start a
 *   list item or line (nested lists, thematic breaks, setext underlines);
 * - then neutralizeGitHubReferences for mentions, references and autolinks.
 */
export function escapeGitHubMarkdown(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\$/g, '&dollar;')
    .replace(/[`*_~[\]|]/g, '\\$&')
    .replace(/^[-+=]/, '\\$&')
    .replace(/^(\d{1,9})([.)])/, '$1\\$2');
  return neutralizeGitHubReferences(escaped);
}

/** Evidence text for the GitHub issue body: one clean, bounded line, escaped. */
export function gitHubText(value: unknown, max?: number): string {
  return escapeGitHubMarkdown(cleanText(value, max));
}
