/**
 * An in-process SMTP server for the fast email tests (npm smtp-server: STARTTLS, AUTH PLAIN/LOGIN), with
 * the messages it accepted, parsed, and faults to inject: temporary (4xx) answers to the next n messages,
 * a refusal (5xx) of every message, no STARTTLS. The real server is Postfix (tools/postfix).
 */
import { readFileSync, rmSync } from 'node:fs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { selfSignedCertificate } from '../cli/tls-proxy.js';

export interface StubOptions {
  /** Offer STARTTLS (default true); false: everything in clear. */
  starttls?: boolean;
  /** Implicit TLS from the start (an smtps port). */
  secure?: boolean;
  user?: string;
  password?: string;
}

export interface SmtpStub {
  port: number;
  caFile: string;
  user: string;
  password: string;
  /** Messages accepted, in order. */
  messages: { envelope: { from: string; to: string[] }; secure: boolean; raw: Buffer; parsed: ParsedMail }[];
  /** Connections made (probes included). */
  connections: number;
  /** Logins refused. */
  authFailures: number;
  /** The next n messages get "451 4.3.0 try again later". */
  tempFailNext: number;
  /** Every message gets "550 5.7.1 refused". */
  refuseAll: boolean;
  /** Messages are received whole and never answered (not delivered: no 250) while this is set. */
  holdData: boolean;
  /** Messages received and held unanswered. */
  held: number;
  close(): Promise<void>;
}

export async function startSmtpStub(options: StubOptions = {}): Promise<SmtpStub> {
  const { dir, keyFile, certFile } = selfSignedCertificate();
  const user = options.user ?? 'dmarc';
  const password = options.password ?? 'stub-smtp-pw';
  const stub: SmtpStub = {
    port: 0,
    caFile: certFile,
    user,
    password,
    messages: [],
    connections: 0,
    authFailures: 0,
    tempFailNext: 0,
    refuseAll: false,
    holdData: false,
    held: 0,
    close: async () => undefined,
  };
  const server = new SMTPServer({
    secure: options.secure ?? false,
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    disabledCommands: options.starttls === false && !options.secure ? ['STARTTLS'] : [],
    allowInsecureAuth: options.starttls === false,
    authOptional: true,
    logger: false,
    onConnect: (_session, callback) => {
      stub.connections += 1;
      callback();
    },
    onAuth: (auth, _session, callback) => {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      stub.authFailures += 1;
      const error = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      return callback(error);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stub.holdData) {
          stub.held += 1;
          return;
        }
        if (stub.refuseAll) {
          return callback(Object.assign(new Error('5.7.1 refused'), { responseCode: 550 }));
        }
        if (stub.tempFailNext > 0) {
          stub.tempFailNext -= 1;
          return callback(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
        }
        const raw = Buffer.concat(chunks);
        void simpleParser(raw, { keepCidLinks: true }).then((parsed) => {
          stub.messages.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            secure: session.secure,
            raw,
            parsed,
          });
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.port = (server.server.address() as { port: number }).port;
  stub.close = () =>
    new Promise<void>((resolve) =>
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      }),
    );
  return stub;
}
