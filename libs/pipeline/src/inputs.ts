/** Inputs of the embedded pipeline: files on disk and messages already in memory. */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { PipelineInput } from './pipeline.js';

/**
 * Files up to this size are read whole with one synchronous read (from the page cache, microseconds);
 * bigger ones are streamed so that a huge report never sits in memory. A stream per small file cost more in
 * event-loop round trips than the parsing itself.
 */
const wholeReadBytes = 4 * 1024 * 1024;

/** Standard input (the command's `-`): read from the process's own stream, whatever it is (a pipe, a socket). */
const STDIN = '/dev/stdin';

export function fileInput(path: string): PipelineInput {
  return {
    source: path,
    open() {
      if (path === STDIN) return { input: process.stdin, close: () => process.stdin.destroy() };
      const fd = openSync(path, 'r');
      try {
        const info = fstatSync(fd);
        const size = info.size;
        // A pipe or standard input has no size: it is streamed.
        if (info.isFile() && size <= wholeReadBytes) {
          const bytes = Buffer.allocUnsafe(size);
          let read = 0;
          while (read < size) {
            const n = readSync(fd, bytes, read, size - read, read);
            if (n === 0) break;
            read += n;
          }
          closeSync(fd);
          return { input: bytes.subarray(0, read), close: () => undefined };
        }
        // 64 KiB reads: a chunk of text above V8's 128 KiB object limit goes to the large-object space, which
        // only a full collection empties (256 KiB reads left a 100,000-record .xml run 15 MB larger).
        const stream = createReadStream(path, { fd, highWaterMark: 64 * 1024 });
        return { input: stream, close: () => stream.destroy() };
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    },
  };
}

export function bytesInput(source: string, bytes: Uint8Array): PipelineInput {
  return { source, open: () => ({ input: bytes, close: () => undefined }) };
}
