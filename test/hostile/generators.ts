// Builders of hostile and synthetic inputs for the container tests: bombs, hand-made zip archives (sizes and
// CRCs can lie), nested gzip, MIME emails, mboxes, fake Outlook .msg, synthetic aggregate reports. Generated
// at test time so that nothing large lives in the repository.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';

const MiB = 1024 * 1024;

/**
 * A raw deflate stream of `prefix` followed by `mib` MiB of zeros, built without deflating them all: one MiB
 * of zeros deflated and ended on a byte boundary (full flush, not final) is a self-contained block sequence
 * whose back-references stay within itself, so it can be repeated; an empty final block ends the stream.
 * 1 GiB of zeros comes out at ~1 MB, in milliseconds.
 */
export function zerosDeflateRaw(mib: number, prefix: Uint8Array | string = ''): Buffer {
  const flush = { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH };
  const head = zlib.deflateRawSync(Buffer.from(prefix), flush);
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), flush);
  const end = zlib.deflateRawSync(Buffer.alloc(0));
  return Buffer.concat([head, ...Array.from({ length: mib }, () => block), end]);
}

const crcCache = new Map<string, number>();
/** CRC-32 of `prefix` followed by `mib` MiB of zeros (cached: 1 GiB takes a few hundred ms). */
export function zerosCrc32(mib: number, prefix: Uint8Array | string = ''): number {
  const key = `${mib}:${Buffer.from(prefix).toString('hex')}`;
  let crc = crcCache.get(key);
  if (crc === undefined) {
    const zeros = Buffer.alloc(MiB);
    crc = zlib.crc32(Buffer.from(prefix));
    for (let i = 0; i < mib; i++) crc = zlib.crc32(zeros, crc);
    crcCache.set(key, crc);
  }
  return crc;
}

function gzipHeader(): Buffer {
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
}

function gzipTrailer(crc: number, size: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  return trailer;
}

/** A valid gzip file of `prefix` then `mib` MiB of zeros (a gzip bomb: 1024 MiB -> ~1 MB). */
export function zerosGzip(mib: number, prefix: Uint8Array | string = ''): Buffer {
  const size = Buffer.byteLength(Buffer.from(prefix)) + mib * MiB;
  return Buffer.concat([
    gzipHeader(),
    zerosDeflateRaw(mib, prefix),
    gzipTrailer(zerosCrc32(mib, prefix), size),
  ]);
}

/** The start of an SMTP TLS report: content detection takes what follows it for a report to be read whole. */
export const smtpTlsJsonHead =
  '{"organization-name": "Bomb Inc.", "date-range": {"start-datetime": "2024-04-01T00:00:00Z", "end-datetime": "2024-04-01T23:59:59Z"}, "contact-info": "';

/** `bytes` gzip-compressed `layers` times. */
export function nestedGzip(bytes: Uint8Array, layers: number): Buffer {
  let out = Buffer.from(bytes);
  for (let i = 0; i < layers; i++) out = zlib.gzipSync(out);
  return out;
}

export interface ZipEntrySpec {
  name: string;
  /** Uncompressed content (sizes and CRC computed), unless `raw` is given. */
  content?: Uint8Array | string;
  /** 0 stored, 8 deflate (default). */
  method?: number;
  /** Already-compressed data with declared values, for bombs and corrupt members. */
  raw?: { data: Uint8Array; crc32: number; uncompressedSize: number };
}

/** A zip archive (no zip64, no data descriptors), entries in order. Directory entries: names ending in '/'. */
export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    let method = entry.method ?? 8;
    let data: Buffer;
    let crc: number;
    let size: number;
    if (entry.raw !== undefined) {
      data = Buffer.from(entry.raw.data);
      crc = entry.raw.crc32;
      size = entry.raw.uncompressedSize;
    } else {
      const content = Buffer.from(entry.content ?? '');
      if (entry.name.endsWith('/')) method = 0;
      data = method === 8 ? zlib.deflateRawSync(content) : content;
      crc = zlib.crc32(content);
      size = content.length;
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A zip member that inflates to `prefix` then `mib` MiB of zeros (a zip bomb member). */
export function zerosZipEntry(name: string, mib: number, prefix: Uint8Array | string = ''): ZipEntrySpec {
  const size = Buffer.byteLength(Buffer.from(prefix)) + mib * MiB;
  return {
    name,
    raw: {
      data: zerosDeflateRaw(mib, prefix),
      crc32: zerosCrc32(mib, prefix),
      uncompressedSize: size % 2 ** 32,
    },
  };
}

export interface AttachmentSpec {
  filename?: string;
  contentType: string;
  content: Uint8Array | string;
}

/** A multipart/mixed email: a text part, then base64 attachments. */
export function mimeEmail(
  subject: string,
  attachments: AttachmentSpec[],
  text = 'This is a report.',
): Buffer {
  const boundary = '----=_boundary_4242';
  const lines = [
    'From: reports@example.net',
    'To: dmarc@example.com',
    `Subject: ${subject}`,
    'Date: Mon, 01 Apr 2024 10:00:00 +0000',
    'Message-ID: <test-4242@example.net>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="utf-8"',
    '',
    text,
  ];
  for (const attachment of attachments) {
    const name = attachment.filename === undefined ? '' : `; name="${attachment.filename}"`;
    lines.push(
      `--${boundary}`,
      `Content-Type: ${attachment.contentType}${name}`,
      'Content-Transfer-Encoding: base64',
    );
    if (attachment.filename !== undefined)
      lines.push(`Content-Disposition: attachment; filename="${attachment.filename}"`);
    lines.push(
      '',
      ...(Buffer.from(attachment.content)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
    );
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'));
}

/** An mbox of the given messages ("From " lines in bodies are not quoted: the caller avoids them). */
export function makeMbox(messages: (Uint8Array | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    parts.push(Buffer.from('From reports@example.net Mon Apr  1 10:00:00 2024\n'));
    // mbox files store messages with local line ends; latin1 round-trips every byte.
    parts.push(Buffer.from(Buffer.from(message).toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Bytes that start like an Outlook .msg (OLE2 compound file) and are nothing more. */
export function fakeOutlookMsg(): Buffer {
  return Buffer.concat([
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
    Buffer.alloc(504, 0x42),
  ]);
}

/** Deterministic pseudo-random bytes (no report can start with them: the first byte is 0x00). */
export function garbageBytes(length: number, seed = 42): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out[i] = state >> 16;
  }
  out[0] = 0;
  return out;
}

const begin = 1_711_929_600; // 2024-04-01 00:00:00 UTC

/** An RFC 7489 aggregate report of `records` distinct records, spanning one UTC day. */
export function aggregateXml(records: number, reportId = 'synthetic-1'): string {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8" ?>\n<feedback>\n  <version>1.0</version>\n',
    '  <report_metadata>\n    <org_name>example.net</org_name>\n    <email>dmarc@example.net</email>\n',
    `    <report_id>${reportId}</report_id>\n`,
    `    <date_range><begin>${begin}</begin><end>${begin + 86_399}</end></date_range>\n  </report_metadata>\n`,
    '  <policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>\n',
  ];
  for (let i = 0; i < records; i++) parts.push(aggregateRecordXml(i));
  parts.push('</feedback>\n');
  return parts.join('');
}

export function aggregateRecordXml(i: number): string {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return (
    `  <record><row><source_ip>${ip}</source_ip><count>${1 + (i % 7)}</count>` +
    '<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>' +
    '<identifiers><header_from>example.com</header_from></identifiers>' +
    `<auth_results><dkim><domain>example.com</domain><selector>s${i % 13}</selector><result>pass</result></dkim>` +
    `<spf><domain>bounce${i % 97}.example.net</domain><result>fail</result></spf></auth_results></record>\n`
  );
}

/** An async byte stream over `bytes` in chunks of `size` (a file stream stand-in). */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const fixtures = new URL('../fixtures/', import.meta.url);

/** A file of the sample corpus copied into test/fixtures/samples. */
export function sample(path: string): Buffer {
  return readFileSync(new URL(`samples/${path}`, fixtures));
}

/** parsedmarc 10.4.3's index of the corpus: report type and record count (or error) per sample. */
export function conformanceIndex(): Record<
  string,
  { report_type?: string; records?: number; error?: string }
> {
  return JSON.parse(
    readFileSync(new URL('conformance/parsedmarc-10.4.3/_index.json', fixtures), 'utf8'),
  ) as Record<string, { report_type?: string; records?: number; error?: string }>;
}
