import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ParseError } from '../errors.js';
import { resolveLimits } from '../limits.js';
import { makeZip, sample, zerosZipEntry } from '../../../../test/hostile/generators.js';
import { collectStream } from './bytes.js';
import { isJunkEntry, readZipDirectory, zipMemberStream, zipMemberSync, type ZipEntry } from './zip.js';

const limits = resolveLimits();
const MiB = 1024 * 1024;
const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/containers/${name}`, import.meta.url));
const niceXml = sample('extract_report/nice-input.xml');

async function member(bytes: Uint8Array, entry: ZipEntry, overrides = {}): Promise<Buffer> {
  const stream = zipMemberStream(bytes, entry, resolveLimits(overrides), `test.zip!${entry.name}`);
  return Buffer.from(await collectStream(stream, 'maxInputBytes', Infinity, 'member', 'test'));
}

async function memberError(bytes: Uint8Array, entry: ZipEntry, overrides = {}): Promise<ParseError> {
  const error = await member(bytes, entry, overrides).then(
    () => null,
    (e: unknown) => e,
  );
  expect(ParseError.is(error)).toBe(true);
  return error as ParseError;
}

function directoryError(bytes: Uint8Array, overrides = {}): ParseError {
  try {
    readZipDirectory(bytes, resolveLimits(overrides), 'test.zip');
  } catch (error) {
    expect(ParseError.is(error)).toBe(true);
    return error as ParseError;
  }
  throw new Error('no error');
}

describe('zip reader', () => {
  test('the corpus zip: one member, the report', async () => {
    const zip = sample('extract_report/nice-input.xml.zip');
    const entries = readZipDirectory(zip, limits, 'x');
    expect(entries.map((e) => e.name)).toEqual(['nice-input.xml']);
    expect((await member(zip, entries[0]!)).equals(niceXml)).toBe(true);
    expect(Buffer.from(zipMemberSync(zip, entries[0]!, limits, 'x')).equals(niceXml)).toBe(true);
  });

  test('zip64 records and extra fields (zip -fz)', async () => {
    const zip = fixture('zip64.zip');
    const entries = readZipDirectory(zip, limits, 'x');
    expect(entries.map((e) => [e.name, e.uncompressedSize])).toEqual([['nice-input.xml', niceXml.length]]);
    expect((await member(zip, entries[0]!)).equals(niceXml)).toBe(true);
  });

  test('sizes in a data descriptor (zip written as a stream)', async () => {
    const zip = fixture('streamed.zip');
    const entries = readZipDirectory(zip, limits, 'x');
    expect(entries.map((e) => e.name)).toEqual(['-']);
    expect((await member(zip, entries[0]!)).equals(niceXml)).toBe(true);
  });

  test('directories and macOS junk are recognized as such', () => {
    const names = readZipDirectory(fixture('mixed.zip'), limits, 'x').map((e) => e.name);
    expect(names).toEqual([
      'dir/',
      'dir/README.txt',
      'nice-input.xml',
      '__MACOSX/',
      '__MACOSX/._nice-input.xml',
    ]);
    expect(names.filter((name) => !isJunkEntry(name))).toEqual(['dir/README.txt', 'nice-input.xml']);
    expect(isJunkEntry('reports/.DS_Store')).toBe(true);
    expect(isJunkEntry('reports/._a.xml')).toBe(true);
  });

  test('stored members', async () => {
    const zip = makeZip([{ name: 'a.xml', content: niceXml, method: 0 }]);
    const [entry] = readZipDirectory(zip, limits, 'x');
    expect(entry?.method).toBe(0);
    expect((await member(zip, entry!)).equals(niceXml)).toBe(true);
  });

  test('too many members: LIMIT_EXCEEDED before any member is read', () => {
    const zip = makeZip(Array.from({ length: 101 }, (_, i) => ({ name: `m${i}.xml`, content: 'x' })));
    const error = directoryError(zip);
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.context).toMatchObject({ limit: 'maxZipMembers', limitValue: 100, source: 'test.zip' });
    expect(readZipDirectory(zip, resolveLimits({ maxZipMembers: 101 }), 'x')).toHaveLength(101);
  });

  test('truncated archives: INVALID_ARCHIVE, wherever the cut', async () => {
    const zip = makeZip([{ name: 'a.xml', content: niceXml }]);
    for (const cut of [4, 30, 200, zip.length - 30, zip.length - 1]) {
      expect([cut, directoryError(zip.subarray(0, cut)).code]).toEqual([cut, 'INVALID_ARCHIVE']);
    }
    // A directory that survives while a member's data is cut off (data removed from the middle).
    const [entry] = readZipDirectory(zip, limits, 'x');
    const shortened = Buffer.from(zip);
    const view = new DataView(shortened.buffer, shortened.byteOffset);
    view.setUint32(zip.length - 22 + 16, 0, true); // central directory said to start at 0: not a central header
    expect(directoryError(shortened).code).toBe('INVALID_ARCHIVE');
    const lying = { ...entry!, compressedSize: zip.length };
    expect((await memberError(zip, lying)).message).toMatch(/cut off/);
  });

  test('corrupt members: bad CRC, bad deflate data, unsupported method, encryption', async () => {
    const badCrc = makeZip([
      {
        name: 'a.xml',
        raw: { data: zlib.deflateRawSync(niceXml), crc32: 1234, uncompressedSize: niceXml.length },
      },
    ]);
    expect((await memberError(badCrc, readZipDirectory(badCrc, limits, 'x')[0]!)).message).toMatch(/CRC/);
    const badData = makeZip([
      { name: 'a.xml', raw: { data: Buffer.alloc(100, 0xff), crc32: 0, uncompressedSize: 10 } },
    ]);
    expect((await memberError(badData, readZipDirectory(badData, limits, 'x')[0]!)).code).toBe(
      'INVALID_ARCHIVE',
    );
    const zip = makeZip([{ name: 'a.xml', content: niceXml }]);
    const [entry] = readZipDirectory(zip, limits, 'x');
    expect((await memberError(zip, { ...entry!, method: 14 })).message).toMatch(
      /unsupported compression method \(14\)/,
    );
    expect((await memberError(zip, { ...entry!, flags: 1 })).message).toMatch(/encrypted/);
  });

  test('a bomb member stops at maxDecompressedBytes; one declaring its size is refused without inflating', async () => {
    const zip = makeZip([zerosZipEntry('bomb.xml', 64)]);
    const [entry] = readZipDirectory(zip, limits, 'x');
    const declared = await memberError(zip, entry!, { maxDecompressedBytes: 8 * MiB });
    expect(declared.context).toMatchObject({ limit: 'maxDecompressedBytes', source: 'test.zip!bomb.xml' });
    // Lying about the size (1 KiB declared) does not help: the output itself is counted.
    const lying = await memberError(
      zip,
      { ...entry!, uncompressedSize: 1024 },
      { maxDecompressedBytes: 8 * MiB },
    );
    expect(lying.context).toMatchObject({ limit: 'maxDecompressedBytes' });
    expect(() =>
      zipMemberSync(
        zip,
        { ...entry!, uncompressedSize: 1024 },
        resolveLimits({ maxDecompressedBytes: 8 * MiB }),
        'x',
      ),
    ).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
  });

  test('mutated archives (random bytes changed, random cuts) fail only with ParseError, never a RangeError', async () => {
    const zip = readFileSync(new URL('../../../../test/fixtures/containers/zip64.zip', import.meta.url));
    let state = 7;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const outcomes = new Set<string>();
    for (let round = 0; round < 1500; round++) {
      const bytes = Buffer.from(zip.subarray(0, round % 3 === 0 ? random(zip.length) : zip.length));
      for (let k = 0; k < 3; k++) if (bytes.length > 0) bytes[random(bytes.length)] = random(256);
      try {
        for (const entry of readZipDirectory(bytes, limits, 'x')) {
          await member(bytes, entry, { maxDecompressedBytes: MiB });
          zipMemberSync(bytes, entry, resolveLimits({ maxDecompressedBytes: MiB }), 'x');
        }
        outcomes.add('ok');
      } catch (error) {
        if (!ParseError.is(error)) throw error;
        outcomes.add(error.code);
      }
    }
    for (const outcome of outcomes) expect(['ok', 'INVALID_ARCHIVE', 'LIMIT_EXCEEDED']).toContain(outcome);
    expect(outcomes.has('INVALID_ARCHIVE')).toBe(true);
  });
});
