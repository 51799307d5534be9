import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ParseError } from '../errors.js';
import { resolveLimits } from '../limits.js';
import { chunked, nestedGzip, sample, zerosGzip } from '../../../../test/hostile/generators.js';
import { collectStream, streamOfBytes } from './bytes.js';
import { gunzip, gunzipSync } from './gzip.js';

const limits = resolveLimits();
const MiB = 1024 * 1024;

async function gunzipAll(bytes: Uint8Array, chunkSize = 64 * 1024, overrides = {}): Promise<Buffer> {
  const stream = gunzip(chunked(bytes, chunkSize), resolveLimits(overrides), 'test.gz');
  return Buffer.from(await collectStream(stream, 'maxInputBytes', Infinity, 'test', 'test.gz'));
}

async function gunzipError(bytes: Uint8Array, overrides = {}): Promise<ParseError> {
  const error = await gunzipAll(bytes, 64 * 1024, overrides).then(
    () => null,
    (e: unknown) => e,
  );
  expect(ParseError.is(error)).toBe(true);
  return error as ParseError;
}

/** The gzip attachment of the Mimecast sample, decoded from its base64 body. */
function mimecastGzip(): Buffer {
  const eml = sample('aggregate/mimecast-weird-gzip.eml').toString('latin1');
  const body = eml.slice(eml.search(/\r?\n\r?\n/)).trim();
  return Buffer.from(body, 'base64');
}

const text = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `<n>${i}</n>`).join('\n'));
const smallText = text.subarray(0, 3000);

describe('gunzip (streaming)', () => {
  test('the corpus .xml.gz decompresses like zlib, whatever the input chunk size', async () => {
    const gz = sample('extract_report/nice-input.xml.gz');
    const expected = zlib.gunzipSync(gz);
    for (const size of [1, 7, 4096, gz.length])
      expect((await gunzipAll(gz, size)).equals(expected)).toBe(true);
    expect(expected.toString().startsWith('<?xml')).toBe(true);
  });

  test('concatenated members decompress as one stream (gzip -d semantics)', async () => {
    const gz = Buffer.concat([zlib.gzipSync('first '), zlib.gzipSync('second')]);
    expect((await gunzipAll(gz)).toString()).toBe('first second');
    expect((await gunzipAll(gz, 3)).toString()).toBe('first second');
  });

  test('header fields (name, comment, extra, header CRC) are skipped', async () => {
    const plain = zlib.gzipSync(smallText);
    const name = Buffer.from('report.xml\0');
    const comment = Buffer.from('a comment\0');
    const extra = Buffer.from([4, 0, 1, 2, 3, 4]);
    const header = Buffer.from(plain.subarray(0, 10));
    header[3] = 0x04 | 0x08 | 0x10 | 0x02;
    const gz = Buffer.concat([header, extra, name, comment, Buffer.from([0xaa, 0xbb]), plain.subarray(10)]);
    for (const size of [1, gz.length]) expect((await gunzipAll(gz, size)).equals(smallText)).toBe(true);
  });

  test('the Mimecast sample: a CRLF after the gzip data is ignored (node:zlib alone rejects it)', async () => {
    const gz = mimecastGzip();
    expect(gz.subarray(-2).toString()).toBe('\r\n');
    expect(() => zlib.gunzipSync(gz)).toThrow();
    const xml = (await gunzipAll(gz)).toString();
    expect(xml.startsWith('<?xml')).toBe(true);
    expect(xml.trimEnd().endsWith('</feedback>')).toBe(true);
    expect(Buffer.from(gunzipSync(gz, limits, 'x')).toString()).toBe(xml);
  });

  test('any trailing garbage that does not start a member is ignored, in any chunking', async () => {
    for (const content of [smallText, text]) {
      const gz = Buffer.concat([zlib.gzipSync(content), Buffer.from('\r\ngarbage after the end\0\0')]);
      const sizes = content === smallText ? [1, 2, 100] : [4096, gz.length];
      for (const size of sizes) expect((await gunzipAll(gz, size)).equals(content)).toBe(true);
    }
  });

  test('truncated anywhere: INVALID_ARCHIVE', async () => {
    const gz = zlib.gzipSync(text);
    for (const cut of [3, 10, 11, 500, gz.length - 8, gz.length - 3]) {
      const error = await gunzipError(gz.subarray(0, cut));
      expect([cut, error.code, error.context.source]).toEqual([cut, 'INVALID_ARCHIVE', 'test.gz']);
    }
  });

  test('a CRC mismatch, a length mismatch and corrupt deflate data: INVALID_ARCHIVE', async () => {
    const gz = zlib.gzipSync(text);
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8]! ^= 0xff;
    expect((await gunzipError(badCrc)).message).toMatch(/CRC/);
    const badLength = Buffer.from(gz);
    badLength[gz.length - 1]! ^= 0xff;
    expect((await gunzipError(badLength)).message).toMatch(/length/);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, 20, 40);
    expect((await gunzipError(corrupt)).code).toBe('INVALID_ARCHIVE');
    const badMethod = Buffer.from(gz);
    badMethod[2] = 9;
    expect((await gunzipError(badMethod)).message).toMatch(/compression method/);
  });

  test('bomb: stops at maxDecompressedBytes, naming the limit', async () => {
    const bomb = zerosGzip(64);
    const error = await gunzipError(bomb, { maxDecompressedBytes: 8 * MiB });
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.context).toMatchObject({
      limit: 'maxDecompressedBytes',
      limitValue: 8 * MiB,
      source: 'test.gz',
    });
  });

  test('a bomb hands over output in pieces, never beyond the limit, then fails', async () => {
    let seen = 0;
    const stream = gunzip(
      streamOfBytes(zerosGzip(64)),
      resolveLimits({ maxDecompressedBytes: 8 * MiB }),
      'bomb.gz',
    );
    await expect(
      (async () => {
        for await (const piece of stream) {
          seen += piece.length;
          expect(piece.length).toBeLessThanOrEqual(64 * 1024);
        }
      })(),
    ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(seen).toBeLessThanOrEqual(8 * MiB);
  });

  test('ratio: zeros compress ~1000:1, beyond maxCompressionRatio once past 1 MiB of output', async () => {
    const error = await gunzipError(zerosGzip(4), { maxCompressionRatio: 100 });
    expect(error.context).toMatchObject({ limit: 'maxCompressionRatio', limitValue: 100 });
    // The same data under the default ratio (2000) is fine: deflate cannot exceed ~1032:1.
    expect((await gunzipAll(zerosGzip(4))).length).toBe(4 * MiB);
    // Small outputs are never judged by their ratio.
    expect((await gunzipAll(zerosGzip(1), 64 * 1024, { maxCompressionRatio: 2 })).length).toBe(MiB);
  });

  test('nested gzip comes out one layer at a time', async () => {
    const twice = nestedGzip(text, 2);
    const once = await gunzipAll(twice);
    expect(once[0]).toBe(0x1f);
    expect((await gunzipAll(once)).equals(text)).toBe(true);
  });
});

describe('gunzipSync', () => {
  test('same results as the streaming gunzip', () => {
    const gz = Buffer.concat([zlib.gzipSync('first '), zlib.gzipSync('second'), Buffer.from('\r\n')]);
    expect(Buffer.from(gunzipSync(gz, limits, 'x')).toString()).toBe('first second');
  });

  test('typed errors: truncated, corrupt, bomb', () => {
    const gz = zlib.gzipSync(text);
    expect(() => gunzipSync(gz.subarray(0, gz.length - 4), limits, 'x')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARCHIVE' }),
    );
    expect(() => gunzipSync(gz.subarray(0, 300), limits, 'x')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARCHIVE' }),
    );
    expect(() => gunzipSync(zerosGzip(16), resolveLimits({ maxDecompressedBytes: MiB }), 'x')).toThrow(
      expect.objectContaining({
        code: 'LIMIT_EXCEEDED',
        context: expect.objectContaining({ limit: 'maxDecompressedBytes' }),
      }),
    );
  });
});
