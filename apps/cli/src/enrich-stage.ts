/**
 * Enrichment in the embedded pipeline. Placeholder until the enrichment library lands (issue 3): the parser
 * output stays unenriched (all source fields null), exactly as with --offline and no IP database.
 */
import type { ParsedReport } from '@parsedmarc-ts/parser';
import type { CliConfig } from './config.js';

export interface EnrichStage {
  enrich(parsed: ParsedReport): Promise<ParsedReport>;
  close(): Promise<void>;
}

export async function createEnrichStage(
  _config: CliConfig,
  _warn: (obj: object, msg: string) => void,
): Promise<EnrichStage | null> {
  return null;
}
