// Places the lines of the exported streams (CloudTrail, the apiserver audit
// log, flow logs) under the activity attempt that caused them. The one place
// these rules live:
//
// 1. A line whose User-Agent names a triage belongs to that triage; one naming
//    another triage is counted and left out.
// 2. A line naming none is this triage's only through its actor: a Pod
//    Identity session or a pod that this triage's own lines (or its history's
//    worker identities) show to be the worker's, or a broker pod the worker
//    connected to — and only inside the triage's time span.
// 3. Within the triage, the attempt is the one of the line's surface (AWS →
//    the CloudWatch activity, Kubernetes → the Kubernetes activity, a flow →
//    the activity its destination serves, else any) running when it was made.
// Anything in the span that these do not settle is shown as unattributed,
// with the reason, never guessed and never dropped.
import type { TriageActivities } from '../../activities/index.js';
import type { ProviderName } from '../../broker/config.js';
import type { ExternalLine, ExternalSurface } from './external-line.js';

/** The activities that call AWS and Kubernetes directly (not through the broker), so CloudTrail and the apiserver record them. */
export const DIRECT_SURFACES = {
  collectCloudWatchEvidence: 'aws',
  collectKubernetesEvidence: 'kubernetes',
} as const satisfies Partial<Record<keyof TriageActivities, Exclude<ExternalSurface, 'network'>>>;

/** The broker's port (deploy/base/broker-service.yaml): a worker's flow there is a broker call. */
export const BROKER_PORT = 8790;
/** The apiserver's ports: 443 behind the `kubernetes` Service, 6443 on the endpoints. */
const KUBE_API_PORTS = new Set([443, 6443]);
const KUBE_API_NAME = /^kubernetes(\.default(\.svc(\.cluster\.local)?)?)?\.?$/;

/** The domains a broker pod reaches for each provider (the broker's default upstreams and their regional siblings). */
const PROVIDER_DOMAINS: Record<ProviderName, RegExp> = {
  github: /(^|\.)github\.com$/,
  pagerduty: /(^|\.)pagerduty\.com$/,
  datadog: /(^|\.)(datadoghq\.com|datadoghq\.eu|ddog-gov\.com)$/,
  slack: /(^|\.)slack\.com$/,
};
const AWS_DOMAIN = /(^|\.)amazonaws\.com(\.cn)?$/;

/** An activity attempt as the timeline knows it: its type, its provider, and when it ran. */
export interface ActivityWindow {
  activityType: string;
  provider: ProviderName | null;
  start: number;
  /** Infinity while it runs. */
  end: number;
  label: string;
}

export interface AttributionContext<W extends ActivityWindow> {
  workflowId: string;
  /** The workflow's start and close (Infinity while it runs). */
  span: { start: number; end: number };
  windows: W[];
  /** Host names of the workers that ran its activities (the history's `<pid>@<hostname>` identities). */
  workerHosts: string[];
  /** How far the other clocks may be off Temporal's. */
  clockSkewMs: number;
}

export type By = 'user-agent' | 'session' | 'pod';

export type Placement<W> =
  | { kind: 'attributed'; window: W; by: By }
  | { kind: 'unattributed'; reason: string }
  | { kind: 'other-triage' }
  | { kind: 'outside-span' };

const surfaceOf = (activityType: string): ExternalSurface | undefined =>
  Object.hasOwn(DIRECT_SURFACES, activityType) ? DIRECT_SURFACES[activityType as keyof typeof DIRECT_SURFACES] : undefined;

/** What the lines of this triage say about its actors: the worker's sessions, pods and IPs, and the broker pods it called. */
interface Actors {
  sessions: Set<string>;
  workerPods: Set<string>;
  workerIps: Set<string>;
  brokerPods: Set<string>;
  brokerIps: Set<string>;
}

function learnActors(lines: ExternalLine[], workflowId: string, workerHosts: string[]): Actors {
  const a: Actors = {
    sessions: new Set(),
    workerPods: new Set(workerHosts),
    workerIps: new Set(),
    brokerPods: new Set(),
    brokerIps: new Set(),
  };
  const ours = lines.filter((l) => l.triageId === workflowId);
  for (const l of ours) {
    if (l.actor.session) a.sessions.add(l.actor.session);
    if (l.actor.pod) a.workerPods.add(l.actor.pod);
    if (l.actor.ip && l.surface === 'kubernetes') a.workerIps.add(l.actor.ip);
  }
  // A Pod Identity session is named after its pod: a worker pod's session is the worker's, UA or not.
  for (const l of lines) {
    const session = l.actor.session;
    if (session && [...a.workerPods].some((pod) => session.includes(`-${pod}-`))) a.sessions.add(session);
  }
  const fromWorker = (l: ExternalLine) =>
    (l.actor.pod !== undefined && a.workerPods.has(l.actor.pod)) || (l.actor.ip !== undefined && a.workerIps.has(l.actor.ip));
  for (const l of lines) {
    if (l.surface !== 'network' || !fromWorker(l)) continue;
    if (l.actor.ip && l.actor.pod) a.workerIps.add(l.actor.ip);
    if (l.dest?.port === BROKER_PORT) {
      if (l.dest.pod) a.brokerPods.add(l.dest.pod);
      if (l.dest.ip) a.brokerIps.add(l.dest.ip);
    }
  }
  return a;
}

function roleOf(l: ExternalLine, a: Actors): 'worker' | 'broker' | undefined {
  const { pod, ip, session } = l.actor;
  if (session) return a.sessions.has(session) ? 'worker' : undefined;
  // An apiserver request's source IP is the node's or a proxy's as often as the pod's: only the token's pod name says which pod.
  if (l.surface === 'kubernetes') return pod && a.workerPods.has(pod) ? 'worker' : undefined;
  if ((pod && a.workerPods.has(pod)) || (!pod && ip && a.workerIps.has(ip))) return 'worker';
  if ((pod && a.brokerPods.has(pod)) || (!pod && ip && a.brokerIps.has(ip))) return 'broker';
  return undefined;
}

interface Serves<W> {
  test: (w: W) => boolean;
  /** For the reason when none ran: "no <what> activity". */
  what: string;
}

/** The activities a flow's destination serves; for a worker's flow that says nothing, undefined (then time alone decides). */
function flowServes<W extends ActivityWindow>(l: ExternalLine, role: 'worker' | 'broker'): Serves<W> | undefined {
  const names = l.dest?.names ?? [];
  const port = l.dest?.port;
  if (role === 'broker') {
    const provider = (Object.keys(PROVIDER_DOMAINS) as ProviderName[]).find((p) => names.some((n) => PROVIDER_DOMAINS[p].test(n)));
    return provider
      ? { test: (w) => w.provider === provider, what: provider }
      : { test: (w) => w.provider !== null, what: 'broker-calling' };
  }
  if (port === BROKER_PORT) return { test: (w) => w.provider !== null, what: 'broker-calling' };
  if (names.some((n) => AWS_DOMAIN.test(n))) return { test: (w) => surfaceOf(w.activityType) === 'aws', what: 'AWS' };
  if (port !== undefined && KUBE_API_PORTS.has(port) && names.some((n) => KUBE_API_NAME.test(n))) {
    return { test: (w) => surfaceOf(w.activityType) === 'kubernetes', what: 'Kubernetes' };
  }
  return undefined;
}

const overlaps = (w: { start: number; end: number }, from: number, to: number, slack: number) =>
  from <= w.end + slack && to >= w.start - slack;

function placeInWindows<W extends ActivityWindow>(
  l: ExternalLine,
  candidates: W[],
  what: string,
  by: By,
  clockSkewMs: number,
): Placement<W> {
  if (candidates.length === 0) return { kind: 'unattributed', reason: `no ${what} activity in this history` };
  const to = l.until ?? l.at;
  for (const slack of [0, clockSkewMs]) {
    const running = candidates.filter((w) => overlaps(w, l.at, to, slack));
    if (running.length === 1) return { kind: 'attributed', window: running[0]!, by };
    if (running.length > 1) {
      return { kind: 'unattributed', reason: `ambiguous: ${running.map((w) => w.label).join(', ')} were all running then` };
    }
  }
  return { kind: 'unattributed', reason: `no ${what} activity attempt was running then (${new Date(l.at).toISOString()})` };
}

/** Where each line goes, in the order given. */
export function attributeExternal<W extends ActivityWindow>(lines: ExternalLine[], ctx: AttributionContext<W>): Placement<W>[] {
  const actors = learnActors(lines, ctx.workflowId, ctx.workerHosts);
  const inSpan = (l: ExternalLine) => overlaps(ctx.span, l.at, l.until ?? l.at, ctx.clockSkewMs);
  return lines.map((l): Placement<W> => {
    if (l.triageId !== undefined && l.triageId !== ctx.workflowId) return { kind: 'other-triage' };
    if (!inSpan(l))
      return l.triageId === ctx.workflowId
        ? { kind: 'unattributed', reason: 'made outside the triage (before its start or after its close)' }
        : { kind: 'outside-span' };
    if (l.surface !== 'network') {
      const candidates = ctx.windows.filter((w) => surfaceOf(w.activityType) === l.surface);
      const name = l.surface === 'aws' ? 'AWS' : 'Kubernetes';
      if (l.triageId === ctx.workflowId) return placeInWindows(l, candidates, name, 'user-agent', ctx.clockSkewMs);
      if (roleOf(l, actors) === 'worker') return placeInWindows(l, candidates, name, l.actor.session ? 'session' : 'pod', ctx.clockSkewMs);
      return {
        kind: 'unattributed',
        reason: l.actor.session
          ? `no triage id in its user agent, and session ${l.actor.session} is not a worker pod's of this triage`
          : 'no triage id in its user agent, and not from a worker pod of this triage',
      };
    }
    const role = roleOf(l, actors);
    if (!role) return { kind: 'unattributed', reason: 'not from a worker or broker pod of this triage' };
    const serves = flowServes<W>(l, role);
    return placeInWindows(l, serves ? ctx.windows.filter(serves.test) : ctx.windows, serves?.what ?? 'worker', 'pod', ctx.clockSkewMs);
  });
}
