/**
 * Kafka message keys. A report's key is its stable identity, so that every copy and every part of one
 * report lands in one partition (ordered, mergeable) and sinks can use the key as a document id. Keys are
 * hex SHA-256 digests of a canonical JSON array: fixed length, safe in any id field, and computable by
 * any consumer from the report itself.
 */
import { createHash } from 'node:crypto';
import type { ParsedReport } from '@parsedmarc-ts/parser';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The fields that identify a report, per type:
 * - aggregate: reporter org, report id, policy domain, date range (parsedmarc's own duplicate check);
 * - forensic: reported domain, arrival date (UTC), source IP and the sample itself (failure reports carry
 *   no report id);
 * - smtp_tls: organization, report id, the policy domains, date range.
 * Dates are the rendered strings: every service of one pipeline must run in the same time zone (UTC).
 */
export function reportIdentity(parsed: ParsedReport): unknown[] {
  switch (parsed.report_type) {
    case 'aggregate': {
      const { report_metadata: meta, policy_published: policy } = parsed.report;
      return ['aggregate', meta.org_name, meta.report_id, policy.domain, meta.begin_date, meta.end_date];
    }
    case 'forensic': {
      const r = parsed.report;
      return ['forensic', r.reported_domain, r.arrival_date_utc, r.source.ip_address, sha256Hex(r.sample)];
    }
    case 'smtp_tls': {
      const r = parsed.report;
      const domains = r.policies.map((p) => p.policy_domain).sort();
      return ['smtp_tls', r.organization_name, r.report_id, domains, r.begin_date, r.end_date];
    }
  }
}

/** The Kafka key of a report (and of each of its parts). */
export function reportKey(parsed: ParsedReport): string {
  return sha256Hex(JSON.stringify(reportIdentity(parsed)));
}
