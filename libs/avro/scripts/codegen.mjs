#!/usr/bin/env node
/**
 * Generates, from the hand-written topic schemas in schemas/*.avsc:
 * - schemas/dmarc_parsed.avsc: the internal topic's schema, composed of the three report schemas (so the
 *   report shapes are written once);
 * - libs/avro/src/generated/schemas.ts: every topic schema as a constant (so built code needs no file reads);
 * - libs/avro/src/generated/types.ts: a TypeScript interface per Avro named type.
 * Types therefore come from the schemas and are never written twice. `node libs/avro/scripts/codegen.mjs`
 * writes the files; `--check` exits 1 when a checked-in file is out of date (a test runs the same check).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Topic name → schema file, in the order the generated code lists them. */
export const handWritten = [
  'raw-mail',
  'dmarc_aggregate',
  'dmarc_forensic',
  'dmarc_smtp_tls',
  'dmarc_dead_letter',
];
export const composedTopic = 'dmarc_parsed';

const namedKinds = new Set(['record', 'enum', 'fixed', 'error']);

function fullName(schema, namespace) {
  if (schema.name.includes('.')) return schema.name;
  const ns = schema.namespace ?? namespace;
  return ns ? `${ns}.${schema.name}` : schema.name;
}

/**
 * Returns a copy of `schema` in which every named type already in `defined` is replaced by a reference to
 * its name (Avro allows a name to be defined once per schema). Throws when a name is defined differently.
 */
function dedupeNames(schema, defined, namespace) {
  if (Array.isArray(schema)) return schema.map((branch) => dedupeNames(branch, defined, namespace));
  if (typeof schema !== 'object' || schema === null) return schema;
  if (namedKinds.has(schema.type)) {
    const name = fullName(schema, namespace);
    const canonical = avro.Type.forSchema(schema, { namespace }).getSchema({ noDeref: false });
    const known = defined.get(name);
    if (known !== undefined) {
      if (JSON.stringify(known) !== JSON.stringify(canonical)) {
        throw new Error(`Avro type ${name} is defined twice with different shapes`);
      }
      return name;
    }
    defined.set(name, canonical);
    const ns = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
    if (schema.type === 'record' || schema.type === 'error') {
      return {
        ...schema,
        fields: schema.fields.map((field) => ({ ...field, type: dedupeNames(field.type, defined, ns) })),
      };
    }
    return schema;
  }
  if (schema.type === 'array') return { ...schema, items: dedupeNames(schema.items, defined, namespace) };
  if (schema.type === 'map') return { ...schema, values: dedupeNames(schema.values, defined, namespace) };
  return schema;
}

export function readHandWritten(dir = join(root, 'schemas')) {
  return Object.fromEntries(
    handWritten.map((topic) => [topic, JSON.parse(readFileSync(join(dir, `${topic}.avsc`), 'utf8'))]),
  );
}

export function composeParsedSchema(schemas) {
  const defined = new Map();
  const embed = (topic) => dedupeNames(schemas[topic], defined, undefined);
  return {
    type: 'record',
    name: 'ParsedReportMessage',
    namespace: 'parsedmarc',
    doc: 'Internal topic between report-parse and enrich: one parsed report of any type, before enrichment. Exactly one of aggregate, forensic, smtp_tls is set, named by report_type. GENERATED from the three report schemas by libs/avro/scripts/codegen.mjs: do not edit.',
    fields: [
      { name: 'report_type', type: 'string', doc: 'aggregate, forensic or smtp_tls' },
      { name: 'aggregate', type: ['null', embed('dmarc_aggregate')], default: null },
      { name: 'forensic', type: ['null', embed('dmarc_forensic')], default: null },
      { name: 'smtp_tls', type: ['null', embed('dmarc_smtp_tls')], default: null },
      {
        name: 'forensic_email',
        type: ['null', 'bytes'],
        default: null,
        doc: 'The whole failure-report email a forensic report came from (for .eml output), when kept.',
      },
    ],
  };
}

// ---- TypeScript -------------------------------------------------------------------------------------------

function tsDoc(doc, indent) {
  if (!doc) return '';
  return `${indent}/** ${doc.replace(/\*\//g, '*\\/')} */\n`;
}

function simpleName(name) {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Collects interfaces for every named type of `schema` into `out` (name → source) and returns the TS type. */
function tsType(schema, out, namespace) {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'bytes':
        return 'Buffer';
      case 'string':
        return 'string';
      default:
        return simpleName(schema);
    }
  }
  if (Array.isArray(schema)) {
    const branches = schema.map((branch) => tsType(branch, out, namespace));
    const nonNull = schema.filter((branch) => branch !== 'null');
    if (nonNull.length > 1)
      throw new Error('only unions of null and one type are supported (avsc unwraps those)');
    return branches.join(' | ');
  }
  switch (schema.type) {
    case 'array':
      return `${wrap(tsType(schema.items, out, namespace))}[]`;
    case 'map':
      return `Record<string, ${tsType(schema.values, out, namespace)}>`;
    case 'enum': {
      const name = simpleName(schema.name);
      out.set(
        name,
        `${tsDoc(schema.doc, '')}export type ${name} = ${schema.symbols.map((s) => `'${s}'`).join(' | ')};\n`,
      );
      return name;
    }
    case 'fixed':
      return 'Buffer';
    case 'record':
    case 'error': {
      const name = simpleName(schema.name);
      const ns = fullName(schema, namespace).split('.').slice(0, -1).join('.') || undefined;
      let body = `${tsDoc(schema.doc, '')}export interface ${name} {\n`;
      for (const field of schema.fields) {
        body += tsDoc(field.doc, '  ');
        body += `  ${field.name}: ${tsType(field.type, out, ns)};\n`;
      }
      body += '}\n';
      const known = out.get(name);
      if (known !== undefined && known !== body) throw new Error(`two Avro types named ${name} differ`);
      out.set(name, body);
      return name;
    }
    default:
      return tsType(schema.type, out, namespace);
  }
}

function wrap(type) {
  return type.includes(' ') ? `(${type})` : type;
}

const header = (what) =>
  `// GENERATED by libs/avro/scripts/codegen.mjs from schemas/*.avsc: do not edit; run \`node libs/avro/scripts/codegen.mjs\`.\n// ${what}\n`;

function pascal(topic) {
  return topic.replace(/(^|[-_])([a-z])/g, (_m, _sep, c) => c.toUpperCase());
}

/** Every generated file: repo-relative path → content. */
export function generate(schemas = readHandWritten()) {
  const all = { ...schemas, [composedTopic]: composeParsedSchema(schemas) };
  // Fail early on a schema avsc rejects (also checks defaults against their types).
  for (const [topic, schema] of Object.entries(all)) {
    try {
      avro.Type.forSchema(schema);
    } catch (error) {
      throw new Error(`schemas/${topic}.avsc: ${error.message}`);
    }
  }
  const topics = [...handWritten, composedTopic];

  let schemasTs = header('Every topic value schema, as the registry stores it.');
  schemasTs +=
    '\n/** Kafka topic kinds of the pipeline; each has one value schema, registered as `<topic>-value`. */\n';
  schemasTs += `export const topicKinds = ${JSON.stringify(topics)} as const;\nexport type TopicKind = (typeof topicKinds)[number];\n\n`;
  schemasTs += 'export const topicSchemas: Record<TopicKind, object> = {\n';
  for (const topic of topics) schemasTs += `  '${topic}': ${JSON.stringify(all[topic])},\n`;
  schemasTs += '};\n';

  const interfaces = new Map();
  let typesTs = header(
    'TypeScript types of the Avro values (as avsc decodes them: long → number, bytes → Buffer).',
  );
  const roots = [];
  for (const topic of topics) roots.push([topic, tsType(all[topic], interfaces, undefined)]);
  typesTs += '\n' + [...interfaces.values()].join('\n');
  typesTs += '\n/** The value type of each topic. */\nexport interface TopicValues {\n';
  for (const [topic, type] of roots) typesTs += `  '${topic}': ${type};\n`;
  typesTs += '}\n';
  for (const [topic, type] of roots) typesTs += `export type ${pascal(topic)}Value = ${type};\n`;

  return {
    [`schemas/${composedTopic}.avsc`]: JSON.stringify(all[composedTopic], null, 2) + '\n',
    'libs/avro/src/generated/schemas.ts': schemasTs,
    'libs/avro/src/generated/types.ts': typesTs,
  };
}

/** Paths whose checked-in content differs from what generate() produces. */
export function outdated(files = generate()) {
  return Object.entries(files)
    .filter(([path, content]) => {
      try {
        return readFileSync(join(root, path), 'utf8') !== content;
      } catch {
        return true;
      }
    })
    .map(([path]) => path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = generate();
  if (process.argv.includes('--check')) {
    const stale = outdated(files);
    if (stale.length > 0) {
      console.error(`out of date (run node libs/avro/scripts/codegen.mjs): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    console.log(`wrote ${Object.keys(files).join(', ')}`);
  }
}
