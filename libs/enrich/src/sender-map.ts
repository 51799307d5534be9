// source.name and source.type: who is behind a reverse DNS name. A map from a base domain (or a more specific
// suffix, e.g. protection.outlook.com) to a service name and type. The project ships a starting map
// (data/sender-map.csv, compiled into sender-map.generated.ts so that loading it needs no file I/O); users
// add to or override it with their own CSV.
import { readFile } from 'node:fs/promises';
import { EnrichError } from './errors.js';
import { shippedSenderMapEntries } from './sender-map.generated.js';

export interface SenderService {
  name: string;
  type: string | null;
}

export type SenderMapEntry = readonly [domain: string, name: string, type: string];

/** Splits CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows of fields. */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]?.trim() === ''));
}

/**
 * Parses a sender map CSV with a header naming the columns base_domain (or parsedmarc's base_reverse_dns),
 * name and type, in any order. Domains are lowercased; an empty type is stored as-is (callers map "" to null).
 * Throws EnrichError('SENDER_MAP') when the columns are missing.
 */
export function parseSenderMapCsv(text: string, source = '<sender map>'): SenderMapEntry[] {
  const rows = parseCsvRows(text);
  const header = rows[0]?.map((h) => h.trim().toLowerCase());
  if (!header) return [];
  const domainColumn = header.findIndex((h) => h === 'base_domain' || h === 'base_reverse_dns');
  const nameColumn = header.indexOf('name');
  const typeColumn = header.indexOf('type');
  if (domainColumn < 0 || nameColumn < 0 || typeColumn < 0) {
    throw new EnrichError(
      'SENDER_MAP',
      `sender map CSV needs a header with base_domain,name,type; got ${JSON.stringify(rows[0])}`,
      {
        source,
      },
    );
  }
  const entries: SenderMapEntry[] = [];
  for (const row of rows.slice(1)) {
    const domain = (row[domainColumn] ?? '').trim().toLowerCase().replace(/\.$/, '');
    const name = (row[nameColumn] ?? '').trim();
    if (domain === '' || name === '') continue;
    entries.push([domain, name, (row[typeColumn] ?? '').trim()]);
  }
  return entries;
}

export async function readSenderMapCsv(path: string): Promise<SenderMapEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EnrichError(
      'SENDER_MAP',
      `cannot read sender map: ${(err as Error).message}`,
      { source: path },
      { cause: err },
    );
  }
  return parseSenderMapCsv(text, path);
}

export class SenderMap {
  private readonly byDomain = new Map<string, SenderService>();

  /** Later entries override earlier ones: pass the shipped entries first, then the user's. */
  constructor(...entryLists: ReadonlyArray<readonly SenderMapEntry[]>) {
    for (const entries of entryLists) {
      for (const [domain, name, type] of entries)
        this.byDomain.set(domain, { name, type: type === '' ? null : type });
    }
  }

  get size(): number {
    return this.byDomain.size;
  }

  /** The shipped map, optionally overridden entry by entry by a user's entries. */
  static withShipped(userEntries: readonly SenderMapEntry[] = []): SenderMap {
    return new SenderMap(shippedSenderMapEntries, userEntries);
  }

  /** The entry for exactly this domain (lowercased), or null. */
  get(domain: string): SenderService | null {
    return this.byDomain.get(domain.toLowerCase().replace(/\.$/, '')) ?? null;
  }

  /**
   * The service behind a reverse DNS name: the most specific suffix of the name that is in the map, from the
   * full name down to its base domain (so "protection.outlook.com" can differ from "outlook.com"), or null.
   */
  lookup(reverseDns: string, baseDomain: string): SenderService | null {
    const labels = reverseDns.toLowerCase().replace(/\.$/, '').split('.');
    const base = baseDomain.toLowerCase();
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const hit = this.byDomain.get(suffix);
      if (hit) return hit;
      if (suffix === base) break;
    }
    return this.byDomain.get(base) ?? null;
  }
}
