// Events per second into the local HEC receiver (tools/hec: the protocol-faithful stand-in for Splunk's HTTP
// Event Collector, started with tools/servers.sh start hec), one event per aggregate record:
// - our CLI (`--hec <url> --hec-token T --save-aggregate`) on the 100,000-record .xml.gz, with a token
//   without and one with indexer acknowledgement (the command then waits until every request is indexed);
// - the HEC sink alone (bench/lib/hec-sink-worker.mjs: the report parsed first, untimed), to tell the
//   sink's own rate from the parser's in the CLI's;
// - apps/sink-hec from a dmarc_aggregate topic the same report was published onto (measured by
//   test/search/measure-sink.mjs, a token with indexer acknowledgement);
// - the original (parsedmarc 11.x from PyPI, [splunk_hec] in its ini file) on the same report.
// Each run gets its own token; the receiver's count of indexed events is checked after the run, then the
// token and its events are deleted. The receiver shares the 2 cores (it gunzips, parses and fsyncs every
// request), so these are end-to-end numbers of both. Target: at least 50,000 events/s on 2 cores.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ensureOriginalPeer, LATEST_VERSION } from '../lib/original-peer.mjs';
import { originalEnv } from '../lib/original.mjs';
import { spawnSync } from 'node:child_process';
import { fmtBytes } from '../lib/report.mjs';
import { kafkaNeeds, measureSinkServices, serverEnv } from '../lib/sink-services.mjs';

const GROUP = 'Parts against local servers';
export const EVENTS_PER_S_TARGET = 50_000;

const int = (n) => Math.round(n).toLocaleString('en-US');
const verdict = (eventsPerS) =>
  `target ≥ ${int(EVENTS_PER_S_TARGET)} events/s on 2 cores (${os.cpus().length} here): ${eventsPerS >= EVENTS_PER_S_TARGET ? 'met' : `**below** (${Math.round((100 * eventsPerS) / EVENTS_PER_S_TARGET)}%)`}`;

const receiverUrl = (ctx) => {
  const url = serverEnv(ctx.repo, 'hec').HEC_URL;
  if (!url) throw new Error('tools/hec/ctl.sh env printed no HEC_URL');
  return url;
};

async function control(url, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** CPU seconds the receiver process has used (utime + stime), or null. */
function receiverCpuSeconds() {
  try {
    const pid = readFileSync(
      join(process.env.PDM_STATE_DIR ?? join(os.homedir(), '.cache/parsedmarc-ts'), 'hec', 'hec.pid'),
      'utf8',
    ).trim();
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * One measured run of `cmd args` sending to a new token with `settings`: wall, CPU, peak RSS, the
 * receiver's CPU, and its count of indexed events. The token and its events are deleted after.
 */
async function measuredRun(ctx, url, settings, makeArgs, cmd, env) {
  const token = randomUUID();
  await control(url, 'PUT', `/_stub/tokens/${token}`, settings);
  const cpu0 = receiverCpuSeconds();
  try {
    const { args, cleanup } = makeArgs(token);
    try {
      const m = await ctx.measure(cmd, args, { env, cwd: ctx.repo, timeoutMs: 30 * 60_000 });
      const cpu1 = receiverCpuSeconds();
      const stats = await control(url, 'GET', `/_stub/tokens/${token}/stats`);
      return {
        ...m,
        events: stats.indexed,
        requests: stats.accepted,
        bytesSent: stats.bytesIn,
        receiverCpuS: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
      };
    } finally {
      cleanup?.();
    }
  } finally {
    await control(url, 'DELETE', `/_stub/tokens/${token}`).catch((e) =>
      ctx.log(`  cleanup of a token failed: ${e.message}`),
    );
  }
}

function failureOf(m, expected) {
  if (m.timedOut) return 'timed out';
  if (m.signal) return `killed by ${m.signal}`;
  if (m.exitCode !== 0)
    return `exit ${m.exitCode}: ${m.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 600)}`;
  if (m.events !== expected)
    return `${int(m.events)} events indexed, not ${int(expected)}: ${m.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 400)}`;
  return null;
}

function rowOf({ part, label, impl, input, records, bytesIn, runs, extraNote }) {
  const ok = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const mid = ok[Math.floor((ok.length - 1) / 2)];
  const eventsPerS = (mid.events / mid.wallMs) * 1000;
  const cpu = mid.userS === null ? null : mid.userS + mid.sysS;
  const note = [
    `${int(eventsPerS)} events/s (indexed count verified: ${int(mid.events)}, in ${int(mid.requests)} requests of ${fmtBytes(mid.bytesSent)} in all)`,
    cpu === null ? null : `${cpu.toFixed(1)} CPU-s in the sender`,
    mid.receiverCpuS === null ? null : `${mid.receiverCpuS.toFixed(1)} CPU-s in the receiver`,
    extraNote,
    verdict(eventsPerS),
  ]
    .filter(Boolean)
    .join('; ');
  return {
    part,
    label,
    impl,
    input,
    records,
    ms: mid.wallMs,
    bytesIn,
    bytesOut: null,
    recordsOut: mid.events,
    peakRssKB: mid.peakRssKB,
    note,
    runs: ok.length,
    eventsPerS: Math.round(eventsPerS),
  };
}

async function oursRows(ctx, url, n, { runs = ctx.runs, part = 'cli' } = {}) {
  const set = await ctx.corpus.aggregate(n);
  const file = set.files.gz;
  const rows = [];
  for (const [mode, settings] of [
    ['no-ack', {}],
    ['ack', { ack: true }],
  ]) {
    const done = [];
    let failure = null;
    for (let i = 0; i < runs && !failure; i++) {
      const m = await measuredRun(
        ctx,
        url,
        settings,
        (token) => ({
          args: [
            join(ctx.repo, 'apps', 'cli', 'bin', 'parsedmarc.js'),
            '--offline',
            '-s',
            '--hec',
            url,
            '--hec-token',
            token,
            '--save-aggregate',
            file.path,
          ],
        }),
        process.execPath,
        {
          ...originalEnv(),
          NODE_ENV: 'production',
          NO_PROXY: '127.0.0.1,localhost',
          no_proxy: '127.0.0.1,localhost',
        },
      );
      failure = failureOf(m, n);
      if (!failure) done.push(m);
      ctx.log(`  ours hec ${mode} run ${i + 1}: ${failure ?? `${(m.wallMs / 1000).toFixed(2)} s`}`);
    }
    const base = {
      part: `${part}-${mode}`,
      label: `our CLI → HEC receiver (--hec … --save-aggregate, gzip batches of 5,000 events / 4 MiB${mode === 'ack' ? ', waiting for indexer acknowledgement' : ''})`,
      impl: 'ours',
      input: `${int(n)} records, .xml.gz (${fmtBytes(file.bytes)})`,
      records: n,
    };
    rows.push(failure ? { ...base, error: failure } : rowOf({ ...base, bytesIn: file.bytes, runs: done }));
  }
  return rows;
}

export default function hecCases(ctx) {
  const n = ctx.quick ? 10_000 : 100_000;
  const needs = async () =>
    ctx.serverUp('hec') ? null : 'the HEC receiver is not running (tools/servers.sh start hec)';
  return [
    {
      id: 'hec/cli',
      group: GROUP,
      title: `our CLI into the HEC receiver: the ${int(n)}-record report, one event per record`,
      kind: 'parts',
      needs,
      run: async () => oursRows(ctx, receiverUrl(ctx), n),
    },
    {
      id: 'hec/sink',
      group: GROUP,
      title: `libs/sinks' HEC sink alone into the HEC receiver: the ${int(n)}-record report's parsed items (parsing untimed)`,
      kind: 'parts',
      needs,
      run: async () => {
        const url = receiverUrl(ctx);
        const set = await ctx.corpus.aggregate(n);
        const r = spawnSync(
          process.execPath,
          ['--expose-gc', join(ctx.benchDir, 'lib', 'hec-sink-worker.mjs'), set.files.gz.path, url],
          {
            cwd: ctx.repo,
            encoding: 'utf8',
            timeout: 10 * 60_000,
            env: { ...process.env, NODE_ENV: 'production' },
          },
        );
        const lines = (r.stdout ?? '')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l));
        if (lines.length === 0) {
          return [
            {
              part: 'sink',
              label: 'HEC sink alone',
              impl: 'ours',
              error: `exit ${r.status}: ${(r.stderr ?? '').slice(-1500)}`,
            },
          ];
        }
        return lines.map((l) => ({
          part: `sink-${l.mode}`,
          label: `HEC sink alone → HEC receiver (write + flush${l.mode === 'ack' ? ', until acknowledged' : ''})`,
          impl: 'ours',
          input: `${int(n)} records, parsed in memory`,
          records: n,
          ms: l.ms,
          bytesIn: null,
          bytesOut: null,
          recordsOut: l.indexed,
          peakRssKB: null,
          note: [
            `${int(l.eventsPerS)} events/s (indexed count verified: ${int(l.indexed)})`,
            `${l.cpuS} CPU-s in the sink (the rest of the wall time it waits for the receiver on the same cores)`,
            verdict(l.eventsPerS),
          ].join('; '),
          runs: 1,
          eventsPerS: l.eventsPerS,
          ...(l.indexed === n ? {} : { error: `${int(l.indexed)} events indexed, not ${int(n)}` }),
        }));
      },
    },
    {
      id: 'hec/sink-hec',
      group: GROUP,
      title: `apps/sink-hec from the dmarc_aggregate topic: the ${int(n)}-record report, published with -K`,
      kind: 'parts',
      needs: async () => (await needs()) ?? kafkaNeeds(ctx),
      run: async () => {
        const url = receiverUrl(ctx);
        const set = await ctx.corpus.aggregate(n);
        const { publish, results, status, stderr } = measureSinkServices(ctx, set.files.gz.path, n, [
          `hec=${url}`,
        ]);
        const l = results.hec;
        const base = {
          part: 'sink-hec',
          label:
            'sink-hec → HEC receiver (acknowledgement on): from ready to every event indexed and committed',
          impl: 'ours',
          input: `${int(n)} records in ${publish ? int(publish.messages) : '?'} messages`,
          records: n,
        };
        if (!l) return [{ ...base, error: `measure-sink.mjs exit ${status}: ${stderr.slice(-1500)}` }];
        if (!l.countOk) return [{ ...base, error: `${int(l.documents)} events indexed, not ${int(n)}` }];
        return [
          {
            ...base,
            ms: l.secondsFromReady * 1000,
            bytesIn: null,
            bytesOut: null,
            recordsOut: l.documents,
            peakRssKB: l.peakRssKB,
            note: [
              `${int(l.documentsPerSecond)} events/s from ready (${l.startSeconds} s start-up before it)`,
              `${l.cpuSeconds} CPU-s in the service, ${l.flushes} flush(es) of ${l.flushSeconds} s`,
              publish ? `publishing with -K took ${publish.publishSeconds} s (not counted)` : null,
              verdict(l.documentsPerSecond),
            ]
              .filter(Boolean)
              .join('; '),
            runs: 1,
            eventsPerS: l.documentsPerSecond,
          },
        ];
      },
    },
    {
      id: 'hec/original',
      group: GROUP,
      title: `the original parsedmarc ${LATEST_VERSION} into the HEC receiver (the ${int(n)}-record report), beside our CLI`,
      kind: 'parts',
      needs,
      run: async () => {
        const url = receiverUrl(ctx);
        const set = await ctx.corpus.aggregate(n);
        const file = set.files.gz;
        let peer = null;
        let installError = null;
        try {
          peer = ensureOriginalPeer(ctx.benchDir, LATEST_VERSION, ctx.log);
        } catch (error) {
          installError = String(error.message ?? error).slice(0, 800);
        }
        const base = {
          part: 'original',
          label: `original parsedmarc ${peer?.version ?? LATEST_VERSION} → HEC receiver ([splunk_hec]; all of a report's events in one uncompressed request)`,
          impl: 'theirs',
          input: `${int(n)} records, .xml.gz (${fmtBytes(file.bytes)})`,
          records: n,
        };
        if (!peer)
          return [{ ...base, todo: `parsedmarc ${LATEST_VERSION} could not be installed: ${installError}` }];
        const m = await measuredRun(
          ctx,
          url,
          { index: 'email' },
          (token) => {
            const dir = mkdtempSync(join(os.tmpdir(), 'pdm-bench-hec-'));
            writeFileSync(
              join(dir, 'parsedmarc.ini'),
              [
                '[general]',
                'save_aggregate = True',
                'offline = True',
                'silent = True',
                '',
                '[splunk_hec]',
                `url = ${url}/services/collector/event/1.0`,
                `token = ${token}`,
                'index = email',
                '',
              ].join('\n'),
            );
            return {
              args: ['-c', join(dir, 'parsedmarc.ini'), file.path],
              cleanup: () => rmSync(dir, { recursive: true, force: true }),
            };
          },
          peer.bin,
          // The receiver is local: never through the dead proxy that guards against downloads.
          { ...originalEnv(), NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
        );
        const failure = failureOf(m, n);
        ctx.log(`  theirs hec: ${failure ?? `${(m.wallMs / 1000).toFixed(2)} s`}`);
        const theirs = failure
          ? { ...base, error: failure }
          : rowOf({ ...base, bytesIn: file.bytes, runs: [m], extraNote: `python ${peer.pythonVersion}` });
        const ours = await oursRows(ctx, url, n, { runs: 1, part: 'cli-beside' });
        for (const row of ours) {
          if (row.eventsPerS && theirs.eventsPerS)
            row.note = `${row.note}; ${(row.eventsPerS / theirs.eventsPerS).toFixed(1)}x the original's events/s`;
        }
        return [theirs, ...ours];
      },
    },
  ];
}
