import { ApplicationFailure } from '@temporalio/common';
import { SURFACES, type CloudWatchScope, type DatadogScope, type KubernetesScope, type SurfaceName, type TriageScope } from './model.js';

export interface ServiceScopeSettings {
  name: string;
  /** Defaults to every surface the service has settings for. */
  surfaces?: SurfaceName[];
  kubernetes?: KubernetesScope;
  cloudwatch?: CloudWatchScope;
  datadog?: DatadogScope;
  approvers: string[];
  /** Each setting left out is the global one. */
  approval?: Partial<TriageScope['approval']>;
  github?: { repo: string };
  slack?: { approvalChannel: string; incidentsChannel: string };
}

export interface ScopeSettings {
  services: Record<string, ServiceScopeSettings>;
  approval: Required<TriageScope['approval']>;
  retry: TriageScope['retry'];
  writes: TriageScope['writes'];
  temporalUiUrl: string;
  namespace: string;
}

/** Step 2 of the workflow: PagerDuty service → what to look at and who may approve. */
export function createScopeActivities(settings: ScopeSettings) {
  return {
    async resolveScope(serviceId: string): Promise<TriageScope> {
      const service = settings.services[serviceId];
      if (!service) {
        // Not retryable: only a configuration change helps. The workflow fails
        // visibly, and the reuse policy lets a later trigger start it again.
        throw ApplicationFailure.nonRetryable(
          `PagerDuty service ${serviceId} is not configured; add it under services in the worker configuration`,
          'UnknownService',
        );
      }
      // PagerDuty is always there (the incident came from it); the others only when the service has settings for them.
      const surfaces = service.surfaces ?? SURFACES.filter((s) => s === 'pagerduty' || service[s] !== undefined);
      return {
        serviceId,
        serviceName: service.name,
        surfaces,
        ...(service.kubernetes ? { kubernetes: service.kubernetes } : {}),
        ...(service.cloudwatch ? { cloudwatch: service.cloudwatch } : {}),
        ...(service.datadog ? { datadog: service.datadog } : {}),
        approvers: service.approvers,
        approval: {
          reminderAfterMs: service.approval?.reminderAfterMs ?? settings.approval.reminderAfterMs,
          expireAfterMs: service.approval?.expireAfterMs ?? settings.approval.expireAfterMs,
          channels: service.approval?.channels ?? settings.approval.channels,
        },
        ...(service.github ? { github: service.github } : {}),
        ...(service.slack ? { slack: service.slack } : {}),
        writes: settings.writes,
        retry: settings.retry,
        temporalUiUrl: settings.temporalUiUrl,
        namespace: settings.namespace,
      };
    },
  };
}
