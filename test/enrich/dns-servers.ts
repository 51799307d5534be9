// DNS servers for the enrichment tests, all on 127.0.0.1:
// - the project's dnsmasq (tools/dns/ctl.sh): real PTR records, NXDOMAIN, a query log to count queries at
//   the server. Started here when the test runner has not (PDM_DNS_SERVER unset), so the tests cannot
//   silently skip.
// - a scripted server (UDP + TCP, dns-packet) for what dnsmasq cannot be made to do: truncated answers that
//   need TCP, SERVFAIL, REFUSED.
// - a black hole: a bound UDP socket that reads queries and never answers (a dead resolver).
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as dnsPacket from 'dns-packet';

const ctl = fileURLToPath(new URL('../../tools/dns/ctl.sh', import.meta.url));

export interface Dnsmasq {
  /** "127.0.0.1:15353" */
  server: string;
  queryLog: string;
  /** Byte offset of the end of the query log now: count queries from here. */
  logMark(): number;
  /** Queries for `qname` (e.g. "94.241.150.72.in-addr.arpa") received since `mark`. */
  queriesSince(mark: number, qname: string, type?: string): number;
}

export function ensureDnsmasq(): Dnsmasq {
  if (!process.env['PDM_DNS_SERVER'] || !process.env['PDM_DNS_QUERY_LOG']) {
    execFileSync('bash', [ctl, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const env = execFileSync('bash', [ctl, 'env'], { encoding: 'utf8' });
    for (const [, key, value] of env.matchAll(/(PDM_DNS_[A-Z_]+)=(\S+)/g)) process.env[key as string] = value;
  }
  const server = process.env['PDM_DNS_SERVER'] as string;
  const queryLog = process.env['PDM_DNS_QUERY_LOG'] as string;
  return {
    server,
    queryLog,
    logMark: () => statSync(queryLog).size,
    queriesSince(mark, qname, type = 'PTR') {
      const text = readFileSync(queryLog).subarray(mark).toString('utf8');
      const needle = `]: query[${type}] ${qname} from `;
      return text.split('\n').filter((line) => line.includes(needle)).length;
    },
  };
}

export interface BlackHole {
  server: string;
  /** Datagrams received (queries that were never answered). */
  received(): number;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const socket = dgram.createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    received: () => count,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface ScriptedAnswer {
  rcode?: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';
  /** PTR target names (several make a long answer). */
  ptr?: string[];
  ttl?: number;
  /** Over UDP, answer with the TC bit and no records (the client must ask again over TCP). */
  truncateUdp?: boolean;
  /** Over UDP, do not answer at all (a lost datagram). */
  drop?: boolean;
}

export interface ScriptedServer {
  server: string;
  udpQueries(): number;
  tcpQueries(): number;
  close(): Promise<void>;
}

const RCODES = { NOERROR: 0, NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const;

function answerFor(query: dnsPacket.DecodedPacket, script: ScriptedAnswer, overUdp: boolean): Buffer {
  const question = query.questions?.[0];
  const truncated = overUdp && script.truncateUdp === true;
  const flags =
    dnsPacket.RECURSION_DESIRED |
    dnsPacket.RECURSION_AVAILABLE |
    (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
    RCODES[script.rcode ?? 'NOERROR'];
  const answers: dnsPacket.Answer[] =
    truncated || !question
      ? []
      : (script.ptr ?? []).map((data) => ({
          type: 'PTR',
          name: question.name,
          ttl: script.ttl ?? 300,
          data,
        }));
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: question ? [question] : [],
    answers,
  });
}

/** A UDP+TCP server on one port of 127.0.0.1 or ::1 answering every query with `script(qname)`. */
export async function startScriptedServer(
  script: (qname: string) => ScriptedAnswer,
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<ScriptedServer> {
  let udp = 0;
  let tcp = 0;
  const tcpServer = net.createServer((conn) => {
    let buffered = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const query = dnsPacket.decode(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        tcp++;
        const answer = answerFor(query, script(query.questions?.[0]?.name ?? ''), false);
        const framed = Buffer.alloc(2 + answer.length);
        framed.writeUInt16BE(answer.length, 0);
        answer.copy(framed, 2);
        conn.write(framed);
      }
    });
    conn.on('error', () => conn.destroy());
  });
  await new Promise<void>((resolve) => tcpServer.listen(0, host, resolve));
  const port = (tcpServer.address() as net.AddressInfo).port;
  const udpSocket = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
  udpSocket.on('message', (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    udp++;
    const answer = script(query.questions?.[0]?.name ?? '');
    if (answer.drop) return;
    udpSocket.send(answerFor(query, answer, true), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udpSocket.bind(port, host, resolve));
  return {
    server: host === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`,
    udpQueries: () => udp,
    tcpQueries: () => tcp,
    close: async () => {
      await new Promise<void>((resolve) => udpSocket.close(() => resolve()));
      await new Promise<void>((resolve) => tcpServer.close(() => resolve()));
    },
  };
}

/** Collects warnings like a pino logger would receive them. */
export function recordingLogger(): {
  warn(obj: object, msg: string): void;
  warnings: { obj: object; msg: string }[];
} {
  const warnings: { obj: object; msg: string }[] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }) };
}
