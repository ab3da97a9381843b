// An event as each of the apiserver's two event APIs takes it. Both views
// share one storage: core/v1 (the kubelet's and the controllers' recorders)
// and events.k8s.io/v1 (the scheduler's, and newer recorders'), which names
// the same fields differently and refuses the deprecated ones on create.
import type { KubeObject } from './kube-apiserver.js';

/** The API an event is written through. */
export type EventsApi = 'v1' | 'events.k8s.io/v1';

/** metav1.MicroTime's wire form, as the scenario loader holds `eventTime` (the apiserver parses no other). */
const microTime = (t: string) => new Date(t).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** A core/v1 event's fields this conversion reads. */
interface CoreEvent {
  metadata: KubeObject['metadata'];
  involvedObject?: unknown;
  related?: unknown;
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count: number; lastObservedTime: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  action?: string;
}

/** core/v1 takes the source's component and host for what events.k8s.io/v1 calls the reporting controller and instance. */
const reporter = (e: CoreEvent) => ({
  controller: e.reportingComponent || e.source?.component,
  instance: e.reportingInstance || e.source?.host,
});

/**
 * Whether events.k8s.io/v1 can take the event: that API requires a reporting
 * controller and instance (events from controllers that record no host have
 * none) and a time.
 */
export function eventsApiCanWrite(event: object): boolean {
  const e = event as CoreEvent;
  const { controller, instance } = reporter(e);
  return Boolean(controller && instance && (e.eventTime || e.firstTimestamp || e.lastTimestamp));
}

/**
 * A core/v1 event as events.k8s.io/v1 takes it. An event written the old way
 * has its one occurrence (the last), or its first of several, become
 * `eventTime`, and a repeated one a `series` (count and last time); one
 * written the new way keeps its own. An `action` is required, which an
 * old-style event does not have: its reason stands in.
 */
export function asEventsV1(event: object): KubeObject {
  const e = event as CoreEvent;
  if (e.eventTime && (e.firstTimestamp || e.lastTimestamp || e.count))
    throw new Error(`event ${e.metadata.name}: events.k8s.io/v1 takes eventTime or the deprecated count and timestamps, not both`);
  const { controller, instance } = reporter(e);
  const count = e.count ?? 1;
  const first = e.firstTimestamp ?? e.lastTimestamp;
  const last = e.lastTimestamp ?? first;
  const timing = e.eventTime
    ? { eventTime: e.eventTime, ...(e.series ? { series: e.series } : {}) }
    : {
        eventTime: microTime((count > 1 ? first : last)!),
        ...(count > 1 ? { series: { count, lastObservedTime: microTime(last!) } } : {}),
      };
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: e.metadata,
    ...timing,
    reportingController: controller,
    reportingInstance: instance,
    action: e.action ?? e.reason,
    reason: e.reason,
    regarding: e.involvedObject,
    ...(e.related ? { related: e.related } : {}),
    note: e.message,
    type: e.type,
  };
}
