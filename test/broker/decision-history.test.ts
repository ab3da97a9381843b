// Which decisions a history records, read the way the broker reads them:
// only accepted `decide` Updates whose handler did not fail count.
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { isRecorded, recordedDecisions, type RecordedDecision } from '../../broker/decision-history.js';

type Event = temporal.api.history.v1.IHistoryEvent;

const decision = {
  decision: 'approve',
  approver: 'U0ALICE',
  planHash: 'a'.repeat(64),
  channel: 'slack',
  identity: 'keyless-triage-gateway@pod',
};

function accepted(updateId: string, name: string, arg: unknown): Event {
  return {
    workflowExecutionUpdateAcceptedEventAttributes: {
      protocolInstanceId: updateId,
      acceptedRequest: {
        meta: { updateId, identity: 'keyless-triage-gateway@pod' },
        input: { name, args: { payloads: [defaultPayloadConverter.toPayload(arg)!] } },
      },
    },
  };
}

function completed(updateId: string, ok: boolean): Event {
  return {
    workflowExecutionUpdateCompletedEventAttributes: {
      meta: { updateId },
      outcome: ok ? { success: { payloads: [] } } : { failure: { message: 'refused' } },
    },
  };
}

const expected: RecordedDecision = {
  decision: 'approve',
  approver: 'U0ALICE',
  planHash: 'a'.repeat(64),
  channel: 'slack',
  identity: 'keyless-triage-gateway@pod',
};

test.each<[string, Event[], RecordedDecision[]]>([
  ['an accepted decide Update that completed', [accepted('u1', 'decide', decision), completed('u1', true)], [expected]],
  ['an accepted one still running (its handler has not returned)', [accepted('u1', 'decide', decision)], [expected]],
  ['one whose handler failed', [accepted('u1', 'decide', decision), completed('u1', false)], []],
  ['another Update by another name', [accepted('u1', 'somethingElse', decision)], []],
  ['a decide Update without an approver', [accepted('u1', 'decide', { ...decision, approver: undefined })], []],
  ['a payload that is not an object', [accepted('u1', 'decide', 'approve')], []],
  ['no Update at all (a signal, an activity)', [{ workflowExecutionSignaledEventAttributes: { signalName: 'decide' } }], []],
])('%s', (_name, events, decisions) => {
  expect(recordedDecisions(events)).toEqual(decisions);
});

test.each<[string, Partial<RecordedDecision>, boolean]>([
  ['the decision as sent', {}, true],
  ['another approver', { approver: 'U0MALLORY' }, false],
  ['another plan', { planHash: 'b'.repeat(64) }, false],
  ['a reject where an approve was sent', { decision: 'reject' }, false],
  ['another channel', { channel: 'cli' }, false],
  ['another client', { identity: 'triage-cli:mallory@laptop' }, false],
])('a query that claims %s → recorded: %s', (_name, change, recorded) => {
  expect(isRecorded({ ...expected, ...change }, recordedDecisions([accepted('u1', 'decide', decision)]))).toBe(recorded);
});
