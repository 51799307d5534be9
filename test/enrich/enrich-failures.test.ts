// Resolver failures: a dead resolver (a UDP port that reads and never answers), SERVFAIL, REFUSED, and
// truncated UDP answers that must be asked again over TCP. The run must go on with null fields, and a dead
// resolver must cost about one timeout per concurrency slot, with one warning, not one per address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnricher } from '@parsedmarc-ts/enrich';
import { unenrichedSource, type AggregateRecord, type ParsedReport } from '@parsedmarc-ts/parser';
import {
  ensureDnsmasq,
  recordingLogger,
  startBlackHole,
  startScriptedServer,
  type BlackHole,
  type Dnsmasq,
} from './dns-servers.js';

const benchIps = (n: number, offset: number): string[] =>
  Array.from({ length: n }, (_, k) => {
    const i = (offset + k) % 10_000;
    return `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  });

function reportOf(ips: string[]): ParsedReport {
  const records = ips.map((ip): AggregateRecord => ({
    source: unenrichedSource(ip),
    count: 1,
    alignment: { spf: false, dkim: false, dmarc: false },
    policy_evaluated: { disposition: 'none', dkim: 'fail', spf: 'fail', policy_override_reasons: [] },
    identifiers: { header_from: 'example.com', envelope_from: null, envelope_to: null },
    auth_results: { dkim: [], spf: [] },
    normalized_timespan: false,
    interval_begin: '2024-01-01 00:00:00',
    interval_end: '2024-01-01 23:59:59',
  }));
  return {
    report_type: 'aggregate',
    report: {
      xml_schema: '1.0',
      report_metadata: {
        org_name: 'test',
        org_email: null,
        org_extra_contact_info: null,
        report_id: 'r',
        begin_date: '2024-01-01 00:00:00',
        end_date: '2024-01-01 23:59:59',
        errors: [],
        timespan_requires_normalization: false,
        original_timespan_seconds: 86399,
        generator: null,
      },
      policy_published: {
        domain: 'example.com',
        adkim: 'r',
        aspf: 'r',
        p: 'none',
        sp: 'none',
        pct: '100',
        fo: '0',
        np: null,
        testing: null,
        discovery_method: null,
      },
      records,
      xml_namespace: null,
    },
  };
}

const reverseDnsOf = (parsed: ParsedReport): (string | null)[] =>
  parsed.report_type === 'aggregate' ? parsed.report.records.map((r) => r.source.reverse_dns) : [];

let dns: Dnsmasq;
let hole: BlackHole;

beforeAll(async () => {
  dns = ensureDnsmasq();
  hole = await startBlackHole();
});
afterAll(() => hole.close());

describe('a dead resolver', () => {
  it('costs about timeout x (retries + 1) for the whole run, with one warning, not one per address', async () => {
    const logger = recordingLogger();
    const timeoutMs = 300;
    const retries = 1;
    const concurrency = 16;
    const enricher = await createEnricher({
      nameservers: [hole.server],
      timeoutMs,
      retries,
      concurrency,
      logger,
    });
    try {
      const received = hole.received();
      const ips = benchIps(200, 0);
      const started = performance.now();
      const enriched = await enricher.enrichReport(reportOf(ips));
      const elapsed = performance.now() - started;

      expect(reverseDnsOf(enriched)).toEqual(ips.map(() => null));
      if (enriched.report_type === 'aggregate') expect(enriched.report.records[0]?.source.country).toBeNull();
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]?.obj).toMatchObject({ nameserver: hole.server });
      // Only the first wave of lookups reached the dead server: at most one datagram per slot and attempt.
      // One-by-one lookups would have sent 400 and taken 200 x 600 ms / 16 slots = 7.5 s.
      const sent = hole.received() - received;
      expect(sent).toBeGreaterThanOrEqual(3);
      expect(sent).toBeLessThanOrEqual(concurrency * (retries + 1));
      expect(elapsed).toBeLessThan(timeoutMs * (retries + 1) * 5);
      expect(enricher.stats()).toMatchObject({ failures: 200, downNameservers: [hole.server] });

      // Later lookups fail at once without a query, and without another warning.
      const again = await enricher.ipInfo(benchIps(1, 500)[0] ?? '');
      expect(again.reverse_dns).toBeNull();
      expect(hole.received() - received).toBe(sent);
      expect(logger.warnings).toHaveLength(1);
    } finally {
      await enricher.close();
    }
  });

  it('is probed again with a single query once its down period has passed', async () => {
    const logger = recordingLogger();
    let now = 5_000_000;
    const enricher = await createEnricher({
      nameservers: [hole.server],
      timeoutMs: 100,
      concurrency: 4,
      resolverDownMs: 10_000,
      now: () => now,
      logger,
    });
    try {
      await enricher.enrichReport(reportOf(benchIps(8, 1000)));
      expect(enricher.stats().downNameservers).toEqual([hole.server]);
      const before = hole.received();
      now += 10_001;
      const results = await Promise.all(benchIps(6, 2000).map((ip) => enricher.ipInfo(ip)));
      expect(results.map((r) => r.reverse_dns)).toEqual(Array(6).fill(null));
      expect(hole.received() - before).toBe(1); // one probe, the other five fail at once
      expect(logger.warnings).toHaveLength(1);
    } finally {
      await enricher.close();
    }
  });

  it('that comes back and dies again is warned about again, once', async () => {
    let silent = true;
    const server = await startScriptedServer(() => (silent ? { drop: true } : { ptr: ['back.example.net'] }));
    const logger = recordingLogger();
    let now = 9_000_000;
    const enricher = await createEnricher({
      nameservers: [server.server],
      timeoutMs: 100,
      retries: 0,
      concurrency: 4,
      resolverDownMs: 10_000,
      cache: { failureTtlSeconds: 0 },
      now: () => now,
      logger,
    });
    try {
      await enricher.enrichReport(reportOf(benchIps(6, 5000)));
      expect(logger.warnings).toHaveLength(1);
      now += 10_001; // a probe fails: still down, no new warning
      await enricher.ipInfo(benchIps(1, 5100)[0] ?? '');
      expect(logger.warnings).toHaveLength(1);
      silent = false;
      now += 10_001; // the probe is answered: up again
      expect((await enricher.ipInfo(benchIps(1, 5200)[0] ?? '')).reverse_dns).toBe('back.example.net');
      expect(enricher.stats().downNameservers).toEqual([]);
      silent = true;
      now += 1; // queries sent after its last answer
      await enricher.enrichReport(reportOf(benchIps(6, 5300)));
      expect(logger.warnings).toHaveLength(2);
    } finally {
      await enricher.close();
      await server.close();
    }
  });

  it('next to a live one: every address is resolved through the live one, one warning for the dead one', async () => {
    const logger = recordingLogger();
    const enricher = await createEnricher({
      nameservers: [hole.server, dns.server],
      timeoutMs: 1000, // the live one must answer within it even on a loaded machine
      concurrency: 8,
      logger,
    });
    try {
      const ips = benchIps(100, 3000);
      const enriched = await enricher.enrichReport(reportOf(ips));
      expect(reverseDnsOf(enriched)).toEqual(
        ips.map((ip) => `host-${ip.replaceAll('.', '-')}.bench.example.net`),
      );
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]?.obj).toMatchObject({ nameserver: hole.server });
      expect(enricher.stats().failures).toBe(0);
    } finally {
      await enricher.close();
    }
  });
});

describe('a live resolver that loses datagrams', () => {
  it('is not marked down, and the retry gets the answers', async () => {
    // Every other address loses its first query; the others are answered at once, so the server is heard
    // from while the lost ones time out together.
    const seen = new Map<string, number>();
    const server = await startScriptedServer((qname) => {
      const n = (seen.get(qname) ?? 0) + 1;
      seen.set(qname, n);
      const odd = Number(qname.split('.')[0]) % 2 === 1;
      return odd && n === 1 ? { drop: true } : { ptr: [`ptr-${qname.split('.')[0]}.example.net`] };
    });
    const logger = recordingLogger();
    const enricher = await createEnricher({
      nameservers: [server.server],
      // Generous: on a loaded 2-core machine a 200 ms timeout also expires for answered queries, and the
      // test would be about load, not about lost datagrams.
      timeoutMs: 3000,
      // More than the one retry a lost datagram needs: a query answered but delayed past the timeout by a
      // busy machine is asked again too, so the outcome does not depend on load.
      retries: 3,
      concurrency: 16,
      logger,
    });
    try {
      const ips = Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`);
      const enriched = await enricher.enrichReport(reportOf(ips));
      expect(reverseDnsOf(enriched)).toEqual(ips.map((_, i) => `ptr-${i + 1}.example.net`));
      expect(logger.warnings).toEqual([]);
      // At least the 20 lost datagrams; on a loaded machine a late answer may add one.
      expect(enricher.stats().timeouts).toBeGreaterThanOrEqual(20);
      expect(enricher.stats()).toMatchObject({ failures: 0, downNameservers: [] });
    } finally {
      await enricher.close();
      await server.close();
    }
  });
});

describe('close()', () => {
  it('ends lookups in flight with null, without blaming the nameserver', async () => {
    const logger = recordingLogger();
    const enricher = await createEnricher({ nameservers: [hole.server], timeoutMs: 60_000, logger });
    const inFlight = Promise.all(benchIps(5, 4000).map((ip) => enricher.ipInfo(ip)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await enricher.close();
    expect((await inFlight).map((i) => i.reverse_dns)).toEqual(Array(5).fill(null));
    expect(logger.warnings).toEqual([]);
    expect(enricher.stats().downNameservers).toEqual([]);
  });
});

describe('answers other than a PTR', () => {
  it('SERVFAIL gives null, is cached briefly as a miss, and warns nobody', async () => {
    const server = await startScriptedServer(() => ({ rcode: 'SERVFAIL' }));
    const logger = recordingLogger();
    let now = 1_000;
    const enricher = await createEnricher({ nameservers: [server.server], now: () => now, logger });
    try {
      expect((await enricher.ipInfo('192.0.2.7')).reverse_dns).toBeNull();
      expect((await enricher.ipInfo('192.0.2.7')).reverse_dns).toBeNull();
      expect(server.udpQueries()).toBe(1);
      now += 31_000; // failureTtlSeconds (30) passed
      expect((await enricher.ipInfo('192.0.2.7')).reverse_dns).toBeNull();
      expect(server.udpQueries()).toBe(2);
      expect(enricher.stats()).toMatchObject({ failures: 2, cacheHits: 1 });
      expect(logger.warnings).toEqual([]);
    } finally {
      await enricher.close();
      await server.close();
    }
  });

  it('after a SERVFAIL, the next nameserver is asked', async () => {
    const failing = await startScriptedServer(() => ({ rcode: 'SERVFAIL' }));
    const enricher = await createEnricher({ nameservers: [failing.server, dns.server] });
    try {
      expect((await enricher.ipInfo('209.85.220.41')).reverse_dns).toBe('mail-sor-f41.google.com');
      expect(failing.udpQueries()).toBe(1);
    } finally {
      await enricher.close();
      await failing.close();
    }
  });

  it('REFUSED gives null and one warning for that nameserver', async () => {
    const server = await startScriptedServer(() => ({ rcode: 'REFUSED' }));
    const logger = recordingLogger();
    const enricher = await createEnricher({ nameservers: [server.server], logger });
    try {
      const results = await Promise.all(
        ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => enricher.ipInfo(ip)),
      );
      expect(results.map((r) => r.reverse_dns)).toEqual([null, null, null]);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]?.obj).toMatchObject({ nameserver: server.server, rcode: 5 });
    } finally {
      await enricher.close();
      await server.close();
    }
  });

  it('an IPv6 nameserver ([::1]:port) is asked over UDP and TCP like an IPv4 one', async () => {
    const server = await startScriptedServer(() => ({ ptr: ['v6.example.net'], truncateUdp: true }), '::1');
    const enricher = await createEnricher({ nameservers: [server.server] });
    try {
      expect((await enricher.ipInfo('2001:db8::1')).reverse_dns).toBe('v6.example.net');
      expect([server.udpQueries(), server.tcpQueries()]).toEqual([1, 1]);
    } finally {
      await enricher.close();
      await server.close();
    }
  });

  it('a truncated UDP answer is asked again over TCP', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `${'long-label-'.repeat(4)}${i}.relay.example.com`);
    const server = await startScriptedServer(() => ({ ptr: names, ttl: 600, truncateUdp: true }));
    const enricher = await createEnricher({ nameservers: [server.server] });
    try {
      const info = await enricher.ipInfo('198.51.100.20');
      expect(info).toMatchObject({ reverse_dns: names[0], base_domain: 'example.com' });
      expect(server.udpQueries()).toBe(1);
      expect(server.tcpQueries()).toBe(1);
      expect(enricher.stats().tcpQueries).toBe(1);
    } finally {
      await enricher.close();
      await server.close();
    }
  });
});
