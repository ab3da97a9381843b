// The CloudWatch evidence activity: reads the service's configured metrics with
// GetMetricData over the incident window and asks STS who did the reading.
//
// Credentials come from the SDK's default chain and nowhere else: in EKS that
// is Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI + a token file, a 1-hour
// session the SDK refreshes), so the worker never holds a long-lived key. Every
// request names the triage in its User-Agent, which CloudTrail records, so the
// AWS audit trail joins the others on one id.
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { HTTP_FAILURE_TYPES, invalidRequest, malformedResponse, networkFailure, requireTriageId, safeReason } from './http-failure.js';
import { downsample, metricWindow, summarizeSeries } from './metric-summary.js';
import {
  CLOUDWATCH_STATS,
  CLOUDWATCH_UNITS,
  type CloudWatchEvidence,
  type CloudWatchMetricQuery,
  type EvidenceRequest,
  type MetricSeries,
} from './model.js';
import { evidenceText } from '../config/untrusted-text.js';
import { awsUserAgentPairs } from '../config/user-agent.js';

const SURFACE = 'cloudwatch';
const DEFAULT_TIMEOUT_MS = 15_000;
/**
 * The SDK escapes User-Agent characters outside a token set (":" becomes "-"),
 * which would break the join with the other audit streams; ids that would be
 * altered are refused.
 */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** What configuration allows; with MAX_SERIES_POINTS per series it keeps the evidence well under its byte budget. */
const MAX_METRICS = 20;
const MAX_DIMENSIONS = 30;
/** Pages of GetMetricData (each up to 100,800 points); the window is short, so more means something is off. */
const MAX_PAGES = 10;
/** Chart points carry 6 significant digits: enough to draw, and the summary is computed before rounding. */
const POINT_PRECISION = 6;

/** The IAM actions this activity needs; an AccessDenied names the one that was refused. */
export const REQUIRED_IAM_ACTIONS = ['cloudwatch:GetMetricData', 'sts:GetCallerIdentity'] as const;
type IamAction = (typeof REQUIRED_IAM_ACTIONS)[number];

export const AWS_FAILURE_TYPES = {
  accessDenied: 'AwsAccessDenied',
  credentialsRejected: 'AwsCredentialsRejected',
  credentialsUnavailable: 'AwsCredentialsUnavailable',
  metricUnavailable: 'CloudWatchMetricUnavailable',
} as const;

export interface CloudWatchActivitiesOptions {
  /** Sandbox only: moto's URL. moto speaks the Query protocol, so this also selects it. Unset in production. */
  endpoint?: string;
  now?: () => number;
  /** Per AWS request; the activity's own timeout bounds the whole collection. */
  timeoutMs?: number;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess']);
const CREDENTIALS_REJECTED = new Set([
  'UnrecognizedClient',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidSignatureException',
  'AuthFailure',
]);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const CREDENTIAL_PROVIDER_ERRORS = new Set(['CredentialsProviderError', 'ProviderError']);

interface SdkError {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function failure(message: string, type: string, nonRetryable: boolean, extra: Record<string, unknown> = {}): ApplicationFailure {
  return ApplicationFailure.create({ message: `${SURFACE}: ${message}`, type, nonRetryable, details: [{ surface: SURFACE, ...extra }] });
}

/**
 * The SDK's errors carry the service's error code as `name` and the HTTP status
 * in `$metadata`; credential-chain failures are CredentialsProviderError; a
 * request with no answer has no status. Only the code, the status and (for
 * client errors) AWS's own message, redacted (it may quote an access key id), go into the failure.
 */
function toFailure(err: unknown, action: IamAction): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err !== null && typeof err === 'object' ? err : {}) as SdkError;
  const name = typeof e.name === 'string' ? e.name : '';
  const status = e.$metadata?.httpStatusCode;
  if (CREDENTIAL_PROVIDER_ERRORS.has(name)) {
    // With an agent configured, its failure may pass (the node's agent restarting), so
    // Temporal retries within the surface's policy; with none, only a deployment change helps.
    const agent = Boolean(process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
    const where = agent
      ? ' (the container credential endpoint named by AWS_CONTAINER_CREDENTIALS_FULL_URI refused or did not answer: is the Pod Identity Agent running, and is the token file current?)'
      : ' (in EKS: is the Pod Identity association in place?)';
    return failure(`no AWS credentials in the default chain${where}`, AWS_FAILURE_TYPES.credentialsUnavailable, !agent);
  }
  if (ACCESS_DENIED.has(name)) {
    return failure(
      `access denied to ${action}: the role needs ${action}${safeReason(e.message) ? ` (${safeReason(e.message)})` : ''}`,
      AWS_FAILURE_TYPES.accessDenied,
      true,
      { status, code: name, action },
    );
  }
  if (CREDENTIALS_REJECTED.has(name)) {
    return failure(`AWS rejected the credentials (${name}) calling ${action}`, AWS_FAILURE_TYPES.credentialsRejected, true, {
      status,
      code: name,
      action,
    });
  }
  if (EXPIRED.has(name)) {
    return failure(
      `the AWS session expired and the default chain did not refresh it (${name})`,
      AWS_FAILURE_TYPES.credentialsRejected,
      true,
      { status, code: name, action },
    );
  }
  if (THROTTLING.has(name) || status === 429) {
    return failure(`${action} throttled (${name || status})`, HTTP_FAILURE_TYPES.rateLimited, false, { status, code: name, action });
  }
  if (status !== undefined) {
    const serverSide = status >= 500 || e.$fault === 'server';
    const reason = serverSide ? undefined : safeReason(e.message);
    return failure(
      `${action} failed: HTTP ${status}${name ? ` ${name}` : ''}${reason ? `: ${reason}` : ''}`,
      serverSide ? HTTP_FAILURE_TYPES.serverError : HTTP_FAILURE_TYPES.clientError,
      !serverSide,
      { status, code: name, action },
    );
  }
  // No HTTP answer at all: refused, reset, DNS, timeout. (Inside a VM context such
  // as Jest's, the SDK re-wraps socket errors from the main realm and the code is lost.)
  return networkFailure(SURFACE, err);
}

function checkMetric(m: CloudWatchMetricQuery, i: number): void {
  const where = `metric ${i} (${JSON.stringify(String(m.label).slice(0, 80))})`;
  if (typeof m.namespace !== 'string' || m.namespace.length < 1 || m.namespace.length > 255)
    throw invalidRequest(SURFACE, `${where}: namespace must be 1-255 characters`);
  if (typeof m.metricName !== 'string' || m.metricName.length < 1 || m.metricName.length > 255)
    throw invalidRequest(SURFACE, `${where}: metric name must be 1-255 characters`);
  if (!(CLOUDWATCH_STATS as readonly string[]).includes(m.stat))
    throw invalidRequest(SURFACE, `${where}: stat must be one of ${CLOUDWATCH_STATS.join(', ')}`);
  if (m.unit !== undefined && !(CLOUDWATCH_UNITS as readonly string[]).includes(m.unit))
    throw invalidRequest(SURFACE, `${where}: unit is not a CloudWatch unit`);
  const p = m.periodSeconds;
  if (!Number.isInteger(p) || !(p === 1 || p === 5 || p === 10 || p === 30 || (p >= 60 && p % 60 === 0))) {
    throw invalidRequest(SURFACE, `${where}: period must be 1, 5, 10, 30 or a multiple of 60 seconds`);
  }
  const dims = Object.entries(m.dimensions ?? {});
  if (dims.length > MAX_DIMENSIONS) throw invalidRequest(SURFACE, `${where}: at most ${MAX_DIMENSIONS} dimensions`);
  if (dims.some(([k, v]) => typeof v !== 'string' || k.length < 1 || k.length > 255 || v.length < 1 || v.length > 1024)) {
    throw invalidRequest(SURFACE, `${where}: dimension names are 1-255 characters and values 1-1024`);
  }
}

function query(m: CloudWatchMetricQuery, i: number): MetricDataQuery {
  return {
    Id: `m${i}`,
    ReturnData: true,
    MetricStat: {
      Metric: {
        Namespace: m.namespace,
        MetricName: m.metricName,
        Dimensions: Object.entries(m.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: m.periodSeconds,
      Stat: m.stat,
      ...(m.unit ? { Unit: m.unit } : {}),
    },
  };
}

const MINUTE_MS = 60_000;

export interface AwsClientOptions {
  region: string;
  /** Named in the User-Agent (`triage/<id>`), which CloudTrail records. */
  triageId: string;
  /** Sandbox only: moto's URL. */
  endpoint?: string;
}

/**
 * How every AWS client of the worker is built: no `credentials`, so the SDK's
 * default chain finds them (Pod Identity in EKS); one attempt, since retries
 * are Temporal's; the triage id in the User-Agent; the sandbox endpoint when
 * there is one. CloudWatch also needs `protocol: AwsQueryProtocol` with an
 * endpoint (moto); STS speaks Query already.
 */
export function awsClientSettings(opts: AwsClientOptions) {
  return {
    region: opts.region,
    customUserAgent: awsUserAgentPairs(opts.triageId),
    maxAttempts: 1,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  };
}

export function createCloudWatchActivities(options: CloudWatchActivitiesOptions = {}) {
  if (options.endpoint !== undefined) {
    const url = new URL(options.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('cloudwatch endpoint must be http(s)');
    if (url.username || url.password) throw new TypeError('cloudwatch endpoint must not carry credentials');
  }
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /**
   * Clients per call, so the User-Agent names this triage. No `credentials`:
   * the SDK's default chain finds them. Retries are left to Temporal's retry
   * policy, which is visible in history and configured per surface.
   */
  function clients(region: string, triageId: string) {
    const common = awsClientSettings({ region, triageId, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
    return {
      cloudwatch: new CloudWatchClient({ ...common, ...(options.endpoint ? { protocol: AwsQueryProtocol } : {}) }),
      sts: new STSClient(common),
    };
  }

  /** One AWS request, bounded by the per-request timeout, the activity's cancellation and `stop`. */
  async function call<T>(action: IamAction, stop: AbortSignal, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const cancel = asyncLocalStorage.getStore()?.cancellationSignal;
    try {
      return await send(AbortSignal.any([AbortSignal.timeout(timeoutMs), stop, ...(cancel ? [cancel] : [])]));
    } catch (err) {
      // A cancelled activity must surface as cancelled, not as a retryable network error.
      if (cancel?.aborted) throw err;
      throw toFailure(err, action);
    }
  }

  return {
    async collectCloudWatchEvidence(req: EvidenceRequest): Promise<CloudWatchEvidence> {
      const scope = req.scope.cloudwatch;
      if (!scope) throw invalidRequest(SURFACE, 'no CloudWatch scope is configured for this service');
      // The SDK rewrites ':' in a User-Agent pair, and CloudTrail must show the id the broker's audit log does.
      if (requireTriageId(SURFACE, req.triageId).includes(':'))
        throw invalidRequest(SURFACE, 'triage id must not contain ":" (the AWS User-Agent would alter it)');
      if (typeof scope.region !== 'string' || !REGION.test(scope.region))
        throw invalidRequest(SURFACE, 'region must be an AWS region, e.g. eu-west-1');
      if (scope.metrics.length === 0) throw invalidRequest(SURFACE, 'no CloudWatch metrics are configured for this service');
      if (scope.metrics.length > MAX_METRICS)
        throw invalidRequest(SURFACE, `at most ${MAX_METRICS} metrics per service, got ${scope.metrics.length}`);
      scope.metrics.forEach(checkMetric);

      let window: CloudWatchEvidence['window'];
      try {
        window = metricWindow(req.incident.createdAt, now());
      } catch (err) {
        throw invalidRequest(SURFACE, (err as Error).message);
      }
      // CloudWatch rounds a recent StartTime down to the minute; doing it here makes moto bucket the same way.
      const startTime = new Date(Math.floor(Date.parse(window.start) / MINUTE_MS) * MINUTE_MS);
      const endTime = new Date(Math.ceil(Date.parse(window.end) / MINUTE_MS) * MINUTE_MS);
      const log = asyncLocalStorage.getStore()?.log;

      const { cloudwatch, sts } = clients(scope.region, req.triageId);
      try {
        const readMetrics = async (stop: AbortSignal) => {
          const byId = new Map<string, ResultSoFar>();
          let nextToken: string | undefined;
          let pages = 0;
          do {
            const page = await call('cloudwatch:GetMetricData', stop, (abortSignal) =>
              cloudwatch.send(
                new GetMetricDataCommand({
                  MetricDataQueries: scope.metrics.map(query),
                  StartTime: startTime,
                  EndTime: endTime,
                  ScanBy: 'TimestampAscending',
                  ...(nextToken ? { NextToken: nextToken } : {}),
                }),
                { abortSignal },
              ),
            );
            pages += 1;
            for (const result of page.MetricDataResults ?? []) collect(byId, result);
            nextToken = page.NextToken || undefined;
          } while (nextToken && pages < MAX_PAGES);
          if (nextToken) log?.warn('cloudwatch: stopped reading at the page cap; the series are partial', { pages });
          return { byId, truncated: nextToken !== undefined };
        };
        const [identity, metrics] = await together((stop) => [
          call('sts:GetCallerIdentity', stop, (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal })),
          readMetrics(stop),
        ]);
        if (!identity.Arn || !identity.Account) throw malformedResponse(SURFACE, 'GetCallerIdentity returned no Arn or Account');

        const series = scope.metrics.map((m, i): MetricSeries => {
          const found = metrics.byId.get(`m${i}`);
          const points = (found?.points ?? []).sort((a, b) => a[0] - b[0]);
          if (found?.status === 'InternalError') {
            throw failure(`CloudWatch reported an internal error reading "${m.label}"`, AWS_FAILURE_TYPES.metricUnavailable, false, {
              metric: i,
            });
          }
          if (found?.status === 'Forbidden') {
            throw failure(
              `access denied to "${m.label}": the role needs cloudwatch:GetMetricData on it`,
              AWS_FAILURE_TYPES.accessDenied,
              true,
              { metric: i },
            );
          }
          if (metrics.truncated || found?.status === 'PartialData')
            log?.warn('cloudwatch: partial data for a series', { metric: i, label: m.label });
          const out: MetricSeries = {
            label: m.label,
            points: downsample(points).map(([t, v]) => [t, Number(v.toPrecision(POINT_PRECISION))]),
            summary: summarizeSeries(points, window),
          };
          if (m.dependency !== undefined) out.dependency = m.dependency;
          if (m.unit !== undefined) out.unit = m.unit;
          return out;
        });
        // STS's answer is the only text from AWS in the evidence; it passes the same door as every other surface's.
        const readBy = { arn: evidenceText(identity.Arn, 2048), account: evidenceText(identity.Account, 64) };
        return { surface: 'cloudwatch', region: scope.region, readBy, window, series };
      } finally {
        cloudwatch.destroy();
        sts.destroy();
      }
    },
  };
}

/**
 * Runs two reads at once. The first failure stops the other and is the one
 * thrown; both have settled before this returns, so no request is still in
 * flight when the clients are destroyed.
 */
async function together<A, B>(start: (stop: AbortSignal) => [Promise<A>, Promise<B>]): Promise<[A, B]> {
  const stop = new AbortController();
  let first: { error: unknown } | undefined;
  const guard = <T>(p: Promise<T>) =>
    p.catch((error: unknown) => {
      first ??= { error };
      stop.abort();
      throw error;
    });
  const [a, b] = start(stop.signal);
  const [ra, rb] = await Promise.allSettled([guard(a), guard(b)]);
  if (first) throw first.error;
  return [(ra as PromiseFulfilledResult<A>).value, (rb as PromiseFulfilledResult<B>).value];
}

interface ResultSoFar {
  points: [number, number][];
  /** The last page's StatusCode: earlier pages say PartialData because more pages follow. */
  status?: string;
}

/** Pages repeat a query's id with the next stretch of points; they are joined here. */
function collect(byId: Map<string, ResultSoFar>, result: MetricDataResult): void {
  if (!result.Id) return;
  const entry = byId.get(result.Id) ?? { points: [] };
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  if (timestamps.length !== values.length)
    throw malformedResponse(SURFACE, `result ${result.Id} has ${timestamps.length} timestamps and ${values.length} values`);
  timestamps.forEach((t, i) => entry.points.push([t.getTime(), values[i]!]));
  if (result.StatusCode) entry.status = result.StatusCode;
  byId.set(result.Id, entry);
}
