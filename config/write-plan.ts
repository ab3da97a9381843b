// The write plan's one canonical form, its hash, and the filling of the values
// only known at write time. Both sides of the credential boundary use this
// module: the worker hashes the plan it asks a human to approve and fills it
// when writing; the broker recomputes the hash of the plan it read from
// Temporal and fills it the same way before comparing it with a request. A
// second copy of any of this would let the two sides disagree silently, so it
// lives here, in config/, the only folder the broker may import.
import { createHash } from 'node:crypto';
import type { PlannedNote } from './incident-note.js';
import { printableLine } from './printable-text.js';
import { WORD_JOINER } from './untrusted-text.js';

export interface WritePlan {
  /** `repo` is unset when the service has no GitHub repository configured: nothing is written there. */
  github: {
    repo?: string;
    title: string;
    body: string;
    labels: string[];
    idempotencyKey: string;
    /**
     * What the back-link edit appends to the issue body, with `{{note.permalink}}`
     * in it. Absent from plans built before the edit was part of the plan.
     */
    backLink?: string;
  };
  /**
   * `note` is unset when nothing is written (no Slack channel or no GitHub
   * repository configured) and in plans built before the note was planned.
   */
  slack: { note?: PlannedNote };
}

/**
 * Values a write needs that exist only once an earlier write happened or
 * someone decided. The plan carries these names; the hash is over the plan with
 * the names in it. The decision's are rendered from the decision record
 * (config/approval-text.ts, config/incident-note.ts), never taken from a request.
 */
export const PLACEHOLDERS = {
  issueUrl: '{{issue.url}}',
  issueNumber: '{{issue.number}}',
  notePermalink: '{{note.permalink}}',
  /** "by U0ALICE via Slack", as decidedBy renders it. */
  decidedBy: '{{decision.by}}',
  /** The decision time for Slack's date token: Unix seconds, and the UTC text shown where the token is not rendered. */
  decidedAtSeconds: '{{decision.at.seconds}}',
  decidedAtUtc: '{{decision.at.utc}}',
} as const;

export type PlaceholderName = keyof typeof PLACEHOLDERS;
export type PlaceholderValues = Partial<Record<PlaceholderName, string>>;

const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS) as PlaceholderName[];
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Any placeholder (global: for replace, split and matchAll only, which ignore its lastIndex). */
const ANY_PLACEHOLDER = new RegExp(PLACEHOLDER_NAMES.map((n) => escapeRegExp(PLACEHOLDERS[n])).join('|'), 'g');
const nameOf = (placeholder: string): PlaceholderName => PLACEHOLDER_NAMES.find((n) => PLACEHOLDERS[n] === placeholder)!;

/** The back-link edit's text, as a plan built today carries it. */
export const BACK_LINK_TEMPLATE = `\n**Slack:** [the #incidents note](${PLACEHOLDERS.notePermalink})\n`;

/**
 * JSON with object keys sorted at every level and undefined members dropped,
 * so equal plans serialize equally whatever their key order or whether an
 * absent field was spelled `undefined` (Temporal's converter drops those too).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const json = JSON.stringify(value);
    return json === undefined ? 'null' : json;
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}

/** sha256 hex of the canonical JSON: what an approval names. */
export function hashPlan(plan: WritePlan): string {
  return createHash('sha256').update(canonicalJson(plan), 'utf8').digest('hex');
}

// A filled-in value ends up inside Markdown link targets and Slack mrkdwn, so
// only characters that can close neither are let through: no spaces, no
// brackets, parentheses, angle brackets, pipes or quotes.
const URL_SAFE = /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~%/?=&+-]*)?$/;
/** Longer URLs would crowd a Slack section's 3000 characters (three links share one). */
const MAX_URL = 800;
const ISSUE_NUMBER = /^[1-9][0-9]{0,9}$/;
const UNIX_SECONDS = /^[0-9]{1,12}$/;
const UTC_MINUTE = /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC$/;
const MAX_DECIDED_BY = 300;

/** The part of a plan a filled-in value is checked against: the repository its issue lives in. */
export interface PlanTarget {
  repo?: string;
}

/** Thrown when a value for a placeholder is not of its kind; the broker answers it with a plan mismatch. */
export class PlaceholderError extends Error {
  override name = 'PlaceholderError';
}

/**
 * An issue URL must name an issue of the plan's repository (its path ends in
 * `/<owner>/<repo>/issues/<number>`; the host is GitHub's or, in tests, a fake
 * one); a permalink is a plain http(s) URL.
 */
export function checkPlaceholderValue(name: PlaceholderName, value: string, target: PlanTarget): void {
  const fail = (why: string): never => {
    throw new PlaceholderError(`${PLACEHOLDERS[name]}: ${why}`);
  };
  switch (name) {
    case 'issueNumber':
      if (!ISSUE_NUMBER.test(value)) fail('not an issue number');
      return;
    case 'decidedAtSeconds':
      if (!UNIX_SECONDS.test(value)) fail('not a Unix time');
      return;
    case 'decidedAtUtc':
      if (!UTC_MINUTE.test(value)) fail('not a UTC minute');
      return;
    case 'decidedBy':
      if (value === '' || value.length > MAX_DECIDED_BY || printableLine(value) !== value) fail('not one printable line');
      return;
  }
  if (value.length > MAX_URL || !URL_SAFE.test(value)) fail('not a plain http(s) URL');
  if (name === 'issueUrl') {
    const repo = target.repo;
    if (repo === undefined) fail('the plan writes no issue');
    const path = new URL(value).pathname.toLowerCase();
    const match = /\/([^/]+\/[^/]+)\/issues\/([0-9]+)$/.exec(path);
    if (!match || match[1] !== repo!.toLowerCase() || !ISSUE_NUMBER.test(match[2]!)) fail(`not an issue URL of ${repo}`);
  }
}

/**
 * Replaces every placeholder in `template` by its value, after checking that
 * value, escaped by `escape` for the text it lands in. A placeholder without a
 * value is an error, not left in place: a write must not carry a name nobody
 * filled.
 */
export function fillPlaceholders(
  template: string,
  values: PlaceholderValues,
  target: PlanTarget,
  escape: (value: string) => string = (value) => value,
): string {
  // One pass: a filled-in value is not read again, so one that spells a placeholder (a client's identity may) stays text.
  return template.replace(ANY_PLACEHOLDER, (placeholder) => {
    const name = nameOf(placeholder);
    const value = values[name];
    if (value === undefined) throw new PlaceholderError(`${placeholder}: no value`);
    checkPlaceholderValue(name, value, target);
    return escape(value);
  });
}

/** Whether `text` holds a placeholder. */
export function hasPlaceholder(text: string): boolean {
  return text.search(ANY_PLACEHOLDER) !== -1;
}

/**
 * Untrusted text as a template may hold it: a word joiner between two `{`, so
 * text copied from an incident can never read as a placeholder and be filled.
 */
export function inertPlaceholders(text: string): string {
  return text.replace(/\{(?=\{)/g, `{${WORD_JOINER}`);
}

/** The back-link text of a plan, from plans that predate it too (they were approved without it). */
export function backLinkTemplate(plan: WritePlan): string {
  return plan.github.backLink ?? BACK_LINK_TEMPLATE;
}

/**
 * The values that turn `template` into exactly `text`, each well-formed; undefined
 * when there are none. The broker's way of reading a write back into its plan:
 * it fills the template with what it found and compares the bytes.
 */
export function matchPlaceholders(template: string, text: string, target: PlanTarget): PlaceholderValues | undefined {
  const pattern = template.split(ANY_PLACEHOLDER).map(escapeRegExp);
  const order = [...template.matchAll(ANY_PLACEHOLDER)].map((m) => nameOf(m[0]));
  // Values never hold whitespace or the characters that would end a link, so a lazy run of anything else finds them.
  const match = new RegExp(`^${pattern.join('([^\\s()<>|\\[\\]"]+)')}$`).exec(text);
  if (!match) return undefined;
  const values: PlaceholderValues = {};
  for (const [i, name] of order.entries()) {
    const value = match[i + 1]!;
    if (values[name] !== undefined && values[name] !== value) return undefined;
    values[name] = value;
  }
  try {
    return fillPlaceholders(template, values, target) === text ? values : undefined;
  } catch {
    return undefined;
  }
}
