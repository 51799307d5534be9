/**
 * The shell of a sink service (sink-elastic, ...): the start-up every Kafka service shares
 * (startKafkaService: config, secrets, logs, probes, metrics, topics, SIGTERM), then the report topics into
 * the sinks through the SinkConsumer, offsets committed only after each durable flush.
 */
import type { z } from 'zod';
import {
  isRetriable,
  startKafkaService,
  type KafkaServiceSpec,
  type KafkaSinkServiceConfig,
} from '@parsedmarc-ts/kafka';
import { ConfigError, type Logger, type ServiceRuntime } from '@parsedmarc-ts/service-runtime';
import type { ResultSink } from '../contract.js';
import { SinkError } from '../errors.js';
import { reportTopicKinds, type ReportTopic } from '@parsedmarc-ts/avro';
import { SinkConsumer } from './consumer.js';

/** The error as a SinkError, or null. */
const sinkFaultOf = (error: unknown): SinkError | null => (SinkError.is(error) ? error : null);

export interface SinkServiceContext<C extends KafkaSinkServiceConfig> {
  config: C;
  logger: Logger;
  runtime: ServiceRuntime;
  /** The client id for the sinks (user agent...): KAFKA_CLIENT_ID or parsedmarc-<service>. */
  clientId: string;
  /** One-line notices of the sinks (libs/sinks SinkContext.warn), logged as warnings. */
  warn(line: string): void;
}

export interface SinkServiceSpec<S extends z.ZodObject> extends KafkaServiceSpec<S> {
  /** The report topics consumed (default all three), e.g. from the service's SAVE_* variables. */
  reportTopics?(config: z.infer<S> & KafkaSinkServiceConfig): readonly ReportTopic[];
  /**
   * Opens the sinks (libs/sinks openSinks). A retriable SinkError (target away past the sink's retry
   * budget) is retried with backoff, not ready meanwhile; any other error fails the start (exit non-zero).
   */
  openSinks(context: SinkServiceContext<z.infer<S> & KafkaSinkServiceConfig>): Promise<readonly ResultSink[]>;
}

export interface SinkService {
  runtime: ServiceRuntime;
  consumer: SinkConsumer;
  sinks: readonly ResultSink[];
}

/** Retriable at start: Kafka's and the registry's faults, and a sink target away. */

/**
 * A sink service: the report topics (read_committed) into the sinks `openSinks` gives, one flush per chunk
 * of at most MAX_MESSAGES_PER_FLUSH messages, the offsets committed only after the flush returned, refusals
 * to the dead-letter topic before that commit. Probes: /readyz is 503 until the sinks are open and the
 * consumer joined, and while a chunk is being retried (a sink failing); /healthz 503 once a fault no retry
 * fixes stopped it (exit non-zero). Metrics: pdm_input_messages_total{topic},
 * pdm_sink_items_written_total{sink}, pdm_sink_flushes_total{sink}, pdm_sink_refusals_total{sink,code},
 * pdm_dead_letters_total{code}, pdm_retries_total, pdm_sink_flush_duration_seconds, pdm_sink_delivering.
 */
export async function runSinkService<S extends z.ZodObject>(spec: SinkServiceSpec<S>): Promise<SinkService> {
  type C = z.infer<S> & KafkaSinkServiceConfig;
  const reportTopicsOf = (config: C): ReportTopic[] => {
    const chosen = [
      ...new Set(spec.reportTopics?.(config) ?? (['aggregate', 'forensic', 'smtpTls'] as const)),
    ];
    if (chosen.length === 0)
      throw new ConfigError(`${spec.name}: no report topic to consume (every report type is off)`);
    return chosen;
  };
  const service = await startKafkaService<S, C>(
    spec,
    (config) => ({ uses: [...reportTopicsOf(config), 'deadLetter'], produces: ['deadLetter'] }),
    (config) => ({ reportTopics: reportTopicsOf(config) }),
  );
  const { config, logger, runtime, kafka, codec, topics, groupId, retry } = service;
  const reportTopics = reportTopicsOf(config);

  const inputs = runtime.counter('pdm_input_messages_total', 'Messages consumed and committed', ['topic']);
  const written = runtime.counter(
    'pdm_sink_items_written_total',
    'Reports (or parts of huge reports) written to the sink and flushed, their offsets committed',
    ['sink'],
  );
  const flushes = runtime.counter('pdm_sink_flushes_total', 'Sink flushes followed by an offset commit', [
    'sink',
  ]);
  const refusals = runtime.counter('pdm_sink_refusals_total', 'Items a sink refused for good', [
    'sink',
    'code',
  ]);
  const deadLetters = runtime.counter('pdm_dead_letters_total', 'Messages sent to the dead-letter topic', [
    'code',
  ]);
  const flushDuration = runtime.histogram(
    'pdm_sink_flush_duration_seconds',
    'Decode + write + flush time of one chunk',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
  );
  const delivering = runtime.gauge(
    'pdm_sink_delivering',
    '1 while chunks commit, 0 while one is being retried',
  );
  let consumerJoined = false;
  let sinksDelivering = true;
  delivering.set(1);
  runtime.addReadinessCheck('kafka consumer joined', () => consumerJoined);
  runtime.addReadinessCheck('sinks accepting writes', () => sinksDelivering);

  const clientId = config.KAFKA_CLIENT_ID ?? `parsedmarc-${spec.name}`;
  let sinks: readonly ResultSink[];
  try {
    sinks = await service.retrying(
      'opening the sinks',
      () =>
        spec.openSinks({
          config,
          logger,
          runtime,
          clientId,
          warn: (line) => logger.warn({ sinkNotice: line }, line),
        }),
      isRetriable,
    );
  } catch (error) {
    // SIGTERM while still waiting for the sinks: the runtime's shutdown is already under way.
    if (service.stopSignal.aborted) throw error;
    const fault = sinkFaultOf(error);
    const line = fault
      ? `cannot open the sink: ${fault.describe()}`
      : `cannot open the sink: ${(error as Error).message}`;
    logger.error({ err: error }, line);
    service.fail(line);
    // Not ready, health failed, and out with a non-zero status (through the runtime: logs flushed).
    await runtime.shutdown('sink cannot be opened');
    // The caller's one line names the sink, its target and the code.
    throw fault ? new SinkError(fault.code, line, fault.context, { cause: error }) : error;
  }
  const sinkNames = sinks.map((s) => s.name);
  const consumer = new SinkConsumer({
    kafka,
    groupId,
    inputs: reportTopics.map((t) => ({ topic: topics[t], kind: reportTopicKinds[t] })),
    deadLetterTopic: topics.deadLetter,
    stage: spec.name,
    sinks,
    codec,
    logger,
    maxMessagesPerFlush: config.MAX_MESSAGES_PER_FLUSH,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    retry,
    hooks: {
      onFlushed(chunk) {
        inputs.inc({ topic: chunk.topic }, chunk.messages);
        flushDuration.observe(chunk.flushMs / 1000);
        for (const name of sinkNames) {
          flushes.inc({ sink: name });
          written.inc({ sink: name }, chunk.messages);
        }
        for (const r of chunk.refusals) refusals.inc({ sink: r.sink, code: r.code });
        for (const d of chunk.deadLetters) deadLetters.inc({ code: d.headers?.error_code ?? 'UNKNOWN' });
      },
      onRetry: () => service.countRetry(),
      onDelivering(ok) {
        sinksDelivering = ok;
        delivering.set(ok ? 1 : 0);
      },
      onReady(joined) {
        consumerJoined = joined;
      },
      onFatal(error) {
        const fault = sinkFaultOf(error);
        service.fail(`sink consumer stopped: ${fault ? fault.describe() : (error as Error).message}`);
        void runtime.shutdown('fatal');
      },
    },
  });
  runtime.onStop('sinks', async () => {
    // A sink call still in flight (a flush waiting for a target away) is given a moment; its items are not
    // committed, so they are consumed again after the restart anyway.
    const wait = Math.max(1000, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 3));
    if (!(await consumer.settled(wait)))
      logger.warn({ waitedMs: wait }, 'a sink call is still running; closing anyway');
    let first: unknown = null;
    for (const sink of sinks) {
      try {
        // close() flushes what the sink still buffers: bounded, since none of it was committed anyway.
        let timer: NodeJS.Timeout | undefined;
        const closed = await Promise.race([
          sink.close().then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), wait))),
        ]);
        clearTimeout(timer);
        if (!closed) logger.warn({ sink: sink.name, waitedMs: wait }, 'the sink did not close in time');
      } catch (error) {
        logger.warn({ err: error, sink: sink.name }, 'closing the sink failed');
        first ??= error;
      }
    }
    if (first !== null) throw first;
  });

  runtime.onStop('consumer', () => consumer.stop());
  await consumer.start();
  runtime.setReady(true);
  logger.info(
    { inputs: reportTopics.map((t) => topics[t]), sinks: sinkNames, groupId },
    'consuming the report topics into the sinks',
  );
  return { runtime, consumer, sinks };
}
