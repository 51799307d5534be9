/**
 * One SMTP session with nodemailer's SMTPConnection: implicit TLS or STARTTLS when offered (said when the
 * mail would go in clear), AUTH when a user is given, the certificate verified unless skipped. Failures as
 * SinkErrors: the server away or answering 4xx is retriable, a 5xx or refused credentials are not.
 */
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { EmailSinkConfig } from '../config.js';
import { SinkError } from '../errors.js';
import { readPemFile } from '../pem.js';
import { isTlsError } from '../http.js';

export const SINK_NAME = 'email';

export type SmtpSettings = Pick<
  EmailSinkConfig,
  'host' | 'port' | 'ssl' | 'user' | 'password' | 'skipCertificateVerification' | 'caFile' | 'timeoutSeconds'
>;

/** host:port as messages name it. */
export const smtpTarget = (s: SmtpSettings): string => `${s.host}:${s.port ?? (s.ssl ? 465 : 25)}`;

interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

function sinkErrorOf(error: unknown, settings: SmtpSettings): SinkError {
  if (SinkError.is(error)) return error;
  const e = error as SmtpFailure;
  const context = {
    sink: SINK_NAME,
    target: smtpTarget(settings),
    ...(e.responseCode ? { status: e.responseCode } : {}),
  };
  const said = (e.response ?? e.message ?? String(error)).trim().split('\n')[0]!.slice(0, 300);
  if (
    isTlsError(error) ||
    e.code === 'ETLS' ||
    /certificate|self[- ]signed|SSL routines|TLS/i.test(e.message ?? '')
  ) {
    return new SinkError(
      'SINK_TLS_FAILED',
      `TLS with ${smtpTarget(settings)} failed: ${e.message} (a private CA: its PEM file; or skip the verification)`,
      context,
      { cause: error },
    );
  }
  const status = e.responseCode ?? 0;
  if (status >= 400 && status < 500) {
    return new SinkError('SINK_UNAVAILABLE', `the server answered ${said}`, context, { cause: error });
  }
  if (e.code === 'EAUTH' || status === 535 || status === 534 || status === 530) {
    return new SinkError('SINK_AUTH_FAILED', `the server refused the login: ${said}`, context, {
      cause: error,
    });
  }
  if (status >= 500) {
    return new SinkError('MESSAGE_REFUSED', `the server refused the message: ${said}`, context, {
      cause: error,
    });
  }
  return new SinkError('SINK_UNREACHABLE', `cannot reach ${smtpTarget(settings)}: ${said}`, context, {
    cause: error,
  });
}

export interface SmtpSession {
  /** Whether the session is encrypted (implicit TLS or STARTTLS). */
  readonly secure: boolean;
  send(envelope: { from: string; to: string[] }, message: Readable | Buffer | string): Promise<string>;
  quit(): void;
}

/** Connects, upgrades, logs in. The caller sends and quits. */
export async function openSmtpSession(settings: SmtpSettings, clientName?: string): Promise<SmtpSession> {
  const ca = settings.caFile ? readPemFile(SINK_NAME, settings.caFile) : undefined;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const connection = new SMTPConnection({
    host: settings.host,
    port: settings.port ?? (settings.ssl ? 465 : 25),
    secure: settings.ssl,
    name: clientName,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // SNI names a host, never an address (RFC 6066).
    tls: {
      rejectUnauthorized: !settings.skipCertificateVerification,
      ca,
      ...(isIP(settings.host) ? {} : { servername: settings.host }),
    },
  });
  // nodemailer reports some failures (a TLS upgrade refused, the socket closed) only as 'error' or 'end'
  // events, not through the pending callback: each step also settles on those.
  let failStep: ((error: unknown) => void) | null = null;
  connection.on('error', (error: unknown) => failStep?.(error));
  connection.on('end', () => failStep?.(new Error('the server closed the connection')));
  const step = <T>(run: (done: (error: unknown, value?: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      failStep = reject;
      run((error, value) => (error ? reject(error) : resolve(value as T)));
    })
      .catch((error: unknown): never => {
        connection.close();
        throw sinkErrorOf(error, settings);
      })
      .finally(() => (failStep = null));
  await step<void>((done) => connection.connect((error) => done(error)));
  if (settings.user) {
    await step<void>((done) =>
      connection.login({ user: settings.user!, pass: settings.password ?? '' }, (error) => done(error)),
    );
  }
  return {
    secure: connection.secure,
    send: (envelope, message) =>
      step<string>((done) =>
        connection.send(envelope, message, (error, info) => done(error, info?.response)),
      ),
    quit: () => connection.quit(),
  };
}
