// An approval's words under what it allowed: the line under the issue body and
// the "by …" of the Slack card and the #incidents note. The plan cannot hold
// them (they exist once someone decides), so the worker renders them from the
// decision the workflow gave it and the broker from the decision it read from
// Temporal, with these functions, so the two agree byte for byte.
//
// Every value was chosen by a client (the approver by the gateway or the CLI's
// `--as`, the identity by whichever Temporal client sent the Update): each is
// made printable, redacted, bounded and escaped for where it lands, like any
// other untrusted text.
import { MAX_CLIENT_IDENTITY } from './identifiers.js';
import { evidenceText, gitHubText } from './untrusted-text.js';
import { viaChannel } from './vocabulary.js';

/** What of a decision record (workflows/messages.ts DecisionRecord) is shown. */
export interface DecisionWords {
  decision: string;
  approver: string;
  /** Workflow time of the decision (ISO-8601). */
  at: string;
  /** Absent on decisions recorded before decisions named their channel and client. */
  channel?: string;
  identity?: string;
}

/** The workflow's bound on an approver id. */
const APPROVER_CHARS = 128;
const AT_CHARS = 40;
// Slack shows ids and client names in Block Kit elements other text shares.
const SLACK_APPROVER_CHARS = 40;
const SLACK_CLIENT_CHARS = 100;

/** Who approved, through which channel, and the Temporal client that sent it, as GitHub Markdown. */
export function approvalLine(d: DecisionWords): string {
  const verb = d.decision === 'approve' ? 'Approved' : 'Rejected';
  const client = d.identity ? `; sent by Temporal client ${gitHubText(d.identity, MAX_CLIENT_IDENTITY)}` : '';
  return `**${verb}** by ${gitHubText(d.approver, APPROVER_CHARS)}${viaChannel(d.channel)} at ${gitHubText(d.at, AT_CHARS)}${client}`;
}

/**
 * The issue body as created: the approved text, then its approval line. The
 * plan's hash covers the text the approver saw, not who approved it.
 */
export function issueBodyWithApproval(body: string, d: DecisionWords): string {
  return `${body}\n\n${approvalLine(d)}\n`;
}

/**
 * "by U0ALICE via Slack", as plain text; a CLI decision also names the
 * Temporal client that sent it, since `--as` is whatever its user typed.
 */
export function decidedBy(d: DecisionWords): string {
  const who = evidenceText(d.approver, SLACK_APPROVER_CHARS) || 'unknown';
  const client = d.channel === 'cli' && d.identity ? ` (Temporal client ${evidenceText(d.identity, SLACK_CLIENT_CHARS) || '?'})` : '';
  return `by ${who}${viaChannel(d.channel)}${client}`;
}
