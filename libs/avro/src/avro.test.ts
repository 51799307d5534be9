import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReports, type ParsedReport, type SmtpTlsReport } from '@parsedmarc-ts/parser';
// @ts-expect-error plain JS generator script, no types
import { outdated, generate } from '../scripts/codegen.mjs';
import { aggregateMessages, newPartNumbering, MessageTooLargeError } from './split.js';
import { decodeValue, encodeValue, schemaErrors } from './codec.js';
import { parsedFromAvro, smtpTlsFromAvro, smtpTlsToAvro } from './convert.js';
import { parsedTopicValue, ReportMessages, reportTopicValue } from './messages.js';
import { type AggregateReportMessage, type Origin } from './generated/types.js';
import { reportKey } from './keys.js';
import { repoRoot, sampleFiles, samplesDir } from './test-helpers.js';

const origin = (source: string): Origin => ({ source, raw_sha256: null, received_at: null });

async function parsedSamples(): Promise<{ file: string; parsed: ParsedReport }[]> {
  const out: { file: string; parsed: ParsedReport }[] = [];
  for (const path of sampleFiles()) {
    const file = relative(samplesDir, path);
    for await (const outcome of parseReports(readFileSync(path), { source: file })) {
      if (outcome.ok) out.push({ file, parsed: outcome.parsed });
    }
  }
  return out;
}

describe('generated files', () => {
  it('are up to date with schemas/*.avsc', () => {
    expect(outdated(generate())).toEqual([]);
  });
});

describe('model ⇄ Avro', () => {
  it('round-trips every sample report losslessly, key order included', async () => {
    const samples = await parsedSamples();
    // Every report type of the corpus is covered.
    expect(new Set(samples.map((s) => s.parsed.report_type))).toEqual(
      new Set(['aggregate', 'forensic', 'smtp_tls']),
    );
    for (const { file, parsed } of samples) {
      const message = parsedTopicValue(
        reportTopicValue(parsed, { origin: origin(file), part: null }),
        parsed,
      );
      expect(schemaErrors('dmarc_parsed', message), file).toEqual([]);
      const back = parsedFromAvro(decodeValue('dmarc_parsed', encodeValue('dmarc_parsed', message)));
      expect(JSON.stringify(back.parsed.report), file).toBe(JSON.stringify(parsed.report));
      expect(back.origin).toEqual(origin(file));
      if (parsed.report_type === 'forensic' && parsed.email !== undefined) {
        expect(
          back.parsed.report_type === 'forensic' && Buffer.from(back.parsed.email!).equals(parsed.email),
        ).toBe(true);
      }
      // The public topic of the type decodes to the same report.
      const topic = `dmarc_${parsed.report_type}` as const;
      const inner = message[parsed.report_type]!;
      expect(schemaErrors(topic, inner), file).toEqual([]);
      expect(JSON.stringify(decodeValue(topic, encodeValue(topic, inner as never)))).toBe(
        JSON.stringify(inner),
      );
    }
  });

  it('keeps SMTP TLS optional fields absent, not null, and present when set', () => {
    const report: SmtpTlsReport = {
      organization_name: 'Example',
      begin_date: '2024-01-01T00:00:00Z',
      end_date: '2024-01-01T23:59:59Z',
      contact_info: null,
      report_id: 'r1',
      policies: [
        {
          policy_domain: 'a.example',
          policy_type: 'no-policy-found',
          successful_session_count: 1,
          failed_session_count: 0,
        },
        {
          policy_domain: 'b.example',
          policy_type: 'sts',
          policy_strings: ['version: STSv1'],
          mx_host_patterns: ['*.b.example'],
          successful_session_count: 5,
          failed_session_count: 2,
          failure_details: [
            { result_type: 'certificate-expired', failed_session_count: 2, receiving_ip: '192.0.2.1' },
          ],
        },
      ],
    };
    const back = smtpTlsFromAvro(
      decodeValue('dmarc_smtp_tls', encodeValue('dmarc_smtp_tls', smtpTlsToAvro(report, origin('x')))),
    );
    expect(JSON.stringify(back)).toBe(JSON.stringify(report));
    // The deviations a lenient parse said travel with the report, after its own keys.
    const deviating: SmtpTlsReport = { ...report, errors: ['contact-info is null'] };
    const again = smtpTlsFromAvro(
      decodeValue('dmarc_smtp_tls', encodeValue('dmarc_smtp_tls', smtpTlsToAvro(deviating, origin('x')))),
    );
    expect(JSON.stringify(again)).toBe(JSON.stringify(deviating));
  });
});

describe('report keys', () => {
  it('are equal for copies of one report in different containers and differ between reports', async () => {
    const samples = await parsedSamples();
    const keyOf = (file: string) => samples.filter((s) => s.file === file).map((s) => reportKey(s.parsed));
    // The same report as .xml, .xml.gz and .xml.zip.
    const plain = keyOf('extract_report/nice-input.xml');
    expect(plain).toHaveLength(1);
    expect(keyOf('extract_report/nice-input.xml.gz')).toEqual(plain);
    expect(keyOf('extract_report/nice-input.xml.zip')).toEqual(plain);
    expect(plain[0]).toMatch(/^[0-9a-f]{64}$/);
    const distinct = new Set(
      samples
        .filter((s) => s.parsed.report_type === 'aggregate' && !s.file.startsWith('extract_report'))
        .map((s) => reportKey(s.parsed)),
    );
    expect(distinct.size).toBeGreaterThan(15);
  });
});

describe('bounded aggregate parts', () => {
  it('split a huge report by encoded size into consecutive, lossless parts', async () => {
    const file = 'aggregate/!large-example.com!1711897200!1711983600.xml';
    const whole: ParsedReport[] = [];
    for await (const o of parseReports(readFileSync(`${samplesDir}/${file}`), { source: file }))
      if (o.ok) whole.push(o.parsed);
    expect(whole).toHaveLength(1);
    const report = whole[0]!;
    if (report.report_type !== 'aggregate') throw new Error('expected an aggregate report');
    const maxBytes = 32 * 1024;
    // Feed it as the parser would in parts of 700 records; the size bound splits further.
    const reportMessages = new ReportMessages(maxBytes);
    const messages = [];
    const keys = new Set<string>();
    const feed = () => {
      for (let start = 0; start < report.report.records.length; start += 700) {
        const records = report.report.records.slice(start, start + 700);
        const isLast = start + 700 >= report.report.records.length;
        const parsed: ParsedReport = { report_type: 'aggregate', report: { ...report.report, records } };
        const { key, values } = reportMessages.of(parsed, { index: start / 700, isLast }, origin(file));
        keys.add(key);
        expect(values.every((v) => v.topic === 'aggregate' && v.kind === 'dmarc_aggregate')).toBe(true);
        messages.push(...values.map((v) => v.value as AggregateReportMessage));
      }
    };
    feed();
    expect(keys.size).toBe(1);
    expect(messages.length).toBeGreaterThan(4);
    for (const m of messages) expect(encodeValue('dmarc_aggregate', m).length).toBeLessThanOrEqual(maxBytes);
    expect(messages.map((m) => m.part!.index)).toEqual(messages.map((_m, i) => i));
    expect(messages.map((m) => m.part!.is_last)).toEqual(messages.map((_m, i) => i === messages.length - 1));
    let offset = 0;
    for (const m of messages) {
      expect(m.part!.first_record).toBe(offset);
      offset += m.records.length;
    }
    expect(JSON.stringify(messages.flatMap((m) => m.records))).toBe(JSON.stringify(report.report.records));
    // The same report again (a redelivery) is numbered from 0 again: the last part ended the numbering.
    const count = messages.length;
    messages.length = 0;
    feed();
    expect(messages.map((m) => m.part!.index)).toEqual([...Array(count).keys()]);
  });

  it('leaves a report that fits in one piece with part null, and refuses a record over the bound', async () => {
    const file = 'aggregate/old_draft_from_wiki.xml';
    for await (const o of parseReports(readFileSync(`${samplesDir}/${file}`))) {
      if (!o.ok || o.parsed.report_type !== 'aggregate') throw new Error('expected an aggregate report');
      const report = o.parsed.report;
      const [only, ...rest] = aggregateMessages(report, undefined, newPartNumbering(), origin(file), 1 << 20);
      expect(rest).toEqual([]);
      expect(only!.part).toBeNull();
      // Room for the header (and framing slack) but not for its one record.
      const headerOnly = encodeValue('dmarc_aggregate', { ...only!, records: [] }).length + 64 + 4;
      expect(() =>
        aggregateMessages(report, undefined, newPartNumbering(), origin(file), headerOnly),
      ).toThrow(MessageTooLargeError);
      expect(() => aggregateMessages(report, undefined, newPartNumbering(), origin(file), 100)).toThrow(
        /header/,
      );
    }
  });
});

it('test helpers find the corpus', () => {
  expect(repoRoot.endsWith('/')).toBe(true);
  expect(sampleFiles().length).toBeGreaterThan(30);
});
