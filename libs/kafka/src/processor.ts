/**
 * Exactly-once consume-transform-produce between topics. Each chunk of consumed messages becomes one Kafka
 * transaction holding every output message AND the consumer offsets after the chunk (sendOffsets), so a
 * crash at any point either commits both or neither: after a restart the chunk is consumed again and its
 * aborted outputs stay invisible to read_committed consumers. Poison input becomes dead letters inside the
 * same transaction (the partition keeps moving); environment faults (broker or registry away) abort the
 * transaction and retry the same chunk with backoff.
 */
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { retryWithBackoff, type BackoffOptions } from '@parsedmarc-ts/service-runtime';
import { isFenced, isRetriable, PoisonMessageError, TransactionFailedError } from './errors.js';
import { connectConsumer } from './client.js';
import { sizeLimits } from './topics.js';

export interface InputMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker timestamp (ms since epoch). */
  timestamp: number;
}

export interface OutputMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** Maps one input message to its outputs. Throws only for faults worth retrying; see `onPoison`. */
export type Transform = (message: InputMessage) => Promise<OutputMessage[]>;

/**
 * Called when `transform` throws a non-retriable error, or produces a value over the size limit: returns
 * the dead letters that replace the message's outputs.
 */
export type PoisonHandler = (message: InputMessage, error: unknown) => Promise<OutputMessage[]>;

export interface ProcessorHooks {
  onCommitted?(inputs: number, outputs: readonly OutputMessage[], durationMs: number): void;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  onPoison?(message: InputMessage, error: unknown): void;
  /** The processor cannot go on (fenced by another instance, or crashed for good). */
  onFatal?(error: unknown): void;
  onReady?(ready: boolean): void;
}

export interface ProcessorOptions {
  kafka: Kafka;
  groupId: string;
  /** Stable per instance: a restarted instance with the same id fences its predecessor's open transaction. */
  transactionalId: string;
  inputTopic: string;
  transform: Transform;
  onPoison: PoisonHandler;
  logger: Logger;
  /** Input messages per transaction (default 100). */
  maxMessagesPerTransaction?: number;
  retry?: BackoffOptions;
  hooks?: ProcessorHooks;
  /** Largest output value (default sizeLimits.maxValueBytes). */
  maxValueBytes?: number;
  /** Bytes of output values per produce request (default 8 MiB). */
  maxRequestBytes?: number;
  /** Consumer group session timeout: how long a crashed member holds its partitions (default 30 s). */
  sessionTimeoutMs?: number;
}

/** A fetched Kafka message as the work loops see it (headers as strings). */
export function inputMessageOf(topic: string, partition: number, message: KafkaMessage): InputMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** Thrown inside the retry loop when the chunk's partition is no longer ours: ends it without committing. */
const staleChunk = new Error('partition revoked or consumer stopping');

/** Bytes of output values per produce request (each record batch stays under the 16 MiB topic limit). */
const maxRequestBytes = 8 * 1024 * 1024;

/** Consecutive slices of `outputs` whose values add up to at most `limit` bytes (a bigger value goes alone). */
export function slicesOf(outputs: readonly OutputMessage[], limit: number): OutputMessage[][] {
  const slices: OutputMessage[][] = [];
  let current: OutputMessage[] = [];
  let size = 0;
  for (const output of outputs) {
    const bytes = output.value.length + output.key.length + 64;
    if (current.length > 0 && size + bytes > limit) {
      slices.push(current);
      current = [];
      size = 0;
    }
    current.push(output);
    size += bytes;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

export class TransactionalProcessor {
  private readonly options: ProcessorOptions;
  private readonly consumer: Consumer;
  private producer: Producer;
  /** Set when a transaction could not be aborted: kafkajs' producer is then stuck and must be replaced. */
  private producerBroken = false;
  private readonly abort = new AbortController();
  private stopping = false;
  private stopped: Promise<void> | null = null;

  constructor(options: ProcessorOptions) {
    this.options = options;
    const { kafka } = options;
    this.producer = this.createProducer();
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      // Kafka returns a record larger than this anyway (KIP-74); it bounds memory for small records.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: sizeLimits.topicMaxMessageBytes * 2,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.max(500, Math.floor((options.sessionTimeoutMs ?? 30_000) / 10)),
      retry: {
        // Restart the consumer after kafkajs' own retries unless this instance was fenced.
        restartOnFailure: async (error) => !isFenced(error) && !this.stopping,
      },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => options.hooks?.onReady?.(true));
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      options.logger.error({ err: error, restart }, 'consumer crashed');
      options.hooks?.onReady?.(false);
      if (!restart && !this.stopping) options.hooks?.onFatal?.(error);
    });
  }

  private createProducer(): Producer {
    return this.options.kafka.producer({
      transactionalId: this.options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      // Idempotence needs unbounded retries (kafkajs warns otherwise); a broker away stalls the send until
      // it is back, which is the back-off-and-resume we want.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 10_000 },
    });
  }

  /**
   * The producer for the next transaction. After an abort that failed (broker away), kafkajs' producer stays
   * in state ABORTING and refuses every new transaction: replace it with a new one under the same
   * transactional id, whose initialization fences the old one and lets the broker abort its transaction.
   */
  private async usableProducer(): Promise<Producer> {
    if (this.producerBroken) {
      await this.producer
        .disconnect()
        .catch((error: unknown) => this.options.logger.debug({ err: error }, 'old producer disconnect'));
      this.producer = this.createProducer();
      await this.producer.connect();
      this.producerBroken = false;
      this.options.logger.warn('transactional producer replaced after a failed abort');
    }
    return this.producer;
  }

  async start(): Promise<void> {
    const { options } = this;
    await connectConsumer(
      { producer: this.producer, consumer: this.consumer, topics: [options.inputTopic] },
      {
        retry: options.retry,
        signal: this.abort.signal,
        logger: options.logger,
        onRetry: options.hooks?.onRetry,
      },
    );
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const chunkSize = options.maxMessagesPerTransaction ?? 100;
        for (let i = 0; i < batch.messages.length; i += chunkSize) {
          if (this.stopping || !isRunning() || isStale()) return;
          const chunk = batch.messages
            .slice(i, i + chunkSize)
            .map((m) => inputMessageOf(batch.topic, batch.partition, m));
          // Keep the group session alive through long transforms and backoff waits; once the partition
          // was taken away (rebalance) or the consumer stops, leave the chunk uncommitted: its new owner
          // (or this consumer after a restart) takes it from the last committed offset.
          const keepAlive = () => heartbeat().catch(() => undefined);
          const stale = () => this.stopping || !isRunning() || isStale();
          let attempts = 0;
          let pending = chunk;
          try {
            await retryWithBackoff(
              async () => {
                if (stale()) throw staleChunk;
                attempts += 1;
                // A commit that failed on the client side (broker away, request timed out) may still have
                // been applied by the broker: then its offsets are committed, and committing those messages
                // again would publish their outputs twice. That holds for this chunk's retry and also for a
                // chunk fetched again after a rebalance (the group's offset read then may predate the
                // in-doubt transaction), hence the flag across chunks.
                if (attempts > 1 || this.inDoubt) {
                  pending = await this.uncommittedPart(pending);
                  if (pending.length === 0) return;
                }
                await this.commitChunkOrGiveUp(pending, keepAlive);
              },
              {
                ...(options.retry ?? { initialMs: 200, maxMs: 30_000 }),
                isRetriable: (error) => error !== staleChunk && isRetriable(error),
                signal: this.abort.signal,
                onRetry: (error, attempt, delayMs) => {
                  options.logger.warn(
                    { err: error, attempt, delayMs, partition: batch.partition },
                    'transaction failed; retrying',
                  );
                  options.hooks?.onRetry?.(error, attempt, delayMs);
                  void keepAlive();
                },
              },
            );
          } catch (error) {
            if (error === staleChunk || stale()) return;
            throw error;
          }
          resolveOffset(chunk[chunk.length - 1]!.offset);
          await heartbeat();
        }
      },
    });
  }

  private async outputsOf(message: InputMessage): Promise<OutputMessage[]> {
    const { options } = this;
    const maxValueBytes = options.maxValueBytes ?? sizeLimits.maxValueBytes;
    let outputs: OutputMessage[];
    try {
      outputs = await options.transform(message);
      const tooBig = outputs.find((o) => o.value.length > maxValueBytes);
      if (tooBig) {
        throw new PoisonMessageError(
          'MESSAGE_TOO_LARGE',
          `an output for ${tooBig.topic} encodes to ${tooBig.value.length} bytes, over the limit of ${maxValueBytes}`,
          { size: tooBig.value.length, limit: maxValueBytes, topic: tooBig.topic },
        );
      }
    } catch (error) {
      if (isRetriable(error)) throw error;
      options.hooks?.onPoison?.(message, error);
      options.logger.warn(
        { err: error, topic: message.topic, partition: message.partition, offset: message.offset },
        'poison message: dead-lettered',
      );
      outputs = await options.onPoison(message, error);
    }
    return outputs;
  }

  /**
   * A chunk that keeps failing for a reason that is neither the data's (those are dead-lettered) nor the
   * environment's (retried) would loop forever through consumer restarts: after a few attempts the
   * processor reports itself fatal, so the process exits non-zero and the orchestrator shows a crash loop.
   */
  private failures = { chunk: '', count: 0 };

  private async commitChunkOrGiveUp(chunk: InputMessage[], keepAlive: () => Promise<void>): Promise<void> {
    const first = chunk[0]!;
    const id = `${first.topic}/${first.partition}@${first.offset}`;
    try {
      await this.commitChunk(chunk, keepAlive);
      this.failures = { chunk: '', count: 0 };
    } catch (error) {
      if (!isRetriable(error) && !isFenced(error)) {
        this.failures = { chunk: id, count: this.failures.chunk === id ? this.failures.count + 1 : 1 };
        if (this.failures.count >= 5) this.options.hooks?.onFatal?.(error);
      }
      throw error;
    }
  }

  /** Set when a transaction failed in a way the broker may still have committed; cleared once settled. */
  private inDoubt = false;

  /**
   * The messages of the chunk the group's committed offset does not cover yet (an earlier transaction may
   * have been committed although the client saw an error). After a failure the producer is replaced first:
   * its initialization under the same transactional id makes the broker finish (commit or abort) the
   * earlier transaction, so the committed offset read afterwards is settled.
   */
  private async uncommittedPart(chunk: InputMessage[]): Promise<InputMessage[]> {
    const last = chunk[chunk.length - 1]!;
    if (this.inDoubt) this.producerBroken = true;
    await this.usableProducer();
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [last.topic] });
      this.inDoubt = false;
      const committed = topic?.partitions.find((p) => p.partition === last.partition)?.offset;
      if (committed === undefined || committed === '-1') return chunk;
      const rest = chunk.filter((m) => BigInt(m.offset) >= BigInt(committed));
      if (rest.length < chunk.length) {
        this.options.logger.warn(
          { topic: last.topic, partition: last.partition, from: chunk[0]!.offset, committed },
          'an earlier attempt committed part of this chunk despite its error: not committed again',
        );
      }
      return rest;
    } finally {
      await admin.disconnect();
    }
  }

  private async commitChunk(chunk: InputMessage[], keepAlive: () => Promise<void>): Promise<void> {
    const started = performance.now();
    const outputs: OutputMessage[] = [];
    for (const message of chunk) {
      outputs.push(...(await this.outputsOf(message)));
      await keepAlive();
    }
    const last = chunk[chunk.length - 1]!;
    const producer = await this.usableProducer();
    let transaction: Awaited<ReturnType<Producer['transaction']>>;
    try {
      transaction = await producer.transaction();
    } catch (error) {
      // A producer stuck in a transaction state (see usableProducer) is replaced, then the chunk retried.
      if (/Transaction state exception/i.test((error as Error).message)) {
        this.producerBroken = true;
        throw new TransactionFailedError(error);
      }
      throw error;
    }
    try {
      // kafkajs puts every message for one partition of one send into a single record batch, and the broker
      // refuses a batch over max.message.bytes: send in slices of bounded size (in order, one at a time).
      for (const slice of slicesOf(outputs, this.options.maxRequestBytes ?? maxRequestBytes)) {
        const byTopic = new Map<string, OutputMessage[]>();
        for (const output of slice) {
          const list = byTopic.get(output.topic) ?? [];
          list.push(output);
          byTopic.set(output.topic, list);
        }
        await transaction.sendBatch({
          topicMessages: [...byTopic].map(([topic, messages]) => ({
            topic,
            messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          })),
        });
      }
      await transaction.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [
          {
            topic: last.topic,
            partitions: [{ partition: last.partition, offset: (BigInt(last.offset) + 1n).toString() }],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      this.inDoubt = true;
      let aborted = true;
      try {
        await transaction.abort();
      } catch (abortError) {
        aborted = false;
        this.producerBroken = true;
        this.options.logger.warn({ err: abortError }, 'abort after a failed transaction failed too');
      }
      if (isFenced(error)) {
        this.options.hooks?.onFatal?.(error);
        throw error;
      }
      // Not aborted: the broker aborts it (fenced by the replacement producer, or on its timeout); the chunk
      // is retried with a new producer.
      if (!aborted) throw new TransactionFailedError(error);
      throw error;
    }
    this.options.hooks?.onCommitted?.(chunk.length, outputs, performance.now() - started);
  }

  /**
   * Stops fetching; a chunk whose transaction is in flight completes (commit) or is abandoned without
   * committing (its retries stop); then leaves the group and disconnects. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.abort.abort();
      this.options.hooks?.onReady?.(false);
      await this.consumer.disconnect();
      await this.producer.disconnect();
    })();
    return this.stopped;
  }
}
