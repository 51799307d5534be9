/**
 * Reports onto the Avro report topics (dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls) through the schema
 * registry, keyed by report identity, like the original's Kafka output. Each write resolves once the broker
 * acknowledged it from all in-sync replicas, so flush has nothing left to do.
 */
import { createReportPublisher, type ReportPublisher } from '@parsedmarc-ts/kafka';
import { kafkaBrokers, type KafkaSinkConfig } from './config.js';
import type { ResultItem, ResultSink, SinkRefusal } from './contract.js';

export class KafkaSink implements ResultSink {
  readonly name = 'kafka';

  private constructor(private readonly publisher: ReportPublisher) {}

  static async open(config: KafkaSinkConfig, clientId = 'parsedmarc-cli'): Promise<KafkaSink> {
    const publisher = await createReportPublisher({
      brokers: kafkaBrokers(config.hosts),
      registryUrl: config.registryUrl,
      clientId,
      topics: {
        aggregate: config.aggregateTopic,
        forensic: config.forensicTopic,
        smtpTls: config.smtpTlsTopic,
      },
    });
    return new KafkaSink(publisher);
  }

  async write(item: ResultItem): Promise<void> {
    await this.publisher.publish(item.parsed, item.part, { source: item.source });
  }

  async flush(): Promise<SinkRefusal[]> {
    return [];
  }

  async close(): Promise<void> {
    await this.publisher.close();
  }
}
