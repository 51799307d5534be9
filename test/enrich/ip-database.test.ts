// Country (and ASN) from MMDB files: the bundled DB-IP database and a user's own, written here with a tiny
// MMDB writer so that both record shapes are read from a real file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EnrichError,
  createEnricher,
  getIpAddressCountry,
  normalizeIpRecord,
  openIpDatabase,
  bundledIpDatabasePath,
} from '@parsedmarc-ts/enrich';
import { buildMmdb } from './mmdb-writer.js';
import { recordingLogger } from './dns-servers.js';

function userDatabase(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'enrich-mmdb-')), 'user.mmdb');
  writeFileSync(
    path,
    buildMmdb([
      // MaxMind GeoLite2/GeoIP2 and DB-IP shape
      { cidr: '72.150.0.0/16', data: { country: { iso_code: 'CA', names: { en: 'Canada' } } } },
      // IPinfo Lite shape, with ASN fields
      {
        cidr: '2001:db8::/32',
        data: { country_code: 'jp', asn: 'AS64500', as_name: 'Example Net', as_domain: 'Google.COM' },
      },
      { cidr: '198.51.100.0/24', data: { country_code: 'NZ', asn: 'AS64501', as_name: 'Doc Networks Ltd' } },
    ]),
  );
  return path;
}

describe('IP record shapes', () => {
  it('normalizes flat, nested and MaxMind ASN records to one shape', () => {
    expect(normalizeIpRecord({ country_code: 'US' })).toEqual({
      country: 'US',
      asn: null,
      as_name: null,
      as_domain: null,
    });
    expect(normalizeIpRecord({ country: { iso_code: 'DE', names: { en: 'Germany' } } })).toMatchObject({
      country: 'DE',
    });
    expect(normalizeIpRecord({ registered_country: { iso_code: 'FR' } })).toMatchObject({ country: 'FR' });
    expect(normalizeIpRecord({ asn: 'AS15169', as_name: 'Google LLC', as_domain: 'GOOGLE.com' })).toEqual({
      country: null,
      asn: 15169,
      as_name: 'Google LLC',
      as_domain: 'google.com',
    });
    expect(
      normalizeIpRecord({ autonomous_system_number: 13335, autonomous_system_organization: 'CLOUDFLARENET' }),
    ).toMatchObject({
      asn: 13335,
      as_name: 'CLOUDFLARENET',
    });
    expect(normalizeIpRecord(null)).toEqual({ country: null, asn: null, as_name: null, as_domain: null });
    expect(normalizeIpRecord({ country_code: 42, asn: 'ASX' })).toEqual({
      country: null,
      asn: null,
      as_name: null,
      as_domain: null,
    });
  });
});

describe('bundled DB-IP country database', () => {
  it('gives the country of IPv4 and IPv6 addresses, and null for private ones', async () => {
    expect(await getIpAddressCountry('72.150.241.94')).toBe('US');
    // Deutsche Telekom's 2003::/19 is used in Germany only.
    expect(await getIpAddressCountry('2003:e0:1234::1')).toBe('DE');
    expect(await getIpAddressCountry('::ffff:72.150.241.94')).toBe('US');
    expect(await getIpAddressCountry('10.77.0.1')).toBeNull();
    expect(await getIpAddressCountry('not an ip')).toBeNull();
    const db = await openIpDatabase(bundledIpDatabasePath());
    expect(db.databaseType).toMatch(/country/);
  });
});

describe("a user's MMDB", () => {
  it('overrides the bundled database, in both record shapes, with ASN fields when present', async () => {
    const path = userDatabase();
    expect(await getIpAddressCountry('72.150.241.94', { dbPath: path })).toBe('CA');
    const enricher = await createEnricher({ offline: true, ipDbPath: path });
    try {
      expect(await enricher.ipInfo('72.150.241.94')).toMatchObject({ country: 'CA', asn: null });
      expect(await enricher.ipInfo('2001:db8::25')).toEqual({
        ip_address: '2001:db8::25',
        country: 'JP',
        reverse_dns: null,
        base_domain: null,
        // no PTR: attributed by the AS domain through the sender map
        name: 'Google',
        type: 'Email Provider',
        asn: 64500,
        as_name: 'Example Net',
        as_domain: 'google.com',
      });
      // no PTR and an unmapped AS: named by the AS name, without a type
      expect(await enricher.ipInfo('198.51.100.9')).toMatchObject({
        country: 'NZ',
        name: 'Doc Networks Ltd',
        type: null,
        asn: 64501,
      });
      expect(await enricher.ipInfo('8.8.8.8')).toMatchObject({ country: null });
    } finally {
      await enricher.close();
    }
  });

  it('a missing file falls back to the bundled database with a warning; a non-MMDB file is an error', async () => {
    const logger = recordingLogger();
    const enricher = await createEnricher({ offline: true, ipDbPath: '/nonexistent/x.mmdb', logger });
    expect((await enricher.ipInfo('72.150.241.94')).country).toBe('US');
    expect(logger.warnings).toHaveLength(1);
    await enricher.close();

    const bogus = join(mkdtempSync(join(tmpdir(), 'enrich-mmdb-')), 'bogus.mmdb');
    writeFileSync(bogus, 'not a database');
    await expect(createEnricher({ offline: true, ipDbPath: bogus })).rejects.toSatisfy(
      (err: unknown) => EnrichError.is(err) && err.code === 'IP_DATABASE',
    );
  });
});
