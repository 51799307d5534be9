// A minimal MaxMind DB (MMDB v2) writer for tests: an IPv6 tree with 24-bit records, IPv4 networks stored
// under ::/96 like MaxMind's own databases, and data values of the types the readers' record shapes use
// (maps, strings, unsigned integers). Enough to build a user database with a few networks and check that
// enrichment reads both record shapes from a real file.
import { isIP } from 'node:net';

export type MmdbValue = string | number | { [key: string]: MmdbValue } | MmdbValue[];

export interface MmdbNetwork {
  /** "203.0.113.0/24" or "2001:db8::/32". */
  cidr: string;
  data: { [key: string]: MmdbValue };
}

function ipBits(ip: string): number[] {
  const bytes = ipBytes(ip);
  const bits: number[] = [];
  for (const byte of bytes) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  return bits;
}

function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return [...Array<number>(12).fill(0), ...ip.split('.').map(Number)];
  if (isIP(ip) !== 6) throw new Error(`not an IP: ${ip}`);
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function control(type: number, size: number): number[] {
  const out: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else {
    sizeBits = 30;
    const n = size - 285;
    extra.push(n >> 8, n & 0xff);
  }
  if (type <= 7) out.push((type << 5) | sizeBits);
  else out.push(sizeBits, type - 7); // extended type: type bits 0, then (type - 7)
  return [...out, ...extra];
}

function encode(value: MmdbValue): number[] {
  if (typeof value === 'string') {
    const bytes = [...Buffer.from(value, 'utf8')];
    return [...control(2, bytes.length), ...bytes];
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
      throw new Error(`unsupported number ${value}`);
    const bytes: number[] = [];
    for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    return [...control(6, bytes.length), ...bytes]; // uint32
  }
  if (Array.isArray(value)) return [...control(11, value.length), ...value.flatMap(encode)];
  const entries = Object.entries(value);
  return [...control(7, entries.length), ...entries.flatMap(([k, v]) => [...encode(k), ...encode(v)])];
}

interface Node {
  children: [Node | number | null, Node | number | null];
}

/** Builds an MMDB file (as a Buffer) holding the given networks. */
export function buildMmdb(networks: MmdbNetwork[], databaseType = 'parsedmarc-ts-test'): Buffer {
  const data: number[] = [];
  const root: Node = { children: [null, null] };
  for (const { cidr, data: record } of networks) {
    const [ip = '', lengthText = ''] = cidr.split('/');
    const length = Number(lengthText) + (isIP(ip) === 4 ? 96 : 0);
    const bits = ipBits(ip);
    const offset = data.length;
    data.push(...encode(record));
    let node = root;
    for (let depth = 0; depth < length - 1; depth++) {
      const bit = bits[depth] as 0 | 1;
      let child = node.children[bit];
      if (typeof child !== 'object' || child === null) {
        child = { children: [null, null] };
        node.children[bit] = child;
      }
      node = child;
    }
    node.children[bits[length - 1] as 0 | 1] = offset;
  }
  // Number the nodes breadth-first (root = 0).
  const order: Node[] = [];
  const queue: Node[] = [root];
  while (queue.length > 0) {
    const node = queue.shift() as Node;
    order.push(node);
    for (const child of node.children) if (typeof child === 'object' && child !== null) queue.push(child);
  }
  const index = new Map(order.map((n, i) => [n, i]));
  const nodeCount = order.length;
  const tree: number[] = [];
  for (const node of order) {
    for (const child of node.children) {
      const record =
        child === null
          ? nodeCount
          : typeof child === 'number'
            ? nodeCount + 16 + child
            : (index.get(child) as number);
      tree.push((record >> 16) & 0xff, (record >> 8) & 0xff, record & 0xff);
    }
  }
  const metadata = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 6,
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_700_000_000,
    description: { en: 'test database written by test/enrich/mmdb-writer.ts' },
  });
  return Buffer.from([
    ...tree,
    ...Array<number>(16).fill(0),
    ...data,
    ...Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    ...metadata,
  ]);
}
