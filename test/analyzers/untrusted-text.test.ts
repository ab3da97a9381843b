import { cleanText, MAX_UNTRUSTED_TEXT } from '../../activities/analyzers/untrusted-text.js';

describe('cleanText', () => {
  test.each([
    { name: 'plain text is kept', value: 'checkout-api-7d9f8-abcde', max: undefined, expected: 'checkout-api-7d9f8-abcde' },
    { name: 'line breaks and tabs become one space', value: 'a\r\n\tb\u2028c', max: undefined, expected: 'a b c' },
    { name: 'terminal escapes lose their ESC', value: 'x\u001b[31mred\u001b[0m', max: undefined, expected: 'x[31mred[0m' },
    { name: 'NUL, BEL, DEL and C1 controls are removed', value: 'a\u0000b\u0007c\u007fd\u009be', max: undefined, expected: 'abcde' },
    { name: 'bidi overrides and zero-width characters are removed', value: 'safe\u202eexe.txt\u200b\u2066', max: undefined, expected: 'safeexe.txt' },
    { name: 'markup is data, kept as text', value: '<script>alert(1)</script>', max: undefined, expected: '<script>alert(1)</script>' },
    { name: 'truncated with an ellipsis', value: 'abcdefghij', max: 5, expected: 'abcd…' },
    { name: 'a surrogate pair is never split', value: 'abc😀def', max: 5, expected: 'abc…' },
    { name: 'undefined is empty', value: undefined, max: undefined, expected: '' },
    { name: 'numbers are shown', value: 137, max: undefined, expected: '137' },
  ])('$name', ({ value, max, expected }) => {
    expect(cleanText(value, max)).toBe(expected);
  });

  test('never longer than the global bound, whatever limit is asked for', () => {
    expect(cleanText('x'.repeat(10_000), 5_000)).toHaveLength(MAX_UNTRUSTED_TEXT);
    expect(cleanText('x'.repeat(10_000))).toHaveLength(MAX_UNTRUSTED_TEXT);
    expect(MAX_UNTRUSTED_TEXT).toBe(300);
  });
});
