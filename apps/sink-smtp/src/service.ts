/**
 * sink-smtp: the report topics into one emailed digest per window (daily by default), the mail the CLI's
 * -O sends (the zip of the window's results, the message, the HTML digest).
 *
 * Exactly one mail per window across restarts, with the state in Kafka:
 * - a message belongs to the window of its Kafka timestamp, so consuming it again puts it in the same one;
 * - offsets are committed only up to the first message of the oldest window not yet mailed: a restart
 *   consumes the unmailed windows again from the report topics and rebuilds them;
 * - once a window's mail is accepted (250), the window is recorded in a compacted state topic (acks from
 *   all replicas) before the offsets move past it; a restart skips windows recorded there.
 * Only a crash between the server's 250 and the state record can send a window twice; a crash before the
 * 250 sends it once, later. One instance (it must see every partition to close a window).
 */
import type { Consumer, Producer } from 'kafkajs';
import {
  deadLetterMessage,
  ensureTopics,
  inputMessageOf,
  isRetriable,
  startKafkaService,
  type KafkaServiceSpec,
  type KafkaSinkServiceConfig,
} from '@parsedmarc-ts/kafka';
import { backoffDelay } from '@parsedmarc-ts/service-runtime';
import { checkSmtpServer, EmailResults, sendResultsMail } from '@parsedmarc-ts/sinks/email';
import { reportTopicKinds } from '@parsedmarc-ts/avro';
import { decodeReportMessage, messageSource } from '@parsedmarc-ts/sinks/service';
import {
  emailConfigOf,
  reportTopicsOf,
  serviceName,
  sinkSmtpEnv,
  sinkSmtpSecrets,
  type SinkSmtpConfig,
} from './config.js';
import { isWindowClosed, windowOf, type DigestWindow, type PartitionProgress } from './windows.js';

interface OpenWindow {
  window: DigestWindow;
  results: EmailResults;
  /** Per "topic:partition", the first offset of this window's messages. */
  firstOffsets: Map<string, bigint>;
}

interface Progress extends PartitionProgress {
  topic: string;
  partition: number;
  /** The next offset to consume (committed, or past the last consumed). */
  position: bigint;
}

/** What the state topic holds per mailed window. */
export interface SentWindow {
  window: string;
  sentAt: string;
  reports: number;
  subject: string | null;
}

async function readSentWindows(
  consumerOf: (groupId: string) => Consumer,
  highOf: () => Promise<{ partition: number; high: string }[]>,
  topic: string,
  readerGroup: string,
): Promise<Map<string, SentWindow>> {
  const sent = new Map<string, SentWindow>();
  const ends = (await highOf()).filter((p) => BigInt(p.high) > 0n);
  if (ends.length === 0) return sent;
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const reader = consumerOf(readerGroup);
  await reader.connect();
  try {
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      reader
        .run({
          eachMessage: async ({ partition, message }) => {
            if (message.key && message.value) {
              const value = JSON.parse(message.value.toString('utf8')) as SentWindow;
              sent.set(message.key.toString('utf8'), value);
            }
            if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await reader.disconnect();
  }
  return sent;
}

export async function startSinkSmtp(overrides: Partial<KafkaServiceSpec<typeof sinkSmtpEnv>> = {}) {
  const spec: KafkaServiceSpec<typeof sinkSmtpEnv> = {
    name: serviceName,
    configSchema: sinkSmtpEnv,
    secrets: sinkSmtpSecrets,
    ...overrides,
  };
  type C = SinkSmtpConfig & KafkaSinkServiceConfig;
  const service = await startKafkaService<typeof sinkSmtpEnv, C>(spec, (config) => ({
    uses: [...reportTopicsOf(config), 'deadLetter'],
    produces: ['deadLetter'],
  }));
  const { config, logger, runtime, kafka, codec, topics, groupId } = service;
  const email = emailConfigOf(config);
  const context = {
    warn: (line: string) => logger.warn({ sinkNotice: line }, line),
    clientId: `parsedmarc-${serviceName}`,
  };
  const stateTopic = config.DIGEST_STATE_TOPIC ?? `${config.TOPIC_PREFIX}dmarc_digest_state`;
  const inputs = reportTopicsOf(config).map((t) => ({ topic: topics[t], kind: reportTopicKinds[t] }));
  const kindOf = new Map(inputs.map((i) => [i.topic, i.kind]));
  const windowHours = config.DIGEST_WINDOW_HOURS;
  const graceMs = config.DIGEST_GRACE_SECONDS * 1000;

  const mailsSent = runtime.counter('pdm_digest_mails_total', 'Digest mails accepted by the SMTP server', []);
  const windowsSkipped = runtime.counter(
    'pdm_digest_windows_skipped_total',
    'Windows found already mailed in the state topic (consumed again after a restart)',
    [],
  );
  let delivering = true;
  runtime.addReadinessCheck('mail delivering', () => delivering);

  const admin = kafka.admin();
  await service.retrying('connecting the admin client', () => admin.connect());
  runtime.onStop('admin', () => admin.disconnect());
  if (config.CREATE_TOPICS) {
    await service.retrying('creating the state topic', () =>
      ensureTopics(admin, [stateTopic], {
        partitions: 1,
        replicationFactor: config.TOPIC_REPLICATION_FACTOR,
        compacted: true,
      }),
    );
  }
  await service.retrying(
    'checking the SMTP server',
    () => checkSmtpServer(email, context, Math.min(10, email.retryBudgetSeconds)),
    isRetriable,
  );
  // A throwaway group to read the state topic from its beginning, deleted once read.
  const readerGroup = `${stateTopic}-reader-${process.pid}-${Date.now()}`;
  const sent = await service.retrying('reading the state topic', () =>
    readSentWindows(
      (id) => kafka.consumer({ groupId: id }),
      async () =>
        (await admin.fetchTopicOffsets(stateTopic)).map((p) => ({ partition: p.partition, high: p.high })),
      stateTopic,
      readerGroup,
    ),
  );
  await admin.deleteGroups([readerGroup]).catch(() => undefined);
  logger.info({ stateTopic, windowsMailed: sent.size }, 'state read');

  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await service.retrying('connecting the producer', () => producer.connect());
  runtime.onStop('producer', () => producer.disconnect());

  const open = new Map<string, OpenWindow>();
  /** Reports in parts whose last part has not come yet: the window their first part went to. */
  const partWindows = new Map<string, DigestWindow>();
  /** Messages consumed since the last commit (commits also move past windows already mailed). */
  let consumed = false;
  const progress = new Map<string, Progress>();
  const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    readUncommitted: false,
  });
  await service.retrying('connecting the consumer', () => consumer.connect());
  await consumer.subscribe({ topics: inputs.map((i) => i.topic), fromBeginning: true });

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const key = partitionKey(batch.topic, batch.partition);
      const p: Progress = progress.get(key) ?? {
        topic: batch.topic,
        partition: batch.partition,
        position: 0n,
        maxTimestampMs: 0,
        caughtUp: false,
      };
      progress.set(key, p);
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) return;
        const timestamp = Number(message.timestamp);
        // The parts of a huge report go to the window of its first part (they share the report's key).
        const reportKey = message.key ? `${key} ${message.key.toString('utf8')}` : null;
        const window = (reportKey && partWindows.get(reportKey)) || windowOf(timestamp, windowHours);
        if (sent.has(window.id)) {
          if (!open.has(window.id)) windowsSkipped.inc();
        } else {
          let w = open.get(window.id);
          if (!w) {
            w = { window, results: await EmailResults.create(), firstOffsets: new Map() };
            open.set(window.id, w);
          }
          if (!w.firstOffsets.has(key)) w.firstOffsets.set(key, BigInt(message.offset));
          const input = inputMessageOf(batch.topic, batch.partition, message);
          try {
            const decoded = await decodeReportMessage(codec, kindOf.get(batch.topic)!, message.value);
            if (reportKey && decoded.part) {
              if (decoded.part.isLast) partWindows.delete(reportKey);
              else partWindows.set(reportKey, window);
            }
            await w.results.write({ source: messageSource(input), ...decoded });
          } catch (error) {
            if (isRetriable(error)) throw error;
            // Not a report (or not decodable): dead-lettered with its reason, the rest flows.
            const letter = await deadLetterMessage(codec, topics.deadLetter, {
              stage: serviceName,
              error,
              input,
              source: messageSource(input),
            });
            await producer.send({ topic: letter.topic, acks: -1, messages: [letter] });
            logger.warn({ err: error, source: messageSource(input) }, 'dead-lettered');
          }
        }
        p.position = BigInt(message.offset) + 1n;
        consumed = true;
        p.maxTimestampMs = Math.max(p.maxTimestampMs, timestamp);
        resolveOffset(message.offset);
        await heartbeat();
      }
      p.caughtUp = p.position >= BigInt(batch.highWatermark);
    },
  });

  /** Partitions never fetched in this run: caught up when their committed offset is their end. */
  async function refreshProgress(): Promise<void> {
    for (const { topic } of inputs) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const end of ends) {
        const key = partitionKey(topic, end.partition);
        const p = progress.get(key);
        if (p) {
          p.caughtUp = p.position >= BigInt(end.high);
          continue;
        }
        const at = committed?.partitions.find((c) => c.partition === end.partition)?.offset ?? '-1';
        const position = BigInt(at) < 0n ? BigInt(end.low) : BigInt(at);
        progress.set(key, {
          topic,
          partition: end.partition,
          position,
          maxTimestampMs: 0,
          caughtUp: position >= BigInt(end.high),
        });
      }
    }
  }

  /** Commits, per partition, up to the first message of the oldest window not yet mailed. */
  async function commitPastMailed(): Promise<void> {
    const offsets = [];
    for (const [key, p] of progress) {
      let offset = p.position;
      for (const w of open.values()) {
        const first = w.firstOffsets.get(key);
        if (first !== undefined && first < offset) offset = first;
      }
      offsets.push({ topic: p.topic, partition: p.partition, offset: String(offset) });
    }
    if (offsets.length > 0) await consumer.commitOffsets(offsets);
  }

  let failures = 0;
  let nextAttemptAt = 0;
  let ticking = false;
  async function tick(): Promise<void> {
    if (ticking || Date.now() < nextAttemptAt) return;
    ticking = true;
    try {
      const now = Date.now();
      const candidates = [...open.values()]
        .filter((w) => now >= w.window.endMs + graceMs)
        .sort((a, b) => a.window.startMs - b.window.startMs);
      if (candidates.length === 0) {
        if (consumed) {
          consumed = false;
          await commitPastMailed();
        }
        return;
      }
      await refreshProgress();
      for (const w of candidates) {
        if (!isWindowClosed(w.window, Date.now(), graceMs, progress.values())) break;
        let subject: string | null = null;
        if (w.results.reports > 0) {
          ({ subject } = await sendResultsMail(email, context, w.results, new Date(w.window.startMs)));
          mailsSent.inc();
        } else {
          await w.results.remove();
        }
        const record: SentWindow = {
          window: w.window.id,
          sentAt: new Date().toISOString(),
          reports: w.results.reports,
          subject,
        };
        await producer.send({
          topic: stateTopic,
          acks: -1,
          messages: [{ key: w.window.id, value: JSON.stringify(record) }],
        });
        sent.set(w.window.id, record);
        open.delete(w.window.id);
        logger.info(record, 'digest mailed');
        await commitPastMailed();
      }
      failures = 0;
      delivering = true;
    } catch (error) {
      failures += 1;
      delivering = false;
      const wait = backoffDelay(failures - 1, service.retry);
      nextAttemptAt = Date.now() + wait;
      service.countRetry();
      logger.error({ err: error, retryInMs: wait }, `mailing the digest failed: ${(error as Error).message}`);
    } finally {
      ticking = false;
    }
  }
  const timer = setInterval(() => void tick(), 1000);
  runtime.onStop('digest timer', async () => {
    clearInterval(timer);
    while (ticking) await new Promise((r) => setTimeout(r, 50));
  });
  runtime.onStop('consumer', () => consumer.disconnect());
  runtime.onStop('open windows', async () => {
    // Rebuilt from the report topics after the restart (their offsets were not committed).
    for (const w of open.values()) await w.results.remove();
  });
  runtime.setReady(true);
  logger.info(
    { inputs: inputs.map((i) => i.topic), stateTopic, groupId, windowHours },
    'consuming the report topics into digests',
  );
  return { runtime, config: config as C };
}
