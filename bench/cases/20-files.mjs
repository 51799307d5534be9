// A folder of N small aggregate reports (1–8 records each; .xml, .xml.gz, .zip and .eml in turn; many
// reporters and days), given as one directory argument: the "cost vs number of files" growth series.
import { fmtBytes } from '../lib/report.mjs';

export default function folderCases(ctx) {
  const total = ctx.quick ? 100 : 10_000;
  const counts = ctx.quick ? [1, 10, 100] : [1, 10, 100, 1000, 10_000];
  return counts.map((n) => ({
    id: `folder/${n}`,
    group: 'Folder of small report files, by number of files',
    title: `${n.toLocaleString('en-US')} file${n === 1 ? '' : 's'}`,
    kind: 'cli',
    series: { id: 'files', label: 'a folder of small aggregate reports, by files', xLabel: 'files', x: n },
    prepare: async () => {
      const set = await ctx.corpus.smallReports(total);
      const view = await set.view(n);
      return {
        inputs: [view.dir],
        files: n,
        reports: n,
        records: view.records,
        bytes: view.bytes,
        description: `${n.toLocaleString('en-US')} files, ${view.records.toLocaleString('en-US')} records, ${fmtBytes(view.bytes)}`,
        expect: { aggregateReports: n, aggregateRecords: view.records },
      };
    },
  }));
}
