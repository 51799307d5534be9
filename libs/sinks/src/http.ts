/**
 * What the HTTP sinks (search servers, Splunk HEC) share: one request retried with backoff within a
 * sink's budget, and the reading of the failures every HTTPS client meets.
 */
import { retryWithBackoff } from '@parsedmarc-ts/service-runtime';
import { Agent, request, type Dispatcher } from 'undici';
import { SinkError } from './errors.js';
import { readPemFile } from './pem.js';
import type { SinkContext } from './registry.js';

const backoff = { initialMs: 250, maxMs: 15_000 };

/** Answers that say "later" (a timeout, too many requests, the server's own failure): retried. */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/** Seconds of a Retry-After header (delta form; an HTTP date is read too), as milliseconds. */
export function retryAfterMs(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value) * 1000, 300_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.min(date - Date.now(), 300_000));
}

/**
 * Runs one request, retrying retriable SinkErrors with backoff (at least the wait a Retry-After asked
 * for, carried as context.retryAfterMs) for up to `budgetSeconds`; one notice per outage, not per attempt.
 */
export function retryingRequest<T>(
  budgetSeconds: number,
  context: SinkContext,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  let warned = false;
  return retryWithBackoff(fn, {
    ...backoff,
    maxElapsedMs: budgetSeconds * 1000,
    isRetriable: (error) => SinkError.is(error) && error.retriable,
    minDelayMs: (error) => {
      const wait = SinkError.is(error) ? error.context['retryAfterMs'] : undefined;
      return typeof wait === 'number' ? wait : 0;
    },
    onRetry: (error, attempt, delayMs) => {
      if (warned) return;
      warned = true;
      context.warn(
        `${what}: ${(error as SinkError).message}; retrying (every ${Math.round(delayMs / 1000) || 1} s or more, up to ${budgetSeconds} s; attempt ${attempt + 1})`,
      );
    },
  });
}

/** Certificate and handshake failures: retrying does not fix them. */
export function isTlsError(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code;
    if (code !== undefined && /CERT|SELF_SIGNED|TLS|SSL|VERIFY|ALTNAME/.test(code)) return true;
  }
  return false;
}

/**
 * A request that got no answer, as a SinkError: a failed TLS handshake (retrying does not help; `caHint`
 * names the setting for a private CA), or anything else on the way there (retried).
 */
export function transportError(
  error: unknown,
  where: { sink: string; target: string; timeoutSeconds: number; caHint: string },
): SinkError {
  const context = { sink: where.sink, target: where.target };
  if (isTlsError(error)) {
    return new SinkError(
      'SINK_TLS_FAILED',
      `TLS with ${where.target} failed: ${(error as Error).message} (a private CA: ${where.caHint})`,
      context,
      { cause: error },
    );
  }
  return new SinkError(
    'SINK_UNREACHABLE',
    `cannot reach ${where.target}: ${networkFailureText(error, where.timeoutSeconds)}`,
    context,
    { cause: error },
  );
}

/** A JSON POST; no answer at all is thrown as transportError says. */
export async function postJson(
  url: string,
  body: Buffer | string,
  dispatcher: Dispatcher,
  headers: Record<string, string>,
  where: Parameters<typeof transportError>[1],
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, {
      method: 'POST',
      body,
      dispatcher,
      headers: { 'content-type': 'application/json', ...headers },
    });
  } catch (error) {
    throw transportError(error, where);
  }
}

/** What went wrong on the way to a server, in words: undici's timeouts name the timeout that ran out. */
export function networkFailureText(error: unknown, timeoutSeconds: number): string {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return `no answer within ${timeoutSeconds} s (the request timeout)`;
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `no connection within ${Math.min(timeoutSeconds, 10)} s`;
  }
  return (error as Error | null)?.message ?? String(error);
}

/**
 * The connection pool of an HTTP sink: its CA file read once (an unreadable one is a configuration
 * error), certificate verification unless skipped, the request timeout for answers and bodies.
 */
export function httpAgent(
  sinkName: string,
  settings: { caFile: string | null; skipCertificateVerification: boolean; timeoutSeconds: number },
  connections: number,
): Agent {
  const ca = settings.caFile ? readPemFile(sinkName, settings.caFile) : undefined;
  const timeoutMs = settings.timeoutSeconds * 1000;
  return new Agent({
    connect: {
      ca,
      rejectUnauthorized: !settings.skipCertificateVerification,
      timeout: Math.min(timeoutMs, 10_000),
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
    connections,
  });
}

/**
 * One request in flight while the next batch is built (the HTTP sinks' pipelining): start() first waits
 * for the request before it, so at most one is outstanding; a request's failure is thrown by the next
 * start() or settle(), never as an unhandled rejection.
 */
export class OneInFlight {
  private current: Promise<void> | null = null;

  /** Waits for the request in flight (throwing its failure), then starts `send` without waiting for it. */
  async start(send: () => Promise<void>): Promise<void> {
    await this.settle();
    const sending = send();
    sending.catch(() => undefined);
    this.current = sending;
  }

  /** Waits for the request in flight, if any; throws its failure. */
  async settle(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current;
  }

  /** Forgets the request in flight (after a failure the caller sends everything again). */
  forget(): void {
    this.current = null;
  }
}
