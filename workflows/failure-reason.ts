import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * The reason to show for a failed activity: ActivityFailure wraps the
 * activity's ApplicationFailure, whose message is the classified, secret-free
 * reason the activity wrote.
 */
export function failureReason(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.message) return cause.message;
  if (cause instanceof Error && cause.message) return cause.message;
  return 'unknown failure';
}
