// `triage audit` with the exported streams: CloudTrail (S3 delivery, gzip
// included, and lookup-events output), Calico and Hubble flows, read from
// files as a user passes them, each line placed under the activity that
// caused it or shown as unattributed. The fixtures are built here in the
// shapes AWS, Calico and Cilium document.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runAudit, type AuditOptions, type AuditReport } from '../../cli/audit-command.js';
import type { TimelineEntry } from '../../cli/audit-timeline.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { HistoryBuilder, T0, WORKFLOW_ID } from './history-builder.js';

const INCIDENT = 'Q1CHECKOUT1';
const WORKER_POD = 'keyless-triage-worker-6f9c7d-x2kqp';
const BROKER_POD = 'keyless-triage-broker-58b7c9-7hzlw';
const WORKER_IP = '10.0.1.15';
const BROKER_IP = '10.0.2.27';
const ACCOUNT = '111122223333';
const WORKER_SESSION = `eks-prod-${WORKER_POD}-0b9e5c1e-7f0a-4a4c-9d2b-1c2d3e4f5a6b`.slice(0, 64);
const SDK_UA = 'aws-sdk-js/3.700.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#24.0.0 api/cloudwatch#3.700.0 m/E,N';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audit-sources-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The sandbox triage's evidence phase and the issue write, run by WORKER_POD. */
function history(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.workerIdentity = `1@${WORKER_POD}`;
  h.started(0);
  h.activity(10, 60, 'fetchIncident', 'PagerDuty: fetch incident');
  h.activity(100, 150, 'collectKubernetesEvidence', 'Kubernetes: pods, events, rollouts in checkout');
  h.activity(100, 170, 'collectCloudWatchEvidence', 'CloudWatch: 2 metrics in eu-west-1');
  h.activity(100, 200, 'collectDatadogEvidence', 'Datadog: 2 queries, monitors, error logs');
  h.activity(5_010, 5_100, 'createGitHubIssue', 'GitHub: create the triage issue in acme/checkout');
  h.complete_(5_260, 'approved');
  return h;
}

const iso = (ms: number) => new Date(T0 + ms).toISOString();
/** CloudTrail's eventTime: whole seconds. */
const trailTime = (ms: number) => iso(ms).replace(/\.\d{3}Z$/, 'Z');

/** A CloudTrail record as a trail delivers it, for a call under an assumed-role session. */
function trailRecord(
  ms: number,
  eventName: string,
  opts: { userAgent?: string; session?: string; role?: string; source?: string } = {},
): Record<string, unknown> {
  const role = opts.role ?? 'keyless-triage-worker';
  const session = opts.session ?? WORKER_SESSION;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLEROLEID1234:${session}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAEXAMPLEKEYID1234',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLEROLEID1234',
          arn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
          accountId: ACCOUNT,
          userName: role,
        },
        attributes: { creationDate: trailTime(-600_000), mfaAuthenticated: 'false' },
      },
    },
    eventTime: trailTime(ms),
    eventSource: opts.source ?? 'monitoring.amazonaws.com',
    eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: opts.userAgent ?? `${SDK_UA} keyless-triage/0.1 triage/${WORKFLOW_ID}`,
    requestParameters: null,
    responseElements: null,
    requestID: '7d8f0a1e-0000-4000-8000-000000000001',
    eventID: `e-${eventName}-${ms}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: eventName === 'GetCallerIdentity',
    recipientAccountId: ACCOUNT,
    eventCategory: eventName === 'GetCallerIdentity' ? 'Management' : 'Data',
  };
}

/** The records of one triage as CloudTrail holds them: the triage's own, one of its session without the UA, and others. */
function trailRecords(): Record<string, unknown>[] {
  return [
    trailRecord(120, 'GetMetricData'),
    trailRecord(130, 'GetCallerIdentity', { source: 'sts.amazonaws.com', userAgent: SDK_UA }),
    trailRecord(140, 'DescribeAlarms', { role: 'ops-admin', session: 'alice', userAgent: 'aws-cli/2.17.0' }),
    trailRecord(150, 'GetMetricData', { userAgent: `${SDK_UA} keyless-triage/0.1 triage/triage-OTHER2` }),
    trailRecord(600_000, 'GetMetricData', { role: 'ops-admin', session: 'alice', userAgent: 'aws-cli/2.17.0' }),
  ];
}

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const jsonl = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join('\n') + '\n';

async function audit(opts: AuditOptions): Promise<{ report: AuditReport; text: string }> {
  const out: string[] = [];
  const report = await runAudit(
    INCIDENT,
    { history: write('history.json', JSON.stringify(history().json())), brokerAudit: [write('broker.jsonl', '')], ...opts },
    { out: (t) => out.push(t), note: () => undefined },
  );
  return { report, text: out.join('\n') };
}

/** Each exported line of a source: where it went, and what placed it (sorted: the order on screen is the timeline's, tested apart). */
function placed(report: AuditReport, source: TimelineEntry['source']): string[] {
  return report.timeline.entries
    .filter((e) => e.source === source)
    .map((e) => (e.activity ? `${e.activity.activityType} by ${e.external!.by}: ${e.what}` : `UNATTRIBUTED (${e.unattributed}): ${e.what}`))
    .sort();
}

describe('CloudTrail', () => {
  const expected = [
    'collectCloudWatchEvidence by user-agent: monitoring GetMetricData (eu-west-1) → ok · keyless-triage-worker/' + WORKER_SESSION,
    'collectCloudWatchEvidence by session: sts GetCallerIdentity (eu-west-1) → ok · keyless-triage-worker/' +
      `${WORKER_SESSION} · user agent ${SDK_UA}`,
    "UNATTRIBUTED (no triage id in its user agent, and session ops-admin/alice is not a worker pod's of this triage): " +
      'monitoring DescribeAlarms (eu-west-1) → ok · ops-admin/alice · user agent aws-cli/2.17.0',
  ];

  test("a trail's S3 delivery, gzip-compressed as delivered: by the UA's triage id, by the worker pod's session, the rest unattributed", async () => {
    const file = write(
      '111122223333_CloudTrail_eu-west-1_20261128T1700Z_abc.json.gz',
      gzipSync(JSON.stringify({ Records: trailRecords() })),
    );
    const { report, text } = await audit({ cloudtrail: [file] });
    expect(placed(report, 'cloudtrail')).toEqual([...expected].sort());
    expect(report.timeline.counts.external.cloudtrail).toEqual({
      lines: 5,
      attributed: 2,
      unattributed: 1,
      otherTriages: 1,
      outsideSpan: 1,
    });
    expect(text).toContain('5 lines from CloudTrail: 2 attributed, 1 unattributed (marked !), 1 of other triages, 1 outside the triage');
    // Under the activity's start, after the Kubernetes activity's start (same time, earlier event).
    const lines = text.split('\n');
    const started = lines.findIndex((l) => l.includes('collectCloudWatchEvidence#3 started'));
    expect(lines[started + 1]).toMatch(/^17:00:00\.000 {2}cloudtrail {2} {2}↳ monitoring GetMetricData/);
    expect(lines[started + 2]).toMatch(/cloudtrail {2} {2}↳ \(by session\) sts GetCallerIdentity/);
    expect(text).toMatch(/cloudtrail {2}! UNATTRIBUTED monitoring DescribeAlarms/);
  });

  test('`aws cloudtrail lookup-events` output reads the same', async () => {
    const events = trailRecords().map((r) => ({
      EventId: r.eventID,
      EventName: r.eventName,
      ReadOnly: 'true',
      AccessKeyId: 'ASIAEXAMPLEKEYID1234',
      EventTime: r.eventTime,
      EventSource: r.eventSource,
      Username: String(r.eventID),
      Resources: [],
      CloudTrailEvent: JSON.stringify(r),
    }));
    const { report } = await audit({ cloudtrail: [write('lookup.json', JSON.stringify({ Events: events }, null, 4))] });
    expect(placed(report, 'cloudtrail')).toEqual([...expected].sort());
  });
});

/** A Hubble flow as `hubble observe -o json` prints it. */
function hubbleFlow(
  ms: number,
  from: { ip: string; pod?: string; namespace?: string },
  to: { ip: string; port: number; pod?: string; namespace?: string; names?: string[] },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const endpoint = (e: { pod?: string; namespace?: string }, identity: number) =>
    e.pod
      ? {
          ID: 1000 + identity,
          identity,
          namespace: e.namespace,
          labels: [`k8s:io.kubernetes.pod.namespace=${e.namespace}`],
          pod_name: e.pod,
        }
      : { identity: 2, labels: ['reserved:world'] };
  return {
    flow: {
      time: `${iso(ms).slice(0, -1)}123456Z`,
      verdict: 'FORWARDED',
      ethernet: {},
      IP: { source: from.ip, destination: to.ip, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40512, destination_port: to.port, flags: { SYN: true } } },
      source: endpoint(from, 11),
      destination: endpoint(to, 12),
      Type: 'L3_L4',
      node_name: 'ip-10-0-1-20.eu-west-1.compute.internal',
      destination_names: to.names ?? [],
      event_type: { type: 4 },
      traffic_direction: 'EGRESS',
      trace_observation_point: 'TO_STACK',
      is_reply: false,
      Summary: 'TCP Flags: SYN',
      ...extra,
    },
    node_name: 'ip-10-0-1-20.eu-west-1.compute.internal',
    time: `${iso(ms).slice(0, -1)}123456Z`,
  };
}

/** A Calico flow log record (as stored in tigera_secure_ee_flows*), over whole seconds. */
function calicoFlow(
  fromSec: number,
  toSec: number,
  src: { ip: string | null; name: string; aggr: string; namespace: string },
  dst: { ip: string | null; name: string; aggr: string; namespace: string; port: number; domains?: string[]; type?: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    start_time: T0 / 1000 + fromSec,
    end_time: T0 / 1000 + toSec,
    action: 'allow',
    bytes_in: 5120,
    bytes_out: 1843,
    dest_ip: dst.ip,
    dest_name: dst.name,
    dest_name_aggr: dst.aggr,
    dest_namespace: dst.namespace,
    dest_port: dst.port,
    dest_type: dst.type ?? 'wep',
    dest_labels: null,
    dest_domains: dst.domains ?? null,
    dest_service_name: '-',
    dest_service_namespace: '-',
    dest_service_port: null,
    reporter: 'src',
    num_flows: 1,
    num_flows_completed: 1,
    num_flows_started: 1,
    packets_in: 8,
    packets_out: 9,
    proto: 'tcp',
    policies: { all_policies: ['0|keyless-triage|keyless-triage/keyless-triage.allow-egress|allow|0'] },
    source_ip: src.ip,
    source_name: src.name,
    source_name_aggr: src.aggr,
    source_namespace: src.namespace,
    source_port: null,
    source_type: 'wep',
    source_labels: { labels: ['app.kubernetes.io/name=keyless-triage'] },
    original_source_ips: null,
    num_original_source_ips: 0,
    host: 'ip-10-0-1-20.eu-west-1.compute.internal',
    ...extra,
  };
}

describe('flows', () => {
  const worker = { ip: WORKER_IP, pod: WORKER_POD, namespace: 'keyless-triage' };
  const broker = { ip: BROKER_IP, pod: BROKER_POD, namespace: 'keyless-triage' };

  test('Hubble: by pod, destination and time; the broker pod is the one the worker called; an unrelated flow unattributed; replies read once', async () => {
    const flows = [
      hubbleFlow(110, worker, { ip: '52.94.1.10', port: 443, names: ['monitoring.eu-west-1.amazonaws.com'] }),
      hubbleFlow(120, worker, { ...broker, port: 8790 }),
      hubbleFlow(121, { ...broker }, { ...worker, port: 40512 }, { is_reply: true }),
      hubbleFlow(130, broker, { ip: '3.233.158.24', port: 443, names: ['api.datadoghq.com'] }),
      hubbleFlow(5_020, broker, { ip: '140.82.121.6', port: 443, names: ['api.github.com'] }),
      hubbleFlow(125, { ip: '10.0.9.9', pod: 'frontend-7c9d-abcde', namespace: 'shop' }, { ip: '198.51.100.7', port: 443 }),
      hubbleFlow(900_000, { ip: '10.0.9.9', pod: 'frontend-7c9d-abcde', namespace: 'shop' }, { ip: '198.51.100.7', port: 443 }),
    ];
    const { report, text } = await audit({ flows: [write('hubble.json', jsonl(flows))] });
    expect(placed(report, 'hubble')).toEqual(
      [
        `collectCloudWatchEvidence by pod: keyless-triage/${WORKER_POD} (${WORKER_IP}) → monitoring.eu-west-1.amazonaws.com 52.94.1.10:443 tcp FORWARDED`,
        `collectDatadogEvidence by pod: keyless-triage/${WORKER_POD} (${WORKER_IP}) → keyless-triage/${BROKER_POD} ${BROKER_IP}:8790 tcp FORWARDED`,
        `collectDatadogEvidence by pod: keyless-triage/${BROKER_POD} (${BROKER_IP}) → api.datadoghq.com 3.233.158.24:443 tcp FORWARDED`,
        `createGitHubIssue by pod: keyless-triage/${BROKER_POD} (${BROKER_IP}) → api.github.com 140.82.121.6:443 tcp FORWARDED`,
        'UNATTRIBUTED (not from a worker or broker pod of this triage): shop/frontend-7c9d-abcde (10.0.9.9) → 198.51.100.7:443 tcp FORWARDED',
      ].sort(),
    );
    expect(report.sources).toEqual([{ file: expect.stringMatching(/hubble\.json$/), format: 'hubble', records: 6, repeats: 1 }]);
    expect(text).toContain('(and 1 repeating another, skipped)');
    expect(text).toContain('6 lines from Hubble flows: 4 attributed, 1 unattributed (marked !), 0 of other triages, 1 outside the triage');
  });

  test("Calico: by pod and the flow's interval; the destination's reporter is not read twice; an unrelated flow unattributed", async () => {
    const src = { ip: WORKER_IP, name: WORKER_POD, aggr: 'keyless-triage-worker-6f9c7d-*', namespace: 'keyless-triage' };
    const brokerEnd = { ip: BROKER_IP, name: BROKER_POD, aggr: 'keyless-triage-broker-58b7c9-*', namespace: 'keyless-triage' };
    const flows = [
      calicoFlow(5, 6, src, { ...brokerEnd, port: 8790 }),
      calicoFlow(5, 6, src, { ...brokerEnd, port: 8790 }, { reporter: 'dst' }),
      calicoFlow(5, 6, brokerEnd, {
        ip: null,
        name: '-',
        aggr: 'pub',
        namespace: '-',
        port: 443,
        domains: ['api.github.com'],
        type: 'net',
      }),
      calicoFlow(
        5,
        6,
        { ip: null, name: '-', aggr: 'frontend-7c9d-*', namespace: 'shop' },
        { ip: null, name: '-', aggr: 'pub', namespace: '-', port: 443, type: 'net' },
      ),
    ];
    const { report } = await audit({ flows: [write('calico.jsonl', jsonl(flows))] });
    expect(placed(report, 'calico')).toEqual(
      [
        `createGitHubIssue by pod: keyless-triage/${WORKER_POD} (${WORKER_IP}) → keyless-triage/${BROKER_POD} ${BROKER_IP}:8790 tcp allow ` +
          '(0|keyless-triage|keyless-triage/keyless-triage.allow-egress|allow|0) · 1.8 kB out, 5.0 kB in',
        `createGitHubIssue by pod: keyless-triage/${BROKER_POD} (${BROKER_IP}) → api.github.com:443 tcp allow ` +
          '(0|keyless-triage|keyless-triage/keyless-triage.allow-egress|allow|0) · 1.8 kB out, 5.0 kB in',
        'UNATTRIBUTED (not from a worker or broker pod of this triage): shop/frontend-7c9d-* → ?:443 tcp allow ' +
          '(0|keyless-triage|keyless-triage/keyless-triage.allow-egress|allow|0) · 1.8 kB out, 5.0 kB in',
      ].sort(),
    );
    expect(report.sources[0]).toMatchObject({ format: 'calico', records: 3, repeats: 1 });
  });
});

describe('what cannot be read', () => {
  test.each<[string, () => AuditOptions, RegExp]>([
    [
      'a line of a flow log that is not JSON',
      () => ({
        flows: [write('f.jsonl', `${JSON.stringify(hubbleFlow(1, { ip: '10.0.0.1' }, { ip: '10.0.0.2', port: 1 }))}\n{"flow": \n`)],
      }),
      /cannot read .*f\.jsonl:2: not JSON/,
    ],
    [
      'a line that is no flow',
      () => ({ flows: [write('f.jsonl', `\n\n{"hello":"world"}\n`)] }),
      /f\.jsonl:3: not a Calico flow log record or a Hubble flow/,
    ],
    [
      'an audit log given as flows',
      () => ({ flows: [write('f.jsonl', `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete"}\n`)] }),
      /f\.jsonl: holds a Kubernetes audit log, not what --flows reads; pass it with --kube-audit/,
    ],
    [
      'a CloudTrail file cut short',
      () => ({ cloudtrail: [write('t.json', `{"Records": [\n${JSON.stringify(trailRecord(1, 'GetMetricData'))},\n{"eventTime"`)] }),
      /t\.json:3: not JSON/,
    ],
    [
      'a CloudTrail record without its event name',
      () => ({
        cloudtrail: [write('t.json', JSON.stringify({ Records: [trailRecord(1, 'GetMetricData'), { eventTime: trailTime(1) }] }))],
      }),
      /t\.json Records\[1\]: not a CloudTrail record/,
    ],
    [
      'a lookup-events record that is not JSON',
      () => ({ cloudtrail: [write('t.json', JSON.stringify({ Events: [{ EventId: 'x', CloudTrailEvent: '{"eventTime": ' }] }))] }),
      /t\.json Events\[0\]\.CloudTrailEvent:1: not JSON/,
    ],
    [
      'a flow log given as CloudTrail',
      () => ({ cloudtrail: [write('t.json', jsonl([hubbleFlow(1, { ip: '10.0.0.1' }, { ip: '10.0.0.2', port: 1 })]))] }),
      /t\.json: not a CloudTrail export/,
    ],
    ['a file that is not there', () => ({ kubeAudit: [join(dir, 'missing.log')] }), /missing\.log: not found/],
  ])('%s: an error naming the file and line', async (_name, opts, message) => {
    await expect(audit(opts())).rejects.toThrow(message);
  });

  test('hostile text (terminal escapes, line breaks, bidi overrides, megabytes) is shown as one bounded printable line', async () => {
    const hostile = trailRecord(
      120,
      `GetMetricData\u001b[2J\u001b[31m\nFAKE 17:00:00.000 temporal workflow completed\u202e${'x'.repeat(100_000)}`,
      {
        userAgent: `\u0007evil\r\n${'y'.repeat(1_000_000)}`,
        session: `${WORKER_SESSION}\u0000`,
      },
    );
    const { text } = await audit({ cloudtrail: [write('t.json', JSON.stringify({ Records: [hostile] }))] });
    const line = text.split('\n').find((l) => l.includes('GetMetricData'))!;
    expect(line).toBeDefined();
    expect(line).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    expect(line.length).toBeLessThan(700);
    expect(text.split('\n').filter((l) => l.includes('FAKE'))).toHaveLength(1);
  });
});

/** An apiserver audit event as a real apiserver writes it (level Metadata, ResponseComplete). */
function kubeEvent(ms: number, verb: string, resource: string, userAgent: string, podName?: string): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `a-${ms}-${resource}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/checkout/${resource}?limit=500`,
    verb,
    user: {
      username: 'system:serviceaccount:keyless-triage:keyless-triage-worker',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:keyless-triage', 'system:authenticated'],
      ...(podName ? { extra: { 'authentication.kubernetes.io/pod-name': [podName] } } : {}),
    },
    sourceIPs: [WORKER_IP],
    userAgent,
    objectRef: { resource, namespace: 'checkout', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: iso(ms).replace('Z', '123Z'),
    stageTimestamp: iso(ms + 3).replace('Z', '456Z'),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding' },
  };
}

test('all five streams in one timeline, as docs/audit-trail.md shows it', async () => {
  const broker = (ms: number, provider: string, method: string, path: string, credentialId: string, status = 200) => ({
    time: iso(ms + 4),
    provider,
    method,
    path,
    decision: 'allowed',
    credentialId,
    triageId: WORKFLOW_ID,
    caller: 'system:serviceaccount:keyless-triage:keyless-triage-worker',
    status,
    upstreamStatus: status,
    bytesIn: 0,
    bytesOut: 2048,
    durationMs: 4,
  });
  const worker = { ip: WORKER_IP, pod: WORKER_POD, namespace: 'keyless-triage' };
  const brokerPod = { ip: BROKER_IP, pod: BROKER_POD, namespace: 'keyless-triage' };
  const out: string[] = [];
  await runAudit(
    INCIDENT,
    {
      history: write('triage-Q1CHECKOUT1.json', JSON.stringify(history().json())),
      brokerAudit: [
        write(
          'broker-audit.jsonl',
          jsonl([
            broker(20, 'pagerduty', 'GET', '/incidents/Q1CHECKOUT1', 'pagerduty-oauth:8b75793457f3'),
            broker(140, 'datadog', 'POST', '/api/v2/query/timeseries', 'datadog:api-key:15c6951eb40d/app-key:b9f0ccbcbcd0'),
            broker(5_030, 'github', 'POST', '/repos/acme/checkout/issues', 'github-app:424242/installation:4242/repo:acme/checkout', 201),
          ]),
        ),
      ],
      cloudtrail: [write('cloudtrail.json.gz', gzipSync(JSON.stringify({ Records: trailRecords().slice(0, 3) })))],
      kubeAudit: [
        write(
          'kube-apiserver-audit.log',
          jsonl([
            kubeEvent(105, 'list', 'pods', `keyless-triage/0.1 (${WORKFLOW_ID})`, WORKER_POD),
            kubeEvent(112, 'list', 'events', `keyless-triage/0.1 (${WORKFLOW_ID})`, WORKER_POD),
            kubeEvent(118, 'get', 'configmaps', 'kubectl/v1.31.0 (linux/amd64) kubernetes/abcdef', 'debug-shell-x7k2p'),
          ]),
        ),
      ],
      flows: [
        write(
          'hubble-flows.json',
          jsonl([
            hubbleFlow(110, worker, { ip: '52.94.1.10', port: 443, names: ['monitoring.eu-west-1.amazonaws.com'] }),
            hubbleFlow(136, worker, { ...brokerPod, port: 8790 }),
            hubbleFlow(138, brokerPod, { ip: '3.233.158.24', port: 443, names: ['api.datadoghq.com'] }),
            hubbleFlow(5_026, brokerPod, { ip: '140.82.121.6', port: 443, names: ['api.github.com'] }),
            hubbleFlow(2_500, { ip: '10.0.9.9', pod: 'frontend-7c9d-abcde', namespace: 'shop' }, { ip: '198.51.100.7', port: 443 }),
          ]),
        ),
      ],
    },
    { out: (t) => out.push(t), note: () => undefined },
  );
  const shown = out.join('\n').replaceAll(`${dir}/`, '');
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'audit-trail.md'), 'utf8');
  const block = /<!-- five-streams: generated by test\/cli\/audit-sources\.test\.ts -->\n```\n\$ (.+)\n([\s\S]*?)\n```/.exec(doc);
  expect(block?.[1]).toBe(
    'npx triage audit Q1CHECKOUT1 --history triage-Q1CHECKOUT1.json --broker-audit broker-audit.jsonl --cloudtrail cloudtrail.json.gz \\',
  );
  expect(block?.[2]?.split('\n').slice(1).join('\n')).toBe(shown);
});
