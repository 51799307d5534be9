#!/usr/bin/env node
/** sink-hec service: dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls → a Splunk HTTP Event Collector. */
import { runSinkService } from '@parsedmarc-ts/sinks/service';
import { openSinks } from '@parsedmarc-ts/sinks';
import { reportTopicsOf, serviceName, sinkHecEnv, sinkHecSecrets, sinksConfigOf } from './config.js';

process.env.TZ ??= 'UTC';

try {
  await runSinkService({
    name: serviceName,
    configSchema: sinkHecEnv,
    secrets: sinkHecSecrets,
    reportTopics: reportTopicsOf,
    openSinks: ({ config, clientId, warn }) => openSinks(sinksConfigOf(config), { clientId, warn }),
  });
} catch (error) {
  // A bad configuration (before the logger exists) or a sink that cannot be opened: one line, non-zero exit.
  process.stderr.write(`${serviceName}: ${(error as Error).message}\n`);
  process.exit(1);
}
