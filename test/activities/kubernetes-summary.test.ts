import type { CoreV1Event, V1ContainerStatus, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import {
  currentLogTargets,
  previousLogTail,
  previousLogTargets,
  summarizeEvents,
  summarizeNamespace,
  summarizePod,
  summarizePods,
  summarizeReplicaSets,
} from '../../activities/kubernetes-summary.js';
import type { ContainerSummary, NamespaceEvidence, PodSummary } from '../../activities/model.js';
import { fakeCredential, pemMarker } from '../fake-credentials.js';

function pod(
  name: string,
  opts: {
    phase?: string;
    ready?: boolean;
    statuses?: V1ContainerStatus[];
    init?: V1ContainerStatus[];
    scheduled?: { status: string; reason?: string; message?: string };
  } = {},
): V1Pod {
  return {
    metadata: { name, creationTimestamp: new Date('2025-03-01T11:00:00Z') },
    spec: {
      containers: [{ name: 'app', image: 'app:2', resources: { limits: { memory: '1Gi' } } }],
      initContainers: [{ name: 'migrate', image: 'migrate:2' }],
    },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [
        { type: 'Ready', status: opts.ready === false ? 'False' : 'True' },
        ...(opts.scheduled ? [{ type: 'PodScheduled', ...opts.scheduled }] : []),
      ],
      containerStatuses: opts.statuses ?? [
        { name: 'app', image: 'app:2', imageID: '', ready: opts.ready !== false, restartCount: 0, state: { running: {} } },
      ],
      ...(opts.init ? { initContainerStatuses: opts.init } : {}),
    },
  };
}

const waiting = (reason: string, restartCount = 0): V1ContainerStatus => ({
  name: 'app',
  image: 'app:2',
  imageID: '',
  ready: false,
  restartCount,
  state: { waiting: { reason } },
});

describe('pod notability and rank', () => {
  test.each([
    ['healthy', pod('a'), 0],
    ['completed job', pod('a', { phase: 'Succeeded', ready: false, statuses: [] }), 0],
    [
      'restarted once',
      pod('a', { statuses: [{ name: 'app', image: 'app:2', imageID: '', ready: true, restartCount: 1, state: { running: {} } }] }),
      30,
    ],
    ['creating', pod('a', { phase: 'Pending', ready: false, statuses: [waiting('ContainerCreating')] }), 50],
    [
      'running, not ready',
      pod('a', {
        ready: false,
        statuses: [{ name: 'app', image: 'app:2', imageID: '', ready: false, restartCount: 0, state: { running: {} } }],
      }),
      60,
    ],
    [
      'unschedulable',
      pod('a', {
        phase: 'Pending',
        ready: false,
        statuses: [],
        scheduled: { status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' },
      }),
      80,
    ],
    ['failed', pod('a', { phase: 'Failed', ready: false, statuses: [] }), 85],
    ['image pull', pod('a', { phase: 'Pending', ready: false, statuses: [waiting('ImagePullBackOff')] }), 95],
    ['crash loop', pod('a', { ready: false, statuses: [waiting('CrashLoopBackOff', 4)] }), 100],
  ])('%s → rank %i', (_what, p, rank) => {
    expect(summarizePod(p).rank).toBe(rank);
  });

  test('OOMKilled is read from the last termination, with the memory limit', () => {
    const { summary, rank } = summarizePod(
      pod('a', {
        statuses: [
          {
            name: 'app',
            image: 'app@sha256:1',
            imageID: '',
            ready: true,
            restartCount: 2,
            state: { running: {} },
            lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date('2025-03-01T11:58:00.123Z') } },
          },
        ],
      }),
    );
    expect(rank).toBe(92);
    expect(summary.containers[0]).toEqual({
      name: 'app',
      image: 'app:2',
      ready: true,
      restartCount: 2,
      lastTerminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: '2025-03-01T11:58:00.123Z' },
      memoryLimit: '1Gi',
    });
  });

  test('unscheduled pods carry the scheduler reason', () => {
    const { summary } = summarizePod(
      pod('a', {
        phase: 'Pending',
        ready: false,
        statuses: [],
        scheduled: { status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' },
      }),
    );
    expect(summary.unscheduled).toEqual({ reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' });
  });

  test('an evicted pod carries the pod reason and its bounded message; a pod without one does not', () => {
    const evicted = pod('a', { phase: 'Failed', ready: false, statuses: [] });
    evicted.spec = { ...evicted.spec!, nodeName: 'node-b' };
    evicted.status = { ...evicted.status, reason: 'Evicted', message: 'The node was low on resource: memory.' };
    const { summary, rank } = summarizePod(evicted);
    expect(summary).toMatchObject({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.', node: 'node-b' });
    expect(rank).toBe(85);
    evicted.status = { ...evicted.status, message: 'x'.repeat(100_000) };
    expect(summarizePod(evicted).summary.message!.length).toBeLessThan(2_000);
    expect('reason' in summarizePod(pod('b')).summary).toBe(false);
    // Other pods' messages are not evidence anyone reads; they stay out of the history.
    const failed = pod('c', { phase: 'Failed', ready: false, statuses: [] });
    failed.status = {
      ...failed.status,
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
    };
    expect('message' in summarizePod(failed).summary).toBe(false);
  });

  test('a failing init container shows; a completed one does not', () => {
    const done: V1ContainerStatus = {
      name: 'migrate',
      image: 'migrate:2',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
    };
    expect(summarizePod(pod('a', { init: [done] })).summary.containers.map((c) => c.name)).toEqual(['app']);
    const crashing: V1ContainerStatus = {
      ...done,
      restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 2, reason: 'Error' } },
    };
    const { summary, rank } = summarizePod(
      pod('a', { phase: 'Pending', ready: false, init: [crashing], statuses: [waiting('PodInitializing')] }),
    );
    expect(summary.containers.map((c) => `${c.name}:${c.waiting?.reason}`)).toEqual(['migrate:CrashLoopBackOff', 'app:PodInitializing']);
    // Marked, so a finding names the init container rather than blaming the app.
    expect(summary.containers.map((c) => c.init === true)).toEqual([true, false]);
    expect(rank).toBe(100);
  });

  test('summarizePods counts every pod, shows the notable, most severe first, capped at 50', () => {
    const pods = [
      ...Array.from({ length: 100 }, (_, i) => pod(`ok-${i}`)),
      ...Array.from({ length: 60 }, (_, i) =>
        pod(`restarted-${String(i).padStart(2, '0')}`, {
          statuses: [{ name: 'app', image: 'app:2', imageID: '', ready: true, restartCount: 1 + (i % 3), state: { running: {} } }],
        }),
      ),
      pod('crash', { ready: false, statuses: [waiting('CrashLoopBackOff', 3)] }),
      pod('pull', { phase: 'Pending', ready: false, statuses: [waiting('ErrImagePull')] }),
      pod('job', { phase: 'Succeeded', ready: false, statuses: [] }),
    ];
    const out = summarizePods(pods);
    expect(out.podCounts).toEqual({
      total: 163,
      notReady: 2,
      byPhase: { Running: 161, Pending: 1, Succeeded: 1 },
      byWaitingReason: { CrashLoopBackOff: 1, ErrImagePull: 1 },
    });
    // 50 notable pods, then one replica each of at most 5 workloads that show no failure (bare pods here), for their own log.
    expect(out.pods).toHaveLength(50 + 5);
    expect(out.pods.slice(50).every((p) => p.ready && p.containers.every((c) => c.restartCount === 0))).toBe(true);
    expect(out.podsOmitted).toBe(12);
    expect(out.pods.slice(0, 2).map((p) => p.name)).toEqual(['crash', 'pull']);
    // Among equals, more restarts first.
    expect(out.pods[2]?.containers[0]?.restartCount).toBe(3);
  });
});

describe('events', () => {
  const ev = (name: string, type: string, reason: string, kind: string, lastTimestamp: string): CoreV1Event => ({
    metadata: { name },
    involvedObject: { kind, name: name.split('.')[0] },
    type,
    reason,
    message: `${reason} happened`,
    lastTimestamp: new Date(lastTimestamp),
  });

  test('a Normal Killing for a failed probe is kept with the warnings; an ordinary Killing is not', () => {
    const probeKill = {
      ...ev('web-1.1', 'Normal', 'Killing', 'Pod', '2025-03-01T11:00:00Z'),
      message: 'Container web failed liveness probe, will be restarted',
    };
    const scaleDown = { ...ev('web-2.1', 'Normal', 'Killing', 'Pod', '2025-03-01T11:00:00Z'), message: 'Stopping container web' };
    expect(summarizeEvents([probeKill, scaleDown]).events.map((e) => e.object.name)).toEqual(['web-1']);
  });

  test('warnings newest first (≤ 50), scaling Normals (≤ 10), other Normals dropped uncounted', () => {
    const events = [
      ...Array.from({ length: 55 }, (_, i) =>
        ev(`p${i}.1`, 'Warning', 'BackOff', 'Pod', new Date(Date.parse('2025-03-01T11:00:00Z') + i * 1000).toISOString()),
      ),
      ...Array.from({ length: 12 }, (_, i) => ev(`d.${i}`, 'Normal', 'ScalingReplicaSet', 'Deployment', '2025-03-01T10:00:00Z')),
      ev('p1.2', 'Normal', 'Pulled', 'Pod', '2025-03-01T11:59:00Z'),
      ev('rs.1', 'Normal', 'SuccessfulCreate', 'ReplicaSet', '2025-03-01T09:00:00Z'),
    ];
    const out = summarizeEvents(events);
    expect(out.events).toHaveLength(60);
    expect(out.events[0]?.object.name).toBe('p54');
    expect(out.events.slice(0, 50).every((e) => e.type === 'Warning')).toBe(true);
    expect(out.events.slice(50).every((e) => e.reason === 'ScalingReplicaSet')).toBe(true);
    expect(out.eventsOmitted).toBe(5 + 3);
    expect(out.events[0]).toEqual({
      type: 'Warning',
      reason: 'BackOff',
      message: 'BackOff happened',
      object: { kind: 'Pod', name: 'p54' },
      count: 1,
      lastSeen: '2025-03-01T11:00:54Z',
    });
  });

  test.each<[string, CoreV1Event, boolean]>([
    ['Normal NodeHasDiskPressure on a Node', ev('n1.1', 'Normal', 'NodeHasDiskPressure', 'Node', '2025-03-01T11:00:00Z'), true],
    ['Normal NodeHasInsufficientMemory on a Node', ev('n1.2', 'Normal', 'NodeHasInsufficientMemory', 'Node', '2025-03-01T11:00:00Z'), true],
    ['Normal NodeHasInsufficientPID on a Node', ev('n1.3', 'Normal', 'NodeHasInsufficientPID', 'Node', '2025-03-01T11:00:00Z'), true],
    ['Warning EvictionThresholdMet on a Node', ev('n1.4', 'Warning', 'EvictionThresholdMet', 'Node', '2025-03-01T11:00:00Z'), true],
    [
      'a pressure reason with no type',
      { ...ev('n1.5', 'Normal', 'NodeHasDiskPressure', 'Node', '2025-03-01T11:00:00Z'), type: undefined },
      true,
    ],
    ['Normal NodeHasSufficientMemory on a Node', ev('n1.6', 'Normal', 'NodeHasSufficientMemory', 'Node', '2025-03-01T11:00:00Z'), false],
    ['Normal NodeNotReady on a Node', ev('n1.7', 'Normal', 'NodeNotReady', 'Node', '2025-03-01T11:00:00Z'), true],
    ['Normal Starting on a Node', ev('n1.8', 'Normal', 'Starting', 'Node', '2025-03-01T11:00:00Z'), false],
    ['Normal constructor on a Node', ev('n1.9', 'Normal', 'constructor', 'Node', '2025-03-01T11:00:00Z'), false],
    ['Normal NodeHasDiskPressure on a Pod', ev('p1.1', 'Normal', 'NodeHasDiskPressure', 'Pod', '2025-03-01T11:00:00Z'), false],
  ])('a node’s own trouble (pressure, NotReady) is kept whatever its type: %s → kept %s', (_what, event, kept) => {
    const out = summarizeEvents([event]);
    expect(out.events.map((e) => e.reason)).toEqual(kept ? [event.reason] : []);
    expect(out.eventsOmitted).toBe(0);
  });

  test('node pressure events: after the warnings, before scaling, newest first, ≤ 10 and the rest counted', () => {
    const events = [
      ...Array.from({ length: 55 }, (_, i) =>
        ev(`p${i}.1`, 'Warning', 'BackOff', 'Pod', new Date(Date.parse('2025-03-01T11:00:00Z') + i * 1000).toISOString()),
      ),
      ...Array.from({ length: 12 }, (_, i) =>
        ev(
          `node-${String(i).padStart(2, '0')}.1`,
          i % 2 === 0 ? 'Normal' : 'Warning',
          i % 2 === 0 ? 'NodeHasDiskPressure' : 'EvictionThresholdMet',
          'Node',
          new Date(Date.parse('2025-03-01T10:00:00Z') + i * 1000).toISOString(),
        ),
      ),
      ev('d.1', 'Normal', 'ScalingReplicaSet', 'Deployment', '2025-03-01T11:30:00Z'),
      ev('node-x.1', 'Normal', 'NodeHasSufficientDisk', 'Node', '2025-03-01T11:30:00Z'),
    ];
    const out = summarizeEvents(events);
    expect(out.events.map((e) => e.object.kind)).toEqual([
      ...Array<string>(50).fill('Pod'),
      ...Array<string>(10).fill('Node'),
      'Deployment',
    ]);
    // Warning pressure events are not crowded out by the pods' warnings.
    expect(out.events.slice(50, 60).map((e) => e.object.name)).toEqual([
      'node-11',
      'node-10',
      'node-09',
      'node-08',
      'node-07',
      'node-06',
      'node-05',
      'node-04',
      'node-03',
      'node-02',
    ]);
    expect(out.eventsOmitted).toBe(5 + 2);
  });

  test('a scale change is kept before the pod creations that follow it', () => {
    const events = [
      ev('d.1', 'Normal', 'ScalingReplicaSet', 'Deployment', '2025-03-01T11:00:00Z'),
      ...Array.from({ length: 12 }, (_, i) =>
        ev(`rs.${String(i).padStart(2, '0')}`, 'Normal', 'SuccessfulCreate', 'ReplicaSet', '2025-03-01T11:00:05Z'),
      ),
    ];
    const out = summarizeEvents(events);
    expect(out.events).toHaveLength(10);
    expect(out.events.map((e) => e.reason).filter((r) => r === 'ScalingReplicaSet')).toHaveLength(1);
    // Still shown newest first.
    expect(out.events[9]?.reason).toBe('ScalingReplicaSet');
    expect(out.eventsOmitted).toBe(3);
  });

  test("with a label selector, pressure events of the selected pods' nodes are kept, other nodes' are not", () => {
    const selected: V1Pod = { ...pod('web-1'), spec: { ...pod('web-1').spec!, nodeName: 'node-a' } };
    const ns = summarizeNamespace({
      namespace: 'default',
      labelSelector: 'app=web',
      pods: [selected],
      events: [
        ev('node-a.1', 'Normal', 'NodeHasDiskPressure', 'Node', '2025-03-01T11:00:00Z'),
        ev('node-b.1', 'Normal', 'NodeHasDiskPressure', 'Node', '2025-03-01T11:00:00Z'),
      ],
      deployments: [],
      replicaSets: [],
    });
    expect(ns.events.map((e) => e.object.name)).toEqual(['node-a']);
  });

  test('a relevance set keeps only events about those objects', () => {
    const out = summarizeEvents(
      [ev('a.1', 'Warning', 'BackOff', 'Pod', '2025-03-01T11:00:00Z'), ev('b.1', 'Warning', 'BackOff', 'Pod', '2025-03-01T11:00:00Z')],
      new Set(['Pod/b']),
    );
    expect(out.events.map((e) => e.object.name)).toEqual(['b']);
  });
});

describe('replica sets', () => {
  const rs = (name: string, deployment: string | undefined, revision: number): V1ReplicaSet => ({
    metadata: {
      name,
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ...(deployment ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment, uid: 'u' }] } : {}),
    },
    spec: { replicas: revision, selector: {} },
  });

  test('the newest three revisions of each shown deployment', () => {
    const out = summarizeReplicaSets(
      [
        rs('web-1', 'web', 1),
        rs('web-4', 'web', 4),
        rs('web-2', 'web', 2),
        rs('web-3', 'web', 3),
        rs('api-1', 'api', 1),
        rs('hidden-1', 'hidden', 1),
        rs('lone', undefined, 1),
      ],
      [
        { name: 'web', replicas: 1, ready: 1, updated: 1, available: 1, images: [], conditions: [] },
        { name: 'api', replicas: 1, ready: 1, updated: 1, available: 1, images: [], conditions: [] },
      ],
    );
    expect(out.map((r) => r.name)).toEqual(['lone', 'api-1', 'web-4', 'web-3', 'web-2']);
  });
});

describe('previousLogTargets', () => {
  const crashLoop = (restartCount = 4): ContainerSummary => ({
    name: 'app',
    image: 'app:2',
    ready: false,
    restartCount,
    waiting: { reason: 'CrashLoopBackOff' },
    lastTerminated: { reason: 'Error', exitCode: 1 },
  });
  const oomKilled: ContainerSummary = {
    name: 'app',
    image: 'app:2',
    ready: true,
    restartCount: 2,
    lastTerminated: { reason: 'OOMKilled', exitCode: 137 },
  };
  const podOf = (name: string, replicaSet: string | undefined, ...containers: ContainerSummary[]): PodSummary => ({
    name,
    phase: 'Running',
    ready: false,
    ...(replicaSet ? { replicaSet } : {}),
    containers,
  });
  const ns = (namespace: string, pods: PodSummary[]): NamespaceEvidence => ({
    namespace,
    podCounts: { total: pods.length, notReady: pods.length, byPhase: {}, byWaitingReason: {} },
    pods,
    podsOmitted: 0,
    events: [],
    eventsOmitted: 0,
    deployments: [],
    replicaSets: [],
  });
  const names = (targets: ReturnType<typeof previousLogTargets>) => targets.map((t) => `${t.namespace}/${t.pod}/${t.container.name}`);

  test.each<[string, ContainerSummary, boolean]>([
    ['crash loop', crashLoop(), true],
    ['restarted after an OOM kill', oomKilled, true],
    [
      'restarted after an error with no exit code',
      { name: 'app', image: 'app:2', ready: true, restartCount: 1, lastTerminated: { reason: 'Error' } },
      true,
    ],
    [
      'restarted after completing (exit 0)',
      { name: 'app', image: 'app:2', ready: true, restartCount: 1, lastTerminated: { reason: 'Completed', exitCode: 0 } },
      false,
    ],
    [
      'failed, never restarted: no previous instance',
      { name: 'app', image: 'app:2', ready: false, restartCount: 0, lastTerminated: { reason: 'Error', exitCode: 1 } },
      false,
    ],
    ['pulling its image', { name: 'app', image: 'app:2', ready: false, restartCount: 0, waiting: { reason: 'ImagePullBackOff' } }, false],
  ])('%s → read: %s', (_what, container, read) => {
    expect(previousLogTargets([ns('a', [podOf('p', 'rs', container)])])).toHaveLength(read ? 1 : 0);
  });

  test('at most five, crash loops first, one per workload before a second replica of any', () => {
    const targets = previousLogTargets([
      ns('a', [
        ...Array.from({ length: 8 }, (_, i) => podOf(`web-${i}`, 'web-7d9', crashLoop())),
        podOf('cache-0', 'cache-5f1', oomKilled),
        podOf('job-x', undefined, { ...crashLoop(), name: 'migrate' }, crashLoop()),
      ]),
      ns('b', [podOf('api-0', 'api-6c2', crashLoop(1))]),
    ]);
    expect(names(targets)).toEqual(['a/web-0/app', 'a/job-x/migrate', 'a/job-x/app', 'b/api-0/app', 'a/cache-0/app']);
    expect(
      previousLogTargets([
        ns(
          'a',
          Array.from({ length: 8 }, (_, i) => podOf(`web-${i}`, 'web-7d9', crashLoop())),
        ),
      ]).map((t) => t.pod),
    ).toEqual(['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
  });

  test('targets point at the summaries, so the log lands in the evidence', () => {
    const evidence = [ns('a', [podOf('p', 'rs', crashLoop())])];
    previousLogTargets(evidence)[0]!.container.previousLog = { status: 'unavailable', reason: 'r' };
    expect(evidence[0]!.pods[0]!.containers[0]!.previousLog).toEqual({ status: 'unavailable', reason: 'r' });
  });
});

describe('previousLogTail', () => {
  function read(body: string, opts: { limitReached?: boolean; shortened?: boolean } = {}) {
    const tail = previousLogTail({ body, limitReached: opts.limitReached ?? false, shortened: opts.shortened ?? false });
    if (tail.status !== 'ok') throw new Error('a log that was read is never unavailable');
    return tail;
  }
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}\n`).join('');

  test('whole lines, in order', () => {
    expect(read('starting\nconfig error: DATABASE_URL is not set\n')).toEqual({
      status: 'ok',
      lines: ['starting', 'config error: DATABASE_URL is not set'],
      truncated: false,
      redactions: 0,
    });
  });

  test("the process's last write without a newline is kept; a line cut by limitBytes is dropped", () => {
    expect(read('a\npanic: boom').lines).toEqual(['a', 'panic: boom']);
    expect(read('a\nb\npassword=hunt', { limitReached: true })).toEqual({
      status: 'ok',
      lines: ['a', 'b'],
      truncated: true,
      redactions: 0,
    });
    expect(read('a\nb\n', { limitReached: true })).toMatchObject({ lines: ['a', 'b'], truncated: true });
  });

  test('the newest 20 lines are kept; truncated says whether there were more', () => {
    expect(read(lines(20))).toMatchObject({ truncated: false });
    const out = read(lines(21));
    expect(out).toMatchObject({ truncated: true });
    expect(out.lines).toHaveLength(20);
    expect(out.lines[0]).toBe('line 2');
    expect(out.lines[19]).toBe('line 21');
    expect(read(lines(3), { shortened: true })).toMatchObject({ lines: ['line 1', 'line 2', 'line 3'], truncated: true });
  });

  test('terminal escapes and control characters go; a secret split by them is still redacted', () => {
    const body = [
      '\u001b[1;31mERROR\u001b[0m \u001b]8;;https://example.com\u0007link\u001b]8;;\u0007 done',
      'progress 10%\r100%\ttab',
      'nul\u0000 bell\u0007 bidi\u202e reversed \u200bzero-width',
      'pass\u001b[0mword=hunt\u0000er2 and tok\u200ben=abc123',
      '\u009b31mc1 csi',
    ].join('\n');
    expect(read(body)).toEqual({
      status: 'ok',
      lines: [
        'ERROR link done',
        'progress 10% 100% tab',
        'nul bell bidi reversed zero-width',
        'password=[redacted] and token=[redacted]',
        'c1 csi',
      ],
      truncated: false,
      redactions: 2,
    });
  });

  test('invalid UTF-8 (decoded to U+FFFD) and lone surrogates', () => {
    const decoded = Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe, 0x20, 0xe2, 0x82, 0x0a]).toString('utf8');
    expect(read(`${decoded}lone \ud800 surrogate\n`).lines).toEqual(['ok \ufffd\ufffd \ufffd', 'lone surrogate']);
  });

  test('long lines are cut to 300 characters, after redaction', () => {
    const out = read(`${'x'.repeat(290)} token=abcdef0123456789 ${'y'.repeat(5000)}\n`);
    expect(out.lines[0]).toHaveLength(300);
    expect(out.lines[0]!.endsWith('…')).toBe(true);
    expect(out.lines[0]).not.toContain('abcdef');
    expect(out.redactions).toBe(1);
  });

  test('blank lines are dropped; redactions count the kept lines only', () => {
    const out = read(`password=dropped1\n${'\n \n'.repeat(5)}${lines(20)}token=kept9\n`);
    expect(out).toMatchObject({ truncated: true, redactions: 1 });
    expect(out.lines).toHaveLength(20);
    expect(out.lines[19]).toBe('token=[redacted]');
    expect(out.lines).not.toContain('');
  });

  test('a multi-line private key is removed', () => {
    const out = read(
      [
        'loading key',
        pemMarker('BEGIN', 'RSA '),
        fakeCredential.pemBody(18),
        fakeCredential.pemBody(15),
        pemMarker('END', 'RSA '),
        'ready',
        '',
      ].join('\n'),
    );
    expect(out).toEqual({
      status: 'ok',
      lines: ['loading key', pemMarker('BEGIN', 'RSA '), '[redacted]', '[redacted]', pemMarker('END', 'RSA '), 'ready'],
      truncated: false,
      redactions: 2,
    });
  });
});

describe('currentLogTargets', () => {
  const running = (name: string, replicaSet: string | undefined, ready = true): PodSummary => ({
    name,
    phase: 'Running',
    ready,
    ...(replicaSet ? { replicaSet } : {}),
    containers: [
      { name: 'setup', image: 'x', ready: false, restartCount: 0, init: true },
      { name: 'app', image: 'x', ready, restartCount: 0 },
    ],
  });
  const ns = (pods: PodSummary[]): NamespaceEvidence =>
    ({
      namespace: 'shop',
      pods,
      podCounts: { total: pods.length },
      podsOmitted: 0,
      events: [],
      eventsOmitted: 0,
    }) as unknown as NamespaceEvidence;

  test('one replica per workload, unready first, app containers only, bounded', () => {
    const pods = [running('api-1', 'api-rs'), running('api-2', 'api-rs', false), running('web-1', 'web-rs'), running('solo', undefined)];
    const targets = currentLogTargets([ns(pods)], [], 2);
    expect(targets.map((t) => `${t.pod}/${t.container.name}/${t.previous}`)).toEqual(['api-2/app/false', 'web-1/app/false']);
  });

  test('near miss: a workload whose crash is already read, and pods that are not running, are skipped', () => {
    const pending: PodSummary = { ...running('web-2', 'web-rs'), phase: 'Pending' };
    const pods = [running('api-1', 'api-rs'), running('api-2', 'api-rs'), pending];
    const covered = [{ namespace: 'shop', pod: 'api-1', container: pods[0]!.containers[1]!, previous: true }];
    expect(currentLogTargets([ns(pods)], covered)).toEqual([]);
  });
});
