// RFC 822 / MIME message parsing (through mailparser). Owner: forensic/SMTP-TLS/email work.
import type { ParseLimits } from '../limits.js';

export interface EmailAttachment {
  /** Lower-cased MIME type, e.g. application/gzip, message/feedback-report, text/rfc822-headers. */
  contentType: string;
  filename: string | null;
  /** Decoded bytes (base64 / quoted-printable undone). */
  content: Uint8Array;
}

export interface ParsedEmail {
  subject: string | null;
  /** Date header as sent, and parsed (null if unparsable). */
  dateHeader: string | null;
  date: Date | null;
  messageId: string | null;
  from: string | null;
  /** Text body (text/plain, else text/html converted to text), or null. */
  text: string | null;
  /** Every non-body part, in order, including message/feedback-report and message/rfc822 parts. */
  attachments: EmailAttachment[];
}

export interface EmailParseOptions {
  limits?: Partial<ParseLimits>;
  source?: string;
}

/** Parses an RFC 822 message. Throws ParseError (INVALID_EMAIL, LIMIT_EXCEEDED). */
export async function parseEmail(_bytes: Uint8Array, _options: EmailParseOptions = {}): Promise<ParsedEmail> {
  throw new Error('not implemented yet');
}

/** Cheap content sniff on the first few KB: does this look like an RFC 822 message (header lines)? */
export function looksLikeEmail(_head: string): boolean {
  throw new Error('not implemented yet');
}
