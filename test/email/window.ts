/**
 * A realistic month of aggregate reports for the digest tests, built in memory from a seeded generator:
 * two domains, a handful of reporters, legitimate senders (aligned) and a few failing ones (a forwarder,
 * a spoofer, a misconfigured newsletter service), one source that only appears on the last day; plus a
 * forensic and an SMTP TLS report.
 */
import type { AggregateRecord, AggregateReport, ParsedReport } from '@parsedmarc-ts/parser';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sender {
  ip: string;
  rdns: string | null;
  base: string | null;
  country: string;
  spf: boolean;
  dkim: boolean;
  daily: number;
  from?: number;
}

const senders: Record<string, Sender[]> = {
  'example.com': [
    {
      ip: '209.85.220.41',
      rdns: 'mail-sor-f41.google.com',
      base: 'google.com',
      country: 'US',
      spf: true,
      dkim: true,
      daily: 900,
    },
    {
      ip: '40.107.22.53',
      rdns: 'mail-am6eur05on2053.outbound.protection.outlook.com',
      base: 'outlook.com',
      country: 'NL',
      spf: true,
      dkim: true,
      daily: 420,
    },
    {
      ip: '198.2.130.12',
      rdns: 'mail130-12.atl131.mandrillapp.com',
      base: 'mandrillapp.com',
      country: 'US',
      spf: false,
      dkim: true,
      daily: 150,
    },
    {
      ip: '185.70.41.103',
      rdns: 'mail-41103.protonmail.ch',
      base: 'protonmail.ch',
      country: 'CH',
      spf: false,
      dkim: false,
      daily: 35,
    },
    { ip: '45.155.205.99', rdns: null, base: null, country: 'RU', spf: false, dkim: false, daily: 60 },
    {
      ip: '103.151.122.7',
      rdns: 'unassigned.psychz.net',
      base: 'psychz.net',
      country: 'HK',
      spf: false,
      dkim: false,
      daily: 240,
      from: 29,
    },
  ],
  'example.org': [
    {
      ip: '167.89.115.18',
      rdns: 'o1.ptr4321.example.org',
      base: 'sendgrid.net',
      country: 'US',
      spf: true,
      dkim: true,
      daily: 300,
    },
    {
      ip: '52.95.48.19',
      rdns: 'a48-19.smtp-out.amazonses.com',
      base: 'amazonses.com',
      country: 'IE',
      spf: true,
      dkim: false,
      daily: 120,
    },
    {
      ip: '91.198.174.192',
      rdns: 'relay.lists.example.net',
      base: 'example.net',
      country: 'DE',
      spf: false,
      dkim: false,
      daily: 25,
    },
  ],
};

const reporters = ['google.com', 'Outlook.com', 'Yahoo', 'Mail.Ru', 'Comcast'];

const day = (start: number, d: number): string => new Date(start + d * 86_400_000).toISOString().slice(0, 10);

/** 30 days of daily reports ending on `lastDay` (YYYY-MM-DD), as parsed reports. */
export function monthOfReports(lastDay = '2026-11-30', seed = 7): ParsedReport[] {
  const random = prng(seed);
  const start = Date.parse(`${lastDay}T00:00:00Z`) - 29 * 86_400_000;
  const out: ParsedReport[] = [];
  for (let d = 0; d < 30; d++) {
    const date = day(start, d);
    for (const [domain, list] of Object.entries(senders)) {
      for (const [r, org] of reporters.entries()) {
        const records: AggregateRecord[] = [];
        for (const s of list) {
          if (s.from !== undefined && d < s.from) continue;
          const weekend = new Date(`${date}T00:00:00Z`).getUTCDay() % 6 === 0 ? 0.45 : 1;
          const count = Math.round(
            (s.daily * weekend * (0.6 + 0.8 * random()) * (r === 0 ? 2 : 1)) / reporters.length,
          );
          if (count === 0) continue;
          records.push({
            source: {
              ip_address: s.ip,
              country: s.country,
              reverse_dns: s.rdns,
              base_domain: s.base,
              name: null,
              type: null,
              asn: null,
              as_name: null,
              as_domain: null,
            },
            count,
            alignment: { spf: s.spf, dkim: s.dkim, dmarc: s.spf || s.dkim },
            policy_evaluated: {
              disposition: s.spf || s.dkim ? 'none' : 'quarantine',
              dkim: s.dkim ? 'pass' : 'fail',
              spf: s.spf ? 'pass' : 'fail',
              policy_override_reasons: [],
            },
            identifiers: { header_from: domain, envelope_from: s.base ?? domain, envelope_to: null },
            auth_results: { dkim: [], spf: [] },
            normalized_timespan: false,
            interval_begin: `${date} 00:00:00`,
            interval_end: `${date} 23:59:59`,
          });
        }
        const report: AggregateReport = {
          xml_schema: '1.0',
          report_metadata: {
            org_name: org,
            org_email: `noreply-dmarc@${org.toLowerCase().replace(/[^a-z.]/g, '')}`,
            org_extra_contact_info: null,
            report_id: `${org}-${domain}-${date}`,
            begin_date: `${date} 00:00:00`,
            end_date: `${date} 23:59:59`,
            errors: [],
            timespan_requires_normalization: false,
            original_timespan_seconds: 86_399,
            generator: null,
          },
          policy_published: {
            domain,
            adkim: 'r',
            aspf: 'r',
            p: d < 20 || domain !== 'example.com' ? 'none' : 'quarantine',
            sp: 'none',
            pct: '100',
            fo: '1',
            np: null,
            testing: null,
            discovery_method: null,
          },
          records,
          xml_namespace: null,
        };
        out.push({ report_type: 'aggregate', report });
      }
    }
  }
  out.push({
    report_type: 'smtp_tls',
    report: {
      organization_name: 'Google Inc.',
      begin_date: `${lastDay}T00:00:00Z`,
      end_date: `${lastDay}T23:59:59Z`,
      contact_info: 'smtp-tls-reporting@google.com',
      report_id: `tls-${lastDay}`,
      policies: [
        {
          policy_domain: 'example.com',
          policy_type: 'sts',
          successful_session_count: 18_420,
          failed_session_count: 37,
          failure_details: [
            {
              result_type: 'certificate-expired',
              failed_session_count: 37,
              receiving_mx_hostname: 'mx2.example.com',
            },
          ],
        },
      ],
    },
  });
  return out;
}
