import { MAX_EVIDENCE_BYTES, evidenceBytes, fitKubernetesEvidence, fitPagerDutyEvidence } from '../../activities/evidence-bounds.js';
import type {
  EventSummary,
  KubernetesEvidence,
  LogTail,
  NamespaceEvidence,
  NodeSummary,
  PagerDutyEvidence,
  PodSummary,
} from '../../activities/model.js';
import { INCIDENT } from './evidence-request.js';

function pod(i: number, failing: boolean): PodSummary {
  return {
    name: `web-${String(i).padStart(4, '0')}`,
    phase: 'Running',
    ready: !failing,
    containers: [
      {
        name: 'web',
        image: 'web:1',
        ready: !failing,
        restartCount: failing ? 9 : 1,
        ...(failing ? { waiting: { reason: 'CrashLoopBackOff', message: 'm'.repeat(300) } } : {}),
      },
    ],
  };
}

function event(i: number): EventSummary {
  return { type: 'Warning', reason: 'BackOff', message: 'e'.repeat(300), object: { kind: 'Pod', name: `web-${i}` }, count: 1 };
}

function namespace(name: string, pods: number, events: number): NamespaceEvidence {
  return {
    namespace: name,
    podCounts: { total: 5000, notReady: 10, byPhase: { Running: 5000 }, byWaitingReason: { CrashLoopBackOff: 10 } },
    pods: Array.from({ length: pods }, (_, i) => pod(i, i < 10)),
    podsOmitted: 7,
    events: Array.from({ length: events }, (_, i) => event(i)),
    eventsOmitted: 3,
    deployments: [],
    replicaSets: [],
  };
}

function evidence(namespaces: NamespaceEvidence[]): KubernetesEvidence {
  return { surface: 'kubernetes', cluster: 'c', collectedAt: '2025-03-01T12:00:00Z', namespaces };
}

describe('fitKubernetesEvidence', () => {
  test('evidence within budget is returned as is', () => {
    const e = evidence([namespace('a', 5, 5)]);
    const { evidence: out, report } = fitKubernetesEvidence(e);
    expect(out).toBe(e);
    expect(report.dropped).toEqual({
      pods: 0,
      events: 0,
      replicaSets: 0,
      deployments: 0,
      jobs: 0,
      nodes: 0,
      autoscalersAndClaims: 0,
      statefulSets: 0,
      daemonSets: 0,
      alerts: 0,
      logLines: 0,
      logDigests: 0,
      namespaceDetails: 0,
    });
  });

  test('trims the tails of the longest lists until it fits, counting what it dropped', () => {
    const input = evidence([namespace('a', 50, 50), namespace('b', 50, 50), namespace('c', 50, 10)]);
    const inputCopy = structuredClone(input);
    expect(evidenceBytes(input)).toBeGreaterThan(MAX_EVIDENCE_BYTES);
    const { evidence: out, report } = fitKubernetesEvidence(input);
    expect(input).toEqual(inputCopy);
    expect(evidenceBytes(out)).toBeLessThanOrEqual(MAX_EVIDENCE_BYTES);
    expect(report).toMatchObject({ fits: true, bytesBefore: evidenceBytes(input), bytesAfter: evidenceBytes(out) });
    const droppedPods = input.namespaces.reduce((n, ns) => n + ns.pods.length, 0) - out.namespaces.reduce((n, ns) => n + ns.pods.length, 0);
    const droppedEvents =
      input.namespaces.reduce((n, ns) => n + ns.events.length, 0) - out.namespaces.reduce((n, ns) => n + ns.events.length, 0);
    expect(report.dropped.pods).toBe(droppedPods);
    expect(report.dropped.events).toBe(droppedEvents);
    out.namespaces.forEach((ns, i) => {
      const before = input.namespaces[i]!;
      expect(ns.podsOmitted).toBe(before.podsOmitted + before.pods.length - ns.pods.length);
      expect(ns.eventsOmitted).toBe(before.eventsOmitted + before.events.length - ns.events.length);
      // The most notable pods (first in the list) survive.
      expect(ns.pods.slice(0, 10).every((p) => p.containers[0]?.waiting?.reason === 'CrashLoopBackOff')).toBe(true);
      expect(ns.podCounts.total).toBe(5000);
    });
  });

  describe('previous-container logs', () => {
    /** The first `count` pods carry a 20-line log of 300-character lines, `line 00` oldest. */
    function withLogs(ns: NamespaceEvidence, count: number): NamespaceEvidence {
      ns.pods.slice(0, count).forEach((p) => {
        p.containers[0]!.previousLog = {
          status: 'ok',
          lines: Array.from({ length: 20 }, (_, i) => `line ${String(i).padStart(2, '0')} ${'l'.repeat(292)}`),
          truncated: false,
          redactions: 1,
        };
      });
      return ns;
    }
    const logsOf = (e: KubernetesEvidence) =>
      e.namespaces.flatMap((ns) => ns.pods.flatMap((p) => p.containers.flatMap((c) => (c.previousLog ? [c.previousLog] : [])))) as Extract<
        LogTail,
        { status: 'ok' }
      >[];

    test('old log lines go first, evenly, down to the newest five; pods and events stay', () => {
      const input = evidence([withLogs(namespace('a', 50, 50), 5)]);
      const budget = 45_000;
      expect(evidenceBytes(input)).toBeGreaterThan(budget);
      const { evidence: out, report } = fitKubernetesEvidence(input, budget);
      expect(evidenceBytes(out)).toBeLessThanOrEqual(budget);
      expect(report.dropped).toMatchObject({ pods: 0, events: 0 });
      const logs = logsOf(out);
      expect(report.dropped.logLines).toBe(100 - logs.reduce((n, l) => n + l.lines.length, 0));
      const lengths = logs.map((l) => l.lines.length);
      expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
      for (const log of logs) {
        expect(log.lines.length).toBeGreaterThanOrEqual(5);
        expect(log.lines.length).toBeLessThan(20);
        expect(log.lines[log.lines.length - 1]).toMatch(/^line 19 /);
        expect(log.truncated).toBe(true);
      }
      expect(logsOf(input).every((l) => l.lines.length === 20 && !l.truncated)).toBe(true);
    });

    test('at five lines a log stays while less notable pods and events are trimmed', () => {
      const { evidence: out, report } = fitKubernetesEvidence(evidence([withLogs(namespace('a', 50, 50), 5)]), 20_000);
      expect(report.fits).toBe(true);
      expect(report.dropped.pods + report.dropped.events).toBeGreaterThan(0);
      const logs = logsOf(out);
      expect(logs).toHaveLength(5);
      for (const log of logs) expect(log.lines.map((l) => l.slice(0, 7))).toEqual(['line 15', 'line 16', 'line 17', 'line 18', 'line 19']);
    });

    test('unavailable logs are left as they are', () => {
      const ns = namespace('a', 50, 50);
      ns.pods[0]!.containers[0]!.previousLog = { status: 'unavailable', reason: 'HTTP 403 Forbidden: pods/log' };
      const { evidence: out } = fitKubernetesEvidence(evidence([ns]));
      expect(out.namespaces[0]!.pods[0]!.containers[0]!.previousLog).toEqual({
        status: 'unavailable',
        reason: 'HTTP 403 Forbidden: pods/log',
      });
    });
  });

  test('Jobs go from the tail (complete ones) before any namespace loses its details; CronJobs with them', () => {
    const job = (name: string, type: string) => ({
      name,
      active: 0,
      succeeded: type === 'Complete' ? 1 : 0,
      failed: type === 'Failed' ? 5 : 0,
      conditions: [{ type, status: 'True', message: 'j'.repeat(300) }],
    });
    const ns: NamespaceEvidence = {
      ...namespace('a', 0, 0),
      jobs: [job('failed', 'Failed'), ...Array.from({ length: 19 }, (_, i) => job(`done-${i}`, 'Complete'))],
      cronJobs: Array.from({ length: 20 }, (_, i) => ({ name: `c-${i}`, schedule: '0 2 * * *', suspend: false, active: 0 })),
    };
    const { evidence: out, report } = fitKubernetesEvidence(evidence([ns]), 3000);
    expect(report.fits).toBe(true);
    expect(report.dropped.jobs).toBeGreaterThan(0);
    expect(report.dropped.namespaceDetails).toBe(0);
    expect(out.namespaces[0]!.jobs?.[0]?.name).toBe('failed');
  });

  test('a namespace that loses its details loses its Jobs and CronJobs too', () => {
    const ns: NamespaceEvidence = {
      ...namespace('a', 3, 3),
      jobs: [{ name: 'j', active: 0, succeeded: 0, failed: 1, conditions: [] }],
      cronJobs: [{ name: 'c', schedule: '0 2 * * *', suspend: false, active: 0 }],
    };
    const { evidence: out } = fitKubernetesEvidence(evidence([ns]), 300);
    expect(out.namespaces[0]).not.toHaveProperty('jobs');
    expect(out.namespaces[0]).not.toHaveProperty('cronJobs');
  });

  test('healthy Nodes none of our pods run on go before any pod; a NotReady node hosting our pods stays until the last stage', () => {
    const node = (name: string, extra: Partial<NodeSummary> = {}): NodeSummary => ({
      name,
      ready: { status: 'True', message: 'n'.repeat(300) },
      ...extra,
    });
    const nodes: NodeSummary[] = [
      node('down', { ready: { status: 'Unknown', reason: 'NodeStatusUnknown' }, pods: 2 }),
      ...Array.from({ length: 30 }, (_, i) => node(`idle-${i}`)),
    ];
    const e: KubernetesEvidence = { ...evidence([namespace('a', 10, 0)]), nodes: { status: 'ok', total: 31, items: nodes } };
    const budget = evidenceBytes({ ...e, nodes: { status: 'ok', total: 31, items: nodes.slice(0, 1) } }) + 50;
    const { evidence: out, report } = fitKubernetesEvidence(e, budget);
    expect(report.fits).toBe(true);
    expect(report.dropped.pods).toBe(0);
    expect(report.dropped.nodes).toBe(30);
    expect(out.nodes).toEqual({ status: 'ok', total: 31, items: [nodes[0]] });
  });

  test('settled StatefulSets and DaemonSets go from the tail before any namespace loses its details; with it they go too', () => {
    const revision = (n: number) => ({ name: `db-${n}`, revision: n, images: ['postgres:16'], template: { 'db: env': 'd'.repeat(16) } });
    const statefulSet = (name: string, ready: number) => ({
      name,
      replicas: 3,
      ready,
      updated: 3,
      updateStrategy: 'RollingUpdate',
      images: ['postgres:16'],
      conditions: [],
      revisions: [revision(2), revision(1)],
    });
    const daemonSet = (name: string) => ({
      name,
      desired: 3,
      ready: 3,
      updated: 3,
      unavailable: 0,
      misscheduled: 0,
      updateStrategy: 'RollingUpdate',
      images: ['agent:1'],
      revisions: [revision(1)],
    });
    const ns: NamespaceEvidence = {
      ...namespace('a', 0, 0),
      statefulSets: [statefulSet('failing', 1), ...Array.from({ length: 19 }, (_, i) => statefulSet(`db-${i}`, 3))],
      daemonSets: Array.from({ length: 20 }, (_, i) => daemonSet(`agent-${i}`)),
    };
    const { evidence: out, report } = fitKubernetesEvidence(evidence([ns]), 3000);
    expect(report.fits).toBe(true);
    expect(report.dropped.daemonSets).toBe(20);
    expect(report.dropped.statefulSets).toBeGreaterThan(0);
    expect(report.dropped.namespaceDetails).toBe(0);
    expect(out.namespaces[0]!.statefulSets?.[0]?.name).toBe('failing');
    const { evidence: tiny } = fitKubernetesEvidence(evidence([ns]), 300);
    expect(tiny.namespaces[0]).not.toHaveProperty('statefulSets');
    expect(tiny.namespaces[0]).not.toHaveProperty('daemonSets');
  });

  test('with a tiny budget, whole namespace details go, counts stay', () => {
    const { evidence: out, report } = fitKubernetesEvidence(evidence([namespace('a', 3, 3), namespace('b', 3, 3)]), 600);
    expect(report.dropped.namespaceDetails + report.dropped.pods + report.dropped.events).toBeGreaterThan(0);
    expect(out.namespaces.map((n) => n.podCounts.total)).toEqual([5000, 5000]);
    expect(report.fits).toBe(evidenceBytes(out) <= 600);
  });
});

describe('fitPagerDutyEvidence', () => {
  test('drops the oldest shown alerts into omitted', () => {
    const shown = Array.from({ length: 20 }, (_, i) => ({
      id: `A${i}`,
      status: 'triggered',
      severity: 'info',
      summary: 's'.repeat(300),
      createdAt: '2025-03-01T12:00:00Z',
    }));
    const e: PagerDutyEvidence = { surface: 'pagerduty', incident: INCIDENT, alerts: { total: 25, shown, omitted: 5 } };
    const { evidence: out, report } = fitPagerDutyEvidence(e, 3000);
    expect(evidenceBytes(out)).toBeLessThanOrEqual(3000);
    expect(out.alerts.shown.length + out.alerts.omitted).toBe(25);
    expect(out.alerts.shown[0]?.id).toBe('A0');
    expect(report.dropped.alerts).toBe(20 - out.alerts.shown.length);
  });
});
