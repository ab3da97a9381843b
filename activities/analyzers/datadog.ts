// Datadog's own verdicts (monitors in Alert or Warn) and the error logs of the
// window. Both are evidence the on-call engineer wants cited, but neither names
// a cause: a firing monitor is usually the symptom that paged, and log text is
// untrusted data that code counts and quotes, never interprets.
import type { Assessment, Assessor } from './assessment.js';
import { MAX_LISTED_OBJECTS } from './assessment.js';
import { cleanText } from '../../config/untrusted-text.js';

export const MONITORS_ANALYZER = 'datadog.monitors';
export const ERROR_LOGS_ANALYZER = 'datadog.error-logs';

const QUOTED_MESSAGES = 3;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const assessMonitors: Assessor = (input) => {
  const evidence = input.datadog;
  if (!evidence || evidence.monitors.length === 0) return [];
  const alerting = evidence.monitors.filter((m) => m.state === 'Alert');
  const total = evidence.monitors.length + evidence.monitorsOmitted;
  const lead = alerting.length > 0 ? alerting : evidence.monitors;
  const finding: Assessment['finding'] = {
    analyzer: MONITORS_ANALYZER,
    // Alerting monitors confirm the impact; a Warn alone is worth a line, not an alarm.
    severity: alerting.length > 0 ? 'warning' : 'info',
    surface: 'datadog',
    title:
      alerting.length > 0
        ? `${plural(alerting.length, 'Datadog monitor')} in Alert: ${cleanText(lead[0]!.name, 120)}${alerting.length > 1 ? ` and ${alerting.length - 1} more` : ''}`
        : `${plural(evidence.monitors.length, 'Datadog monitor')} in Warn`,
    objects: lead.slice(0, MAX_LISTED_OBJECTS).map((m) => `Monitor/datadog/${m.id}`),
    evidence: [
      `${plural(total, 'monitor')} of the service in Alert or Warn${evidence.monitorsOmitted > 0 ? ` (${evidence.monitorsOmitted} not shown)` : ''}`,
      ...evidence.monitors
        .slice(0, MAX_LISTED_OBJECTS)
        .map(
          (m) =>
            `monitor ${m.id} ${cleanText(m.name, 120)}: ${m.state}${m.since ? ` since ${m.since}` : ''}${m.priority ? `, P${m.priority}` : ''}`,
        ),
    ],
  };
  return [{ finding, affected: alerting.length, rolloutCorrelated: false, symptom: true }];
};

export const assessErrorLogs: Assessor = (input) => {
  const logs = input.datadog?.logs;
  if (!logs || logs.top.length === 0) return [];
  const counted = logs.top.reduce((sum, m) => sum + m.count, 0);
  return [
    {
      finding: {
        analyzer: ERROR_LOGS_ANALYZER,
        severity: 'info',
        surface: 'datadog',
        title: `${logs.truncated ? 'More than ' : ''}${plural(logs.scanned, 'error log line')} in the window, ${plural(logs.top.length, 'distinct message')} shown`,
        objects: [],
        evidence: [
          `logs matching ${cleanText(logs.query, 200)}: ${counted} of ${logs.scanned} lines in the top ${logs.top.length} messages${logs.truncated ? '; reading stopped at the bound' : ''}`,
          ...logs.top
            .slice(0, QUOTED_MESSAGES)
            .map(
              (m) => `×${m.count}${m.service ? ` ${cleanText(m.service, 60)}` : ''}: "${cleanText(m.message, 160)}" (last ${m.lastSeen})`,
            ),
        ],
      },
      affected: 0,
      rolloutCorrelated: false,
      symptom: true,
    },
  ];
};
