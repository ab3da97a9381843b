import type { RetryPolicy } from '@temporalio/common';
import type { TriageScope } from '../activities/model.js';

/** The configured retry policy for calls to SaaS surfaces (evidence and Slack); tests shorten it. */
export function surfaceRetryPolicy(scope: TriageScope): RetryPolicy {
  return {
    initialInterval: scope.retry.initialIntervalMs,
    maximumInterval: scope.retry.maximumIntervalMs,
    backoffCoefficient: 2,
    maximumAttempts: scope.retry.maximumAttempts,
  };
}
