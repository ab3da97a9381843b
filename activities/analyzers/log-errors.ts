// A service can fail while its pods stay Running and Ready: it cannot resolve
// a host, a call is forbidden, its connection pool is exhausted. The running
// containers' own logs say so with a known signature; the finding names the
// workload and what its log says. A warning: the pods still run, and a logged
// error is a lead for the on-call, not proof that it is the page's cause.
import type { ContainerSummary, PodSummary } from '../model.js';
import { asAnalyzer, type Assessor } from './assessment.js';
import { findLogSignature, type LogSignature } from './log-signatures.js';
import { cleanText } from '../untrusted-text.js';
import { assessPerWorkload, describeWorkloadHealth, plural, workloadAssessment } from './workloads.js';

export const LOG_ERRORS_ANALYZER = 'kubernetes.log-errors';

function signatureOf(container: ContainerSummary): LogSignature | undefined {
  return container.currentLog?.status === 'ok' ? findLogSignature(container.currentLog.lines) : undefined;
}

function withSignature(pod: PodSummary): boolean {
  return pod.containers.some((c) => signatureOf(c) !== undefined);
}

export const assessLogErrors: Assessor = assessPerWorkload(
  (ns) => ns.pods.filter(withSignature),
  (ns, group) => {
    const { workload, pods } = group;
    const found = pods.flatMap((pod) =>
      pod.containers.flatMap((container) => {
        const signature = signatureOf(container);
        return signature ? [{ pod, container, signature }] : [];
      }),
    );
    const [first] = found;
    const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
    const evidence = [
      `${plural(pods.length, 'running pod')} log a known error; ${describeWorkloadHealth(workload)}`,
      ...found.map(
        ({ pod, container, signature }) =>
          `log of ${cleanText(pod.name, 253)}/${cleanText(container.name, 63)}: ${signature.summary}: "${signature.quote}"`,
      ),
    ];
    return workloadAssessment(ns, group, undefined, {
      analyzer: LOG_ERRORS_ANALYZER,
      severity: 'warning',
      title: `${subject} log errors: ${first!.signature.summary}`,
      evidence,
    });
  },
);

export const logErrorsAnalyzer = asAnalyzer(assessLogErrors);
