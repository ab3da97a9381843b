import {
  cleanText,
  cutEscapedSlack,
  escapeGitHubMarkdown,
  escapeSlackMrkdwn,
  escapeSlackText,
  evidenceText,
  MAX_UNTRUSTED_TEXT,
  neutralizeGitHubReferences,
  REDACTION_WINDOW,
  safeLinkTarget,
  slackLinkTarget,
  WORD_JOINER,
} from '../../config/untrusted-text.js';
import { REDACTED } from '../../config/log-redaction.js';
import { fakeCredential } from '../fake-credentials.js';

const WJ = WORD_JOINER;

describe('evidenceText: printable, redacted, then cut', () => {
  test.each([
    ['short', 10, 'short'],
    ['exactly ten', 11, 'exactly ten'],
    ['a long line of text', 10, 'a long li…'],
    // The same cleaning as the report's: breaks become spaces, other controls go.
    ['line\nbreak\tand\u0000nul\u202e', 100, 'line break andnul'],
    ['  padded   and   spaced  ', 100, 'padded and spaced'],
  ])('%j at %i → %j', (input, max, expected) => {
    expect(evidenceText(input, max)).toBe(expected);
  });

  test('never splits a surrogate pair', () => {
    const out = evidenceText(`${'a'.repeat(8)}😀😀`, 10);
    expect(out).toBe('aaaaaaaa…');
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
  });

  test('a secret split by a line break or a zero-width character is joined, then redacted', () => {
    const token = fakeCredential.gitHubToken('ghs');
    const split = `${token.slice(0, 10)}\u200b${token.slice(10)}`;
    expect(evidenceText(`cloning with ${split}`, 300)).toBe(`cloning with ${REDACTED}`);
    expect(evidenceText(`Authorization:\nBearer ${token}`, 300)).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  test('redaction comes before the cut: a credential across the limit leaves no prefix behind', () => {
    const password = fakeCredential.password();
    const text = `${'retrying '.repeat(30)}dial postgres://app:${password}@orders-db:5432/orders`;
    for (let max = 280; max <= 320; max++) {
      const out = evidenceText(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toContain(password.slice(0, 4));
    }
  });

  test("keep: 'end' keeps a long text's last words, redacted, behind an ellipsis", () => {
    const key = fakeCredential.awsAccessKeyId();
    const out = evidenceText(`${'x '.repeat(400)}panic: s3 upload with ${key} failed`, 40, 'end');
    expect(out).toBe(`…panic: s3 upload with ${REDACTED} failed`);
    expect(evidenceText('short enough', 40, 'end')).toBe('short enough');
    expect(evidenceText(`${'a'.repeat(20)}😀b`, 3, 'end')).toBe('…b');
  });

  test("keep: 'end' finds a secret whose key lies far before the kept end", () => {
    const password = fakeCredential.password();
    const out = evidenceText(`"password": "${password} ${'padding '.repeat(2_000)}"`, 30, 'end');
    expect(out).not.toContain(password);
  });

  describe('a text longer than the redaction window', () => {
    test('is read that far, and the token the window cuts through is dropped, not left half-recognised', () => {
      const key = fakeCredential.awsAccessKeyId();
      for (const offset of [0, 1, 10, 19, 20]) {
        // The key id sits across the window's edge, `offset` characters of it inside.
        const head = `${'x'.repeat(REDACTION_WINDOW - offset - 1)} `;
        const out = evidenceText(`${head}${key} and more`, 2 * REDACTION_WINDOW);
        expect(out.endsWith('…')).toBe(true);
        expect(out.length).toBeLessThanOrEqual(REDACTION_WINDOW + 1);
        expect(out).not.toContain(key.slice(0, Math.max(4, offset)));
      }
    });

    test('a secret inside the window is redacted; compact JSON keeps its head; one token the size of the window goes', () => {
      const token = fakeCredential.slackBotToken();
      expect(evidenceText(`token ${token} ${'z'.repeat(REDACTION_WINDOW)}`, 100)).toBe(`token ${REDACTED}…`);
      const json = JSON.stringify({
        msg: 'request failed',
        items: Array.from({ length: 2_000 }, (_, i) => ({ id: i, dsn: `redis://cache-${i}` })),
      });
      expect(evidenceText(json, 40)).toBe('{"msg":"request failed","items":[{"id":…');
      expect(evidenceText('y'.repeat(3 * REDACTION_WINDOW), 100)).toBe('…');
    });

    test('costs the window, not the input: megabytes of hostile text in linear time', () => {
      const hostile = [
        'password='.repeat(500_000),
        `Bearer ${'a'.repeat(4_000_000)}`,
        'https://u:'.repeat(400_000),
        `"token":"${'\\"'.repeat(1_000_000)}`,
      ];
      const started = Date.now();
      for (const text of hostile) evidenceText(text, 300);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
});

describe('cleanText', () => {
  test.each([
    { name: 'plain text is kept', value: 'checkout-api-7d9f8-abcde', max: undefined, expected: 'checkout-api-7d9f8-abcde' },
    { name: 'line breaks and tabs become one space', value: 'a\r\n\tb\u2028c', max: undefined, expected: 'a b c' },
    { name: 'terminal escapes lose their ESC', value: 'x\u001b[31mred\u001b[0m', max: undefined, expected: 'x[31mred[0m' },
    { name: 'NUL, BEL, DEL and C1 controls are removed', value: 'a\u0000b\u0007c\u007fd\u009be', max: undefined, expected: 'abcde' },
    {
      name: 'bidi overrides and zero-width characters are removed',
      value: 'safe\u202eexe.txt\u200b\u2066',
      max: undefined,
      expected: 'safeexe.txt',
    },
    { name: 'lone surrogates are removed', value: 'a\ud800b\udc00c', max: undefined, expected: 'abc' },
    { name: 'other spaces become one ASCII space', value: 'a\u00a0\u3000 b', max: undefined, expected: 'a b' },
    { name: 'markup is data, kept as text', value: '<script>alert(1)</script>', max: undefined, expected: '<script>alert(1)</script>' },
    { name: 'truncated with an ellipsis', value: 'abcdefghij', max: 5, expected: 'abcd…' },
    { name: 'a surrogate pair is never split', value: 'abc😀def', max: 5, expected: 'abc…' },
    { name: 'undefined is empty', value: undefined, max: undefined, expected: '' },
    { name: 'numbers are shown', value: 137, max: undefined, expected: '137' },
  ])('$name', ({ value, max, expected }) => {
    expect(cleanText(value, max)).toBe(expected);
  });

  test('never longer than the global bound, whatever limit is asked for', () => {
    expect(cleanText('x '.repeat(10_000), 5_000)).toHaveLength(MAX_UNTRUSTED_TEXT);
    expect(cleanText('x '.repeat(10_000))).toHaveLength(MAX_UNTRUSTED_TEXT);
    expect(MAX_UNTRUSTED_TEXT).toBe(300);
  });
});

describe('Slack escaping', () => {
  test.each([
    { text: '<!channel> & <@U123|bob>', expected: '&lt;!channel&gt; &amp; &lt;@U123|bob&gt;' },
    { text: '&lt;already&gt;', expected: '&amp;lt;already&amp;gt;' },
    { text: '<https://evil.example|click>', expected: '&lt;https://evil.example|click&gt;' },
  ])('escapeSlackMrkdwn($text)', ({ text, expected }) => {
    expect(escapeSlackMrkdwn(text)).toBe(expected);
  });

  test('the message text also keeps @channel from becoming a mention under link_names', () => {
    expect(escapeSlackText('ping @channel <!here>')).toBe(`ping @${WJ}channel &lt;!here&gt;`);
  });

  test('cutting escaped text never leaves half an entity', () => {
    expect(cutEscapedSlack('ab &amp; cd', 6)).toBe('ab…');
    expect(cutEscapedSlack('ab &amp; cd', 9)).toBe('ab &amp;…');
    expect(cutEscapedSlack('abc', 9)).toBe('abc');
  });

  test.each([
    { url: 'https://acme.pagerduty.com/incidents/P1', expected: 'https://acme.pagerduty.com/incidents/P1' },
    { url: 'https://x.example/a?b=1&c=2', expected: 'https://x.example/a?b=1&amp;c=2' },
    { url: 'https://x.example/a|b>c', expected: 'https://x.example/a%7Cb%3Ec' },
    // Braces in a query or fragment (the path's are encoded by the URL parser): never a placeholder of a planned note.
    {
      url: 'https://x.example/a?q={{issue.url}}#{{decision.by}}',
      expected: 'https://x.example/a?q=%7B%7Bissue.url%7D%7D#%7B%7Bdecision.by%7D%7D',
    },
    { url: 'javascript:alert(1)', expected: undefined },
  ])('slackLinkTarget($url)', ({ url, expected }) => {
    expect(slackLinkTarget(url)).toBe(expected);
  });
});

describe('GitHub escaping', () => {
  test.each([
    { text: 'a|b', expected: 'a\\|b' },
    { text: 'use `x`', expected: 'use \\`x\\`' },
    { text: '<b>&amp;</b>', expected: '&lt;b&gt;&amp;amp;&lt;/b&gt;' },
    { text: '![x](http://t/p.png)', expected: `!\\[x\\](http:${WJ}//t/p.png)` },
    { text: 'C:\\path', expected: 'C:\\\\path' },
    { text: '*bold* _it_ ~del~', expected: '\\*bold\\* \\_it\\_ \\~del\\~' },
    { text: '$x^2$ costs $5', expected: '&dollar;x^2&dollar; costs &dollar;5' },
    { text: '<!-- keyless-triage idempotency-key: x -->', expected: '&lt;!-- keyless-triage idempotency-key: x --&gt;' },
    { text: '- item', expected: '\\- item' },
    { text: '+ item', expected: '\\+ item' },
    { text: '=====', expected: '\\=====' },
    { text: '12. item', expected: '12\\. item' },
    { text: '3) item', expected: '3\\) item' },
    { text: '# Approved', expected: `#${WJ} Approved` },
    { text: '> quoted', expected: '&gt; quoted' },
    { text: 'exit 1. then', expected: 'exit 1. then' },
  ])('escapeGitHubMarkdown($text)', ({ text, expected }) => {
    expect(escapeGitHubMarkdown(text)).toBe(expected);
  });

  test.each([
    { name: 'user mention', text: 'ping @octocat', expected: `ping @${WJ}octocat` },
    { name: 'team mention', text: '@acme/oncall', expected: `@${WJ}acme/oncall` },
    { name: 'email autolink', text: 'bob@example.com', expected: `bob@${WJ}example.com` },
    { name: 'issue reference', text: 'fixes #123', expected: `fixes #${WJ}123` },
    { name: 'cross-repository reference', text: 'acme/app#7', expected: `acme/app#${WJ}7` },
    { name: 'GH- reference', text: 'see GH-26 and gh-3', expected: `see GH-${WJ}26 and gh-${WJ}3` },
    { name: 'URL autolink', text: 'https://evil.example/x', expected: `https:${WJ}//evil.example/x` },
    { name: 'www autolink', text: 'WWW.evil.example', expected: `WWW${WJ}.evil.example` },
    { name: 'commit SHA', text: 'a5c3785ed8d6a35868bc', expected: `a5c378${WJ}5ed8d6${WJ}a35868${WJ}bc` },
    { name: 'short hex is kept', text: 'rs-7d9f8b', expected: 'rs-7d9f8b' },
    { name: 'plain words are kept', text: 'CrashLoopBackOff in checkout-api', expected: 'CrashLoopBackOff in checkout-api' },
  ])('neutralizeGitHubReferences: $name', ({ text, expected }) => {
    expect(neutralizeGitHubReferences(text)).toBe(expected);
  });

  test.each([
    { url: 'https://acme.pagerduty.com/incidents/P1', expected: 'https://acme.pagerduty.com/incidents/P1' },
    { url: 'https://x.example/a)b|c', expected: 'https://x.example/a%29b%7Cc' },
    { url: 'javascript:alert(1)', expected: undefined },
    { url: 'not a url', expected: undefined },
  ])('safeLinkTarget($url)', ({ url, expected }) => {
    expect(safeLinkTarget(url)).toBe(expected);
  });
});
