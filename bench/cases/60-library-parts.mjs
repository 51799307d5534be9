// Library-level parts, in-process with our libs, each in its own process: decompression, XML parsing,
// XML parsing + normalization, output writing (JSON, CSV), and parseReports end to end. Reference rows
// (node:zlib, bare saxes) show what the building blocks cost on their own. A part whose API is not there
// yet is a TODO row, never a number.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fmtBytes } from '../lib/report.mjs';

const PARTS = [
  ['gunzip-ours', 'gz', 'decompression: our gunzip (streaming, bomb checks)', 'ours'],
  ['gunzip-zlib', 'gz', 'decompression: node:zlib gunzipSync, whole buffer', 'reference'],
  ['xml-saxes', 'xml', 'XML tokenizing: saxes events only (what our parser is built on)', 'reference'],
  ['aggregate-stream', 'xml', 'XML parsing + normalization: AggregateReportStreamParser', 'ours'],
  ['output-json', 'xml', 'output writing: aggregate JSON (JsonArrayWriter)', 'ours'],
  ['output-csv', 'xml', 'output writing: aggregate CSV (aggregateCsvLines)', 'ours'],
  ['parse-reports', 'gz', 'parseReports end to end (.xml.gz file stream → records)', 'ours'],
];

export default function libraryPartCases(ctx) {
  const n = ctx.quick ? 1000 : 100_000;
  return [
    {
      id: `parts/${n}`,
      group: 'Library-level parts',
      title: `library parts on the ${n.toLocaleString('en-US')}-record report, in-process`,
      kind: 'parts',
      run: async () => {
        const set = await ctx.corpus.aggregate(n);
        const worker = join(ctx.benchDir, 'lib', 'parts-worker.mjs');
        const rows = [];
        for (const [part, format, label, impl] of PARTS) {
          const tmp = mkdtempSync(join(os.tmpdir(), 'pdm-bench-part-'));
          const resultFile = join(tmp, 'result.json');
          const file = set.files[format];
          const samples = [];
          let last = null;
          for (let i = 0; i < ctx.runs; i++) {
            const m = await ctx.measure(
              process.execPath,
              ['--expose-gc', worker, part, file.path, resultFile],
              { cwd: ctx.repo },
            );
            let r;
            try {
              r = JSON.parse(readFileSync(resultFile, 'utf8'));
            } catch {
              r = { error: `worker exit ${m.exitCode}: ${m.stderr.slice(-1500)}` };
            }
            last = { ...r, peakRssKB: m.peakRssKB };
            if (r.todo || r.error) break;
            samples.push(last);
          }
          rmSync(tmp, { recursive: true, force: true });
          const row = {
            part,
            label,
            impl,
            input: `${n.toLocaleString('en-US')} records, ${format === 'gz' ? '.xml.gz' : '.xml'} (${fmtBytes(file.bytes)})`,
            records: n,
          };
          if (last.todo) row.todo = last.todo;
          else if (last.error) row.error = last.error;
          else {
            samples.sort((a, b) => a.ms - b.ms);
            const mid = samples[Math.floor(samples.length / 2)];
            Object.assign(row, {
              ms: mid.ms,
              bytesIn: mid.bytesIn,
              bytesOut: mid.bytesOut ?? null,
              recordsOut: mid.records ?? null,
              peakRssKB: mid.peakRssKB,
              note: mid.note ?? null,
              runs: samples.length,
            });
          }
          rows.push(row);
        }
        return rows;
      },
    },
  ];
}
