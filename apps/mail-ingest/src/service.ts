/**
 * mail-ingest: the mailbox side of the Kafka pipeline. Reads the reports folder (IMAP with IDLE, or a
 * Maildir) in batches through @parsedmarc-ts/mailbox and produces each message's bytes onto raw-mail (key:
 * hex SHA-256 of the bytes, acks from all in-sync replicas). Only when every message of a batch was
 * acknowledged is the batch moved to <archive>/Ingested (or deleted). A crash in between re-produces those
 * messages on the next start, under the same key: a duplicate, never a loss.
 *
 * It does not parse (that is report-parse's job, scaled separately), so there are no per-type folders; a
 * message too large for raw-mail gets a dead letter (reference only) and goes to <archive>/Invalid.
 */
import { readFileSync } from 'node:fs';
import {
  ImapSource,
  MaildirSource,
  MailboxError,
  runIngest,
  type ArchiveSubfolder,
  type BatchHandler,
  type IngestStats,
  type MailMessage,
  type MailSource,
} from '@parsedmarc-ts/mailbox';
import {
  createRawMailPublisher,
  PoisonMessageError,
  startKafkaService,
  type KafkaServiceSpec,
} from '@parsedmarc-ts/kafka';
import type { ServiceRuntime } from '@parsedmarc-ts/service-runtime';
import { mailIngestEnv, mailIngestSecrets, type MailIngestConfig } from './config.js';

export const serviceName = 'mail-ingest';

/** What the handler needs from a raw-mail producer: resolves once the broker acknowledged the record. */
export interface RawMailSink {
  publish(payload: Uint8Array, meta: { source: string; receivedAt?: number }): Promise<unknown>;
}

/**
 * Produces a batch (all records in flight together), then says where each message goes: `ingested` when
 * acknowledged, `invalid` when refused as too large (its dead letter was produced). Any other failure
 * throws, so the whole batch stays in the reports folder.
 */
export function rawMailHandler(
  sink: RawMailSink,
  folders: { ingested: ArchiveSubfolder; invalid: ArchiveSubfolder },
  onTooLarge: (message: MailMessage, error: PoisonMessageError<string>) => void = () => undefined,
): BatchHandler {
  return {
    async process(messages) {
      const receivedAt = Date.now();
      const results = await Promise.allSettled(
        messages.map((m) => sink.publish(m.bytes, { source: m.source, receivedAt })),
      );
      return results.map((result, i) => {
        if (result.status === 'fulfilled') return folders.ingested;
        const error: unknown = result.reason;
        if (PoisonMessageError.is(error) && error.code === 'MESSAGE_TOO_LARGE') {
          onTooLarge(messages[i]!, error);
          return folders.invalid;
        }
        throw error;
      });
    },
    // Nothing to wait for: each publish resolved only after the broker's acknowledgement.
    async commit() {},
  };
}

export function connectorOf(config: MailIngestConfig): () => Promise<MailSource> {
  if (config.MAILDIR_PATH !== undefined) {
    const root = config.MAILDIR_PATH;
    const folder = config.MAILBOX_REPORTS_FOLDER === 'INBOX' ? [] : config.MAILBOX_REPORTS_FOLDER.split('/');
    return async () => new MaildirSource({ root, folder });
  }
  const ca = config.IMAP_TLS_CA_FILE ? readFileSync(config.IMAP_TLS_CA_FILE) : undefined;
  return () =>
    ImapSource.connect({
      host: config.IMAP_HOST!,
      port: config.IMAP_PORT,
      secure: config.IMAP_SSL,
      noStartTls: config.IMAP_NO_STARTTLS,
      tls: ca ? { ca } : undefined,
      user: config.IMAP_USER!,
      password: config.IMAP_PASSWORD!,
      folder: config.MAILBOX_REPORTS_FOLDER,
    });
}

export type MailIngestOptions = Pick<
  KafkaServiceSpec<typeof mailIngestEnv>,
  'env' | 'signals' | 'exit' | 'logDestination'
>;

export interface MailIngest {
  runtime: ServiceRuntime;
  /** Resolves when the ingest loop ended (one pass without MAILBOX_WATCH, else on shutdown). */
  done: Promise<IngestStats | null>;
}

export async function startMailIngest(options: MailIngestOptions = {}): Promise<MailIngest> {
  const service = await startKafkaService<typeof mailIngestEnv, MailIngestConfig>(
    {
      name: serviceName,
      configSchema: mailIngestEnv,
      secrets: mailIngestSecrets,
      env: options.env,
      signals: options.signals,
      exit: options.exit,
      logDestination: options.logDestination,
    },
    () => ({ uses: ['rawMail', 'deadLetter'], produces: ['rawMail', 'deadLetter'] }),
  );
  const { config, logger, runtime, topics } = service;

  const produced = runtime.counter(
    'pdm_mail_messages_total',
    'Messages produced, then archived (folder) or deleted (folder="deleted")',
    ['folder'],
  );
  const tooLarge = runtime.counter('pdm_mail_too_large_total', 'Messages over the raw-mail size limit');
  const reconnects = runtime.counter('pdm_mail_reconnects_total', 'Mailbox reconnect attempts');
  const backlog = runtime.gauge('pdm_mail_backlog_messages', 'Messages of the current pass not yet done');
  let connected = false;
  runtime.addReadinessCheck('mailbox connected', () => connected);

  const stop = new AbortController();
  const publisher = await service.retrying('connecting the raw-mail producer', () =>
    createRawMailPublisher({
      brokers: [],
      kafka: service.kafka,
      codec: service.codec,
      createTopics: false,
      logger,
      topic: topics.rawMail,
      deadLetterTopic: topics.deadLetter,
      maxPayloadBytes: config.MAILBOX_MAX_MESSAGE_BYTES,
    }),
  );
  runtime.onStop('raw-mail producer', () => publisher.close());

  const folders = { ingested: config.MAILBOX_INGESTED_FOLDER, invalid: config.MAILBOX_INVALID_FOLDER };
  const handler = rawMailHandler(publisher, folders, (message, error) => {
    tooLarge.inc();
    logger.warn({ source: message.source, size: message.bytes.length, err: error }, 'too large for raw-mail');
  });
  const connect = connectorOf(config);
  const done = runIngest(
    async () => {
      const source = await connect();
      connected = true;
      logger.info({ mailbox: source.name }, 'mailbox connected');
      return source;
    },
    handler,
    {
      archiveFolder: config.MAILBOX_ARCHIVE_FOLDER.split('/'),
      subfolders: [folders.ingested, folders.invalid],
      delete: config.MAILBOX_DELETE,
      test: false,
      watch: config.MAILBOX_WATCH,
      signal: stop.signal,
      limits: { maxMessages: config.MAILBOX_BATCH_SIZE, maxBytes: config.MAILBOX_BATCH_BYTES },
      idleTimeoutMs: config.MAILBOX_IDLE_TIMEOUT_MS,
      backoff: { baseMs: config.MAILBOX_RECONNECT_INITIAL_MS, maxMs: config.MAILBOX_RECONNECT_MAX_MS },
      onProgress: ({ listed, done: finished }) => backlog.set(listed - finished),
      onBatch: ({ moved, deleted }) => {
        for (const [folder, count] of Object.entries(moved)) produced.inc({ folder }, count);
        if (deleted > 0) produced.inc({ folder: 'deleted' }, deleted);
      },
      onReconnect: ({ attempt, delayMs, error }) => {
        connected = false;
        reconnects.inc();
        logger.warn({ err: error, attempt, delayMs }, 'mailbox connection lost: reconnecting');
      },
    },
  ).then(
    (stats) => {
      logger.info({ stats }, 'mailbox ingest ended');
      return { stats, error: null };
    },
    (error: unknown) => ({ stats: null, error }),
  );
  // Stopping: no new batch; the current one is produced and archived first. Registered after the producer,
  // so it runs before the producer is closed.
  runtime.onStop('mailbox', async () => {
    stop.abort();
    const { error } = await done;
    if (error) throw error;
  });
  void done.then(({ error }) => {
    if (error) {
      const code = MailboxError.is(error) ? error.code : 'UNEXPECTED';
      service.fail(`mailbox ingest stopped (${code}): ${(error as Error).message}`);
      void runtime.shutdown('fatal');
    } else if (!config.MAILBOX_WATCH) void runtime.shutdown('done');
  });
  runtime.setReady(true);
  return { runtime, done: done.then(({ stats }) => stats) };
}
