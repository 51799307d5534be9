/**
 * Search documents of the real sample reports, parsed with @parsedmarc-ts/parser: the fields and value
 * formats of the original's elastic.py, index names, and ids that stay the same when a report is parsed
 * again (other containers, parts, another local time zone) and differ between records and reports.
 *
 * Golden files: test/golden/search/<family>/<sample>.json pin whole documents for a few samples;
 * `UPDATE_GOLDEN=1 TZ=UTC npx vitest run libs/output/src/search` rewrites them (review the diff).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { gzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import {
  formatUtc,
  parseReports,
  type AggregateReport,
  type ForensicReport,
  type ParsedReport,
  type ParseOutcome,
  type SmtpTlsReport,
} from '@parsedmarc-ts/parser';
import { searchDocumentsOf, type SearchDocument } from './documents.js';
import { type SearchIndexOptions } from './names.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const samples = join(root, 'test/fixtures/samples');
const goldenDir = join(root, 'test/golden/search');

async function outcomesOf(
  bytes: Uint8Array,
  source: string,
  aggregatePartRecords?: number,
): Promise<Extract<ParseOutcome, { ok: true }>[]> {
  const outcomes: Extract<ParseOutcome, { ok: true }>[] = [];
  for await (const outcome of parseReports(bytes, {
    source,
    ...(aggregatePartRecords ? { aggregatePartRecords } : {}),
  })) {
    if (!outcome.ok) throw new Error(`${source}: ${outcome.error.message}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

const readSample = (name: string): Uint8Array => new Uint8Array(readFileSync(join(samples, name)));

async function parsedSample(name: string): Promise<ParsedReport> {
  const outcomes = await outcomesOf(readSample(name), name);
  expect(outcomes).toHaveLength(1);
  return outcomes[0]!.parsed;
}

function documentsOf(
  parsed: ParsedReport,
  options: SearchIndexOptions = {},
  firstRecord = 0,
): SearchDocument[] {
  const result = searchDocumentsOf(parsed, options, firstRecord);
  if (!result.ok) throw new Error(result.reason);
  return result.documents;
}

const aggregateOf = (parsed: ParsedReport): AggregateReport => {
  if (parsed.report_type !== 'aggregate') throw new Error(`not aggregate: ${parsed.report_type}`);
  return parsed.report;
};

/** Compares with test/golden/search/<path>.json; UPDATE_GOLDEN=1 rewrites it. */
function expectGolden(path: string, documents: SearchDocument[]): void {
  const file = join(goldenDir, `${path}.json`);
  const json = `${JSON.stringify(documents, null, 2)}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, json);
  }
  expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(json).toBe(readFileSync(file, 'utf8'));
}

/** Every key path holding null, [] or {}: the original's documents have none (skip_empty). */
function emptyPaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => emptyPaths(v, `${path}.${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = path === '' ? k : `${path}.${k}`;
    const empty =
      v === null ||
      v === undefined ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
    return empty ? [here] : emptyPaths(v, here);
  });
}

/** The top-level fields the newer original writes in an aggregate document. */
const aggregateFields = [
  'xml_schema',
  'xml_namespace',
  'org_name',
  'org_email',
  'org_extra_contact_info',
  'report_id',
  'date_range',
  'date_begin',
  'date_end',
  'normalized_timespan',
  'errors',
  'published_policy',
  'source_ip_address',
  'source_country',
  'source_reverse_dns',
  'source_base_domain',
  'source_type',
  'source_name',
  'source_asn',
  'source_as_name',
  'source_as_domain',
  'message_count',
  'disposition',
  'dkim_aligned',
  'spf_aligned',
  'header_from',
  'envelope_from',
  'envelope_to',
  'np',
  'testing',
  'discovery_method',
  'generator',
  'policy_overrides',
  'dkim_results',
  'dkim_results_combined',
  'spf_results',
  'spf_results_combined',
  'passed_dmarc',
];

const aggregateGoldens = [
  'aggregate/old_draft_from_wiki.xml',
  'aggregate/empty_reason.xml',
  'aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml',
  'aggregate/rfc9990-sample.xml',
  'aggregate/invalid_xml.xml',
  'aggregate_invalid/report_with_upper_cased_pass.xml',
];
const forensicGoldens = [
  'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
  'failure/dmarc_ruf_report_linkedin.eml',
  'failure/exim_plain_text_only_no_arf_part.eml',
];
const smtpTlsGoldens = [
  'smtp_tls/rfc8460.json',
  'smtp_tls/smtp_tls.json',
  'smtp_tls/google.com_smtp_tls_report.eml',
];

describe('golden documents', () => {
  it.each([...aggregateGoldens, ...forensicGoldens, ...smtpTlsGoldens])('%s', async (name) => {
    const documents = documentsOf(await parsedSample(name));
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) expect(emptyPaths(document.body)).toEqual([]);
    expectGolden(name, documents);
  });
});

describe('aggregate documents', () => {
  it('writes one document per record with the fields and value formats of the original', async () => {
    const [document, ...rest] = documentsOf(await parsedSample('aggregate/old_draft_from_wiki.xml'));
    expect(rest).toEqual([]);
    const body = document!.body;
    expect(document!.index).toBe('dmarc_aggregate-2012-04-28');
    // Dates: what elasticsearch-dsl sends for a timezone-aware UTC datetime (isoformat).
    expect(body['date_begin']).toBe('2012-04-28T00:00:00+00:00');
    expect(body['date_end']).toBe('2012-04-28T23:59:59+00:00');
    expect(body['date_range']).toEqual(['2012-04-28T00:00:00+00:00', '2012-04-28T23:59:59+00:00']);
    // pct is an Integer field of the original's document: sent as a number; fo stays text.
    expect(body['published_policy']).toEqual({
      domain: 'example.com',
      adkim: 'r',
      aspf: 'r',
      p: 'none',
      sp: 'none',
      pct: 100,
      fo: '0',
    });
    expect(body).toMatchObject({
      xml_schema: 'draft',
      org_name: 'acme.com',
      org_email: 'noreply-dmarc-support@acme.com',
      org_extra_contact_info: 'http://acme.com/dmarc/support',
      report_id: '9391651994964116463',
      normalized_timespan: false,
      source_ip_address: '72.150.241.94',
      message_count: 2,
      disposition: 'none',
      dkim_aligned: false,
      spf_aligned: true,
      passed_dmarc: true,
      header_from: 'example.com',
      envelope_from: 'example.com',
      dkim_results: [{ domain: 'example.com', selector: 'none', result: 'fail' }],
      dkim_results_combined: ['none / example.com / fail'],
      spf_results: [{ domain: 'example.com', scope: 'mfrom', result: 'pass' }],
      spf_results_combined: ['mfrom / example.com / pass'],
    });
    // Nulls and empty lists are left out (skip_empty), never sent as null.
    for (const absent of [
      'xml_namespace',
      'errors',
      'envelope_to',
      'source_country',
      'np',
      'policy_overrides',
    ]) {
      expect(body).not.toHaveProperty(absent);
    }
  });

  it('writes only the fields of the original, in its order', async () => {
    const names = [
      'aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml',
      'aggregate/rfc9990-sample.xml',
      'aggregate/empty_reason.xml',
      'aggregate/invalid_xml.xml',
      'extract_report/nice-input.xml',
    ];
    const seen = new Set<string>();
    for (const name of names) {
      for (const { body } of documentsOf(await parsedSample(name))) {
        const keys = Object.keys(body);
        expect(keys.filter((k) => !aggregateFields.includes(k))).toEqual([]);
        expect(keys).toEqual(aggregateFields.filter((k) => keys.includes(k)));
        keys.forEach((k) => seen.add(k));
      }
    }
    // The samples exercise the DMARCbis fields (also under published_policy), overrides and errors.
    for (const k of ['np', 'testing', 'discovery_method', 'policy_overrides', 'errors', 'xml_namespace']) {
      expect(seen).toContain(k);
    }
  });

  it('puts the DMARCbis policy fields under published_policy and at the top level', async () => {
    const [first] = documentsOf(
      await parsedSample('aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml'),
    );
    const policy = first!.body['published_policy'] as Record<string, unknown>;
    for (const k of ['np', 'testing', 'discovery_method'] as const) {
      expect(policy[k]).toBeDefined();
      expect(first!.body[k]).toBe(policy[k]);
    }
  });

  it('keeps policy override reasons as {type, comment}, without the null halves', async () => {
    const documents = documentsOf(await parsedSample('aggregate/empty_reason.xml'));
    const report = aggregateOf(await parsedSample('aggregate/empty_reason.xml'));
    const reasons = report.records[0]!.policy_evaluated.policy_override_reasons;
    expect(reasons.length).toBeGreaterThan(0);
    expect(documents[0]!.body['policy_overrides']).toEqual(
      reasons.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null))),
    );
  });

  it('has one document per record, with the counts of the report', async () => {
    const parsed = await parsedSample('aggregate/!large-example.com!1711897200!1711983600.xml');
    const report = aggregateOf(parsed);
    const documents = documentsOf(parsed);
    expect(documents).toHaveLength(report.records.length);
    const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    expect(total(documents.map((d) => d.body['message_count'] as number))).toBe(
      total(report.records.map((r) => r.count)),
    );
    // Distinct ids for every record, even identical rows.
    expect(new Set(documents.map((d) => d.id)).size).toBe(documents.length);
  });

  it('dates each record by its own UTC interval: a report spanning days lands in one index per day', async () => {
    const xml = new TextDecoder()
      .decode(readSample('aggregate/old_draft_from_wiki.xml'))
      // 2012-04-28 12:00:00 to 2012-05-01 11:59:59 UTC: four UTC days.
      .replace('<begin>1335571200</begin>', '<begin>1335614400</begin>')
      .replace('<end>1335657599</end>', '<end>1335873599</end>')
      .replace('<count>2</count>', '<count>400</count>');
    const [outcome] = await outcomesOf(new TextEncoder().encode(xml), 'days.xml');
    const documents = documentsOf(outcome!.parsed);
    expect(documents.map((d) => d.index)).toEqual([
      'dmarc_aggregate-2012-04-28',
      'dmarc_aggregate-2012-04-29',
      'dmarc_aggregate-2012-04-30',
      'dmarc_aggregate-2012-05-01',
    ]);
    expect(documents.map((d) => d.body['date_begin'])).toEqual([
      '2012-04-28T12:00:00+00:00',
      '2012-04-29T00:00:00+00:00',
      '2012-04-30T00:00:00+00:00',
      '2012-05-01T00:00:00+00:00',
    ]);
    expect(documents.every((d) => d.body['normalized_timespan'] === true)).toBe(true);
    expect(documents.reduce((n, d) => n + (d.body['message_count'] as number), 0)).toBe(400);
    expect(new Set(documents.map((d) => d.id)).size).toBe(4);
    expect(documentsOf(outcome!.parsed, { monthly: true }).map((d) => d.index)).toEqual([
      'dmarc_aggregate-2012-04',
      'dmarc_aggregate-2012-04',
      'dmarc_aggregate-2012-04',
      'dmarc_aggregate-2012-05',
    ]);
  });

  it('names indexes with the prefix as written and the suffix joined with "_"', async () => {
    const parsed = await parsedSample('aggregate/old_draft_from_wiki.xml');
    const index = (options: SearchIndexOptions): string => documentsOf(parsed, options)[0]!.index;
    expect(index({ prefix: 'acme-' })).toBe('acme-dmarc_aggregate-2012-04-28');
    expect(index({ suffix: 'eu' })).toBe('dmarc_aggregate_eu-2012-04-28');
    expect(index({ prefix: 'x', suffix: 'eu', monthly: true })).toBe('xdmarc_aggregate_eu-2012-04');
    expect(index({ prefix: '', suffix: '' })).toBe('dmarc_aggregate-2012-04-28');
  });

  it("normalizes IP addresses as the original's Ip field does", async () => {
    const documents = documentsOf(await parsedSample('extract_report/nice-input.xml'));
    const ips = documents.map((d) => d.body['source_ip_address'] as string);
    expect(ips.some((ip) => ip.includes(':'))).toBe(true);
    for (const ip of ips) expect(ip).toBe(ip.toLowerCase());
  });
});

describe('aggregate document ids', () => {
  const name = 'aggregate/!large-example.com!1711897200!1711983600.xml';

  it('are the same when the same bytes are parsed again, in any container', async () => {
    const bytes = readSample(name);
    const ids = async (input: Uint8Array): Promise<string[]> =>
      (await outcomesOf(input, 'x')).flatMap((o) => documentsOf(o.parsed).map((d) => d.id));
    const plain = await ids(bytes);
    expect(plain.length).toBeGreaterThan(1000);
    expect(await ids(gzipSync(bytes))).toEqual(plain);
    expect(await ids(zipSync({ 'report.xml': bytes }))).toEqual(plain);
  });

  /** A huge report's documents from its parts, each part's position counted from the records before it. */
  async function documentsInParts(bytes: Uint8Array, partRecords: number): Promise<SearchDocument[]> {
    const outcomes = await outcomesOf(bytes, 'x', partRecords);
    expect(outcomes.length).toBeGreaterThan(1);
    let position = 0;
    return outcomes.flatMap((o) => {
      // The parser says where each part starts; it must be where the records before it end.
      expect(o.part?.firstRecord ?? position).toBe(position);
      const documents = documentsOf(o.parsed, {}, position);
      position += aggregateOf(o.parsed).records.length;
      return documents;
    });
  }

  it('are the same for a huge report in parts, whatever the part size', async () => {
    const bytes = readSample(name);
    const whole = (await outcomesOf(bytes, 'x')).flatMap((o) => documentsOf(o.parsed));
    for (const partRecords of [100, 1000]) {
      const parts = await documentsInParts(bytes, partRecords);
      expect(parts.map((d) => d.id)).toEqual(whole.map((d) => d.id));
      expect(parts.map((d) => d.body)).toEqual(whole.map((d) => d.body));
    }
    // Without the part's position, the first records of two parts would collide.
    const [first, second] = await outcomesOf(bytes, 'x', 100);
    const collide = documentsOf(second!.parsed, {}, 0)[0]!.id;
    expect(collide).not.toBe(whole[100]!.id);
    expect(documentsOf(first!.parsed, {}, 0).map((d) => d.id)).toEqual(whole.slice(0, 100).map((d) => d.id));
  });

  it('are the same in parts when the records of a report spanning days are split into UTC days', async () => {
    const xml = new TextDecoder()
      .decode(readSample(name))
      .replace(/<end>\d+<\/end>/, `<end>${1711897200 + 3 * 86400 - 1}</end>`)
      .replace(/<count>(\d+)<\/count>/g, (_, n: string) => `<count>${Number(n) * 100}</count>`);
    const bytes = new TextEncoder().encode(xml);
    const whole = (await outcomesOf(bytes, 'x')).flatMap((o) => documentsOf(o.parsed));
    expect(new Set(whole.map((d) => d.index)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(whole.map((d) => d.id)).size).toBe(whole.length);
    expect((await documentsInParts(bytes, 250)).map((d) => d.id)).toEqual(whole.map((d) => d.id));
  });

  it('depend on the position: identical rows stay distinct documents', async () => {
    const report = aggregateOf(await parsedSample('aggregate/old_draft_from_wiki.xml'));
    const twice: ParsedReport = {
      report_type: 'aggregate',
      report: { ...report, records: [report.records[0]!, report.records[0]!] },
    };
    const [a, b] = documentsOf(twice);
    expect(a!.body).toEqual(b!.body);
    expect(a!.id).not.toBe(b!.id);
    // ...and so a part's documents need the part's first position.
    const single: ParsedReport = { report_type: 'aggregate', report };
    expect(documentsOf(single, {}, 1)[0]!.id).toBe(b!.id);
  });

  it('do not depend on the local time zone nor on index options', async () => {
    const utc = documentsOf(await parsedSample(name));
    const saved = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const parsed = await parsedSample(name);
      // The report's own begin_date is local time: it changed, the documents must not.
      expect(aggregateOf(parsed).report_metadata.begin_date).not.toBe(formatUtc(1711897200));
      expect(documentsOf(parsed)).toEqual(utc);
      expect(documentsOf(parsed, { prefix: 'a-', suffix: 'b', monthly: true }).map((d) => d.id)).toEqual(
        utc.map((d) => d.id),
      );
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  });

  it('differ between reports, domains and record intervals', async () => {
    const report = aggregateOf(await parsedSample('aggregate/old_draft_from_wiki.xml'));
    const id = (r: AggregateReport): string => documentsOf({ report_type: 'aggregate', report: r })[0]!.id;
    const base = id(report);
    const meta = report.report_metadata;
    const record = report.records[0]!;
    const variants = [
      { ...report, report_metadata: { ...meta, report_id: 'other' } },
      { ...report, report_metadata: { ...meta, org_name: 'other.example' } },
      { ...report, policy_published: { ...report.policy_published, domain: 'other.example' } },
      { ...report, records: [{ ...record, interval_begin: '2012-04-29 00:00:00' }] },
      { ...report, records: [{ ...record, source: { ...record.source, ip_address: '192.0.2.1' } }] },
    ];
    const ids = variants.map(id);
    expect(new Set([base, ...ids]).size).toBe(variants.length + 1);
    // Enrichment does not change ids.
    expect(
      id({ ...report, records: [{ ...record, source: { ...record.source, country: 'US', asn: 7018 } }] }),
    ).toBe(base);
    expect(base).toMatch(/^[A-Za-z0-9_-]{27}$/);
  });
});

describe('forensic documents', () => {
  const seedName =
    'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml';
  const forensicOf = async (name: string): Promise<ForensicReport> => {
    const parsed = await parsedSample(name);
    if (parsed.report_type !== 'forensic') throw new Error('not forensic');
    return parsed.report;
  };
  const docOf = (report: ForensicReport, options: SearchIndexOptions = {}): SearchDocument =>
    documentsOf({ report_type: 'forensic', report }, options)[0]!;

  it('is shaped as the original shapes it', async () => {
    const report = await forensicOf(seedName);
    const document = docOf(report);
    expect(document.index).toBe('dmarc_forensic-2018-10-01');
    expect(docOf(report, { forensicBase: 'dmarc_failure', prefix: 'p-', suffix: 's' }).index).toBe(
      'p-dmarc_failure_s-2018-10-01',
    );
    const body = document.body;
    // arrival_date: epoch ms in the original's code, which its Date field turns into a naive UTC datetime.
    expect(body['arrival_date']).toBe('2018-10-01T09:20:27');
    expect(body).toMatchObject({
      feedback_type: 'auth-failure',
      user_agent: 'Lua/1.0',
      version: '1.0',
      original_mail_from: 'sharepoint@domain.de',
      original_rcpt_to: 'peter.pan@domain.de',
      domain: 'domain.de',
      delivery_results: report.delivery_result,
      authentication_results: 'dmarc=fail (p=none, dis=none) header.from=domain.de',
      source_ip_address: '10.10.10.10',
      auth_failure: ['dmarc'],
    });
    // Renamed or left out by the original.
    for (const absent of [
      'reported_domain',
      'delivery_result',
      'arrival_date_utc',
      'message_id',
      'parsed_sample',
    ]) {
      expect(body).not.toHaveProperty(absent);
    }
    const sample = body['sample'] as Record<string, unknown>;
    expect(Object.keys(sample)).toEqual([
      'raw',
      'headers',
      'headers_only',
      'date',
      'subject',
      'filename_safe_subject',
      'body',
      'to',
    ]);
    expect(sample['raw']).toBe(report.sample);
    expect(sample['headers_only']).toBe(false);
    expect(sample['date']).toBe('2018-10-01T09:20:27+00:00');
    expect(sample['to']).toEqual([{ address: 'peter.pan@domain.de' }]);
    const headers = sample['headers'] as Record<string, unknown>;
    expect(Object.keys(headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(headers['from']).toBe('Interaktive Wettbewerber-Übersicht <sharepoint@domain.de>');
    expect(headers['to']).toBe('peter.pan@domain.de');
    expect(headers['subject']).toBe('Subject');
    expect(headers['x-mailer']).toBe('Microsoft SharePoint Foundation 2010');
  });

  it('keeps repeated headers as lists and every header name, even "__proto__"', async () => {
    const report = await forensicOf('failure/dmarc_ruf_report_linkedin.eml');
    const headers = (docOf(report).body['sample'] as { headers: Record<string, unknown> }).headers;
    expect(Array.isArray(headers['received'])).toBe(true);
    expect(headers['to']).toBe('LinkedIn <recipient@linkedin.com>');
    expect(headers['x-ms-has-attach']).toBe('');
    const hostile = structuredClone(report);
    hostile.parsed_sample.headers = { ...hostile.parsed_sample.headers };
    Object.defineProperty(hostile.parsed_sample.headers, '__proto__', { value: 'x', enumerable: true });
    const json = JSON.stringify(docOf(hostile).body);
    expect((JSON.parse(json) as { sample: { headers: object } }).sample.headers).toHaveProperty(
      '__proto__',
      'x',
    );
  });

  it("has an id from the original's de-duplication key and the sample", async () => {
    const report = await forensicOf(seedName);
    const id = docOf(report).id;
    expect(docOf(await forensicOf(seedName)).id).toBe(id);
    // The same report with CRLF line endings is the same document.
    expect(docOf({ ...report, sample: report.sample.replace(/\n/g, '\r\n') }).id).toBe(id);
    // The two linkedin samples are one report, once with CRLF line endings.
    expect(docOf(await forensicOf('failure/dmarc_ruf_report_linkedin.crlf.eml')).id).toBe(
      docOf(await forensicOf('failure/dmarc_ruf_report_linkedin.eml')).id,
    );
    const subjectChanged = structuredClone(report);
    subjectChanged.parsed_sample.headers['Subject'] = 'Other';
    const others = [
      { ...report, arrival_date_utc: '2018-10-01 09:20:28' },
      subjectChanged,
      { ...report, source: { ...report.source, ip_address: '192.0.2.1' } },
      { ...report, sample: `${report.sample}x` },
    ].map((r) => docOf(r).id);
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
  });

  it('refuses a report without a readable arrival date', async () => {
    const report = await forensicOf(seedName);
    expect(
      searchDocumentsOf({ report_type: 'forensic', report: { ...report, arrival_date_utc: null } }),
    ).toMatchObject({
      ok: false,
      code: 'UNDATABLE_REPORT',
    });
  });
});

describe('SMTP TLS documents', () => {
  const smtpOf = async (name: string): Promise<SmtpTlsReport> => {
    const parsed = await parsedSample(name);
    if (parsed.report_type !== 'smtp_tls') throw new Error('not smtp_tls');
    return parsed.report;
  };
  const docOf = (report: SmtpTlsReport): SearchDocument =>
    documentsOf({ report_type: 'smtp_tls', report })[0]!;

  it('is shaped as the original shapes it', async () => {
    const document = docOf(await smtpOf('smtp_tls/rfc8460.json'));
    expect(document.index).toBe('smtp_tls-2016-04-01');
    const body = document.body;
    expect(Object.keys(body)).toEqual([
      'org_name',
      'date_range',
      'date_begin',
      'date_end',
      'contact_info',
      'report_id',
      'policies_combined',
      'failure_details_combined',
      'policies',
    ]);
    expect(body['org_name']).toBe('Company-X');
    expect(body['date_range']).toEqual(['2016-04-01T00:00:00+00:00', '2016-04-01T23:59:59+00:00']);
    expect(body['policies_combined']).toEqual(['company-y.example / sts']);
    // Combined texts keep the report's IP text; the ip fields get the canonical form.
    expect(body['failure_details_combined']).toContain(
      'company-y.example / sts / certificate-expired / 2001:db8:abcd:0012::1 / none / mx1.mail.company-y.example',
    );
    const [policy] = body['policies'] as Record<string, unknown>[];
    expect(policy).toHaveProperty('policy_string');
    expect(policy).not.toHaveProperty('policy_strings');
    const details = policy!['failure_details'] as Record<string, unknown>[];
    expect(details[0]).toEqual({
      result_type: 'certificate-expired',
      sending_mta_ip: '2001:db8:abcd:12::1',
      receiving_mx_hostname: 'mx1.mail.company-y.example',
      failed_session_count: 100,
    });
    expect(details[1]!['additional_information_uri']).toMatch(/^https:\/\/reports\.company-x\.example\//);
  });

  it('converts the date range to UTC and refuses one it cannot read', async () => {
    const report = await smtpOf('smtp_tls/rfc8460.json');
    const shifted = docOf({ ...report, begin_date: '2016-04-01T01:30:00+02:00' });
    expect(shifted.body['date_begin']).toBe('2016-03-31T23:30:00+00:00');
    expect(shifted.index).toBe('smtp_tls-2016-03-31');
    expect(shifted.id).not.toBe(docOf(report).id);
    expect(docOf({ ...report, begin_date: '2016-04-01T00:00:00.000Z' }).id).toBe(docOf(report).id);
    expect(
      searchDocumentsOf({ report_type: 'smtp_tls', report: { ...report, begin_date: 'yesterday' } }),
    ).toEqual({
      ok: false,
      code: 'UNDATABLE_REPORT',
      reason: expect.stringContaining('yesterday'),
    });
  });
});
