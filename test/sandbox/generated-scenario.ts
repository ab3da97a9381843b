// Scenarios built in code for volume tests: thousands of pods that a YAML file
// could not sensibly hold. Built through buildScenario, so they are validated
// like any scenario file.
import { buildScenario, type Scenario, type ScenarioInput } from '../../sandbox/scenario.js';

export const GENERATED_INCIDENT = {
  id: 'PBULK01',
  incident_number: 77,
  title: 'bulk-api latency',
  status: 'triggered' as const,
  urgency: 'high' as const,
  created_at: '${now-5m}',
  html_url: 'https://example.pagerduty.com/incidents/PBULK01',
  service: { id: 'PBULKSV', summary: 'bulk' },
};

export interface GeneratedNamespace {
  pods: number;
  /** Pods in CrashLoopBackOff, spread through the list (not first, not last). */
  failing: number;
  /** Healthy-but-restarted pods: notable, less so than failing ones. */
  restarted?: number;
  warningEvents?: number;
  /** Length of event messages, to push the byte budget. */
  messageChars?: number;
}

const RS = 'bulk-api-5d6f7c8b9';

export function failingIndexes(opts: GeneratedNamespace): Set<number> {
  const step = Math.floor(opts.pods / (opts.failing + 1));
  return new Set(Array.from({ length: opts.failing }, (_, i) => (i + 1) * step));
}

export function podName(i: number): string {
  return `${RS}-p${String(i).padStart(5, '0')}`;
}

/** The namespace's objects; `namespace` is where they are listed, which its events name. */
export function generatedNamespace(opts: GeneratedNamespace, namespace: string) {
  const failing = failingIndexes(opts);
  const restartedEvery = opts.restarted ? Math.floor(opts.pods / opts.restarted) : 0;
  const pods = Array.from({ length: opts.pods }, (_, i) => {
    const crash = failing.has(i);
    const restarts = crash ? 7 : restartedEvery > 0 && i % restartedEvery === 1 ? 1 : 0;
    return {
      metadata: {
        name: podName(i),
        creationTimestamp: '${now-1h}',
        labels: { app: 'bulk-api', 'pod-template-hash': '5d6f7c8b9' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS, controller: true }],
      },
      spec: {
        nodeName: `node-${i % 40}`,
        containers: [{ name: 'api', image: 'bulk/api:3.2.1', resources: { limits: { memory: '256Mi' } } }],
      },
      status: {
        phase: 'Running' as const,
        conditions: [
          { type: 'Ready', status: crash ? ('False' as const) : ('True' as const) },
          { type: 'PodScheduled', status: 'True' as const },
        ],
        containerStatuses: [
          {
            name: 'api',
            image: 'bulk/api:3.2.1',
            ready: !crash,
            restartCount: restarts,
            state: crash
              ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=api pod=${podName(i)}` } }
              : { running: { startedAt: '${now-1h}' } },
            ...(restarts > 0
              ? { lastState: { terminated: { exitCode: crash ? 137 : 0, reason: crash ? 'OOMKilled' : 'Completed' } } }
              : {}),
          },
        ],
      },
    };
  });
  const events = Array.from({ length: opts.warningEvents ?? 0 }, (_, i) => ({
    metadata: { name: `${podName(i)}.${(0x17f0000000 + i).toString(16)}` },
    involvedObject: { kind: 'Pod', name: podName(i), namespace },
    type: 'Warning' as const,
    reason: 'Unhealthy',
    message: `Readiness probe failed: ${'x'.repeat(opts.messageChars ?? 80)}`,
    count: 1 + (i % 9),
    lastTimestamp: `\${now-${(i % 50) + 1}m}`,
  }));
  return {
    pods,
    events,
    deployments: [
      {
        metadata: { name: 'bulk-api', labels: { app: 'bulk-api' }, annotations: { 'deployment.kubernetes.io/revision': '12' } },
        spec: {
          replicas: opts.pods,
          selector: { matchLabels: { app: 'bulk-api' } },
          template: { spec: { containers: [{ name: 'api', image: 'bulk/api:3.2.1' }] } },
        },
        status: {
          replicas: opts.pods,
          readyReplicas: opts.pods - opts.failing,
          availableReplicas: opts.pods - opts.failing,
          updatedReplicas: opts.pods,
        },
      },
    ],
    replicaSets: [
      {
        metadata: {
          name: RS,
          labels: { app: 'bulk-api' },
          annotations: { 'deployment.kubernetes.io/revision': '12' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'bulk-api', controller: true }],
        },
        spec: { replicas: opts.pods, selector: { matchLabels: { app: 'bulk-api' } } },
        status: { replicas: opts.pods, readyReplicas: opts.pods - opts.failing },
      },
    ],
  };
}

export function generatedScenario(namespaces: Record<string, GeneratedNamespace>, now?: number): Scenario {
  const input: ScenarioInput = {
    name: 'generated',
    description: 'built in code',
    pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
    kubernetes: { namespaces: Object.fromEntries(Object.entries(namespaces).map(([ns, o]) => [ns, generatedNamespace(o, ns)])) },
  };
  return buildScenario(input, { source: 'generated', ...(now !== undefined ? { now } : {}) });
}
