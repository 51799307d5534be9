/**
 * Structural checks of the shipped dashboards, with no server: Kibana / OpenSearch Dashboards saved objects
 * (ndjson), the fields they use, whether a real mapping (`GET <index>/_mapping`) has those fields with the
 * right capabilities, and the Grafana dashboard. Everything here is pure: pass parsed values in, get
 * problems out (an empty list means fine).
 *
 * For a test against a live cluster:
 *   const uses = fieldsUsed(parseNdjson(text).objects).concat(grafanaFieldsUsed(grafanaJson));
 *   checkFieldsAgainstMappings(uses, { [aggregatePattern]: await get('<aggregate indexes>/_mapping'), ... })
 */

/** The version stamps the file may carry: the last 7.10 migration of each type (see dashboards/README.md). */
export const SUPPORTED_MIGRATION_VERSION: Readonly<Record<string, string>> = {
  'index-pattern': '7.6.0',
  visualization: '7.10.0',
  search: '7.9.3',
  dashboard: '7.9.3',
};
export const SUPPORTED_PANEL_VERSION = '7.10.0';

/** Aggregation-based visualization types that Kibana 8.x/9.x and OpenSearch Dashboards 2.x/3.x all have. */
export const PORTABLE_VIS_TYPES: readonly string[] = [
  'area',
  'gauge',
  'goal',
  'heatmap',
  'histogram',
  'horizontal_bar',
  'line',
  'markdown',
  'metric',
  'pie',
  'table',
  'tagcloud',
  'vega',
];

export interface Reference {
  name: string;
  type: string;
  id: string;
}

export interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references?: Reference[];
  migrationVersion?: Record<string, string>;
  [key: string]: unknown;
}

export interface Problem {
  /** `type:id` of the object (or `line N` when it could not be read). */
  object: string;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const key = (o: { type: string; id: string }): string => `${o.type}:${o.id}`;

/** Compares dotted numeric versions; NaN when either is not of that form. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): number[] | null => (/^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : null);
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return NaN;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** Parses an export: one JSON object per non-empty line. */
export function parseNdjson(text: string): { objects: SavedObject[]; problems: Problem[] } {
  const objects: SavedObject[] = [];
  const problems: Problem[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      problems.push({ object: where, message: `not JSON: ${(e as Error).message}` });
      return;
    }
    if (!isObject(value)) {
      problems.push({ object: where, message: 'not a JSON object' });
      return;
    }
    // The export's trailing summary line ({"exportedCount": ...}) is not an object to import.
    if ('exportedCount' in value && !('type' in value)) return;
    if (typeof value.id !== 'string' || value.id === '') problems.push({ object: where, message: 'no id' });
    if (typeof value.type !== 'string' || value.type === '')
      problems.push({ object: where, message: 'no type' });
    if (!isObject(value.attributes)) problems.push({ object: where, message: 'no attributes object' });
    if (typeof value.id === 'string' && typeof value.type === 'string' && isObject(value.attributes)) {
      objects.push(value as SavedObject);
    }
  });
  return { objects, problems };
}

/** The attributes of each type that hold JSON in a string. */
const JSON_STRING_ATTRIBUTES: Record<string, string[]> = {
  visualization: ['visState', 'uiStateJSON', 'kibanaSavedObjectMeta.searchSourceJSON'],
  search: ['kibanaSavedObjectMeta.searchSourceJSON'],
  dashboard: ['panelsJSON', 'optionsJSON', 'kibanaSavedObjectMeta.searchSourceJSON'],
  'index-pattern': ['fields', 'fieldFormatMap', 'sourceFilters', 'typeMeta', 'fieldAttrs', 'runtimeFieldMap'],
};

function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/**
 * Parses the JSON strings of an object's attributes. Returns the parsed values by attribute path
 * (absent attributes are left out) and a problem for each string that does not parse.
 */
export function parseNested(object: SavedObject): { values: Record<string, unknown>; problems: Problem[] } {
  const values: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const path of JSON_STRING_ATTRIBUTES[object.type] ?? []) {
    const raw = getPath(object.attributes, path);
    if (raw === undefined) continue;
    if (typeof raw !== 'string') {
      problems.push({ object: key(object), message: `${path} is not a string` });
      continue;
    }
    try {
      values[path] = JSON.parse(raw);
    } catch (e) {
      problems.push({ object: key(object), message: `${path} is not JSON: ${(e as Error).message}` });
    }
  }
  const visState = values.visState;
  if (isObject(visState) && visState.type === 'vega' && isObject(visState.params)) {
    const spec = visState.params.spec;
    try {
      values['visState.params.spec'] = JSON.parse(String(spec));
    } catch (e) {
      problems.push({
        object: key(object),
        message: `the Vega spec is not JSON (HJSON cannot be checked): ${(e as Error).message}`,
      });
    }
  }
  return { values, problems };
}

// ---------------------------------------------------------------------------------------------------------
// Structure

export interface CheckOptions {
  /** The highest migrationVersion allowed per type (default SUPPORTED_MIGRATION_VERSION). */
  maxMigrationVersion?: Readonly<Record<string, string>>;
  /** The highest dashboard panel version (default SUPPORTED_PANEL_VERSION). */
  maxPanelVersion?: string;
  /** Visualization types allowed (default PORTABLE_VIS_TYPES). */
  allowedVisTypes?: readonly string[];
}

const GRID_COLUMNS = 48;
const METRIC_AGGS = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'median',
  'cardinality',
  'percentiles',
  'percentile_ranks',
  'std_dev',
  'top_hits',
  'top_metrics',
  'value_count',
  'geo_bounds',
  'geo_centroid',
  'sum_bucket',
  'avg_bucket',
  'min_bucket',
  'max_bucket',
  'derivative',
  'cumulative_sum',
  'moving_avg',
  'serial_diff',
]);

/** Checks an export: structure, nested JSON, references, dashboard panels and version stamps. */
export function checkSavedObjects(objects: SavedObject[], options: CheckOptions = {}): Problem[] {
  const maxVersions = options.maxMigrationVersion ?? SUPPORTED_MIGRATION_VERSION;
  const maxPanelVersion = options.maxPanelVersion ?? SUPPORTED_PANEL_VERSION;
  const allowedVisTypes = options.allowedVisTypes ?? PORTABLE_VIS_TYPES;
  const problems: Problem[] = [];
  const byKey = new Map<string, SavedObject>();
  for (const object of objects) {
    if (byKey.has(key(object))) problems.push({ object: key(object), message: 'appears twice' });
    byKey.set(key(object), object);
  }

  for (const object of objects) {
    const where = key(object);
    const report = (message: string): void => void problems.push({ object: where, message });

    // Version stamps: a stamp newer than a target knows makes that target refuse the object; no stamp at
    // all makes OpenSearch Dashboards and Kibana >= 8.8 take the object as current and skip migrations.
    for (const forbidden of ['coreMigrationVersion', 'typeMigrationVersion']) {
      if (forbidden in object) report(`has ${forbidden} (targets older than it refuse the object)`);
    }
    if ('version' in object) report('has a version (a concurrency token of the instance it came from)');
    const stamps = object.migrationVersion;
    if (!isObject(stamps) || typeof stamps[object.type] !== 'string') {
      report(`no migrationVersion.${object.type}: targets would take it as current and not migrate it`);
    }
    if (isObject(stamps)) {
      for (const [type, version] of Object.entries(stamps)) {
        const max = maxVersions[type];
        if (typeof version !== 'string' || Number.isNaN(compareVersions(version, '0'))) {
          report(`migrationVersion.${type} is not a version: ${JSON.stringify(version)}`);
        } else if (max === undefined) {
          report(`migrationVersion.${type}: no supported version known for that type`);
        } else if (compareVersions(version, max) > 0) {
          report(`migrationVersion.${type} ${version} is newer than the supported ${max}`);
        }
      }
    }

    // References: well formed, unique names, every target in the file.
    const references = object.references ?? [];
    if (!Array.isArray(references)) report('references is not an array');
    const referenceNames = new Map<string, Reference>();
    for (const ref of Array.isArray(references) ? references : []) {
      if (
        !isObject(ref) ||
        typeof ref.name !== 'string' ||
        typeof ref.type !== 'string' ||
        typeof ref.id !== 'string'
      ) {
        report(`malformed reference ${JSON.stringify(ref)}`);
        continue;
      }
      if (referenceNames.has(ref.name)) report(`reference name ${ref.name} used twice`);
      referenceNames.set(ref.name, ref);
      if (!byKey.has(key(ref)))
        report(`reference ${ref.name} points to ${key(ref)}, which is not in the file`);
    }
    const requireRef = (name: unknown, type: string, what: string): void => {
      if (typeof name !== 'string') return;
      const ref = referenceNames.get(name);
      if (!ref) report(`${what} names reference ${name}, which the object does not have`);
      else if (ref.type !== type) report(`${what} reference ${name} is a ${ref.type}, not a ${type}`);
    };

    const { values, problems: nestedProblems } = parseNested(object);
    problems.push(...nestedProblems);
    if (typeof object.attributes.title !== 'string' || object.attributes.title === '') report('no title');

    const source = values['kibanaSavedObjectMeta.searchSourceJSON'];
    if (source !== undefined) {
      if (!isObject(source)) report('searchSourceJSON is not an object');
      else {
        if ('index' in source)
          report('searchSourceJSON has a raw index id: use indexRefName and a reference');
        requireRef(source.indexRefName, 'index-pattern', 'searchSourceJSON');
        const filters = source.filter ?? [];
        if (!Array.isArray(filters)) report('searchSourceJSON.filter is not an array');
        else
          filters.forEach((f, i) => {
            if (isObject(f) && isObject(f.meta))
              requireRef(f.meta.indexRefName, 'index-pattern', `filter[${i}]`);
          });
      }
    }

    switch (object.type) {
      case 'index-pattern':
        if (
          object.attributes.timeFieldName !== undefined &&
          typeof object.attributes.timeFieldName !== 'string'
        ) {
          report('timeFieldName is not a string');
        }
        if (values.fields !== undefined && !Array.isArray(values.fields)) report('fields is not an array');
        if (values.fieldFormatMap !== undefined && !isObject(values.fieldFormatMap)) {
          report('fieldFormatMap is not an object');
        }
        break;
      case 'visualization': {
        if (object.attributes.savedSearchRefName !== undefined) {
          requireRef(object.attributes.savedSearchRefName, 'search', 'savedSearchRefName');
        }
        if (!isObject(values.uiStateJSON)) report('uiStateJSON is not an object');
        problems.push(...checkVisState(object, values, allowedVisTypes, source));
        break;
      }
      case 'search': {
        const { columns, sort } = object.attributes;
        if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) {
          report('columns is not a list of field names');
        }
        if (!Array.isArray(sort) || sort.some((s) => !Array.isArray(s) || typeof s[0] !== 'string')) {
          report('sort is not a list of [field, direction]');
        }
        if (!isObject(source) || typeof source.indexRefName !== 'string') report('no index pattern');
        break;
      }
      case 'dashboard':
        problems.push(...checkPanels(object, values.panelsJSON, referenceNames, byKey, maxPanelVersion));
        if (!isObject(values.optionsJSON)) report('optionsJSON is not an object');
        break;
    }
  }
  return problems;
}

function checkVisState(
  object: SavedObject,
  values: Record<string, unknown>,
  allowedVisTypes: readonly string[],
  source: unknown,
): Problem[] {
  const problems: Problem[] = [];
  const report = (message: string): void => void problems.push({ object: key(object), message });
  const visState = values.visState;
  if (!isObject(visState)) {
    report('visState is not an object');
    return problems;
  }
  const type = visState.type;
  if (typeof type !== 'string') report('visState has no type');
  else if (!allowedVisTypes.includes(type)) report(`visualization type ${type} is not portable`);
  if (visState.title !== undefined && visState.title !== object.attributes.title) {
    report('visState.title differs from the title');
  }
  if (!isObject(visState.params)) report('visState.params is not an object');
  const aggs = visState.aggs ?? [];
  if (!Array.isArray(aggs)) {
    report('visState.aggs is not an array');
    return problems;
  }
  const ids = new Set<string>();
  const metricIds = new Set<string>();
  for (const agg of aggs) {
    if (!isObject(agg) || typeof agg.id !== 'string' || typeof agg.type !== 'string') {
      report(`malformed aggregation ${JSON.stringify(agg)}`);
      continue;
    }
    if (ids.has(agg.id)) report(`aggregation id ${agg.id} used twice`);
    ids.add(agg.id);
    if (typeof agg.schema !== 'string') report(`aggregation ${agg.id} has no schema`);
    if (!isObject(agg.params)) report(`aggregation ${agg.id} has no params`);
    if (METRIC_AGGS.has(agg.type)) metricIds.add(agg.id);
  }
  for (const agg of aggs) {
    if (!isObject(agg) || !isObject(agg.params)) continue;
    const orderBy = agg.params.orderBy;
    if (agg.type === 'terms' && typeof orderBy === 'string' && !['_key', 'custom'].includes(orderBy)) {
      if (!metricIds.has(orderBy)) report(`terms ${String(agg.id)} orders by ${orderBy}, not a metric here`);
    }
    if (agg.type === 'filters') {
      const entries = agg.params.filters;
      if (!Array.isArray(entries) || entries.length === 0) report(`filters ${String(agg.id)} has no filters`);
    }
  }
  const needsIndex = aggs.length > 0;
  const hasIndex =
    (isObject(source) && typeof source.indexRefName === 'string') ||
    typeof object.attributes.savedSearchRefName === 'string';
  if (needsIndex && !hasIndex) report('has aggregations but no index pattern or saved search');
  if (type === 'markdown' && (!isObject(visState.params) || typeof visState.params.markdown !== 'string')) {
    report('markdown without text');
  }
  if (type === 'vega') {
    const spec = values['visState.params.spec'];
    if (isObject(spec) && typeof spec.$schema !== 'string') report('the Vega spec has no $schema');
  }
  return problems;
}

function checkPanels(
  object: SavedObject,
  panels: unknown,
  references: Map<string, Reference>,
  byKey: Map<string, SavedObject>,
  maxPanelVersion: string,
): Problem[] {
  const problems: Problem[] = [];
  const report = (message: string): void => void problems.push({ object: key(object), message });
  if (!Array.isArray(panels)) {
    report('panelsJSON is not an array');
    return problems;
  }
  if (panels.length === 0) report('no panels');
  const indexes = new Set<string>();
  const boxes: Array<{ x: number; y: number; w: number; h: number; name: string }> = [];
  panels.forEach((panel, n) => {
    const name = `panel ${n}`;
    if (!isObject(panel)) {
      report(`${name} is not an object`);
      return;
    }
    const panelIndex = panel.panelIndex;
    if (typeof panelIndex !== 'string') report(`${name} has no panelIndex`);
    else if (indexes.has(panelIndex)) report(`panelIndex ${panelIndex} used twice`);
    else indexes.add(panelIndex);
    if (typeof panel.version === 'string' && compareVersions(panel.version, maxPanelVersion) > 0) {
      report(`${name} version ${panel.version} is newer than the supported ${maxPanelVersion}`);
    }
    if (panel.embeddableConfig !== undefined && !isObject(panel.embeddableConfig)) {
      report(`${name} embeddableConfig is not an object`);
    }
    const grid = panel.gridData;
    if (
      !isObject(grid) ||
      !['x', 'y', 'w', 'h'].every((k) => Number.isInteger(grid[k]) && Number(grid[k]) >= 0)
    ) {
      report(`${name} has no valid gridData`);
    } else {
      const box = { x: Number(grid.x), y: Number(grid.y), w: Number(grid.w), h: Number(grid.h), name };
      if (box.w === 0 || box.h === 0) report(`${name} has no size`);
      if (box.x + box.w > GRID_COLUMNS) report(`${name} goes past column ${GRID_COLUMNS}`);
      if (grid.i !== panelIndex) report(`${name} gridData.i differs from its panelIndex`);
      for (const other of boxes) {
        const overlap =
          box.x < other.x + other.w &&
          other.x < box.x + box.w &&
          box.y < other.y + other.h &&
          other.y < box.y + box.h;
        if (overlap) report(`${name} overlaps ${other.name}`);
      }
      boxes.push(box);
    }
    if (typeof panel.panelRefName !== 'string') {
      report(`${name} has no panelRefName (a by-value or pre-7.0 panel)`);
      return;
    }
    const ref = references.get(panel.panelRefName);
    if (!ref) report(`${name} names reference ${panel.panelRefName}, which the dashboard does not have`);
    else if (!['visualization', 'search'].includes(ref.type)) report(`${name} shows a ${ref.type}`);
    else if (!byKey.has(key(ref))) report(`${name} shows ${key(ref)}, which is not in the file`);
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Fields

/** What a use needs of its field. */
export type Requirement = 'aggregatable' | 'date' | 'numeric' | 'searchable' | 'exists';

export interface FieldUse {
  /** `type:id` of the saved object, or `grafana:<panel title>`. */
  object: string;
  title: string;
  /** The index pattern title the field is read from (undefined when it cannot be told). */
  indexPattern: string | undefined;
  field: string;
  /** How it is used: `terms`, `sum`, `date_histogram`, `column`, `sort`, `query`, `time field`... */
  role: string;
  requires: Requirement;
}

const AGG_REQUIREMENT: Record<string, Requirement> = {
  terms: 'aggregatable',
  significant_terms: 'aggregatable',
  rare_terms: 'aggregatable',
  multi_terms: 'aggregatable',
  cardinality: 'aggregatable',
  value_count: 'aggregatable',
  top_hits: 'aggregatable',
  top_metrics: 'aggregatable',
  min: 'aggregatable',
  max: 'aggregatable',
  date_histogram: 'date',
  date_range: 'date',
  auto_date_histogram: 'date',
  histogram: 'numeric',
  range: 'numeric',
  sum: 'numeric',
  avg: 'numeric',
  median: 'numeric',
  percentiles: 'numeric',
  percentile_ranks: 'numeric',
  std_dev: 'numeric',
  extended_stats: 'numeric',
  stats: 'numeric',
  weighted_avg: 'numeric',
  ip_range: 'aggregatable',
};

/**
 * Field names in a KQL or Lucene query string (`field:value`, `_exists_:field`); quoted values are skipped
 * and so are wildcard field names.
 */
export function queryFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const fields = new Set<string>();
  for (const m of unquoted.matchAll(/(?:^|[\s(!+-])([A-Za-z_@][\w.@-]*)\s*:\s*(\S*)/g)) {
    const name = m[1] ?? '';
    if (name === '_exists_') {
      const target = (m[2] ?? '').replace(/[()]/g, '');
      if (target && !target.includes('*')) fields.add(target);
    } else if (!['AND', 'OR', 'NOT'].includes(name)) fields.add(name);
  }
  return [...fields];
}

/** Fields named by an Elasticsearch query DSL clause (term, match, range, exists, bool...). */
function dslQueryFields(query: unknown, add: (field: string) => void): void {
  if (Array.isArray(query)) {
    for (const q of query) dslQueryFields(q, add);
    return;
  }
  if (!isObject(query)) return;
  for (const [clause, body] of Object.entries(query)) {
    if (clause === 'bool' && isObject(body)) {
      for (const part of ['must', 'should', 'filter', 'must_not']) dslQueryFields(body[part], add);
    } else if (clause === 'exists' && isObject(body) && typeof body.field === 'string') add(body.field);
    else if (clause === 'query_string' && isObject(body) && typeof body.query === 'string') {
      queryFields(body.query).forEach(add);
    } else if (
      ['term', 'terms', 'match', 'match_phrase', 'range', 'prefix', 'wildcard', 'regexp'].includes(clause) &&
      isObject(body)
    ) {
      for (const field of Object.keys(body)) if (!['boost', '_name'].includes(field)) add(field);
    }
  }
}

/** Fields of an Elasticsearch `aggs` object (as written in a Vega spec). */
function dslAggFields(
  aggs: unknown,
  add: (field: string, role: string, requires: Requirement) => void,
): void {
  if (!isObject(aggs)) return;
  for (const agg of Object.values(aggs)) {
    if (!isObject(agg)) continue;
    for (const [type, body] of Object.entries(agg)) {
      if (type === 'aggs' || type === 'aggregations') dslAggFields(body, add);
      else if (type === 'filter') dslQueryFields(body, (f) => add(f, 'filter', 'searchable'));
      else if (type === 'filters' && isObject(body)) {
        const entries = isObject(body.filters) ? Object.values(body.filters) : body.filters;
        dslQueryFields(entries, (f) => add(f, 'filter', 'searchable'));
      } else if (isObject(body) && typeof body.field === 'string') {
        add(body.field, type, AGG_REQUIREMENT[type] ?? 'exists');
      }
    }
  }
}

/** Every field each index pattern, visualization, saved search and dashboard of an export uses. */
export function fieldsUsed(objects: SavedObject[]): FieldUse[] {
  const uses: FieldUse[] = [];
  const byKey = new Map(objects.map((o) => [key(o), o]));
  const titleOf = (o: SavedObject | undefined): string | undefined =>
    o && typeof o.attributes.title === 'string' ? o.attributes.title : undefined;

  /** The index pattern title behind an object: its search source reference, or its saved search's. */
  const indexPatternOf = (object: SavedObject, depth = 0): string | undefined => {
    const source = parseNested(object).values['kibanaSavedObjectMeta.searchSourceJSON'];
    const refs = object.references ?? [];
    if (isObject(source) && typeof source.indexRefName === 'string') {
      const ref = refs.find((r) => r.name === source.indexRefName);
      return ref ? titleOf(byKey.get(key(ref))) : undefined;
    }
    const searchRef = refs.find((r) => r.name === object.attributes.savedSearchRefName);
    const search = searchRef && byKey.get(key(searchRef));
    return search && depth < 2 ? indexPatternOf(search, depth + 1) : undefined;
  };

  for (const object of objects) {
    const title = titleOf(object) ?? object.id;
    const { values } = parseNested(object);
    let indexPattern = object.type === 'index-pattern' ? title : indexPatternOf(object);
    const add = (field: string, role: string, requires: Requirement): void => {
      uses.push({ object: key(object), title, indexPattern, field, role, requires });
    };

    const source = values['kibanaSavedObjectMeta.searchSourceJSON'];
    if (isObject(source)) {
      if (isObject(source.query) && typeof source.query.query === 'string') {
        queryFields(source.query.query).forEach((f) => add(f, 'query', 'searchable'));
      }
      for (const filter of Array.isArray(source.filter) ? source.filter : []) {
        if (!isObject(filter)) continue;
        if (isObject(filter.meta) && typeof filter.meta.key === 'string')
          add(filter.meta.key, 'filter', 'searchable');
        else dslQueryFields(filter.query ?? filter, (f) => add(f, 'filter', 'searchable'));
      }
    }

    if (object.type === 'index-pattern') {
      if (typeof object.attributes.timeFieldName === 'string')
        add(object.attributes.timeFieldName, 'time field', 'date');
      if (isObject(values.fieldFormatMap)) {
        for (const field of Object.keys(values.fieldFormatMap)) add(field, 'format', 'exists');
      }
    }

    if (object.type === 'search') {
      const { columns, sort } = object.attributes;
      for (const column of Array.isArray(columns) ? columns : []) {
        if (typeof column === 'string' && column !== '_source') add(column, 'column', 'exists');
      }
      for (const s of Array.isArray(sort) ? sort : []) {
        const field = Array.isArray(s) ? s[0] : undefined;
        if (typeof field === 'string' && field !== '_score') add(field, 'sort', 'aggregatable');
      }
    }

    const visState = values.visState;
    if (object.type === 'visualization' && isObject(visState)) {
      for (const agg of Array.isArray(visState.aggs) ? visState.aggs : []) {
        if (!isObject(agg) || !isObject(agg.params) || typeof agg.type !== 'string') continue;
        if (typeof agg.params.field === 'string') {
          add(agg.params.field, agg.type, AGG_REQUIREMENT[agg.type] ?? 'exists');
        }
        if (agg.type === 'filters' && Array.isArray(agg.params.filters)) {
          for (const entry of agg.params.filters) {
            const query = isObject(entry) && isObject(entry.input) ? entry.input.query : undefined;
            if (typeof query === 'string') queryFields(query).forEach((f) => add(f, 'filters', 'searchable'));
          }
        }
      }
      const spec = values['visState.params.spec'];
      if (visState.type === 'vega' && isObject(spec)) {
        const data = Array.isArray(spec.data) ? spec.data : [spec.data];
        for (const d of data) {
          const url = isObject(d) ? d.url : undefined;
          if (!isObject(url)) continue;
          indexPattern = typeof url.index === 'string' ? url.index : indexPattern;
          if (typeof url['%timefield%'] === 'string') add(url['%timefield%'], 'time field', 'date');
          const body = isObject(url.body) ? url.body : {};
          dslAggFields(body.aggs ?? body.aggregations, add);
          dslQueryFields(body.query, (f) => add(f, 'query', 'searchable'));
        }
      }
    }
  }
  return uses;
}

// ---------------------------------------------------------------------------------------------------------
// Mappings

export interface MappedField {
  /** The mapped type; `conflict` when indexes disagree. */
  type: string;
  types: string[];
  aggregatable: boolean;
  searchable: boolean;
  /** The closest `nested` object above the field, if any. */
  nested?: string;
}

const NUMERIC_TYPES = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const AGGREGATABLE_TYPES = new Set([
  ...NUMERIC_TYPES,
  'keyword',
  'constant_keyword',
  'wildcard',
  'version',
  'boolean',
  'ip',
  'date',
  'date_nanos',
]);
const DATE_TYPES = new Set(['date', 'date_nanos']);

/** The `mappings` objects of a `GET <index>/_mapping` answer (or of a bare mapping). */
function mappingRoots(mapping: unknown): Json[] {
  if (!isObject(mapping)) return [];
  if (isObject(mapping.properties)) return [mapping];
  if (isObject(mapping.mappings)) return mappingRoots(mapping.mappings);
  const roots: Json[] = [];
  for (const value of Object.values(mapping)) {
    if (!isObject(value)) continue;
    if (isObject(value.mappings)) {
      const m = value.mappings;
      if (isObject(m.properties) || isObject(m.runtime)) roots.push(m);
      // Elasticsearch 6 answers: { index: { mappings: { <type>: { properties } } } }
      else
        for (const typed of Object.values(m))
          if (isObject(typed) && isObject(typed.properties)) roots.push(typed);
    } else if (isObject(value.properties)) roots.push(value);
  }
  return roots;
}

/**
 * Flattens a mapping to dotted field names, multi-fields (`org_name.keyword`) included, merged over every
 * index of the answer (a field whose type differs between indexes becomes `conflict`, as Kibana shows it).
 */
export function flattenMapping(mapping: unknown): Map<string, MappedField> {
  const fields = new Map<string, MappedField>();
  const aliases: Array<[string, string]> = [];
  const put = (name: string, def: Json, nested: string | undefined): void => {
    const type = typeof def.type === 'string' ? def.type : 'object';
    const docValues = def.doc_values !== false;
    const aggregatable =
      (AGGREGATABLE_TYPES.has(type) && docValues) || (type === 'text' && def.fielddata === true);
    const searchable = def.index !== false;
    const previous = fields.get(name);
    if (!previous) {
      fields.set(name, { type, types: [type], aggregatable, searchable, ...(nested ? { nested } : {}) });
    } else {
      const types = previous.types.includes(type) ? previous.types : [...previous.types, type];
      fields.set(name, {
        type: types.length > 1 ? 'conflict' : type,
        types,
        aggregatable: previous.aggregatable && aggregatable && types.length === 1,
        searchable: previous.searchable && searchable,
        ...(previous.nested || nested ? { nested: previous.nested ?? nested } : {}),
      });
    }
  };
  const walk = (properties: Json, prefix: string, nested: string | undefined): void => {
    for (const [name, def] of Object.entries(properties)) {
      if (!isObject(def)) continue;
      const path = prefix + name;
      if (def.type === 'alias' && typeof def.path === 'string') {
        aliases.push([path, def.path]);
        continue;
      }
      put(path, def, nested);
      if (isObject(def.properties)) walk(def.properties, `${path}.`, def.type === 'nested' ? path : nested);
      if (isObject(def.fields)) {
        for (const [sub, subDef] of Object.entries(def.fields))
          if (isObject(subDef)) put(`${path}.${sub}`, subDef, nested);
      }
    }
  };
  for (const root of mappingRoots(mapping)) {
    if (isObject(root.properties)) walk(root.properties, '', undefined);
    if (isObject(root.runtime)) {
      for (const [name, def] of Object.entries(root.runtime)) if (isObject(def)) put(name, def, undefined);
    }
  }
  for (const [alias, target] of aliases) {
    const resolved = fields.get(target);
    if (resolved) fields.set(alias, resolved);
  }
  return fields;
}

export interface FieldProblem {
  use: FieldUse;
  message: string;
}

const NEEDS: Record<Requirement, string> = {
  aggregatable: 'an aggregatable',
  date: 'a date',
  numeric: 'a numeric',
  searchable: 'a searchable',
  exists: 'an existing',
};

function meets(field: MappedField, requires: Requirement): boolean {
  switch (requires) {
    case 'aggregatable':
      return field.aggregatable;
    case 'date':
      return DATE_TYPES.has(field.type);
    case 'numeric':
      return NUMERIC_TYPES.has(field.type);
    case 'searchable':
      return field.searchable;
    case 'exists':
      return true;
  }
}

/**
 * Reports the uses a real mapping (`GET <index>/_mapping`, any number of indexes) cannot serve: fields
 * it lacks, and fields of the wrong kind (a text field in a terms aggregation, a keyword in a sum, a
 * field under a `nested` object, which these visualizations cannot aggregate).
 */
export function checkFieldsAgainstMapping(uses: FieldUse[], mapping: unknown): FieldProblem[] {
  const fields = flattenMapping(mapping);
  const problems: FieldProblem[] = [];
  const names = [...fields.keys()];
  for (const use of uses) {
    const where = `${use.role} on ${use.field}`;
    const field = fields.get(use.field);
    if (!field) {
      const isObjectPath = names.some((n) => n.startsWith(`${use.field}.`));
      if (isObjectPath && use.requires === 'exists') continue;
      let hint = '';
      const base = use.field.endsWith('.keyword') ? use.field.slice(0, -'.keyword'.length) : undefined;
      if (base && fields.has(base))
        hint = ` (${base} is mapped as ${fields.get(base)?.type}, with no keyword subfield)`;
      else if (fields.has(`${use.field}.keyword`)) hint = ` (${use.field}.keyword exists)`;
      else if (isObjectPath) hint = ' (it is an object, not a field)';
      problems.push({ use, message: `${where}: not in the mapping${hint}` });
      continue;
    }
    if (field.type === 'object' || field.type === 'nested') {
      if (use.requires !== 'exists')
        problems.push({ use, message: `${where}: it is an object, not a field` });
      continue;
    }
    if (field.type === 'conflict' && use.requires !== 'exists') {
      problems.push({
        use,
        message: `${where}: mapped as ${field.types.join(' and ')} in different indexes`,
      });
      continue;
    }
    if (!meets(field, use.requires)) {
      const hint =
        use.requires === 'aggregatable' && fields.get(`${use.field}.keyword`)?.aggregatable
          ? ` (use ${use.field}.keyword)`
          : '';
      problems.push({
        use,
        message: `${where}: needs ${NEEDS[use.requires]} field, mapped as ${field.type}${hint}`,
      });
      continue;
    }
    if (field.nested && ['aggregatable', 'date', 'numeric'].includes(use.requires)) {
      problems.push({
        use,
        message: `${where}: inside the nested object ${field.nested}, which cannot be aggregated here`,
      });
    }
  }
  return problems;
}

/** Whether an index pattern (`*dmarc_aggregate*`, comma lists, `-exclusions`) matches an index name. */
export function indexPatternMatches(pattern: string, index: string): boolean {
  let matched = false;
  for (const part of pattern.split(',').map((p) => p.trim())) {
    const negate = part.startsWith('-');
    const glob = negate ? part.slice(1) : part;
    const re = new RegExp(
      `^${glob
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    if (re.test(index)) matched = !negate;
  }
  return matched;
}

/**
 * checkFieldsAgainstMapping per index pattern: `mappings` maps each index pattern title to the mapping
 * answer of its indexes. Uses of a pattern with no mapping given are reported.
 */
export function checkFieldsAgainstMappings(
  uses: FieldUse[],
  mappings: Readonly<Record<string, unknown>>,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const groups = new Map<string, FieldUse[]>();
  for (const use of uses) {
    const pattern = use.indexPattern ?? '(unknown)';
    groups.set(pattern, [...(groups.get(pattern) ?? []), use]);
  }
  for (const [pattern, group] of groups) {
    if (!(pattern in mappings)) {
      for (const use of group)
        problems.push({ use, message: `no mapping given for index pattern ${pattern}` });
      continue;
    }
    problems.push(...checkFieldsAgainstMapping(group, mappings[pattern]));
  }
  return problems;
}

/** Field kinds for hand-written field lists (mapped as dynamic mapping would, or with an explicit type). */
export type FieldKind = 'string' | 'keyword' | 'text' | 'ip' | 'date' | 'long' | 'boolean';

/**
 * Builds a mapping from a hand-written list: `string` is dynamic mapping's text + `.keyword`, `ip` an ip
 * field with a `.keyword` subfield; dotted names become object properties.
 */
export function mappingFromFieldList(list: Readonly<Record<string, FieldKind>>): Json {
  const root: Json = {};
  for (const [name, kind] of Object.entries(list)) {
    const parts = name.split('.');
    let properties = root;
    for (const part of parts.slice(0, -1)) {
      const existing = properties[part];
      const objectDef: Json = isObject(existing) ? existing : { properties: {} };
      if (!isObject(objectDef.properties)) objectDef.properties = {};
      properties[part] = objectDef;
      properties = objectDef.properties as Json;
    }
    const keyword = { keyword: { type: 'keyword', ignore_above: 256 } };
    const def: Json =
      kind === 'string'
        ? { type: 'text', fields: keyword }
        : kind === 'ip'
          ? { type: 'ip', fields: keyword }
          : { type: kind };
    properties[parts[parts.length - 1] ?? name] = def;
  }
  return { mappings: { properties: root } };
}

// ---------------------------------------------------------------------------------------------------------
// Grafana

export interface GrafanaCheckOptions {
  /** Datasource variable name -> index pattern it stands for. */
  datasources: Readonly<Record<string, string>>;
}

type GrafanaPanel = Json & { type?: unknown; title?: unknown; targets?: unknown; panels?: unknown };

/** Every panel, those inside collapsed rows included. */
export function grafanaPanels(dashboard: unknown): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  const visit = (panels: unknown): void => {
    for (const panel of Array.isArray(panels) ? panels : []) {
      if (!isObject(panel)) continue;
      out.push(panel);
      if (Array.isArray(panel.panels)) visit(panel.panels);
    }
  };
  visit(isObject(dashboard) ? dashboard.panels : undefined);
  return out;
}

/** `${ds_aggregate}` / `$ds_aggregate` -> `ds_aggregate`. */
function variableName(uid: unknown): string | undefined {
  if (typeof uid !== 'string') return undefined;
  return /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(uid)?.[1];
}

function datasourceOf(value: unknown): string | undefined {
  if (typeof value === 'string') return variableName(value);
  return isObject(value) ? variableName(value.uid) : undefined;
}

const GRAFANA_METRIC_REQUIREMENT: Record<string, Requirement> = {
  sum: 'numeric',
  avg: 'numeric',
  min: 'aggregatable',
  max: 'aggregatable',
  extended_stats: 'numeric',
  percentiles: 'numeric',
  cardinality: 'aggregatable',
  top_metrics: 'aggregatable',
  rate: 'numeric',
};
const GRAFANA_BUCKET_REQUIREMENT: Record<string, Requirement> = {
  terms: 'aggregatable',
  date_histogram: 'date',
  histogram: 'numeric',
  geohash_grid: 'exists',
  nested: 'exists',
};

/** `doc['field']` names in a Painless script. */
function scriptFields(script: unknown): string[] {
  const source = isObject(script) ? (script.source ?? script.inline) : script;
  if (typeof source !== 'string') return [];
  return [...source.matchAll(/doc\[\s*['"]([^'"]+)['"]\s*\]/g)].map((m) => m[1] ?? '');
}

/** Checks a Grafana dashboard model built on Elasticsearch datasource variables. */
export function checkGrafanaDashboard(dashboard: unknown, options: GrafanaCheckOptions): Problem[] {
  const problems: Problem[] = [];
  const report = (object: string, message: string): void => void problems.push({ object, message });
  if (!isObject(dashboard)) return [{ object: 'dashboard', message: 'not a JSON object' }];
  for (const field of ['title', 'uid']) {
    if (typeof dashboard[field] !== 'string' || dashboard[field] === '') report('dashboard', `no ${field}`);
  }
  if (typeof dashboard.schemaVersion !== 'number') report('dashboard', 'no schemaVersion');
  const variables =
    isObject(dashboard.templating) && Array.isArray(dashboard.templating.list)
      ? dashboard.templating.list
      : [];
  const declared = new Map<string, Json>();
  for (const v of variables) if (isObject(v) && typeof v.name === 'string') declared.set(v.name, v);
  const inputs = new Set(
    (Array.isArray(dashboard.__inputs) ? dashboard.__inputs : []).flatMap((i) =>
      isObject(i) && typeof i.name === 'string' ? [i.name] : [],
    ),
  );
  for (const name of Object.keys(options.datasources)) {
    const v = declared.get(name);
    if (!v) report('templating', `no datasource variable ${name}`);
    else if (v.type !== 'datasource') report('templating', `${name} is not a datasource variable`);
    else if (isObject(v.current)) {
      const input = variableName(v.current.value);
      if (input && !inputs.has(input))
        report('templating', `${name} defaults to \${${input}}, which is not an input`);
    }
  }
  const usesDatasource = (where: string, value: unknown): void => {
    const name = datasourceOf(value);
    if (!name) report(where, `datasource ${JSON.stringify(value)} is not one of the datasource variables`);
    else if (!(name in options.datasources)) report(where, `datasource variable ${name} is unknown`);
  };
  for (const v of variables) {
    if (isObject(v) && v.type === 'query') usesDatasource(`variable ${String(v.name)}`, v.datasource);
  }

  const ids = new Set<number>();
  const boxes: Array<{ x: number; y: number; w: number; h: number; name: string }> = [];
  for (const panel of grafanaPanels(dashboard)) {
    const where = `panel ${typeof panel.title === 'string' && panel.title ? panel.title : String(panel.id)}`;
    if (typeof panel.id !== 'number') report(where, 'no numeric id');
    else if (ids.has(panel.id)) report(where, `id ${panel.id} used twice`);
    else ids.add(panel.id);
    const grid = panel.gridPos;
    if (!isObject(grid) || !['x', 'y', 'w', 'h'].every((k) => Number.isInteger(grid[k])))
      report(where, 'no gridPos');
    else {
      const box = { x: Number(grid.x), y: Number(grid.y), w: Number(grid.w), h: Number(grid.h), name: where };
      if (box.x + box.w > 24) report(where, 'goes past column 24');
      for (const other of boxes) {
        const overlap =
          box.x < other.x + other.w &&
          other.x < box.x + box.w &&
          box.y < other.y + other.h &&
          other.y < box.y + box.h;
        if (overlap) report(where, `overlaps ${other.name}`);
      }
      boxes.push(box);
    }
    if (panel.type === 'row' || panel.type === 'text') continue;
    usesDatasource(where, panel.datasource);
    const targets = Array.isArray(panel.targets) ? panel.targets : [];
    if (targets.length === 0) report(where, 'no queries');
    const refIds = new Set<string>();
    for (const t of targets) {
      if (!isObject(t)) continue;
      const ref = String(t.refId);
      if (refIds.has(ref)) report(where, `refId ${ref} used twice`);
      refIds.add(ref);
      if (t.datasource !== undefined) usesDatasource(`${where} ${ref}`, t.datasource);
      const metrics = Array.isArray(t.metrics) ? t.metrics : [];
      const buckets = Array.isArray(t.bucketAggs) ? t.bucketAggs : [];
      if (metrics.length === 0) report(where, `${ref} has no metrics`);
      if (typeof t.timeField !== 'string') report(where, `${ref} has no timeField`);
      const metricIds = new Set<string>();
      for (const m of metrics) if (isObject(m)) metricIds.add(String(m.id));
      const allIds = [...metrics, ...buckets].map((a) => (isObject(a) ? String(a.id) : ''));
      if (new Set(allIds).size !== allIds.length) report(where, `${ref} reuses an aggregation id`);
      for (const m of metrics) {
        if (!isObject(m)) continue;
        for (const v of Array.isArray(m.pipelineVariables) ? m.pipelineVariables : []) {
          if (isObject(v) && !metricIds.has(String(v.pipelineAgg))) {
            report(
              where,
              `${ref}: ${String(m.type)} refers to metric ${String(v.pipelineAgg)}, not in the query`,
            );
          }
        }
      }
      for (const b of buckets) {
        if (!isObject(b) || b.type !== 'terms' || !isObject(b.settings)) continue;
        const orderBy = String(b.settings.orderBy ?? '_term');
        if (!['_term', '_count', '_key'].includes(orderBy) && !metricIds.has(orderBy)) {
          report(
            where,
            `${ref}: terms on ${String(b.field)} orders by ${orderBy}, not a metric of the query`,
          );
        }
      }
      const last = buckets[buckets.length - 1];
      if (panel.type === 'timeseries' && !(isObject(last) && last.type === 'date_histogram')) {
        report(where, `${ref}: a time series query must end with a date_histogram`);
      }
    }
  }
  return problems;
}

/** Every field a Grafana dashboard's queries and query variables use, with the index pattern behind it. */
export function grafanaFieldsUsed(dashboard: unknown, options: GrafanaCheckOptions): FieldUse[] {
  const uses: FieldUse[] = [];
  if (!isObject(dashboard)) return uses;
  const patternOf = (ds: unknown): string | undefined => {
    const name = datasourceOf(ds);
    return name ? options.datasources[name] : undefined;
  };
  const variables =
    isObject(dashboard.templating) && Array.isArray(dashboard.templating.list)
      ? dashboard.templating.list
      : [];
  for (const v of variables) {
    if (!isObject(v) || v.type !== 'query' || typeof v.query !== 'string') continue;
    let query: unknown;
    try {
      query = JSON.parse(v.query);
    } catch {
      continue;
    }
    if (isObject(query) && typeof query.field === 'string') {
      uses.push({
        object: `grafana:variable ${String(v.name)}`,
        title: String(v.label ?? v.name),
        indexPattern: patternOf(v.datasource),
        field: query.field,
        role: `variable ${String(query.find)}`,
        requires: 'aggregatable',
      });
    }
  }
  for (const panel of grafanaPanels(dashboard)) {
    const title = typeof panel.title === 'string' ? panel.title : String(panel.id);
    // Raw documents narrowed to some fields by a filterFieldsByName transformation: those must exist.
    for (const transformation of Array.isArray(panel.transformations) ? panel.transformations : []) {
      if (!isObject(transformation) || transformation.id !== 'filterFieldsByName') continue;
      const include = isObject(transformation.options) ? transformation.options.include : undefined;
      for (const field of isObject(include) && Array.isArray(include.names) ? include.names : []) {
        if (typeof field !== 'string') continue;
        const indexPattern = patternOf(panel.datasource);
        uses.push({
          object: `grafana:${title}`,
          title,
          indexPattern,
          field,
          role: 'column',
          requires: 'exists',
        });
      }
    }
    for (const t of Array.isArray(panel.targets) ? panel.targets : []) {
      if (!isObject(t)) continue;
      const indexPattern = patternOf(t.datasource ?? panel.datasource);
      const add = (field: string, role: string, requires: Requirement): void => {
        uses.push({ object: `grafana:${title}`, title, indexPattern, field, role, requires });
      };
      if (typeof t.timeField === 'string') add(t.timeField, 'time field', 'date');
      if (typeof t.query === 'string') queryFields(t.query).forEach((f) => add(f, 'query', 'searchable'));
      for (const m of Array.isArray(t.metrics) ? t.metrics : []) {
        if (!isObject(m) || typeof m.type !== 'string') continue;
        if (typeof m.field === 'string') add(m.field, m.type, GRAFANA_METRIC_REQUIREMENT[m.type] ?? 'exists');
        if (isObject(m.settings)) {
          // A bucket_script's script reads other metrics (params.x), not fields.
          if (m.type !== 'bucket_script')
            scriptFields(m.settings.script).forEach((f) => add(f, `${m.type} script`, 'aggregatable'));
          const metrics = m.settings.metrics;
          if (m.type === 'top_metrics' && Array.isArray(metrics)) {
            metrics.forEach((f) => typeof f === 'string' && add(f, 'top_metrics', 'aggregatable'));
          }
        }
      }
      for (const b of Array.isArray(t.bucketAggs) ? t.bucketAggs : []) {
        if (!isObject(b) || typeof b.type !== 'string') continue;
        if (typeof b.field === 'string') add(b.field, b.type, GRAFANA_BUCKET_REQUIREMENT[b.type] ?? 'exists');
        const entries = isObject(b.settings) && Array.isArray(b.settings.filters) ? b.settings.filters : [];
        for (const f of entries) {
          if (isObject(f) && typeof f.query === 'string')
            queryFields(f.query).forEach((q) => add(q, 'filters', 'searchable'));
        }
      }
    }
  }
  return uses;
}
