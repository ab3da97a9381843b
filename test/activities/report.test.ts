import { idempotencyKey, idempotencyLabel, idempotencyMarker } from '../../activities/idempotency.js';
import { NO_CLEAR_CAUSE } from '../../activities/analyzers/index.js';
import type { PagerDutyEvidence, SurfaceResult, TriageScope, WritePlan } from '../../activities/model.js';
import { buildDiagnosis, canonicalJson, hashPlan, issueTitle, type DiagnosisRequest } from '../../activities/report.js';
import { WORD_JOINER } from '../../config/untrusted-text.js';
import { PLACEHOLDERS } from '../../config/write-plan.js';
import {
  crashLooping,
  event,
  healthyNamespace,
  incident,
  kubernetes,
  namespace,
  NEW_RS,
  pendingPod,
  pod,
  podsOf,
  rolledOut,
} from './analyzers/fixtures.js';

const WJ = WORD_JOINER;

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

const pagerduty: PagerDutyEvidence = {
  surface: 'pagerduty',
  incident: incident(),
  alerts: {
    total: 2,
    shown: [
      { id: 'A1', status: 'triggered', severity: 'critical', summary: 'HTTP 5xx > 5% on checkout-api', createdAt: '2024-05-01T10:29:30Z' },
    ],
    omitted: 1,
  },
};

function crashingNamespace() {
  return namespace('shop', {
    pods: podsOf(NEW_RS, 3, () => ({ containers: [crashLooping({ reason: 'Error', exitCode: 1 })] })),
    ...rolledOut({ rolledOutMinutesBefore: 4 }),
  });
}

function request(overrides: Partial<DiagnosisRequest> = {}): DiagnosisRequest {
  const surfaces: SurfaceResult[] = [
    { surface: 'pagerduty', status: 'ok', evidence: pagerduty },
    { surface: 'kubernetes', status: 'ok', evidence: kubernetes(crashingNamespace()) },
  ];
  return {
    incident: incident(),
    scope,
    surfaces,
    workflowId: 'triage-PABC123',
    temporalUiUrl: 'http://localhost:8233/',
    namespace: 'default',
    ...overrides,
  };
}

describe('buildDiagnosis', () => {
  test('a crash-looping rollout: headline, findings, plan', () => {
    const diagnosis = buildDiagnosis(request());
    expect(diagnosis.headline).toBe(
      'checkout-api pods in CrashLoopBackOff (exit 1, Error) since the rollout to revision 7, 4 min before the incident',
    );
    expect(diagnosis.findings.map((f) => f.analyzer)).toEqual(['kubernetes.crashloop', 'kubernetes.rollout']);
    expect(diagnosis.surfaces).toEqual([
      { surface: 'pagerduty', status: 'ok' },
      { surface: 'kubernetes', status: 'ok' },
    ]);
    const { github, slack } = diagnosis.plan;
    expect(github.title).toBe('[triage] checkout-api error rate above 5% (PagerDuty #1234)');
    expect(github.labels).toEqual(['triage', 'severity:critical', idempotencyLabel(idempotencyKey('triage-PABC123'))]);
    expect(github.repo).toBe('acme/checkout');
    expect(github.body).toContain(idempotencyMarker(github.idempotencyKey));
    expect(github.body).toContain(`**Most likely cause:** ${diagnosis.headline}`);
    expect(github.body).toContain('### 1. critical: checkout-api pods in CrashLoopBackOff (exit 1, Error) since the rollout');
    expect(github.body).toContain('- container api: restarted 5 times; last terminated Error (exit 1) in 3 pods');
    expect(github.body).toContain('### 2. warning: rollout of checkout-api to revision 7');
    expect(github.body).toContain('- PagerDuty: [incident 1234](https://acme.pagerduty.com/incidents/PABC123)');
    expect(github.body).toContain(
      '| [PagerDuty incident 1234](https://acme.pagerduty.com/incidents/PABC123): checkout-api error rate above 5% | checkout |',
    );
    expect(github.body).toContain(
      '- Temporal workflow: [triage-PABC123](http://localhost:8233/namespaces/default/workflows/triage-PABC123)',
    );
    expect(github.body).toContain('- **pagerduty**: ok, 2 alerts (1 shown)');
    expect(github.body).toContain('- **kubernetes**: ok, cluster prod-eu-1, 1 namespace, 3 pods');
    expect(github.body).toContain('| shop | 3 | 3 | CrashLoopBackOff: 3 | 0 |');
    expect(github.body).toContain('- critical, triggered, 2024-05-01T10:29:30Z: HTTP 5xx &gt; 5% on checkout-api');
    // The note is planned too: its text and blocks are in the hash; the issue and the decision are filled in later.
    expect(slack.note?.channel).toBe('incidents');
    expect(slack.note?.text).toBe(
      `PagerDuty incident 1234: checkout-api error rate above 5% · ${diagnosis.headline} · GitHub issue #${PLACEHOLDERS.issueNumber} · Approved ${PLACEHOLDERS.decidedBy}`,
    );
    expect(JSON.stringify(slack.note?.blocks)).toContain(`"text":"Issue: ${github.title}"`);
    expect(diagnosis.planHash).toBe(hashPlan(diagnosis.plan));
    expect(diagnosis.planHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('is deterministic: the same request gives the same plan and hash', () => {
    expect(buildDiagnosis(request())).toEqual(buildDiagnosis(request()));
  });

  test('an unavailable surface appears with its reason, and the triage goes on', () => {
    const diagnosis = buildDiagnosis(
      request({
        surfaces: [
          { surface: 'pagerduty', status: 'ok', evidence: pagerduty },
          { surface: 'kubernetes', status: 'unavailable', reason: 'connect ECONNREFUSED 10.0.0.1:443 after 3 attempts' },
        ],
      }),
    );
    expect(diagnosis.surfaces).toEqual([
      { surface: 'pagerduty', status: 'ok' },
      { surface: 'kubernetes', status: 'unavailable', reason: 'connect ECONNREFUSED 10.0.0.1:443 after 3 attempts' },
    ]);
    expect(diagnosis.findings).toEqual([]);
    expect(diagnosis.headline).toBe(NO_CLEAR_CAUSE);
    expect(diagnosis.plan.github.body).toContain('- **kubernetes**: unavailable: connect ECONNREFUSED 10.0.0.1:443 after 3 attempts');
    expect(diagnosis.plan.github.labels).toEqual(['triage', expect.stringMatching(/^triage-key:[0-9a-f]{20}$/)]);
    expect(diagnosis.plan.slack.note?.text).toContain(`1234: checkout-api error rate above 5% · ${NO_CLEAR_CAUSE} · GitHub issue`);
  });

  test('a surface in scope with no result is unavailable, not silently missing', () => {
    const diagnosis = buildDiagnosis(request({ surfaces: [{ surface: 'pagerduty', status: 'ok', evidence: pagerduty }] }));
    expect(diagnosis.surfaces).toContainEqual({
      surface: 'kubernetes',
      status: 'unavailable',
      reason: 'no result was recorded for this surface',
    });
  });

  test('a healthy namespace: no findings, no clear cause', () => {
    const diagnosis = buildDiagnosis(
      request({ surfaces: [{ surface: 'kubernetes', status: 'ok', evidence: kubernetes(healthyNamespace()) }] }),
    );
    expect(diagnosis.findings).toEqual([]);
    expect(diagnosis.headline).toBe(NO_CLEAR_CAUSE);
    expect(diagnosis.plan.github.body).toContain('No analyzer found a known failure mode in the evidence collected.');
  });

  test.each<[string, Partial<TriageScope>]>([
    ['no Slack channels', { slack: undefined }],
    ['no GitHub repository (no issue for the note to link)', { github: undefined }],
  ])('with %s the plan has no note', (_name, change) => {
    expect(buildDiagnosis(request({ scope: { ...scope, ...change } })).plan.slack).toEqual({});
  });

  test('a long incident title is truncated in the issue title', () => {
    const title = issueTitle(incident({ title: 'x'.repeat(1_000), number: 77 }));
    expect(title.startsWith('[triage] xxx')).toBe(true);
    expect(title.endsWith('… (PagerDuty #77)')).toBe(true);
    expect(title.length).toBeLessThanOrEqual(256);
  });
});

describe('untrusted text in the report', () => {
  const hostilePod = 'evil-\u001b[31m<script>alert(1)</script>\u0000`|pod';
  const hostileMessage = '0/3 nodes\u0007 <img src=x onerror=alert(1)> | `rm -rf` [click](https://evil.example) \r\n## Approved';

  function hostileDiagnosis() {
    const ns = namespace('shop|<b>', {
      pods: [
        pod(hostilePod, { containers: [crashLooping({ reason: 'Error', exitCode: 1 })] }),
        pendingPod('pending-<script>', 'rs-x', hostileMessage),
      ],
      events: [event({ object: { kind: 'Pod', name: 'pending-<script>' }, message: hostileMessage })],
    });
    return buildDiagnosis(
      request({
        incident: incident({
          title: 'Checkout down <script>alert("t")</script>\n\u001b]0;pwn\u0007 @here',
          htmlUrl: 'javascript:alert(1)',
        }),
        surfaces: [
          { surface: 'kubernetes', status: 'ok', evidence: kubernetes(ns) },
          { surface: 'pagerduty', status: 'unavailable', reason: 'HTTP 503 <html><body>upstream\u0000 down</body></html>' },
        ],
      }),
    );
  }

  test('no raw HTML, control characters, code spans or links leak into the issue body', () => {
    const { body } = hostileDiagnosis().plan.github;
    expect(body).not.toMatch(/<script|<img|<b>|<html/i);
    expect(body).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(body).not.toContain('javascript:');
    expect(body).not.toMatch(/(^|[^\\])`rm -rf/);
    expect(body).not.toMatch(/(^|[^\\])\[click\]\(/);
    expect(body).not.toMatch(/^## Approved/m);
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain(
      `&lt;img src=x onerror=alert(1)&gt; \\| \\\`rm -rf\\\` \\[click\\](https:${WJ}//evil.example) #${WJ}#${WJ} Approved`,
    );
    expect(body).toContain('| shop\\|&lt;b&gt; |');
    expect(body).toContain('- **pagerduty**: unavailable: HTTP 503 &lt;html&gt;&lt;body&gt;upstream down&lt;/body&gt;&lt;/html&gt;');
    expect(body).toContain('PagerDuty incident 1234 (link omitted: not an http(s) URL)');
  });

  test("the issue title and the note's text are one line, without control characters", () => {
    const { plan } = hostileDiagnosis();
    expect(plan.github.title).toBe(`[triage] Checkout down <script>alert("t")</script> ]0;pwn @${WJ}here (PagerDuty #1234)`);
    expect(plan.slack.note?.text).not.toMatch(/[<>\u0000-\u001f]/);
    expect(plan.slack.note?.text).toContain('&lt;script&gt;');
  });

  test('text copied from the incident never reads as a placeholder of the note', () => {
    const title = `${PLACEHOLDERS.decidedBy} {{{note.permalink}}}`;
    const { note } = buildDiagnosis(
      request({ incident: incident({ title, htmlUrl: `https://acme.pagerduty.com/${PLACEHOLDERS.issueUrl}` }) }),
    ).plan.slack;
    const planned = JSON.stringify(note);
    // Once in the text and once in the blocks, each where code put it.
    expect(planned.split(PLACEHOLDERS.decidedBy)).toHaveLength(3);
    expect(planned.split(PLACEHOLDERS.issueUrl)).toHaveLength(2);
    expect(planned).not.toContain(PLACEHOLDERS.notePermalink);
    expect(planned).toContain(`{${WJ}{${WJ}{note.permalink}}}`);
  });

  describe('GitHub: no pings, references, autolinks or forged markers from untrusted text', () => {
    const marker = idempotencyMarker(idempotencyKey('triage-PABC123'));
    const hostile =
      '@octocat @acme/oncall #12 GH-3 acme/app#4 acme/app@a5c3785 https://evil.example www.evil.example bob@example.com ' +
      `a5c3785ed8d6a35868bc ${marker} <!-- keyless-triage idempotency-key: 0000 --> <details><summary>x</summary> $$x$$ | --- |`;

    function hostilePlan() {
      const ns = namespace('shop', {
        pods: [pendingPod(`pod-${hostile}`, 'rs-x', hostile)],
        events: [event({ object: { kind: 'Pod', name: `pod-${hostile}` }, message: hostile })],
      });
      return buildDiagnosis(
        request({
          incident: incident({ title: hostile, serviceName: hostile }),
          surfaces: [
            { surface: 'kubernetes', status: 'ok', evidence: kubernetes(ns) },
            { surface: 'pagerduty', status: 'unavailable', reason: hostile },
          ],
        }),
      ).plan;
    }

    test('the body', () => {
      const { body } = hostilePlan().github;
      // The incident text reached the body, once per place it is shown.
      expect(body.split('@' + WJ + 'octocat').length).toBeGreaterThan(3);
      expect(body).not.toMatch(/@\w/);
      expect(body).not.toMatch(/#\d/);
      expect(body).not.toMatch(/GH-\d/i);
      expect(body).not.toMatch(/www\./i);
      const links = body.replace(/\]\((https?:\/\/[^)\s]+)\)/g, '](LINK)');
      expect(links).not.toMatch(/https?:\/\//);
      expect(body.replace(marker, '')).not.toContain('<');
      expect(body.split(marker)).toHaveLength(2);
      expect(body.trimEnd().endsWith(marker)).toBe(true);
      expect(body.replace(marker, '')).not.toMatch(/[0-9a-f]{7}/i);
      expect(body).not.toMatch(/(^|[^\\])\$/m);
      expect(body).toContain('&lt;details&gt;');
    });

    test('the title', () => {
      const { title } = hostilePlan().github;
      expect(title).not.toMatch(/@\w|#\d.*#\d|https?:\/\/|www\./i);
      expect(title).toMatch(/\(PagerDuty #1234\)$/);
    });
  });
});

describe('plan hash', () => {
  const plan: WritePlan = {
    github: { title: '[triage] t (PagerDuty #1)', body: 'body\n- a', labels: ['triage', 'severity:critical'], idempotencyKey: 'k1' },
    slack: { note: { channel: 'incidents', text: 'note', blocks: [] } },
  };

  test('is stable under key reordering at every level', () => {
    const reordered = {
      slack: { note: { blocks: [], text: 'note', channel: 'incidents' } },
      github: { idempotencyKey: 'k1', labels: ['triage', 'severity:critical'], body: 'body\n- a', title: '[triage] t (PagerDuty #1)' },
    } as WritePlan;
    expect(canonicalJson(reordered)).toBe(canonicalJson(plan));
    expect(hashPlan(reordered)).toBe(hashPlan(plan));
  });

  test('treats an undefined member like an absent one, as Temporal serialization does', () => {
    const withUndefined: WritePlan = { github: { ...plan.github, repo: undefined, backLink: undefined }, slack: plan.slack };
    expect(hashPlan(withUndefined)).toBe(hashPlan(plan));
    expect(hashPlan(JSON.parse(JSON.stringify(plan)) as WritePlan)).toBe(hashPlan(plan));
  });

  test('is the sha256 of the canonical JSON', () => {
    expect(canonicalJson(plan)).toBe(
      '{"github":{"body":"body\\n- a","idempotencyKey":"k1","labels":["triage","severity:critical"],"title":"[triage] t (PagerDuty #1)"},"slack":{"note":{"blocks":[],"channel":"incidents","text":"note"}}}',
    );
    expect(hashPlan({ github: { title: '', body: '', labels: [], idempotencyKey: '' }, slack: {} })).toBe(
      // sha256('{"github":{"body":"","idempotencyKey":"","labels":[],"title":""},"slack":{}}')
      '6c5f34d1b9993e9552f99459b2264e49f3ca56c82861e9fd3565147b9c47091c',
    );
  });

  test.each<{ name: string; change: (p: WritePlan) => WritePlan }>([
    { name: 'title', change: (p) => ({ ...p, github: { ...p.github, title: `${p.github.title} ` } }) },
    { name: 'one character of the body', change: (p) => ({ ...p, github: { ...p.github, body: p.github.body.replace('a', 'b') } }) },
    { name: 'label order', change: (p) => ({ ...p, github: { ...p.github, labels: [...p.github.labels].reverse() } }) },
    { name: 'an added label', change: (p) => ({ ...p, github: { ...p.github, labels: [...p.github.labels, 'x'] } }) },
    { name: 'the repository', change: (p) => ({ ...p, github: { ...p.github, repo: 'acme/checkout' } }) },
    { name: "the note's text", change: (p) => ({ ...p, slack: { note: { ...p.slack.note!, text: 'note.' } } }) },
    { name: "the note's channel", change: (p) => ({ ...p, slack: { note: { ...p.slack.note!, channel: 'C0INCIDENTS' } } }) },
    { name: "the note's blocks", change: (p) => ({ ...p, slack: { note: { ...p.slack.note!, blocks: [{ type: 'divider' }] } } }) },
    { name: 'the note, dropped', change: (p) => ({ ...p, slack: {} }) },
  ])('changes when $name changes', ({ change }) => {
    expect(hashPlan(change(plan))).not.toBe(hashPlan(plan));
  });
});
