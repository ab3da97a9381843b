// The broker as an HTTP proxy: streaming both ways, hop-by-hop headers,
// upstream status passed through, no redirects followed, and timeouts,
// connection failures and oversized bodies answered in JSON.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { startBroker } from '../../broker/broker.js';
import { createUpstreamPool } from '../../broker/upstream.js';
import { json, readBody, startFake } from './fake-upstreams.js';
import { APPROVED_WRITES, createWorld, expectNoSecrets, type World } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await createWorld({ upstreamTimeout: '400ms' });
});

afterAll(async () => {
  await expectNoSecrets(world);
  await world.close();
});

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** `promise`'s value, or `fallback` after `ms`; the timer never outlives the test. */
async function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function openRequest(method: string, path: string, headers: Record<string, string | string[]> = {}) {
  const url = new URL(world.broker.url);
  const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, response };
}

test('a 5 MB chunked response streams through: the first chunk arrives before upstream has finished', async () => {
  const total = 5 * 1024 * 1024;
  const payload = randomBytes(total);
  const clientSawFirstChunk = deferred<'client'>();
  let releasedBy: 'client' | 'timeout' | undefined;
  world.datadog.handler = async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(payload.subarray(0, 64 * 1024));
    // Hold the rest back until the caller has the first chunk: a buffering proxy never delivers it.
    releasedBy = await orAfter(clientSawFirstChunk.promise, 3000, 'timeout' as const);
    for (let offset = 64 * 1024; offset < total; offset += 256 * 1024) {
      if (!res.write(payload.subarray(offset, Math.min(total, offset + 256 * 1024)))) await once(res, 'drain');
    }
    res.end();
  };

  const { req, response } = openRequest('GET', '/datadog/api/v1/monitor?page=0');
  req.end();
  const res = await response;
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-length']).toBeUndefined();
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of res) {
    if (received === 0) clientSawFirstChunk.resolve('client');
    received += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  expect(releasedBy).toBe('client');
  expect(received).toBe(total);
  expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  const line = (await world.audit(0)).filter((l) => l.path === '/api/v1/monitor').at(-1)!;
  expect(line).toMatchObject({ status: 200, upstreamStatus: 200, bytesOut: total });
});

test('a request body streams upstream before the caller has finished sending it', async () => {
  const upstreamGotFirstChunk = deferred();
  let upstreamBytes = 0;
  world.datadog.handler = async (req, res) => {
    for await (const chunk of req) {
      if (upstreamBytes === 0) upstreamGotFirstChunk.resolve();
      upstreamBytes += (chunk as Buffer).length;
    }
    json(res, 200, { received: upstreamBytes });
  };
  const { req, response } = openRequest('POST', '/datadog/api/v2/logs/events/search', { 'content-type': 'application/json' });
  req.write(Buffer.alloc(100 * 1024, 0x61));
  const first = await orAfter(
    upstreamGotFirstChunk.promise.then(() => 'streamed'),
    2000,
    'buffered',
  );
  expect(first).toBe('streamed');
  req.end(Buffer.alloc(700 * 1024, 0x62));
  const res = await response;
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(await readBody(res))).toEqual({ received: 800 * 1024 });
  expect((await world.audit(0)).filter((l) => l.path === '/api/v2/logs/events/search').at(-1)).toMatchObject({
    bytesIn: 800 * 1024,
    status: 200,
  });
});

test('Expect: 100-continue is answered by the broker, and the body still arrives upstream', async () => {
  world.datadog.handler = async (req, res) =>
    json(res, 200, { received: (await readBody(req)).length, expect: req.headers.expect ?? null });
  const { req, response } = openRequest('POST', '/datadog/api/v2/logs/events/search', {
    expect: '100-continue',
    'content-type': 'application/json',
    'content-length': '2048',
  });
  req.on('continue', () => req.end(Buffer.alloc(2048, 0x7b)));
  const res = await response;
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(await readBody(res))).toEqual({ received: 2048, expect: null });
});

test('request bodies over 1 MiB → 413; a declared oversize body never reaches upstream', async () => {
  const before = world.datadog.requests.length;
  const { req, response } = openRequest('POST', '/datadog/api/v2/logs/events/search', {
    'content-type': 'application/json',
    'content-length': String(2 * 1024 * 1024),
  });
  req.on('error', () => undefined); // the broker closes the connection instead of reading the rest
  req.write(Buffer.alloc(1024));
  const res = await response;
  expect(res.statusCode).toBe(413);
  expect(JSON.parse(await readBody(res))).toEqual({ error: 'request body too large', limit: 1024 * 1024 });
  req.destroy();
  expect(world.datadog.requests.length).toBe(before);

  world.datadog.handler = async (r, s) => {
    await readBody(r).catch(() => '');
    json(s, 200, {});
  };
  const chunked = openRequest('POST', '/datadog/api/v2/logs/events/search', {
    'content-type': 'application/json',
    'transfer-encoding': 'chunked',
  });
  chunked.req.on('error', () => undefined);
  for (let i = 0; i < 24 && !chunked.req.destroyed; i++) {
    if (!chunked.req.write(Buffer.alloc(64 * 1024, 0x63))) await Promise.race([once(chunked.req, 'drain'), chunked.response]);
  }
  chunked.req.end();
  const chunkedRes = await chunked.response;
  expect(chunkedRes.statusCode).toBe(413);
  const line = (await world.audit(0)).filter((l) => l.status === 413).at(-1)!;
  expect(line).toMatchObject({ decision: 'allowed', reason: 'request body too large' });
  expect(line.bytesIn).toBeGreaterThan(1024 * 1024);
});

test('hop-by-hop headers are dropped both ways, Set-Cookie never reaches the caller', async () => {
  world.slack.handler = (_req, res) => {
    res.setHeader('x-up-hop', 'upstream-only');
    res.setHeader('connection', 'x-up-hop');
    res.setHeader('keep-alive', 'timeout=99');
    res.setHeader('proxy-authenticate', 'Basic realm="up"');
    res.setHeader('set-cookie', ['session=abc; HttpOnly', 'b=2']);
    res.setHeader('x-passed', 'kept');
    json(res, 200, { ok: true });
  };
  const { req, response } = openRequest('POST', '/slack/api/chat.getPermalink', {
    connection: 'keep-alive, x-hop-custom',
    'x-hop-custom': 'caller-only',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-checksum',
    upgrade: 'h2c',
    'proxy-connection': 'keep-alive',
    'x-forwarded-for': '10.0.0.1',
    'user-agent': 'triage-worker/1.0 (triage-Q1)',
    'x-kept': 'yes',
  });
  req.end();
  const res = await response;
  await readBody(res);
  expect(res.statusCode).toBe(200);
  expect(res.headers['x-up-hop']).toBeUndefined();
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(res.headers['proxy-authenticate']).toBeUndefined();
  expect(res.headers['keep-alive']).not.toBe('timeout=99');
  expect(res.headers['x-passed']).toBe('kept');

  const seen = world.slack.requests.at(-1)!.headers;
  for (const name of ['x-hop-custom', 'te', 'trailer', 'upgrade', 'proxy-connection', 'x-forwarded-for'])
    expect(seen[name]).toBeUndefined();
  expect(seen['keep-alive']).not.toBe('timeout=5');
  expect(seen['user-agent']).toBe('triage-worker/1.0 (triage-Q1)');
  expect(seen['x-kept']).toBe('yes');
});

test('method-override and URL-rewrite headers never reach upstream: the method and path checked are the ones used', async () => {
  const overrides = {
    'X-HTTP-Method-Override': 'DELETE',
    'X-HTTP-Method': 'DELETE',
    'X-Method-Override': 'DELETE',
    'X-Original-URL': '/api/admin.users.remove',
    'X-Rewrite-URL': '/api/admin.users.remove',
  };
  const posted = await world.call('POST', '/slack/api/chat.getPermalink', {
    headers: { ...overrides, 'content-type': 'application/json', 'x-kept': 'yes' },
    body: '{"channel":"C0INCIDENTS","text":"hi"}',
  });
  expect(posted.status).toBe(200);
  const slack = world.slack.requests.at(-1)!;
  // An allowed PATCH on a GitHub issue must not become a DELETE (or another issue) behind the check.
  const patched = await world.call('PATCH', '/github/repos/acme/checkout/issues/17', {
    headers: {
      ...overrides,
      'x-original-url': '/repos/acme/checkout/issues/18',
      'content-type': 'application/json',
      'x-triage-id': 'triage-Q1',
    },
    body: APPROVED_WRITES.edit,
  });
  expect(patched.status).toBe(200);
  const github = world.github.requests.at(-1)!;

  expect(slack).toMatchObject({ method: 'POST', url: '/api/chat.getPermalink' });
  expect(github).toMatchObject({ method: 'PATCH', url: '/repos/acme/checkout/issues/17' });
  for (const seen of [slack, github]) {
    const names = Object.keys(seen.headers);
    expect(names.filter((n) => /method|original-url|rewrite-url/.test(n))).toEqual([]);
  }
  expect(slack.headers['x-kept']).toBe('yes');
});

test('upstream status, body and rate-limit headers pass through unchanged', async () => {
  world.slack.handler = (_req, res) =>
    json(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': '30', 'x-ratelimit-remaining': '0' });
  const reply = await world.call('POST', '/slack/api/chat.getPermalink', { body: '{}', headers: { 'content-type': 'application/json' } });
  expect(reply.status).toBe(429);
  expect(reply.headers['retry-after']).toBe('30');
  expect(reply.headers['x-ratelimit-remaining']).toBe('0');
  expect(reply.json()).toEqual({ ok: false, error: 'ratelimited' });
  expect((await world.audit(0)).at(-1)).toMatchObject({ status: 429, upstreamStatus: 429, decision: 'allowed' });

  world.slack.handler = (_req, res) => json(res, 500, { ok: false, error: 'internal_error' });
  expect((await world.call('POST', '/slack/api/chat.getPermalink', { body: '{}' })).status).toBe(500);
});

test('redirects are passed back, never followed', async () => {
  const elsewhere = await startFake((_req, res) => json(res, 200, { stolen: true }));
  try {
    world.datadog.handler = (_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/collect` });
      res.end();
    };
    const reply = await world.call('GET', '/datadog/api/v1/monitor');
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe(`${elsewhere.url}/collect`);
    expect(elsewhere.requests).toHaveLength(0);
  } finally {
    await elsewhere.close();
  }
});

test('no response headers within upstreamTimeout → 504 JSON', async () => {
  world.datadog.handler = async (_req, res) => {
    await orAfter(once(res, 'close'), 1500, undefined);
    if (!res.destroyed) json(res, 200, {});
  };
  const started = Date.now();
  const reply = await world.call('GET', '/datadog/api/v1/monitor', { headers: { 'x-triage-id': 'triage-timeout' } });
  expect(reply.status).toBe(504);
  expect(reply.json()).toEqual({ error: 'upstream timeout' });
  expect(Date.now() - started).toBeLessThan(1400);
  expect((await world.audit(0)).at(-1)).toMatchObject({ status: 504, reason: 'upstream timeout', triageId: 'triage-timeout' });
  expect((await world.audit(0)).at(-1)!.upstreamStatus).toBeUndefined();
});

test('an upstream that drops the connection → 502 JSON', async () => {
  world.datadog.handler = (req) => {
    req.socket.destroy();
  };
  const reply = await world.call('GET', '/datadog/api/v1/monitor');
  expect(reply.status).toBe(502);
  expect(reply.json()).toEqual({ error: 'upstream unreachable' });
  expect((await world.audit(0)).at(-1)).toMatchObject({ status: 502, reason: expect.stringMatching(/^upstream error/) });
});

test('an upstream that is down → 502 JSON', async () => {
  const dead = await startFake(() => undefined);
  await dead.close();
  const w = await createWorld({ noBroker: true });
  try {
    w.config.providers.slack!.upstream = dead.url;
    w.broker = await startBroker(w.config, { log: w.logger });
    const reply = await w.call('POST', '/slack/api/chat.getPermalink');
    expect(reply.status).toBe(502);
    expect(reply.json()).toEqual({ error: 'upstream unreachable' });
    expect((await w.audit(1)).at(-1)).toMatchObject({ status: 502, reason: 'upstream error (ECONNREFUSED)' });
  } finally {
    await w.close();
  }
});

test('a caller that hangs up mid-response cancels the upstream request', async () => {
  const upstreamClosed = deferred();
  world.datadog.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed.resolve();
    });
  };
  const { req, response } = openRequest('GET', '/datadog/api/v1/monitor');
  req.end();
  const res = await response;
  expect(
    await orAfter(
      once(res, 'data').then(() => 'data'),
      2000,
      'nothing streamed',
    ),
  ).toBe('data');
  res.destroy();
  const outcome = await orAfter(
    upstreamClosed.promise.then(() => 'cancelled'),
    2000,
    'still running',
  );
  expect(outcome).toBe('cancelled');
  const line = await (async () => {
    for (let i = 0; i < 100; i++) {
      const l = (await world.audit(0)).at(-1)!;
      if (l.reason === 'caller closed the connection') return l;
      await new Promise((r) => setTimeout(r, 20));
    }
    return (await world.audit(0)).at(-1)!;
  })();
  expect(line).toMatchObject({ status: 200, reason: 'caller closed the connection' });
});

test('the upstream pool refuses any origin that is not configured', async () => {
  const pool = createUpstreamPool(world.config);
  try {
    await expect(pool.dispatcher.request({ origin: 'http://127.0.0.1:9', path: '/', method: 'GET' })).rejects.toThrow(
      'is not a configured upstream',
    );
    await expect(fetch('http://127.0.0.1:9/', { dispatcher: pool.dispatcher } as RequestInit)).rejects.toThrow();
  } finally {
    await pool.close();
  }
});
