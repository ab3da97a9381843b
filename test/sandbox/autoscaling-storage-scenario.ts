// A namespace of HorizontalPodAutoscalers and PersistentVolumeClaims for the
// collection and emulator tests: HPA web pinned at its maximum of 10 replicas
// (ScalingLimited TooManyReplicas), HPA api that cannot compute its metrics (no
// cpu request), HPA batch idle at min == max; claim data-db Pending on a
// StorageClass that does not exist, with the pod waiting on it, and claim logs
// Bound. The texts are the controllers' own.
import { buildScenario, type Scenario } from '../../sandbox/scenario.js';
import { GENERATED_INCIDENT } from './generated-scenario.js';

const target = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });
const cpu = (averageUtilization: number) => ({
  type: 'Resource' as const,
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
});

export const AUTOSCALING_STORAGE_NAMESPACE = {
  horizontalPodAutoscalers: [
    {
      metadata: { name: 'web', labels: { app: 'web' }, creationTimestamp: '${now-30d}' },
      spec: { scaleTargetRef: target('web'), minReplicas: 2, maxReplicas: 10, metrics: [cpu(70)] },
      status: {
        currentReplicas: 10,
        desiredReplicas: 10,
        lastScaleTime: '${now-25m}',
        currentMetrics: [
          { type: 'Resource' as const, resource: { name: 'cpu', current: { averageUtilization: 180, averageValue: '900m' } } },
        ],
        conditions: [
          {
            type: 'AbleToScale',
            status: 'True' as const,
            reason: 'ReadyForNewScale',
            message: 'recommended size matches current size',
            lastTransitionTime: '${now-25m}',
          },
          {
            type: 'ScalingActive',
            status: 'True' as const,
            reason: 'ValidMetricFound',
            message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
            lastTransitionTime: '${now-30d}',
          },
          {
            type: 'ScalingLimited',
            status: 'True' as const,
            reason: 'TooManyReplicas',
            message: 'the desired replica count is more than the maximum replica count',
            lastTransitionTime: '${now-25m}',
          },
        ],
      },
    },
    {
      metadata: { name: 'api', labels: { app: 'api' }, creationTimestamp: '${now-2h}' },
      spec: { scaleTargetRef: target('api'), minReplicas: 1, maxReplicas: 5, metrics: [cpu(50)] },
      status: {
        currentReplicas: 1,
        desiredReplicas: 0,
        conditions: [
          {
            type: 'AbleToScale',
            status: 'True' as const,
            reason: 'SucceededGetScale',
            message: "the HPA controller was able to get the target's current scale",
            lastTransitionTime: '${now-2h}',
          },
          {
            type: 'ScalingActive',
            status: 'False' as const,
            reason: 'FailedGetResourceMetric',
            message:
              'the HPA was unable to compute the replica count: failed to get cpu resource metric value: failed to get cpu utilization: missing request for cpu in container api of Pod api-7d9f8b6c5d-x2x4q',
            lastTransitionTime: '${now-2h}',
          },
        ],
      },
    },
    {
      metadata: { name: 'batch', labels: { app: 'batch' }, creationTimestamp: '${now-3d}' },
      spec: { scaleTargetRef: target('batch'), minReplicas: 3, maxReplicas: 3, metrics: [cpu(80)] },
      status: {
        currentReplicas: 3,
        desiredReplicas: 3,
        currentMetrics: [
          { type: 'Resource' as const, resource: { name: 'cpu', current: { averageUtilization: 12, averageValue: '60m' } } },
        ],
        conditions: [
          {
            type: 'ScalingLimited',
            status: 'True' as const,
            reason: 'TooFewReplicas',
            message: 'the desired replica count is less than the minimum replica count',
            lastTransitionTime: '${now-3d}',
          },
        ],
      },
    },
  ],
  persistentVolumeClaims: [
    {
      metadata: {
        name: 'logs',
        labels: { app: 'web' },
        creationTimestamp: '${now-30d}',
        annotations: { 'pv.kubernetes.io/bind-completed': 'yes', 'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' },
      },
      spec: {
        accessModes: ['ReadWriteOnce' as const],
        storageClassName: 'gp3',
        volumeName: 'pvc-3f0c2a4e-9b1d-4c6e-8a7f-2d5e1b9c0a11',
        volumeMode: 'Filesystem' as const,
        resources: { requests: { storage: '10Gi' } },
      },
      status: { phase: 'Bound' as const, accessModes: ['ReadWriteOnce' as const], capacity: { storage: '10Gi' } },
    },
    {
      metadata: { name: 'data-db', labels: { app: 'db' }, creationTimestamp: '${now-12m}' },
      spec: {
        accessModes: ['ReadWriteOnce' as const],
        storageClassName: 'fast-ssd',
        volumeMode: 'Filesystem' as const,
        resources: { requests: { storage: '1Gi' } },
      },
      status: { phase: 'Pending' as const },
    },
  ],
  pods: [
    {
      metadata: { name: 'db-0', labels: { app: 'db' }, creationTimestamp: '${now-12m}' },
      spec: {
        containers: [{ name: 'db', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db' } }],
      },
      status: {
        phase: 'Pending' as const,
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False' as const,
            reason: 'Unschedulable',
            message:
              '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
            lastTransitionTime: '${now-12m}',
          },
        ],
      },
    },
  ],
  events: [
    {
      metadata: { name: 'data-db.18a3b2c1d0e9f8a7', creationTimestamp: '${now-12m}' },
      involvedObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-db', namespace: 'shop' },
      type: 'Warning' as const,
      reason: 'ProvisioningFailed',
      message: 'storageclass.storage.k8s.io "fast-ssd" not found',
      count: 48,
      firstTimestamp: '${now-12m}',
      lastTimestamp: '${now-1m}',
      source: { component: 'persistentvolume-controller' },
    },
  ],
};

export function autoscalingStorageScenario(now?: number): Scenario {
  return buildScenario(
    {
      name: 'autoscaling-storage',
      description: 'HorizontalPodAutoscalers and PersistentVolumeClaims, built in code',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { shop: AUTOSCALING_STORAGE_NAMESPACE } },
    },
    { source: 'autoscaling-storage', ...(now !== undefined ? { now } : {}) },
  );
}
