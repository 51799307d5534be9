// Content detection, decompression, archives, mailboxes and dispatch to the report parsers.
import type { ParseLimits } from '../limits.js';
import type { ParseError } from '../errors.js';
import type { ParsedReport } from '../types.js';

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
}

export type ParseOutcome =
  | { ok: true; source: OutcomeSource; parsed: ParsedReport; part?: ReportPart }
  | { ok: false; source: OutcomeSource; error: ParseError };

/**
 * Parses every report in one input, detected by content: XML, JSON, gzip, zip (every member), RFC 822 email
 * (every report attachment), mbox (every message), Outlook .msg. A bad member never hides the good ones:
 * each yields its own outcome. Never throws for bad input; yields { ok: false } outcomes instead.
 */
export async function* parseReports(_input: Uint8Array | AsyncIterable<Uint8Array>, _options: ParseReportsOptions = {}): AsyncGenerator<ParseOutcome> {
  throw new Error('not implemented yet');
}
