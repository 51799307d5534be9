/**
 * The parse stage as a Kafka transform: one raw-mail message → every report inside it on dmarc_parsed
 * (huge aggregate reports in bounded parts), and every failing part to the dead-letter topic. The parsing is
 * the library's parseReports, the same the CLI runs.
 */
import { parsedTopicValue, ReportMessages, sha256Hex, type Origin } from '@parsedmarc-ts/avro';
import {
  deadLetterMessage,
  isWireFormat,
  type InputMessage,
  type OutputMessage,
  type RegistryCodec,
  type Stage,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import {
  limitExceeded,
  parseReports,
  ParseError,
  resolveLimits,
  type ParseLimits,
} from '@parsedmarc-ts/parser';

export const stageName = 'report-parse';

export interface ParseStageOptions {
  codec: Pick<RegistryCodec, 'encode' | 'decode'>;
  topics: Pick<TopicNames, 'parsed' | 'deadLetter'>;
  limits?: Partial<ParseLimits>;
  /** Records per aggregate part from the parser. */
  aggregatePartRecords: number;
  /** Encoded bytes per aggregate part on dmarc_parsed. */
  aggregatePartBytes: number;
}

interface RawInput {
  payload: Buffer;
  source: string;
  sha256: string;
  receivedAt: number;
}

/** Where a message came from when it does not say: topic/partition@offset. */
const positionOf = (m: InputMessage) => `${m.topic}/${m.partition}@${m.offset}`;

export function createParseStage(options: ParseStageOptions): Stage {
  const limits = resolveLimits(options.limits);

  /** raw-mail carries an Avro RawMail, or (from producers without a registry) the bare bytes. */
  async function rawInput(message: InputMessage): Promise<RawInput> {
    const value = message.value ?? Buffer.alloc(0);
    if (isWireFormat(value)) {
      const raw = await options.codec.decode('raw-mail', value);
      return {
        payload: raw.payload,
        source: raw.source,
        sha256: sha256Hex(raw.payload),
        receivedAt: raw.received_at,
      };
    }
    return {
      payload: value,
      source: message.headers['source'] ?? positionOf(message),
      sha256: sha256Hex(value),
      receivedAt: message.timestamp,
    };
  }

  const deadLetter = (
    message: InputMessage,
    error: unknown,
    payload: Uint8Array | null,
    source: string | null,
  ) =>
    deadLetterMessage(options.codec, options.topics.deadLetter, {
      stage: stageName,
      error,
      input: message,
      payload,
      source,
    });

  return {
    async transform(message) {
      const raw = await rawInput(message);
      if (raw.payload.length > limits.maxInputBytes) {
        const error = limitExceeded(
          'maxInputBytes',
          limits.maxInputBytes,
          `input of ${raw.payload.length} bytes`,
          { source: raw.source },
        );
        return [await deadLetter(message, error, raw.payload, raw.source)];
      }
      const outputs: OutputMessage[] = [];
      const messages = new ReportMessages(options.aggregatePartBytes);
      for await (const outcome of parseReports(raw.payload, {
        source: raw.source,
        limits,
        aggregatePartRecords: options.aggregatePartRecords,
      })) {
        if (!outcome.ok) {
          outputs.push(await deadLetter(message, outcome.error, raw.payload, outcome.source));
          continue;
        }
        const { parsed, part } = outcome;
        const origin: Origin = {
          source: outcome.source,
          raw_sha256: raw.sha256,
          received_at: raw.receivedAt,
        };
        const { key, values } = messages.of(parsed, part, origin);
        for (const value of values) {
          outputs.push({
            topic: options.topics.parsed,
            key,
            value: await options.codec.encode(
              options.topics.parsed,
              'dmarc_parsed',
              parsedTopicValue(value, parsed),
            ),
          });
        }
      }
      return outputs;
    },
    async onPoison(message, error) {
      // The input as a whole could not be handled (undecodable, a part over the size bound...).
      const source = ParseError.is(error) ? (error.context.source ?? null) : null;
      return [await deadLetter(message, error, message.value, source ?? positionOf(message))];
    },
  };
}
