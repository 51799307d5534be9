// IP address handling for enrichment: validation, the canonical form used as a cache key, and the reverse
// (PTR) query name. Pure functions, no I/O.
import { isIP } from 'node:net';

export interface ParsedIp {
  version: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone suffix such as "%eth0" is ignored). An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is returned as the IPv4 address it carries: its PTR lives under in-addr.arpa and
 * IP databases index it as IPv4. Returns null for anything that is not an address.
 */
export function parseIp(text: string): ParsedIp | null {
  const quad = dottedQuad(text);
  if (quad !== null) return { version: 4, bytes: quad };
  let value = text.trim();
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  const kind = isIP(value);
  if (kind === 4) return { version: 4, bytes: Uint8Array.from(value.split('.').map(Number)) };
  if (kind !== 6) return null;
  const bytes = parseIpv6(value);
  if (bytes === null) return null;
  if (isV4Mapped(bytes)) return { version: 4, bytes: bytes.slice(12) };
  return { version: 6, bytes };
}

/**
 * The bytes of a plain dotted quad ("192.0.2.1": four decimal numbers 0-255 without leading zeros, as
 * node:net accepts them), or null for anything else (which the general path then decides). The common case,
 * without the allocations of the general path: one call per record of a report.
 */
function dottedQuad(text: string): Uint8Array | null {
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null; // a leading zero
      value = value * 10 + (c - 48);
      if (value > 255) return null;
      digits++;
    } else if (c === 46 && digits > 0 && part < 3) {
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  if (part !== 3 || digits === 0) return null;
  bytes[3] = value;
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Expands an address that node:net already accepted as IPv6 to its 16 bytes. */
function parseIpv6(value: string): Uint8Array | null {
  let text = value.toLowerCase();
  const tail: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for the last two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const v4 = text.slice(lastColon + 1);
  if (v4.includes('.')) {
    if (isIP(v4) !== 4) return null;
    tail.push(...v4.split('.').map(Number));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string | undefined): string[] =>
    part === undefined || part === '' ? [] : part.split(':');
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = halves.length === 1 ? head : [...head, ...Array<string>(missing).fill('0'), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const n = parseInt(group, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/** Canonical text of a parsed address: dotted quad, or eight zero-padded lowercase hex groups. */
export function canonicalIp(ip: ParsedIp): string {
  if (ip.version === 4) return `${ip.bytes[0]}.${ip.bytes[1]}.${ip.bytes[2]}.${ip.bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0)).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/**
 * The PTR query name: "d.c.b.a.in-addr.arpa" for IPv4, the 32 reversed nibbles under "ip6.arpa" for IPv6
 * (RFC 3596). Without a trailing dot.
 */
export function reverseName(ip: ParsedIp): string {
  if (ip.version === 4) return `${Array.from(ip.bytes).reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    const byte = ip.bytes[i] ?? 0;
    nibbles.push((byte & 0xf).toString(16), (byte >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}
