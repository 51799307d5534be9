/** Dead letters: the failing input (or a reference to it), the stage, a typed error code and message. */
import { sha256Hex, type DeadLetter } from '@parsedmarc-ts/avro';
import { isPdmError } from '@parsedmarc-ts/errors';
import { sizeLimits } from './topics.js';
import type { InputMessage, OutputMessage } from './processor.js';

export interface DeadLetterInput {
  stage: string;
  error: unknown;
  /** The Kafka message that failed, when there is one. */
  input?: InputMessage | null;
  /** The failing bytes (the raw input, or the failing member); default: the input message's value. */
  payload?: Uint8Array | null;
  /** Names the input and the place inside it. */
  source?: string | null;
  now?: number;
}

/**
 * The error's stable code: every error of ours carries one, a system error its errno name (ECONNRESET);
 * anything else is INTERNAL_ERROR.
 */
export function errorCode(error: unknown): string {
  if (isPdmError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'INTERNAL_ERROR';
}

function contextJson(error: unknown): string | null {
  if (!isPdmError(error)) return null;
  const { context } = error;
  try {
    return JSON.stringify(context);
  } catch {
    return JSON.stringify({ unserializable: true });
  }
}

export function deadLetterValue(d: DeadLetterInput): DeadLetter {
  const payload = d.payload !== undefined ? d.payload : (d.input?.value ?? null);
  const message = d.error instanceof Error ? d.error.message : String(d.error);
  const contextSource = isPdmError(d.error) ? d.error.context['source'] : undefined;
  const source = d.source ?? (typeof contextSource === 'string' ? contextSource : null);
  return {
    stage: d.stage,
    error_code: errorCode(d.error),
    message,
    source,
    context_json: contextJson(d.error),
    input: d.input
      ? {
          topic: d.input.topic,
          partition: d.input.partition,
          offset: Number(d.input.offset),
          key: d.input.key?.toString('utf8') ?? null,
        }
      : null,
    payload:
      payload !== null && payload.length <= sizeLimits.deadLetterPayloadBytes ? Buffer.from(payload) : null,
    payload_size: payload?.length ?? 0,
    payload_sha256: payload ? sha256Hex(payload) : null,
    failed_at: d.now ?? Date.now(),
  };
}

/** The dead letter as an output message (keyed like its input), with the error code as a header for metrics. */
export async function deadLetterMessage(
  codec: { encode(topic: string, kind: 'dmarc_dead_letter', value: DeadLetter): Promise<Buffer> },
  topic: string,
  d: DeadLetterInput,
): Promise<OutputMessage> {
  const value = deadLetterValue(d);
  return {
    topic,
    key: d.input?.key?.toString('utf8') ?? value.payload_sha256 ?? 'unknown',
    value: await codec.encode(topic, 'dmarc_dead_letter', value),
    headers: { error_code: value.error_code, stage: value.stage },
  };
}
