/**
 * The -o folder after a crash: every file cut back to the same durable point (the last flush), the samples
 * written since removed, so a rerun writes each report once in every file.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseReports, type ParsedReport } from '@parsedmarc-ts/parser';
import { OutputDirSink, samplesGathered } from './files.js';

const samples = fileURLToPath(new URL('../../../test/fixtures/samples/', import.meta.url));

async function parsed(name: string): Promise<ParsedReport> {
  for await (const outcome of parseReports(new Uint8Array(readFileSync(join(samples, name))), {
    source: name,
  })) {
    if (outcome.ok) return outcome.parsed;
  }
  throw new Error(`${name}: no report`);
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').trimEnd().split('\n');

describe('OutputDirSink after a crash', () => {
  it('cuts every file back to the last flush and removes the samples written since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-crash-'));
    const a = await parsed('aggregate/old_draft_from_wiki.xml');
    const b = await parsed('aggregate/veeam.com!example.com!1530133200!1530219600.xml');
    const f1 = await parsed('failure/dmarc_ruf_report_linkedin.eml');
    const f2 = await parsed(
      'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
    );
    // Samples are gathered until a flush or until they are this big: f2's reaches the disk at once.
    if (f2.report_type !== 'forensic') throw new Error('f2: not a failure report');
    f2.report.sample += `\n${'x'.repeat(samplesGathered.chars)}`;

    const crashed = new OutputDirSink(dir);
    await crashed.write({ source: 'a', parsed: a });
    await crashed.write({ source: 'f1', parsed: f1 });
    await crashed.flush();
    await crashed.write({ source: 'b', parsed: b });
    await crashed.write({ source: 'f2', parsed: f2 });
    // The process dies here: part of what followed the flush had reached the files, unevenly.
    appendFileSync(join(dir, 'aggregate.json'), ',\n  {\n    "xml_schema": "dr');
    appendFileSync(join(dir, 'aggregate.csv'), 'draft,complete,row\n');
    appendFileSync(join(dir, 'forensic.csv'), 'auth-failure,half a li');
    expect(readdirSync(join(dir, 'samples'))).toHaveLength(2);

    const rerun = new OutputDirSink(dir);
    await rerun.write({ source: 'b', parsed: b });
    await rerun.write({ source: 'f2', parsed: f2 });
    await rerun.close();

    const json = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown[];
    expect(json('aggregate.json')).toEqual([a.report, b.report]);
    expect(json('forensic.json')).toEqual([f1.report, f2.report]);
    const aggregateRecords =
      a.report_type === 'aggregate' && b.report_type === 'aggregate'
        ? a.report.records.length + b.report.records.length
        : -1;
    expect(lines(join(dir, 'aggregate.csv'))).toHaveLength(1 + aggregateRecords);
    expect(lines(join(dir, 'forensic.csv'))).toHaveLength(3);
    // f2's sample was written again under its own name, not beside a leftover as "... (1).eml".
    expect(readdirSync(join(dir, 'samples')).sort()).toEqual([
      'Subject line, could be UTF8 encoded.eml',
      'Subject.eml',
    ]);
  });

  it('cuts nothing when a file is shorter than the checkpoint says (someone else changed the folder)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-crash-'));
    const a = await parsed('aggregate/old_draft_from_wiki.xml');
    const first = new OutputDirSink(dir);
    await first.write({ source: 'a', parsed: a });
    await first.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'aggregate.csv'), '');
    appendFileSync(join(dir, 'forensic.csv'), 'kept\n');
    const second = new OutputDirSink(dir);
    await second.close();
    expect(readFileSync(join(dir, 'forensic.csv'), 'utf8')).toMatch(/kept\n$/);
  });
});
