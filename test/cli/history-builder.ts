// Workflow histories in the JSON form `triage history` and `temporal workflow
// show --output json` print, built event by event for the timeline's tests.
export const WORKFLOW_ID = 'triage-Q1CHECKOUT1';
export const T0 = Date.parse('2026-11-28T17:00:00.000Z');
/** A time `ms` after T0, with nanoseconds as the server writes them. */
export const at = (ms: number) => new Date(T0 + ms).toISOString().replace('Z', '123456Z');

export const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
export const payload = (value: unknown) => ({ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(value)) });

/** Writes histories in the JSON form `triage history` and `temporal workflow show --output json` print. */
export class HistoryBuilder {
  readonly events: Record<string, unknown>[] = [];
  private activityIds = 0;
  /** The identity the activity starts carry: `<pid>@<hostname>`, the pod name in a cluster. */
  workerIdentity = 'worker@pod';

  private add(ms: number, type: string, attributes: Record<string, unknown>, summary?: string): number {
    const eventId = this.events.length + 1;
    const key = `${type.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}EventAttributes`;
    this.events.push({
      eventId: String(eventId),
      eventTime: at(ms),
      eventType: `EVENT_TYPE_${type}`,
      ...(summary ? { userMetadata: { summary: payload(summary) } } : {}),
      [key]: attributes,
    });
    return eventId;
  }

  started(ms = 0, workflowId = WORKFLOW_ID): this {
    this.add(
      ms,
      'WORKFLOW_EXECUTION_STARTED',
      {
        workflowType: { name: 'triageIncident' },
        input: { payloads: [payload({ incidentId: 'Q1CHECKOUT1', source: { kind: 'webhook', eventId: 'evt-1' } })] },
        originalExecutionRunId: 'run-1',
        workflowId,
        attempt: 1,
      },
      'Triage PagerDuty #42: checkout 5xx',
    );
    return this;
  }

  schedule(ms: number, activityType: string, summary?: string): number {
    this.activityIds += 1;
    return this.add(ms, 'ACTIVITY_TASK_SCHEDULED', { activityId: String(this.activityIds), activityType: { name: activityType } }, summary);
  }

  start(ms: number, scheduledEventId: number, attempt = 1, lastFailure?: string): number {
    return this.add(ms, 'ACTIVITY_TASK_STARTED', {
      scheduledEventId: String(scheduledEventId),
      attempt,
      identity: this.workerIdentity,
      ...(lastFailure ? { lastFailure: { message: lastFailure } } : {}),
    });
  }

  complete(ms: number, scheduledEventId: number, startedEventId: number): this {
    this.add(ms, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: String(scheduledEventId), startedEventId: String(startedEventId) });
    return this;
  }

  fail(ms: number, scheduledEventId: number, startedEventId: number, message: string): this {
    this.add(ms, 'ACTIVITY_TASK_FAILED', {
      scheduledEventId: String(scheduledEventId),
      startedEventId: String(startedEventId),
      failure: { message, applicationFailureInfo: { type: 'HttpFailure' } },
      retryState: 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED',
    });
    return this;
  }

  /** Scheduled, started and completed: one attempt from `from` to `to`. */
  activity(from: number, to: number, activityType: string, summary?: string): number {
    const scheduled = this.schedule(from, activityType, summary);
    this.complete(to, scheduled, this.start(from, scheduled));
    return scheduled;
  }

  timer(ms: number, summary: string): this {
    this.add(ms, 'TIMER_STARTED', { timerId: '1', startToFireTimeout: '600s' }, summary);
    return this;
  }

  /** By default as recorded before decisions named their channel: no channel or identity in the decision. */
  decide(
    ms: number,
    decision: 'approve' | 'reject',
    approver: string,
    sent: { channel?: string; identity?: string; requestIdentity?: string } = {},
  ): this {
    const { requestIdentity = 'gateway', ...named } = sent;
    const accepted = this.add(ms, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED', {
      protocolInstanceId: 'u1',
      acceptedRequest: {
        meta: { updateId: `slack:${approver}`, identity: requestIdentity },
        input: { name: 'decide', args: { payloads: [payload({ decision, approver, planHash: 'ab'.repeat(32), ...named })] } },
      },
    });
    this.add(ms, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED', {
      meta: { updateId: `slack:${approver}` },
      acceptedEventId: String(accepted),
      outcome: { success: { payloads: [payload({ decision, approver, at: at(ms) })] } },
    });
    this.add(ms, 'TIMER_CANCELED', { timerId: '1' });
    return this;
  }

  signal(ms: number, name: string): this {
    this.add(ms, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: name, identity: 'gateway' });
    return this;
  }

  complete_(ms: number, stage: string): this {
    this.add(ms, 'WORKFLOW_EXECUTION_COMPLETED', { result: { payloads: [payload({ stage })] } });
    return this;
  }

  json(): { events: Record<string, unknown>[] } {
    return { events: this.events };
  }
}
