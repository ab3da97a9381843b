// The sandbox Slack page: shows what the app posted, as a chosen sandbox user
// sees it, and clicks its buttons. A click is a request to this page's own
// server, which signs it with the app's signing secret and sends it to the app
// exactly as Slack would; the secret never reaches the browser.
//
// Every message is untrusted text. Nothing here parses a string as HTML: text goes in
// with textContent, and the only links are Slack's <http(s)://…|label> syntax.

const USER_KEY = 'sandbox-slack.user';
const CHANNEL_KEY = 'sandbox-slack.channel';
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const userPicker = $('user-picker');
const channelList = $('channel-list');
const messageList = $('messages');
const channelTitle = $('channel-title');
const emptyNote = $('empty');
const connection = $('connection');
const gatewayNote = $('gateway');
const workspace = $('workspace');
const dialog = $('confirm-dialog');
const confirmTitle = $('confirm-title');
const confirmText = $('confirm-text');
const confirmOk = $('confirm-ok');
const confirmDeny = $('confirm-deny');

let state = null;
let selectedUser = null;
let selectedChannel = null;
let highlight = null;
let highlighted = false;
let lastRenderKey = '';
let renderedUsers = '';
let polling = false;
let pendingConfirm = null;
/** Per message (`channel:ts`): what the last click there came to. */
const clickStatus = new Map();
const inFlight = new Set();
let statusVersion = 0;

// ---- small DOM helpers ----------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private windows may refuse storage; the choice then lasts for this page only.
  }
}

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function compareTs(a, b) {
  // Slack ts are fixed-width ("1732800000.000100"), so text order is time order.
  return a < b ? -1 : a > b ? 1 : 0;
}

function userName(id) {
  return state?.users.find((u) => u.id === id)?.name;
}

function channelName(id) {
  return state?.channels.find((c) => c.id === id)?.name;
}

// ---- Slack mrkdwn, rendered as text nodes -------------------------------------------

function decode(text) {
  // Slack escapes only these three in message text.
  return text.replace(/&(lt|gt|amp);/g, (_, e) => ({ lt: '<', gt: '>', amp: '&' })[e]);
}

function safeHttpUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

// Markers count only at word edges, as in Slack: snake_case_names stay plain.
const INLINE =
  /(?<![\p{L}\p{N}])(?:`([^`\n]+)`|\*(?!\s)([^*\n]+?)(?<!\s)\*|_(?!\s)([^_\n]+?)(?<!\s)_|~(?!\s)([^~\n]+?)(?<!\s)~)(?![\p{L}\p{N}])/gu;

function appendFormatted(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(decode(text.slice(last, m.index)));
    const [, code, bold, italic, strike] = m;
    if (code !== undefined) parent.append(el('code', {}, decode(code)));
    else {
      const node = el(bold !== undefined ? 'strong' : italic !== undefined ? 'em' : 's');
      appendFormatted(node, bold ?? italic ?? strike);
      parent.append(node);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(decode(text.slice(last)));
}

/** `<…>` sequences: links, mentions, broadcasts, dates. Anything else stays literal text. */
function controlSequence(inner) {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : '';
  if (/^https?:\/\//i.test(target)) {
    const href = safeHttpUrl(decode(target));
    if (href) return el('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' }, decode(label || target));
  }
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return el('span', { class: 'mention', 'data-mention': 'user', 'data-user-id': id }, `@${decode(label) || userName(id) || id}`);
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return el('span', { class: 'mention', 'data-mention': 'channel', 'data-channel-id': id }, `#${decode(label) || channelName(id) || id}`);
  }
  if (target.startsWith('!')) {
    const command = target.slice(1);
    if (command === 'here' || command === 'channel' || command === 'everyone') {
      // Shown loudly: an app that lets untrusted text through would notify everyone.
      return el('span', { class: 'mention broadcast', 'data-mention': command }, `@${command}`);
    }
    if (command.startsWith('subteam^'))
      return el('span', { class: 'mention', 'data-mention': 'subteam' }, decode(label) || `@${command.slice(8)}`);
    if (command.startsWith('date^')) return document.createTextNode(decode(label));
  }
  if (label && /^mailto:/i.test(target)) return document.createTextNode(decode(label));
  return document.createTextNode(decode(`<${inner}>`));
}

function appendInline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(/<([^<>\n]*)>/g)) {
    if (m.index > last) appendFormatted(parent, text.slice(last, m.index));
    parent.append(controlSequence(m[1]));
    last = m.index + m[0].length;
  }
  if (last < text.length) appendFormatted(parent, text.slice(last));
}

function appendMrkdwn(parent, text) {
  const parts = String(text).split('```');
  parts.forEach((part, i) => {
    const closed = i % 2 === 1 && i < parts.length - 1;
    if (closed) parent.append(el('pre', {}, decode(part.replace(/^\n/, ''))));
    else appendInline(parent, i % 2 === 1 ? `\`\`\`${part}` : part);
  });
}

function renderText(obj, tag = 'div') {
  if (obj?.type === 'mrkdwn') {
    const node = el(tag, { class: 'mrkdwn' });
    appendMrkdwn(node, obj.text ?? '');
    return node;
  }
  return el(tag, { class: 'plain' }, String(obj?.text ?? ''));
}

// ---- rich_text ------------------------------------------------------------------------

function richInline(parent, elements) {
  for (const e of elements ?? []) {
    let node;
    if (e.type === 'text') node = document.createTextNode(String(e.text ?? ''));
    else if (e.type === 'link') {
      const href = safeHttpUrl(String(e.url ?? ''));
      node = href
        ? el('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' }, String(e.text || e.url))
        : document.createTextNode(String(e.text || e.url || ''));
    } else if (e.type === 'user') node = el('span', { class: 'mention', 'data-mention': 'user' }, `@${userName(e.user_id) || e.user_id}`);
    else if (e.type === 'channel')
      node = el('span', { class: 'mention', 'data-mention': 'channel' }, `#${channelName(e.channel_id) || e.channel_id}`);
    else if (e.type === 'broadcast') node = el('span', { class: 'mention broadcast', 'data-mention': String(e.range) }, `@${e.range}`);
    else if (e.type === 'emoji') node = document.createTextNode(`:${e.name}:`);
    else node = document.createTextNode(String(e.text ?? e.fallback ?? ''));
    const style = e.style ?? {};
    for (const [flag, tag] of [
      ['code', 'code'],
      ['bold', 'strong'],
      ['italic', 'em'],
      ['strike', 's'],
    ]) {
      if (style[flag]) node = el(tag, {}, node);
    }
    parent.append(node);
  }
}

function renderRichText(block) {
  const root = el('div', { class: 'mrkdwn' });
  for (const part of block.elements ?? []) {
    if (part.type === 'rich_text_list') {
      const list = el(part.style === 'ordered' ? 'ol' : 'ul');
      for (const item of part.elements ?? []) {
        const li = el('li');
        richInline(li, item.elements);
        list.append(li);
      }
      root.append(list);
    } else {
      const node = el(part.type === 'rich_text_preformatted' ? 'pre' : part.type === 'rich_text_quote' ? 'blockquote' : 'div');
      richInline(node, part.elements);
      root.append(node);
    }
  }
  return root;
}

// ---- Block Kit ------------------------------------------------------------------------

function imagePlaceholder(image) {
  // Images are never fetched: the URL is untrusted and this machine is offline.
  return el('span', { class: 'image-placeholder' }, `[image: ${image.alt_text ?? ''}]`);
}

function renderButton(button, where) {
  const key = `${where.channel}:${where.ts}`;
  const style = button.style === 'primary' ? ' btn-primary' : button.style === 'danger' ? ' btn-danger' : '';
  const node = el(
    'button',
    {
      type: 'button',
      class: `btn${style}`,
      'data-action-id': button.action_id,
      'data-value': button.value,
      'data-style': button.style,
      'data-confirm': button.confirm ? 'true' : undefined,
      // Slack's accessibility_label is a description; the visible text stays the name.
      'aria-description': button.accessibility_label,
      disabled: inFlight.has(key),
    },
    String(button.text?.text ?? ''),
  );
  node.addEventListener('click', () => {
    const go = () => sendClick(where, button);
    if (button.confirm) openConfirm(button.confirm, go);
    else go();
  });
  return node;
}

function renderElement(element, where) {
  if (element?.type === 'button') return renderButton(element, where);
  if (element?.type === 'image') return imagePlaceholder(element);
  return el('span', { class: 'unsupported' }, `[${element?.type ?? 'element'}]`);
}

function renderBlock(block, where) {
  let node;
  switch (block.type) {
    case 'header':
      node = el('h2', { class: 'header-block' }, String(block.text?.text ?? ''));
      break;
    case 'section': {
      const body = el('div', { class: 'section-body' });
      if (block.text) body.append(renderText(block.text));
      if (Array.isArray(block.fields)) body.append(el('div', { class: 'fields' }, ...block.fields.map((f) => renderText(f))));
      node = el(
        'div',
        { class: 'section' },
        body,
        block.accessory ? el('div', { class: 'accessory' }, renderElement(block.accessory, where)) : null,
      );
      break;
    }
    case 'divider':
      node = el('hr', { class: 'divider' });
      break;
    case 'context':
      node = el(
        'div',
        { class: 'context' },
        ...(block.elements ?? []).map((e) => (e.type === 'image' ? imagePlaceholder(e) : renderText(e, 'span'))),
      );
      break;
    case 'actions':
      node = el('div', { class: 'actions', role: 'group' }, ...(block.elements ?? []).map((e) => renderElement(e, where)));
      break;
    case 'image':
      node = el('figure', {}, imagePlaceholder(block), block.title ? el('figcaption', {}, String(block.title.text ?? '')) : null);
      break;
    case 'markdown':
      node = el('div', { class: 'plain' }, String(block.text ?? ''));
      break;
    case 'rich_text':
      node = renderRichText(block);
      break;
    default:
      node = el('div', { class: 'unsupported' }, `[${block.type} block]`);
  }
  node.classList.add('block');
  if (block.block_id) node.dataset.blockId = block.block_id;
  return node;
}

function renderAttachment(a) {
  const node = el('div', { class: 'attachment' });
  if (a.pretext) node.append(renderText({ type: 'mrkdwn', text: a.pretext }));
  if (a.title) node.append(el('strong', {}, String(a.title)));
  if (a.text) node.append(renderText({ type: 'mrkdwn', text: a.text }));
  if (Array.isArray(a.blocks)) a.blocks.forEach((b) => node.append(renderBlock(b, {})));
  if (!node.hasChildNodes() && a.fallback) node.append(el('div', { class: 'plain' }, String(a.fallback)));
  return node;
}

// ---- messages -------------------------------------------------------------------------

function renderMessage(m, { ephemeral, reply }) {
  const where = { channel: selectedChannel, ts: m.ts };
  const seconds = Number(m.ts.split('.')[0]);
  const when = new Date(seconds * 1000);
  const classes = ['message', ephemeral ? 'ephemeral' : '', reply ? 'reply' : '', highlight && highlight.ts === m.ts ? 'highlight' : '']
    .filter(Boolean)
    .join(' ');
  const article = el('article', {
    class: classes,
    'data-ts': m.ts,
    'data-channel': selectedChannel,
    'data-ephemeral': ephemeral ? 'true' : 'false',
    'data-thread-ts': m.thread_ts && m.thread_ts !== m.ts ? m.thread_ts : undefined,
    'data-edited': m.edited ? 'true' : undefined,
  });
  article.append(
    el(
      'div',
      { class: 'message-meta' },
      el('span', { class: 'author' }, state.app.name),
      el('span', { class: 'app-badge' }, 'APP'),
      el('time', { datetime: when.toISOString() }, when.toLocaleTimeString()),
      m.edited ? el('span', { class: 'edited' }, '(edited)') : null,
    ),
  );
  if (ephemeral) article.append(el('p', { class: 'ephemeral-note' }, 'Only visible to you'));
  if (Array.isArray(m.blocks) && m.blocks.length > 0) m.blocks.forEach((b) => article.append(renderBlock(b, where)));
  else article.append(renderText({ type: m.subtype === 'tombstone' ? 'plain_text' : 'mrkdwn', text: m.text ?? '' }));
  (m.attachments ?? []).forEach((a) => article.append(renderAttachment(a)));
  const status = clickStatus.get(`${where.channel}:${m.ts}`);
  if (status)
    article.append(el('p', { class: 'click-status', role: 'status', 'data-kind': status.kind, 'data-status': status.status }, status.text));
  return article;
}

function renderMessages() {
  const channel = state.channels.find((c) => c.id === selectedChannel);
  if (!channel) return;
  channelTitle.textContent = `#${channel.name}`;
  document.title = `#${channel.name} — Sandbox Slack`;
  const mine = (state.ephemerals[selectedUser] ?? []).filter((e) => e.channel === channel.id);
  const parents = new Set(channel.messages.map((m) => m.ts));
  const inThread = (e) => e.thread_ts && parents.has(e.thread_ts);
  const entries = [
    ...channel.messages.map((m) => ({ m, ephemeral: false })),
    ...mine.filter((e) => !inThread(e)).map((m) => ({ m, ephemeral: true })),
  ].sort((a, b) => compareTs(a.m.ts, b.m.ts));

  const items = entries.map(({ m, ephemeral }) => {
    const item = el('li', { class: 'entry' }, renderMessage(m, { ephemeral }));
    if (!ephemeral) {
      const replies = [
        ...(m.replies ?? []).map((r) => ({ m: r, ephemeral: false })),
        ...mine.filter((e) => inThread(e) && e.thread_ts === m.ts).map((e) => ({ m: e, ephemeral: true })),
      ].sort((a, b) => compareTs(a.m.ts, b.m.ts));
      if (replies.length > 0) {
        item.append(
          el('p', { class: 'thread-label' }, `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`),
          el(
            'div',
            { class: 'thread', role: 'group', 'aria-label': 'Thread replies' },
            ...replies.map((r) => renderMessage(r.m, { ephemeral: r.ephemeral, reply: true })),
          ),
        );
      }
    }
    return item;
  });
  messageList.replaceChildren(...items);
  emptyNote.hidden = items.length > 0;

  if (highlight && !highlighted) {
    const target = messageList.querySelector(`article[data-ts="${CSS.escape(highlight.ts)}"]`);
    if (target) {
      target.scrollIntoView({ block: 'center' });
      highlighted = true;
    }
  }
}

function renderUsers() {
  const key = state.users.map((u) => `${u.id}:${u.name}`).join(',');
  if (key !== renderedUsers) {
    // Rebuilt only when the users change, so an open picker is not reset by polling.
    userPicker.replaceChildren(...state.users.map((u) => el('option', { value: u.id }, u.name)));
    renderedUsers = key;
  }
  userPicker.value = selectedUser;
}

function renderChannels() {
  channelList.replaceChildren(
    ...state.channels.map((c) =>
      el(
        'li',
        {},
        el(
          'a',
          { href: `/channels/${c.id}`, 'data-channel-id': c.id, 'aria-current': c.id === selectedChannel ? 'page' : undefined },
          `#${c.name}`,
          el('span', { class: 'count', 'aria-hidden': 'true' }, c.messages.length ? String(c.messages.length) : ''),
        ),
      ),
    ),
  );
}

function chooseDefaults() {
  if (!state.users.some((u) => u.id === selectedUser)) {
    const remembered = stored(USER_KEY);
    selectedUser = state.users.some((u) => u.id === remembered) ? remembered : (state.users[0]?.id ?? null);
  }
  if (!state.channels.some((c) => c.id === selectedChannel)) {
    const remembered = stored(CHANNEL_KEY);
    selectedChannel = state.channels.some((c) => c.id === remembered) ? remembered : (state.channels[0]?.id ?? null);
  }
}

function render() {
  if (!state) return;
  chooseDefaults();
  const key = `${state.version}|${selectedUser}|${selectedChannel}|${statusVersion}`;
  if (key === lastRenderKey) return;
  // Redrawing under an open dialog would swap the card it is about; redraw after it closes.
  if (dialog.open) return;
  lastRenderKey = key;
  workspace.textContent = `${state.team.name} (sandbox Slack)`;
  gatewayNote.textContent = state.gatewayUrl
    ? `Clicks go to ${state.gatewayUrl}/slack/events`
    : 'No app URL configured: clicks cannot be delivered.';
  renderUsers();
  renderChannels();
  renderMessages();
}

// ---- clicking -----------------------------------------------------------------------

function setStatus(key, status) {
  clickStatus.set(key, status);
  statusVersion++;
  render();
}

async function sendClick(where, button) {
  const key = `${where.channel}:${where.ts}`;
  const user = selectedUser;
  const label = String(button.text?.text ?? button.action_id);
  inFlight.add(key);
  setStatus(key, { kind: 'pending', text: `${userName(user)} clicked “${label}”…` });
  try {
    const res = await fetch('/_sandbox/click', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: where.channel, ts: where.ts, actionId: button.action_id, userId: user }),
    });
    const body = await res.json().catch(() => ({}));
    if (typeof body.error === 'string') setStatus(key, { kind: 'error', status: res.status, text: `Not delivered: ${body.error}` });
    else if (res.ok)
      setStatus(key, { kind: 'ok', status: res.status, text: `${userName(user)} clicked “${label}”; the app answered ${res.status}` });
    else
      setStatus(key, {
        kind: 'error',
        status: res.status,
        text: `${userName(user)} clicked “${label}”; the app answered ${res.status}${body.body ? `: ${String(body.body).slice(0, 200)}` : ''}`,
      });
  } catch (err) {
    setStatus(key, { kind: 'error', text: `Not delivered: ${err.message}` });
  } finally {
    inFlight.delete(key);
    statusVersion++;
    render();
    void poll();
  }
}

function openConfirm(confirm, proceed) {
  confirmTitle.textContent = String(confirm.title?.text ?? 'Are you sure?');
  confirmText.replaceChildren(renderText(confirm.text ?? { type: 'plain_text', text: '' }));
  confirmOk.textContent = String(confirm.confirm?.text ?? 'Yes');
  confirmDeny.textContent = String(confirm.deny?.text ?? 'Cancel');
  confirmOk.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  pendingConfirm = proceed;
  dialog.showModal();
}

confirmOk.addEventListener('click', () => {
  const proceed = pendingConfirm;
  pendingConfirm = null;
  dialog.close('confirm');
  proceed?.();
});
confirmDeny.addEventListener('click', () => {
  pendingConfirm = null;
  dialog.close('deny');
});
dialog.addEventListener('close', () => {
  pendingConfirm = null;
  render();
});

// ---- navigation and polling ------------------------------------------------------------

function readLocation() {
  const channel = /^\/channels\/([A-Z0-9]+)\/?$/.exec(location.pathname);
  if (channel) return { channel: channel[1] };
  // Slack's permalink form: /archives/<channel>/p<ts without the dot>
  const permalink = /^\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})\/?$/.exec(location.pathname);
  if (permalink) return { channel: permalink[1], ts: `${permalink[2]}.${permalink[3]}` };
  return {};
}

function applyLocation() {
  const where = readLocation();
  if (where.channel) selectedChannel = where.channel;
  highlight = where.ts ? { ts: where.ts } : null;
  highlighted = false;
}

function selectChannel(id) {
  selectedChannel = id;
  store(CHANNEL_KEY, id);
  highlight = null;
  history.pushState(null, '', `/channels/${id}`);
  render();
}

channelList.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-channel-id]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  selectChannel(link.dataset.channelId);
});

userPicker.addEventListener('change', () => {
  selectedUser = userPicker.value;
  store(USER_KEY, selectedUser);
  render();
});

window.addEventListener('popstate', () => {
  applyLocation();
  render();
});

function setConnection(up, detail) {
  connection.dataset.state = up ? 'up' : 'down';
  connection.textContent = up ? 'live' : `disconnected (${detail}); retrying`;
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const res = await fetch('/_sandbox/state', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    state = await res.json();
    setConnection(true);
    render();
  } catch (err) {
    setConnection(false, err.message);
  } finally {
    polling = false;
  }
}

applyLocation();
void poll();
setInterval(() => void poll(), POLL_MS);
window.addEventListener('focus', () => void poll());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void poll();
});
