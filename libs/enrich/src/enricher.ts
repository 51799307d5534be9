// The enrichment step: fills the `source` fields of parsed reports (reverse DNS, base domain, country, sender
// name/type, ASN when the IP database has it). A separate step after parsing, so stored reports can be
// re-enriched later. PTR lookups run concurrently under a bound, identical lookups in flight are shared, and
// outcomes are cached (answers for their TTL, failures briefly).
import { existsSync } from 'node:fs';
import type { AggregateRecord, ParsedReport, SourceInfo } from '@parsedmarc-ts/parser';
import { getBaseDomain } from './base-domain.js';
import { DnsClient, parseNameserver, type DnsWarningLogger, type PtrOutcome } from './dns-client.js';
import { EnrichError } from './errors.js';
import { canonicalIp, parseIp, reverseName } from './ip.js';
import {
  bundledIpDatabasePath,
  emptyIpRecord,
  openIpDatabaseShared,
  type IpDatabase,
} from './ip-database.js';
import { readSenderMapCsv, SenderMap } from './sender-map.js';
import { Semaphore, TtlCache } from './ttl-cache.js';

/** Cloudflare's public resolvers, the original's default. */
export const DEFAULT_NAMESERVERS: readonly string[] = ['1.1.1.1', '1.0.0.1'];
export const DEFAULT_TIMEOUT_MS = 2000;
// One retry: a lost UDP datagram should not cost an answer (the original's resolver also retries within its
// timeout). A dead resolver is still bounded: it is marked down after the first timeouts.
export const DEFAULT_RETRIES = 1;
export const DEFAULT_CONCURRENCY = 32;

export interface EnrichCacheOptions {
  /** Most PTR outcomes kept (oldest dropped first). Default 100,000. */
  maxEntries?: number;
  /** Answers are kept for their TTL, but at least this long (seconds). Default 60. */
  minTtlSeconds?: number;
  /** ...and at most this long (seconds). Default 86,400. */
  maxTtlSeconds?: number;
  /** NXDOMAIN/no PTR without an SOA to say how long: kept this long (seconds). Default 60. */
  negativeTtlSeconds?: number;
  /** Upper bound for the SOA-given negative TTL (seconds). Default 300. */
  maxNegativeTtlSeconds?: number;
  /** SERVFAIL, REFUSED and timeouts are kept as misses this long (seconds). Default 30. */
  failureTtlSeconds?: number;
}

export interface EnrichOptions {
  /** "ip", "ip:port" or "[ipv6]:port". Default Cloudflare 1.1.1.1 and 1.0.0.1. */
  nameservers?: string[];
  /** Per query attempt (one datagram, or one TCP exchange), in ms. Default 2000. */
  timeoutMs?: number;
  /** Extra passes over the nameservers when none answered. Default 1. */
  retries?: number;
  /** No DNS query at all: reverse_dns, base_domain (and PTR-derived name/type) stay null. */
  offline?: boolean;
  /** PTR lookups in flight at once. Default 32. */
  concurrency?: number;
  /** The user's own MMDB (MaxMind GeoLite2/GeoIP2, DB-IP, IPinfo Lite, or ip-location-db shape). */
  ipDbPath?: string;
  /** The user's CSV (base_domain,name,type); its entries override the shipped map's. */
  senderMapCsv?: string;
  logger?: DnsWarningLogger;
  cache?: EnrichCacheOptions;
  /** How long a nameserver that stopped answering is skipped before it is probed again (ms). Default 30,000. */
  resolverDownMs?: number;
  /** Clock (ms), replaceable in tests. */
  now?: () => number;
}

export interface EnrichStats {
  /** DNS queries sent (UDP datagrams and TCP exchanges). */
  queries: number;
  /** PTR lookups answered from the cache. */
  cacheHits: number;
  /** PTR lookups that joined an identical lookup already in flight. */
  inflightShared: number;
  /** PTR lookups that ended without an answer for another reason than NXDOMAIN/no PTR: SERVFAIL, REFUSED, timeout, every nameserver down. */
  failures: number;
  /** PTR lookups that went to the nameservers (not cached, not shared). */
  lookups: number;
  /** Lookups answered with a PTR name. */
  answers: number;
  /** Lookups answered NXDOMAIN or without a PTR record. */
  negatives: number;
  /** Query attempts that got no answer in time. */
  timeouts: number;
  tcpQueries: number;
  cacheSize: number;
  /** Nameservers currently skipped after repeated timeouts. */
  downNameservers: string[];
}

export interface Enricher {
  /** Everything enrichment knows about one address. Never throws; unknown fields are null. */
  ipInfo(ip: string): Promise<SourceInfo>;
  /**
   * Fills the source fields of every aggregate record, or of the forensic report. Returns a new object
   * (sharing the untouched parts); the input is not modified. SMTP TLS reports come back unchanged.
   */
  enrichReport<T extends ParsedReport>(parsed: T): Promise<T>;
  /** Enriched copies of aggregate records (for streaming callers that hold records, not whole reports). */
  enrichRecords(records: readonly AggregateRecord[]): Promise<AggregateRecord[]>;
  stats(): EnrichStats;
  close(): Promise<void>;
}

const defaults = {
  maxEntries: 100_000,
  minTtlSeconds: 60,
  maxTtlSeconds: 86_400,
  negativeTtlSeconds: 60,
  maxNegativeTtlSeconds: 300,
  failureTtlSeconds: 30,
} satisfies Required<EnrichCacheOptions>;

function checkNumber(name: string, value: number, min: number, integer: boolean): number {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new EnrichError(
      'INVALID_OPTION',
      `${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`,
      {
        source: name,
      },
    );
  }
  return value;
}

/**
 * Sets up an enricher: reads the IP database (bundled DB-IP country, or ipDbPath) and the sender map once.
 * Throws EnrichError for invalid options, an unreadable sender map or a file that is not an MMDB.
 */
export async function createEnricher(options: EnrichOptions = {}): Promise<Enricher> {
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, false);
  const retries = checkNumber('retries', options.retries ?? DEFAULT_RETRIES, 0, true);
  const concurrency = checkNumber('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY, 1, true);
  const cacheOptions = { ...defaults, ...options.cache };
  for (const [key, value] of Object.entries(cacheOptions))
    checkNumber(`cache.${key}`, value, 0, key === 'maxEntries');
  const nameservers = (options.nameservers ?? DEFAULT_NAMESERVERS).map(parseNameserver);
  if (!options.offline && nameservers.length === 0) {
    throw new EnrichError('INVALID_OPTION', 'no nameservers given (use offline to make no DNS queries)', {
      source: 'nameservers',
    });
  }

  let ipDbPath = options.ipDbPath;
  if (ipDbPath !== undefined && !existsSync(ipDbPath)) {
    // Like the original: a missing user database is not fatal, the bundled one answers instead.
    options.logger?.warn(
      { ipDbPath },
      `No IP database at ${ipDbPath}; using the bundled DB-IP country database`,
    );
    ipDbPath = undefined;
  }
  const [ipDb, userMap] = await Promise.all([
    openIpDatabaseShared(ipDbPath ?? bundledIpDatabasePath()),
    options.senderMapCsv === undefined ? Promise.resolve([]) : readSenderMapCsv(options.senderMapCsv),
  ]);
  const now = options.now ?? Date.now;
  const dns = options.offline
    ? null
    : new DnsClient({
        nameservers,
        timeoutMs,
        retries,
        now,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.resolverDownMs !== undefined ? { downForMs: options.resolverDownMs } : {}),
      });
  return new DefaultEnricher(ipDb, SenderMap.withShipped(userMap), dns, concurrency, cacheOptions, now);
}

class DefaultEnricher implements Enricher {
  private readonly cache: TtlCache<string | null>;
  private readonly inflight = new Map<string, Promise<string | null>>();
  private readonly limiter: Semaphore;
  private readonly counters = {
    cacheHits: 0,
    inflightShared: 0,
    failures: 0,
    lookups: 0,
    answers: 0,
    negatives: 0,
  };

  constructor(
    private readonly ipDb: IpDatabase,
    private readonly senderMap: SenderMap,
    private readonly dns: DnsClient | null,
    concurrency: number,
    private readonly cacheOptions: Required<EnrichCacheOptions>,
    now: () => number,
  ) {
    this.cache = new TtlCache(cacheOptions.maxEntries, now);
    this.limiter = new Semaphore(concurrency);
  }

  async ipInfo(ip: string): Promise<SourceInfo> {
    const parsed = parseIp(ip);
    if (!parsed) return source(ip, null, null, null, null, emptyIpRecord);
    const db = this.ipDb.lookup(canonicalIp(parsed));
    const reverseDns = this.dns ? await this.reverseDns(reverseName(parsed)) : null;
    if (reverseDns !== null) {
      const baseDomain = getBaseDomain(reverseDns);
      const service = baseDomain === null ? null : this.senderMap.lookup(reverseDns, baseDomain);
      return source(ip, reverseDns, baseDomain, service?.name ?? null, service?.type ?? null, db);
    }
    // No PTR: like the later original, attribute the sender by its network's domain (if the database has
    // one and it is mapped), or else name it by the network's AS name, without a type.
    const byAsDomain = db.as_domain === null ? null : this.senderMap.get(db.as_domain);
    if (byAsDomain) return source(ip, null, null, byAsDomain.name, byAsDomain.type, db);
    return source(ip, null, null, db.as_name, null, db);
  }

  async enrichReport<T extends ParsedReport>(parsed: T): Promise<T> {
    if (parsed.report_type === 'aggregate') {
      const records = await this.enrichRecords(parsed.report.records);
      return { ...parsed, report: { ...parsed.report, records } };
    }
    if (parsed.report_type === 'forensic') {
      const info = await this.ipInfo(parsed.report.source.ip_address);
      return { ...parsed, report: { ...parsed.report, source: info } };
    }
    return parsed;
  }

  async enrichRecords(records: readonly AggregateRecord[]): Promise<AggregateRecord[]> {
    // One ipInfo per distinct address; the records of a report repeat addresses a lot.
    const byIp = new Map<string, Promise<SourceInfo>>();
    for (const record of records) {
      const ip = record.source.ip_address;
      if (!byIp.has(ip)) byIp.set(ip, this.ipInfo(ip));
    }
    const infos = new Map<string, SourceInfo>();
    await Promise.all([...byIp].map(async ([ip, info]) => infos.set(ip, await info)));
    return records.map((record) => ({
      ...record,
      source: { ...(infos.get(record.source.ip_address) ?? record.source) },
    }));
  }

  stats(): EnrichStats {
    const dnsStats = this.dns?.stats;
    return {
      queries: dnsStats?.queries ?? 0,
      ...this.counters,
      timeouts: dnsStats?.timeouts ?? 0,
      tcpQueries: dnsStats?.tcpQueries ?? 0,
      cacheSize: this.cache.size,
      downNameservers: this.dns?.downNameservers() ?? [],
    };
  }

  async close(): Promise<void> {
    await this.dns?.close();
    this.cache.clear();
  }

  private reverseDns(qname: string): Promise<string | null> {
    const cached = this.cache.get(qname);
    if (cached) {
      this.counters.cacheHits++;
      return Promise.resolve(cached.value);
    }
    const inflight = this.inflight.get(qname);
    if (inflight) {
      this.counters.inflightShared++;
      return inflight;
    }
    const dns = this.dns;
    if (!dns) return Promise.resolve(null);
    this.counters.lookups++;
    const lookup = this.limiter
      .run(() => dns.queryPtr(qname))
      .then((outcome) => this.remember(qname, outcome))
      .finally(() => this.inflight.delete(qname));
    this.inflight.set(qname, lookup);
    return lookup;
  }

  private remember(qname: string, outcome: PtrOutcome): string | null {
    const c = this.cacheOptions;
    switch (outcome.kind) {
      case 'answer':
        this.counters.answers++;
        this.cache.set(
          qname,
          outcome.name,
          clamp(outcome.ttlSeconds, c.minTtlSeconds, c.maxTtlSeconds) * 1000,
        );
        return outcome.name;
      case 'nxdomain':
      case 'nodata':
        this.counters.negatives++;
        this.cache.set(
          qname,
          null,
          Math.min(outcome.ttlSeconds ?? c.negativeTtlSeconds, c.maxNegativeTtlSeconds) * 1000,
        );
        return null;
      case 'servfail':
      case 'refused':
      case 'timeout':
        this.counters.failures++;
        this.cache.set(qname, null, c.failureTtlSeconds * 1000);
        return null;
      case 'unavailable':
        // Nothing was asked: not cached, so the address is looked up once a nameserver is back.
        this.counters.failures++;
        return null;
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** A SourceInfo in the output's key order. */
function source(
  ip: string,
  reverseDns: string | null,
  baseDomain: string | null,
  name: string | null,
  type: string | null,
  db: { country: string | null; asn: number | null; as_name: string | null; as_domain: string | null },
): SourceInfo {
  return {
    ip_address: ip,
    country: db.country,
    reverse_dns: reverseDns,
    base_domain: baseDomain,
    name,
    type,
    asn: db.asn,
    as_name: db.as_name,
    as_domain: db.as_domain,
  };
}
