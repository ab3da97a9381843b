// How the gateway's TriageClient turns the `decide` Update's outcomes into
// what the Slack handler tells the clicker. The validator itself is proven in
// the workflow tests; here only the mapping, with a stand-in Client.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { DecisionInput } from '../../workflows/messages.js';
import {
  clientIdentity,
  lazyClient,
  TemporalUnavailableError,
  triageClient,
  type DecideRequest,
  type TemporalSettings,
} from '../../starter/triage-client.js';

const temporal: TemporalSettings = {
  address: '127.0.0.1:7233',
  namespace: 'default',
  taskQueue: 'keyless-triage',
  uiUrl: 'http://127.0.0.1:8233',
};
const GATEWAY_IDENTITY = 'keyless-triage-gateway@gateway-7d9f';
const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const request: DecideRequest = {
  incidentId: 'Q2K4WX9PLM1B7Z',
  channel: 'slack',
  decision: 'approve',
  approver: 'U0ALICE',
  planHash: HASH,
  updateId: `slack:C0INCIDNT1:1732698765.000200:U0ALICE:triage_approve:${HASH}`,
};
const deadline = () => Date.now() + 8_000;

interface Sent {
  workflowId: string;
  args: DecisionInput[];
  updateId: string;
}

function fakeClient(
  executeUpdate: () => Promise<unknown>,
  query: () => Promise<unknown> = () => Promise.reject(new WorkflowNotFoundError('workflow not found', 'triage-Q2K4WX9PLM1B7Z', undefined)),
): { client: Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = {
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflow: {
      options: { identity: GATEWAY_IDENTITY },
      getHandle: (workflowId: string) => ({
        executeUpdate: (_update: unknown, options: { args: DecisionInput[]; updateId: string }) => {
          sent.push({ workflowId, args: options.args, updateId: options.updateId });
          return executeUpdate();
        },
        query,
      }),
    },
  } as unknown as Client;
  return { client, sent };
}

describe('triageClient.decide', () => {
  it("sends the decide Update to the incident workflow with the given updateId, naming Slack and the client's identity", async () => {
    const record = { decision: 'approve', approver: 'U0ALICE', planHash: HASH, at: '2025-11-27T09:20:00.000Z' };
    const { client, sent } = fakeClient(async () => record);
    await expect(triageClient(client, temporal).decide(request, deadline())).resolves.toEqual({ status: 'recorded', record });
    expect(sent).toEqual([
      {
        workflowId: 'triage-Q2K4WX9PLM1B7Z',
        args: [{ decision: 'approve', approver: 'U0ALICE', planHash: HASH, channel: 'slack', identity: GATEWAY_IDENTITY }],
        updateId: request.updateId,
      },
    ]);
  });

  it('maps a validator refusal to "refused" with its reason', async () => {
    const { client } = fakeClient(async () => {
      throw new WorkflowUpdateFailedError(
        'Workflow Update failed',
        ApplicationFailure.nonRetryable('U0MALLORY is not an approver for this service', 'UnknownApprover'),
      );
    });
    await expect(triageClient(client, temporal).decide({ ...request, approver: 'U0MALLORY' }, deadline())).resolves.toEqual({
      status: 'refused',
      reason: 'U0MALLORY is not an approver for this service',
    });
  });

  it('maps a missing workflow to "refused"', async () => {
    const { client } = fakeClient(async () => {
      throw new WorkflowNotFoundError('workflow not found', 'triage-Q2K4WX9PLM1B7Z', undefined);
    });
    await expect(triageClient(client, temporal).decide(request, deadline())).resolves.toEqual({
      status: 'refused',
      reason: 'no triage workflow for incident Q2K4WX9PLM1B7Z',
    });
  });

  it.each([
    {
      name: 'a triage that finished after a decision answers who decided',
      status: { stage: 'done', decision: { decision: 'approve', approver: 'U0ALICE', planHash: HASH, at: '2025-11-27T09:20:00.000Z' } },
      reason: 'already decided: approve by U0ALICE at 2025-11-27T09:20:00.000Z',
    },
    {
      name: 'and through which channel, once decisions name one',
      status: {
        stage: 'done',
        decision: { decision: 'reject', approver: 'U0BOB', planHash: HASH, at: '2025-11-27T09:20:00.000Z', channel: 'cli' },
      },
      reason: 'already decided: reject by U0BOB via the triage CLI at 2025-11-27T09:20:00.000Z',
    },
    {
      name: 'a triage that ended without one says so',
      status: { stage: 'resolved-before-decision' },
      reason: 'the triage of incident Q2K4WX9PLM1B7Z has ended (resolved-before-decision); nothing to decide',
    },
  ])('maps a finished workflow to "refused": $name', async ({ status, reason }) => {
    const { client } = fakeClient(
      async () => {
        throw new WorkflowNotFoundError('workflow execution already completed', 'triage-Q2K4WX9PLM1B7Z', undefined);
      },
      async () => status,
    );
    await expect(triageClient(client, temporal).decide(request, deadline())).resolves.toEqual({ status: 'refused', reason });
  });

  it('throws TemporalUnavailableError for anything uncertain', async () => {
    const { client } = fakeClient(async () => {
      throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    });
    await expect(triageClient(client, temporal).decide(request, deadline())).rejects.toBeInstanceOf(TemporalUnavailableError);
  });

  // Bounded by the deadline it is given plus gRPC's retry overrun; the
  // clicker's wait ends at that deadline, on the gateway's own timer.
  it('throws TemporalUnavailableError when no Temporal server listens', async () => {
    const client = lazyClient({ ...temporal, address: '127.0.0.1:1' });
    const started = Date.now();
    try {
      await expect(triageClient(client, temporal).decide(request, deadline())).rejects.toBeInstanceOf(TemporalUnavailableError);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await client.connection.close().catch(() => undefined);
    }
  }, 40_000);
});

describe('client identities', () => {
  it('the gateway and the CLI name themselves, and the CLI the account that ran it, instead of pid@host', async () => {
    expect(clientIdentity.gateway('gateway-7d9f')).toBe(GATEWAY_IDENTITY);
    expect(clientIdentity.cli('bob', 'laptop')).toBe('triage-cli:bob@laptop');
    const client = lazyClient(temporal, { identity: clientIdentity.cli('bob', 'laptop') });
    try {
      // What executeUpdate puts in the request's metadata, and decide() in the decision.
      expect(client.workflow.options.identity).toBe('triage-cli:bob@laptop');
    } finally {
      await client.connection.close();
    }
  });
});

describe('triageClient.ready', () => {
  const ALL = ['TriageIncidentId', 'TriageService', 'TriageUrgency', 'TriageStage', 'TriageDecision'];
  function readyClient(custom: () => Record<string, number>) {
    const warnings: unknown[] = [];
    let listed = 0;
    const client = {
      connection: {
        withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
        workflowService: { getSystemInfo: async () => ({}) },
        operatorService: {
          listSearchAttributes: async () => {
            listed += 1;
            return { customAttributes: custom() };
          },
        },
      },
    } as unknown as Client;
    const logger = {
      warn: (msg: string, fields: unknown) => warnings.push({ msg, fields }),
      info: () => undefined,
      error: () => undefined,
    };
    return { triage: triageClient(client, temporal, logger as never), warnings, listed: () => listed };
  }

  it('is not ready while the namespace lacks the search attributes, and says which and how to register them', async () => {
    let custom: Record<string, number> = { TriageIncidentId: 2 };
    const { triage, warnings, listed } = readyClient(() => custom);
    await expect(triage.ready(deadline())).resolves.toBe(false);
    expect(warnings).toEqual([
      {
        msg: 'not ready: search attributes missing',
        fields: expect.objectContaining({
          namespace: 'default',
          missing: ALL.slice(1),
          fix: expect.stringContaining('temporal operator search-attribute create --namespace default'),
        }),
      },
    ]);
    // The worker registered them: ready, and not asked again once seen.
    custom = Object.fromEntries(ALL.map((n) => [n, 2]));
    await expect(triage.ready(deadline())).resolves.toBe(true);
    await expect(triage.ready(deadline())).resolves.toBe(true);
    expect(listed()).toBe(2);
  });
});
