import { ApplicationFailure } from '@temporalio/common';
import {
  MAX_RETRY_DELAY_MS,
  httpFailure,
  invalidRequest,
  malformedResponse,
  networkFailure,
  retryAfterMs,
  safeReason,
} from '../../activities/http-failure.js';

describe('httpFailure', () => {
  test.each([400, 401, 403, 404, 405, 410, 422])('%i is non-retryable HttpClientError', (status) => {
    const f = httpFailure({ surface: 'pagerduty', status, retryAfter: '5' });
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.nonRetryable).toBe(true);
    expect(f.type).toBe('HttpClientError');
    // A client error never schedules a retry, whatever the server says.
    expect(f.nextRetryDelay).toBeUndefined();
    expect(f.message).toMatch(new RegExp(`^pagerduty: HTTP ${status} `));
    expect(f.details).toEqual([{ surface: 'pagerduty', status }]);
  });

  test('429 is retryable HttpRateLimited with the server delay', () => {
    const f = httpFailure({ surface: 'kubernetes', status: 429, retryAfter: '12' });
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpRateLimited', nextRetryDelay: 12_000 });
  });

  test.each([500, 502, 503, 504])('%i is retryable HttpServerError', (status) => {
    const f = httpFailure({ surface: 'kubernetes', status });
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpServerError' });
    expect(f.nextRetryDelay).toBeUndefined();
  });

  test('503 with Retry-After: 7 waits 7 s', () => {
    expect(httpFailure({ surface: 'pagerduty', status: 503, retryAfter: '7' }).nextRetryDelay).toBe(7000);
  });

  test('Retry-After as an HTTP-date', () => {
    const now = Date.parse('2025-03-01T12:00:00Z');
    const f = httpFailure({ surface: 'pagerduty', status: 503, retryAfter: 'Sat, 01 Mar 2025 12:00:45 GMT', now });
    expect(f.nextRetryDelay).toBe(45_000);
  });

  test('the message names surface, status and a cleaned reason, never more', () => {
    const f = httpFailure({ surface: 'pagerduty', status: 401, reason: 'bad\r\nAuthorization: Token token=abcdef0123456789 injected' });
    expect(f.message).toBe('pagerduty: HTTP 401 Unauthorized: bad Authorization: Token [redacted] injected');
    expect(f.message).not.toContain('abcdef0123456789');
  });

  test('a reason equal to the status text is not repeated', () => {
    expect(httpFailure({ surface: 'kubernetes', status: 401, reason: 'Unauthorized' }).message).toBe('kubernetes: HTTP 401 Unauthorized');
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  test.each([
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['soon', undefined],
    ['0', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['7', 7000],
    [' 7 ', 7000],
    ['86400', MAX_RETRY_DELAY_MS],
    ['Sat, 01 Mar 2025 11:59:00 GMT', undefined],
    ['Sat, 01 Mar 2025 12:01:00 GMT', 60_000],
    ['Sun, 02 Mar 2025 12:00:00 GMT', MAX_RETRY_DELAY_MS],
  ])('%j → %j', (value, expected) => {
    expect(retryAfterMs(value, now)).toBe(expected);
  });
});

describe('other failures', () => {
  test('network errors stay retryable and keep only the code', () => {
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9 /secret?token=abc'), { code: 'ECONNREFUSED' }),
    });
    const f = networkFailure('pagerduty', err);
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpNetworkError', message: 'pagerduty: request failed (ECONNREFUSED)' });
  });

  test('timeouts are retryable HttpTimeout', () => {
    const f = networkFailure('kubernetes', new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    expect(f).toMatchObject({ nonRetryable: false, type: 'HttpTimeout', message: 'kubernetes: request timed out' });
  });

  test('malformed responses and invalid requests are non-retryable', () => {
    expect(malformedResponse('pagerduty', 'incident.id: required')).toMatchObject({ nonRetryable: true, type: 'MalformedResponse' });
    expect(invalidRequest('pagerduty', 'bad id')).toMatchObject({ nonRetryable: true, type: 'InvalidRequest' });
  });

  test('safeReason bounds length', () => {
    expect(safeReason('x'.repeat(500))?.length).toBe(200);
    expect(safeReason(42)).toBeUndefined();
  });
});
