import { hpaAnalyzer } from '../../../activities/analyzers/hpa.js';
import type { EventSummary, HorizontalPodAutoscalerSummary, HpaConditionSummary, NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  CONTROL_CHARACTERS,
  deployment,
  event,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  OLD_RS,
  textsOf,
} from './fixtures.js';

const MISSING_REQUEST = `failed to get cpu utilization: missing request for cpu in container api of Pod ${OLD_RS}-aaaaa`;
const NO_METRICS = 'failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API';

function hpaEvent(message: string, overrides: Partial<EventSummary> = {}, hpa = 'checkout-api-hpa'): EventSummary {
  return event({
    reason: 'FailedGetResourceMetric',
    message,
    object: { kind: 'HorizontalPodAutoscaler', name: hpa },
    count: 49,
    lastSeen: minutesBefore(1),
    ...overrides,
  });
}

/** The controller's second event for the same failure, wrapping the first's message. */
function computeEvent(message: string, overrides: Partial<EventSummary> = {}): EventSummary {
  return hpaEvent(`invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${message}`, {
    reason: 'FailedComputeMetricsReplicas',
    ...overrides,
  });
}

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'a container without a CPU request: the target is the owner of the pod the error names',
    ns: namespace('shop', { ...healthyNamespace(), events: [hpaEvent(MISSING_REQUEST), computeEvent(MISSING_REQUEST)] }),
    expected: {
      titles: ['HPA checkout-api-hpa cannot scale checkout-api: missing CPU request in container api'],
      objects: [['HorizontalPodAutoscaler/shop/checkout-api-hpa', 'Deployment/shop/checkout-api']],
      evidence: [
        'FailedComputeMetricsReplicas, FailedGetResourceMetric on HorizontalPodAutoscaler shop/checkout-api-hpa seen 98 times, last at 2024-05-01T10:29:00Z',
        `horizontal-pod-autoscaler: ${MISSING_REQUEST}`,
        'scale target: Deployment checkout-api',
      ],
    },
  },
  {
    name: 'quoted names and a memory metric; the pod is not in the evidence, so its name says the Deployment',
    ns: namespace('shop', {
      events: [
        hpaEvent(
          'failed to get memory utilization: missing request for memory in container "worker" of Pod "billing-7c9d8f6b5-qsq6d"',
          {},
          'billing',
        ),
      ],
    }),
    expected: {
      titles: ['HPA billing cannot scale billing: missing memory request in container worker'],
      objects: [['HorizontalPodAutoscaler/shop/billing']],
      evidence: ['scale target, going by the names: billing'],
    },
  },
  {
    name: 'the metrics API returned nothing',
    ns: namespace('shop', { ...healthyNamespace(), events: [hpaEvent(NO_METRICS), computeEvent(NO_METRICS)] }),
    expected: { titles: ['HPA checkout-api-hpa cannot read CPU metrics (metrics API returned none)'] },
  },
  {
    name: 'the metrics API is not there',
    ns: namespace('shop', {
      events: [
        hpaEvent(
          'failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)',
        ),
      ],
    }),
    expected: { titles: ['HPA checkout-api-hpa cannot read CPU metrics (metrics API unavailable)'] },
  },
  {
    name: "the newest error is the controller's current state: an early metrics gap, then the missing request",
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [hpaEvent(NO_METRICS, { lastSeen: minutesBefore(13), count: 4 }), hpaEvent(MISSING_REQUEST, { lastSeen: minutesBefore(1) })],
    }),
    expected: { titles: ['HPA checkout-api-hpa cannot scale checkout-api: missing CPU request in container api'] },
  },
  {
    name: 'pods without metrics yet',
    ns: namespace('shop', {
      events: [hpaEvent('did not receive metrics for targeted pods (pods might be unready)', { reason: 'FailedGetResourceMetric' })],
    }),
    expected: { titles: ['HPA checkout-api-hpa cannot read metrics of its pods (none received)'] },
  },
  {
    name: 'at its maximum, the target Deployment named after the HPA',
    ns: namespace('shop', {
      deployments: [deployment('checkout-api', { replicas: 10, ready: 10, available: 10 })],
      events: [hpaEvent('the desired replica count is more than the maximum replica count', { reason: 'ScalingLimited' })],
    }),
    expected: {
      titles: ['HPA checkout-api-hpa at its maximum of 10 replicas'],
      objects: [['HorizontalPodAutoscaler/shop/checkout-api-hpa', 'Deployment/shop/checkout-api']],
    },
  },
  {
    name: 'at its maximum, with no Deployment in the evidence',
    ns: namespace('shop', {
      events: [hpaEvent('the desired replica count is more than the maximum replica count', { reason: 'ScalingLimited' })],
    }),
    expected: { titles: ['HPA checkout-api-hpa at its maximum replica count'] },
  },
  {
    name: 'the scale target does not exist',
    ns: namespace('shop', {
      events: [
        hpaEvent('the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "checkout-apj" not found', {
          reason: 'FailedGetScale',
        }),
      ],
    }),
    expected: { titles: ['HPA checkout-api-hpa cannot get its target\'s scale: deployments/scale.apps "checkout-apj" not found'] },
  },
  {
    name: 'an error of no known shape is quoted with its reason',
    ns: namespace('shop', {
      events: [hpaEvent('failed to get pods metric value: unable to get metric requests_per_second', { reason: 'FailedGetPodsMetric' })],
    }),
    expected: {
      titles: [
        'HPA checkout-api-hpa cannot scale checkout-api: FailedGetPodsMetric: failed to get pods metric value: unable to get metric requests_per_second',
      ],
    },
  },
  {
    name: 'two HPAs, one finding each',
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [hpaEvent(MISSING_REQUEST), hpaEvent(NO_METRICS, {}, 'search-hpa')],
    }),
    expected: {
      titles: [
        'HPA checkout-api-hpa cannot scale checkout-api: missing CPU request in container api',
        'HPA search-hpa cannot read CPU metrics (metrics API returned none)',
      ],
    },
  },
  // Near misses: an autoscaler doing its job, and the same words about other objects.
  {
    name: 'near miss: Normal rescale events',
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [
        hpaEvent('New size: 5; reason: cpu resource utilization (percentage of request) above target', {
          type: 'Normal',
          reason: 'SuccessfulRescale',
        }),
      ],
    }),
    expected: { titles: [] },
  },
  {
    name: 'near miss: a metric failure recorded on another kind',
    ns: namespace('shop', {
      ...healthyNamespace(),
      events: [hpaEvent(MISSING_REQUEST, { object: { kind: 'Deployment', name: 'checkout-api' } })],
    }),
    expected: { titles: [] },
  },
];

describe('hpaAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = hpaAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const finding of findings) {
      // The app may be serving fine; only its scaling is broken.
      expect(finding).toMatchObject({ analyzer: 'kubernetes.hpa', severity: 'warning', surface: 'kubernetes' });
      for (const text of textsOf(finding)) expect(text).not.toMatch(CONTROL_CHARACTERS);
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });
});

describe('hpaAnalyzer, from the HPA object', () => {
  const condition = (type: string, status: string, reason: string, message: string, minutes = 30): HpaConditionSummary => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: minutesBefore(minutes),
  });
  const able = condition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
  const active = condition(
    'ScalingActive',
    'True',
    'ValidMetricFound',
    'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
  );
  const limited = condition(
    'ScalingLimited',
    'True',
    'TooManyReplicas',
    'the desired replica count is more than the maximum replica count',
    25,
  );
  const withinRange = condition('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range');
  const hpa = (name: string, overrides: Partial<HorizontalPodAutoscalerSummary> = {}): HorizontalPodAutoscalerSummary => ({
    name,
    target: { kind: 'Deployment', name: 'web' },
    minReplicas: 2,
    maxReplicas: 10,
    currentReplicas: 4,
    desiredReplicas: 4,
    conditions: [able, active, withinRange],
    metrics: ['cpu 65% of request (target 70%)'],
    ...overrides,
  });
  const missingRequest = condition(
    'ScalingActive',
    'False',
    'FailedGetResourceMetric',
    `the HPA was unable to compute the replica count: failed to get cpu resource metric value: ${MISSING_REQUEST}`,
    120,
  );

  interface ObjectCase {
    name: string;
    hpas: HorizontalPodAutoscalerSummary[];
    events?: EventSummary[];
    titles: string[];
    evidence?: string[];
  }

  const objectCases: ObjectCase[] = [
    {
      name: 'pinned at its maximum, wanting more: names the HPA, its target, the maximum and the metric against its target',
      hpas: [
        hpa('web', {
          currentReplicas: 10,
          desiredReplicas: 10,
          conditions: [able, active, limited],
          metrics: ['cpu 180% of request (target 70%)'],
        }),
      ],
      titles: ['HPA web at its maximum of 10 replicas (Deployment web): desires more (cpu 180% of request, target 70%)'],
      evidence: [
        `ScalingLimited True (TooManyReplicas) since ${minutesBefore(25)}: the desired replica count is more than the maximum replica count`,
        'replicas: 10 current, 10 desired (min 2, max 10)',
        'metrics: cpu 180% of request (target 70%)',
        'scale target: Deployment web',
      ],
    },
    {
      name: 'a desired count above the maximum says the same without the condition',
      hpas: [hpa('web', { currentReplicas: 10, desiredReplicas: 14, conditions: [], metrics: [] })],
      titles: ['HPA web at its maximum of 10 replicas (Deployment web): desires more'],
    },
    {
      name: 'cannot compute its metrics (no cpu request): the condition names the container, even after the events expired',
      hpas: [
        hpa('api-hpa', {
          target: { kind: 'Deployment', name: 'api' },
          desiredReplicas: 0,
          conditions: [able, missingRequest],
          metrics: ['cpu: no current value (target 50%)'],
        }),
      ],
      titles: ['HPA api-hpa cannot scale api: missing CPU request in container api'],
      evidence: [
        `ScalingActive False (FailedGetResourceMetric) since ${minutesBefore(120)}: the HPA was unable to compute the replica count: failed to get cpu resource metric value: ${MISSING_REQUEST}`,
        'replicas: 4 current, 0 desired (min 2, max 10)',
      ],
    },
    {
      name: 'an unknown metric source: the reason and the controller’s words',
      hpas: [
        hpa('web', {
          conditions: [
            able,
            condition(
              'ScalingActive',
              'False',
              'InvalidMetricSourceType',
              'the HPA was unable to compute the replica count: unknown metric source type "Foo"',
            ),
          ],
        }),
      ],
      titles: ['HPA web cannot scale web: InvalidMetricSourceType: unknown metric source type "Foo"'],
    },
    {
      name: 'the condition and the events say the same: one finding, the events counted in its evidence',
      hpas: [hpa('checkout-api-hpa', { target: { kind: 'Deployment', name: 'checkout-api' }, conditions: [able, missingRequest] })],
      events: [hpaEvent(MISSING_REQUEST), computeEvent(MISSING_REQUEST)],
      titles: ['HPA checkout-api-hpa cannot scale checkout-api: missing CPU request in container api'],
      evidence: [
        'FailedComputeMetricsReplicas, FailedGetResourceMetric on HorizontalPodAutoscaler shop/checkout-api-hpa seen 98 times, last at 2024-05-01T10:29:00Z',
      ],
    },
    {
      name: 'events about an HPA that is not listed still speak for it',
      hpas: [hpa('web')],
      events: [hpaEvent(MISSING_REQUEST)],
      titles: ['HPA checkout-api-hpa cannot scale checkout-api: missing CPU request in container api'],
    },
    {
      name: 'near miss: a listed HPA that is healthy now; its old warnings are history',
      hpas: [hpa('checkout-api-hpa', { target: { kind: 'Deployment', name: 'checkout-api' } })],
      events: [hpaEvent(MISSING_REQUEST, { lastSeen: minutesBefore(50) })],
      titles: [],
    },
    {
      name: 'near miss: at its maximum because minReplicas == maxReplicas, and idle',
      hpas: [
        hpa('batch', {
          minReplicas: 3,
          maxReplicas: 3,
          currentReplicas: 3,
          desiredReplicas: 3,
          conditions: [
            able,
            active,
            condition('ScalingLimited', 'True', 'TooFewReplicas', 'the desired replica count is less than the minimum replica count'),
          ],
          metrics: ['cpu 12% of request (target 80%)'],
        }),
      ],
      titles: [],
    },
    {
      name: 'near miss: at its maximum but not limited (the load fits exactly)',
      hpas: [hpa('web', { currentReplicas: 10, desiredReplicas: 10, conditions: [able, active, withinRange] })],
      titles: [],
    },
    {
      name: 'near miss: scaling disabled because its target was scaled to zero on purpose',
      hpas: [
        hpa('web', {
          currentReplicas: 0,
          desiredReplicas: 0,
          conditions: [
            able,
            condition('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero'),
          ],
        }),
      ],
      titles: [],
    },
    {
      name: 'near miss: AbleToScale False while backing off is routine',
      hpas: [
        hpa('web', {
          conditions: [
            condition(
              'AbleToScale',
              'False',
              'BackoffBoth',
              'the time since the previous scale is still within both the downscale and upscale forbidden windows',
            ),
            active,
            withinRange,
          ],
        }),
      ],
      titles: [],
    },
  ];

  test.each(objectCases)('$name', ({ hpas, events = [], titles, evidence }) => {
    const ns = { ...namespace('shop', { ...healthyNamespace(), events }), horizontalPodAutoscalers: hpas };
    const findings = hpaAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(titles);
    for (const f of findings) expect(f.severity).toBe('warning');
    for (const line of evidence ?? []) expect(findings[0]?.evidence).toContain(line);
  });

  test('the listed HPA names its target as an object, from scaleTargetRef', () => {
    const ns = {
      ...namespace('shop', healthyNamespace()),
      horizontalPodAutoscalers: [hpa('web-autoscaler', { conditions: [able, missingRequest] })],
    };
    expect(hpaAnalyzer(analysisInput(kubernetes(ns)))[0]?.objects).toEqual([
      'HorizontalPodAutoscaler/shop/web-autoscaler',
      'Deployment/shop/web',
    ]);
  });
});
