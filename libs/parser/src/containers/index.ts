// Content detection, decompression, archives, mailboxes and dispatch to the report parsers.
import { ParseError, limitExceeded } from '../errors.js';
import { resolveLimits, type ParseLimits } from '../limits.js';
import type { ParsedReport } from '../types.js';
import {
  InputStreamError,
  guardInputStream,
  limitStreamBytes,
  streamOfBytes,
  type ByteStream,
} from './bytes.js';
import { detectFormat } from './detect.js';
import { failure, unrecognizedFormatMessage, walk } from './dispatch.js';
import { gunzipSync } from './gzip.js';
import { decodeUtf8Lenient } from './text.js';
import { isJunkEntry, readZipDirectory, zipMemberSync } from './zip.js';

export { detectFormat, detectionHeadBytes, isOutlookMsg, type DetectedFormat } from './detect.js';
export { LenientUtf8Decoder, decodeUtf8Lenient } from './text.js';
export { splitMbox, type MboxMessage } from './mbox.js';

export interface ParseReportsOptions {
  limits?: Partial<ParseLimits>;
  /** Names the input in errors and outcomes (a file path, IMAP uid...). */
  source?: string;
  /**
   * Converts an Outlook .msg file to RFC 822 bytes. I/O lives outside this library: the CLI passes one that
   * runs `msgconvert`; without it a .msg input gives a MISSING_TOOL error.
   */
  convertOutlookMsg?: (msg: Uint8Array) => Promise<Uint8Array>;
  /** Records per aggregate part: huge reports come out as several parts of at most this many records. */
  aggregatePartRecords?: number;
}

/** Where inside the input a report or error came from, e.g. "reports.zip!a.xml" or "inbox.mbox#12". */
export type OutcomeSource = string;

/** Aggregate reports above aggregatePartRecords records come in parts sharing one header. */
export interface ReportPart {
  index: number;
  isLast: boolean;
  /** Position of this part's first record in the whole report (stable ids per record need it). */
  firstRecord: number;
}

export type ParseOutcome =
  | { ok: true; source: OutcomeSource; parsed: ParsedReport; part?: ReportPart }
  | { ok: false; source: OutcomeSource; error: ParseError };

/** Records per aggregate part when options.aggregatePartRecords is not given. */
export const defaultAggregatePartRecords = 10_000;

/**
 * Parses every report in one input, detected by content (never by file name): XML (aggregate), JSON (SMTP
 * TLS), gzip, zip (every member), RFC 822 email (its forensic report, else every report attachment), mbox
 * (every message), Outlook .msg (through options.convertOutlookMsg). Containers nest (a zip in an email, a
 * gzip in a zip) up to limits.maxNestingDepth layers.
 *
 * Every outcome names its `source`: options.source (default "<input>") plus the path inside it:
 * "reports.zip!a.xml" (zip member), "mail.eml!attachment[1]:report.xml.gz" (0-based attachment index, then
 * the file name when there is one), "inbox.mbox#12" (1-based message number); gzip adds nothing.
 *
 * A bad member never hides the good ones: each yields its own outcome. Inside archives and emails, content
 * that is no report (a README, a logo) is skipped without an outcome; an input, zip or email holding no
 * report at all yields one UNRECOGNIZED_FORMAT outcome (EMPTY_INPUT for zero bytes).
 *
 * Aggregate reports are streamed: an aggregate report of more than aggregatePartRecords records comes as
 * several outcomes, in order, each a whole AggregateReport with the same header and the next slice of
 * records, marked part: { index, isLast }. Problems the aggregate parser finds after the header (bad records,
 * XML errors) are added to report_metadata.errors of the last part only. If the report fails after some
 * parts, an { ok: false } outcome with the same source follows them (the report is incomplete). Given an AsyncIterable (a file stream), plain
 * and gzip-compressed XML are never held whole in memory; zip archives, emails and JSON are buffered, within
 * maxInputBytes.
 *
 * Never throws for bad input; yields { ok: false } outcomes instead. A failure of the input stream itself
 * (an I/O error) is thrown as is.
 */
export async function* parseReports(
  input: Uint8Array | AsyncIterable<Uint8Array>,
  options: ParseReportsOptions = {},
): AsyncGenerator<ParseOutcome> {
  const limits = resolveLimits(options.limits);
  const source = options.source ?? '<input>';
  const partRecords = Math.max(1, Math.floor(options.aggregatePartRecords ?? defaultAggregatePartRecords));
  let stream: ByteStream;
  if (input instanceof Uint8Array) {
    if (input.length > limits.maxInputBytes) {
      yield {
        ok: false,
        source,
        error: limitExceeded('maxInputBytes', limits.maxInputBytes, `input size (${input.length} bytes)`, {
          source,
        }),
      };
      return;
    }
    stream = streamOfBytes(input);
  } else {
    stream = limitStreamBytes(
      guardInputStream(input),
      'maxInputBytes',
      limits.maxInputBytes,
      'input size',
      source,
    );
  }
  try {
    yield* walk(stream, {
      source,
      depth: 0,
      role: 'input',
      limits,
      partRecords,
      convertOutlookMsg: options.convertOutlookMsg,
    });
  } catch (error) {
    if (error instanceof InputStreamError) throw error.cause;
    // walk() turns every failure into an outcome; this is only a safety net.
    yield failure(error, source, 'UNRECOGNIZED_FORMAT');
  }
}

/**
 * parsedmarc.extract_xml / extract_report: the text of a report file, whether plain, gzip-compressed or
 * zipped (the first member that is not a directory or macOS metadata). UTF-8, byte order mark stripped,
 * invalid bytes dropped. Throws ParseError: UNRECOGNIZED_FORMAT ("Not a valid zip, gzip, json, or xml
 * file"), EMPTY_INPUT, INVALID_ARCHIVE, LIMIT_EXCEEDED.
 */
export function extractXml(
  bytes: Uint8Array,
  options: { limits?: Partial<ParseLimits>; source?: string } = {},
): string {
  const limits = resolveLimits(options.limits);
  const source = options.source ?? '<input>';
  if (bytes.length > limits.maxInputBytes) {
    throw limitExceeded('maxInputBytes', limits.maxInputBytes, `input size (${bytes.length} bytes)`, {
      source,
    });
  }
  const format = detectFormat(bytes);
  switch (format) {
    case 'gzip':
      return decodeUtf8Lenient(gunzipSync(bytes, limits, source));
    case 'zip': {
      const entry = readZipDirectory(bytes, limits, source).find((candidate) => !isJunkEntry(candidate.name));
      if (entry === undefined)
        throw new ParseError('INVALID_ARCHIVE', 'the zip archive has no file', { source });
      return decodeUtf8Lenient(zipMemberSync(bytes, entry, limits, `${source}!${entry.name}`));
    }
    case 'xml':
    case 'json':
      return decodeUtf8Lenient(bytes);
    case 'empty':
      throw new ParseError('EMPTY_INPUT', unrecognizedFormatMessage, { source });
    default:
      throw new ParseError('UNRECOGNIZED_FORMAT', 'Not a valid zip, gzip, json, or xml file', { source });
  }
}

/** parsedmarc 10.x's name for extract_xml (extract_report). */
export const extractReport = extractXml;
