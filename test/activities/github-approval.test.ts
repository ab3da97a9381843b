// The line the issue gets under the approved plan: who decided, through which
// channel, and the Temporal client that sent the decision.
import { approvalLine } from '../../activities/github.js';

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
