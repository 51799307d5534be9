/**
 * Helpers of the sink service tests: publishing the sample reports onto the report topics, reading them back
 * undecoded, the consumer group's committed offsets against the topics' end offsets, and waiting for a
 * condition (never for a time).
 */
import { readFileSync } from 'node:fs';
import type { Admin } from 'kafkajs';
import { parseReports } from '@parsedmarc-ts/parser';
import { createKafka, createReportPublisher, topicKindOf, type TopicNames } from '@parsedmarc-ts/kafka';
import type { ResultItem } from '@parsedmarc-ts/sinks';
import { readTopics, uniquePrefix, type Servers } from './harness.js';
import { sampleInputs } from './expected.js';

/**
 * Waits for a condition. On a timeout, `explain` says what the state was (counts, the service's last log
 * lines), so that a failure seen once on a loaded machine can be understood from its report alone.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
  explain?: () => string | Promise<string>,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const state = explain ? `\n${await explain()}` : '';
      throw new Error(`timed out waiting for ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Published {
  /** report type, part, and report JSON of each message, as published. */
  summaries: string[];
  count: number;
}

export const summaryOf = (item: Pick<ResultItem, 'parsed' | 'part'>): string =>
  JSON.stringify([
    item.parsed.report_type,
    item.part ? [item.part.index, item.part.isLast, item.part.firstRecord] : null,
    item.parsed.report,
  ]);

/** Publishes every sample report (aggregate reports in parts of `partRecords`) with the CLI's -K publisher. */
export async function publishSamples(
  servers: Servers,
  topics: TopicNames,
  partRecords = 20,
): Promise<Published> {
  const publisher = await createReportPublisher({
    brokers: servers.brokers,
    registryUrl: servers.registryUrl,
    topics: { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
  });
  const summaries: string[] = [];
  try {
    for (const { path, source } of sampleInputs()) {
      for await (const outcome of parseReports(readFileSync(path), {
        source,
        aggregatePartRecords: partRecords,
      })) {
        if (!outcome.ok) continue;
        await publisher.publish(outcome.parsed, outcome.part, { source: outcome.source });
        summaries.push(summaryOf({ parsed: outcome.parsed, part: outcome.part }));
      }
    }
  } finally {
    await publisher.close();
  }
  return { summaries, count: summaries.length };
}

export const reportTopicsOf = (topics: TopicNames) => ({
  aggregate: topics.aggregate,
  forensic: topics.forensic,
  smtpTls: topics.smtpTls,
});

/** Every message on the report topics (read_committed), as published. */
export const readReports = (servers: Servers, topics: TopicNames, count: number) =>
  readTopics(servers, reportTopicsOf(topics), topicKindOf, (got) => got.length >= count, 60_000);

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
}

/** The messages on `topics` (read_committed), undecoded: the coordinates and keys of `count` messages. */
export async function readRaw(servers: Servers, topics: string[], count: number): Promise<RawMessage[]> {
  const consumer = createKafka({ brokers: servers.brokers, clientId: 'sink-test-reader' }).consumer({
    groupId: uniquePrefix('raw-reader'),
  });
  const received: RawMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
        });
        if (received.length >= count) done();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return received;
}

/** The group's committed offsets, summed over the topics' partitions (-1 = none committed: 0). */
export async function committedSum(admin: Admin, groupId: string, topics: string[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const p of offsets?.partitions ?? []) sum += Math.max(0, Number(p.offset));
  }
  return sum;
}

export async function endOffsetSum(admin: Admin, topics: string[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) sum += Number(p.high);
  return sum;
}
