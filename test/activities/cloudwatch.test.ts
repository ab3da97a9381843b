// The CloudWatch activity against a real moto server, with credentials the way
// EKS Pod Identity delivers them: the SDK's default chain finds
// AWS_CONTAINER_CREDENTIALS_FULL_URI and the token file, and fetches a session
// from the Pod Identity Agent emulator, which got it from moto's STS.
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCloudWatchActivities } from '../../activities/cloudwatch.js';
import { MAX_EVIDENCE_BYTES, evidenceBytes } from '../../activities/evidence-bounds.js';
import type { CloudWatchEvidence, CloudWatchMetricQuery, CloudWatchScope, EvidenceRequest } from '../../activities/model.js';
import { startPodIdentityAgent, type PodIdentityAgent } from '../../sandbox/emulators/pod-identity.js';
import { sandboxCredentials, seedCloudWatch, startMoto, type Moto } from '../../sandbox/moto.js';
import { buildScenario, type Scenario } from '../../sandbox/scenario.js';
import { freePort } from '../../sandbox/ports.js';
import { evidenceRequest } from './evidence-request.js';
import { failureOf } from './failure-of.js';

const MINUTE = 60_000;
/** Close to the real time (CloudWatch keeps to the last two weeks), on a minute boundary. */
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const POD = 'keyless-triage-worker-5c6d7';
const ASSUMED_ROLE_ARN = `arn:aws:sts::123456789012:assumed-role/keyless-triage-worker/eks-sandbox-${POD}`;
const TRIAGE_ID = 'triage-Q1CLOUDWATCH';

function scenario(): Scenario {
  return buildScenario(
    {
      name: 'cloudwatch-latency',
      description: 'checkout latency rises twelve minutes before now; its database errors with it',
      pagerduty: {
        incident: {
          id: 'Q1CLOUDWATCH',
          incident_number: 9001,
          title: 'checkout p99 latency above 800 ms',
          status: 'triggered',
          urgency: 'high',
          created_at: '${now-5m}',
          html_url: 'https://example.pagerduty.com/incidents/Q1CLOUDWATCH',
          service: { id: 'PCHKOUT', summary: 'checkout' },
        },
      },
      cloudwatch: {
        region: 'eu-west-1',
        metrics: [
          {
            label: 'checkout latency',
            namespace: 'AWS/ApplicationELB',
            metricName: 'TargetResponseTime',
            dimensions: { LoadBalancer: 'app/checkout/0123456789abcdef' },
            stat: 'Average',
            unit: 'Milliseconds',
            series: { start: '${now-2h}', end: '${now}', baseline: 120, incident: 900, changeAt: '${now-12m}' },
          },
          {
            label: 'orders-db errors',
            dependency: 'orders-db',
            namespace: 'Checkout',
            metricName: 'DatabaseErrors',
            dimensions: { Database: 'orders' },
            stat: 'Sum',
            unit: 'Count',
            series: { start: '${now-2h}', end: '${now}', baseline: 2, incident: 40, changeAt: '${now-12m}', jitter: 0 },
          },
        ],
      },
    },
    { now: NOW },
  );
}

function scopeOf(s: Scenario, extra: CloudWatchMetricQuery[] = []): CloudWatchScope {
  const cw = s.cloudwatch!;
  return { region: cw.region, metrics: [...cw.metrics.map(({ series: _series, ...m }) => m), ...extra] };
}

function requestFor(s: Scenario, scope: CloudWatchScope | undefined, triageId = TRIAGE_ID): EvidenceRequest {
  const req = evidenceRequest({ incident: { id: s.pagerduty.incident.id, createdAt: s.pagerduty.incident.created_at }, triageId });
  return { ...req, scope: { ...req.scope, surfaces: ['cloudwatch'], ...(scope ? { cloudwatch: scope } : {}) } };
}

// ---- a recording proxy in front of moto --------------------------------------
// What CloudTrail would see: the action and the User-Agent of every request.
// It can also answer an action itself, the way AWS answers errors moto does not
// produce (AccessDenied, throttling) or pages moto does not paginate. Canned
// answers are keyed by the triage id in the User-Agent, so a request a previous
// test gave up on (already sent, read here a tick later) cannot take them.

interface Seen {
  action: string;
  userAgent: string;
  nextToken?: string;
  /** Kept only to prove the session never leaks into evidence or failures. */
  sessionToken?: string;
}

interface Canned {
  status: number;
  body: string;
}

interface RecordingProxy {
  url: string;
  seen: Seen[];
  answer(triageId: string, action: string, ...responses: Canned[]): void;
  close(): Promise<void>;
}

async function startProxy(upstream: string): Promise<RecordingProxy> {
  const seen: Seen[] = [];
  const canned = new Map<string, Canned[]>();
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action') ?? '';
      seen.push({
        action,
        userAgent: req.headers['user-agent'] ?? '',
        ...(form.get('NextToken') ? { nextToken: form.get('NextToken')! } : {}),
        ...(typeof req.headers['x-amz-security-token'] === 'string' ? { sessionToken: req.headers['x-amz-security-token'] } : {}),
      });
      const triageId = /(?:^| )triage\/(\S+)/.exec(req.headers['user-agent'] ?? '')?.[1];
      const answer = canned.get(`${triageId} ${action}`)?.shift();
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
        return;
      }
      const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
      const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    answer: (triageId, action, ...responses) => canned.set(`${triageId} ${action}`, responses),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const CW_NS = 'http://monitoring.amazonaws.com/doc/2010-08-01/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

function awsError(ns: string, status: number, code: string, message: string, type = 'Sender'): Canned {
  return {
    status,
    body: `<ErrorResponse xmlns="${ns}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>0f1e2d3c</RequestId></ErrorResponse>`,
  };
}

function metricDataPage(results: { id: string; points: [number, number][]; status: string }[], nextToken?: string): Canned {
  const member = (r: (typeof results)[number]) =>
    `<member><Id>${r.id}</Id><Label>${r.id}</Label>` +
    `<Timestamps>${r.points.map(([t]) => `<member>${new Date(t).toISOString()}</member>`).join('')}</Timestamps>` +
    `<Values>${r.points.map(([, v]) => `<member>${v}</member>`).join('')}</Values>` +
    `<StatusCode>${r.status}</StatusCode></member>`;
  return {
    status: 200,
    body:
      `<GetMetricDataResponse xmlns="${CW_NS}"><GetMetricDataResult><MetricDataResults>${results.map(member).join('')}</MetricDataResults>` +
      `${nextToken ? `<NextToken>${nextToken}</NextToken>` : ''}</GetMetricDataResult><ResponseMetadata><RequestId>1a2b</RequestId></ResponseMetadata></GetMetricDataResponse>`,
  };
}

// ---- the environment a pod with a Pod Identity association gets -------------

const AWS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

let moto: Moto;
let proxy: RecordingProxy;
let agent: PodIdentityAgent;
let tokenFile: string;
let dir: string;
let saved: Record<string, string | undefined>;
const s = scenario();

beforeAll(async () => {
  saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
  for (const k of AWS_ENV) delete process.env[k];
  dir = mkdtempSync(join(tmpdir(), 'cloudwatch-activity-'));
  // No shared config or credentials file, no instance metadata: the container endpoint is the only source.
  process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';

  moto = await startMoto();
  await seedCloudWatch(moto.url, s.cloudwatch!, sandboxCredentials());
  proxy = await startProxy(moto.url);
  tokenFile = join(dir, 'eks-pod-identity-token');
  writeFileSync(
    tokenFile,
    `eyJ${randomBytes(24).toString('base64url')}.${randomBytes(48).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
    { mode: 0o600 },
  );
  agent = await startPodIdentityAgent({ stsEndpoint: moto.url, tokenFile, podName: POD });
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = agent.url;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tokenFile;
});

afterAll(async () => {
  await agent?.close();
  await proxy?.close();
  await moto?.close();
  for (const k of AWS_ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const activities = (endpoint = proxy.url) => createCloudWatchActivities({ endpoint, now: () => NOW + 30_000, timeoutMs: 5_000 });
const collect = (scope: CloudWatchScope = scopeOf(s), triageId = TRIAGE_ID) =>
  activities().collectCloudWatchEvidence(requestFor(s, scope, triageId));
const collectUnscoped = () => activities().collectCloudWatchEvidence(requestFor(s, undefined));

let answered = 0;
/** Collects under a triage id of its own, with `action` answered by the proxy instead of moto. */
function collectAnswered(action: string, ...responses: Canned[]) {
  const triageId = `triage-CANNED${(answered += 1)}`;
  proxy.answer(triageId, action, ...responses);
  return collect(scopeOf(s), triageId);
}

function near(iso: string | undefined, ms: number, toleranceMs = MINUTE): boolean {
  return iso !== undefined && Math.abs(Date.parse(iso) - ms) <= toleranceMs;
}

describe('collecting from moto with Pod Identity credentials', () => {
  let evidence: CloudWatchEvidence;
  let issuedBefore: number;
  let seenBefore: number;

  beforeAll(async () => {
    expect(process.env.AWS_ACCESS_KEY_ID).toBeUndefined();
    issuedBefore = agent.issued;
    seenBefore = proxy.seen.length;
    evidence = await collect(
      scopeOf(s, [
        {
          label: 'never written',
          namespace: 'Checkout',
          metricName: 'Nothing',
          dimensions: { Database: 'orders' },
          stat: 'Sum',
          periodSeconds: 60,
        },
      ]),
    );
  });

  test('the reader is the assumed-role session the agent handed out', () => {
    expect(evidence.readBy).toEqual({ arn: ASSUMED_ROLE_ARN, account: '123456789012' });
    expect(agent.issued).toBeGreaterThan(issuedBefore);
    expect(evidence).toMatchObject({ surface: 'cloudwatch', region: 'eu-west-1' });
  });

  test('the window reaches an hour of baseline before the incident', () => {
    expect(evidence.window).toEqual({
      start: new Date(NOW - 5 * MINUTE - 15 * MINUTE - 60 * MINUTE).toISOString(),
      incidentWindowStart: new Date(NOW - 20 * MINUTE).toISOString(),
      end: new Date(NOW + 30_000).toISOString(),
    });
  });

  test('latency: the baseline, the incident level, the peak and when the change began', () => {
    const latency = evidence.series[0]!;
    expect(latency).toMatchObject({ label: 'checkout latency', unit: 'Milliseconds' });
    expect(latency.dependency).toBeUndefined();
    const { summary } = latency;
    // 80 one-minute points from the window start to now, one per period.
    expect(summary.points).toBe(81);
    expect(summary.baseline).toBeGreaterThan(114);
    expect(summary.baseline).toBeLessThan(126);
    // 8 baseline minutes and 13 incident minutes in the incident window.
    expect(summary.incident).toBeGreaterThan(550);
    expect(summary.incident).toBeLessThan(650);
    expect(summary.peak!.value).toBeGreaterThan(900);
    expect(summary.peak!.value).toBeLessThanOrEqual(945);
    expect(Date.parse(summary.peak!.at)).toBeGreaterThanOrEqual(NOW - 12 * MINUTE);
    expect(near(summary.changeBeganAt, NOW - 12 * MINUTE)).toBe(true);
    expect(latency.points).toHaveLength(81);
    expect(latency.points[0]![0]).toBe(NOW - 80 * MINUTE);
    expect(latency.points.at(-1)![0]).toBe(NOW);
  });

  test('the dependency series keeps its meaning, and a Sum is a Sum', () => {
    const errors = evidence.series[1]!;
    expect(errors).toMatchObject({ label: 'orders-db errors', dependency: 'orders-db', unit: 'Count' });
    expect(errors.summary.baseline).toBe(2);
    expect(errors.summary.peak?.value).toBe(40);
    expect(near(errors.summary.changeBeganAt, NOW - 12 * MINUTE)).toBe(true);
  });

  test('a metric with no data is kept, with zero points', () => {
    expect(evidence.series[2]).toEqual({ label: 'never written', points: [], summary: { points: 0 } });
  });

  test('every request named the triage in its User-Agent, where CloudTrail records it', () => {
    const mine = proxy.seen.slice(seenBefore);
    expect(mine.map((r) => r.action).sort()).toEqual(['GetCallerIdentity', 'GetMetricData']);
    for (const r of mine) expect(r.userAgent).toMatch(new RegExp(`(^| )keyless-triage/0\\.1 triage/${TRIAGE_ID}( |$)`));
  });

  test('the evidence is bounded and carries no credential', () => {
    expect(evidenceBytes(evidence)).toBeLessThan(MAX_EVIDENCE_BYTES);
    const text = JSON.stringify(evidence);
    const tokens = proxy.seen.map((r) => r.sessionToken).filter((t): t is string => !!t);
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) expect(text).not.toContain(t);
  });
});

describe('paging', () => {
  test('NextToken is followed and the pages are joined; the last page decides the status', async () => {
    const at = (m: number): [number, number] => [NOW - m * MINUTE, 100 + m];
    const seenBefore = proxy.seen.length;
    const evidence = await collectAnswered(
      'GetMetricData',
      metricDataPage(
        [
          { id: 'm0', points: [at(70), at(60)], status: 'PartialData' },
          { id: 'm1', points: [at(70)], status: 'PartialData' },
        ],
        'page-2',
      ),
      metricDataPage([
        { id: 'm0', points: [at(10), at(5)], status: 'Complete' },
        { id: 'm1', points: [], status: 'Complete' },
      ]),
    );
    const pages = proxy.seen.slice(seenBefore).filter((r) => r.action === 'GetMetricData');
    expect(pages.map((p) => p.nextToken)).toEqual([undefined, 'page-2']);
    expect(evidence.series[0]!.points).toEqual([at(70), at(60), at(10), at(5)]);
    expect(evidence.series[1]!.points).toEqual([at(70)]);
  });
});

describe('failures', () => {
  test('a triage id the User-Agent would alter is refused before any request', async () => {
    const before = proxy.seen.length;
    const f = await failureOf(collect(scopeOf(s), 'triage:Q1'));
    expect(f).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
    expect(proxy.seen.length).toBe(before);
  });

  test('no CloudWatch scope: a configuration error, not retried', async () => {
    const before = proxy.seen.length;
    const f = await failureOf(collectUnscoped());
    expect(proxy.seen.length).toBe(before);
    expect(f).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
    expect(f.message).toMatch(/no CloudWatch scope is configured/);
  });

  test('a metric with an impossible period is refused with the metric named', async () => {
    const scope = scopeOf(s);
    scope.metrics[1] = { ...scope.metrics[1]!, periodSeconds: 90 };
    const f = await failureOf(collect(scope));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/metric 1 \("orders-db errors"\): period must be/);
  });

  test('the agent refuses the token: no credentials, retried (the agent may be restarting), and the token is not in the message', async () => {
    const wrongFile = join(dir, 'stale-token');
    const wrong = `eyJ${randomBytes(24).toString('base64url')}.stale.token`;
    writeFileSync(wrongFile, wrong);
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = wrongFile;
    try {
      const f = await failureOf(collect());
      expect(f).toMatchObject({ type: 'AwsCredentialsUnavailable', nonRetryable: false });
      expect(f.message).toMatch(/^cloudwatch: no AWS credentials in the default chain/);
      expect(f.message).toMatch(/Pod Identity Agent/);
      expect(JSON.stringify([f.message, f.details])).not.toContain(wrong);
    } finally {
      process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tokenFile;
    }
  });

  test('with no credential source at all, the message points at the Pod Identity association', async () => {
    delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
    try {
      const f = await failureOf(collect());
      expect(f).toMatchObject({ type: 'AwsCredentialsUnavailable', nonRetryable: true });
      expect(f.message).toBe('cloudwatch: no AWS credentials in the default chain (in EKS: is the Pod Identity association in place?)');
    } finally {
      process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = agent.url;
    }
  });

  test('moto down: a retryable network failure', async () => {
    const f = await failureOf(activities(`http://127.0.0.1:${await freePort()}`).collectCloudWatchEvidence(requestFor(s, scopeOf(s))));
    expect(f).toMatchObject({ type: 'HttpNetworkError', nonRetryable: false });
    expect(f.message).toMatch(/^cloudwatch: request failed/);
  });

  test('an endpoint that accepts and never answers: a retryable timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const slow = createCloudWatchActivities({ endpoint, now: () => NOW, timeoutMs: 300 });
      const f = await failureOf(slow.collectCloudWatchEvidence(requestFor(s, scopeOf(s))));
      expect(f).toMatchObject({ type: 'HttpTimeout', nonRetryable: false });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test.each([
    ['GetMetricData', CW_NS, 'cloudwatch:GetMetricData'],
    ['GetCallerIdentity', STS_NS, 'sts:GetCallerIdentity'],
  ])('AccessDenied on %s names the IAM action the role lacks, not retried', async (action, ns, iamAction) => {
    const f = await failureOf(
      collectAnswered(action, awsError(ns, 403, 'AccessDenied', `User: ${ASSUMED_ROLE_ARN} is not authorized to perform: ${iamAction}`)),
    );
    expect(f).toMatchObject({ type: 'AwsAccessDenied', nonRetryable: true });
    expect(f.message).toContain(`the role needs ${iamAction}`);
  });

  test('credentials AWS does not recognise: not retried, and no key in the message', async () => {
    const f = await failureOf(
      collectAnswered(
        'GetMetricData',
        awsError(CW_NS, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
      ),
    );
    expect(f).toMatchObject({ type: 'AwsCredentialsRejected', nonRetryable: true });
    expect(f.message).toBe('cloudwatch: AWS rejected the credentials (InvalidClientTokenId) calling cloudwatch:GetMetricData');
  });

  test('an expired session the chain did not refresh: not retried', async () => {
    const f = await failureOf(
      collectAnswered('GetCallerIdentity', awsError(STS_NS, 403, 'ExpiredToken', 'The security token included in the request is expired')),
    );
    expect(f).toMatchObject({ type: 'AwsCredentialsRejected', nonRetryable: true });
    expect(f.message).toMatch(/session expired/);
  });

  test('throttling: retryable', async () => {
    const f = await failureOf(collectAnswered('GetMetricData', awsError(CW_NS, 400, 'Throttling', 'Rate exceeded')));
    expect(f).toMatchObject({ type: 'HttpRateLimited', nonRetryable: false });
  });

  test('a 5xx: retryable', async () => {
    const f = await failureOf(
      collectAnswered('GetMetricData', awsError(CW_NS, 503, 'ServiceUnavailable', 'Service is unavailable', 'Receiver')),
    );
    expect(f).toMatchObject({ type: 'HttpServerError', nonRetryable: false });
    expect(f.message).toBe('cloudwatch: cloudwatch:GetMetricData failed: HTTP 503 ServiceUnavailable');
  });

  test('a validation error: not retried, with AWS reason', async () => {
    const f = await failureOf(
      collectAnswered(
        'GetMetricData',
        awsError(CW_NS, 400, 'InvalidParameterValue', 'The value 7 for parameter MetricDataQueries.member.1.MetricStat.Period is invalid.'),
      ),
    );
    expect(f).toMatchObject({ type: 'HttpClientError', nonRetryable: true });
    expect(f.message).toMatch(/HTTP 400 InvalidParameterValue(Exception)?: The value 7 for parameter/);
  });
});
