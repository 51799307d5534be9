/**
 * The CLI's enricher: the enrichment library (the same the enrich service runs) set up from the command
 * line's settings. With --offline no DNS query is made, but the country still comes from the bundled IP
 * database (it needs no network).
 */
import { createEnricher, type Enricher } from '@parsedmarc-ts/enrich';
import type { CliConfig } from './config.js';

export function enricherOf(config: CliConfig, warn: (obj: object, msg: string) => void): Promise<Enricher> {
  return createEnricher({
    offline: config.dns.offline,
    nameservers: config.dns.nameservers,
    timeoutMs: config.dns.timeoutSeconds * 1000,
    retries: config.dns.retries,
    ipDbPath: config.ipDbPath ?? undefined,
    senderMapCsv: config.senderMapCsv ?? undefined,
    logger: { warn },
  });
}
