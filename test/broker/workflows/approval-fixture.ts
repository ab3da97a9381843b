// A stand-in triage for the broker's approval tests: it answers the real
// query name with whatever approval state the test started it with.
import { condition, defineQuery, setHandler } from '@temporalio/workflow';
import { APPROVAL_QUERY } from '../../../config/identifiers.js';

export async function approvalFixture(state: unknown): Promise<void> {
  setHandler(defineQuery<unknown>(APPROVAL_QUERY), () => state);
  await condition(() => false);
}
