// A namespace of StatefulSets and DaemonSets for the collection and emulator
// tests: StatefulSet db mid-rollout (revision 2, 10 min old, on its top
// ordinal only, which crash-loops; ordinals 0 and 1 still on revision 1), and
// DaemonSet node-agent at rest on revision 3 with its older revision 2. Each
// with the ControllerRevisions the controllers would have written.
import { buildScenario, type Scenario } from '../../sandbox/scenario.js';
import { GENERATED_INCIDENT } from './generated-scenario.js';

const DB_OLD = 'db-5d8c7b6f4';
const DB_NEW = 'db-7c9d4f8b6';
const AGENT_OLD_HASH = '5f4d8c7b9';
const AGENT_HASH = '6b7f9c8d5';

const template = (app: string, image: string, env: Record<string, string> = {}) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image, env: Object.entries(env).map(([name, value]) => ({ name, value })) }] },
});

const owner = (kind: 'StatefulSet' | 'DaemonSet', name: string) => [
  { apiVersion: 'apps/v1', kind, name, controller: true, blockOwnerDeletion: true },
];

/** What both controllers store in a revision: the whole template, as a strategic-merge patch that replaces it. */
const revision = (name: string, kind: 'StatefulSet' | 'DaemonSet', of: string, number: number, created: string, tpl: object) => ({
  metadata: { name, labels: { app: of }, creationTimestamp: created, ownerReferences: owner(kind, of) },
  revision: number,
  data: { spec: { template: { ...tpl, $patch: 'replace' } } },
});

const ready = (ok: boolean) => [{ type: 'Ready', status: ok ? ('True' as const) : ('False' as const) }];

const dbPod = (ordinal: number, rev: string, crashing: boolean) => ({
  metadata: {
    name: `db-${ordinal}`,
    creationTimestamp: crashing ? '${now-9m}' : '${now-30d}',
    labels: { app: 'db', 'controller-revision-hash': rev, 'statefulset.kubernetes.io/pod-name': `db-${ordinal}` },
    ownerReferences: owner('StatefulSet', 'db'),
  },
  spec: { containers: [{ name: 'db', image: 'postgres:16.2' }] },
  status: {
    phase: 'Running' as const,
    conditions: ready(!crashing),
    containerStatuses: [
      crashing
        ? {
            name: 'db',
            image: 'postgres:16.2',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '${now-2m}' } },
          }
        : { name: 'db', image: 'postgres:16.2', ready: true, restartCount: 0, state: { running: { startedAt: '${now-30d}' } } },
    ],
  },
});

export const STATEFUL_NAMESPACE = {
  statefulSets: [
    {
      metadata: { name: 'db', labels: { app: 'db' }, creationTimestamp: '${now-30d}' },
      spec: {
        replicas: 3,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: template('db', 'postgres:16.2', { MAX_CONNECTIONS: '50' }),
        updateStrategy: { type: 'RollingUpdate' as const, rollingUpdate: { partition: 0 } },
      },
      status: {
        replicas: 3,
        readyReplicas: 2,
        currentReplicas: 2,
        updatedReplicas: 1,
        availableReplicas: 2,
        currentRevision: DB_OLD,
        updateRevision: DB_NEW,
      },
    },
  ],
  daemonSets: [
    {
      metadata: { name: 'node-agent', labels: { app: 'node-agent' }, creationTimestamp: '${now-60d}' },
      spec: {
        selector: { matchLabels: { app: 'node-agent' } },
        template: template('node-agent', 'agent:3.1'),
        updateStrategy: { type: 'RollingUpdate' as const },
      },
      status: {
        currentNumberScheduled: 1,
        desiredNumberScheduled: 1,
        numberMisscheduled: 0,
        numberReady: 1,
        numberAvailable: 1,
        updatedNumberScheduled: 1,
      },
    },
  ],
  controllerRevisions: [
    revision(DB_OLD, 'StatefulSet', 'db', 1, '${now-30d}', template('db', 'postgres:16.2', { MAX_CONNECTIONS: '100' })),
    revision(DB_NEW, 'StatefulSet', 'db', 2, '${now-10m}', template('db', 'postgres:16.2', { MAX_CONNECTIONS: '50' })),
    revision(`node-agent-${AGENT_OLD_HASH}`, 'DaemonSet', 'node-agent', 2, '${now-20d}', template('node-agent', 'agent:3.0')),
    revision(`node-agent-${AGENT_HASH}`, 'DaemonSet', 'node-agent', 3, '${now-5d}', template('node-agent', 'agent:3.1')),
  ],
  pods: [
    dbPod(0, DB_OLD, false),
    dbPod(1, DB_OLD, false),
    dbPod(2, DB_NEW, true),
    {
      metadata: {
        name: 'node-agent-x7k2p',
        creationTimestamp: '${now-5d}',
        labels: { app: 'node-agent', 'controller-revision-hash': AGENT_HASH, 'pod-template-generation': '3' },
        ownerReferences: owner('DaemonSet', 'node-agent'),
      },
      spec: { nodeName: 'node-1', containers: [{ name: 'node-agent', image: 'agent:3.1' }] },
      status: {
        phase: 'Running' as const,
        conditions: ready(true),
        containerStatuses: [{ name: 'node-agent', image: 'agent:3.1', ready: true, restartCount: 0, state: { running: {} } }],
      },
    },
  ],
};

export function statefulScenario(now?: number): Scenario {
  return buildScenario(
    {
      name: 'stateful',
      description: 'StatefulSets, DaemonSets and their ControllerRevisions, built in code',
      pagerduty: { incident: GENERATED_INCIDENT, alerts: [] },
      kubernetes: { namespaces: { data: STATEFUL_NAMESPACE } },
    },
    { source: 'stateful', ...(now !== undefined ? { now } : {}) },
  );
}
