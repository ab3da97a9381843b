// The Kubernetes apiserver audit log: audit.k8s.io/v1 Event objects, one JSON
// per line (`--audit-log-path`, `--audit-log-format=json`). The same events
// exported from EKS's CloudWatch log group (`aws logs filter-log-events`)
// carry the event as a JSON string in `message`; both read the same.
import { triageIdOfUserAgent } from '../../config/user-agent.js';
import { field, record, SourceFormatError, str, timeOf, type ExternalLine } from './external-line.js';

/**
 * Bound ServiceAccount tokens name the pod that holds them (Kubernetes 1.30
 * on): the worker pod is known even for a request that named no triage.
 */
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';

export function isKubeAuditEvent(value: unknown): boolean {
  const v = record(value);
  return v.kind === 'Event' && typeof v.apiVersion === 'string' && v.apiVersion.startsWith('audit.k8s.io/');
}

/** The event inside a CloudWatch Logs export line, or the line itself. */
export function unwrapKubeAudit(value: unknown): unknown {
  const message = record(value).message;
  if (isKubeAuditEvent(value) || typeof message !== 'string') return value;
  try {
    return JSON.parse(message);
  } catch {
    return value;
  }
}

function objectText(ref: Record<string, unknown>): string {
  const resource = [str(ref.resource), str(ref.subresource)].filter(Boolean).join('/');
  const name = [str(ref.namespace), str(ref.name)].filter(Boolean).join('/');
  return [resource, name].filter(Boolean).join(' ');
}

/**
 * One line per completed request: an event is written at each stage the
 * policy keeps, and a request is counted once, at its ResponseComplete (or
 * Panic). Earlier stages return undefined.
 */
export function readKubeAuditEvent(value: unknown, where: string): ExternalLine | undefined {
  const event = record(unwrapKubeAudit(value));
  if (!isKubeAuditEvent(event)) throw new SourceFormatError(where, 'not an audit.k8s.io Event');
  const stage = str(event.stage);
  if (stage !== 'ResponseComplete' && stage !== 'Panic') return undefined;
  const at = timeOf(event.requestReceivedTimestamp ?? event.stageTimestamp, where, 'requestReceivedTimestamp');
  const user = record(event.user);
  const username = str(user.username) ?? '?';
  const podName = str((record(user.extra)[POD_NAME_EXTRA] as unknown[] | undefined)?.[0]);
  const ip = str((event.sourceIPs as unknown[] | undefined)?.[0]);
  const userAgent = str(event.userAgent);
  const triageId = triageIdOfUserAgent(userAgent);
  const code = record(event.responseStatus).code;
  const decision = str(record(event.annotations)['authorization.k8s.io/decision']);
  const target = objectText(record(event.objectRef)) || str(event.requestURI) || '?';
  const what =
    `${field(str(event.verb) ?? '?', 20)} ${field(target, 200)} → ${typeof code === 'number' ? code : '?'}` +
    `${decision === 'forbid' ? ' forbidden' : ''}${stage === 'Panic' ? ' (panic)' : ''} · ${field(username, 120)}` +
    (triageId ? '' : ` · user agent ${field(userAgent ?? '(none)', 120)}`);
  return {
    source: 'kube-audit',
    surface: 'kubernetes',
    where,
    at,
    what,
    ...(triageId ? { triageId: field(triageId, 256) } : {}),
    actor: { ...(podName ? { pod: field(podName, 253) } : {}), ...(ip ? { ip: field(ip, 64) } : {}) },
  };
}
