// The Slack messages of one triage: the approval card, the card once closed
// (decided, expired, resolved before a decision), the reminder in its thread
// and the #incidents note, which the write plan holds with placeholders (the
// broker forwards only that note). Pure functions of data the workflow holds,
// so a retried activity posts exactly the same message.
//
// Most of what a card shows comes from systems an attacker may write to
// (incident titles, service, pod and image names, event messages, findings
// built from them, approver ids, comments). The rules that keep it inert:
// - untrusted text goes only into `plain_text` objects with `emoji: false`
//   (header, section text and fields, context elements): Slack parses no
//   `<…>` sequence, mention, link or formatting there;
// - `mrkdwn` is used only for what code builds (links to PagerDuty, the
//   Temporal Web UI and the issue; dates; reminder mentions of configured
//   approvers), always `verbatim: true` so Slack does not auto-link or
//   auto-mention, and any text in it is escaped (`&`, `<`, `>`);
// - the top-level `text` (notifications, fallback) is escaped likewise;
// - all text is printable (no control, bidi or zero-width characters) and cut
//   to the Block Kit limits below.
import type { ActionsBlock, Button, ContextBlockElement, KnownBlock, MrkdwnElement, PlainTextElement } from '@slack/types';
import {
  APPROVE_ACTION_ID,
  BUTTON_VALUE_MAX_CHARS,
  encodeActionValue,
  REJECT_ACTION_ID,
  type ApprovalChannel,
} from '../workflows/messages.js';
import type { Diagnosis, Finding, IncidentRef, Severity } from './model.js';
import { decidedBy } from '../config/approval-text.js';
import { slackDate, type PlannedNote } from '../config/incident-note.js';
import { cutToLength } from '../config/printable-text.js';
import { inertPlaceholders, PLACEHOLDERS } from '../config/write-plan.js';
import { cutEscapedSlack, escapeSlackMrkdwn, escapeSlackText, evidenceText, slackLinkTarget } from '../config/untrusted-text.js';

/**
 * Block Kit limits, in characters (docs.slack.dev/reference/block-kit). Text
 * objects allow 3000; the context block documents only its 10 elements, so
 * its text stays at the fields' 2000. Slack truncates a message `text` at
 * 40,000 characters and recommends staying under 4000.
 */
export const BLOCK_KIT_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 2000,
  buttonText: 75,
  buttonValue: BUTTON_VALUE_MAX_CHARS,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  messageText: 4000,
} as const;

export interface CardContext {
  incident: IncidentRef;
  headline: string;
  findings: Finding[];
  surfaces: Diagnosis['surfaces'];
  planHash: string;
  workflowId: string;
  /** The workflow's page in the Temporal Web UI. */
  webUiUrl: string;
  approvers: string[];
  expiresAt: string;
  githubRepo?: string;
  /** One sparkline line per metric series (report-sections.ts), strongest change first. */
  metricLines?: string[];
}

export interface CardDecision {
  decision: 'approve' | 'reject';
  approver: string;
  at: string;
  comment?: string;
  /** Absent on decisions recorded before decisions named their channel. */
  channel?: ApprovalChannel;
  /** The sending Temporal client's identity, as it reported it. */
  identity?: string;
}

/** What a triage wrote before it stopped short: a failed or cancelled card says so. */
export interface CardWrites {
  issue?: { url: string; number: number };
  /** Whether the #incidents note was posted. */
  note?: boolean;
}

/** How a card ends; the workflow sends it, `closedCard` renders it. */
export type CardOutcome =
  | { kind: 'decided'; decision: CardDecision; issue?: { url: string; number: number } }
  | { kind: 'expired' }
  | { kind: 'resolved'; at: string }
  /** `reason` comes from a failure's message, which may quote what an upstream answered: shown inert. */
  | { kind: 'failed'; reason: string; written: CardWrites }
  | { kind: 'cancelled'; written: CardWrites };

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const MAX_FINDINGS = 5;
const MAX_EVIDENCE_LINES = 3;
const MAX_SURFACE_LINES = 10;
const MAX_APPROVERS_SHOWN = 10;
const MAX_NOTE_FINDINGS = 3;
/**
 * Longer link targets are shown as text: three links and their labels must
 * fit one section's 3000 characters whatever the URLs hold.
 */
const MAX_LINK_TARGET = 800;
/** Per piece of untrusted text, well inside every block limit even when several share one. */
const TEXT_CHARS = 300;
const NAME_CHARS = 100;
const ID_CHARS = 40;
const COMMENT_CHARS = 500;

// A configured approver is mentioned in the reminder only when it is exactly a
// Slack user id; anything else is shown as text.
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,31}$/;

const SEVERITY_MARK: Readonly<Record<Severity, string>> = { critical: '🔴', warning: '🟠', info: '🔵' };

// ---- text objects ----------------------------------------------------------------

/** Block Kit rejects empty text, so an empty result shows a placeholder. */
function plain(text: string, max: number): PlainTextElement {
  return { type: 'plain_text', text: cutToLength(text, max) || '-', emoji: false };
}

/** Only for code-built text whose untrusted parts are already escaped. */
function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text, verbatim: true };
}

/** Redacted too: an incident recorded before a redaction rule existed, or an approver's comment, may carry a credential. */
function line(value: unknown, max: number, placeholder: string): string {
  return inertPlaceholders(evidenceText(value, max)) || placeholder;
}

function incidentNumber(incident: IncidentRef): string {
  return Number.isSafeInteger(incident.number) ? String(incident.number) : line(incident.number, 20, '?');
}

function severityLabel(severity: Severity): string {
  const mark = Object.hasOwn(SEVERITY_MARK, severity) ? SEVERITY_MARK[severity] : '⚪';
  return `${mark} ${line(severity, 20, 'unknown')}`;
}

/** `<url|label>` for an http(s) URL of sane length; otherwise the label as text and why. */
function slackLink(url: string, label: string): string {
  const target = typeof url === 'string' && url.length <= MAX_LINK_TARGET ? slackLinkTarget(url) : undefined;
  const text = escapeSlackMrkdwn(label);
  return target && target.length <= MAX_LINK_TARGET ? `<${target}|${text}>` : `${text} (link omitted: not a usable http(s) URL)`;
}

/** Slack's date token: the time in each reader's time zone, `fallback` where it is not rendered. */
function dateToken(seconds: string, fallback: string): string {
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

/** A time built by code from a parsed date, as a date token; a time that does not parse is shown as text. */
function dateElement(prefix: string, iso: string): ContextBlockElement {
  const date = slackDate(iso);
  if (!date) return plain(`${prefix}${line(iso, ID_CHARS, 'an unknown time')}`, BLOCK_KIT_LIMITS.contextText);
  return mrkdwn(`${escapeSlackMrkdwn(prefix)}${dateToken(date.seconds, date.utc)}`);
}

function approverList(approvers: readonly string[]): string {
  const shown = approvers.slice(0, MAX_APPROVERS_SHOWN).map((a) => line(a, ID_CHARS, '?'));
  const more = approvers.length - shown.length;
  if (shown.length === 0) return 'none configured';
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

// ---- the card ------------------------------------------------------------------

function findingBlocks(findings: readonly Finding[]): KnownBlock[] {
  if (findings.length === 0) {
    return [
      { type: 'section', text: plain('No analyzer found a known failure mode in the evidence collected.', BLOCK_KIT_LIMITS.sectionText) },
    ];
  }
  const shown: KnownBlock[] = findings.slice(0, MAX_FINDINGS).map((finding, index) => {
    const evidence = finding.evidence.slice(0, MAX_EVIDENCE_LINES).map((e) => `• ${line(e, TEXT_CHARS, '-')}`);
    const hidden = finding.evidence.length - evidence.length;
    const lines = [
      `${severityLabel(finding.severity)} ${index + 1}. ${line(finding.title, TEXT_CHARS, '(untitled finding)')}`,
      ...evidence,
      ...(hidden > 0 ? [`• and ${hidden} more evidence line${hidden === 1 ? '' : 's'}`] : []),
    ];
    return { type: 'section', text: plain(lines.join('\n'), BLOCK_KIT_LIMITS.sectionText) };
  });
  const more = findings.length - shown.length;
  if (more > 0) {
    shown.push({
      type: 'context',
      elements: [
        plain(
          `and ${more} more finding${more === 1 ? '' : 's'}, in the workflow history (Temporal Web UI link below)`,
          BLOCK_KIT_LIMITS.contextText,
        ),
      ],
    });
  }
  return shown;
}

function surfacesBlock(surfaces: CardContext['surfaces']): KnownBlock {
  const lines = surfaces.slice(0, MAX_SURFACE_LINES).map((s) => {
    const name = line(s.surface, 40, 'surface');
    return s.status === 'ok' ? `✅ ${name}: ok` : `⚠️ ${name}: unavailable: ${line(s.reason, TEXT_CHARS, 'no reason given')}`;
  });
  const text = wholeLines(
    ['Evidence surfaces', ...(lines.length > 0 ? lines : ['none'])],
    surfaces.length - lines.length,
    BLOCK_KIT_LIMITS.sectionText,
  );
  return { type: 'section', text: plain(text, BLOCK_KIT_LIMITS.sectionText) };
}

/**
 * As many whole lines as fit in `max`, then a count of the rest, so a cut
 * never hides how much is missing.
 */
function wholeLines(lines: readonly string[], alreadyHidden: number, max: number): string {
  const more = (n: number) => `and ${n} more`;
  const kept: string[] = [];
  let length = 0;
  for (const [i, l] of lines.entries()) {
    const hidden = lines.length - i - 1 + alreadyHidden;
    const reserve = hidden > 0 ? more(hidden + 1).length + 1 : 0;
    if (length + l.length + 1 + reserve > max && kept.length > 0) {
      kept.push(more(lines.length - i + alreadyHidden));
      return kept.join('\n');
    }
    kept.push(l);
    length += l.length + 1;
  }
  if (alreadyHidden > 0) kept.push(more(alreadyHidden));
  return kept.join('\n');
}

/** Sparklines are read at a glance, so they sit right under the findings; plain text, as labels come from configuration. */
function metricsBlocks(metricLines: readonly string[] | undefined): KnownBlock[] {
  if (!metricLines || metricLines.length === 0) return [];
  const lines = metricLines.map((l) => line(l, TEXT_CHARS, '-'));
  return [
    { type: 'section', text: plain(wholeLines(['Metrics', ...lines], 0, BLOCK_KIT_LIMITS.sectionText), BLOCK_KIT_LIMITS.sectionText) },
  ];
}

function linksBlock(ctx: CardContext): KnownBlock {
  const links = [
    slackLink(ctx.incident.htmlUrl, `PagerDuty incident #${incidentNumber(ctx.incident)}`),
    slackLink(ctx.webUiUrl, `Temporal workflow ${line(ctx.workflowId, NAME_CHARS, '')}`.trimEnd()),
  ];
  return { type: 'section', text: mrkdwn(links.join('  ·  ')) };
}

/** What every form of the card shows; only the last block (buttons or outcome) differs. */
function cardBody(ctx: CardContext, status: string): KnownBlock[] {
  const { incident } = ctx;
  return [
    { type: 'header', text: plain(`PagerDuty incident #${incidentNumber(incident)} · ${status}`, BLOCK_KIT_LIMITS.headerText) },
    {
      type: 'section',
      text: plain(line(incident.title, TEXT_CHARS, '(no title)'), BLOCK_KIT_LIMITS.sectionText),
      fields: [
        plain(`Service: ${line(incident.serviceName, NAME_CHARS, 'unknown')}`, BLOCK_KIT_LIMITS.fieldText),
        plain(`Urgency: ${line(incident.urgency, 20, 'unknown')}`, BLOCK_KIT_LIMITS.fieldText),
      ],
    },
    {
      type: 'section',
      text: plain(`Most likely cause: ${line(ctx.headline, TEXT_CHARS, 'not determined')}`, BLOCK_KIT_LIMITS.sectionText),
    },
    { type: 'divider' },
    ...findingBlocks(ctx.findings),
    ...metricsBlocks(ctx.metricLines),
    { type: 'divider' },
    surfacesBlock(ctx.surfaces),
    linksBlock(ctx),
  ];
}

function decisionButtons(ctx: CardContext): ActionsBlock {
  const value = encodeActionValue(ctx.incident.id, ctx.planHash);
  const writes = ctx.githubRepo
    ? `Approving creates a GitHub issue in ${line(ctx.githubRepo, NAME_CHARS, '?')} and posts a note in #incidents, exactly as planned`
    : 'No GitHub repository is configured for this service: approving records the decision and writes nothing';
  const approve: Button = {
    type: 'button',
    action_id: APPROVE_ACTION_ID,
    text: plain('Approve', BLOCK_KIT_LIMITS.buttonText),
    style: 'primary',
    value,
    confirm: {
      title: plain('Approve the write plan?', BLOCK_KIT_LIMITS.confirmTitle),
      text: plain(`${writes} (plan ${ctx.planHash.slice(0, 12)}).`, BLOCK_KIT_LIMITS.confirmText),
      confirm: plain('Approve', BLOCK_KIT_LIMITS.confirmButton),
      deny: plain('Cancel', BLOCK_KIT_LIMITS.confirmButton),
    },
  };
  const reject: Button = {
    type: 'button',
    action_id: REJECT_ACTION_ID,
    text: plain('Reject', BLOCK_KIT_LIMITS.buttonText),
    style: 'danger',
    value,
  };
  return { type: 'actions', elements: [approve, reject] };
}

function context(elements: ContextBlockElement[]): KnownBlock {
  return { type: 'context', elements: elements.slice(0, BLOCK_KIT_LIMITS.contextElements) };
}

/** Escaped fallback text, within the limit (less `reserved` characters code appends). */
function fallback(text: string, reserved = 0): string {
  return cutEscapedSlack(escapeSlackText(text), BLOCK_KIT_LIMITS.messageText - reserved);
}

function subject({ incident }: { incident: IncidentRef }): string {
  return `PagerDuty incident ${incidentNumber(incident)}: ${line(incident.title, TEXT_CHARS, '(no title)')}`;
}

export function approvalCard(ctx: CardContext): SlackMessage {
  return {
    text: fallback(`Approval needed for the triage of ${subject(ctx)} · ${line(ctx.headline, TEXT_CHARS, 'no headline')}`),
    blocks: [
      ...cardBody(ctx, 'approval needed'),
      context([plain(`Approvers: ${approverList(ctx.approvers)}`, BLOCK_KIT_LIMITS.contextText), dateElement('Expires ', ctx.expiresAt)]),
      decisionButtons(ctx),
    ],
  };
}

/** "GitHub issue #42"; the number only when it is one. */
function issueLabel(issue: { number: number }): string {
  return `GitHub issue${Number.isSafeInteger(issue.number) ? ` #${issue.number}` : ''}`;
}

export function closedCard(ctx: CardContext, outcome: CardOutcome): SlackMessage {
  switch (outcome.kind) {
    case 'decided':
      return decidedCard(ctx, outcome.decision, outcome.issue);
    case 'expired':
      return expiredCard(ctx);
    case 'resolved':
      return resolvedCard(ctx, outcome.at);
    case 'failed':
      return failedCard(ctx, outcome.reason, outcome.written);
    case 'cancelled':
      return cancelledCard(ctx, outcome.written);
  }
}

export function decidedCard(ctx: CardContext, d: CardDecision, issue?: { url: string; number: number }): SlackMessage {
  const approved = d.decision === 'approve';
  const who = decidedBy(d);
  const comment = evidenceText(d.comment, COMMENT_CHARS);
  const written: ContextBlockElement = issue
    ? mrkdwn(slackLink(issue.url, issueLabel(issue)))
    : plain(
        !approved
          ? 'Nothing was written.'
          : ctx.githubRepo
            ? 'No GitHub issue is linked.'
            : 'No GitHub repository is configured for this service; nothing was written.',
        BLOCK_KIT_LIMITS.contextText,
      );
  return {
    text: fallback(`${subject(ctx)} · ${approved ? 'approved' : 'rejected'} ${who}${issue ? ` · ${issueLabel(issue)}` : ''}`),
    blocks: [
      ...cardBody(ctx, approved ? 'approved' : 'rejected'),
      context([
        plain(`${approved ? '✅ Approved' : '❌ Rejected'} ${who}`, BLOCK_KIT_LIMITS.contextText),
        dateElement('', d.at),
        ...(comment ? [plain(`Comment: ${comment}`, BLOCK_KIT_LIMITS.contextText)] : []),
        written,
      ]),
    ],
  };
}

export function expiredCard(ctx: CardContext): SlackMessage {
  return {
    text: fallback(`${subject(ctx)} · the approval request expired; nothing was written`),
    blocks: [
      ...cardBody(ctx, 'approval expired'),
      context([plain('⌛ Expired without a decision; nothing was written.', BLOCK_KIT_LIMITS.contextText), dateElement('', ctx.expiresAt)]),
    ],
  };
}

export function resolvedCard(ctx: CardContext, resolvedAt: string): SlackMessage {
  return {
    text: fallback(`${subject(ctx)} · resolved before a decision; nothing was written`),
    blocks: [
      ...cardBody(ctx, 'resolved before a decision'),
      context([
        plain('☑️ The incident was resolved before anyone decided; nothing was written.', BLOCK_KIT_LIMITS.contextText),
        dateElement('Resolved ', resolvedAt),
      ]),
    ],
  };
}

/**
 * A card whose triage failed after posting it: no buttons left to click into
 * a decision nobody would act on, and what was written for whoever cleans up.
 */
export function failedCard(ctx: CardContext, reason: string, written: CardWrites): SlackMessage {
  return stoppedCard(ctx, 'triage failed', `⚠️ The triage failed: ${line(reason, TEXT_CHARS, 'no reason given')}`, written);
}

export function cancelledCard(ctx: CardContext, written: CardWrites): SlackMessage {
  return stoppedCard(ctx, 'triage cancelled', '⏹️ The triage was cancelled.', written);
}

function stoppedCard(ctx: CardContext, status: string, what: string, written: CardWrites): SlackMessage {
  return {
    text: fallback(`${subject(ctx)} · ${what} ${writtenWords(written)}`),
    blocks: [...cardBody(ctx, status), context([plain(what, BLOCK_KIT_LIMITS.contextText), writtenElement(written)])],
  };
}

/** What a stopped triage wrote, as the notification says it; the card links the issue. */
function writtenWords({ issue, note }: CardWrites): string {
  if (!issue && !note) return 'Nothing was written.';
  return writtenLine(issue ? issueLabel(issue) : 'no GitHub issue', note);
}

function writtenElement(written: CardWrites): ContextBlockElement {
  const { issue, note } = written;
  if (!issue) return plain(writtenWords(written), BLOCK_KIT_LIMITS.contextText);
  return mrkdwn(writtenLine(slackLink(issue.url, issueLabel(issue)), note));
}

/** `issue` is code-built (a label, or a link escaped by `slackLink`), the rest constant: fit for mrkdwn as it is. */
function writtenLine(issue: string, note: boolean | undefined): string {
  return `Written: ${issue}; ${note ? 'the #incidents note was posted' : 'no #incidents note'}.`;
}

/**
 * Posted in the card's thread. A thread reply notifies nobody by itself, so
 * the reminder mentions the configured approvers; a mention is built only from
 * an exact Slack user id, never from free text.
 */
export function reminderMessage(ctx: CardContext): SlackMessage {
  const mentions = ctx.approvers
    .filter((a) => SLACK_USER_ID.test(a))
    .slice(0, MAX_APPROVERS_SHOWN)
    .map((a) => `<@${a}>`);
  const ask = mentions.length > 0 ? ` ${mentions.join(' ')}` : '';
  const waiting = `Reminder: PagerDuty incident ${incidentNumber(ctx.incident)} is still waiting for a decision on its write plan.`;
  return {
    text: `${fallback(`${waiting} ${line(ctx.incident.title, TEXT_CHARS, '(no title)')}`, ask.length)}${ask}`,
    blocks: [
      { type: 'section', text: mrkdwn(`⏰ ${escapeSlackMrkdwn(waiting)}${ask}`) },
      { type: 'section', text: plain(line(ctx.incident.title, TEXT_CHARS, '(no title)'), BLOCK_KIT_LIMITS.sectionText) },
      context([plain(`Approvers: ${approverList(ctx.approvers)}`, BLOCK_KIT_LIMITS.contextText), dateElement('Expires ', ctx.expiresAt)]),
    ],
  };
}

export interface NoteSources {
  /** The incidents channel as configured. */
  channel: string;
  incident: IncidentRef;
  headline: string;
  findings: readonly Finding[];
  webUiUrl: string;
  /** The planned issue title: the issue is created with exactly it. */
  issueTitle: string;
}

/**
 * The note's notification text holds the issue and the decider after the
 * planned text, and both are bounded (an issue number, decidedBy's one short
 * line, escaped): this much of the limit is kept for them.
 */
const NOTE_FILLED_RESERVE = 1000;

/**
 * The note in #incidents after approval, linking the GitHub issue, PagerDuty
 * and the workflow, as planned before anyone decides: the issue's link and
 * number, who approved and when are placeholders (config/incident-note.ts
 * fills them, for the worker and for the broker alike).
 */
export function plannedNote(src: NoteSources): PlannedNote {
  const { incident } = src;
  const issueLabel = `GitHub issue #${PLACEHOLDERS.issueNumber}`;
  const approved = `Approved ${PLACEHOLDERS.decidedBy}`;
  const findings = src.findings
    .slice(0, MAX_NOTE_FINDINGS)
    .map((f) => `${severityLabel(f.severity)}: ${line(f.title, TEXT_CHARS, '(untitled finding)')}`);
  const more = src.findings.length - findings.length;
  if (more > 0) findings.push(`and ${more} more in the issue`);
  const summary = `${subject(src)} · ${line(src.headline, TEXT_CHARS, 'no headline')}`;
  return {
    channel: src.channel,
    text: `${fallback(summary, NOTE_FILLED_RESERVE)} · ${issueLabel} · ${approved}`,
    blocks: [
      {
        type: 'section',
        text: plain(
          `🧾 Triage of PagerDuty incident #${incidentNumber(incident)}: ${line(incident.title, TEXT_CHARS, '(no title)')}`,
          BLOCK_KIT_LIMITS.sectionText,
        ),
        fields: [
          plain(`Service: ${line(incident.serviceName, NAME_CHARS, 'unknown')}`, BLOCK_KIT_LIMITS.fieldText),
          plain(`Urgency: ${line(incident.urgency, 20, 'unknown')}`, BLOCK_KIT_LIMITS.fieldText),
        ],
      },
      {
        type: 'section',
        text: plain(`Most likely cause: ${line(src.headline, TEXT_CHARS, 'not determined')}`, BLOCK_KIT_LIMITS.sectionText),
      },
      ...(findings.length > 0 ? [{ type: 'section', text: plain(findings.join('\n'), BLOCK_KIT_LIMITS.sectionText) } as KnownBlock] : []),
      {
        type: 'section',
        text: mrkdwn(
          [
            `<${PLACEHOLDERS.issueUrl}|${issueLabel}>`,
            slackLink(incident.htmlUrl, `PagerDuty incident #${incidentNumber(incident)}`),
            slackLink(src.webUiUrl, 'Temporal workflow'),
          ].join('  ·  '),
        ),
      },
      context([
        plain(`Issue: ${line(src.issueTitle, TEXT_CHARS, '(no title)')}`, BLOCK_KIT_LIMITS.contextText),
        plain(approved, BLOCK_KIT_LIMITS.contextText),
        mrkdwn(dateToken(PLACEHOLDERS.decidedAtSeconds, PLACEHOLDERS.decidedAtUtc)),
      ]),
    ],
  };
}
