import type { Client } from '@temporalio/client';
import { queryStatus } from '../starter/triage-client.js';
import type { TriageStatus } from '../workflows/messages.js';

/** Polls the triage's status query until `done` holds; a query before the workflow starts counts as not yet. */
export async function waitForStatus(
  client: Client,
  incidentId: string,
  done: (s: TriageStatus) => boolean,
  timeoutMs = 30_000,
): Promise<TriageStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: TriageStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await queryStatus(client, incidentId);
      if (done(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status condition not met within ${timeoutMs} ms; last status: ${JSON.stringify(last)}`);
}
