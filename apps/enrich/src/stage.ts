/**
 * The enrich stage as a Kafka transform: one dmarc_parsed message → the enriched report on its public
 * topic (dmarc_aggregate, dmarc_forensic or dmarc_smtp_tls), same key, same part and origin. Enrichment is
 * the library's enrichReport, the same the CLI runs.
 */
import { parsedFromAvro, reportKey, reportTopicValue } from '@parsedmarc-ts/avro';
import {
  deadLetterMessage,
  encodeReportTopicValue,
  type InputMessage,
  type RegistryCodec,
  type Stage,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import type { ParsedReport } from '@parsedmarc-ts/parser';

export const stageName = 'enrich';

export interface EnrichStageOptions {
  codec: Pick<RegistryCodec, 'encode' | 'decode'>;
  topics: Pick<TopicNames, 'aggregate' | 'forensic' | 'smtpTls' | 'deadLetter'>;
  enrich(parsed: ParsedReport): Promise<ParsedReport>;
  close?(): Promise<void>;
}

const positionOf = (m: InputMessage) => `${m.topic}/${m.partition}@${m.offset}`;

export function createEnrichStage(options: EnrichStageOptions): Stage {
  const { codec, topics } = options;
  return {
    async transform(message) {
      const decoded = parsedFromAvro(await codec.decode('dmarc_parsed', message.value ?? Buffer.alloc(0)));
      const parsed = await options.enrich(decoded.parsed);
      // The key was computed from the same fields upstream; recomputing keeps this stage correct for
      // producers that write dmarc_parsed without a key.
      const key = message.key?.toString('utf8') || reportKey(parsed);
      const value = reportTopicValue(parsed, { origin: decoded.origin, part: decoded.part });
      const topic = topics[value.topic];
      return [{ topic, key, value: await encodeReportTopicValue(codec, topic, value) }];
    },
    async onPoison(message, error) {
      return [
        await deadLetterMessage(codec, topics.deadLetter, {
          stage: stageName,
          error,
          input: message,
          source: positionOf(message),
        }),
      ];
    },
    close: options.close,
  };
}
