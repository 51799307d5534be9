// The shipped dashboards, checked without a server: the Kibana / OpenSearch Dashboards saved objects and the
// Grafana dashboard parse, hold together (references, panels, version stamps), match their generator, and
// only use fields the sink's documents have, with the capabilities each use needs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { searchIndexTemplates, type SearchFamily } from '@parsedmarc-ts/output';
import {
  GRAFANA_DATASOURCES,
  INDEX_PATTERNS,
  MIGRATION_VERSION,
  PANEL_VERSION,
  grafanaDashboard,
  kibanaNdjson,
} from '../../dashboards/generate.mjs';
import { AGGREGATE_FIELDS, FORENSIC_FIELDS, SMTP_TLS_FIELDS } from './expected-fields.js';
import {
  type FieldUse,
  type SavedObject,
  SUPPORTED_MIGRATION_VERSION,
  SUPPORTED_PANEL_VERSION,
  checkFieldsAgainstMapping,
  checkFieldsAgainstMappings,
  checkGrafanaDashboard,
  checkSavedObjects,
  fieldsUsed,
  flattenMapping,
  grafanaFieldsUsed,
  indexPatternMatches,
  mappingFromFieldList,
  parseNdjson,
  queryFields,
} from './saved-objects.js';

const read = (p: string): string =>
  readFileSync(fileURLToPath(new URL(`../../dashboards/${p}`, import.meta.url)), 'utf8');
const ndjson = read('kibana/parsedmarc.ndjson');
const grafanaText = read('grafana/parsedmarc-elasticsearch.json');

const MAPPINGS = {
  [INDEX_PATTERNS.aggregate.title]: mappingFromFieldList(AGGREGATE_FIELDS),
  [INDEX_PATTERNS.forensic.title]: mappingFromFieldList(FORENSIC_FIELDS),
  [INDEX_PATTERNS.smtpTls.title]: mappingFromFieldList(SMTP_TLS_FIELDS),
};
const GRAFANA = {
  datasources: Object.fromEntries(
    Object.entries(GRAFANA_DATASOURCES).map(([name, ds]) => [name, ds.pattern]),
  ),
};

/**
 * The mappings of the index templates the sink installs, per index pattern. sample.headers is left to
 * dynamic mapping there (header names are the samples' own); the headers the dashboards read are added
 * as the template's dynamic rule maps strings.
 */
function templateMappings(): Record<string, unknown> {
  const of = (family: SearchFamily): Record<string, unknown> => {
    const template = searchIndexTemplates().find((t) => t.family === family);
    const body = template?.body as { template: { mappings: Record<string, unknown> } } | undefined;
    if (!body) throw new Error(`no ${family} template`);
    return structuredClone(body.template.mappings);
  };
  const forensic = of('forensic') as { properties: { sample: { properties: { headers: object } } } };
  const text = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  forensic.properties.sample.properties.headers = {
    type: 'object',
    properties: { from: text, to: text, 'reply-to': text, subject: text },
  };
  return {
    [INDEX_PATTERNS.aggregate.title]: of('aggregate'),
    [INDEX_PATTERNS.forensic.title]: forensic,
    [INDEX_PATTERNS.smtpTls.title]: of('smtp_tls'),
  };
}
const problemsOf = (problems: Array<{ use: FieldUse; message: string }>): string[] =>
  problems.map((p) => `${p.use.object}: ${p.message}`);

const objects = (): SavedObject[] => parseNdjson(ndjson).objects;
const find = (list: SavedObject[], id: string): SavedObject => {
  const object = list.find((o) => o.id === id);
  if (!object) throw new Error(`no ${id}`);
  return object;
};
const messages = (problems: Array<{ message: string }>): string[] => problems.map((p) => p.message);

describe('Kibana / OpenSearch Dashboards saved objects', () => {
  it('has one saved object per line, each with id, type and attributes', () => {
    const { objects: list, problems } = parseNdjson(ndjson);
    expect(problems).toEqual([]);
    const count = (type: string): number => list.filter((o) => o.type === type).length;
    expect([count('index-pattern'), count('dashboard'), count('search')]).toEqual([3, 3, 3]);
    expect(count('visualization')).toBeGreaterThanOrEqual(25);
    expect(ndjson.endsWith('\n')).toBe(true);
  });

  it('holds together: nested JSON, references, panels and version stamps', () => {
    expect(checkSavedObjects(objects())).toEqual([]);
  });

  it('is what dashboards/generate.mjs builds (run `node dashboards/generate.mjs` after editing it)', () => {
    expect(ndjson).toBe(kibanaNdjson());
  });

  it('stamps every object with the 7.10 migration version of its type and nothing newer', () => {
    expect(MIGRATION_VERSION).toEqual(SUPPORTED_MIGRATION_VERSION);
    expect(PANEL_VERSION).toBe(SUPPORTED_PANEL_VERSION);
    for (const object of objects()) {
      expect(object.migrationVersion).toEqual({ [object.type]: SUPPORTED_MIGRATION_VERSION[object.type] });
      expect(Object.keys(object).sort()).toEqual([
        'attributes',
        'id',
        'migrationVersion',
        'references',
        'type',
      ]);
    }
  });

  it('puts every visualization and saved search on a dashboard', () => {
    const list = objects();
    const shown = new Set(
      list
        .filter((o) => o.type === 'dashboard')
        .flatMap((d) => (d.references ?? []).map((r) => `${r.type}:${r.id}`)),
    );
    const orphans = list.filter(
      (o) => ['visualization', 'search'].includes(o.type) && !shown.has(`${o.type}:${o.id}`),
    );
    expect(orphans.map((o) => o.id)).toEqual([]);
  });

  it('reads indexes whatever the index prefix and suffix', () => {
    const { aggregate, forensic, smtpTls } = INDEX_PATTERNS;
    for (const index of [
      'dmarc_aggregate-2024-05-01',
      'acme_dmarc_aggregate_eu-2024-05',
      'x-dmarc_aggregate-2024-05-01',
    ]) {
      expect(indexPatternMatches(aggregate.title, index)).toBe(true);
      expect(indexPatternMatches(forensic.title, index)).toBe(false);
    }
    for (const index of [
      'dmarc_forensic-2024-05-01',
      'acme_dmarc_failure_eu-2024-05-01',
      'dmarc_failure-2024-05',
    ]) {
      expect(indexPatternMatches(forensic.title, index)).toBe(true);
      expect(indexPatternMatches(aggregate.title, index)).toBe(false);
    }
    expect(indexPatternMatches(smtpTls.title, 'acme_smtp_tls_eu-2024-05-01')).toBe(true);
    expect(indexPatternMatches(smtpTls.title, 'dmarc_aggregate-2024-05-01')).toBe(false);
  });

  it('uses only fields the documents have, of the kind each use needs', () => {
    const uses = fieldsUsed(objects());
    expect(new Set(uses.map((u) => u.indexPattern))).toEqual(new Set(Object.keys(MAPPINGS)));
    expect(problemsOf(checkFieldsAgainstMappings(uses, MAPPINGS))).toEqual([]);
  });

  it('uses only fields the sink maps in the index templates it installs', () => {
    expect(problemsOf(checkFieldsAgainstMappings(fieldsUsed(objects()), templateMappings()))).toEqual([]);
  });

  it('finds the fields of aggregations, filters, Vega specs, columns, sorts and time fields', () => {
    const uses = fieldsUsed(objects());
    const has = (object: string, field: string, role: string): boolean =>
      uses.some((u) => u.object === object && u.field === field && u.role === role);
    expect(has('index-pattern:parsedmarc-ts-index-pattern-aggregate', 'date_begin', 'time field')).toBe(true);
    expect(has('index-pattern:parsedmarc-ts-index-pattern-aggregate', 'message_count', 'format')).toBe(true);
    expect(has('visualization:parsedmarc-ts-aggregate-dmarc-over-time', 'date_begin', 'date_histogram')).toBe(
      true,
    );
    expect(has('visualization:parsedmarc-ts-aggregate-dmarc-over-time', 'passed_dmarc', 'filters')).toBe(
      true,
    );
    expect(has('visualization:parsedmarc-ts-aggregate-reporting-orgs', 'org_name.keyword', 'terms')).toBe(
      true,
    );
    expect(has('visualization:parsedmarc-ts-aggregate-totals', 'message_count', 'sum')).toBe(true);
    const vega = uses.filter(
      (u) => u.object === 'visualization:parsedmarc-ts-aggregate-compliance-by-domain',
    );
    expect(vega.map((u) => [u.indexPattern, u.field, u.role])).toEqual([
      ['*dmarc_aggregate*', 'date_begin', 'time field'],
      ['*dmarc_aggregate*', 'header_from.keyword', 'terms'],
      ['*dmarc_aggregate*', 'message_count', 'sum'],
      ['*dmarc_aggregate*', 'passed_dmarc', 'filter'],
      ['*dmarc_aggregate*', 'message_count', 'sum'],
    ]);
    expect(has('search:parsedmarc-ts-forensic-samples', 'sample.headers.from', 'column')).toBe(true);
    expect(has('search:parsedmarc-ts-forensic-samples', 'arrival_date', 'sort')).toBe(true);
    expect(
      has('visualization:parsedmarc-ts-smtp-tls-by-policy-domain', 'policies_combined.keyword', 'terms'),
    ).toBe(true);
  });

  describe('the checker', () => {
    const broken = (change: (list: SavedObject[]) => void): string[] => {
      const list = objects();
      change(list);
      return messages(checkSavedObjects(list));
    };

    it('reports references to objects the file lacks', () => {
      const problems = broken((list) => {
        const ref = find(list, 'parsedmarc-ts-aggregate-totals').references?.[0];
        if (ref) ref.id = 'no-such-pattern';
      });
      expect(problems).toEqual([
        'reference kibanaSavedObjectMeta.searchSourceJSON.index points to index-pattern:no-such-pattern, which is not in the file',
      ]);
    });

    it('reports panels without their visualization', () => {
      const problems = broken((list) => {
        const board = find(list, 'parsedmarc-ts-dashboard-smtp-tls');
        board.references = (board.references ?? []).filter((r) => r.name !== 'panel_2');
      });
      expect(problems).toEqual(['panel 2 names reference panel_2, which the dashboard does not have']);
    });

    it('reports version stamps newer than supported, or missing', () => {
      const problems = broken((list) => {
        find(list, 'parsedmarc-ts-aggregate-totals').migrationVersion = { visualization: '8.5.0' };
        find(list, 'parsedmarc-ts-forensic-totals').coreMigrationVersion = '8.8.0';
        delete find(list, 'parsedmarc-ts-smtp-tls-totals').migrationVersion;
        const board = find(list, 'parsedmarc-ts-dashboard-aggregate');
        const panels = JSON.parse(String(board.attributes.panelsJSON)) as Array<{ version: string }>;
        panels[0] = { ...panels[0], version: '8.19.0' } as { version: string };
        board.attributes.panelsJSON = JSON.stringify(panels);
      });
      expect(problems).toEqual([
        'migrationVersion.visualization 8.5.0 is newer than the supported 7.10.0',
        'panel 0 version 8.19.0 is newer than the supported 7.10.0',
        'has coreMigrationVersion (targets older than it refuse the object)',
        'no migrationVersion.visualization: targets would take it as current and not migrate it',
      ]);
    });

    it('reports JSON strings that do not parse and non-portable visualization types', () => {
      const problems = broken((list) => {
        find(list, 'parsedmarc-ts-aggregate-totals').attributes.visState = '{"type": "metric",';
        const pie = find(list, 'parsedmarc-ts-aggregate-spf-pie');
        pie.attributes.visState = String(pie.attributes.visState).replace('"type":"pie"', '"type":"lens"');
      });
      expect(problems).toHaveLength(3);
      expect(problems[0]).toMatch(/^visState is not JSON: /);
      expect(problems.slice(1)).toEqual([
        'visState is not an object',
        'visualization type lens is not portable',
      ]);
    });

    it('reports overlapping panels', () => {
      const problems = broken((list) => {
        const board = find(list, 'parsedmarc-ts-dashboard-forensic');
        const panels = JSON.parse(String(board.attributes.panelsJSON)) as Array<{ gridData: { y: number } }>;
        const second = panels[1];
        if (second) second.gridData.y += 2;
        board.attributes.panelsJSON = JSON.stringify(panels);
      });
      expect(problems).toEqual(['panel 4 overlaps panel 1']);
    });
  });

  describe('the mapping check', () => {
    const use = (field: string, role: string, requires: FieldUse['requires']): FieldUse => ({
      object: 'visualization:x',
      title: 'x',
      indexPattern: '*dmarc_aggregate*',
      field,
      role,
      requires,
    });

    it('reads multi-fields, object paths, ES 6 typed answers and several indexes', () => {
      const answer = {
        'dmarc_aggregate-2024-05-01': {
          mappings: {
            properties: {
              org_name: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
              published_policy: { properties: { p: { type: 'keyword' } } },
              message_count: { type: 'long' },
            },
          },
        },
        'dmarc_aggregate-2024-05-02': {
          mappings: { doc: { properties: { message_count: { type: 'keyword' } } } },
        },
      };
      const fields = flattenMapping(answer);
      expect(fields.get('org_name.keyword')?.aggregatable).toBe(true);
      expect(fields.get('org_name')?.aggregatable).toBe(false);
      expect(fields.get('published_policy.p')?.type).toBe('keyword');
      expect(fields.get('message_count')?.type).toBe('conflict');
      expect(messages(checkFieldsAgainstMapping([use('message_count', 'sum', 'numeric')], answer))).toEqual([
        'sum on message_count: mapped as long and keyword in different indexes',
      ]);
    });

    it('reports missing fields, text in terms, non-numbers in sums and nested objects', () => {
      const mapping = mappingFromFieldList({
        header_from: 'text',
        disposition: 'string',
        message_count: 'keyword',
      });
      const nested = {
        mappings: {
          properties: {
            dkim_results: { type: 'nested', properties: { domain: { type: 'keyword' } } },
            sample: { properties: { to: { properties: { address: { type: 'keyword' } } } } },
          },
        },
      };
      expect(
        messages(
          checkFieldsAgainstMapping(
            [
              use('header_from.keyword', 'terms', 'aggregatable'),
              use('disposition', 'terms', 'aggregatable'),
              use('message_count', 'sum', 'numeric'),
              use('date_begin', 'date_histogram', 'date'),
            ],
            mapping,
          ),
        ),
      ).toEqual([
        'terms on header_from.keyword: not in the mapping (header_from is mapped as text, with no keyword subfield)',
        'terms on disposition: needs an aggregatable field, mapped as text (use disposition.keyword)',
        'sum on message_count: needs a numeric field, mapped as keyword',
        'date_histogram on date_begin: not in the mapping',
      ]);
      expect(
        messages(
          checkFieldsAgainstMapping(
            [
              use('dkim_results.domain', 'terms', 'aggregatable'),
              use('sample.to', 'column', 'exists'),
              use('sample.to', 'terms', 'aggregatable'),
            ],
            nested,
          ),
        ),
      ).toEqual([
        'terms on dkim_results.domain: inside the nested object dkim_results, which cannot be aggregated here',
        'terms on sample.to: it is an object, not a field',
      ]);
    });

    it('reports uses of an index pattern no mapping was given for', () => {
      expect(messages(checkFieldsAgainstMappings([use('org_name', 'column', 'exists')], {}))).toEqual([
        'no mapping given for index pattern *dmarc_aggregate*',
      ]);
    });

    it('finds field names in KQL and Lucene queries', () => {
      expect(queryFields('passed_dmarc:true')).toEqual(['passed_dmarc']);
      expect(
        queryFields(
          'header_from.keyword:$header_from AND NOT (disposition : "a:b" OR _exists_:sample.subject)',
        ),
      ).toEqual(['header_from.keyword', 'disposition', 'sample.subject']);
      expect(queryFields('')).toEqual([]);
    });
  });
});

describe('Grafana dashboard', () => {
  const dashboard: unknown = JSON.parse(grafanaText);

  it('holds together: datasource variables, inputs, panels and queries', () => {
    expect(checkGrafanaDashboard(dashboard, GRAFANA)).toEqual([]);
  });

  it('is what dashboards/generate.mjs builds', () => {
    expect(dashboard).toEqual(grafanaDashboard());
  });

  it('uses only fields the documents have, of the kind each query needs', () => {
    const uses = grafanaFieldsUsed(dashboard, GRAFANA);
    expect(new Set(uses.map((u) => u.indexPattern))).toEqual(new Set(Object.keys(MAPPINGS)));
    expect(uses.some((u) => u.role === 'sum script' && u.field === 'passed_dmarc')).toBe(true);
    expect(problemsOf(checkFieldsAgainstMappings(uses, MAPPINGS))).toEqual([]);
    expect(problemsOf(checkFieldsAgainstMappings(uses, templateMappings()))).toEqual([]);
  });

  it('names its datasource plugin only where the OpenSearch plugin id can be swapped in', () => {
    const places = new Set<string>();
    const walk = (value: unknown, key: string): void => {
      if (value === 'elasticsearch') places.add(key);
      if (Array.isArray(value)) value.forEach((v) => walk(v, key));
      else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) walk(v, k);
      }
    };
    walk(dashboard, '');
    expect([...places].sort()).toEqual(['id', 'pluginId', 'query', 'type']);
    const swapped: unknown = JSON.parse(
      grafanaText.replaceAll('"elasticsearch"', '"grafana-opensearch-datasource"'),
    );
    expect(checkGrafanaDashboard(swapped, GRAFANA)).toEqual([]);
  });

  it('reports datasources that are not the variables, and queries without metrics', () => {
    const copy = JSON.parse(grafanaText) as {
      panels: Array<{ datasource?: unknown; targets?: Array<{ metrics?: unknown[] }> }>;
    };
    const panel = copy.panels.find((p) => Array.isArray(p.targets));
    if (!panel?.targets?.[0]) throw new Error('no panel with queries');
    panel.datasource = { type: 'elasticsearch', uid: 'P1234' };
    panel.targets[0].metrics = [];
    const problems = messages(checkGrafanaDashboard(copy, GRAFANA));
    expect(problems).toContain(
      'datasource {"type":"elasticsearch","uid":"P1234"} is not one of the datasource variables',
    );
    expect(problems).toContain('A has no metrics');
  });
});
