import { isIP } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseReports } from '@parsedmarc-ts/parser';
import { searchDocumentsOf, type SearchDocument } from './documents.js';
import { searchIndexName, type SearchFamily, type SearchIndexOptions } from './names.js';
import { searchIndexTemplates, type SearchIndexTemplate } from './templates.js';

type Mapping = Record<string, unknown> & { type?: string; properties?: Record<string, Mapping> };

const mappingsOf = (template: SearchIndexTemplate): Mapping =>
  (template.body['template'] as { mappings: Mapping }).mappings;

const templateOf = (family: SearchFamily, options: SearchIndexOptions = {}): SearchIndexTemplate =>
  searchIndexTemplates(options).find((t) => t.family === family)!;

/** Index pattern matching as both servers do it: `*` is any text, the rest literal, anchored. */
const matches = (pattern: string, name: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(name);

const patternsOf = (t: SearchIndexTemplate): string[] => t.body['index_patterns'] as string[];

/** The mapping of a dotted field path ("sample.to.address", "org_name.keyword"), or undefined. */
function fieldMapping(mappings: Mapping, path: string): Mapping | undefined {
  let properties = mappings.properties;
  let found: Mapping | undefined;
  for (const part of path.split('.')) {
    if (found !== undefined && found.properties === undefined) {
      found = (found['fields'] as Record<string, Mapping> | undefined)?.[part];
      properties = undefined;
      continue;
    }
    found = properties?.[part];
    if (found === undefined) return undefined;
    properties = found.properties;
  }
  return found;
}

const root = fileURLToPath(new URL('../../../../', import.meta.url));

async function sampleDocuments(dir: string): Promise<SearchDocument[]> {
  const documents: SearchDocument[] = [];
  for (const name of readdirSync(join(root, 'test/fixtures/samples', dir)).sort()) {
    const bytes = new Uint8Array(readFileSync(join(root, 'test/fixtures/samples', dir, name)));
    for await (const outcome of parseReports(bytes, { source: name })) {
      if (!outcome.ok) continue;
      const result = searchDocumentsOf(outcome.parsed);
      if (!result.ok) throw new Error(result.reason);
      documents.push(...result.documents);
    }
  }
  return documents;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(\+00:00)?$/;

/** Paths of a document whose value the mapping would not take as the type it declares (or not map). */
function mismatches(
  value: unknown,
  mapping: Mapping | undefined,
  path: string,
  dynamicStrings: boolean,
): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => mismatches(v, mapping, path, dynamicStrings));
  if (mapping === undefined) {
    // Only the sample's own header names are left to dynamic mapping, and they are strings.
    return dynamicStrings && typeof value === 'string' ? [] : [`${path}: not mapped`];
  }
  if (value !== null && typeof value === 'object') {
    if (mapping.type !== 'object') return [`${path}: object in a ${mapping.type} field`];
    const dynamic = mapping.properties === undefined;
    return Object.entries(value).flatMap(([k, v]) =>
      mismatches(v, mapping.properties?.[k], `${path}.${k}`, dynamic),
    );
  }
  const ok =
    mapping.type === 'text'
      ? typeof value === 'string'
      : mapping.type === 'date'
        ? typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
        : mapping.type === 'ip'
          ? typeof value === 'string' && isIP(value) !== 0
          : mapping.type === 'long'
            ? Number.isSafeInteger(value)
            : mapping.type === 'boolean'
              ? typeof value === 'boolean'
              : false;
  return ok ? [] : [`${path}: ${JSON.stringify(value)} in a ${mapping.type} field`];
}

describe('index templates', () => {
  it('is one composable template per family, with the original settings by default', () => {
    const templates = searchIndexTemplates();
    expect(templates.map((t) => [t.family, t.name])).toEqual([
      ['aggregate', 'parsedmarc-ts-dmarc_aggregate'],
      ['forensic', 'parsedmarc-ts-dmarc_forensic'],
      ['smtp_tls', 'parsedmarc-ts-smtp_tls'],
    ]);
    for (const t of templates) {
      expect(Object.keys(t.body).sort()).toEqual([
        '_meta',
        'index_patterns',
        'priority',
        'template',
        'version',
      ]);
      expect(t.body['priority']).toBe(200);
      expect((t.body['template'] as { settings: unknown }).settings).toEqual({
        number_of_shards: 1,
        number_of_replicas: 0,
      });
      expect(JSON.parse(JSON.stringify(t.body))).toEqual(t.body);
    }
  });

  it('takes shards, replicas and priority, and leaves out a setting given as null', () => {
    const [t] = searchIndexTemplates({ shards: 3, replicas: 2, priority: 500 });
    expect(t!.body['priority']).toBe(500);
    expect((t!.body['template'] as { settings: unknown }).settings).toEqual({
      number_of_shards: 3,
      number_of_replicas: 2,
    });
    const [serverless] = searchIndexTemplates({ shards: null, replicas: null });
    expect((serverless!.body['template'] as { settings: unknown }).settings).toEqual({});
    expect(() => searchIndexTemplates({ shards: 0 })).toThrow(RangeError);
    expect(() => searchIndexTemplates({ replicas: -1 })).toThrow(RangeError);
    expect(() => searchIndexTemplates({ priority: 1.5 })).toThrow(RangeError);
  });

  const optionSets: SearchIndexOptions[] = [
    {},
    { prefix: 'acme-' },
    { suffix: 'eu' },
    { prefix: 'x_', suffix: 'eu', monthly: true },
    { forensicBase: 'dmarc_failure' },
    { prefix: 'p', suffix: 's', forensicBase: 'dmarc_failure' },
  ];

  it.each(optionSets)('matches the index names written with %j, and no other family or naming', (options) => {
    const families: SearchFamily[] = ['aggregate', 'forensic', 'smtp_tls'];
    for (const family of families) {
      const patterns = patternsOf(templateOf(family, options));
      for (const day of ['2012-04-28', '2026-12-31']) {
        expect(patterns.some((p) => matches(p, searchIndexName(family, day, options)))).toBe(true);
        expect(
          patterns.some((p) => matches(p, searchIndexName(family, day, { ...options, monthly: true }))),
        ).toBe(true);
        for (const other of families.filter((f) => f !== family)) {
          expect(patterns.some((p) => matches(p, searchIndexName(other, day, options)))).toBe(false);
        }
        // Another suffix or prefix is another set of indexes (another template).
        for (const elsewhere of [
          { ...options, suffix: `${options.suffix ?? ''}z` },
          { ...options, prefix: `q${options.prefix ?? ''}` },
        ]) {
          expect(patterns.some((p) => matches(p, searchIndexName(family, day, elsewhere)))).toBe(false);
        }
      }
    }
    const names = searchIndexTemplates(options).map((t) => t.name);
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toBe(name.toLowerCase());
  });

  it('never maps anything nested', () => {
    expect(JSON.stringify(searchIndexTemplates({ prefix: 'a', suffix: 'b' }))).not.toMatch(/nested/);
  });

  it('maps strings as dynamic mapping does, text with a keyword subfield, and turns date detection off', () => {
    for (const t of searchIndexTemplates()) {
      const mappings = mappingsOf(t);
      expect(mappings['date_detection']).toBe(false);
      expect(mappings['dynamic_templates']).toEqual([
        {
          strings_as_text_and_keyword: {
            match_mapping_type: 'string',
            mapping: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
          },
        },
      ]);
      const leaves = (props: Record<string, Mapping>): Mapping[] =>
        Object.values(props).flatMap((m) => (m.properties ? leaves(m.properties) : [m]));
      for (const leaf of leaves(mappings.properties!)) {
        if (leaf.type === 'text' || leaf.type === 'ip') {
          expect(leaf['fields']).toEqual({ keyword: { type: 'keyword', ignore_above: 256 } });
        }
        expect(['text', 'ip', 'date', 'long', 'boolean', 'object']).toContain(leaf.type);
      }
    }
  });

  it("keeps every field the original's dashboards use, with the type they use it as", () => {
    const used: [SearchFamily, string, string][] = [
      ['aggregate', 'date_begin', 'date'],
      ['aggregate', 'date_range', 'date'],
      ['aggregate', 'message_count', 'long'],
      ['aggregate', 'passed_dmarc', 'boolean'],
      ['aggregate', 'dkim_aligned', 'boolean'],
      ['aggregate', 'source_ip_address.keyword', 'keyword'],
      ['aggregate', 'source_base_domain.keyword', 'keyword'],
      ['aggregate', 'source_as_name.keyword', 'keyword'],
      ['aggregate', 'org_name.keyword', 'keyword'],
      ['aggregate', 'header_from.keyword', 'keyword'],
      ['aggregate', 'dkim_results_combined.keyword', 'keyword'],
      ['aggregate', 'spf_results.domain.keyword', 'keyword'],
      ['aggregate', 'published_policy.pct', 'long'],
      ['aggregate', 'published_policy.testing.keyword', 'keyword'],
      ['aggregate', 'xml_namespace.keyword', 'keyword'],
      ['forensic', 'arrival_date', 'date'],
      ['forensic', 'sample.date', 'date'],
      ['forensic', 'source_ip_address.keyword', 'keyword'],
      ['forensic', 'authentication_results.keyword', 'keyword'],
      ['forensic', 'sample.to.address.keyword', 'keyword'],
      ['forensic', 'sample.headers_only', 'boolean'],
      ['smtp_tls', 'date_begin', 'date'],
      ['smtp_tls', 'policies_combined.keyword', 'keyword'],
      ['smtp_tls', 'failure_details_combined.keyword', 'keyword'],
      ['smtp_tls', 'policies.failure_details.sending_mta_ip.keyword', 'keyword'],
      ['smtp_tls', 'policies.failure_details.failed_session_count', 'long'],
      ['smtp_tls', 'policies.successful_session_count', 'long'],
    ];
    for (const [family, path, type] of used) {
      expect(fieldMapping(mappingsOf(templateOf(family)), path)?.type, `${family} ${path}`).toBe(type);
    }
    expect(fieldMapping(mappingsOf(templateOf('aggregate')), 'source_ip_address')).toMatchObject({
      type: 'ip',
      ignore_malformed: true,
    });
    // Sample headers stay dynamic: sample.headers.from.keyword comes from the dynamic template.
    expect(fieldMapping(mappingsOf(templateOf('forensic')), 'sample.headers')).toEqual({ type: 'object' });
  });

  it.each([
    ['aggregate', 'aggregate'],
    ['aggregate_invalid', 'aggregate'],
    ['extract_report', 'aggregate'],
    ['failure', 'forensic'],
    ['smtp_tls', 'smtp_tls'],
  ] as const)('takes every field of the %s samples as the type it maps it to', async (dir, family) => {
    const documents = await sampleDocuments(dir);
    expect(documents.length).toBeGreaterThan(0);
    const mappings = mappingsOf(templateOf(family));
    const problems = documents.flatMap((d) =>
      Object.entries(d.body).flatMap(([k, v]) => mismatches(v, mappings.properties![k], k, false)),
    );
    expect(problems).toEqual([]);
  });
});
