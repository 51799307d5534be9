/**
 * The -o folder: aggregate.json/.csv, forensic.json/.csv, smtp_tls.json/.csv (or the names configured)
 * and samples/<subject>.eml,
 * written incrementally (bounded memory for huge reports) and appended to like the original does when the
 * files exist already. flush() fsyncs every file and records the durable point (checkpoint.ts), to which
 * every file is cut back together after a crash.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  ftruncateSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParsedReport } from '@parsedmarc-ts/parser';
import {
  aggregateCsvHeader,
  aggregateCsvLines,
  forensicCsvHeader,
  forensicCsvLines,
  JsonArrayWriter,
  SampleNamer,
  smtpTlsCsvHeader,
  smtpTlsCsvLines,
} from '@parsedmarc-ts/output';

import { OutputCheckpoint } from './checkpoint.js';
import { outputFilesDefaults, type OutputFiles } from './config.js';
import { isFirstPart, isLastPart, type ResultItem, type ResultSink, type SinkRefusal } from './contract.js';
import { SinkError } from './errors.js';

/** A file written with synchronous appends (simple, ordered, and fsync-able for durability). */
class AppendFile {
  private fd: number;
  private pending: string[] = [];
  private pendingLength = 0;
  /** Text is gathered into writes of about this many characters: one syscall per record would dominate. */
  private static readonly chunkChars = 1 << 20;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }
  write = (text: string): void => {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= AppendFile.chunkChars) this.writeOut();
  };
  private writeOut(): void {
    if (this.pendingLength === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
  }
  /** Everything written so far reaches the disk (fsync). */
  sync(): void {
    this.writeOut();
    fsyncSync(this.fd);
  }
  close(): void {
    this.writeOut();
    closeSync(this.fd);
  }
}

/** Forensic samples are written in groups of at most this many, and this many characters (bounded memory). */
export const samplesGathered = { count: 256, chars: 8 << 20 } as const;

/** Writes `text` at the end of the file at `path` (created if need be) and fsyncs it. */
async function appendDurably(path: string, text: string): Promise<void> {
  const file = await open(path, 'a');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

const scanChunkBytes = 1 << 20;

/**
 * The position just after the last match of `pattern` in the file for which `accept` holds (given the byte
 * that follows the match, or -1 at the end of the file), or -1. Reads backwards in chunks, so a huge file
 * is not loaded.
 */
function lastMatchEnd(fd: number, size: number, pattern: Buffer, accept: (next: number) => boolean): number {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - scanChunkBytes);
    // One extra byte after the chunk, to see what follows a match at its very end.
    const length = Math.min(size, end + 1) - start;
    const chunk = Buffer.alloc(length);
    readSync(fd, chunk, 0, length, start);
    for (
      let at = chunk.lastIndexOf(pattern, end - start - pattern.length);
      at !== -1;
      at = at === 0 ? -1 : chunk.lastIndexOf(pattern, at - 1)
    ) {
      const after = at + pattern.length;
      if (accept(after < chunk.length ? chunk[after]! : -1)) return start + after;
    }
    if (start === 0) break;
    end = start + pattern.length - 1;
  }
  return -1;
}

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/**
 * Opens a JSON array file for appending, like the original's append_json: a new file starts a new array;
 * an existing array is continued in place (its closing bracket is cut and rewritten at close). A file left
 * without its closing bracket by a crash is cut back to its last complete element: what followed was not
 * durable yet, and the input it came from (a mailbox message) has not been archived, so it is processed
 * again.
 */
function openJsonArray(path: string): { file: AppendFile; writer: JsonArrayWriter } {
  let resume = false;
  const size = existsSync(path) ? statSync(path).size : 0;
  if (size > 0) {
    const fd = openSync(path, 'r+');
    try {
      const head = Buffer.alloc(1);
      readSync(fd, head, 0, 1, 0);
      if (head[0] !== 0x5b) {
        throw new SinkError('INVALID_SINK_CONFIG', `${path} is not a JSON array written by parsedmarc`, {
          sink: 'output-dir',
          target: path,
        });
      }
      // Elements of the top-level array end with a line "  }" (their own lines are indented deeper, and
      // strings hold no raw newline), followed by "," (another element), a newline, or the end.
      const elementEnd = lastMatchEnd(
        fd,
        size,
        Buffer.from('\n  }'),
        (next) => next === -1 || next === 0x2c || isSpace(next),
      );
      if (elementEnd === -1) ftruncateSync(fd, 0);
      else {
        ftruncateSync(fd, elementEnd);
        resume = true;
      }
    } finally {
      closeSync(fd);
    }
  }
  const file = new AppendFile(path);
  return { file, writer: new JsonArrayWriter(file.write, 0, resume) };
}

/** Opens a CSV file for appending; a last line cut short by a crash is removed, a new file gets the header. */
function openCsv(path: string, header: string): AppendFile {
  const size = existsSync(path) ? statSync(path).size : 0;
  if (size > 0) {
    const fd = openSync(path, 'r+');
    try {
      const lineEnd = lastMatchEnd(fd, size, Buffer.from('\n'), () => true);
      if (lineEnd !== size) ftruncateSync(fd, Math.max(0, lineEnd));
    } finally {
      closeSync(fd);
    }
  }
  const isNew = !existsSync(path) || statSync(path).size === 0;
  const file = new AppendFile(path);
  if (isNew) file.write(header);
  return file;
}

const unwritable = (dir: string, error: unknown): SinkError =>
  new SinkError(
    'OUTPUT_UNWRITABLE',
    `cannot write: ${(error as Error).message}`,
    { sink: 'output-dir', target: dir },
    { cause: error },
  );

/** The -o folder (see the top of this file). */
export class OutputDirSink implements ResultSink {
  private readonly files: AppendFile[] = [];
  private readonly jsonFiles: AppendFile[] = [];
  private readonly json: Record<ParsedReport['report_type'], JsonArrayWriter>;
  private readonly csv: Record<ParsedReport['report_type'], AppendFile>;
  private readonly samplesDir: string;
  /** Names already on disk count as taken, so a second run never overwrites an earlier sample. */
  private readonly sampleNamer: SampleNamer;
  /** Every file cut back to the same report after a crash. */
  private readonly checkpoint: OutputCheckpoint;
  /** Forensic samples named but not written yet (see writeSamples). */
  private pendingSamples: { name: string; sample: string }[] = [];
  private pendingSampleChars = 0;

  readonly name = 'output-dir';

  constructor(
    readonly dir: string,
    files: OutputFiles = outputFilesDefaults,
  ) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new SinkError('INVALID_SINK_CONFIG', `${dir} is not a directory`, {
        sink: this.name,
        target: dir,
      });
    }
    try {
      mkdirSync(dir, { recursive: true });
      this.samplesDir = join(dir, 'samples');
      this.sampleNamer = new SampleNamer((candidate) =>
        existsSync(join(this.samplesDir, `${candidate}.eml`)),
      );
      this.checkpoint = new OutputCheckpoint(
        dir,
        this.samplesDir,
        Object.values(files).map((name) => join(dir, name)),
      );
      this.checkpoint.recover();
      const aggregate = openJsonArray(join(dir, files.aggregateJson));
      const forensic = openJsonArray(join(dir, files.forensicJson));
      const smtpTls = openJsonArray(join(dir, files.smtpTlsJson));
      this.json = { aggregate: aggregate.writer, forensic: forensic.writer, smtp_tls: smtpTls.writer };
      this.csv = {
        aggregate: openCsv(join(dir, files.aggregateCsv), aggregateCsvHeader()),
        forensic: openCsv(join(dir, files.forensicCsv), forensicCsvHeader()),
        smtp_tls: openCsv(join(dir, files.smtpTlsCsv), smtpTlsCsvHeader()),
      };
      this.jsonFiles.push(aggregate.file, forensic.file, smtpTls.file);
      this.files.push(...this.jsonFiles, ...Object.values(this.csv));
    } catch (error) {
      throw SinkError.is(error) ? error : unwritable(dir, error);
    }
  }

  async write(item: ResultItem): Promise<void> {
    const { parsed } = item;
    switch (parsed.report_type) {
      case 'aggregate':
        this.json.aggregate.addAggregatePart(parsed.report, isFirstPart(item), isLastPart(item));
        this.csv.aggregate.write(aggregateCsvLines(parsed.report));
        break;
      case 'forensic':
        this.json.forensic.add(parsed.report);
        this.csv.forensic.write(forensicCsvLines(parsed.report));
        await this.writeSample(
          parsed.report.parsed_sample.filename_safe_subject ?? parsed.report.parsed_sample.subject,
          parsed.report.sample,
        );
        break;
      case 'smtp_tls':
        this.json.smtp_tls.add(parsed.report);
        this.csv.smtp_tls.write(smtpTlsCsvLines(parsed.report));
        break;
    }
  }

  private writeSample(subject: string | null, sample: string): Promise<void> {
    this.pendingSamples.push({ name: this.sampleNamer.name(subject), sample });
    this.pendingSampleChars += sample.length;
    const full =
      this.pendingSamples.length >= samplesGathered.count || this.pendingSampleChars >= samplesGathered.chars;
    return full ? this.writeSamples() : Promise.resolve();
  }

  /**
   * The samples gathered since the last call: named in the journal (one fsync) before any of them exists,
   * then written and fsynced together, so that the file system commits them in a few journal transactions
   * (two fsyncs per sample, one after the other, were most of the time of a folder of failure reports).
   */
  private async writeSamples(): Promise<void> {
    if (this.pendingSamples.length === 0) return;
    const samples = this.pendingSamples;
    this.pendingSamples = [];
    this.pendingSampleChars = 0;
    try {
      mkdirSync(this.samplesDir, { recursive: true });
      this.checkpoint.samplesComing(samples.map((s) => s.name));
      await Promise.all(
        samples.map(({ name, sample }) => appendDurably(join(this.samplesDir, name), sample)),
      );
    } catch (error) {
      throw unwritable(this.samplesDir, error);
    }
  }

  async flush(): Promise<SinkRefusal[]> {
    await this.writeSamples();
    try {
      for (const file of this.files) file.sync();
      this.checkpoint.record();
    } catch (error) {
      throw unwritable(this.dir, error);
    }
    return [];
  }

  async close(): Promise<void> {
    await this.writeSamples();
    for (const writer of Object.values(this.json)) writer.close();
    for (const file of this.jsonFiles) file.write('\n');
    for (const file of this.files) {
      file.sync();
      file.close();
    }
    this.checkpoint.record();
  }
}
