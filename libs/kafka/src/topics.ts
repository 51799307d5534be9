/**
 * Topic names, size limits and creation. Kafka's default record limit is 1 MB; raw mails and forensic
 * samples are often larger, so every pipeline topic allows 16 MiB (`max.message.bytes`, matching the
 * broker's `message.max.bytes`). Producers check sizes before sending, so an oversized value is refused
 * with a clear error (MESSAGE_TOO_LARGE, to the dead-letter topic) and never silently dropped.
 */
import type { Admin } from 'kafkajs';
import type { TopicKind } from '@parsedmarc-ts/avro';

export interface TopicNames {
  rawMail: string;
  parsed: string;
  aggregate: string;
  forensic: string;
  smtpTls: string;
  deadLetter: string;
}

export const defaultTopicNames: Readonly<TopicNames> = Object.freeze({
  rawMail: 'raw-mail',
  parsed: 'dmarc_parsed',
  aggregate: 'dmarc_aggregate',
  forensic: 'dmarc_forensic',
  smtpTls: 'dmarc_smtp_tls',
  deadLetter: 'dmarc_dead_letter',
});

/** The same topics with a prefix (tests, several pipelines on one cluster). */
export function prefixedTopicNames(prefix: string): TopicNames {
  return Object.fromEntries(
    Object.entries(defaultTopicNames).map(([k, v]) => [k, `${prefix}${v}`]),
  ) as unknown as TopicNames;
}

export const topicKindOf: Record<keyof TopicNames, TopicKind> = {
  rawMail: 'raw-mail',
  parsed: 'dmarc_parsed',
  aggregate: 'dmarc_aggregate',
  forensic: 'dmarc_forensic',
  smtpTls: 'dmarc_smtp_tls',
  deadLetter: 'dmarc_dead_letter',
};

export const sizeLimits = Object.freeze({
  /** max.message.bytes of every pipeline topic (the broker's message.max.bytes must be at least this). */
  topicMaxMessageBytes: 16 * 1024 * 1024,
  /** Largest value a producer sends: the topic limit less room for key, headers and batch framing. */
  maxValueBytes: 16 * 1024 * 1024 - 64 * 1024,
  /** Largest raw-mail payload accepted from a producer (leaves room for the Avro envelope). */
  maxRawPayloadBytes: 15 * 1024 * 1024,
  /** Target size of one aggregate report part: huge reports are split into parts of at most this. */
  aggregatePartBytes: 1024 * 1024,
  /** Failing inputs up to this size are copied into their dead letter; larger ones are referenced. */
  deadLetterPayloadBytes: 8 * 1024 * 1024,
});

export interface EnsureTopicsOptions {
  partitions?: number;
  replicationFactor?: number;
  /** Retention of the report topics (ms); -1 keeps forever. Default: Kafka's (7 days). */
  retentionMs?: number;
  /** A compacted topic (the latest value per key is kept): service state. */
  compacted?: boolean;
}

/** Creates the missing topics with the pipeline's size limits; existing topics are left as they are. */
export async function ensureTopics(
  admin: Admin,
  names: readonly string[],
  options: EnsureTopicsOptions = {},
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = names.filter((name) => !existing.has(name));
  if (missing.length === 0) return;
  const configEntries = [{ name: 'max.message.bytes', value: String(sizeLimits.topicMaxMessageBytes) }];
  if (options.retentionMs !== undefined)
    configEntries.push({ name: 'retention.ms', value: String(options.retentionMs) });
  if (options.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: options.partitions ?? 3,
      replicationFactor: options.replicationFactor ?? 1,
      configEntries,
    })),
  });
}
