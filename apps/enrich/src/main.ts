#!/usr/bin/env node
/** enrich service: dmarc_parsed → dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls. */
import { createEnricher } from '@parsedmarc-ts/enrich';
import { runStageService } from '@parsedmarc-ts/kafka';
import { enrichEnv } from './config.js';
import { createEnrichStage, stageName } from './stage.js';

process.env.TZ ??= 'UTC';

try {
  await runStageService({
    name: stageName,
    configSchema: enrichEnv,
    input: 'parsed',
    outputs: ['aggregate', 'forensic', 'smtpTls'],
    createStage: async ({ config, topics, codec, logger }) => {
      const enricher = await createEnricher({
        offline: config.ENRICH_OFFLINE,
        nameservers: config.DNS_NAMESERVERS,
        timeoutMs: config.DNS_TIMEOUT_MS,
        retries: config.DNS_RETRIES,
        concurrency: config.DNS_CONCURRENCY,
        ipDbPath: config.IP_DB_PATH,
        senderMapCsv: config.SENDER_MAP_CSV,
        logger: { warn: (obj: object, msg: string) => logger.warn(obj, msg) },
      });
      return createEnrichStage({
        codec,
        topics,
        enrich: (parsed) => enricher.enrichReport(parsed),
        close: () => enricher.close(),
      });
    },
  });
} catch (error) {
  process.stderr.write(`enrich: ${(error as Error).message}\n`);
  process.exit(1);
}
