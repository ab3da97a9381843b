import type { ActionsBlock, Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { Finding } from '../../activities/model.js';
import { APPROVE_ACTION_ID, decodeActionValue, encodeActionValue, REJECT_ACTION_ID } from '../../workflows/messages.js';
import {
  approvalCard,
  cancelledCard,
  closedCard,
  decidedCard,
  expiredCard,
  failedCard,
  plannedNote,
  reminderMessage,
  resolvedCard,
  type CardContext,
  type CardDecision,
  type CardOutcome,
  type SlackMessage,
} from '../../activities/slack-card.js';
import { fillNote, noteValues } from '../../config/incident-note.js';
import { incident } from './analyzers/fixtures.js';
import { blockKitViolations, mrkdwnResidue, textObjects } from './block-kit.js';

const PLAN_HASH = 'a'.repeat(40) + '0123456789abcdef01234567';
const WEB_UI = 'http://localhost:8233/namespaces/default/workflows/triage-PABC123';
const ISSUE = {
  url: 'https://github.com/acme/checkout/issues/42',
  number: 42,
  title: '[triage] checkout-api error rate above 5% (PagerDuty #1234)',
};

function finding(index: number, overrides: Partial<Finding> = {}): Finding {
  return {
    analyzer: 'kubernetes.crashloop',
    severity: index === 0 ? 'critical' : 'warning',
    surface: 'kubernetes',
    title: `finding ${index}: checkout-api pods in CrashLoopBackOff`,
    objects: [`Pod/shop/checkout-api-${index}`],
    evidence: [`evidence ${index}.1`, `evidence ${index}.2`],
    ...overrides,
  };
}

function ctx(overrides: Partial<CardContext> = {}): CardContext {
  return {
    incident: incident(),
    headline: 'checkout-api pods in CrashLoopBackOff since the rollout to revision 7',
    findings: [finding(0), finding(1)],
    surfaces: [
      { surface: 'pagerduty', status: 'ok' },
      { surface: 'kubernetes', status: 'unavailable', reason: 'connect ECONNREFUSED 10.0.0.1:443' },
    ],
    planHash: PLAN_HASH,
    workflowId: 'triage-PABC123',
    webUiUrl: WEB_UI,
    approvers: ['U012345', 'U0BOB'],
    expiresAt: '2024-05-01T11:30:00.000Z',
    githubRepo: 'acme/checkout',
    ...overrides,
  };
}

// As recorded before decisions named their channel: cards of such triages read as they always did.
const decision = { decision: 'approve' as const, approver: 'U012345', at: '2024-05-01T10:40:12.000Z' };

/** The plan's note for a card's triage, filled as the worker posts it (and the broker expects it). */
function incidentNote(c: CardContext, d: CardDecision): SlackMessage {
  const note = plannedNote({
    channel: 'incidents',
    incident: c.incident,
    headline: c.headline,
    findings: c.findings,
    webUiUrl: c.webUiUrl,
    issueTitle: ISSUE.title,
  });
  return fillNote(note, noteValues(d, ISSUE), { repo: 'acme/checkout' });
}

function ofType<T extends KnownBlock['type']>(message: SlackMessage, type: T): Extract<KnownBlock, { type: T }>[] {
  return message.blocks.filter((b): b is Extract<KnownBlock, { type: T }> => b.type === type);
}

function allText(message: SlackMessage): string {
  return textObjects(message)
    .map((t) => t.text)
    .join('\n');
}

describe('the approval card', () => {
  const card = approvalCard(ctx());

  test('is valid Block Kit within every limit', () => {
    expect(blockKitViolations(card)).toEqual([]);
  });

  test('starts with the incident number, then title, service, urgency and headline', () => {
    expect(card.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'PagerDuty incident #1234 · approval needed', emoji: false },
    });
    const summary = card.blocks[1] as SectionBlock;
    expect(summary.text).toEqual({ type: 'plain_text', text: 'checkout-api error rate above 5%', emoji: false });
    expect(summary.fields?.map((f) => f.text)).toEqual(['Service: checkout', 'Urgency: high']);
    expect(allText(card)).toContain('Most likely cause: checkout-api pods in CrashLoopBackOff since the rollout to revision 7');
    expect(card.text).toBe(
      'Approval needed for the triage of PagerDuty incident 1234: checkout-api error rate above 5% · checkout-api pods in CrashLoopBackOff since the rollout to revision 7',
    );
  });

  test('lists the findings with their evidence and one line per surface', () => {
    const text = allText(card);
    expect(text).toContain('🔴 critical 1. finding 0: checkout-api pods in CrashLoopBackOff\n• evidence 0.1\n• evidence 0.2');
    expect(text).toContain('🟠 warning 2. finding 1');
    expect(text).toContain('Evidence surfaces\n✅ pagerduty: ok\n⚠️ kubernetes: unavailable: connect ECONNREFUSED 10.0.0.1:443');
  });

  test('links PagerDuty and the Temporal Web UI in verbatim mrkdwn', () => {
    const links = ofType(card, 'section').find((s) => s.text?.type === 'mrkdwn');
    expect(links?.text).toEqual({
      type: 'mrkdwn',
      verbatim: true,
      text: `<https://acme.pagerduty.com/incidents/PABC123|PagerDuty incident #1234>  ·  <${WEB_UI}|Temporal workflow triage-PABC123>`,
    });
  });

  test('names the approvers and the expiry, as a Slack date', () => {
    const context = ofType(card, 'context').at(-1)!;
    expect(context.elements).toEqual([
      { type: 'plain_text', text: 'Approvers: U012345, U0BOB', emoji: false },
      { type: 'mrkdwn', verbatim: true, text: 'Expires <!date^1714563000^{date_short_pretty} {time}|2024-05-01 11:30 UTC>' },
    ]);
  });

  test('ends with Approve (primary, confirmed) and Reject (danger), both naming the incident and the plan', () => {
    const actions = card.blocks.at(-1) as ActionsBlock;
    expect(actions.type).toBe('actions');
    const [approve, reject] = actions.elements as Button[];
    expect(approve).toMatchObject({
      type: 'button',
      action_id: APPROVE_ACTION_ID,
      style: 'primary',
      text: { type: 'plain_text', text: 'Approve' },
    });
    expect(reject).toMatchObject({
      type: 'button',
      action_id: REJECT_ACTION_ID,
      style: 'danger',
      text: { type: 'plain_text', text: 'Reject' },
    });
    expect(reject?.confirm).toBeUndefined();
    expect(approve?.confirm).toEqual({
      title: { type: 'plain_text', text: 'Approve the write plan?', emoji: false },
      text: {
        type: 'plain_text',
        text: `Approving creates a GitHub issue in acme/checkout and posts a note in #incidents, exactly as planned (plan ${PLAN_HASH.slice(0, 12)}).`,
        emoji: false,
      },
      confirm: { type: 'plain_text', text: 'Approve', emoji: false },
      deny: { type: 'plain_text', text: 'Cancel', emoji: false },
    });
    expect(approve?.value).toBe(`{"i":"PABC123","h":"${PLAN_HASH}"}`);
    for (const button of [approve!, reject!])
      expect(decodeActionValue(button.value!)).toEqual({ incidentId: 'PABC123', planHash: PLAN_HASH });
  });

  test('without a GitHub repository the confirmation says nothing is written', () => {
    const actions = approvalCard(ctx({ githubRepo: undefined })).blocks.at(-1) as ActionsBlock;
    expect((actions.elements[0] as Button).confirm?.text.text).toMatch(
      /^No GitHub repository is configured for this service: approving records the decision and writes nothing/,
    );
  });

  test('a PagerDuty link that is not http(s) is shown as text only', () => {
    const message = approvalCard(ctx({ incident: incident({ htmlUrl: 'javascript:alert(1)' }) }));
    expect(allText(message)).toContain('PagerDuty incident #1234 (link omitted: not a usable http(s) URL)');
    expect(JSON.stringify(message)).not.toContain('javascript:');
  });

  test('an expiry that is not a time is shown as text', () => {
    const context = ofType(approvalCard(ctx({ expiresAt: '<!channel> soon' })), 'context').at(-1)!;
    expect(context.elements[1]).toEqual({ type: 'plain_text', text: 'Expires <!channel> soon', emoji: false });
  });

  test('a 50-finding diagnosis: five findings, three evidence lines each, the rest counted, every limit kept', () => {
    const findings = Array.from({ length: 50 }, (_, i) =>
      finding(i, { title: `${'t'.repeat(5_000)} ${i}`, evidence: Array.from({ length: 20 }, (_, j) => `${'e'.repeat(10_000)} ${j}`) }),
    );
    const surfaces = Array.from({ length: 30 }, (_, i) => ({
      surface: `s${i}` as 'kubernetes',
      status: 'unavailable' as const,
      reason: 'r'.repeat(5_000),
    }));
    const long = ctx({ findings, surfaces, approvers: Array.from({ length: 40 }, (_, i) => `U${i}`.padEnd(100, 'X')) });
    for (const message of [
      approvalCard(long),
      decidedCard(long, { ...decision, comment: 'c'.repeat(100_000) }, { url: ISSUE.url, number: 42 }),
      expiredCard(long),
      resolvedCard(long, '2024-05-01T10:50:00Z'),
      failedCard(long, 'f'.repeat(100_000), { issue: { url: `${ISSUE.url}${'9'.repeat(5_000)}`, number: 42 }, note: true }),
      cancelledCard(long, {}),
      reminderMessage(long),
      incidentNote(long, decision),
    ]) {
      expect(blockKitViolations(message)).toEqual([]);
    }
    const card = approvalCard(long);
    const findingSections = ofType(card, 'section').filter((s) => /^🔴|^🟠/.test(s.text?.text ?? ''));
    expect(findingSections).toHaveLength(5);
    for (const s of findingSections) {
      const lines = s.text!.text.split('\n');
      expect(lines).toHaveLength(5);
      expect(lines.at(-1)).toBe('• and 17 more evidence lines');
    }
    expect(allText(card)).toContain('and 45 more findings, in the workflow history (Temporal Web UI link below)');
    expect(allText(card)).toContain('⚠️ s8: unavailable: ');
    expect(allText(card)).toContain('…\nand 21 more\n');
    expect(allText(card)).toMatch(/Approvers: .* and 30 more/);
  });

  test('refuses to build buttons that the gateway could not decode', () => {
    expect(() => approvalCard(ctx({ incident: incident({ id: 'P"1' }) }))).toThrow(RangeError);
    expect(() => approvalCard(ctx({ planHash: 'ABC' }))).toThrow(RangeError);
  });
});

describe('closed cards keep the content and lose the buttons', () => {
  const closed: [string, SlackMessage][] = [
    ['approved', decidedCard(ctx(), { ...decision, comment: 'looks right' }, { url: ISSUE.url, number: 42 })],
    ['rejected', decidedCard(ctx(), { decision: 'reject', approver: 'U0BOB', at: '2024-05-01T10:40:12Z' })],
    ['expired', expiredCard(ctx())],
    ['resolved', resolvedCard(ctx(), '2024-05-01T10:50:00Z')],
    ['failed', failedCard(ctx(), 'github: HTTP 422', {})],
    ['cancelled', cancelledCard(ctx(), {})],
  ];

  test.each(closed)('%s', (_, message) => {
    expect(blockKitViolations(message)).toEqual([]);
    expect(ofType(message, 'actions')).toEqual([]);
    expect(message.blocks.slice(0, -1).map((b) => b.type)).toEqual(
      approvalCard(ctx())
        .blocks.slice(0, -2)
        .map((b) => b.type),
    );
  });

  function outcome(message: SlackMessage): ContextBlock['elements'] {
    return (message.blocks.at(-1) as ContextBlock).elements;
  }

  test('approved: who, when, the comment and the issue link', () => {
    const message = closed[0]![1];
    expect((message.blocks[0] as { text: { text: string } }).text.text).toBe('PagerDuty incident #1234 · approved');
    expect(outcome(message)).toEqual([
      { type: 'plain_text', text: '✅ Approved by U012345', emoji: false },
      { type: 'mrkdwn', verbatim: true, text: '<!date^1714560012^{date_short_pretty} {time}|2024-05-01 10:40 UTC>' },
      { type: 'plain_text', text: 'Comment: looks right', emoji: false },
      { type: 'mrkdwn', verbatim: true, text: `<${ISSUE.url}|GitHub issue #42>` },
    ]);
    expect(message.text).toBe('PagerDuty incident 1234: checkout-api error rate above 5% · approved by U012345 · GitHub issue #42');
  });

  test('rejected: nothing was written', () => {
    expect(outcome(closed[1]![1]).map((e) => e.type !== 'image' && e.text)).toEqual([
      '❌ Rejected by U0BOB',
      '<!date^1714560012^{date_short_pretty} {time}|2024-05-01 10:40 UTC>',
      'Nothing was written.',
    ]);
  });

  test('the channel a decision came through is named; a CLI decision also names its Temporal client, inert', () => {
    const slack = decidedCard(ctx(), { ...decision, channel: 'slack', identity: 'keyless-triage-gateway@gw-7d9f' }, ISSUE);
    expect(outcome(slack)[0]).toEqual({ type: 'plain_text', text: '✅ Approved by U012345 via Slack', emoji: false });
    expect(slack.text).toBe('PagerDuty incident 1234: checkout-api error rate above 5% · approved by U012345 via Slack · GitHub issue #42');

    // The identity is whatever the sending client chose.
    const cli = decidedCard(ctx(), { ...decision, decision: 'reject', channel: 'cli', identity: '<!channel> ops@laptop' });
    expect(blockKitViolations(cli)).toEqual([]);
    expect(outcome(cli)[0]).toEqual({
      type: 'plain_text',
      text: '❌ Rejected by U012345 via the triage CLI (Temporal client <!channel> ops@laptop)',
      emoji: false,
    });
    expect(cli.text).toContain('rejected by U012345 via the triage CLI (Temporal client &lt;!channel&gt; ops@\u2060laptop)');
  });

  test('approved without a repository says so', () => {
    const message = decidedCard(ctx({ githubRepo: undefined }), decision);
    expect(allText(message)).toContain('No GitHub repository is configured for this service; nothing was written.');
  });

  test('expired and resolved say nothing was written, and when', () => {
    expect(allText(closed[2]![1])).toContain('⌛ Expired without a decision; nothing was written.');
    expect(allText(closed[2]![1])).toContain('<!date^1714563000^');
    expect(allText(closed[3]![1])).toContain('☑️ The incident was resolved before anyone decided; nothing was written.');
    expect(allText(closed[3]![1])).toContain('Resolved <!date^1714560600^');
  });
});

describe('a card whose triage stopped short says why, and what was written', () => {
  const hostile = 'github: HTTP 422 <!channel> <https://evil.example|log in> *now* &amp; @here\u202e ghp_' + 'a'.repeat(36);
  const issue = { url: ISSUE.url, number: 42 };
  const link = `<${ISSUE.url}|GitHub issue #42>`;
  const cases: [string, CardOutcome, { header: string; said: string; written: string; mrkdwn: boolean; text: string }][] = [
    [
      'failed before writing anything',
      { kind: 'failed', reason: 'github: HTTP 404: Not Found', written: {} },
      {
        header: 'triage failed',
        said: '⚠️ The triage failed: github: HTTP 404: Not Found',
        written: 'Nothing was written.',
        mrkdwn: false,
        text: '⚠️ The triage failed: github: HTTP 404: Not Found Nothing was written.',
      },
    ],
    [
      'failed after the issue, before the note',
      { kind: 'failed', reason: 'slack: HTTP 500', written: { issue } },
      {
        header: 'triage failed',
        said: '⚠️ The triage failed: slack: HTTP 500',
        written: `Written: ${link}; no #incidents note.`,
        mrkdwn: true,
        text: '⚠️ The triage failed: slack: HTTP 500 Written: GitHub issue #42; no #incidents note.',
      },
    ],
    [
      'failed after the issue and the note',
      { kind: 'failed', reason: 'github: HTTP 403', written: { issue, note: true } },
      {
        header: 'triage failed',
        said: '⚠️ The triage failed: github: HTTP 403',
        written: `Written: ${link}; the #incidents note was posted.`,
        mrkdwn: true,
        text: '⚠️ The triage failed: github: HTTP 403 Written: GitHub issue #42; the #incidents note was posted.',
      },
    ],
    [
      'failed with no reason',
      { kind: 'failed', reason: '', written: {} },
      {
        header: 'triage failed',
        said: '⚠️ The triage failed: no reason given',
        written: 'Nothing was written.',
        mrkdwn: false,
        text: '⚠️ The triage failed: no reason given Nothing was written.',
      },
    ],
    [
      'cancelled',
      { kind: 'cancelled', written: {} },
      {
        header: 'triage cancelled',
        said: '⏹️ The triage was cancelled.',
        written: 'Nothing was written.',
        mrkdwn: false,
        text: '⏹️ The triage was cancelled. Nothing was written.',
      },
    ],
  ];

  test.each(cases)('%s', (_, outcome, want) => {
    const message = closedCard(ctx(), outcome);
    expect(blockKitViolations(message)).toEqual([]);
    expect(ofType(message, 'actions')).toEqual([]);
    expect((message.blocks[0] as { text: { text: string } }).text.text).toBe(`PagerDuty incident #1234 · ${want.header}`);
    expect((message.blocks.at(-1) as ContextBlock).elements).toEqual([
      { type: 'plain_text', text: want.said, emoji: false },
      want.mrkdwn ? { type: 'mrkdwn', verbatim: true, text: want.written } : { type: 'plain_text', text: want.written, emoji: false },
    ]);
    expect(message.text).toBe(`PagerDuty incident 1234: checkout-api error rate above 5% · ${want.text}`);
  });

  test('a hostile reason is plain text, printable, redacted and bounded, and escaped in the notification', () => {
    const message = failedCard(ctx(), hostile.repeat(20), { issue });
    expect(blockKitViolations(message)).toEqual([]);
    const [said] = (message.blocks.at(-1) as ContextBlock).elements as { type: string; text: string }[];
    expect(said!.type).toBe('plain_text');
    expect(said!.text).toMatch(/^⚠️ The triage failed: github: HTTP 422 <!channel> <https:\/\/evil\.example\|log in>/);
    expect(said!.text).not.toContain('\u202e');
    expect(said!.text).not.toContain('a'.repeat(36));
    expect(said!.text.length).toBeLessThan(400);
    for (const t of textObjects(message).filter((o) => o.type === 'mrkdwn')) {
      expect(
        mrkdwnResidue(t.text, {
          linkTargets: new Set([ISSUE.url, WEB_UI, 'https://acme.pagerduty.com/incidents/PABC123']),
          mentionable: new Set(),
        }),
      ).not.toMatch(/[<>]/);
    }
    expect(message.text).not.toMatch(/<!channel>|<https:\/\/evil/);
    expect(message.text).toContain('&lt;!channel&gt;');
  });

  test('an issue URL that is not http(s) is not linked', () => {
    const message = failedCard(ctx(), 'x', { issue: { url: 'javascript:alert(1)', number: 42 } });
    expect(JSON.stringify(message)).not.toContain('javascript:');
    expect(allText(message)).toContain('Written: GitHub issue #42 (link omitted: not a usable http(s) URL); no #incidents note.');
  });
});

describe('the reminder', () => {
  test('mentions the configured approvers that are Slack user ids, and only those', () => {
    const message = reminderMessage(ctx({ approvers: ['U012345', 'W0ABC', '<!channel>', 'u-lower', '@here'] }));
    expect(blockKitViolations(message)).toEqual([]);
    const first = message.blocks[0] as SectionBlock;
    expect(first.text).toEqual({
      type: 'mrkdwn',
      verbatim: true,
      text: '⏰ Reminder: PagerDuty incident 1234 is still waiting for a decision on its write plan. <@U012345> <@W0ABC>',
    });
    expect(message.text.endsWith(' <@U012345> <@W0ABC>')).toBe(true);
    const allowed = { linkTargets: new Set<string>(), mentionable: new Set(['U012345', 'W0ABC']) };
    for (const t of [
      message.text,
      ...textObjects(message)
        .filter((o) => o.type === 'mrkdwn')
        .map((o) => o.text),
    ]) {
      expect(mrkdwnResidue(t, allowed)).not.toMatch(/[<>]/);
    }
    expect(allText(message)).toContain('Approvers: U012345, W0ABC, <!channel>, u-lower, @here');
  });
});

describe('the #incidents note', () => {
  const note = incidentNote(ctx(), decision);

  test('says through which channel the plan was approved', () => {
    const viaCli = incidentNote(ctx(), { ...decision, channel: 'cli', identity: 'triage-cli:bob@laptop' });
    expect(allText(viaCli)).toContain('Approved by U012345 via the triage CLI (Temporal client triage-cli:bob@laptop)');
    expect(allText(incidentNote(ctx(), { ...decision, channel: 'slack', identity: 'keyless-triage-gateway@gw' }))).toContain(
      'Approved by U012345 via Slack',
    );
  });

  test('links the issue, PagerDuty and the workflow, and says who approved', () => {
    expect(blockKitViolations(note)).toEqual([]);
    expect(allText(note)).toContain(
      `<${ISSUE.url}|GitHub issue #42>  ·  <https://acme.pagerduty.com/incidents/PABC123|PagerDuty incident #1234>  ·  <${WEB_UI}|Temporal workflow>`,
    );
    expect(allText(note)).toContain('Approved by U012345');
    expect(allText(note)).toContain(`Issue: ${ISSUE.title}`);
    expect(note.text).toBe(
      'PagerDuty incident 1234: checkout-api error rate above 5% · checkout-api pods in CrashLoopBackOff since the rollout to revision 7 · GitHub issue #42 · Approved by U012345',
    );
    // 2024-05-01T10:40:12Z, shown in each reader's time zone.
    expect(allText(note)).toContain('<!date^1714560012^{date_short_pretty} {time}|2024-05-01 10:40 UTC>');
  });

  test('who approved is plain text in the blocks and escaped in the notification text', () => {
    const hostile = incidentNote(ctx(), { ...decision, channel: 'cli', identity: '<!channel> & @here' });
    expect(allText(hostile)).toContain('Approved by U012345 via the triage CLI (Temporal client <!channel> & @here)');
    const plainTexts = textObjects(hostile).filter((o) => o.text.includes('<!channel>'));
    expect(plainTexts.map((o) => o.type)).toEqual(['plain_text']);
    expect(hostile.text).toContain(`(Temporal client &lt;!channel&gt; &amp; @\u2060here)`);
  });
});

describe('decodeActionValue', () => {
  test.each([
    { name: 'an encoded value', value: encodeActionValue('PABC123', PLAN_HASH), expected: { incidentId: 'PABC123', planHash: PLAN_HASH } },
    { name: 'not JSON', value: 'PABC123', expected: undefined },
    { name: 'an array', value: `["PABC123","${PLAN_HASH}"]`, expected: undefined },
    { name: 'null', value: 'null', expected: undefined },
    { name: 'an extra member', value: `{"i":"PABC123","h":"${PLAN_HASH}","x":1}`, expected: undefined },
    { name: 'a __proto__ member', value: `{"i":"PABC123","h":"${PLAN_HASH}","__proto__":{}}`, expected: undefined },
    { name: 'a missing hash', value: '{"i":"PABC123"}', expected: undefined },
    { name: 'an upper-case hash', value: `{"i":"PABC123","h":"${PLAN_HASH.toUpperCase()}"}`, expected: undefined },
    { name: 'a short hash', value: '{"i":"PABC123","h":"abc"}', expected: undefined },
    { name: 'an id with punctuation', value: `{"i":"P/../x","h":"${PLAN_HASH}"}`, expected: undefined },
    { name: 'a numeric id', value: `{"i":123,"h":"${PLAN_HASH}"}`, expected: undefined },
    { name: 'too long', value: `{"i":"PABC123","h":"${PLAN_HASH}"}${' '.repeat(2_000)}`, expected: undefined },
  ])('$name', ({ value, expected }) => {
    expect(decodeActionValue(value)).toEqual(expected);
  });
});

describe('metric sparklines on the card', () => {
  const lines = [
    'CloudWatch: ALB p99 latency  ▁▁▁▂█▇  baseline 0.12 → 1.84 s (×15), since 10:42 UTC',
    'Datadog: <!channel> errors  ▁▁▁█  baseline 1 → 40',
  ];

  test('sit under the findings as plain text, one line per metric', () => {
    const card = approvalCard(ctx({ metricLines: lines }));
    const section = ofType(card, 'section').find((s) => s.text?.text.startsWith('Metrics'));
    expect(section?.text).toMatchObject({ type: 'plain_text' });
    // Runs of spaces collapse, as in every plain_text line of the card.
    expect(section?.text?.text.split('\n')).toEqual(['Metrics', ...lines.map((l) => l.replace(/ {2,}/g, ' '))]);
    expect(blockKitViolations(card)).toEqual([]);
  });

  test('a card without metrics has no metrics section', () => {
    expect(ofType(approvalCard(ctx()), 'section').some((s) => s.text?.text.startsWith('Metrics'))).toBe(false);
  });
});
