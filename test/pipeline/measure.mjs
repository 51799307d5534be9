#!/usr/bin/env node
/**
 * Pipeline throughput on this machine (not a test): publishes N copies of one report file onto raw-mail,
 * runs report-parse and enrich (offline enrichment) as real processes against the real broker and registry,
 * and times publish start → the last aggregate part read back (read_committed) from dmarc_aggregate.
 *
 *   npm run build && eval "$(tools/servers.sh env kafka schema-registry)"
 *   node test/pipeline/measure.mjs <report file> [copies=10] [partitions=3]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  createKafka,
  createRawMailPublisher,
  ensureTopics,
  prefixedTopicNames,
  RegistryCodec,
} from '@parsedmarc-ts/kafka';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const [file, copiesArg = '10', partitionsArg = '3'] = process.argv.slice(2);
if (!file || !process.env.KAFKA_BROKERS || !process.env.SCHEMA_REGISTRY_URL) {
  console.error(
    'usage: KAFKA_BROKERS=... SCHEMA_REGISTRY_URL=... node test/pipeline/measure.mjs <file> [copies] [partitions]',
  );
  process.exit(2);
}
const copies = Number(copiesArg);
const brokers = process.env.KAFKA_BROKERS.split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
const prefix = `measure-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}-`;
const topics = prefixedTopicNames(prefix);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const ports = {};
async function start(name) {
  const port = await freePort();
  ports[name] = port;
  const proc = spawn(process.execPath, [`${repo}/apps/${name}/dist/main.js`], {
    env: {
      ...process.env,
      TOPIC_PREFIX: prefix,
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENRICH_OFFLINE: 'true',
      KAFKA_GROUP_ID: `${prefix}${name}`,
      KAFKA_TRANSACTIONAL_ID: `${prefix}${name}`,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const kafka = createKafka({ brokers, clientId: 'measure' });
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, Object.values(topics), { partitions: Number(partitionsArg) });
await admin.disconnect();
const services = [];
// Never leave the services behind, and never hang: give up after 10 minutes.
process.on('exit', () => services.forEach((s) => s.kill('SIGKILL')));
setTimeout(() => {
  console.error('measure: timed out');
  process.exit(1);
}, 600_000).unref();
services.push(await start('report-parse'), await start('enrich'));

const bytes = readFileSync(file);
const codec = new RegistryCodec({ url: registryUrl });
const consumer = kafka.consumer({ groupId: `${prefix}reader`, readUncommitted: false });
await consumer.connect();
await consumer.subscribe({ topic: topics.aggregate, fromBeginning: true });
let records = 0;
let messages = 0;
let complete = 0;
let done;
const finished = new Promise((r) => (done = r));
await consumer.run({
  eachMessage: async ({ message }) => {
    const value = await codec.decode('dmarc_aggregate', message.value);
    records += value.records.length;
    messages += 1;
    if (value.part === null || value.part.is_last) complete += 1;
    if (complete === copies) done();
  },
});

const started = performance.now();
const publisher = await createRawMailPublisher({ brokers, registryUrl, topic: topics.rawMail });
for (let i = 0; i < copies; i++) await publisher.publish(bytes, { source: `copy${i}/${file}` });
await publisher.close();
const published = performance.now();
await finished;
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    file,
    copies,
    inputBytes: bytes.length,
    records,
    messages,
    publishSeconds: +((published - started) / 1000).toFixed(2),
    seconds: +seconds.toFixed(2),
    recordsPerSecond: Math.round(records / seconds),
    reportsPerSecond: +(copies / seconds).toFixed(1),
  }),
);
await consumer.disconnect();
// Where the time went, per service: transactions and their total transform+commit time.
for (const [name, port] of Object.entries(ports)) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (metric) =>
    Number(text.match(new RegExp(`^${metric}\\{[^}]*\\} ([0-9.e+-]+)$`, 'm'))?.[1] ?? NaN);
  console.log(
    JSON.stringify({
      service: name,
      transactions: value('pdm_transactions_total'),
      transactionSeconds: +value('pdm_transaction_duration_seconds_sum').toFixed(2),
      cpuSeconds: +value('process_cpu_seconds_total').toFixed(2),
    }),
  );
}
for (const s of services) s.kill('SIGTERM');
await Promise.all(services.map((s) => new Promise((r) => s.once('exit', r))));
const cleanup = kafka.admin();
await cleanup.connect();
await cleanup.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
await cleanup.disconnect();
