/**
 * Raw element texts → the normalized model of types.ts, with the original's defaults and derivations
 * (parsedmarc 8.15.1 for the original's documented fields, 10.4.3 for the newer ones). Objects are built in
 * the key order of types.ts because JSON output is compared with the documented output key for key.
 */
import { getDomain } from 'tldts';

import type {
  AggregateRecord,
  AggregateReportHeader,
  DkimAuthResult,
  PolicyOverrideReason,
  SpfAuthResult,
} from '../types.js';
import { unenrichedSource } from '../types.js';
import { formatLocal, formatUtc } from '../time.js';
import type { RawPolicyPublished, RawRecord, RawReportMetadata, RawText } from './raw.js';

/** Reports spanning more than this are split into UTC-day buckets (parsedmarc 10.x default: 24 hours). */
export const NORMALIZE_TIMESPAN_THRESHOLD_SECONDS = 24 * 3600;

const SECONDS_PER_DAY = 86_400;

/** A problem that makes the input unusable as a report (the caller turns it into InvalidAggregateReport). */
export class ReportDataError extends Error {}

/** The report-wide facts each record's normalization needs. */
export interface ReportTimespan {
  begin: number;
  end: number;
  /** begin and end as interval_begin/interval_end print them, computed once per report. */
  beginUtc: string;
  endUtc: string;
  normalize: boolean;
}

/**
 * The registrable domain of an organisation name that looks like a host name, lower-cased (the original
 * reduces org_name with the public suffix list: "Outlook.com" → "outlook.com", "dmarc.yahoo.com" →
 * "yahoo.com"); null when the name has no registrable domain (e.g. "AMAZON-SES"), which keeps it as sent.
 */
export function orgNameBaseDomain(name: string): string | null {
  return getDomain(name.toLowerCase(), {
    allowPrivateDomains: true,
    extractHostname: false,
    validateHostname: false,
  });
}

const nonEmpty = (value: RawText): value is string => typeof value === 'string';

/**
 * Unix seconds from a date_range bound. Like the original, whatever follows a '.' is dropped (some reporters
 * send fractional seconds) and surrounding whitespace is ignored (the text is already trimmed).
 */
export function parseTimestamp(text: RawText, what: string): number {
  if (!nonEmpty(text)) throw new ReportDataError(`Missing field: ${what}`);
  const dot = text.indexOf('.');
  const whole = (dot < 0 ? text : text.slice(0, dot)).trim();
  if (!/^[+-]?\d+$/.test(whole))
    throw new ReportDataError(`Invalid ${what} timestamp: ${JSON.stringify(text)}`);
  const seconds = Number(whole);
  // Date's range (±8.64e15 ms): beyond it no date can be printed.
  if (!Number.isSafeInteger(seconds) || Math.abs(seconds) > 8.64e12) {
    throw new ReportDataError(`Invalid ${what} timestamp: ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** Builds everything but the records. Throws ReportDataError when a required field is missing. */
export function buildHeader(
  version: RawText,
  namespace: string | null,
  metadata: RawReportMetadata | undefined,
  policy: RawPolicyPublished | undefined,
  parseProblems: readonly string[],
  baseDomain: (name: string) => string | null,
): { header: AggregateReportHeader; timespan: ReportTimespan } {
  if (metadata === undefined) throw new ReportDataError('Missing field: report_metadata');
  if (policy === undefined) throw new ReportDataError('Missing field: policy_published');

  let orgName = metadata.org_name ?? null;
  if (orgName === null && nonEmpty(metadata.email)) {
    const at = metadata.email.lastIndexOf('@');
    orgName = at < 0 ? metadata.email : metadata.email.slice(at + 1);
  }
  if (orgName !== null && !orgName.includes(' ')) orgName = baseDomain(orgName) ?? orgName;
  if (!orgName) {
    throw new ReportDataError('Missing field: org_name (organization name is required to store the report)');
  }

  let reportId = metadata.report_id ?? null;
  // Some reporters wrap the id like a Message-ID: "<id@host>" → "id".
  if (reportId !== null) reportId = reportId.replace(/[<>]/g, '').split('@')[0] ?? '';

  const begin = parseTimestamp(metadata.begin, 'date_range begin');
  const end = parseTimestamp(metadata.end, 'date_range end');
  const span = end - begin;

  // Required elements; sent empty they are kept as empty strings (the original keeps them as null).
  if (policy.domain === undefined) throw new ReportDataError('Missing field: policy_published domain');
  if (policy.p === undefined) throw new ReportDataError('Missing field: policy_published p');
  const p = policy.p ?? '';

  const header: AggregateReportHeader = {
    xml_schema: version ?? 'draft',
    report_metadata: {
      org_name: orgName,
      org_email: metadata.email ?? null,
      org_extra_contact_info: metadata.extra_contact_info ?? null,
      report_id: reportId,
      begin_date: formatLocal(begin),
      end_date: formatLocal(end),
      errors: [...metadata.errors, ...parseProblems],
      timespan_requires_normalization: span > NORMALIZE_TIMESPAN_THRESHOLD_SECONDS,
      original_timespan_seconds: span,
      generator: metadata.generator ?? null,
    },
    policy_published: {
      domain: policy.domain ?? '',
      adkim: policy.adkim ?? 'r',
      aspf: policy.aspf ?? 'r',
      p,
      sp: policy.sp ?? p,
      pct: policy.pct ?? '100',
      fo: policy.fo ?? '0',
      np: policy.np ?? null,
      testing: policy.testing ?? null,
      discovery_method: policy.discovery_method ?? null,
    },
    xml_namespace: namespace,
  };
  const timespan: ReportTimespan = {
    begin,
    end,
    beginUtc: formatUtc(begin),
    endUtc: formatUtc(end),
    normalize: span > NORMALIZE_TIMESPAN_THRESHOLD_SECONDS,
  };
  return { header, timespan };
}

/** The record's message count: a non-negative integer (the original's int() refuses "1.5" too). */
function parseCount(text: RawText): number {
  if (!nonEmpty(text)) throw new ReportDataError('Missing field: count');
  if (!/^\+?\d+$/.test(text)) throw new ReportDataError(`Invalid count: ${JSON.stringify(text)}`);
  const count = Number(text);
  if (!Number.isSafeInteger(count)) throw new ReportDataError(`Invalid count: ${JSON.stringify(text)}`);
  return count;
}

const lower = (text: RawText, fallback: string): string => (nonEmpty(text) ? text.toLowerCase() : fallback);

/** A normalized record without its interval fields: what every UTC-day slice of it shares. */
type RecordCore = Omit<AggregateRecord, 'normalized_timespan' | 'interval_begin' | 'interval_end'>;

export function normalizeRecordCore(raw: RawRecord): RecordCore {
  if (!nonEmpty(raw.source_ip)) throw new ReportDataError('Missing field: source_ip');
  const count = parseCount(raw.count);

  const dkimResults: DkimAuthResult[] = [];
  for (const r of raw.dkimResults) {
    // Results without a domain say nothing about the message and are dropped, as by the original.
    if (!nonEmpty(r.domain)) continue;
    dkimResults.push({
      domain: r.domain,
      selector: r.selector ?? 'none',
      result: lower(r.result, 'none'),
      human_result: r.human_result ?? null,
    });
  }
  const spfResults: SpfAuthResult[] = [];
  for (const r of raw.spfResults) {
    if (!nonEmpty(r.domain)) continue;
    spfResults.push({
      domain: r.domain,
      scope: r.scope ?? 'mfrom',
      result: lower(r.result, 'none'),
      human_result: r.human_result ?? null,
    });
  }

  // Reporters often omit envelope_from; the original falls back on the domain of the last SPF result as
  // sent (even one without a domain, which gives null).
  let envelopeFrom = raw.envelope_from ?? null;
  if (envelopeFrom === null) {
    const lastSpf = raw.spfResults[raw.spfResults.length - 1];
    envelopeFrom = lastSpf !== undefined && nonEmpty(lastSpf.domain) ? lastSpf.domain.toLowerCase() : null;
  }

  const reasons: PolicyOverrideReason[] = raw.reasons.map((r) => ({
    type: r.type ?? null,
    comment: r.comment ?? null,
  }));

  const spfAligned = nonEmpty(raw.spf) && raw.spf.toLowerCase() === 'pass';
  const dkimAligned = nonEmpty(raw.dkim) && raw.dkim.toLowerCase() === 'pass';

  return {
    source: unenrichedSource(raw.source_ip),
    count,
    alignment: { spf: spfAligned, dkim: dkimAligned, dmarc: spfAligned || dkimAligned },
    policy_evaluated: {
      disposition: lower(raw.disposition, 'none'),
      dkim: lower(raw.dkim, 'fail'),
      spf: lower(raw.spf, 'fail'),
      policy_override_reasons: reasons,
    },
    identifiers: {
      header_from: nonEmpty(raw.header_from) ? raw.header_from.toLowerCase() : '',
      envelope_from: envelopeFrom,
      envelope_to: raw.envelope_to ?? null,
    },
    auth_results: { dkim: dkimResults, spf: spfResults },
  };
}

function withInterval(
  core: RecordCore,
  source: AggregateRecord['source'],
  count: number,
  normalized: boolean,
  intervalBegin: string,
  intervalEnd: string,
): AggregateRecord {
  return {
    source,
    count,
    alignment: core.alignment,
    policy_evaluated: core.policy_evaluated,
    identifiers: core.identifiers,
    auth_results: core.auth_results,
    normalized_timespan: normalized,
    interval_begin: intervalBegin,
    interval_end: intervalEnd,
  };
}

/**
 * Emits the normalized record, or (for a report spanning more than 24 hours) one record per UTC day the
 * report touches, with the count shared out in proportion to the seconds of the report in each day and
 * rounded by largest remainder so the parts add up to the original count exactly (parsedmarc 10.x).
 * Days whose share rounds to 0 are not emitted. Slices share the nested objects but each has its own
 * `source`, the part enrichment fills in.
 */
export function emitRecord(
  raw: RawRecord,
  timespan: ReportTimespan,
  emit: (record: AggregateRecord) => void,
): void {
  const core = normalizeRecordCore(raw);
  if (!timespan.normalize) {
    emit(withInterval(core, core.source, core.count, false, timespan.beginUtc, timespan.endUtc));
    return;
  }
  for (const slice of splitIntoUtcDays(timespan.begin, timespan.end, core.count)) {
    emit(
      withInterval(core, { ...core.source }, slice.count, true, formatUtc(slice.begin), formatUtc(slice.end)),
    );
  }
}

export interface DaySlice {
  begin: number;
  end: number;
  count: number;
}

/** A run of consecutive day buckets with the same number of seconds (hence the same exact share). */
interface Run {
  first: number;
  length: number;
  seconds: number;
  floor: number;
  fraction: number;
  plusOne: number;
}

/**
 * Splits [begin, end) into UTC days and shares `total` out by the seconds in each day, largest remainder
 * first, ties to the earlier day; same arithmetic as parsedmarc 10.4.3's `_bucket_interval_by_day`, so
 * counts per day match it exactly. All whole days in the middle have the same share, so they are handled
 * as one run: the work is proportional to the slices emitted, not to the days spanned (a hostile report
 * can claim a span of thousands of years).
 */
export function* splitIntoUtcDays(begin: number, end: number, total: number): Generator<DaySlice> {
  const interval = end - begin;
  if (interval <= 0 || total <= 0) return;
  const firstDay = Math.floor(begin / SECONDS_PER_DAY);
  const lastDay = Math.ceil(end / SECONDS_PER_DAY) - 1;
  const dayCount = lastDay - firstDay + 1;

  const run = (first: number, length: number, seconds: number): Run => {
    const exact = (seconds / interval) * total;
    const floor = Math.trunc(exact);
    return { first, length, seconds, floor, fraction: exact - floor, plusOne: 0 };
  };
  const runs: Run[] = [];
  if (dayCount === 1) {
    runs.push(run(0, 1, interval));
  } else {
    runs.push(run(0, 1, (firstDay + 1) * SECONDS_PER_DAY - begin));
    if (dayCount > 2) runs.push(run(1, dayCount - 2, SECONDS_PER_DAY));
    runs.push(run(dayCount - 1, 1, end - lastDay * SECONDS_PER_DAY));
  }

  let remainder = total - runs.reduce((sum, r) => sum + r.floor * r.length, 0);
  // Stable sort: equal fractions keep day order, like Python's sorted(reverse=True).
  const byFraction = [...runs].sort((a, b) => b.fraction - a.fraction || a.first - b.first);
  for (const r of byFraction) {
    if (remainder <= 0) break;
    r.plusOne = Math.min(r.length, remainder);
    remainder -= r.plusOne;
  }

  for (const r of runs) {
    // With a zero share only the days given a remainder unit get a slice.
    const emitted = r.floor > 0 ? r.length : r.plusOne;
    for (let i = 0; i < emitted; i++) {
      const dayIndex = r.first + i;
      const dayStart = (firstDay + dayIndex) * SECONDS_PER_DAY;
      yield {
        begin: Math.max(begin, dayStart),
        end: Math.min(end, dayStart + SECONDS_PER_DAY),
        count: r.floor + (i < r.plusOne ? 1 : 0),
      };
    }
  }
}
