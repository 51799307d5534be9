/**
 * Avro values in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary),
 * with schemas registered as `<topic>-value` in a schema registry speaking the Confluent REST API.
 * Encoding uses our own (current) schema; decoding resolves the writer's schema, fetched once per id, into
 * our current schema (BACKWARD evolution: old data reads with the new schema).
 */
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';
import {
  topicSchemas,
  topicType,
  type ReportTopicValue,
  type TopicKind,
  type TopicValues,
} from '@parsedmarc-ts/avro';
import { PoisonMessageError, RegistryUnavailableError } from './errors.js';

export interface RegistryConnection {
  url: string;
  username?: string;
  password?: string;
}

const unavailablePattern =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|timeout/i;

/** Maps a registry client failure to RegistryUnavailableError when it is about reachability or a 5xx. */
function classify(error: unknown, what: string): Error {
  const status = (error as { status?: number }).status;
  const message = (error as Error).message ?? String(error);
  if ((status !== undefined && status >= 500) || unavailablePattern.test(message)) {
    return new RegistryUnavailableError(`schema registry unavailable (${what}): ${message}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

export const subjectOf = (topic: string): string => `${topic}-value`;

/** True when the bytes start like a Confluent wire-format value. */
export function isWireFormat(bytes: Uint8Array): boolean {
  return bytes.length >= 5 && bytes[0] === 0;
}

export class RegistryCodec {
  readonly registry: SchemaRegistry;
  private readonly ids = new Map<string, Promise<number>>();
  private readonly writers = new Map<number, Promise<avsc.Type>>();
  private readonly resolvers = new Map<string, avsc.Resolver | null>();

  constructor(connection: RegistryConnection) {
    this.registry = new SchemaRegistry({
      host: connection.url,
      // Our own retry loop decides (with backoff and metrics); the client's would hide outages.
      retry: { retries: 0 },
      ...(connection.username !== undefined
        ? { auth: { username: connection.username, password: connection.password ?? '' } }
        : {}),
    });
  }

  /**
   * Registers (or looks up) the current schema of `kind` under `<topic>-value` and returns its id. The
   * registry refuses a schema that is not BACKWARD compatible with the subject's versions (HTTP 409).
   */
  schemaId(topic: string, kind: TopicKind): Promise<number> {
    let id = this.ids.get(topic);
    if (id === undefined) {
      id = this.registry
        .register(
          { type: SchemaType.AVRO, schema: JSON.stringify(topicSchemas[kind]) },
          { subject: subjectOf(topic), compatibility: COMPATIBILITY.BACKWARD },
        )
        .then(
          (registered) => registered.id,
          (error: unknown) => {
            this.ids.delete(topic);
            throw classify(error, `register ${subjectOf(topic)}`);
          },
        );
      this.ids.set(topic, id);
    }
    return id;
  }

  async encode<K extends TopicKind>(topic: string, kind: K, value: TopicValues[K]): Promise<Buffer> {
    const id = await this.schemaId(topic, kind);
    const body = topicType(kind).toBuffer(value);
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeUInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  private writerType(id: number): Promise<avsc.Type> {
    let writer = this.writers.get(id);
    if (writer === undefined) {
      writer = this.registry.getSchema(id).then(
        (schema) => avsc.Type.forSchema((schema as unknown as { schema(): avsc.Schema }).schema()),
        (error: unknown) => {
          this.writers.delete(id);
          const classified = classify(error, `schema id ${id}`);
          if (classified instanceof RegistryUnavailableError) throw classified;
          throw new PoisonMessageError(
            'UNDECODABLE_MESSAGE',
            `unknown schema id ${id}: ${classified.message}`,
            {
              schemaId: id,
            },
          );
        },
      );
      this.writers.set(id, writer);
    }
    return writer;
  }

  /** Decodes a wire-format value of a `kind` topic. Bad data throws PoisonMessageError. */
  async decode<K extends TopicKind>(kind: K, bytes: Buffer): Promise<TopicValues[K]> {
    if (!isWireFormat(bytes)) {
      throw new PoisonMessageError(
        'UNDECODABLE_MESSAGE',
        'not a schema-registry framed Avro value (magic byte 0)',
      );
    }
    const id = bytes.readUInt32BE(1);
    const writer = await this.writerType(id);
    const reader = topicType(kind);
    const resolverKey = `${kind}/${id}`;
    let resolver = this.resolvers.get(resolverKey);
    if (resolver === undefined) {
      try {
        resolver = writer.equals(reader) ? null : reader.createResolver(writer);
      } catch (error) {
        throw new PoisonMessageError(
          'UNDECODABLE_MESSAGE',
          `schema id ${id} cannot be read as ${kind}: ${(error as Error).message}`,
          { schemaId: id },
        );
      }
      this.resolvers.set(resolverKey, resolver);
    }
    try {
      return (
        resolver ? reader.fromBuffer(bytes.subarray(5), resolver) : reader.fromBuffer(bytes.subarray(5))
      ) as TopicValues[K];
    } catch (error) {
      throw new PoisonMessageError(
        'UNDECODABLE_MESSAGE',
        `bad Avro data for ${kind}: ${(error as Error).message}`,
        {
          schemaId: id,
        },
      );
    }
  }

  /** POST /compatibility/subjects/<subject>/versions/latest: can `schema` be registered next? */
  async isCompatible(url: string, subject: string, schema: object): Promise<boolean> {
    const res = await fetch(
      `${url.replace(/\/$/, '')}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: JSON.stringify(schema), schemaType: 'AVRO' }),
      },
    );
    if (!res.ok) throw new Error(`compatibility check of ${subject}: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { is_compatible: boolean }).is_compatible;
  }
}

/** Encodes a report topic value (from ReportMessages or reportTopicValue) for `topic`. */
export function encodeReportTopicValue(
  codec: Pick<RegistryCodec, 'encode'>,
  topic: string,
  message: ReportTopicValue,
): Promise<Buffer> {
  // The union's kind and value belong together; TypeScript cannot follow that through the generic.
  return codec.encode(topic, message.kind, message.value as TopicValues[typeof message.kind]);
}
