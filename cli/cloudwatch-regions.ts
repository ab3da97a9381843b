// The AWS regions the worker reads CloudWatch in, one rule for every artefact
// derived from configuration: the egress allowlist (egress-policy.ts) opens the
// regional endpoints and the IAM policy (iam-policy.ts) allows the same
// regions, so a region added to one cannot be missing from the other.
import { SURFACES, type SurfaceName } from '../activities/model.js';
import type { TriageConfig } from '../config/config.js';

/** Whether the worker calls a surface for a service (the rule in activities/scope.ts). */
export function usesSurface(service: TriageConfig['services'][string], surface: SurfaceName): boolean {
  const configured = surface === 'pagerduty' || service[surface] !== undefined;
  return configured && (service.surfaces ?? SURFACES).includes(surface);
}

/** Each service's `cloudwatch.region`, else `aws.region`: sorted, once each; empty when no service reads CloudWatch. */
export function cloudWatchRegions(triage: TriageConfig): string[] {
  const services = Object.values(triage.services).filter((s) => usesSurface(s, 'cloudwatch'));
  return [...new Set(services.map((s) => s.cloudwatch?.region ?? triage.aws.region))].sort();
}
