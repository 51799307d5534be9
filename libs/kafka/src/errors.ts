/**
 * Errors of the Kafka edge, and the one question the work loop asks of any error: will it go away by itself
 * (broker or registry away, leader moving: back off and retry the same batch), or is it about the data
 * (dead-letter it and move on), or is this process no longer allowed to write (fenced: stop)?
 */
import kafkajs from 'kafkajs';

// kafkajs is CommonJS with an export object Node cannot name statically: take the class from the default.
const { KafkaJSError } = kafkajs;

export const pipelineErrorCodes = [
  /** The encoded message is over the topic's size limit (and cannot be split). */
  'MESSAGE_TOO_LARGE',
  /** A message that is not in the format its topic promises (bad Avro, unknown schema id...). */
  'UNDECODABLE_MESSAGE',
] as const;
export type PipelineErrorCode = (typeof pipelineErrorCodes)[number];

/** A problem with one message's data: retrying does not help; it goes to the dead-letter topic. */
export class PoisonMessageError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: PipelineErrorCode | string,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PoisonMessageError';
  }
}

/** The schema registry could not be reached or answered 5xx: retry later. */
export class RegistryUnavailableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryUnavailableError';
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

/** True for faults of the environment that are worth retrying with backoff. */
export function isRetriable(error: unknown): boolean {
  if (isFenced(error)) return false;
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof RegistryUnavailableError) return true;
    if (e instanceof Error && e.name === 'TransientProducerError') return true;
    if (e instanceof KafkaJSError) {
      // NumberOfRetriesExceeded / connection errors are marked non-retriable by kafkajs after its own
      // retries, but a broker that is down comes back: keep retrying at our level.
      if (e.retriable) return true;
      const name = e.name;
      if (
        name === 'KafkaJSNumberOfRetriesExceeded' ||
        name === 'KafkaJSConnectionError' ||
        name === 'KafkaJSRequestTimeoutError' ||
        name === 'KafkaJSConnectionClosedError' ||
        name === 'KafkaJSBrokerNotFound' ||
        // kafkajs gives up on these after its own retries, but a coordinator comes back with its broker.
        name === 'KafkaJSGroupCoordinatorNotFound' ||
        name === 'KafkaJSMetadataNotLoaded' ||
        name === 'KafkaJSTopicMetadataNotLoaded' ||
        name === 'KafkaJSLockTimeout' ||
        name === 'KafkaJSNonRetriableError'
      ) {
        return name !== 'KafkaJSNonRetriableError' || isRetriable((e as { cause?: unknown }).cause);
      }
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
  }
  return false;
}
