/**
 * Poison input: garbage, bombs, oversized and undecodable messages land in the dead-letter topic with their
 * stage and error code, and the good input queued behind them on the same partition still flows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka,
  createRawMailPublisher,
  RegistryCodec,
  topicKindOf,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import type { AggregateReportMessage, DeadLetter } from '@parsedmarc-ts/avro';
import {
  buildServices,
  createTestTopics,
  ensureServers,
  readTopics,
  startService,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import { samplesDir } from './expected.js';

const MiB = 1024 * 1024;

describe('poison input', () => {
  let servers: Servers;
  let topics: TopicNames;
  let prefix: string;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    buildServices();
    // One partition: everything queues behind the poison.
    ({ prefix, topics } = await createTestTopics(servers, 'poison', 1));
    const env = {
      MAX_INPUT_BYTES: String(MiB),
      PARSE_MAX_DECOMPRESSED_BYTES: String(MiB),
      MAX_MESSAGES_PER_TRANSACTION: '50',
    };
    services.push(await startService('report-parse', { servers, prefix, env }));
    services.push(await startService('enrich', { servers, prefix, env }));
  }, 120_000);

  afterAll(async () => {
    for (const service of services) expect(await service.stop()).toBe(0);
  }, 60_000);

  it('dead-letters each with its code while good input behind it flows', async () => {
    const good = (name: string) => readFileSync(join(samplesDir, 'aggregate', name));
    const garbage = randomBytes(4096);
    garbage[0] = 0x42; // bare bytes, not the wire format
    const gzipBomb = gzipSync(Buffer.alloc(8 * MiB)); // ~8 KB that inflates past the 1 MiB limit
    const oversized = Buffer.concat([
      Buffer.from('<?xml version="1.0"?><feedback>'),
      Buffer.alloc(2 * MiB, 0x20),
      Buffer.from('</feedback>'),
    ]);
    const xxe = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>',
    );
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xfe]), randomBytes(64)]);

    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
      deadLetterTopic: topics.deadLetter,
      maxPayloadBytes: 3 * MiB,
    });
    await publisher.publish(garbage, { source: 'garbage.bin' });
    await publisher.publish(good('old_draft_from_wiki.xml'), { source: 'good-1.xml' });
    await publisher.publish(gzipBomb, { source: 'bomb.xml.gz' });
    await publisher.publish(oversized, { source: 'oversized.xml' });
    await publisher.publish(xxe, { source: 'xxe.xml' });
    // Refused by the publisher itself: over the raw-mail limit.
    await expect(
      publisher.publish(Buffer.alloc(4 * MiB, 0x41), { source: 'too-big-for-kafka.bin' }),
    ).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    await publisher.close();
    // Straight onto the topics, bypassing the publisher: an unknown schema id, bare bytes with a source header,
    // and garbage on the internal topic (enrich's input).
    const producer = createKafka({ brokers: servers.brokers, clientId: 'poison-test' }).producer();
    await producer.connect();
    await producer.send({ topic: topics.rawMail, messages: [{ key: 'x', value: unknownSchema }] });
    await producer.send({
      topic: topics.rawMail,
      messages: [
        {
          key: 'y',
          value: good('veeam.com!example.com!1530133200!1530219600.xml'),
          headers: { source: 'bare-good.xml' },
        },
      ],
    });
    const codec = new RegistryCodec({ url: servers.registryUrl });
    const truncated = (
      await codec.encode(topics.rawMail, 'raw-mail', {
        payload: Buffer.from('abc'),
        source: 's',
        received_at: 0,
        sha256: '0',
        filename: null,
      })
    ).subarray(0, 7);
    await producer.send({ topic: topics.rawMail, messages: [{ key: 'z', value: truncated }] });
    // Where it lands is the broker's say (report-parse may have written there first): taken from the answer.
    const [garbageOnParsed] = await producer.send({
      topic: topics.parsed,
      messages: [{ key: 'p', value: Buffer.from([0, 0, 0, 0, 1, 9, 9, 9]) }],
    });
    await producer.disconnect();

    const received = await readTopics(
      servers,
      { aggregate: topics.aggregate, deadLetter: topics.deadLetter },
      topicKindOf,
      (got) =>
        got.filter((m) => m.topic === topics.aggregate).length >= 2 &&
        got.filter((m) => m.topic === topics.deadLetter).length >= 8,
      90_000,
    );
    const reports = received
      .filter((m) => m.topic === topics.aggregate)
      .map((m) => (m.value as AggregateReportMessage).origin.source);
    expect(reports.sort()).toEqual(['bare-good.xml', 'good-1.xml']);

    const dead = received.filter((m) => m.topic === topics.deadLetter).map((m) => m.value as DeadLetter);
    const summary = dead.map((d) => `${d.stage} ${d.error_code} ${d.source}`).sort();
    expect(summary).toEqual(
      [
        'raw-mail-publish MESSAGE_TOO_LARGE too-big-for-kafka.bin',
        'report-parse LIMIT_EXCEEDED bomb.xml.gz',
        'report-parse LIMIT_EXCEEDED oversized.xml',
        'report-parse UNRECOGNIZED_FORMAT garbage.bin',
        'report-parse FORBIDDEN_XML_CONSTRUCT xxe.xml',
        `report-parse UNDECODABLE_MESSAGE ${topics.rawMail}/0@${dead.find((d) => d.input?.key === 'x')?.input?.offset}`,
        `report-parse UNDECODABLE_MESSAGE ${topics.rawMail}/0@${dead.find((d) => d.input?.key === 'z')?.input?.offset}`,
        `enrich UNDECODABLE_MESSAGE ${topics.parsed}/${garbageOnParsed!.partition}@${garbageOnParsed!.baseOffset}`,
      ].sort(),
    );
    const byCode = (source: string) => dead.find((d) => d.source === source)!;
    // The limit is named; small failing inputs are kept for replay, oversized ones by reference.
    expect(JSON.parse(byCode('oversized.xml').context_json!)).toMatchObject({
      limit: 'maxInputBytes',
      limitValue: MiB,
    });
    expect(JSON.parse(byCode('bomb.xml.gz').context_json!)).toMatchObject({ limit: 'maxDecompressedBytes' });
    expect(byCode('garbage.bin').payload).toEqual(garbage);
    expect(byCode('too-big-for-kafka.bin').payload).toBeNull();
    expect(byCode('too-big-for-kafka.bin').payload_size).toBe(4 * MiB);

    const metrics = (await services[0]!.get('/metrics')).body;
    expect(metrics).toContain('pdm_dead_letters_total{code="LIMIT_EXCEEDED",service="report-parse"} 2');
  }, 180_000);
});
