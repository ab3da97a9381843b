// The #incidents note as the plan holds it, and its filling. The worker builds
// the note at diagnosis time (activities/slack-card.ts plannedNote), so the
// approved hash covers its channel, text and blocks; what exists only later
// (the issue it links, who approved and when) is a placeholder. The worker
// fills it to post it, and the broker fills it from the decision and the issue
// the workflow recorded to compare with what the worker posts. Both use this
// module, so a note is forwarded only if it is byte for byte the one planned.
import type { KnownBlock } from '@slack/types';
import { decidedBy, type DecisionWords } from './approval-text.js';
import { escapeSlackMrkdwn, escapeSlackText } from './untrusted-text.js';
import {
  canonicalJson,
  fillPlaceholders,
  hasPlaceholder,
  PlaceholderError,
  type PlaceholderValues,
  type PlanTarget,
} from './write-plan.js';

export interface PlannedNote {
  /** As configured (a name or an id): the note is posted to exactly this, and Slack resolves a name. */
  channel: string;
  /** The notification and fallback text: Slack mrkdwn, escaped. */
  text: string;
  blocks: KnownBlock[];
}

/**
 * Every post the worker makes carries these: untrusted text must never turn
 * into a mention or an unfurled link. The broker expects exactly them on the note.
 */
export const POST_FLAGS = { link_names: false, unfurl_links: false, unfurl_media: false } as const;

// The Unix-time range Slack's date token can show as a calendar date.
const LAST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * A time as Slack's date token takes it: whole Unix seconds, and the UTC minute
 * shown where the token is not rendered; undefined for a time that does not parse.
 */
export function slackDate(iso: unknown): { seconds: string; utc: string } | undefined {
  const ms = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms > LAST_DATE_MS) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), utc: `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC` };
}

/**
 * The note's values: the issue the workflow created, and the decision as the
 * workflow recorded it. Throws a PlaceholderError for a value not of its kind.
 */
export function noteValues(decision: DecisionWords, issue: { url: string; number: number }): PlaceholderValues {
  const at = slackDate(decision.at);
  if (!at) throw new PlaceholderError('the decision time is not a date');
  // The label must name the issue the link opens.
  if (!String(issue.url).endsWith(`/issues/${issue.number}`)) throw new PlaceholderError('the issue URL and number disagree');
  return {
    issueUrl: issue.url,
    issueNumber: String(issue.number),
    decidedBy: decidedBy(decision),
    decidedAtSeconds: at.seconds,
    decidedAtUtc: at.utc,
  };
}

/**
 * The note with its placeholders filled, each value escaped for where it lands:
 * the top-level text as Slack's notification text, a `mrkdwn` text object as
 * mrkdwn, a `plain_text` one as it is (Slack shows it literally). A placeholder
 * anywhere else (a URL, an id) is refused: nothing there says how to escape it.
 */
export function fillNote(note: PlannedNote, values: PlaceholderValues, target: PlanTarget): PlannedNote {
  return {
    channel: note.channel,
    text: fillPlaceholders(note.text, values, target, escapeSlackText),
    blocks: note.blocks.map((block) => fillTextObjects(block, values, target) as KnownBlock),
  };
}

const TEXT_OBJECT_ESCAPES: Readonly<Record<string, (value: string) => string>> = {
  plain_text: (value) => value,
  mrkdwn: escapeSlackMrkdwn,
};

function fillTextObjects(value: unknown, values: PlaceholderValues, target: PlanTarget): unknown {
  if (Array.isArray(value)) return value.map((item) => fillTextObjects(item, values, target));
  if (typeof value === 'string') {
    if (hasPlaceholder(value)) throw new PlaceholderError('a placeholder outside a text object');
    return value;
  }
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  const escape =
    typeof object.type === 'string' && Object.hasOwn(TEXT_OBJECT_ESCAPES, object.type) ? TEXT_OBJECT_ESCAPES[object.type] : undefined;
  return Object.fromEntries(
    Object.entries(object).map(([key, member]) => [
      key,
      key === 'text' && typeof member === 'string' && escape
        ? fillPlaceholders(member, values, target, escape)
        : fillTextObjects(member, values, target),
    ]),
  );
}

/**
 * The note's chat.postMessage fields as the broker reads a request (every value
 * a string, as a form carries it; `blocks` in canonical JSON).
 */
export function notePostFields(note: PlannedNote): Record<string, string> {
  return {
    channel: note.channel,
    text: note.text,
    blocks: canonicalJson(note.blocks),
    ...Object.fromEntries(Object.entries(POST_FLAGS).map(([flag, value]) => [flag, String(value)])),
  };
}
