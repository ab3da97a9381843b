// A service can fail while its pods stay Running and Ready: it cannot resolve
// a host, a call is forbidden, its connection pool is exhausted. The running
// containers' own logs say so with a known signature, in their newest lines or
// among the errors of the window's digest; the finding names the workload and
// what its log says. A warning: the pods still run, and a logged
// error is a lead for the on-call, not proof that it is the page's cause.
import type { ContainerSummary, PodSummary } from '../model.js';
import { asAnalyzer, type Assessor } from './assessment.js';
import { findLogSignature, type LogSignature } from './log-signatures.js';
import { cleanText } from '../../config/untrusted-text.js';
import { assessPerWorkload, describeWorkloadHealth, plural, workloadAssessment } from './workloads.js';

export const LOG_ERRORS_ANALYZER = 'kubernetes.log-errors';

interface LoggedSignature {
  signature: LogSignature;
  /** The component a structured line names as its author, when the signature came from one. */
  source?: string;
}

/**
 * The strongest signature among the window's errors (oldest first: in a
 * cascade, the first is the one that started it) and the newest lines.
 */
function signatureOf(container: ContainerSummary): LoggedSignature | undefined {
  const log = container.currentLog;
  if (log?.status !== 'ok') return undefined;
  const messages = [...(log.digest?.messages ?? [])].sort((a, b) => a.line - b.line);
  const signature = findLogSignature([...messages.map((m) => m.text), ...log.lines]);
  if (!signature) return undefined;
  const source = messages[signature.at]?.source;
  return { signature, ...(source ? { source } : {}) };
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
        const logged = signatureOf(container);
        return logged ? [{ pod, container, ...logged }] : [];
      }),
    );
    const first = found[0]!;
    const subject = workload.kind === 'Pod' ? `pod ${workload.label}` : `${workload.label} pods`;
    // A line another component wrote (a shared log, an embedded client) is named by its author.
    const author =
      first.source !== undefined && cleanText(first.source, 63) !== workload.label ? ` (logged by ${cleanText(first.source, 63)})` : '';
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
      title: `${subject} log errors: ${first.signature.summary}${author}`,
      evidence,
    });
  },
);

export const logErrorsAnalyzer = asAnalyzer(assessLogErrors);
