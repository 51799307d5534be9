/**
 * Conversions between the normalized model (libs/parser types, what the CLI prints) and the Avro values of
 * the topics. Lossless both ways: a report converted to Avro, encoded, decoded and converted back prints the
 * same JSON, key order included (the schemas list fields in model order and avsc decodes records in schema
 * order). The only representational changes:
 * - SMTP TLS optional fields: absent in the model, null in Avro;
 * - forensic parsed_sample: an object with arbitrary header keys in the model, JSON text in Avro.
 */
import type {
  AggregateReport,
  ForensicReport,
  ParsedReport,
  SmtpTlsFailureDetails,
  SmtpTlsPolicy,
  SmtpTlsReport,
} from '@parsedmarc-ts/parser';
import { PdmError } from '@parsedmarc-ts/errors';
import type * as avro from './generated/types.js';

/** Pipeline metadata carried beside a report. */
export interface ReportMeta {
  origin: avro.Origin;
  /** Null for a report in one piece. */
  part: avro.ReportPart | null;
}

export function aggregateToAvro(report: AggregateReport, meta: ReportMeta): avro.AggregateReportMessage {
  return {
    xml_schema: report.xml_schema,
    report_metadata: report.report_metadata,
    policy_published: report.policy_published,
    records: report.records,
    xml_namespace: report.xml_namespace,
    part: meta.part,
    origin: meta.origin,
  };
}

export function aggregateFromAvro(message: avro.AggregateReportMessage): AggregateReport {
  return {
    xml_schema: message.xml_schema,
    report_metadata: message.report_metadata,
    policy_published: message.policy_published,
    records: message.records,
    xml_namespace: message.xml_namespace,
  };
}

export function forensicToAvro(report: ForensicReport, origin: avro.Origin): avro.ForensicReportMessage {
  return {
    feedback_type: report.feedback_type,
    user_agent: report.user_agent,
    version: report.version,
    original_mail_from: report.original_mail_from,
    original_rcpt_to: report.original_rcpt_to,
    arrival_date: report.arrival_date,
    message_id: report.message_id,
    authentication_results: report.authentication_results,
    delivery_result: report.delivery_result,
    auth_failure: report.auth_failure,
    reported_domain: report.reported_domain,
    arrival_date_utc: report.arrival_date_utc,
    source: report.source,
    authentication_mechanisms: report.authentication_mechanisms,
    original_envelope_id: report.original_envelope_id,
    dkim_domain: report.dkim_domain,
    sample_headers_only: report.sample_headers_only,
    sample: report.sample,
    parsed_sample_json: JSON.stringify(report.parsed_sample),
    origin,
  };
}

export function forensicFromAvro(message: avro.ForensicReportMessage): ForensicReport {
  return {
    feedback_type: message.feedback_type,
    user_agent: message.user_agent,
    version: message.version,
    original_mail_from: message.original_mail_from,
    original_rcpt_to: message.original_rcpt_to,
    arrival_date: message.arrival_date,
    message_id: message.message_id,
    authentication_results: message.authentication_results,
    delivery_result: message.delivery_result,
    auth_failure: message.auth_failure,
    reported_domain: message.reported_domain,
    arrival_date_utc: message.arrival_date_utc,
    source: message.source,
    authentication_mechanisms: message.authentication_mechanisms,
    original_envelope_id: message.original_envelope_id,
    dkim_domain: message.dkim_domain,
    sample_headers_only: message.sample_headers_only,
    sample: message.sample,
    parsed_sample: JSON.parse(message.parsed_sample_json) as ForensicReport['parsed_sample'],
  };
}

export function smtpTlsToAvro(report: SmtpTlsReport, origin: avro.Origin): avro.SmtpTlsReportMessage {
  return {
    organization_name: report.organization_name,
    begin_date: report.begin_date,
    end_date: report.end_date,
    contact_info: report.contact_info,
    report_id: report.report_id,
    policies: report.policies.map((policy): avro.SmtpTlsPolicy => ({
      policy_domain: policy.policy_domain,
      policy_type: policy.policy_type,
      policy_strings: policy.policy_strings ?? null,
      mx_host_patterns: policy.mx_host_patterns ?? null,
      successful_session_count: policy.successful_session_count,
      failed_session_count: policy.failed_session_count,
      failure_details:
        policy.failure_details?.map((detail): avro.SmtpTlsFailureDetails => ({
          result_type: detail.result_type,
          failed_session_count: detail.failed_session_count,
          sending_mta_ip: detail.sending_mta_ip ?? null,
          receiving_ip: detail.receiving_ip ?? null,
          receiving_mx_hostname: detail.receiving_mx_hostname ?? null,
          receiving_mx_helo: detail.receiving_mx_helo ?? null,
          additional_information: detail.additional_information ?? null,
          additional_info_uri: detail.additional_info_uri ?? null,
          failure_reason_code: detail.failure_reason_code ?? null,
        })) ?? null,
    })),
    errors: report.errors ?? [],
    origin,
  };
}

/** Copies the non-null fields of an Avro record into a model object, in schema (= model) order. */
function withoutNulls<T>(record: object): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== null) out[key] = value;
  return out as T;
}

export function smtpTlsFromAvro(message: avro.SmtpTlsReportMessage): SmtpTlsReport {
  const report: SmtpTlsReport = {
    organization_name: message.organization_name,
    begin_date: message.begin_date,
    end_date: message.end_date,
    contact_info: message.contact_info,
    report_id: message.report_id,
    policies: message.policies.map((policy) => {
      const { failure_details, ...rest } = policy;
      const out = withoutNulls<SmtpTlsPolicy>(rest);
      if (failure_details !== null) {
        // Keep model key order: failure_details is the last key of a policy.
        out.failure_details = failure_details.map((detail) => withoutNulls<SmtpTlsFailureDetails>(detail));
      }
      return out;
    }),
  };
  // The model has errors only when there is one (conforming reports print as the original's).
  if (message.errors.length > 0) report.errors = message.errors;
  return report;
}

/** A dmarc_parsed value whose report_type names a report it does not carry. */
export class InvalidParsedMessage extends PdmError<'UNDECODABLE_MESSAGE', Record<string, unknown>> {
  readonly family = 'poison';
  constructor(message: string) {
    super('UNDECODABLE_MESSAGE', message, {});
    this.name = 'InvalidParsedMessage';
  }
}

export function parsedFromAvro(message: avro.ParsedReportMessage): { parsed: ParsedReport } & ReportMeta {
  if (message.report_type === 'aggregate' && message.aggregate) {
    return {
      parsed: { report_type: 'aggregate', report: aggregateFromAvro(message.aggregate) },
      origin: message.aggregate.origin,
      part: message.aggregate.part,
    };
  }
  if (message.report_type === 'forensic' && message.forensic) {
    const parsed: ParsedReport = { report_type: 'forensic', report: forensicFromAvro(message.forensic) };
    if (message.forensic_email !== null) parsed.email = message.forensic_email;
    return { parsed, origin: message.forensic.origin, part: null };
  }
  if (message.report_type === 'smtp_tls' && message.smtp_tls) {
    return {
      parsed: { report_type: 'smtp_tls', report: smtpTlsFromAvro(message.smtp_tls) },
      origin: message.smtp_tls.origin,
      part: null,
    };
  }
  throw new InvalidParsedMessage(`report_type ${message.report_type} without its report`);
}
