// A Service whose selector matches no pod has no endpoints: its clients'
// connections are refused or time out while every pod looks healthy. The
// finding names the Service, its selector and, when pods of a workload carry
// all but some of its terms, the labels they carry instead.
import type { NamespaceEvidence, PodSummary, ServiceSummary } from '../model.js';
import { asAnalyzer, type Assessment, type Assessor } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';
import { networkSignature, termsMatch } from './network-policy.js';
import { objectRef, workloadOfPod } from './workloads.js';

export const SERVICE_SELECTOR_ANALYZER = 'kubernetes.service-selector';

/** The workload whose pods carry most of the selector's terms, and the terms they carry differently. */
function nearestPods(ns: NamespaceEvidence, selector: readonly string[]) {
  let best: { workload: string; mismatched: string[]; carried: string[]; score: number } | undefined;
  for (const pod of ns.pods) {
    if (!pod.labels) continue;
    const mismatched = selector.filter((t) => !termsMatch([t], pod.labels));
    const score = selector.length - mismatched.length;
    if (score === 0 || (best && best.score >= score)) continue;
    const carried = mismatched.flatMap((t) => {
      const key = t.slice(0, t.indexOf('='));
      const value = pod.labels![key];
      return value === undefined ? [`no ${key}`] : [`${key}=${value}`];
    });
    best = { workload: workloadOfPod(ns, pod).label, mismatched, carried, score };
  }
  return best;
}

/** Whether the pod's log names the Service (the failing line often names only its ClusterIP; the line before names the host). */
function mentions(pod: PodSummary, service: string): boolean {
  const named = new RegExp(`(^|[^\\w.-])${service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w-]|$)`);
  return pod.containers.some((c) =>
    [c.currentLog, c.previousLog].some((log) => log?.status === 'ok' && log.lines.some((line) => named.test(line))),
  );
}

function assessService(ns: NamespaceEvidence, svc: ServiceSummary): Assessment[] {
  if (!svc.selector || svc.selector.length === 0 || svc.type === 'ExternalName') return [];
  if (svc.matchingPods === undefined || svc.matchingPods > 0) return [];
  const endpoints = (ns.endpoints ?? []).find((e) => e.name === svc.name);
  if (endpoints && endpoints.readyAddresses > 0) return [];
  const near = nearestPods(ns, svc.selector);
  const clients = ns.pods.flatMap((pod) => {
    const signature = networkSignature(pod);
    return signature && mentions(pod, svc.name) ? [{ pod, signature }] : [];
  });
  // Without a client failing on it, an unused Service without pods is a lead, not a cause.
  const severity = clients.length > 0 ? 'critical' : 'warning';
  const title = `Service ${svc.name} selects no pods (selector ${svc.selector.join(', ')}${near ? `; pods of ${near.workload} carry ${near.carried.join(', ')}` : ''})`;
  const evidence = [
    `Service ${svc.name} selector ${svc.selector.join(', ')} matches none of the namespace's ${ns.podCounts.total} pods`,
    endpoints
      ? `Endpoints ${endpoints.name}: ${endpoints.readyAddresses} ready, ${endpoints.notReadyAddresses} not ready addresses`
      : `no Endpoints ${svc.name} listed`,
    ...clients.slice(0, 3).map(({ pod, signature }) => `log of ${cleanText(pod.name, 253)}: ${signature.summary}: "${signature.quote}"`),
  ];
  return [
    {
      finding: {
        analyzer: SERVICE_SELECTOR_ANALYZER,
        severity,
        surface: 'kubernetes',
        title: cleanText(title),
        objects: [
          objectRef('Service', ns.namespace, svc.name),
          ...clients.slice(0, 4).map((c) => objectRef('Pod', ns.namespace, c.pod.name)),
        ],
        evidence: evidence.map((line) => cleanText(line)),
      },
      affected: Math.max(1, clients.length),
      rolloutCorrelated: false,
    },
  ];
}

export const assessServiceSelectors: Assessor = (input) =>
  (input.kubernetes?.namespaces ?? []).flatMap((ns) => (ns.services ?? []).flatMap((svc) => assessService(ns, svc)));

export const serviceSelectorAnalyzer = asAnalyzer(assessServiceSelectors);
