// A Web API call's arguments, read and refused as Slack does, with its error
// codes. The message content checks live here because response_url refuses the
// same messages as chat.postMessage and chat.update.
import { BLOCK_KIT_LIMITS, characters, checkBlocks } from './slack-blocks.js';

const MAX_ATTACHMENTS = 100;

/** A Web API refusal: HTTP 200 with `{ ok: false, error }`, as Slack answers. */
export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
  }
}

export type Params = Record<string, unknown>;

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function stringArg(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) throw new SlackApiError('invalid_array_arg');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new SlackApiError('invalid_arguments', { response_metadata: { messages: [`[ERROR] expected a string for argument \`${name}\``] } });
}

function invalidBlocks(errors: string[]): SlackApiError {
  return new SlackApiError('invalid_blocks', { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

export interface Content {
  text?: string;
  blocks?: Record<string, unknown>[];
  attachments?: unknown[];
}

/** text, blocks and attachments of a post or update, checked as Slack checks them. */
export function contentArgs(p: Params): Content {
  const out: Content = {};
  const text = stringArg(p, 'text');
  if (text !== undefined) {
    if (characters(text) > BLOCK_KIT_LIMITS.messageText) throw new SlackApiError('msg_too_long');
    out.text = text;
  }
  if (p.blocks !== undefined && p.blocks !== null && p.blocks !== '') {
    const checked = checkBlocks(p.blocks);
    if ('error' in checked) throw checked.error === 'invalid_blocks' ? invalidBlocks(checked.errors) : new SlackApiError(checked.error);
    out.blocks = checked.blocks;
  }
  if (p.attachments !== undefined && p.attachments !== null && p.attachments !== '') {
    let attachments: unknown = p.attachments;
    if (typeof attachments === 'string') {
      try {
        attachments = JSON.parse(attachments) as unknown;
      } catch {
        throw new SlackApiError('invalid_attachments');
      }
    }
    if (!Array.isArray(attachments) || !attachments.every(isObject)) throw new SlackApiError('invalid_attachments');
    if (attachments.length > MAX_ATTACHMENTS) throw new SlackApiError('too_many_attachments');
    out.attachments = structuredClone(attachments);
  }
  return out;
}

export function hasContent(c: Content): boolean {
  return (c.text !== undefined && c.text.trim() !== '') || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;
}
