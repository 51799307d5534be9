/**
 * Schema evolution checked by the real schema registry: under a fresh subject per topic, every released
 * version (schemas/history/<topic>/v<N>.avsc) registers in order under BACKWARD compatibility, and the
 * registry's compatibility endpoint accepts the current schema. A control proves the registry would refuse
 * an incompatible change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import { topicKinds, topicSchemas } from '@parsedmarc-ts/avro';
import { RegistryCodec } from '@parsedmarc-ts/kafka';
import { ensureServers, repoRoot, uniquePrefix, type Servers } from './harness.js';

const historyDir = join(repoRoot, 'schemas/history');

function released(topic: string): object[] {
  return readdirSync(join(historyDir, topic))
    .filter((name) => /^v\d+\.avsc$/.test(name))
    .sort((a, b) => Number(a.slice(1, -5)) - Number(b.slice(1, -5)))
    .map((name) => JSON.parse(readFileSync(join(historyDir, topic, name), 'utf8')) as object);
}

describe('schema registry: BACKWARD compatibility of the current schemas', () => {
  let servers: Servers;
  let codec: RegistryCodec;
  const prefix = uniquePrefix('compat');

  beforeAll(() => {
    servers = ensureServers();
    codec = new RegistryCodec({ url: servers.registryUrl });
  });

  const register = (subject: string, schema: object) =>
    codec.registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );

  for (const topic of topicKinds) {
    it(`${topic}: released versions register in order and the current schema is compatible`, async () => {
      const subject = `${prefix}${topic}-value`;
      for (const schema of released(topic)) await register(subject, schema);
      expect(await codec.isCompatible(servers.registryUrl, subject, topicSchemas[topic])).toBe(true);
      // The current schema then registers (same id when unchanged).
      expect((await register(subject, topicSchemas[topic])).id).toBeGreaterThan(0);
    });
  }

  it('refuses an incompatible change (a new field without default)', async () => {
    const subject = `${prefix}control-value`;
    const base = topicSchemas['dmarc_aggregate'] as { fields: object[] };
    await register(subject, base);
    const incompatible = { ...base, fields: [...base.fields, { name: 'tenant', type: 'string' }] };
    expect(await codec.isCompatible(servers.registryUrl, subject, incompatible)).toBe(false);
    await expect(register(subject, incompatible)).rejects.toThrow();
    const compatible = {
      ...base,
      fields: [...base.fields, { name: 'tenant', type: ['null', 'string'], default: null }],
    };
    expect(await codec.isCompatible(servers.registryUrl, subject, compatible)).toBe(true);
  });
});
