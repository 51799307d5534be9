// Content sniffing: which kind of input is this, from its first bytes only (never from a file name).

/** What the first bytes of an input say it is. */
export type DetectedFormat =
  /** No bytes at all. */
  | 'empty'
  /** gzip stream (magic 1f 8b). */
  | 'gzip'
  /** zip archive (local file header PK\x03\x04, or the end record PK\x05\x06 of an empty archive). */
  | 'zip'
  /** Outlook .msg: an OLE2 compound file (D0 CF 11 E0 A1 B1 1A E1). */
  | 'outlook-msg'
  /** Text starting with '<' (after an optional BOM and whitespace): an XML document. */
  | 'xml'
  /** Text starting with '{': a JSON object. */
  | 'json'
  /** Text starting with an mbox "From " separator line. */
  | 'mbox'
  /** Text starting with an RFC 5322 header field ("Name: value"). */
  | 'email'
  /** None of the above. */
  | 'unknown';

const gzipMagic = [0x1f, 0x8b];
const zipLocalHeaderMagic = [0x50, 0x4b, 0x03, 0x04];
const zipEmptyArchiveMagic = [0x50, 0x4b, 0x05, 0x06];
const ole2Magic = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const utf8Bom = [0xef, 0xbb, 0xbf];

/** How many leading bytes detectFormat needs to decide (more are ignored, fewer may give 'unknown'). */
export const detectionHeadBytes = 1024;

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.length - at < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** parsedmarc.utils.is_outlook_msg: is this an OLE2 compound file (the container of Outlook .msg)? */
export function isOutlookMsg(bytes: Uint8Array): boolean {
  return startsWith(bytes, ole2Magic);
}

function isAsciiWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** ASCII "From " */
const mboxSeparator = [0x46, 0x72, 0x6f, 0x6d, 0x20];

/**
 * An RFC 5322 field name (printable ASCII but the colon) followed by a colon, at the start of the first line:
 * the same test the original applies before handing text to its email parser.
 */
function startsWithHeaderField(bytes: Uint8Array, at: number): boolean {
  let i = at;
  while (i < bytes.length) {
    const byte = bytes[i]!;
    if (byte === 0x3a) return i > at;
    if (byte < 0x21 || byte > 0x7e) return false;
    i++;
  }
  return false;
}

/**
 * Detects an input's format from its first bytes (pass at least detectionHeadBytes when available).
 * Binary containers are recognized by their magic numbers; text by its first non-blank character, after a
 * UTF-8 byte order mark: '<' is XML, '{' is JSON, "From " an mbox, a header field an email.
 */
export function detectFormat(head: Uint8Array): DetectedFormat {
  if (head.length === 0) return 'empty';
  if (startsWith(head, gzipMagic)) return 'gzip';
  if (startsWith(head, zipLocalHeaderMagic) || startsWith(head, zipEmptyArchiveMagic)) return 'zip';
  if (isOutlookMsg(head)) return 'outlook-msg';
  let at = startsWith(head, utf8Bom) ? utf8Bom.length : 0;
  // The original strips leading whitespace before sniffing text; so do we.
  while (at < head.length && isAsciiWhitespace(head[at])) at++;
  if (at === head.length) return 'unknown';
  const first = head[at];
  if (first === 0x3c) return 'xml';
  if (first === 0x7b) return 'json';
  if (startsWith(head, mboxSeparator, at)) return 'mbox';
  if (startsWithHeaderField(head, at)) return 'email';
  return 'unknown';
}
