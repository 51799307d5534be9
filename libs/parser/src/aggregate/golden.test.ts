/**
 * Golden tests over every aggregate XML sample of the corpus (plain, and the .gz/.zip ones decompressed
 * here): our output against parsedmarc 10.4.3's reference, with the documented seed rules and the known,
 * deliberate differences listed per sample; and against our own golden files (TZ=UTC), which pin every
 * value including the recovered ones. `UPDATE_GOLDEN=1 npx vitest run libs/parser/src/aggregate` rewrites
 * them (review the diff).
 *
 * Dates: the references and golden files were rendered in UTC; begin_date/end_date are in the process's
 * local time zone, so they are checked as formatLocal of the instant the UTC text names, which holds in
 * any TZ.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { gunzipSync, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import { formatLocal, formatUtc } from '../time.js';
import type { AggregateReport } from '../types.js';
import { parseAggregateReportXml } from './index.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const samplesDir = join(root, 'test/fixtures/samples');
const referenceDir = join(root, 'test/fixtures/conformance/parsedmarc-10.4.3');
const goldenDir = join(root, 'test/golden/aggregate');
const update = process.env.UPDATE_GOLDEN === '1';

/** Every aggregate sample that is XML, or an XML file in a gzip/zip (emails belong to the container tests). */
const samples = ['aggregate', 'aggregate_invalid', 'extract_report'].flatMap((dir) =>
  readdirSync(join(samplesDir, dir))
    .filter((name) => /\.xml(\.gz|\.zip)?$/.test(name))
    .sort()
    .map((name) => `${dir}/${name}`),
);

function readSample(sample: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(samplesDir, sample)));
  if (sample.endsWith('.gz')) return gunzipSync(bytes);
  if (sample.endsWith('.zip')) {
    const members = Object.values(unzipSync(bytes));
    expect(members).toHaveLength(1);
    return members[0] as Uint8Array;
  }
  return bytes;
}

/**
 * Where 10.4.3's output is not what we must produce, per sample: the paths allowed to differ from the
 * reference, and why. Everything else must be equal.
 */
const knownDifferences: Record<string, { paths: string[]; why: string }> = {
  'aggregate/invalid_xml.xml': {
    paths: ['report_metadata.errors', 'report_metadata.org_email', 'records.0.identifiers.header_from'],
    why:
      'broken XML: recovered values differ between recovering parsers (lxml keeps "@bad-xml.net>" and drops ' +
      '"bad", saxes the other way round); the error text is the parser\'s own',
  },
  'aggregate/invalid_utf_8.xml': {
    paths: ['report_metadata.errors'],
    why: 'we record the dropped non-UTF-8 bytes as a problem; 10.4.3 drops them silently',
  },
  'aggregate/ikea.com!example.de!1538690400!1538776800.xml': {
    paths: ['report_metadata.errors', 'xml_namespace'],
    why:
      "error text is the parser's own; xml_namespace is the namespace of <feedback> (none here), where " +
      '10.4.3 takes the first xmlns declaration anywhere (that of the <xs:schema> wrapper)',
  },
  'aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml': {
    paths: ['xml_namespace'],
    why: '<feedback> is in no namespace; 10.4.3 takes its xmlns:xsd declaration for one',
  },
};

/** Broken samples: recovered, with the problem recorded. */
const brokenSamples = new Set([
  'aggregate/invalid_xml.xml',
  'aggregate/invalid_utf_8.xml',
  'aggregate/ikea.com!example.de!1538690400!1538776800.xml',
]);

/** UTC "YYYY-MM-DD HH:MM:SS" → the same instant in the process's local time zone. */
const utcTextToLocal = (utc: string): string => formatLocal(Date.parse(`${utc.replace(' ', 'T')}Z`) / 1000);

/** The reference with the documented original's rules applied: pct "100" and fo "0" when absent (seed wins). */
function expectedFromReference(reference: AggregateReport): AggregateReport {
  const expected = structuredClone(reference);
  expected.policy_published.pct ??= '100';
  expected.policy_published.fo ??= '0';
  expected.report_metadata.begin_date = utcTextToLocal(reference.report_metadata.begin_date);
  expected.report_metadata.end_date = utcTextToLocal(reference.report_metadata.end_date);
  return expected;
}

/** Paths (a.b.0.c) where two JSON values differ, ignoring key order. */
function differingPaths(actual: unknown, expected: unknown, path = '', out: string[] = []): string[] {
  if (Object.is(actual, expected)) return out;
  if (typeof actual === 'object' && typeof expected === 'object' && actual !== null && expected !== null) {
    if (Array.isArray(actual) !== Array.isArray(expected)) {
      out.push(path);
      return out;
    }
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(e)])) {
      differingPaths(a[key], e[key], path === '' ? key : `${path}.${key}`, out);
    }
    return out;
  }
  out.push(path);
  return out;
}

const allowed = (path: string, prefixes: string[]): boolean =>
  prefixes.some((p) => path === p || path.startsWith(`${p}.`));

/** Key order of the model (types.ts, seed order first): output JSON is compared with the seed key by key. */
const keyOrder = {
  report: ['xml_schema', 'report_metadata', 'policy_published', 'records', 'xml_namespace'],
  report_metadata: [
    'org_name',
    'org_email',
    'org_extra_contact_info',
    'report_id',
    'begin_date',
    'end_date',
    'errors',
    'timespan_requires_normalization',
    'original_timespan_seconds',
    'generator',
  ],
  policy_published: ['domain', 'adkim', 'aspf', 'p', 'sp', 'pct', 'fo', 'np', 'testing', 'discovery_method'],
  record: [
    'source',
    'count',
    'alignment',
    'policy_evaluated',
    'identifiers',
    'auth_results',
    'normalized_timespan',
    'interval_begin',
    'interval_end',
  ],
  source: [
    'ip_address',
    'country',
    'reverse_dns',
    'base_domain',
    'name',
    'type',
    'asn',
    'as_name',
    'as_domain',
  ],
  alignment: ['spf', 'dkim', 'dmarc'],
  policy_evaluated: ['disposition', 'dkim', 'spf', 'policy_override_reasons'],
  reason: ['type', 'comment'],
  identifiers: ['header_from', 'envelope_from', 'envelope_to'],
  auth_results: ['dkim', 'spf'],
  dkim: ['domain', 'selector', 'result', 'human_result'],
  spf: ['domain', 'scope', 'result', 'human_result'],
};

function expectKeyOrder(report: AggregateReport): void {
  expect(Object.keys(report)).toEqual(keyOrder.report);
  expect(Object.keys(report.report_metadata)).toEqual(keyOrder.report_metadata);
  expect(Object.keys(report.policy_published)).toEqual(keyOrder.policy_published);
  for (const record of report.records) {
    expect(Object.keys(record)).toEqual(keyOrder.record);
    expect(Object.keys(record.source)).toEqual(keyOrder.source);
    expect(Object.keys(record.alignment)).toEqual(keyOrder.alignment);
    expect(Object.keys(record.policy_evaluated)).toEqual(keyOrder.policy_evaluated);
    for (const reason of record.policy_evaluated.policy_override_reasons) {
      expect(Object.keys(reason)).toEqual(keyOrder.reason);
    }
    expect(Object.keys(record.identifiers)).toEqual(keyOrder.identifiers);
    expect(Object.keys(record.auth_results)).toEqual(keyOrder.auth_results);
    for (const r of record.auth_results.dkim) expect(Object.keys(r)).toEqual(keyOrder.dkim);
    for (const r of record.auth_results.spf) expect(Object.keys(r)).toEqual(keyOrder.spf);
  }
}

const sumOfCounts = (report: AggregateReport): number => report.records.reduce((sum, r) => sum + r.count, 0);

describe('aggregate samples', () => {
  it('finds the corpus', () => {
    expect(samples.length).toBeGreaterThanOrEqual(20);
  });

  describe.each(samples)('%s', (sample) => {
    const report = parseAggregateReportXml(readSample(sample), { source: sample });
    const reference = (
      JSON.parse(readFileSync(join(referenceDir, `${sample}.parsed.json`), 'utf8')) as {
        report: AggregateReport;
      }
    ).report;

    it('has the reference record count and sum of counts', () => {
      expect(report.records.length).toBe(reference.records.length);
      expect(sumOfCounts(report)).toBe(sumOfCounts(reference));
    });

    it('matches parsedmarc 10.4.3 but for the seed rules and the listed differences', () => {
      const known = knownDifferences[sample]?.paths ?? [];
      const unexpected = differingPaths(report, expectedFromReference(reference)).filter(
        (p) => !allowed(p, known),
      );
      expect(unexpected).toEqual([]);
    });

    it(brokenSamples.has(sample) ? 'records the problem it recovered from' : 'records no problem', () => {
      if (brokenSamples.has(sample)) expect(report.report_metadata.errors).not.toEqual([]);
      else expect(report.report_metadata.errors).toEqual(reference.report_metadata.errors);
    });

    it('builds every object in the key order of the model', () => {
      expectKeyOrder(report);
    });

    it('matches our golden file', () => {
      const goldenPath = join(goldenDir, `${sample}.json`);
      if (update) {
        // Golden files hold dates as TZ=UTC renders them.
        expect(formatLocal(0), 'UPDATE_GOLDEN needs TZ=UTC').toBe(formatUtc(0));
        mkdirSync(dirname(goldenPath), { recursive: true });
        writeFileSync(goldenPath, `${JSON.stringify(report, null, 2)}\n`);
      }
      expect(existsSync(goldenPath), `${goldenPath} missing: run with UPDATE_GOLDEN=1`).toBe(true);
      const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as AggregateReport;
      golden.report_metadata.begin_date = utcTextToLocal(golden.report_metadata.begin_date);
      golden.report_metadata.end_date = utcTextToLocal(golden.report_metadata.end_date);
      expect(report).toEqual(golden);
    });
  });
});
