// The worker's activities, assembled from one module per surface. Each module
// receives its clients, so tests point them at the sandbox emulators.
import type { KubeConfig } from '@kubernetes/client-node';
import { createCloudWatchActivities, type CloudWatchActivitiesOptions } from './cloudwatch.js';
import { createDatadogActivities, type DatadogActivitiesOptions } from './datadog.js';
import { createGitHubActivities, type GitHubClientOptions } from './github.js';
import { createKubernetesActivities, type KubernetesActivitiesOptions } from './kubernetes.js';
import { createPagerDutyActivities, type PagerDutyClientOptions } from './pagerduty.js';
import { buildDiagnosis, type DiagnosisRequest } from './report.js';
import { createScopeActivities, type ScopeSettings } from './scope.js';
import { createSlackActivities, type SlackClientOptions } from './slack.js';

export interface ActivityDependencies {
  pagerduty: PagerDutyClientOptions;
  github: GitHubClientOptions;
  slack: SlackClientOptions;
  kubeConfig: KubeConfig;
  kubernetes?: Pick<KubernetesActivitiesOptions, 'nodeEventsNamespace' | 'readNodes'>;
  /** AWS credentials come from the SDK's default chain; only the sandbox sets an endpoint (moto). */
  cloudwatch: CloudWatchActivitiesOptions;
  datadog: DatadogActivitiesOptions;
  scope: ScopeSettings;
}

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createPagerDutyActivities(deps.pagerduty),
    ...createKubernetesActivities({ ...deps.kubernetes, kubeConfig: deps.kubeConfig }),
    ...createCloudWatchActivities(deps.cloudwatch),
    ...createDatadogActivities(deps.datadog),
    ...createScopeActivities(deps.scope),
    ...createGitHubActivities(deps.github),
    ...createSlackActivities(deps.slack),
    async diagnose(request: DiagnosisRequest) {
      return buildDiagnosis(request);
    },
  };
}

export type TriageActivities = ReturnType<typeof createActivities>;
