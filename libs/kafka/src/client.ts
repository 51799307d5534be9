/** kafkajs client construction with logs routed to pino. */
import kafkajs, { type Kafka, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { retryWithBackoff, type BackoffOptions } from '@parsedmarc-ts/service-runtime';
import { isRetriable } from './errors.js';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** TLS: true, or options (a CA, or rejectUnauthorized false to skip certificate verification). */
  ssl?: boolean | { ca?: string; rejectUnauthorized?: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Retry base delay in ms for kafkajs' own retries (default 100; kafkajs' 300 makes back-to-back transactions slow). */
  initialRetryTime?: number;
  /** How long one request may take before it fails (and is retried); default kafkajs' 30 s. */
  requestTimeoutMs?: number;
}

const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = kafkajs;

export function createKafka(connection: KafkaConnection, logger?: Logger): Kafka {
  // kafkajs prints a notice about its partitioner change at every producer start otherwise.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: connection.ssl ?? false,
    retry: { initialRetryTime: connection.initialRetryTime ?? 100, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
  };
  if (connection.requestTimeoutMs !== undefined) config.requestTimeout = connection.requestTimeoutMs;
  if (connection.sasl) config.sasl = connection.sasl as SASLOptions;
  if (logger) {
    config.logCreator =
      () =>
      ({ namespace, level, log }) => {
        const { message, timestamp: _timestamp, logger: _logger, ...extra } = log as Record<string, unknown>;
        // kafkajs logs at ERROR what it is about to retry (coordinator loading, concurrent transactions):
        // those are warnings for us; the final failure surfaces as an exception.
        // Connection-level protocol errors (coordinator loading, not available) are retried likewise.
        const retrying = 'retryCount' in extra || 'retryTime' in extra || namespace === 'Connection';
        const text = `kafkajs ${namespace}: ${String(message)}`;
        if (level === KafkaLogLevel.ERROR && !retrying) logger.error(extra, text);
        else if (level <= KafkaLogLevel.WARN) logger.warn(extra, text);
        else if (level === KafkaLogLevel.INFO) logger.info(extra, text);
        else logger.debug(extra, text);
      };
  }
  return new KafkaClient(config);
}

/**
 * Connects a consuming service's producer and consumer and subscribes to its topics, until it succeeds: a
 * broker away at start is waited for (with backoff), not a failed start.
 */
export async function connectConsumer(
  clients: { producer: Producer; consumer: Consumer; topics: string[] },
  options: {
    retry?: BackoffOptions;
    signal: AbortSignal;
    logger: Logger;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<void> {
  await retryWithBackoff(
    async () => {
      await clients.producer.connect();
      await clients.consumer.connect();
      await clients.consumer.subscribe({ topics: clients.topics, fromBeginning: true });
    },
    {
      ...(options.retry ?? { initialMs: 500, maxMs: 30_000 }),
      isRetriable,
      signal: options.signal,
      onRetry: (error, attempt, delayMs) => {
        options.logger.warn({ err: error, attempt, delayMs }, 'cannot connect to Kafka yet; retrying');
        options.onRetry?.(error, attempt, delayMs);
      },
    },
  );
}
