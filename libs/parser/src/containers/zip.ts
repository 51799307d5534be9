// zip archives: the central directory (at the end) lists the members, as Python's zipfile reads it; each
// member is then decompressed as a bounded stream. A zip cannot be read as a stream from its start (member
// sizes may only be known from the directory), so the archive itself is held in memory, within
// maxInputBytes; members' decompressed contents are not.
import zlib from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { ParseError, limitExceeded } from '../errors.js';
import type { ParseLimits } from '../limits.js';
import { streamOfBytes } from './bytes.js';
import { ByteReader, DecompressionMeter, inflateRaw } from './inflate.js';

export interface ZipEntry {
  /** Path inside the archive, '/'-separated. */
  name: string;
  /** General purpose flags (bit 0: encrypted, bit 11: UTF-8 name). */
  flags: number;
  /** 0 stored, 8 deflate; anything else is unsupported. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const EOCD_LENGTH = 22;
const MAX_COMMENT_LENGTH = 0xffff;

function corrupt(message: string, source: string): ParseError {
  return new ParseError('INVALID_ARCHIVE', message, { source });
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(data: DataView, at: number): number {
  // Sizes beyond 2^53 cannot be real here (the archive is in memory): Number is exact for the rest.
  return data.getUint32(at, true) + data.getUint32(at + 4, true) * 2 ** 32;
}

function decodeName(raw: Uint8Array, flags: number): string {
  // Bit 11 declares UTF-8; many tools write UTF-8 without declaring it. Otherwise the name is CP437, read
  // as Latin-1 (identical for the ASCII names reports use).
  if (flags & 0x800 || isUtf8(raw)) return new TextDecoder('utf-8').decode(raw);
  return new TextDecoder('latin1').decode(raw);
}

/** Archive members that are never reports: directories and the resource forks macOS adds to archives. */
export function isJunkEntry(name: string): boolean {
  if (name.endsWith('/')) return true;
  if (name.startsWith('__MACOSX/')) return true;
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.startsWith('._') || base === '.DS_Store';
}

function findEndOfCentralDirectory(data: DataView, source: string): number {
  const last = data.byteLength - EOCD_LENGTH;
  const first = Math.max(0, last - MAX_COMMENT_LENGTH);
  for (let at = last; at >= first; at--) {
    if (data.getUint32(at, true) === EOCD_SIGNATURE) return at;
  }
  throw corrupt('truncated or corrupt zip archive (no end of central directory record)', source);
}

/**
 * Lists an archive's members from its central directory. Throws ParseError INVALID_ARCHIVE (truncated,
 * corrupt) or LIMIT_EXCEEDED (maxZipMembers, checked before any member is listed).
 */
export function readZipDirectory(
  bytes: Uint8Array,
  limits: Pick<ParseLimits, 'maxZipMembers'>,
  source: string,
): ZipEntry[] {
  const data = view(bytes);
  const eocd = findEndOfCentralDirectory(data, source);
  let entryCount = data.getUint16(eocd + 10, true);
  let directorySize = data.getUint32(eocd + 12, true);
  let directoryOffset = data.getUint32(eocd + 16, true);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator >= 0 && data.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
      const zip64Eocd = u64(data, locator + 8);
      if (zip64Eocd + 56 > eocd || data.getUint32(zip64Eocd, true) !== ZIP64_EOCD_SIGNATURE) {
        throw corrupt('corrupt zip64 end of central directory record', source);
      }
      entryCount = u64(data, zip64Eocd + 32);
      directorySize = u64(data, zip64Eocd + 40);
      directoryOffset = u64(data, zip64Eocd + 48);
    }
  }
  if (entryCount > limits.maxZipMembers) {
    throw limitExceeded('maxZipMembers', limits.maxZipMembers, `zip archive with ${entryCount} members`, {
      source,
    });
  }
  if (directoryOffset + directorySize > eocd)
    throw corrupt('truncated or corrupt zip archive (central directory out of bounds)', source);
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let index = 0; index < entryCount; index++) {
    if (at + 46 > eocd || data.getUint32(at, true) !== CENTRAL_HEADER_SIGNATURE) {
      throw corrupt('corrupt zip central directory', source);
    }
    const flags = data.getUint16(at + 8, true);
    const method = data.getUint16(at + 10, true);
    const crc32 = data.getUint32(at + 16, true);
    let compressedSize = data.getUint32(at + 20, true);
    let uncompressedSize = data.getUint32(at + 24, true);
    const nameLength = data.getUint16(at + 28, true);
    const extraLength = data.getUint16(at + 30, true);
    const commentLength = data.getUint16(at + 32, true);
    let localHeaderOffset = data.getUint32(at + 42, true);
    const nameStart = at + 46;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > eocd) throw corrupt('corrupt zip central directory', source);
    // Zip64 extended information: 64-bit values, present only for the fields saturated at 0xffffffff.
    for (let field = extraStart; field + 4 <= extraStart + extraLength;) {
      const id = data.getUint16(field, true);
      const size = data.getUint16(field + 2, true);
      if (id === 0x0001) {
        let value = field + 4;
        const end = Math.min(value + size, extraStart + extraLength);
        if (uncompressedSize === 0xffffffff && value + 8 <= end) {
          uncompressedSize = u64(data, value);
          value += 8;
        }
        if (compressedSize === 0xffffffff && value + 8 <= end) {
          compressedSize = u64(data, value);
          value += 8;
        }
        if (localHeaderOffset === 0xffffffff && value + 8 <= end) localHeaderOffset = u64(data, value);
      }
      field += 4 + size;
    }
    const name = decodeName(bytes.subarray(nameStart, nameStart + nameLength), flags);
    entries.push({ name, flags, method, crc32, compressedSize, uncompressedSize, localHeaderOffset });
    at = next;
  }
  rejectOverlappingMembers(bytes, entries, source);
  return entries;
}

/**
 * Members whose data overlap are a crafted bomb (many directory entries sharing one highly compressed
 * stream: each member is a full-size bomb of its own); no archiver writes them. Python's zipfile refuses
 * them too ("Overlapped entries"). Members with an unreadable local header fail on their own, later.
 */
function rejectOverlappingMembers(bytes: Uint8Array, entries: readonly ZipEntry[], source: string): void {
  const data = view(bytes);
  const ranges: [number, number][] = [];
  for (const entry of entries) {
    const at = entry.localHeaderOffset;
    if (at + 30 > bytes.length || data.getUint32(at, true) !== LOCAL_HEADER_SIGNATURE) continue;
    const start = at + 30 + data.getUint16(at + 26, true) + data.getUint16(at + 28, true);
    ranges.push([at, start + entry.compressedSize]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw corrupt('zip archive members overlap (a zip bomb)', source);
  }
}

/** The compressed bytes of a member, located through its local header. */
function memberData(bytes: Uint8Array, entry: ZipEntry, source: string): Uint8Array {
  const data = view(bytes);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || data.getUint32(at, true) !== LOCAL_HEADER_SIGNATURE) {
    throw corrupt(`corrupt zip archive (bad local header for ${entry.name})`, source);
  }
  const start = at + 30 + data.getUint16(at + 26, true) + data.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw corrupt(`truncated zip archive (${entry.name} is cut off)`, source);
  return bytes.subarray(start, end);
}

/**
 * A member's decompressed contents as a stream, counted against maxDecompressedBytes and
 * maxCompressionRatio, CRC-checked at the end. Throws ParseError INVALID_ARCHIVE or LIMIT_EXCEEDED.
 */
export async function* zipMemberStream(
  bytes: Uint8Array,
  entry: ZipEntry,
  limits: ParseLimits,
  source: string,
): AsyncGenerator<Uint8Array> {
  if (entry.flags & 0x1) throw corrupt(`encrypted zip member ${entry.name} cannot be read`, source);
  if (entry.method !== 0 && entry.method !== 8) {
    throw corrupt(
      `zip member ${entry.name} uses an unsupported compression method (${entry.method})`,
      source,
    );
  }
  const meter = new DecompressionMeter(limits, source, `zip member ${entry.name}`);
  // The declared size is attacker-controlled, but when it already exceeds the limit there is no point
  // inflating anything. (The actual output is what is enforced below.)
  if (entry.uncompressedSize > limits.maxDecompressedBytes)
    meter.add(entry.uncompressedSize, entry.compressedSize);
  const compressed = memberData(bytes, entry, source);
  let crc = 0;
  let size = 0;
  if (entry.method === 0) {
    meter.add(compressed.length, compressed.length);
    for await (const chunk of streamOfBytes(compressed)) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      yield chunk;
    }
  } else {
    const reader = new ByteReader(streamOfBytes(compressed));
    for await (const chunk of inflateRaw(reader, meter, 0, `zip member ${entry.name}`, source)) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      yield chunk;
    }
  }
  if (crc >>> 0 !== entry.crc32 || size !== entry.uncompressedSize) {
    throw corrupt(`zip member ${entry.name} is corrupt (CRC-32 or size mismatch)`, source);
  }
}

/** The member's whole decompressed contents (for extractXml), same limits and checks. */
export function zipMemberSync(
  bytes: Uint8Array,
  entry: ZipEntry,
  limits: ParseLimits,
  source: string,
): Uint8Array {
  if (entry.flags & 0x1) throw corrupt(`encrypted zip member ${entry.name} cannot be read`, source);
  const meter = new DecompressionMeter(limits, source, `zip member ${entry.name}`);
  if (entry.uncompressedSize > limits.maxDecompressedBytes)
    meter.add(entry.uncompressedSize, entry.compressedSize);
  const compressed = memberData(bytes, entry, source);
  let output: Uint8Array;
  if (entry.method === 0) output = compressed;
  else if (entry.method === 8) {
    try {
      output = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(limits.maxDecompressedBytes, 1) });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
        meter.add(limits.maxDecompressedBytes + 1, 1);
      throw corrupt(`zip member ${entry.name} is corrupt: ${(error as Error).message}`, source);
    }
  } else
    throw corrupt(
      `zip member ${entry.name} uses an unsupported compression method (${entry.method})`,
      source,
    );
  meter.add(output.length, compressed.length);
  if (zlib.crc32(output) >>> 0 !== entry.crc32 || output.length !== entry.uncompressedSize) {
    throw corrupt(`zip member ${entry.name} is corrupt (CRC-32 or size mismatch)`, source);
  }
  return output;
}
