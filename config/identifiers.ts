// Identifiers that cross process boundaries, checked the same way wherever
// one arrives: from a webhook, a Slack click, the command line, a header.

/** A PagerDuty object id (`PGR0VU2`, `Q0RIJJZL24RC6W`): letters and digits. Incident ids become workflow ids. */
export const PAGERDUTY_ID = /^[A-Za-z0-9]{1,32}$/;

/**
 * A triage id, as the worker sends it in `X-Triage-Id` and its User-Agents and
 * the broker writes it to its audit lines: the workflow id (`triage-<incident>`)
 * or a probe's name (`doctor`). Safe in a header value and in a log field.
 */
export const TRIAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isTriageId(value: unknown): value is string {
  return typeof value === 'string' && TRIAGE_ID.test(value);
}

/** Longest Temporal client identity a decision may carry. */
export const MAX_CLIENT_IDENTITY = 256;

/**
 * The triage workflow's query that answers the credential broker with the plan,
 * its decision, and the card and issue written so far. Named here because the
 * broker may not import workflows/.
 */
export const APPROVAL_QUERY = 'approval';

/** The Update that carries a human's decision; the broker finds it in a triage's history by this name. */
export const DECIDE_UPDATE = 'decide';
