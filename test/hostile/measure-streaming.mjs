#!/usr/bin/env node
// Measures parseReports on a big generated aggregate report (not a test: speed is never asserted).
//
//   npx tsc -b libs/parser && node test/hostile/measure-streaming.mjs [records=100000] [partRecords=10000]
//
// Each mode runs in its own process so that its peak RSS (getrusage maxrss) is its own:
//   xmlgz-stream  the .xml.gz read as a file stream: the decompressed document is never whole in memory;
//   xml-stream    the plain .xml read as a file stream;
//   xmlgz-bytes   the .xml.gz read whole first (as an email attachment or Kafka message would be);
//   zip-bytes     the report zipped (a zip is always held whole; its member is streamed);
//   gunzip-only   only the decompression, output counted and dropped.
// Outcomes are counted and dropped, as a consumer writing them out would do.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = fileURLToPath(import.meta.url);
const modes = ['xmlgz-stream', 'xml-stream', 'xmlgz-bytes', 'zip-bytes', 'gunzip-only'];
const [mode, countArg, partArg] = modes.includes(process.argv[2])
  ? process.argv.slice(2)
  : ['all', ...process.argv.slice(2)];
const records = Number(countArg ?? 100_000);
const aggregatePartRecords = Number(partArg ?? 10_000);
const base = join(tmpdir(), `parsedmarc-ts-measure-${records}`);

function record(i) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return (
    `  <record><row><source_ip>${ip}</source_ip><count>${1 + (i % 7)}</count>` +
    '<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>' +
    '<identifiers><header_from>example.com</header_from></identifiers>' +
    `<auth_results><dkim><domain>example.com</domain><selector>s${i % 13}</selector><result>pass</result></dkim>` +
    `<spf><domain>bounce${i % 97}.example.net</domain><result>fail</result></spf></auth_results></record>\n`
  );
}

function generate() {
  if (existsSync(`${base}.xml.gz`)) return;
  const begin = 1_711_929_600;
  const parts = [
    '<?xml version="1.0" encoding="UTF-8" ?>\n<feedback>\n  <version>1.0</version>\n',
    '  <report_metadata><org_name>example.net</org_name><email>dmarc@example.net</email>',
    `<report_id>measure</report_id><date_range><begin>${begin}</begin><end>${begin + 86_399}</end></date_range></report_metadata>\n`,
    '  <policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>\n',
  ];
  for (let i = 0; i < records; i++) parts.push(record(i));
  parts.push('</feedback>\n');
  const xml = Buffer.from(parts.join(''));
  writeFileSync(`${base}.xml`, xml);
  writeFileSync(`${base}.xml.gz`, zlib.gzipSync(xml));
  // A one-member zip, by hand (stored sizes fit 32 bits).
  const name = Buffer.from('report.xml');
  const data = zlib.deflateRawSync(xml);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(zlib.crc32(xml), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(xml.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(zlib.crc32(xml), 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(xml.length, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + data.length, 16);
  writeFileSync(`${base}.zip`, Buffer.concat([local, name, data, central, name, end]));
}

async function run() {
  const { parseReports } = await import('../../libs/parser/dist/index.js');
  const started = performance.now();
  let outcomes = 0;
  let count = 0;
  let failures = 0;
  if (mode === 'gunzip-only') {
    const { gunzip } = await import('../../libs/parser/dist/containers/gzip.js');
    const { resolveLimits } = await import('../../libs/parser/dist/limits.js');
    for await (const piece of gunzip(createReadStream(`${base}.xml.gz`), resolveLimits(), 'measure'))
      count += piece.length;
  } else {
    const input = {
      'xmlgz-stream': () => createReadStream(`${base}.xml.gz`),
      'xml-stream': () => createReadStream(`${base}.xml`),
      'xmlgz-bytes': () => readFileSync(`${base}.xml.gz`),
      'zip-bytes': () => readFileSync(`${base}.zip`),
    }[mode]();
    for await (const outcome of parseReports(input, { source: mode, aggregatePartRecords })) {
      outcomes++;
      if (outcome.ok) count += outcome.parsed.report.records.length;
      else failures++;
    }
  }
  const ms = performance.now() - started;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${mode.padEnd(13)} ${ms.toFixed(0).padStart(6)} ms  peak RSS ${rssMiB.toFixed(0).padStart(4)} MiB  ` +
      (mode === 'gunzip-only'
        ? `${(count / 2 ** 20).toFixed(1)} MiB out`
        : `${outcomes} outcomes, ${count} records, ${failures} failures`),
  );
}

if (mode === 'all') {
  generate();
  const xmlBytes = readFileSync(`${base}.xml`).length;
  const gzBytes = readFileSync(`${base}.xml.gz`).length;
  console.log(
    `${records} records: XML ${(xmlBytes / 2 ** 20).toFixed(1)} MiB, gzip ${(gzBytes / 2 ** 20).toFixed(2)} MiB, ` +
      `parts of ${aggregatePartRecords} records`,
  );
  for (const each of modes) {
    spawnSync(process.execPath, [here, each, String(records), String(aggregatePartRecords)], {
      stdio: 'inherit',
    });
  }
} else {
  generate();
  await run();
}
