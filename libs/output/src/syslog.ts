/**
 * The original's syslog output: one message per flat row of a report (an aggregate record, a forensic
 * report, an SMTP TLS policy or failure detail), the row as Python's json.dumps writes it, sent by Python's
 * SysLogHandler as "<14>" (facility user, severity info) + the JSON + a NUL. The rows are the original's
 * own flat dicts (its *_to_csv_rows), key for key and quirk for quirk, so that searches written against its
 * messages keep matching; they are not our CSV rows.
 */
import type {
  AggregateRecord,
  AggregateReport,
  ForensicReport,
  ParsedReport,
  SmtpTlsReport,
  SourceInfo,
} from '@parsedmarc-ts/parser';
import { pythonJsonDumps } from './kafka-json.js';

type Row = Record<string, unknown>;

/** Python's str(value).lower() for the joined DKIM and SPF columns (None is "none"). */
const pyLower = (value: unknown): string =>
  (value === null || value === undefined ? 'none' : String(value)).toLowerCase();

/** The original blanks every aggregate cell that is not a string, an integer or a boolean (None, floats). */
const aggregateCell = (value: unknown): unknown =>
  typeof value === 'string' || typeof value === 'boolean' || Number.isInteger(value) ? value : '';

/** The source's columns between its address and its country (whose places differ by report type). */
const sourceColumns = (source: SourceInfo): Row => ({
  source_reverse_dns: source.reverse_dns,
  source_base_domain: source.base_domain,
  source_name: source.name,
  source_type: source.type,
  source_asn: source.asn,
  source_as_name: source.as_name,
  source_as_domain: source.as_domain,
});

function aggregateRows(report: AggregateReport): Row[] {
  const meta = report.report_metadata;
  const policy = report.policy_published;
  const header: Row = {
    xml_schema: report.xml_schema,
    org_name: meta.org_name,
    org_email: meta.org_email,
    org_extra_contact_info: meta.org_extra_contact_info,
    report_id: meta.report_id,
    begin_date: meta.begin_date,
    end_date: meta.end_date,
    normalized_timespan: meta.timespan_requires_normalization,
    errors: meta.errors.join('|'),
    domain: policy.domain,
    adkim: policy.adkim,
    aspf: policy.aspf,
    p: policy.p,
    sp: policy.sp,
    np: policy.np,
    pct: policy.pct,
    fo: policy.fo,
    testing: policy.testing,
    discovery_method: policy.discovery_method,
  };
  return report.records.map((record: AggregateRecord) => {
    const { source, policy_evaluated: evaluated, identifiers, auth_results: auth } = record;
    const row: Row = {
      ...header,
      // The record's own interval replaces the report's dates, in place.
      begin_date: record.interval_begin,
      end_date: record.interval_end,
      source_ip_address: source.ip_address,
      source_country: source.country,
      ...sourceColumns(source),
      count: record.count,
      spf_aligned: record.alignment.spf,
      dkim_aligned: record.alignment.dkim,
      dmarc_aligned: record.alignment.dmarc,
      disposition: evaluated.disposition,
      policy_override_reasons: evaluated.policy_override_reasons.map((r) => r.type || 'none').join(','),
      policy_override_comments: evaluated.policy_override_reasons.map((r) => r.comment || 'none').join('|'),
      envelope_from: identifiers.envelope_from,
      header_from: identifiers.header_from,
      envelope_to: identifiers.envelope_to,
      dkim_domains: auth.dkim.map((d) => pyLower(d.domain)).join(','),
      dkim_selectors: auth.dkim.map((d) => pyLower(d.selector)).join(','),
      dkim_results: auth.dkim.map((d) => pyLower(d.result)).join(','),
      spf_domains: auth.spf.map((s) => pyLower(s.domain)).join(','),
      spf_scopes: auth.spf.map((s) => pyLower(s.scope)).join(','),
      spf_results: auth.spf.map((s) => pyLower(s.result)).join(','),
    };
    for (const key of Object.keys(row)) row[key] = aggregateCell(row[key]);
    return row;
  });
}

function forensicRow(report: ForensicReport): Row {
  const { source, sample: _sample, parsed_sample, ...rest } = report;
  const row: Row = { ...rest };
  // The report's own keys keep their places; the source's come after them, then the subject.
  Object.assign(row, {
    source_ip_address: source.ip_address,
    ...sourceColumns(source),
    source_country: source.country,
    subject: parsed_sample.subject,
  });
  row['auth_failure'] = report.auth_failure.join(',');
  row['authentication_mechanisms'] = report.authentication_mechanisms.join(',');
  return row;
}

/**
 * One row per policy and one per failure detail. As in the original, a policy's strings and MX patterns
 * carry over to the policies after it that have none, and failure rows carry no policy domain.
 */
function smtpTlsRows(report: SmtpTlsReport): Row[] {
  const rows: Row[] = [];
  const carried: Row = {
    organization_name: report.organization_name,
    begin_date: report.begin_date,
    end_date: report.end_date,
    report_id: report.report_id,
  };
  for (const policy of report.policies) {
    if (policy.policy_strings !== undefined) carried['policy_strings'] = policy.policy_strings.join('|');
    if (policy.mx_host_patterns !== undefined)
      carried['mx_host_patterns'] = policy.mx_host_patterns.join('|');
    rows.push({
      ...carried,
      policy_domain: policy.policy_domain,
      policy_type: policy.policy_type,
      successful_session_count: policy.successful_session_count,
      failed_session_count: policy.failed_session_count,
    });
    for (const details of policy.failure_details ?? []) {
      const row: Row = { ...carried };
      for (const [key, value] of Object.entries(details)) {
        // RFC 8460's additional-information is the original's additional_info_uri.
        if (key === 'additional_information') row['additional_info_uri'] ??= value;
        else row[key] = value;
      }
      rows.push(row);
    }
  }
  return rows;
}

/** The original's flat rows of one report (or of one part of an aggregate report). */
export function originalSyslogRows(parsed: ParsedReport): Row[] {
  switch (parsed.report_type) {
    case 'aggregate':
      return aggregateRows(parsed.report);
    case 'forensic':
      return [forensicRow(parsed.report)];
    case 'smtp_tls':
      return smtpTlsRows(parsed.report);
  }
}

/** The messages the original's syslog output sends for one report, each as it goes on the wire. */
export function originalSyslogMessages(parsed: ParsedReport): string[] {
  return originalSyslogRows(parsed).map((row) => `<14>${pythonJsonDumps(row)}\u0000`);
}
