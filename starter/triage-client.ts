// Starting and messaging triage workflows: the one place that knows the
// workflow id scheme, the id policies and the Web UI metadata. Used by the
// gateway and the CLI alike.
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  decideUpdate,
  incidentResolvedSignal,
  statusQuery,
  TRIAGE_WORKFLOW,
  triageWorkflowId,
  type DecisionInput,
  type DecisionRecord,
  type TriageInput,
  type TriageStatus,
} from '../workflows/messages.js';
import { incidentIdKey, serviceKey, stageKey, urgencyKey } from '../workflows/search-attributes.js';
import type { TriageConfig } from '../config/config.js';
import { lazyClientConnection } from '../config/temporal-connection.js';
import { createJsonLogger, type Logger } from '../config/logger.js';
import { boundedLine } from '../config/printable-text.js';

// Titles and service names are untrusted: one bounded line each in the Web UI.
const SUMMARY_CHARS = 200;

export type TemporalSettings = TriageConfig['temporal'];

/**
 * A client whose connection is made on first use, so a process can start while
 * Temporal is down. Credential files (client certificate, API key) are read and
 * validated now (a ConfigError names an unusable file) and followed as they
 * rotate; closing the connection stops following them.
 */
export function lazyClient(temporal: TemporalSettings, opts: { logger?: Logger } = {}): Client {
  const logger = opts.logger ?? createJsonLogger({ base: { component: 'temporal-client' }, write: (line) => process.stderr.write(line) });
  return new Client({ connection: lazyClientConnection(temporal, { logger }), namespace: temporal.namespace });
}

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
  lines.push(req.source.kind === 'webhook' ? `Started by PagerDuty webhook event ${req.source.eventId}` : `Started from the CLI by ${req.source.user}`);
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
 * re-run, a Slack redelivery) decide once.
 */
export async function decide(client: Client, incidentId: string, decision: DecisionInput, updateId: string): Promise<DecisionRecord> {
  try {
    return await client.workflow.getHandle(triageWorkflowId(incidentId)).executeUpdate(decideUpdate, { args: [decision], updateId });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
      throw new DecisionRefused(reason);
    }
    if (err instanceof WorkflowNotFoundError) throw new DecisionRefused(`no triage workflow for incident ${incidentId}`);
    throw err;
  }
}
