// Parts that need a running server (tools/servers.sh start <name>): enrichment against the local resolver
// and the Kafka pipeline end to end, each measured by its own script (the numbers come from the same code
// the tests run) and shown beside the embedded CLI on the same input where that applies.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

function envOf(ctx, server) {
  const text = execFileSync('bash', [join(ctx.repo, 'tools', server, 'ctl.sh'), 'env'], { encoding: 'utf8' });
  const env = {};
  for (const [, k, v] of text.matchAll(/([A-Z][A-Z0-9_]+)=([^\s'"]+)/g)) env[k] = v;
  return env;
}

/** Runs a measuring script (its numbers are printed as JSON lines on stdout). */
function runScript(ctx, args, env) {
  const result = spawnSync(process.execPath, args, {
    cwd: ctx.repo,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  return {
    stdout: result.stdout ?? '',
    stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`,
  };
}

function lastJsonLines(stdout) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

export default function serverCases(ctx) {
  return [
    {
      id: 'enrichment/dns',
      group: 'Parts against local servers',
      title:
        'enrichment against the local resolver (dnsmasq): 10,000 distinct source IPs, one PTR lookup each',
      kind: 'parts',
      needs: async () => (ctx.serverUp('dns') ? null : 'dns server not running (tools/servers.sh start dns)'),
      run: async () => {
        const script = join(ctx.repo, 'libs', 'enrich', 'scripts', 'measure-enrich.mjs');
        // Straight to dnsmasq (sub-millisecond round trips: dnsmasq itself is the limit), then through a relay
        // that holds every answer 20 ms, like a resolver across a network: there the bound on lookups in
        // flight is what matters, and the time shows whether they overlap.
        const rows = [];
        for (const [how, extra, concurrency] of [
          ['direct', [], '1,32,128'],
          ['20 ms resolver', ['--delay-ms', '20'], '32,128'],
        ]) {
          const m = runScript(
            ctx,
            [script, '--concurrency', concurrency, '--json', ...extra],
            envOf(ctx, 'dns'),
          );
          const [result] = lastJsonLines(m.stdout);
          if (!result) {
            rows.push({
              part: `enrich-${how}`,
              label: `enrichment, ${how}`,
              impl: 'ours',
              error: m.stderr.slice(-1500),
            });
            continue;
          }
          for (const r of result.results) {
            rows.push({
              part: `enrich-${how}-c${r.concurrency}`,
              label: `enrichment, ${how}, concurrency ${r.concurrency}`,
              impl: 'ours',
              input: `${result.ips.toLocaleString('en-US')} distinct IPs (one round trip ≈ ${result.roundTripMs} ms)`,
              records: result.ips,
              ms: r.ms,
              bytesIn: null,
              bytesOut: null,
              recordsOut: r.resolved,
              peakRssKB: null,
              note: `${Math.round((result.ips / r.ms) * 1000).toLocaleString('en-US')} records/s, ${r.queriesPerSecond.toLocaleString('en-US')} queries/s, ${r.xSlotRoundTrips}x one round trip per slot (1x = every slot always busy; 10,000 sequential lookups would be ${Math.round((result.ips * result.roundTripMs) / 1000)} s), ${r.failures} failures`,
              runs: 1,
            });
          }
        }
        return rows;
      },
    },
    {
      id: 'kafka/pipeline',
      group: 'Parts against local servers',
      title:
        'Kafka pipeline end to end (raw-mail → report-parse → enrich → dmarc_aggregate), beside the embedded CLI',
      kind: 'parts',
      needs: async () =>
        ctx.serverUp('kafka') && ctx.serverUp('schema-registry')
          ? null
          : 'kafka or schema-registry not running (tools/servers.sh start kafka schema-registry)',
      run: async () => {
        const copies = ctx.quick ? 2 : 10;
        const n = ctx.quick ? 1000 : 10_000;
        const set = await ctx.corpus.aggregate(n);
        const file = set.files.gz;
        const env = { ...envOf(ctx, 'kafka'), ...envOf(ctx, 'schema-registry') };
        const m = runScript(
          ctx,
          [join(ctx.repo, 'test', 'pipeline', 'measure.mjs'), file.path, String(copies), '3'],
          env,
        );
        const lines = lastJsonLines(m.stdout);
        const summary = lines.find((l) => l.recordsPerSecond !== undefined);
        const rows = [];
        if (!summary) {
          rows.push({ part: 'pipeline', label: 'pipeline', impl: 'ours', error: m.stderr.slice(-1500) });
          return rows;
        }
        rows.push({
          part: 'pipeline',
          label: `pipeline: ${copies} copies of a ${n.toLocaleString('en-US')}-record .xml.gz onto raw-mail, until the last part is read back`,
          impl: 'ours',
          input: `${copies} × ${n.toLocaleString('en-US')} records`,
          records: summary.records,
          ms: Math.round(summary.seconds * 1000),
          bytesIn: summary.inputBytes * copies,
          bytesOut: null,
          recordsOut: summary.records,
          peakRssKB: null,
          note: `${summary.recordsPerSecond.toLocaleString('en-US')} records/s end to end; publishing took ${summary.publishSeconds} s; ${lines
            .filter((l) => l.service && l.cpuSeconds !== undefined)
            .map((l) => `${l.service} ${l.cpuSeconds} CPU-s in ${l.transactions} transactions`)
            .join(', ')}`,
          runs: 1,
        });
        // The embedded CLI on the same files, for comparison.
        const inputs = Array.from({ length: copies }, () => file.path);
        const cli = await ctx.measure(
          process.execPath,
          [
            join(ctx.repo, 'apps', 'cli', 'bin', 'parsedmarc.js'),
            '--offline',
            '-s',
            '-o',
            join(ctx.benchDir, '.corpus', 'pipeline-cli-out'),
            ...inputs,
          ],
          { cwd: ctx.repo },
        );
        rows.push({
          part: 'pipeline-cli',
          label: 'the embedded CLI on the same files (one process, writes JSON and CSV)',
          impl: 'ours',
          input: `${copies} × ${n.toLocaleString('en-US')} records`,
          records: summary.records,
          ms: Math.round(cli.wallMs),
          bytesIn: file.bytes * copies,
          bytesOut: null,
          recordsOut: summary.records,
          peakRssKB: cli.peakRssKB,
          note: cli.exitCode === 0 ? null : `exit ${cli.exitCode}`,
          runs: 1,
        });
        execFileSync('rm', ['-rf', join(ctx.benchDir, '.corpus', 'pipeline-cli-out')]);
        return rows;
      },
    },
  ];
}
