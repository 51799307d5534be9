// Enrichment against a real resolver: the project's dnsmasq on 127.0.0.1 (tools/dns/ctl.sh), with its
// query log to count the queries the server actually received.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnricher, parseIp, reverseName, type Enricher } from '@parsedmarc-ts/enrich';
import { parseAggregateReportXml, unenrichedSource } from '@parsedmarc-ts/parser';
import type { AggregateRecord, ForensicReport, ParsedReport, SmtpTlsReport } from '@parsedmarc-ts/parser';
import { parsedAggregateReportsToCsv } from '@parsedmarc-ts/output';
import { ensureDnsmasq, recordingLogger, type Dnsmasq } from './dns-servers.js';

const fixture = (p: string): string => new URL(`../fixtures/${p}`, import.meta.url).pathname;
const qnameOf = (ip: string): string => reverseName(parseIp(ip) ?? { version: 4, bytes: new Uint8Array(4) });
/** A bench address (10.77.X.Y has a PTR) that no other test in this run uses, so server counts are ours. */
let benchCounter = Math.floor(Math.random() * 9000);
const freshBenchIp = (): string => {
  const i = benchCounter++ % 10_000;
  return `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;
};
const benchName = (ip: string): string => `host-${ip.replaceAll('.', '-')}.bench.example.net`;
/** An address in TEST-NET-3 (no PTR: NXDOMAIN), random so that counts are ours. */
const freshNxIp = (): string => `203.0.113.${1 + Math.floor(Math.random() * 254)}`;

function recordFor(ip: string, count = 1): AggregateRecord {
  return {
    source: unenrichedSource(ip),
    count,
    alignment: { spf: true, dkim: false, dmarc: true },
    policy_evaluated: { disposition: 'none', dkim: 'fail', spf: 'pass', policy_override_reasons: [] },
    identifiers: { header_from: 'example.com', envelope_from: 'example.com', envelope_to: null },
    auth_results: { dkim: [], spf: [] },
    normalized_timespan: false,
    interval_begin: '2012-04-28 00:00:00',
    interval_end: '2012-04-28 23:59:59',
  };
}

function aggregateWith(records: AggregateRecord[]): ParsedReport {
  const report = parseAggregateReportXml(readFileSync(fixture('samples/aggregate/old_draft_from_wiki.xml')));
  return { report_type: 'aggregate', report: { ...report, records } };
}

/** Every key and value of `expected` is in `actual` (extra keys allowed: the newer fields). */
function expectSubset(actual: unknown, expected: unknown, path = '$'): void {
  if (expected !== null && typeof expected === 'object') {
    expect(actual, path).toBeTypeOf('object');
    if (Array.isArray(expected)) {
      expect(Array.isArray(actual), path).toBe(true);
      expect((actual as unknown[]).length, path).toBe(expected.length);
      expected.forEach((e, i) => expectSubset((actual as unknown[])[i], e, `${path}[${i}]`));
      return;
    }
    for (const [key, value] of Object.entries(expected)) {
      expect(actual as object, path).toHaveProperty([key]);
      expectSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  expect(actual, path).toEqual(expected);
}

let dns: Dnsmasq;

beforeAll(() => {
  dns = ensureDnsmasq();
});

describe('seed aggregate example', () => {
  const savedTz = process.env['TZ'];
  afterAll(() => {
    if (savedTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = savedTz;
  });

  it('is reproduced in JSON values and the CSV row when the resolver serves the PTR', async () => {
    // The seed was produced in America/New_York; begin/end dates are local time (Node re-reads TZ when set).
    process.env['TZ'] = 'America/New_York';
    const seedJson = JSON.parse(readFileSync(fixture('conformance/documented/aggregate.json'), 'utf8'));
    const [seedHeader = '', seedRow = ''] = readFileSync(fixture('conformance/documented/aggregate.csv'), 'utf8')
      .split(/\r?\n/)
      .filter((l) => l !== '');
    const report = parseAggregateReportXml(
      readFileSync(fixture('samples/aggregate/old_draft_from_wiki.xml')),
    );
    expect(report.records[0]?.source.reverse_dns).toBeNull(); // the parser leaves enrichment to us

    const enricher = await createEnricher({ nameservers: [dns.server] });
    try {
      const input: ParsedReport = { report_type: 'aggregate', report };
      const before = JSON.stringify(input);
      const enriched = await enricher.enrichReport(input);
      expect(JSON.stringify(input)).toBe(before); // input untouched
      if (enriched.report_type !== 'aggregate') throw new Error('not aggregate');

      expect(enriched.report.records[0]?.source).toMatchObject({
        ip_address: '72.150.241.94',
        country: 'US',
        reverse_dns: 'adsl-72-150-241-94.shv.bellsouth.net',
        base_domain: 'bellsouth.net',
      });
      expectSubset(JSON.parse(JSON.stringify(enriched.report)), seedJson);
      // Seed keys first, in the documented original's order.
      expect(Object.keys(enriched.report.records[0]?.source ?? {}).slice(0, 4)).toEqual(
        Object.keys(seedJson.records[0].source),
      );

      const seedColumns = seedHeader.split(',').length;
      const [header = '', row = ''] = parsedAggregateReportsToCsv(enriched.report)
        .split(/\r?\n/)
        .filter((l) => l !== '');
      expect(header.split(',').slice(0, seedColumns).join(',')).toBe(seedHeader);
      expect(row.split(',').slice(0, seedColumns).join(',')).toBe(seedRow);
    } finally {
      await enricher.close();
    }
  });
});

describe('reverse DNS against dnsmasq', () => {
  let enricher: Enricher;
  const logger = recordingLogger();
  beforeAll(async () => {
    enricher = await createEnricher({ nameservers: [dns.server], logger });
  });
  afterAll(() => enricher.close());

  it('resolves IPv6 PTRs (ip6.arpa nibbles), whatever the address spelling', async () => {
    const info = await enricher.ipInfo('2001:DB8:0:0::25');
    expect(info).toMatchObject({
      ip_address: '2001:DB8:0:0::25',
      reverse_dns: 'mx.example.org',
      base_domain: 'example.org',
    });
    expect((await enricher.ipInfo('2001:db8::25')).reverse_dns).toBe('mx.example.org');
  });

  it('looks up an IPv4-mapped IPv6 address under in-addr.arpa', async () => {
    const info = await enricher.ipInfo('::ffff:72.150.241.94');
    expect(info).toMatchObject({ reverse_dns: 'adsl-72-150-241-94.shv.bellsouth.net', country: 'US' });
  });

  it('names known senders from the shipped map, and leaves unknown ones null', async () => {
    expect(await enricher.ipInfo('209.85.220.41')).toMatchObject({
      reverse_dns: 'mail-sor-f41.google.com',
      base_domain: 'google.com',
      name: 'Google',
      type: 'Email Provider',
      country: 'US',
    });
    const ip = freshBenchIp();
    expect(await enricher.ipInfo(ip)).toMatchObject({
      reverse_dns: benchName(ip),
      base_domain: 'example.net',
      name: null,
      type: null,
      country: null, // private range: not in the country database
    });
  });

  it('gives null for NXDOMAIN, and caches the miss', async () => {
    const ip = freshNxIp();
    const mark = dns.logMark();
    expect(await enricher.ipInfo(ip)).toMatchObject({ reverse_dns: null, base_domain: null, name: null });
    expect(await enricher.ipInfo(ip)).toMatchObject({ reverse_dns: null });
    expect(dns.queriesSince(mark, qnameOf(ip))).toBe(1);
    expect(logger.warnings).toEqual([]); // NXDOMAIN is an answer, not a resolver problem
  });

  it('sends one query for N records from one IP (server count), sharing in-flight lookups', async () => {
    const ip = freshBenchIp();
    const others = [freshBenchIp(), freshBenchIp(), freshNxIp()];
    const records = [...Array.from({ length: 40 }, () => recordFor(ip)), ...others.map((o) => recordFor(o))];
    const mark = dns.logMark();
    const statsBefore = enricher.stats();
    const enriched = await enricher.enrichReport(aggregateWith(records));
    if (enriched.report_type !== 'aggregate') throw new Error('not aggregate');
    expect(enriched.report.records.filter((r) => r.source.reverse_dns === benchName(ip))).toHaveLength(40);
    expect(dns.queriesSince(mark, qnameOf(ip))).toBe(1);
    expect(enricher.stats().queries - statsBefore.queries).toBe(4);

    // Concurrent lookups outside a report share the one in flight too.
    const again = freshBenchIp();
    const mark2 = dns.logMark();
    const shared = enricher.stats().inflightShared;
    const infos = await Promise.all(Array.from({ length: 10 }, () => enricher.ipInfo(again)));
    expect(new Set(infos.map((i) => i.reverse_dns))).toEqual(new Set([benchName(again)]));
    expect(dns.queriesSince(mark2, qnameOf(again))).toBe(1);
    expect(enricher.stats().inflightShared - shared).toBe(9);
  });

  it('enriches forensic reports and leaves SMTP TLS reports alone', async () => {
    const seed = JSON.parse(
      readFileSync(fixture('conformance/documented/forensic.json'), 'utf8'),
    ) as ForensicReport;
    const forensic: ParsedReport = {
      report_type: 'forensic',
      report: { ...seed, source: unenrichedSource('209.85.220.41') },
    };
    const enriched = await enricher.enrichReport(forensic);
    if (enriched.report_type !== 'forensic') throw new Error('not forensic');
    expect(enriched.report.source).toMatchObject({
      reverse_dns: 'mail-sor-f41.google.com',
      base_domain: 'google.com',
    });
    expect(forensic.report.source.reverse_dns).toBeNull();
    expect(enriched.report.sample).toBe(seed.sample);

    const tls: ParsedReport = { report_type: 'smtp_tls', report: {} as SmtpTlsReport };
    expect(await enricher.enrichReport(tls)).toBe(tls);
  });
});

describe('cache lifetime', () => {
  it('keeps an answer for its TTL (dnsmasq serves TTL 1 s), then asks again', async () => {
    let now = 1_000_000;
    const enricher = await createEnricher({
      nameservers: [dns.server],
      now: () => now,
      cache: { minTtlSeconds: 0 },
    });
    try {
      const ip = freshBenchIp();
      const mark = dns.logMark();
      expect((await enricher.ipInfo(ip)).reverse_dns).toBe(benchName(ip));
      now += 900;
      expect((await enricher.ipInfo(ip)).reverse_dns).toBe(benchName(ip));
      expect(dns.queriesSince(mark, qnameOf(ip))).toBe(1);
      expect(enricher.stats().cacheHits).toBe(1);
      now += 200; // past the 1 s TTL
      expect((await enricher.ipInfo(ip)).reverse_dns).toBe(benchName(ip));
      expect(dns.queriesSince(mark, qnameOf(ip))).toBe(2);
    } finally {
      await enricher.close();
    }
  });

  it('keeps an answer at least minTtlSeconds (default 60 s)', async () => {
    let now = 1_000_000;
    const enricher = await createEnricher({ nameservers: [dns.server], now: () => now });
    try {
      const ip = freshBenchIp();
      const mark = dns.logMark();
      await enricher.ipInfo(ip);
      now += 59_000;
      await enricher.ipInfo(ip);
      expect(dns.queriesSince(mark, qnameOf(ip))).toBe(1);
      now += 2_000;
      await enricher.ipInfo(ip);
      expect(dns.queriesSince(mark, qnameOf(ip))).toBe(2);
    } finally {
      await enricher.close();
    }
  });
});

describe('offline and user sender map', () => {
  it('offline makes no DNS query at all, but still fills the country', async () => {
    const enricher = await createEnricher({ offline: true, nameservers: [dns.server] });
    try {
      const mark = dns.logMark();
      const enriched = await enricher.enrichReport(
        aggregateWith([recordFor('72.150.241.94'), recordFor('2001:db8::25')]),
      );
      if (enriched.report_type !== 'aggregate') throw new Error('not aggregate');
      expect(enriched.report.records.map((r) => r.source)).toEqual([
        { ...unenrichedSource('72.150.241.94'), country: 'US' },
        unenrichedSource('2001:db8::25'),
      ]);
      expect(dns.queriesSince(mark, qnameOf('72.150.241.94'))).toBe(0);
      expect(dns.queriesSince(mark, qnameOf('2001:db8::25'))).toBe(0);
      expect(enricher.stats().queries).toBe(0);
    } finally {
      await enricher.close();
    }
  });

  it("a user's CSV overrides the shipped map and adds to it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enrich-map-'));
    const csv = join(dir, 'map.csv');
    writeFileSync(
      csv,
      'base_domain,name,type\r\ngoogle.com,"Google, the Mail",Webmail\nbench.example.net,Bench Farm,Test\n',
    );
    const enricher = await createEnricher({ nameservers: [dns.server], senderMapCsv: csv });
    try {
      expect(await enricher.ipInfo('209.85.220.41')).toMatchObject({
        name: 'Google, the Mail',
        type: 'Webmail',
      });
      expect(await enricher.ipInfo(freshBenchIp())).toMatchObject({
        base_domain: 'example.net',
        name: 'Bench Farm',
        type: 'Test',
      });
      expect(await enricher.ipInfo('72.150.241.94')).toMatchObject({ name: 'AT&T', type: 'ISP' }); // shipped entry kept
    } finally {
      await enricher.close();
    }
  });
});
