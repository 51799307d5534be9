// Aggregate (rua) report parsing. Owner: aggregate parser work. Contract (do not change signatures without
// updating callers in containers/ and apps/cli):
import type { AggregateRecord, AggregateReport, AggregateReportHeader } from '../types.js';
import type { ParseLimits } from '../limits.js';

export interface AggregateParseOptions {
  limits?: Partial<ParseLimits>;
  /** Names the input in errors. */
  source?: string;
}

/** Parses a whole aggregate report (XML as a string or bytes). Throws ParseError. */
export function parseAggregateReportXml(_xml: string | Uint8Array, _options: AggregateParseOptions = {}): AggregateReport {
  throw new Error('not implemented yet');
}

/**
 * Push parser for bounded memory: feed text chunks, receive the header once (before the first record) and
 * each normalized record (already split into UTC days when the report spans more than 24 hours).
 */
export interface AggregateStreamHandlers {
  onHeader(header: AggregateReportHeader): void;
  onRecord(record: AggregateRecord): void;
}

export class AggregateReportStreamParser {
  constructor(_handlers: AggregateStreamHandlers, _options: AggregateParseOptions = {}) {}
  /** Feed the next chunk of XML text. Throws ParseError. */
  write(_chunk: string): void {
    throw new Error('not implemented yet');
  }
  /** Signal end of input; throws ParseError if no report could be recovered. */
  end(): void {
    throw new Error('not implemented yet');
  }
}

/** Cheap content sniff on the first few KB of decoded text: is this an aggregate report XML document? */
export function looksLikeAggregateXml(_head: string): boolean {
  throw new Error('not implemented yet');
}
