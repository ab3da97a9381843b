// A deliberately incompatible `triageIncident`: it resolves the scope before
// fetching the incident. Replaying a real history against it must fail.
import { proxyActivities } from '@temporalio/workflow';
import type { TriageActivities } from '../../activities/index.js';

const acts = proxyActivities<TriageActivities>({ startToCloseTimeout: '30 seconds' });

export async function triageIncident(input: { incidentId: string }): Promise<void> {
  await acts.resolveScope(input.incidentId);
  await acts.fetchIncident(input.incidentId, `triage-${input.incidentId}`);
}
