/**
 * `parsed_sample`: the forensic report's sample message, in the shape the original produces with Python's
 * mail-parser (as documented in the documented original's forensic.json): structured address fields, `received` hops,
 * the UTC date and zone, the text body, a header map, and one key per other header, lower-cased.
 */
import { loadMailparser, type Mailparser } from '../email/mailparser.js';
import { ParseError, limitExceeded } from '../errors.js';
import { resolveLimits, type ParseLimits } from '../limits.js';
import type { EmailAddress, ParsedSample, ReceivedHop } from '../types.js';
import { formatUtcMs, parseMailDate } from '../email/date.js';
import {
  decodeEncodedWords,
  headerValues,
  normalizeNewlines,
  splitMessage,
  type HeaderField,
} from '../email/headers.js';

/** Sets an own enumerable property even for names like "__proto__" (header names come from the sender). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** What mail-parser joins the text parts of a body with. */
const bodyPartSeparator = '\n--- mail_boundary ---\n';

/** Header fields turned into structured keys rather than copied as lower-cased keys. */
const structuredHeaders = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'delivered-to',
  'subject',
  'date',
  'received',
]);

function toEmailAddress(name: string, address: string): EmailAddress | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  // The original lower-cases the parts but keeps the address as written.
  return {
    display_name: name === '' ? null : name,
    address,
    local: at === -1 ? address.toLowerCase() : address.slice(0, at).toLowerCase(),
    domain: at === -1 ? '' : address.slice(at + 1).toLowerCase(),
  };
}

function addresses(mailparser: Mailparser, fields: readonly HeaderField[], name: string): EmailAddress[] {
  const values = headerValues(fields, name);
  if (values.length === 0) return [];
  const parsed = mailparser.parseAddressHeader(values, { flatten: true });
  return parsed.value.flatMap((a) => toEmailAddress(a.name, a.address ?? '') ?? []);
}

/** "+2", "-6", "+5.5": the zone's offset in hours, as the original's mail parser wrote it. */
function formatTimezone(offsetMinutes: number): string {
  const hours = offsetMinutes / 60;
  return `${hours < 0 ? '-' : '+'}${Math.abs(hours)}`;
}

const receivedKeywords = ['from', 'by', 'with'] as const;
type ReceivedKeyword = (typeof receivedKeywords)[number];

/**
 * One Received header → {from, by, with, date}: the clauses of RFC 5321's Received trace (from/by/with; via,
 * id and for stay inside the clause they follow), comments' parentheses and brackets dropped and
 * whitespace collapsed, like the original's mail parser reported them.
 */
function parseReceived(value: string): Omit<ReceivedHop, 'hop' | 'delay'> & { utcMs: number | null } {
  const flat = value.replace(/\s+/g, ' ').trim();
  const semicolon = flat.lastIndexOf(';');
  const clauses = semicolon === -1 ? flat : flat.slice(0, semicolon);
  const dateText = semicolon === -1 ? null : flat.slice(semicolon + 1).trim();
  const parts: Partial<Record<ReceivedKeyword, string[]>> = {};
  let current: ReceivedKeyword | null = null;
  let rank = -1;
  let depth = 0;
  for (const token of clauses.split(' ')) {
    const keywordRank = depth === 0 ? receivedKeywords.indexOf(token.toLowerCase() as ReceivedKeyword) : -1;
    if (keywordRank > rank) {
      current = receivedKeywords[keywordRank] ?? null;
      rank = keywordRank;
      if (current) parts[current] = [];
    } else if (current) {
      parts[current]?.push(token);
    }
    for (const c of token) {
      if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
    }
  }
  const clean = (s: string): string =>
    s
      .replace(/[()[\]]/g, '')
      .replace(/\s+/g, ' ')
      .trim();
  const hop: Omit<ReceivedHop, 'hop' | 'delay'> & { utcMs: number | null } = { utcMs: null };
  for (const keyword of receivedKeywords) {
    const words = parts[keyword];
    if (words) hop[keyword] = clean(words.join(' '));
  }
  if (dateText !== null && dateText !== '') {
    hop.date = clean(dateText);
    hop.utcMs = parseMailDate(dateText)?.utcMs ?? null;
  }
  return hop;
}

/** Received headers, oldest hop first (hop 1 is the last header), with each hop's delay after the previous. */
export function receivedHops(values: readonly string[]): ReceivedHop[] {
  const hops: ReceivedHop[] = [];
  let previous: number | null = null;
  values
    .slice()
    .reverse()
    .forEach((value, index) => {
      const { utcMs, ...clauses } = parseReceived(value);
      const hop: ReceivedHop = { ...clauses, hop: index + 1, delay: 0 };
      if (utcMs !== null) hop.date_utc = formatUtcMs(utcMs);
      if (index > 0 && utcMs !== null && previous !== null) hop.delay = (utcMs - previous) / 1000;
      // delay last, as in the original's output
      const { delay, ...rest } = hop;
      hops.push({ ...rest, delay });
      previous = utcMs;
    });
  return hops;
}

/** The original's get_filename_safe_string. */
export function filenameSafeString(value: string | null): string {
  let s = value ?? 'None';
  for (const c of ['\\', '/', ':', '"', '*', '?', '|', '\n', '\r']) s = s.split(c).join('');
  s = s.replace(/\.+$/, '');
  return s.length > 100 ? s.slice(0, 100) : s;
}

interface SampleContent {
  body: string | null;
  attachments: ParsedSample['attachments'];
}

async function sampleContent(
  sample: string,
  hasBody: boolean,
  body: string,
  limits: ParseLimits,
  source: string | undefined,
): Promise<SampleContent> {
  // A headers-only sample (text/rfc822-headers, or a message/rfc822 cut after its header block) has no body.
  if (!hasBody || body.trim() === '') return { body: null, attachments: [] };
  let parsed;
  try {
    parsed = await (
      await loadMailparser()
    ).simpleParser(Buffer.from(sample, 'utf8'), {
      ignoreEmbedded: true,
      keepDeliveryStatus: true,
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      keepCidLinks: true,
      checksumAlgo: 'sha256',
      maxChildNodes: Math.max(1, limits.maxMimeParts),
    });
  } catch (error) {
    const err = error as { code?: unknown; message?: unknown };
    const context = source === undefined ? {} : { source };
    if (err.code === 'EMAXLEN' && /child nodes/i.test(String(err.message))) {
      throw limitExceeded(
        'maxMimeParts',
        limits.maxMimeParts,
        'number of MIME parts of the forensic sample',
        context,
      );
    }
    throw new ParseError(
      'INVALID_FORENSIC_REPORT',
      `the forensic sample could not be parsed: ${String(err.message)}`,
      context,
      {
        cause: error,
      },
    );
  }
  const texts = [parsed.text, typeof parsed.html === 'string' ? parsed.html : undefined].filter(
    (t): t is string => typeof t === 'string' && t !== '',
  );
  return {
    body: texts.length > 0 ? normalizeNewlines(texts.join(bodyPartSeparator)) : null,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename ?? null,
      mail_content_type: a.contentType.toLowerCase(),
      sha256: a.checksum,
      payload_size: a.size,
    })),
  };
}

/** Parses a forensic report's sample (a whole message or only its headers) into `parsed_sample`. */
export async function parseSample(
  sample: string,
  options: { limits?: Partial<ParseLimits>; source?: string } = {},
): Promise<ParsedSample> {
  const text = normalizeNewlines(sample);
  const split = splitMessage(text);
  const { fields } = split;
  const mailparser = await loadMailparser();

  const decoded = (value: string): string => decodeEncodedWords(value);
  const from = addresses(mailparser, fields, 'from')[0] ?? null;
  const to = addresses(mailparser, fields, 'to');
  const deliveredTo = addresses(mailparser, fields, 'delivered-to');
  const subjectValue = headerValues(fields, 'subject')[0];
  const subject =
    subjectValue === undefined ? null : decoded(subjectValue.replace(/\n(?=[ \t])/g, '')).trim();
  const dateValue = headerValues(fields, 'date')[0];
  const date = dateValue === undefined ? null : parseMailDate(dateValue);

  const toDomains: string[] = [];
  for (const a of [...to, ...deliveredTo]) {
    if (a.domain !== '' && !toDomains.includes(a.domain)) toDomains.push(a.domain);
  }

  const result: ParsedSample = {
    from,
    to,
    cc: addresses(mailparser, fields, 'cc'),
    bcc: addresses(mailparser, fields, 'bcc'),
    reply_to: addresses(mailparser, fields, 'reply-to'),
    ...(deliveredTo.length > 0 ? { delivered_to: deliveredTo } : {}),
    subject,
    date: date ? formatUtcMs(date.utcMs) : null,
    timezone: date ? formatTimezone(date.offsetMinutes) : null,
    to_domains: toDomains,
    received: receivedHops(headerValues(fields, 'received')),
    body: null,
    headers: {},
    has_defects: split.hasDefects,
    attachments: [],
    filename_safe_subject: filenameSafeString(subject),
  };

  // Every other header under its lower-cased name (a list when repeated, left out when empty, as the
  // original's mail parser does), in message order, just before the body (the original's order is that of
  // a Python set, i.e. arbitrary).
  const others = new Map<string, string[]>();
  for (const field of fields) {
    const key = field.name.toLowerCase();
    if (structuredHeaders.has(key)) continue;
    const value = decoded(field.value);
    if (value.trim() === '') continue;
    const list = others.get(key);
    if (list) list.push(value);
    else others.set(key, [value]);
  }
  const ordered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    if (key === 'body') {
      for (const [name, values] of others) setOwn(ordered, name, values.length === 1 ? values[0] : values);
    }
    setOwn(ordered, key, value);
  }

  // The header map keeps each name as written; a repeated header gives the list of its values.
  const headerMap = new Map<string, string[]>();
  for (const field of fields) {
    const list = headerMap.get(field.name);
    if (list) list.push(decoded(field.value));
    else headerMap.set(field.name, [decoded(field.value)]);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of headerMap) setOwn(headers, name, values.length === 1 ? values[0] : values);
  ordered['headers'] = headers;

  const content = await sampleContent(
    text,
    split.hasBody,
    split.body,
    resolveLimits(options.limits),
    options.source,
  );
  ordered['body'] = content.body;
  ordered['attachments'] = content.attachments;
  return ordered as ParsedSample;
}
