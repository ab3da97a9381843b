// A running service can degrade while its pods stay Ready, and its log is the
// only witness: errors that come in a burst and stop, a latency that climbs,
// a hit rate that falls right after a configuration reload. The newest twenty
// lines rarely show it, so the window is read whole (or its two ends) and
// summarised here the way an on-call engineer would skim it: errors grouped
// by wording, the lines that announce a change, and the numbers structured
// lines report, reduced to their shape. Pure: lines in, a bounded digest out.
import type { LogDigest, LogLineRef, LogMessageGroup, LogSeries } from './model.js';
import { isSecretKey } from '../config/log-redaction.js';
import { evidenceText } from '../config/untrusted-text.js';

export const DIGEST_LIMITS = {
  messages: 5,
  changes: 3,
  series: 6,
  distinctFields: 3,
  textChars: 200,
  fieldChars: 80,
  points: 12,
  /** A numeric field reported fewer times than this has no shape worth reading. */
  minSamples: 8,
  /** Values remembered per field when looking for those that set a group apart. */
  valuesPerField: 1000,
} as const;

type Level = 'error' | 'warning' | 'info';

interface ParsedLine {
  level: Level;
  message: string;
  source?: string;
  fields: Map<string, string>;
  numbers: Map<string, number>;
}

const LEVEL_KEYS = ['level', 'severity', 'lvl', 'loglevel', 'log.level', 'levelname', '@l'];
const MESSAGE_KEYS = ['message', 'msg', 'error', 'err', '@m', 'event'];
const SOURCE_KEYS = ['service', 'logger', 'component', 'app', 'source', 'module'];
// Fields that identify one line or say when it was written: never a shared trait or a series.
const IDENTITY_KEY =
  /(?:^|[._])(?:id|uuid|seq|sequence|timestamp|ts|@t|date|line|lineno|pid|tid|thread|offset|span|trace|request_id|trace_id|span_id)$/i;

const TEXT_ERROR =
  /\b(?:FATAL|CRITICAL|CRIT|ERROR|ERR|SEVERE|PANIC|EMERG(?:ENCY)?|ALERT)\b|\blevel=(?:error|fatal|panic|critical)\b|^[EF]\d{4} /;
const TEXT_WARNING = /\b(?:WARN|WARNING)\b|\blevel=warn(?:ing)?\b|^W\d{4} /;
const TEXT_QUIET = /\b(?:INFO|DEBUG|TRACE)\b|level=(?:info|debug)/i;
// A line that states no level but reads as a failure (a stack trace's head, Java's exception line).
const UNLEVELLED_FAILURE = /\b(?:exception|traceback|error|failed|failure|refused|timed out|denied|unable to|cannot|panic)\b/i;
// Words that announce a change an engineer would line the failure up against.
const CHANGE_WORDS =
  /\b(?:config(?:uration)?s?[ _-]?(?:reload|change|update)\w*|reload(?:ed|ing)? (?:config|settings|rules)|feature[ _-]?flags?|deploy(?:ed|ing|ment)?\b|roll(?:ed|ing)?[ _-]?(?:out|back)|version (?:changed|upgraded|updated)|upgraded? to|migrat(?:ion|ed|ing)|fail(?:ed)?[ _-]?over|leader(?:ship)? (?:changed|elected|lost)|new leader)\b/i;

function levelOfValue(value: unknown): Level | undefined {
  if (typeof value === 'number') return value >= 50 ? 'error' : value >= 40 ? 'warning' : 'info'; // pino and bunyan
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  if (/^(?:fatal|crit|critical|error|err|severe|panic|emerg|emergency|alert|e)$/.test(v)) return 'error';
  if (/^(?:warn|warning|w)$/.test(v)) return 'warning';
  return 'info';
}

/** Scalar fields by dotted path, three levels deep at most. */
function flatten(value: unknown, prefix: string, out: Map<string, unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.set(prefix, value);
    return;
  }
  if (depth >= 3) return;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>))
    flatten(inner, prefix ? `${prefix}.${key}` : key, out, depth + 1);
}

function parseJson(line: string): Map<string, unknown> | undefined {
  const start = line.indexOf('{');
  if (start < 0 || start > 40 || !line.trimEnd().endsWith('}')) return undefined;
  try {
    const value: unknown = JSON.parse(line.slice(start));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const out = new Map<string, unknown>();
    flatten(value, '', out);
    return out;
  } catch {
    return undefined;
  }
}

function firstString(fields: Map<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = fields.get(key);
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

/** A text line's level is stated near its start; one that states none but reads as a failure is an error. */
function textLevel(line: string): Level {
  const head = line.slice(0, 120);
  if (TEXT_ERROR.test(head)) return 'error';
  if (TEXT_WARNING.test(head)) return 'warning';
  if (TEXT_QUIET.test(head)) return 'info';
  return UNLEVELLED_FAILURE.test(line) ? 'error' : 'info';
}

function parseLine(line: string): ParsedLine {
  const json = parseJson(line);
  if (!json) return { level: textLevel(line), message: line, fields: new Map(), numbers: new Map() };
  const levelValue = LEVEL_KEYS.map((k) => json.get(k)).find((v) => v !== undefined);
  const message = firstString(json, MESSAGE_KEYS) ?? line;
  const fields = new Map<string, string>();
  const numbers = new Map<string, number>();
  for (const [key, value] of json) {
    if (IDENTITY_KEY.test(key) || LEVEL_KEYS.includes(key) || MESSAGE_KEYS.includes(key)) continue;
    if (typeof value === 'number' && Number.isFinite(value)) numbers.set(key, value);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields.set(key, String(value));
  }
  const source = firstString(json, SOURCE_KEYS);
  return { level: levelOfValue(levelValue) ?? 'info', message, ...(source ? { source } : {}), fields, numbers };
}

/** The wording of a message with its numbers and identifiers masked: one group per thing that goes wrong. */
function wording(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '#')
    .replace(/0x[0-9a-f]+|\b[0-9a-f]{12,}\b/gi, '#')
    .replace(/\d+(?:\.\d+)?/g, '#')
    .slice(0, 160);
}

function shown(text: string, max: number = DIGEST_LIMITS.textChars): string {
  return evidenceText(text, max);
}

interface Group {
  level: 'error' | 'warning';
  first: number;
  last: number;
  count: number;
  message: string;
  source?: string;
  /** Each field's one value across the group, or null once two lines disagree. */
  shared: Map<string, string | null>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (n: number): number => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 100) / 100);

/**
 * The shape of one numeric field: medians of equal runs, and the single split
 * that best divides it (the largest CUSUM excursion), so a step after a
 * reload and a steady climb both read as what they are.
 */
function seriesOf(field: string, samples: readonly { line: number; value: number }[]): LogSeries {
  const values = samples.map((s) => s.value);
  const runs = Math.min(DIGEST_LIMITS.points, values.length);
  const points = Array.from({ length: runs }, (_, i) =>
    round(median(values.slice(Math.floor((i * values.length) / runs), Math.floor(((i + 1) * values.length) / runs)))),
  );
  const total = values.reduce((a, b) => a + b, 0);
  let best = { at: 0, score: 0 };
  let sum = 0;
  for (let k = 1; k < values.length; k++) {
    sum += values[k - 1]!;
    const score = Math.abs(sum - (k * total) / values.length);
    if (score > best.score) best = { at: k, score };
  }
  const before = best.at > 0 ? values.slice(0, best.at) : [];
  const after = values.slice(best.at);
  return {
    field: shown(field, DIGEST_LIMITS.fieldChars),
    samples: values.length,
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    points,
    ...(before.length > 0
      ? {
          shift: {
            line: samples[best.at]!.line,
            before: round(before.reduce((a, b) => a + b, 0) / before.length),
            after: round(after.reduce((a, b) => a + b, 0) / after.length),
          },
        }
      : {}),
  };
}

/**
 * The digest of one log window. `parts` are the stretches read, oldest first
 * (two when the window was too long to read whole); each holds printable lines.
 */
export function digestLog(parts: readonly (readonly string[])[]): LogDigest {
  const groups = new Map<string, Group>();
  const changes = new Map<string, LogLineRef>();
  const numbers = new Map<string, { line: number; value: number }[]>();
  const valueCounts = new Map<string, Map<string, number>>();
  let index = 0;
  let errors = 0;
  let warnings = 0;
  for (const part of parts) {
    for (const raw of part) {
      if (raw.trim() === '') continue;
      const line = index++;
      const parsed = parseLine(raw);
      for (const [key, value] of parsed.numbers) {
        const list = numbers.get(key) ?? [];
        list.push({ line, value });
        numbers.set(key, list);
      }
      for (const [key, value] of parsed.fields) {
        const counts = valueCounts.get(key) ?? new Map<string, number>();
        if (counts.has(value) || counts.size < DIGEST_LIMITS.valuesPerField) counts.set(value, (counts.get(value) ?? 0) + 1);
        valueCounts.set(key, counts);
      }
      if (CHANGE_WORDS.test(parsed.message)) {
        const key = wording(parsed.message);
        if (!changes.has(key)) changes.set(key, { line, text: parsed.message, ...(parsed.source ? { source: parsed.source } : {}) });
      }
      if (parsed.level === 'info') continue;
      if (parsed.level === 'error') errors += 1;
      else warnings += 1;
      const key = `${parsed.level} ${wording(parsed.message)}`;
      const group = groups.get(key);
      if (!group) {
        groups.set(key, {
          level: parsed.level,
          first: line,
          last: line,
          count: 1,
          message: parsed.message,
          ...(parsed.source ? { source: parsed.source } : {}),
          shared: new Map(parsed.fields),
        });
        continue;
      }
      group.count += 1;
      group.last = line;
      for (const [field, value] of group.shared) if (value !== null && parsed.fields.get(field) !== value) group.shared.set(field, null);
    }
  }

  const lines = index;
  // Errors before warnings, then the most frequent: what the log complains about most.
  // The first error is kept too, however rare: in a cascade it is the one that started it.
  const ranked = [...groups.values()].sort(
    (a, b) => Number(b.level === 'error') - Number(a.level === 'error') || b.count - a.count || a.first - b.first,
  );
  const firstError = [...groups.values()].filter((g) => g.level === 'error').sort((a, b) => a.first - b.first)[0];
  const kept = ranked.slice(0, DIGEST_LIMITS.messages);
  if (firstError && !kept.includes(firstError)) kept.splice(DIGEST_LIMITS.messages - 1, 1, firstError);
  const messages: LogMessageGroup[] = kept.map((g) => ({
    line: g.first,
    text: shown(g.message),
    ...(g.source ? { source: shown(g.source, DIGEST_LIMITS.fieldChars) } : {}),
    level: g.level,
    count: g.count,
    lastLine: g.last,
    distinct: distinctFields(g, valueCounts, lines),
  }));

  const series = [...numbers.entries()]
    // A number under a secret's name (a PIN, a numeric token) is a value, not a measurement.
    .filter(
      ([field, samples]) =>
        !isSecretKey(field) && samples.length >= DIGEST_LIMITS.minSamples && new Set(samples.map((s) => s.value)).size > 1,
    )
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .slice(0, DIGEST_LIMITS.series)
    .map(([field, samples]) => seriesOf(field, samples));

  return {
    linesScanned: lines,
    gap: parts.length > 1,
    errors,
    warnings,
    messages,
    changes: [...changes.values()]
      .slice(0, DIGEST_LIMITS.changes)
      .map((c) => ({ ...c, text: shown(c.text), ...(c.source ? { source: shown(c.source, DIGEST_LIMITS.fieldChars) } : {}) })),
    series,
  };
}

/**
 * The fields a group's lines all share with one value that fewer than half of
 * the other lines carry: the client, status or endpoint the errors are about.
 */
function distinctFields(group: Group, valueCounts: Map<string, Map<string, number>>, lines: number): string[] {
  const others = lines - group.count;
  if (group.count < 2 || others <= 0) return [];
  const out: string[] = [];
  for (const [field, value] of group.shared) {
    if (value === null || isSecretKey(field) || field === 'service' || SOURCE_KEYS.includes(field)) continue;
    const elsewhere = (valueCounts.get(field)?.get(value) ?? 0) - group.count;
    if (elsewhere * 2 >= others) continue;
    out.push(shown(`${field}=${value}`, DIGEST_LIMITS.fieldChars));
    if (out.length === DIGEST_LIMITS.distinctFields) break;
  }
  return out;
}
