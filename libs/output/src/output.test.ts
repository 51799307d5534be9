import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AggregateReport, ForensicReport } from '@parsedmarc-ts/parser';
import {
  aggregateDocumentedColumns,
  csvCell,
  forensicDocumentedColumns,
  parsedAggregateReportsToCsv,
  parsedForensicReportsToCsv,
} from './csv.js';
import { compactJson, JsonArrayWriter } from './json.js';
import { pythonJsonDumps } from './kafka-json.js';
import { SampleNamer } from './zip.js';

const fixture = (p: string): string =>
  readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');

/** The original's documented aggregate example, completed with the fields of the newer model. */
function seedAggregate(): AggregateReport {
  const seed = JSON.parse(fixture('conformance/documented/aggregate.json'));
  for (const r of seed.records) {
    Object.assign(r.source, { name: null, type: null, asn: null, as_name: null, as_domain: null });
    Object.assign(r, {
      normalized_timespan: false,
      interval_begin: '2012-04-28 00:00:00',
      interval_end: '2012-04-28 23:59:59',
    });
    for (const a of [...r.auth_results.dkim, ...r.auth_results.spf]) a.human_result = null;
  }
  Object.assign(seed.report_metadata, {
    timespan_requires_normalization: false,
    original_timespan_seconds: 86399,
    generator: null,
  });
  Object.assign(seed.policy_published, { np: null, testing: null, discovery_method: null });
  seed.xml_namespace = null;
  return seed;
}

describe('aggregate CSV', () => {
  it("reproduces the original's documented CSV in the documented original's columns, then appends the new ones", () => {
    const [header, row, ...rest] = parsedAggregateReportsToCsv(seedAggregate()).split('\n');
    const [seedHeader, seedRow] = fixture('conformance/documented/aggregate.csv').trim().split('\n');
    expect(rest).toEqual(['']);
    expect(header!.startsWith(`${seedHeader},`)).toBe(true);
    expect(row!.startsWith(`${seedRow},`)).toBe(true);
    expect(header!.split(',').slice(0, aggregateDocumentedColumns.length)).toEqual([
      ...aggregateDocumentedColumns,
    ]);
    expect(header!.split(',').slice(aggregateDocumentedColumns.length)).toContain('dmarc_aligned');
  });
});

describe('forensic CSV', () => {
  it("reproduces the original's documented CSV row", () => {
    const seed = JSON.parse(fixture('conformance/documented/forensic.json')) as ForensicReport;
    Object.assign(seed.source, { name: null, type: null, asn: null, as_name: null, as_domain: null });
    const [header, row] = parsedForensicReportsToCsv(seed).split('\n');
    const [seedHeader, seedRow] = fixture('conformance/documented/forensic.csv').trim().split('\n');
    expect(header!.split(',').slice(0, forensicDocumentedColumns.length).join(',')).toBe(seedHeader);
    expect(row!.startsWith(`${seedRow},`)).toBe(true);
  });
});

describe('csvCell', () => {
  it('neutralizes cells a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('example.com')).toBe('example.com');
  });
  it('renders like Python csv: booleans True/False, null empty, quotes doubled', () => {
    expect(csvCell(true)).toBe('True');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
  });
});

describe('compactJson', () => {
  it('spaces items and keys as Python json.dumps does without indent, and keeps values as JSON.stringify', () => {
    const value = { a: [1, 'x, "y"', null, {}, []], b: { c: true, skip: undefined }, d: 'ü\n' };
    expect(compactJson(value)).toBe('{"a": [1, "x, \\"y\\"", null, {}, []], "b": {"c": true}, "d": "ü\\n"}');
    expect(JSON.parse(compactJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
    expect(compactJson([undefined, new Date(0)])).toBe('[null, "1970-01-01T00:00:00.000Z"]');
  });
  it('merges aggregate parts on one line in the compact layout', () => {
    const whole = seedAggregate();
    const r0 = whole.records[0]!;
    const records = [0, 1, 2].map((i) => ({ ...r0, count: i }));
    let text = '';
    const writer = new JsonArrayWriter((c) => (text += c), 2, false, 'compact');
    writer.add({ a: 1 });
    writer.addAggregatePart({ ...whole, records: records.slice(0, 1) }, true, false);
    writer.addAggregatePart({ ...whole, records: records.slice(1) }, false, true);
    writer.close();
    expect(text).toBe(compactJson([{ a: 1 }, { ...whole, records }]));
  });
});

describe('pythonJsonDumps', () => {
  it('escapes every non-ASCII character as json.dumps does by default, astral ones as surrogate pairs', () => {
    expect(pythonJsonDumps({ s: 'Grüße 😀', n: [1, null] })).toBe(
      '{"s": "Gr\\u00fc\\u00dfe \\ud83d\\ude00", "n": [1, null]}',
    );
  });
});

describe('JsonArrayWriter', () => {
  it('merges the parts of one aggregate report into the JSON of the whole report', () => {
    const whole = seedAggregate();
    const r0 = whole.records[0]!;
    const records = [0, 1, 2, 3, 4].map((i) => ({ ...r0, count: i }));
    const report = { ...whole, records };
    let text = '';
    const writer = new JsonArrayWriter((c) => (text += c));
    writer.add({ a: 1 });
    writer.addAggregatePart({ ...report, records: records.slice(0, 2) }, true, false);
    writer.addAggregatePart({ ...report, records: [] }, false, false);
    writer.addAggregatePart({ ...report, records: records.slice(2) }, false, true);
    writer.addAggregatePart({ ...report, records: [] }, true, true);
    writer.close();
    expect(text).toBe(JSON.stringify([{ a: 1 }, report, { ...report, records: [] }], null, 2));
  });
  it('writes nested arrays with the indentation of the combined output', () => {
    let text = '{\n  "aggregate_reports": ';
    const writer = new JsonArrayWriter((c) => (text += c), 2);
    writer.addAggregatePart(seedAggregate(), true, true);
    writer.close();
    text += ',\n  "forensic_reports": []\n}';
    expect(text).toBe(
      JSON.stringify({ aggregate_reports: [seedAggregate()], forensic_reports: [] }, null, 2),
    );
  });
});

describe('SampleNamer', () => {
  it('numbers repeated subjects, never meets a subject that reads like a number, and leaves no path', () => {
    const namer = new SampleNamer();
    expect(['X', 'X', 'X (1)', 'X', '../../etc/passwd', null].map((s) => namer.name(s))).toEqual([
      'X.eml',
      'X (1).eml',
      'X (1) (1).eml',
      'X (2).eml',
      'etcpasswd.eml',
      'None.eml',
    ]);
  });
  it('drops control characters and direction overrides, and keeps names within 255 bytes', () => {
    const namer = new SampleNamer();
    expect(namer.name('a\u0000b\u001b[31mc\u0085d\u202eexe.fdp')).toBe('ab[31mcdexe.fdp.eml');
    const long = namer.name('é'.repeat(150));
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(255);
    expect(namer.name('\u0000\u0001')).toBe('sample.eml');
  });
  it('probes about one name per sample, however many share a subject', () => {
    let probes = 0;
    const onDisk = new Set(['Report', 'Report (1)']);
    const namer = new SampleNamer((name) => {
      probes += 1;
      return onDisk.has(name);
    });
    const names = Array.from({ length: 5000 }, () => namer.name('Report'));
    expect(names[0]).toBe('Report (2).eml');
    expect(new Set(names).size).toBe(5000);
    expect(probes).toBeLessThan(5000 + 10);
  });
});
