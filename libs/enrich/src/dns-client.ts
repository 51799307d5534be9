// A small stub resolver for PTR queries: DNS messages (dns-packet) over UDP with a fallback to TCP when an
// answer is truncated, sent to the configured recursive nameservers with a per-attempt timeout and a retry
// count. Written here rather than using node:dns because node's Resolver does not expose the TTL of PTR
// answers (needed for caching), and it gives no control over per-server failure handling: a dead resolver
// must cost one timeout per concurrency slot, not one per IP address.
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { EnrichError } from './errors.js';

export interface Nameserver {
  host: string;
  port: number;
  family: 4 | 6;
  /** "host:port" (IPv6 in brackets), as shown in warnings and stats. */
  label: string;
}

/** Parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port" (a bare IPv6 address has no port). Port 53 by default. */
export function parseNameserver(text: string): Nameserver {
  const value = text.trim();
  let host = value;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (net.isIP(value) === 0 && value.includes(':')) {
    const colon = value.lastIndexOf(':');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
  }
  const family = net.isIP(host);
  if (family === 0) {
    throw new EnrichError('INVALID_NAMESERVER', `not an IP address or IP:port: ${JSON.stringify(text)}`, {
      source: text,
    });
  }
  const port = portText === undefined ? 53 : Number(portText);
  if (!/^\d+$/.test(portText ?? '53') || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EnrichError('INVALID_NAMESERVER', `invalid port in nameserver ${JSON.stringify(text)}`, {
      source: text,
    });
  }
  return {
    host,
    port,
    family: family === 4 ? 4 : 6,
    label: family === 6 ? `[${host}]:${port}` : `${host}:${port}`,
  };
}

/** What one PTR lookup came to. */
export type PtrOutcome =
  /** The first PTR target (without the trailing dot) and the smallest TTL on the way to it (CNAME chain). */
  | { kind: 'answer'; name: string; ttlSeconds: number }
  /** The name does not exist, or has no PTR. ttlSeconds from the SOA in the answer (RFC 2308), null if none. */
  | { kind: 'nxdomain' | 'nodata'; ttlSeconds: number | null }
  /** Every nameserver that answered said SERVFAIL. */
  | { kind: 'servfail' }
  /** Nameservers answered, but refused or did not understand the query (REFUSED, NOTIMP, FORMERR). */
  | { kind: 'refused' }
  /** At least one nameserver was asked and none answered in time (or its port was closed). */
  | { kind: 'timeout' }
  /** No query was sent: every nameserver is marked down after repeated timeouts. */
  | { kind: 'unavailable' };

export interface DnsWarningLogger {
  warn(obj: object, msg: string): void;
}

export interface DnsClientOptions {
  nameservers: Nameserver[];
  /** Time to wait for the answer to one datagram (or one TCP exchange), in ms. */
  timeoutMs: number;
  /** Extra passes over the nameservers after the first one found no answer. */
  retries: number;
  /**
   * Consecutive unanswered queries (no answer in between) after which a nameserver that has also not answered
   * anything for a whole timeout is marked down. Default 3.
   */
  downAfterFailures?: number;
  /** How long a nameserver marked down is skipped before one probe query is let through, in ms. */
  downForMs?: number;
  logger?: DnsWarningLogger;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export interface DnsClientStats {
  /** Queries sent: UDP datagrams plus TCP exchanges. */
  queries: number;
  tcpQueries: number;
  /** Attempts that got no answer in time (or found the port closed). */
  timeouts: number;
  /** Responses dropped: wrong question, malformed, or arriving after their query timed out. */
  droppedResponses: number;
}

interface Pending {
  qname: string;
  settle(result: AttemptResult): void;
}

interface DnsResponse {
  kind: 'response';
  rcode: number;
  packet: dnsPacket.DecodedPacket | null;
  truncated: boolean;
}

type AttemptResult =
  | DnsResponse
  /** sentAt: when the unanswered query was sent (client clock). */
  | { kind: 'timeout'; sentAt: number }
  | { kind: 'unreachable'; code: string };

interface ServerState {
  server: Nameserver;
  socket: dgram.Socket | null;
  connecting: Promise<dgram.Socket> | null;
  pending: Map<number, Pending>;
  consecutiveFailures: number;
  /** When the server last answered anything (clock of the client). */
  lastAnswerAt: number;
  status: 'up' | 'down' | 'probing';
  downUntil: number;
  warned: boolean;
  warnedRefused: boolean;
}

const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const MAX_CNAME_CHAIN = 8;

export class DnsClient {
  readonly stats: DnsClientStats = { queries: 0, tcpQueries: 0, timeouts: 0, droppedResponses: 0 };
  private readonly servers: ServerState[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly downAfterFailures: number;
  private readonly downForMs: number;
  private readonly logger: DnsWarningLogger | undefined;
  private readonly now: () => number;
  private closed = false;

  constructor(options: DnsClientOptions) {
    this.servers = options.nameservers.map((server) => ({
      server,
      socket: null,
      connecting: null,
      pending: new Map(),
      consecutiveFailures: 0,
      lastAnswerAt: Number.NEGATIVE_INFINITY,
      status: 'up',
      downUntil: 0,
      warned: false,
      warnedRefused: false,
    }));
    this.timeoutMs = options.timeoutMs;
    this.retries = options.retries;
    this.downAfterFailures = options.downAfterFailures ?? 3;
    this.downForMs = options.downForMs ?? 30_000;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  /** Labels of the nameservers currently marked down. */
  downNameservers(): string[] {
    return this.servers.filter((s) => s.status !== 'up').map((s) => s.server.label);
  }

  /**
   * Looks up the PTR record of a reverse name ("4.3.2.1.in-addr.arpa"). Tries the nameservers in order,
   * skipping those marked down; a SERVFAIL or an unanswered query moves on to the next one. A pass in which
   * some query went unanswered is repeated, up to `retries` times (retries are for lost datagrams: when every
   * nameserver answered SERVFAIL or REFUSED, that is the outcome). Never throws: every failure is an outcome.
   */
  async queryPtr(qname: string): Promise<PtrOutcome> {
    if (this.closed) return { kind: 'unavailable' };
    let sawServfail = false;
    let sawRefused = false;
    let sawTimeout = false;
    for (let pass = 0; pass <= this.retries; pass++) {
      let unanswered = false;
      for (const state of this.servers) {
        if (!this.admit(state)) continue;
        let result = await this.udpAttempt(state, qname);
        // close() settles pending queries: stop here rather than blame the server or open a new socket.
        if (this.closed) return { kind: 'unavailable' };
        if (result.kind !== 'response') {
          this.noteFailure(state, result);
          sawTimeout = true;
          unanswered = true;
          continue;
        }
        this.noteAlive(state);
        if (result.truncated) {
          result = await this.tcpAttempt(state, qname);
          // The server answers over UDP, so a failed TCP exchange says nothing about the server being down.
          if (result.kind !== 'response') {
            sawTimeout = true;
            unanswered = true;
            continue;
          }
        }
        if (result.rcode === RCODE_NOERROR && result.packet) return ptrFromAnswer(result.packet, qname);
        if (result.rcode === RCODE_NXDOMAIN)
          return { kind: 'nxdomain', ttlSeconds: negativeTtl(result.packet) };
        if (result.rcode === RCODE_SERVFAIL) {
          sawServfail = true;
        } else {
          sawRefused = true;
          this.warnRefusedOnce(state, result.rcode);
        }
      }
      // Nothing lost this pass (or no nameserver could be asked): another pass would get the same.
      if (!unanswered) break;
    }
    if (sawServfail) return { kind: 'servfail' };
    if (sawTimeout) return { kind: 'timeout' };
    if (sawRefused) return { kind: 'refused' };
    return { kind: 'unavailable' };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.servers) {
      for (const pending of state.pending.values()) pending.settle({ kind: 'unreachable', code: 'CLOSED' });
      state.pending.clear();
      const socket = state.socket ?? (state.connecting ? await state.connecting.catch(() => null) : null);
      state.socket = null;
      state.connecting = null;
      if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  }

  /** Whether a query may go to this server now; lets one probe through once a down period has passed. */
  private admit(state: ServerState): boolean {
    if (state.status === 'up') return true;
    if (state.status === 'down' && this.now() >= state.downUntil) {
      state.status = 'probing';
      return true;
    }
    return false;
  }

  private noteAlive(state: ServerState): void {
    state.consecutiveFailures = 0;
    state.lastAnswerAt = this.now();
    // Back after being down: should it go down again, that is news worth another warning.
    if (state.status !== 'up') state.warned = false;
    state.status = 'up';
  }

  private noteFailure(state: ServerState, result: AttemptResult): void {
    state.consecutiveFailures++;
    const reason = result.kind === 'unreachable' ? `unreachable (${result.code})` : 'not answering';
    // Down only when the server has also said nothing at all while this query waited: a live server that
    // drops some queries under load (their timeouts come in bursts) keeps answering others and stays up.
    const silent =
      result.kind === 'unreachable' || (result.kind === 'timeout' && state.lastAnswerAt < result.sentAt);
    const failedEnough = state.consecutiveFailures >= this.downAfterFailures && silent;
    if (state.status === 'probing' || (state.status === 'up' && failedEnough)) {
      state.status = 'down';
      state.downUntil = this.now() + this.downForMs;
      // One warning when a nameserver goes down, none while it stays down (failed probes included): a dead
      // resolver must not flood the log with a line per IP address. A long-running service hears again only
      // if it answered in between.
      if (!state.warned) {
        state.warned = true;
        this.logger?.warn(
          {
            nameserver: state.server.label,
            failures: state.consecutiveFailures,
            timeoutMs: this.timeoutMs,
            skipForMs: this.downForMs,
          },
          `DNS nameserver ${state.server.label} is ${reason}: reverse DNS lookups through it are skipped (retried every ${Math.round(this.downForMs / 1000)} s); affected fields stay null`,
        );
      }
    }
  }

  private warnRefusedOnce(state: ServerState, rcode: number): void {
    if (state.warnedRefused) return;
    state.warnedRefused = true;
    this.logger?.warn(
      { nameserver: state.server.label, rcode },
      `DNS nameserver ${state.server.label} refused a PTR query (rcode ${rcode}); is it a recursive resolver that serves this host?`,
    );
  }

  private socketFor(state: ServerState): Promise<dgram.Socket> {
    if (state.socket) return Promise.resolve(state.socket);
    if (state.connecting) return state.connecting;
    const { server } = state;
    state.connecting = new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket(server.family === 4 ? 'udp4' : 'udp6');
      // A connected socket only accepts datagrams from the server, and reports an ICMP "port unreachable"
      // as an error, so a closed port fails at once instead of waiting for the timeout.
      const onConnectError = (err: Error): void => reject(err);
      socket.once('error', onConnectError);
      socket.connect(server.port, server.host, () => {
        socket.off('error', onConnectError);
        socket.on('error', (err: NodeJS.ErrnoException) => this.failAllPending(state, err.code ?? 'ERROR'));
        socket.on('message', (msg) => this.onDatagram(state, msg));
        // Idle sockets must not keep the process alive; pending queries hold their own timers.
        socket.unref();
        state.socket = socket;
        resolve(socket);
      });
    });
    state.connecting.catch(() => {
      state.connecting = null;
    });
    return state.connecting;
  }

  private failAllPending(state: ServerState, code: string): void {
    const pending = [...state.pending.values()];
    state.pending.clear();
    for (const p of pending) p.settle({ kind: 'unreachable', code });
  }

  private onDatagram(state: ServerState, msg: Buffer): void {
    if (msg.length < 12) {
      this.stats.droppedResponses++;
      return;
    }
    // Any response from the server (the socket is connected to it), even one too late for its query, shows
    // that it is alive.
    if ((msg.readUInt16BE(2) & 0x8000) !== 0) state.lastAnswerAt = this.now();
    const id = msg.readUInt16BE(0);
    const pending = state.pending.get(id);
    const result = pending ? checkResponse(msg, pending.qname) : null;
    if (!pending || !result) {
      // Late (already timed out), malformed, or answering another question: ignore it and keep waiting,
      // as a resolver must to resist spoofed answers.
      this.stats.droppedResponses++;
      return;
    }
    state.pending.delete(id);
    pending.settle(result);
  }

  private async udpAttempt(state: ServerState, qname: string): Promise<AttemptResult> {
    if (this.closed) return { kind: 'unreachable', code: 'CLOSED' };
    let socket: dgram.Socket;
    try {
      socket = await this.socketFor(state);
    } catch (err) {
      return { kind: 'unreachable', code: (err as NodeJS.ErrnoException).code ?? 'ERROR' };
    }
    const id = freeId(state.pending);
    const query = encodeQuery(id, qname);
    const sentAt = this.now();
    this.stats.queries++;
    return new Promise<AttemptResult>((resolve) => {
      const timer = setTimeout(() => {
        if (state.pending.get(id) === entry) state.pending.delete(id);
        this.stats.timeouts++;
        resolve({ kind: 'timeout', sentAt });
      }, this.timeoutMs);
      const entry: Pending = {
        qname,
        settle: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      state.pending.set(id, entry);
      socket.send(query, (err) => {
        if (!err) return;
        if (state.pending.get(id) === entry) state.pending.delete(id);
        entry.settle({ kind: 'unreachable', code: (err as NodeJS.ErrnoException).code ?? 'ERROR' });
      });
    });
  }

  /** One query over a fresh TCP connection (RFC 7766 framing: two length bytes before each message). */
  private tcpAttempt(state: ServerState, qname: string): Promise<AttemptResult> {
    const id = Math.floor(Math.random() * 0x10000);
    this.stats.queries++;
    this.stats.tcpQueries++;
    return new Promise<AttemptResult>((resolve) => {
      const socket = net.connect({ host: state.server.host, port: state.server.port });
      let received = Buffer.alloc(0);
      let done = false;
      const finish = (result: AttemptResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.stats.timeouts++;
        finish({ kind: 'timeout', sentAt: this.now() });
      }, this.timeoutMs);
      socket.on('connect', () => socket.write(dnsPacket.streamEncode(queryPacket(id, qname))));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 2) return;
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        const msg = received.subarray(2, 2 + length);
        const result = msg.length >= 12 && msg.readUInt16BE(0) === id ? checkResponse(msg, qname) : null;
        if (!result || result.truncated) {
          this.stats.droppedResponses++;
          finish({ kind: 'unreachable', code: 'BAD_TCP_RESPONSE' });
          return;
        }
        finish(result);
      });
      socket.on('error', (err: NodeJS.ErrnoException) =>
        finish({ kind: 'unreachable', code: err.code ?? 'ERROR' }),
      );
      socket.on('close', () => finish({ kind: 'unreachable', code: 'CLOSED' }));
    });
  }
}

function queryPacket(id: number, qname: string): dnsPacket.Packet {
  return {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'PTR', class: 'IN', name: qname }],
  };
}

function encodeQuery(id: number, qname: string): Buffer {
  return dnsPacket.encode(queryPacket(id, qname));
}

function freeId(pending: Map<number, Pending>): number {
  for (;;) {
    const id = Math.floor(Math.random() * 0x10000);
    if (!pending.has(id)) return id;
  }
}

/**
 * Checks that a message is a response to our PTR question and decodes it. Returns null for anything else.
 * A truncated response may not decode (records cut off): its header is enough to switch to TCP.
 */
function checkResponse(msg: Buffer, qname: string): DnsResponse | null {
  const flags = msg.readUInt16BE(2);
  const isResponse = (flags & 0x8000) !== 0;
  if (!isResponse) return null;
  const truncated = (flags & 0x0200) !== 0;
  const rcode = flags & 0x000f;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(msg);
  } catch (err) {
    // A cut-off truncated answer is expected not to decode; any other undecodable message is dropped by
    // the caller (null), like a datagram that never came.
    if (truncated && err instanceof Error) return { kind: 'response', rcode, packet: null, truncated };
    return null;
  }
  const question = packet.questions?.[0];
  if (question && (question.type !== 'PTR' || question.name.toLowerCase() !== qname.toLowerCase()))
    return null;
  // Some servers leave the question out of error responses (FORMERR, NOTIMP, REFUSED); a NOERROR or
  // NXDOMAIN must name our question to be believed.
  if (!question && !truncated && (rcode === RCODE_NOERROR || rcode === RCODE_NXDOMAIN)) return null;
  return { kind: 'response', rcode, packet, truncated };
}

/** Follows CNAMEs from the question name (RFC 2317 classless delegation) to the first PTR record. */
function ptrFromAnswer(packet: dnsPacket.DecodedPacket, qname: string): PtrOutcome {
  const answers = (packet.answers ?? []).filter(
    (a): a is dnsPacket.StringAnswer =>
      (a.type === 'PTR' || a.type === 'CNAME') && typeof a.data === 'string',
  );
  let current = qname.toLowerCase();
  let ttl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const ptr = answers.find((a) => a.type === 'PTR' && a.name.toLowerCase() === current);
    if (ptr) {
      return { kind: 'answer', name: ptr.data.replace(/\.$/, ''), ttlSeconds: Math.min(ttl, ptr.ttl ?? 0) };
    }
    const cname = answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase() === current);
    if (!cname) break;
    ttl = Math.min(ttl, cname.ttl ?? 0);
    current = cname.data.toLowerCase().replace(/\.$/, '');
  }
  return { kind: 'nodata', ttlSeconds: negativeTtl(packet) };
}

/** RFC 2308: a negative answer may be cached for min(SOA TTL, SOA MINIMUM) of the SOA in the authority section. */
function negativeTtl(packet: dnsPacket.DecodedPacket | null): number | null {
  const soa = packet?.authorities?.find((a) => a.type === 'SOA');
  if (!soa || soa.type !== 'SOA') return null;
  return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
}
