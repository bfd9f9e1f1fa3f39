import { describe, expect, it } from 'vitest';
import { isPlainText } from '../src/index.js';

describe('isPlainText', () => {
  it.each([
    ['ascii', 'sku-mug'],
    ['the empty string', ''],
    ['accented letters', 'café'],
    ['right-to-left text', 'עברית عربى'],
    ['4-byte characters (a surrogate pair)', '😀𝄞'],
    ['spaces', ' padded '],
    ['U+00A0 and later', '\u00a0\u2028\ufeff'],
  ])('accepts %s', (_, value) => {
    expect(isPlainText(value)).toBe(true);
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['a bell', 'a\u0007'],
    ['CR LF', 'a\r\nb'],
    ['a tab', 'a\tb'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085'],
    ['an unpaired high surrogate', 'a\ud800'],
    ['an unpaired low surrogate', '\udc00a'],
    ['surrogates in the wrong order', '\ude00\ud83d'],
  ])('refuses %s', (_, value) => {
    expect(isPlainText(value)).toBe(false);
  });
});
