// Reads one exported file for `triage audit`: recognises its format from its
// content (not its name, which exports rarely keep), checks it is the kind
// the option promised, and hands each record to its reader.
import { isCloudTrailDocument, readCloudTrail } from './cloudtrail.js';
import { jsonLines, parseJsonDocument, readSourceText, SourceFormatError, type ExternalLine } from './external-line.js';
import { isCalicoFlow, isHubbleFlow, readCalicoFlow, readHubbleFlow } from './flows.js';
import { isKubeAuditEvent, readKubeAuditEvent, unwrapKubeAudit } from './kube-audit.js';

/** What each option takes. */
export type SourceOption = 'cloudtrail' | 'kube-audit' | 'flows';

export const OPTION_FLAG: Record<SourceOption, string> = { cloudtrail: '--cloudtrail', 'kube-audit': '--kube-audit', flows: '--flows' };

const FORMAT_NAMES = {
  cloudtrail: 'CloudTrail records',
  'kube-audit': 'a Kubernetes audit log',
  calico: 'Calico flow logs',
  hubble: 'Hubble flows',
} as const;
type Format = keyof typeof FORMAT_NAMES;

const OPTION_OF: Record<Format, SourceOption> = { cloudtrail: 'cloudtrail', 'kube-audit': 'kube-audit', calico: 'flows', hubble: 'flows' };

export interface ReadSource {
  file: string;
  format: Format;
  lines: ExternalLine[];
  /** Records that repeat another (a request's earlier audit stages, a flow's other reporter or reply). */
  repeats: number;
}

function lineFormat(value: unknown): Exclude<Format, 'cloudtrail'> | undefined {
  if (isKubeAuditEvent(unwrapKubeAudit(value))) return 'kube-audit';
  if (isHubbleFlow(value)) return 'hubble';
  if (isCalicoFlow(value)) return 'calico';
  return undefined;
}

const READERS = { 'kube-audit': readKubeAuditEvent, calico: readCalicoFlow, hubble: readHubbleFlow } as const;

/** `file` is read from disk; `shown` is how errors and the timeline name it. */
export function readSource(option: SourceOption, file: string, shown = file): ReadSource {
  let text: string;
  try {
    text = readSourceText(file);
  } catch (err) {
    if (err instanceof SourceFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SourceFormatError(shown, code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? 'error'})`);
  }
  const mismatch = (format: Format) =>
    new SourceFormatError(
      shown,
      `holds ${FORMAT_NAMES[format]}, not what ${OPTION_FLAG[option]} reads; pass it with ${OPTION_FLAG[OPTION_OF[format]]}`,
    );

  // One JSON document (CloudTrail's both shapes) or JSON Lines (the others).
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && /"(?:Records|Events)"\s*:\s*\[/.test(trimmed.slice(0, 4096))) {
    const doc = parseJsonDocument(text, shown);
    if (isCloudTrailDocument(doc)) {
      if (option !== 'cloudtrail') throw mismatch('cloudtrail');
      return { file: shown, format: 'cloudtrail', lines: readCloudTrail(doc, shown), repeats: 0 };
    }
  }
  if (option === 'cloudtrail') {
    throw new SourceFormatError(
      shown,
      'not a CloudTrail export: expected {"Records": [...]} (S3 delivery) or {"Events": [...]} (lookup-events)',
    );
  }
  let format: Format | undefined;
  const lines: ExternalLine[] = [];
  let repeats = 0;
  for (const { value, line } of jsonLines(text, shown)) {
    const where = `${shown}:${line}`;
    const found = lineFormat(value);
    if (!found) {
      const expected = option === 'flows' ? 'a Calico flow log record or a Hubble flow' : 'an audit.k8s.io Event';
      throw new SourceFormatError(where, `not ${expected}`);
    }
    if (OPTION_OF[found] !== option) throw mismatch(found);
    if (format && found !== format)
      throw new SourceFormatError(where, `${FORMAT_NAMES[found]} after ${FORMAT_NAMES[format]}: one format per file`);
    format = found;
    const read = READERS[found](value, where);
    if (read) lines.push(read);
    else repeats += 1;
  }
  return { file: shown, format: format ?? (option === 'flows' ? 'calico' : 'kube-audit'), lines, repeats };
}
