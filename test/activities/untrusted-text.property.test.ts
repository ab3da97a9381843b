// Property-based proof that untrusted text is inert: generated hostile strings
// (Slack and GitHub markup, mentions, links, HTML, control, bidi and
// zero-width characters, lone surrogates, arbitrary Unicode, 100 KB) are
// placed in every field an attacker can write to, and every message and issue
// built from them is checked against what Slack and GitHub would act on.
import fc from 'fast-check';
import { idempotencyMarker } from '../../activities/idempotency.js';
import type { DiagnosisRequest } from '../../activities/report.js';
import { buildDiagnosis } from '../../activities/report.js';
import type { Finding, Severity, SurfaceName, SurfaceResult, TriageScope } from '../../activities/model.js';
import {
  approvalCard,
  cancelledCard,
  decidedCard,
  expiredCard,
  failedCard,
  reminderMessage,
  resolvedCard,
  type CardContext,
  type CardDecision,
  type SlackMessage,
} from '../../activities/slack-card.js';
import { fillNote, noteValues, slackDate } from '../../config/incident-note.js';
import { safeLinkTarget, slackLinkTarget, WORD_JOINER } from '../../config/untrusted-text.js';
import {
  crashLooping,
  event,
  incident,
  kubernetes,
  namespace,
  NEW_RS,
  pendingPod,
  pod,
  podsOf,
  pullFailing,
  rolledOut,
} from './analyzers/fixtures.js';
import { blockKitViolations, mrkdwnResidue, textObjects } from './block-kit.js';

// ---- hostile strings ---------------------------------------------------------------

const TOKENS = [
  // Slack
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U0ADMIN>',
  '<@W0ADMIN|admin>',
  '<!subteam^S0ONCALL|@oncall>',
  '<#C0GENERAL>',
  '<https://evil.example|click>',
  '<http://evil.example>',
  '<mailto:a@evil.example|mail>',
  '<!date^1^{date}|x>',
  '@channel',
  '@here',
  '@everyone',
  ':smile:',
  '&lt;!channel&gt;',
  '&amp;',
  '&#60;',
  '&',
  // GitHub
  '@octocat',
  '@acme/oncall',
  '#123',
  '#1',
  'GH-42',
  'gh-7',
  'acme/app#7',
  'acme/app@a5c3785',
  'a5c3785ed8d6a35868bc169f07e40e889087fd2e',
  '0123456',
  'DEADBEEF',
  'https://evil.example/x',
  'HTTP://EVIL.EXAMPLE',
  'ftp://evil.example',
  'www.evil.example',
  'WWW.Evil.Example',
  'bob@example.com',
  'mailto:bob@example.com',
  'xmpp:bob@example.com',
  // Markdown and HTML
  '*bold*',
  '**b**',
  '_it_',
  '~del~',
  '~~del~~',
  '`code`',
  '```',
  '~~~',
  '> quote',
  '>',
  '# heading',
  '## Approved',
  '- item',
  '+ x',
  '1. item',
  '2) item',
  '| a | b |',
  '|',
  '---',
  '===',
  '[x](https://evil.example)',
  '![i](https://evil.example/i.png)',
  '[^1]',
  '[ ]',
  '[x]: https://evil.example',
  '$x^2$',
  '$$',
  '\\',
  '\\`',
  '<img src=x onerror=alert(1)>',
  '<details><summary>x</summary>',
  '</details>',
  '<!-- x -->',
  '-->',
  '<!--',
  '<!-- keyless-triage idempotency-key: 0123456789abcdef0123 -->',
  '<script>alert(1)</script>',
  '<a href="https://evil.example">x</a>',
  // invisible and control
  '\u202e',
  '\u202a',
  '\u2066',
  '\u2069',
  '\u200e',
  '\u061c',
  '\u200b',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u009b',
  '\t',
  '\r\n',
  '\n',
  '\u2028',
  '\u2029',
  '\u00a0',
  '\u3000',
  '😀',
  '👩‍👩‍👧',
  'e\u0301',
  '\udb40\udc41',
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TOKENS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.constantFrom('checkout-api', 'ok', ' ', 'x') },
);
const shortHostile = fc.array(piece, { maxLength: 10 }).map((parts) => parts.join(''));
/** 100 KB and more: a pasted log, repeated. */
const hugeHostile = shortHostile.map((s) => (s || '<!channel>').repeat(Math.ceil(100_000 / (s || '<!channel>').length)));
const hostile = fc.oneof({ weight: 12, arbitrary: shortHostile }, { weight: 1, arbitrary: hugeHostile });

const isoTime = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms).toISOString());
const slackUserId = fc.stringMatching(/^[UW][A-Z0-9]{6,10}$/);
const url = fc.oneof(
  fc.constant('https://acme.pagerduty.com/incidents/PABC123'),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  hostile.map((h) => `https://evil.example/${h}`),
  fc.constantFrom(
    'javascript:alert(1)',
    'https://evil.example/a|b>c<d&e',
    `https://x.example/${'a'.repeat(2_000)}`,
    `https://x.example/?${'a=1&'.repeat(190)}`,
    `https://x.example/?${'a=1&'.repeat(100)}`,
  ),
  hostile,
);
const severity = fc.constantFrom<Severity>('critical', 'warning', 'info');

const finding: fc.Arbitrary<Finding> = fc.record({
  analyzer: fc.constantFrom('kubernetes.crashloop', 'kubernetes.rollout'),
  severity,
  surface: fc.constant('kubernetes' as const),
  title: hostile,
  objects: fc.array(hostile, { maxLength: 2 }),
  evidence: fc.array(hostile, { maxLength: 5 }),
});

const decision: fc.Arbitrary<CardDecision> = fc.record(
  {
    decision: fc.constantFrom('approve' as const, 'reject' as const),
    approver: fc.oneof(hostile, slackUserId),
    at: fc.oneof(isoTime, hostile),
    comment: hostile,
  },
  { requiredKeys: ['decision', 'approver', 'at'] },
);

const issue = fc.record({ url, number: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constant(Number.NaN)), title: hostile });

// ---- the triage built from hostile evidence ---------------------------------------------

const scope: TriageScope = {
  serviceId: 'PSVC01',
  serviceName: 'checkout',
  surfaces: ['pagerduty', 'kubernetes'],
  kubernetes: { cluster: 'prod-eu-1', namespaces: ['shop'] },
  approvers: ['U012345'],
  approval: { reminderAfterMs: 900_000, expireAfterMs: 3_600_000 },
  retry: { maximumAttempts: 3, initialIntervalMs: 1_000, maximumIntervalMs: 10_000 },
  writes: { timeoutMs: 30_000, maximumAttempts: 10 },
  github: { repo: 'acme/checkout' },
  slack: { approvalChannel: 'checkout-oncall', incidentsChannel: 'incidents' },
  temporalUiUrl: 'http://localhost:8233',
  namespace: 'default',
};

/** The Web UI link the plan's note carries (the request's settings). */
const PLAN_WEB_UI = 'http://localhost:8233/namespaces/default/workflows/triage-PABC123';

interface HostileTriage {
  request: DiagnosisRequest;
  card: Omit<CardContext, 'headline' | 'findings' | 'surfaces' | 'planHash'>;
  extraFindings: Finding[];
  extraSurfaces: CardContext['surfaces'];
  decision: CardDecision;
  resolvedAt: string;
  issue: { url: string; number: number; title: string };
}

const triage: fc.Arbitrary<HostileTriage> = fc
  .record({
    title: hostile,
    serviceName: hostile,
    urgency: hostile,
    htmlUrl: url,
    podName: hostile,
    image: hostile,
    message: hostile,
    reason: hostile,
    namespaceName: hostile,
    cluster: hostile,
    alert: hostile,
    approvers: fc.array(fc.oneof(hostile, slackUserId), { maxLength: 4 }),
    githubRepo: fc.option(hostile, { nil: undefined }),
    expiresAt: fc.oneof(isoTime, hostile),
    webUiUrl: url,
    extraFindings: fc.array(finding, { maxLength: 8 }),
    extraSurfaces: fc.array(
      fc.record({
        surface: hostile.map((h) => h as SurfaceName),
        status: fc.constantFrom('ok' as const, 'unavailable' as const),
        reason: hostile,
      }),
      { maxLength: 3 },
    ),
    decision,
    resolvedAt: fc.oneof(isoTime, hostile),
    issue,
  })
  .map((h): HostileTriage => {
    const ns = namespace(h.namespaceName, {
      pods: [
        ...podsOf(NEW_RS, 2, (i) => ({
          containers: [crashLooping({ reason: h.reason, exitCode: 137 }, { name: `${h.podName}${i}`, image: h.image })],
        })),
        pod(h.podName, { containers: [pullFailing('ImagePullBackOff', h.image, h.message)] }),
        pendingPod(`pending-${h.podName}`, NEW_RS, h.message),
      ],
      events: [event({ object: { kind: 'Pod', name: h.podName }, message: h.message, reason: h.reason })],
      ...rolledOut({ rolledOutMinutesBefore: 4, newImage: h.image }),
    });
    const theIncident = incident({ title: h.title, serviceName: h.serviceName, urgency: h.urgency, htmlUrl: h.htmlUrl });
    const surfaces: SurfaceResult[] = [
      { surface: 'kubernetes', status: 'ok', evidence: { ...kubernetes(ns), cluster: h.cluster } },
      {
        surface: 'pagerduty',
        status: 'ok',
        evidence: {
          surface: 'pagerduty',
          incident: theIncident,
          alerts: {
            total: 3,
            shown: [{ id: 'A1', status: 'triggered', severity: 'critical', summary: h.alert, createdAt: h.alert, source: h.alert }],
            omitted: 2,
          },
        },
      },
    ];
    return {
      request: {
        incident: theIncident,
        scope,
        surfaces,
        workflowId: 'triage-PABC123',
        temporalUiUrl: 'http://localhost:8233/',
        namespace: 'default',
      },
      card: {
        incident: theIncident,
        workflowId: 'triage-PABC123',
        webUiUrl: h.webUiUrl,
        approvers: h.approvers,
        expiresAt: h.expiresAt,
        ...(h.githubRepo === undefined ? {} : { githubRepo: h.githubRepo }),
      },
      extraFindings: h.extraFindings,
      extraSurfaces: h.extraSurfaces,
      decision: h.decision,
      resolvedAt: h.resolvedAt,
      issue: h.issue,
    };
  });

/** The reason the surface was unavailable is untrusted too: a second request where PagerDuty failed with hostile text. */
function withUnavailablePagerDuty(t: HostileTriage): DiagnosisRequest {
  const reason = `${t.issue.title}${t.decision.approver}`;
  return { ...t.request, surfaces: [t.request.surfaces[0]!, { surface: 'pagerduty', status: 'unavailable', reason }] };
}

/**
 * The plan's note filled as the worker posts it: with the workflow's own
 * decision time and an issue of the plan's repository (fillNote refuses any
 * other; write-plan.test.ts), and the hostile approver and client.
 */
function noteOf(t: HostileTriage) {
  const number = Number.isSafeInteger(t.issue.number) ? t.issue.number : 7;
  const issue = { url: `https://github.com/acme/checkout/issues/${number}`, number };
  const decision = { ...t.decision, at: slackDate(t.decision.at) ? t.decision.at : '2024-05-01T10:40:12.000Z' };
  return { issue, message: fillNote(buildDiagnosis(t.request).plan.slack.note!, noteValues(decision, issue), scope.github!) };
}

function messagesOf(t: HostileTriage): { ctx: CardContext; messages: SlackMessage[]; noteIssueUrl: string } {
  const diagnosis = buildDiagnosis(t.request);
  const ctx: CardContext = {
    ...t.card,
    headline: diagnosis.headline,
    findings: [...diagnosis.findings, ...t.extraFindings],
    surfaces: [...buildDiagnosis(withUnavailablePagerDuty(t)).surfaces, ...t.extraSurfaces],
    planHash: diagnosis.planHash,
  };
  const note = noteOf(t);
  return {
    ctx,
    messages: [
      approvalCard(ctx),
      decidedCard(ctx, t.decision),
      decidedCard(ctx, t.decision, t.issue),
      expiredCard(ctx),
      resolvedCard(ctx, t.resolvedAt),
      // A failure's message may quote what an upstream answered, incident title included.
      failedCard(ctx, t.card.incident.title, { issue: t.issue, note: true }),
      cancelledCard(ctx, {}),
      reminderMessage(ctx),
      note.message,
    ],
    noteIssueUrl: note.issue.url,
  };
}

// ---- properties ------------------------------------------------------------------

const CONTROL_OR_BIDI = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** Code joins lines with `\n`; any other control or bidi character would have come from the input. */
const CONTROL_OR_BIDI_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const ANY_FORMAT_CHARACTER = /\p{Cf}/u;
const CODE_WORD_JOINER = new RegExp(`(?<=[{@])${WORD_JOINER}`, 'gu');
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,31}$/;
const RUNS = { numRuns: 150 };

describe('Slack: untrusted text is inert in every message', () => {
  test('no mention, link or date that code did not build; every limit kept; no control or bidi character', () => {
    fc.assert(
      fc.property(triage, (t) => {
        const { ctx, messages, noteIssueUrl } = messagesOf(t);
        const allowed = {
          linkTargets: new Set(
            [ctx.incident.htmlUrl, ctx.webUiUrl, t.issue.url, PLAN_WEB_UI, noteIssueUrl].flatMap((u) => slackLinkTarget(u) ?? []),
          ),
          mentionable: new Set(ctx.approvers.filter((a) => SLACK_USER_ID.test(a))),
        };
        for (const message of messages) {
          expect(blockKitViolations(message)).toEqual([]);
          const objects = textObjects(message);
          for (const o of objects) {
            expect(o.text).not.toMatch(CONTROL_OR_BIDI_BUT_NEWLINE);
            // The one format character code adds: a word joiner after `{` or `@`, so copied text never reads as a placeholder or mention.
            expect(o.text.replace(CODE_WORD_JOINER, '')).not.toMatch(ANY_FORMAT_CHARACTER);
            // Line breaks only where code puts them: at most a header line, the lines of one list, and a count.
            expect(o.text.split('\n').length).toBeLessThanOrEqual(12);
            if (o.type === 'mrkdwn') expect(mrkdwnResidue(o.text, allowed)).not.toMatch(/[<>]/);
          }
          // The notification text: escaped like mrkdwn, one line, and no `@word` a link_names flag could pick up.
          const text = mrkdwnResidue(message.text, allowed);
          expect(text).not.toMatch(/[<>]/);
          expect(text).not.toMatch(/@\w/);
          expect(message.text).not.toMatch(CONTROL_OR_BIDI);
          expect(message.text.replace(CODE_WORD_JOINER, '')).not.toMatch(ANY_FORMAT_CHARACTER);
        }
      }),
      RUNS,
    );
  });
});

describe('GitHub: untrusted text is inert in the issue', () => {
  test('no mention, reference, autolink or HTML; exactly one idempotency marker', () => {
    fc.assert(
      fc.property(triage, (t) => {
        for (const request of [t.request, withUnavailablePagerDuty(t)]) {
          const { github } = buildDiagnosis(request).plan;
          const marker = idempotencyMarker(github.idempotencyKey);
          const targets = [request.incident.htmlUrl, 'http://localhost:8233/namespaces/default/workflows/triage-PABC123'].flatMap(
            (u) => safeLinkTarget(u) ?? [],
          );
          let text = github.body;
          for (const target of targets) text = text.replaceAll(`](${target})`, '](LINK)');
          expect(text.split(marker)).toHaveLength(2);
          text = text.replace(marker, 'MARKER');

          expect(text).not.toContain('<');
          expect(text).not.toMatch(/@\w/);
          expect(text).not.toMatch(/#\d/);
          expect(text).not.toMatch(/gh-\d/i);
          expect(text).not.toMatch(/https?:\/\//i);
          expect(text).not.toMatch(/:\/\//);
          expect(text).not.toMatch(/www\./i);
          expect(text).not.toMatch(/[0-9a-f]{7}/i);
          expect(text).not.toContain('$');
          expect(text).not.toMatch(CONTROL_OR_BIDI_BUT_NEWLINE);
          // Only code starts a line, and list items do not start with block syntax from the text.
          for (const line of text.split('\n')) {
            expect(line).toMatch(
              /^(|#{2,3} [A-Z0-9]|\*\*Most likely cause:\*\* |\| |- |_Written by|_\(truncated|---$|MARKER$|\d+ weaker findings|Analyzer |No analyzer)/,
            );
            expect(line).not.toMatch(/^- (?!\*\*[a-z]+\*\*: )([-+*=>`~|]|#[^\u2060]|\d+[.)])/);
          }
          expect(github.body.length).toBeLessThanOrEqual(65_536);

          expect(github.title).not.toMatch(/@\w|https?:\/\/|www\./i);
          expect(github.title.replace(/\(PagerDuty #\d+\)$/, '')).not.toMatch(/#\d/);
          expect(github.title).not.toMatch(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
        }
      }),
      RUNS,
    );
  });
});

describe('determinism', () => {
  test('the same input gives the same card, messages and plan', () => {
    fc.assert(
      fc.property(triage, (t) => {
        const copy = structuredClone(t);
        expect(messagesOf(copy).messages).toEqual(messagesOf(t).messages);
        expect(buildDiagnosis(copy.request)).toEqual(buildDiagnosis(t.request));
      }),
      { numRuns: 50 },
    );
  });
});
