/**
 * The shells shared by the pipeline's services: env config (file secrets, validated schema), logs with
 * redaction, probes, metrics, topic creation, schema registration and graceful SIGTERM, in one start-up
 * (`startKafkaService`), then either
 * - runStageService (report-parse, enrich): a stage, i.e. a transform from one input message to output
 *   messages, run by the transactional processor (exactly once between topics), or
 * - runSinkService (sink-elastic, ...): the report topics into result sinks, offsets committed after each
 *   flush (at least once into idempotent sinks: nothing lost, nothing duplicated).
 */
import { hostname } from 'node:os';
import type { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { DestinationStream } from 'pino';
import { z } from 'zod';
import {
  baseServiceEnv,
  createLogger,
  env,
  loadConfig,
  redactedPaths,
  retryWithBackoff,
  ServiceRuntime,
  withFileSecrets,
  type BackoffOptions,
  type Env,
  type Logger,
} from '@parsedmarc-ts/service-runtime';
import { createKafka, type KafkaConnection } from './client.js';
import { isRetriable } from './errors.js';
import { TransactionalProcessor, type PoisonHandler, type Transform } from './processor.js';
import { RegistryCodec } from './registry.js';
import {
  describeSinkFault,
  SinkConsumer,
  sinkFaultOf,
  type ReportSink,
  type ReportTopicKind,
} from './sink-consumer.js';
import { defaultTopicNames, ensureTopics, topicKindOf, type TopicNames } from './topics.js';

/** Variables of every Kafka service: the broker, the registry, the group, topics, retries. */
export const kafkaCommonEnv = {
  ...baseServiceEnv,
  KAFKA_BROKERS: env.list(),
  KAFKA_CLIENT_ID: z.string().optional(),
  KAFKA_SSL: env.boolean(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.url(),
  SCHEMA_REGISTRY_USERNAME: z.string().optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
  /** Consumer group; default parsedmarc-<service>. */
  KAFKA_GROUP_ID: z.string().optional(),
  /** Prepended to every default topic name (several pipelines on one cluster, tests). */
  TOPIC_PREFIX: z.string().default(''),
  TOPIC_RAW_MAIL: z.string().optional(),
  TOPIC_PARSED: z.string().optional(),
  TOPIC_AGGREGATE: z.string().optional(),
  TOPIC_FORENSIC: z.string().optional(),
  TOPIC_SMTP_TLS: z.string().optional(),
  TOPIC_DEAD_LETTER: z.string().optional(),
  /** Create missing topics at start (with the pipeline's size limits). */
  CREATE_TOPICS: env.boolean(true),
  TOPIC_PARTITIONS: env.positiveInt(3),
  TOPIC_REPLICATION_FACTOR: env.positiveInt(1),
  /** How long one broker request may hang (a broker away) before it fails and is retried. */
  KAFKA_REQUEST_TIMEOUT_MS: env.positiveInt(30_000),
  /** How long a crashed instance holds its partitions before the group rebalances (broker minimum 6 s). */
  KAFKA_SESSION_TIMEOUT_MS: env.positiveInt(30_000),
  RETRY_INITIAL_MS: env.positiveInt(200),
  RETRY_MAX_MS: env.positiveInt(30_000),
};

export type KafkaCommonConfig = z.infer<z.ZodObject<typeof kafkaCommonEnv>>;

/** Variables of every Kafka stage service (exactly once between topics). */
export const kafkaServiceEnv = {
  ...kafkaCommonEnv,
  /** Stable per instance (a StatefulSet pod name): a restart fences the predecessor. Default <group>-<hostname>. */
  KAFKA_TRANSACTIONAL_ID: z.string().optional(),
  /** Input messages per transaction. */
  MAX_MESSAGES_PER_TRANSACTION: env.positiveInt(100),
};

/** Variables of every sink service (report topics into a sink, commit after flush). */
export const kafkaSinkServiceEnv = {
  ...kafkaCommonEnv,
  /** Messages written to the sink per flush, and per offset commit. */
  MAX_MESSAGES_PER_FLUSH: env.positiveInt(500),
};

export type KafkaSinkServiceConfig = z.infer<z.ZodObject<typeof kafkaSinkServiceEnv>>;

export type KafkaServiceConfig = z.infer<z.ZodObject<typeof kafkaServiceEnv>>;

/** The broker connection a service's KAFKA_* variables describe. */
export function kafkaConnectionOf(
  config: Pick<
    KafkaServiceConfig,
    | 'KAFKA_BROKERS'
    | 'KAFKA_CLIENT_ID'
    | 'KAFKA_SSL'
    | 'KAFKA_SASL_MECHANISM'
    | 'KAFKA_SASL_USERNAME'
    | 'KAFKA_SASL_PASSWORD'
  > & { KAFKA_REQUEST_TIMEOUT_MS?: number },
  serviceName: string,
): KafkaConnection {
  return {
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? `parsedmarc-${serviceName}`,
    ssl: config.KAFKA_SSL,
    requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
    sasl:
      config.KAFKA_SASL_MECHANISM !== undefined
        ? {
            mechanism: config.KAFKA_SASL_MECHANISM,
            username: config.KAFKA_SASL_USERNAME ?? '',
            password: config.KAFKA_SASL_PASSWORD ?? '',
          }
        : undefined,
  };
}

export function topicNamesOf(config: KafkaCommonConfig): TopicNames {
  const p = config.TOPIC_PREFIX;
  return {
    rawMail: config.TOPIC_RAW_MAIL ?? p + defaultTopicNames.rawMail,
    parsed: config.TOPIC_PARSED ?? p + defaultTopicNames.parsed,
    aggregate: config.TOPIC_AGGREGATE ?? p + defaultTopicNames.aggregate,
    forensic: config.TOPIC_FORENSIC ?? p + defaultTopicNames.forensic,
    smtpTls: config.TOPIC_SMTP_TLS ?? p + defaultTopicNames.smtpTls,
    deadLetter: config.TOPIC_DEAD_LETTER ?? p + defaultTopicNames.deadLetter,
  };
}

/** What every Kafka service spec has: its name, its variables, and the hooks tests use. */
export interface KafkaServiceSpec<S extends z.ZodObject> {
  /** Service name: logs, metrics label, default client and group id. */
  name: string;
  configSchema: S;
  /**
   * Secret variables beyond KAFKA_SASL_PASSWORD and SCHEMA_REGISTRY_PASSWORD: each may come from
   * `<NAME>_FILE` (a mounted Kubernetes Secret), and is redacted from every log line.
   */
  secrets?: readonly string[];
  env?: Env;
  signals?: EventEmitter;
  exit?: (code: number) => void;
  /** Where the JSON logs go (default stdout). */
  logDestination?: DestinationStream;
}

/** A started Kafka service: config, logs, probes and metrics up, topics created, output schemas registered. */
export interface StartedKafkaService<C extends KafkaCommonConfig> {
  config: C;
  logger: Logger;
  runtime: ServiceRuntime;
  kafka: Kafka;
  codec: RegistryCodec;
  topics: TopicNames;
  groupId: string;
  retry: BackoffOptions;
  /** Aborted when the service starts shutting down. */
  stopSignal: AbortSignal;
  /** Runs `fn` until it succeeds, backing off on retriable faults (counted in pdm_retries_total). */
  retrying<T>(what: string, fn: () => Promise<T>, isFaultRetriable?: (error: unknown) => boolean): Promise<T>;
  /** Counts one retry (pdm_retries_total). */
  countRetry(): void;
  /** Marks the service failed (/healthz 503); its shutdown then exits non-zero. */
  fail(reason: string): void;
}

const kafkaSecrets = ['KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD'] as const;

/**
 * The start-up every Kafka service shares: config from the environment (secrets from files) through the
 * validated schema, the logger (secrets redacted), the runtime with /healthz /readyz /metrics and SIGTERM,
 * the topics `uses` names created (with retries), the schemas of `produces` registered up front (an
 * incompatible schema fails the start, not the first message).
 */
export async function startKafkaService<
  S extends z.ZodObject,
  C extends KafkaCommonConfig = z.infer<S> & KafkaCommonConfig,
>(
  spec: KafkaServiceSpec<S>,
  topicsOf: (config: C) => { uses: readonly (keyof TopicNames)[]; produces: readonly (keyof TopicNames)[] },
  logged: (config: C) => Record<string, unknown> = () => ({}),
): Promise<StartedKafkaService<C>> {
  const secrets = [...kafkaSecrets, ...(spec.secrets ?? [])];
  const config = loadConfig(spec.configSchema, withFileSecrets(spec.env ?? process.env, secrets)) as C;
  // The runtime's redaction, plus this service's own secrets (wherever they appear) and API keys.
  const logger = createLogger(spec.name, config.LOG_LEVEL, spec.logDestination).child(
    {},
    {
      redact: {
        paths: [
          ...redactedPaths,
          ...(spec.secrets ?? []).flatMap((name) => [name, `config.${name}`]),
          'apiKey',
          '*.apiKey',
        ],
        censor: '[redacted]',
      },
    },
  );
  let failed = false;
  const exit = spec.exit ?? ((code: number) => process.exit(code));
  const runtime = new ServiceRuntime({
    name: spec.name,
    logger,
    port: config.HTTP_PORT,
    host: config.HTTP_HOST,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    signals: spec.signals,
    // A service that failed for good exits non-zero, however cleanly it then shut down.
    exit: (code) => exit(failed ? Math.max(code, 1) : code),
  });
  const topics = topicNamesOf(config);
  const groupId = config.KAFKA_GROUP_ID ?? `parsedmarc-${spec.name}`;
  const redactedConfig: Record<string, unknown> = { ...config };
  for (const name of secrets) {
    if (redactedConfig[name] !== undefined) redactedConfig[name] = '[redacted]';
  }
  logger.info({ config: redactedConfig, topics, groupId, ...logged(config) }, 'starting');
  await runtime.start();

  const retries = runtime.counter(
    'pdm_retries_total',
    'Retries after environment faults (broker, registry or sink target away)',
  );
  const kafka = createKafka(kafkaConnectionOf(config, spec.name), logger);
  const codec = new RegistryCodec({
    url: config.SCHEMA_REGISTRY_URL,
    username: config.SCHEMA_REGISTRY_USERNAME,
    password: config.SCHEMA_REGISTRY_PASSWORD,
  });
  const stop = new AbortController();
  runtime.onStop('startup', () => stop.abort());
  const retry = { initialMs: config.RETRY_INITIAL_MS, maxMs: config.RETRY_MAX_MS };
  const retrying = <T>(what: string, fn: () => Promise<T>, isFaultRetriable = isRetriable): Promise<T> =>
    retryWithBackoff(fn, {
      ...retry,
      isRetriable: isFaultRetriable,
      signal: stop.signal,
      onRetry: (error, attempt, delayMs) => {
        retries.inc();
        logger.warn({ err: error, attempt, delayMs }, `${what}: retrying`);
      },
    });

  const { uses, produces } = topicsOf(config);
  if (config.CREATE_TOPICS) {
    await retrying('creating topics', async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [...new Set(uses.map((t) => topics[t]))], {
          partitions: config.TOPIC_PARTITIONS,
          replicationFactor: config.TOPIC_REPLICATION_FACTOR,
        });
      } finally {
        await admin.disconnect();
      }
    });
  }
  await retrying('registering schemas', async () => {
    for (const t of new Set(produces)) await codec.schemaId(topics[t], topicKindOf[t]);
  });
  return {
    config,
    logger,
    runtime,
    kafka,
    codec,
    topics,
    groupId,
    retry,
    stopSignal: stop.signal,
    retrying,
    countRetry: () => retries.inc(),
    fail(reason) {
      failed = true;
      runtime.fail(reason);
    },
  };
}

export interface StageContext<C extends KafkaServiceConfig> {
  config: C;
  topics: TopicNames;
  codec: RegistryCodec;
  logger: Logger;
  runtime: ServiceRuntime;
}

export interface Stage {
  transform: Transform;
  onPoison: PoisonHandler;
  close?(): Promise<void>;
}

export interface StageServiceSpec<S extends z.ZodObject> extends KafkaServiceSpec<S> {
  input: keyof TopicNames;
  outputs: readonly (keyof TopicNames)[];
  createStage(context: StageContext<z.infer<S> & KafkaServiceConfig>): Promise<Stage>;
}

export async function runStageService<S extends z.ZodObject>(
  spec: StageServiceSpec<S>,
): Promise<{ runtime: ServiceRuntime; processor: TransactionalProcessor }> {
  const transactionalIdOf = (config: KafkaServiceConfig, groupId: string) =>
    config.KAFKA_TRANSACTIONAL_ID ?? `${groupId}-${hostname()}`;
  const service = await startKafkaService<S, z.infer<S> & KafkaServiceConfig>(
    spec,
    () => ({
      uses: [spec.input, ...spec.outputs, 'deadLetter'],
      produces: [...spec.outputs, 'deadLetter'],
    }),
    (config) => ({
      transactionalId: transactionalIdOf(config, config.KAFKA_GROUP_ID ?? `parsedmarc-${spec.name}`),
    }),
  );
  const { config, logger, runtime, kafka, codec, topics, groupId, retry } = service;
  const transactionalId = transactionalIdOf(config, groupId);

  const inputs = runtime.counter('pdm_input_messages_total', 'Messages consumed and committed', ['topic']);
  const outputs = runtime.counter('pdm_output_messages_total', 'Messages produced and committed', ['topic']);
  const deadLetters = runtime.counter(
    'pdm_dead_letters_total',
    'Poison inputs sent to the dead-letter topic',
    ['code'],
  );
  const transactions = runtime.counter('pdm_transactions_total', 'Committed transactions');
  const duration = runtime.histogram(
    'pdm_transaction_duration_seconds',
    'Transform + commit time of one transaction',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  let consumerReady = false;
  runtime.addReadinessCheck('kafka consumer joined', () => consumerReady);

  const stage = await spec.createStage({ config, topics, codec, logger, runtime });
  const processor = new TransactionalProcessor({
    kafka,
    groupId,
    transactionalId,
    inputTopic: topics[spec.input],
    transform: stage.transform,
    onPoison: stage.onPoison,
    logger,
    maxMessagesPerTransaction: config.MAX_MESSAGES_PER_TRANSACTION,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    retry,
    hooks: {
      onCommitted(count, produced, ms) {
        transactions.inc();
        duration.observe(ms / 1000);
        inputs.inc({ topic: topics[spec.input] }, count);
        for (const o of produced) outputs.inc({ topic: o.topic });
        for (const o of produced) {
          if (o.topic === topics.deadLetter) deadLetters.inc({ code: o.headers?.error_code ?? 'UNKNOWN' });
        }
      },
      onRetry: () => service.countRetry(),
      onFatal: (error) => {
        service.fail(`processor stopped: ${(error as Error).message}`);
        void runtime.shutdown('fatal');
      },
      onReady: (ready) => {
        consumerReady = ready;
      },
    },
  });
  runtime.onStop('stage', async () => stage.close?.());
  runtime.onStop('processor', () => processor.stop());
  await processor.start();
  runtime.setReady(true);
  logger.info({ input: topics[spec.input] }, 'consuming');
  return { runtime, processor };
}

/** The report topics a sink service can consume. */
export type ReportTopic = 'aggregate' | 'forensic' | 'smtpTls';

export const reportTopicKinds: Readonly<Record<ReportTopic, ReportTopicKind>> = Object.freeze({
  aggregate: 'dmarc_aggregate',
  forensic: 'dmarc_forensic',
  smtpTls: 'dmarc_smtp_tls',
});

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
  openSinks(context: SinkServiceContext<z.infer<S> & KafkaSinkServiceConfig>): Promise<readonly ReportSink[]>;
}

export interface SinkService {
  runtime: ServiceRuntime;
  consumer: SinkConsumer;
  sinks: readonly ReportSink[];
}

/** Retriable at start: Kafka's and the registry's faults, and a sink target away. */
const retriableAtStart = (error: unknown): boolean => sinkFaultOf(error)?.retriable ?? isRetriable(error);

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
      throw new Error(`${spec.name}: no report topic to consume (every report type is off)`);
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
  let sinks: readonly ReportSink[];
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
      retriableAtStart,
    );
  } catch (error) {
    // SIGTERM while still waiting for the sinks: the runtime's shutdown is already under way.
    if (service.stopSignal.aborted) throw error;
    const fault = sinkFaultOf(error);
    const line = fault
      ? `cannot open the sink: ${describeSinkFault(fault)}`
      : `cannot open the sink: ${(error as Error).message}`;
    logger.error({ err: error }, line);
    service.fail(line);
    // Not ready, health failed, and out with a non-zero status (through the runtime: logs flushed).
    await runtime.shutdown('sink cannot be opened');
    throw Object.assign(new Error(line, { cause: error }), { code: fault?.code ?? 'SINK_OPEN_FAILED' });
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
        service.fail(`sink consumer stopped: ${fault ? describeSinkFault(fault) : (error as Error).message}`);
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
