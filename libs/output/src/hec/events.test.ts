/**
 * HEC events of the real sample reports against the events the original parsedmarc sent for the same files
 * (test/golden/hec/original, captured from its command line by test/golden/hec/capture-original.mjs): the
 * same envelope, sourcetypes, times and event fields, in the same key order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseReports, type ParsedReport } from '@parsedmarc-ts/parser';
import { hecEventsOf, type HecEventOptions } from './events.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const samples = join(root, 'test/fixtures/samples');
const originalDir = join(root, 'test/golden/hec/original');
/** The samples test/golden/hec/capture-original.mjs captured. */
const CAPTURED_SAMPLES = JSON.parse(
  readFileSync(join(root, 'test/golden/hec/samples.json'), 'utf8'),
) as string[];

async function parsedOf(name: string, aggregatePartRecords?: number): Promise<ParsedReport[]> {
  const out: ParsedReport[] = [];
  const bytes = new Uint8Array(readFileSync(join(samples, name)));
  for await (const outcome of parseReports(bytes, {
    source: name,
    ...(aggregatePartRecords ? { aggregatePartRecords } : {}),
  })) {
    if (!outcome.ok) throw new Error(`${name}: ${outcome.error.message}`);
    out.push(outcome.parsed);
  }
  return out;
}

const options: HecEventOptions = { host: 'HOST', index: 'email', forensicSourcetype: 'dmarc:failure' };

function eventsOf(parsed: ParsedReport, opts: HecEventOptions = options, firstRecord = 0): string[] {
  const result = hecEventsOf(parsed, opts, firstRecord);
  if (!result.ok) throw new Error(result.reason);
  return result.events;
}

/**
 * Fields whose values come from our report model rather than from the HEC shaping, where our JSON output
 * deliberately differs from the newer original (the documented original's defaults for pct and fo; the sample parser's
 * Received hops and dates) or that enrichment fills (this test parses without enrichment, the original
 * looked the IPs up in its bundled database). The JSON output's own tests guard those values.
 */
const modelFields = new Set([
  'source_country',
  'source_type',
  'source_name',
  'source_asn',
  'source_as_name',
  'source_as_domain',
  'published_policy',
  'parsed_sample',
  'source',
  'delivery_result',
  'policies',
]);

type Json = Record<string, unknown>;

describe('HEC events match the original parsedmarc', () => {
  it.each(CAPTURED_SAMPLES)('%s', async (sample) => {
    const expected = readFileSync(join(originalDir, `${sample}.jsonl`), 'utf8')
      .trimEnd()
      .split('\n');
    const ours = (await parsedOf(sample)).flatMap((parsed) => eventsOf(parsed));
    expect(ours).toHaveLength(expected.length);
    for (const [i, line] of ours.entries()) {
      const { event: ourEvent, ...ourEnvelope } = JSON.parse(line) as Json & { event: Json };
      const { event: theirEvent, ...theirEnvelope } = JSON.parse(expected[i]!) as Json & { event: Json };
      // The envelope, key for key and in order.
      expect(Object.entries(ourEnvelope)).toEqual(Object.entries(theirEnvelope));
      expect(Object.keys(ourEvent).sort()).toEqual(Object.keys(theirEvent).sort());
      const values = (event: Json) => Object.entries(event).filter(([k]) => !modelFields.has(k));
      expect(new Map(values(ourEvent))).toEqual(new Map(values(theirEvent)));
    }
  });
});

describe('HEC events', () => {
  const large = 'aggregate/!large-example.com!1711897200!1711983600.xml';

  it('are the same whether a huge report arrives whole or in parts', async () => {
    const [whole] = await parsedOf(large);
    const parts = await parsedOf(large, 500);
    expect(parts.length).toBeGreaterThan(2);
    const fromParts = parts.flatMap((p, i) => eventsOf(p, options, i * 500));
    expect(fromParts).toEqual(eventsOf(whole!));
    expect(fromParts).toHaveLength(2286);
    // One JSON object per event, no line end inside (the request body is one event per line).
    expect(fromParts.every((line) => !line.includes('\n'))).toBe(true);
  });

  it('leave the index to the token when none is set, and say dmarc:forensic unless told otherwise', async () => {
    const [forensic] = await parsedOf('failure/dmarc_ruf_report_linkedin.eml');
    const [line] = eventsOf(forensic!, { host: 'mx1.example.net', index: null });
    const event = JSON.parse(line!) as Json;
    expect(Object.keys(event)).toEqual(['host', 'source', 'sourcetype', 'time', 'event']);
    expect(event['sourcetype']).toBe('dmarc:forensic');
    expect(event['host']).toBe('mx1.example.net');
    expect(event['time']).toBe(Date.UTC(2019, 3, 30, 2, 9, 0) / 1000);
  });

  it('refuse a report that cannot be dated, naming the record', async () => {
    const [parsed] = await parsedOf('aggregate/usssa.com!example.com!1538784000!1538870399.xml');
    if (parsed!.report_type !== 'aggregate') throw new Error('not aggregate');
    const broken: ParsedReport = {
      report_type: 'aggregate',
      report: {
        ...parsed!.report,
        records: parsed!.report.records.map((r, i) => (i === 1 ? { ...r, interval_begin: 'soon' } : r)),
      },
    };
    const result = hecEventsOf(broken, options, 40);
    expect(result).toEqual({
      ok: false,
      code: 'UNDATABLE_REPORT',
      reason: 'aggregate record 41 has no readable interval begin ("soon")',
    });
  });
});
