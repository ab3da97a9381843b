// The sandbox Slack page is served by the emulator as plain files. A browser
// test elsewhere drives it; here: what is served, with which headers, and that
// the script has no way to turn message text into markup.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SlackEmulator } from '../../sandbox/emulators/slack.js';
import { slackEmulator } from './emulators/slack-fixtures.js';

const PAGE_DIR = fileURLToPath(new URL('../../sandbox/slack-page/', import.meta.url));

let slack: SlackEmulator;
beforeAll(async () => {
  slack = await slackEmulator();
});
afterAll(() => slack.close());

test('GET / is the page: the user picker, the channel list, the confirm dialog, no inline script or style', async () => {
  const res = await fetch(`${slack.url}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  const html = await res.text();
  expect(html).toContain('<select id="user-picker" aria-label="Acting user">');
  expect(html).toContain('<nav aria-label="Channels">');
  expect(html).toMatch(/<dialog id="confirm-dialog"/);
  expect(html).toContain('<script type="module" src="/static/slack.js"></script>');
  expect(html).not.toMatch(/<script>(?!<\/script>)|style=/);
});

test('the channel and permalink addresses serve the same page', async () => {
  const id = slack.channelId('incidents');
  for (const path of [`/channels/${id}`, `/archives/${id}/p1732800000000100`]) {
    const res = await fetch(`${slack.url}${path}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('aria-label="Acting user"');
  }
});

test('the script and the stylesheet are served with their types; nothing outside the page directory is', async () => {
  const js = await fetch(`${slack.url}/static/slack.js`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toMatch(/javascript/);
  const css = await fetch(`${slack.url}/static/slack.css`);
  expect(css.status).toBe(200);
  expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  for (const path of ['/static/../emulators/slack.ts', '/static/%2e%2e/scenarios/README.md', '/static/nope.js']) {
    expect((await fetch(`${slack.url}${path}`)).status).toBe(404);
  }
});

test('the page never builds markup from strings and loads nothing from elsewhere', () => {
  const js = readFileSync(join(PAGE_DIR, 'slack.js'), 'utf8');
  // Message text is untrusted: DOM nodes and textContent only.
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'srcdoc']) {
    expect(js).not.toContain(sink);
  }
  // Links come only from Slack's <http(s)://…|label> syntax, checked with the URL parser.
  expect(js).toContain("url.protocol === 'http:' || url.protocol === 'https:'");
  for (const file of ['index.html', 'slack.css', 'slack.js']) {
    const text = readFileSync(join(PAGE_DIR, file), 'utf8');
    expect(text).not.toMatch(/(?:src|href)=["']https?:|@import|url\(\s*["']?https?:/);
  }
});

test('the state the page polls carries what it renders', async () => {
  const res = await fetch(`${slack.url}/_sandbox/state`);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const state = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(state).sort()).toEqual(['app', 'channels', 'ephemerals', 'gatewayUrl', 'team', 'users', 'version']);
});
