/**
 * The report topics into result sinks (Elasticsearch, OpenSearch, ...), at least once into idempotent
 * sinks, so that nothing is lost and, the sinks' writes being idempotent (deterministic document ids),
 * nothing is duplicated either.
 *
 * Per chunk of a fetched batch (at most `maxMessagesPerFlush` messages of one partition):
 *   1. decode each message (read_committed: only committed transactions) into the report model and write it
 *      to every sink, then flush them: flush() returns once the items are durable, and hands back the items
 *      a sink refused for good;
 *   2. send the dead letters: refusals, and messages that cannot be decoded;
 *   3. commit the offsets past the chunk (manual commits in the consumer group).
 * A crash anywhere before 3 means the chunk is consumed again after the restart. A retriable fault (a
 * sink's target away past its own retry budget, the registry or a broker away) backs off and repeats the
 * failed step with the chunk still in memory (the whole of 1: every item is written again); the batch
 * handler does not return meanwhile, so consumption of further batches is paused, and a timer keeps the
 * group membership alive with heartbeats. A chunk whose partition is taken away (rebalance, stop) is left
 * uncommitted for its next owner. A non-retriable sink fault (credentials refused) stops the consumer.
 *
 * Dead letters are at least once: a crash between 2 and 3 sends them again (same key and input reference).
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import {
  aggregateFromAvro,
  forensicFromAvro,
  smtpTlsFromAvro,
  type ReportTopicKind,
} from '@parsedmarc-ts/avro';
import type { ParsedReport, ReportPart } from '@parsedmarc-ts/parser';
import { retryWithBackoff, type BackoffOptions } from '@parsedmarc-ts/service-runtime';
import {
  connectConsumer,
  deadLetterMessage,
  inputMessageOf,
  isRetriable,
  PoisonMessageError,
  sizeLimits,
  type InputMessage,
  type OutputMessage,
  type RegistryCodec,
} from '@parsedmarc-ts/kafka';
import type { ResultItem, ResultSink, SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';

/** The error as a SinkError, or null. */
const sinkFaultOf = (error: unknown): SinkError | null => (SinkError.is(error) ? error : null);

/** Where a consumed message came from, as a ResultItem's source: "topic[partition]@offset". */
export const messageSource = (m: Pick<InputMessage, 'topic' | 'partition' | 'offset'>): string =>
  `${m.topic}[${m.partition}]@${m.offset}`;

/**
 * A report topic's value back to the report model (what the CLI prints) and its part. Bad data throws a
 * PoisonMessageError (UNDECODABLE_MESSAGE); the registry away throws RegistryUnavailableError (retriable).
 */
export async function decodeReportMessage(
  codec: Pick<RegistryCodec, 'decode'>,
  kind: ReportTopicKind,
  value: Buffer | null,
): Promise<{ parsed: ParsedReport; part?: ReportPart }> {
  if (value === null || value.length === 0) {
    throw new PoisonMessageError('UNDECODABLE_MESSAGE', 'a message without a value (tombstone)');
  }
  switch (kind) {
    case 'dmarc_aggregate': {
      const message = await codec.decode(kind, value);
      const parsed: ParsedReport = { report_type: 'aggregate', report: aggregateFromAvro(message) };
      return message.part === null
        ? { parsed }
        : {
            parsed,
            part: {
              index: message.part.index,
              isLast: message.part.is_last,
              firstRecord: message.part.first_record,
            },
          };
    }
    case 'dmarc_forensic': {
      const message = await codec.decode(kind, value);
      try {
        return { parsed: { report_type: 'forensic', report: forensicFromAvro(message) } };
      } catch (error) {
        throw new PoisonMessageError(
          'UNDECODABLE_MESSAGE',
          `parsed_sample_json is not JSON: ${(error as Error).message}`,
          {},
          { cause: error },
        );
      }
    }
    case 'dmarc_smtp_tls': {
      const message = await codec.decode(kind, value);
      return { parsed: { report_type: 'smtp_tls', report: smtpTlsFromAvro(message) } };
    }
  }
}

/** What one committed chunk did (for metrics). */
export interface FlushedChunk {
  topic: string;
  partition: number;
  /** Messages written, flushed and committed (dead-lettered ones included). */
  messages: number;
  refusals: readonly SinkRefusal[];
  deadLetters: readonly OutputMessage[];
  /** Decode + write + flush time. */
  flushMs: number;
}

export interface SinkConsumerHooks {
  onFlushed?(chunk: FlushedChunk): void;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /** False while a chunk is being retried (a sink, the registry or Kafka failing); true once one commits. */
  onDelivering?(delivering: boolean): void;
  /** The consumer joined its group (true) or crashed/stopped (false). */
  onReady?(joined: boolean): void;
  /** A fault no retry fixes (a sink refusing our credentials): the service must stop. */
  onFatal?(error: unknown): void;
}

export interface SinkConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** The report topics to consume and the kind of each. */
  inputs: readonly { topic: string; kind: ReportTopicKind }[];
  deadLetterTopic: string;
  /** Names this service in dead letters. */
  stage: string;
  sinks: readonly ResultSink[];
  codec: Pick<RegistryCodec, 'decode' | 'encode'>;
  logger: Logger;
  /** Messages per flush and commit (default 500). */
  maxMessagesPerFlush?: number;
  retry?: BackoffOptions;
  /** Consumer group session timeout (default 30 s). */
  sessionTimeoutMs?: number;
  hooks?: SinkConsumerHooks;
}

/** Thrown inside the retry loops when the chunk must be left uncommitted (stopping, partition taken away). */
const abandoned = new Error('chunk abandoned: stopping, or the partition is no longer ours');

/** The group moved on without this member (a rebalance): its commits are refused, its chunk is the next owner's. */
const generationErrorTypes = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS']);

function isGenerationError(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && generationErrorTypes.has(type)) return true;
    // kafkajs wraps a rebalance seen by a heartbeat into a retriable KafkaJSError holding it as originalError.
    const original = (e as { originalError?: unknown }).originalError;
    if (original && original !== e && isGenerationError(original)) return true;
  }
  return false;
}

interface ChunkContext {
  topic: string;
  partition: number;
  /** The chunk must not be committed any more (stopping, partition revoked or sought). */
  stale(): boolean;
  keepAlive(): Promise<void>;
  commit(offset: string): Promise<void>;
}

interface Written {
  /** Messages that could not be decoded (or that a sink's write threw on for a reason of their own). */
  poison: { message: InputMessage; error: unknown }[];
  refusals: SinkRefusal[];
}

export class SinkConsumer {
  private readonly options: SinkConsumerOptions;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly kindOf: Map<string, ReportTopicKind>;
  private readonly heartbeatIntervalMs: number;
  private readonly abort = new AbortController();
  private stopping = false;
  private fatal = false;
  /** A heartbeat saw the group rebalancing: stop retrying, let the group go on. */
  private rebalancing = false;
  private stopped: Promise<void> | null = null;
  /** The last sink or producer call, settled or not: a sink is never called while a call of it runs. */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(options: SinkConsumerOptions) {
    this.options = options;
    this.kindOf = new Map(options.inputs.map((i) => [i.topic, i.kind]));
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = Math.max(500, Math.floor(sessionTimeout / 10));
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      // Only committed transactions: the report topics are written transactionally by the enrich stage.
      readUncommitted: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: sizeLimits.topicMaxMessageBytes * 2,
      sessionTimeout,
      heartbeatInterval: this.heartbeatIntervalMs,
      retry: { restartOnFailure: async () => !this.fatal && !this.stopping },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.rebalancing = false;
      options.hooks?.onReady?.(true);
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      options.logger.error({ err: error, restart }, 'consumer crashed');
      options.hooks?.onReady?.(false);
      if (!restart && !this.stopping && !this.fatal) this.failFatal(error);
    });
    // Dead letters only; at least once (see the module comment), so no idempotence or transaction needed.
    this.producer = options.kafka.producer({ allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    const { options } = this;
    await connectConsumer(
      { producer: this.producer, consumer: this.consumer, topics: [...this.kindOf.keys()] },
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
      // One batch at a time: sink calls never overlap, and items reach the sinks in partition order.
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const size = this.options.maxMessagesPerFlush ?? 500;
    const context: ChunkContext = {
      topic: batch.topic,
      partition: batch.partition,
      stale: () => this.stopping || this.fatal || !isRunning() || isStale(),
      keepAlive: () =>
        heartbeat().then(
          () => {
            this.rebalancing = false;
          },
          (error: unknown) => {
            if (isGenerationError(error)) this.rebalancing = true;
          },
        ),
      commit: (offset) =>
        commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }],
        }),
    };
    for (let i = 0; i < batch.messages.length; i += size) {
      if (context.stale()) return;
      const chunk = batch.messages.slice(i, i + size);
      const last = chunk[chunk.length - 1]!;
      // At the end of the batch, commit past the control records (transaction markers) after it too.
      const atEnd = i + size >= batch.messages.length;
      const next = (BigInt(atEnd ? batch.lastOffset() : last.offset) + 1n).toString();
      const messages = chunk.map((m) => inputMessageOf(batch.topic, batch.partition, m));
      if (!(await this.runChunk(messages, next, context))) return;
      resolveOffset(last.offset);
      await context.keepAlive();
    }
  }

  /** Writes, flushes, dead-letters and commits one chunk; false when it was left uncommitted. */
  private async runChunk(messages: InputMessage[], next: string, context: ChunkContext): Promise<boolean> {
    const { options } = this;
    const timer = setInterval(() => void context.keepAlive(), this.heartbeatIntervalMs);
    try {
      const started = performance.now();
      const written = await this.retrying('writing to the sinks', context, () => this.writeChunk(messages));
      const flushMs = performance.now() - started;
      const deadLetters = await this.retrying('sending dead letters', context, async () => {
        const out = await this.deadLettersOf(written, messages);
        if (out.length > 0) {
          await this.guard(
            this.producer.send({
              topic: options.deadLetterTopic,
              acks: -1,
              messages: out.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
            }),
          );
        }
        return out;
      });
      await this.retrying('committing offsets', context, () => context.commit(next));
      options.hooks?.onDelivering?.(true);
      options.hooks?.onFlushed?.({
        topic: context.topic,
        partition: context.partition,
        messages: messages.length,
        refusals: written.refusals,
        deadLetters,
        flushMs,
      });
      return true;
    } catch (error) {
      if (error === abandoned || context.stale() || isGenerationError(error)) {
        const first = messages[0]!;
        options.logger.warn(
          {
            topic: first.topic,
            partition: first.partition,
            offset: first.offset,
            reason: (error as Error).message,
          },
          'chunk left uncommitted (stopping or partition reassigned); it is consumed again',
        );
        return false;
      }
      this.failFatal(error);
      return false;
    } finally {
      clearInterval(timer);
    }
  }

  /** Runs one step of a chunk until it succeeds, backing off on retriable faults; `abandoned` ends it. */
  private retrying<T>(what: string, context: ChunkContext, step: () => Promise<T>): Promise<T> {
    const { options } = this;
    return retryWithBackoff(
      async (attempt) => {
        if (context.stale() || (attempt > 0 && this.rebalancing)) throw abandoned;
        return step();
      },
      {
        ...(options.retry ?? { initialMs: 200, maxMs: 30_000 }),
        signal: this.abort.signal,
        isRetriable: (error) => error !== abandoned && !isGenerationError(error) && isRetriable(error),
        onRetry: (error, attempt, delayMs) => {
          const fault = sinkFaultOf(error);
          options.logger.warn(
            {
              err: error,
              attempt,
              delayMs,
              topic: context.topic,
              partition: context.partition,
              ...(fault ? { sinkFault: fault.describe() } : {}),
            },
            `${what} failed; retrying the uncommitted chunk`,
          );
          options.hooks?.onDelivering?.(false);
          options.hooks?.onRetry?.(error, attempt, delayMs);
          void context.keepAlive();
        },
      },
    );
  }

  private async writeChunk(messages: InputMessage[]): Promise<Written> {
    const { options } = this;
    const written: Written = { poison: [], refusals: [] };
    for (const message of messages) {
      let item: ResultItem;
      try {
        const kind = this.kindOf.get(message.topic)!;
        item = {
          source: messageSource(message),
          ...(await decodeReportMessage(options.codec, kind, message.value)),
        };
      } catch (error) {
        if (isRetriable(error)) throw error;
        written.poison.push({ message, error });
        continue;
      }
      for (const sink of options.sinks) {
        try {
          await this.guard(sink.write(item));
        } catch (error) {
          if (error === abandoned || sinkFaultOf(error) !== null || isRetriable(error)) throw error;
          // Not the target's fault: something about this item (a bug). Dead-lettered so the partition moves on.
          options.logger.warn(
            { err: error, source: item.source, sink: sink.name },
            'a sink failed on one item',
          );
          written.poison.push({ message, error });
          break;
        }
      }
    }
    for (const sink of options.sinks) written.refusals.push(...(await this.guard(sink.flush())));
    return written;
  }

  /**
   * One dead letter per undecodable message, and one per input, sink and refusal code (a huge report's
   * records refused alike make one dead letter, with the count and the distinct reasons in its context).
   */
  private async deadLettersOf(written: Written, messages: InputMessage[]): Promise<OutputMessage[]> {
    const { codec, deadLetterTopic: topic, stage } = this.options;
    const out: OutputMessage[] = [];
    for (const { message, error } of written.poison) {
      out.push(
        await deadLetterMessage(codec, topic, {
          stage,
          error,
          input: message,
          source: messageSource(message),
        }),
      );
    }
    const bySource = new Map(messages.map((m) => [messageSource(m), m]));
    const groups = new Map<string, SinkRefusal[]>();
    for (const refusal of written.refusals) {
      const key = JSON.stringify([refusal.sink, refusal.source, refusal.code]);
      groups.set(key, [...(groups.get(key) ?? []), refusal]);
    }
    for (const group of groups.values()) {
      const first = group[0]!;
      const reasons = [...new Set(group.map((r) => r.reason))];
      const more = group.length > 1 ? ` (and ${group.length - 1} more of this input)` : '';
      const error = new PoisonMessageError(first.code, `${first.sink} refused it: ${first.reason}${more}`, {
        sink: first.sink,
        refusals: group.length,
        reasons: reasons.slice(0, 10),
      });
      out.push(
        await deadLetterMessage(codec, topic, {
          stage,
          error,
          input: bySource.get(first.source) ?? null,
          source: first.source,
        }),
      );
    }
    return out;
  }

  /** Awaits a sink or producer call, or rejects with `abandoned` when the consumer stops first. */
  private guard<T>(promise: Promise<T>): Promise<T> {
    this.inFlight = promise.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const signal = this.abort.signal;
      const onAbort = () => reject(abandoned);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private failFatal(error: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    // Fetch nothing more while the service shuts down.
    try {
      this.consumer.pause([...this.kindOf.keys()].map((topic) => ({ topic })));
    } catch (pauseError) {
      this.options.logger.debug({ err: pauseError }, 'pause after a fatal error');
    }
    const fault = sinkFaultOf(error);
    this.options.logger.error(
      { err: error, ...(fault ? { sinkFault: fault.describe() } : {}) },
      fault ? `sink failed for good: ${fault.describe()}` : 'sink consumer failed for good',
    );
    this.options.hooks?.onFatal?.(error);
  }

  /**
   * Stops fetching; the chunk in flight commits or is left uncommitted (its retries stop, a sink call that
   * still runs is no longer waited for: see settled()); leaves the group and disconnects. Idempotent.
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

  /** Waits, at most `timeoutMs`, for the last sink call to settle (before the sinks are closed); true if it did. */
  async settled(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const done = await Promise.race([this.inFlight.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }
}
