/**
 * The embedded pipeline: read → parse → enrich → sinks, in one process, joined by bounded async
 * iteration. Results reach the sinks in input order; enrichment of the next few reports overlaps with the
 * writing of earlier ones (a bounded window), so DNS latency does not serialize the run.
 */
import { createReadStream } from 'node:fs';
import {
  ParseError,
  parseReports,
  type ParseLimits,
  type ParseOutcome,
  type ParsedReport,
} from '@parsedmarc-ts/parser';
import type { ResultItem, ResultSink } from './sinks.js';

export type EnrichFn = (parsed: ParsedReport) => Promise<ParsedReport>;

export interface PipelineOptions {
  sinks: ResultSink[];
  enrich?: EnrichFn;
  limits?: Partial<ParseLimits>;
  convertOutlookMsg?: (msg: Uint8Array) => Promise<Uint8Array>;
  /** Reports enriched ahead of the writer. */
  window?: number;
  onError(source: string, error: ParseError): void;
  onProgress?(event: { filesDone: number; reports: number; failures: number }): void;
}

export interface PipelineStats {
  files: number;
  reports: number;
  records: number;
  failures: number;
}

/** Maps items through an async function with at most `window` in flight, yielding results in input order. */
export async function* orderedWindow<T, U>(
  source: AsyncIterable<T>,
  fn: (item: T) => Promise<U>,
  window: number,
): AsyncGenerator<U> {
  const pending: Promise<U>[] = [];
  for await (const item of source) {
    const promise = fn(item);
    // Avoid an unhandled rejection while the promise waits its turn; it is awaited (and rethrown) below.
    promise.catch(() => undefined);
    pending.push(promise);
    if (pending.length >= window) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}

type FileOutcome = ParseOutcome & { fileIndex: number };

async function* outcomesOfFiles(
  files: readonly string[],
  options: PipelineOptions,
): AsyncGenerator<FileOutcome> {
  for (const [fileIndex, path] of files.entries()) {
    const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
    try {
      for await (const outcome of parseReports(stream, {
        source: path,
        limits: options.limits,
        convertOutlookMsg: options.convertOutlookMsg,
      })) {
        yield { ...outcome, fileIndex };
      }
    } catch (error) {
      // parseReports reports bad input as outcomes; what arrives here is an I/O failure (unreadable file).
      const parseError = ParseError.is(error)
        ? error
        : new ParseError(
            'UNRECOGNIZED_FORMAT',
            `cannot read: ${(error as Error).message}`,
            { source: path },
            { cause: error },
          );
      yield { ok: false, source: path, error: parseError.withSource(path), fileIndex };
    } finally {
      stream.destroy();
    }
  }
}

export async function runFiles(files: readonly string[], options: PipelineOptions): Promise<PipelineStats> {
  const stats: PipelineStats = { files: files.length, reports: 0, records: 0, failures: 0 };
  let filesDone = 0;
  const enrich = options.enrich;
  const enriched = orderedWindow(
    outcomesOfFiles(files, options),
    async (outcome): Promise<FileOutcome> =>
      outcome.ok && enrich ? { ...outcome, parsed: await enrich(outcome.parsed) } : outcome,
    options.window ?? 16,
  );
  for await (const outcome of enriched) {
    while (filesDone < outcome.fileIndex) {
      filesDone += 1;
      options.onProgress?.({ filesDone, reports: stats.reports, failures: stats.failures });
    }
    if (!outcome.ok) {
      stats.failures += 1;
      options.onError(outcome.source, outcome.error);
      continue;
    }
    const item: ResultItem = { source: outcome.source, parsed: outcome.parsed, part: outcome.part };
    if (item.parsed.report_type === 'aggregate') stats.records += item.parsed.report.records.length;
    if (!item.part || item.part.isLast) stats.reports += 1;
    for (const sink of options.sinks) await sink.write(item);
  }
  options.onProgress?.({ filesDone: files.length, reports: stats.reports, failures: stats.failures });
  return stats;
}
