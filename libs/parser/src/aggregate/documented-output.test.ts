/**
 * The original's documented output (conformance/documented/aggregate.json) for the dmarc.org wiki example, field for
 * field, as produced on a host in America/New_York. The time zone is fixed by running the parser in a
 * child process started with TZ=America/New_York (through vite's module runner, so it runs these very
 * TypeScript sources, no build needed): changing TZ inside a running test process is not reliable.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { AggregateReport } from '../types.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const sample = join(root, 'test/fixtures/samples/aggregate/old_draft_from_wiki.xml');
const seed = JSON.parse(
  readFileSync(join(root, 'test/fixtures/conformance/documented/aggregate.json'), 'utf8'),
) as Record<string, unknown>;

function parseInTimeZone(timeZone: string): AggregateReport {
  const script = `
    import { readFileSync } from 'node:fs';
    import { runnerImport } from 'vite';
    const { module } = await runnerImport(${JSON.stringify(join(root, 'libs/parser/src/aggregate/index.ts'))});
    const report = module.parseAggregateReportXml(readFileSync(${JSON.stringify(sample)}), { source: 'wiki' });
    process.stdout.write(JSON.stringify(report));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, TZ: timeZone },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as AggregateReport;
}

/** Enrichment fills these later; straight from the parser they are null. */
const enrichmentFields = new Set([
  'records.0.source.country',
  'records.0.source.reverse_dns',
  'records.0.source.base_domain',
]);

/** Every [path, value] of the seed, and the keys of each object in order. */
function walk(value: unknown, path: string, visit: (path: string, value: unknown) => void): void {
  visit(path, value);
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value))
      walk(child, path === '' ? key : `${path}.${key}`, visit);
  }
}

function at(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current = value;
  for (const key of path.split('.')) current = (current as Record<string, unknown> | undefined)?.[key];
  return current;
}

describe('seed example (dmarc.org wiki draft report) under TZ=America/New_York', () => {
  const report = parseInTimeZone('America/New_York');

  it('reproduces every documented key and value, the enrichment fields aside', () => {
    walk(seed, '', (path, expected) => {
      const actual = at(report, path);
      if (enrichmentFields.has(path)) {
        expect(actual, path).toBeNull();
      } else if (typeof expected === 'object' && expected !== null) {
        expect(typeof actual, path).toBe('object');
        // Documented keys first, in the documented order; newer keys may follow.
        const keys = Object.keys(actual as object).slice(0, Object.keys(expected).length);
        expect(keys, path).toEqual(Object.keys(expected));
      } else {
        expect(actual, path).toEqual(expected);
      }
    });
  });

  it('prints the dates in local time', () => {
    expect(report.report_metadata.begin_date).toBe('2012-04-27 20:00:00');
    expect(report.report_metadata.end_date).toBe('2012-04-28 19:59:59');
    // interval fields are UTC whatever the time zone
    expect(report.records[0]?.interval_begin).toBe('2012-04-28 00:00:00');
  });
});
