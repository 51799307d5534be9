/**
 * apps/sink-elastic end to end, as a real process, against the real broker, registry and Elasticsearch test
 * server: reports from the report topics into Elasticsearch, with the service killed (SIGKILL) in the middle
 * of a flush whose bulk request the server had already applied (a proxy holds back the answer), then
 * restarted. Afterwards every document is there exactly once (counted by _id), the same documents an
 * in-process Elasticsearch sink writes from the same messages, and the interrupted chunk was written again
 * (its documents at _version 2): nothing lost, nothing duplicated. Deterministic: the proxy decides where
 * the first instance stops, and the waits are for conditions.
 */
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import {
  createKafka,
  ensureTopics,
  prefixedTopicNames,
  RegistryCodec,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import { reportTopicKinds, type ReportTopic } from '@parsedmarc-ts/avro';
import { decodeReportMessage, messageSource } from '@parsedmarc-ts/sinks/service';
import { openSinks, searchSinkConfigSchema, searchSinkDefaults } from '@parsedmarc-ts/sinks';
import {
  buildServices,
  ensureElasticsearch,
  ensureServers,
  freePort,
  startService,
  uniquePrefix,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import {
  committedSum,
  endOffsetSum,
  publishSamples,
  readRaw,
  reportTopicsOf,
  waitFor,
} from './sink-harness.js';

const secret = 'es-p4ssw0rd-n0t-in-l0gs';

/**
 * An HTTP proxy to Elasticsearch that, once told, forwards the bulk requests after the first n but holds
 * back their answers: the server has applied them, the client never hears so.
 */
async function holdingProxy(target: string) {
  const upstream = new URL(target);
  let bulks = 0;
  let allowed = Infinity;
  let answeredAndHeld = 0;
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const hold = (req.url ?? '').startsWith('/_bulk') && ++bulks > allowed;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        if (!hold) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        held.add(res);
        up.resume();
        up.on('end', () => (answeredAndHeld += 1));
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    holdBulksAfter(n: number) {
      allowed = bulks + n;
    },
    answeredAndHeld: () => answeredAndHeld,
    passAll() {
      allowed = Infinity;
      for (const res of held) res.destroy();
      held.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Hit {
  _index: string;
  _id: string;
  _version: number;
}

async function es(url: string, method: string, path: string, body?: object): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Every document of the indexes starting with `prefix`: index (without the prefix), id and version. */
async function documentsOf(url: string, prefix: string): Promise<{ key: string; version: number }[]> {
  await es(url, 'POST', `/${prefix}*/_refresh`);
  const answer = (await es(url, 'POST', `/${prefix}*/_search`, {
    size: 10_000,
    _source: false,
    version: true,
    track_total_hits: true,
    query: { match_all: {} },
  })) as { hits: { total: { value: number }; hits: Hit[] } };
  expect(answer.hits.hits).toHaveLength(answer.hits.total.value);
  return answer.hits.hits.map((h) => ({
    key: `${h._index.slice(prefix.length)}/${h._id}`,
    version: h._version,
  }));
}

async function dropIndexes(url: string, prefix: string): Promise<void> {
  const indexes = (await es(url, 'GET', `/_cat/indices/${prefix}*?format=json&h=index`)) as {
    index: string;
  }[];
  if (indexes.length > 0) await es(url, 'DELETE', `/${indexes.map((i) => i.index).join(',')}`);
  const templates = (await es(url, 'GET', `/_index_template/parsedmarc-ts-${prefix}*`)) as {
    index_templates: { name: string }[];
  };
  for (const t of templates.index_templates) await es(url, 'DELETE', `/_index_template/${t.name}`);
}

describe('sink-elastic end to end', () => {
  let servers: Servers;
  let esUrl: string;
  let admin: Admin;
  let prefix: string;
  let oraclePrefix: string;
  let topics: TopicNames;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    esUrl = ensureElasticsearch();
    buildServices(['apps/sink-elastic']);
    prefix = uniquePrefix('es');
    oraclePrefix = uniquePrefix('es-oracle');
    topics = prefixedTopicNames(prefix);
    admin = createKafka({ brokers: servers.brokers, clientId: 'sink-elastic-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 3 });
    proxy = await holdingProxy(esUrl);
  }, 180_000);

  afterAll(async () => {
    for (const service of services) await service.stop();
    await proxy?.close();
    await admin?.disconnect();
    for (const p of [prefix, oraclePrefix]) if (p) await dropIndexes(esUrl, p).catch(() => undefined);
  }, 60_000);

  it('indexes every report once, across a SIGKILL in the middle of a flush', async () => {
    const published = await publishSamples(servers, topics, 20);
    const inputs = Object.values(reportTopicsOf(topics));
    const group = `${prefix}sink-elastic`;
    const dir = mkdtempSync(join(tmpdir(), 'sink-elastic-test-'));
    writeFileSync(join(dir, 'password'), `${secret}\n`);
    const env = {
      ELASTICSEARCH_HOSTS: proxy.url,
      ELASTICSEARCH_INDEX_PREFIX: prefix,
      // The test server has no security: the credentials are only there to be kept out of the logs.
      ELASTICSEARCH_USER: 'parsedmarc',
      ELASTICSEARCH_PASSWORD_FILE: join(dir, 'password'),
      ELASTICSEARCH_RETRY_BUDGET_SECONDS: '5',
      MAX_MESSAGES_PER_FLUSH: '3',
      KAFKA_GROUP_ID: group,
      LOG_LEVEL: 'info',
    };

    // First instance: four bulk requests go through, the fifth is applied by the server but never answered.
    proxy.holdBulksAfter(4);
    const first = await startService('sink-elastic', { servers, prefix, env });
    services.push(first);
    await waitFor('a bulk request applied but not answered', () => proxy.answeredAndHeld() >= 1);
    const committedAtKill = await committedSum(admin, group, inputs);
    const end = await endOffsetSum(admin, inputs);
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(committedAtKill).toBeGreaterThan(0);
    expect(committedAtKill).toBeLessThan(end);

    // Restarted: the uncommitted chunk is written again, and everything after it.
    proxy.passAll();
    const second = await startService('sink-elastic', { servers, prefix, env });
    services.push(second);
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === end,
      120_000,
    );

    // The oracle: libs/sinks' Elasticsearch sink in this process, fed the same messages, another prefix.
    const codec = new RegistryCodec({ url: servers.registryUrl });
    const messages = await readRaw(servers, inputs, published.count);
    const [oracle] = await openSinks(
      {
        stdout: null,
        outputDir: null,
        kafka: null,
        opensearch: null,
        hec: null,
        webhook: null,
        syslog: null,
        email: null,
        elasticsearch: searchSinkConfigSchema.parse({
          ...searchSinkDefaults,
          hosts: [esUrl],
          indexPrefix: oraclePrefix,
          save: { aggregate: true, forensic: true, smtpTls: true },
        }),
      },
      { warn: () => undefined },
    );
    const kindOf = new Map(
      (Object.entries(reportTopicsOf(topics)) as [ReportTopic, string][]).map(([t, name]) => [
        name,
        reportTopicKinds[t],
      ]),
    );
    for (const m of messages) {
      const decoded = await decodeReportMessage(codec, kindOf.get(m.topic)!, m.value);
      await oracle!.write({ source: messageSource(m), ...decoded });
    }
    expect(await oracle!.flush()).toEqual([]);
    await oracle!.close();

    const indexed = await documentsOf(esUrl, prefix);
    const expected = await documentsOf(esUrl, oraclePrefix);
    expect(expected.length).toBeGreaterThan(published.count / 2);
    // Exactly once: as many documents as distinct ids, and the oracle's documents, no more, no fewer.
    expect(new Set(indexed.map((d) => d.key.split('/')[1])).size).toBe(indexed.length);
    expect(indexed.map((d) => d.key).sort()).toEqual(expected.map((d) => d.key).sort());
    // Every message was written at least as often as the oracle wrote it (the samples hold a few reports
    // twice), and the chunk whose answer never came once more: after the restart, same documents, a version
    // ahead of the oracle's.
    const oracleVersion = new Map(expected.map((d) => [d.key, d.version]));
    expect(indexed.filter((d) => d.version < oracleVersion.get(d.key)!)).toEqual([]);
    const rewritten = indexed.filter((d) => d.version > oracleVersion.get(d.key)!).length;
    console.log(
      `sink-elastic test: killed at ${committedAtKill}/${end} committed messages; ${indexed.length} documents, ${rewritten} written again after the restart`,
    );
    expect(rewritten).toBeGreaterThan(0);

    expect((await second.get('/readyz')).status).toBe(200);
    expect(await second.stop()).toBe(0);
    for (const line of [...first.logs, ...second.logs]) expect(line).not.toContain(secret);
  }, 300_000);
});
