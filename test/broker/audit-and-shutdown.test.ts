// The audit file under load (whole lines, one per request) and a graceful
// stop: in-flight requests finish, their lines are flushed, new ones are refused.
import { stat } from 'node:fs/promises';
import { triageIdFrom } from '../../broker/audit.js';
import { call, createWorld, expectNoSecrets, readAudit, type World } from './harness.js';

let world: World;

beforeEach(async () => {
  world = await createWorld();
});

afterEach(async () => {
  await expectNoSecrets(world);
  await world.close();
});

test('200 concurrent requests → 200 whole JSON lines, one per request', async () => {
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      i % 4 === 0
        ? world.call('DELETE', `/github/repos/acme/checkout/issues/${i}`, { headers: { 'x-triage-id': `triage-${i}` } })
        : world.call('POST', '/slack/api/chat.getPermalink', {
            headers: { 'x-triage-id': `triage-${i}` },
            body: JSON.stringify({ text: 'x'.repeat(i * 10) }),
          }),
    ),
  );
  expect(replies.filter((r) => r.status === 200)).toHaveLength(150);
  expect(replies.filter((r) => r.status === 403)).toHaveLength(50);
  const lines = await world.audit(200);
  expect(lines).toHaveLength(200);
  expect(new Set(lines.map((l) => l.triageId)).size).toBe(200);
  expect(lines.filter((l) => l.decision === 'denied')).toHaveLength(50);
  const mode = (await stat(world.auditPath)).mode & 0o777;
  expect(mode).toBe(0o600);
});

test('close() lets an in-flight request finish, flushes its audit line and refuses new connections', async () => {
  let releaseUpstream!: () => void;
  const upstreamHolding = new Promise<void>((resolve) => {
    world.slack.handler = (_req, res) => {
      releaseUpstream = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      };
      resolve();
    };
  });
  const inFlight = world.call('POST', '/slack/api/chat.getPermalink', { body: '{}', headers: { 'x-triage-id': 'triage-inflight' } });
  await upstreamHolding;

  const closing = world.broker.close();
  await new Promise((r) => setTimeout(r, 50));
  await expect(call(world.broker.url, 'POST', '/slack/api/chat.getPermalink')).rejects.toThrow(/ECONNREFUSED/);

  releaseUpstream();
  expect((await inFlight).status).toBe(200);
  await closing;
  const lines = await readAudit(world.auditPath, 1, 0);
  expect(lines.at(-1)).toMatchObject({ triageId: 'triage-inflight', status: 200 });
});

test('triage ids: the documented pattern, anything else "invalid"', () => {
  expect(triageIdFrom('triage-Q1CHECKOUT1')).toBe('triage-Q1CHECKOUT1');
  expect(triageIdFrom('a'.repeat(128))).toBe('a'.repeat(128));
  expect(triageIdFrom('a'.repeat(129))).toBe('invalid');
  expect(triageIdFrom('-leading-dash')).toBe('invalid');
  expect(triageIdFrom('has"quote')).toBe('invalid');
  expect(triageIdFrom(['a', 'b'])).toBe('invalid');
  expect(triageIdFrom(undefined)).toBeNull();
});
