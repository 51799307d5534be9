/**
 * docker-compose.yml and the Helm chart cannot be run here (no Docker engine, no cluster): check at least
 * that every environment variable they set is one the services read, so a typo or a renamed variable
 * cannot slip through silently.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { reportParseEnv } from '../../apps/report-parse/src/config.js';
import { enrichEnv } from '../../apps/enrich/src/config.js';
import { sinkElasticEnv } from '../../apps/sink-elastic/src/config.js';
import { sinkHecEnv } from '../../apps/sink-hec/src/config.js';
import { sinkSmtpEnv } from '../../apps/sink-smtp/src/config.js';
import { mailIngestEnv } from '../../apps/mail-ingest/src/config.js';
import { repoRoot } from './harness.js';

const known = new Set([
  ...Object.keys(reportParseEnv.shape),
  ...Object.keys(enrichEnv.shape),
  ...Object.keys(sinkElasticEnv.shape),
  ...Object.keys(sinkHecEnv.shape),
  ...Object.keys(sinkSmtpEnv.shape),
  ...Object.keys(mailIngestEnv.shape),
  // Read by the runtime rather than the schema.
  'TZ',
  'KAFKA_SASL_PASSWORD_FILE',
  'SCHEMA_REGISTRY_PASSWORD_FILE',
  'ELASTICSEARCH_PASSWORD_FILE',
  'ELASTICSEARCH_API_KEY_FILE',
  'HEC_TOKEN_FILE',
  'SMTP_PASSWORD_FILE',
  'IMAP_PASSWORD_FILE',
]);

describe('deployment files use only variables the services read', () => {
  it('docker-compose.yml (mail-ingest, report-parse, enrich, sink-elastic, sink-hec, sink-smtp)', () => {
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    const services = compose
      .split(/^ {2}(?=[a-z-]+:\s*$)/m)
      .filter((block) => /^(mail-ingest|report-parse|enrich|sink-elastic|sink-hec|sink-smtp):/.test(block));
    expect(services).toHaveLength(6);
    const names = services.flatMap((block) =>
      [...block.matchAll(/^ {6}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!),
    );
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('the compose file, Chart.yaml and every values file are well-formed YAML', () => {
    const files = [
      'docker-compose.yml',
      'k8s/chart/Chart.yaml',
      'k8s/chart/values.yaml',
      ...readdirSync(join(repoRoot, 'k8s/values')).map((f) => `k8s/values/${f}`),
    ];
    for (const file of files) {
      expect(() => parseYaml(readFileSync(join(repoRoot, file), 'utf8')), file).not.toThrow();
    }
    const chart = parseYaml(readFileSync(join(repoRoot, 'k8s/chart/Chart.yaml'), 'utf8')) as Record<
      string,
      string
    >;
    expect(chart.description).toMatch(/sink-smtp/);
  });

  it('the Helm chart templates', () => {
    const dir = join(repoRoot, 'k8s/chart/templates');
    const text = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const names = [
      ...[...text.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/- name: ([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!),
    ];
    expect(names.length).toBeGreaterThan(15);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('docs/pipeline.md documents every variable', () => {
    const doc = readFileSync(join(repoRoot, 'docs/pipeline.md'), 'utf8');
    const missing = [...known].filter(
      (n) =>
        !n.endsWith('_FILE') &&
        !doc.includes(`\`${n}\``) &&
        !doc.includes(`${n}\``) &&
        !doc.includes(` ${n},`),
    );
    expect(missing).toEqual([]);
  });
});
