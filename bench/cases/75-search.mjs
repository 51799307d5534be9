// Documents per second into the local search servers (tools/servers.sh start elasticsearch opensearch kafka
// schema-registry), each aggregate record one document:
// - our CLI (`-E <url> --save-aggregate`) on the 100,000-record .xml.gz, into Elasticsearch and OpenSearch;
// - apps/sink-elastic from a dmarc_aggregate topic the same report was published onto (measured by
//   test/search/measure-sink.mjs);
// - the original (parsedmarc 11.x from PyPI, with its elastic/opensearch extras) on a smaller report: it
//   writes one document per request (a search for the report first, an index-exists check per record).
// Every run writes under its own index prefix; the count is checked after a refresh, then the run's indexes
// (by exact name) and index templates are deleted. Target: at least 20,000 documents/s on 2 cores.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ensureOriginalPeer, LATEST_VERSION } from '../lib/original-peer.mjs';
import { originalEnv } from '../lib/original.mjs';
import {
  countOf,
  dropPrefix,
  serverCpuSeconds,
  serverInfo,
  uniqueIndexPrefix,
} from '../lib/search-servers.mjs';
import { fmtBytes } from '../lib/report.mjs';
import { kafkaNeeds, measureSinkServices, serverEnv } from '../lib/sink-services.mjs';

const GROUP = 'Parts against local servers';
export const DOCS_PER_S_TARGET = 20_000;

const SERVERS = [
  { name: 'elasticsearch', label: 'Elasticsearch', variable: 'ELASTICSEARCH_URL' },
  { name: 'opensearch', label: 'OpenSearch', variable: 'OPENSEARCH_URL' },
];

const int = (n) => Math.round(n).toLocaleString('en-US');
const verdict = (docsPerS) =>
  `target ≥ ${int(DOCS_PER_S_TARGET)} docs/s on 2 cores (${os.cpus().length} here): ${docsPerS >= DOCS_PER_S_TARGET ? 'met' : `**below** (${Math.round((100 * docsPerS) / DOCS_PER_S_TARGET)}%)`}`;

/** The servers that are up, with their URL and version. */
async function upServers(ctx) {
  const out = [];
  for (const s of SERVERS) {
    if (!ctx.serverUp(s.name)) continue;
    const url = serverEnv(ctx.repo, s.name)[s.variable];
    if (!url) continue;
    const info = await serverInfo(url);
    out.push({ ...s, url, version: info.version });
  }
  return out;
}

/**
 * One measured run of `cmd args` writing under `prefix` on `server`: wall, CPU, peak RSS, the server's CPU
 * over the run, and the document count after a refresh. The run's indexes and templates are deleted after.
 */
async function measuredRun(ctx, server, prefix, cmd, args, env) {
  const cpu0 = serverCpuSeconds(server.name);
  try {
    const m = await ctx.measure(cmd, args, { env, cwd: ctx.repo, timeoutMs: 30 * 60_000 });
    const cpu1 = serverCpuSeconds(server.name);
    const documents = await countOf(server.url, prefix, { refresh: true });
    return {
      ...m,
      documents,
      serverCpuS: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    };
  } finally {
    await dropPrefix(server.url, prefix).catch((e) =>
      ctx.log(`  cleanup of ${prefix}* failed: ${e.message}`),
    );
  }
}

function failureOf(m, expected) {
  if (m.timedOut) return 'timed out';
  if (m.signal) return `killed by ${m.signal}`;
  if (m.exitCode !== 0)
    return `exit ${m.exitCode}: ${m.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 600)}`;
  if (m.documents !== expected)
    return `${int(m.documents)} documents in the index after a refresh, not ${int(expected)}: ${m.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 400)}`;
  return null;
}

/** A parts row from the runs of one writer (the median by wall time). */
function rowOf({ part, label, impl, input, records, bytesIn, runs, server, extraNote }) {
  const ok = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const mid = ok[Math.floor((ok.length - 1) / 2)];
  const docsPerS = (mid.documents / mid.wallMs) * 1000;
  const cpu = mid.userS === null ? null : mid.userS + mid.sysS;
  const note = [
    `${int(docsPerS)} docs/s (count verified after a refresh: ${int(mid.documents)})`,
    cpu === null ? null : `${cpu.toFixed(1)} CPU-s in the writer`,
    mid.serverCpuS === null
      ? null
      : `${mid.serverCpuS.toFixed(1)} CPU-s in ${server.label} ${server.version}`,
    extraNote,
    verdict(docsPerS),
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
    recordsOut: mid.documents,
    peakRssKB: mid.peakRssKB,
    note,
    runs: ok.length,
    docsPerS: Math.round(docsPerS),
    serverCpuS: mid.serverCpuS,
    writerCpuS: cpu,
  };
}

/** Our CLI into each server that is up: `--offline -s -E <url> --save-aggregate`, its own index prefix. */
async function cliRows(ctx, n, servers, { runs = ctx.runs, part = 'cli' } = {}) {
  const set = await ctx.corpus.aggregate(n);
  const file = set.files.gz;
  const rows = [];
  for (const server of servers) {
    const done = [];
    let failure = null;
    for (let i = 0; i < runs && !failure; i++) {
      const prefix = uniqueIndexPrefix('bench-search');
      const args = [
        join(ctx.repo, 'apps', 'cli', 'bin', 'parsedmarc.js'),
        '--offline',
        '-s',
        '-E',
        server.url,
        '--save-aggregate',
        '--elasticsearch-index-prefix',
        prefix,
        file.path,
      ];
      const m = await measuredRun(ctx, server, prefix, process.execPath, args, {
        ...originalEnv(),
        NODE_ENV: 'production',
      });
      failure = failureOf(m, n);
      if (!failure) done.push(m);
      ctx.log(`  ours ${server.name} run ${i + 1}: ${failure ?? `${(m.wallMs / 1000).toFixed(2)} s`}`);
    }
    const base = {
      part: `${part}-${server.name}`,
      label: `our CLI → ${server.label} (-E … --save-aggregate, bulk batches of 2,000 docs / 8 MiB)`,
      impl: 'ours',
      input: `${int(n)} records, .xml.gz (${fmtBytes(file.bytes)})`,
      records: n,
    };
    rows.push(
      failure ? { ...base, error: failure } : rowOf({ ...base, bytesIn: file.bytes, runs: done, server }),
    );
  }
  return rows;
}

export default function searchCases(ctx) {
  const n = ctx.quick ? 10_000 : 100_000;
  // The original writes ~100 documents/s here (one request each, fsync'ed): 100,000 would take ~20 minutes.
  const nOriginal = ctx.quick ? 1_000 : 10_000;
  const searchNeeds = async () =>
    ctx.serverUp('elasticsearch') || ctx.serverUp('opensearch')
      ? null
      : 'neither elasticsearch nor opensearch running (tools/servers.sh start elasticsearch opensearch)';
  return [
    {
      id: 'search/cli',
      group: GROUP,
      title: `our CLI into Elasticsearch and OpenSearch: the ${int(n)}-record report, one document per record`,
      kind: 'parts',
      needs: searchNeeds,
      run: async () => {
        const servers = await upServers(ctx);
        return cliRows(ctx, n, servers);
      },
    },
    {
      id: 'search/sink-elastic',
      group: GROUP,
      title: `apps/sink-elastic from the dmarc_aggregate topic: the ${int(n)}-record report, published with -K`,
      kind: 'parts',
      needs: async () => (await searchNeeds()) ?? kafkaNeeds(ctx),
      run: async () => {
        const servers = await upServers(ctx);
        const set = await ctx.corpus.aggregate(n);
        const file = set.files.gz;
        const { publish, results, status, stderr } = measureSinkServices(
          ctx,
          file.path,
          n,
          servers.map((s) => `${s.name}=${s.url}`),
        );
        const rows = [];
        for (const server of servers) {
          const base = {
            part: `sink-elastic-${server.name}`,
            label: `sink-elastic → ${server.label}: from start to every document committed and counted`,
            impl: 'ours',
            input: `${int(n)} records in ${publish ? int(publish.messages) : '?'} messages`,
            records: n,
          };
          const l = results[server.name];
          if (!l) {
            rows.push({ ...base, error: `measure-sink.mjs exit ${status}: ${stderr.slice(-1500)}` });
            continue;
          }
          if (!l.countOk) {
            rows.push({ ...base, error: `${int(l.documents)} documents in the index, not ${int(n)}` });
            continue;
          }
          rows.push({
            ...base,
            ms: l.secondsFromReady * 1000,
            bytesIn: null,
            bytesOut: null,
            recordsOut: l.documents,
            peakRssKB: l.peakRssKB,
            note: [
              `${int(l.documentsPerSecond)} docs/s from ready (${l.startSeconds} s start-up before it; ${int(l.documentsPerSecondFromSpawn)} docs/s counting it)`,
              `${l.cpuSeconds} CPU-s in the service, ${l.flushes} flush(es) of ${l.flushSeconds} s`,
              `${server.label} ${server.version}`,
              publish ? `publishing with -K took ${publish.publishSeconds} s (not counted)` : null,
              verdict(l.documentsPerSecond),
            ]
              .filter(Boolean)
              .join('; '),
            runs: 1,
            docsPerS: l.documentsPerSecond,
          });
        }
        return rows;
      },
    },
    {
      id: 'search/original',
      group: GROUP,
      title: `the original parsedmarc ${LATEST_VERSION} into Elasticsearch and OpenSearch (the ${int(nOriginal)}-record report), beside our CLI on the same report`,
      kind: 'parts',
      needs: searchNeeds,
      run: async () => {
        const servers = await upServers(ctx);
        const set = await ctx.corpus.aggregate(nOriginal);
        const file = set.files.gz;
        const rows = [];
        let peer = null;
        let installError = null;
        try {
          peer = ensureOriginalPeer(ctx.benchDir, LATEST_VERSION, ctx.log);
        } catch (error) {
          installError = String(error.message ?? error).slice(0, 800);
        }
        for (const server of servers) {
          const base = {
            part: `original-${server.name}`,
            label: `original parsedmarc ${peer?.version ?? LATEST_VERSION} → ${server.label} (save_aggregate; a search, then one request per document)`,
            impl: 'theirs',
            input: `${int(nOriginal)} records, .xml.gz (${fmtBytes(file.bytes)})`,
            records: nOriginal,
          };
          if (!peer) {
            rows.push({
              ...base,
              todo: `parsedmarc ${LATEST_VERSION} could not be installed: ${installError}`,
            });
            continue;
          }
          const prefix = uniqueIndexPrefix('bench-search-orig');
          const dir = mkdtempSync(join(os.tmpdir(), 'pdm-bench-search-'));
          const host = new URL(server.url);
          const section = server.name === 'elasticsearch' ? 'elasticsearch' : 'opensearch';
          writeFileSync(
            join(dir, 'parsedmarc.ini'),
            [
              '[general]',
              'save_aggregate = True',
              'offline = True',
              'silent = True',
              '',
              `[${section}]`,
              `hosts = ${host.hostname}:${host.port}`,
              `ssl = ${host.protocol === 'https:' ? 'True' : 'False'}`,
              `index_prefix = ${prefix}`,
              '',
            ].join('\n'),
          );
          try {
            const m = await measuredRun(
              ctx,
              server,
              prefix,
              peer.bin,
              ['-c', join(dir, 'parsedmarc.ini'), file.path],
              {
                ...originalEnv(),
                // The search server is local: never through the dead proxy that guards against downloads.
                NO_PROXY: '127.0.0.1,localhost',
                no_proxy: '127.0.0.1,localhost',
              },
            );
            const failure = failureOf(m, nOriginal);
            ctx.log(`  theirs ${server.name}: ${failure ?? `${(m.wallMs / 1000).toFixed(2)} s`}`);
            rows.push(
              failure
                ? { ...base, error: failure }
                : rowOf({
                    ...base,
                    bytesIn: file.bytes,
                    runs: [m],
                    server,
                    extraNote: `python ${peer.pythonVersion}, ${section === 'elasticsearch' ? `elasticsearch-py ${peer.libs.elasticsearch}` : `opensearch-py ${peer.libs['opensearch-py']}`}`,
                  }),
            );
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
        // Ours on the same (smaller) report, for the ratio.
        const ours = await cliRows(ctx, nOriginal, servers, { runs: 1, part: 'cli-small' });
        for (const row of ours) {
          const theirs = rows.find((r) => r.part === row.part.replace('cli-small', 'original'));
          if (row.docsPerS && theirs?.docsPerS)
            row.note = `${row.note}; ${(row.docsPerS / theirs.docsPerS).toFixed(0)}x the original's docs/s`;
        }
        return [...rows, ...ours];
      },
    },
  ];
}
