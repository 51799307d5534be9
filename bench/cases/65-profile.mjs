// Where our CLI's time goes on the largest aggregate report: one run under V8's sampling profiler
// (--cpu-prof), self time summed by what the code is for. Evidence for the shortfalls, not a timing: the
// profiler itself adds some overhead.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const CATEGORIES = [
  ['garbage collection', (f) => f === '(garbage collector)'],
  ['output formatting (libs/output: JSON, CSV)', (_f, u) => u.includes('/libs/output/')],
  [
    'output I/O (writes, fsync)',
    (f, u) =>
      ['writeString', 'writeBuffer', 'fsync', 'writev', 'close'].includes(f) ||
      u === 'node:fs' ||
      u.startsWith('node:internal/fs'),
  ],
  ['XML tokenizing (saxes, xmlchars)', (_f, u) => u.includes('/saxes/') || u.includes('/xmlchars/')],
  [
    'aggregate parsing and normalization (libs/parser/aggregate)',
    (_f, u) => u.includes('/libs/parser/') && u.includes('/aggregate/'),
  ],
  [
    'containers: detection, decompression, decoding',
    (f, u) =>
      (u.includes('/libs/parser/') && u.includes('/containers/')) ||
      u === 'node:zlib' ||
      f === 'decode' ||
      u.includes('/fflate/'),
  ],
  [
    'enrichment, offline (libs/enrich, IP database)',
    (_f, u) => u.includes('/libs/enrich/') || u.includes('/mmdb-lib/') || u.includes('/maxmind/'),
  ],
  [
    'email parsing (mailparser and friends)',
    (_f, u) =>
      /\/(mailparser|libmime|libqp|libbase64|iconv-lite|encoding-japanese|html-to-text)\//.test(u) ||
      u.includes('/libs/parser/dist/email/'),
  ],
  [
    'module loading and compilation',
    (f, u) => u.startsWith('node:internal/modules') || u.includes('cjs-module-lexer') || f === '(program)',
  ],
  [
    'CLI, pipeline and sinks (apps/cli, libs/api, libs/pipeline, libs/sinks)',
    (_f, u) => /\/(apps\/cli|libs\/api|libs\/pipeline|libs\/sinks)\//.test(u),
  ],
  ['other parser code (libs/parser)', (_f, u) => u.includes('/libs/parser/')],
  ['idle (waiting for I/O)', (f) => f === '(idle)'],
];

function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const cats = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName: f, url: u } = byId.get(id).callFrame;
    total += us;
    const cat = CATEGORIES.find(([, test]) => test(f, u))?.[0] ?? 'other';
    const c = cats.get(cat) ?? { us: 0, fns: new Map() };
    c.us += us;
    const name =
      `${f || '(anonymous)'} ${u.replace(/.*node_modules\//, '').replace(/.*\/(apps|libs)\//, '$1/')}`.trim();
    c.fns.set(name, (c.fns.get(name) ?? 0) + us);
    cats.set(cat, c);
  }
  return { total, cats };
}

export default function profileCases(ctx) {
  const n = ctx.quick ? 1000 : 100_000;
  return [
    {
      id: `heap-cap/${n}`,
      group: 'Where our time goes',
      title: `our CLI on the ${n.toLocaleString('en-US')}-record .xml.gz with V8's old space capped: is the memory live data or collector slack?`,
      kind: 'parts',
      run: async () => {
        const set = await ctx.corpus.aggregate(n);
        const bin = join(ctx.repo, 'apps', 'cli', 'bin', 'parsedmarc.js');
        const rows = [];
        for (const cap of [null, 128, 64]) {
          const tmp = mkdtempSync(join(os.tmpdir(), 'pdm-bench-cap-'));
          try {
            const flags = cap ? [`--max-old-space-size=${cap}`] : [];
            const m = await ctx.measure(
              process.execPath,
              [...flags, bin, '--offline', '-s', '-o', join(tmp, 'out'), set.files.gz.path],
              {
                cwd: ctx.repo,
                env: { ...process.env, TZ: 'UTC' },
              },
            );
            const label = cap ? `node --max-old-space-size=${cap}` : 'node defaults';
            const row = {
              part: `heap-${cap ?? 'default'}`,
              label,
              impl: 'ours',
              input: `${n.toLocaleString('en-US')} records, .xml.gz`,
              runs: 1,
            };
            if (m.exitCode !== 0)
              row.error = `exit ${m.exitCode}${m.signal ? ` (${m.signal})` : ''}: ${m.stderr.trim().split('\n').slice(-2).join(' ')}`;
            else
              Object.assign(row, {
                ms: m.wallMs,
                recordsOut: n,
                bytesIn: set.files.gz.bytes,
                peakRssKB: m.peakRssKB,
                note: `CPU ${((m.userS ?? 0) + (m.sysS ?? 0)).toFixed(1)} s`,
              });
            rows.push(row);
          } finally {
            rmSync(tmp, { recursive: true, force: true });
          }
        }
        return rows;
      },
    },
    {
      id: `profile/${n}`,
      group: 'Where our time goes',
      title: `our CLI on the ${n.toLocaleString('en-US')}-record .xml.gz under --cpu-prof: self time by kind of work (run from its modules, not the bundle, so that each function is named by its source file)`,
      kind: 'parts',
      run: async () => {
        const set = await ctx.corpus.aggregate(n);
        const tmp = mkdtempSync(join(os.tmpdir(), 'pdm-bench-prof-'));
        try {
          const out = join(tmp, 'out');
          const profDir = join(tmp, 'prof');
          const bin = join(ctx.repo, 'bench', 'lib', 'cli-unbundled.mjs');
          const m = await ctx.measure(
            process.execPath,
            ['--cpu-prof', `--cpu-prof-dir=${profDir}`, bin, '--offline', '-s', '-o', out, set.files.gz.path],
            {
              cwd: ctx.repo,
              env: { ...process.env, TZ: 'UTC' },
            },
          );
          if (m.exitCode !== 0)
            return [
              {
                part: 'profile',
                label: 'CPU profile',
                impl: 'ours',
                input: '',
                error: `exit ${m.exitCode}: ${m.stderr.slice(-500)}`,
              },
            ];
          const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
          const { total, cats } = summarize(JSON.parse(readFileSync(join(profDir, file), 'utf8')));
          return [...cats]
            .sort((a, b) => b[1].us - a[1].us)
            .map(([cat, c]) => ({
              part: cat,
              label: cat,
              impl: 'ours',
              profile: true,
              ms: c.us / 1000,
              share: c.us / total,
              sampledMs: total / 1000,
              top: [...c.fns]
                .sort((a, b) => b[1] - a[1])
                .slice(0, 3)
                .map(([name, us]) => `${name} ${(us / 1000).toFixed(0)} ms`)
                .join(', '),
            }));
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      },
    },
  ];
}
