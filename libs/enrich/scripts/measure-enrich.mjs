#!/usr/bin/env node
// Enrichment throughput against the local dnsmasq (tools/dns/ctl.sh, 10,000 bench PTRs 10.77.X.Y): enriches
// one aggregate report whose 10,000 records all have distinct source IPs, at several concurrency bounds, and
// prints wall time, queries/s and how the time compares with one round trip per concurrency slot.
//
//   npm run build && node libs/enrich/scripts/measure-enrich.mjs [--concurrency 1,8,32,128] [--delay-ms N] [--json]
//
// --delay-ms N puts a relay (delay-relay.mjs, a child process) in front of dnsmasq that holds every answer
// N ms, like a recursive resolver on the network: then the run time shows whether lookups overlap
// (about 10,000 / concurrency x N ms) or queue up one after another (10,000 x N ms).
// Not a test: numbers depend on the machine. Uses the built package (dist/).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createEnricher } from '@parsedmarc-ts/enrich';

const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const concurrencies = argValue('--concurrency', '1,8,32,128').split(',').map(Number);
const asJson = args.includes('--json');
const delayMs = Number(argValue('--delay-ms', '0'));

if (!process.env.PDM_DNS_SERVER) {
  const ctl = fileURLToPath(new URL('../../../tools/dns/ctl.sh', import.meta.url));
  execFileSync('bash', [ctl, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const [, k, v] of execFileSync('bash', [ctl, 'env'], { encoding: 'utf8' }).matchAll(
    /(PDM_DNS_[A-Z_]+)=(\S+)/g,
  )) {
    process.env[k] = v;
  }
}
let server = process.env.PDM_DNS_SERVER;
let relay = null;
if (delayMs > 0) {
  const script = fileURLToPath(new URL('./delay-relay.mjs', import.meta.url));
  relay = spawn(process.execPath, [script, server, String(delayMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await once(relay.stdout, 'data');
  server = `127.0.0.1:${/port (\d+)/.exec(String(line))[1]}`;
}

const N = 10_000;
const ips = Array.from({ length: N }, (_, i) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const record = (ip) => ({
  source: {
    ip_address: ip,
    country: null,
    reverse_dns: null,
    base_domain: null,
    name: null,
    type: null,
    asn: null,
    as_name: null,
    as_domain: null,
  },
  count: 1,
  alignment: { spf: true, dkim: true, dmarc: true },
  policy_evaluated: { disposition: 'none', dkim: 'pass', spf: 'pass', policy_override_reasons: [] },
  identifiers: { header_from: 'example.com', envelope_from: 'example.com', envelope_to: null },
  auth_results: { dkim: [], spf: [] },
  normalized_timespan: false,
  interval_begin: '2024-01-01 00:00:00',
  interval_end: '2024-01-01 23:59:59',
});
const report = {
  report_type: 'aggregate',
  report: {
    xml_schema: '1.0',
    report_metadata: {
      org_name: 'bench',
      org_email: null,
      org_extra_contact_info: null,
      report_id: 'bench',
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
    records: ips.map(record),
    xml_namespace: null,
  },
};

// One round trip: sequential single lookups of distinct addresses (median of 300).
async function roundTripMs() {
  const enricher = await createEnricher({ nameservers: [server], concurrency: 1 });
  const samples = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await enricher.ipInfo(ips[(i * 31) % N]);
    samples.push(performance.now() - t);
  }
  await enricher.close();
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rtt = await roundTripMs();
const results = [];
for (const concurrency of concurrencies) {
  const enricher = await createEnricher({ nameservers: [server], concurrency });
  const t = performance.now();
  const enriched = await enricher.enrichReport(report);
  const ms = performance.now() - t;
  const stats = enricher.stats();
  await enricher.close();
  const resolved = enriched.report.records.filter((r) => r.source.reverse_dns !== null).length;
  const slotRoundTrips = (N / concurrency) * rtt;
  results.push({
    concurrency,
    ms: Math.round(ms),
    queriesPerSecond: Math.round((stats.queries / ms) * 1000),
    resolved,
    queries: stats.queries,
    failures: stats.failures,
    timeouts: stats.timeouts,
    // wall time / (N / concurrency x one round trip): ~1 means every slot was always busy
    xSlotRoundTrips: Number((ms / slotRoundTrips).toFixed(2)),
  });
}

relay?.stdin.end();
if (asJson) {
  console.log(JSON.stringify({ server, delayMs, ips: N, roundTripMs: Number(rtt.toFixed(3)), results }));
} else {
  const via = delayMs > 0 ? ` (relay adding ${delayMs} ms)` : '';
  console.log(
    `enrich ${N} distinct IPs against ${server}${via}; one round trip (median) = ${rtt.toFixed(3)} ms`,
  );
  console.table(results);
}
