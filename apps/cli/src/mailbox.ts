/**
 * The CLI's mailbox mode (-H): reads the IMAP reports folder in batches through @parsedmarc-ts/mailbox,
 * parses and enriches each message like a file, writes the results to the sinks, flushes every sink (fsync)
 * and only then moves the batch to <archive>/Aggregate|Forensic|SMTP-TLS|Invalid, or deletes it with -d.
 * --test changes nothing on the server (the folder is even selected read-only). With --watch it IDLEs on the
 * reports folder afterwards and reconnects with backoff when the server goes away, until SIGINT/SIGTERM.
 *
 * Interrupted runs resume by themselves: whatever was not moved is still in the reports folder and is
 * processed (again) by the next run. The -o files are appended to, so a message whose results were flushed
 * but that was not moved yet (a crash in between) is written twice; never lost.
 *
 * Also here: a Maildir given as a file path (a folder with cur/ and new/) is read as its messages, oldest
 * delivery first, and left as it is.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Writable } from 'node:stream';
import {
  dispositionOf,
  ImapSource,
  isMaildir,
  listMaildirMessages,
  MailboxError,
  runIngest,
  type BatchHandler,
  type Disposition,
  type IngestStats,
  type MailMessage,
  type ReportKind,
} from '@parsedmarc-ts/mailbox';
import { parseReports, type ParseError, type ParseLimits, type ParseOutcome } from '@parsedmarc-ts/parser';
import type { CliConfig } from './config.js';
import type { EnrichFn } from './pipeline.js';
import type { ResultSink } from './sinks.js';

export type ImapConfig = NonNullable<CliConfig['imap']>;

export interface MailboxRunOptions {
  sinks: ResultSink[];
  enrich?: EnrichFn;
  limits?: Partial<ParseLimits>;
  convertOutlookMsg?: (msg: Uint8Array) => Promise<Uint8Array>;
  /** Reports enriched ahead of the writer (at most 20,000 records in flight whatever this is). */
  window?: number;
  onError(source: string, error: ParseError): void;
  /** One-line notices (reconnects, the summary, a fatal mailbox error). */
  log(line: string): void;
  /** A progress line on this stream when it is a terminal and `enabled`. */
  progress?: { stream: Writable & { isTTY?: boolean }; enabled: boolean };
  /** Extra TLS options for the IMAP connection (e.g. a private CA); NODE_EXTRA_CA_CERTS works too. */
  tls?: ConnectionOptions;
  /** Messages per batch (default 100). */
  batchSize?: number;
  /** Stops after the current batch. Default with --watch: SIGINT and SIGTERM. */
  signal?: AbortSignal;
  /** Backoff between reconnects (tests shorten it). */
  backoff?: { baseMs: number; maxMs: number };
}

export interface MailboxRunStats {
  messages: number;
  reports: number;
  records: number;
  /** Parse errors plus, when the run stopped on a mailbox error, one for that. */
  failures: number;
  moved: Record<string, number>;
  deleted: number;
}

type MessageOutcome = ParseOutcome & { messageIndex: number };

/** What an outcome costs while it waits in the enrichment window: its records (a huge report's part is big). */
const weightOf = (outcome: ParseOutcome): number =>
  outcome.ok && outcome.parsed.report_type === 'aggregate'
    ? Math.max(1, outcome.parsed.report.records.length)
    : 1;

/**
 * Enriches outcomes with a bounded window in flight (items and records), yielding them in input order, so
 * DNS lookups of consecutive reports overlap while memory stays flat. Errors are rethrown in order.
 */
async function* enrichedInOrder(
  outcomes: AsyncIterable<MessageOutcome>,
  enrich: (outcome: MessageOutcome) => Promise<MessageOutcome>,
  maxItems: number,
  maxRecords: number,
): AsyncGenerator<MessageOutcome> {
  const pending: { promise: Promise<MessageOutcome>; weight: number }[] = [];
  let weight = 0;
  for await (const outcome of outcomes) {
    const promise = enrich(outcome);
    // No unhandled rejection while it waits its turn: it is awaited (and rethrown) below.
    promise.catch(() => undefined);
    pending.push({ promise, weight: weightOf(outcome) });
    weight += weightOf(outcome);
    while (pending.length > 0 && (pending.length >= maxItems || weight > maxRecords)) {
      const next = pending.shift()!;
      weight -= next.weight;
      yield await next.promise;
    }
  }
  while (pending.length > 0) yield await pending.shift()!.promise;
}

/** Parses, enriches and writes one batch; tells where each message goes. */
class SinkBatchHandler implements BatchHandler {
  reports = 0;
  records = 0;
  failures = 0;

  constructor(
    private readonly options: MailboxRunOptions,
    private readonly clearProgress: () => void,
  ) {}

  private async *outcomes(messages: readonly MailMessage[]): AsyncGenerator<MessageOutcome> {
    for (const [messageIndex, message] of messages.entries()) {
      for await (const outcome of parseReports(message.bytes, {
        source: message.source,
        limits: this.options.limits,
        convertOutlookMsg: this.options.convertOutlookMsg,
      })) {
        yield { ...outcome, messageIndex };
      }
    }
  }

  async process(messages: readonly MailMessage[]): Promise<Disposition[]> {
    const kinds: ReportKind[][] = messages.map(() => []);
    const enrich = this.options.enrich;
    const enriched = enrichedInOrder(
      this.outcomes(messages),
      async (outcome) =>
        outcome.ok && enrich ? { ...outcome, parsed: await enrich(outcome.parsed) } : outcome,
      this.options.window ?? 16,
      20_000,
    );
    for await (const outcome of enriched) {
      if (!outcome.ok) {
        this.failures += 1;
        this.clearProgress();
        this.options.onError(outcome.source, outcome.error);
        continue;
      }
      const { parsed, part } = outcome;
      if (!part || part.index === 0) kinds[outcome.messageIndex]!.push(parsed.report_type);
      if (!part || part.isLast) this.reports += 1;
      if (parsed.report_type === 'aggregate') this.records += parsed.report.records.length;
      for (const sink of this.options.sinks) await sink.write({ source: outcome.source, parsed, part });
    }
    return kinds.map(dispositionOf);
  }

  async commit(): Promise<void> {
    for (const sink of this.options.sinks) await sink.flush();
  }
}

/** A throttled "[####----] 120/1000 messages" line on a terminal; nothing elsewhere. */
function mailProgress(options: MailboxRunOptions['progress']) {
  const stream = options?.stream;
  if (!options?.enabled || !stream?.isTTY) return { update() {}, clear() {}, done() {} };
  let shown = false;
  let last = 0;
  return {
    update(done: number, listed: number, failures: number): void {
      const now = Date.now();
      if (now - last < 100 && done < listed) return;
      last = now;
      const width = 30;
      const filled = listed === 0 ? width : Math.round((done / listed) * width);
      stream.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${listed} messages, ${failures} failed`,
      );
      shown = true;
    },
    clear(): void {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
    done(): void {
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}

/** Runs the mailbox mode to the end (or, with --watch, until the signal). Never throws for mailbox errors:
 * they are logged and counted as a failure. */
export async function runMailbox(imap: ImapConfig, options: MailboxRunOptions): Promise<MailboxRunStats> {
  const progress = mailProgress(options.progress);
  const handler = new SinkBatchHandler(options, () => progress.clear());
  let signal = options.signal;
  let removeSignalHandlers = (): void => {};
  if (!signal && imap.watch) {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    removeSignalHandlers = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    signal = controller.signal;
  }
  const connect = (): Promise<ImapSource> =>
    ImapSource.connect({
      host: imap.host,
      port: imap.port ?? undefined,
      secure: imap.ssl,
      user: imap.user,
      password: imap.password,
      tls: options.tls,
      folder: imap.reportsFolder,
      readOnly: imap.test,
    });
  let ingest: IngestStats | null = null;
  let fatal = 0;
  try {
    ingest = await runIngest(connect, handler, {
      archiveFolder: [imap.archiveFolder],
      delete: imap.delete,
      test: imap.test,
      watch: imap.watch,
      signal,
      limits: options.batchSize ? { maxMessages: options.batchSize } : undefined,
      backoff: options.backoff,
      onProgress: ({ done, listed }) => progress.update(done, listed, handler.failures),
      onReconnect: ({ attempt, delayMs, error }) => {
        progress.clear();
        options.log(
          `${error.message}; reconnecting in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`,
        );
      },
    });
  } catch (error) {
    if (!MailboxError.is(error)) throw error;
    progress.clear();
    const where = error.context.messages?.length
      ? ` (${error.context.messages.length} messages left in place)`
      : '';
    options.log(`${error.context.mailbox}: ${error.code}: ${error.message}${where}`);
    fatal = 1;
  } finally {
    progress.done();
    removeSignalHandlers();
  }
  return {
    messages: ingest?.messages ?? 0,
    reports: handler.reports,
    records: handler.records,
    failures: handler.failures + fatal,
    moved: ingest?.moved ?? { Aggregate: 0, Forensic: 0, 'SMTP-TLS': 0, Invalid: 0 },
    deleted: ingest?.deleted ?? 0,
  };
}

/**
 * Replaces each path that is a Maildir (has cur/ and new/) by its message files, oldest delivery first;
 * other paths are kept as they are (folders are expanded later, recursively and sorted).
 */
export async function expandMaildirInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (await isMaildir(path)) out.push(...(await listMaildirMessages(path)));
    else out.push(path);
  }
  return out;
}
