// gzip (RFC 1952): our own member framing around the raw inflater, so that
// - concatenated members decompress as one stream (as `gzip -d` does),
// - bytes after the last member that do not start another member are ignored: some reporters (Mimecast)
//   append a CRLF after the gzip data, which the original tolerates (Python's zlib leaves it unused) while
//   node's own gunzip rejects the whole stream,
// - each member's CRC-32 and length are checked (a corrupt report is an INVALID_ARCHIVE, not garbage XML).
import zlib from 'node:zlib';
import { ParseError } from '../errors.js';
import type { ParseLimits } from '../limits.js';
import { concatBytes, type ByteStream } from './bytes.js';
import {
  ByteReader,
  DecompressionMeter,
  checkDecompression,
  inflateRaw,
  type RawInflateProgress,
} from './inflate.js';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;

function truncated(source: string): ParseError {
  return new ParseError('INVALID_ARCHIVE', 'truncated gzip stream', { source });
}

/**
 * Reads a member header. Returns its length in bytes, or null when the bytes there do not start a gzip
 * member (only allowed after the first member: trailing garbage).
 */
async function readMemberHeader(reader: ByteReader, first: boolean, source: string): Promise<number | null> {
  const fixed = await reader.read(10);
  const isMember = fixed.length >= 2 && fixed[0] === 0x1f && fixed[1] === 0x8b;
  if (!isMember) {
    if (first) throw new ParseError('INVALID_ARCHIVE', 'not a gzip stream', { source });
    return null;
  }
  if (fixed.length < 10) throw truncated(source);
  if (fixed[2] !== 8)
    throw new ParseError('INVALID_ARCHIVE', `unknown gzip compression method ${fixed[2]}`, { source });
  const flags = fixed[3]!;
  if ((flags & FRESERVED) !== 0)
    throw new ParseError('INVALID_ARCHIVE', 'reserved gzip header flags set', { source });
  let length = 10;
  if (flags & FEXTRA) {
    const size = await reader.read(2);
    if (size.length < 2) throw truncated(source);
    const extraLength = size[0]! | (size[1]! << 8);
    // Read (and drop) the extra field in bounded pieces.
    let left = extraLength;
    while (left > 0) {
      const part = await reader.read(Math.min(left, 64 * 1024));
      if (part.length === 0) throw truncated(source);
      left -= part.length;
    }
    length += 2 + extraLength;
  }
  // The file name and comment are zero-terminated and unbounded: skip them without holding them.
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag && !(await reader.skipPastZero())) throw truncated(source);
  }
  if (flags & FHCRC) {
    if ((await reader.read(2)).length < 2) throw truncated(source);
    length += 2;
  }
  // The name and comment lengths are not counted: `length` only feeds the compression ratio check, where
  // counting fewer consumed bytes errs on the side of caution.
  return length;
}

/**
 * Decompresses a gzip stream (one or more members), yielding the output in pieces; never holds the whole
 * output. Throws ParseError: INVALID_ARCHIVE (corrupt, truncated, CRC mismatch), LIMIT_EXCEEDED
 * (maxDecompressedBytes, maxCompressionRatio).
 */
export async function* gunzip(
  input: ByteStream,
  limits: ParseLimits,
  source: string,
): AsyncGenerator<Uint8Array> {
  const reader = new ByteReader(input);
  const meter = new DecompressionMeter(limits, source, 'the gzip stream');
  let consumed = 0;
  try {
    for (let member = 0; ; member++) {
      const headerLength = await readMemberHeader(reader, member === 0, source);
      if (headerLength === null) return;
      consumed += headerLength;
      let crc = 0;
      let size = 0;
      const progress: RawInflateProgress = { consumed: 0 };
      for await (const chunk of inflateRaw(reader, meter, consumed, 'gzip stream', source, progress)) {
        crc = zlib.crc32(chunk, crc);
        size += chunk.length;
        yield chunk;
      }
      consumed += progress.consumed;
      const trailer = await reader.read(8);
      if (trailer.length < 8) throw truncated(source);
      checkTrailer(trailer, crc, size, source);
      consumed += 8;
    }
  } finally {
    await reader.close();
  }
}

/** Same rules as gunzip, for a whole in-memory gzip file (for extractXml). */
export function gunzipSync(bytes: Uint8Array, limits: ParseLimits, source: string): Uint8Array {
  const what = 'the gzip stream';
  const pieces: Uint8Array[] = [];
  let produced = 0;
  let at = 0;
  for (let member = 0; ; member++) {
    const rest = bytes.subarray(at);
    if (rest.length < 2 || rest[0] !== 0x1f || rest[1] !== 0x8b) {
      if (member === 0) throw new ParseError('INVALID_ARCHIVE', 'not a gzip stream', { source });
      break;
    }
    const headerLength = syncHeaderLength(rest, source);
    let output: Buffer;
    let deflateLength: number;
    try {
      // maxOutputLength makes zlib stop (RangeError) instead of allocating beyond the budget.
      const result = zlib.inflateRawSync(rest.subarray(headerLength), {
        maxOutputLength: Math.max(limits.maxDecompressedBytes - produced, 1),
        info: true,
      }) as unknown as { buffer: Buffer; engine: zlib.InflateRaw };
      output = result.buffer;
      deflateLength = result.engine.bytesWritten;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        checkDecompression(limits.maxDecompressedBytes + 1, 1, limits, what, source);
      }
      throw new ParseError(
        'INVALID_ARCHIVE',
        `corrupt gzip stream: ${(error as Error).message}`,
        { source },
        { cause: error },
      );
    }
    produced += output.length;
    const end = at + headerLength + deflateLength;
    checkDecompression(produced, end, limits, what, source);
    const trailer = bytes.subarray(end, end + 8);
    if (trailer.length < 8) throw truncated(source);
    checkTrailer(trailer, zlib.crc32(output), output.length, source);
    pieces.push(output);
    at = end + 8;
  }
  return concatBytes(pieces, produced);
}

function checkTrailer(trailer: Uint8Array, crc: number, size: number, source: string): void {
  const view = new DataView(trailer.buffer, trailer.byteOffset, 8);
  if (view.getUint32(0, true) !== crc >>> 0) {
    throw new ParseError('INVALID_ARCHIVE', 'gzip CRC-32 mismatch (corrupt data)', { source });
  }
  if (view.getUint32(4, true) !== size % 2 ** 32) {
    throw new ParseError('INVALID_ARCHIVE', 'gzip length mismatch (corrupt data)', { source });
  }
}

function syncHeaderLength(bytes: Uint8Array, source: string): number {
  if (bytes.length < 10) throw truncated(source);
  if (bytes[2] !== 8)
    throw new ParseError('INVALID_ARCHIVE', `unknown gzip compression method ${bytes[2]}`, { source });
  const flags = bytes[3]!;
  if ((flags & FRESERVED) !== 0)
    throw new ParseError('INVALID_ARCHIVE', 'reserved gzip header flags set', { source });
  let at = 10;
  if (flags & FEXTRA) {
    if (bytes.length < at + 2) throw truncated(source);
    at += 2 + (bytes[at]! | (bytes[at + 1]! << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const zero = bytes.indexOf(0, at);
      if (zero < 0) throw truncated(source);
      at = zero + 1;
    }
  }
  if (flags & FHCRC) at += 2;
  if (at > bytes.length) throw truncated(source);
  return at;
}
