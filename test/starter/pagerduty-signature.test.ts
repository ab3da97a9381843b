import { createHmac } from 'node:crypto';
import { signPagerDutyBody, verifyPagerDutySignature } from '../../starter/pagerduty-signature.js';

// Computed outside this code base with:
//   printf '%s' '<body>' | openssl dgst -sha256 -hmac '<secret>'
const OPENSSL_ASCII = {
  body: '{"event":{"id":"01DEN5TPG8OB2XKQ1ZVT0NDNQZ","event_type":"incident.triggered"}}',
  secret: 'ChangeMe-PagerDuty-Webhook-Secret',
  hex: 'ed77b77d14b37653b9324a86a82f54da19c24aa8be413cac189c708058642f53',
};
// PagerDuty signs UTF-8 bytes; this one has multi-byte characters.
const OPENSSL_UTF8 = {
  body: '{"title":"Düsseldorf ☃ disk full"}',
  secret: 'rotated-secret-2',
  hex: '14fbe4c0cd5327f4409c1abbe4c29a8f900322c997201f7fbdc37a9d3d6da9f4',
};

const OLD_SECRET = 'old-webhook-secret';
const NEW_SECRET = 'new-webhook-secret';
const body = Buffer.from('{"event":{"id":"abc","event_type":"pagey.ping","data":{"type":"ping"}}}', 'utf8');

function independentHex(raw: Buffer, secret: string): string {
  // Hand-built key buffer and chunked update: a different path from the module's.
  const mac = createHmac('sha256', Buffer.from(Array.from(secret, (c) => c.charCodeAt(0))));
  mac.update(raw.subarray(0, 7));
  mac.update(raw.subarray(7));
  return mac.digest('hex');
}

describe('signPagerDutyBody', () => {
  it('matches the openssl vector (ASCII body)', () => {
    expect(signPagerDutyBody(Buffer.from(OPENSSL_ASCII.body, 'utf8'), OPENSSL_ASCII.secret)).toBe(`v1=${OPENSSL_ASCII.hex}`);
  });

  it('matches the openssl vector (UTF-8 body), from a Buffer or a string', () => {
    expect(signPagerDutyBody(Buffer.from(OPENSSL_UTF8.body, 'utf8'), OPENSSL_UTF8.secret)).toBe(`v1=${OPENSSL_UTF8.hex}`);
    expect(signPagerDutyBody(OPENSSL_UTF8.body, OPENSSL_UTF8.secret)).toBe(`v1=${OPENSSL_UTF8.hex}`);
  });

  it('matches an independently computed HMAC', () => {
    expect(signPagerDutyBody(body, NEW_SECRET)).toBe(`v1=${independentHex(body, NEW_SECRET)}`);
  });
});

describe('verifyPagerDutySignature', () => {
  it('accepts the openssl vectors', () => {
    expect(verifyPagerDutySignature(Buffer.from(OPENSSL_ASCII.body), `v1=${OPENSSL_ASCII.hex}`, [OPENSSL_ASCII.secret])).toBe('ok');
    expect(verifyPagerDutySignature(Buffer.from(OPENSSL_UTF8.body), `v1=${OPENSSL_UTF8.hex}`, [OPENSSL_UTF8.secret])).toBe('ok');
  });

  it('accepts an independently computed signature', () => {
    expect(verifyPagerDutySignature(body, `v1=${independentHex(body, NEW_SECRET)}`, [NEW_SECRET])).toBe('ok');
  });

  it('accepts upper-case hex', () => {
    expect(verifyPagerDutySignature(body, `v1=${independentHex(body, NEW_SECRET).toUpperCase()}`, [NEW_SECRET])).toBe('ok');
  });

  describe('rotation', () => {
    it('accepts a body signed with either of two configured secrets', () => {
      const secrets = [NEW_SECRET, OLD_SECRET];
      expect(verifyPagerDutySignature(body, signPagerDutyBody(body, OLD_SECRET), secrets)).toBe('ok');
      expect(verifyPagerDutySignature(body, signPagerDutyBody(body, NEW_SECRET), secrets)).toBe('ok');
      expect(verifyPagerDutySignature(body, signPagerDutyBody(body, 'third-secret'), secrets)).toBe('mismatch');
    });

    it('accepts a header with two entries when either one matches', () => {
      const header = `${signPagerDutyBody(body, 'pagerduty-side-new')},${signPagerDutyBody(body, OLD_SECRET)}`;
      expect(verifyPagerDutySignature(body, header, [OLD_SECRET])).toBe('ok');
      const reversed = `${signPagerDutyBody(body, OLD_SECRET)},${signPagerDutyBody(body, 'pagerduty-side-new')}`;
      expect(verifyPagerDutySignature(body, reversed, [OLD_SECRET])).toBe('ok');
    });

    it('tolerates whitespace around the commas', () => {
      const header = ` ${signPagerDutyBody(body, 'other')} ,  ${signPagerDutyBody(body, OLD_SECRET)} `;
      expect(verifyPagerDutySignature(body, header, [OLD_SECRET])).toBe('ok');
    });

    it('rejects a two-entry header where neither matches', () => {
      const header = `${signPagerDutyBody(body, 'a')},${signPagerDutyBody(body, 'b')}`;
      expect(verifyPagerDutySignature(body, header, [OLD_SECRET, NEW_SECRET])).toBe('mismatch');
    });
  });

  it('rejects a body with one byte changed', () => {
    const header = signPagerDutyBody(body, NEW_SECRET);
    const tampered = Buffer.from(body);
    tampered[20] = (tampered[20] ?? 0) ^ 0x01;
    expect(verifyPagerDutySignature(tampered, header, [NEW_SECRET])).toBe('mismatch');
  });

  it('rejects a body with one byte appended', () => {
    const header = signPagerDutyBody(body, NEW_SECRET);
    expect(verifyPagerDutySignature(Buffer.concat([body, Buffer.from(' ')]), header, [NEW_SECRET])).toBe('mismatch');
  });

  it('reports a missing header', () => {
    expect(verifyPagerDutySignature(body, undefined, [NEW_SECRET])).toBe('missing');
    expect(verifyPagerDutySignature(body, '', [NEW_SECRET])).toBe('missing');
    expect(verifyPagerDutySignature(body, '   ', [NEW_SECRET])).toBe('missing');
  });

  it.each([
    ['no version prefix', independentHex(body, NEW_SECRET)],
    ['a bare v1=', 'v1='],
    ['non-hex characters', `v1=${'g'.repeat(64)}`],
    ['63 hex chars', `v1=${independentHex(body, NEW_SECRET).slice(0, 63)}`],
    ['65 hex chars', `v1=${independentHex(body, NEW_SECRET)}0`],
    ['a base64 digest', `v1=${createHmac('sha256', NEW_SECRET).update(body).digest('base64')}`],
    ['only another version', `v2=${independentHex(body, NEW_SECRET)}`],
    ['sha256= style', `sha256=${independentHex(body, NEW_SECRET)}`],
    ['only commas', ',,,'],
    ['junk', 'Bearer something'],
  ])('reports a header with %s as malformed', (_name, header) => {
    expect(verifyPagerDutySignature(body, header, [NEW_SECRET])).toBe('malformed');
  });

  it('ignores entries of other versions and garbled entries next to a well-formed v1', () => {
    const header = `v2=${'a'.repeat(64)},v1=zz,${signPagerDutyBody(body, NEW_SECRET)}`;
    expect(verifyPagerDutySignature(body, header, [NEW_SECRET])).toBe('ok');
  });

  it('never accepts with no secret or an empty secret configured', () => {
    const emptyKeyHeader = `v1=${createHmac('sha256', '').update(body).digest('hex')}`;
    expect(verifyPagerDutySignature(body, emptyKeyHeader, [''])).toBe('mismatch');
    expect(verifyPagerDutySignature(body, emptyKeyHeader, [])).toBe('mismatch');
  });
});
