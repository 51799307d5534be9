/**
 * Syslog, as the original's [syslog] sends it: each flat row of a report of a saved type as one message,
 * "<14>" + the row's JSON + NUL (see originalSyslogMessages), over UDP (one datagram each, as best effort
 * as UDP is), TCP or TLS. A stream connection is tried retryAttempts times, retryDelaySeconds apart, at
 * start and whenever it breaks; what was written since the last confirmed point is written again on the new
 * connection, so a broken connection may repeat messages but never loses one silently.
 */
import { createSocket, type Socket as DatagramSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { originalSyslogMessages } from '@parsedmarc-ts/output';
import { saves, type SyslogSinkConfig } from '../config.js';
import { flushAndRelease, type ResultItem, type ResultSink, type SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';
import { readPemFile } from '../pem.js';
import type { SinkContext } from '../registry.js';

/** The largest UDP payload over IPv4. */
const maxDatagramBytes = 65_507;
/** Messages written between two points where the socket's buffer is confirmed written out. */
const confirmEvery = 1000;

interface Transport {
  /** Sends one message; resolves when it may take the next. */
  send(message: Buffer, item: ResultItem): Promise<void>;
  /** Resolves once everything sent so far has left this process. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

const readPem = (path: string, what: string): string => readPemFile('syslog', path, what);

class DatagramTransport implements Transport {
  private constructor(
    private readonly socket: DatagramSocket,
    private readonly address: string,
    private readonly port: number,
    private readonly refuse: (item: ResultItem, code: string, reason: string) => void,
  ) {}

  static async open(
    config: SyslogSinkConfig,
    refuse: DatagramTransport['refuse'],
  ): Promise<DatagramTransport> {
    let address: { address: string; family: number };
    try {
      address = await lookup(config.server);
    } catch (error) {
      throw new SinkError(
        'SINK_UNREACHABLE',
        `cannot resolve ${config.server}: ${(error as Error).message}`,
        { sink: 'syslog', target: `${config.server}:${config.port}` },
        { cause: error },
      );
    }
    const socket = createSocket(address.family === 6 ? 'udp6' : 'udp4');
    // Errors of unconnected datagrams come back on sends; nothing else is expected here.
    socket.on('error', () => undefined);
    return new DatagramTransport(socket, address.address, config.port, refuse);
  }

  send(message: Buffer, item: ResultItem): Promise<void> {
    if (message.length > maxDatagramBytes) {
      this.refuse(item, 'MESSAGE_TOO_LARGE', `a ${message.length}-byte message does not fit a UDP datagram`);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.socket.send(message, this.port, this.address, (error) => {
        if (!error) resolve();
        else if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') {
          this.refuse(item, 'MESSAGE_TOO_LARGE', 'the message does not fit a UDP datagram');
          resolve();
        } else {
          reject(
            new SinkError(
              'SINK_UNREACHABLE',
              `cannot send to ${this.address}:${this.port}: ${error.message}`,
              {
                sink: 'syslog',
                target: `${this.address}:${this.port}`,
              },
            ),
          );
        }
      }),
    );
  }

  async drain(): Promise<void> {}

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

class StreamTransport implements Transport {
  private socket: Socket | null = null;
  private broken: Error | null = null;
  /** Written since the last confirmed point: written again on a new connection. */
  private unconfirmed: Buffer[] = [];
  private readonly target: string;
  private readonly tls: { ca?: string; cert?: string; key?: string } | null;

  constructor(
    private readonly config: SyslogSinkConfig,
    private readonly context: SinkContext,
  ) {
    this.target = `${config.server}:${config.port}`;
    this.tls =
      config.protocol === 'tls'
        ? {
            ...(config.caFile ? { ca: readPem(config.caFile, 'CA file') } : {}),
            ...(config.certFile ? { cert: readPem(config.certFile, 'client certificate') } : {}),
            ...(config.keyFile ? { key: readPem(config.keyFile, 'client key') } : {}),
          }
        : null;
  }

  private connectOnce(): Promise<Socket> {
    const { server: host, port, timeoutSeconds } = this.config;
    return new Promise((resolve, reject) => {
      const socket = this.tls
        ? // SNI carries a name only, never an address (RFC 6066).
          tlsConnect({
            host,
            port,
            ...(isIP(host) ? {} : { servername: host }),
            minVersion: 'TLSv1.2',
            ...this.tls,
          })
        : netConnect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection within ${timeoutSeconds} s`)),
        timeoutSeconds * 1000,
      );
      socket.once(this.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.on('error', (error) => (this.broken ??= error));
        socket.on('close', () => (this.broken ??= new Error('the server closed the connection')));
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Connects, retried as configured; a certificate problem is not retried. */
  async connect(): Promise<void> {
    const { retryAttempts, retryDelaySeconds } = this.config;
    for (let attempt = 1; ; attempt += 1) {
      try {
        this.socket = await this.connectOnce();
        this.broken = null;
        for (const message of this.unconfirmed) this.socket.write(message);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (/CERT|SELF_SIGNED|TLS|SSL|VERIFY|ALTNAME/.test(code)) {
          throw new SinkError(
            'SINK_TLS_FAILED',
            `TLS with ${this.target} failed: ${(error as Error).message} (a private CA: [syslog] cafile_path)`,
            { sink: 'syslog', target: this.target },
            { cause: error },
          );
        }
        if (attempt >= retryAttempts) {
          throw new SinkError(
            'SINK_UNREACHABLE',
            `cannot connect to ${this.target} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${(error as Error).message}`,
            { sink: 'syslog', target: this.target },
            { cause: error },
          );
        }
        this.context.warn(
          `syslog (${this.target}): ${(error as Error).message}; retrying in ${retryDelaySeconds} s (attempt ${attempt + 1} of ${retryAttempts})`,
        );
        await new Promise((resolve) => setTimeout(resolve, retryDelaySeconds * 1000));
      }
    }
  }

  private async usable(): Promise<Socket> {
    if (this.socket === null || this.broken !== null) {
      if (this.broken) this.context.warn(`syslog (${this.target}): ${this.broken.message}; connecting again`);
      this.socket?.destroy();
      await this.connect();
    }
    return this.socket!;
  }

  async send(message: Buffer): Promise<void> {
    const socket = await this.usable();
    this.unconfirmed.push(message);
    if (!socket.write(message)) await new Promise((resolve) => socket.once('drain', resolve));
    if (this.unconfirmed.length >= confirmEvery) await this.drain();
  }

  async drain(): Promise<void> {
    for (;;) {
      const socket = await this.usable();
      await new Promise<void>((resolve) => socket.write('', () => resolve()));
      if (this.broken === null) break;
    }
    this.unconfirmed = [];
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
  }
}

export class SyslogSink implements ResultSink {
  readonly name = 'syslog';
  private refusals: SinkRefusal[] = [];

  private constructor(
    private readonly config: SyslogSinkConfig,
    private readonly transport: Transport,
    private readonly context: SinkContext,
  ) {}

  static async open(config: SyslogSinkConfig, context: SinkContext): Promise<SyslogSink> {
    const refusals: SinkRefusal[] = [];
    let transport: Transport;
    if (config.protocol === 'udp') {
      transport = await DatagramTransport.open(config, (item, code, reason) =>
        refusals.push({ sink: 'syslog', source: item.source, code, reason }),
      );
    } else {
      const stream = new StreamTransport(config, context);
      await stream.connect();
      transport = stream;
    }
    const sink = new SyslogSink(config, transport, context);
    sink.refusals = refusals;
    return sink;
  }

  async write(item: ResultItem): Promise<void> {
    if (!saves(this.config.save, item.parsed.report_type)) return;
    for (const message of originalSyslogMessages(item.parsed)) {
      await this.transport.send(Buffer.from(message, 'utf8'), item);
    }
  }

  async flush(): Promise<SinkRefusal[]> {
    await this.transport.drain();
    return this.refusals.splice(0);
  }

  async close(): Promise<void> {
    await flushAndRelease(
      this,
      (line) => this.context.warn(line),
      () => this.transport.close(),
    );
  }
}
