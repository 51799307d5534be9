// Bytes to text for XML and JSON reports: UTF-8, byte order mark stripped, invalid bytes dropped.
//
// The original decodes report bytes with Python's `bytes.decode(errors="ignore")`, which drops every byte
// that is not part of a well-formed UTF-8 sequence (so "bad_byte\x91" reads "bad_byte"); we do the same so
// that field values match its output. Well-formed chunks (nearly all input) take the native fast path.
import { isUtf8 } from 'node:buffer';

const nativeDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Length of the well-formed UTF-8 sequence starting at bytes[i], or 0 if none starts there. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const cont = (at: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[at];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 excludes overlong forms, ED excludes UTF-16 surrogates.
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // F0 excludes overlong forms, F4 excludes code points above U+10FFFF.
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Copies the well-formed sequences of `bytes`, dropping every byte that belongs to none. */
function dropInvalidSequences(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let length = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      i++;
      continue;
    }
    for (let k = 0; k < n; k++) out[length++] = bytes[i + k]!;
    i += n;
  }
  return out.subarray(0, length);
}

/** Bytes needed by a sequence whose lead byte is b, or 0 if b cannot lead a multi-byte sequence. */
function expectedLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Index where an incomplete multi-byte sequence at the end of `bytes` starts (bytes.length if none). */
function completePrefixLength(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 3 && back <= end; back++) {
    const b = bytes[end - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for its lead
    const needed = expectedLength(b);
    return needed > back ? end - back : end;
  }
  return end;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const bom = [0xef, 0xbb, 0xbf];

/**
 * Streaming decoder: feed chunks split anywhere (even inside a character), get text; call with final=true
 * (or finish()) at the end. A leading byte order mark is stripped; invalid bytes are dropped.
 */
export class LenientUtf8Decoder {
  private carry: Uint8Array = new Uint8Array(0);
  private atStart = true;

  decode(chunk: Uint8Array, final = false): string {
    let bytes = this.carry.length > 0 ? concat(this.carry, chunk) : chunk;
    if (this.atStart) {
      if (bytes.length < bom.length && !final) {
        // Cannot tell yet whether these bytes begin a byte order mark.
        this.carry = bytes.slice();
        return '';
      }
      this.atStart = false;
      if (bytes[0] === bom[0] && bytes[1] === bom[1] && bytes[2] === bom[2])
        bytes = bytes.subarray(bom.length);
    }
    const end = final ? bytes.length : completePrefixLength(bytes);
    this.carry = end < bytes.length ? bytes.slice(end) : new Uint8Array(0);
    const body = end < bytes.length ? bytes.subarray(0, end) : bytes;
    if (body.length === 0) return '';
    return nativeDecoder.decode(isUtf8(body) ? body : dropInvalidSequences(body));
  }

  finish(): string {
    return this.decode(new Uint8Array(0), true);
  }
}

/** Decodes a whole byte array: UTF-8, byte order mark stripped, invalid bytes dropped. */
export function decodeUtf8Lenient(bytes: Uint8Array): string {
  return new LenientUtf8Decoder().decode(bytes, true);
}
