/**
 * CSV in parsedmarc's flat layout: the documented original's columns first, in its order, then the newer columns. Values
 * are rendered the way Python's csv module renders them (booleans as True/False, null as empty), so
 * spreadsheets and scripts built for the original keep working. Cells a spreadsheet would run as a formula
 * are neutralized with a leading apostrophe (CSV injection: report contents come from strangers).
 */
import type { AggregateRecord, AggregateReport, ForensicReport, SmtpTlsReport } from '@parsedmarc-ts/parser';

type Cell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
/** Either of the two above: most cells need neither, and one test tells. */
const NEEDS_CARE = new RegExp(`${FORMULA_START.source}|${NEEDS_QUOTES.source}`);

/** One CSV cell: Python-style rendering, formula neutralization, RFC 4180 quoting. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  let text = typeof value === 'string' ? value : String(value);
  if (!NEEDS_CARE.test(text)) return text;
  if (FORMULA_START.test(text)) text = `'${text}`;
  if (NEEDS_QUOTES.test(text)) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

export function csvLine(cells: readonly Cell[]): string {
  return cells.map(csvCell).join(',') + '\n';
}

// ---------------------------------------------------------------- aggregate

/** The original's documented aggregate columns, in its order. */
export const aggregateDocumentedColumns = [
  'xml_schema',
  'org_name',
  'org_email',
  'org_extra_contact_info',
  'report_id',
  'begin_date',
  'end_date',
  'errors',
  'domain',
  'adkim',
  'aspf',
  'p',
  'sp',
  'pct',
  'fo',
  'source_ip_address',
  'source_country',
  'source_reverse_dns',
  'source_base_domain',
  'count',
  'disposition',
  'dkim_alignment',
  'spf_alignment',
  'policy_override_reasons',
  'policy_override_comments',
  'envelope_from',
  'header_from',
  'envelope_to',
  'dkim_domains',
  'dkim_selectors',
  'dkim_results',
  'spf_domains',
  'spf_scopes',
  'spf_results',
] as const;

/** Columns of later parsedmarc versions and of this project, after the documented original's. */
export const aggregateNewColumns = [
  'normalized_timespan',
  'np',
  'testing',
  'discovery_method',
  'source_name',
  'source_type',
  'source_asn',
  'source_as_name',
  'source_as_domain',
  'spf_aligned',
  'dkim_aligned',
  'dmarc_aligned',
  'interval_begin',
  'interval_end',
  'xml_namespace',
  'generator',
] as const;

export const aggregateColumns = [...aggregateDocumentedColumns, ...aggregateNewColumns] as const;
export type AggregateColumn = (typeof aggregateColumns)[number];

export const aggregateCsvHeader = (): string => csvLine(aggregateColumns);

/** One field of each item, lowercased, joined with commas. */
function lowerJoin<T, K extends keyof T>(items: readonly T[], key: K): string {
  let text = '';
  for (let i = 0; i < items.length; i++) {
    text += (i === 0 ? '' : ',') + String(items[i]![key]).toLowerCase();
  }
  return text;
}

type ReportHeader = Omit<AggregateReport, 'records'>;

/** Columns whose value is the same for every record of a report. */
function reportCells(report: ReportHeader): Partial<Record<AggregateColumn, Cell>> {
  const meta = report.report_metadata;
  const policy = report.policy_published;
  return {
    xml_schema: report.xml_schema,
    org_name: meta.org_name,
    org_email: meta.org_email,
    org_extra_contact_info: meta.org_extra_contact_info,
    report_id: meta.report_id,
    begin_date: meta.begin_date,
    end_date: meta.end_date,
    errors: meta.errors.join('|'),
    domain: policy.domain,
    adkim: policy.adkim,
    aspf: policy.aspf,
    p: policy.p,
    sp: policy.sp,
    pct: policy.pct,
    fo: policy.fo,
    np: policy.np,
    testing: policy.testing,
    discovery_method: policy.discovery_method,
    xml_namespace: report.xml_namespace,
    generator: meta.generator,
  };
}

/** Columns that vary per record. */
const recordCells: Partial<Record<AggregateColumn, (record: AggregateRecord) => Cell>> = {
  source_ip_address: (r) => r.source.ip_address,
  source_country: (r) => r.source.country,
  source_reverse_dns: (r) => r.source.reverse_dns,
  source_base_domain: (r) => r.source.base_domain,
  count: (r) => r.count,
  disposition: (r) => r.policy_evaluated.disposition,
  dkim_alignment: (r) => r.policy_evaluated.dkim,
  spf_alignment: (r) => r.policy_evaluated.spf,
  policy_override_reasons: (r) =>
    r.policy_evaluated.policy_override_reasons.map((x) => x.type || 'none').join(','),
  policy_override_comments: (r) =>
    r.policy_evaluated.policy_override_reasons.map((x) => x.comment || 'none').join('|'),
  envelope_from: (r) => r.identifiers.envelope_from,
  header_from: (r) => r.identifiers.header_from,
  envelope_to: (r) => r.identifiers.envelope_to,
  dkim_domains: (r) => lowerJoin(r.auth_results.dkim, 'domain'),
  dkim_selectors: (r) => lowerJoin(r.auth_results.dkim, 'selector'),
  dkim_results: (r) => lowerJoin(r.auth_results.dkim, 'result'),
  spf_domains: (r) => lowerJoin(r.auth_results.spf, 'domain'),
  spf_scopes: (r) => lowerJoin(r.auth_results.spf, 'scope'),
  spf_results: (r) => lowerJoin(r.auth_results.spf, 'result'),
  normalized_timespan: (r) => r.normalized_timespan,
  source_name: (r) => r.source.name,
  source_type: (r) => r.source.type,
  source_asn: (r) => r.source.asn,
  source_as_name: (r) => r.source.as_name,
  source_as_domain: (r) => r.source.as_domain,
  spf_aligned: (r) => r.alignment.spf,
  dkim_aligned: (r) => r.alignment.dkim,
  dmarc_aligned: (r) => r.alignment.dmarc,
  interval_begin: (r) => r.interval_begin,
  interval_end: (r) => r.interval_end,
};

/** The flat row of one record, keyed by column. */
export function aggregateCsvRow(
  report: ReportHeader,
  record: AggregateRecord,
): Record<AggregateColumn, Cell> {
  const fixed = reportCells(report);
  const row = {} as Record<AggregateColumn, Cell>;
  for (const column of aggregateColumns)
    row[column] = recordCells[column] ? recordCells[column](record) : fixed[column];
  return row;
}

/**
 * CSV lines (no header) for the records of one report or report part. The report-level cells are rendered
 * once per report, not once per record: this runs 100,000 times for a big report.
 */
export function aggregateCsvLines(report: AggregateReport): string {
  const fixed = reportCells(report);
  const cells = aggregateColumns.map((column) => recordCells[column] ?? csvCell(fixed[column]));
  const lines: string[] = [];
  for (const record of report.records) {
    lines.push(cells.map((cell) => (typeof cell === 'string' ? cell : csvCell(cell(record)))).join(','));
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** The original's API: parsed_aggregate_reports_to_csv: header plus one row per record. */
export function parsedAggregateReportsToCsv(reports: AggregateReport | readonly AggregateReport[]): string {
  const list = Array.isArray(reports) ? reports : [reports as AggregateReport];
  return aggregateCsvHeader() + list.map(aggregateCsvLines).join('');
}

// ---------------------------------------------------------------- forensic

export const forensicDocumentedColumns = [
  'feedback_type',
  'user_agent',
  'version',
  'original_envelope_id',
  'original_mail_from',
  'original_rcpt_to',
  'arrival_date',
  'arrival_date_utc',
  'subject',
  'message_id',
  'authentication_results',
  'dkim_domain',
  'source_ip_address',
  'source_country',
  'source_reverse_dns',
  'source_base_domain',
  'delivery_result',
  'auth_failure',
  'reported_domain',
  'authentication_mechanisms',
  'sample_headers_only',
] as const;

export const forensicNewColumns = [
  'source_name',
  'source_type',
  'source_asn',
  'source_as_name',
  'source_as_domain',
] as const;

export const forensicColumns = [...forensicDocumentedColumns, ...forensicNewColumns] as const;
export type ForensicColumn = (typeof forensicColumns)[number];

export const forensicCsvHeader = (): string => csvLine(forensicColumns);

export function forensicCsvRow(report: ForensicReport): Record<ForensicColumn, Cell> {
  return {
    feedback_type: report.feedback_type,
    user_agent: report.user_agent,
    version: report.version,
    original_envelope_id: report.original_envelope_id,
    original_mail_from: report.original_mail_from,
    original_rcpt_to: report.original_rcpt_to,
    arrival_date: report.arrival_date,
    arrival_date_utc: report.arrival_date_utc,
    subject: report.parsed_sample.subject,
    message_id: report.message_id,
    authentication_results: report.authentication_results,
    dkim_domain: report.dkim_domain,
    source_ip_address: report.source.ip_address,
    source_country: report.source.country,
    source_reverse_dns: report.source.reverse_dns,
    source_base_domain: report.source.base_domain,
    delivery_result: report.delivery_result,
    auth_failure: report.auth_failure.join(','),
    reported_domain: report.reported_domain,
    authentication_mechanisms: report.authentication_mechanisms.join(','),
    sample_headers_only: report.sample_headers_only,
    source_name: report.source.name,
    source_type: report.source.type,
    source_asn: report.source.asn,
    source_as_name: report.source.as_name,
    source_as_domain: report.source.as_domain,
  };
}

export function forensicCsvLines(report: ForensicReport): string {
  const row = forensicCsvRow(report);
  return csvLine(forensicColumns.map((c) => row[c]));
}

/** The original's API: parsed_forensic_reports_to_csv. */
export function parsedForensicReportsToCsv(reports: ForensicReport | readonly ForensicReport[]): string {
  const list = Array.isArray(reports) ? reports : [reports as ForensicReport];
  return forensicCsvHeader() + list.map(forensicCsvLines).join('');
}

/** RFC 9991's word. */
export const parsedFailureReportsToCsv = parsedForensicReportsToCsv;

// ---------------------------------------------------------------- SMTP TLS

export const smtpTlsColumns = [
  'organization_name',
  'begin_date',
  'end_date',
  'report_id',
  'result_type',
  'successful_session_count',
  'failed_session_count',
  'policy_domain',
  'policy_type',
  'policy_strings',
  'mx_host_patterns',
  'sending_mta_ip',
  'receiving_ip',
  'receiving_mx_hostname',
  'receiving_mx_helo',
  'additional_info_uri',
  'failure_reason_code',
  // newer: RFC 8460's own name for the URI, kept apart from additional_info_uri
  'additional_information',
  'contact_info',
] as const;

export type SmtpTlsColumn = (typeof smtpTlsColumns)[number];

export const smtpTlsCsvHeader = (): string => csvLine(smtpTlsColumns);

/**
 * One row per policy (its session counts) and one per failure detail, like the original. Unlike the
 * original, each failure row also names its policy, and policy strings never leak from one policy to the next.
 */
export function smtpTlsCsvLines(report: SmtpTlsReport): string {
  let out = '';
  for (const policy of report.policies) {
    const common: Partial<Record<SmtpTlsColumn, Cell>> = {
      organization_name: report.organization_name,
      begin_date: report.begin_date,
      end_date: report.end_date,
      report_id: report.report_id,
      contact_info: report.contact_info,
      policy_domain: policy.policy_domain,
      policy_type: policy.policy_type,
      policy_strings: policy.policy_strings?.join('|'),
      mx_host_patterns: policy.mx_host_patterns?.join('|'),
    };
    const summary = {
      ...common,
      successful_session_count: policy.successful_session_count,
      failed_session_count: policy.failed_session_count,
    };
    out += csvLine(smtpTlsColumns.map((c) => summary[c]));
    for (const failure of policy.failure_details ?? []) {
      const row: Partial<Record<SmtpTlsColumn, Cell>> = { ...common, ...failure };
      out += csvLine(smtpTlsColumns.map((c) => row[c]));
    }
  }
  return out;
}

export function parsedSmtpTlsReportsToCsv(reports: SmtpTlsReport | readonly SmtpTlsReport[]): string {
  const list = Array.isArray(reports) ? reports : [reports as SmtpTlsReport];
  return smtpTlsCsvHeader() + list.map(smtpTlsCsvLines).join('');
}
