/**
 * parsedmarc's documented library API (test/fixtures/conformance/documented/api.txt), as typed TypeScript exports with
 * the same meaning; camelCase names. Functions that take "a path, a file-like object or bytes" take a path
 * or bytes here. Parsing functions enrich like the original (reverse DNS through the given nameservers,
 * country) unless `offline` is set.
 */
import { readFile } from 'node:fs/promises';
import { createEnricher, type Enricher } from '@parsedmarc-ts/enrich';
import {
  InvalidAggregateReport,
  ParseError,
  parseReports,
  resolveLimits,
  type AggregateReport,
  type ParsedReport,
  type ParseLimits,
  type ParseResults,
} from '@parsedmarc-ts/parser';
import { convertOutlookMsg } from '@parsedmarc-ts/pipeline';
import { OutputDirSink } from '@parsedmarc-ts/sinks';

export interface ParseApiOptions {
  /** Nameservers ("ip" or "ip:port"); Cloudflare's by default. */
  nameservers?: string[];
  /** DNS timeout in seconds (default 2.0). */
  timeout?: number;
  /** No DNS queries. */
  offline?: boolean;
  limits?: Partial<ParseLimits>;
}

const enrichers = new Map<string, Promise<Enricher>>();

/** One enricher per distinct DNS setting, shared by calls (its cache is what makes repeated calls fast). */
function enricherFor(options: ParseApiOptions): Promise<Enricher> {
  const key = JSON.stringify([options.nameservers ?? null, options.timeout ?? 2, options.offline ?? false]);
  let enricher = enrichers.get(key);
  if (!enricher) {
    enricher = createEnricher({
      nameservers: options.nameservers,
      timeoutMs: (options.timeout ?? 2) * 1000,
      offline: options.offline ?? false,
    });
    enrichers.set(key, enricher);
  }
  return enricher;
}

/** Closes the shared enrichers (their DNS sockets); call before exit in long-lived programs that are done. */
export async function closeSharedEnrichers(): Promise<void> {
  const all = [...enrichers.values()];
  enrichers.clear();
  for (const enricher of all) await (await enricher).close();
}

async function inputBytes(input: string | Uint8Array): Promise<{ bytes: Uint8Array; source: string }> {
  if (typeof input === 'string') return { bytes: new Uint8Array(await readFile(input)), source: input };
  return { bytes: input, source: '<bytes>' };
}

/**
 * Every report in the input (a zip or an email may carry several), enriched, with aggregate parts merged.
 * Throws the first error when the input holds no report at all.
 */
export async function parseReportsFromInput(
  input: string | Uint8Array,
  options: ParseApiOptions = {},
): Promise<ParsedReport[]> {
  const { bytes, source } = await inputBytes(input);
  const enricher = await enricherFor(options);
  const reports: ParsedReport[] = [];
  let firstError: ParseError | null = null;
  for await (const outcome of parseReports(bytes, {
    source,
    limits: resolveLimits(options.limits),
    convertOutlookMsg,
  })) {
    if (!outcome.ok) {
      firstError ??= outcome.error;
      continue;
    }
    const parsed = await enricher.enrichReport(outcome.parsed);
    const previous = reports.at(-1);
    if (
      outcome.part &&
      outcome.part.index > 0 &&
      previous?.report_type === 'aggregate' &&
      parsed.report_type === 'aggregate'
    ) {
      previous.report.records.push(...parsed.report.records);
    } else
      reports.push(
        parsed.report_type === 'aggregate'
          ? { ...parsed, report: { ...parsed.report, records: [...parsed.report.records] } }
          : parsed,
      );
  }
  if (reports.length === 0)
    throw firstError ?? new ParseError('UNRECOGNIZED_FORMAT', 'no report found', { source });
  return reports;
}

/** parse_report_file: the (first) report of a file or bytes, of any type. Throws ParseError. */
export async function parseReportFile(
  input: string | Uint8Array,
  options: ParseApiOptions = {},
): Promise<ParsedReport> {
  return (await parseReportsFromInput(input, options))[0]!;
}

/** parse_report_email: the report of an RFC 822 email (bytes or text). Throws ParseError. */
export async function parseReportEmail(
  input: Uint8Array | string,
  options: ParseApiOptions = {},
): Promise<ParsedReport> {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  return parseReportFile(bytes, options);
}

/** parse_aggregate_report_file: an aggregate report from XML, gzip or zip (path or bytes). Throws ParseError. */
export async function parseAggregateReportFile(
  input: string | Uint8Array,
  options: ParseApiOptions = {},
): Promise<AggregateReport> {
  const parsed = await parseReportFile(input, options);
  if (parsed.report_type !== 'aggregate') {
    throw new InvalidAggregateReport(`not an aggregate report but a ${parsed.report_type} report`, {
      source: typeof input === 'string' ? input : '<bytes>',
    });
  }
  return parsed.report;
}

/** save_output: writes (appends) the results into a folder like the CLI's -o. */
export async function saveOutput(results: ParseResults, outputDirectory = 'output'): Promise<void> {
  const sink = new OutputDirSink(outputDirectory);
  try {
    for (const report of results.aggregate_reports)
      await sink.write({ source: '', parsed: { report_type: 'aggregate', report } });
    for (const report of results.forensic_reports)
      await sink.write({ source: '', parsed: { report_type: 'forensic', report } });
    for (const report of results.smtp_tls_reports)
      await sink.write({ source: '', parsed: { report_type: 'smtp_tls', report } });
  } finally {
    await sink.close();
  }
}

// ------------------------------------------------------------------ parsedmarc.utils

const pad = (n: number): string => String(n).padStart(2, '0');

/** timestamp_to_datetime: a UNIX timestamp (seconds) as a Date. */
export const timestampToDatetime = (timestamp: number): Date => new Date(timestamp * 1000);

/** timestamp_to_human: "YYYY-MM-DD HH:MM:SS" in the local time zone. */
export function timestampToHuman(timestamp: number): string {
  const d = timestampToDatetime(timestamp);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * human_timestamp_to_datetime: "YYYY-MM-DD HH:MM:SS" (local time, or UTC with toUtc) as a Date. Throws a
 * RangeError for text that is not such a timestamp.
 */
export function humanTimestampToDatetime(humanTimestamp: string, toUtc = false): Date {
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*$/.exec(humanTimestamp);
  if (!match) throw new RangeError(`not a "YYYY-MM-DD HH:MM:SS" timestamp: ${humanTimestamp}`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return toUtc ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
}

/** human_timestamp_to_timestamp: "YYYY-MM-DD HH:MM:SS" (local time) as UNIX seconds. */
export const humanTimestampToTimestamp = (humanTimestamp: string): number =>
  humanTimestampToDatetime(humanTimestamp).getTime() / 1000;

export { convertOutlookMsg };
