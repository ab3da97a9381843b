// Which scheduling constraint no node satisfies, read from the listed Nodes: a
// nodeSelector label no node carries, or a NoSchedule/NoExecute taint on every
// node the pod may use that it does not tolerate. Pure; a claim is made only
// when the evidence covers every node, since "no node" must hold for all.
import { EVIDENCE_LIMITS } from '../evidence-bounds.js';
import { selectorPairs } from '../kubernetes-nodes.js';
import type { NodeSummary, NodesEvidence, PodSummary } from '../model.js';
import { cleanText } from '../../config/untrusted-text.js';

/** What the scheduler enforces: PreferNoSchedule is only a preference. */
const HARD_EFFECTS = new Set(['NoSchedule', 'NoExecute']);
const CORDON_TAINT = 'node.kubernetes.io/unschedulable:NoSchedule';
const MAX_NAMED = 3;

export interface UnmetConstraint {
  /** For the title, e.g. `no node has label disktype=ssd`. */
  title: string;
  evidence: string[];
}

interface Parsed {
  key: string;
  /** Undefined: any value (a toleration with operator Exists). */
  value?: string;
  /** `*`: any effect. */
  effect: string;
}

/** `key=value:Effect`, `key:Effect`, `*:*` as the summaries write taints and tolerations. */
function parse(text: string, exists: boolean): Parsed | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const left = text.slice(0, colon);
  const effect = text.slice(colon + 1);
  const eq = left.indexOf('=');
  if (eq >= 0) return { key: left.slice(0, eq), value: left.slice(eq + 1), effect };
  return exists ? { key: left, effect } : { key: left, value: '', effect };
}

/** Kubernetes' ToleratesTaint: an empty effect matches every effect, an empty key with Exists every key. */
function tolerates(toleration: Parsed, taint: Parsed): boolean {
  if (toleration.effect !== '*' && toleration.effect !== taint.effect) return false;
  if (toleration.key === '*') return toleration.value === undefined;
  if (toleration.key !== taint.key) return false;
  return toleration.value === undefined || toleration.value === (taint.value ?? '');
}

function hardTaints(node: NodeSummary): string[] {
  const taints = node.taints ?? [];
  // A cordoned node is tainted unschedulable by the node controller; older kubelets' summaries may lack the taint.
  const all = node.unschedulable && !taints.includes(CORDON_TAINT) ? [...taints, CORDON_TAINT] : taints;
  return all.filter((t) => HARD_EFFECTS.has(t.slice(t.lastIndexOf(':') + 1)));
}

function untolerated(node: NodeSummary, tolerations: readonly Parsed[]): string[] {
  return hardTaints(node).filter((t) => {
    const taint = parse(t, false);
    return taint !== undefined && !tolerations.some((tol) => tolerates(tol, taint));
  });
}

const list = (items: readonly string[]) =>
  `${items.slice(0, MAX_NAMED).join(', ')}${items.length > MAX_NAMED ? ` and ${items.length - MAX_NAMED} more` : ''}`;

/** The one nodeSelector label (key=value) no node carries, with what the nodes carry for that key instead. */
function missingLabel(pairs: readonly { key: string; value: string }[], nodes: Extract<NodesEvidence, { status: 'ok' }>) {
  const complete = nodes.items.length === nodes.total;
  for (const { key, value } of pairs) {
    const values =
      nodes.labelValues?.[key] ??
      (complete ? [...new Set(nodes.items.flatMap((n) => (n.labels?.[key] !== undefined ? [n.labels[key]] : [])))].sort() : undefined);
    if (values === undefined || values.includes(value)) continue;
    const label = cleanText(`${key}=${value}`, 120);
    const carried =
      values.length === 0
        ? `no node carries the label ${cleanText(key, 80)} at all`
        : `nodes carry ${cleanText(key, 80)}=${list(values.map((v) => cleanText(v, 60)))}`;
    return {
      title: `no node has label ${label}`,
      evidence: [`nodeSelector ${label}: none of the ${nodes.total} nodes has it; ${carried}`],
    };
  }
  return undefined;
}

/** The pending pods' shared spec, from the listed ones; undefined when they differ (two templates of one workload). */
function sharedSpec(pods: readonly (PodSummary | undefined)[]) {
  const listed = pods.filter((p): p is PodSummary => p?.unscheduled !== undefined);
  const first = listed[0];
  if (!first) return undefined;
  const key = (p: PodSummary) => JSON.stringify([p.unscheduled?.nodeSelector ?? '', p.unscheduled?.tolerations ?? []]);
  return listed.every((p) => key(p) === key(first)) ? first.unscheduled! : undefined;
}

export function unmetConstraint(pods: readonly (PodSummary | undefined)[], nodes: NodesEvidence | undefined): UnmetConstraint | undefined {
  if (nodes?.status !== 'ok' || nodes.total === 0) return undefined;
  const spec = sharedSpec(pods);
  if (!spec) return undefined;
  const pairs = selectorPairs(spec.nodeSelector);
  const label = missingLabel(pairs, nodes);
  if (label) return label;
  // Taints need every node in view, and every toleration: a pod with more than were kept may tolerate the one named.
  const tolerationTexts = spec.tolerations ?? [];
  if (nodes.items.length !== nodes.total || tolerationTexts.length >= EVIDENCE_LIMITS.tolerationsPerPod) return undefined;
  const tolerations = tolerationTexts.flatMap((t) => parse(t, true) ?? []);
  const candidates = nodes.items.filter((n) => pairs.every(({ key, value }) => n.labels?.[key] === value));
  if (candidates.length === 0) return undefined;
  const blocked = candidates.map((node) => ({ node, taints: untolerated(node, tolerations) }));
  if (blocked.some((b) => b.taints.length === 0)) return undefined;
  const scope = pairs.length > 0 ? 'node matching its nodeSelector' : 'node';
  const common = blocked[0]!.taints.filter((t) => blocked.every((b) => b.taints.includes(t)));
  // Cordoning is its own story: name a taint the pod was not meant to tolerate before the cordon.
  const named = common.find((t) => t !== CORDON_TAINT) ?? common[0];
  const perNode = blocked.map((b) => `${cleanText(b.node.name, 253)} (${b.taints.map((t) => cleanText(t, 120)).join(', ')})`).join('; ');
  return {
    title:
      named !== undefined
        ? `every ${scope} has taint ${cleanText(named, 120)}, which it does not tolerate`
        : `every ${scope} has a taint it does not tolerate`,
    evidence: [
      `every ${scope} (${candidates.length}) has a NoSchedule/NoExecute taint the pod does not tolerate: ${cleanText(perNode, 600)}`,
    ],
  };
}
