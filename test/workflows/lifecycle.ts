// Activity stand-ins that steer a triage into the lifecycle's edge cases, shared
// by the workflow tests and the history recorder so both exercise the same run.
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { EvidenceRequest } from '../../activities/model.js';
import { signalResolved } from '../../starter/triage-client.js';
import type { FixtureOptions } from './harness.js';
import { waitForStatus } from '../wait-for-status.js';

type Overrides = NonNullable<FixtureOptions['activities']>;

/** Hostile on purpose: the card must show it as inert text. */
export const ISSUE_FAILURE = 'github: HTTP 422: Validation Failed <!channel> <https://evil.example|see>';

/**
 * Holds the Kubernetes evidence until PagerDuty has resolved the incident, so
 * the resolution lands while the evidence is being collected.
 */
export function resolvedWhileCollecting(): {
  activities: Overrides;
  resolve(client: Client, incidentId: string): Promise<void>;
} {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let collecting!: () => void;
  const started = new Promise<void>((r) => (collecting = r));
  return {
    activities: (production) => ({
      async collectKubernetesEvidence(req: EvidenceRequest) {
        collecting();
        await released;
        return production.collectKubernetesEvidence(req);
      },
    }),
    async resolve(client, incidentId) {
      await started;
      await signalResolved(client, incidentId, 'ev-resolved-early');
      // Recorded before the evidence arrives: the workflow has seen the signal.
      await waitForStatus(client, incidentId, (s) => s.resolvedAt !== undefined);
      release();
    },
  };
}

/** GitHub refuses a write for good, as it would a request it finds invalid: the triage fails after its card was posted. */
export function failingWrite(activity: 'createGitHubIssue' | 'linkIssueToNote', message = ISSUE_FAILURE): Overrides {
  return () => ({
    async [activity](): Promise<never> {
      throw ApplicationFailure.nonRetryable(message, 'InvalidRequest');
    },
  });
}

export const failingIssue = failingWrite('createGitHubIssue');
