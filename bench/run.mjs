#!/usr/bin/env node
// Benchmark: this project's CLI against the original parsedmarc, on the same generated files, alternating
// runs; plus library-level parts measured in-process. Writes docs/benchmarks.md and docs/benchmarks.json.
//
//   npm run bench                       full run (several minutes; ~15 on 2 cores)
//   npm run bench -- --quick            small sizes, one run each (while developing); results go to
//                                       bench/.corpus/ instead of docs/ unless --out is given
//   options: --runs N  --case-budget SECONDS  --only REGEX  --no-build  --no-theirs  --seed N  --out DIR
//            --list (print the case ids and exit)  --report-only <saved.json> (re-render the Markdown)
//
// Cases are modules in bench/cases/*.mjs (see bench/README.md): each default-exports a function of the
// context returning case definitions; a case that needs a server declares needs() and is reported as
// "skipped: <reason>" when the server is not up. Never part of the test suite's pass/fail.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Corpus, DEFAULT_SEED, CORPUS_ROOT, GENERATOR_VERSION } from './corpus.mjs';
import { hasGnuTime, measure } from './lib/measure.mjs';
import { originalEnv, verifyOffline } from './lib/original.mjs';
import { ensureOriginalPeer, LATEST_VERSION } from './lib/original-peer.mjs';
import { compareCounts, countOutputs } from './lib/outputs.mjs';
import { median } from './lib/stats.mjs';
import { writeReport } from './lib/report.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(BENCH_DIR);

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'case-budget': { type: 'string' },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'no-theirs': { type: 'boolean', default: false },
    seed: { type: 'string' },
    out: { type: 'string' },
    list: { type: 'boolean', default: false },
    'report-only': { type: 'string' },
  },
});

const log = (msg) => process.stderr.write(`${msg}\n`);
const quick = opt.quick;
const runs = Number(opt.runs ?? (quick ? 1 : 3));
// A case stops adding alternating pairs of runs once another pair would take it past this budget (at least
// one pair always runs): the original needs over a minute per run on the largest inputs.
const caseBudgetS = Number(opt['case-budget'] ?? (quick ? 30 : 80));
const seed = Number(opt.seed ?? DEFAULT_SEED);
const outDir = opt.out ?? (quick ? CORPUS_ROOT : join(REPO, 'docs'));
const onlyRe = opt.only ? new RegExp(opt.only) : null;

function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO, ...options });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ---------------------------------------------------------------------------------------------------------
// The two sides

const ourBin = join(REPO, 'apps', 'cli', 'bin', 'parsedmarc.js');
const ours = {
  key: 'ours',
  cmd: process.execPath,
  args: (cliArgs) => [ourBin, ...cliArgs],
  env: { ...originalEnv(), NODE_ENV: 'production' },
};

function machineInfo() {
  const cpus = os.cpus();
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const dirty = sh('git', ['status', '--porcelain', '--', 'apps', 'libs']);
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ours: `${pkg.name} ${pkg.version}`,
    commit: sh('git', ['rev-parse', '--short', 'HEAD']),
    uncommittedChanges: dirty === null ? null : dirty.length > 0,
    loadAvgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    gnuTime: hasGnuTime,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Cases

async function loadCases(ctx) {
  const dir = join(BENCH_DIR, 'cases');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.mjs') && !f.startsWith('_'))
    .sort();
  const all = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    const defs = await mod.default(ctx);
    for (const d of defs) all.push({ module: f, ...d });
  }
  return all;
}

function summarizeSide(side, input) {
  const ok = side.runs.filter((r) => r.ok);
  if (ok.length === 0) return null;
  const wallMs = median(ok.map((r) => r.wallMs));
  const s = wallMs / 1000;
  return {
    runs: ok.length,
    wallMs,
    minWallMs: Math.min(...ok.map((r) => r.wallMs)),
    maxWallMs: Math.max(...ok.map((r) => r.wallMs)),
    cpuS: median(ok.map((r) => (r.userS ?? 0) + (r.sysS ?? 0))),
    peakRssKB: median(ok.map((r) => r.peakRssKB)),
    maxPeakRssKB: Math.max(...ok.map((r) => r.peakRssKB)),
    reportsPerS: input.reports ? input.reports / s : null,
    recordsPerS: input.records ? input.records / s : null,
    mbPerS: input.bytes ? input.bytes / 1e6 / s : null,
  };
}

async function runCliCase(c, ctx, sides) {
  const input = await c.prepare(ctx);
  try {
    return await measureCliCase(c, ctx, sides, input);
  } finally {
    await input.cleanup?.(); // what prepare started (a relay, a server)
  }
}

async function measureCliCase(c, ctx, sides, input) {
  const result = {
    id: c.id,
    group: c.group,
    title: c.title,
    kind: 'cli',
    series: c.series ?? null,
    input: {
      files: input.files,
      reports: input.reports,
      records: input.records,
      bytes: input.bytes,
      description: input.description ?? null,
    },
    expect: input.expect ?? null,
    notes: [...(input.notes ?? [])],
    loadAvgAtStart: os.loadavg()[0],
  };
  for (const side of sides) result[side.key] = { runs: [], failure: null, outputs: null };
  const started = Date.now();
  for (let i = 0; i < ctx.runs; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const r = result[side.key];
      if (r.failure) continue; // a failing tool is reported once, not re-run
      const out = mkdtempSync(join(os.tmpdir(), `pdm-bench-${side.key}-`));
      const cliArgs =
        typeof c.args === 'function'
          ? c.args(out, input.inputs)
          : (c.args ?? ['--offline', '-s', '-o', out, ...input.inputs]);
      const m = await measure(side.cmd, side.args(cliArgs), {
        env: side.env,
        cwd: REPO,
        timeoutMs: ctx.runTimeoutMs,
      });
      const run = {
        wallMs: m.wallMs,
        userS: m.userS,
        sysS: m.sysS,
        peakRssKB: m.peakRssKB,
        maxProcRssKB: m.maxProcRssKB,
        treeRssKB: m.treeRssKB,
        exitCode: m.exitCode,
        ok: true,
      };
      const stderrTail = m.stderr.split('\n').slice(-15).join('\n').slice(-3000);
      if (m.timedOut || m.signal) {
        run.ok = false;
        r.failure = {
          reason: m.timedOut ? `timed out after ${ctx.runTimeoutMs / 1000} s` : `killed by ${m.signal}`,
          stderr: stderrTail,
        };
      } else if (m.exitCode !== 0 && !c.allowNonZeroExit) {
        run.ok = false;
        r.failure = { reason: `exit code ${m.exitCode}`, stderr: stderrTail };
      }
      if (run.ok && r.outputs === null && (!c.args || typeof c.args === 'function')) {
        r.outputs = await countOutputs(out);
        if (m.stderr.trim()) r.stderrSample = stderrTail;
        const diffs = input.expect
          ? compareCounts(r.outputs, {
              aggregateReports: null,
              aggregateRecords: null,
              forensicReports: null,
              smtpTlsReports: null,
              ...input.expect,
            })
          : [];
        if (diffs.length > 0) r.outputMismatch = diffs;
      }
      rmSync(out, { recursive: true, force: true });
      r.runs.push(run);
      const s = (x) => (x / 1000).toFixed(2);
      log(
        `  ${side.key.padEnd(6)} run ${i + 1}: ${run.ok ? `${s(m.wallMs)} s, ${(m.peakRssKB / 1024).toFixed(0)} MB` : `FAILED (${r.failure.reason})`}`,
      );
    }
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed + elapsed / (i + 1) > ctx.caseBudgetS) {
      if (i + 1 < ctx.runs)
        result.notes.push(
          `${i + 1} run(s) per tool instead of ${ctx.runs}: time budget of ${ctx.caseBudgetS} s per case`,
        );
      break;
    }
  }
  for (const side of sides) {
    const r = result[side.key];
    r.summary = summarizeSide(r, result.input);
  }
  if (result.ours?.outputs && result.theirs?.outputs) {
    const diffs = compareCounts(result.ours.outputs, result.theirs.outputs);
    if (diffs.length > 0) result.outputsDiffer = diffs;
  }
  if (result.ours?.summary && result.theirs?.summary)
    result.speedup = result.theirs.summary.wallMs / result.ours.summary.wallMs;
  return result;
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  if (opt['report-only']) {
    // Re-render the Markdown (and JSON) from a saved JSON, e.g. after a change to the report layout.
    const saved = JSON.parse(readFileSync(opt['report-only'], 'utf8'));
    const { md } = writeReport({
      ...saved,
      outDir: opt.out ?? dirname(opt['report-only']),
      quick: saved.meta.mode === 'quick',
    });
    log(`bench: re-rendered ${relative(REPO, md)}`);
    return;
  }
  const corpus = new Corpus({ seed, log });
  const ctx = {
    quick,
    runs,
    caseBudgetS,
    runTimeoutMs: 10 * 60_000,
    corpus,
    repo: REPO,
    benchDir: BENCH_DIR,
    log,
    measure,
    /** `tools/<name>/ctl.sh status` succeeds: the test server is up. */
    serverUp: (name) =>
      spawnSync('bash', [join(REPO, 'tools', name, 'ctl.sh'), 'status'], { stdio: 'ignore' }).status === 0,
  };
  let cases = await loadCases(ctx);
  if (onlyRe) cases = cases.filter((c) => onlyRe.test(c.id));
  if (opt.list) {
    for (const c of cases) console.log(`${c.id}\t${c.kind}\t${c.title}`);
    return;
  }

  const machine = machineInfo();
  log(
    `bench: ${quick ? 'quick' : 'full'} run, ${runs} run(s) per tool per case, ${cases.length} cases, corpus seed ${seed}`,
  );

  let build = { ran: false, ok: null, error: null };
  if (!opt['no-build']) {
    log('bench: npm run build');
    const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8' });
    build = {
      ran: true,
      ok: r.status === 0,
      error: r.status === 0 ? null : `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n'),
    };
    if (!build.ok) log(`bench: BUILD FAILED, measuring the dist/ already present:\n${build.error}`);
  }

  const sides = [ours];
  let original = null;
  if (!opt['no-theirs']) {
    // The newest original from PyPI is the peer users compare with (its extras serve the search case too).
    const peer = ensureOriginalPeer(BENCH_DIR, LATEST_VERSION, log);
    original = {
      ...peer,
      libs: Object.entries(peer.libs)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k} ${v}`)
        .join(' '),
    };
    const probe = await corpus.aggregate(1);
    const offline = verifyOffline(original.bin, probe.files.xml.path);
    log(
      `bench: original parsedmarc ${original.version} (python ${original.pythonVersion}) verified offline (${offline.ms} ms)`,
    );
    sides.push({
      key: 'theirs',
      cmd: original.bin,
      args: (cliArgs) => cliArgs,
      env: originalEnv(),
    });
  }
  machine.python = original?.pythonVersion ?? null;
  machine.theirs = original ? `parsedmarc ${original.version}` : null;
  machine.theirsLibs = original?.libs ?? null;

  // Warm-up, untimed: page cache for both tools' code and the smallest input.
  const warm = await corpus.aggregate(1);
  for (const side of sides) {
    const out = mkdtempSync(join(os.tmpdir(), 'pdm-bench-warm-'));
    await measure(side.cmd, side.args(['--offline', '-s', '-o', out, warm.files.xml.path]), {
      env: side.env,
      cwd: REPO,
    });
    rmSync(out, { recursive: true, force: true });
  }

  const results = [];
  const t0 = Date.now();
  for (const c of cases) {
    log(`case ${c.id}: ${c.title}`);
    const reason = c.needs ? await c.needs(ctx) : null;
    if (reason) {
      log(`  skipped: ${reason}`);
      results.push({ id: c.id, group: c.group, title: c.title, kind: c.kind, skipped: reason });
      continue;
    }
    try {
      if (c.kind === 'cli') {
        const r = await runCliCase(c, ctx, sides);
        if (r.speedup) log(`  => ${r.speedup.toFixed(1)}x`);
        results.push(r);
      } else if (c.kind === 'parts') {
        const rows = await c.run(ctx);
        for (const row of rows)
          log(
            `  ${row.part}: ${row.todo ? `TODO: ${row.todo}` : row.error ? `ERROR: ${row.error}` : `${row.ms.toFixed(0)} ms`}`,
          );
        results.push({ id: c.id, group: c.group, title: c.title, kind: 'parts', rows });
      }
    } catch (err) {
      log(`  ERROR: ${err.stack ?? err}`);
      results.push({
        id: c.id,
        group: c.group,
        title: c.title,
        kind: c.kind,
        error: String(err.stack ?? err),
      });
    }
  }
  machine.loadAvgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const totalS = (Date.now() - t0) / 1000;

  const meta = {
    mode: quick ? 'quick' : 'full',
    runsPerCase: runs,
    caseBudgetS,
    seed,
    generatorVersion: GENERATOR_VERSION,
    totalS,
    build,
    commands: {
      ours: `node apps/cli/bin/parsedmarc.js --offline -s -o <tmpdir> <inputs>`,
      theirs: original
        ? `bench/.venv/peers/parsedmarc-${original.version}/bin/parsedmarc --offline -s -o <tmpdir> <inputs>`
        : null,
      env: 'TZ=UTC; HTTP(S)_PROXY pointed at a closed local port (any download attempt fails at once)',
    },
  };
  mkdirSync(outDir, { recursive: true });
  const { md, json } = writeReport({ machine, meta, results, outDir, quick });
  log(
    `bench: done in ${(totalS / 60).toFixed(1)} min; wrote ${relative(REPO, md)} and ${relative(REPO, json)}`,
  );
}

await main();
