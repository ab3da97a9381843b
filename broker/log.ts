// One JSON object per line on stdout. Callers pass ids, paths and reasons;
// nothing in the broker ever hands a secret value to the logger.
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function createJsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (level: string, msg: string, fields: LogFields = {}) => {
    const record: LogFields = { level, msg, time: new Date().toISOString(), component: 'broker' };
    // Caller fields cannot overwrite the envelope.
    for (const [key, value] of Object.entries(fields)) if (!(key in record) && value !== undefined) record[key] = value;
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
