// CloudTrail records as exported: the files a trail delivers to S3
// (`{"Records": [...]}`, gzip-compressed as delivered) and the output of
// `aws cloudtrail lookup-events` (`{"Events": [...]}`, each record as a JSON
// string in `CloudTrailEvent`). Both come down to the same record.
import { triageIdOfUserAgent } from '../../config/user-agent.js';
import { field, parseJsonDocument, record, SourceFormatError, str, timeOf, type ExternalLine } from './external-line.js';

/** Whether a parsed document is one of CloudTrail's two export shapes. */
export function isCloudTrailDocument(value: unknown): boolean {
  const doc = record(value);
  return Array.isArray(doc.Records) || Array.isArray(doc.Events);
}

/**
 * The role session a record ran under, `<role>/<session name>`: with EKS Pod
 * Identity the session name is `eks-<cluster>-<pod>-<uuid>` (cut to 64
 * characters), so it names the pod; one session serves every triage that pod
 * runs while the credentials last.
 */
function sessionOf(identity: Record<string, unknown>): string | undefined {
  const arn = str(identity.arn);
  const assumed = arn ? /^arn:aws[\w-]*:sts::\d{12}:assumed-role\/(.+)$/.exec(arn)?.[1] : undefined;
  return assumed ? field(assumed, 160) : undefined;
}

function lineOf(rec: Record<string, unknown>, where: string): ExternalLine {
  const at = timeOf(rec.eventTime, where, 'eventTime');
  const eventSource = str(rec.eventSource);
  const eventName = str(rec.eventName);
  if (!eventSource || !eventName) throw new SourceFormatError(where, 'not a CloudTrail record: eventSource or eventName missing');
  const identity = record(rec.userIdentity);
  const session = sessionOf(identity);
  const userAgent = str(rec.userAgent);
  const triageId = triageIdOfUserAgent(userAgent);
  const error = str(rec.errorCode);
  const region = str(rec.awsRegion);
  const who = session ?? str(identity.arn) ?? str(identity.type) ?? '?';
  const what =
    `${field(eventSource.replace(/\.amazonaws\.com$/, ''), 60)} ${field(eventName, 80)}${region ? ` (${field(region, 30)})` : ''}` +
    ` → ${error ? field(error, 80) : 'ok'} · ${field(who, 160)}` +
    (triageId ? '' : ` · user agent ${field(userAgent ?? '(none)', 120)}`);
  return {
    source: 'cloudtrail',
    surface: 'aws',
    where,
    at,
    // CloudTrail's eventTime is whole seconds: the call was made somewhere in that second.
    until: at + 999,
    what,
    ...(triageId ? { triageId: field(triageId, 256) } : {}),
    actor: session ? { session } : {},
  };
}

/** The records of either export shape, each with where it was read. */
export function readCloudTrail(doc: unknown, file: string): ExternalLine[] {
  const { Records: records, Events: events } = record(doc);
  if (Array.isArray(records)) return records.map((r, i) => lineOf(record(r), `${file} Records[${i}]`));
  if (!Array.isArray(events)) throw new SourceFormatError(file, 'not a CloudTrail export: no "Records" or "Events" array');
  return events.map((e, i) => {
    const where = `${file} Events[${i}]`;
    const embedded = str(record(e).CloudTrailEvent);
    if (!embedded) throw new SourceFormatError(where, 'no CloudTrailEvent (lookup-events output carries the record as a JSON string)');
    return lineOf(record(parseJsonDocument(embedded, `${where}.CloudTrailEvent`)), where);
  });
}
