// A stand-in triage for the broker's approval tests: it answers the real
// query name with whatever approval state the test started it with, as a
// worker that lies could, and accepts any `decide` Update, so a test can put a
// client's decision into the history or leave it out.
import { condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import { APPROVAL_QUERY, DECIDE_UPDATE } from '../../../config/identifiers.js';

export async function approvalFixture(state: unknown): Promise<void> {
  setHandler(defineQuery<unknown>(APPROVAL_QUERY), () => state);
  setHandler(defineUpdate<unknown, [unknown]>(DECIDE_UPDATE), (input) => input);
  await condition(() => false);
}
