// RFC 822 / MIME message parsing: the common report email by simple.ts, the rest through mailparser (forensic
// samples, bounces, encoded headers, other charsets).
import type { Attachment, StructuredHeader } from 'mailparser';
import { loadMailparser } from './mailparser.js';
import { ParseError, limitExceeded } from '../errors.js';
import { resolveLimits, type ParseLimits } from '../limits.js';
import { parseMailDate } from './date.js';
import { decodeEncodedWords, normalizeNewlines } from './headers.js';
import { parseSimpleEmail } from './simple.js';

export { parseMailDate, formatUtcMs, isoformatUtc, type MailDate } from './date.js';
export {
  splitMessage,
  decodeEncodedWords,
  normalizeNewlines,
  headerValues,
  type HeaderField,
} from './headers.js';

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

/** HTML bodies longer than this are not converted to text (html-to-text is slow on huge documents). */
const maxHtmlToTextChars = 2 * 1024 * 1024;

function sourceContext(options: EmailParseOptions): { source?: string } {
  return options.source === undefined ? {} : { source: options.source };
}

function declaredContentType(attachment: Attachment): string {
  // mailparser replaces application/octet-stream with a type guessed from the file name; callers want
  // what the sender declared (they sniff the bytes themselves).
  const declared = attachment.headers.get('content-type') as StructuredHeader | undefined;
  const value =
    declared && typeof declared === 'object' && 'value' in declared ? declared.value : attachment.contentType;
  return (value || attachment.contentType || 'application/octet-stream').trim().toLowerCase();
}

function firstHeaderLine(lines: ReadonlyArray<{ key: string; line: string }>, key: string): string | null {
  const found = lines.find((l) => l.key === key);
  if (!found) return null;
  const colon = found.line.indexOf(':');
  return normalizeNewlines(found.line.slice(colon + 1))
    .replace(/\n(?=[ \t])/g, '')
    .trim();
}

/**
 * Parses an RFC 822 message. Throws ParseError (INVALID_EMAIL, LIMIT_EXCEEDED, EMPTY_INPUT).
 *
 * message/rfc822 parts are kept whole as attachments (mailparser would otherwise splice an embedded
 * message's parts into the outer message, losing the forensic sample as sent).
 */
export async function parseEmail(bytes: Uint8Array, options: EmailParseOptions = {}): Promise<ParsedEmail> {
  const limits = resolveLimits(options.limits);
  const context = sourceContext(options);
  if (bytes.byteLength > limits.maxInputBytes) {
    throw limitExceeded('maxInputBytes', limits.maxInputBytes, `email of ${bytes.byteLength} bytes`, context);
  }
  let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A UTF-8 byte order mark (from an editor) would become part of the first header's name.
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) buffer = buffer.subarray(3);
  const head = buffer.subarray(0, 4096).toString('latin1');
  if (head.trim() === '') throw new ParseError('EMPTY_INPUT', 'the email is empty', context);
  if (!looksLikeEmail(head)) {
    throw new ParseError(
      'INVALID_EMAIL',
      'not an RFC 822 message: it does not start with a header field',
      context,
    );
  }

  // Counted like mailparser's limit: every node, the root included (it reads 0 as "default", and a message has
  // at least one part anyway).
  const simple = parseSimpleEmail(buffer, Math.max(1, limits.maxMimeParts));
  if (simple !== null)
    return parsedEmailOf(simple.headerLines, simple.subject, simple.text, simple.attachments);

  return parseWithMailparser(buffer, limits, context);
}

/** The reference path, for every email: mailparser. Exported for the test that holds the simple path to it. */
export async function parseWithMailparser(
  buffer: Buffer,
  limits: ParseLimits,
  context: { source?: string },
): Promise<ParsedEmail> {
  let parsed;
  try {
    parsed = await (
      await loadMailparser()
    ).simpleParser(buffer, {
      ignoreEmbedded: true,
      keepDeliveryStatus: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      keepCidLinks: true,
      checksumAlgo: false,
      maxHtmlLengthToParse: maxHtmlToTextChars,
      maxChildNodes: Math.max(1, limits.maxMimeParts),
    });
  } catch (error) {
    const err = error as { code?: unknown; message?: unknown };
    if (err.code === 'EMAXLEN' && /child nodes/i.test(String(err.message))) {
      throw limitExceeded('maxMimeParts', limits.maxMimeParts, 'number of MIME parts', context);
    }
    throw new ParseError(
      'INVALID_EMAIL',
      `the email could not be parsed as MIME: ${String(err.message)}`,
      context,
      {
        cause: error,
      },
    );
  }

  const headerLines = parsed.headerLines ?? [];
  if (headerLines.length === 0) {
    throw new ParseError('INVALID_EMAIL', 'not an RFC 822 message: no header fields', context);
  }
  return parsedEmailOf(
    headerLines,
    parsed.subject ?? null,
    parsed.text ?? null,
    parsed.attachments.map((a) => ({
      contentType: declaredContentType(a),
      filename: a.filename ?? null,
      content: new Uint8Array(a.content.buffer, a.content.byteOffset, a.content.byteLength),
    })),
  );
}

function parsedEmailOf(
  headerLines: ReadonlyArray<{ key: string; line: string }>,
  subject: string | null,
  text: string | null,
  attachments: EmailAttachment[],
): ParsedEmail {
  const dateHeader = firstHeaderLine(headerLines, 'date');
  const parsedDate = parseMailDate(dateHeader);
  const fromHeader = firstHeaderLine(headerLines, 'from');
  const messageId = firstHeaderLine(headerLines, 'message-id');
  return {
    subject,
    dateHeader,
    date: parsedDate ? new Date(parsedDate.utcMs) : null,
    messageId: messageId || null,
    from: fromHeader === null ? null : decodeEncodedWords(fromHeader),
    text,
    attachments,
  };
}

// A header field name (printable ASCII but colon, starting like real field names do) and its colon, or the
// "From " line of an mbox message. JSON ('{"organization-name":') and XML ('<?xml') must not pass.
const emailFirstLine = /^(?:From |[A-Za-z0-9][\x21-\x39\x3b-\x7e]*[ \t]*:)/;

/** Cheap content sniff on the first few KB: does this look like an RFC 822 message (header lines)? */
export function looksLikeEmail(head: string): boolean {
  const text = head.replace(/^\uFEFF/, '').replace(/^[\r\n]+/, '');
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  return emailFirstLine.test(firstLine);
}
