/**
 * Typed errors of the parsing core. Every failure a caller can see carries a stable `code` (for dead-letter
 * topics, metrics and tests), a human message, and context naming the input (file path, message id, zip
 * member...) so that one bad input in a batch can be reported on one line and the rest of the batch goes on.
 */

import { isPdmError, PdmError } from '@parsedmarc-ts/errors';
import type { ParseLimits } from './limits.js';

export const parseErrorCodes = [
  /** Not a DMARC aggregate/forensic report, nor an SMTP TLS report, nor a container holding one. */
  'UNRECOGNIZED_FORMAT',
  /** Looked like an aggregate report but the data could not be recovered. */
  'INVALID_AGGREGATE_REPORT',
  /** Looked like a forensic (failure) report but could not be parsed. */
  'INVALID_FORENSIC_REPORT',
  /** Looked like an SMTP TLS report but could not be parsed. */
  'INVALID_SMTP_TLS_REPORT',
  /** A configured bound on attacker-controlled input was exceeded (size, depth, members, parts, records). */
  'LIMIT_EXCEEDED',
  /** A gzip/zip container is corrupt or truncated. */
  'INVALID_ARCHIVE',
  /** XML that declares a DTD or entities: refused outright (no expansion of any kind). */
  'FORBIDDEN_XML_CONSTRUCT',
  /** An RFC 822 message that could not be parsed as MIME. */
  'INVALID_EMAIL',
  /** An external tool needed for this input (e.g. msgconvert for Outlook .msg) is not installed. */
  'MISSING_TOOL',
  /** The input is empty. */
  'EMPTY_INPUT',
  /** The input could not be read (permission denied, an I/O error): a fault of the place, not the data. */
  'INPUT_UNREADABLE',
] as const;

export type ParseErrorCode = (typeof parseErrorCodes)[number];

export interface ParseErrorContext {
  /** Where the input came from: a file path, "file.zip!member.xml", an IMAP uid, a Kafka offset... */
  source?: string;
  /** For LIMIT_EXCEEDED: the name of the limit (a key of ParseLimits) and its configured value. */
  limit?: string;
  limitValue?: number;
  /** Any other detail worth logging. */
  [key: string]: unknown;
}

/** Parse errors are about the input, never about the environment: retrying the same bytes fails again. */
export class ParseError extends PdmError<ParseErrorCode, ParseErrorContext> {
  readonly family = 'parse';

  constructor(
    code: ParseErrorCode,
    message: string,
    context: ParseErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, context, { cause: options?.cause });
    this.name = 'ParseError';
  }

  /** Brand check that survives duplicated module copies (unlike instanceof). */
  static is(value: unknown): value is ParseError {
    return isPdmError(value, 'parse');
  }

  /** Returns a copy whose context names the source, unless it already names a more specific one. */
  withSource(source: string): ParseError {
    if (this.context.source !== undefined) return this;
    const copy = new ParseError(this.code, this.message, { ...this.context, source }, { cause: this.cause });
    copy.stack = this.stack;
    return copy;
  }

  /** One line for stderr and logs: "<source>: <CODE>: <message>". */
  describe(): string {
    const where = this.context.source ?? '<input>';
    return `${where}: ${this.code}: ${this.message}`;
  }
}

/** The original API's exception names, as subclasses so callers can catch them by type too. */
export class InvalidAggregateReport extends ParseError {
  constructor(message: string, context: ParseErrorContext = {}, options?: { cause?: unknown }) {
    super('INVALID_AGGREGATE_REPORT', message, context, options);
    this.name = 'InvalidAggregateReport';
  }
}

export class InvalidForensicReport extends ParseError {
  constructor(message: string, context: ParseErrorContext = {}, options?: { cause?: unknown }) {
    super('INVALID_FORENSIC_REPORT', message, context, options);
    this.name = 'InvalidForensicReport';
  }
}

/** RFC 9991's word for a forensic report. */
export const InvalidFailureReport = InvalidForensicReport;

export class InvalidSmtpTlsReport extends ParseError {
  constructor(message: string, context: ParseErrorContext = {}, options?: { cause?: unknown }) {
    super('INVALID_SMTP_TLS_REPORT', message, context, options);
    this.name = 'InvalidSmtpTlsReport';
  }
}

export function limitExceeded(
  limit: keyof ParseLimits,
  limitValue: number,
  what: string,
  context: ParseErrorContext = {},
): ParseError {
  return new ParseError('LIMIT_EXCEEDED', `${what} exceeds the limit ${limit}=${limitValue}`, {
    ...context,
    limit,
    limitValue,
  });
}
