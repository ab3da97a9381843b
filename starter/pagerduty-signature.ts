import { createHmac, timingSafeEqual } from 'node:crypto';

export const PAGERDUTY_SIGNATURE_HEADER = 'x-pagerduty-signature';

export type SignatureVerdict = 'ok' | 'missing' | 'malformed' | 'mismatch';

const V1_ENTRY = /^v1=([0-9a-fA-F]{64})$/;

/**
 * Checks PagerDuty's v3 `X-PagerDuty-Signature` header against the raw request
 * bytes. The header carries one `v1=<hex>` entry per signing secret PagerDuty
 * currently holds, and we may hold two secrets ourselves while rotating, so any
 * secret matching any entry is accepted.
 */
export function verifyPagerDutySignature(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): SignatureVerdict {
  if (header === undefined || header.trim() === '') return 'missing';

  const provided = parseV1Signatures(header);
  if (provided.length === 0) return 'malformed';

  // An empty key yields an HMAC anyone can compute; treat it as not configured.
  const expected = secrets.filter((s) => s.length > 0).map((s) => hmacSha256(rawBody, s));

  let matched = false;
  for (const want of expected) {
    for (const got of provided) {
      // Both sides are 32 bytes by construction, as timingSafeEqual requires.
      if (timingSafeEqual(want, got)) matched = true;
    }
  }
  return matched ? 'ok' : 'mismatch';
}

/** The header value PagerDuty would send for `rawBody` signed with `secret`. */
export function signPagerDutyBody(rawBody: Buffer | string, secret: string): string {
  return `v1=${hmacSha256(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody, secret).toString('hex')}`;
}

function parseV1Signatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(',')) {
    // Other versions and garbled entries are skipped so that a future `v2`
    // rollout, sent alongside `v1`, does not lock us out.
    const match = V1_ENTRY.exec(entry.trim());
    if (match?.[1] !== undefined) signatures.push(Buffer.from(match[1], 'hex'));
  }
  return signatures;
}

function hmacSha256(rawBody: Buffer, secret: string): Buffer {
  return createHmac('sha256', secret).update(rawBody).digest();
}
