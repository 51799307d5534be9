/**
 * Dates as they appear in mail: RFC 5322 `Date:` headers, the date after the `;` of a `Received:` header,
 * feedback-report `Arrival-Date:` fields, and the ISO 8601 forms some reporters use instead. Lenient the
 * way mail readers are (obsolete zone names, two-digit years, missing weekday or seconds, comments), but
 * a string that is not a date gives null rather than a guess.
 */

export interface MailDate {
  /** The instant, as Unix milliseconds. */
  utcMs: number;
  /** Offset from UTC of the zone the date was written in, in minutes east of UTC. */
  offsetMinutes: number;
}

const months: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

// RFC 5322 section 4.3 obsolete zones; military single letters are treated as UTC like RFC 5322 advises.
const zoneNames: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

const rfc5322Date =
  /^(?:[a-z]+,?\s+)?(\d{1,2})[\s-]+([a-z]{3})[a-z]*\.?[\s-]+(\d{2,4})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?(?:\s*([+-]\d{4}|[+-]\d{2}:\d{2}|[a-z]{1,5}))?/i;

// "Mon Oct  1 11:20:27 2018" (asctime, seen in mbox separators and some MTAs).
const asctimeDate =
  /^(?:[a-z]+,?\s+)?([a-z]{3})[a-z]*\s+(\d{1,2})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s+(?:([+-]\d{4}|[a-z]{1,5})\s+)?(\d{4})/i;

const isoDate =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?$/i;

function zoneOffset(zone: string | undefined): number {
  if (zone === undefined) return 0;
  const numeric = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3] ?? '0');
    return numeric[1] === '-' ? -minutes : minutes;
  }
  return zoneNames[zone.toLowerCase()] ?? 0;
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  offsetMinutes: number,
): MailDate | null {
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const local = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls Feb 31 over to March: such a date is not a date.
  if (new Date(local).getUTCDate() !== day) return null;
  const utcMs = local - offsetMinutes * 60_000;
  return Number.isFinite(utcMs) ? { utcMs, offsetMinutes } : null;
}

function fullYear(twoOrFour: string): number {
  const year = Number(twoOrFour);
  if (twoOrFour.length > 2) return year;
  // RFC 5322 4.3: two-digit years 00-49 are 2000-2049, 50-99 are 1950-1999.
  return year < 50 ? 2000 + year : 1900 + year;
}

/** Parses a mail date (RFC 5322, asctime or ISO 8601). Comments in parentheses are ignored. */
export function parseMailDate(value: string | null | undefined): MailDate | null {
  if (value === null || value === undefined) return null;
  const text = value
    .replace(/\([^()]*\)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return null;

  let m = rfc5322Date.exec(text);
  if (m) {
    const month = months[(m[2] ?? '').toLowerCase()];
    if (month === undefined) return null;
    return build(
      fullYear(m[3] ?? ''),
      month,
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6] ?? '0'),
      zoneOffset(m[7]),
    );
  }
  m = isoDate.exec(text);
  if (m) {
    return build(
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4] ?? '0'),
      Number(m[5] ?? '0'),
      Number(m[6] ?? '0'),
      zoneOffset(m[7]),
    );
  }
  m = asctimeDate.exec(text);
  if (m) {
    const month = months[(m[1] ?? '').toLowerCase()];
    if (month === undefined) return null;
    return build(
      Number(m[7]),
      month,
      Number(m[2]),
      Number(m[3]),
      Number(m[4]),
      Number(m[5] ?? '0'),
      zoneOffset(m[6]),
    );
  }
  return null;
}

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Unix milliseconds → "YYYY-MM-DD HH:MM:SS" in UTC. */
export function formatUtcMs(utcMs: number): string {
  const d = new Date(utcMs);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** A UTC instant in Python's `datetime.isoformat()` form, "YYYY-MM-DDTHH:MM:SS+00:00". */
export function isoformatUtc(date: Date): string {
  return `${formatUtcMs(date.getTime()).replace(' ', 'T')}+00:00`;
}
