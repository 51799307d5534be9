/**
 * The ingest protocol, the same for IMAP and Maildir and for every caller (CLI sinks, Kafka producer):
 * list the reports folder, then per batch: fetch the bytes, let the handler process them, wait until the
 * handler made the results durable (commit), and only then move or delete the batch. Memory stays bounded
 * by the batch limits whatever the mailbox size; a crash at any point leaves every message that is not yet
 * durably processed in the reports folder, where the next run finds it again (a reprocess, never a loss).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@parsedmarc-ts/service-runtime';
import { DEFAULT_BATCH_LIMITS, groupByDisposition, planBatches, type BatchLimits } from './batches.js';
import { MailboxError } from './errors.js';
import {
  DISPOSITIONS,
  type ArchiveSubfolder,
  type BatchHandler,
  type FolderPath,
  type MailSource,
  type WatchableSource,
} from './types.js';

export interface IngestOptions {
  /** Processed messages go to <archiveFolder>/<subfolder> (unless `delete` or `test`). */
  archiveFolder: FolderPath;
  /** The subfolders created up front (each only when missing). Default: the four Dispositions. */
  subfolders?: readonly ArchiveSubfolder[];
  /** Delete processed messages instead of archiving them. */
  delete: boolean;
  /** Change nothing in the mailbox: no folder created, nothing moved or deleted (nor marked seen). */
  test: boolean;
  limits?: Partial<BatchLimits>;
  /** Stops after the current batch (the batch is still committed and moved). */
  signal?: AbortSignal;
  onProgress?(progress: IngestProgress): void;
  /** After a batch was committed and archived (or deleted, or left with `test`). */
  onBatch?(batch: BatchDone): void;
}

export interface BatchDone {
  messages: number;
  /** Messages moved by this batch, by archive subfolder. */
  moved: Record<ArchiveSubfolder, number>;
  deleted: number;
}

export interface IngestProgress {
  /** Messages found in the reports folder by this pass. */
  listed: number;
  /** Messages of this pass processed (and moved, deleted or, with `test`, left) so far. */
  done: number;
}

export interface IngestStats {
  messages: number;
  batches: number;
  /** Messages moved, by archive subfolder. */
  moved: Record<ArchiveSubfolder, number>;
  deleted: number;
  /** Reconnect attempts after a CONNECTION error. */
  reconnects: number;
}

export const emptyStats = (subfolders: readonly ArchiveSubfolder[] = DISPOSITIONS): IngestStats => ({
  messages: 0,
  batches: 0,
  moved: Object.fromEntries(subfolders.map((name) => [name, 0])),
  deleted: 0,
  reconnects: 0,
});

/**
 * One pass over the reports folder as it is now. `seen` (used with `test`, where nothing leaves the folder)
 * holds the ids processed by earlier passes so a watch does not reprocess them.
 */
export async function ingestOnce(
  source: MailSource,
  handler: BatchHandler,
  options: IngestOptions,
  stats: IngestStats = emptyStats(options.subfolders),
  seen?: Set<string>,
): Promise<IngestStats> {
  const listed = await source.list();
  const refs = seen ? listed.filter((ref) => !seen.has(ref.id)) : listed;
  if (refs.length === 0) return stats;
  const archiving = !options.test && !options.delete;
  if (archiving) {
    // All four up front, like the original: users find the folder layout before the first report of a kind.
    await source.ensureFolder(options.archiveFolder);
    for (const subfolder of options.subfolders ?? DISPOSITIONS)
      await source.ensureFolder([...options.archiveFolder, subfolder]);
  }
  const limits = { ...DEFAULT_BATCH_LIMITS, ...options.limits };
  let done = 0;
  options.onProgress?.({ listed: refs.length, done });
  for (const batch of planBatches(refs, limits)) {
    if (options.signal?.aborted) break;
    const messages = await source.fetch(batch);
    let dispositions: ArchiveSubfolder[];
    try {
      dispositions = await handler.process(messages);
      await handler.commit();
    } catch (error) {
      if (MailboxError.is(error)) throw error;
      throw new MailboxError(
        'OUTPUT',
        `processing failed, messages left in place: ${(error as Error).message}`,
        { mailbox: source.name, messages: messages.map((m) => m.source) },
        { cause: error },
      );
    }
    if (dispositions.length !== messages.length)
      throw new MailboxError(
        'OUTPUT',
        `handler returned ${dispositions.length} dispositions for ${messages.length} messages`,
        {
          mailbox: source.name,
        },
      );
    const batchDone: BatchDone = { messages: messages.length, moved: {}, deleted: 0 };
    if (options.test) {
      for (const message of messages) seen?.add(message.id);
    } else if (options.delete) {
      await source.delete(messages);
      batchDone.deleted = messages.length;
      stats.deleted += messages.length;
    } else {
      for (const [subfolder, group] of groupByDisposition(messages, dispositions)) {
        await source.move(group, [...options.archiveFolder, subfolder]);
        batchDone.moved[subfolder] = group.length;
        stats.moved[subfolder] = (stats.moved[subfolder] ?? 0) + group.length;
      }
    }
    options.onBatch?.(batchDone);
    stats.messages += messages.length;
    stats.batches += 1;
    done += batch.length;
    options.onProgress?.({ listed: refs.length, done });
  }
  return stats;
}

export interface RunIngestOptions extends IngestOptions {
  /** Keep going: wait for new mail (IDLE) after each pass, until `signal` aborts. */
  watch: boolean;
  /**
   * Consecutive failed connection attempts (CONNECTION errors) tolerated before giving up. Default: 5
   * without `watch`, unlimited with it.
   */
  maxReconnects?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Longest IDLE before the folder is listed again anyway (servers drop IDLE after ~30 min). */
  idleTimeoutMs?: number;
  onReconnect?(info: { attempt: number; delayMs: number; error: MailboxError }): void;
}

/**
 * Runs passes over a mailbox, reconnecting with backoff when the connection is lost (server restart, network):
 * once without `watch`, forever with it. AUTH, COMMAND and OUTPUT errors are not retried.
 */
export async function runIngest(
  connect: () => Promise<MailSource | WatchableSource>,
  handler: BatchHandler,
  options: RunIngestOptions,
): Promise<IngestStats> {
  const stats = emptyStats(options.subfolders);
  const seen = options.test ? new Set<string>() : undefined;
  const maxReconnects = options.maxReconnects ?? (options.watch ? Number.POSITIVE_INFINITY : 5);
  const backoff = options.backoff ?? { baseMs: 500, maxMs: 60_000 };
  let failures = 0;
  for (;;) {
    let source: MailSource | WatchableSource | undefined;
    try {
      source = await connect();
      for (;;) {
        await ingestOnce(source, handler, options, stats, seen);
        failures = 0;
        if (!options.watch || options.signal?.aborted) return stats;
        if (!('waitForChange' in source))
          throw new MailboxError('COMMAND', 'this mailbox cannot be watched', { mailbox: source.name });
        await source.waitForChange({
          timeoutMs: options.idleTimeoutMs ?? 5 * 60_000,
          signal: options.signal,
        });
        if (options.signal?.aborted) return stats;
      }
    } catch (error) {
      if (!MailboxError.is(error, 'CONNECTION') || options.signal?.aborted) throw error;
      failures += 1;
      if (failures > maxReconnects) throw error;
      const delayMs = backoffDelay(failures - 1, { initialMs: backoff.baseMs, maxMs: backoff.maxMs });
      options.onReconnect?.({ attempt: failures, delayMs, error });
      try {
        await sleep(delayMs, undefined, { signal: options.signal });
      } catch {
        return stats; // aborted while waiting to reconnect: a clean stop
      }
      stats.reconnects += 1;
    } finally {
      await source?.close();
    }
  }
}
