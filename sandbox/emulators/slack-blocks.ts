// The Block Kit rules Slack enforces when an app posts or updates a message.
// Slack refuses the whole message (`invalid_blocks`) when one rule is broken,
// with one line per problem and a JSON pointer to it; the sandbox must refuse
// the same messages, or a card that works here would fail in production.
import { randomBase62 } from './issued-tokens.js';

/** The limits Slack documents for messages (not modals or Home tabs). */
export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  messageText: 40_000,
  blockId: 255,
  actionId: 255,
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  accessibilityLabel: 75,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  imageUrl: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  markdownBlockText: 12_000,
  inputLabel: 2000,
} as const;

type Json = Record<string, unknown>;

const BLOCK_TYPES = new Set([
  'section',
  'header',
  'divider',
  'context',
  'actions',
  'image',
  'markdown',
  'rich_text',
  'input',
  'file',
  'video',
]);
/** Interactive elements other than buttons; checked for their action_id only. */
const OTHER_INTERACTIVE = new Set([
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'timepicker',
  'overflow',
  'radio_buttons',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'workflow_button',
  'file_input',
]);

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Slack counts characters, not UTF-16 code units. */
export function characters(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

class Problems {
  readonly list: string[] = [];
  add(pointer: string, message: string): void {
    // Slack's wording: "<what is wrong> [json-pointer:/blocks/0/text/text]".
    this.list.push(`${message} [json-pointer:${pointer}]`);
  }
}

function checkString(p: Problems, v: unknown, pointer: string, max: number, required: boolean): v is string {
  if (v === undefined) {
    if (required) p.add(pointer, 'missing required field');
    return false;
  }
  if (typeof v !== 'string') {
    p.add(pointer, 'must be a string');
    return false;
  }
  if (v.length === 0 && required) {
    p.add(pointer, 'must be more than 0 characters');
    return false;
  }
  if (characters(v) > max) {
    p.add(pointer, `must be less than ${max + 1} characters`);
    return false;
  }
  return true;
}

function checkText(p: Problems, v: unknown, pointer: string, opts: { max: number; plainOnly?: boolean; required?: boolean }): void {
  if (v === undefined) {
    if (opts.required !== false) p.add(pointer, 'missing required field');
    return;
  }
  if (!isObject(v)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  if (v.type !== 'plain_text' && v.type !== 'mrkdwn') {
    p.add(`${pointer}/type`, 'must be one of: plain_text, mrkdwn');
    return;
  }
  if (opts.plainOnly && v.type !== 'plain_text') p.add(`${pointer}/type`, 'must be plain_text');
  checkString(p, v.text, `${pointer}/text`, opts.max, true);
  if (v.emoji !== undefined && (v.type !== 'plain_text' || typeof v.emoji !== 'boolean'))
    p.add(`${pointer}/emoji`, 'is only a boolean on plain_text');
  if (v.verbatim !== undefined && (v.type !== 'mrkdwn' || typeof v.verbatim !== 'boolean'))
    p.add(`${pointer}/verbatim`, 'is only a boolean on mrkdwn');
}

function checkConfirm(p: Problems, v: unknown, pointer: string): void {
  if (!isObject(v)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  const L = BLOCK_KIT_LIMITS;
  checkText(p, v.title, `${pointer}/title`, { max: L.confirmTitle, plainOnly: true });
  checkText(p, v.text, `${pointer}/text`, { max: L.confirmText });
  checkText(p, v.confirm, `${pointer}/confirm`, { max: L.confirmButton, plainOnly: true });
  checkText(p, v.deny, `${pointer}/deny`, { max: L.confirmButton, plainOnly: true });
  if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') p.add(`${pointer}/style`, 'must be one of: primary, danger');
}

function checkActionId(p: Problems, el: Json, pointer: string, seen: Set<string> | undefined): void {
  if (el.action_id === undefined) return;
  if (!checkString(p, el.action_id, `${pointer}/action_id`, BLOCK_KIT_LIMITS.actionId, true)) return;
  if (seen) {
    if (seen.has(el.action_id as string)) p.add(`${pointer}/action_id`, 'must be unique within the block');
    seen.add(el.action_id as string);
  }
}

function checkButton(p: Problems, el: Json, pointer: string, seen: Set<string> | undefined): void {
  const L = BLOCK_KIT_LIMITS;
  checkText(p, el.text, `${pointer}/text`, { max: L.buttonText, plainOnly: true });
  checkActionId(p, el, pointer, seen);
  if (el.value !== undefined) checkString(p, el.value, `${pointer}/value`, L.buttonValue, true);
  if (el.url !== undefined && checkString(p, el.url, `${pointer}/url`, L.buttonUrl, true) && !isHttpUrl(el.url))
    p.add(`${pointer}/url`, 'invalid url');
  if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger')
    p.add(`${pointer}/style`, 'must be one of: primary, danger');
  if (el.confirm !== undefined) checkConfirm(p, el.confirm, `${pointer}/confirm`);
  if (el.accessibility_label !== undefined)
    checkString(p, el.accessibility_label, `${pointer}/accessibility_label`, L.accessibilityLabel, true);
}

function checkImageElement(p: Problems, el: Json, pointer: string): void {
  const L = BLOCK_KIT_LIMITS;
  if (el.image_url === undefined && el.slack_file === undefined) p.add(pointer, 'must provide either image_url or slack_file');
  if (el.image_url !== undefined && checkString(p, el.image_url, `${pointer}/image_url`, L.imageUrl, true) && !isHttpUrl(el.image_url)) {
    p.add(`${pointer}/image_url`, 'invalid url');
  }
  checkString(p, el.alt_text, `${pointer}/alt_text`, L.imageAltText, true);
}

function checkElement(p: Problems, el: unknown, pointer: string, where: 'actions' | 'accessory', seen: Set<string> | undefined): void {
  if (!isObject(el)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  if (el.type === 'button') checkButton(p, el, pointer, seen);
  else if (el.type === 'image' && where === 'accessory') checkImageElement(p, el, pointer);
  else if (typeof el.type === 'string' && OTHER_INTERACTIVE.has(el.type)) checkActionId(p, el, pointer, seen);
  else p.add(`${pointer}/type`, `unsupported element type: ${String(el.type).slice(0, 40)}`);
}

function checkElements(p: Problems, v: unknown, pointer: string, max: number, each: (el: unknown, pointer: string) => void): void {
  if (!Array.isArray(v)) {
    p.add(pointer, v === undefined ? 'missing required field' : 'must provide an array');
    return;
  }
  if (v.length === 0) p.add(pointer, 'must provide at least 1 item');
  if (v.length > max) p.add(pointer, `no more than ${max} items allowed`);
  v.slice(0, max).forEach((el, i) => each(el, `${pointer}/${i}`));
}

function checkBlock(p: Problems, block: unknown, pointer: string, blockIds: Set<string>): void {
  const L = BLOCK_KIT_LIMITS;
  if (!isObject(block)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  if (typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
    p.add(`${pointer}/type`, `unsupported block type: ${String(block.type).slice(0, 40)}`);
    return;
  }
  if (block.block_id !== undefined && checkString(p, block.block_id, `${pointer}/block_id`, L.blockId, true)) {
    if (blockIds.has(block.block_id)) p.add(`${pointer}/block_id`, 'duplicate block_id');
    blockIds.add(block.block_id);
  }
  switch (block.type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined) p.add(pointer, 'must provide either text or fields');
      if (block.text !== undefined) checkText(p, block.text, `${pointer}/text`, { max: L.sectionText });
      if (block.fields !== undefined)
        checkElements(p, block.fields, `${pointer}/fields`, L.sectionFields, (f, ptr) => checkText(p, f, ptr, { max: L.sectionField }));
      if (block.accessory !== undefined) checkElement(p, block.accessory, `${pointer}/accessory`, 'accessory', undefined);
      break;
    case 'header':
      checkText(p, block.text, `${pointer}/text`, { max: L.headerText, plainOnly: true });
      break;
    case 'divider':
      break;
    case 'context':
      checkElements(p, block.elements, `${pointer}/elements`, L.contextElements, (el, ptr) => {
        if (isObject(el) && el.type === 'image') checkImageElement(p, el, ptr);
        else checkText(p, el, ptr, { max: L.sectionText });
      });
      break;
    case 'actions': {
      const seen = new Set<string>();
      checkElements(p, block.elements, `${pointer}/elements`, L.actionsElements, (el, ptr) => checkElement(p, el, ptr, 'actions', seen));
      break;
    }
    case 'image':
      checkImageElement(p, block, pointer);
      if (block.title !== undefined) checkText(p, block.title, `${pointer}/title`, { max: L.imageTitle, plainOnly: true });
      break;
    case 'markdown':
      checkString(p, block.text, `${pointer}/text`, L.markdownBlockText, true);
      break;
    case 'rich_text':
      if (!Array.isArray(block.elements)) p.add(`${pointer}/elements`, 'must provide an array');
      break;
    case 'input':
      checkText(p, block.label, `${pointer}/label`, { max: L.inputLabel, plainOnly: true });
      if (!isObject(block.element)) p.add(`${pointer}/element`, 'must provide an object');
      break;
    default:
      // file and video: accepted as given; the sandbox never posts them.
      break;
  }
}

export type BlocksCheck = { blocks: Json[] } | { error: 'invalid_blocks_format' } | { error: 'invalid_blocks'; errors: string[] };

/**
 * Checks `blocks` as Slack does and returns them as stored: with the
 * `block_id`s and `action_id`s Slack generates when an app leaves them out
 * (they appear in the interaction payload, so an app can rely on them).
 */
export function checkBlocks(raw: unknown): BlocksCheck {
  let blocks = raw;
  if (typeof blocks === 'string') {
    // Form-encoded calls carry blocks as a JSON string.
    try {
      blocks = JSON.parse(blocks) as unknown;
    } catch {
      return { error: 'invalid_blocks_format' };
    }
  }
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format' };
  const p = new Problems();
  if (blocks.length > BLOCK_KIT_LIMITS.blocksPerMessage)
    p.add('/blocks', `no more than ${BLOCK_KIT_LIMITS.blocksPerMessage} items allowed`);
  const blockIds = new Set<string>();
  blocks.slice(0, BLOCK_KIT_LIMITS.blocksPerMessage).forEach((b, i) => checkBlock(p, b, `/blocks/${i}`, blockIds));
  if (p.list.length > 0) return { error: 'invalid_blocks', errors: p.list.slice(0, 20) };

  const stored = structuredClone(blocks) as Json[];
  const fresh = (taken: Set<string>) => {
    let id: string;
    do id = randomBase62(5);
    while (taken.has(id));
    taken.add(id);
    return id;
  };
  for (const block of stored) {
    block.block_id ??= fresh(blockIds);
    const elements =
      block.type === 'actions'
        ? (block.elements as Json[])
        : block.type === 'section' && isObject(block.accessory)
          ? [block.accessory]
          : [];
    const actionIds = new Set(elements.map((e) => e.action_id).filter((a): a is string => typeof a === 'string'));
    for (const el of elements) {
      if (el.type !== 'image') el.action_id ??= fresh(actionIds);
    }
  }
  return { blocks: stored };
}

/** A button of a stored message, with the block it sits in. */
export function findButton(blocks: readonly Json[] | undefined, actionId: string): { blockId: string; button: Json } | undefined {
  for (const block of blocks ?? []) {
    const elements =
      block.type === 'actions' && Array.isArray(block.elements)
        ? (block.elements as unknown[])
        : block.type === 'section'
          ? [block.accessory]
          : [];
    for (const el of elements) {
      if (isObject(el) && el.type === 'button' && el.action_id === actionId) return { blockId: String(block.block_id), button: el };
    }
  }
  return undefined;
}
