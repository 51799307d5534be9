import { z } from 'zod';
import { env } from '@parsedmarc-ts/service-runtime';
import { kafkaServiceEnv, sizeLimits } from '@parsedmarc-ts/kafka';
import { resolveLimits } from '@parsedmarc-ts/parser';

/** Every variable report-parse reads (see docs/pipeline.md). */
export const reportParseEnv = z.object({
  ...kafkaServiceEnv,
  /** Largest input parsed; larger ones are dead-lettered with LIMIT_EXCEEDED. */
  MAX_INPUT_BYTES: env.positiveInt(sizeLimits.maxRawPayloadBytes),
  /** Bytes after decompressing one gzip stream or zip member (bombs); default the parser's. */
  PARSE_MAX_DECOMPRESSED_BYTES: env.positiveInt(resolveLimits().maxDecompressedBytes),
  /** Records per aggregate report part from the parser. */
  AGGREGATE_PART_RECORDS: env.positiveInt(2000),
  /** Encoded bytes per aggregate part on dmarc_parsed (parts are re-split to stay under it). */
  AGGREGATE_PART_BYTES: env.positiveInt(sizeLimits.aggregatePartBytes),
});
export type ReportParseConfig = z.infer<typeof reportParseEnv>;
