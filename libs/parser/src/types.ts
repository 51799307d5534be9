/**
 * The normalized output model: the original's documented JSON (parsedmarc's `aggregate.json` / `forensic.json`),
 * key for key and in the same order, followed by the newer fields of parsedmarc 10.x. The same shape comes
 * out whatever the input schema (draft, RFC 7489 1.0, DMARCbis 2.0). Objects are built in this key order,
 * because JSON output is compared with the documented output field for field.
 *
 * Enrichment fields (reverse_dns, country, base_domain, name, type, asn...) are null straight from the
 * parser; the enrichment step fills them in later, so a stored report can be re-enriched.
 */

/** Source of a record or forensic report: the sending IP and what enrichment learns about it. */
export interface SourceInfo {
  ip_address: string;
  country: string | null;
  reverse_dns: string | null;
  base_domain: string | null;
  // newer fields (parsedmarc 10.x)
  name: string | null;
  type: string | null;
  asn: number | null;
  as_name: string | null;
  as_domain: string | null;
}

export interface AggregateReportMetadata {
  org_name: string | null;
  org_email: string | null;
  org_extra_contact_info: string | null;
  report_id: string | null;
  /** "YYYY-MM-DD HH:MM:SS" in the process's local time zone (like the original). */
  begin_date: string;
  end_date: string;
  /** Problems found while parsing that did not prevent recovering the data (e.g. invalid XML). */
  errors: string[];
  // newer fields
  timespan_requires_normalization: boolean;
  original_timespan_seconds: number;
  generator: string | null;
}

export interface PolicyPublished {
  domain: string;
  adkim: string;
  aspf: string;
  p: string;
  sp: string;
  /** "100" when absent (the documented default). */
  pct: string;
  /** "0" when absent (the documented default). */
  fo: string;
  // newer fields (DMARCbis)
  np: string | null;
  testing: string | null;
  discovery_method: string | null;
}

export interface PolicyOverrideReason {
  /** null when the reporter sent an empty <type> (seen in the wild; the original keeps it as null). */
  type: string | null;
  comment: string | null;
}

export interface DkimAuthResult {
  domain: string;
  /** "none" when absent (the documented default). */
  selector: string;
  result: string;
  human_result: string | null;
}

export interface SpfAuthResult {
  domain: string;
  /** "mfrom" when absent (the documented default). */
  scope: string;
  result: string;
  human_result: string | null;
}

export interface AggregateRecord {
  source: SourceInfo;
  count: number;
  alignment: { spf: boolean; dkim: boolean; dmarc: boolean };
  policy_evaluated: {
    disposition: string;
    dkim: string;
    spf: string;
    policy_override_reasons: PolicyOverrideReason[];
  };
  identifiers: {
    header_from: string;
    /** Taken from the last SPF domain when the report has none (documented behaviour). */
    envelope_from: string | null;
    envelope_to: string | null;
  };
  auth_results: { dkim: DkimAuthResult[]; spf: SpfAuthResult[] };
  // newer fields
  /** True when this record is one UTC-day slice of a record of a report spanning more than 24 hours. */
  normalized_timespan: boolean;
  /** "YYYY-MM-DD HH:MM:SS" in UTC. */
  interval_begin: string;
  interval_end: string;
}

export type AggregateXmlSchema = 'draft' | '1.0' | '2.0' | string;

/** Everything of an aggregate report but its records: what a streaming parse knows before the first record. */
export interface AggregateReportHeader {
  xml_schema: AggregateXmlSchema;
  report_metadata: AggregateReportMetadata;
  policy_published: PolicyPublished;
  /** Default XML namespace of <feedback>, e.g. urn:ietf:params:xml:ns:dmarc-2.0; null when none. */
  xml_namespace: string | null;
}

export interface AggregateReport {
  xml_schema: AggregateXmlSchema;
  report_metadata: AggregateReportMetadata;
  policy_published: PolicyPublished;
  records: AggregateRecord[];
  xml_namespace: string | null;
}

/** A parsed RFC 822 message, in the shape parsedmarc's `parsed_sample` uses (mail-parser's keys). */
export interface EmailAddress {
  display_name: string | null;
  address: string;
  local: string;
  domain: string;
}

/** One Received header of a forensic sample, as the original's mail parser reports it. */
export interface ReceivedHop {
  from?: string;
  by?: string;
  with?: string;
  date?: string;
  hop: number;
  /** UTC "YYYY-MM-DD HH:MM:SS"; absent when the date cannot be parsed. */
  date_utc?: string;
  /** Seconds after the previous hop (0 for the first, or when a date is missing). */
  delay: number;
}

export interface ParsedSample {
  /** Lower-cased header names, each with its (decoded) value. Known keys are listed; others may appear. */
  [header: string]: unknown;
  from: EmailAddress | null;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  reply_to: EmailAddress[];
  /** Only when the sample has Delivered-To headers. */
  delivered_to?: EmailAddress[];
  subject: string | null;
  /** UTC, "YYYY-MM-DD HH:MM:SS". */
  date: string | null;
  /** Offset of the Date header's zone in hours, e.g. "+2", "-6", "+5.5". */
  timezone: string | null;
  to_domains: string[];
  /** Received headers, oldest first (hop 1 is the last header). */
  received: ReceivedHop[];
  /** Text parts joined (null for a headers-only sample). */
  body: string | null;
  /** Header names as written, values decoded; a repeated header gives the list of its values. */
  headers: Record<string, string | string[]>;
  attachments: { filename: string | null; mail_content_type: string; sha256: string; payload_size: number }[];
  has_defects: boolean;
  filename_safe_subject: string | null;
}

export interface ForensicReport {
  feedback_type: string | null;
  user_agent: string | null;
  version: string | null;
  original_mail_from: string | null;
  original_rcpt_to: string | null;
  arrival_date: string | null;
  message_id: string | null;
  authentication_results: string | null;
  delivery_result: string | null;
  auth_failure: string[];
  reported_domain: string | null;
  /** "YYYY-MM-DD HH:MM:SS" in UTC. */
  arrival_date_utc: string | null;
  source: SourceInfo;
  authentication_mechanisms: string[];
  original_envelope_id: string | null;
  dkim_domain: string | null;
  sample_headers_only: boolean;
  sample: string;
  parsed_sample: ParsedSample;
}

/** RFC 9991's word for a forensic report. */
export type FailureReport = ForensicReport;

export interface SmtpTlsFailureDetails {
  result_type: string;
  failed_session_count: number;
  sending_mta_ip?: string;
  receiving_ip?: string;
  receiving_mx_hostname?: string;
  receiving_mx_helo?: string;
  /** RFC 8460 names it additional-information; some reporters send additional-info-uri. Both kept. */
  additional_information?: string;
  additional_info_uri?: string;
  failure_reason_code?: string;
}

export interface SmtpTlsPolicy {
  policy_domain: string;
  policy_type: string;
  policy_strings?: string[];
  /** From `mx-host` (RFC 8460) and `mx-host-pattern` (some reporters): both kept. */
  mx_host_patterns?: string[];
  successful_session_count: number;
  failed_session_count: number;
  failure_details?: SmtpTlsFailureDetails[];
}

export interface SmtpTlsReport {
  organization_name: string;
  begin_date: string;
  end_date: string;
  contact_info: string | null;
  report_id: string;
  policies: SmtpTlsPolicy[];
  /**
   * Where the report deviates from RFC 8460 in a way that changes no number (a contact-info null or
   * missing, counts written as strings, a policy type in capitals, a domain with a trailing dot...): kept,
   * and said here. Present only when there is one, so conforming reports print as the original prints them.
   */
  errors?: string[];
}

export type ReportType = 'aggregate' | 'forensic' | 'smtp_tls';

export type ParsedReport =
  | { report_type: 'aggregate'; report: AggregateReport }
  | {
      report_type: 'forensic';
      report: ForensicReport;
      /** the whole failure-report email, for `-o` .eml output */ email?: Uint8Array;
    }
  | { report_type: 'smtp_tls'; report: SmtpTlsReport };

/** The combined results, as printed on stdout and saved by saveOutput (the documented keys). */
export interface ParseResults {
  aggregate_reports: AggregateReport[];
  forensic_reports: ForensicReport[];
  smtp_tls_reports: SmtpTlsReport[];
}

/** An empty SourceInfo for an IP: what the pure parser produces before enrichment. */
export function unenrichedSource(ip_address: string): SourceInfo {
  return {
    ip_address,
    country: null,
    reverse_dns: null,
    base_domain: null,
    name: null,
    type: null,
    asn: null,
    as_name: null,
    as_domain: null,
  };
}
