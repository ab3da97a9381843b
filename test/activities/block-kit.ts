// Checks shared by the card tests: what Block Kit would refuse (limits, empty
// text) and what our own rules forbid (untrusted text in mrkdwn, links or
// mentions not built by code).
import type { KnownBlock } from '@slack/types';
import { BLOCK_KIT_LIMITS as L, type SlackMessage } from '../../activities/slack-card.js';

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
  verbatim?: boolean;
}

/** Every text object in the message, wherever it sits (blocks, fields, elements, confirm dialogs). */
export function textObjects(message: SlackMessage): TextObject[] {
  const found: TextObject[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if ((record.type === 'plain_text' || record.type === 'mrkdwn') && typeof record.text === 'string') {
      found.push(record as unknown as TextObject);
      return;
    }
    Object.values(record).forEach(walk);
  };
  walk(message.blocks);
  return found;
}

/** Every limit and rule the cards must respect; empty when the message is valid. */
export function blockKitViolations(message: SlackMessage): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  check(message.blocks.length <= L.blocks, `${message.blocks.length} blocks`);
  check(message.text.length >= 1 && message.text.length <= L.messageText, `text of ${message.text.length}`);
  const within = (t: TextObject | undefined, max: number, where: string) =>
    check(t !== undefined && t.text.length >= 1 && t.text.length <= max, `${where}: ${t?.text.length} characters (max ${max})`);
  message.blocks.forEach((block: KnownBlock, i) => {
    const at = `block ${i} (${block.type})`;
    switch (block.type) {
      case 'header':
        check(block.text.type === 'plain_text', `${at}: header must be plain_text`);
        within(block.text, L.headerText, at);
        break;
      case 'section':
        if (block.text) within(block.text as TextObject, L.sectionText, at);
        check((block.fields?.length ?? 0) <= L.fields, `${at}: ${block.fields?.length} fields`);
        block.fields?.forEach((f, j) => within(f as TextObject, L.fieldText, `${at} field ${j}`));
        break;
      case 'context':
        check(block.elements.length >= 1 && block.elements.length <= L.contextElements, `${at}: ${block.elements.length} elements`);
        block.elements.forEach((e, j) => within(e as TextObject, L.contextText, `${at} element ${j}`));
        break;
      case 'actions':
        check(block.elements.length <= 25, `${at}: ${block.elements.length} elements`);
        for (const e of block.elements) {
          if (e.type !== 'button') continue;
          within(e.text, L.buttonText, `${at} button`);
          check((e.value ?? '').length <= L.buttonValue, `${at}: button value of ${e.value?.length}`);
          check((e.action_id ?? '').length <= 255, `${at}: action_id`);
          if (e.confirm) {
            within(e.confirm.title, L.confirmTitle, `${at} confirm title`);
            within(e.confirm.text as TextObject, L.confirmText, `${at} confirm text`);
            within(e.confirm.confirm, L.confirmButton, `${at} confirm button`);
            within(e.confirm.deny, L.confirmButton, `${at} deny button`);
          }
        }
        break;
      case 'divider':
        break;
      default:
        problems.push(`${at}: unexpected block type`);
    }
  });
  for (const t of textObjects(message)) {
    if (t.type === 'plain_text') check(t.emoji === false, `plain_text without emoji: false: ${t.text.slice(0, 40)}`);
    else check(t.verbatim === true, `mrkdwn without verbatim: true: ${t.text.slice(0, 40)}`);
  }
  return problems;
}

/** What code may put inside `<…>` in mrkdwn: links to the given targets, dates, mentions of the given user ids. */
export interface CodeBuiltMarkup {
  linkTargets: ReadonlySet<string>;
  mentionable: ReadonlySet<string>;
}

/**
 * The mrkdwn with every code-built `<…>` sequence removed. Anything left that
 * contains `<` or `>` came from somewhere else, which must never happen.
 */
export function mrkdwnResidue(text: string, allowed: CodeBuiltMarkup): string {
  return text
    .replace(/<([^<>|]+)\|([^<>]*)>/g, (all, target: string) => (allowed.linkTargets.has(target) ? '' : all))
    .replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: -]+ UTC>/g, '')
    .replace(/<@([A-Z0-9]+)>/g, (all, id: string) => (allowed.mentionable.has(id) ? '' : all));
}
