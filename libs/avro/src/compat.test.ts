import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { backwardIncompatibility } from './compat.js';
import { topicKinds, topicSchemas } from './generated/schemas.js';
import { repoRoot } from './test-helpers.js';

const historyDir = join(repoRoot, 'schemas/history');

function releasedVersions(topic: string): { version: string; schema: object }[] {
  return readdirSync(join(historyDir, topic))
    .filter((name) => /^v\d+\.avsc$/.test(name))
    .sort((a, b) => Number(a.slice(1, -5)) - Number(b.slice(1, -5)))
    .map((name) => ({
      version: name,
      schema: JSON.parse(readFileSync(join(historyDir, topic, name), 'utf8')),
    }));
}

describe('schema evolution is BACKWARD compatible', () => {
  for (const topic of topicKinds) {
    it(`${topic}: the current schema reads data written with every released version`, () => {
      const versions = releasedVersions(topic);
      expect(versions.length).toBeGreaterThan(0);
      const current = avsc.Type.forSchema(topicSchemas[topic] as avsc.Schema);
      for (const { version, schema } of versions) {
        expect(backwardIncompatibility(topicSchemas[topic], schema), `${topic} ${version}`).toBeNull();
        // And actually decodes such data.
        const writer = avsc.Type.forSchema(schema as avsc.Schema);
        const written = writer.random();
        const read = current.fromBuffer(writer.toBuffer(written), current.createResolver(writer));
        expect(current.isValid(read)).toBe(true);
      }
    });
  }

  it('catches an incompatible change (a new field without default) and accepts one with a default', () => {
    const base = topicSchemas['dmarc_aggregate'] as { fields: object[] };
    const withField = (field: object) => ({ ...base, fields: [...base.fields, field] });
    expect(backwardIncompatibility(withField({ name: 'tenant', type: 'string' }), base)).toMatch(/tenant/);
    expect(
      backwardIncompatibility(withField({ name: 'tenant', type: ['null', 'string'], default: null }), base),
    ).toBeNull();
  });
});
