import { gitHubFailure } from '../../activities/github.js';

function httpError(status: number, headers: Record<string, string> = {}, message = 'nope') {
  return Object.assign(new Error(message), { name: 'HttpError', status, response: { headers, data: { message } } });
}

const now = Date.UTC(2026, 10, 28, 12, 0, 0);

describe('GitHub failures', () => {
  test.each([
    { name: 'secondary rate limit: 403 with retry-after', err: httpError(403, { 'retry-after': '30' }), retryable: true, delay: 30_000 },
    { name: 'secondary rate limit: 429 with retry-after', err: httpError(429, { 'retry-after': '5' }), retryable: true, delay: 5_000 },
    {
      name: 'primary limit exhausted: wait until x-ratelimit-reset',
      err: httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 90) }),
      retryable: true,
      delay: 90_000,
    },
    { name: 'a plain 403 (policy, permissions) is final', err: httpError(403), retryable: false, delay: undefined },
    { name: '404 is final', err: httpError(404), retryable: false, delay: undefined },
    { name: '422 validation is final', err: httpError(422), retryable: false, delay: undefined },
    { name: '502 is retried', err: httpError(502), retryable: true, delay: undefined },
    {
      name: 'no HTTP answer is retried',
      err: Object.assign(new Error('fetch failed'), { code: 'ECONNREFUSED' }),
      retryable: true,
      delay: undefined,
    },
  ])('$name', ({ err, retryable, delay }) => {
    const failure = gitHubFailure(err, now);
    expect(failure.nonRetryable).toBe(!retryable);
    expect(failure.nextRetryDelay === undefined ? undefined : Number(failure.nextRetryDelay)).toBe(delay);
    expect(failure.message).toMatch(/^github: /);
  });
});
