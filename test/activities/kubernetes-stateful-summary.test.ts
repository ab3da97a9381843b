// StatefulSet and DaemonSet summaries: the newest two of their own
// ControllerRevisions, digested exactly as a ReplicaSet's template is, so a
// rollout's diff reads the same whichever controller made it.
import type {
  V1ControllerRevision,
  V1DaemonSet,
  V1PodTemplateSpec,
  V1StatefulSet,
  V1StatefulSetUpdateStrategy,
} from '@kubernetes/client-node';
import { summarizeDaemonSets, summarizeReplicaSets, summarizeStatefulSets } from '../../activities/kubernetes-summary.js';

const template = (image: string, env = 'a'): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'db' } },
  spec: { containers: [{ name: 'db', image, env: [{ name: 'MODE', value: env }] }] },
});

const revision = (name: string, owner: { kind: string; name: string }, number: number, data: unknown): V1ControllerRevision => ({
  metadata: {
    name,
    creationTimestamp: new Date(Date.UTC(2024, 4, 1, 10, number)),
    ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: 'u', controller: true }],
  },
  revision: number,
  data,
});

const statefulSet = (
  name: string,
  fields: { ready?: number; updated?: number; strategy?: V1StatefulSetUpdateStrategy } = {},
): V1StatefulSet => ({
  metadata: { name },
  spec: {
    replicas: 3,
    selector: {},
    serviceName: name,
    template: template('postgres:16'),
    ...(fields.strategy ? { updateStrategy: fields.strategy } : {}),
  },
  status: {
    replicas: 3,
    readyReplicas: fields.ready ?? 3,
    updatedReplicas: fields.updated ?? 3,
    currentRevision: `${name}-1`,
    updateRevision: `${name}-1`,
  },
});

const DB = { kind: 'StatefulSet', name: 'db' };

describe('summarizeStatefulSets', () => {
  test('keeps the newest two of its own revisions, newest first, without their data', () => {
    const revisions = [
      revision('db-1', DB, 1, { spec: { template: template('postgres:15') } }),
      revision('db-3', DB, 3, { spec: { template: template('postgres:16', 'b') } }),
      revision('db-2', DB, 2, { spec: { template: template('postgres:16') } }),
      revision('other-9', { kind: 'StatefulSet', name: 'other' }, 9, { spec: { template: template('x') } }),
      revision('agent-9', { kind: 'DaemonSet', name: 'db' }, 9, { spec: { template: template('x') } }),
    ];
    const [db] = summarizeStatefulSets([statefulSet('db')], revisions);
    expect(db?.revisions.map((r) => [r.name, r.revision, r.images])).toEqual([
      ['db-3', 3, ['postgres:16']],
      ['db-2', 2, ['postgres:16']],
    ]);
    const [newer, older] = db!.revisions;
    expect(Object.keys(newer!.template!).filter((k) => newer!.template![k] !== older!.template![k])).toEqual(['db: env']);
    expect(JSON.stringify(db)).not.toContain('MODE');
  });

  test('a revision digests like a ReplicaSet of the same template: one keyed digest function', () => {
    const [db] = summarizeStatefulSets([statefulSet('db')], [revision('db-1', DB, 1, { spec: { template: template('postgres:16') } })]);
    const [rs] = summarizeReplicaSets(
      [{ metadata: { name: 'api-5c6b7' }, spec: { selector: {}, template: template('postgres:16') }, status: { replicas: 1 } }],
      [],
    );
    expect(db?.revisions[0]?.template).toEqual(rs?.template);
  });

  test('data that is not {spec: {template}} gives a revision without digests, not an error', () => {
    const [db] = summarizeStatefulSets(
      [statefulSet('db')],
      [revision('db-2', DB, 2, 'not an object'), revision('db-1', DB, 1, { spec: { template: null } })],
    );
    expect(db?.revisions).toEqual([
      { name: 'db-2', revision: 2, createdAt: '2024-05-01T10:02:00Z', images: [] },
      { name: 'db-1', revision: 1, createdAt: '2024-05-01T10:01:00Z', images: [] },
    ]);
  });

  test('unsettled ones first; the strategy and a partition are kept', () => {
    const out = summarizeStatefulSets(
      [
        statefulSet('a-settled'),
        statefulSet('b-canary', { updated: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }),
        statefulSet('c-manual', { strategy: { type: 'OnDelete' } }),
      ],
      [],
    );
    expect(out.map((s) => [s.name, s.updateStrategy, s.partition])).toEqual([
      ['b-canary', 'RollingUpdate', 2],
      ['a-settled', 'RollingUpdate', undefined],
      ['c-manual', 'OnDelete', undefined],
    ]);
  });
});

describe('summarizeDaemonSets', () => {
  const daemonSet = (name: string, status: Partial<NonNullable<V1DaemonSet['status']>>): V1DaemonSet => ({
    metadata: { name },
    spec: { selector: {}, template: template('agent:1'), updateStrategy: { type: 'OnDelete' } },
    status: {
      currentNumberScheduled: 3,
      desiredNumberScheduled: 3,
      numberMisscheduled: 0,
      numberReady: 3,
      updatedNumberScheduled: 3,
      ...status,
    },
  });

  test('counts as its status gives them, unsettled first', () => {
    const out = summarizeDaemonSets(
      [daemonSet('a', {}), daemonSet('b', { numberReady: 2, numberUnavailable: 1, numberMisscheduled: 1 })],
      [],
    );
    expect(out).toEqual([
      {
        name: 'b',
        desired: 3,
        ready: 2,
        updated: 3,
        unavailable: 1,
        misscheduled: 1,
        updateStrategy: 'OnDelete',
        images: ['agent:1'],
        revisions: [],
      },
      {
        name: 'a',
        desired: 3,
        ready: 3,
        updated: 3,
        unavailable: 0,
        misscheduled: 0,
        updateStrategy: 'OnDelete',
        images: ['agent:1'],
        revisions: [],
      },
    ]);
  });
});
