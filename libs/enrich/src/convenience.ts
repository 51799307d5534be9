// The original API's single-address helpers (get_reverse_dns, get_ip_address_country, get_ip_address_info), for
// library users who look up one address at a time. Batch work should hold one Enricher instead: it keeps
// the cache, the in-flight sharing and the nameserver health between lookups.
import type { SourceInfo } from '@parsedmarc-ts/parser';
import { DnsClient, parseNameserver } from './dns-client.js';
import {
  DEFAULT_NAMESERVERS,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_MS,
  createEnricher,
  type EnrichOptions,
} from './enricher.js';
import { canonicalIp, parseIp, reverseName } from './ip.js';
import { bundledIpDatabasePath, openIpDatabaseShared } from './ip-database.js';

export interface ReverseDnsOptions {
  nameservers?: string[];
  timeoutMs?: number;
  retries?: number;
}

/** The PTR name of an address (without the trailing dot), or null when there is none or no answer came. */
export async function getReverseDns(ip: string, options: ReverseDnsOptions = {}): Promise<string | null> {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  const client = new DnsClient({
    nameservers: (options.nameservers ?? DEFAULT_NAMESERVERS).map(parseNameserver),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
  });
  try {
    const outcome = await client.queryPtr(reverseName(parsed));
    return outcome.kind === 'answer' ? outcome.name : null;
  } finally {
    await client.close();
  }
}

/** ISO country code of an address from the bundled DB-IP database (or dbPath), or null. */
export async function getIpAddressCountry(
  ip: string,
  options: { dbPath?: string } = {},
): Promise<string | null> {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  const db = await openIpDatabaseShared(options.dbPath ?? bundledIpDatabasePath());
  return db.lookup(canonicalIp(parsed)).country;
}

/** Everything enrichment knows about one address (a throwaway Enricher: no cache survives the call). */
export async function getIpAddressInfo(ip: string, options: EnrichOptions = {}): Promise<SourceInfo> {
  const enricher = await createEnricher(options);
  try {
    return await enricher.ipInfo(ip);
  } finally {
    await enricher.close();
  }
}
