/**
 * avsc types of the topic schemas, for local encoding (tests, message size checks) and for schema
 * evolution checks. Registry-framed encoding (Confluent wire format) lives in libs/kafka.
 */
import avsc from 'avsc';
import { topicSchemas, type TopicKind } from './generated/schemas.js';
import type { TopicValues } from './generated/types.js';

const cache = new Map<TopicKind, avsc.Type>();

export function topicType(kind: TopicKind): avsc.Type {
  let type = cache.get(kind);
  if (type === undefined) {
    type = avsc.Type.forSchema(topicSchemas[kind] as avsc.Schema);
    cache.set(kind, type);
  }
  return type;
}

/** Plain Avro binary (no registry framing). */
export function encodeValue<K extends TopicKind>(kind: K, value: TopicValues[K]): Buffer {
  return topicType(kind).toBuffer(value);
}

export function decodeValue<K extends TopicKind>(kind: K, bytes: Buffer): TopicValues[K] {
  return topicType(kind).fromBuffer(bytes) as TopicValues[K];
}

/** Why a value does not fit its schema (paths of the offending fields), or [] when it does. */
export function schemaErrors(kind: TopicKind, value: unknown): string[] {
  const errors: string[] = [];
  topicType(kind).isValid(value, {
    errorHook: (path, got) =>
      errors.push(`${path.join('.') || '<root>'}: ${JSON.stringify(got)?.slice(0, 80)}`),
  });
  return errors;
}
