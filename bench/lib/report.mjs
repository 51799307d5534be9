// Writes the results as Markdown (docs/benchmarks.md) and JSON (docs/benchmarks.json).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { growthVerdict } from './stats.mjs';

/** Below this speed-up a case is listed among the shortfalls. */
const SPEEDUP_TARGET = 10;
const RSS_TARGET_MB = 150;

const MiB = 1024; // KB per MiB (RSS is reported by the kernel in KiB)

export const fmtTime = (ms) =>
  ms === null || ms === undefined
    ? '–'
    : ms < 1000
      ? `${ms.toFixed(0)} ms`
      : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const fmtRate = (x) =>
  x === null || x === undefined || !Number.isFinite(x) || x === 0
    ? '–'
    : x >= 1e6
      ? `${(x / 1e6).toFixed(2)} M`
      : x >= 1e4
        ? `${(x / 1e3).toFixed(0)} k`
        : x >= 1e3
          ? `${(x / 1e3).toFixed(1)} k`
          : x >= 10
            ? x.toFixed(0)
            : x.toFixed(2);
export const fmtMBs = (x) =>
  x === null || x === undefined
    ? '–'
    : x >= 100
      ? x.toFixed(0)
      : x >= 1
        ? x.toFixed(1)
        : x >= 0.01
          ? x.toFixed(2)
          : x.toPrecision(2);
/** A byte count in the unit that keeps it readable (10^3 multiples, as MB/s is). */
export const fmtBytes = (n) =>
  n === null || n === undefined
    ? '–'
    : n >= 1e6
      ? `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)} MB`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)} kB`
        : `${n} B`;
export const fmtRss = (kb) => (kb === null || kb === undefined ? '–' : `${(kb / MiB).toFixed(0)} MiB`);
export const fmtX = (x) =>
  x === null || x === undefined ? '–' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`;
const int = (n) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'));

function sideCell(side, pick) {
  if (!side) return '–';
  if (side.summary) return pick(side.summary);
  return side.failure ? '**FAILED**' : '–';
}

function caseTable(cases) {
  const rows = [
    '| Case | Input | Ours | Theirs | Speed-up | Ours records/s | Theirs records/s | Ours MB/s | Theirs MB/s | Ours reports/s | Theirs reports/s | Ours peak RSS | Theirs peak RSS | CPU s, ours / theirs | Notes |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const c of cases) {
    if (c.skipped) {
      rows.push(`| ${c.title} | | | | | | | | | | | | | | skipped: ${c.skipped} |`);
      continue;
    }
    if (c.error) {
      rows.push(`| ${c.title} | | | | | | | | | | | | | | benchmark error (see JSON) |`);
      continue;
    }
    const notes = [];
    if (c.ours?.failure) notes.push(`ours failed: ${c.ours.failure.reason}`);
    if (c.theirs?.failure) notes.push(`theirs failed: ${c.theirs.failure.reason}`);
    if (c.ours?.outputMismatch)
      notes.push(`⚠ ours output: ${c.ours.outputMismatch.join(', ')} (got vs expected)`);
    if (c.theirs?.outputMismatch)
      notes.push(`theirs output: ${c.theirs.outputMismatch.join(', ')} (got vs expected)`);
    if (c.outputsDiffer) notes.push(`⚠ outputs differ (ours vs theirs): ${c.outputsDiffer.join(', ')}`);
    notes.push(...c.notes);
    const runs = [c.ours?.summary?.runs, c.theirs?.summary?.runs].filter(Boolean);
    rows.push(
      [
        '',
        c.title,
        c.input.description ?? '',
        sideCell(c.ours, (s) => fmtTime(s.wallMs)),
        sideCell(c.theirs, (s) => fmtTime(s.wallMs)),
        c.speedup ? `**${fmtX(c.speedup)}**` : '–',
        sideCell(c.ours, (s) => fmtRate(s.recordsPerS)),
        sideCell(c.theirs, (s) => fmtRate(s.recordsPerS)),
        sideCell(c.ours, (s) => fmtMBs(s.mbPerS)),
        sideCell(c.theirs, (s) => fmtMBs(s.mbPerS)),
        sideCell(c.ours, (s) => fmtRate(s.reportsPerS)),
        sideCell(c.theirs, (s) => fmtRate(s.reportsPerS)),
        sideCell(c.ours, (s) => fmtRss(s.peakRssKB)),
        sideCell(c.theirs, (s) => fmtRss(s.peakRssKB)),
        `${sideCell(c.ours, (s) => s.cpuS.toFixed(2))} / ${sideCell(c.theirs, (s) => s.cpuS.toFixed(2))}`,
        [...notes, runs.length ? `runs: ${runs.join('/')}` : ''].filter(Boolean).join('; '),
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
  return rows.join('\n');
}

function growthSection(results) {
  const series = new Map();
  for (const c of results) {
    if (!c.series || c.skipped || c.error) continue;
    if (!series.has(c.series.id)) series.set(c.series.id, { ...c.series, points: [] });
    series
      .get(c.series.id)
      .points.push({ x: c.series.x, ours: c.ours?.summary ?? null, theirs: c.theirs?.summary ?? null });
  }
  const out = [];
  const verdicts = [];
  for (const s of series.values()) {
    s.points.sort((a, b) => a.x - b.x);
    out.push(`### ${s.label}`, '');
    out.push(
      `| ${s.xLabel} | Ours time | Ours peak RSS | Theirs time | Theirs peak RSS | Speed-up |`,
      '|--:|--:|--:|--:|--:|--:|',
    );
    for (const p of s.points) {
      const sp = p.ours && p.theirs ? fmtX(p.theirs.wallMs / p.ours.wallMs) : '–';
      out.push(
        `| ${int(p.x)} | ${fmtTime(p.ours?.wallMs)} | ${fmtRss(p.ours?.peakRssKB)} | ${fmtTime(p.theirs?.wallMs)} | ${fmtRss(p.theirs?.peakRssKB)} | ${sp} |`,
      );
    }
    out.push('');
    for (const side of ['ours', 'theirs']) {
      const pts = s.points.filter((p) => p[side]);
      if (pts.length < 3) continue;
      const time = growthVerdict(
        pts.map((p) => ({ x: p.x, y: p[side].wallMs / 1000 })),
        { kind: 'time', minSignal: 0.05 },
      );
      const mem = growthVerdict(
        pts.map((p) => ({ x: p.x, y: p[side].peakRssKB / MiB })),
        { kind: 'memory', minSignal: 8, flatBelow: 16 },
      );
      const decades = (v, unit, digits) =>
        v.perDecade
          .filter((d) => d.addedTo > 0)
          .map(
            (d) =>
              `${int(d.from)}→${int(d.to)}: +${d.addedTo.toFixed(digits)} ${unit}${d.ratio !== null && d.addedFrom > 0 ? ` (×${d.ratio.toFixed(1)})` : ''}`,
          )
          .join('; ');
      const who = side === 'ours' ? 'Ours' : 'Theirs';
      out.push(
        `- ${who}, time: **${time.verdict}**${time.slope !== null ? ` (log-log slope ${time.slope.toFixed(2)} of the time above the ${fmtTime(time.base * 1000)} at ${int(pts[0].x)})` : ''}. Added time: ${decades(time, 's', 2) || '–'}.`,
      );
      out.push(
        `- ${who}, peak memory: **${mem.verdict}**${mem.slope !== null && mem.slope !== undefined ? ` (log-log slope ${mem.slope.toFixed(2)})` : ''}, from ${mem.base.toFixed(0)} MiB at ${int(pts[0].x)}. Added: ${decades(mem, 'MiB', 0) || '–'}.`,
      );
      verdicts.push({ series: s.id, label: s.label, side, time, memory: mem });
    }
    out.push('');
  }
  return { md: out.join('\n'), verdicts };
}

function partsSection(results, group) {
  const out = [];
  for (const c of results.filter((r) => r.kind === 'parts' && r.group === group)) {
    out.push(`### ${c.title}`, '');
    if (c.skipped) {
      out.push(`skipped: ${c.skipped}`, '');
      continue;
    }
    if (c.error) {
      out.push(`benchmark error: ${c.error.split('\n')[0]}`, '');
      continue;
    }
    if (c.rows.length > 0 && c.rows.every((r) => r.profile)) {
      out.push('| Kind of work | Self time | Share | Top functions |', '|---|--:|--:|---|');
      for (const r of c.rows)
        out.push(
          `| ${r.label} | ${fmtTime(r.ms)} | ${(100 * r.share).toFixed(0)}% | ${r.top.replace(/\|/g, '\\|')} |`,
        );
      out.push('', `${fmtTime(c.rows[0].sampledMs)} sampled in all.`, '');
      continue;
    }
    out.push(
      '| Part | Whose | Input | Time | Records/s | MB/s in | MB/s out | Process peak RSS | Notes |',
      '|---|---|---|--:|--:|--:|--:|--:|---|',
    );
    for (const r of c.rows) {
      if (r.todo) {
        out.push(`| ${r.label} | ${r.impl} | ${r.input} | **TODO** | | | | | ${r.todo} |`);
        continue;
      }
      if (r.error) {
        out.push(
          `| ${r.label} | ${r.impl} | ${r.input} | **ERROR** | | | | | ${r.error.split('\n')[0].replace(/\|/g, '\\|')} |`,
        );
        continue;
      }
      const s = r.ms / 1000;
      const recs = r.recordsOut ?? null;
      out.push(
        `| ${r.label} | ${r.impl} | ${r.input} | ${fmtTime(r.ms)} | ${recs ? fmtRate(recs / s) : '–'} | ${r.bytesIn ? fmtMBs(r.bytesIn / 1e6 / s) : '–'} | ${r.bytesOut ? fmtMBs(r.bytesOut / 1e6 / s) : '–'} | ${fmtRss(r.peakRssKB)} | ${[r.note, `runs: ${r.runs}`].filter(Boolean).join('; ').replace(/\|/g, '\\|')} |`,
      );
    }
    const byPart = Object.fromEntries(c.rows.filter((r) => r.ms).map((r) => [r.part, r]));
    if (byPart['aggregate-stream'] && byPart['xml-saxes']) {
      const norm = byPart['aggregate-stream'].ms - byPart['xml-saxes'].ms;
      out.push(
        '',
        `Normalization and record building, estimated as (parser − bare saxes): ${fmtTime(Math.max(norm, 0))} of ${fmtTime(byPart['aggregate-stream'].ms)}.`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * The goals of issue 13, each against the cases it names: speed-ups (their wall time over ours, CLI against
 * CLI), start-up and peak RSS.
 */
const TARGETS = [
  {
    kind: 'speedup',
    min: 20,
    what: 'one 50,000-record report',
    match: (id) => /^aggregate\/50000\//.test(id),
  },
  {
    kind: 'speedup',
    min: 20,
    what: 'one 100,000-record report',
    match: (id) => /^aggregate\/100000\//.test(id),
  },
  {
    kind: 'speedup',
    min: 10,
    what: 'one 10,000-record report',
    match: (id) => /^aggregate\/10000\//.test(id),
  },
  { kind: 'speedup', min: 8, what: 'a folder of 1,000 small reports', match: (id) => id === 'folder/1000' },
  {
    kind: 'speedup',
    min: 5,
    what: 'a single small report',
    match: (id) => /^aggregate\/1\/|^folder\/1$/.test(id),
  },
  { kind: 'startup', maxMs: 120, what: 'start-up (`--version`)', match: (id) => id === 'startup' },
  {
    kind: 'rss',
    maxMB: RSS_TARGET_MB,
    what: 'peak RSS at 100,000 records',
    match: (id) => /^aggregate\/100000\//.test(id),
  },
];

function targetsSection(results) {
  const out = ['| Target | Case | Measured | Verdict | CPU-time ratio | Runs |', '|---|---|--:|---|--:|--:|'];
  const cpuRatio = (c) =>
    c.ours?.summary && c.theirs?.summary ? fmtX(c.theirs.summary.cpuS / c.ours.summary.cpuS) : '–';
  const runsOf = (c) => [c.ours?.summary?.runs ?? 0, c.theirs?.summary?.runs ?? 0].join('/');
  const findings = [];
  const measured = results.filter((c) => !c.skipped && !c.error);
  for (const target of TARGETS) {
    for (const c of measured.filter((c) => target.match(c.id))) {
      let label;
      let value;
      let verdict;
      let ratio = '';
      if (c.ours?.failure) verdict = `**not measured: ours failed (${c.ours.failure.reason})**`;
      else if (c.ours?.outputMismatch)
        verdict = `**not comparable: ours output wrong (${c.ours.outputMismatch.join(', ')})**`;
      if (target.kind === 'speedup') {
        label = `≥ ${target.min}x, ${target.what}`;
        value = c.speedup ? fmtX(c.speedup) : '–';
        ratio = cpuRatio(c);
        verdict ??= !c.speedup
          ? 'not measured'
          : c.speedup >= target.min
            ? 'met'
            : `**NOT MET** (${fmtX(c.speedup)} < ${target.min}x)`;
      } else if (target.kind === 'startup') {
        const ms = c.ours?.summary?.wallMs;
        label = `≤ ${target.maxMs} ms, ${target.what}`;
        value = fmtTime(ms);
        verdict ??= ms === undefined ? 'not measured' : ms <= target.maxMs ? 'met' : '**NOT MET**';
      } else {
        const kb = c.ours?.summary?.peakRssKB;
        const maxKb = c.ours?.summary?.maxPeakRssKB;
        label = `≤ ${target.maxMB} MB, ${target.what}`;
        value =
          kb === undefined ? '–' : `${fmtRss(kb)}${maxKb && maxKb !== kb ? ` (max ${fmtRss(maxKb)})` : ''}`;
        verdict ??= kb === undefined ? '**not measured**' : kb / MiB <= target.maxMB ? 'met' : '**NOT MET**';
        if (verdict === 'met' && maxKb && maxKb / MiB > target.maxMB)
          findings.push(
            `Memory target, ${c.title}: met by the median, but one run peaked at ${fmtRss(maxKb)}.`,
          );
      }
      out.push(`| ${label} | ${c.title} | ${value} | ${verdict} | ${ratio} | ${runsOf(c)} |`);
      if (verdict !== 'met') findings.push(`Target ${label}, ${c.title}: ${verdict.replace(/\*/g, '')}.`);
    }
  }
  return { md: out.join('\n'), findings };
}

function shortfalls(results, targetFindings, meta) {
  const items = [...targetFindings];
  if (meta.build.ran && !meta.build.ok)
    items.push(
      '`npm run build` failed: the CLI measured is the dist/ that was already built (see JSON for the error).',
    );
  const smallSlow = [];
  const otherSlow = [];
  for (const c of results) {
    if (c.error) items.push(`${c.id}: the benchmark itself failed: ${c.error.split('\n')[0]}`);
    if (c.ours?.failure)
      items.push(
        `${c.id} (${c.title}): **our CLI failed** (${c.ours.failure.reason}):\n\n  \`\`\`\n${c.ours.failure.stderr.replace(/^/gm, '  ')}\n  \`\`\``,
      );
    if (c.ours?.outputMismatch)
      items.push(
        `${c.id}: our output differs from the expected counts: ${c.ours.outputMismatch.join(', ')} (got vs expected).`,
      );
    if (c.outputsDiffer)
      items.push(
        `${c.id}: our output counts differ from the original's: ${c.outputsDiffer.join(', ')} (ours vs theirs).`,
      );
    if (c.kind === 'cli' && c.speedup && c.speedup < SPEEDUP_TARGET) {
      if (TARGETS.some((t) => t.kind === 'speedup' && t.match(c.id))) continue; // already in the targets
      const small =
        c.id === 'startup' ||
        (c.id.startsWith('aggregate/') && (c.series?.x ?? 0) < 10_000) ||
        (c.id.startsWith('folder/') && (c.series?.x ?? 0) < 100);
      (small ? smallSlow : otherSlow).push(`${c.title} ${fmtX(c.speedup)}`);
    }
    for (const r of c.rows ?? []) if (r.todo) items.push(`Library part "${r.label}": TODO, ${r.todo}.`);
    for (const r of c.rows ?? [])
      if (r.error) items.push(`Library part "${r.label}": error: ${r.error.split('\n')[0]}`);
  }
  if (otherSlow.length) items.push(`Below ${SPEEDUP_TARGET}x: ${otherSlow.join('; ')}.`);
  if (smallSlow.length)
    items.push(
      `Below ${SPEEDUP_TARGET}x on small inputs, where the time is mostly process start-up (see the start-up row): ${smallSlow.join('; ')}.`,
    );
  return items;
}

export function writeReport({ machine, meta, results, outDir, quick }) {
  const base = quick ? 'benchmarks.quick' : 'benchmarks';
  const growth = growthSection(results);
  const targets = targetsSection(results);
  const issues = shortfalls(results, targets.findings, meta);
  const groups = [];
  for (const c of results.filter((r) => r.kind === 'cli')) {
    let g = groups.find((x) => x.name === c.group);
    if (!g) groups.push((g = { name: c.group, cases: [] }));
    g.cases.push(c);
  }
  const partGroups = [...new Set(results.filter((r) => r.kind === 'parts').map((r) => r.group))];
  const md = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\`${quick ? ' -- --quick (a short development run: small sizes, one run each; not the published numbers)' : ''} on ${machine.date}. Do not edit by hand: run the benchmark again.`,
    '',
    '## Machine and versions',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu}, ${machine.cores} cores |`,
    `| RAM | ${machine.ramGB} GiB |`,
    `| OS | ${machine.os} |`,
    `| Ours | ${machine.ours}, commit ${machine.commit}${machine.uncommittedChanges ? ' (with uncommitted changes in apps/ or libs/)' : ''}, Node.js ${machine.node} |`,
    `| Theirs | ${machine.theirs ?? 'not run'}${machine.python ? `, Python ${machine.python}` : ''}${machine.theirsLibs ? ` (${machine.theirsLibs})` : ''} |`,
    `| Load average (1, 5, 15 min) | start ${machine.loadAvgStart.join(', ')}; end ${machine.loadAvgEnd.join(', ')} |`,
    `| Run | ${meta.mode}, up to ${meta.runsPerCase} alternating run(s) per tool per case (budget ${meta.caseBudgetS} s per case), corpus seed ${meta.seed} (generator v${meta.generatorVersion}), ${(meta.totalS / 60).toFixed(1)} min in all |`,
    '',
    '## How it is measured',
    '',
    `- Both tools run as command-line programs on exactly the same files, one process each, offline: ours \`${meta.commands.ours}\`, theirs \`${meta.commands.theirs ?? '(not run)'}\`; ${meta.commands.env}. Runs alternate between the tools (ours first on odd runs, theirs first on even ones) and each figure is the median of the runs.`,
    '- Wall time is from spawn to exit, as a user sees it: it includes process start-up (Node.js and our modules; Python and its imports), reading the input, parsing, and writing JSON and CSV into the output folder. Throughput figures divide the input by that time: records/s (aggregate records), reports/s, and MB/s of input bytes as given on the command line (compressed size for .gz/.zip/.eml; MB = 10^6 bytes).',
    '- Speed-up = their time / our time, i.e. our throughput over theirs on the same input.',
    "- Peak RSS: the larger of the kernel's high-water mark of the largest single process (GNU time %M) and the sum of resident memory over the process tree sampled every 10 ms. The original's CLI parses in a worker process (a one-worker process pool, its default) while its main process collects the results, so both count.",
    "- Both tools' `--offline` still look up each source IP in a bundled IP-to-country database (theirs: ipinfo_lite.mmdb, which also gives the AS; ours: DB-IP country); neither does DNS.",
    '- The corpus is generated from a seed by `bench/corpus.mjs` (realistic reports: 10 reporters, IPv4 and IPv6 sources, 0–3 DKIM and 1–2 SPF results, override reasons, optional envelope fields; ~700 bytes of XML per record) and cached under `bench/.corpus/`. Every run also counts the reports and records each tool wrote and flags any difference.',
    '',
    '## Targets',
    '',
    targets.md,
    '',
    '## Shortfalls',
    '',
    issues.length ? issues.map((i) => `- ${i}`).join('\n') : '- None: every target met, every case measured.',
    '',
    '## Results',
    '',
    ...groups.flatMap((g) => [`### ${g.name}`, '', caseTable(g.cases), '']),
    '## How cost grows',
    '',
    'Verdicts are read on the cost above the smallest input (start-up and baseline memory), over the sizes where that added cost is at least a quarter of the start-up cost and a tenth of the largest added cost (smaller differences are run-to-run noise on this shared machine): time is linear when the log-log slope of the added time against size is 0.85–1.15; memory is bounded when the last 10x adds under 16 MiB. (×N) is how much the added cost grew over that step.',
    '',
    growth.md,
    '## Library-level parts',
    '',
    'Measured in-process with our libraries, one process per part and run (the timed section excludes module loading and reading the input file; output writing starts from an already-parsed report). Rows marked reference measure the building blocks on their own, for comparison.',
    '',
    partsSection(results, 'Library-level parts'),
    ...partGroups
      .filter((g) => g !== 'Library-level parts')
      .flatMap((g) => [`## ${g}`, '', partsSection(results, g)]),
    '## Skipped',
    '',
    results
      .filter((r) => r.skipped)
      .map((r) => `- ${r.title}: skipped: ${r.skipped}`)
      .join('\n') || '- none',
    '',
  ].join('\n');
  const mdPath = join(outDir, `${base}.md`);
  const jsonPath = join(outDir, `${base}.json`);
  writeFileSync(mdPath, md);
  writeFileSync(
    jsonPath,
    JSON.stringify(
      { machine, meta, targets: targets.findings, shortfalls: issues, growth: growth.verdicts, results },
      null,
      2,
    ) + '\n',
  );
  return { md: mdPath, json: jsonPath };
}
