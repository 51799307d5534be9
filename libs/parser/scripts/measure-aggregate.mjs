#!/usr/bin/env node
// Measures the aggregate parser on a generated report (not a test: speed is never asserted).
//
//   npx tsc -b libs/parser && node libs/parser/scripts/measure-aggregate.mjs [records=100000]
//
// Runs each mode in its own process so that peak RSS (getrusage maxrss) belongs to that mode alone:
//   stream  - AggregateReportStreamParser fed 64 KiB chunks generated on the fly: the document is never
//             whole in memory, records are counted and dropped (the bounded-memory path);
//   whole   - the document built as one string, then parseAggregateReportXml (all records kept);
//   sax     - the bare saxes pass over the same string with no handlers, as the floor.
// `node libs/parser/scripts/measure-aggregate.mjs file <report.xml>` streams a real file's bytes instead.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const fileArg = process.argv[2] === 'file' ? process.argv[3] : undefined;
const [mode, countArg] =
  process.argv[2] === undefined || /^\d+$/.test(process.argv[2])
    ? ['all', process.argv[2]]
    : process.argv.slice(2);
const records = fileArg === undefined ? Number(countArg ?? 100_000) : 0;

const begin = 1_711_929_600; // 2024-04-01 00:00:00 UTC
const header = `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>google.com</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>
    <report_id>${begin}-measure</report_id>
    <date_range>
      <begin>${begin}</begin>
      <end>${begin + 86_399}</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
    <np>none</np>
  </policy_published>
`;

function record(i) {
  const ip = `${10 + ((i >>> 16) % 200)}.${(i >>> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
  const pass = i % 3 !== 0;
  return `  <record>
    <row>
      <source_ip>${i % 10 === 0 ? `2001:db8::${i.toString(16)}` : ip}</source_ip>
      <count>${1 + (i % 17)}</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>${pass ? 'pass' : 'fail'}</dkim>
        <spf>${i % 2 === 0 ? 'pass' : 'fail'}</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s${i % 5}</selector>
        <result>${pass ? 'pass' : 'fail'}</result>
      </dkim>
      <spf>
        <domain>mail${i % 100}.example.net</domain>
        <result>${i % 2 === 0 ? 'pass' : 'softfail'}</result>
      </spf>
    </auth_results>
  </record>
`;
}

function* chunks(size = 64 * 1024) {
  let buffer = header;
  for (let i = 0; i < records; i++) {
    buffer += record(i);
    if (buffer.length >= size) {
      yield buffer;
      buffer = '';
    }
  }
  yield buffer + '</feedback>\n';
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

async function run() {
  const parser = await import('../dist/index.js');
  if (mode === 'file') {
    const { createReadStream } = await import('node:fs');
    let seen = 0;
    let count = 0;
    let bytes = 0;
    const start = process.hrtime.bigint();
    const stream = new parser.AggregateReportStreamParser({
      onHeader() {},
      onRecord(r) {
        seen++;
        count += r.count;
      },
    });
    for await (const chunk of createReadStream(fileArg, { highWaterMark: 64 * 1024 })) {
      bytes += chunk.length;
      stream.writeBytes(chunk);
    }
    stream.end();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report({ seen, count, bytes, seconds, note: 'bytes read from disk, decoded' });
  } else if (mode === 'stream') {
    let seen = 0;
    let count = 0;
    let bytes = 0;
    const start = process.hrtime.bigint();
    const stream = new parser.AggregateReportStreamParser({
      onHeader() {},
      onRecord(r) {
        seen++;
        count += r.count;
      },
    });
    for (const chunk of chunks()) {
      bytes += chunk.length;
      stream.write(chunk);
    }
    stream.end();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report({ seen, count, bytes, seconds, note: 'generation included' });
  } else if (mode === 'whole' || mode === 'sax') {
    const xml = [...chunks()].join('');
    const start = process.hrtime.bigint();
    let seen = 0;
    let count = 0;
    if (mode === 'whole') {
      const result = parser.parseAggregateReportXml(xml);
      seen = result.records.length;
      count = result.records.reduce((sum, r) => sum + r.count, 0);
    } else {
      const { SaxesParser } = await import('saxes');
      const sax = new SaxesParser({ xmlns: false, position: true });
      sax.on('opentag', () => seen++);
      sax.write(xml).close();
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report({ seen, count, bytes: xml.length, seconds });
  }
}

function report({ seen, count, bytes, seconds, note }) {
  const rate = mode === 'sax' ? '' : `, ${Math.round(seen / seconds).toLocaleString('en')} records/s`;
  console.log(
    `${mode.padEnd(6)} ${mib(bytes)} XML, ${seen.toLocaleString('en')} ${mode === 'sax' ? 'elements' : `records (sum of counts ${count})`}: ` +
      `${seconds.toFixed(2)} s${rate}, peak RSS ${mib(peakRss())}${note ? ` (${note})` : ''}`,
  );
}

if (mode === 'all') {
  console.log(`node ${process.version}, ${records.toLocaleString('en')} records`);
  for (const m of ['stream', 'whole', 'sax']) {
    const child = spawnSync(process.execPath, [here, m, String(records)], { stdio: 'inherit' });
    if (child.status !== 0) process.exit(child.status ?? 1);
  }
} else {
  await run();
}
