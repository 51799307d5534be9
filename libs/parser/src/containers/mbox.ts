// mbox: messages separated by "From " lines. Split as a stream, so that a mailbox of any size is read one
// message at a time.
import { limitExceeded } from '../errors.js';
import type { ParseLimits } from '../limits.js';
import { concatBytes, type ByteStream } from './bytes.js';

const FROM = Buffer.from('From ');
const NEWLINE_FROM = Buffer.from('\nFrom ');
const LF = 0x0a;

export interface MboxMessage {
  /** 1-based position of the message in the mailbox (its "From " separator's rank). */
  number: number;
  /** The message, without its "From " separator line. ">From " quoting is left as is. */
  bytes: Uint8Array;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Splits an mbox stream into messages. As Python's mailbox.mbox reads it: every line that starts with
 * "From " begins a new message. Blank messages are skipped (their number is not reused). Throws
 * LIMIT_EXCEEDED (maxMboxMessages) when the mailbox has more messages, after yielding the allowed ones.
 */
export async function* splitMbox(
  stream: ByteStream,
  limits: Pick<ParseLimits, 'maxMboxMessages'>,
  source: string,
): AsyncGenerator<MboxMessage> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let number = 0;
  let carry: Buffer = Buffer.alloc(0);
  let atLineStart = true;
  let inSeparatorLine = false;

  const append = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    parts.push(bytes);
    size += bytes.length;
  };
  /** The message gathered so far, if any, and a fresh one begun. */
  const take = (): MboxMessage | null => {
    const bytes = concatBytes(parts, size);
    parts = [];
    size = 0;
    return bytes.length > 0 && !isBlank(bytes) ? { number, bytes } : null;
  };

  for await (const chunk of stream) {
    const buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : asBuffer(chunk);
    carry = Buffer.alloc(0);
    let at = 0;
    while (at < buffer.length) {
      if (inSeparatorLine) {
        const newline = buffer.indexOf(LF, at);
        if (newline < 0) {
          at = buffer.length;
          break;
        }
        at = newline + 1;
        inSeparatorLine = false;
        atLineStart = true;
        continue;
      }
      if (atLineStart) {
        if (buffer.length - at < FROM.length) {
          // Too short to tell whether this line is a separator: decide with the next chunk.
          carry = Buffer.from(buffer.subarray(at));
          at = buffer.length;
          break;
        }
        if (buffer.compare(FROM, 0, FROM.length, at, at + FROM.length) === 0) {
          const message = take();
          if (message !== null) yield message;
          number++;
          if (number > limits.maxMboxMessages) {
            throw limitExceeded('maxMboxMessages', limits.maxMboxMessages, 'mbox message count', { source });
          }
          inSeparatorLine = true;
          at += FROM.length;
          continue;
        }
      }
      const separator = buffer.indexOf(NEWLINE_FROM, at);
      if (separator >= 0) {
        append(buffer.subarray(at, separator + 1));
        at = separator + 1;
        atLineStart = true;
        continue;
      }
      // No separator in the rest of this chunk; a line starting near its end may be one, split across chunks.
      const lastNewline = buffer.lastIndexOf(LF);
      if (lastNewline >= at && buffer.length - (lastNewline + 1) < FROM.length) {
        append(buffer.subarray(at, lastNewline + 1));
        carry = Buffer.from(buffer.subarray(lastNewline + 1));
        atLineStart = true;
      } else {
        append(buffer.subarray(at));
        atLineStart = false;
      }
      at = buffer.length;
    }
  }
  if (!inSeparatorLine) append(carry);
  const last = take();
  if (last !== null) yield last;
}
