/**
 * The sink contract: where results go, whatever runs the pipeline (the embedded CLI over files, folders
 * and mailboxes, or a sink service consuming the report topics).
 */
import type { ParsedReport, ReportPart } from '@parsedmarc-ts/parser';

/** One result on its way to the sinks: a whole report, or one part of a huge aggregate report. */
export interface ResultItem {
  /** Where it came from, for messages: a file path, "file.zip!member.xml", an IMAP uid, "topic[p]@offset". */
  source: string;
  parsed: ParsedReport;
  /**
   * Set when a huge aggregate report arrives in parts. Parts of one report arrive in order (index 0, 1, ...,
   * the last with isLast), one after another, never interleaved with another report's parts; each part
   * carries the report's metadata and policy and a slice of its records, so a sink that writes per record
   * needs no state across parts, and one that writes per report (a JSON array) streams them.
   */
  part?: ReportPart;
}

/** A result a sink refused for good (a mapping conflict, a document too large): retrying cannot help. */
export interface SinkRefusal {
  /** The sink's name ("elasticsearch", "output-dir", ...). */
  sink: string;
  /** The refused item's source (see ResultItem.source). */
  source: string;
  /** A stable code for dead letters and metrics, e.g. DOCUMENT_REFUSED, DOCUMENT_TOO_LARGE. */
  code: string;
  /** The server's reason, as it gave it (never holding a secret). */
  reason: string;
}

/**
 * A place results go. The pipeline calls write() for each item in input order, flush() at each durability
 * point, and close() once at the end.
 *
 * - write(item): hands one item to the sink. A sink may buffer (a bulk batch, a file's write buffer);
 *   it may also send while writing when its buffer is full. It resolves once the sink has taken the
 *   item; it does not mean the item is durable.
 * - flush(): makes every item written before it durable, and resolves only then. Durable means it
 *   survives a crash of this process and of the target after the answer: fsync'ed files, a broker's
 *   acknowledgement from all in-sync replicas, a search server's bulk answer (written to its translog,
 *   fsync'ed per request by default). A mailbox moves or deletes its messages, and a sink service commits
 *   its Kafka offsets, only after flush() has returned, so a crash before that means the input is processed
 *   again, never lost. Items the sink refused for good are returned, not thrown: the caller reports them
 *   (CLI) or dead-letters them (services), and the rest counts as written.
 * - Transient failures (connection refused, timeouts, 429, 5xx) are retried inside write/flush with
 *   backoff, within the sink's retry budget; when the budget is spent they throw a SinkError with
 *   `retriable: true`, and the caller may write the same items again later: writes are idempotent
 *   (deterministic document ids, keyed messages), so a retry or a re-run never duplicates.
 * - A fault that no retry fixes (wrong credentials, a missing permission) throws a SinkError with
 *   `retriable: false`.
 * - close(): finishes what the format needs (closing brackets), flushes, and releases resources.
 * - discard(), optional: releases the sink without finishing its output, when the run ends before it
 *   began (another sink could not be opened): stdout then prints no empty document.
 */
export interface ResultSink {
  /** A short name for messages and metrics. */
  readonly name: string;
  write(item: ResultItem): Promise<void>;
  flush(): Promise<SinkRefusal[]>;
  close(): Promise<void>;
  discard?(): Promise<void>;
}

export const isFirstPart = (item: ResultItem): boolean => !item.part || item.part.index === 0;
export const isLastPart = (item: ResultItem): boolean => !item.part || item.part.isLast;

/**
 * How a sink's close() ends: flush what is left, say each refusal (close() has no caller to hand them to;
 * the pipelines flushed just before, so there are rarely any, but none is dropped silently), then release
 * the sink's resources whatever happened.
 */
export async function flushAndRelease(
  sink: Pick<ResultSink, 'flush'>,
  warn: (line: string) => void,
  release: () => Promise<void>,
): Promise<void> {
  try {
    for (const refusal of await sink.flush()) {
      warn(`${refusal.source}: ${refusal.sink} refused it: ${refusal.reason}`);
    }
  } finally {
    await release();
  }
}
