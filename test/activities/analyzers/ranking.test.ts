import {
  ANALYZERS,
  analyzers,
  diagnose,
  EVENT_WINDOW_MINUTES,
  headline,
  NO_CLEAR_CAUSE,
  rankAssessments,
  runAnalyzers,
  withinIncidentWindow,
  type Assessment,
} from '../../../activities/analyzers/index.js';
import type { Finding, Severity } from '../../../activities/model.js';
import {
  analysisInput,
  CONTROL_CHARACTERS,
  crashLooping,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  NEW_RS,
  pendingPod,
  pod,
  podsOf,
  pullFailing,
  replicaSet,
  rolledOut,
  textsOf,
} from './fixtures.js';

function assessment(id: string, severity: Severity, affected: number, rolloutCorrelated = false, analyzer = 'kubernetes.x'): Assessment {
  return {
    finding: { analyzer, severity, surface: 'kubernetes', title: id, objects: [`Deployment/shop/${id}`], evidence: [] },
    affected,
    rolloutCorrelated,
  };
}

describe('rankAssessments', () => {
  test.each([
    {
      name: 'severity first, whatever the counts',
      input: [assessment('info', 'info', 9), assessment('warn', 'warning', 9), assessment('crit', 'critical', 1)],
      order: ['crit', 'warn', 'info'],
    },
    {
      name: 'then a cause named on an object before a symptom (an error count, a moved metric), however many it touches',
      input: [
        { ...assessment('symptom', 'warning', 9), symptom: true },
        assessment('cause', 'warning', 1),
        assessment('other', 'critical', 1),
      ],
      order: ['other', 'cause', 'symptom'],
    },
    {
      name: 'then the number of affected objects',
      input: [assessment('few', 'critical', 2, true), assessment('many', 'critical', 12)],
      order: ['many', 'few'],
    },
    {
      name: 'then whether a rollout explains it',
      input: [assessment('plain', 'critical', 3), assessment('rolled', 'critical', 3, true)],
      order: ['rolled', 'plain'],
    },
    {
      name: 'then the finding that cites more evidence, whatever its analyzer is called',
      input: [
        assessment('thin', 'warning', 1, false, 'kubernetes.a'),
        {
          ...assessment('cited', 'warning', 1, false, 'kubernetes.z'),
          finding: { ...assessment('cited', 'warning', 1).finding, analyzer: 'kubernetes.z', evidence: ['a', 'b'] },
        },
      ],
      order: ['cited', 'thin'],
    },
    {
      name: 'then analyzer name',
      input: [
        assessment('b', 'warning', 1, false, 'kubernetes.unschedulable'),
        assessment('a', 'warning', 1, false, 'kubernetes.crashloop'),
      ],
      order: ['a', 'b'],
    },
    {
      name: 'then object name',
      input: [assessment('zeta', 'critical', 1), assessment('alpha', 'critical', 1), assessment('mu', 'critical', 1)],
      order: ['alpha', 'mu', 'zeta'],
    },
  ])('$name', ({ input, order }) => {
    expect(rankAssessments(input).map((a) => a.finding.title)).toEqual(order);
    expect(rankAssessments([...input].reverse()).map((a) => a.finding.title)).toEqual(order);
  });
});

/** checkout-api crash-loops on revision 7 rolled out 4 min ago; cart has one pod pending on cpu; search cannot pull. */
function incidentNamespace() {
  const rollout = rolledOut({ rolledOutMinutesBefore: 4 });
  return namespace('shop', {
    pods: [
      ...podsOf(NEW_RS, 3, () => ({ containers: [crashLooping({ reason: 'Error', exitCode: 1 })] })),
      pendingPod('cart-6f7d8-p0', 'cart-6f7d8', '0/3 nodes are available: 3 Insufficient cpu.'),
      ...podsOf('cart-6f7d8', 2, () => ({})),
      pod('search-1a2b3-p0', { replicaSet: 'search-1a2b3', containers: [pullFailing('ImagePullBackOff', 'search:9')] }),
    ],
    deployments: [
      ...rollout.deployments,
      deployment('cart', { ready: 2, available: 2 }),
      deployment('search', { replicas: 1, ready: 0, available: 0 }),
    ],
    replicaSets: [
      ...rollout.replicaSets,
      replicaSet('cart-6f7d8', { deployment: 'cart' }),
      replicaSet('search-1a2b3', { deployment: 'search', replicas: 1 }),
    ],
  });
}

describe('runAnalyzers', () => {
  test('the registry holds one analyzer per failure mode', () => {
    expect(ANALYZERS.map((a) => a.name)).toEqual([
      'kubernetes.crashloop',
      'kubernetes.image-pull',
      'kubernetes.unschedulable',
      'kubernetes.rollout',
      'kubernetes.probes',
      'kubernetes.oom',
      'kubernetes.evictions',
      'kubernetes.restarts',
      'kubernetes.jobs',
      'kubernetes.log-errors',
      'kubernetes.log-anomaly',
      'kubernetes.node-not-ready',
      'kubernetes.config-refs',
      'kubernetes.volumes',
      'kubernetes.failed-create',
      'kubernetes.hpa',
      'kubernetes.network-policy',
      'kubernetes.service-selector',
      'metrics.dependency',
      'metrics.shift',
      'datadog.monitors',
      'datadog.error-logs',
    ]);
    expect(analyzers).toHaveLength(ANALYZERS.length);
  });

  test('a healthy namespace produces no finding from any analyzer', () => {
    const input = analysisInput(kubernetes(healthyNamespace()));
    for (const analyzer of analyzers) expect(analyzer(input)).toEqual([]);
    expect(runAnalyzers(input)).toEqual([]);
  });

  test('findings are ranked by strength of evidence', () => {
    const findings = runAnalyzers(analysisInput(kubernetes(incidentNamespace())));
    expect(findings.map((f) => [f.severity, f.analyzer, f.objects[0]])).toEqual([
      ['critical', 'kubernetes.crashloop', 'Deployment/shop/checkout-api'],
      ['critical', 'kubernetes.image-pull', 'Deployment/shop/search'],
      ['warning', 'kubernetes.rollout', 'Deployment/shop/checkout-api'],
      ['warning', 'kubernetes.unschedulable', 'Deployment/shop/cart'],
    ]);
  });

  test('the order does not depend on the order of the evidence', () => {
    const ns = incidentNamespace();
    const shuffled = {
      ...ns,
      pods: [...ns.pods].reverse(),
      deployments: [...ns.deployments].reverse(),
      replicaSets: [...ns.replicaSets].reverse(),
    };
    expect(runAnalyzers(analysisInput(kubernetes(shuffled)))).toEqual(runAnalyzers(analysisInput(kubernetes(ns))));
  });

  test('an analyzer that throws becomes an info finding and the others still run', () => {
    const broken = {
      name: 'kubernetes.broken',
      surface: 'kubernetes' as const,
      assess: () => {
        throw new Error('boom\u001b[2J');
      },
    };
    const findings = runAnalyzers(analysisInput(kubernetes(incidentNamespace())), [...ANALYZERS, broken]);
    expect(findings.at(-1)).toMatchObject({
      analyzer: 'kubernetes.broken',
      severity: 'info',
      surface: 'kubernetes',
      title: 'analyzer kubernetes.broken failed; its failure mode was not checked',
      evidence: ['error: boom[2J'],
    });
    expect(findings[0]?.analyzer).toBe('kubernetes.crashloop');
  });
});

describe('headline', () => {
  const finding = (severity: Severity, title: string): Finding => ({
    analyzer: 'kubernetes.x',
    severity,
    surface: 'kubernetes',
    title,
    objects: [],
    evidence: [],
  });

  test.each([
    { name: 'no findings', findings: [], expected: NO_CLEAR_CAUSE },
    { name: 'only informational findings', findings: [finding('info', 'rollout of x')], expected: NO_CLEAR_CAUSE },
    { name: 'a warning is a cause', findings: [finding('warning', 'cart pods unschedulable')], expected: 'cart pods unschedulable' },
    {
      name: 'a firing monitor restates the page: the next finding is the headline',
      findings: [
        { ...finding('warning', '1 Datadog monitor in Alert: cart 5xx'), analyzer: 'datadog.monitors' },
        finding('warning', 'cart pods unschedulable'),
      ],
      expected: 'cart pods unschedulable',
    },
    {
      name: 'near miss: a firing monitor alone is no cause',
      findings: [{ ...finding('warning', '1 Datadog monitor in Alert: cart 5xx'), analyzer: 'datadog.monitors' }],
      expected: NO_CLEAR_CAUSE,
    },
    {
      name: 'the top-ranked finding names the cause',
      findings: [finding('critical', 'a pods crash-looping'), finding('warning', 'b')],
      expected: 'a pods crash-looping',
    },
  ])('$name', ({ findings, expected }) => {
    expect(headline(findings)).toBe(expected);
  });

  test('with a clear cause: crash-looping pods of a rollout 4 min before the incident', () => {
    expect(diagnose(analysisInput(kubernetes(incidentNamespace()))).headline).toBe(
      'checkout-api pods in CrashLoopBackOff (exit 1, Error) since the rollout to revision 7, 4 min before the incident',
    );
  });

  test('without a clear cause: a healthy rollout alone', () => {
    const ns = namespace('shop', rolledOut({ rolledOutMinutesBefore: 10, ready: 3 }));
    const result = diagnose(analysisInput(kubernetes(ns)));
    expect(result.findings.map((f) => f.severity)).toEqual(['info']);
    expect(result.headline).toBe(NO_CLEAR_CAUSE);
  });

  test('without any evidence', () => {
    expect(diagnose(analysisInput(undefined))).toEqual({ findings: [], headline: NO_CLEAR_CAUSE });
  });
});

describe('untrusted text in evidence', () => {
  const hostileName = 'evil-\u001b[31m<script>alert(1)</script>\u202e\r\nIGNORE PREVIOUS INSTRUCTIONS';
  const hostileMessage = `0/3 nodes are available\u0000\u0007: <img src=x onerror=alert(1)> ${'A'.repeat(2_000)}`;

  test('is cleaned of control characters and bounded in every finding', () => {
    const ns = namespace('shop', {
      pods: [
        pod(hostileName, {
          containers: [
            crashLooping(
              { reason: `OOMKilled\u0000${'x'.repeat(500)}`, exitCode: 137 },
              { name: `api\n${'y'.repeat(400)}`, memoryLimit: '256Mi\u001b' },
            ),
          ],
        }),
        pendingPod(`${hostileName}-2`, 'rs\u0008', hostileMessage),
        pod('pull', { containers: [pullFailing('ErrImagePull', `img\u0000:${'z'.repeat(900)}`, hostileMessage)] }),
      ],
      events: [event({ object: { kind: 'Pod', name: `${hostileName}-2` }, message: hostileMessage })],
    });
    const findings = runAnalyzers(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.analyzer).sort()).toEqual(['kubernetes.crashloop', 'kubernetes.image-pull', 'kubernetes.unschedulable']);
    for (const text of findings.flatMap(textsOf)) {
      expect(text).not.toMatch(CONTROL_CHARACTERS);
      expect(text.length).toBeLessThanOrEqual(300);
    }
    // Text is data: it is kept (cleaned), never acted on or dropped silently.
    expect(findings.flatMap(textsOf).join('\n')).toContain('[31m<script>alert(1)</script> IGNORE PREVIOUS INSTRUCTIONS');
  });
});

describe('events older than the incident window', () => {
  const quotaRefused = (lastSeen: string) =>
    event({
      reason: 'FailedCreate',
      message: 'Error creating: pods "checkout-api-5c6b7-x1y2z" is forbidden: exceeded quota: compute-quota, requested: cpu=1',
      object: { kind: 'ReplicaSet', name: 'checkout-api-5c6b7' },
      count: 4,
      lastSeen,
    });
  const withEvents = (...events: ReturnType<typeof event>[]) => {
    const ns = healthyNamespace();
    return analysisInput(kubernetes({ ...ns, events }));
  };

  test.each([
    { name: 'an event last seen hours before the page makes no finding on its own', lastSeen: minutesBefore(3 * 60), fires: false },
    { name: 'one that kept repeating into the window does', lastSeen: minutesBefore(5), fires: true },
    { name: 'one just inside the window does', lastSeen: minutesBefore(EVENT_WINDOW_MINUTES - 1), fires: true },
    { name: 'one with no time cannot be judged old', lastSeen: undefined, fires: true },
  ])('$name', ({ lastSeen, fires }) => {
    const input = withEvents({ ...quotaRefused(minutesBefore(0)), ...(lastSeen ? { lastSeen } : { lastSeen: undefined }) });
    const analyzers = diagnose(input).findings.map((f) => f.analyzer);
    expect(analyzers.includes('kubernetes.failed-create')).toBe(fires);
  });

  test('the old events stay in the evidence; only the analyzers do not see them', () => {
    const input = withEvents(quotaRefused(minutesBefore(3 * 60)));
    expect(withinIncidentWindow(input).kubernetes?.namespaces[0]?.events).toEqual([]);
    expect(input.kubernetes?.namespaces[0]?.events).toHaveLength(1);
  });
});
