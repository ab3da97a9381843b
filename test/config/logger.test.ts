import { createJsonLogger, type LogFields } from '../../config/logger.js';

function capture(base: LogFields = { component: 'gateway' }) {
  const lines: string[] = [];
  const logger = createJsonLogger({ base, write: (line) => lines.push(line) });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, logger, parsed };
}

describe('createJsonLogger', () => {
  it('writes one JSON object per line with time, level, msg, the base fields and the fields', () => {
    const { lines, logger, parsed } = capture();
    const before = Date.now();
    logger.info('hello', { incidentId: 'PABC123', statusCode: 202, skipped: undefined });
    logger.warn('careful');
    logger.error('100%s sure');
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const [hello, careful, percent] = parsed();
    expect(hello).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      msg: 'hello',
      component: 'gateway',
      incidentId: 'PABC123',
      statusCode: 202,
    });
    expect(Date.parse(hello?.time as string)).toBeGreaterThanOrEqual(before);
    expect(careful).toMatchObject({ level: 'warn', msg: 'careful', component: 'gateway' });
    expect(percent).toMatchObject({ level: 'error', msg: '100%s sure' });
  });

  it('does not let fields or base fields overwrite time, level or msg', () => {
    const { lines, logger, parsed } = capture({ component: 'gateway', level: 'debug', msg: 'base', time: 'then' });
    logger.error('real', { level: 'info', msg: 'forged', time: 'never' });
    // Each key once: a reader that keeps the first duplicate must not see a forged value either.
    for (const key of ['time', 'level', 'msg']) expect(lines[0]?.split(`"${key}":`)).toHaveLength(2);
    expect(parsed()[0]).toMatchObject({ level: 'error', msg: 'real', time: expect.stringMatching(/^\d{4}-/), component: 'gateway' });
  });

  it('keeps a multi-line value on one line', () => {
    const { lines, logger, parsed } = capture();
    logger.info('title', { title: 'line one\nline two' });
    expect(lines[0]?.split('\n')).toHaveLength(2);
    expect(parsed()[0]).toMatchObject({ title: 'line one\nline two' });
  });

  it('prints errors by name and message only, wherever they are, and bigints as text', () => {
    const { lines, logger, parsed } = capture();
    const leaky = Object.assign(new Error('request failed'), { request: { headers: { authorization: 'Bearer s3cret' } } });
    logger.error('failed', { error: new TypeError('boom'), attempts: [{ cause: leaky }], big: 10n, nested: { big: 2n ** 64n } });
    expect(parsed()[0]).toMatchObject({
      error: { name: 'TypeError', message: 'boom' },
      attempts: [{ cause: { name: 'Error', message: 'request failed' } }],
      big: '10',
      nested: { big: '18446744073709551616' },
    });
    expect(lines[0]).not.toContain('s3cret');
    expect(lines[0]).not.toContain('stack');
  });

  it('leaves values with their own JSON form to it', () => {
    const { logger, parsed } = capture();
    logger.info('dated', { at: new Date('2025-11-27T09:00:00.000Z'), url: new URL('https://example.test/a') });
    expect(parsed()[0]).toMatchObject({ at: '2025-11-27T09:00:00.000Z', url: 'https://example.test/a' });
  });

  it('survives cycles and fields that cannot be read, without throwing', () => {
    const { logger, parsed } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    logger.error('cyclic', { cyclic, incidentId: 'PABC123' });
    expect(parsed()[0]).toMatchObject({
      level: 'error',
      msg: 'cyclic',
      cyclic: { name: 'loop', self: '[Circular]' },
      incidentId: 'PABC123',
    });

    const unreadable = Object.defineProperty({}, 'secret', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(() => logger.warn('unreadable', { unreadable })).not.toThrow();
    expect(parsed()[1]).toMatchObject({ level: 'warn', msg: 'unreadable', component: 'gateway', logError: 'unserializable fields' });
  });
});
