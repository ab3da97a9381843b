import { boundedLine, cutToLength, printableLine } from '../../config/printable-text.js';

describe('printableLine', () => {
  test.each([
    { name: 'line breaks and tabs become one space', value: 'a\r\n\tb\u2028c', expected: 'a b c' },
    { name: 'bidi overrides and zero-width characters are removed', value: 'safe\u202eexe.txt\u200b\u2066', expected: 'safeexe.txt' },
    { name: 'C0 and C1 controls are removed', value: 'a\u0000b\u009bc', expected: 'abc' },
    { name: 'runs of spaces collapse and the ends are trimmed', value: '  a \u00a0 b  ', expected: 'a b' },
  ])('$name', ({ value, expected }) => {
    expect(printableLine(value)).toBe(expected);
  });
});

describe('boundedLine', () => {
  test('boundedLine applies the same cleaning with any bound', () => {
    expect(boundedLine(`a\u202e${'b'.repeat(2_000)}`, 1_000)).toHaveLength(1_000);
    expect(boundedLine('a\n\u0000b', 1_000)).toBe('a b');
  });
});

describe('cutToLength', () => {
  test.each([
    { text: 'short', max: 10, expected: 'short' },
    { text: 'a long line of text', max: 10, expected: 'a long li…' },
    { text: 'trailing space cut', max: 10, expected: 'trailing…' },
    { text: 'abc', max: 1, expected: '…' },
    { text: 'abc', max: 0, expected: '' },
    { text: `${'a'.repeat(8)}😀😀`, max: 10, expected: 'aaaaaaaa…' },
  ])('cutToLength($text, $max)', ({ text, max, expected }) => {
    expect(cutToLength(text, max)).toBe(expected);
  });
});
