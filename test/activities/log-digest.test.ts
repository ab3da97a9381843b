import { DIGEST_LIMITS, digestLog } from '../../activities/log-digest.js';
import { fakeCredential } from '../fake-credentials.js';

const json = (fields: Record<string, unknown>): string => JSON.stringify({ timestamp: '2025-03-01T11:50:03Z', ...fields });
const times = (n: number, line: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => line(i));

describe('digestLog: levels', () => {
  test.each([
    { name: 'a JSON level', line: json({ level: 'ERROR', message: 'boom' }), errors: 1, warnings: 0 },
    { name: 'a JSON severity in lower case', line: json({ severity: 'warning', msg: 'slow' }), errors: 0, warnings: 1 },
    { name: "pino's numeric level", line: json({ level: 50, msg: 'db down' }), errors: 1, warnings: 0 },
    { name: 'a bracketed text level', line: '2025-03-01 11:50:03 [ERROR] payment failed', errors: 1, warnings: 0 },
    { name: 'logfmt', line: 'ts=2025-03-01T11:50:03Z level=warn msg="retrying"', errors: 0, warnings: 1 },
    { name: 'klog', line: 'E1207 11:50:03.123456       1 reflector.go:138] watch failed', errors: 1, warnings: 0 },
    { name: 'an unlevelled exception', line: 'java.net.ConnectException: Connection refused', errors: 1, warnings: 0 },
    { name: 'near miss: an INFO line that mentions an error', line: 'INFO retried after error, request succeeded', errors: 0, warnings: 0 },
    {
      name: 'near miss: a JSON info line whose message says failed',
      line: json({ level: 'info', message: '0 jobs failed' }),
      errors: 0,
      warnings: 0,
    },
    { name: 'near miss: a word that contains ERROR', line: 'INFO TERRORIST_MODE=off', errors: 0, warnings: 0 },
  ])('$name', ({ line, errors, warnings }) => {
    const digest = digestLog([[line]]);
    expect({ errors: digest.errors, warnings: digest.warnings }).toEqual({ errors, warnings });
  });
});

describe('digestLog: error groups', () => {
  test('lines that differ only in numbers and ids are one group, counted, first and last line kept', () => {
    const lines = [
      'INFO started',
      'ERROR request 4411 to 10.0.0.7 failed after 5001ms',
      'INFO ok',
      'ERROR request 4412 to 10.0.0.9 failed after 5003ms',
      'ERROR request 9d2f1c3a-0b1e-4c7d-9f00-1234567890ab to 10.0.0.9 failed after 5000ms',
    ];
    const digest = digestLog([lines]);
    expect(digest.messages).toEqual([
      expect.objectContaining({
        level: 'error',
        count: 3,
        line: 1,
        lastLine: 4,
        text: 'ERROR request 4411 to 10.0.0.7 failed after 5001ms',
      }),
    ]);
  });

  test('errors rank before warnings, then by count; the first error is kept however rare (it may have started a cascade)', () => {
    const lines = [
      json({ level: 'ERROR', service: 'auth', message: 'Lost connection to Redis: Connection refused redis:6379' }),
      ...times(DIGEST_LIMITS.messages + 2, (i) =>
        times(i + 2, () => json({ level: 'ERROR', message: `failure kind ${'abcdefgh'[i]}` })).join('\n'),
      )
        .join('\n')
        .split('\n'),
      ...times(20, () => json({ level: 'WARN', message: 'slow request' })),
    ];
    const digest = digestLog([lines]);
    expect(digest.messages).toHaveLength(DIGEST_LIMITS.messages);
    expect(digest.messages.map((m) => m.level)).not.toContain('warning');
    expect(digest.messages.at(-1)).toMatchObject({
      line: 0,
      count: 1,
      source: 'auth',
      text: expect.stringContaining('Lost connection to Redis'),
    });
    expect(digest.messages[0]!.count).toBeGreaterThan(digest.messages[1]!.count);
  });

  test('a group names the fields its lines share and most other lines do not; fields every line shares are not named', () => {
    const normal = times(30, (i) => json({ level: 'INFO', status: 200, client_ip: `10.0.1.${i}`, path: '/api', message: 'ok' }));
    const limited = times(10, () =>
      json({ level: 'ERROR', status: 429, client_ip: '10.0.50.123', path: '/api', request_id: 'r', message: 'Too Many Requests' }),
    );
    const digest = digestLog([[...normal, ...limited]]);
    expect(digest.messages[0]!.distinct).toEqual(['status=429', 'client_ip=10.0.50.123']);
  });

  test('fields that name a secret are never listed, and secret-shaped text is redacted', () => {
    const lines = [
      ...times(10, () => json({ level: 'INFO', message: 'ok' })),
      ...times(3, () =>
        json({ level: 'ERROR', api_key: 'k-1234567890abcdef', message: 'auth failed for postgres://app:hunter2secret@db:5432/orders' }),
      ),
    ];
    const [group] = digestLog([lines]).messages;
    expect(group!.distinct).toEqual([]);
    expect(group!.text).not.toContain('hunter2secret');
    expect(JSON.stringify(group)).not.toContain('k-1234567890abcdef');
  });

  test('texts are bounded', () => {
    const [group] = digestLog([[`ERROR ${'x'.repeat(5000)}`]]).messages;
    expect(group!.text.length).toBeLessThanOrEqual(DIGEST_LIMITS.textChars);
  });
});

describe('digestLog: series and changes', () => {
  test('a numeric field is reduced to its shape, and a step is located at the line after it', () => {
    const lines = [
      ...times(20, () => json({ level: 'INFO', cache: { rate: 85 }, message: 'Cache hit' })),
      json({ level: 'INFO', message: 'Configuration reloaded successfully' }),
      ...times(20, () => json({ level: 'WARN', cache: { rate: 25 }, message: 'Cache miss' })),
    ];
    const digest = digestLog([lines]);
    const rate = digest.series.find((s) => s.field === 'cache.rate');
    expect(rate).toMatchObject({ samples: 40, min: 25, max: 85, shift: { line: 21, before: 85, after: 25 } });
    expect(rate!.points[0]).toBe(85);
    expect(rate!.points.at(-1)).toBe(25);
    expect(digest.changes).toEqual([{ line: 20, text: 'Configuration reloaded successfully' }]);
  });

  test.each(['response_time', 'wait_time', 'db.duration_ms', 'tokens_used', 'token_count'])('a measured value is a series: %s', (field) => {
    const lines = times(30, (i) => json({ level: 'INFO', message: 'tick', [field]: i * 10 }));
    expect(digestLog([lines]).series.map((s) => s.field)).toEqual([field]);
  });

  test.each([
    { name: 'identifiers and times are not series', field: 'seq' },
    { name: 'an epoch timestamp is not a series', field: 'ts' },
    { name: 'request ids are not series', field: 'request_id' },
    { name: 'a field seen too rarely has no shape', field: 'rare', samples: DIGEST_LIMITS.minSamples - 1 },
    { name: 'a constant field has no shape', field: 'limit_mb', constant: true },
    { name: 'a number under a secret name is a value, not a measurement', field: 'pin_code_token' },
    { name: 'a numeric password is no series either', field: 'db.password' },
  ])('near miss: $name', ({ field, samples, constant }) => {
    const lines = times(samples ?? 30, (i) => json({ level: 'INFO', message: 'tick', [field]: constant ? 4096 : i * 10 }));
    expect(digestLog([lines]).series.map((s) => s.field)).not.toContain(field);
  });

  test.each([
    { line: 'Cache hit for key 42', change: false },
    { line: 'Configuration reloaded successfully', change: true },
    { line: 'feature flag new-checkout enabled for 10%', change: true },
    { line: 'Rolled back to revision 12', change: true },
    { line: 'watching deployments in namespace shop', change: false },
  ])('a line announcing a change: "$line" → $change', ({ line, change }) => {
    expect(digestLog([[line]]).changes.length > 0).toBe(change);
  });

  test('the component a change line names is redacted and bounded like its text', () => {
    const password = fakeCredential.password();
    const [change] = digestLog([
      [json({ level: 'info', logger: `pool postgres://app:${password}@db:5432/orders ${'x'.repeat(200)}`, msg: 'configuration reloaded' })],
    ]).changes;
    expect(change!.source).not.toContain(password);
    expect(change!.source!.length).toBeLessThanOrEqual(DIGEST_LIMITS.fieldChars);
  });

  test('two parts read (the oldest and newest of a long window) are marked as such, and lines are counted across both', () => {
    const digest = digestLog([times(3, () => 'INFO a'), times(2, () => 'ERROR b')]);
    expect(digest).toMatchObject({ linesScanned: 5, gap: true, errors: 2 });
    expect(digest.messages[0]).toMatchObject({ line: 3, lastLine: 4 });
  });

  test('blank lines are not counted', () => {
    expect(digestLog([['', '  ', 'INFO a']]).linesScanned).toBe(1);
  });
});
