/**
 * Elasticsearch / OpenSearch documents, field for field as the newer original (parsedmarc 10.x elastic.py
 * and opensearch.py, which write the same documents) writes them, so that its dashboards and saved searches
 * keep working: one document per aggregate record, one per forensic (failure) report, one per SMTP TLS
 * report. Values are formatted as its elasticsearch-dsl documents serialize them (see values.ts): dates as
 * ISO 8601 text, IPs in canonical form, pct as a number, nulls and empty lists left out.
 *
 * Deliberate differences: a report the original could not save (an unreadable date makes it raise) is
 * refused here with a reason instead; an SMTP TLS failure detail's RFC 8460 "additional-information" URI,
 * which the original's parser reads under the wrong key and loses, is written to the field the original
 * meant for it (additional_information_uri).
 */
import type {
  AggregateReport,
  EmailAddress,
  ForensicReport,
  ParsedReport,
  SmtpTlsReport,
} from '@parsedmarc-ts/parser';
import { documentId, normalizedTextDigest } from './ids.js';
import { searchIndexName, type SearchIndexOptions } from './names.js';
import { awareIso, canonicalIp, integerOf, naiveIso, parseUtcInstant, skipEmpty, utcDay } from './values.js';

/** One document to index: where, under which id, and its JSON body (the `_source`). */
export interface SearchDocument {
  index: string;
  id: string;
  body: Record<string, unknown>;
}

export type SearchDocumentsResult =
  | { ok: true; documents: SearchDocument[] }
  /** The report cannot be indexed (the original fails on it too): say so, index nothing of it. */
  | { ok: false; code: 'UNDATABLE_REPORT'; reason: string };

const undatable = (reason: string): SearchDocumentsResult => ({
  ok: false,
  code: 'UNDATABLE_REPORT',
  reason,
});

/** Sets an own property, even one named "__proto__" (header names come from strangers). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------- aggregate

function aggregateDocuments(
  report: AggregateReport,
  options: SearchIndexOptions,
  firstRecord: number,
): SearchDocumentsResult {
  const metadata = report.report_metadata;
  const policy = report.policy_published;
  const publishedPolicy = {
    domain: policy.domain,
    adkim: policy.adkim,
    aspf: policy.aspf,
    p: policy.p,
    sp: policy.sp,
    // An Integer field in the original's document class: int("100") is sent as 100.
    pct: integerOf(policy.pct),
    fo: policy.fo,
    np: policy.np,
    testing: policy.testing,
    discovery_method: policy.discovery_method,
  };
  const documents: SearchDocument[] = [];
  for (const [i, record] of report.records.entries()) {
    // The newer original dates each record by its own interval (UTC): a report split into UTC days lands
    // in one index per day.
    const begin = parseUtcInstant(record.interval_begin);
    const end = parseUtcInstant(record.interval_end);
    if (begin === null || end === null) {
      return undatable(
        `aggregate record ${firstRecord + i} has no readable interval ` +
          `(${JSON.stringify(record.interval_begin)} to ${JSON.stringify(record.interval_end)})`,
      );
    }
    const { source, policy_evaluated: evaluated, identifiers, auth_results: auth } = record;
    const dkimAligned = evaluated.dkim.toLowerCase() === 'pass';
    const spfAligned = evaluated.spf.toLowerCase() === 'pass';
    const ip = canonicalIp(source.ip_address);
    const body = {
      xml_schema: report.xml_schema,
      xml_namespace: report.xml_namespace,
      org_name: metadata.org_name,
      org_email: metadata.org_email,
      org_extra_contact_info: metadata.org_extra_contact_info,
      report_id: metadata.report_id,
      date_range: [awareIso(begin), awareIso(end)],
      date_begin: awareIso(begin),
      date_end: awareIso(end),
      normalized_timespan: record.normalized_timespan,
      errors: metadata.errors,
      published_policy: publishedPolicy,
      source_ip_address: ip,
      source_country: source.country,
      source_reverse_dns: source.reverse_dns,
      source_base_domain: source.base_domain,
      source_type: source.type,
      source_name: source.name,
      source_asn: source.asn,
      source_as_name: source.as_name,
      source_as_domain: source.as_domain,
      message_count: record.count,
      disposition: evaluated.disposition,
      dkim_aligned: dkimAligned,
      spf_aligned: spfAligned,
      header_from: identifiers.header_from,
      envelope_from: identifiers.envelope_from,
      envelope_to: identifiers.envelope_to,
      np: policy.np,
      testing: policy.testing,
      discovery_method: policy.discovery_method,
      generator: metadata.generator,
      policy_overrides: evaluated.policy_override_reasons.map((r) => ({ type: r.type, comment: r.comment })),
      dkim_results: auth.dkim.map((r) => ({
        domain: r.domain,
        selector: r.selector,
        result: r.result,
        human_result: r.human_result,
      })),
      // One "selector / domain / result" per DKIM result and "scope / domain / result" per SPF result: what
      // the original's dashboards aggregate on (terms over the subfields of an object list cross-multiply).
      dkim_results_combined: auth.dkim.map((r) => `${r.selector} / ${r.domain} / ${r.result}`),
      spf_results: auth.spf.map((r) => ({
        domain: r.domain,
        scope: r.scope,
        result: r.result,
        human_result: r.human_result,
      })),
      spf_results_combined: auth.spf.map((r) => `${r.scope} / ${r.domain} / ${r.result}`),
      passed_dmarc: dkimAligned || spfAligned,
    };
    documents.push({
      index: searchIndexName('aggregate', utcDay(begin), options),
      id: documentId('aggregate', [
        metadata.org_name,
        metadata.report_id,
        policy.domain,
        awareIso(begin),
        awareIso(end),
        firstRecord + i,
        ip,
      ]),
      body: skipEmpty(body),
    });
  }
  return { ok: true, documents };
}

// ---------------------------------------------------------------- forensic

/** The original's flattening of an address header: "Name <address>", or the address alone. */
function addressText(address: EmailAddress | null | undefined): string | null {
  if (!address) return null;
  return address.display_name ? `${address.display_name} <${address.address}>` : address.address;
}

/**
 * sample.headers: the sample's headers under lower-cased names (a later header of the same name wins),
 * From, To and Reply-To flattened to one "Name <address>" text each (the first address), as the original
 * stores them for its dashboards' tables and its de-duplication query.
 */
function sampleHeaders(report: ForensicReport): Record<string, unknown> {
  const parsed = report.parsed_sample;
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.headers)) setOwn(headers, name.toLowerCase(), value);
  const flattened: [string, EmailAddress | null | undefined][] = [
    ['from', parsed.from],
    ['to', parsed.to[0]],
    ['reply-to', parsed.reply_to[0]],
  ];
  for (const [name, address] of flattened) {
    const text = addressText(address);
    // A header the sample parser could not read an address from keeps its text.
    if (name in headers && text !== null) headers[name] = text;
  }
  return headers;
}

const headerText = (value: unknown): string | null =>
  typeof value === 'string' ? value : Array.isArray(value) ? value.join('\n') : null;

function forensicDocuments(report: ForensicReport, options: SearchIndexOptions): SearchDocumentsResult {
  const arrival = report.arrival_date_utc === null ? null : parseUtcInstant(report.arrival_date_utc);
  if (arrival === null) {
    return undatable(
      `forensic report without a readable arrival date (${JSON.stringify(report.arrival_date_utc)})`,
    );
  }
  const parsed = report.parsed_sample;
  const headers = sampleHeaders(report);
  const sampleDate = parsed.date === null ? null : parseUtcInstant(parsed.date);
  const address = (a: EmailAddress) => ({ display_name: a.display_name, address: a.address });
  const { source } = report;
  const ip = canonicalIp(source.ip_address);
  const body = {
    feedback_type: report.feedback_type,
    user_agent: report.user_agent,
    version: report.version,
    original_mail_from: report.original_mail_from,
    arrival_date: naiveIso(arrival),
    domain: report.reported_domain,
    original_envelope_id: report.original_envelope_id,
    authentication_results: report.authentication_results,
    delivery_results: report.delivery_result,
    source_ip_address: ip,
    source_country: source.country,
    source_reverse_dns: source.reverse_dns,
    source_base_domain: source.base_domain,
    source_asn: source.asn,
    source_as_name: source.as_name,
    source_as_domain: source.as_domain,
    authentication_mechanisms: report.authentication_mechanisms,
    auth_failure: report.auth_failure,
    dkim_domain: report.dkim_domain,
    original_rcpt_to: report.original_rcpt_to,
    sample: {
      raw: report.sample,
      headers,
      headers_only: report.sample_headers_only,
      date: sampleDate === null ? null : awareIso(sampleDate),
      subject: parsed.subject,
      filename_safe_subject: parsed.filename_safe_subject,
      body: parsed.body,
      to: parsed.to.map(address),
      reply_to: parsed.reply_to.map(address),
      cc: parsed.cc.map(address),
      bcc: parsed.bcc.map(address),
      attachments: parsed.attachments.map((a) => ({
        filename: a.filename,
        content_type: a.mail_content_type,
        sha256: a.sha256,
      })),
    },
  };
  const document: SearchDocument = {
    index: searchIndexName('forensic', utcDay(arrival), options),
    id: documentId('forensic', [
      naiveIso(arrival),
      headerText(headers['from']),
      headerText(headers['to']),
      headerText(headers['subject']),
      report.reported_domain,
      ip,
      report.message_id,
      normalizedTextDigest(report.sample),
    ]),
    body: skipEmpty(body),
  };
  return { ok: true, documents: [document] };
}

// ---------------------------------------------------------------- SMTP TLS

function smtpTlsDocuments(report: SmtpTlsReport, options: SearchIndexOptions): SearchDocumentsResult {
  const begin = parseUtcInstant(report.begin_date);
  const end = parseUtcInstant(report.end_date);
  if (begin === null || end === null) {
    return undatable(
      `SMTP TLS report without a readable date range (${JSON.stringify(report.begin_date)} to ` +
        `${JSON.stringify(report.end_date)})`,
    );
  }
  const policiesCombined: string[] = [];
  const failureDetailsCombined: string[] = [];
  const policies = report.policies.map((policy) => {
    const domain = policy.policy_domain || 'none';
    const type = policy.policy_type || 'none';
    policiesCombined.push(`${domain} / ${type}`);
    const failureDetails = (policy.failure_details ?? []).map((detail) => {
      failureDetailsCombined.push(
        [
          domain,
          type,
          detail.result_type || 'none',
          detail.sending_mta_ip || 'none',
          detail.receiving_ip || 'none',
          detail.receiving_mx_hostname || 'none',
        ].join(' / '),
      );
      return {
        result_type: detail.result_type,
        sending_mta_ip: detail.sending_mta_ip === undefined ? null : canonicalIp(detail.sending_mta_ip),
        receiving_mx_hostname: detail.receiving_mx_hostname,
        receiving_mx_helo: detail.receiving_mx_helo,
        receiving_ip: detail.receiving_ip === undefined ? null : canonicalIp(detail.receiving_ip),
        failed_session_count: detail.failed_session_count,
        additional_information_uri: detail.additional_info_uri ?? detail.additional_information,
        failure_reason_code: detail.failure_reason_code,
      };
    });
    return {
      policy_domain: policy.policy_domain,
      policy_type: policy.policy_type,
      successful_session_count: policy.successful_session_count,
      failed_session_count: policy.failed_session_count,
      // Singular in the original's documents (its document class declares policy_strings, never set).
      policy_string: policy.policy_strings,
      mx_host_patterns: policy.mx_host_patterns,
      failure_details: failureDetails,
    };
  });
  const body = {
    org_name: report.organization_name,
    date_range: [awareIso(begin), awareIso(end)],
    date_begin: awareIso(begin),
    date_end: awareIso(end),
    contact_info: report.contact_info,
    report_id: report.report_id,
    // "policy_domain / policy_type" per policy and "domain / type / result_type / sending_mta_ip /
    // receiving_ip / receiving_mx_hostname" per failure detail, for the dashboards' tables.
    policies_combined: policiesCombined,
    failure_details_combined: failureDetailsCombined,
    policies,
  };
  const document: SearchDocument = {
    index: searchIndexName('smtp_tls', utcDay(begin), options),
    id: documentId('smtp_tls', [report.organization_name, report.report_id, awareIso(begin), awareIso(end)]),
    body: skipEmpty(body),
  };
  return { ok: true, documents: [document] };
}

// ---------------------------------------------------------------- any report

/**
 * The documents of one parsed report (or one part of a huge aggregate report), with their index names and
 * deterministic ids.
 *
 * @param firstRecord for an aggregate report in parts: the position of this part's first record in the
 *   whole report, i.e. the number of records of the parts before it: the part's `firstRecord` (0 for a
 *   whole report). Record ids depend on it: a wrong one could make a record replace another's document.
 */
export function searchDocumentsOf(
  parsed: ParsedReport,
  options: SearchIndexOptions = {},
  firstRecord = 0,
): SearchDocumentsResult {
  switch (parsed.report_type) {
    case 'aggregate':
      return aggregateDocuments(parsed.report, options, firstRecord);
    case 'forensic':
      return forensicDocuments(parsed.report, options);
    case 'smtp_tls':
      return smtpTlsDocuments(parsed.report, options);
  }
}
