#!/usr/bin/env node
/**
 * Sink service throughput on this machine (not a test): publishes one report file onto a fresh, uniquely
 * prefixed dmarc_aggregate topic with the CLI's -K publisher, then, for each target, starts the built
 * service (apps/sink-elastic/dist/main.js for elasticsearch= and opensearch=, apps/sink-hec/dist/main.js
 * for hec= with a fresh token on the HEC test receiver) as a real process on its own consumer group, and
 * times it until every record is stored: the group's committed offsets at the topic's end (the service
 * commits only after its flush: bulk answers, or indexer acknowledgement for HEC) and the count of stored
 * documents or events equal to the records published. Prints one JSON line per target (and one for the
 * publishing), then removes its indexes, index templates, tokens, topics and consumer groups.
 *
 *   npm run build && eval "$(tools/servers.sh env kafka schema-registry elasticsearch opensearch hec)"
 *   node test/search/measure-sink.mjs <report file> <records> [elasticsearch=URL] [opensearch=URL] [hec=URL]
 *
 * Without target arguments: ELASTICSEARCH_URL (and OPENSEARCH_URL when set).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createKafka, ensureTopics, prefixedTopicNames } from '@parsedmarc-ts/kafka';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const [file, recordsArg, ...targetArgs] = process.argv.slice(2);
if (!file || !recordsArg || !process.env.KAFKA_BROKERS || !process.env.SCHEMA_REGISTRY_URL) {
  console.error(
    'usage: KAFKA_BROKERS=... SCHEMA_REGISTRY_URL=... node test/search/measure-sink.mjs <file> <records> [name=URL ...]',
  );
  process.exit(2);
}
const expected = Number(recordsArg);
const brokers = process.env.KAFKA_BROKERS.split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
const targets = targetArgs.length
  ? targetArgs.map((a) => {
      const [name, url] = a.split('=');
      return { name, url };
    })
  : [
      { name: 'elasticsearch', url: process.env.ELASTICSEARCH_URL },
      ...(process.env.OPENSEARCH_URL ? [{ name: 'opensearch', url: process.env.OPENSEARCH_URL }] : []),
    ].filter((t) => t.url);
if (targets.length === 0) {
  console.error('measure-sink: no target (ELASTICSEARCH_URL or name=URL arguments)');
  process.exit(2);
}

// Lowercase (index names must be): used for the topics, the groups and the indexes alike.
const prefix = `measure-sink-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;
const topics = prefixedTopicNames(prefix);
const log = (msg) => process.stderr.write(`measure-sink: ${msg}\n`);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function search(url, method, path) {
  const res = await fetch(`${url}${path}`, { method });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : null };
}

async function countOf(url, indexPrefix, refresh) {
  if (refresh) await search(url, 'POST', `/${indexPrefix}*/_refresh?allow_no_indices=true`);
  const r = await search(url, 'GET', `/${indexPrefix}*/_count?allow_no_indices=true`);
  return r.status < 300 ? (r.json?.count ?? 0) : 0;
}

/** Indexes by exact name (wildcard deletes are refused by default), then our index templates. */
async function dropIndexes(url, indexPrefix) {
  const list = await search(url, 'GET', `/_cat/indices/${indexPrefix}*?format=json&h=index`);
  for (const { index } of list.json ?? []) await search(url, 'DELETE', `/${index}`);
  const templates = await search(url, 'GET', '/_index_template');
  for (const { name } of templates.json?.index_templates ?? [])
    if (name.includes(indexPrefix)) await search(url, 'DELETE', `/_index_template/${name}`);
}

const kafka = createKafka({ brokers, clientId: 'measure-sink' });
const admin = kafka.admin();
await admin.connect();

async function committedSum(groupId, topic) {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let sum = 0;
  for (const p of offsets?.partitions ?? []) sum += Math.max(0, Number(p.offset));
  return sum;
}

async function endOffsetSum(topic) {
  let sum = 0;
  for (const p of await admin.fetchTopicOffsets(topic)) sum += Number(p.high);
  return sum;
}

/** HEC test receiver control (tools/hec/receiver.mjs): token create, stats, delete. */
async function hecControl(url, method, token, what = '', body) {
  const res = await fetch(`${url}/_stub/tokens/${token}${what}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} token: HTTP ${res.status}`);
  return res.json();
}

/** Per kind of target: the service, its variables, how stored records are counted, what to remove. */
function backendOf(target) {
  const name = `${prefix}${target.name}-`;
  if (target.name === 'hec') {
    const token = `${name}token`;
    return {
      service: 'sink-hec',
      prepare: () => hecControl(target.url, 'PUT', token, '', { ack: true }),
      env: { HEC_URL: target.url, HEC_TOKEN: token },
      count: async () => (await hecControl(target.url, 'GET', token, '/stats')).indexed,
      cleanup: () => hecControl(target.url, 'DELETE', token),
    };
  }
  return {
    service: 'sink-elastic',
    prepare: async () => undefined,
    env: { ELASTICSEARCH_HOSTS: target.url, ELASTICSEARCH_INDEX_PREFIX: name },
    // A refresh makes the documents countable (the service's own flushes never refresh).
    count: (refresh) => countOf(target.url, name, refresh),
    cleanup: () => dropIndexes(target.url, name),
  };
}

const groups = [];
const backends = [];
let current = null;
async function cleanup() {
  current?.kill('SIGKILL');
  for (const { target, backend } of backends)
    await backend.cleanup().catch((e) => log(`cleanup of ${target.name} (${target.url}): ${e.message}`));
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}
// Never hang: give up after 10 minutes (and still clean up).
const deadline = setTimeout(async () => {
  log('timed out');
  await cleanup();
  process.exit(1);
}, 600_000);
deadline.unref();

let failed = false;
try {
  await ensureTopics(admin, Object.values(topics), { partitions: 3 });

  // Publishing, with the CLI's own -K publisher (parses and splits the report into parts).
  const pubStarted = performance.now();
  const pub = spawnSync(
    process.execPath,
    [
      `${repo}/apps/cli/bin/parsedmarc.js`,
      '--offline',
      '-s',
      '-K',
      ...brokers,
      '--schema-registry',
      registryUrl,
      '--kafka-aggregate-topic',
      topics.aggregate,
      '--kafka-forensic-topic',
      topics.forensic,
      '--kafka-smtp-tls-topic',
      topics.smtpTls,
      file,
    ],
    { cwd: repo, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 300_000 },
  );
  const publishSeconds = (performance.now() - pubStarted) / 1000;
  if (pub.status !== 0) throw new Error(`publishing failed (exit ${pub.status}): ${pub.stderr.slice(-2000)}`);
  const messages = await endOffsetSum(topics.aggregate);
  console.log(
    JSON.stringify({
      publish: true,
      file,
      inputBytes: statSync(file).size,
      topic: topics.aggregate,
      messages,
      publishSeconds: +publishSeconds.toFixed(2),
    }),
  );

  for (const target of targets) {
    const backend = backendOf(target);
    const groupId = `${prefix}${target.name}-${backend.service}`;
    backends.push({ target, backend });
    groups.push(groupId);
    await backend.prepare();
    const port = await freePort();
    const started = performance.now();
    const proc = spawn(process.execPath, [`${repo}/apps/${backend.service}/dist/main.js`], {
      cwd: repo,
      env: {
        ...process.env,
        TZ: 'UTC',
        NODE_ENV: 'production',
        KAFKA_BROKERS: brokers.join(','),
        SCHEMA_REGISTRY_URL: registryUrl,
        TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: groupId,
        CREATE_TOPICS: 'false',
        ...backend.env,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    current = proc;
    let exited = null;
    proc.once('exit', (code, signal) => (exited = { code, signal }));
    let readyAt = null;
    let firstAt = null;
    let doneAt = null;
    let peakRssKB = 0;
    const sampleRss = () => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
        if (m) peakRssKB = Math.max(peakRssKB, Number(m[1]));
      } catch {
        // exited
      }
    };
    while (doneAt === null) {
      if (exited) throw new Error(`${backend.service} exited early (${JSON.stringify(exited)})`);
      sampleRss();
      const now = performance.now();
      if (readyAt === null) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) readyAt = now;
        } catch {
          // not listening yet
        }
      }
      if (firstAt === null && (await backend.count(false)) > 0) firstAt = now;
      if ((await committedSum(groupId, topics.aggregate)) >= messages) {
        // Everything committed: the flushes returned, what they wrote is durable.
        if ((await backend.count(true)) >= expected) doneAt = now;
      }
      if (doneAt === null) await new Promise((r) => setTimeout(r, 100));
    }
    sampleRss();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = (name) =>
      Number(metrics.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm'))?.[1] ?? NaN);
    proc.kill('SIGTERM');
    await new Promise((r) => (exited ? r() : proc.once('exit', r)));
    current = null;
    const documents = await backend.count(true);
    const fromReady = (doneAt - (readyAt ?? started)) / 1000;
    const fromSpawn = (doneAt - started) / 1000;
    console.log(
      JSON.stringify({
        target: target.name,
        url: target.url,
        records: expected,
        documents,
        countOk: documents === expected,
        messages,
        secondsFromSpawn: +fromSpawn.toFixed(2),
        secondsFromReady: +fromReady.toFixed(2),
        startSeconds: readyAt === null ? null : +((readyAt - started) / 1000).toFixed(2),
        firstDocumentSeconds: firstAt === null ? null : +((firstAt - started) / 1000).toFixed(2),
        documentsPerSecond: Math.round(documents / fromReady),
        documentsPerSecondFromSpawn: Math.round(documents / fromSpawn),
        peakRssKB,
        cpuSeconds: +metric('process_cpu_seconds_total').toFixed(2),
        flushes: metric('pdm_sink_flushes_total'),
        flushSeconds: +metric('pdm_sink_flush_duration_seconds_sum').toFixed(2),
      }),
    );
  }
} catch (error) {
  failed = true;
  log(error.stack ?? String(error));
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
