// What the three exported streams (CloudTrail, the apiserver audit log, flow
// logs) have in common once read: when, who (a triage id, a session, a pod),
// and to where. Each reader fills it from its own format; the attribution
// reads only this, so a new format needs a reader and nothing else.
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { boundedLine } from '../../config/printable-text.js';

export type ExternalSource = 'cloudtrail' | 'kube-audit' | 'calico' | 'hubble';

/** Which of the worker's surfaces a line is a record of: AWS and Kubernetes calls, or a connection. */
export type ExternalSurface = 'aws' | 'kubernetes' | 'network';

export interface ExternalLine {
  source: ExternalSource;
  surface: ExternalSurface;
  /** `file:line`, or `file Records[i]` inside one JSON document. */
  where: string;
  /** Epoch ms the call was made, or the flow's interval began. */
  at: number;
  /** Flows cover an interval (Calico aggregates over its flush interval). */
  until?: number;
  /** One printable, bounded line: the what of the timeline. */
  what: string;
  /** The triage id the User-Agent names. */
  triageId?: string;
  /** Who made it: the AWS role session, the pod (name, namespace, IP). */
  actor: { session?: string; pod?: string; namespace?: string; ip?: string };
  /** Flows: where they went. */
  dest?: { ip?: string; port?: number; names: string[]; pod?: string; namespace?: string };
}

/** Something a reader cannot read: names the file and the line, and what was wrong. */
export class SourceFormatError extends Error {
  override name = 'SourceFormatError';
  constructor(where: string, reason: string) {
    super(`${where}: ${reason}`);
  }
}

/** Untrusted values from the exported files are shown as one bounded line each. */
export const FIELD_CHARS = 200;
export const field = (value: unknown, max = FIELD_CHARS): string => boundedLine(value, max);

/** The file's text; `.json.gz` (CloudTrail's S3 delivery) is recognised by its gzip magic, not its name. */
export function readSourceText(path: string): string {
  const bytes = readFileSync(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes).toString('utf8');
    } catch (err) {
      throw new SourceFormatError(path, `gzip data that does not decompress (${(err as Error).message})`);
    }
  }
  return bytes.toString('utf8');
}

/** The 1-based line of a character offset, for JSON.parse's "at position N". */
function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/** A whole-file JSON document; a syntax error names the line it is on. */
export function parseJsonDocument(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? lineAt(text, text.length) : lineAt(text, Number(position));
    throw new SourceFormatError(`${file}:${line}`, `not JSON (${field(message, 120)})`);
  }
}

/** Each non-empty line of JSON Lines text, parsed, with its 1-based number; a line that is not JSON is an error naming it. */
export function* jsonLines(text: string, file: string): Generator<{ value: unknown; line: number }> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    try {
      yield { value: JSON.parse(raw), line: i + 1 };
    } catch {
      throw new SourceFormatError(`${file}:${i + 1}`, 'not JSON');
    }
  }
}

export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A time field that must be there: an ISO string or epoch seconds. */
export function timeOf(value: unknown, where: string, name: string): number {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new SourceFormatError(where, `${name} is missing or not a time`);
  return ms;
}
