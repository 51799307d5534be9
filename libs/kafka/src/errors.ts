/**
 * Errors of the Kafka edge, and the one question the work loop asks of any error: will it go away by itself
 * (broker or registry away, leader moving: back off and retry the same batch), or is it about the data
 * (dead-letter it and move on), or is this process no longer allowed to write (fenced: stop)?
 */
import kafkajs from 'kafkajs';
import { isPdmError, PdmError } from '@parsedmarc-ts/errors';

// kafkajs is CommonJS with an export object Node cannot name statically: take the classes from the default.
const {
  KafkaJSError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  KafkaJSBrokerNotFound,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSMetadataNotLoaded,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSLockTimeout,
} = kafkajs;
// Exported at run time, missing from kafkajs's type declarations.
const { KafkaJSConnectionClosedError } = kafkajs as unknown as {
  KafkaJSConnectionClosedError: typeof KafkaJSError;
};

export const pipelineErrorCodes = [
  /** The encoded message is over the topic's size limit (and cannot be split). */
  'MESSAGE_TOO_LARGE',
  /** A message that is not in the format its topic promises (bad Avro, unknown schema id...). */
  'UNDECODABLE_MESSAGE',
  /** The schema registry could not be reached or answered 5xx. */
  'REGISTRY_UNAVAILABLE',
  /** A transaction failed and could not be aborted: retried with a new producer. */
  'TRANSACTION_FAILED',
] as const;
export type PipelineErrorCode = (typeof pipelineErrorCodes)[number];

/**
 * A problem with one message's data: retrying does not help; it goes to the dead-letter topic. The code is
 * a pipeline code, or (a sink service's dead letters) the sink's refusal code.
 */
export class PoisonMessageError<Code extends string = PipelineErrorCode> extends PdmError<
  Code,
  Record<string, unknown>
> {
  readonly family = 'poison';
  constructor(
    code: Code,
    message: string,
    context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, context, { cause: options?.cause });
    this.name = 'PoisonMessageError';
  }

  static is(value: unknown): value is PoisonMessageError<string> {
    return isPdmError(value, 'poison');
  }
}

/** The schema registry could not be reached or answered 5xx: retry later. */
export class RegistryUnavailableError extends PdmError<'REGISTRY_UNAVAILABLE', Record<string, unknown>> {
  readonly family = 'pipeline';
  constructor(message: string, options?: { cause?: unknown }) {
    super('REGISTRY_UNAVAILABLE', message, {}, { cause: options?.cause, retriable: true });
    this.name = 'RegistryUnavailableError';
  }
}

/** A transaction that failed and could not be aborted: retried with a new producer. */
export class TransactionFailedError extends PdmError<'TRANSACTION_FAILED', Record<string, unknown>> {
  readonly family = 'pipeline';
  constructor(cause: unknown) {
    super(
      'TRANSACTION_FAILED',
      `transaction failed and could not be aborted: ${(cause as Error).message}`,
      {},
      { cause, retriable: true },
    );
    this.name = 'TransactionFailedError';
  }
}

const fatalKafkaTypes = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** This process lost the right to write (another instance took over its transactional id). */
export function isFenced(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: string }).type;
    if (type !== undefined && fatalKafkaTypes.has(type)) return true;
  }
  return false;
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

/**
 * kafkajs gives up on these after its own retries (marking them non-retriable), but a broker that is down
 * comes back, and a coordinator with it: keep retrying at our level.
 */
const kafkajsTransient = [
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  KafkaJSConnectionClosedError,
  KafkaJSBrokerNotFound,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSMetadataNotLoaded,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSLockTimeout,
];

/**
 * True for faults of the environment that are worth retrying with backoff, decided from the error: ours say
 * so (`retriable`), kafkajs's by their class and flag, Node's network errors by their errno code.
 */
export function isRetriable(error: unknown): boolean {
  if (isFenced(error)) return false;
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (isPdmError(e)) return e.retriable;
    if (kafkajsTransient.some((type) => e instanceof type)) return true;
    if (e instanceof KafkaJSError && e.retriable) return true;
    // A bare KafkaJSNonRetriableError is a wrapper: its cause decides (the loop goes on to it).
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
  }
  return false;
}
