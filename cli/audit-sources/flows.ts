// Flow logs, one JSON per line, in either of the two shapes the egress
// policies can produce: Calico Enterprise / Cloud flow logs (as stored in
// Elasticsearch, `tigera_secure_ee_flows*`) and Cilium Hubble flows
// (`hubble observe -o json`). Flows know nothing of HTTP: they carry no triage
// id, only pods, addresses and times.
import { field, record, SourceFormatError, str, timeOf, type ExternalLine } from './external-line.js';

/** Calico's placeholder for "not a pod" / "aggregated away". */
const CALICO_NONE = new Set(['-', 'pub', 'pvt', '']);

export function isCalicoFlow(value: unknown): boolean {
  const v = record(value);
  return 'start_time' in v && 'end_time' in v && ('source_name_aggr' in v || 'source_ip' in v) && 'dest_port' in v;
}

export function isHubbleFlow(value: unknown): boolean {
  return typeof record(value).flow === 'object' && record(value).flow !== null;
}

const calicoName = (value: unknown): string | undefined => {
  const s = str(value);
  return s && !CALICO_NONE.has(s) ? s : undefined;
};

function bytesText(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '?';
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} kB`;
}

function flowWhat(from: string, to: string, port: number | undefined, proto: string | undefined, verdict: string, extra: string): string {
  return `${field(from, 160)} → ${field(to, 200)}${port !== undefined ? `:${port}` : ''}${proto ? ` ${field(proto, 10)}` : ''} ${field(verdict, 20)}${extra}`;
}

const portOf = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535 ? value : undefined;

/**
 * A Calico flow log record. A pod-to-pod connection is logged by both ends
 * (reporter `src` and `dst`); the source's record is the one read, so a
 * connection is one line.
 */
export function readCalicoFlow(value: unknown, where: string): ExternalLine | undefined {
  const f = record(value);
  const at = timeOf(f.start_time, where, 'start_time');
  const until = timeOf(f.end_time, where, 'end_time');
  const sourceNamespace = calicoName(f.source_namespace);
  if (f.reporter === 'dst' && sourceNamespace) return undefined;
  const sourcePod = calicoName(f.source_name) ?? calicoName(f.source_name_aggr);
  const sourceIp = str(f.source_ip);
  const destPod = calicoName(f.dest_name) ?? calicoName(f.dest_name_aggr);
  const domains = Array.isArray(f.dest_domains) ? f.dest_domains.filter((d): d is string => typeof d === 'string') : [];
  const destIp = str(f.dest_ip);
  const port = portOf(f.dest_port);
  const from = sourcePod ? `${sourceNamespace ?? '-'}/${sourcePod}${sourceIp ? ` (${sourceIp})` : ''}` : (sourceIp ?? '?');
  const destNamespace = calicoName(f.dest_namespace);
  const to =
    [domains.slice(0, 3).join(','), destPod ? `${destNamespace ?? '-'}/${destPod}` : '', destIp ?? ''].filter(Boolean).join(' ') || '?';
  const policies = record(f.policies).all_policies;
  const policy = Array.isArray(policies) && typeof policies[0] === 'string' ? ` (${field(policies[0], 120)})` : '';
  return {
    source: 'calico',
    surface: 'network',
    where,
    at,
    until: Math.max(at, until),
    what: flowWhat(
      from,
      to,
      port,
      str(f.proto),
      str(f.action) ?? '?',
      `${policy} · ${bytesText(f.bytes_out)} out, ${bytesText(f.bytes_in)} in`,
    ),
    actor: {
      ...(sourcePod ? { pod: field(sourcePod, 253) } : {}),
      ...(sourceNamespace ? { namespace: field(sourceNamespace, 63) } : {}),
      ...(sourceIp ? { ip: field(sourceIp, 64) } : {}),
    },
    dest: {
      names: domains.map((d) => field(d, 253)),
      ...(destIp ? { ip: field(destIp, 64) } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(destPod ? { pod: field(destPod, 253) } : {}),
      ...(destNamespace ? { namespace: field(destNamespace, 63) } : {}),
    },
  };
}

/**
 * A Hubble flow (`GetFlowsResponse` as `hubble observe -o json` prints it).
 * Replies (`is_reply`) are the answering side of a connection already read
 * from its first packet, and are not read again.
 */
export function readHubbleFlow(value: unknown, where: string): ExternalLine | undefined {
  const flow = record(record(value).flow);
  if (flow.is_reply === true) return undefined;
  const at = timeOf(flow.time ?? record(value).time, where, 'flow.time');
  const ip = record(flow.IP);
  const source = record(flow.source);
  const destination = record(flow.destination);
  const l4 = record(flow.l4);
  const transport = Object.keys(l4)[0];
  const port = transport ? portOf(record(l4[transport]).destination_port) : undefined;
  const sourceIp = str(ip.source);
  const destIp = str(ip.destination);
  const sourcePod = str(source.pod_name);
  const sourceNamespace = str(source.namespace);
  const destPod = str(destination.pod_name);
  const destNamespace = str(destination.namespace);
  const names = Array.isArray(flow.destination_names) ? flow.destination_names.filter((d): d is string => typeof d === 'string') : [];
  if (!sourceIp && !sourcePod) throw new SourceFormatError(where, 'a flow with neither IP.source nor source.pod_name');
  const from = sourcePod ? `${sourceNamespace ?? '-'}/${sourcePod}${sourceIp ? ` (${sourceIp})` : ''}` : sourceIp!;
  const to =
    [names.slice(0, 3).join(','), destPod ? `${destNamespace ?? '-'}/${destPod}` : '', destIp ?? ''].filter(Boolean).join(' ') || '?';
  const drop = str(flow.drop_reason_desc);
  return {
    source: 'hubble',
    surface: 'network',
    where,
    at,
    what: flowWhat(from, to, port, transport?.toLowerCase(), str(flow.verdict) ?? '?', drop ? ` (${field(drop, 80)})` : ''),
    actor: {
      ...(sourcePod ? { pod: field(sourcePod, 253) } : {}),
      ...(sourceNamespace ? { namespace: field(sourceNamespace, 63) } : {}),
      ...(sourceIp ? { ip: field(sourceIp, 64) } : {}),
    },
    dest: {
      names: names.map((d) => field(d, 253)),
      ...(destIp ? { ip: field(destIp, 64) } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(destPod ? { pod: field(destPod, 253) } : {}),
      ...(destNamespace ? { namespace: field(destNamespace, 63) } : {}),
    },
  };
}
