import type { V1PersistentVolumeClaim, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import {
  describeHpaMetrics,
  summarizeHorizontalPodAutoscalers,
  summarizePersistentVolumeClaims,
} from '../../activities/kubernetes-autoscaling-storage.js';
import { summarizeNamespace } from '../../activities/kubernetes-summary.js';

const hpa = (name: string, fields: Partial<V2HorizontalPodAutoscaler> = {}): V2HorizontalPodAutoscaler => ({
  metadata: { name },
  spec: { scaleTargetRef: { kind: 'Deployment', name }, maxReplicas: 5 },
  status: { desiredReplicas: 1, currentReplicas: 1 },
  ...fields,
});

describe('HPA metrics, as an on-call reads them: current value against the target', () => {
  test.each([
    [
      'resource utilization',
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 95, averageValue: '475m' } } },
      'cpu 95% of request (target 70%)',
    ],
    [
      'resource average value',
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
      { type: 'Resource', resource: { name: 'memory', current: { averageValue: '612Mi' } } },
      'memory 612Mi average (target 500Mi average)',
    ],
    [
      'a container resource',
      {
        type: 'ContainerResource',
        containerResource: { name: 'cpu', container: 'app', target: { type: 'Utilization', averageUtilization: 60 } },
      },
      { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'app', current: { averageUtilization: 61 } } },
      'cpu of container app 61% of request (target 60%)',
    ],
    [
      'a pods metric',
      { type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
      { type: 'Pods', pods: { metric: { name: 'requests_per_second' }, current: { averageValue: '240' } } },
      'requests_per_second 240 per pod (target 100 per pod)',
    ],
    [
      'an object metric',
      {
        type: 'Object',
        object: { metric: { name: 'hits' }, describedObject: { kind: 'Ingress', name: 'main' }, target: { type: 'Value', value: '2k' } },
      },
      {
        type: 'Object',
        object: { metric: { name: 'hits' }, describedObject: { kind: 'Ingress', name: 'main' }, current: { value: '3k' } },
      },
      'hits of Ingress main 3k (target 2k)',
    ],
    [
      'an external metric not read',
      { type: 'External', external: { metric: { name: 'queue_depth' }, target: { type: 'Value', value: '30' } } },
      undefined,
      'queue_depth: no current value (target 30)',
    ],
  ])('%s', (_name, spec, current, line) => {
    const h = hpa('web', {
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, metrics: [spec as never] },
      status: { desiredReplicas: 1, currentMetrics: current ? [current as never] : [] },
    });
    expect(describeHpaMetrics(h)).toEqual([line]);
  });

  test('a few metrics at most, each line bounded', () => {
    const metrics = Array.from({ length: 9 }, (_, i) => ({
      type: 'Pods',
      pods: { metric: { name: `m${i}-${'x'.repeat(300)}` }, target: { type: 'AverageValue', averageValue: '1' } },
    }));
    const lines = describeHpaMetrics(
      hpa('web', { spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, metrics: metrics as never } }),
    );
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(256);
  });
});

describe('HPAs and claims are ranked by trouble and bounded', () => {
  test('an HPA without metrics before one at its maximum before the healthy; 20 at most', () => {
    const healthy = Array.from({ length: 25 }, (_, i) => hpa(`a${String(i).padStart(2, '0')}`));
    const atMax = hpa('z-max', {
      status: {
        desiredReplicas: 5,
        currentReplicas: 5,
        conditions: [{ type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas' }],
      },
    });
    const blind = hpa('z-blind', {
      status: { desiredReplicas: 0, conditions: [{ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric' }] },
    });
    const out = summarizeHorizontalPodAutoscalers([...healthy, atMax, blind]);
    expect(out.map((h) => h.name).slice(0, 3)).toEqual(['z-blind', 'z-max', 'a00']);
    expect(out).toHaveLength(20);
  });

  test('a Pending claim before a Bound one; a claim that names no class has none, one asking for none keeps ""', () => {
    const claim = (name: string, phase: string, storageClassName?: string): V1PersistentVolumeClaim => ({
      metadata: { name },
      spec: { ...(storageClassName !== undefined ? { storageClassName } : {}), resources: { requests: { storage: '1Gi' } } },
      status: { phase },
    });
    const out = summarizePersistentVolumeClaims([claim('a', 'Bound', 'gp3'), claim('b', 'Pending'), claim('c', 'Pending', '')]);
    expect(out.map((c) => [c.name, c.phase, c.storageClassName])).toEqual([
      ['b', 'Pending', undefined],
      ['c', 'Pending', ''],
      ['a', 'Bound', 'gp3'],
    ]);
  });

  test('older evidence, or a refused read, has neither list: absent, not empty', () => {
    const base = { namespace: 'shop', pods: [], events: [], deployments: [], replicaSets: [] };
    expect(summarizeNamespace(base)).not.toHaveProperty('horizontalPodAutoscalers');
    expect(summarizeNamespace(base)).not.toHaveProperty('persistentVolumeClaims');
    expect(summarizeNamespace({ ...base, horizontalPodAutoscalers: [], persistentVolumeClaims: [] })).toMatchObject({
      horizontalPodAutoscalers: [],
      persistentVolumeClaims: [],
    });
  });
});
