// StatefulSets and DaemonSets roll out through ControllerRevisions: the
// rollout analyzer reports them like a Deployment's rollout, and a failing pod
// of one belongs to that workload, tied to its rollout by the revision it runs.
import { crashLoopAnalyzer } from '../../../activities/analyzers/crashloop.js';
import { rolloutAnalyzer } from '../../../activities/analyzers/rollout.js';
import { workloadOfPod } from '../../../activities/analyzers/workloads.js';
import type {
  ControllerRevisionSummary,
  DaemonSetSummary,
  NamespaceEvidence,
  PodSummary,
  Severity,
  StatefulSetSummary,
} from '../../../activities/model.js';
import { analysisInput, container, crashLooping, kubernetes, minutesBefore, namespace as baseNamespace, pod } from './fixtures.js';

/** The shared fixture, with the StatefulSets and DaemonSets it does not pass through. */
function namespace(name: string, parts: Parameters<typeof baseNamespace>[1] = {}): NamespaceEvidence {
  const { statefulSets, daemonSets, ...rest } = parts;
  return { ...baseNamespace(name, rest), ...(statefulSets ? { statefulSets } : {}), ...(daemonSets ? { daemonSets } : {}) };
}

const OLD = 'db-5d8c7b6f4';
const NEW = 'db-7c9d4f8b6';

const revision = (name: string, number: number, minutes: number, env: string, image = 'postgres:16.2'): ControllerRevisionSummary => ({
  name,
  revision: number,
  createdAt: minutesBefore(minutes),
  images: [image],
  template: { 'db: image': image === 'postgres:16.2' ? 'i1' : 'i2', 'db: env': env },
});

function statefulSet(overrides: Partial<StatefulSetSummary> & { rolledOutMinutesBefore?: number } = {}): StatefulSetSummary {
  const { rolledOutMinutesBefore = 5, ...rest } = overrides;
  return {
    name: 'db',
    replicas: 3,
    ready: 2,
    updated: 1,
    currentRevision: OLD,
    updateRevision: NEW,
    updateStrategy: 'RollingUpdate',
    images: ['postgres:16.2'],
    conditions: [],
    revisions: [revision(NEW, 2, rolledOutMinutesBefore, 'e2'), revision(OLD, 1, 40_000, 'e1')],
    ...rest,
  };
}

const dbPod = (ordinal: number, rev: string, fields: Partial<PodSummary> = {}) =>
  pod(`db-${ordinal}`, { statefulSet: 'db', controllerRevision: rev, containers: [container({ name: 'db' })], ...fields });
const crashing = (ordinal: number, rev: string) =>
  dbPod(ordinal, rev, { containers: [crashLooping({ exitCode: 1, reason: 'Error' }, { name: 'db' })] });

const atRest = (): StatefulSetSummary => statefulSet({ ready: 3, updated: 3, currentRevision: NEW, rolledOutMinutesBefore: 3 * 24 * 60 });

function daemonSet(overrides: Partial<DaemonSetSummary> & { rolledOutMinutesBefore?: number } = {}): DaemonSetSummary {
  const { rolledOutMinutesBefore = 8, ...rest } = overrides;
  return {
    name: 'node-agent',
    desired: 3,
    ready: 2,
    updated: 1,
    unavailable: 1,
    misscheduled: 0,
    updateStrategy: 'RollingUpdate',
    images: ['agent:3.1'],
    revisions: [
      {
        name: 'node-agent-6b7f9c8d5',
        revision: 4,
        createdAt: minutesBefore(rolledOutMinutesBefore),
        images: ['agent:3.1'],
        template: { 'agent: image': 'b' },
      },
      {
        name: 'node-agent-5f4d8c7b9',
        revision: 3,
        createdAt: minutesBefore(50_000),
        images: ['agent:3.0'],
        template: { 'agent: image': 'a' },
      },
    ],
    ...rest,
  };
}

interface Case {
  name: string;
  ns: NamespaceEvidence;
  findings: { title: string; severity: Severity }[];
  evidence?: string[];
  absent?: RegExp;
}

const stsTitle = (minutes: number) =>
  `rollout of StatefulSet db to revision 2 at ${minutesBefore(minutes)}, ${minutes} min before the incident`;

const cases: Case[] = [
  {
    name: 'a StatefulSet mid-rollout whose updated top ordinal is not ready: a warning naming what changed',
    ns: namespace('shop', { statefulSets: [statefulSet()], pods: [crashing(2, NEW)] }),
    findings: [{ title: stsTitle(5), severity: 'warning' }],
    evidence: [
      `StatefulSet shop/db revision 2 (ControllerRevision ${NEW}) created at ${minutesBefore(5)}, 5 min before the incident`,
      'images unchanged (postgres:16.2): the new revision changed other parts of the pod template',
      'pod template changed: db: env',
      `previous ControllerRevision ${OLD} (revision 1)`,
      `StatefulSet status: 2/3 ready, 1 updated, update revision ${NEW}, current revision ${OLD}; strategy RollingUpdate`,
      'in progress: 1 of 3 updated, from the highest ordinal down',
      '1 pod of revision 2 not ready: db-2',
    ],
  },
  {
    name: 'near miss: a StatefulSet at rest (one revision, days old) is no rollout',
    ns: namespace('shop', { statefulSets: [atRest()], pods: [dbPod(0, NEW)] }),
    findings: [],
  },
  {
    name: 'a completed, healthy StatefulSet rollout inside the window is only info',
    ns: namespace('shop', { statefulSets: [statefulSet({ ready: 3, updated: 3, currentRevision: NEW, rolledOutMinutesBefore: 20 })] }),
    findings: [{ title: stsTitle(20), severity: 'info' }],
    evidence: ['complete: every pod runs the update revision'],
  },
  {
    name: 'near miss: OnDelete waiting for deletes with every pod ready is not stuck by itself',
    ns: namespace('shop', { statefulSets: [statefulSet({ updateStrategy: 'OnDelete', ready: 3, updated: 0 })] }),
    findings: [{ title: stsTitle(5), severity: 'info' }],
    evidence: ['OnDelete: 3 pods take revision 2 only when deleted, so waiting is not stuck by itself'],
    absent: /not ready/,
  },
  {
    name: 'near miss: a partition holding the lower ordinals on purpose, the canary ready, is info',
    ns: namespace('shop', { statefulSets: [statefulSet({ partition: 2, ready: 3, updated: 1 })], pods: [dbPod(2, NEW)] }),
    findings: [{ title: stsTitle(5), severity: 'info' }],
    evidence: ['partition 2 holds ordinals below 2 at the current revision on purpose; 1 of 3 updated'],
  },
  {
    name: 'a partitioned canary that is not ready is a warning all the same',
    ns: namespace('shop', { statefulSets: [statefulSet({ partition: 2, ready: 2, updated: 1 })], pods: [crashing(2, NEW)] }),
    findings: [{ title: stsTitle(5), severity: 'warning' }],
    evidence: ['1 pod of revision 2 not ready: db-2'],
  },
  {
    name: 'near miss: a StatefulSet revision created after the incident opened is a reaction, not a cause',
    ns: namespace('shop', { statefulSets: [statefulSet({ rolledOutMinutesBefore: -3 })] }),
    findings: [],
  },
  {
    name: 'a DaemonSet rollout with a node unavailable: a warning naming the image change',
    ns: namespace('kube-system', { daemonSets: [daemonSet()] }),
    findings: [
      { title: `rollout of DaemonSet node-agent to revision 4 at ${minutesBefore(8)}, 8 min before the incident`, severity: 'warning' },
    ],
    evidence: [
      'image changed from agent:3.0 to agent:3.1',
      'pod template changed: agent: image',
      'DaemonSet status: 2/3 ready, 1 updated, 1 unavailable, 0 misscheduled; strategy RollingUpdate',
      'in progress: 1 of 3 nodes updated',
    ],
  },
  {
    name: 'near miss: a DaemonSet at rest',
    ns: namespace('kube-system', { daemonSets: [daemonSet({ ready: 3, updated: 3, unavailable: 0, rolledOutMinutesBefore: 9000 })] }),
    findings: [],
  },
];

describe('rolloutAnalyzer on StatefulSets and DaemonSets', () => {
  test.each(cases)('$name', ({ ns, findings, evidence, absent }) => {
    const out = rolloutAnalyzer(analysisInput(kubernetes(ns)));
    expect(out.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(findings);
    const lines = out.flatMap((f) => f.evidence);
    for (const line of evidence ?? []) expect(lines).toContain(line);
    if (absent) expect(lines.join('\n')).not.toMatch(absent);
  });

  test('cites the workload and both ControllerRevisions', () => {
    const [finding] = rolloutAnalyzer(analysisInput(kubernetes(namespace('shop', { statefulSets: [statefulSet()] }))));
    expect(finding?.objects).toEqual(['StatefulSet/shop/db', `ControllerRevision/shop/${NEW}`, `ControllerRevision/shop/${OLD}`]);
  });
});

describe('a StatefulSet or DaemonSet pod belongs to that workload', () => {
  test('a crash loop on the updated top ordinal is "db pods … since the rollout to revision 2", citing the StatefulSet', () => {
    const ns = namespace('shop', { statefulSets: [statefulSet()], pods: [crashing(2, NEW), dbPod(0, OLD), dbPod(1, OLD)] });
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(ns)));
    expect(finding?.title).toBe('db pods in CrashLoopBackOff (exit 1, Error) since the rollout to revision 2, 5 min before the incident');
    expect(finding?.objects).toEqual(['StatefulSet/shop/db', 'Pod/shop/db-2']);
    expect(finding?.evidence).toEqual(
      expect.arrayContaining([
        `1 pod in CrashLoopBackOff; StatefulSet shop/db has 2/3 ready, update revision ${NEW} on 1, the others on ${OLD}`,
        `the failing pod is of revision 2 (ControllerRevision ${NEW}), rolled out at ${minutesBefore(5)}, 5 min before the incident`,
      ]),
    );
  });

  test('near miss: when a pod of the old revision crashes too, the rollout does not explain it', () => {
    const ns = namespace('shop', { statefulSets: [statefulSet()], pods: [crashing(2, NEW), crashing(0, OLD)] });
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(ns)));
    expect(finding?.title).toBe('db pods in CrashLoopBackOff (exit 1, Error)');
    expect(finding?.evidence.join('\n')).toMatch(/1 of 2 failing pods are of revision 2/);
  });

  test('near miss: a StatefulSet at rest ties no crash to a rollout', () => {
    const ns = namespace('shop', { statefulSets: [atRest()], pods: [crashing(0, NEW)] });
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(ns)));
    expect(finding?.title).toBe('db pods in CrashLoopBackOff (exit 1, Error)');
  });

  test('a DaemonSet pod matches its revision by the hash its name ends in', () => {
    const agent = pod('node-agent-x7k2p', {
      daemonSet: 'node-agent',
      controllerRevision: '6b7f9c8d5',
      containers: [crashLooping({ exitCode: 2, reason: 'Error' }, { name: 'agent' })],
    });
    const [finding] = crashLoopAnalyzer(analysisInput(kubernetes(namespace('kube-system', { daemonSets: [daemonSet()], pods: [agent] }))));
    expect(finding?.title).toBe(
      'node-agent pods in CrashLoopBackOff (exit 2, Error) since the rollout to revision 4, 8 min before the incident',
    );
    expect(finding?.evidence.join('\n')).toContain('DaemonSet kube-system/node-agent has 2/3 ready, 1 updated, 1 unavailable');
  });

  test('a pod only an event names is placed by its listed namesake, else by its name', () => {
    const ns = namespace('shop', { statefulSets: [statefulSet()], daemonSets: [daemonSet()], pods: [dbPod(2, NEW)] });
    expect([
      workloadOfPod(ns, { name: 'db-2' }).ref,
      workloadOfPod(ns, { name: 'db-0' }).ref,
      workloadOfPod(ns, { name: 'node-agent-q9w4z' }).ref,
      workloadOfPod(ns, { name: 'db-backup' }).ref,
    ]).toEqual(['StatefulSet/shop/db', 'StatefulSet/shop/db', 'DaemonSet/shop/node-agent', 'Pod/shop/db-backup']);
  });
});
