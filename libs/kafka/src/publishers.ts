/**
 * Plain (non-transactional, idempotent) producers for other programs: the CLI's -K publishing of report
 * results (Avro through the registry, or the original's JSON for consumers written against it), and
 * publishing raw files onto raw-mail.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { ParsedReport, ReportPart as ParserPart } from '@parsedmarc-ts/parser';
import {
  reportKey,
  ReportMessages,
  sha256Hex,
  type Origin,
  type RawMail,
  type ReportTopic,
} from '@parsedmarc-ts/avro';
import { originalKafkaValues } from '@parsedmarc-ts/output';
import { createKafka, type KafkaConnection } from './client.js';
import { deadLetterValue } from './dead-letter.js';
import { PoisonMessageError } from './errors.js';
import { encodeReportTopicValue, RegistryCodec, type RegistryConnection } from './registry.js';
import { ensureTopics, sizeLimits, type EnsureTopicsOptions } from './topics.js';

export interface ProducerOptions {
  brokers: string[];
  clientId?: string;
  logger?: Logger;
  kafka?: Kafka;
  sasl?: KafkaConnection['sasl'];
  ssl?: KafkaConnection['ssl'];
  /**
   * Create the topics when missing, with the pipeline's 16 MiB max.message.bytes (a topic auto-created by
   * the broker gets the 1 MB default and refuses big reports). Default: create with 3 partitions and
   * replication factor 1; false: leave topics to the cluster's administrators.
   */
  createTopics?: false | EnsureTopicsOptions;
}

/** The registry, by address (the publisher makes its codec) or as a service's codec. */
export type PublisherOptions = ProducerOptions &
  (
    | { registryUrl: string; registryAuth?: { username: string; password: string }; codec?: undefined }
    | { codec: RegistryCodec }
  );

/** Creates the missing topics; a refusal (e.g. no CREATE permission) is logged, not fatal: they may exist. */
async function createMissingTopics(kafka: Kafka, topics: string[], options: ProducerOptions): Promise<void> {
  if (options.createTopics === false) return;
  const admin = kafka.admin();
  try {
    await admin.connect();
    await ensureTopics(admin, topics, options.createTopics ?? {});
  } catch (error) {
    options.logger?.warn(
      { err: error, topics },
      'could not create the topics; publishing to them as they are',
    );
  } finally {
    await admin.disconnect();
  }
}

function connectProducer(options: ProducerOptions, clientId: string): { kafka: Kafka; producer: Producer } {
  const kafka =
    options.kafka ??
    createKafka(
      {
        brokers: options.brokers,
        clientId: options.clientId ?? clientId,
        sasl: options.sasl,
        ssl: options.ssl,
      },
      options.logger,
    );
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 10_000 },
  });
  return { kafka, producer };
}

function connect(
  options: PublisherOptions,
  clientId: string,
): { kafka: Kafka; codec: RegistryCodec; producer: Producer } {
  const codec =
    options.codec ??
    new RegistryCodec({ url: options.registryUrl, ...options.registryAuth } satisfies RegistryConnection);
  return { ...connectProducer(options, clientId), codec };
}

export type ReportTopics = Record<ReportTopic, string>;

export interface ReportPublisher {
  /** Publishes one report (or one parser part of a huge aggregate report) onto its topic, keyed by report identity. */
  publish(parsed: ParsedReport, part?: ParserPart, origin?: Partial<Origin>): Promise<void>;
  close(): Promise<void>;
}

export async function createReportPublisher(
  options: PublisherOptions & { topics: ReportTopics },
): Promise<ReportPublisher> {
  const { kafka, codec, producer } = connect(options, 'parsedmarc-report-publisher');
  await createMissingTopics(
    kafka,
    [options.topics.aggregate, options.topics.forensic, options.topics.smtpTls],
    options,
  );
  await producer.connect();
  const reportMessages = new ReportMessages(sizeLimits.aggregatePartBytes);
  return {
    async publish(parsed, part, origin) {
      const fullOrigin: Origin = {
        source: origin?.source ?? 'parsedmarc',
        raw_sha256: origin?.raw_sha256 ?? null,
        received_at: origin?.received_at ?? null,
      };
      const { key, values } = reportMessages.of(parsed, part, fullOrigin);
      const messages: { topic: string; value: Buffer }[] = [];
      for (const value of values) {
        const topic = options.topics[value.topic];
        messages.push({ topic, value: await encodeReportTopicValue(codec, topic, value) });
      }
      for (const m of messages) {
        if (m.value.length > sizeLimits.maxValueBytes) {
          throw new PoisonMessageError(
            'MESSAGE_TOO_LARGE',
            `${parsed.report_type} report encodes to ${m.value.length} bytes, over ${sizeLimits.maxValueBytes}`,
          );
        }
      }
      await producer.send({
        topic: messages[0]!.topic,
        acks: -1,
        messages: messages.map((m) => ({ key, value: m.value })),
      });
    },
    async close() {
      await producer.disconnect();
    },
  };
}

/**
 * The original's Kafka output (see originalKafkaValues): one JSON message per aggregate record, each
 * forensic and SMTP TLS report as a list of one. Messages are keyed by report identity (the original sends
 * no key), so a report's messages stay in order on one partition.
 */
export async function createJsonReportPublisher(
  options: ProducerOptions & { topics: ReportTopics },
): Promise<ReportPublisher> {
  const { kafka, producer } = connectProducer(options, 'parsedmarc-report-publisher');
  await createMissingTopics(
    kafka,
    [options.topics.aggregate, options.topics.forensic, options.topics.smtpTls],
    options,
  );
  await producer.connect();
  const topicOf = {
    aggregate: options.topics.aggregate,
    forensic: options.topics.forensic,
    smtp_tls: options.topics.smtpTls,
  } as const;
  return {
    async publish(parsed) {
      const key = reportKey(parsed);
      const values = originalKafkaValues(parsed);
      if (values.length === 0) return;
      for (const value of values) {
        const bytes = Buffer.byteLength(value);
        if (bytes > sizeLimits.maxValueBytes) {
          throw new PoisonMessageError(
            'MESSAGE_TOO_LARGE',
            `a ${parsed.report_type} message is ${bytes} bytes of JSON, over ${sizeLimits.maxValueBytes}`,
          );
        }
      }
      await producer.send({
        topic: topicOf[parsed.report_type],
        acks: -1,
        messages: values.map((value) => ({ key, value })),
      });
    },
    async close() {
      await producer.disconnect();
    },
  };
}

export interface RawMailPublishResult {
  key: string;
  partition: number;
  offset: string;
}

export interface RawMailPublisher {
  /**
   * Publishes one input onto raw-mail (key = hex SHA-256 of the bytes). An input over the size limit is
   * refused: a dead letter (reference only) goes to the dead-letter topic when one is configured, and the
   * call throws a PoisonMessageError with code MESSAGE_TOO_LARGE.
   */
  publish(
    payload: Uint8Array,
    meta: { source: string; filename?: string | null; receivedAt?: number },
  ): Promise<RawMailPublishResult>;
  /** Reads each file and publishes it; source = the path. */
  publishFiles(paths: readonly string[]): Promise<RawMailPublishResult[]>;
  close(): Promise<void>;
}

export async function createRawMailPublisher(
  options: PublisherOptions & { topic: string; deadLetterTopic?: string; maxPayloadBytes?: number },
): Promise<RawMailPublisher> {
  const { kafka, codec, producer } = connect(options, 'parsedmarc-raw-mail-publisher');
  await createMissingTopics(
    kafka,
    [options.topic, ...(options.deadLetterTopic ? [options.deadLetterTopic] : [])],
    options,
  );
  await producer.connect();
  const maxPayloadBytes = options.maxPayloadBytes ?? sizeLimits.maxRawPayloadBytes;
  const publisher: RawMailPublisher = {
    async publish(payload, meta) {
      const key = sha256Hex(payload);
      if (payload.length > maxPayloadBytes) {
        const error = new PoisonMessageError(
          'MESSAGE_TOO_LARGE',
          `${meta.source}: ${payload.length} bytes, over the raw-mail limit of ${maxPayloadBytes} bytes`,
          { source: meta.source, size: payload.length, limit: maxPayloadBytes },
        );
        if (options.deadLetterTopic) {
          const value = deadLetterValue({ stage: 'raw-mail-publish', error, payload, source: meta.source });
          // The payload itself is over the limit: the dead letter carries its hash and size only.
          value.payload = null;
          await producer.send({
            topic: options.deadLetterTopic,
            acks: -1,
            messages: [
              { key, value: await codec.encode(options.deadLetterTopic, 'dmarc_dead_letter', value) },
            ],
          });
        }
        throw error;
      }
      const value: RawMail = {
        payload: Buffer.from(payload),
        source: meta.source,
        received_at: meta.receivedAt ?? Date.now(),
        sha256: key,
        filename: meta.filename ?? null,
      };
      const [result] = await producer.send({
        topic: options.topic,
        acks: -1,
        messages: [{ key, value: await codec.encode(options.topic, 'raw-mail', value) }],
      });
      return {
        key,
        partition: result!.partition,
        offset: String(result!.baseOffset ?? result!.offset ?? ''),
      };
    },
    async publishFiles(paths) {
      const results: RawMailPublishResult[] = [];
      for (const path of paths) {
        results.push(
          await publisher.publish(await readFile(path), { source: path, filename: basename(path) }),
        );
      }
      return results;
    },
    async close() {
      await producer.disconnect();
    },
  };
  return publisher;
}
