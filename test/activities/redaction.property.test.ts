// Property: a credential planted in any untrusted text an activity reads never
// reaches the evidence the activity returns (which Temporal stores in history),
// nor the GitHub issue, the Slack approval card or the #incidents note rendered
// from that evidence. Each activity runs as in production, against a
// hand-rolled upstream that answers with generated text in every free-text
// field the activity reads (and in some it does not read, such as custom
// details), and in the error bodies whose message becomes a surface's
// "unavailable" reason.
import fc from 'fast-check';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCloudWatchActivities } from '../../activities/cloudwatch.js';
import { createDatadogActivities } from '../../activities/datadog.js';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import type { EvidenceRequest, IncidentRef, SurfaceName, SurfaceResult, TriageScope } from '../../activities/model.js';
import { createPagerDutyActivities } from '../../activities/pagerduty.js';
import { buildDiagnosis } from '../../activities/report.js';
import { approvalCard, type CardContext } from '../../activities/slack-card.js';
import { fillNote, noteValues } from '../../config/incident-note.js';
import { json, readBody, startFake, type FakeUpstream } from '../broker/fake-upstreams.js';
import { fakeCredential } from '../fake-credentials.js';
import { emulatorKubeConfig } from '../sandbox/emulators/kubernetes-client.js';
import { INCIDENT } from './evidence-request.js';
import { failureOf } from './failure-of.js';
import { carriedSecret, leaks, type CarriedSecret } from './planted-secrets.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const TRIAGE_ID = 'triage-Q1CHECKOUT1';
const WORKFLOW_URL = 'http://127.0.0.1:8233/namespaces/default/workflows/triage-Q1CHECKOUT1';
const RUNS = { numRuns: 100 };

// ---- what is rendered from evidence ----------------------------------------------------

function scopeFor(surfaces: SurfaceName[], extra: Partial<TriageScope> = {}): TriageScope {
  return {
    serviceId: INCIDENT.serviceId,
    serviceName: INCIDENT.serviceName,
    surfaces,
    approvers: ['U0ONCALL'],
    approval: { reminderAfterMs: 900_000, expireAfterMs: 3_600_000 },
    retry: { maximumAttempts: 1, initialIntervalMs: 100, maximumIntervalMs: 100 },
    writes: { timeoutMs: 30_000, maximumAttempts: 10 },
    github: { repo: 'acme/checkout' },
    slack: { approvalChannel: 'checkout-oncall', incidentsChannel: 'incidents' },
    temporalUiUrl: 'http://127.0.0.1:8233',
    namespace: 'default',
    ...extra,
  };
}

function request(scope: TriageScope, incident: IncidentRef = INCIDENT): EvidenceRequest {
  return { triageId: TRIAGE_ID, incident, scope };
}

/** The issue, the approval card and the #incidents note, as the workflow has them built. */
function rendered(incident: IncidentRef, surfaces: SurfaceResult[]) {
  const scope = scopeFor(surfaces.map((s) => s.surface));
  const diagnosis = buildDiagnosis({
    incident,
    scope,
    surfaces,
    workflowId: TRIAGE_ID,
    temporalUiUrl: scope.temporalUiUrl,
    namespace: scope.namespace,
  });
  const ctx: CardContext = {
    incident,
    headline: diagnosis.headline,
    findings: diagnosis.findings,
    surfaces: diagnosis.surfaces,
    planHash: diagnosis.planHash,
    workflowId: TRIAGE_ID,
    webUiUrl: WORKFLOW_URL,
    approvers: scope.approvers,
    expiresAt: '2025-03-01T13:00:00Z',
    githubRepo: 'acme/checkout',
    ...(diagnosis.metricLines ? { metricLines: diagnosis.metricLines } : {}),
  };
  const issue = { url: 'https://github.com/acme/checkout/issues/7', number: 7 };
  const decision = { decision: 'approve', approver: 'U0ONCALL', at: '2025-03-01T12:10:00Z' };
  return {
    issueTitle: diagnosis.plan.github.title,
    issueBody: diagnosis.plan.github.body,
    approvalCard: approvalCard(ctx),
    incidentNote: fillNote(diagnosis.plan.slack.note!, noteValues(decision, issue), scope.github!),
  };
}

/** Where the secret is found, named by kind so a failure says which shape slipped through and where. */
function expectNoLeak(s: CarriedSecret, found: { evidence: unknown; rendered: unknown }): void {
  expect({ kind: s.kind, evidence: leaks(found.evidence, s.secret), rendered: leaks(found.rendered, s.secret) }).toEqual({
    kind: s.kind,
    evidence: [],
    rendered: [],
  });
}

/** A surface that failed: the activity's failure message is what the workflow records as the reason. */
async function failedSurface(surface: SurfaceName, run: Promise<unknown>): Promise<{ message: string; result: SurfaceResult }> {
  const failure = await failureOf(run);
  return { message: failure.message, result: { surface, status: 'unavailable', reason: failure.message } };
}

function handled(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      await handler(req, res);
    } catch (err) {
      json(res, 500, { error: String(err) });
    }
  };
}

// ---- PagerDuty --------------------------------------------------------------------------

describe('PagerDuty: incident, alerts, their details, and error bodies', () => {
  let upstream: FakeUpstream;
  let answer: (path: string, res: ServerResponse) => void = () => undefined;
  beforeAll(async () => {
    upstream = await startFake(handled((req, res) => answer(new URL(req.url ?? '/', 'http://x').pathname, res)));
  });
  afterAll(() => upstream.close());

  const pagerduty = () => createPagerDutyActivities({ baseUrl: upstream.url, authorization: () => '' });

  test('no credential in an incident title, service name, URL, alert summary, source or custom detail survives', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(8), async (s) => {
        const [title, service, summary1, summary2, source, origin, detail, url] = s.texts as [string, ...string[]];
        const incident = {
          id: INCIDENT.id,
          incident_number: INCIDENT.number,
          title,
          status: 'triggered',
          urgency: 'high',
          created_at: INCIDENT.createdAt,
          html_url: `${INCIDENT.htmlUrl}?${url}`,
          service: { id: INCIDENT.serviceId, summary: service },
        };
        const alerts = [
          {
            id: 'A1',
            status: 'triggered',
            severity: 'critical',
            summary: summary1,
            created_at: '2025-03-01T11:56:00Z',
            body: { details: { source, custom: { nested: detail, list: [detail] } } },
          },
          {
            id: 'A2',
            status: 'triggered',
            severity: 'error',
            summary: summary2,
            created_at: '2025-03-01T11:57:00Z',
            body: { cef_details: { source_origin: origin }, details: detail },
          },
        ];
        answer = (path, res) =>
          path.endsWith('/alerts') ? json(res, 200, { alerts, more: false, total: alerts.length }) : json(res, 200, { incident });
        const fetched = await pagerduty().fetchIncident(INCIDENT.id, TRIAGE_ID);
        const evidence = await pagerduty().collectPagerDutyEvidence(request(scopeFor(['pagerduty']), fetched));
        expectNoLeak(s, {
          evidence: { fetched, evidence },
          rendered: rendered(fetched, [{ surface: 'pagerduty', status: 'ok', evidence }]),
        });
      }),
      RUNS,
    );
  });

  test('no credential an error body echoes survives into the failure or the report', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(2), async (s) => {
        answer = (_path, res) => json(res, 400, { error: { message: s.texts[0], errors: [s.texts[1]] } });
        const failed = await failedSurface('pagerduty', pagerduty().collectPagerDutyEvidence(request(scopeFor(['pagerduty']))));
        expectNoLeak(s, { evidence: failed.message, rendered: rendered(INCIDENT, [failed.result]) });
      }),
      RUNS,
    );
  });
});

// ---- Datadog ----------------------------------------------------------------------------

describe('Datadog: log messages and attributes, monitors, metric metadata, and error bodies', () => {
  let upstream: FakeUpstream;
  let answer: (req: IncomingMessage, path: string, res: ServerResponse) => void = () => undefined;
  beforeAll(async () => {
    upstream = await startFake(
      handled(async (req, res) => {
        await readBody(req);
        answer(req, new URL(req.url ?? '/', 'http://x').pathname, res);
      }),
    );
  });
  afterAll(() => upstream.close());

  const scope = scopeFor(['datadog'], {
    datadog: {
      queries: [{ label: 'checkout 5xx', query: 'sum:trace.http.request.errors{service:checkout-api}.as_count()' }],
      monitorTags: ['service:checkout-api'],
      logQuery: 'service:checkout-api status:error',
    },
  });
  const datadog = () => createDatadogActivities({ baseUrl: upstream.url, now: () => NOW });

  test('no credential in a log message, log attribute, monitor name, monitor tag or unit survives', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(9), async (s) => {
        const [message1, message2, service, attribute, monitorName, monitorMessage, tag, unit, status] = s.texts as [string, ...string[]];
        const times = Array.from({ length: 60 }, (_, i) => NOW - (60 - i) * 60_000);
        const logs = [message1, message2, message1].map((message, i) => ({
          id: `log-${i}`,
          type: 'log',
          attributes: {
            timestamp: new Date(NOW - (i + 1) * 30_000).toISOString(),
            message,
            service: i === 0 ? service : 'checkout-api',
            status: i === 1 ? status : 'error',
            tags: [tag],
            attributes: { error: { message: attribute }, http: { url: attribute } },
          },
        }));
        const monitor = {
          id: 42,
          name: monitorName,
          type: 'metric alert',
          query: 'sum(last_5m):sum:trace.http.request.errors{service:checkout-api}.as_count() > 100',
          message: monitorMessage,
          tags: ['service:checkout-api', tag],
          priority: 1,
          options: {},
          overall_state: 'Alert',
          overall_state_modified: '2025-03-01T11:50:00Z',
        };
        answer = (req, path, res) => {
          if (path === '/api/v2/query/timeseries') {
            json(res, 200, {
              data: {
                type: 'timeseries_response',
                attributes: {
                  series: [
                    { group_tags: [tag], query_index: 0, unit: [{ name: unit, plural: unit, short_name: unit, scale_factor: 1 }, null] },
                  ],
                  times,
                  values: [times.map((_, i) => (i < 45 ? 2 : 40))],
                },
              },
            });
          } else if (path === '/api/v1/monitor') json(res, 200, [monitor]);
          else if (path === '/api/v2/logs/events/search') json(res, 200, { data: logs, meta: { page: {} } });
          else json(res, 404, { errors: [`no route ${req.method} ${path}`] });
        };
        const evidence = await datadog().collectDatadogEvidence(request(scope));
        expectNoLeak(s, { evidence, rendered: rendered(INCIDENT, [{ surface: 'datadog', status: 'ok', evidence }]) });
      }),
      RUNS,
    );
  });

  test('no credential an error body echoes survives into the failure or the report', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(1), async (s) => {
        answer = (_req, _path, res) => json(res, 400, { errors: [s.texts[0]] });
        const failed = await failedSurface('datadog', datadog().collectDatadogEvidence(request(scope)));
        expectNoLeak(s, { evidence: failed.message, rendered: rendered(INCIDENT, [failed.result]) });
      }),
      RUNS,
    );
  });
});

// ---- Kubernetes -------------------------------------------------------------------------

const NAMESPACE = 'shop';
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function condition(type: string, status: string, message: string, reason = 'Failing') {
  return { type, status, reason, message, lastTransitionTime: minutesAgo(5) };
}

function coreEvent(name: string, involved: { kind: string; name: string }, reason: string, message: string, extra: object = {}) {
  return {
    metadata: { name, namespace: involved.kind === 'Node' ? 'default' : NAMESPACE, creationTimestamp: minutesAgo(3) },
    involvedObject: { ...involved, namespace: involved.kind === 'Node' ? undefined : NAMESPACE },
    type: 'Warning',
    reason,
    message,
    count: 3,
    lastTimestamp: minutesAgo(2),
    ...extra,
  };
}

/** What the apiserver lists: every free-text field an object carries holds one of `t`. */
function clusterObjects(t: string[]): { lists: Record<string, unknown[]>; logs: Record<string, string> } {
  const owner = (kind: string, name: string) => [{ apiVersion: 'apps/v1', kind, name, uid: `${name}-uid`, controller: true }];
  const api = { name: 'api', image: 'registry.example.com/checkout:1.4.2' };
  return {
    lists: {
      pods: [
        {
          metadata: {
            name: 'api-7d9f8-a',
            namespace: NAMESPACE,
            labels: { app: 'api', 'pod-template-hash': '7d9f8' },
            ownerReferences: owner('ReplicaSet', 'api-7d9f8'),
            creationTimestamp: minutesAgo(30),
          },
          spec: { nodeName: 'node-1', containers: [api] },
          status: {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: 'False' }],
            containerStatuses: [
              {
                ...api,
                ready: false,
                restartCount: 4,
                state: { waiting: { reason: 'CrashLoopBackOff', message: t[0] } },
                lastState: { terminated: { reason: 'Error', exitCode: 1, message: t[1], finishedAt: minutesAgo(1) } },
              },
            ],
          },
        },
        {
          metadata: {
            name: 'api-7d9f8-b',
            namespace: NAMESPACE,
            ownerReferences: owner('ReplicaSet', 'api-7d9f8'),
            creationTimestamp: minutesAgo(40),
          },
          spec: { nodeName: 'node-1', containers: [api] },
          status: { phase: 'Failed', reason: 'Evicted', message: t[2] },
        },
        {
          metadata: {
            name: 'api-7d9f8-c',
            namespace: NAMESPACE,
            ownerReferences: owner('ReplicaSet', 'api-7d9f8'),
            creationTimestamp: minutesAgo(10),
          },
          spec: { containers: [api], nodeSelector: { pool: 'general' } },
          status: { phase: 'Pending', conditions: [condition('PodScheduled', 'False', t[3]!, 'Unschedulable')] },
        },
        {
          metadata: {
            name: 'web-5c6d7-a',
            namespace: NAMESPACE,
            labels: { app: 'web', 'pod-template-hash': '5c6d7' },
            ownerReferences: owner('ReplicaSet', 'web-5c6d7'),
            creationTimestamp: minutesAgo(90),
          },
          spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'registry.example.com/web:2.0.0' }] },
          status: {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: 'True' }],
            containerStatuses: [
              { name: 'web', image: 'registry.example.com/web:2.0.0', ready: true, restartCount: 0, state: { running: {} } },
            ],
          },
        },
      ],
      events: [
        coreEvent('api.1', { kind: 'Pod', name: 'api-7d9f8-a' }, 'BackOff', t[4]!),
        // Recorded through events.k8s.io/v1: the core API shows its `note` as `message`.
        coreEvent('api.2', { kind: 'Pod', name: 'api-7d9f8-a' }, 'Failed', t[5]!, {
          eventTime: minutesAgo(2),
          reportingComponent: 'kubelet',
          reportingInstance: 'node-1',
          action: 'Pulling',
          series: { count: 2, lastObservedTime: minutesAgo(2) },
        }),
      ],
      deployments: [
        {
          metadata: { name: 'api', namespace: NAMESPACE, annotations: { 'deployment.kubernetes.io/revision': '7' } },
          spec: { replicas: 3, template: { spec: { containers: [api] } } },
          status: {
            replicas: 3,
            readyReplicas: 1,
            updatedReplicas: 3,
            availableReplicas: 1,
            conditions: [condition('Available', 'False', t[6]!, 'MinimumReplicasUnavailable')],
          },
        },
      ],
      replicasets: [
        {
          metadata: {
            name: 'api-7d9f8',
            namespace: NAMESPACE,
            ownerReferences: owner('Deployment', 'api'),
            annotations: { 'deployment.kubernetes.io/revision': '7' },
          },
          spec: { replicas: 3, template: { spec: { containers: [api] } } },
          status: { replicas: 3, readyReplicas: 1 },
        },
      ],
      jobs: [
        {
          metadata: { name: 'migrate', namespace: NAMESPACE, creationTimestamp: minutesAgo(20) },
          spec: { backoffLimit: 1 },
          status: { failed: 2, conditions: [condition('Failed', 'True', t[7]!, 'BackoffLimitExceeded')] },
        },
      ],
      horizontalpodautoscalers: [
        {
          metadata: { name: 'api', namespace: NAMESPACE },
          spec: { scaleTargetRef: { kind: 'Deployment', name: 'api' }, maxReplicas: 5 },
          status: {
            currentReplicas: 3,
            desiredReplicas: 3,
            conditions: [condition('ScalingActive', 'False', t[8]!, 'FailedGetResourceMetric')],
          },
        },
      ],
      persistentvolumeclaims: [
        {
          metadata: { name: 'data', namespace: NAMESPACE },
          spec: { accessModes: ['ReadWriteOnce'] },
          status: { phase: 'Pending', conditions: [condition('Resizing', 'True', t[9]!)] },
        },
      ],
      statefulsets: [
        {
          metadata: { name: 'db', namespace: NAMESPACE },
          spec: { replicas: 1, template: { spec: { containers: [{ name: 'db', image: 'postgres:16' }] } } },
          status: { replicas: 1, readyReplicas: 0, conditions: [condition('Ready', 'False', t[10]!)] },
        },
      ],
      nodes: [
        {
          metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'eu-west-1a' } },
          status: { conditions: [condition('Ready', 'False', t[11]!, 'KubeletNotReady')], allocatable: { cpu: '4', memory: '16Gi' } },
        },
      ],
      nodeEvents: [coreEvent('node-1.1', { kind: 'Node', name: 'node-1' }, 'NodeHasDiskPressure', t[12]!)],
    },
    logs: {
      // The crashed container's previous log, and the quiet replica's own: plain and structured lines.
      'api-7d9f8-a': `starting\n${t[13]}\nFATAL: exiting\n`,
      'web-5c6d7-a': [
        'INFO serving on :8080',
        `ERROR ${t[14]}`,
        JSON.stringify({ level: 'info', logger: t[15], msg: 'configuration reloaded' }),
        JSON.stringify({ level: 'error', service: t[15], msg: t[14] }),
        JSON.stringify({ level: 'error', service: t[15], msg: t[14] }),
        '',
      ].join('\n'),
    },
  };
}

describe('Kubernetes: event, container, condition and node messages, logs, and error bodies', () => {
  let upstream: FakeUpstream;
  let objects: ReturnType<typeof clusterObjects> = { lists: {}, logs: {} };
  /** Paths that answer with a failure whose Status message is this text. */
  let failing: { match: RegExp; message: string }[] = [];
  beforeAll(async () => {
    upstream = await startFake(
      handled((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const failure = failing.find((f) => f.match.test(url.pathname));
        if (failure) {
          json(res, 500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: failure.message, code: 500 });
          return;
        }
        const log = /\/pods\/([^/]+)\/log$/.exec(url.pathname);
        if (log) {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(objects.logs[log[1]!] ?? '');
          return;
        }
        const resource = url.pathname.split('/').pop() ?? '';
        const nodeEvents = url.pathname.includes('/namespaces/default/');
        const items = (nodeEvents ? objects.lists['nodeEvents'] : objects.lists[resource]) ?? [];
        json(res, 200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
      }),
    );
  });
  afterAll(() => upstream.close());
  afterEach(() => {
    failing = [];
  });

  const scope = scopeFor(['kubernetes'], { kubernetes: { cluster: 'prod-eu-1', namespaces: [NAMESPACE] } });
  const kubernetes = () =>
    createKubernetesActivities({
      kubeConfig: emulatorKubeConfig(upstream.url, fakeCredential.opaqueToken()),
      nodeEventsNamespace: 'default',
      readNodes: true,
    });

  test('no credential in any message, condition, node, previous or current log survives', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(16), async (s) => {
        objects = clusterObjects(s.texts);
        const evidence = await kubernetes().collectKubernetesEvidence(request(scope));
        // The run must have read what was planted, or the property proves nothing.
        expect(evidence.namespaces[0]?.events.length).toBeGreaterThan(0);
        expect(evidence.nodes?.status).toBe('ok');
        expectNoLeak(s, { evidence, rendered: rendered(INCIDENT, [{ surface: 'kubernetes', status: 'ok', evidence }]) });
      }),
      { numRuns: 50 },
    );
  });

  test('no credential a Status message echoes survives into an unavailable read or a failed surface', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(3), async (s) => {
        objects = clusterObjects(Array.from({ length: 16 }, () => 'ok'));
        failing = [
          { match: /^\/api\/v1\/nodes$/, message: s.texts[0]! },
          { match: /\/log$/, message: s.texts[1]! },
        ];
        const evidence = await kubernetes().collectKubernetesEvidence(request(scope));
        expect(evidence.nodes?.status).toBe('unavailable');
        failing = [{ match: /\/pods$/, message: s.texts[2]! }];
        const failed = await failedSurface('kubernetes', kubernetes().collectKubernetesEvidence(request(scope)));
        expectNoLeak(s, {
          evidence: { evidence, failure: failed.message },
          rendered: rendered(INCIDENT, [{ surface: 'kubernetes', status: 'ok', evidence }]),
        });
        expectNoLeak(s, { evidence: [], rendered: rendered(INCIDENT, [failed.result]) });
      }),
      { numRuns: 50 },
    );
  });
});

// ---- CloudWatch -------------------------------------------------------------------------

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

describe('CloudWatch: the caller identity and AWS error messages', () => {
  let upstream: FakeUpstream;
  let arnSession = 'worker';
  let denied: string | undefined;
  const saved: Record<string, string | undefined> = {};
  const ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_PROFILE'];

  beforeAll(async () => {
    for (const name of ENV) saved[name] = process.env[name];
    for (const name of ENV) delete process.env[name];
    // The SDK's default chain finds these first; the fake upstream never checks them.
    process.env['AWS_ACCESS_KEY_ID'] = fakeCredential.awsAccessKeyId();
    process.env['AWS_SECRET_ACCESS_KEY'] = fakeCredential.awsSecretAccessKey();
    upstream = await startFake(
      handled(async (req, res) => {
        const action = new URLSearchParams(await readBody(req)).get('Action');
        const reply = (status: number, body: string) => res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
        if (action === 'GetCallerIdentity') {
          if (denied !== undefined) {
            reply(
              403,
              `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${xml(denied)}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
            );
            return;
          }
          reply(
            200,
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/${xml(arnSession)}</Arn><UserId>AROAWORKERROLE:worker</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
          return;
        }
        const points = Array.from({ length: 30 }, (_, i) => NOW - (30 - i) * 60_000);
        reply(
          200,
          `<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult><MetricDataResults><member><Id>m0</Id><Label>${xml(arnSession)}</Label><StatusCode>Complete</StatusCode><Timestamps>${points.map((t) => `<member>${new Date(t).toISOString()}</member>`).join('')}</Timestamps><Values>${points.map((_, i) => `<member>${i < 20 ? 120 : 900}</member>`).join('')}</Values></member></MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></GetMetricDataResponse>`,
        );
      }),
    );
  });
  afterAll(async () => {
    await upstream.close();
    for (const name of ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  afterEach(() => {
    denied = undefined;
  });

  const scope = scopeFor(['cloudwatch'], {
    cloudwatch: {
      region: 'eu-west-1',
      metrics: [
        {
          label: 'checkout latency',
          namespace: 'AWS/ApplicationELB',
          metricName: 'TargetResponseTime',
          dimensions: { LoadBalancer: 'app/checkout/0123' },
          stat: 'Average',
          periodSeconds: 60,
        },
      ],
    },
  });
  const cloudwatch = () => createCloudWatchActivities({ endpoint: upstream.url, now: () => NOW });

  test('no credential in the caller ARN (or a series label) survives', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(1), async (s) => {
        arnSession = s.texts[0]!;
        const evidence = await cloudwatch().collectCloudWatchEvidence(request(scope));
        expectNoLeak(s, { evidence, rendered: rendered(INCIDENT, [{ surface: 'cloudwatch', status: 'ok', evidence }]) });
      }),
      { numRuns: 50 },
    );
  });

  test('no credential an AccessDenied message quotes survives into the failure or the report', async () => {
    await fc.assert(
      fc.asyncProperty(carriedSecret(1), async (s) => {
        denied = `User: arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/worker is not authorized: ${s.texts[0]}`;
        const failed = await failedSurface('cloudwatch', cloudwatch().collectCloudWatchEvidence(request(scope)));
        expectNoLeak(s, { evidence: failed.message, rendered: rendered(INCIDENT, [failed.result]) });
      }),
      { numRuns: 50 },
    );
  });
});
