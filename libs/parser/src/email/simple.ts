/**
 * The common report email read without mailparser: plain MIME (multipart/mixed or alternative, single parts),
 * base64, quoted-printable or 7bit/8bit bodies, ASCII headers, a text/plain body in US-ASCII or UTF-8, report
 * files as attachments. Loading and running mailparser (and its charset tables) is most of the cost of a
 * small report email; these are most of the emails a DMARC mailbox receives.
 *
 * Anything else gives null and goes to mailparser, which stays the reference: encoded words or RFC 2231
 * parameters, other charsets or transfer encodings, HTML bodies, message/* and multipart/report parts
 * (failure reports and bounces), an unterminated multipart, deep nesting, more parts than the limit. A test
 * checks that where this path answers, its answer is mailparser's.
 */
import { isUtf8 } from 'node:buffer';
import { fieldStart } from './headers.js';
import type { EmailAttachment } from './index.js';

export interface SimpleEmail {
  /** The top-level header fields as mailparser's headerLines: lower-cased name, the raw (folded) line. */
  headerLines: { key: string; line: string }[];
  subject: string | null;
  text: string | null;
  attachments: EmailAttachment[];
}

interface Entity {
  fields: Map<string, string>;
  body: string;
}

const maxDepth = 8;
/** Raw header bytes a header field may not hold on this path (encoded words aside, checked separately). */
const notPrintableAscii = /[^\t\x20-\x7e]/;

class NotSimple extends Error {}

const notSimple = (): never => {
  throw new NotSimple();
};

/**
 * Reads `bytes` as a simple report email, or returns null when it is not one (see the top of this file).
 * `maxParts` counts every MIME node, the root included, as mailparser does.
 */
export function parseSimpleEmail(bytes: Buffer, maxParts: number): SimpleEmail | null {
  // One character per byte: MIME structure is ASCII, and attachment bytes come back out unchanged.
  const text = bytes.toString('latin1');
  try {
    const { lines, entity } = splitEntity(text, true);
    if (lines.length === 0) notSimple();
    const email: SimpleEmail = { headerLines: lines, subject: null, text: null, attachments: [] };
    const subject = entity.fields.get('subject');
    if (subject !== undefined) {
      if (subject.includes('=?')) notSimple();
      email.subject = subject;
    }
    const texts: string[] = [];
    const parts = { count: 0 };
    walkEntity(entity, 0, parts, maxParts, texts, email.attachments);
    if (texts.length > 1) notSimple();
    email.text = texts[0] ?? null;
    return email;
  } catch (error) {
    if (error instanceof NotSimple) return null;
    throw error;
  }
}

function walkEntity(
  entity: Entity,
  depth: number,
  parts: { count: number },
  maxParts: number,
  texts: string[],
  attachments: EmailAttachment[],
): void {
  parts.count += 1;
  if (parts.count > maxParts || depth > maxDepth) notSimple();
  const contentType = parseParameters(entity.fields.get('content-type') ?? 'text/plain');
  const type = contentType.value || 'text/plain';
  const encoding = (entity.fields.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    if (type === 'multipart/report' || !['', '7bit', '8bit', 'binary'].includes(encoding)) notSimple();
    const boundary = contentType.params.get('boundary') ?? notSimple();
    for (const body of splitMultipart(entity.body, boundary)) {
      walkEntity(splitEntity(body, false).entity, depth + 1, parts, maxParts, texts, attachments);
    }
    return;
  }
  if (type.startsWith('message/') || !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) notSimple();
  const disposition = parseParameters(entity.fields.get('content-disposition') ?? '');
  const filename = disposition.params.get('filename') ?? contentType.params.get('name') ?? null;
  if (filename !== null && (filename.includes('=?') || filename === '')) notSimple();
  const content = decodeBody(entity.body, encoding);
  if (type.startsWith('text/') && filename === null && disposition.value !== 'attachment') {
    if (type !== 'text/plain') notSimple();
    const charset = (contentType.params.get('charset') ?? 'us-ascii').toLowerCase();
    if (!['us-ascii', 'utf-8', 'utf8', 'ascii'].includes(charset) || !isUtf8(content)) notSimple();
    texts.push(bodyText(content.toString('utf8'), contentType.params.get('format') === 'flowed'));
    return;
  }
  attachments.push({ contentType: type, filename, content });
}

/**
 * A text body as mailparser gives it: line breaks as LF; format=flowed (RFC 3676) without its final line
 * break. Soft line breaks, space-stuffing and quotes of flowed text, lone CRs and an empty body (which
 * mailparser reads as one line break) are left to mailparser.
 */
function bodyText(text: string, flowed: boolean): string {
  if (text === '' || /\r(?!\n)/.test(text)) notSimple();
  const lf = text.replace(/\r\n/g, '\n');
  if (!flowed) return lf;
  if (/ \n|^[ >]|\n[ >]| $/.test(lf)) notSimple();
  return lf.endsWith('\n') ? lf.slice(0, -1) : lf;
}

/** The header block of an entity (unfolded values by lower-cased name, first occurrence) and its body. */
function splitEntity(text: string, top: boolean): { lines: SimpleEmail['headerLines']; entity: Entity } {
  const fields = new Map<string, string>();
  const lines: SimpleEmail['headerLines'] = [];
  let pos = 0;
  let current: { key: string; line: string } | null = null;
  const finish = (): void => {
    if (current === null) return;
    lines.push(current);
    // Unfolded as mailparser does for the values read here: line breaks dropped, then trimmed.
    const value = current.line
      .slice(current.line.indexOf(':') + 1)
      .replace(/\r?\n/g, '')
      .trim();
    if (!fields.has(current.key)) fields.set(current.key, value);
    current = null;
  };
  for (;;) {
    const eol = text.indexOf('\n', pos);
    if (eol === -1) notSimple();
    const line = text.slice(pos, eol).replace(/\r$/, '');
    const next = eol + 1;
    if (line === '') {
      finish();
      return { lines, entity: { fields, body: text.slice(next) } };
    }
    if (notPrintableAscii.test(line)) notSimple();
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === null) notSimple();
      current!.line += `\n${line}`;
    } else {
      finish();
      const field = fieldStart.exec(line);
      if (field === null) {
        // An mbox "From " line before the headers; anything else is for mailparser's recovery rules.
        if (top && pos === 0 && line.startsWith('From ')) {
          pos = next;
          continue;
        }
        notSimple();
      }
      current = { key: field![1]!.toLowerCase(), line };
    }
    pos = next;
  }
}

/** The bodies of a multipart's parts, between its delimiter lines (preamble and epilogue dropped). */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const bodies: string[] = [];
  let start = -1;
  let pos = 0;
  for (;;) {
    const at = body.indexOf(delimiter, pos);
    // No closing delimiter: how far the last part goes is mailparser's call.
    if (at === -1) notSimple();
    const lineStart = at === 0 || body[at - 1] === '\n';
    const eol = body.indexOf('\n', at);
    const rest = body.slice(at + delimiter.length, eol === -1 ? body.length : eol).replace(/\r$/, '');
    if (!lineStart || (rest !== '' && rest !== '--' && rest.trim() !== '' && rest.trim() !== '--')) {
      pos = at + delimiter.length;
      continue;
    }
    if (start !== -1) {
      // The line break before the delimiter belongs to the delimiter.
      let end = at - 1;
      if (end > start && body[end - 1] === '\r') end -= 1;
      bodies.push(body.slice(start, Math.max(start, end)));
    }
    if (rest.trim() === '--') return bodies;
    if (eol === -1) notSimple();
    start = eol + 1;
    pos = start;
  }
}

function decodeBody(body: string, encoding: string): Buffer {
  switch (encoding) {
    case 'base64':
      return Buffer.from(body, 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case '7bit':
    case '8bit':
    case 'binary':
    case '':
      return Buffer.from(body, 'latin1');
    default:
      return notSimple();
  }
}

function decodeQuotedPrintable(body: string): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x3d) {
      const hex = body.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out[n++] = parseInt(hex, 16);
        i += 2;
        continue;
      }
      // A soft line break: "=" at the end of a line (trailing whitespace allowed).
      const soft = /^[ \t]*\r?\n/.exec(body.slice(i + 1, i + 80));
      if (soft) {
        i += soft[0].length;
        continue;
      }
      notSimple();
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** `type/subtype; a=b; c="d"`: the lower-cased value and the parameters (names lower-cased). */
function parseParameters(header: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const semicolon = header.indexOf(';');
  const value = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  let rest = semicolon === -1 ? '' : header.slice(semicolon + 1);
  const param = /^\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]*))\s*(?:;|$)/;
  while (rest.trim() !== '') {
    const m = param.exec(rest);
    if (m === null) notSimple();
    const name = m![1]!.toLowerCase();
    // RFC 2231 continuations and charsets (name*0=, name*=utf-8''...) are mailparser's.
    if (name.includes('*') || params.has(name)) notSimple();
    params.set(name, m![2] !== undefined ? m![2].replace(/\\(.)/g, '$1') : (m![3] ?? ''));
    rest = rest.slice(m![0].length);
  }
  return { value, params };
}
