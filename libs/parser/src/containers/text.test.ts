import { describe, expect, test } from 'vitest';
import { LenientUtf8Decoder, decodeUtf8Lenient } from './text.js';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))),
  );

/** Decodes `input` split at every possible pair of positions, to catch chunk-boundary bugs. */
function decodeSplitEverywhere(input: Uint8Array): Set<string> {
  const results = new Set<string>();
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      const decoder = new LenientUtf8Decoder();
      results.add(
        decoder.decode(input.subarray(0, i)) +
          decoder.decode(input.subarray(i, j)) +
          decoder.decode(input.subarray(j)) +
          decoder.finish(),
      );
    }
  }
  return results;
}

describe('decodeUtf8Lenient', () => {
  test('strips a leading byte order mark, and only a leading one', () => {
    expect(decodeUtf8Lenient(bytes([0xef, 0xbb, 0xbf], '<a>\uFEFF</a>'))).toBe('<a>\uFEFF</a>');
  });

  // Python's bytes.decode("utf-8", errors="ignore") results, which the original's output reflects.
  test.each<[string, Uint8Array, string]>([
    ['a lone Windows-1252 byte (the invalid_utf_8.xml sample)', bytes('bad_byte', [0x91], '<'), 'bad_byte<'],
    ['a truncated 3-byte sequence before ASCII', bytes('a', [0xe2, 0x82], 'b'), 'ab'],
    ['an overlong encoding of "/"', bytes('x', [0xc0, 0xaf], 'y'), 'xy'],
    ['an encoded UTF-16 surrogate', bytes('x', [0xed, 0xa0, 0x80], 'y'), 'xy'],
    ['a code point above U+10FFFF', bytes('x', [0xf4, 0x90, 0x80, 0x80], 'y'), 'xy'],
    ['a stray continuation byte between characters', bytes('é', [0x80], 'ü'), 'éü'],
    ['a real U+FFFD is kept', bytes('x\uFFFDy'), 'x\uFFFDy'],
    ['a 4-byte character', bytes('a😀b'), 'a😀b'],
    ['a truncated sequence at the very end', bytes('end', [0xf0, 0x9f, 0x98]), 'end'],
  ])('%s', (_name, input, expected) => {
    expect(decodeUtf8Lenient(input)).toBe(expected);
    // Same result however the input is cut into chunks.
    expect(decodeSplitEverywhere(input)).toEqual(new Set([expected]));
  });

  test('a byte order mark split across chunks is still stripped', () => {
    expect(decodeSplitEverywhere(bytes([0xef, 0xbb, 0xbf], 'ü<x/>'))).toEqual(new Set(['ü<x/>']));
  });
});
