// Byte streams: the one shape every container stage consumes and produces (a file stream, a gzip stream's
// output, a zip member, an attachment), with peeking for content detection and bounded buffering.
import { limitExceeded } from '../errors.js';
import type { ParseLimits } from '../limits.js';

export type ByteStream = AsyncIterable<Uint8Array>;

/**
 * The caller's input stream failed (an I/O error: not bad input). Carried through the container stages
 * untouched and rethrown by parseReports as the original error, so it never becomes a parse outcome.
 */
export class InputStreamError extends Error {
  constructor(cause: unknown) {
    super('the input stream failed', { cause });
    this.name = 'InputStreamError';
  }
}

/** Slices of at most this many bytes: in-memory inputs are fed to stream stages in pieces this size. */
export const sliceBytes = 64 * 1024;

export async function* streamOfBytes(bytes: Uint8Array): ByteStream {
  for (let at = 0; at < bytes.length; at += sliceBytes) yield bytes.subarray(at, at + sliceBytes);
}

/** Wraps the caller's stream: its failures become InputStreamError, empty chunks are dropped. */
export async function* guardInputStream(input: AsyncIterable<Uint8Array>): ByteStream {
  const iterator = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw new InputStreamError(error);
      }
      if (step.done) return;
      if (step.value.length > 0) yield step.value;
    }
  } finally {
    // Stop the underlying stream (close the file) when the consumer stops early.
    await iterator.return?.();
  }
}

/** Passes bytes through, failing with LIMIT_EXCEEDED once more than `max` have gone by. */
export async function* limitStreamBytes(
  stream: ByteStream,
  limit: keyof ParseLimits,
  max: number,
  what: string,
  source: string,
): ByteStream {
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw limitExceeded(limit, max, what, { source });
    yield chunk;
  }
}

export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  // Consecutive slices of one buffer (a file read whole, then streamed in slices): the whole is a view.
  const first = chunks[0];
  if (first !== undefined && chunks.every((chunk, i) => i === 0 || followsOn(chunks[i - 1]!, chunk))) {
    const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    return new Uint8Array(first.buffer, first.byteOffset, length);
  }
  const out = new Uint8Array(total ?? chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function followsOn(previous: Uint8Array, chunk: Uint8Array): boolean {
  return chunk.buffer === previous.buffer && chunk.byteOffset === previous.byteOffset + previous.length;
}

/** A stream whose first bytes have been read for detection, and the whole stream (head included) to go on. */
export interface PeekedStream {
  head: Uint8Array;
  /** True when the head is the whole stream. */
  complete: boolean;
  stream: ByteStream;
  /** Releases the source (e.g. closes the file) when `stream` will not be read to its end. */
  close(): Promise<void>;
}

/** Reads at least `bytes` bytes (or all, if fewer) without losing them: `stream` replays them first. */
export async function peekStream(source: ByteStream, bytes: number): Promise<PeekedStream> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let complete = false;
  while (total < bytes) {
    const step = await iterator.next();
    if (step.done) {
      complete = true;
      break;
    }
    chunks.push(step.value);
    total += step.value.length;
  }
  const head = concatBytes(chunks, total);
  // `exhausted`: the source has ended (or been released); nothing left to release.
  let exhausted = complete;
  const close = async (): Promise<void> => {
    if (exhausted) return;
    exhausted = true;
    await iterator.return?.();
  };
  async function* replay(): ByteStream {
    try {
      if (head.length > 0) yield head;
      while (!exhausted) {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          return;
        }
        yield step.value;
      }
    } finally {
      await close();
    }
  }
  return { head, complete, stream: replay(), close };
}

/** Buffers a whole stream, failing with LIMIT_EXCEEDED beyond `max` bytes (before holding more). */
export async function collectStream(
  stream: ByteStream,
  limit: keyof ParseLimits,
  max: number,
  what: string,
  source: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw limitExceeded(limit, max, what, { source });
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
}
