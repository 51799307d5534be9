/**
 * Errors of the sinks. Each carries a stable code, whether retrying may help, and context naming the sink
 * and its target (a host, a folder; never a credential), so the CLI prints one clear line and a service
 * decides between backing off, dead-lettering and stopping from the error itself.
 */

import { isPdmError, PdmError } from '@parsedmarc-ts/errors';

export const sinkErrorCodes = [
  /** A sink setting is wrong (a malformed URL, a folder that is a file): a configuration error, exit 2. */
  'INVALID_SINK_CONFIG',
  /** The target could not be reached (connection refused, DNS, TLS, timeout) within the retry budget. */
  'SINK_UNREACHABLE',
  /** The target answered, but kept failing transiently (429, 5xx) until the retry budget was spent. */
  'SINK_UNAVAILABLE',
  /** The target refused our credentials (401) or the permission (403). */
  'SINK_AUTH_FAILED',
  /** The TLS handshake failed: a certificate we do not trust (give its CA), or a name that does not match. */
  'SINK_TLS_FAILED',
  /** The target refused a setup request (an index template, a topic) for good. */
  'SINK_SETUP_REFUSED',
  /** The target is not what the sink speaks to (e.g. not Elasticsearch or OpenSearch). */
  'SINK_INCOMPATIBLE',
  /** The target refused what was sent for good (an SMTP 5xx: a recipient or sender refused). */
  'MESSAGE_REFUSED',
  /** Writing to a local file failed (disk full, permissions). */
  'OUTPUT_UNWRITABLE',
] as const;

export type SinkErrorCode = (typeof sinkErrorCodes)[number];

export interface SinkErrorContext {
  /** The sink's name. */
  sink: string;
  /** What it talks to: "http://es1:9200", "./output". Never a credential. */
  target?: string;
  /** An HTTP status, when there was one. */
  status?: number;
  [key: string]: unknown;
}

const retriableCodes: ReadonlySet<SinkErrorCode> = new Set(['SINK_UNREACHABLE', 'SINK_UNAVAILABLE']);

/** `retriable`: whether writing the same items again later may succeed (the target away or overloaded). */
export class SinkError extends PdmError<SinkErrorCode, SinkErrorContext> {
  readonly family = 'sink';
  /** A bad setting rather than a fault of the moment: the CLI exits 2 on it. */
  readonly isConfiguration: boolean;

  constructor(
    code: SinkErrorCode,
    message: string,
    context: SinkErrorContext,
    options?: { cause?: unknown },
  ) {
    super(code, message, context, { cause: options?.cause, retriable: retriableCodes.has(code) });
    this.name = 'SinkError';
    this.isConfiguration =
      code === 'INVALID_SINK_CONFIG' || code === 'SINK_AUTH_FAILED' || code === 'SINK_TLS_FAILED';
  }

  /** Brand check that survives duplicated module copies (unlike instanceof). */
  static is(value: unknown): value is SinkError {
    return isPdmError(value, 'sink');
  }

  /** One line for stderr and logs: "<sink> (<target>): <CODE>: <message>". */
  describe(): string {
    const where = this.context.target ? `${this.context.sink} (${this.context.target})` : this.context.sink;
    return `${where}: ${this.code}: ${this.message}`;
  }
}
