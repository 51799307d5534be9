/**
 * Typed errors of the enrichment library. Lookups never throw (a failed lookup is a null field); these are
 * raised only while setting an enricher up, for configuration a user has to fix.
 */
import { isPdmError, PdmError } from '@parsedmarc-ts/errors';

export const enrichErrorCodes = [
  /** A nameserver that is not "ip", "ip:port" or "[ipv6]:port". */
  'INVALID_NAMESERVER',
  /** A numeric option out of range (timeout, retries, concurrency, TTL bounds). */
  'INVALID_OPTION',
  /** The IP database (MMDB) could not be read or is not an MMDB file. */
  'IP_DATABASE',
  /** The sender map CSV could not be read or lacks the base_domain,name,type columns. */
  'SENDER_MAP',
] as const;

export type EnrichErrorCode = (typeof enrichErrorCodes)[number];

export interface EnrichErrorContext {
  /** The option or file the error is about: a nameserver string, a file path... */
  source?: string;
  [key: string]: unknown;
}

export class EnrichError extends PdmError<EnrichErrorCode, EnrichErrorContext> {
  readonly family = 'enrich';

  constructor(
    code: EnrichErrorCode,
    message: string,
    context: EnrichErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, context, { cause: options?.cause });
    this.name = 'EnrichError';
  }

  /** Brand check that survives duplicated module copies (unlike instanceof). */
  static is(value: unknown): value is EnrichError {
    return isPdmError(value, 'enrich');
  }

  /** One line for stderr and logs: "<source>: <CODE>: <message>". */
  describe(): string {
    return `${this.context.source ?? '<options>'}: ${this.code}: ${this.message}`;
  }
}
