/**
 * Syslog messages of the real sample reports against those the original parsedmarc sent for the same files
 * (test/golden/syslog/original, captured from its command line by test/golden/syslog/capture-original.mjs):
 * the same framing ("<14>" ... NUL), the same rows in the same order, the same keys (in the same order but
 * for forensic rows), the same values but for those our report model fills differently on purpose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseReports } from '@parsedmarc-ts/parser';
import { originalSyslogMessages } from './syslog.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const samples = join(root, 'test/fixtures/samples');
const originalDir = join(root, 'test/golden/syslog/original');
const CAPTURED_SAMPLES = JSON.parse(
  readFileSync(join(root, 'test/golden/hec/samples.json'), 'utf8'),
) as string[];

async function messagesOf(name: string): Promise<string[]> {
  const out: string[] = [];
  const bytes = new Uint8Array(readFileSync(join(samples, name)));
  for await (const outcome of parseReports(bytes, { source: name })) {
    if (!outcome.ok) throw new Error(`${name}: ${outcome.error.message}`);
    out.push(...originalSyslogMessages(outcome.parsed));
  }
  return out;
}

/**
 * Values enrichment fills (this test parses without it; the original looked the IPs up in its bundled
 * database) or that our report model gives differently on purpose, as in the HEC comparison: the documented original's
 * pct "100" and fo "0" when absent (the newer original leaves them empty), the delivery result as
 * reported, and the MX patterns of RFC 8460's mx-host (the original reads only mx-host-pattern). The JSON
 * output's own tests guard those.
 */
const modelFields = new Set([
  'pct',
  'fo',
  'mx_host_patterns',
  'source_country',
  'source_type',
  'source_name',
  'source_asn',
  'source_as_name',
  'source_as_domain',
  'delivery_result',
]);

/** "<14>" + the JSON + a NUL. */
const unframe = (message: string): string | undefined =>
  message.startsWith('<14>') && message.endsWith(String.fromCharCode(0)) ? message.slice(4, -1) : undefined;

describe('syslog messages match the original parsedmarc', () => {
  it.each(CAPTURED_SAMPLES)('%s', async (sample) => {
    const expected = readFileSync(join(originalDir, `${sample}.jsonl`), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as string);
    const ours = await messagesOf(sample);
    expect(ours).toHaveLength(expected.length);
    for (const [i, message] of ours.entries()) {
      const ourJson = unframe(message);
      const theirJson = unframe(expected[i]!);
      expect(ourJson).toBeDefined();
      expect(theirJson).toBeDefined();
      // Python's json.dumps escapes every non-ASCII character: so do we.
      expect(ourJson).toMatch(/^[\x20-\x7e]*$/);
      const ourRow = JSON.parse(ourJson!) as Record<string, unknown>;
      const theirRow = JSON.parse(theirJson!) as Record<string, unknown>;
      const keys = (row: Record<string, unknown>) => Object.keys(row).filter((k) => !modelFields.has(k));
      // The original's forensic rows list the report's fields in the order the report gave them (missing
      // ones last), so their order varies by reporter; ours is the model's. Aggregate and SMTP TLS rows have
      // one order in both.
      if (sample.startsWith('failure/')) expect(keys(ourRow).sort()).toEqual(keys(theirRow).sort());
      else expect(keys(ourRow)).toEqual(keys(theirRow));
      const values = (row: Record<string, unknown>) =>
        Object.entries(row).filter(([k]) => !modelFields.has(k));
      expect(new Map(values(ourRow))).toEqual(new Map(values(theirRow)));
    }
  });
});
