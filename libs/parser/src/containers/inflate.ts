// Bounded raw-deflate decompression (the engine behind gzip members and zip members), with node:zlib.
//
// Why node:zlib rather than fflate (measured on a 42 MB aggregate XML, 0.8 MB gzipped: node:zlib 75-115 ms,
// fflate's streaming Gunzip 250 ms with 16 KiB pushes and 550-870 ms with 1 KiB pushes): node's inflater is
// native, it reports exactly how many input bytes it consumed (bytesWritten), which locates the end of a
// deflate stream (needed for gzip trailers and trailing garbage), and it hands output over in 64 KiB pieces,
// so every piece is counted against the limits before the next one is produced. fflate inflates a whole
// pushed chunk in one go and hides where a stream ended.
//
// Pure computation: node:zlib runs the inflater on libuv's thread pool, no I/O is involved.
import zlib from 'node:zlib';
import { ParseError, limitExceeded } from '../errors.js';
import type { ParseLimits } from '../limits.js';
import type { ByteStream } from './bytes.js';

/** Compressed bytes handed to the inflater per write: bounds the output one write can produce (~1032x). */
const writeSliceBytes = 16 * 1024;
/** Output piece size. */
const outputChunkBytes = 64 * 1024;
/**
 * A deflate stream of at most this many compressed bytes, already in memory, is inflated in one synchronous
 * call: for the typical report of a few KB, the streaming inflater's thread-pool round trips cost more than
 * the inflating (a CPU profile over 2,000 small report files showed the process idle most of the time). Its
 * output is bounded too: at most ~1032x this size, and never beyond what maxDecompressedBytes still allows.
 */
const syncInputBytes = 64 * 1024;
/** The compression ratio is checked only beyond this much output (small inputs compress well legitimately). */
export const ratioCheckThresholdBytes = 1024 * 1024;

/** A pull reader over a byte stream that can give back bytes it read too far (after a deflate stream). */
export class ByteReader {
  private readonly pending: Uint8Array[] = [];
  private readonly iterator: AsyncIterator<Uint8Array>;
  private done = false;

  constructor(stream: ByteStream) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  /** The next chunk, or null at the end. */
  async next(): Promise<Uint8Array | null> {
    const pending = this.pending.shift();
    if (pending !== undefined) return pending;
    if (this.done) return null;
    const step = await this.iterator.next();
    if (step.done) {
      this.done = true;
      return null;
    }
    return step.value;
  }

  unshift(chunk: Uint8Array): void {
    if (chunk.length > 0) this.pending.unshift(chunk);
  }

  /** Exactly n bytes, or fewer if the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      const chunk = await this.next();
      if (chunk === null) return out.subarray(0, have);
      const take = Math.min(n - have, chunk.length);
      out.set(chunk.subarray(0, take), have);
      have += take;
      if (take < chunk.length) this.unshift(chunk.subarray(take));
    }
    return out;
  }

  /** Skips bytes up to and including the next zero byte; false if the stream ends first. */
  async skipPastZero(): Promise<boolean> {
    for (;;) {
      const chunk = await this.next();
      if (chunk === null) return false;
      const zero = chunk.indexOf(0);
      if (zero >= 0) {
        this.unshift(chunk.subarray(zero + 1));
        return true;
      }
    }
  }

  /** Releases the underlying stream. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.iterator.return?.();
  }
}

/**
 * Counts the output of one decompressed stream (a whole gzip file, or one zip member) against
 * maxDecompressedBytes and maxCompressionRatio.
 */
export class DecompressionMeter {
  produced = 0;

  constructor(
    private readonly limits: Pick<ParseLimits, 'maxDecompressedBytes' | 'maxCompressionRatio'>,
    private readonly source: string,
    private readonly what: string,
  ) {}

  /** Output bytes still allowed by maxDecompressedBytes. */
  remaining(): number {
    return Math.max(0, this.limits.maxDecompressedBytes - this.produced);
  }

  /** Records `bytes` more output, `consumed` compressed bytes having been read so far; throws on a breach. */
  add(bytes: number, consumed: number): void {
    this.produced += bytes;
    checkDecompression(this.produced, consumed, this.limits, this.what, this.source);
  }
}

/** Throws LIMIT_EXCEEDED if `produced` output bytes from `consumed` input bytes breach a limit. */
export function checkDecompression(
  produced: number,
  consumed: number,
  limits: Pick<ParseLimits, 'maxDecompressedBytes' | 'maxCompressionRatio'>,
  what: string,
  source: string,
): void {
  const { maxDecompressedBytes, maxCompressionRatio } = limits;
  if (produced > maxDecompressedBytes) {
    throw limitExceeded('maxDecompressedBytes', maxDecompressedBytes, `decompressed size of ${what}`, {
      source,
    });
  }
  const ratio = produced / Math.max(consumed, 1);
  if (produced > ratioCheckThresholdBytes && ratio > maxCompressionRatio) {
    throw limitExceeded(
      'maxCompressionRatio',
      maxCompressionRatio,
      `compression ratio of ${what} (${Math.floor(ratio)}:1)`,
      {
        source,
      },
    );
  }
}

/** zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...) mean corrupt or truncated input. */
function zlibErrorToParseError(error: unknown, what: string, source: string): unknown {
  if (ParseError.is(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && code.startsWith('Z_')) {
    return new ParseError(
      'INVALID_ARCHIVE',
      `corrupt ${what}: ${error.message}`,
      { source },
      { cause: error },
    );
  }
  return error;
}

/** Resolves once the inflater has processed `chunk`, or has been destroyed (by a limit breach or an error). */
function writeTo(inflater: zlib.InflateRaw, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      inflater.off('close', done);
      resolve();
    };
    inflater.once('close', done);
    inflater.write(chunk, done);
  });
}

/** Resolves once the inflater has flushed its last output after end(), or failed, or been destroyed. */
function endOf(inflater: zlib.InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      inflater.off('end', done);
      inflater.off('close', done);
      inflater.off('error', done);
      resolve();
    };
    inflater.once('end', done);
    inflater.once('close', done);
    inflater.once('error', done);
    inflater.end();
  });
}

export interface RawInflateProgress {
  /** Compressed bytes of this deflate stream consumed so far (final once the generator is done). */
  consumed: number;
}

/**
 * Inflates one raw deflate stream read from `reader`, yielding its output in pieces. Bytes after the end of
 * the deflate stream are left in `reader`. Output is counted against `meter` before it is handed on;
 * `consumedBefore` is the number of compressed bytes of the same container read before this stream (for the
 * ratio check). Throws ParseError INVALID_ARCHIVE on corrupt or truncated data, LIMIT_EXCEEDED on a breach.
 */
export async function* inflateRaw(
  reader: ByteReader,
  meter: DecompressionMeter,
  consumedBefore: number,
  what: string,
  source: string,
  progress: RawInflateProgress = { consumed: 0 },
): AsyncGenerator<Uint8Array> {
  // Fast path: the whole (small) rest of the input is at hand.
  const gathered: Uint8Array[] = [];
  let gatheredBytes = 0;
  let exhausted = false;
  while (gatheredBytes <= syncInputBytes) {
    const chunk = await reader.next();
    if (chunk === null) {
      exhausted = true;
      break;
    }
    gathered.push(chunk);
    gatheredBytes += chunk.length;
  }
  if (exhausted) {
    const input = concatChunks(gathered, gatheredBytes);
    const output = inflateWhole(input, meter, consumedBefore, what, source);
    if (output !== null) {
      progress.consumed = output.consumed;
      // Bytes after the end of the deflate stream (gzip trailer, next member, trailing garbage) go back.
      if (output.consumed < input.length) reader.unshift(input.subarray(output.consumed));
      for (let at = 0; at < output.buffer.length; at += outputChunkBytes) {
        yield output.buffer.subarray(at, at + outputChunkBytes);
      }
      return;
    }
    // Truncated: the streaming path below hands on what precedes the cut before it reports the error.
    reader.unshift(input);
  } else {
    for (let i = gathered.length - 1; i >= 0; i -= 1) reader.unshift(gathered[i]!);
  }

  const inflater = zlib.createInflateRaw({ chunkSize: outputChunkBytes });
  const ready: Uint8Array[] = [];
  let failure: unknown = null;
  let ended = false;
  inflater.on('data', (chunk: Buffer) => {
    if (failure !== null) return;
    try {
      meter.add(chunk.length, consumedBefore + inflater.bytesWritten);
    } catch (error) {
      // Stop inflating at once: nothing more is produced after a breach.
      failure = error;
      inflater.destroy();
      return;
    }
    ready.push(chunk);
  });
  inflater.on('error', (error) => {
    failure ??= error;
  });
  inflater.on('end', () => {
    ended = true;
  });
  let fed = 0;
  try {
    for (;;) {
      const chunk = await reader.next();
      if (chunk === null) {
        // Input exhausted: a complete deflate stream ends cleanly, an incomplete one fails (unexpected end).
        if (!ended) await endOf(inflater);
        progress.consumed = inflater.bytesWritten;
        if (failure !== null) throw zlibErrorToParseError(failure, what, source);
        if (!ended) throw new ParseError('INVALID_ARCHIVE', `truncated ${what}`, { source });
        yield* ready.splice(0);
        return;
      }
      for (let at = 0; at < chunk.length; at += writeSliceBytes) {
        const slice = chunk.subarray(at, at + writeSliceBytes);
        await writeTo(inflater, slice);
        fed += slice.length;
        progress.consumed = inflater.bytesWritten;
        if (failure !== null) throw zlibErrorToParseError(failure, what, source);
        while (ready.length > 0) yield ready.shift()!;
        if (inflater.bytesWritten < fed) {
          // The deflate stream ended inside this slice: give back what follows it (gzip trailer, next member).
          reader.unshift(chunk.subarray(at + slice.length - (fed - inflater.bytesWritten)));
          return;
        }
      }
    }
  } finally {
    inflater.destroy();
  }
}

function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * The synchronous path of inflateRaw, for a small compressed input held whole: its output and the input bytes
 * the deflate stream took, or null when the input is truncated. Same errors and limits as the streaming path.
 */
function inflateWhole(
  input: Uint8Array,
  meter: DecompressionMeter,
  consumedBefore: number,
  what: string,
  source: string,
): { buffer: Buffer; consumed: number } | null {
  const allowed = meter.remaining();
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // One byte over the allowance makes a breach visible (ERR_BUFFER_TOO_LARGE) without producing more.
    result = zlib.inflateRawSync(input, {
      info: true,
      maxOutputLength: Math.max(1, allowed + 1),
    }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') meter.add(allowed + 1, consumedBefore + input.length); // throws
    if (code === 'Z_BUF_ERROR') return null;
    throw zlibErrorToParseError(error, what, source);
  }
  meter.add(result.buffer.length, consumedBefore + result.engine.bytesWritten);
  return { buffer: result.buffer, consumed: result.engine.bytesWritten };
}
