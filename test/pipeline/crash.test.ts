/**
 * Exactly-once across crashes: each service is killed with SIGKILL (no shutdown of any kind) in the middle
 * of the stream and restarted with the same transactional id. Afterwards a read_committed consumer sees
 * every report exactly once: the killed instance's open transaction was aborted, and its consumed offsets
 * were committed only with the outputs that are visible.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import {
  createKafka,
  createRawMailPublisher,
  ensureTopics,
  prefixedTopicNames,
  topicKindOf,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import type { AggregateReportMessage } from '@parsedmarc-ts/avro';
import {
  buildServices,
  ensureServers,
  readTopics,
  startService,
  uniquePrefix,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import { actualOf, expectedMessageCount, expectedOf, sampleInputs } from './expected.js';

const copies = 6;
const partRecords = 200;

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('kill -9 mid-stream and restart', () => {
  let servers: Servers;
  let topics: TopicNames;
  let prefix: string;
  let admin: Admin;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    buildServices();
    prefix = uniquePrefix('crash');
    topics = prefixedTopicNames(prefix);
    admin = createKafka({ brokers: servers.brokers, clientId: 'crash-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 3 });
  }, 120_000);

  afterAll(async () => {
    for (const service of running) await service.stop();
    await admin?.disconnect();
  }, 60_000);

  it('loses and duplicates nothing', async () => {
    const inputs = sampleInputs().flatMap((input) =>
      Array.from({ length: copies }, (_v, i) => ({ path: input.path, source: `copy${i}/${input.source}` })),
    );
    const expected = await expectedOf(inputs);
    const env = { AGGREGATE_PART_RECORDS: String(partRecords), MAX_MESSAGES_PER_TRANSACTION: '2' };
    const start = (name: 'report-parse' | 'enrich') =>
      startService(name, { servers, prefix, env, instance: 'stable' });

    let parse = await start('report-parse');
    running.push(parse);
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    for (const input of inputs) await publisher.publish(readFileSync(input.path), { source: input.source });
    await publisher.close();

    // Kill report-parse once part, but not all, of raw-mail is committed.
    let parseProgress = 0;
    await waitFor(
      'report-parse progress',
      async () => (parseProgress = await committed(admin, `${prefix}report-parse`, topics.rawMail)) >= 10,
    );
    parse.kill('SIGKILL');
    expect(await parse.exited).toBeNull(); // killed by the signal, no exit code
    expect(parseProgress).toBeLessThan(inputs.length);
    parse = await start('report-parse');
    running.push(parse);

    // Same for enrich, on dmarc_parsed.
    let enrich = await start('enrich');
    running.push(enrich);
    let enrichProgress = 0;
    await waitFor(
      'enrich progress',
      async () => (enrichProgress = await committed(admin, `${prefix}enrich`, topics.parsed)) >= 10,
    );
    enrich.kill('SIGKILL');
    await enrich.exited;
    // With enrich dead, the report topics hold what it committed before the kill: not everything yet.
    const want = expectedMessageCount(expected, partRecords);
    const reportTopics = { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls };
    const beforeRestart = (
      await readTopics(servers, reportTopics, topicKindOf, (got) => got.length >= want, 4000)
    ).length;
    expect(beforeRestart).toBeLessThan(want);
    enrich = await start('enrich');
    running.push(enrich);

    const received = await readTopics(
      servers,
      { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
      topicKindOf,
      (got) => got.length >= want,
      120_000,
    );
    // Let anything late (a duplicate would be) arrive, then read everything again.
    await new Promise((r) => setTimeout(r, 1500));
    const all = await readTopics(
      servers,
      { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
      topicKindOf,
      (got) => got.length > want,
      3000,
    );
    console.log(
      `crash test: killed report-parse after ${parseProgress}/${inputs.length} inputs, enrich after ${enrichProgress} parsed messages (${beforeRestart}/${want} reports out); ${all.length} report messages, ${want} expected`,
    );
    expect(received.length).toBe(want);
    expect(all.length).toBe(want);

    // Each (input, report, part) exactly once.
    const identity = (m: (typeof all)[number]) => {
      const v = m.value as AggregateReportMessage;
      return `${m.topic}|${m.key}|${v.origin.source}|${v.part?.index ?? '-'}`;
    };
    const counts = new Map<string, number>();
    for (const m of all) counts.set(identity(m), (counts.get(identity(m)) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);

    // And the content is what the embedded pipeline gives.
    const actual = actualOf(all);
    expect(actual.size).toBe(expected.reports.size);
    for (const [source, reports] of expected.reports) {
      expect(
        actual
          .get(source)
          ?.map((r) => r.json)
          .sort(),
        source,
      ).toEqual(reports.map((r) => r.json).sort());
    }
  }, 300_000);
});
