import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import * as api from './index.js';

const fixture = (p: string): string => new URL(`../../../test/fixtures/${p}`, import.meta.url).pathname;
const offline = { offline: true };

afterAll(() => api.closeSharedEnrichers());

describe("the original's API", () => {
  it('exports every documented function and exception of parsedmarc (camelCase)', () => {
    const doc = readFileSync(fixture('conformance/documented/api.txt'), 'utf8');
    const names = [...doc.matchAll(/parsedmarc\.(?:utils\.)?([a-z_]+)\(/g)].map((m) => m[1]!);
    const exceptions = [...doc.matchAll(/parsedmarc\.(Invalid[A-Za-z]+)/g)].map((m) => m[1]!);
    const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    // Mailbox, email and search-index functions arrive with their own issues (IMAP, SMTP, Elasticsearch).
    const later = new Set([
      'emailResults',
      'getDmarcReportsFromInbox',
      'getImapCapabilities',
      'watchInbox',
      'queryDns',
      'parseEmail',
      'createIndexes',
      'saveAggregateReportToElasticsearch',
      'saveForensicReportToElasticsearch',
      'setHosts',
    ]);
    const missing = names
      .map(camel)
      .filter((n) => !later.has(n) && typeof (api as Record<string, unknown>)[n] !== 'function');
    expect(missing).toEqual([]);
    for (const e of exceptions) expect(typeof (api as Record<string, unknown>)[e], e).toBe('function');
    expect(names.length).toBeGreaterThan(20);
  });

  it('parse_report_file: a path to a zipped aggregate report', async () => {
    const parsed = await api.parseReportFile(fixture('samples/extract_report/nice-input.xml.zip'), offline);
    expect(parsed.report_type).toBe('aggregate');
    if (parsed.report_type === 'aggregate') expect(parsed.report.records).toHaveLength(20);
  });

  it('parse_aggregate_report_file refuses another report type with InvalidAggregateReport', async () => {
    await expect(
      api.parseAggregateReportFile(fixture('samples/smtp_tls/rfc8460.json'), offline),
    ).rejects.toBeInstanceOf(api.InvalidAggregateReport);
  });

  it('parse_report_file throws a typed error naming the file for garbage', async () => {
    const error = await api.parseReportFile(fixture('samples/empty.xml'), offline).catch((e: unknown) => e);
    expect(api.ParseError.is(error)).toBe(true);
    expect((error as api.ParseError).context.source).toContain('empty.xml');
  });

  it('get_report_zip and save_output hold the same files as the CLI output folder', async () => {
    const aggregate = await api.parseAggregateReportFile(
      fixture('samples/aggregate/old_draft_from_wiki.xml'),
      offline,
    );
    const forensic = await api.parseReportFile(
      fixture('samples/failure/dmarc_ruf_report_linkedin.eml'),
      offline,
    );
    if (forensic.report_type !== 'forensic') throw new Error('expected a forensic report');
    const results = {
      aggregate_reports: [aggregate],
      forensic_reports: [forensic.report, forensic.report],
      smtp_tls_reports: [],
    };
    const files = unzipSync(api.getReportZip(results));
    expect(Object.keys(files).sort()).toEqual([
      'aggregate.csv',
      'aggregate.json',
      'forensic.csv',
      'forensic.json',
      'samples/Subject line, could be UTF8 encoded (1).eml',
      'samples/Subject line, could be UTF8 encoded.eml',
      'smtp_tls.csv',
      'smtp_tls.json',
    ]);
    expect(JSON.parse(strFromU8(files['aggregate.json']!))).toEqual([aggregate]);
    const dir = mkdtempSync(join(tmpdir(), 'parsedmarc-api-'));
    await api.saveOutput(results, dir);
    expect(JSON.parse(readFileSync(join(dir, 'aggregate.json'), 'utf8'))).toEqual([aggregate]);
    expect(readFileSync(join(dir, 'aggregate.csv'), 'utf8')).toBe(strFromU8(files['aggregate.csv']!));
    expect(readdirSync(join(dir, 'samples'))).toHaveLength(2);
  });

  it('never turns an attacker-chosen subject into a path', async () => {
    const parsed = await api.parseReportFile(
      fixture('samples/failure/dmarc_ruf_report_linkedin.eml'),
      offline,
    );
    if (parsed.report_type !== 'forensic') throw new Error('expected a forensic report');
    const report = {
      ...parsed.report,
      parsed_sample: {
        ...parsed.report.parsed_sample,
        filename_safe_subject: null,
        subject: '../../etc/passwd',
      },
    };
    const zip = unzipSync(
      api.getReportZip({ aggregate_reports: [], forensic_reports: [report], smtp_tls_reports: [] }),
    );
    expect(Object.keys(zip).filter((n) => n.startsWith('samples/'))).toEqual(['samples/etcpasswd.eml']);
  });

  it('timestamp helpers round-trip in local time and UTC', () => {
    expect(api.humanTimestampToDatetime('2012-04-28 00:00:00', true).toISOString()).toBe(
      '2012-04-28T00:00:00.000Z',
    );
    expect(api.timestampToHuman(api.humanTimestampToTimestamp('2020-01-02 03:04:05'))).toBe(
      '2020-01-02 03:04:05',
    );
    expect(() => api.humanTimestampToDatetime('yesterday')).toThrow(RangeError);
  });
});

describe('output folder after a crash', () => {
  it('cuts JSON and CSV files back to their last complete element/line, then appends', async () => {
    const { truncateSync, statSync } = await import('node:fs');
    const a = await api.parseAggregateReportFile(
      fixture('samples/aggregate/old_draft_from_wiki.xml'),
      offline,
    );
    const b = await api.parseAggregateReportFile(
      fixture('samples/aggregate/veeam.com!example.com!1530133200!1530219600.xml'),
      offline,
    );
    const results = (report: typeof a) => ({
      aggregate_reports: [report],
      forensic_reports: [],
      smtp_tls_reports: [],
    });
    const dir = mkdtempSync(join(tmpdir(), 'parsedmarc-crash-'));
    await api.saveOutput(results(a), dir);
    const afterFirst = statSync(join(dir, 'aggregate.json')).size;
    const csvAfterFirst = statSync(join(dir, 'aggregate.csv')).size;
    await api.saveOutput(results(b), dir);
    // A crash in the middle of the second report: no closing bracket, half a CSV line.
    truncateSync(join(dir, 'aggregate.json'), afterFirst + 200);
    truncateSync(join(dir, 'aggregate.csv'), csvAfterFirst + 20);
    await api.saveOutput(results(b), dir);
    expect(JSON.parse(readFileSync(join(dir, 'aggregate.json'), 'utf8'))).toEqual([a, b]);
    const csv = readFileSync(join(dir, 'aggregate.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[2]).toContain('199.230.200.36');
    // Cut inside the first element: nothing complete is left, the file starts again.
    truncateSync(join(dir, 'aggregate.json'), 50);
    await api.saveOutput(results(b), dir);
    expect(JSON.parse(readFileSync(join(dir, 'aggregate.json'), 'utf8'))).toEqual([b]);
  });

  it('refuses to append to a file that is not a JSON array', async () => {
    const { writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'parsedmarc-foreign-'));
    writeFileSync(join(dir, 'aggregate.json'), '{"mine": true}');
    await expect(
      api.saveOutput({ aggregate_reports: [], forensic_reports: [], smtp_tls_reports: [] }, dir),
    ).rejects.toThrow(/not a JSON array/);
    expect(readFileSync(join(dir, 'aggregate.json'), 'utf8')).toBe('{"mine": true}');
  });
});
