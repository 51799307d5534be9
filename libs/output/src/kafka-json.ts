/**
 * The original's Kafka messages (its kafkaclient), for consumers written against it: JSON as Python's
 * json.dumps writes it by default (", " and ": ", every non-ASCII character escaped), one message per
 * aggregate record ("slice") carrying the report's date range, organization, policy and id, and each
 * forensic or SMTP TLS report as a list of one report.
 */
import type { AggregateReport, ParsedReport } from '@parsedmarc-ts/parser';
import { compactJson } from './json.js';

/** json.dumps(value) with Python's defaults: compact separators with spaces, ensure_ascii. */
export function pythonJsonDumps(value: unknown): string {
  // Outside strings JSON text is ASCII, so escaping every UTF-16 unit above 0x7f touches strings only, and
  // astral characters become surrogate pairs of escapes, as Python writes them.
  return compactJson(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** "2018-10-01 17:07:12" as the original's date_range writes it: "2018-10-01T17:07:12". */
const dateRangeTime = (humanTimestamp: string): string => humanTimestamp.replace(' ', 'T');

/** One message per record of this report (or of this part of it). */
function aggregateSlices(report: AggregateReport): string[] {
  const { report_metadata: metadata, policy_published } = report;
  const date_range = [dateRangeTime(metadata.begin_date), dateRangeTime(metadata.end_date)];
  return report.records.map((record) =>
    pythonJsonDumps({
      ...record,
      date_range,
      org_name: metadata.org_name,
      org_email: metadata.org_email,
      policy_published,
      report_id: metadata.report_id,
    }),
  );
}

/** The values the original's Kafka output sends for one report, in order. */
export function originalKafkaValues(parsed: ParsedReport): string[] {
  switch (parsed.report_type) {
    case 'aggregate':
      return aggregateSlices(parsed.report);
    case 'forensic':
    case 'smtp_tls':
      return [pythonJsonDumps([parsed.report])];
  }
}
