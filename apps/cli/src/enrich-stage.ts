/**
 * Enrichment in the embedded pipeline: the same library the enrich service uses. With --offline no DNS query
 * is made, but the country still comes from the bundled IP database (it needs no network).
 */
import { createEnricher, type Enricher } from '@parsedmarc-ts/enrich';
import type { ParsedReport } from '@parsedmarc-ts/parser';
import type { CliConfig } from './config.js';

export interface EnrichStage {
  enrich(parsed: ParsedReport): Promise<ParsedReport>;
  close(): Promise<void>;
  enricher: Enricher;
}

export async function createEnrichStage(
  config: CliConfig,
  warn: (obj: object, msg: string) => void,
): Promise<EnrichStage> {
  const enricher = await createEnricher({
    offline: config.dns.offline,
    nameservers: config.dns.nameservers,
    timeoutMs: config.dns.timeoutSeconds * 1000,
    retries: config.dns.retries,
    ipDbPath: config.ipDbPath ?? undefined,
    senderMapCsv: config.senderMapCsv ?? undefined,
    logger: { warn },
  });
  return {
    enricher,
    enrich: (parsed) => enricher.enrichReport(parsed),
    close: () => enricher.close(),
  };
}
