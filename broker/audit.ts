// The broker's audit trail: one JSON line per request, allowed or denied,
// joinable with the worker's history, CloudTrail and the apiserver audit log
// on `triageId`. It records which credential was used, never its value, and
// the path without its query string (query values may be sensitive).
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isTriageId } from '../config/identifiers.js';

export interface AuditRecord {
  time: string;
  provider: string;
  method: string;
  path: string;
  decision: 'allowed' | 'denied';
  reason?: string;
  credentialId?: string;
  /** The caller's X-Triage-Id; "invalid" when malformed, null when absent. */
  triageId: string | null;
  /** The ServiceAccount user a TokenReview authenticated the caller as; absent on loopback, where callers are not authenticated. */
  caller?: string;
  /** What the broker answered; 499 when the caller went away before an answer. */
  status: number;
  upstreamStatus?: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export function triageIdFrom(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (Array.isArray(header) || !isTriageId(header)) return 'invalid';
  return header;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  /** Flushes what was written and closes the file. */
  close(): Promise<void>;
}

/**
 * Appends to the file through one stream: each record is one write of one
 * whole line, so lines never interleave within this process, and O_APPEND
 * keeps them whole if something else appends to the same file.
 */
export async function openAuditLog(path: string, onError: (err: Error) => void): Promise<AuditSink> {
  await mkdir(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  stream.on('error', onError);
  let closed = false;
  return {
    write(record) {
      if (closed) return;
      stream.write(`${JSON.stringify(record)}\n`);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => stream.end(() => resolve()));
    },
  };
}
