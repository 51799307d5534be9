/**
 * The CLI's Kafka outputs (-K), like the original's: each report is published onto its topic
 * (dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls), Avro through the schema registry, keyed by report
 * identity. With --publish-raw-mail the input files are published as they are onto raw-mail instead, for
 * the report-parse service. Loaded only when -K is given (the Kafka client is not needed otherwise).
 */
import { createRawMailPublisher, createReportPublisher, type ReportPublisher } from '@parsedmarc-ts/kafka';
import type { CliConfig } from './config.js';
import type { ResultItem, ResultSink } from './sinks.js';

type KafkaConfig = NonNullable<CliConfig['kafka']>;

/** Brokers as given to the original ("host", "host:port"); Kafka's default port when none. */
const brokers = (config: KafkaConfig): string[] =>
  config.hosts.map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));

export class KafkaSink implements ResultSink {
  private constructor(private readonly publisher: ReportPublisher) {}

  static async open(config: KafkaConfig): Promise<KafkaSink> {
    const publisher = await createReportPublisher({
      brokers: brokers(config),
      registryUrl: config.registryUrl,
      clientId: 'parsedmarc-cli',
      topics: {
        aggregate: config.aggregateTopic,
        forensic: config.forensicTopic,
        smtpTls: config.smtpTlsTopic,
      },
    });
    return new KafkaSink(publisher);
  }

  /** Resolves once the broker acknowledged the report (acks from all in-sync replicas): durable. */
  async write(item: ResultItem): Promise<void> {
    await this.publisher.publish(item.parsed, item.part, { source: item.source });
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.publisher.close();
  }
}

/** --publish-raw-mail: every input file onto raw-mail; returns the number of files refused. */
export async function publishRawMail(
  config: KafkaConfig,
  files: readonly string[],
  warn: (line: string) => void,
): Promise<number> {
  const publisher = await createRawMailPublisher({
    brokers: brokers(config),
    registryUrl: config.registryUrl,
    clientId: 'parsedmarc-cli',
    topic: config.rawMailTopic,
  });
  let failures = 0;
  try {
    for (const path of files) {
      try {
        await publisher.publishFiles([path]);
      } catch (error) {
        failures += 1;
        warn(
          `${path}: ${(error as { code?: string }).code ?? 'PUBLISH_FAILED'}: ${(error as Error).message}`,
        );
      }
    }
  } finally {
    await publisher.close();
  }
  return failures;
}
