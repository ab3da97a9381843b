import {
  BACK_LINK_TEMPLATE,
  backLinkTemplate,
  canonicalJson,
  fillPlaceholders,
  hashPlan,
  inertPlaceholders,
  PLACEHOLDERS,
  PlaceholderError,
  type PlaceholderValues,
  type WritePlan,
} from '../../config/write-plan.js';

const plan: WritePlan = {
  github: {
    repo: 'acme/Checkout',
    title: 't',
    body: 'b',
    labels: ['triage'],
    idempotencyKey: 'k',
    backLink: BACK_LINK_TEMPLATE,
  },
  slack: {},
};

test('the hash is over the plan with its placeholders, not their values', () => {
  expect(canonicalJson(plan)).toContain(PLACEHOLDERS.notePermalink);
  const without: WritePlan = { ...plan, github: { ...plan.github, backLink: undefined } };
  expect(hashPlan(without)).not.toBe(hashPlan(plan));
  expect(hashPlan({ ...plan, github: { ...plan.github, backLink: `${BACK_LINK_TEMPLATE} ` } })).not.toBe(hashPlan(plan));
});

test('a plan from before the back link was planned writes the text the activity always wrote', () => {
  const old: WritePlan = { ...plan, github: { ...plan.github, backLink: undefined } };
  expect(backLinkTemplate(old)).toBe(BACK_LINK_TEMPLATE);
  expect(fillPlaceholders(backLinkTemplate(old), { notePermalink: 'https://acme.slack.com/archives/C1/p1' }, plan.github)).toBe(
    '\n**Slack:** [the #incidents note](https://acme.slack.com/archives/C1/p1)\n',
  );
});

test('fills an issue URL of the plan repository, case-insensitively as GitHub names it', () => {
  expect(fillPlaceholders(`see ${PLACEHOLDERS.issueUrl}`, { issueUrl: 'https://github.com/acme/checkout/issues/12' }, plan.github)).toBe(
    'see https://github.com/acme/checkout/issues/12',
  );
  expect(fillPlaceholders(PLACEHOLDERS.issueNumber, { issueNumber: '12' }, plan.github)).toBe('12');
});

test.each<[string, string, PlaceholderValues]>([
  ['an issue of another repository', PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/other/issues/12' }],
  ['a pull request URL', PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/checkout/pull/12' }],
  ['a link that closes the Markdown link', PLACEHOLDERS.notePermalink, { notePermalink: 'https://x.slack.com/a) [click](https://evil' }],
  ['a mrkdwn link break-out', PLACEHOLDERS.notePermalink, { notePermalink: 'https://x.slack.com/a|evil>' }],
  ['a javascript: URL', PLACEHOLDERS.notePermalink, { notePermalink: 'javascript:alert(1)' }],
  ['a number with a sign', PLACEHOLDERS.issueNumber, { issueNumber: '-1' }],
  [
    'an issue URL too long for a Slack link',
    PLACEHOLDERS.issueUrl,
    { issueUrl: `https://github.com/acme/checkout/issues/1?${'a'.repeat(800)}` },
  ],
  ['a decision time that is not Unix seconds', PLACEHOLDERS.decidedAtSeconds, { decidedAtSeconds: '1e9' }],
  ['a decision time that is not a UTC minute', PLACEHOLDERS.decidedAtUtc, { decidedAtUtc: '<!channel>' }],
  ['a decider on two lines', PLACEHOLDERS.decidedBy, { decidedBy: 'by U0ALICE\n@here' }],
  ['an empty decider', PLACEHOLDERS.decidedBy, { decidedBy: '' }],
  ['no value at all', PLACEHOLDERS.notePermalink, {}],
])('refuses %s', (_name, template, values) => {
  expect(() => fillPlaceholders(template, values, plan.github)).toThrow(PlaceholderError);
});

test('an issue URL needs a plan that writes an issue', () => {
  expect(() => fillPlaceholders(PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/checkout/issues/1' }, {})).toThrow(
    /writes no issue/,
  );
});

test('each value is escaped for the text it lands in; the template around it is not touched', () => {
  const escape = (value: string) => `[${value}]`;
  expect(fillPlaceholders(`<${PLACEHOLDERS.decidedBy}>`, { decidedBy: 'by U0ALICE' }, plan.github, escape)).toBe('<[by U0ALICE]>');
});

test('text copied into a template cannot read as a placeholder', () => {
  const copied = inertPlaceholders(`${PLACEHOLDERS.decidedBy} {{{${PLACEHOLDERS.notePermalink}`);
  expect(fillPlaceholders(copied, {}, plan.github)).toBe(copied);
  expect(copied.replaceAll('\u2060', '')).toBe(`${PLACEHOLDERS.decidedBy} {{{${PLACEHOLDERS.notePermalink}`);
});

test('a value that spells a placeholder stays text: values are not filled in again', () => {
  const values = { decidedBy: `by U0ALICE (Temporal client ${PLACEHOLDERS.decidedAtUtc})`, decidedAtUtc: '2024-05-01 10:40 UTC' };
  expect(fillPlaceholders(`${PLACEHOLDERS.decidedBy} at ${PLACEHOLDERS.decidedAtUtc}`, values, plan.github)).toBe(
    `by U0ALICE (Temporal client ${PLACEHOLDERS.decidedAtUtc}) at 2024-05-01 10:40 UTC`,
  );
});
