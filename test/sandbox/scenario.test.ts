import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScenarioError, buildScenario, loadScenario, parseScenario } from '../../sandbox/scenario.js';

const CRASHLOOP = fileURLToPath(new URL('../../sandbox/scenarios/crashloop-after-rollout.yaml', import.meta.url));
const EVICTED = fileURLToPath(new URL('../../sandbox/scenarios/evicted-memory-pressure.yaml', import.meta.url));
const NOW = Date.parse('2025-03-01T12:00:00Z');

const minimal = (extra = '') => `
name: tiny
description: smallest valid scenario
pagerduty:
  incident:
    id: PABC123
    incident_number: 1
    title: something broke
    status: triggered
    urgency: high
    created_at: \${now-12m}
    html_url: https://example.pagerduty.com/incidents/PABC123
    service: { id: PSVC1, summary: svc }
${extra}`;

function errorOf(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('time templates', () => {
  test('resolve relative to the given now, in whole seconds', () => {
    const s = parseScenario(
      minimal(`
  alerts:
    - { id: PA1, status: triggered, severity: critical, summary: a, created_at: "\${now}" }
    - { id: PA2, status: triggered, severity: error, summary: b, created_at: "\${now+30s}" }
    - { id: PA3, status: resolved, severity: info, summary: c, created_at: "\${now-2h}" }
    - { id: PA4, status: resolved, severity: info, summary: d, created_at: "\${now-3d}" }
`),
      { now: NOW + 789 },
    );
    expect(s.pagerduty.incident.created_at).toBe('2025-03-01T11:48:00Z');
    expect(s.pagerduty.alerts.map((a) => a.created_at)).toEqual([
      '2025-03-01T12:00:00Z',
      '2025-03-01T12:00:30Z',
      '2025-03-01T10:00:00Z',
      '2025-02-26T12:00:00Z',
    ]);
  });

  test('default now is the current time', () => {
    const before = Date.now();
    const s = parseScenario(minimal());
    const created = Date.parse(s.pagerduty.incident.created_at);
    expect(created).toBeGreaterThanOrEqual(before - 12 * 60_000 - 1000);
    expect(created).toBeLessThanOrEqual(Date.now() - 12 * 60_000);
  });

  test.each(['${now-5y}', '${today}', '${now - 5m}', 'at ${now}', '${now-5m'])('unknown template %s names its path', (bad) => {
    const err = errorOf(() =>
      parseScenario(
        minimal(`  alerts:\n    - { id: PA1, status: triggered, severity: critical, summary: x, created_at: ${JSON.stringify(bad)} }\n`),
        {
          source: 'bad.yaml',
        },
      ),
    );
    expect(err.message).toContain('bad.yaml');
    expect(err.issues[0]?.path).toBe('pagerduty.alerts[0].created_at');
    expect(err.issues[0]?.message).toMatch(/unknown template/);
  });

  test('$${ is a literal ${, as the shell scripts in container args need', () => {
    const summary = 'sh -c \'[ -z "$${DEPLOY_ENV}" ] && exit 1\'';
    const s = parseScenario(
      minimal(
        `  alerts:\n    - { id: PA1, status: triggered, severity: critical, summary: ${JSON.stringify(summary)}, created_at: "\${now}" }\n`,
      ),
    );
    expect(s.pagerduty.alerts[0]?.summary).toBe('sh -c \'[ -z "${DEPLOY_ENV}" ] && exit 1\'');
  });
});

describe('validation', () => {
  test('the crashloop scenario loads with every object typed', async () => {
    const s = await loadScenario(CRASHLOOP, { now: NOW });
    expect(s.name).toBe('crashloop-after-rollout');
    expect(s.pagerduty.incident).toMatchObject({ id: 'Q1CHECKOUT1', urgency: 'high', created_at: '2025-03-01T11:55:00Z' });
    expect(s.pagerduty.alerts).toHaveLength(2);
    const ns = s.kubernetes.namespaces['checkout']!;
    expect(ns.deployments.map((d) => d.metadata.name)).toEqual(['checkout-api', 'checkout-worker']);
    const crashing = ns.pods.filter((p) => p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
    expect(crashing).toHaveLength(2);
    expect(crashing.every((p) => p.metadata.ownerReferences?.[0]?.name === 'checkout-api-6b8f7c9d54')).toBe(true);
    const newest = ns.replicaSets.find((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision'] === '7');
    expect(newest?.metadata.creationTimestamp).toBe('2025-03-01T11:51:00Z');
  });

  test('a wrong field names the file and the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scenario-'));
    const file = join(dir, 'broken.yaml');
    await writeFile(
      file,
      minimal(`kubernetes:
  namespaces:
    shop:
      pods:
        - metadata: { name: web-1 }
          spec: { containers: [{ name: web, image: web:1 }] }
          status: { phase: Exploded }
`),
    );
    await expect(loadScenario(file)).rejects.toThrow(ScenarioError);
    const err = (await loadScenario(file).then(
      () => undefined,
      (e: unknown) => e,
    )) as ScenarioError;
    expect(err.source).toBe(file);
    expect(err.issues.map((i) => i.path)).toEqual(['kubernetes.namespaces.shop.pods[0].status.phase']);
    expect(err.message).toContain(file);
  });

  test('unknown top-level and PagerDuty keys are rejected (typos)', () => {
    const err = errorOf(() => parseScenario(`${minimal()}\n  alertz: []\n`));
    expect(err.issues.some((i) => i.path === 'pagerduty' && /alertz/.test(i.message))).toBe(true);
  });

  test('label keys with spaces, unquoted numeric annotations and bad namespace names are rejected', () => {
    const err = errorOf(() =>
      parseScenario(
        minimal(`kubernetes:
  namespaces:
    Shop_1:
      deployments: []
    shop:
      replicaSets:
        - metadata:
            name: web-abc
            labels: { "bad key": x }
            annotations: { deployment.kubernetes.io/revision: 7 }
          spec: { selector: {} }
`),
      ),
    );
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('kubernetes.namespaces.Shop_1');
    expect(paths).toContain('kubernetes.namespaces.shop.replicaSets[0].metadata.labels["bad key"]');
    expect(paths).toContain('kubernetes.namespaces.shop.replicaSets[0].metadata.annotations["deployment.kubernetes.io/revision"]');
  });

  test('a container status must name a container of the spec', () => {
    const pod = (name: string, owner: string, statusName = 'web') => ({
      metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner }] },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
      status: { phase: 'Running', containerStatuses: [{ name: statusName, image: 'web:1', ready: true, restartCount: 0 }] },
    });
    const err = errorOf(() =>
      buildScenario({
        name: 'x',
        description: 'x',
        pagerduty: parseScenario(minimal(), { now: NOW }).pagerduty,
        kubernetes: { namespaces: { shop: { pods: [pod('web-1', 'web-gone'), pod('web-2', 'web-gone', 'sidecar')] } } },
      }),
    );
    const messages = err.issues.map((i) => `${i.path}: ${i.message}`);
    expect(messages).toContain(
      'kubernetes.namespaces.shop.pods[1].status.containerStatuses[0].name: no container "sidecar" in spec.containers',
    );
  });

  test('invalid YAML reports a line', () => {
    const err = errorOf(() => parseScenario('name: [unclosed\n', { source: 'x.yaml' }));
    expect(err.message).toContain('x.yaml');
    expect(err.issues[0]?.path).toMatch(/^line \d+/);
  });

  test('duplicate YAML keys are an error, not last-one-wins', () => {
    const err = errorOf(() => parseScenario(`${minimal()}\nname: again\n`));
    expect(err.issues[0]?.message).toMatch(/unique|duplicate/i);
  });

  test('dangling owner references, duplicate names and namespace mismatches are reported together', () => {
    const base = parseScenario(minimal(), { now: NOW });
    const err = errorOf(() =>
      buildScenario({
        ...base,
        kubernetes: {
          namespaces: {
            shop: {
              pods: [
                {
                  metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'nope' }] },
                  spec: { containers: [{ name: 'c', image: 'i' }] },
                },
                { metadata: { name: 'p', namespace: 'other' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
              ],
            },
          },
        },
      }),
    );
    const messages = err.issues.map((i) => `${i.path}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'kubernetes.namespaces.shop.pods[1].metadata.name: duplicate pods name "p"',
        'kubernetes.namespaces.shop.pods[1].metadata.namespace: is "other" but the object is listed under namespace "shop"',
        'kubernetes.namespaces.shop.pods[0].metadata.ownerReferences[0].name: no ReplicaSet "nope" in namespace "shop"',
      ]),
    );
  });
});

describe('Jobs and CronJobs', () => {
  const jobPod = (job: string) => ({
    metadata: { name: `${job}-abcde`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job }] },
    spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] },
  });
  const template = { spec: { containers: [{ name: 'c', image: 'i' }] } };
  const build = (shop: Record<string, unknown>) =>
    buildScenario({ ...parseScenario(minimal(), { now: NOW }), kubernetes: { namespaces: { shop } } });

  test('default to none, and a pod may name a Job the namespace does not list (scenarios written before Jobs were served)', () => {
    const scenario = build({ pods: [jobPod('nightly')] });
    expect([scenario.kubernetes.namespaces.shop?.jobs, scenario.kubernetes.namespaces.shop?.cronJobs]).toEqual([[], []]);
  });

  test('once Jobs are listed, a pod or Job naming an unlisted owner is refused', () => {
    const err = errorOf(() =>
      build({
        pods: [jobPod('nightly'), jobPod('listed')],
        jobs: [
          {
            metadata: { name: 'listed', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'gone' }] },
            spec: { template },
          },
        ],
        cronJobs: [{ metadata: { name: 'other' }, spec: { schedule: '@daily', jobTemplate: { spec: { template } } } }],
      }),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.namespaces.shop.pods[0].metadata.ownerReferences[0].name: no Job "nightly" in namespace "shop"',
      'kubernetes.namespaces.shop.jobs[0].metadata.ownerReferences[0].name: no CronJob "gone" in namespace "shop"',
    ]);
  });

  test('a Job needs its pod template, a CronJob its schedule and Job template; a condition status is True, False or Unknown', () => {
    const err = errorOf(() =>
      build({
        jobs: [{ metadata: { name: 'j' }, spec: {}, status: { conditions: [{ type: 'Failed', status: 'true' }] } }],
        cronJobs: [{ metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template } } } }],
      }),
    );
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'kubernetes.namespaces.shop.jobs[0].spec.template',
        'kubernetes.namespaces.shop.jobs[0].status.conditions[0].status',
        'kubernetes.namespaces.shop.cronJobs[0].spec.schedule',
      ]),
    );
  });
});

describe('kubernetes.nodes', () => {
  const node = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, ...extra } });
  const build = (kubernetes: Record<string, unknown>) => buildScenario({ ...parseScenario(minimal(), { now: NOW }), kubernetes });
  const pod = (nodeName: string) => ({ metadata: { name: 'p' }, spec: { nodeName, containers: [{ name: 'c', image: 'i' }] } });

  test('default to none, and then a pod may name any node (scenarios written before Nodes were served)', () => {
    const scenario = build({ namespaces: { shop: { pods: [pod('ip-10-0-0-1')] } } });
    expect(scenario.kubernetes.nodes).toEqual([]);
  });

  test('once Nodes are listed: unique names, no namespace, a taint effect the API knows, and every pod on a listed node', () => {
    const err = errorOf(() =>
      build({
        namespaces: { shop: { pods: [pod('gone')] } },
        nodes: [
          node('a'),
          node('a'),
          node('b', { namespace: 'default' }),
          { metadata: { name: 'c' }, spec: { taints: [{ key: 'k', effect: 'NoRun' }] } },
        ],
      }),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^kubernetes\.nodes\[3\]\.spec\.taints\[0\]\.effect: /)]),
    );
    const valid = errorOf(() =>
      build({ namespaces: { shop: { pods: [pod('gone')] } }, nodes: [node('a'), node('a'), node('b', { namespace: 'default' })] }),
    );
    expect(valid.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.nodes[1].metadata.name: duplicate node name "a"',
      'kubernetes.nodes[2].metadata.namespace: Nodes are cluster-scoped: leave out metadata.namespace',
      'kubernetes.namespaces.shop.pods[0].spec.nodeName: no node "gone" in kubernetes.nodes',
    ]);
  });
});

describe('HorizontalPodAutoscalers and PersistentVolumeClaims', () => {
  const build = (shop: Record<string, unknown>) =>
    buildScenario({ ...parseScenario(minimal(), { now: NOW }), kubernetes: { namespaces: { shop } } });

  test('default to none (scenarios written before they were served)', () => {
    const scenario = build({});
    expect([
      scenario.kubernetes.namespaces.shop?.horizontalPodAutoscalers,
      scenario.kubernetes.namespaces.shop?.persistentVolumeClaims,
    ]).toEqual([[], []]);
  });

  test('an HPA needs its target and maxReplicas; a claim phase is Pending, Bound or Lost', () => {
    const err = errorOf(() =>
      build({
        horizontalPodAutoscalers: [{ metadata: { name: 'web' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' } } }],
        persistentVolumeClaims: [{ metadata: { name: 'data' }, spec: {}, status: { phase: 'Waiting' } }],
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'kubernetes.namespaces.shop.horizontalPodAutoscalers[0].spec.maxReplicas',
        'kubernetes.namespaces.shop.persistentVolumeClaims[0].status.phase',
      ]),
    );
  });

  test('two claims of one name are refused', () => {
    const err = errorOf(() =>
      build({
        persistentVolumeClaims: [
          { metadata: { name: 'data' }, spec: {} },
          { metadata: { name: 'data' }, spec: {} },
        ],
      }),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.namespaces.shop.persistentVolumeClaims[1].metadata.name: duplicate persistentVolumeClaims name "data"',
    ]);
  });
});

describe('StatefulSets, DaemonSets and ControllerRevisions', () => {
  const template = { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const ownedPod = (kind: string, owner: string, name: string) => ({
    metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind, name: owner }] },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  });
  const statefulSet = (name: string) => ({ metadata: { name }, spec: { selector: { matchLabels: { app: 'db' } }, template } });
  const build = (shop: Record<string, unknown>) =>
    buildScenario({ ...parseScenario(minimal(), { now: NOW }), kubernetes: { namespaces: { shop } } });

  test('default to none, and a pod may name a StatefulSet or DaemonSet the namespace does not list (older scenarios)', () => {
    const scenario = build({ pods: [ownedPod('StatefulSet', 'db', 'db-0'), ownedPod('DaemonSet', 'agent', 'agent-x7k2p')] });
    const shop = scenario.kubernetes.namespaces.shop;
    expect([shop?.statefulSets, shop?.daemonSets, shop?.controllerRevisions]).toEqual([[], [], []]);
  });

  test('once StatefulSets are listed, a pod or ControllerRevision naming an unlisted one is refused', () => {
    const err = errorOf(() =>
      build({
        pods: [ownedPod('StatefulSet', 'db', 'db-0'), ownedPod('StatefulSet', 'gone', 'gone-0')],
        statefulSets: [statefulSet('db')],
        controllerRevisions: [
          {
            metadata: { name: 'gone-5d8c7b6f4', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'gone' }] },
            revision: 1,
            data: { spec: { template } },
          },
        ],
      }),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.namespaces.shop.pods[1].metadata.ownerReferences[0].name: no StatefulSet "gone" in namespace "shop"',
      'kubernetes.namespaces.shop.controllerRevisions[0].metadata.ownerReferences[0].name: no StatefulSet "gone" in namespace "shop"',
    ]);
  });

  test('a ControllerRevision needs its revision number; a DaemonSet status its four counts; a strategy is RollingUpdate or OnDelete', () => {
    const err = errorOf(() =>
      build({
        statefulSets: [{ ...statefulSet('db'), spec: { ...statefulSet('db').spec, updateStrategy: { type: 'Recreate' } } }],
        daemonSets: [{ metadata: { name: 'agent' }, spec: { selector: {}, template }, status: { numberReady: 1 } }],
        controllerRevisions: [{ metadata: { name: 'db-1' }, data: { spec: { template } } }],
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'kubernetes.namespaces.shop.statefulSets[0].spec.updateStrategy.type',
        'kubernetes.namespaces.shop.daemonSets[0].status.desiredNumberScheduled',
        'kubernetes.namespaces.shop.controllerRevisions[0].revision',
      ]),
    );
  });
});

describe('what a real kube-apiserver admits and serves (test/activities/kubernetes-apiserver.test.ts)', () => {
  const container = { name: 'c', image: 'i' };
  const pod = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { containers: [container], ...spec } });
  const event = (name: string, involvedObject: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: { name },
    involvedObject: { kind: 'Pod', name: 'web-1', ...involvedObject },
    type: 'Warning',
    reason: 'BackOff',
    message: 'x',
    ...extra,
  });
  const build = (kubernetes: Record<string, unknown>) =>
    buildScenario({ ...parseScenario(minimal(), { now: NOW }), kubernetes }, { now: NOW });

  test('a pod names a PriorityClass the scenario lists (or a system one), with that class’s value as its priority', () => {
    const priorityClasses = [{ metadata: { name: 'default-workload' }, value: 1000 }];
    const ok = build({
      priorityClasses,
      namespaces: {
        shop: {
          pods: [
            pod('a', { priorityClassName: 'default-workload', priority: 1000 }),
            pod('b', { priorityClassName: 'system-node-critical' }),
          ],
        },
      },
    });
    expect(ok.kubernetes.priorityClasses.map((c) => [c.metadata.name, c.value])).toEqual([['default-workload', 1000]]);
    const err = errorOf(() =>
      build({
        priorityClasses,
        namespaces: {
          shop: { pods: [pod('a', { priorityClassName: 'default-workload', priority: 10 }), pod('b', { priorityClassName: 'batch' })] },
        },
      }),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.namespaces.shop.pods[0].spec.priority: is 10, but priority class "default-workload" has value 1000',
      'kubernetes.namespaces.shop.pods[1].spec.priorityClassName: no priority class "batch" in kubernetes.priorityClasses',
    ]);
  });

  test('an event is listed with its object: in that object’s namespace, or in default when the object has none', () => {
    const ok = build({
      namespaces: {
        shop: { events: [event('a', { namespace: 'shop' })] },
        default: { events: [event('b', { kind: 'PersistentVolume', name: 'pv-1' })] },
      },
    });
    expect(Object.keys(ok.kubernetes.namespaces)).toEqual(['shop', 'default']);
    const err = errorOf(() => build({ namespaces: { shop: { events: [event('a', {}), event('b', { namespace: 'other' })] } } }));
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.namespaces.shop.events[0].involvedObject.namespace: is missing: the event is listed under namespace "shop", which keeps only events about its own objects',
      'kubernetes.namespaces.shop.events[1].involvedObject.namespace: is "other" but the event is listed under namespace "shop": an event is kept with its object',
    ]);
  });

  test('an eventTime and a series’ last time are held as the apiserver serves a MicroTime: six fractional digits', () => {
    const s = build({
      namespaces: {
        shop: {
          events: [
            event(
              'a',
              { namespace: 'shop' },
              { eventTime: '${now-13m}', series: { count: 6, lastObservedTime: '2025-03-01T11:59:00.123456Z' } },
            ),
          ],
        },
      },
    });
    expect(s.kubernetes.namespaces.shop?.events[0]).toMatchObject({
      eventTime: '2025-03-01T11:47:00.000000Z',
      series: { count: 6, lastObservedTime: '2025-03-01T11:59:00.123456Z' },
    });
  });

  test('the nulls the apiserver serves for unset times and an HPA without metrics load', () => {
    const s = build({
      namespaces: {
        shop: {
          pods: [
            {
              ...pod('a'),
              status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', lastTransitionTime: null }] },
            },
          ],
          events: [event('a', { namespace: 'shop' }, { firstTimestamp: null, lastTimestamp: null })],
          horizontalPodAutoscalers: [
            {
              metadata: { name: 'web' },
              spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3 },
              status: { desiredReplicas: 0, currentMetrics: null },
            },
          ],
        },
      },
    });
    expect(s.kubernetes.namespaces.shop?.events[0]).toMatchObject({ firstTimestamp: null, lastTimestamp: null });
  });

  test('a StatefulSet’s claim template has its access modes and storage request', () => {
    const template = { metadata: { labels: { app: 'db' } }, spec: { containers: [container] } };
    const statefulSet = (claim: Record<string, unknown>) => ({
      metadata: { name: 'db' },
      spec: { selector: { matchLabels: { app: 'db' } }, template, volumeClaimTemplates: [{ metadata: { name: 'data' }, ...claim }] },
    });
    expect(() =>
      build({
        namespaces: {
          shop: { statefulSets: [statefulSet({ spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } })] },
        },
      }),
    ).not.toThrow();
    const err = errorOf(() => build({ namespaces: { shop: { statefulSets: [statefulSet({ spec: { resources: { requests: {} } } })] } } }));
    expect(err.issues.map((i) => i.path)).toEqual([
      'kubernetes.namespaces.shop.statefulSets[0].spec.volumeClaimTemplates[0].spec.accessModes',
      'kubernetes.namespaces.shop.statefulSets[0].spec.volumeClaimTemplates[0].spec.resources.requests.storage',
    ]);
  });
});

describe('kubernetes.nodeEvents', () => {
  const nodeEvent = (
    fields: { name?: string; kind?: string; namespace?: string; objectNamespace?: string; lastTimestamp?: string } = {},
  ) => `
    - metadata:
        name: ${fields.name ?? 'ip-10-0-3-57.eu-west-1.compute.internal.1820b6d8e3b5d702'}${fields.namespace !== undefined ? `\n        namespace: ${fields.namespace}` : ''}
      involvedObject:
        kind: ${fields.kind ?? 'Node'}
        name: ip-10-0-3-57.eu-west-1.compute.internal${fields.objectNamespace !== undefined ? `\n        namespace: ${fields.objectNamespace}` : ''}
      type: Warning
      reason: EvictionThresholdMet
      message: Attempting to reclaim memory
      count: 4
      firstTimestamp: \${now-12m}
      lastTimestamp: ${fields.lastTimestamp ?? '${now-2m}'}
`;
  const withNodeEvents = (events: string, namespaces = '') => minimal(`kubernetes:\n${namespaces}  nodeEvents:${events}`);

  test('load without a default namespace, times resolved, and add no triaged namespace', () => {
    const s = parseScenario(withNodeEvents(nodeEvent({ namespace: 'default' }), '  namespaces:\n    shop: {}\n'), { now: NOW });
    expect(Object.keys(s.kubernetes.namespaces)).toEqual(['shop']);
    expect(s.kubernetes.nodeEvents).toHaveLength(1);
    expect(s.kubernetes.nodeEvents[0]).toMatchObject({
      involvedObject: { kind: 'Node', name: 'ip-10-0-3-57.eu-west-1.compute.internal' },
      reason: 'EvictionThresholdMet',
      firstTimestamp: '2025-03-01T11:48:00Z',
      lastTimestamp: '2025-03-01T11:58:00Z',
    });
  });

  test('default to none', () => {
    expect(parseScenario(minimal()).kubernetes.nodeEvents).toEqual([]);
  });

  test('an event about anything but a Node is refused, naming its path', () => {
    const err = errorOf(() =>
      parseScenario(withNodeEvents(`${nodeEvent()}${nodeEvent({ name: 'web-1.1820b6f1c3a5e701', kind: 'Pod' })}`), {
        source: 'nodes.yaml',
      }),
    );
    expect(err.message).toContain('nodes.yaml');
    expect(err.issues).toEqual([
      {
        path: 'kubernetes.nodeEvents[1].involvedObject.kind',
        message:
          'is "Pod", expected "Node": nodeEvents are events about Nodes; list events about other objects under kubernetes.namespaces.<namespace>.events',
      },
    ]);
  });

  test('a missing involvedObject.kind is refused too', () => {
    const err = errorOf(() =>
      buildScenario({
        ...parseScenario(minimal(), { now: NOW }),
        kubernetes: {
          nodeEvents: [
            { metadata: { name: 'n.1' }, involvedObject: { name: 'n' }, type: 'Normal', reason: 'NodeHasDiskPressure', message: 'x' },
          ],
        },
      }),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['kubernetes.nodeEvents[0].involvedObject.kind']);
  });

  test('a Node reference with a namespace is refused: Nodes are cluster-scoped', () => {
    const err = errorOf(() => parseScenario(withNodeEvents(nodeEvent({ objectNamespace: 'shop' }))));
    expect(err.issues).toEqual([
      {
        path: 'kubernetes.nodeEvents[0].involvedObject.namespace',
        message: 'a Node is cluster-scoped: its reference has no namespace (leave it out)',
      },
    ]);
  });

  test('a namespace other than default, a duplicate name and a clash with default’s own events are refused', () => {
    const ownDefault = `  namespaces:
    default:
      events:
        - metadata: { name: pod.b1 }
          involvedObject: { kind: Pod, name: web-1 }
          type: Warning
          reason: Evicted
          message: The node was low on resource memory.
`;
    const events = [
      nodeEvent({ name: 'node.a2', namespace: 'kube-system' }),
      nodeEvent({ name: 'node.a3' }),
      nodeEvent({ name: 'node.a3' }),
      nodeEvent({ name: 'pod.b1' }),
    ];
    const err = errorOf(() => parseScenario(withNodeEvents(events.join(''), ownDefault)));
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.nodeEvents[0].metadata.namespace: is "kube-system" but node events are served in namespace "default", where the kubelet records them',
      'kubernetes.nodeEvents[2].metadata.name: duplicate node event name "node.a3"',
      'kubernetes.nodeEvents[3].metadata.name: "pod.b1" is also listed under kubernetes.namespaces.default.events; both are served in namespace "default"',
    ]);
  });

  test('an unknown time template names its path', () => {
    const err = errorOf(() => parseScenario(withNodeEvents(nodeEvent({ lastTimestamp: '${now-2x}' }))));
    expect(err.issues).toEqual([{ path: 'kubernetes.nodeEvents[0].lastTimestamp', message: expect.stringMatching(/^unknown template/) }]);
  });

  test('unknown keys next to nodeEvents are typos', () => {
    const err = errorOf(() => parseScenario(minimal('kubernetes:\n  nodeEvent: []\n')));
    expect(err.issues[0]).toMatchObject({ path: 'kubernetes', message: expect.stringContaining('nodeEvent') });
  });

  test('the evicted-memory-pressure scenario loads with its Node events, and validates again unchanged', async () => {
    const loaded = await loadScenario(EVICTED, { now: NOW });
    expect(Object.keys(loaded.kubernetes.namespaces)).toEqual(['catalog']);
    expect(loaded.kubernetes.nodeEvents.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual([
      'Node/ip-10-0-3-57.eu-west-1.compute.internal Normal NodeHasInsufficientMemory',
      'Node/ip-10-0-3-57.eu-west-1.compute.internal Warning EvictionThresholdMet',
    ]);
    expect(buildScenario(loaded, { now: NOW })).toEqual(loaded);
  });
});

describe('github section', () => {
  test('the crashloop scenario files its issue in acme/checkout', async () => {
    expect((await loadScenario(CRASHLOOP, { now: NOW })).github).toEqual({ repo: 'acme/checkout' });
  });

  test('is optional', () => {
    expect(parseScenario(minimal()).github).toBeUndefined();
  });

  test.each(['acme/checkout', 'Acme-Corp/checkout.api', 'a/b_c-d.e', `${'o'.repeat(39)}/${'r'.repeat(100)}`])('accepts repo %s', (repo) => {
    expect(parseScenario(minimal(`github:\n  repo: ${repo}\n`)).github?.repo).toBe(repo);
  });

  test.each([
    'checkout',
    'acme/checkout/extra',
    '-acme/checkout',
    'acme-/checkout',
    'ac--me/checkout',
    'acme/..',
    'acme/che ckout',
    `${'o'.repeat(40)}/r`,
    `o/${'r'.repeat(101)}`,
  ])('refuses repo %s, naming the field', (repo) => {
    const err = errorOf(() => parseScenario(minimal(`github:\n  repo: ${JSON.stringify(repo)}\n`)));
    expect(err.issues[0]).toEqual({ path: 'github.repo', message: 'must be owner/name, as GitHub spells repositories' });
  });

  test('unknown keys are typos, as elsewhere', () => {
    const err = errorOf(() => parseScenario(minimal('github:\n  repo: acme/checkout\n  repository: acme/checkout\n')));
    expect(err.issues[0]?.path).toBe('github');
  });
});

describe('metric series', () => {
  const withSeries = (series: string) =>
    parseScenario(
      minimal(`
cloudwatch:
  metrics:
    - label: p99
      namespace: AWS/ApplicationELB
      metricName: TargetResponseTime
      unit: Seconds
      series: ${series}
`),
      { now: NOW },
    ).cloudwatch!.metrics[0]!.series;

  test('a shape expands to one point per step, moving at changeAt, the same on every load', () => {
    const points = withSeries('{ start: "${now-10m}", end: "${now}", baseline: 1, incident: 5, changeAt: "${now-4m}", jitter: 0.1 }');
    expect(points).toHaveLength(11);
    expect(points[0]![0]).toBe(NOW - 10 * 60_000);
    expect(points.slice(0, 6).every(([, v]) => v >= 0.9 && v <= 1.1)).toBe(true);
    expect(points.slice(6).every(([, v]) => v >= 4.5 && v <= 5.5)).toBe(true);
    expect(withSeries('{ start: "${now-10m}", end: "${now}", baseline: 1, incident: 5, changeAt: "${now-4m}", jitter: 0.1 }')).toEqual(
      points,
    );
  });

  test('explicit values are placed one step apart from start', () => {
    expect(withSeries('{ start: "${now-2m}", stepSeconds: 60, values: [1, 2, 3] }')).toEqual([
      [NOW - 120_000, 1],
      [NOW - 60_000, 2],
      [NOW, 3],
    ]);
  });

  test.each([
    ['incident without changeAt', '{ start: "${now-10m}", end: "${now}", baseline: 1, incident: 5 }', /incident and changeAt go together/],
    ['end before start', '{ start: "${now}", end: "${now-10m}", baseline: 1 }', /end must be after start/],
    ['too many points', '{ start: "${now-2d}", end: "${now}", stepSeconds: 60, baseline: 1 }', /at most 1,440 points/],
  ])('%s is refused', (_name, series, message) => {
    expect(() => withSeries(series)).toThrow(message);
  });

  test('a loaded scenario validates again unchanged', async () => {
    const loaded = await loadScenario(CRASHLOOP, { now: NOW });
    expect(buildScenario(loaded, { now: NOW })).toEqual(loaded);
  });
});
