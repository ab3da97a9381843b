// Identifiers that cross process boundaries, checked the same way wherever
// one arrives: from a webhook, a Slack click, the command line or a header.

/** A PagerDuty object id (incident, service, user): letters and digits. */
export const PAGERDUTY_ID = /^[A-Za-z0-9]{1,32}$/;

/**
 * A triage id, as the worker sends it in `X-Triage-Id` and the User-Agent and
 * the broker writes it to its audit lines: a workflow id or an activity
 * attempt under it (`triage-Q1:collect-kubernetes:2`).
 */
export const TRIAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
