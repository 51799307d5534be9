#!/usr/bin/env node
/** report-parse service: raw-mail → dmarc_parsed, poison input → dmarc_dead_letter. */
import { runStageService } from '@parsedmarc-ts/kafka';
import { reportParseEnv } from './config.js';
import { createParseStage, stageName } from './stage.js';

// Report dates are rendered in the process's time zone, and report keys include them: one zone for all.
process.env.TZ ??= 'UTC';

try {
  await runStageService({
    name: stageName,
    configSchema: reportParseEnv,
    input: 'rawMail',
    outputs: ['parsed'],
    createStage: async ({ config, topics, codec }) =>
      createParseStage({
        codec,
        topics,
        limits: {
          maxInputBytes: config.MAX_INPUT_BYTES,
          maxDecompressedBytes: config.PARSE_MAX_DECOMPRESSED_BYTES,
        },
        aggregatePartRecords: config.AGGREGATE_PART_RECORDS,
        aggregatePartBytes: config.AGGREGATE_PART_BYTES,
      }),
  });
} catch (error) {
  // Before the logger exists (bad config) or a start that cannot succeed: one line, non-zero exit.
  process.stderr.write(`report-parse: ${(error as Error).message}\n`);
  process.exit(1);
}
