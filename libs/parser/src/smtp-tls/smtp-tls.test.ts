import { describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ParseError } from '../errors.js';
import { parseEmail } from '../email/index.js';
import type { SmtpTlsReport } from '../types.js';
import { looksLikeSmtpTlsJson, parseSmtpTlsReportJson } from './index.js';

const repo = new URL('../../../../', import.meta.url);
const sample = (name: string): Buffer =>
  readFileSync(new URL(`test/fixtures/samples/smtp_tls/${name}`, repo));
const reference = (name: string): SmtpTlsReport =>
  (
    JSON.parse(
      readFileSync(
        new URL(`test/fixtures/conformance/parsedmarc-10.4.3/smtp_tls/${name}.parsed.json`, repo),
        'utf8',
      ),
    ) as { report: SmtpTlsReport }
  ).report;

/** Compares with test/golden/smtp_tls/<name>.json; UPDATE_GOLDEN=1 rewrites it. */
function expectGolden(name: string, value: unknown): void {
  const url = new URL(`test/golden/smtp_tls/${name}.json`, repo);
  const json = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(url)) {
    mkdirSync(new URL('.', url), { recursive: true });
    writeFileSync(url, json);
  }
  expect(json).toBe(readFileSync(url, 'utf8'));
}

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (error) {
    if (ParseError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

async function fromEmail(name: string): Promise<SmtpTlsReport> {
  const email = await parseEmail(sample(name), { source: name });
  const part = email.attachments.find((a) => a.contentType === 'application/tlsrpt+gzip');
  if (!part) throw new Error('no tlsrpt part');
  return parseSmtpTlsReportJson(gunzipSync(part.content), { source: name });
}

/** The 10.4.3 references drop mx-host and additional-information; we keep them (see types.ts). */
function withoutOurAdditions(report: SmtpTlsReport): SmtpTlsReport {
  return JSON.parse(
    JSON.stringify(report, (key, value: unknown) =>
      key === 'mx_host_patterns' || key === 'additional_information' ? undefined : value,
    ),
  ) as SmtpTlsReport;
}

describe('SMTP TLS reports match 10.4.3 (keys, order and values)', () => {
  for (const name of ['mail.ru.json', 'rfc8460.json', 'smtp_tls.json']) {
    test(name, () => {
      const report = parseSmtpTlsReportJson(sample(name), { source: name });
      expect(JSON.stringify(withoutOurAdditions(report))).toBe(JSON.stringify(reference(name)));
      expectGolden(name, report);
    });
  }

  test('google.com_smtp_tls_report.eml (application/tlsrpt+gzip attachment)', async () => {
    const report = await fromEmail('google.com_smtp_tls_report.eml');
    expect(JSON.stringify(report)).toBe(JSON.stringify(reference('google.com_smtp_tls_report.eml')));
    expectGolden('google.com_smtp_tls_report.eml', report);
  });

  test('rfc8460.json keeps mx-host and additional-information', () => {
    const policy = parseSmtpTlsReportJson(sample('rfc8460.json')).policies[0]!;
    expect(policy.mx_host_patterns).toEqual(['*.mail.company-y.example']);
    expect(policy.failure_details?.[1]?.additional_information).toBe(
      'https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported',
    );
  });
});

// Tests break parsed reports on purpose, anywhere in the tree.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RawReport = Record<string, any>;

const valid = (): RawReport => JSON.parse(sample('rfc8460.json').toString('utf8')) as RawReport;

describe('parseSmtpTlsReportJson', () => {
  test('mx-host (string or list) and mx-host-pattern are merged, additional-info-uri kept', () => {
    const report: RawReport = valid();
    report.policies[0].policy['mx-host'] = ['a.example', 'b.example'];
    report.policies[0].policy['mx-host-pattern'] = ['b.example', '*.c.example'];
    report.policies[0]['failure-details'][0]['additional-info-uri'] = 'https://x.example/1';
    const policy = parseSmtpTlsReportJson(JSON.stringify(report)).policies[0]!;
    expect(policy.mx_host_patterns).toEqual(['a.example', 'b.example', '*.c.example']);
    expect(Object.keys(policy.failure_details![0]!)).toEqual([
      'result_type',
      'failed_session_count',
      'sending_mta_ip',
      'receiving_mx_hostname',
      'additional_info_uri',
    ]);
  });

  test('accepts bytes with a BOM and session counts sent as digit strings', () => {
    const report: RawReport = valid();
    report.policies[0].summary['total-successful-session-count'] = '5326';
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(report))]);
    expect(parseSmtpTlsReportJson(bytes).policies[0]!.successful_session_count).toBe(5326);
  });

  test('keeps a report whose contact-info is null or missing (real reporters send both), and reads "STS" as sts', () => {
    for (const contact of [null, undefined]) {
      const report = valid();
      if (contact === undefined) delete report['contact-info'];
      else report['contact-info'] = contact;
      report.policies[0].policy['policy-type'] = 'STS';
      const parsed = parseSmtpTlsReportJson(JSON.stringify(report));
      expect(parsed.contact_info).toBeNull();
      expect(parsed.policies[0]!.policy_type).toBe('sts');
    }
  });

  test("says each deviation it accepted in the report's errors, once each, and none for a conforming report", () => {
    expect(parseSmtpTlsReportJson(JSON.stringify(valid())).errors).toBeUndefined();
    const report = valid();
    report['contact-info'] = null;
    report.policies[0].policy['policy-type'] = 'STS';
    report.policies[0].policy['policy-domain'] = 'company-y.example.';
    report.policies[0].summary['total-successful-session-count'] = '5326';
    report.policies[0].summary['total-failure-session-count'] = '0';
    const parsed = parseSmtpTlsReportJson(JSON.stringify(report));
    // The numbers and names are what a conforming report says.
    expect(parsed.policies[0]!).toMatchObject({
      policy_domain: 'company-y.example',
      policy_type: 'sts',
      successful_session_count: 5326,
      failed_session_count: 0,
    });
    expect(parsed.errors).toEqual([
      'contact-info is null',
      'policy-domain "company-y.example." with a trailing dot',
      'policy-type "STS" in capitals',
      'policies[].summary.total-successful-session-count written as a string',
      'policies[].summary.total-failure-session-count written as a string',
    ]);
    // Printed last, after the report's own keys.
    expect(Object.keys(parsed).at(-1)).toBe('errors');
  });

  test('refuses a report over maxSmtpTlsBytes with LIMIT_EXCEEDED naming the limit (JSON is parsed whole)', () => {
    const text = JSON.stringify(valid());
    const error = parseError(() =>
      parseSmtpTlsReportJson(text, { source: 'big.json', limits: { maxSmtpTlsBytes: text.length - 1 } }),
    );
    expect([error.code, error.context.limit, error.context.source]).toEqual([
      'LIMIT_EXCEEDED',
      'maxSmtpTlsBytes',
      'big.json',
    ]);
    expect(parseSmtpTlsReportJson(text, { limits: { maxSmtpTlsBytes: text.length } }).policies).toHaveLength(
      valid().policies.length,
    );
  });

  test('bounds the deviations said for a hostile report with many policies', () => {
    const report = valid();
    const template = report.policies[0];
    report.policies = Array.from({ length: 200 }, (_v, i) => ({
      ...template,
      policy: { ...template.policy, 'policy-domain': `d${i}.example.` },
    }));
    const parsed = parseSmtpTlsReportJson(JSON.stringify(report));
    expect(parsed.policies).toHaveLength(200);
    expect(parsed.errors!.length).toBeLessThanOrEqual(20);
  });

  test('a policy type that is no known type, whatever its case, is still refused', () => {
    const report = valid();
    report.policies[0].policy['policy-type'] = 'DANE';
    expect(parseError(() => parseSmtpTlsReportJson(JSON.stringify(report))).message).toContain('"DANE"');
  });

  test.each(['organization-name', 'date-range', 'report-id', 'policies'])(
    'a report without %s is INVALID_SMTP_TLS_REPORT naming the field and the source',
    (field) => {
      const report = valid();
      delete report[field];
      const error = parseError(() => parseSmtpTlsReportJson(JSON.stringify(report), { source: 'r.json' }));
      expect(error.code).toBe('INVALID_SMTP_TLS_REPORT');
      expect(error.message).toContain(field);
      expect(error.context.source).toBe('r.json');
    },
  );

  test.each([
    [
      'policies[0].summary.total-failure-session-count',
      (r: RawReport) => delete r.policies[0].summary['total-failure-session-count'],
    ],
    ['policies[0].policy.policy-domain', (r: RawReport) => delete r.policies[0].policy['policy-domain']],
    [
      'policies[0].failure-details[1].result-type',
      (r: RawReport) => delete r.policies[0]['failure-details'][1]['result-type'],
    ],
    ['date-range.end-datetime', (r: RawReport) => delete r['date-range']['end-datetime']],
  ])('a missing nested field is named: %s', (path, remove) => {
    const report = valid();
    remove(report);
    const error = parseError(() => parseSmtpTlsReportJson(JSON.stringify(report), { source: 'r.json' }));
    expect(error.code).toBe('INVALID_SMTP_TLS_REPORT');
    expect(error.message).toBe(`missing required field ${path}`);
  });

  test.each([
    [
      'failed-session-count "many"',
      (r: RawReport) => (r.policies[0]['failure-details'][0]['failed-session-count'] = 'many'),
    ],
    ['negative count', (r: RawReport) => (r.policies[0].summary['total-successful-session-count'] = -1)],
    ['fractional count', (r: RawReport) => (r.policies[0].summary['total-failure-session-count'] = 1.5)],
    ['organization-name a number', (r: RawReport) => (r['organization-name'] = 42)],
    ['policies an object', (r: RawReport) => (r.policies = {})],
    ['policy-string a string', (r: RawReport) => (r.policies[0].policy['policy-string'] = 'version: STSv1')],
    ['unknown policy-type', (r: RawReport) => (r.policies[0].policy['policy-type'] = 'dane')],
    [
      'sending-mta-ip a number',
      (r: RawReport) => (r.policies[0]['failure-details'][0]['sending-mta-ip'] = 1),
    ],
    ['failure-details an object', (r: RawReport) => (r.policies[0]['failure-details'] = {})],
  ])('wrong types are INVALID_SMTP_TLS_REPORT: %s', (_what, change) => {
    const report = valid();
    change(report);
    expect(parseError(() => parseSmtpTlsReportJson(JSON.stringify(report))).code).toBe(
      'INVALID_SMTP_TLS_REPORT',
    );
  });

  test('not JSON, not an object, deeply nested: INVALID_SMTP_TLS_REPORT', () => {
    for (const input of [
      '{"organization-name": ',
      '[1, 2]',
      'null',
      '',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    ]) {
      expect(parseError(() => parseSmtpTlsReportJson(input, { source: 'x.json' })).code).toBe(
        'INVALID_SMTP_TLS_REPORT',
      );
    }
    const nested = valid();
    nested['extension'] = JSON.parse(`${'{"a":'.repeat(50)}1${'}'.repeat(50)}`) as unknown;
    const error = parseError(() => parseSmtpTlsReportJson(JSON.stringify(nested), { source: 'deep.json' }));
    expect(error.code).toBe('INVALID_SMTP_TLS_REPORT');
    expect(error.message).toMatch(/nested deeper/);
    expect(error.context.source).toBe('deep.json');
    // brackets inside strings are not nesting
    const brackets = valid();
    brackets['report-id'] = '['.repeat(100);
    expect(parseSmtpTlsReportJson(JSON.stringify(brackets)).report_id).toBe('['.repeat(100));
  });

  test('an input larger than maxInputBytes is LIMIT_EXCEEDED', () => {
    const error = parseError(() =>
      parseSmtpTlsReportJson(sample('rfc8460.json'), { limits: { maxInputBytes: 64 } }),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.context.limit).toBe('maxInputBytes');
  });
});

describe('looksLikeSmtpTlsJson', () => {
  test('sniffs RFC 8460 keys in a JSON object', () => {
    expect(looksLikeSmtpTlsJson(sample('mail.ru.json').toString('utf8'))).toBe(true);
    expect(looksLikeSmtpTlsJson('\uFEFF {"organization-name":"x"')).toBe(true);
    expect(looksLikeSmtpTlsJson('{"feedback": {}}')).toBe(false);
    expect(looksLikeSmtpTlsJson('<?xml version="1.0"?>')).toBe(false);
    expect(looksLikeSmtpTlsJson('Subject: "policies": x')).toBe(false);
  });
});
