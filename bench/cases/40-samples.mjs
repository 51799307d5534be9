// The real-world sample corpus (every file of test/fixtures/samples, or ../shared/samples when the
// fixtures are absent), valid and invalid inputs together, given as one list of files. Both tools report
// the invalid ones as errors, so a non-zero exit code is expected here and not counted as a failure; the
// output counts of the two tools are compared instead.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fmtBytes } from '../lib/report.mjs';

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

export default function samplesCases(ctx) {
  const candidates = [
    join(ctx.repo, 'test', 'fixtures', 'samples'),
    join(ctx.repo, '..', 'shared', 'samples'),
  ];
  const dir = candidates.find((d) => existsSync(d));
  return [
    {
      id: 'samples',
      group: 'Real-world samples',
      title: 'the sample corpus (aggregate, invalid, extract_report, failure, smtp_tls), every file',
      kind: 'cli',
      allowNonZeroExit: true,
      needs: async () => (dir ? null : `no sample corpus at ${candidates.join(' or ')}`),
      prepare: async () => {
        const files = listFiles(dir);
        const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
        return {
          inputs: files,
          files: files.length,
          reports: files.length,
          records: 0,
          bytes,
          description: `${files.length} files from ${dir.replace(ctx.repo + '/', '')}, ${fmtBytes(bytes)}; reports/s counts input files`,
        };
      },
    },
  ];
}
