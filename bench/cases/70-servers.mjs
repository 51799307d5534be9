// Parts that need a running server (tools/servers.sh start <name>): enrichment against the local resolver
// and the Kafka pipeline end to end, each measured by its own script (the numbers come from the same code
// the tests run) and shown beside the embedded CLI on the same input where that applies.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Where the online case's resolver listens: port 53, the only one the original's -n can ask. */
const ONLINE_RESOLVER = '127.0.0.2';
const ONLINE_DELAY_MS = 20;

/** Whether this process may bind UDP port 53 on the online case's address (root, or CAP_NET_BIND_SERVICE). */
function canBindResolverPort() {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(53, ONLINE_RESOLVER, () => socket.close(() => resolve(true)));
  });
}

/** Starts libs/enrich's delay relay on ONLINE_RESOLVER:53 in front of dnsmasq; resolves to its stop(). */
function startRelay(ctx) {
  const upstream = `127.0.0.1:${envOf(ctx, 'dns').PDM_DNS_PORT ?? '15353'}`;
  const relay = spawn(
    process.execPath,
    [
      join(ctx.repo, 'libs', 'enrich', 'scripts', 'delay-relay.mjs'),
      upstream,
      String(ONLINE_DELAY_MS),
      `${ONLINE_RESOLVER}:53`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    relay.once('exit', (code) => reject(new Error(`the delay relay exited (${code}) before it was ready`)));
    relay.stdout.setEncoding('utf8');
    relay.stdout.once('data', () =>
      resolve(() => {
        relay.removeAllListeners('exit');
        relay.stdin.end(); // the relay exits when its stdin closes
      }),
    );
  });
}

export default function serverCases(ctx) {
  return [
    {
      id: 'dns/online',
      group: 'Online: reverse DNS behind a 20 ms resolver',
      title: `10,000 records from 10,000 distinct IPs, every one looked up (PTR) through a resolver that answers after ${ONLINE_DELAY_MS} ms`,
      kind: 'cli',
      needs: async () =>
        !ctx.serverUp('dns')
          ? 'dns server not running (tools/servers.sh start dns)'
          : (await canBindResolverPort())
            ? null
            : `cannot bind ${ONLINE_RESOLVER}:53 for the resolver (needs root): the original asks port 53 only`,
      prepare: async () => {
        const n = 10_000;
        const set = await ctx.corpus.aggregate(n);
        // The corpus report with its source IPs replaced by the 10,000 that dnsmasq has PTR records for
        // (tools/dns: 10.77.X.Y), each once: no cache helps either tool.
        let i = 0;
        const xml = readFileSync(set.files.xml.path, 'utf8').replace(
          /<source_ip>[^<]*<\/source_ip>/g,
          () => `<source_ip>10.77.${Math.floor(i / 250)}.${(i++ % 250) + 1}</source_ip>`,
        );
        if (i !== n) throw new Error(`expected ${n} source IPs in the corpus report, found ${i}`);
        const dir = join(ctx.benchDir, '.corpus', 'dns-online');
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `aggregate-${n}-distinct-ips.xml`);
        writeFileSync(file, xml);
        const stop = await startRelay(ctx);
        return {
          inputs: [file],
          files: 1,
          reports: 1,
          records: n,
          bytes: Buffer.byteLength(xml),
          description: `${n.toLocaleString('en-US')} distinct IPv4 sources, .xml; both CLIs with \`-n ${ONLINE_RESOLVER}\` and without --offline`,
          expect: { aggregateRecords: n },
          cleanup: stop,
        };
      },
      args: (out, inputs) => ['-n', ONLINE_RESOLVER, '-s', '-o', out, ...inputs],
    },
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
