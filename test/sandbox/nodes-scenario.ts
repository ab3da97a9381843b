// A cluster of four Nodes for the collection and emulator tests: one Ready,
// one whose kubelet stopped posting status (Ready Unknown, tainted
// unreachable) with a pod of ours on it, one cordoned and tainted for a
// dedicated team, and one under memory pressure. A pending pod asks for a
// disktype no node carries; another for the dedicated nodes without
// tolerating their taint. No shipped scenario lists Nodes, so this one is
// built in code.
import { buildScenario, type Scenario } from '../../sandbox/scenario.js';
import { GENERATED_INCIDENT } from './generated-scenario.js';

const labels = (name: string, zone: string, extra: Record<string, string> = {}) => ({
  'kubernetes.io/hostname': name,
  'kubernetes.io/arch': 'amd64',
  'kubernetes.io/os': 'linux',
  'topology.kubernetes.io/zone': zone,
  'node.kubernetes.io/instance-type': 'm5.large',
  'eks.amazonaws.com/nodegroup': 'general',
  // Not one the summary keeps: it says nothing about scheduling.
  'alpha.eksctl.io/cluster-name': 'sandbox',
  ...extra,
});

const ready = (at: string) => ({
  type: 'Ready',
  status: 'True' as const,
  reason: 'KubeletReady',
  message: 'kubelet is posting ready status',
  lastHeartbeatTime: '${now-1m}',
  lastTransitionTime: at,
});

const pressure = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastHeartbeatTime: '${now-1m}',
  lastTransitionTime: '${now-2d}',
});

const calm = [
  pressure('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
  pressure('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
  pressure('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
];

const allocatable = { cpu: '1930m', memory: '7291952Ki', pods: '29', 'ephemeral-storage': '95551679124' };

export const NODES = [
  {
    metadata: {
      name: 'ip-10-0-1-10.ec2.internal',
      labels: labels('ip-10-0-1-10.ec2.internal', 'us-east-1a'),
      creationTimestamp: '${now-30d}',
    },
    spec: { providerID: 'aws:///us-east-1a/i-0a1b2c3d4e5f60001' },
    status: { allocatable, capacity: allocatable, conditions: [...calm, ready('${now-30d}')] },
  },
  {
    metadata: {
      name: 'ip-10-0-2-20.ec2.internal',
      labels: labels('ip-10-0-2-20.ec2.internal', 'us-east-1b'),
      creationTimestamp: '${now-30d}',
    },
    spec: {
      providerID: 'aws:///us-east-1b/i-0a1b2c3d4e5f60002',
      taints: [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' as const, timeAdded: '${now-25m}' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const, timeAdded: '${now-25m}' },
      ],
    },
    status: {
      allocatable,
      capacity: allocatable,
      conditions: [
        ...calm.map((c) => ({
          ...c,
          status: 'Unknown' as const,
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
        })),
        {
          type: 'Ready',
          status: 'Unknown' as const,
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
          lastHeartbeatTime: '${now-26m}',
          lastTransitionTime: '${now-25m}',
        },
      ],
    },
  },
  {
    metadata: {
      name: 'ip-10-0-3-30.ec2.internal',
      labels: labels('ip-10-0-3-30.ec2.internal', 'us-east-1c', { team: 'data', 'eks.amazonaws.com/nodegroup': 'data' }),
      creationTimestamp: '${now-30d}',
    },
    spec: {
      providerID: 'aws:///us-east-1c/i-0a1b2c3d4e5f60003',
      unschedulable: true,
      taints: [
        { key: 'dedicated', value: 'data', effect: 'NoSchedule' as const },
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' as const, timeAdded: '${now-1h}' },
      ],
    },
    status: { allocatable, capacity: allocatable, conditions: [...calm, ready('${now-30d}')] },
  },
  {
    metadata: {
      name: 'ip-10-0-4-40.ec2.internal',
      labels: labels('ip-10-0-4-40.ec2.internal', 'us-east-1a', { team: 'data', 'eks.amazonaws.com/nodegroup': 'data' }),
      creationTimestamp: '${now-30d}',
    },
    spec: {
      providerID: 'aws:///us-east-1a/i-0a1b2c3d4e5f60004',
      taints: [
        { key: 'dedicated', value: 'data', effect: 'NoSchedule' as const },
        { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' as const, timeAdded: '${now-10m}' },
      ],
    },
    status: {
      allocatable,
      capacity: allocatable,
      conditions: [
        pressure('MemoryPressure', 'True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'),
        ...calm.slice(1),
        ready('${now-30d}'),
      ],
    },
  },
];

const container = { name: 'app', image: 'registry.example.com/app:1.0' };

const running = (name: string, node: string) => ({
  metadata: { name, labels: { app: name.split('-')[0]! }, creationTimestamp: '${now-2d}' },
  spec: { nodeName: node, containers: [container] },
  status: {
    phase: 'Running' as const,
    conditions: [
      { type: 'Ready', status: 'True' as const },
      { type: 'PodScheduled', status: 'True' as const },
    ],
    containerStatuses: [
      { name: 'app', image: container.image, ready: true, restartCount: 0, state: { running: { startedAt: '${now-2d}' } } },
    ],
  },
});

const pending = (name: string, extra: Record<string, unknown>, message: string) => ({
  metadata: { name, labels: { app: name.split('-')[0]! }, creationTimestamp: '${now-15m}' },
  spec: { containers: [container], ...extra },
  status: {
    phase: 'Pending' as const,
    conditions: [{ type: 'PodScheduled', status: 'False' as const, reason: 'Unschedulable', message, lastTransitionTime: '${now-15m}' }],
  },
});

export const NODES_NAMESPACE = {
  pods: [
    running('web-1', 'ip-10-0-1-10.ec2.internal'),
    {
      ...running('web-2', 'ip-10-0-2-20.ec2.internal'),
      status: {
        phase: 'Running' as const,
        conditions: [
          { type: 'Ready', status: 'False' as const, lastTransitionTime: '${now-24m}' },
          { type: 'PodScheduled', status: 'True' as const },
        ],
        containerStatuses: [
          { name: 'app', image: container.image, ready: false, restartCount: 0, state: { running: { startedAt: '${now-2d}' } } },
        ],
      },
    },
    pending(
      'ssd-0',
      { nodeSelector: { disktype: 'ssd' } },
      "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
    ),
    pending(
      'etl-0',
      {
        nodeSelector: { team: 'data' },
        tolerations: [{ key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' }],
      },
      "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had untolerated taint {dedicated: data}. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
    ),
  ],
};

export function nodesScenario(now?: number): Scenario {
  return buildScenario(
    {
      name: 'nodes',
      description: 'Nodes ready, unreachable, cordoned and under pressure, built in code',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { shop: NODES_NAMESPACE }, nodes: NODES },
    },
    { source: 'nodes', ...(now !== undefined ? { now } : {}) },
  );
}
