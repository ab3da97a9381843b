import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { AuditRecord } from '../../broker/audit.js';
import {
  ACTIVITY_PROVIDERS,
  buildAuditTimeline,
  parseAuditLog,
  type AuditTimeline,
  type ParsedAuditLog,
  type TimelineEntry,
} from '../../cli/audit-timeline.js';
import { PROJECT_ROOT } from '../../config/paths.js';

import { at, HistoryBuilder, T0, WORKFLOW_ID } from './history-builder.js';

/** A broker line whose request ran from `startMs` for `durationMs`. */
function line(provider: string, startMs: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  const durationMs = extra.durationMs ?? 4;
  return {
    time: new Date(T0 + startMs + durationMs).toISOString(),
    provider,
    method: 'GET',
    path: `/${provider}/thing`,
    decision: 'allowed',
    credentialId: `${provider}-credential`,
    triageId: WORKFLOW_ID,
    status: 200,
    upstreamStatus: 200,
    bytesIn: 0,
    bytesOut: 10,
    durationMs,
    ...extra,
  };
}

const audit = (...records: AuditRecord[]): ParsedAuditLog => ({ records, malformed: [], otherLines: 0 });
const brokerEntries = (t: AuditTimeline) => t.entries.filter((e) => e.source === 'broker');
const attributedTo = (e: TimelineEntry) =>
  e.activity ? `${e.activity.activityType}#${e.activity.activityId}` : `unattributed: ${e.unattributed}`;

/** The sandbox triage's shape: setup, parallel evidence, approval, writes. */
function approvedTriage(): HistoryBuilder {
  const h = new HistoryBuilder().started(0);
  h.activity(10, 60, 'fetchIncident', 'PagerDuty: fetch incident');
  h.activity(70, 80, 'resolveScope', 'Resolve scope for service checkout');
  h.activity(100, 190, 'collectPagerDutyEvidence', 'PagerDuty: incident alerts');
  h.activity(100, 150, 'collectKubernetesEvidence', 'Kubernetes: pods, events, rollouts in checkout');
  h.activity(100, 170, 'collectCloudWatchEvidence', 'CloudWatch: 2 metrics in eu-west-1');
  h.activity(100, 200, 'collectDatadogEvidence', 'Datadog: 2 queries, monitors, error logs');
  h.activity(210, 260, 'diagnose', 'Diagnose: run analyzers, build the write plan');
  h.activity(270, 300, 'postApprovalCard', 'Slack: post the approval card in #checkout-oncall');
  h.timer(310, 'Approval reminder deadline');
  h.decide(5_000, 'approve', 'U0ALICE');
  h.activity(5_010, 5_100, 'createGitHubIssue', 'GitHub: create the triage issue in acme/checkout');
  h.activity(5_110, 5_150, 'postIncidentNote', 'Slack: post the note in #incidents');
  h.activity(5_160, 5_200, 'linkIssueToNote', 'GitHub: link the issue to the #incidents note');
  h.activity(5_210, 5_250, 'closeApprovalCard', 'Slack: mark the card decided');
  h.complete_(5_260, 'approved');
  return h;
}

describe('attribution by time window and provider', () => {
  const cases: [string, AuditRecord, string][] = [
    ['the incident fetch', line('pagerduty', 20), 'fetchIncident#1'],
    ['the evidence re-read of the incident', line('pagerduty', 110), 'collectPagerDutyEvidence#3'],
    ['the alerts, last in the window', line('pagerduty', 185, { durationMs: 5 }), 'collectPagerDutyEvidence#3'],
    [
      'Datadog, in parallel with PagerDuty',
      line('datadog', 120, { method: 'POST', path: '/api/v2/query/timeseries' }),
      'collectDatadogEvidence#6',
    ],
    ['the approval card', line('slack', 280, { method: 'POST', path: '/api/chat.postMessage' }), 'postApprovalCard#8'],
    ['the idempotency lookup before the issue', line('github', 5_020), 'createGitHubIssue#9'],
    [
      'the issue itself, denied by policy',
      line('github', 5_050, { method: 'POST', decision: 'denied', status: 403, reason: 'route not allowed' }),
      'createGitHubIssue#9',
    ],
    ['the #incidents note', line('slack', 5_120, { method: 'POST' }), 'postIncidentNote#10'],
    ['the link back to the note', line('github', 5_170, { method: 'PATCH' }), 'linkIssueToNote#11'],
    ['the card update', line('slack', 5_220, { method: 'POST', path: '/api/chat.update' }), 'closeApprovalCard#12'],
    // The broker writes its line after the answer is sent: the line may be later than the activity's completion.
    ['a line written after the activity completed', line('pagerduty', 55, { durationMs: 9 }), 'fetchIncident#1'],
    [
      'a PagerDuty call between two PagerDuty activities',
      line('pagerduty', 85),
      'unattributed: no pagerduty activity attempt was running when it began (2026-11-28T17:00:00.085Z)',
    ],
    [
      'a Slack call while waiting for the decision',
      line('slack', 2_000),
      'unattributed: no slack activity attempt was running when it began (2026-11-28T17:00:02.000Z)',
    ],
    ['a provider no activity calls', line('aws', 120), 'unattributed: no activity in this history calls aws'],
    [
      'a CONNECT refusal (no provider)',
      line('', 120, { method: 'CONNECT', decision: 'denied', status: 403 }),
      'unattributed: the request named no provider',
    ],
  ];

  test.each(cases)('%s', (_name, record, expected) => {
    const timeline = buildAuditTimeline(approvedTriage().json(), audit(record), { workflowId: WORKFLOW_ID, clockSkewMs: 0 });
    expect(brokerEntries(timeline).map(attributedTo)).toEqual([expected]);
  });

  test('every activity the worker registers has its provider (or none) declared', () => {
    expect(
      Object.entries(ACTIVITY_PROVIDERS)
        .filter(([, p]) => p !== null)
        .map(([a, p]) => `${a}:${p}`),
    ).toEqual([
      'fetchIncident:pagerduty',
      'collectPagerDutyEvidence:pagerduty',
      'collectDatadogEvidence:datadog',
      'createGitHubIssue:github',
      'linkIssueToNote:github',
      'postApprovalCard:slack',
      'postApprovalReminder:slack',
      'closeApprovalCard:slack',
      'postIncidentNote:slack',
    ]);
  });

  test('a request that began just before the attempt started is attributed only within the clock-skew tolerance, and says so', () => {
    const early = line('pagerduty', 7);
    const strict = buildAuditTimeline(approvedTriage().json(), audit(early), { workflowId: WORKFLOW_ID, clockSkewMs: 0 });
    expect(brokerEntries(strict)[0]!.unattributed).toMatch(/no pagerduty activity attempt was running/);
    const tolerant = buildAuditTimeline(approvedTriage().json(), audit(early), { workflowId: WORKFLOW_ID, clockSkewMs: 5 });
    expect(brokerEntries(tolerant)[0]).toMatchObject({ activity: { activityType: 'fetchIncident' }, match: 'clock-skew' });
  });

  test('a line two activities of its provider could have made is ambiguous, not guessed', () => {
    const h = new HistoryBuilder().started(0);
    h.activity(10, 100, 'postApprovalCard');
    h.activity(20, 90, 'postApprovalReminder');
    const timeline = buildAuditTimeline(h.json(), audit(line('slack', 50)), { workflowId: WORKFLOW_ID });
    expect(brokerEntries(timeline)[0]).toMatchObject({
      activity: null,
      unattributed: 'ambiguous: postApprovalCard#1 attempt 1, postApprovalReminder#2 attempt 1 were all running when it began',
    });
    expect(timeline.counts).toMatchObject({ thisTriage: 1, attributed: 0, unattributed: 1 });
  });

  test('a line within the skew of two attempts is ambiguous too', () => {
    const h = new HistoryBuilder().started(0);
    h.activity(10, 20, 'fetchIncident');
    h.activity(30, 40, 'collectPagerDutyEvidence');
    const timeline = buildAuditTimeline(h.json(), audit(line('pagerduty', 25)), { workflowId: WORKFLOW_ID, clockSkewMs: 10 });
    expect(brokerEntries(timeline)[0]!.unattributed).toMatch(/^ambiguous: fetchIncident#1 attempt 1, collectPagerDutyEvidence#2 attempt 1/);
  });
});

describe('retries', () => {
  // The history keeps only the last attempt's start, carrying the previous attempt's failure.
  function retried(lastAttempt: number): HistoryBuilder {
    const h = new HistoryBuilder().started(0);
    const scheduled = h.schedule(100, 'createGitHubIssue', 'GitHub: create the triage issue in acme/checkout');
    const started = h.start(5_000, scheduled, lastAttempt, 'activity StartToClose timeout');
    h.complete(5_200, scheduled, started);
    return h;
  }

  const cases: [string, number, number, { attempt: number; lastAttempt?: number }][] = [
    ['attempt 2 gets the lines of its own window', 2, 5_050, { attempt: 2 }],
    ['attempt 1 gets the lines before attempt 2 started', 2, 150, { attempt: 1, lastAttempt: 1 }],
    ['a request of attempt 1 answered only after attempt 2 began stays with attempt 1', 2, 4_000, { attempt: 1, lastAttempt: 1 }],
    ['after three attempts, the earlier two are one range', 3, 2_000, { attempt: 1, lastAttempt: 2 }],
    ['after three attempts, the last one is exact', 3, 5_100, { attempt: 3 }],
  ];

  test.each(cases)('%s', (_name, lastAttempt, startMs, expected) => {
    // The 4 s duration models GitHub holding its answer while the worker died.
    const record = line('github', startMs, { method: 'POST', durationMs: startMs === 4_000 ? 1_500 : 4 });
    const timeline = buildAuditTimeline(retried(lastAttempt).json(), audit(record), { workflowId: WORKFLOW_ID });
    const [entry] = brokerEntries(timeline);
    expect(entry!.activity).toEqual({
      activityId: '1',
      scheduledEventId: 2,
      activityType: 'createGitHubIssue',
      summary: 'GitHub: create the triage issue in acme/checkout',
      ...expected,
    });
  });

  test('lines sit under the entry of their attempt: earlier attempts under the scheduling, the last under its start', () => {
    const timeline = buildAuditTimeline(retried(2).json(), audit(line('github', 5_050), line('github', 150)), { workflowId: WORKFLOW_ID });
    expect(timeline.entries.map((e) => `${e.depth ? '  ' : ''}${e.source}: ${e.what}`)).toEqual([
      'temporal: workflow started: Triage PagerDuty #42: checkout 5xx — by PagerDuty webhook event evt-1',
      'temporal: createGitHubIssue#1 scheduled — GitHub: create the triage issue in acme/checkout',
      '  broker: github GET /github/thing → 200 allowed',
      'temporal: createGitHubIssue#1 started, attempt 2 after 1 failed attempt (last: activity StartToClose timeout)',
      '  broker: github GET /github/thing → 200 allowed',
      'temporal: createGitHubIssue#1 completed (attempt 2, 200 ms)',
    ]);
  });

  test('an activity still retrying (no start recorded yet) gets its lines as attempts 1 onwards', () => {
    const h = new HistoryBuilder().started(0);
    h.schedule(100, 'collectDatadogEvidence');
    const timeline = buildAuditTimeline(h.json(), audit(line('datadog', 9_000)), { workflowId: WORKFLOW_ID });
    expect(brokerEntries(timeline)[0]!.activity).toMatchObject({ activityType: 'collectDatadogEvidence', attempt: 1, lastAttempt: null });
  });

  test('a failed activity shows its failure message', () => {
    const h = new HistoryBuilder().started(0);
    const scheduled = h.schedule(100, 'collectDatadogEvidence');
    h.fail(300, scheduled, h.start(200, scheduled, 3, 'HTTP 503'), 'Datadog answered HTTP 503\nretry later');
    const timeline = buildAuditTimeline(h.json(), audit(), { workflowId: WORKFLOW_ID });
    expect(timeline.entries.map((e) => e.what)).toContain(
      'collectDatadogEvidence#1 failed on attempt 3: Datadog answered HTTP 503 retry later',
    );
  });
});

describe('which lines are read', () => {
  test('lines of another triage, and lines with no or an invalid triage id, are ignored and counted', () => {
    const records = [
      line('pagerduty', 20),
      line('pagerduty', 20, { triageId: 'triage-OTHER1' }),
      line('pagerduty', 20, { triageId: null }),
      line('pagerduty', 20, { triageId: 'invalid' }),
    ];
    const timeline = buildAuditTimeline(approvedTriage().json(), audit(...records), { workflowId: WORKFLOW_ID });
    expect(brokerEntries(timeline)).toHaveLength(1);
    expect(timeline.counts).toMatchObject({ auditLines: 4, thisTriage: 1, otherTriages: 3, attributed: 1, unattributed: 0 });
  });

  const malformed: [string, string, string][] = [
    ['not JSON', '{"time": "2026-', 'not JSON'],
    [
      'a missing field',
      JSON.stringify({ ...line('github', 1), status: undefined }),
      'status: Invalid input: expected number, received undefined',
    ],
    [
      'a field of the wrong type',
      JSON.stringify({ ...line('github', 1), durationMs: '4' }),
      'durationMs: Invalid input: expected number, received string',
    ],
    ['a time that is not a time', JSON.stringify({ ...line('github', 1), time: 'yesterday' }), 'time: must be an ISO-8601 time'],
    [
      'an unknown decision',
      JSON.stringify({ ...line('github', 1), decision: 'maybe' }),
      'decision: Invalid option: expected one of "allowed"|"denied"',
    ],
    ['a JSON value that is not an object', '42', '(line): Invalid input: expected object, received number'],
  ];

  test.each(malformed)('a line with %s is counted, with its place and reason, and the rest are read', (_name, bad, reason) => {
    const text = [JSON.stringify(line('pagerduty', 20)), bad, '', JSON.stringify(line('slack', 280))].join('\n') + '\n';
    const parsed = parseAuditLog(text, 'broker-audit.jsonl');
    expect(parsed.records).toHaveLength(2);
    expect(parsed.malformed).toEqual([{ source: 'broker-audit.jsonl', line: 2, reason }]);
    const timeline = buildAuditTimeline(approvedTriage().json(), parsed, { workflowId: WORKFLOW_ID });
    expect(timeline.counts).toMatchObject({ auditLines: 3, malformed: 1, thisTriage: 2, attributed: 2 });
  });

  test("the broker's container log: its own log lines are skipped and counted, audit lines read, with or without kubectl's timestamps or a shipper's envelope", () => {
    const audited = line('pagerduty', 20);
    const text = [
      JSON.stringify({ time: at(0), level: 'info', msg: 'broker listening', port: 8790 }),
      JSON.stringify(audited),
      `2026-11-28T17:00:00.030123456Z ${JSON.stringify({ ...audited, path: '/kubectl' })}`,
      JSON.stringify({ log: JSON.stringify({ ...audited, path: '/shipped' }), kubernetes: { pod_name: 'keyless-triage-worker-abc' } }),
      JSON.stringify({ time: at(1), level: 'error', msg: 'broker request failed', decision: 'allowed' }),
      JSON.stringify({ log: 'plain text from somewhere' }),
    ].join('\n');
    const parsed = parseAuditLog(text, 'kubectl logs');
    expect(parsed.records.map((r) => r.path)).toEqual([audited.path, '/kubectl', '/shipped']);
    expect(parsed).toMatchObject({ malformed: [], otherLines: 3 });
    const timeline = buildAuditTimeline(approvedTriage().json(), parsed, { workflowId: WORKFLOW_ID });
    expect(timeline.counts).toMatchObject({ auditLines: 3, otherLogLines: 3, attributed: 3 });
  });

  test('fields beyond the audit record (a header, a body) are dropped when read', () => {
    const text = JSON.stringify({ ...line('github', 5_020), authorization: 'Bearer ghs_secret', body: '{"title":"x"}' });
    const { records } = parseAuditLog(text);
    expect(Object.keys(records[0]!)).not.toEqual(expect.arrayContaining(['authorization']));
    const timeline = buildAuditTimeline(approvedTriage().json(), { records, malformed: [], otherLines: 0 }, { workflowId: WORKFLOW_ID });
    expect(JSON.stringify(timeline)).not.toContain('ghs_secret');
    expect(JSON.stringify(timeline)).not.toContain('"body"');
  });

  test('a history of another workflow is refused', () => {
    expect(() => buildAuditTimeline(new HistoryBuilder().started(0, 'triage-OTHER1').json(), audit(), { workflowId: WORKFLOW_ID })).toThrow(
      'the history is of workflow triage-OTHER1, not triage-Q1CHECKOUT1',
    );
  });
});

describe('the timeline', () => {
  test('reads the events worth reading: start, activities with summaries, timer, decision, signal, completion', () => {
    const h = approvedTriage();
    h.signal(6_000, 'incidentResolved');
    const timeline = buildAuditTimeline(h.json(), audit(), { workflowId: WORKFLOW_ID });
    const whats = timeline.entries.map((e) => e.what);
    expect(whats).toEqual(
      expect.arrayContaining([
        'workflow started: Triage PagerDuty #42: checkout 5xx — by PagerDuty webhook event evt-1',
        'fetchIncident#1 scheduled — PagerDuty: fetch incident',
        'fetchIncident#1 started, attempt 1',
        'fetchIncident#1 completed (attempt 1, 50 ms)',
        'timer started: Approval reminder deadline (fires in 600s)',
        `update decide accepted: approve by U0ALICE (plan ${'ab'.repeat(6)}), no channel recorded — Temporal client gateway — update id slack:U0ALICE`,
        `update completed, recorded at ${at(5_000)}`,
        'timer canceled: Approval reminder deadline',
        'signal incidentResolved received from gateway',
        'workflow completed: approved',
      ]),
    );
    expect(timeline.runId).toBe('run-1');
  });

  test('the decision shows its channel and the identity the Update request carried; a decision naming another client is flagged', () => {
    const decided = (sent: Parameters<HistoryBuilder['decide']>[3]) => {
      const timeline = buildAuditTimeline(new HistoryBuilder().started(0).decide(10, 'approve', 'U0ALICE', sent).json(), audit(), {
        workflowId: WORKFLOW_ID,
      });
      return timeline.entries.find((e) => e.eventType === 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')!;
    };
    const gateway = 'keyless-triage-gateway@gw-7d9f';
    const viaSlack = decided({ channel: 'slack', identity: gateway, requestIdentity: gateway });
    expect(viaSlack.what).toBe(
      `update decide accepted: approve by U0ALICE (plan ${'ab'.repeat(6)}) via slack — Temporal client ${gateway} — update id slack:U0ALICE`,
    );
    // --json carries the same, field by field.
    expect(viaSlack.decision).toEqual({
      decision: 'approve',
      approver: 'U0ALICE',
      planHash: 'ab'.repeat(32),
      channel: 'slack',
      requestIdentity: gateway,
      declaredIdentity: gateway,
    });
    // A hand-written client can put anything in the decision; the request's identity is what the server recorded.
    const forged = decided({ channel: 'slack', identity: gateway, requestIdentity: 'triage-cli:mallory@laptop' });
    expect(forged.what).toBe(
      `update decide accepted: approve by U0ALICE (plan ${'ab'.repeat(6)}) via slack — Temporal client triage-cli:mallory@laptop (the decision names client ${gateway}) — update id slack:U0ALICE`,
    );
  });

  test('ordering is by time, stable for equal times, and the same on every run', () => {
    const h = new HistoryBuilder().started(0);
    h.activity(10, 100, 'collectPagerDutyEvidence');
    h.activity(10, 100, 'collectDatadogEvidence');
    const records = [
      line('datadog', 40, { path: '/b' }),
      line('pagerduty', 40, { path: '/a' }),
      line('datadog', 40, { path: '/c' }),
      line('datadog', 20, { path: '/first' }),
      line('pagerduty', 500, { path: '/late' }),
    ];
    const build = () => buildAuditTimeline(h.json(), audit(...records), { workflowId: WORKFLOW_ID });
    const order = (t: AuditTimeline) => t.entries.map((e) => `${e.depth ? '  ' : ''}${e.broker ? e.broker.path : e.what}`);
    expect(order(build())).toEqual([
      'workflow started: Triage PagerDuty #42: checkout 5xx — by PagerDuty webhook event evt-1',
      'collectPagerDutyEvidence#1 scheduled',
      'collectPagerDutyEvidence#1 started, attempt 1',
      '  /a',
      'collectDatadogEvidence#2 scheduled',
      'collectDatadogEvidence#2 started, attempt 1',
      '  /first',
      '  /b',
      '  /c',
      'collectPagerDutyEvidence#1 completed (attempt 1, 90 ms)',
      'collectDatadogEvidence#2 completed (attempt 1, 90 ms)',
      '/late',
    ]);
    expect(build()).toEqual(build());
    expect(build().entries.at(-1)).toMatchObject({ source: 'broker', depth: 0, activity: null });
  });

  test('the SDK history object and its JSON form give the same timeline', () => {
    const json = approvedTriage().json();
    const records = audit(line('pagerduty', 20), line('github', 5_020));
    expect(buildAuditTimeline(historyFromJSON(json), records, { workflowId: WORKFLOW_ID })).toEqual(
      buildAuditTimeline(json, records, { workflowId: WORKFLOW_ID }),
    );
  });

  test('the older export format (event types in PascalCase) reads the same', () => {
    const json = approvedTriage().json();
    const pascal = {
      events: json.events.map((e) => ({
        ...e,
        eventType: String(e.eventType)
          .replace(/^EVENT_TYPE_/, '')
          .toLowerCase()
          .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase()),
      })),
    };
    expect(pascal.events[0]!.eventType).toBe('WorkflowExecutionStarted');
    const records = audit(line('pagerduty', 20));
    expect(buildAuditTimeline(pascal, records, { workflowId: WORKFLOW_ID })).toEqual(
      buildAuditTimeline(json, records, { workflowId: WORKFLOW_ID }),
    );
  });

  test('a recorded history of the real workflow reads with every activity summary', () => {
    const recorded: unknown = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'histories', 'approved.json'), 'utf8'));
    const timeline = buildAuditTimeline(recorded, audit(), { workflowId: 'triage-QTEST1142510' });
    const scheduled = timeline.entries.filter((e) => e.eventType === 'ACTIVITY_TASK_SCHEDULED');
    expect(scheduled.length).toBeGreaterThan(8);
    for (const e of scheduled) expect(e.activity?.summary).toBeTruthy();
    expect(timeline.entries.map((e) => e.what)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^update decide accepted: approve by U0ALICE/)]),
    );
  });

  test('a recorded CLI decision reads with its channel and the client the server recorded', () => {
    const recorded: unknown = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'histories', 'approved-via-cli.json'), 'utf8'));
    const workflowId = (recorded as { events: { workflowExecutionStartedEventAttributes?: { workflowId?: string } }[] }).events[0]!
      .workflowExecutionStartedEventAttributes!.workflowId!;
    const timeline = buildAuditTimeline(recorded, audit(), { workflowId });
    expect(timeline.entries.map((e) => e.what)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^update decide accepted: approve by U0BOB \(plan [0-9a-f]{12}\) via cli — Temporal client triage-cli:recorder@localhost — update id record-approve-cli$/,
        ),
      ]),
    );
  });

  test('a history that is not one is refused with a reason', () => {
    expect(() => buildAuditTimeline({ nope: true }, audit(), { workflowId: WORKFLOW_ID })).toThrow('not a workflow history');
  });
});
