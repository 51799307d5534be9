/**
 * The CLI's mailbox mode (-H): reads the IMAP reports folder in batches through @parsedmarc-ts/mailbox,
 * runs each batch through the embedded pipeline like files, flushes every sink (durably)
 * and only then moves the batch to <archive>/Aggregate|Forensic|SMTP-TLS|Invalid, or deletes it with -d.
 * --test changes nothing on the server (the folder is even selected read-only). With --watch it IDLEs on the
 * reports folder afterwards and reconnects with backoff when the server goes away, until SIGINT/SIGTERM.
 *
 * Interrupted runs resume by themselves: whatever was not moved is still in the reports folder and is
 * processed (again) by the next run. The -o files are appended to, so a message whose results were flushed
 * but that was not moved yet (a crash in between) is written twice; never lost.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Writable } from 'node:stream';
import {
  dispositionOf,
  ImapSource,
  MailboxError,
  runIngest,
  type BatchHandler,
  type Disposition,
  type IngestStats,
  type MailMessage,
} from '@parsedmarc-ts/mailbox';
import { bytesInput, type EmbeddedPipeline } from '@parsedmarc-ts/pipeline';
import type { CliConfig } from './config.js';

export type ImapConfig = NonNullable<CliConfig['imap']>;

export interface MailboxRunOptions {
  /** The run's pipeline (shared with the file inputs: one duplicate check, one set of sinks). */
  pipeline: EmbeddedPipeline;
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
  /** Parse errors and refused results in the mailbox, plus the fatal mailbox error if the run stopped on one. */
  failures: number;
  /** 1 when the run stopped on a mailbox (or output) error, else 0. */
  fatal: number;
  moved: Record<string, number>;
  deleted: number;
}

/** Runs each batch through the pipeline and tells where each message goes; commit = a durable flush. */
class PipelineBatchHandler implements BatchHandler {
  constructor(private readonly pipeline: EmbeddedPipeline) {}

  async process(messages: readonly MailMessage[]): Promise<Disposition[]> {
    const kinds = await this.pipeline.run(messages.map((m) => bytesInput(m.source, m.bytes)));
    return kinds.map(dispositionOf);
  }

  async commit(): Promise<void> {
    await this.pipeline.flush();
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
  const { pipeline } = options;
  const handler = new PipelineBatchHandler(pipeline);
  const before = { ...pipeline.stats };
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
      onProgress: ({ done, listed }) =>
        progress.update(done, listed, pipeline.stats.failures - before.failures),
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
  const { stats } = pipeline;
  return {
    messages: ingest?.messages ?? 0,
    reports: stats.reports - before.reports,
    records: stats.records - before.records,
    failures: stats.failures - before.failures + (stats.refused - before.refused) + fatal,
    fatal,
    moved: ingest?.moved ?? { Aggregate: 0, Forensic: 0, 'SMTP-TLS': 0, Invalid: 0 },
    deleted: ingest?.deleted ?? 0,
  };
}
