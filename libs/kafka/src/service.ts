/**
 * The shell shared by the pipeline's stage services (report-parse, enrich): env config, logs, probes,
 * metrics, topic creation, schema registration, the transactional processor, and graceful SIGTERM. A
 * service supplies only its stage: a transform from one input message to output messages.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  baseServiceEnv,
  createLogger,
  env,
  loadConfig,
  retryWithBackoff,
  ServiceRuntime,
  withFileSecrets,
  type Env,
  type Logger,
} from '@parsedmarc-ts/service-runtime';
import type { EventEmitter } from 'node:events';
import { createKafka, type KafkaConnection } from './client.js';
import { isRetriable } from './errors.js';
import { TransactionalProcessor, type PoisonHandler, type Transform } from './processor.js';
import { RegistryCodec } from './registry.js';
import { defaultTopicNames, ensureTopics, topicKindOf, type TopicNames } from './topics.js';

/** Variables of every Kafka stage service. */
export const kafkaServiceEnv = {
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
  /** Stable per instance (a StatefulSet pod name): a restart fences the predecessor. Default <group>-<hostname>. */
  KAFKA_TRANSACTIONAL_ID: z.string().optional(),
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
  /** Input messages per transaction. */
  MAX_MESSAGES_PER_TRANSACTION: env.positiveInt(100),
  RETRY_INITIAL_MS: env.positiveInt(200),
  RETRY_MAX_MS: env.positiveInt(30_000),
};

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

export function topicNamesOf(config: KafkaServiceConfig): TopicNames {
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

export interface StageServiceSpec<S extends z.ZodObject> {
  /** Service name: logs, metrics label, default group id. */
  name: string;
  configSchema: S;
  input: keyof TopicNames;
  outputs: readonly (keyof TopicNames)[];
  createStage(context: StageContext<z.infer<S> & KafkaServiceConfig>): Promise<Stage>;
  env?: Env;
  signals?: EventEmitter;
  exit?: (code: number) => void;
}

export async function runStageService<S extends z.ZodObject>(
  spec: StageServiceSpec<S>,
): Promise<{ runtime: ServiceRuntime; processor: TransactionalProcessor }> {
  const secretEnv = withFileSecrets(spec.env ?? process.env, [
    'KAFKA_SASL_PASSWORD',
    'SCHEMA_REGISTRY_PASSWORD',
  ]);
  const config = loadConfig(spec.configSchema, secretEnv) as z.infer<S> & KafkaServiceConfig;
  const logger = createLogger(spec.name, config.LOG_LEVEL);
  const runtime = new ServiceRuntime({
    name: spec.name,
    logger,
    port: config.HTTP_PORT,
    host: config.HTTP_HOST,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    signals: spec.signals,
    exit: spec.exit,
  });
  const topics = topicNamesOf(config);
  const groupId = config.KAFKA_GROUP_ID ?? `parsedmarc-${spec.name}`;
  const transactionalId = config.KAFKA_TRANSACTIONAL_ID ?? `${groupId}-${hostname()}`;
  logger.info(
    {
      config: {
        ...config,
        KAFKA_SASL_PASSWORD: config.KAFKA_SASL_PASSWORD && '[redacted]',
        SCHEMA_REGISTRY_PASSWORD: config.SCHEMA_REGISTRY_PASSWORD && '[redacted]',
      },
      topics,
      groupId,
      transactionalId,
    },
    'starting',
  );
  await runtime.start();

  const inputs = runtime.counter('pdm_input_messages_total', 'Messages consumed and committed', ['topic']);
  const outputs = runtime.counter('pdm_output_messages_total', 'Messages produced and committed', ['topic']);
  const deadLetters = runtime.counter(
    'pdm_dead_letters_total',
    'Poison inputs sent to the dead-letter topic',
    ['code'],
  );
  const transactions = runtime.counter('pdm_transactions_total', 'Committed transactions');
  const retries = runtime.counter(
    'pdm_retries_total',
    'Retries after environment faults (broker or registry away)',
  );
  const duration = runtime.histogram(
    'pdm_transaction_duration_seconds',
    'Transform + commit time of one transaction',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  let consumerReady = false;
  runtime.addReadinessCheck('kafka consumer joined', () => consumerReady);

  const kafka = createKafka(kafkaConnectionOf(config, spec.name), logger);
  const codec = new RegistryCodec({
    url: config.SCHEMA_REGISTRY_URL,
    username: config.SCHEMA_REGISTRY_USERNAME,
    password: config.SCHEMA_REGISTRY_PASSWORD,
  });
  const stopSignal = new AbortController();
  runtime.onStop('startup', () => stopSignal.abort());
  const retry = { initialMs: config.RETRY_INITIAL_MS, maxMs: config.RETRY_MAX_MS };
  const onRetry = (what: string) => (error: unknown, attempt: number, delayMs: number) => {
    retries.inc();
    logger.warn({ err: error, attempt, delayMs }, `${what}: retrying`);
  };

  const used = [spec.input, ...spec.outputs, 'deadLetter' as const];
  if (config.CREATE_TOPICS) {
    await retryWithBackoff(
      async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          await ensureTopics(admin, [...new Set(used.map((t) => topics[t]))], {
            partitions: config.TOPIC_PARTITIONS,
            replicationFactor: config.TOPIC_REPLICATION_FACTOR,
          });
        } finally {
          await admin.disconnect();
        }
      },
      { ...retry, isRetriable, signal: stopSignal.signal, onRetry: onRetry('creating topics') },
    );
  }
  // Register the output schemas up front: an incompatible schema fails the start, not the first message.
  await retryWithBackoff(
    async () => {
      for (const t of new Set([...spec.outputs, 'deadLetter' as const]))
        await codec.schemaId(topics[t], topicKindOf[t]);
    },
    { ...retry, isRetriable, signal: stopSignal.signal, onRetry: onRetry('registering schemas') },
  );

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
      onRetry: () => retries.inc(),
      onFatal: (error) => {
        runtime.fail(`processor stopped: ${(error as Error).message}`);
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
