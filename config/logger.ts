// One JSON object per line on stdout, so the container runtime ships logs
// without a parser and the audit streams can be joined on plain fields.

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
  now?: () => Date;
}

const RESERVED = new Set(['time', 'level', 'msg']);

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const base = options.base ?? {};

  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const record: LogFields = { time: now().toISOString(), level, msg };
    // Caller fields must not be able to forge the envelope (time/level/msg).
    for (const [key, value] of [...Object.entries(base), ...Object.entries(fields)]) {
      if (!RESERVED.has(key) && value !== undefined) record[key] = value;
    }
    write(`${serialize(record)}\n`);
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

function serialize(record: LogFields): string {
  try {
    return JSON.stringify(record, replaceUnserializable);
  } catch {
    // A logging call must never take the request down with it (cycles, etc.).
    return JSON.stringify({ time: record.time, level: record.level, msg: record.msg, logError: 'unserializable fields' });
  }
}

function replaceUnserializable(_key: string, value: unknown): unknown {
  // Error's own properties are non-enumerable, so JSON.stringify would print `{}`.
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
