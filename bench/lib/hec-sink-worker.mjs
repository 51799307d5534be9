// The HEC sink alone, in its own process: the report parsed first (untimed, into memory, in the parts the
// CLI uses), then its items written to libs/sinks' HEC sink and flushed into the receiver at <url>, once
// with a token without and once with indexer acknowledgement. Prints one JSON line per mode:
//   node bench/lib/hec-sink-worker.mjs <report file> <HEC url>
//   -> {"mode":"no-ack"|"ack","events":n,"ms":..,"eventsPerS":..,"cpuS":..,"indexed":n}
import { readFileSync } from 'node:fs';
import { parseReports } from '@parsedmarc-ts/parser';
import { hecSinkConfigSchema, hecSinkDefaults, openSinks } from '@parsedmarc-ts/sinks';

const [file, url] = process.argv.slice(2);
const items = [];
let records = 0;
for await (const outcome of parseReports(readFileSync(file), { source: file, aggregatePartRecords: 2000 })) {
  if (!outcome.ok) continue;
  items.push({ source: file, parsed: outcome.parsed, part: outcome.part });
  if (outcome.parsed.report_type === 'aggregate') records += outcome.parsed.report.records.length;
}

async function control(method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.json();
}

for (const [mode, settings] of [
  ['no-ack', {}],
  ['ack', { ack: true }],
]) {
  const token = `bench-hec-sink-${Date.now().toString(36)}-${mode}`;
  await control('PUT', `/_stub/tokens/${token}`, settings);
  try {
    const [sink] = await openSinks(
      {
        stdout: false,
        outputDir: null,
        kafka: null,
        elasticsearch: null,
        opensearch: null,
        hec: hecSinkConfigSchema.parse({
          ...hecSinkDefaults,
          url,
          token,
          host: 'bench',
          save: { aggregate: true, forensic: true, smtpTls: true },
        }),
        email: null,
      },
      { warn: () => undefined },
    );
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    for (const item of items) await sink.write(item);
    const refusals = await sink.flush();
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    await sink.close();
    if (refusals.length > 0) throw new Error(`refused: ${refusals[0].reason}`);
    const { indexed } = await control('GET', `/_stub/tokens/${token}/stats`);
    console.log(
      JSON.stringify({
        mode,
        events: records,
        indexed,
        ms: Math.round(ms),
        eventsPerS: Math.round((records / ms) * 1000),
        cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(2),
      }),
    );
  } finally {
    await control('DELETE', `/_stub/tokens/${token}`).catch(() => undefined);
  }
}
