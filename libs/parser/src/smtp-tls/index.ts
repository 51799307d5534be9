// SMTP TLS reports (RFC 8460).
import { InvalidSmtpTlsReport, limitExceeded } from '../errors.js';
import { resolveLimits, type ParseLimits } from '../limits.js';
import type { SmtpTlsFailureDetails, SmtpTlsPolicy, SmtpTlsReport } from '../types.js';

export interface SmtpTlsParseOptions {
  source?: string;
  limits?: Partial<ParseLimits>;
}

/**
 * RFC 8460 reports nest four levels deep (report → policies → policy → failure-details → detail). A
 * document nested much deeper is not a report, and is refused before JSON.parse builds it.
 */
export const maxSmtpTlsJsonDepth = 16;

const policyTypes = ['tlsa', 'sts', 'no-policy-found'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Deviations said per report at most; a hostile report cannot grow the list without bound. */
const maxDeviations = 20;

class Reader {
  /** What was accepted though RFC 8460 says otherwise (numbers unchanged), once each. */
  readonly deviations: string[] = [];

  constructor(private readonly source: string | undefined) {}

  deviate(what: string): void {
    if (this.deviations.length < maxDeviations && !this.deviations.includes(what)) this.deviations.push(what);
  }

  fail(message: string): never {
    throw new InvalidSmtpTlsReport(message, this.source === undefined ? {} : { source: this.source });
  }

  isObject(value: Json | undefined): value is JsonObject {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  }

  object(value: Json | undefined, path: string): JsonObject {
    if (value === undefined) this.fail(`missing required field ${path}`);
    if (!this.isObject(value)) this.fail(`${path} must be an object, not ${describe(value)}`);
    return value;
  }

  string(value: Json | undefined, path: string): string {
    if (value === undefined) this.fail(`missing required field ${path}`);
    if (typeof value !== 'string') this.fail(`${path} must be a string, not ${describe(value)}`);
    return value;
  }

  optionalString(value: Json | undefined, path: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }

  /** A session count: a non-negative integer (a string of digits is accepted, as some reporters send). */
  count(value: Json | undefined, path: string): number {
    if (value === undefined) this.fail(`missing required field ${path}`);
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      this.fail(`${path} must be a non-negative integer, not ${describe(value)}`);
    }
    if (typeof value === 'string') this.deviate(`${path.replace(/\[\d+\]/g, '[]')} written as a string`);
    return n;
  }

  /** A list of strings; RFC 8460's mx-host is sometimes sent as a single string. */
  strings(value: Json | undefined, path: string, allowSingle: boolean): string[] {
    if (value === undefined || value === null) return [];
    // RFC 8460's own example writes mx-host as one string.
    if (allowSingle && typeof value === 'string') return [value];
    if (!Array.isArray(value)) this.fail(`${path} must be a list of strings, not ${describe(value)}`);
    return value.map((item, i) => this.string(item, `${path}[${i}]`));
  }
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value).slice(0, 60)}`;
}

function failureDetails(r: Reader, value: Json | undefined, path: string): SmtpTlsFailureDetails {
  const d = r.object(value, path);
  const details: SmtpTlsFailureDetails = {
    result_type: r.string(d['result-type'], `${path}.result-type`),
    failed_session_count: r.count(d['failed-session-count'], `${path}.failed-session-count`),
  };
  const optional: [keyof SmtpTlsFailureDetails, string][] = [
    ['sending_mta_ip', 'sending-mta-ip'],
    ['receiving_ip', 'receiving-ip'],
    ['receiving_mx_hostname', 'receiving-mx-hostname'],
    ['receiving_mx_helo', 'receiving-mx-helo'],
    ['additional_information', 'additional-information'],
    ['additional_info_uri', 'additional-info-uri'],
    ['failure_reason_code', 'failure-reason-code'],
  ];
  for (const [key, name] of optional) {
    const text = r.optionalString(d[name], `${path}.${name}`);
    if (text !== undefined) (details as unknown as Record<string, unknown>)[key] = text;
  }
  return details;
}

function policy(r: Reader, value: Json | undefined, path: string): SmtpTlsPolicy {
  const p = r.object(value, path);
  const description = r.object(p['policy'], `${path}.policy`);
  const summary = r.object(p['summary'], `${path}.summary`);
  // A domain name's trailing dot (the DNS root, "example.com.") names the same domain: taken without it.
  const writtenDomain = r.string(description['policy-domain'], `${path}.policy.policy-domain`);
  const policyDomain = writtenDomain.length > 1 ? writtenDomain.replace(/\.$/, '') : writtenDomain;
  if (policyDomain !== writtenDomain)
    r.deviate(`policy-domain ${JSON.stringify(writtenDomain)} with a trailing dot`);
  // Some reporters write the type in capitals ("STS"): the same type, so taken as it means.
  const writtenType = r.string(description['policy-type'], `${path}.policy.policy-type`);
  const policyType = policyTypes.includes(writtenType.toLowerCase())
    ? writtenType.toLowerCase()
    : writtenType;
  if (policyType !== writtenType) r.deviate(`policy-type ${JSON.stringify(writtenType)} in capitals`);
  if (!policyTypes.includes(policyType)) {
    r.fail(
      `${path}.policy.policy-type must be one of ${policyTypes.join(', ')}, not ${JSON.stringify(policyType)}`,
    );
  }
  const policyStrings = r.strings(description['policy-string'], `${path}.policy.policy-string`, false);
  // RFC 8460 names it mx-host; some reporters send mx-host-pattern. Keep both, in that order, once each.
  const mxHosts = [
    ...r.strings(description['mx-host'], `${path}.policy.mx-host`, true),
    ...r.strings(description['mx-host-pattern'], `${path}.policy.mx-host-pattern`, true),
  ].filter((h, i, all) => all.indexOf(h) === i);
  const successful = r.count(
    summary['total-successful-session-count'],
    `${path}.summary.total-successful-session-count`,
  );
  const failed = r.count(
    summary['total-failure-session-count'],
    `${path}.summary.total-failure-session-count`,
  );
  const details = p['failure-details'];
  let failureDetailList: SmtpTlsFailureDetails[] | undefined;
  if (details !== undefined && details !== null) {
    if (!Array.isArray(details)) r.fail(`${path}.failure-details must be a list, not ${describe(details)}`);
    failureDetailList = details.map((d, i) => failureDetails(r, d, `${path}.failure-details[${i}]`));
  }
  return {
    policy_domain: policyDomain,
    policy_type: policyType,
    ...(policyStrings.length > 0 ? { policy_strings: policyStrings } : {}),
    ...(mxHosts.length > 0 ? { mx_host_patterns: mxHosts } : {}),
    successful_session_count: successful,
    failed_session_count: failed,
    ...(failureDetailList === undefined ? {} : { failure_details: failureDetailList }),
  };
}

/** Depth of the deepest [ or { nesting, not counting brackets inside strings; stops early past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses an RFC 8460 JSON report (text or bytes). Throws InvalidSmtpTlsReport (LIMIT_EXCEEDED for size). */
export function parseSmtpTlsReportJson(
  json: string | Uint8Array,
  options: SmtpTlsParseOptions = {},
): SmtpTlsReport {
  const r: Reader = new Reader(options.source);
  const limits = resolveLimits(options.limits);
  const size = typeof json === 'string' ? json.length : json.byteLength;
  const bound = Math.min(limits.maxInputBytes, limits.maxSmtpTlsBytes);
  if (size > bound) {
    const limit = bound === limits.maxSmtpTlsBytes ? 'maxSmtpTlsBytes' : 'maxInputBytes';
    throw limitExceeded(limit, bound, `SMTP TLS report of ${size} bytes`, {
      ...(options.source === undefined ? {} : { source: options.source }),
    });
  }
  const text = (typeof json === 'string' ? json : new TextDecoder('utf-8').decode(json)).replace(
    /^\uFEFF/,
    '',
  );
  if (jsonDepth(text, maxSmtpTlsJsonDepth) > maxSmtpTlsJsonDepth) {
    r.fail(`JSON nested deeper than ${maxSmtpTlsJsonDepth} levels is not an SMTP TLS report`);
  }
  let document: Json;
  try {
    document = JSON.parse(text) as Json;
  } catch (error) {
    throw new InvalidSmtpTlsReport(
      `not valid JSON: ${(error as Error).message}`,
      options.source === undefined ? {} : { source: options.source },
      { cause: error },
    );
  }
  const report = r.object(document, 'report');
  // Checked in the original's order, so the first missing field named is the same.
  // contact-info changes no number: real reporters send it null or not at all, and such a report is kept
  // (contact_info null). Every other field is required.
  for (const field of ['organization-name', 'date-range', 'report-id', 'policies']) {
    if (report[field] === undefined) r.fail(`missing required field ${field}`);
  }
  const organizationName = r.string(report['organization-name'], 'organization-name');
  const dateRange = r.object(report['date-range'], 'date-range');
  const beginDate = r.string(dateRange['start-datetime'], 'date-range.start-datetime');
  const endDate = r.string(dateRange['end-datetime'], 'date-range.end-datetime');
  const contactInfo =
    report['contact-info'] === undefined || report['contact-info'] === null
      ? null
      : r.string(report['contact-info'], 'contact-info');
  if (contactInfo === null) {
    r.deviate(report['contact-info'] === null ? 'contact-info is null' : 'contact-info is missing');
  }
  const reportId = r.string(report['report-id'], 'report-id');
  const policies = report['policies'];
  if (!Array.isArray(policies)) r.fail(`policies must be a list, not ${describe(policies ?? null)}`);
  const parsed: SmtpTlsReport = {
    organization_name: organizationName,
    begin_date: beginDate,
    end_date: endDate,
    contact_info: contactInfo,
    report_id: reportId,
    policies: policies.map((p, i) => policy(r, p, `policies[${i}]`)),
  };
  if (r.deviations.length > 0) parsed.errors = r.deviations;
  return parsed;
}

const smtpTlsKeys = /"(?:organization-name|date-range|contact-info|report-id|policies)"\s*:/;

/** Cheap sniff on decoded text: is this an RFC 8460 JSON report? */
export function looksLikeSmtpTlsJson(head: string): boolean {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('{') && smtpTlsKeys.test(text);
}
