import { KubeConfig } from '@kubernetes/client-node';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { projectedToken } from '../activities/broker-caller.js';
import { createActivities } from '../activities/index.js';
import type { ServiceScopeSettings } from '../activities/scope.js';
import type { TriageConfig } from '../config/config.js';

export function kubeConfigFrom(config: TriageConfig): KubeConfig {
  const kc = new KubeConfig();
  // In a pod: the projected service-account token, which the client re-reads as the kubelet rotates it.
  if (config.kubernetes.kubeconfig) kc.loadFromFile(config.kubernetes.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

export function activitiesFrom(config: TriageConfig, kubeConfig: KubeConfig = kubeConfigFrom(config)) {
  // No SaaS credential here: the broker adds it on the way out. The token only says to the broker who is calling.
  const callerToken = config.broker.tokenFile ? projectedToken(config.broker.tokenFile) : undefined;
  const broker = (surface: string) => ({ baseUrl: `${config.broker.url}/${surface}`, ...(callerToken && { callerToken }) });
  return createActivities({
    pagerduty: { ...broker('pagerduty'), authorization: () => '' },
    github: broker('github'),
    slack: broker('slack'),
    datadog: broker('datadog'),
    kubeConfig,
    kubernetes: {
      ...(config.kubernetes.nodeEventsNamespace !== undefined ? { nodeEventsNamespace: config.kubernetes.nodeEventsNamespace } : {}),
      ...(config.kubernetes.readNodes ? { readNodes: true } : {}),
    },
    cloudwatch: config.aws.endpoint ? { endpoint: config.aws.endpoint } : {},
    scope: {
      services: Object.fromEntries(
        Object.entries(config.services).map(([id, { kubernetes, cloudwatch, ...svc }]): [string, ServiceScopeSettings] => [
          id,
          {
            ...svc,
            ...(kubernetes ? { kubernetes: { cluster: config.kubernetes.cluster, ...kubernetes } } : {}),
            ...(cloudwatch
              ? {
                  cloudwatch: {
                    region: cloudwatch.region ?? config.aws.region,
                    metrics: cloudwatch.metrics.map(({ period, ...metric }) => ({ ...metric, periodSeconds: period / 1000 })),
                  },
                }
              : {}),
          },
        ]),
      ),
      approval: config.approval,
      retry: config.retry,
      writes: config.writes,
      temporalUiUrl: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
    },
  });
}

export async function createTriageWorker(
  config: TriageConfig,
  opts: { connection: NativeConnection; workflowBundle: WorkflowBundleOption; activities?: ReturnType<typeof activitiesFrom> },
): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: opts.workflowBundle,
    activities: opts.activities ?? activitiesFrom(config),
    shutdownGraceTime: '10 seconds',
  });
}
