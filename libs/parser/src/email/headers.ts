/**
 * RFC 5322 header blocks as text: splitting a message into header fields and body, and decoding RFC 2047
 * encoded words. Used for the samples of forensic reports, whose headers are reported verbatim (folding
 * kept), which a MIME library's normalized header map does not give back.
 */

export interface HeaderField {
  /** The field name as written (case kept). */
  name: string;
  /**
   * The value as written: whitespace after the colon removed, folding kept as "\n" plus the continuation
   * line's own leading whitespace, no trailing line break. Encoded words are NOT decoded.
   */
  value: string;
}

export interface SplitMessage {
  fields: HeaderField[];
  /** Everything after the blank line that ends the header block ('' when there is none). */
  body: string;
  /** A blank line separated the headers from a body (false for a headers-only sample). */
  hasBody: boolean;
  /** Lines that are neither a header field, a continuation nor the separator were found. */
  hasDefects: boolean;
}

/** CRLF and lone CR line endings → LF. */
export function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

// RFC 5322 field-name: printable US-ASCII except colon.
export const fieldStart = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/**
 * Splits LF-normalized message text into header fields and body. Like the mail parsers the original uses:
 * a line that is not a header ends the header block (it and what follows become the body, and the
 * message is marked defective), and a leading mbox "From " line is skipped.
 */
export function splitMessage(text: string): SplitMessage {
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let hasDefects = false;
  let pos = 0;
  let first = true;
  while (pos < text.length) {
    const eol = text.indexOf('\n', pos);
    const lineEnd = eol === -1 ? text.length : eol;
    const next = eol === -1 ? text.length : eol + 1;
    const line = text.slice(pos, lineEnd);
    if (line === '') {
      return { fields, body: text.slice(next), hasBody: true, hasDefects };
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current) current.value += `\n${line}`;
      else hasDefects = true;
    } else {
      const m = fieldStart.exec(line);
      if (m) {
        current = { name: m[1] ?? '', value: line.slice(m[0].length).replace(/^[ \t]+/, '') };
        fields.push(current);
      } else if (first && line.startsWith('From ')) {
        // mbox separator line, not a header
      } else {
        return { fields, body: text.slice(pos), hasBody: true, hasDefects: true };
      }
    }
    first = false;
    pos = next;
  }
  return { fields, body: '', hasBody: false, hasDefects };
}

/** All values of a header field (case-insensitive name), in order. */
export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  const lower = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === lower).map((f) => f.value);
}

const encodedWord = /=\?([^?]*?)\?([qQbB])\?(.*?)\?=/g;

function decodeCharset(bytes: Uint8Array, charset: string): string {
  // RFC 2231 allows a language suffix on the charset: utf-8*en.
  const label = charset.split('*')[0]?.trim().toLowerCase() || 'utf-8';
  try {
    return new TextDecoder(label === 'unknown-8bit' ? 'utf-8' : label).decode(bytes);
  } catch {
    // An unknown charset label: decode as UTF-8 (replacement characters where invalid), like mail readers do.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function decodeWordBytes(encoding: string, text: string): Uint8Array {
  if (encoding === 'b' || encoding === 'B') {
    return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) bytes.push(0x20);
    else if (c === 0x3d && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Uint8Array.from(bytes);
}

interface Word {
  text: string;
  /** null for unencoded text */
  charset: string | null;
  bytes?: Uint8Array;
}

/**
 * Decodes RFC 2047 encoded words the way Python's email.header.decode_header (used by the original's mail
 * parser) does: a value without encoded words comes back unchanged (folding kept); otherwise each line's
 * leading whitespace is dropped, whitespace between two encoded words is dropped, and adjacent encoded
 * words in one charset are joined before decoding (so a character split across two words survives).
 */
export function decodeEncodedWords(value: string): string {
  encodedWord.lastIndex = 0;
  if (!encodedWord.test(value)) return value;
  const words: Word[] = [];
  for (const line of value.split('\n')) {
    let last = 0;
    let firstChunk = true;
    encodedWord.lastIndex = 0;
    for (let m = encodedWord.exec(line); m !== null; m = encodedWord.exec(line)) {
      let unencoded = line.slice(last, m.index);
      if (firstChunk) unencoded = unencoded.replace(/^\s+/, '');
      firstChunk = false;
      if (unencoded) words.push({ text: unencoded, charset: null });
      const charset = (m[1] ?? '').toLowerCase();
      words.push({ text: '', charset, bytes: decodeWordBytes(m[2] ?? 'q', m[3] ?? '') });
      last = m.index + m[0].length;
    }
    let rest = line.slice(last);
    if (firstChunk) rest = rest.replace(/^\s+/, '');
    if (rest) words.push({ text: rest, charset: null });
  }
  // whitespace between two encoded words is not part of the text (RFC 2047 section 6.2)
  const kept = words.filter(
    (w, i) =>
      !(
        w.charset === null &&
        /^\s+$/.test(w.text) &&
        words[i - 1]?.charset != null &&
        words[i + 1]?.charset != null
      ),
  );
  let out = '';
  let i = 0;
  while (i < kept.length) {
    const w = kept[i] as Word;
    if (w.charset === null) {
      const run: string[] = [];
      while (i < kept.length && (kept[i] as Word).charset === null) run.push((kept[i++] as Word).text);
      out += run.join(' ');
    } else {
      const charset = w.charset;
      const chunks: Uint8Array[] = [];
      while (i < kept.length && (kept[i] as Word).charset === charset)
        chunks.push((kept[i++] as Word).bytes as Uint8Array);
      out += decodeCharset(Buffer.concat(chunks), charset);
    }
  }
  return out;
}
