/**
 * Values as the original's Elasticsearch documents carry them. Its elasticsearch-dsl documents are cleaned
 * before saving (Document.save runs full_clean): Date fields hold Python datetimes that the client's JSON
 * serializer writes with isoformat(), Ip fields go through ipaddress.ip_address() and back to str (the
 * canonical form), Integer fields through int(). Then to_dict(skip_empty=True) leaves out every null, empty
 * list and empty object, at every level of the document. These helpers do the same to our values.
 */

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** An instant in UTC to the second, with the microseconds the original keeps (0 almost always). */
export interface UtcInstant {
  /** Milliseconds since the epoch, whole seconds. */
  epochMs: number;
  micros: number;
}

function isoOf(instant: UtcInstant): string {
  const d = new Date(instant.epochMs);
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  const fraction = instant.micros === 0 ? '' : `.${String(instant.micros).padStart(6, '0')}`;
  return (
    `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${fraction}`
  );
}

/**
 * Python's isoformat() of a timezone-aware UTC datetime: "2018-06-19T00:00:00+00:00" (microseconds, six
 * digits, only when not zero). What the original sends for date_begin, date_end, date_range and sample.date.
 */
export const awareIso = (instant: UtcInstant): string => `${isoOf(instant)}+00:00`;

/**
 * isoformat() of a naive datetime: "2018-10-01T09:20:27". The original sends arrival_date so: it hands the
 * DSL epoch milliseconds, whose Date field turns them into datetime.utcfromtimestamp(ms / 1000), a naive
 * datetime, serialized without an offset. Elasticsearch and OpenSearch read an offset-less date as UTC.
 */
export const naiveIso = (instant: UtcInstant): string => isoOf(instant);

/** "YYYY-MM-DD" and "YYYY-MM" of an instant, in UTC (the original's strftime on a UTC datetime). */
export function utcDay(instant: UtcInstant): string {
  return isoOf(instant).slice(0, 10);
}

const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads a date-time as the original's dateutil-based human_timestamp_to_datetime(to_utc=True) reads the
 * dates it is given, for the forms reports use: ISO 8601 / RFC 3339 ("2016-04-01T00:00:00Z",
 * "...+02:00", fractions) and the "YYYY-MM-DD HH:MM:SS" of our UTC fields. A date without an offset is
 * taken as UTC (the original takes it in the host's time zone for SMTP TLS dates; ours must not depend on
 * the host). Null when the text is not such a date or names an impossible one.
 */
export function parseUtcInstant(text: string): UtcInstant | null {
  const m = ISO_LIKE.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  check.setUTCFullYear(year);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  const micros = Number((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && /^[+-]/.test(zone)) {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return { epochMs: check.getTime() - offsetMinutes * 60_000, micros };
}

// ---------------------------------------------------------------- IP addresses

function ipv4Octets(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    // Python's ipaddress (3.9.5+) refuses leading zeros: they are ambiguous (octal to some parsers).
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part.startsWith('0'))) return null;
    const n = Number(part);
    if (n > 255) return null;
    octets.push(n);
  }
  return octets;
}

/** The 8 hextets of an IPv6 address (without zone), or null. */
function ipv6Hextets(text: string): number[] | null {
  let head = text;
  let tail: number[] = [];
  const lastColon = head.lastIndexOf(':');
  if (head.slice(lastColon + 1).includes('.')) {
    const octets = ipv4Octets(head.slice(lastColon + 1));
    if (octets === null) return null;
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
    head = head.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const hex = (group: string): number | null => (/^[0-9a-f]{1,4}$/i.test(group) ? parseInt(group, 16) : null);
  const groupsOf = (s: string): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':').map(hex);
    return groups.some((g) => g === null) ? null : (groups as number[]);
  };
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const left = groupsOf(halves[0]!);
  if (left === null) return null;
  if (halves.length === 1) {
    const all = [...left, ...tail];
    return all.length === 8 ? all : null;
  }
  const right = groupsOf(halves[1]!);
  if (right === null) return null;
  const missing = 8 - left.length - right.length - tail.length;
  // "::" stands for at least one zero group.
  if (missing < 1) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right, ...tail];
}

/** Python's str(IPv6Address): lower case, no leading zeros, the first longest run of 2+ zero groups as "::". */
function formatIpv6(hextets: number[]): string {
  if (hextets.slice(0, 6).every((h, i) => (i === 5 ? h === 0xffff : h === 0))) {
    // IPv4-mapped: Python 3.13+ writes the IPv4 part dotted.
    const [a, b] = [hextets[6]!, hextets[7]!];
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (hextets[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j += 1;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const groups = hextets.map((h) => h.toString(16));
  if (bestLength < 2) return groups.join(':');
  const left = groups.slice(0, bestStart).join(':');
  const right = groups.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/**
 * The canonical text of an IP address as Python's ipaddress writes it (what the original's Ip fields send):
 * "2001:db8:abcd:0012::1" becomes "2001:db8:abcd:12::1". Text that is no IP address is returned as is
 * (the original fails to save such a report; our templates map IPs with ignore_malformed, so the document
 * is still stored, with the text in the field's keyword).
 */
export function canonicalIp(text: string): string {
  const trimmed = text.trim();
  const v4 = ipv4Octets(trimmed);
  if (v4 !== null) return v4.join('.');
  const zoneAt = trimmed.indexOf('%');
  const address = zoneAt === -1 ? trimmed : trimmed.slice(0, zoneAt);
  const zone = zoneAt === -1 ? '' : trimmed.slice(zoneAt);
  if (zone === '%') return text;
  const v6 = address.includes(':') ? ipv6Hextets(address) : null;
  return v6 === null ? text : `${formatIpv6(v6)}${zone}`;
}

/** Python's int() of a policy's pct: "100" → 100; text that is no integer → null (left out of the document). */
export function integerOf(text: string | null): number | null {
  if (text === null) return null;
  const trimmed = text.trim().replace(/(\d)_(?=\d)/g, '$1');
  return /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/**
 * elasticsearch-dsl's to_dict(skip_empty=True), applied to every object of a document: keys whose value is
 * null (or undefined), [] or {} (after the same treatment) are left out. Elements of lists are kept as they
 * are, even empty objects; false, 0 and "" are values.
 */
export function skipEmpty<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => skipEmpty(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const cleaned = skipEmpty(v);
    if (cleaned === null || cleaned === undefined) continue;
    if (Array.isArray(cleaned) && cleaned.length === 0) continue;
    if (typeof cleaned === 'object' && !Array.isArray(cleaned) && Object.keys(cleaned).length === 0) continue;
    // defineProperty: a key may be "__proto__" (sample header names come from strangers).
    Object.defineProperty(out, key, { value: cleaned, enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}
