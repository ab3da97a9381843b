// The broker's judgement of one write against what Temporal says was approved,
// as a compromised worker would try it: forged, replayed, altered, early, late.
import { plannedNote } from '../../activities/slack-card.js';
import { checkWrite, writeKind, type TriageApproval, type WriteKind } from '../../broker/approval.js';
import { issueBodyWithApproval } from '../../config/approval-text.js';
import { fillNote, noteValues } from '../../config/incident-note.js';
import { BACK_LINK_TEMPLATE, hashPlan, type WritePlan } from '../../config/write-plan.js';
import { incident } from '../activities/analyzers/fixtures.js';

const plan: WritePlan = {
  github: {
    repo: 'acme/checkout',
    title: '[triage] Checkout 5xx (PagerDuty #42)',
    body: '**Most likely cause:** OOMKilled\n\n<!-- keyless-triage idempotency-key: k -->\n',
    labels: ['triage', 'severity:critical', 'triage-key:k'],
    idempotencyKey: 'k',
    backLink: BACK_LINK_TEMPLATE,
  },
  slack: {
    note: plannedNote({
      channel: 'incidents',
      incident: incident(),
      headline: 'OOMKilled',
      findings: [],
      webUiUrl: 'http://localhost:8233/namespaces/default/workflows/triage-PABC123',
      issueTitle: '[triage] Checkout 5xx (PagerDuty #42)',
    }),
  },
};
const hash = hashPlan(plan);
const AT = '2026-12-07T10:00:00.000Z';
const decision = {
  decision: 'approve',
  planHash: hash,
  approver: 'U0ALICE',
  at: AT,
  channel: 'slack',
  identity: 'keyless-triage-gateway@gw-7d9f',
};
const approved: TriageApproval = {
  planHash: hash,
  plan,
  decision,
  githubIssue: { repo: 'acme/checkout', number: 7, url: 'https://github.com/acme/checkout/issues/7' },
  slackCard: { channelId: 'C0APPROVAL', ts: '1.1' },
};
// What a reader sees under the approved text, word joiners aside (they keep GitHub from reading `@gw` as a mention).
const approvalLine = `\n\n**Approved** by U0ALICE via Slack at ${AT}; sent by Temporal client keyless-triage-gateway@\u2060gw-7d9f\n`;
const created = { title: plan.github.title, body: `${plan.github.body}${approvalLine}`, labels: plan.github.labels };
const permalink = 'https://acme.slack.com/archives/C0INCIDENTS/p1700000000000100';
const edited = { body: `${created.body}\n**Slack:** [the #incidents note](${permalink})\n` };

const json = (kind: WriteKind, path: string, body: unknown) => ({
  kind,
  path,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify(body)),
});
const create = (body: unknown = created) => json('issue-create', '/repos/acme/checkout/issues', body);
const edit = (body: unknown = edited, n = 7) => json('issue-edit', `/repos/acme/checkout/issues/${n}`, body);
const slack = (kind: 'slack-post' | 'slack-update', fields: Record<string, string>) => ({
  kind,
  path: kind === 'slack-post' ? '/api/chat.postMessage' : '/api/chat.update',
  contentType: 'application/x-www-form-urlencoded',
  body: Buffer.from(new URLSearchParams(fields).toString()),
});

test('classifies exactly the writes', () => {
  expect(writeKind('github', 'POST', '/repos/acme/checkout/issues')).toBe('issue-create');
  expect(writeKind('github', 'PATCH', '/repos/acme/checkout/issues/7')).toBe('issue-edit');
  expect(writeKind('github', 'GET', '/repos/acme/checkout/issues/7')).toBeUndefined();
  expect(writeKind('slack', 'POST', '/api/chat.postMessage')).toBe('slack-post');
  expect(writeKind('slack', 'POST', '/api/chat.update')).toBe('slack-update');
  expect(writeKind('slack', 'POST', '/api/chat.getPermalink')).toBeUndefined();
});

test('the approved plan is forwarded: the create (with or without its approval line) and the back-link edit', () => {
  expect(created.body).toBe(issueBodyWithApproval(plan.github.body, decision));
  expect(checkWrite(create(), approved)).toEqual({ ok: true });
  expect(checkWrite(create({ ...created, body: plan.github.body }), approved)).toEqual({ ok: true });
  expect(checkWrite(edit(), approved)).toEqual({ ok: true });
  // Key order and JSON spacing are formatting, not content.
  const reordered = {
    ...create(),
    body: Buffer.from(JSON.stringify({ labels: created.labels, body: created.body, title: created.title }, null, 2)),
  };
  expect(checkWrite(reordered, approved)).toEqual({ ok: true });
});

test.each<[string, TriageApproval | undefined, string]>([
  ['a forged triage id (no such workflow)', undefined, 'write without approval'],
  ['no decision yet', { ...approved, decision: undefined }, 'write without approval'],
  ['a rejection', { ...approved, decision: { ...decision, decision: 'reject' } }, 'write without approval'],
  ['an approval of another plan', { ...approved, decision: { ...decision, planHash: 'f'.repeat(64) } }, 'plan mismatch'],
  [
    'a plan altered after approval (the hash no longer matches)',
    { ...approved, plan: { ...plan, github: { ...plan.github, body: `${plan.github.body}x` } } },
    'plan mismatch',
  ],
  ['a workflow that serves no plan', { ...approved, plan: undefined }, 'write without approval'],
])('refuses the create after %s', (_name, approval, reason) => {
  expect(checkWrite(create(), approval)).toMatchObject({ ok: false, reason });
  expect(checkWrite(edit(), approval)).toMatchObject({ ok: false, reason });
});

test.each<[string, ReturnType<typeof create>]>([
  ['a body changed by one byte', create({ ...created, body: created.body.replace('OOMKilled', 'OOMKilleD') })],
  ['another title', create({ ...created, title: `${created.title}!` })],
  ['an added label', create({ ...created, labels: [...created.labels, 'x'] })],
  ['an extra field', create({ ...created, assignees: ['mallory'] })],
  ['another repository', json('issue-create', '/repos/acme/payments/issues', created)],
  ['a second line after the approval line', create({ ...created, body: `${created.body}@everyone\n` })],
  ['an approval line naming another approver', create({ ...created, body: created.body.replace('U0ALICE', 'U0MALLORY') })],
  ['an approval line naming another channel', create({ ...created, body: created.body.replace('via Slack', 'via the triage CLI') })],
  ['an approval line naming another time', create({ ...created, body: created.body.replace('10:00:00', '09:00:00') })],
  ['an approval line naming another client', create({ ...created, body: created.body.replace('gw-7d9f', 'laptop') })],
  ['an approval line without its client', create({ ...created, body: created.body.replace(/; sent by .*\n$/, '\n') })],
  ['an approval line with its word joiner dropped', create({ ...created, body: created.body.replace('\u2060', '') })],
  ['a body that is not JSON', { ...create(), body: Buffer.from('title=x') }],
])('refuses a create with %s as a plan mismatch', (_name, request) => {
  expect(checkWrite(request, approved)).toMatchObject({ ok: false, reason: 'plan mismatch' });
});

test.each<[string, ReturnType<typeof edit>]>([
  ['another issue', edit(edited, 8)],
  ['a permalink that breaks out of the link', edit({ body: edited.body.replace(permalink, `${permalink}) [x](https://evil`) })],
  ['a changed approved text', edit({ body: edited.body.replace('OOMKilled', 'fine') })],
  ['an approval line naming another approver', edit({ body: edited.body.replace('U0ALICE', 'U0MALLORY') })],
  ['text after the back link', edit({ body: `${edited.body}more\n` })],
  ['a title change', edit({ ...edited, title: 'x' })],
])('refuses an edit with %s as a plan mismatch', (_name, request) => {
  expect(checkWrite(request, approved)).toMatchObject({ ok: false, reason: 'plan mismatch' });
});

test('the approval line of a decision recorded before decisions named their channel and client names neither', () => {
  const older: TriageApproval = { ...approved, decision: { decision: 'approve', planHash: hash, approver: 'U0ALICE', at: AT } };
  expect(checkWrite(create({ ...created, body: `${plan.github.body}\n\n**Approved** by U0ALICE at ${AT}\n` }), older)).toEqual({
    ok: true,
  });
  expect(checkWrite(create(), older)).toMatchObject({ ok: false, reason: 'plan mismatch', detail: 'body' });
});

test('an edit needs the issue the workflow recorded', () => {
  expect(checkWrite(edit(), { ...approved, githubIssue: undefined })).toMatchObject({ ok: false, reason: 'plan mismatch' });
});

describe('Slack', () => {
  const pending: TriageApproval = { planHash: hash, plan };
  test('the card may be posted before a decision, and only once the workflow has recorded it', () => {
    expect(checkWrite(slack('slack-post', { channel: 'C0APPROVAL', text: 'card' }), pending)).toEqual({ ok: true });
    const carded = { ...pending, slackCard: approved.slackCard };
    expect(checkWrite(slack('slack-post', { channel: 'C0INCIDENTS', text: 'note' }), carded)).toMatchObject({
      ok: false,
      reason: 'write without approval',
    });
  });

  test('the reminder and the card edit are the triage card own, in its channel', () => {
    const carded = { ...pending, slackCard: approved.slackCard };
    expect(checkWrite(slack('slack-post', { channel: 'C0APPROVAL', thread_ts: '1.1', text: 'r' }), carded)).toEqual({ ok: true });
    expect(checkWrite(slack('slack-update', { channel: 'C0APPROVAL', ts: '1.1', text: 'u' }), carded)).toEqual({ ok: true });
    expect(checkWrite(slack('slack-update', { channel: 'C0APPROVAL', ts: '9.9', text: 'u' }), carded)).toMatchObject({ ok: false });
    expect(checkWrite(slack('slack-post', { channel: 'C0OTHER', thread_ts: '1.1', text: 'r' }), carded)).toMatchObject({ ok: false });
    expect(checkWrite(slack('slack-update', { channel: 'C0APPROVAL', ts: '1.1' }), undefined)).toMatchObject({ ok: false });
  });
});

describe('the #incidents note', () => {
  const issue = approved.githubIssue!;
  const note = fillNote(plan.slack.note!, noteValues(decision, issue), plan.github);
  /** chat.postMessage as the worker's WebClient sends it: a form, `blocks` as JSON, the flags that keep text inert. */
  const fields = {
    channel: note.channel,
    text: note.text,
    blocks: JSON.stringify(note.blocks),
    link_names: 'false',
    unfurl_links: 'false',
    unfurl_media: 'false',
  };
  const post = (changes: Record<string, string | undefined> = {}) =>
    slack(
      'slack-post',
      Object.fromEntries(Object.entries({ ...fields, ...changes }).filter(([, v]) => v !== undefined)) as Record<string, string>,
    );
  const blocksWith = (from: string, to: string) => {
    expect(fields.blocks).toContain(from);
    return fields.blocks.replace(from, to);
  };

  test('reads as planned: the issue, who approved and when', () => {
    expect(note.text).toMatch(/ · GitHub issue #7 · Approved by U0ALICE via Slack$/);
    expect(fields.blocks).toContain(`<${issue.url}|GitHub issue #7>`);
    expect(fields.blocks).toContain('"text":"Approved by U0ALICE via Slack"');
    expect(fields.blocks).toContain('<!date^1796637600^{date_short_pretty} {time}|2026-12-07 10:00 UTC>');
  });

  test('is forwarded when it is exactly the approved one, as a form or as JSON', () => {
    expect(checkWrite(post(), approved)).toEqual({ ok: true });
    const asJson = { ...note, link_names: false, unfurl_links: false, unfurl_media: false };
    expect(checkWrite({ ...json('slack-post', '/api/chat.postMessage', asJson) }, approved)).toEqual({ ok: true });
    // Key order inside the blocks is formatting, not content.
    const reordered = JSON.stringify(
      JSON.parse(fields.blocks, (_k, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      ),
    );
    expect(reordered).not.toBe(fields.blocks);
    expect(checkWrite(post({ blocks: reordered }), approved)).toEqual({ ok: true });
  });

  test.each<[string, Record<string, string | undefined>, string]>([
    ['a one-byte change to the text', { text: `${fields.text}.` }, 'note text'],
    ['a one-byte change to the blocks', { blocks: blocksWith('OOMKilled', 'OOMKilleD') }, 'note blocks'],
    ['another channel', { channel: 'C0GENERAL' }, 'note channel'],
    ["the channel's id where the plan names it", { channel: 'C0INCIDENTS' }, 'note channel'],
    ['an "Approved by" naming someone else', { blocks: blocksWith('Approved by U0ALICE', 'Approved by U0MALLORY') }, 'note blocks'],
    ['another time', { blocks: blocksWith('1796637600', '1796634000') }, 'note blocks'],
    ['another issue', { blocks: blocksWith('/issues/7|GitHub issue #7', '/issues/8|GitHub issue #8') }, 'note blocks'],
    ['a flag that turns names into mentions', { link_names: 'true' }, 'note link_names'],
    ['a flag left out', { unfurl_media: undefined }, 'note fields'],
    ['an attachment beside the planned blocks', { attachments: '[{"text":"<!channel> pay here"}]' }, 'note fields'],
    ['a field named __proto__', JSON.parse('{"__proto__":"x"}') as Record<string, string>, 'note fields'],
    ['blocks that are not JSON', { blocks: fields.blocks.slice(1) }, 'note blocks'],
  ])('refuses %s as a plan mismatch', (_name, changes, detail) => {
    expect(checkWrite(post(changes), approved)).toEqual({ ok: false, reason: 'plan mismatch', detail });
  });

  test('refuses any other top-level post once the card exists: a second message is not the note', () => {
    expect(checkWrite(slack('slack-post', { channel: 'C0APPROVAL', text: 'card' }), approved)).toMatchObject({
      ok: false,
      reason: 'plan mismatch',
    });
    expect(checkWrite(post({ text: 'all clear, ignore the incident' }), approved)).toMatchObject({ ok: false, reason: 'plan mismatch' });
  });

  test('refuses the note of a rejected triage, or before any decision', () => {
    expect(checkWrite(post(), { ...approved, decision: { ...decision, decision: 'reject' } })).toMatchObject({
      ok: false,
      reason: 'write without approval',
    });
    expect(checkWrite(post(), { ...approved, decision: undefined })).toMatchObject({ ok: false, reason: 'write without approval' });
  });

  test('the decider and the time come from the decision Temporal holds, not from the request', () => {
    const otherDecider = { ...approved, decision: { ...decision, approver: 'U0BOB' } };
    expect(checkWrite(post(), otherDecider)).toEqual({ ok: false, reason: 'plan mismatch', detail: 'note text' });
    const otherTime = { ...approved, decision: { ...decision, at: '2026-12-07T11:00:00.000Z' } };
    expect(checkWrite(post(), otherTime)).toEqual({ ok: false, reason: 'plan mismatch', detail: 'note blocks' });
  });

  test('needs the issue the workflow recorded, of the plan repository', () => {
    expect(checkWrite(post(), { ...approved, githubIssue: undefined })).toMatchObject({ ok: false, reason: 'plan mismatch' });
    const elsewhere = { repo: 'acme/payments', number: 7, url: 'https://github.com/acme/payments/issues/7' };
    expect(checkWrite(post(), { ...approved, githubIssue: elsewhere })).toMatchObject({ ok: false, reason: 'plan mismatch' });
  });

  test('a plan approved before the note was planned has none: any note is refused, whatever it says', () => {
    const older: WritePlan = { github: plan.github, slack: { text: 'summary' } } as unknown as WritePlan;
    const olderHash = hashPlan(older);
    const approval = { ...approved, plan: older, planHash: olderHash, decision: { ...decision, planHash: olderHash } };
    expect(checkWrite(post(), approval)).toEqual({
      ok: false,
      reason: 'plan mismatch',
      detail: expect.stringContaining('predates the note'),
    });
    // Its issue is still written: the create does not depend on the note.
    expect(checkWrite(create(), approval)).toEqual({ ok: true });
  });
});
