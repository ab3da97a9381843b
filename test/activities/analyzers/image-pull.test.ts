import { imagePullAnalyzer } from '../../../activities/analyzers/image-pull.js';
import { MAX_UNTRUSTED_TEXT } from '../../../config/untrusted-text.js';
import type { NamespaceEvidence } from '../../../activities/model.js';
import {
  analysisInput,
  crashLooping,
  deployment,
  healthyNamespace,
  kubernetes,
  namespace,
  NEW_IMAGE,
  NEW_RS,
  OLD_RS,
  pod,
  podsOf,
  pullFailing,
  replicaSet,
  rolledOut,
} from './fixtures.js';

const notFound = `rpc error: code = NotFound desc = failed to pull and unpack image "${NEW_IMAGE}": not found`;

interface Case {
  name: string;
  ns: NamespaceEvidence;
  expected: { titles: string[]; objects?: string[][]; evidence?: string[] };
}

const cases: Case[] = [
  { name: 'healthy namespace', ns: healthyNamespace(), expected: { titles: [] } },
  {
    name: 'crash-looping pods are not image-pull failures',
    ns: namespace('shop', { pods: [pod('worker', { containers: [crashLooping({ reason: 'Error', exitCode: 1 })] })] }),
    expected: { titles: [] },
  },
  {
    name: 'ImagePullBackOff on every pod of a deployment',
    ns: namespace('shop', {
      pods: podsOf(OLD_RS, 2, () => ({
        containers: [pullFailing('ImagePullBackOff', NEW_IMAGE, `Back-off pulling image "${NEW_IMAGE}"`)],
      })),
      deployments: [deployment('checkout-api', { ready: 1, available: 1 })],
      replicaSets: [replicaSet(OLD_RS)],
    }),
    expected: {
      titles: [`checkout-api pods cannot pull image ${NEW_IMAGE} (ImagePullBackOff)`],
      objects: [['Deployment/shop/checkout-api', 'Pod/shop/checkout-api-5c6b7-p0', 'Pod/shop/checkout-api-5c6b7-p1']],
      evidence: [
        '2 pods cannot start: image pull failing; Deployment shop/checkout-api has 1/3 ready, 1 available',
        `image ${NEW_IMAGE}: 2 pods waiting in ImagePullBackOff`,
        `kubelet: Back-off pulling image "${NEW_IMAGE}"`,
      ],
    },
  },
  {
    name: 'ErrImagePull cites the registry message',
    ns: namespace('shop', { pods: [pod('batch', { containers: [pullFailing('ErrImagePull', NEW_IMAGE, notFound)] })] }),
    expected: {
      titles: [`pod batch cannot pull image ${NEW_IMAGE} (ErrImagePull)`],
      objects: [['Pod/shop/batch']],
      evidence: [`kubelet: ${notFound}`],
    },
  },
  {
    name: 'InvalidImageName',
    ns: namespace('shop', { pods: [pod('batch', { containers: [pullFailing('InvalidImageName', 'Registry/UPPER:tag')] })] }),
    expected: { titles: ['pod batch cannot pull image Registry/UPPER:tag (InvalidImageName)'] },
  },
  {
    name: 'mixed reasons across pods of one workload make one finding',
    ns: namespace('shop', {
      pods: [
        ...podsOf(NEW_RS, 1, () => ({ containers: [pullFailing('ErrImagePull', NEW_IMAGE, notFound)] })),
        pod(`${NEW_RS}-p9`, { replicaSet: NEW_RS, containers: [pullFailing('ImagePullBackOff', NEW_IMAGE)] }),
      ],
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
    }),
    expected: {
      titles: [
        `checkout-api pods cannot pull image ${NEW_IMAGE} (ErrImagePull, ImagePullBackOff) since the rollout to revision 7, 4 min before the incident`,
      ],
      evidence: [
        `image ${NEW_IMAGE}: 2 pods waiting in ErrImagePull, ImagePullBackOff`,
        'both failing pods are of revision 7 (ReplicaSet checkout-api-7d9f8), rolled out at 2024-05-01T10:26:00Z, 4 min before the incident',
      ],
    },
  },
  {
    name: "the registry's answer is cited over the back-off message, whichever sorts first",
    ns: namespace('shop', {
      pods: [
        pod(`${NEW_RS}-p0`, {
          replicaSet: NEW_RS,
          containers: [pullFailing('ImagePullBackOff', NEW_IMAGE, `Back-off pulling image "${NEW_IMAGE}"`)],
        }),
        pod(`${NEW_RS}-p1`, { replicaSet: NEW_RS, containers: [pullFailing('ErrImagePull', NEW_IMAGE, notFound)] }),
      ],
      ...rolledOut({ rolledOutMinutesBefore: 4 }),
    }),
    expected: {
      titles: [
        `checkout-api pods cannot pull image ${NEW_IMAGE} (ErrImagePull, ImagePullBackOff) since the rollout to revision 7, 4 min before the incident`,
      ],
      evidence: [`kubelet: ${notFound} (and 1 similar)`],
    },
  },
  {
    name: 'two images failing in one pod',
    ns: namespace('shop', {
      pods: [
        pod('batch', { containers: [pullFailing('ErrImagePull', 'a:1'), { ...pullFailing('ErrImagePull', 'b:2'), name: 'sidecar' }] }),
      ],
    }),
    expected: {
      titles: ['pod batch cannot pull 2 images (ErrImagePull)'],
      evidence: ['image a:1: 1 pod waiting in ErrImagePull', 'image b:2: 1 pod waiting in ErrImagePull'],
    },
  },
];

describe('imagePullAnalyzer', () => {
  test.each(cases)('$name', ({ ns, expected }) => {
    const findings = imagePullAnalyzer(analysisInput(kubernetes(ns)));
    expect(findings.map((f) => f.title)).toEqual(expected.titles);
    for (const finding of findings) {
      expect(finding).toMatchObject({ analyzer: 'kubernetes.image-pull', severity: 'critical', surface: 'kubernetes' });
    }
    if (expected.objects) expect(findings.map((f) => f.objects)).toEqual(expected.objects);
    const evidence = findings.flatMap((f) => f.evidence);
    for (const line of expected.evidence ?? []) expect(evidence).toContain(line);
  });

  test('a long waiting message is truncated', () => {
    const message = `failed to pull: ${'x'.repeat(5_000)}`;
    const ns = namespace('shop', { pods: [pod('batch', { containers: [pullFailing('ErrImagePull', NEW_IMAGE, message)] })] });
    const [finding] = imagePullAnalyzer(analysisInput(kubernetes(ns)));
    const line = finding?.evidence.find((l) => l.startsWith('kubelet: '));
    expect(line).toBeDefined();
    expect(line!.length).toBeLessThan(MAX_UNTRUSTED_TEXT);
    expect(line!.endsWith('…')).toBe(true);
  });
});
