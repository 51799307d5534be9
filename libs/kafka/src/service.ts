/**
 * The shells shared by the pipeline's services: env config (file secrets, validated schema), logs with
 * redaction, probes, metrics, topic creation, schema registration and graceful SIGTERM, in one start-up
 * (`startKafkaService`), then either
 * - runStageService (report-parse, enrich): a stage, i.e. a transform from one input message to output
 *   messages, run by the transactional processor (exactly once between topics), or
 * - runSinkService (libs/sinks, for sink-elastic, ...): the report topics into result sinks, offsets
 *   committed after each flush (at least once into idempotent sinks: nothing lost, nothing duplicated).
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

/** The secrets of every Kafka service; a service names its own in its spec. */
export const kafkaSecrets = ['KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD'] as const;

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
  // The one list of secret names: read from <NAME>_FILE, redacted from log lines, masked in the logged config.
  const secrets = [...kafkaSecrets, ...(spec.secrets ?? [])];
  const config = loadConfig(spec.configSchema, withFileSecrets(spec.env ?? process.env, secrets)) as C;
  // The runtime's redaction, plus the secrets (wherever they appear) and API keys.
  const logger = createLogger(spec.name, config.LOG_LEVEL, spec.logDestination).child(
    {},
    {
      redact: {
        paths: [
          ...redactedPaths,
          ...secrets.flatMap((name) => [name, `config.${name}`]),
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
