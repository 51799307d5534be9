/**
 * Reports onto Kafka, keyed by report identity: Avro on our report topics (dmarc_aggregate, dmarc_forensic,
 * dmarc_smtp_tls) through the schema registry, or the original's JSON messages for consumers written
 * against it. Each write resolves once the broker acknowledged it from all in-sync replicas, so flush has
 * nothing left to do.
 */
import { createJsonReportPublisher, createReportPublisher, type ReportPublisher } from '@parsedmarc-ts/kafka';
import { kafkaBrokers, saves, type KafkaSinkConfig, type SaveSelection } from './config.js';
import type { ResultItem, ResultSink, SinkRefusal } from './contract.js';
import { kafkaConnectionSecurity } from './kafka-security.js';

export class KafkaSink implements ResultSink {
  readonly name = 'kafka';

  private constructor(
    private readonly publisher: ReportPublisher,
    private readonly save: SaveSelection | null,
  ) {}

  static async open(config: KafkaSinkConfig, clientId = 'parsedmarc-cli'): Promise<KafkaSink> {
    const common = {
      brokers: kafkaBrokers(config.hosts),
      clientId,
      ...kafkaConnectionSecurity(config.security),
      topics: {
        aggregate: config.aggregateTopic,
        forensic: config.forensicTopic,
        smtpTls: config.smtpTlsTopic,
      },
    };
    const publisher =
      config.format === 'avro'
        ? await createReportPublisher({ ...common, registryUrl: config.registryUrl! })
        : await createJsonReportPublisher(common);
    return new KafkaSink(publisher, config.save);
  }

  async write(item: ResultItem): Promise<void> {
    if (this.save !== null && !saves(this.save, item.parsed.report_type)) return;
    await this.publisher.publish(item.parsed, item.part, { source: item.source });
  }

  async flush(): Promise<SinkRefusal[]> {
    return [];
  }

  async close(): Promise<void> {
    await this.publisher.close();
  }
}
