import { createJsonLogger } from '../../config/logger.js';

function capture() {
  const lines: string[] = [];
  const logger = createJsonLogger({
    base: { component: 'gateway' },
    write: (line) => lines.push(line),
    now: () => new Date('2025-11-27T09:00:00.000Z'),
  });
  return { lines, logger };
}

describe('createJsonLogger', () => {
  it('writes one JSON object per line with time, level, msg and fields', () => {
    const { lines, logger } = capture();
    logger.info('hello', { incidentId: 'PABC123', statusCode: 202 });
    logger.warn('careful');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      time: '2025-11-27T09:00:00.000Z',
      level: 'info',
      msg: 'hello',
      component: 'gateway',
      incidentId: 'PABC123',
      statusCode: 202,
    });
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ level: 'warn', msg: 'careful' });
  });

  it('does not let fields overwrite time, level or msg', () => {
    const { lines, logger } = capture();
    logger.error('real', { level: 'info', msg: 'forged', time: 'never' });
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'error', msg: 'real', time: '2025-11-27T09:00:00.000Z' });
  });

  it('keeps a multi-line value on one line', () => {
    const { lines, logger } = capture();
    logger.info('title', { title: 'line one\nline two' });
    expect(lines[0]?.split('\n')).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ title: 'line one\nline two' });
  });

  it('prints errors by name and message, and survives unserializable fields', () => {
    const { lines, logger } = capture();
    logger.error('failed', { error: new TypeError('boom'), big: 10n });
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ error: { name: 'TypeError', message: 'boom' }, big: '10' });

    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    logger.error('cyclic', { cyclic });
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ level: 'error', msg: 'cyclic', logError: 'unserializable fields' });
  });
});
