#!/usr/bin/env node
/** sink-elastic service: dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls → Elasticsearch. */
import { runSinkService } from '@parsedmarc-ts/sinks/service';
import { openSinks } from '@parsedmarc-ts/sinks';
import { reportTopicsOf, serviceName, sinkElasticEnv, sinkElasticSecrets, sinksConfigOf } from './config.js';

process.env.TZ ??= 'UTC';

try {
  await runSinkService({
    name: serviceName,
    configSchema: sinkElasticEnv,
    secrets: sinkElasticSecrets,
    reportTopics: reportTopicsOf,
    openSinks: ({ config, clientId, warn }) => openSinks(sinksConfigOf(config), { clientId, warn }),
  });
} catch (error) {
  // A bad configuration (before the logger exists) or a sink that cannot be opened: one line, non-zero exit.
  process.stderr.write(`${serviceName}: ${(error as Error).message}\n`);
  process.exit(1);
}
