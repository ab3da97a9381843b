// Images the kubelet cannot pull: a wrong tag, a missing registry credential or
// an invalid reference. Which image, and what the registry said, settle it.
import type { ContainerSummary, IncidentRef, NamespaceEvidence, PodSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import {
  assessPerWorkload,
  compareText,
  describeRolloutLink,
  describeWorkloadHealth,
  plural,
  podsWithContainer,
  rolloutLink,
  titleSuffixFor,
  workloadAssessment,
  type WorkloadGroup,
} from './workloads.js';

export const IMAGE_PULL_ANALYZER = 'kubernetes.image-pull';

export const IMAGE_PULL_REASONS: readonly string[] = ['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull'];

const MESSAGE_LIMIT = 200;

function isPullFailure(container: ContainerSummary): boolean {
  return container.waiting !== undefined && IMAGE_PULL_REASONS.includes(container.waiting.reason);
}

interface PullFailure {
  pod: PodSummary;
  image: string;
  reason: string;
  message?: string;
}

function failuresOf(pods: readonly PodSummary[]): PullFailure[] {
  return pods.flatMap((pod) =>
    pod.containers.filter(isPullFailure).map((container) => {
      const failure: PullFailure = {
        pod,
        image: cleanText(container.image, 200) || '(no image)',
        reason: cleanText(container.waiting?.reason, 40),
      };
      const message = cleanText(container.waiting?.message, MESSAGE_LIMIT);
      if (message !== '') failure.message = message;
      return failure;
    }),
  );
}

function distinctSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareText);
}

function imageLines(failures: readonly PullFailure[]): string[] {
  const images = distinctSorted(failures.map((f) => f.image));
  return images.flatMap((image) => {
    const ofImage = failures.filter((f) => f.image === image);
    const pods = new Set(ofImage.map((f) => f.pod.name)).size;
    const reasons = distinctSorted(ofImage.map((f) => f.reason)).join(', ');
    const messages = distinctSorted(ofImage.flatMap((f) => (f.message ? [f.message] : [])));
    const lines = [`image ${image}: ${plural(pods, 'pod')} waiting in ${reasons}`];
    // Messages usually differ only by pod name; one is enough to cite. ErrImagePull's
    // carries the registry's answer ("not found", "unauthorized"); the back-off's only says it waits.
    const message = ofImage.find((f) => f.reason === 'ErrImagePull' && f.message !== undefined)?.message ?? messages[0];
    if (message !== undefined) {
      lines.push(`kubelet: ${message}${messages.length > 1 ? ` (and ${messages.length - 1} similar)` : ''}`);
    }
    return lines;
  });
}

function titleOf(subject: string, failures: readonly PullFailure[]): string {
  const images = distinctSorted(failures.map((f) => f.image));
  const reasons = distinctSorted(failures.map((f) => f.reason));
  const what = images.length === 1 ? `image ${images[0]}` : `${images.length} images`;
  return `${subject} cannot pull ${what} (${reasons.join(', ')})`;
}

function assessGroup(ns: NamespaceEvidence, group: WorkloadGroup<PodSummary>, incident: IncidentRef): Assessment {
  const { workload, pods } = group;
  const failures = failuresOf(pods);
  const link = rolloutLink(ns, group, incident);
  const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
  const evidence = [
    `${plural(pods.length, 'pod')} cannot start: image pull failing; ${describeWorkloadHealth(workload)}`,
    ...imageLines(failures),
    ...(link ? [describeRolloutLink(link)] : []),
  ];
  return workloadAssessment(ns, group, link, {
    analyzer: IMAGE_PULL_ANALYZER,
    severity: 'critical',
    title: `${titleOf(subject, failures)}${titleSuffixFor(link)}`,
    evidence: evidence,
  });
}

export const assessImagePulls: Assessor = assessPerWorkload(podsWithContainer(isPullFailure), assessGroup);

export const imagePullAnalyzer = asAnalyzer(assessImagePulls);
