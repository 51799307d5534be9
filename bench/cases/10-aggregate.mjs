// One aggregate report of 1 → 100,000 records, as .xml, .xml.gz, .zip and as an email with a base64 gzip
// attachment (Google's shape). Each container is also a "cost vs report size" growth series.
import { fmtBytes } from '../lib/report.mjs';

const FORMATS = [
  ['xml', '.xml'],
  ['gz', '.xml.gz'],
  ['zip', '.zip'],
  ['eml', '.eml (base64 gzip attachment)'],
];

export default function aggregateCases(ctx) {
  const sizes = ctx.quick ? [1, 100, 1000] : [1, 100, 1000, 10_000, 50_000, 100_000];
  const cases = [];
  for (const n of sizes) {
    for (const [format, label] of FORMATS) {
      // 1,000 records only as .xml in the full run: one more point on the size curve, without paying the
      // original's start-up three more times per format
      if (!ctx.quick && n === 1000 && format !== 'xml') continue;
      // 50,000 records (a goal of its own) only as .xml.gz: the original takes half a minute per run
      if (n === 50_000 && format !== 'gz') continue;
      cases.push({
        id: `aggregate/${n}/${format}`,
        group: 'Aggregate report, by size and container',
        title: `${n.toLocaleString('en-US')} record${n === 1 ? '' : 's'}, ${label}`,
        kind: 'cli',
        series: {
          id: `size-${format}`,
          label: `one aggregate report (${label}), by records`,
          xLabel: 'records',
          x: n,
        },
        prepare: async () => {
          const set = await ctx.corpus.aggregate(n);
          const file = set.files[format];
          return {
            inputs: [file.path],
            files: 1,
            reports: 1,
            records: n,
            bytes: file.bytes,
            description: `${fmtBytes(file.bytes)}${format === 'xml' ? '' : ` (${fmtBytes(set.xmlBytes)} of XML)`}`,
            expect: { aggregateRecords: n },
          };
        },
      });
    }
  }
  return cases;
}
