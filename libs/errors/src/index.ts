/**
 * The one error base (after platformatic/kafka's errors): every error a library raises for a caller to act
 * on carries a stable `code` (dead-letter headers, metrics, exit statuses, tests), `retriable` (whether the
 * same work may succeed later: the only thing a retry loop asks), `context` naming the input or target
 * (never a credential), and a family with a brand check that survives duplicated module copies, unlike
 * `instanceof`.
 */

const brand = Symbol.for('parsedmarc-ts.Error');

export interface PdmErrorOptions {
  cause?: unknown;
  /** Default false: an error is about the data or the settings unless it says otherwise. */
  retriable?: boolean;
}

export abstract class PdmError<
  Code extends string = string,
  Context extends object = Record<string, unknown>,
> extends Error {
  /** The error's kind, e.g. "parse", "sink": what each family's `is` checks. */
  abstract readonly family: string;
  readonly code: Code;
  readonly context: Context;
  readonly retriable: boolean;
  readonly [brand] = true;

  constructor(code: Code, message: string, context: Context, options: PdmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
    this.retriable = options.retriable ?? false;
  }

  toJSON(): { code: Code; message: string; retriable: boolean; context: Context } {
    return { code: this.code, message: this.message, retriable: this.retriable, context: this.context };
  }
}

/** Any error of this project's libraries, of whichever family (or of `family` when given). */
export function isPdmError(value: unknown, family?: string): value is PdmError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[brand] !== true) return false;
  return family === undefined || (value as PdmError).family === family;
}
