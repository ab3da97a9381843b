// A kube-apiserver audit log (audit.k8s.io/v1, one JSON event per line, as
// sandbox/kube-apiserver.ts writes it at level Metadata), read for tests: who
// asked for what, and what the apiserver answered.
import { readFileSync } from 'node:fs';
import type { Access } from './deploy/rbac-cluster.js';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  stage: string;
  verb: string;
  requestURI: string;
  userAgent?: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

/** The events written so far; a line still being appended (no newline yet) is left for the next read. */
export function readAuditLog(path: string): AuditEvent[] {
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** Whether `e` records `username` making the request `a`, answered with `code`. */
export function records(e: AuditEvent, username: string, a: Access, code: number): boolean {
  const ref = e.objectRef ?? {};
  return (
    e.user.username === username &&
    e.verb === a.verb &&
    ref.resource === a.resource &&
    (ref.subresource ?? '') === (a.subresource ?? '') &&
    (ref.apiGroup ?? '') === a.group &&
    (ref.namespace ?? '') === (a.namespace ?? '') &&
    (a.name === undefined || ref.name === a.name) &&
    e.responseStatus?.code === code
  );
}
