// Starting and messaging triage workflows: the one place that knows the
// workflow id scheme, the id policies, the Web UI metadata and what Temporal's
// answers mean. The gateway's handlers call a `TriageClient` (tests pass a
// fake one); the CLI calls the functions at the bottom directly.
import { hostname, userInfo } from 'node:os';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  alreadyDecided,
  decideUpdate,
  incidentResolvedSignal,
  statusQuery,
  TRIAGE_WORKFLOW,
  triageWorkflowId,
  type DecisionChoice,
  type DecisionInput,
  type DecisionRecord,
  type TriageInput,
  type TriageStatus,
} from '../workflows/messages.js';
import { incidentIdKey, serviceKey, stageKey, triageSearchAttributes, urgencyKey } from '../workflows/search-attributes.js';
import { missingSearchAttributes, searchAttributeFix } from '../config/temporal-search-attributes.js';
import type { TriageConfig } from '../config/config.js';
import { lazyClientConnection } from '../config/temporal-connection.js';
import { createJsonLogger, type Logger } from '../config/logger.js';
import { boundedLine } from '../config/printable-text.js';
import type { PagerDutyWebhookIncident } from './pagerduty-webhook.js';

// Titles and service names are untrusted: one bounded line each in the Web UI.
const SUMMARY_CHARS = 200;

export type TemporalSettings = TriageConfig['temporal'];

/**
 * A client whose connection is made on first use, so a process can start while
 * Temporal is down. Credential files (client certificate, API key) are read and
 * validated now (a ConfigError names an unusable file) and followed as they
 * rotate; closing the connection stops following them.
 */
export function lazyClient(temporal: TemporalSettings, opts: { logger?: Logger; identity?: string } = {}): Client {
  const logger = opts.logger ?? createJsonLogger({ base: { component: 'temporal-client' }, write: (line) => process.stderr.write(line) });
  return new Client({
    connection: lazyClientConnection(temporal, { logger }),
    namespace: temporal.namespace,
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
}

/**
 * The Temporal client identities of this project's processes, in place of
 * the SDK's `<pid>@<hostname>`: the history (every Update, signal and start)
 * and the decision name which program sent a request, and for the CLI which
 * account ran it. Chosen by the client, like any identity: authenticating the
 * client (mTLS, API keys) is what makes it mean something.
 */
export const clientIdentity = {
  gateway: (host: string = hostname()): string => `keyless-triage-gateway@${host}`,
  cli: (user: string = osUser(), host: string = hostname()): string => `triage-cli:${user}@${host}`,
};

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user without a passwd entry.
    return process.env.USER ?? `uid-${process.getuid?.() ?? '?'}`;
  }
}

// ---- the gateway's side: a definite answer, or TemporalUnavailableError ----

export interface StartTriageRequest {
  incident: PagerDutyWebhookIncident;
  /** PagerDuty's `event.id`. */
  eventId: string;
  /** `X-Webhook-Id`: identical on every retry of one delivery. */
  webhookId?: string;
}

export interface StartTriageResult {
  workflowId: string;
  status: 'started' | 'already-running' | 'already-triaged';
}

export interface SignalResolvedRequest {
  incidentId: string;
  eventId: string;
}

export interface SignalResolvedResult {
  workflowId: string;
  status: 'signalled' | 'not-running';
}

export interface DecideRequest {
  incidentId: string;
  /** The door the decision came through: the gateway has only the Slack one. */
  channel: 'slack';
  decision: DecisionChoice;
  /** The Slack user id of whoever clicked; the workflow checks it against the service's approvers. */
  approver: string;
  /** The plan hash on the card that was clicked; a stale one is refused. */
  planHash: string;
  /**
   * Derived from the click, so every delivery of it names the same Update and
   * Temporal runs it once, handing later duplicates the first one's result.
   */
  updateId: string;
}

/** A refusal is a definite answer (nothing changed); anything uncertain is thrown instead. */
export type DecideResult = { status: 'recorded'; record: DecisionRecord } | { status: 'refused'; reason: string };

/**
 * What the gateway asks of Temporal. Each call takes the caller's deadline
 * (see `withinDeadline`). Starting is idempotent per incident (the workflow id
 * is derived from the incident id), because PagerDuty delivers at least once
 * and the gateway forwards every verified delivery.
 */
export interface TriageClient {
  startTriage(req: StartTriageRequest, deadline: number): Promise<StartTriageResult>;
  signalResolved(req: SignalResolvedRequest, deadline: number): Promise<SignalResolvedResult>;
  decide(req: DecideRequest, deadline: number): Promise<DecideResult>;
  ready(deadline: number): Promise<boolean>;
}

/**
 * Temporal gave no definite answer. The gateway turns it into a 503, so
 * PagerDuty retries the delivery instead of dropping it, and into "try again"
 * for a Slack click, which has already been acknowledged.
 */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';

  constructor(message = 'Temporal is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The gateway's one timeout per request: `call` gets a deadline `ms` from now,
 * and the wait for it ends at that deadline with TemporalUnavailableError,
 * whatever the call is doing by then.
 *
 * The wait is bounded by this timer, not by gRPC, because gRPC's own limits
 * do not bound it: the SDK retries UNAVAILABLE with a backoff of up to 5 s
 * and notices an expired deadline only at its next attempt (against a closed
 * port, a 4 s deadline answered after 5 to 5.8 s), and an AbortSignal does
 * not reach a retry waiting out that backoff. The TriageClient still hands the
 * same deadline to gRPC, so a call nobody waits for any more is dropped
 * rather than retried for 20 s or, for `decide`, polled until a worker takes
 * the Update.
 */
export async function withinDeadline<T>(ms: number, call: (deadline: number) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TemporalUnavailableError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(Date.now() + ms), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The gateway's TriageClient, backed by Temporal. */
export function triageClient(
  client: Client,
  temporal: TemporalSettings,
  logger: Logger = createJsonLogger({ base: { component: 'gateway' } }),
): TriageClient {
  let searchAttributesSeen = false;
  // Anything but a definite answer from Temporal means "try again later": a
  // 503 that PagerDuty redelivers, so nothing is lost.
  const definite = async <T>(deadline: number, call: () => Promise<T>): Promise<T> => {
    try {
      return await client.connection.withDeadline(deadline, call);
    } catch (err) {
      throw new TemporalUnavailableError('Temporal did not accept the request', { cause: err });
    }
  };
  return {
    startTriage: ({ incident, eventId, webhookId }, deadline) =>
      definite(deadline, () =>
        startTriage(client, temporal, {
          incidentId: incident.id,
          source: { kind: 'webhook', eventId, ...(webhookId ? { webhookId } : {}) },
          incident,
        }),
      ),
    signalResolved: ({ incidentId, eventId }, deadline) =>
      definite(deadline, async () => ({
        workflowId: triageWorkflowId(incidentId),
        status: await signalResolved(client, incidentId, eventId),
      })),
    async decide({ incidentId, channel, decision, approver, planHash, updateId }, deadline) {
      try {
        const record = await client.connection.withDeadline(deadline, () =>
          decide(client, incidentId, { decision, approver, planHash, channel }, updateId),
        );
        return { status: 'recorded', record };
      } catch (err) {
        // Only the validator's refusal (or a missing workflow) is a definite "no";
        // a timeout may still end in a recorded decision, and a click with the
        // same updateId later gets that decision back rather than a second one.
        if (err instanceof DecisionRefused) return { status: 'refused', reason: err.message };
        throw new TemporalUnavailableError('Temporal did not answer the decision', { cause: err });
      }
    },
    // Ready once Temporal answers and the namespace holds the search attributes a start sets: without them
    // every start is refused. Once present they stay, so they are checked until seen once.
    async ready(deadline) {
      try {
        await client.connection.withDeadline(deadline, () => client.connection.workflowService.getSystemInfo({}));
        if (!searchAttributesSeen) {
          const names = triageSearchAttributes.map((k) => k.name);
          const missing = await client.connection.withDeadline(deadline, () =>
            missingSearchAttributes(client.connection, temporal.namespace, names),
          );
          if (missing.length > 0) {
            logger.warn('not ready: search attributes missing', {
              namespace: temporal.namespace,
              missing,
              fix: searchAttributeFix(temporal.namespace, missing),
            });
            return false;
          }
          searchAttributesSeen = true;
        }
        return true;
      } catch {
        return false;
      }
    },
  };
}

// ---- the operations, shared by the gateway and the CLI ----

export interface StartRequest {
  incidentId: string;
  source: TriageInput['source'];
  /** What the webhook already told us; shown in the Web UI before the workflow fetches the incident. */
  incident?: { number?: number; title?: string; urgency?: string; serviceName?: string; htmlUrl?: string };
}

export type StartResult = { workflowId: string; runId?: string; status: 'started' | 'already-triaged' };

export async function startTriage(client: Client, temporal: TemporalSettings, req: StartRequest): Promise<StartResult> {
  const workflowId = triageWorkflowId(req.incidentId);
  const input: TriageInput = { incidentId: req.incidentId, source: req.source };
  const inc = req.incident ?? {};
  const pairs = [
    { key: incidentIdKey, value: req.incidentId },
    { key: stageKey, value: 'collecting' },
    ...(inc.serviceName ? [{ key: serviceKey, value: inc.serviceName }] : []),
    ...(inc.urgency ? [{ key: urgencyKey, value: inc.urgency }] : []),
  ];
  try {
    const handle = await client.workflow.start(TRIAGE_WORKFLOW, {
      workflowId,
      taskQueue: temporal.taskQueue,
      args: [input],
      // At-least-once webhook deliveries and re-triggers reach the running execution...
      workflowIdConflictPolicy: 'USE_EXISTING',
      // ...and a finished triage is not run again; only a failed one may be retried.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `Triage PagerDuty ${inc.number !== undefined ? `#${inc.number}` : req.incidentId}: ${boundedLine(inc.title ?? 'incident', SUMMARY_CHARS)}`,
      staticDetails: staticDetails(req),
      typedSearchAttributes: new TypedSearchAttributes(pairs as never),
    });
    return { workflowId, runId: handle.firstExecutionRunId, status: 'started' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, status: 'already-triaged' };
    throw err;
  }
}

function staticDetails(req: StartRequest): string {
  const lines = [`**PagerDuty incident** ${req.incidentId}`];
  if (req.incident?.htmlUrl) lines.push(`[Open in PagerDuty](${req.incident.htmlUrl})`);
  if (req.incident?.serviceName) lines.push(`Service: ${boundedLine(req.incident.serviceName, SUMMARY_CHARS)}`);
  if (req.incident?.urgency) lines.push(`Urgency: ${req.incident.urgency}`);
  lines.push(
    req.source.kind === 'webhook'
      ? `Started by PagerDuty webhook event ${req.source.eventId}`
      : `Started from the CLI by ${req.source.user}`,
  );
  return lines.join('\n\n');
}

export async function signalResolved(client: Client, incidentId: string, eventId: string): Promise<'signalled' | 'not-running'> {
  try {
    await client.workflow.getHandle(triageWorkflowId(incidentId)).signal(incidentResolvedSignal, { eventId });
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'not-running';
    throw err;
  }
}

export async function queryStatus(client: Client, incidentId: string): Promise<TriageStatus> {
  return client.workflow.getHandle(triageWorkflowId(incidentId)).query(statusQuery);
}

export class DecisionRefused extends Error {
  override name = 'DecisionRefused';
}

/**
 * Sends the `decide` Update. `updateId` makes retries of one request (a CLI
 * re-run, a Slack redelivery) decide once. The decision carries the client's
 * identity, the same value the SDK puts in the request's metadata.
 */
export async function decide(
  client: Client,
  incidentId: string,
  decision: Omit<DecisionInput, 'identity'>,
  updateId: string,
): Promise<DecisionRecord> {
  const handle = client.workflow.getHandle(triageWorkflowId(incidentId));
  // The workflow client's own option: the value its executeUpdate puts in the request.
  const input: DecisionInput = { ...decision, identity: client.workflow.options.identity };
  try {
    return await handle.executeUpdate(decideUpdate, { args: [input], updateId });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
      throw new DecisionRefused(reason);
    }
    if (err instanceof WorkflowNotFoundError) throw new DecisionRefused(await whyNothingToDecide(handle, incidentId));
    throw err;
  }
}

/**
 * An Update reaches only a running workflow. A finished triage still answers
 * the status query (while Temporal retains it), so a late click or CLI call
 * hears who decided, not that there is no triage.
 */
async function whyNothingToDecide(handle: ReturnType<Client['workflow']['getHandle']>, incidentId: string): Promise<string> {
  let status: TriageStatus;
  try {
    status = await handle.query(statusQuery);
  } catch {
    return `no triage workflow for incident ${incidentId}`;
  }
  return status.decision
    ? alreadyDecided(status.decision)
    : `the triage of incident ${incidentId} has ended (${status.stage}); nothing to decide`;
}
