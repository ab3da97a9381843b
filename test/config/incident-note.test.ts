// The #incidents note as planned, filled: what the worker posts and the broker
// expects, from the same plan, decision and issue.
import type { KnownBlock } from '@slack/types';
import { fillNote, notePostFields, noteValues, slackDate, type PlannedNote } from '../../config/incident-note.js';
import { PLACEHOLDERS as P, PlaceholderError } from '../../config/write-plan.js';

const TARGET = { repo: 'acme/checkout' };
const ISSUE = { url: 'https://github.com/acme/checkout/issues/42', number: 42 };
const DECISION = { decision: 'approve', approver: 'U0ALICE', at: '2024-05-01T10:40:12.345Z', channel: 'slack' };

const note: PlannedNote = {
  channel: 'incidents',
  text: `Checkout down · GitHub issue #${P.issueNumber} · Approved ${P.decidedBy}`,
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text: `<${P.issueUrl}|GitHub issue #${P.issueNumber}>`, verbatim: true } },
    {
      type: 'context',
      elements: [
        { type: 'plain_text', text: `Approved ${P.decidedBy}`, emoji: false },
        { type: 'mrkdwn', text: `<!date^${P.decidedAtSeconds}^{date_short_pretty} {time}|${P.decidedAtUtc}>`, verbatim: true },
      ],
    },
  ],
};

test('fills the issue and the decision where the plan has their placeholders, and nothing else', () => {
  expect(fillNote(note, noteValues(DECISION, ISSUE), TARGET)).toEqual({
    channel: 'incidents',
    text: 'Checkout down · GitHub issue #42 · Approved by U0ALICE via Slack',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `<${ISSUE.url}|GitHub issue #42>`, verbatim: true } },
      {
        type: 'context',
        elements: [
          { type: 'plain_text', text: 'Approved by U0ALICE via Slack', emoji: false },
          { type: 'mrkdwn', text: '<!date^1714560012^{date_short_pretty} {time}|2024-05-01 10:40 UTC>', verbatim: true },
        ],
      },
    ],
  });
});

test('a value is escaped for where it lands: as is in plain_text, as notification text in the top-level text', () => {
  const cli = { ...DECISION, channel: 'cli', identity: '<!channel> & @here' };
  const filled = fillNote(note, noteValues(cli, ISSUE), TARGET);
  expect(JSON.stringify(filled.blocks)).toContain('"text":"Approved by U0ALICE via the triage CLI (Temporal client <!channel> & @here)"');
  expect(filled.text).toBe(
    'Checkout down · GitHub issue #42 · Approved by U0ALICE via the triage CLI (Temporal client &lt;!channel&gt; &amp; @\u2060here)',
  );
});

test.each<[string, () => unknown]>([
  ['an issue of another repository', () => noteValues(DECISION, { url: 'https://github.com/acme/payments/issues/42', number: 42 })],
  ['an issue URL that names another number', () => noteValues(DECISION, { url: ISSUE.url, number: 43 })],
  ['a decision time that is not a time', () => noteValues({ ...DECISION, at: 'yesterday' }, ISSUE)],
])('refuses %s', (_name, fill) => {
  expect(() => fillNote(note, fill() as ReturnType<typeof noteValues>, TARGET)).toThrow(PlaceholderError);
});

test('a placeholder anywhere but a text object is refused: nothing says how to escape it there', () => {
  const button = { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open' }, url: P.issueUrl }] };
  const planned = { ...note, blocks: [...note.blocks, button as KnownBlock] };
  expect(() => fillNote(planned, noteValues(DECISION, ISSUE), TARGET)).toThrow(/outside a text object/);
});

test('the fields a post of the note carries, as a form sends them', () => {
  const filled = fillNote(note, noteValues(DECISION, ISSUE), TARGET);
  const fields = notePostFields(filled);
  expect(fields).toEqual({
    channel: 'incidents',
    text: filled.text,
    blocks: expect.any(String),
    link_names: 'false',
    unfurl_links: 'false',
    unfurl_media: 'false',
  });
  // Canonical: keys sorted, so the posted JSON's key order does not matter.
  expect(fields.blocks!.startsWith('[{"text":{"text":')).toBe(true);
});

test.each<[string, unknown, ReturnType<typeof slackDate>]>([
  ['an ISO time, to the whole second', '2024-05-01T10:40:12.999Z', { seconds: '1714560012', utc: '2024-05-01 10:40 UTC' }],
  ['not a time', 'soon', undefined],
  ['before 1970', '1969-12-31T23:59:59Z', undefined],
  ['not a string', 1714560012, undefined],
])('slackDate: %s', (_name, iso, expected) => {
  expect(slackDate(iso)).toEqual(expected);
});
