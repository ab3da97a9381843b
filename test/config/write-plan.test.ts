import {
  BACK_LINK_TEMPLATE,
  backLinkTemplate,
  canonicalJson,
  fillPlaceholders,
  hashPlan,
  PLACEHOLDERS,
  PlaceholderError,
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
  slack: { text: 's' },
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

test.each<[string, string, Partial<Record<'issueUrl' | 'notePermalink' | 'issueNumber', string>>]>([
  ['an issue of another repository', PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/other/issues/12' }],
  ['a pull request URL', PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/checkout/pull/12' }],
  ['a link that closes the Markdown link', PLACEHOLDERS.notePermalink, { notePermalink: 'https://x.slack.com/a) [click](https://evil' }],
  ['a mrkdwn link break-out', PLACEHOLDERS.notePermalink, { notePermalink: 'https://x.slack.com/a|evil>' }],
  ['a javascript: URL', PLACEHOLDERS.notePermalink, { notePermalink: 'javascript:alert(1)' }],
  ['a number with a sign', PLACEHOLDERS.issueNumber, { issueNumber: '-1' }],
  ['no value at all', PLACEHOLDERS.notePermalink, {}],
])('refuses %s', (_name, template, values) => {
  expect(() => fillPlaceholders(template, values, plan.github)).toThrow(PlaceholderError);
});

test('an issue URL needs a plan that writes an issue', () => {
  expect(() => fillPlaceholders(PLACEHOLDERS.issueUrl, { issueUrl: 'https://github.com/acme/checkout/issues/1' }, {})).toThrow(
    /writes no issue/,
  );
});
