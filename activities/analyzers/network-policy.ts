// Pods that log DNS failures or connection timeouts while a NetworkPolicy
// cuts the path: egress denied (DNS on port 53 included) from the failing
// pods, or ingress to the pods behind the Service they call admitted only
// from pods they are not. Pure: the policies, Services and pod labels the
// collector summarised, and the running pods' own logs.
import type { NamespaceEvidence, NetworkPolicySummary, PodSummary } from '../model.js';
import { asAnalyzer, MAX_LISTED_OBJECTS, type Assessment, type Assessor } from './assessment.js';
import { findLogSignature, type LogSignature } from './log-signatures.js';
import { cleanText } from '../../config/untrusted-text.js';
import { groupByWorkload, objectRef } from './workloads.js';

export const NETWORK_POLICY_ANALYZER = 'kubernetes.network-policy';

const NETWORK_KINDS = new Set(['dns', 'connection-timeout', 'connection-refused', 'connection-failed']);

/** `key=value` terms all present in the labels; no terms select every pod. */
export function termsMatch(terms: readonly string[], labels: Record<string, string> | undefined): boolean {
  return terms.every((term) => {
    const at = term.indexOf('=');
    return at > 0 && labels?.[term.slice(0, at)] === term.slice(at + 1);
  });
}

export function policySelects(policy: NetworkPolicySummary, pod: PodSummary): boolean {
  return !policy.podSelectorExpressions && termsMatch(policy.podSelector, pod.labels);
}

export function networkSignature(pod: PodSummary): LogSignature | undefined {
  for (const container of pod.containers) {
    for (const log of [container.currentLog, container.previousLog]) {
      if (log?.status !== 'ok') continue;
      const signature = findLogSignature(log.lines);
      if (signature && NETWORK_KINDS.has(signature.kind)) return signature;
    }
  }
  return undefined;
}

/** Whether any egress rule opens port 53 (or every port) to some peer. */
function allowsDns(policy: NetworkPolicySummary): boolean {
  return policy.egress.some((rule) => rule.ports.length === 0 || rule.ports.some((p) => /\/(53|\*)(-|$)/.test(p)));
}

function denyingEgress(ns: NamespaceEvidence, pod: PodSummary): NetworkPolicySummary | undefined {
  const policies = (ns.networkPolicies ?? []).filter((p) => p.policyTypes.includes('Egress') && policySelects(p, pod));
  // Policies add up: one that allows DNS lets it through whatever the others say.
  if (policies.length === 0 || policies.some(allowsDns)) return undefined;
  return policies[0];
}

/** The pod-label peers an ingress rule admits, or undefined when it admits any pod (no peers, a namespace or ipBlock peer). */
function admittedPodTerms(policy: NetworkPolicySummary): string[][] | undefined {
  const admitted: string[][] = [];
  for (const rule of policy.ingress) {
    if (rule.peers.length === 0) return undefined;
    for (const peer of rule.peers) {
      const m = /^pods (.*)$/.exec(peer);
      if (!m) return undefined;
      if (m[1] === '*') return undefined;
      if (m[1]!.includes('(expressions)')) return undefined;
      admitted.push(m[1]!.split(','));
    }
  }
  return admitted;
}

function ingressBlocking(ns: NamespaceEvidence, client: PodSummary, service: string) {
  const svc = (ns.services ?? []).find((s) => s.name === service);
  if (!svc?.selector) return undefined;
  const targets = ns.pods.filter((p) => p.labels !== undefined && termsMatch(svc.selector!, p.labels));
  for (const target of targets) {
    const policies = (ns.networkPolicies ?? []).filter((p) => p.policyTypes.includes('Ingress') && policySelects(p, target));
    if (policies.length === 0) continue;
    const admitted = policies.map(admittedPodTerms);
    if (admitted.some((a) => a === undefined)) continue;
    const terms = admitted.flatMap((a) => a!);
    if (terms.some((t) => termsMatch(t, client.labels))) continue;
    return { policy: policies[0]!, admits: terms };
  }
  return undefined;
}

/** The Service a log line names: `backend-service`, `backend-service:80`, `backend-service.ns.svc`. */
function serviceNamed(ns: NamespaceEvidence, signature: LogSignature): string | undefined {
  const text = `${signature.summary} ${signature.quote}`;
  return (ns.services ?? [])
    .map((s) => s.name)
    .find((name) => new RegExp(`(^|[^\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w-]|$)`).test(text));
}

function assessNamespace(ns: NamespaceEvidence): Assessment[] {
  if (!ns.networkPolicies || ns.networkPolicies.length === 0) return [];
  const failing = ns.pods.flatMap((pod) => {
    const signature = networkSignature(pod);
    return signature ? [{ pod, signature }] : [];
  });
  const out: Assessment[] = [];
  for (const group of groupByWorkload(
    ns,
    failing.map((f) => f.pod),
  )) {
    const found = failing.filter((f) => group.pods.includes(f.pod));
    const [first] = found;
    if (!first) continue;
    const subject = `${group.workload.label} pods`;
    const podRefs = group.pods.slice(0, MAX_LISTED_OBJECTS).map((p) => objectRef('Pod', ns.namespace, p.name));
    const quote = `log of ${cleanText(first.pod.name, 253)}: ${first.signature.summary}: "${first.signature.quote}"`;
    const egress = denyingEgress(ns, first.pod);
    let title: string | undefined;
    let policy: NetworkPolicySummary | undefined;
    const evidence: string[] = [quote];
    if (egress && (first.signature.kind === 'dns' || egress.egress.length === 0)) {
      policy = egress;
      const dns = first.signature.kind === 'dns';
      title = dns
        ? `${subject} cannot resolve names: NetworkPolicy ${egress.name} denies their egress, DNS included`
        : `${subject} cannot connect out: NetworkPolicy ${egress.name} denies their egress`;
      evidence.push(
        `NetworkPolicy ${egress.name} selects ${egress.podSelector.length === 0 ? 'every pod in the namespace' : egress.podSelector.join(', ')}; policyTypes ${egress.policyTypes.join(', ')}; ${egress.egress.length === 0 ? 'no egress rules: all egress denied' : 'no egress rule opens port 53'}`,
      );
    } else if (first.signature.kind !== 'dns') {
      const service = serviceNamed(ns, first.signature);
      const blocked = service ? ingressBlocking(ns, first.pod, service) : undefined;
      if (service && blocked) {
        policy = blocked.policy;
        title = `${subject} cannot reach ${service}: NetworkPolicy ${blocked.policy.name} admits only pods with ${blocked.admits.map((t) => t.join(',')).join(' or ')}`;
        evidence.push(
          `NetworkPolicy ${blocked.policy.name} selects the pods behind Service ${service} (${blocked.policy.podSelector.join(', ') || 'every pod'}) and admits ingress only from pods with ${blocked.admits.map((t) => t.join(',')).join(' or ')}`,
          `${cleanText(first.pod.name, 253)} carries ${
            Object.entries(first.pod.labels ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || 'no labels'
          }`,
        );
      }
    }
    if (!title || !policy) continue;
    out.push({
      finding: {
        analyzer: NETWORK_POLICY_ANALYZER,
        severity: 'critical',
        surface: 'kubernetes',
        title: cleanText(title),
        objects: [
          objectRef('NetworkPolicy', ns.namespace, policy.name),
          ...(group.workload.kind === 'Pod' ? [] : [group.workload.ref]),
          ...podRefs,
        ],
        evidence: evidence.map((line) => cleanText(line)),
      },
      affected: group.pods.length,
      rolloutCorrelated: false,
    });
  }
  return out;
}

export const assessNetworkPolicies: Assessor = (input) => (input.kubernetes?.namespaces ?? []).flatMap(assessNamespace);

export const networkPolicyAnalyzer = asAnalyzer(assessNetworkPolicies);
