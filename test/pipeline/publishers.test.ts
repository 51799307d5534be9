/**
 * The publishers other programs use (the CLI's -K output, publishing files onto raw-mail), against the real
 * broker and registry.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReports, type ParsedReport, type ReportPart } from '@parsedmarc-ts/parser';
import { reportKey, sha256Hex, type RawMail } from '@parsedmarc-ts/avro';
import {
  createKafka,
  createRawMailPublisher,
  createReportPublisher,
  ensureTopics,
  prefixedTopicNames,
  sizeLimits,
  topicKindOf,
} from '@parsedmarc-ts/kafka';
import kafkajs from 'kafkajs';
import { ensureServers, readTopics, uniquePrefix, type Servers } from './harness.js';
import { actualOf, sampleInputs } from './expected.js';

const { ConfigResourceTypes } = kafkajs;

describe('publishers', () => {
  let servers: Servers;
  const topics = prefixedTopicNames(uniquePrefix('pub'));

  beforeAll(async () => {
    servers = ensureServers();
    const admin = createKafka({ brokers: servers.brokers, clientId: 'pub-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 3 });
    await admin.disconnect();
  }, 60_000);

  it('createReportPublisher puts each parsed report on its topic, keyed by identity, readable as the model', async () => {
    const publisher = await createReportPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topics: { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
    });
    const sent = new Map<string, string[]>();
    const keys = new Set<string>();
    let messages = 0;
    for (const { path, source } of sampleInputs()) {
      // Small parser parts, as the CLI gets them for huge reports: the publisher numbers them.
      for await (const o of parseReports(readFileSync(path), { source, aggregatePartRecords: 1000 })) {
        if (!o.ok) continue;
        await publisher.publish(o.parsed as ParsedReport, o.part as ReportPart | undefined, {
          source: o.source,
        });
        keys.add(reportKey(o.parsed));
        messages += 1;
        if (!o.part || o.part.index === 0)
          sent.set(o.source, [...(sent.get(o.source) ?? []), o.parsed.report_type]);
      }
    }
    await publisher.close();
    const received = await readTopics(
      servers,
      { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
      topicKindOf,
      (got) => got.length >= messages,
      60_000,
    );
    expect(received).toHaveLength(messages);
    expect(new Set(received.map((m) => m.key))).toEqual(keys);
    const actual = actualOf(received);
    expect([...actual.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [source, types] of sent)
      expect(
        actual
          .get(source)!
          .map((r) => r.report_type)
          .sort(),
        source,
      ).toEqual(types.sort());
  }, 120_000);

  it('createRawMailPublisher publishes files keyed by SHA-256 with their origin', async () => {
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    const files = sampleInputs()
      .slice(0, 3)
      .map((i) => i.path);
    const results = await publisher.publishFiles(files);
    await publisher.close();
    expect(results.map((r) => r.key)).toEqual(files.map((f) => sha256Hex(readFileSync(f))));
    const received = await readTopics(
      servers,
      { rawMail: topics.rawMail },
      topicKindOf,
      (got) => got.length >= 3,
      30_000,
    );
    const byKey = new Map(received.map((m) => [m.key, m.value as RawMail]));
    for (const file of files) {
      const value = byKey.get(sha256Hex(readFileSync(file)))!;
      expect(value.source).toBe(file);
      expect(value.payload.equals(readFileSync(file))).toBe(true);
      expect(value.sha256).toBe(sha256Hex(value.payload));
    }
  }, 60_000);

  it('create missing topics with the 16 MiB record limit', async () => {
    const fresh = prefixedTopicNames(uniquePrefix('pubnew'));
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: fresh.rawMail,
      deadLetterTopic: fresh.deadLetter,
    });
    // A 3 MiB input: over Kafka's 1 MB default, fine on the created topic.
    await publisher.publish(Buffer.alloc(3 * 1024 * 1024, 0x41), { source: 'big.bin' });
    await publisher.close();
    const admin = createKafka({ brokers: servers.brokers, clientId: 'pub-test-admin' }).admin();
    await admin.connect();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [fresh.rawMail, fresh.deadLetter].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['max.message.bytes'],
      })),
    });
    await admin.disconnect();
    expect(resources.map((r) => r.configEntries[0]?.configValue)).toEqual([
      String(sizeLimits.topicMaxMessageBytes),
      String(sizeLimits.topicMaxMessageBytes),
    ]);
  }, 60_000);
});
