// An approval's words: the line the issue gets under the approved plan and the
// "by …" of the Slack card and note: who decided, through which channel, and
// the Temporal client that sent the decision. The worker and the broker both
// render them, so these are the words a person reads and the broker checks.
import { approvalLine, decidedBy, issueBodyWithApproval } from '../../config/approval-text.js';

const AT = '2026-11-28T18:18:04.784Z';
const WJ = '\u2060';

test('names the approver, the channel and the sending client', () => {
  expect(
    approvalLine({ decision: 'approve', approver: 'U0ALICE', at: AT, channel: 'slack', identity: 'keyless-triage-gateway@gw-7d9f' }),
  ).toBe(`**Approved** by U0ALICE via Slack at ${AT}; sent by Temporal client keyless-triage-gateway@${WJ}gw-7d9f`);
  expect(approvalLine({ decision: 'approve', approver: 'U0BOB', at: AT, channel: 'cli', identity: 'triage-cli:bob@laptop' })).toBe(
    `**Approved** by U0BOB via the triage CLI at ${AT}; sent by Temporal client triage-cli:bob@${WJ}laptop`,
  );
});

test('a decision recorded before decisions named their channel still reads as a sentence', () => {
  expect(approvalLine({ decision: 'approve', approver: 'U0ALICE', at: AT })).toBe(`**Approved** by U0ALICE at ${AT}`);
});

test('an identity the sending client chose cannot link, mention, hide text or break out of its line', () => {
  const line = approvalLine({
    decision: 'approve',
    approver: 'U0ALICE',
    at: AT,
    channel: 'cli',
    identity: '[open](https://evil.example) @here <!-- hidden -->\n# heading',
  });
  expect(line).not.toMatch(/\[open\]\(|https:\/\/evil|@here|<!--|\n/);
  expect(line).toContain('\\[open\\]');
});

test('the created issue body is the approved text, a blank line, the approval line', () => {
  expect(issueBodyWithApproval('approved\n', { decision: 'approve', approver: 'U0ALICE', at: AT, channel: 'slack' })).toBe(
    `approved\n\n\n**Approved** by U0ALICE via Slack at ${AT}\n`,
  );
});

describe('decided by, for Slack', () => {
  test.each<[string, Parameters<typeof decidedBy>[0], string]>([
    [
      'a Slack click',
      { decision: 'approve', approver: 'U0ALICE', at: AT, channel: 'slack', identity: 'keyless-triage-gateway@gw' },
      'by U0ALICE via Slack',
    ],
    [
      'the CLI, whose --as anyone may type: the sending client is named',
      { decision: 'approve', approver: 'U0BOB', at: AT, channel: 'cli', identity: 'triage-cli:bob@laptop' },
      'by U0BOB via the triage CLI (Temporal client triage-cli:bob@laptop)',
    ],
    ['a decision recorded before channels were', { decision: 'approve', approver: 'U0ALICE', at: AT }, 'by U0ALICE'],
    ['an empty approver', { decision: 'approve', approver: '', at: AT }, 'by unknown'],
  ])('%s', (_name, decision, expected) => {
    expect(decidedBy(decision)).toBe(expected);
  });

  test('one bounded printable line, whatever the client sent', () => {
    const by = decidedBy({
      decision: 'approve',
      approver: `U0${'A'.repeat(500)}`,
      at: AT,
      channel: 'cli',
      identity: `a\nb\u202e${'c'.repeat(500)}`,
    });
    expect(by).not.toMatch(/[\n\u202e]/);
    expect(by.length).toBeLessThan(200);
  });
});
