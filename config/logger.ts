// One JSON object per line on stdout, so the container runtime ships logs
// without a parser and the audit streams can be joined on plain fields.
// pino writes the lines; the `Logger` below keeps the project's call shape
// (message first, then fields) and the line shape its readers parse: `time` as
// ISO text, `level` by name, `msg`.
import { pino } from 'pino';

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface JsonLoggerOptions {
  /** Fields added to every line, e.g. `{ component: 'gateway' }`. */
  base?: LogFields;
  /** Where finished lines go; defaults to stdout. Tests capture lines here. */
  write?: (line: string) => void;
}

const ENVELOPE = new Set(['time', 'level', 'msg']);

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const log = pino(
    {
      // Replaces pino's default pid and hostname, which the pod's metadata already carries.
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: loggableFields,
        log: loggableFields,
      },
    },
    // Synchronous: the entry points log their last line and then call process.exit().
    options.write ? { write: options.write } : pino.destination({ dest: 1, sync: true }),
  );

  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    try {
      log[level](fields, msg);
    } catch {
      // A logging call must never take the request down with it (a getter that throws, say).
      log[level]({ logError: 'unserializable fields' }, msg);
    }
  };

  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** Drops everything; for callers (and tests) that do not want output. */
export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function loggableFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    // Caller fields must not be able to forge the envelope (time/level/msg).
    if (!ENVELOPE.has(key)) out[key] = loggable(value, [fields]);
  }
  return out;
}

// pino's serializers go by field name, but an Error or a bigint can sit under
// any name, at any depth.
function loggable(value: unknown, ancestors: readonly object[]): unknown {
  // An Error's own properties are non-enumerable (JSON would print `{}`), while
  // the enumerable ones an HTTP client adds can carry the request and its
  // credentials: name and message only.
  if (value instanceof Error) return { name: value.name, message: value.message };
  // As a JSON number a large one would lose digits in most readers.
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  // Cut where the cycle closes, with the same marker pino's safe stringify uses elsewhere.
  if (ancestors.includes(value)) return '[Circular]';
  // What JSON.stringify would print for it is up to its toJSON (Date, Buffer, URL).
  if ('toJSON' in value && typeof value.toJSON === 'function') return value;
  const path = [...ancestors, value];
  if (Array.isArray(value)) return value.map((item) => loggable(item, path));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, loggable(item, path)]));
}
