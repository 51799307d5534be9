/**
 * Splunk HTTP Event Collector events, as the newer original (parsedmarc 10.x/11.x splunk.py) sends them, so
 * that its Splunk users' searches and dashboards keep working: an envelope `{"host", "source", "index",
 * "sourcetype", "time", "event"}` per event; `dmarc:aggregate` one event per record (the report's metadata
 * at the top level beside the record's fields), the forensic (failure) report whole as one event, the SMTP
 * TLS report whole as one event. `time` is whole epoch seconds, as the original's int() gives.
 *
 * Each event is produced as its finished JSON line (compact JSON, one per line, ready for a request body):
 * the report's metadata and policy are serialized once per report, not once per record.
 *
 * Deliberate differences: the envelope leaves out `index` when none is configured (the token's default
 * index applies) where the original would send null; a report the original could not date (it raises and
 * sends nothing) is refused here with a reason.
 */
import type { AggregateReport, ParsedReport } from '@parsedmarc-ts/parser';
import { parseUtcInstant } from '../search/values.js';

/** The forensic sourcetype: the documented original's word, or RFC 9991's as the newer original sends it. */
export type HecForensicSourcetype = 'dmarc:forensic' | 'dmarc:failure';

export const HEC_SOURCETYPES = {
  aggregate: 'dmarc:aggregate',
  smtp_tls: 'smtp:tls',
} as const;

export interface HecEventOptions {
  /** The envelope's host: the machine's name, as the original sends its FQDN. */
  host: string;
  /** The Splunk index; null leaves it to the token's default index. */
  index: string | null;
  /** The envelope's source (default "parsedmarc"). */
  source?: string;
  /** Default "dmarc:forensic". */
  forensicSourcetype?: HecForensicSourcetype;
}

export type HecEventsResult =
  /** One compact JSON object per event, without a line end. */
  | { ok: true; events: string[] }
  /** The report cannot be dated (the original fails on it too): say so, send nothing of it. */
  | { ok: false; code: 'UNDATABLE_REPORT'; reason: string };

const json = JSON.stringify;

/** The original's int(datetime.timestamp()) of a UTC date text; null when unreadable. */
function epochSeconds(text: string | null): number | null {
  if (text === null) return null;
  const instant = parseUtcInstant(text);
  return instant === null ? null : Math.floor(instant.epochMs / 1000);
}

/** The envelope up to and including `"time":`, for one sourcetype. */
function envelopeHead(options: HecEventOptions, sourcetype: string): string {
  const index = options.index === null ? '' : `,"index":${json(options.index)}`;
  return (
    `{"host":${json(options.host)},"source":${json(options.source ?? 'parsedmarc')}${index},` +
    `"sourcetype":${json(sourcetype)},"time":`
  );
}

/** The inside of an object's JSON, without its braces ("" for an empty object). */
const inner = (value: object): string => json(value).slice(1, -1);

function aggregateEvents(
  report: AggregateReport,
  options: HecEventOptions,
  firstRecord: number,
): HecEventsResult {
  const head = envelopeHead(options, HEC_SOURCETYPES.aggregate);
  const metadata = inner(report.report_metadata);
  const policy = json(report.policy_published);
  const events: string[] = [];
  // The records of a report mostly share their interval: parse each distinct begin once.
  let lastBegin: string | null = null;
  let lastTime: number | null = null;
  for (const [i, record] of report.records.entries()) {
    if (record.interval_begin !== lastBegin || lastTime === null) {
      lastBegin = record.interval_begin;
      lastTime = epochSeconds(lastBegin);
    }
    const time = lastTime;
    if (time === null) {
      return {
        ok: false,
        code: 'UNDATABLE_REPORT',
        reason: `aggregate record ${firstRecord + i} has no readable interval begin (${json(record.interval_begin)})`,
      };
    }
    const { source, policy_evaluated: evaluated, identifiers, alignment, auth_results: auth } = record;
    const interval = inner({
      interval_begin: record.interval_begin,
      interval_end: record.interval_end,
      normalized_timespan: record.normalized_timespan,
    });
    const rest = inner({
      source_ip_address: source.ip_address,
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
      spf_aligned: alignment.spf,
      dkim_aligned: alignment.dkim,
      passed_dmarc: alignment.dmarc,
      header_from: identifiers.header_from,
      envelope_from: identifiers.envelope_from,
      dkim_results: auth.dkim,
      spf_results: auth.spf,
    });
    const event = metadata === '' ? interval : `${metadata},${interval}`;
    events.push(`${head}${time},"event":{${event},"published_policy":${policy},${rest}}}`);
  }
  return { ok: true, events };
}

/** A report sent whole as one event (forensic, SMTP TLS), dated by one of its fields. */
function wholeReportEvent(
  report: object,
  date: string | null,
  undatable: string,
  head: string,
): HecEventsResult {
  const time = epochSeconds(date);
  if (time === null) return { ok: false, code: 'UNDATABLE_REPORT', reason: `${undatable} (${json(date)})` };
  return { ok: true, events: [`${head}${time},"event":${json(report)}}`] };
}

/**
 * The events of one parsed report (or one part of a huge aggregate report).
 *
 * @param firstRecord for a report in parts, the position of this part's first record in the whole report
 *   (only used to name a record in a refusal).
 */
export function hecEventsOf(
  parsed: ParsedReport,
  options: HecEventOptions,
  firstRecord = 0,
): HecEventsResult {
  switch (parsed.report_type) {
    case 'aggregate':
      return aggregateEvents(parsed.report, options, firstRecord);
    case 'forensic':
      return wholeReportEvent(
        parsed.report,
        parsed.report.arrival_date_utc,
        'forensic report without a readable arrival date',
        envelopeHead(options, options.forensicSourcetype ?? 'dmarc:forensic'),
      );
    case 'smtp_tls':
      return wholeReportEvent(
        parsed.report,
        parsed.report.begin_date,
        'SMTP TLS report without a readable begin date',
        envelopeHead(options, HEC_SOURCETYPES.smtp_tls),
      );
  }
}
