import { createRolloutAssessor, rolloutAnalyzer } from '../../../activities/analyzers/rollout.js';
import type { NamespaceEvidence, Severity } from '../../../activities/model.js';
import {
  analysisInput,
  deployment,
  healthyNamespace,
  kubernetes,
  minutesBefore,
  namespace,
  NEW_IMAGE,
  NEW_RS,
  OLD_IMAGE,
  OLD_RS,
  replicaSet,
  rolledOut,
} from './fixtures.js';

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { findings: { title: string; severity: Severity }[]; evidence?: string[]; objects?: string[] };
}

const rolloutTitle = (minutes: number) =>
  `rollout of checkout-api to revision 7 at ${minutesBefore(minutes)}, ${minutes} min before the incident`;

const cases: Case[] = [
  { name: 'healthy namespace, revision from hours ago', ns: healthyNamespace(), expected: { findings: [] } },
  {
    name: 'rollout 4 min before the incident, deployment degraded',
    ns: namespace('shop', rolledOut({ rolledOutMinutesBefore: 4, ready: 1 })),
    expected: {
      findings: [{ title: rolloutTitle(4), severity: 'warning' }],
      objects: ['Deployment/shop/checkout-api', 'ReplicaSet/shop/checkout-api-7d9f8', 'ReplicaSet/shop/checkout-api-5c6b7'],
      evidence: [
        'Deployment shop/checkout-api revision 7 created at 2024-05-01T10:26:00Z, 4 min before the incident',
        `image changed from ${OLD_IMAGE} to ${NEW_IMAGE}`,
        'new ReplicaSet checkout-api-7d9f8 (revision 7): 1/3 ready',
        'previous ReplicaSet checkout-api-5c6b7 (revision 6): 0/0 ready',
        'Deployment status: 1/3 ready, 3 updated, 1 available',
        'condition Available=False (MinimumReplicasUnavailable)',
      ],
    },
  },
  {
    name: 'rollout inside the window, deployment healthy, is only info',
    ns: namespace('shop', rolledOut({ rolledOutMinutesBefore: 30, ready: 3 })),
    expected: { findings: [{ title: rolloutTitle(30), severity: 'info' }] },
  },
  {
    name: 'rollout exactly at the window edge counts',
    ns: namespace('shop', rolledOut({ rolledOutMinutesBefore: 60, ready: 3 })),
    expected: { findings: [{ title: rolloutTitle(60), severity: 'info' }] },
  },
  {
    name: 'rollout 61 min before the incident is outside the window',
    ns: namespace('shop', rolledOut({ rolledOutMinutesBefore: 61, ready: 1 })),
    expected: { findings: [] },
  },
  {
    name: 'rollout after the incident opened is a reaction, not a cause',
    ns: namespace('shop', rolledOut({ rolledOutMinutesBefore: -2, ready: 1 })),
    expected: { findings: [] },
  },
  {
    name: 'rollout under a minute before the incident',
    ns: namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 0, ready: 0 }),
      replicaSets: [replicaSet('checkout-api-7d9f8', { revision: 7, createdAt: '2024-05-01T10:29:40Z' })],
    }),
    expected: {
      findings: [
        {
          title: 'rollout of checkout-api to revision 7 at 2024-05-01T10:29:40Z, less than 1 min before the incident',
          severity: 'warning',
        },
      ],
      evidence: [`first revision of the deployment; images ${OLD_IMAGE}`],
    },
  },
  {
    name: 'the newest revision decides, not the newest timestamp',
    ns: namespace('shop', {
      deployments: [deployment('checkout-api', { revision: 7 })],
      replicaSets: [
        replicaSet('checkout-api-aaaa1', { revision: 5, createdAt: minutesBefore(10) }),
        replicaSet('checkout-api-bbbb2', { revision: 7, createdAt: minutesBefore(180) }),
      ],
    }),
    expected: { findings: [] },
  },
  {
    name: 'same images: a configuration-only rollout',
    ns: namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 4, ready: 3, newImage: OLD_IMAGE }),
    }),
    expected: {
      findings: [{ title: rolloutTitle(4), severity: 'info' }],
      evidence: [`images unchanged (${OLD_IMAGE}): the new revision changed other parts of the pod template`],
    },
  },
  {
    name: 'ProgressDeadlineExceeded makes it a warning even with replicas ready',
    ns: namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 15, ready: 3 }),
      deployments: [
        deployment('checkout-api', {
          revision: 7,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "checkout-api-7d9f8" has timed out progressing.',
            },
          ],
        }),
      ],
    }),
    expected: {
      findings: [{ title: rolloutTitle(15), severity: 'warning' }],
      evidence: ['condition Progressing=False (ProgressDeadlineExceeded): ReplicaSet "checkout-api-7d9f8" has timed out progressing.'],
    },
  },
  {
    name: 'a replica not ready makes it a warning even with every condition true',
    ns: namespace('shop', {
      ...rolledOut({ rolledOutMinutesBefore: 4, ready: 3 }),
      deployments: [deployment('checkout-api', { revision: 7, ready: 2, available: 3 })],
    }),
    expected: { findings: [{ title: rolloutTitle(4), severity: 'warning' }] },
  },
  {
    name: 'ReplicaSets of another deployment are not mixed in',
    ns: namespace('shop', {
      deployments: [deployment('checkout-api'), deployment('checkout')],
      replicaSets: [
        replicaSet(OLD_RS, { revision: 3, createdAt: minutesBefore(500) }),
        replicaSet('checkout-9f8e7', { deployment: 'checkout', revision: 2, createdAt: minutesBefore(5) }),
      ],
    }),
    expected: {
      findings: [{ title: 'rollout of checkout to revision 2 at 2024-05-01T10:25:00Z, 5 min before the incident', severity: 'info' }],
    },
  },
];

describe('rolloutAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = rolloutAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => ({ title: f.title, severity: f.severity }))).toEqual(expected.findings);
    for (const finding of findings) expect(finding).toMatchObject({ analyzer: 'kubernetes.rollout', surface: 'kubernetes' });
    if (expected.objects) expect(findings[0]?.objects).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });

  test.each([
    { windowMinutes: 120, minutes: 90, found: true },
    { windowMinutes: 120, minutes: 121, found: false },
    { windowMinutes: 10, minutes: 30, found: false },
  ])('window of $windowMinutes min, rollout $minutes min before: found=$found', ({ windowMinutes, minutes, found }) => {
    const assess = createRolloutAssessor({ windowMinutes });
    const ns = namespace('shop', rolledOut({ rolledOutMinutesBefore: minutes }));
    expect(assess(analysisInput(kubernetes(ns))).length).toBe(found ? 1 : 0);
  });

  test('an incident time that does not parse correlates nothing', () => {
    const ns = namespace('shop', rolledOut({ rolledOutMinutesBefore: 4 }));
    expect(rolloutAnalyzer(analysisInput(kubernetes(ns), { createdAt: 'not a time' }))).toEqual([]);
  });
});

describe('what the rollout changed in the pod template', () => {
  const withTemplates = (before: Record<string, string>, after: Record<string, string>) => {
    const ns = namespace('shop', rolledOut({ rolledOutMinutesBefore: 4, ready: 1 }));
    ns.replicaSets = ns.replicaSets.map((rs) => ({ ...rs, template: rs.name === NEW_RS ? after : before }));
    return ns;
  };

  test('names the parts whose digests differ, and init containers added or removed', () => {
    const before = { 'api: image': 'a1', 'api: env': 'e1', 'api: probes': 'p1', 'init container migrate': 'm1' };
    const after = { 'api: image': 'a1', 'api: env': 'e2', 'api: probes': 'p1', 'init container seed': 's1' };
    const [finding] = rolloutAnalyzer(analysisInput(kubernetes(withTemplates(before, after))));
    expect(finding?.evidence).toContain('pod template changed: api: env, init container migrate removed, init container seed added');
  });

  test('near miss: the same digests name no change', () => {
    const same = { 'api: image': 'a1', 'api: env': 'e1' };
    const [finding] = rolloutAnalyzer(analysisInput(kubernetes(withTemplates(same, same))));
    expect(finding?.evidence.join('\n')).not.toMatch(/pod template changed/);
  });
});
