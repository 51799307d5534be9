/**
 * apps/sink-smtp end to end, as a real process, against the real broker and registry and an in-process
 * SMTP server: the sample reports published into two past daily windows (by their Kafka timestamps, the
 * parts of a huge report in one), so
 * both windows are closed and mailed as soon as the service has caught up, one mail each.
 *
 * 1. The service is killed (SIGKILL) while the server holds its first mail unanswered (received, no 250:
 *    not delivered); restarted, it mails both windows: exactly one mail per window.
 * 2. Stopped, its offsets reset to the beginning and started again: it consumes everything again, finds
 *    both windows in its state topic and mails nothing more.
 * Deterministic: the server decides where the first instance stops; the waits are for conditions.
 */
import { unzipSync } from 'fflate';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka,
  ensureTopics,
  prefixedTopicNames,
  RegistryCodec,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import { reportTopicKinds, type ReportTopic } from '@parsedmarc-ts/avro';
import { decodeReportMessage } from '@parsedmarc-ts/sinks/service';
import { startSmtpStub, type SmtpStub } from '../email/smtp-stub.js';
import {
  buildServices,
  ensureServers,
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

const DAY = 86_400_000;

describe('sink-smtp end to end', () => {
  let servers: Servers;
  let admin: Admin;
  let prefix: string;
  let topics: TopicNames;
  let inputs: string[];
  let end: number;
  let stub: SmtpStub;
  /** Aggregate records per window day, as published. */
  const recordsByDay = new Map<string, number>();
  const services: ServiceProcess[] = [];
  const group = uniquePrefix('smtp-group');

  beforeAll(async () => {
    servers = ensureServers();
    buildServices(['apps/sink-smtp']);
    prefix = uniquePrefix('smtp');
    topics = prefixedTopicNames(prefix);
    const staging = prefixedTopicNames(uniquePrefix('smtp-staging'));
    const kafka = createKafka({ brokers: servers.brokers, clientId: 'sink-smtp-test' });
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [...Object.values(topics), ...Object.values(staging)], { partitions: 3 });

    // The samples, published as the CLI's -K does, then copied into the service's topics stamped with two
    // past days: the first half three days ago, the rest two days ago.
    const published = await publishSamples(servers, staging, 20);
    const raw = await readRaw(servers, Object.values(reportTopicsOf(staging)), published.count);
    const today = Math.floor(Date.now() / DAY) * DAY;
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const codec = new RegistryCodec({ url: servers.registryUrl });
    const kindOf = new Map(
      (Object.entries(reportTopicsOf(staging)) as [ReportTopic, string][]).map(([t, name]) => [
        name,
        [t, reportTopicKinds[t]] as const,
      ]),
    );
    // By report key, so that the parts of a huge report share their day (as they share their key).
    const keys = [...new Set(raw.map((m) => m.key ?? ''))].sort();
    const early = new Set(keys.slice(0, Math.ceil(keys.length / 2)));
    for (const m of raw) {
      const [topic, kind] = kindOf.get(m.topic)!;
      const timestamp = today - (early.has(m.key ?? '') ? 3 : 2) * DAY + 3_600_000;
      const { parsed } = await decodeReportMessage(codec, kind, m.value);
      const day = new Date(timestamp).toISOString().slice(0, 10);
      if (parsed.report_type === 'aggregate')
        recordsByDay.set(day, (recordsByDay.get(day) ?? 0) + parsed.report.records.length);
      await producer.send({
        topic: reportTopicsOf(topics)[topic],
        acks: -1,
        messages: [{ key: m.key, value: m.value, partition: m.partition, timestamp: String(timestamp) }],
      });
    }
    await producer.disconnect();
    inputs = Object.values(reportTopicsOf(topics));
    end = await endOffsetSum(admin, inputs);
    stub = await startSmtpStub();
  }, 180_000);

  afterAll(async () => {
    for (const service of services) await service.stop();
    await stub?.close();
    await admin?.disconnect();
  }, 60_000);

  const start = async (extra: Record<string, string> = {}) => {
    const service = await startService('sink-smtp', {
      servers,
      prefix,
      env: {
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(stub.port),
        SMTP_USER: stub.user,
        SMTP_PASSWORD: stub.password,
        SMTP_CA_FILE: stub.caFile,
        SMTP_FROM: 'dmarc-digest@example.com',
        SMTP_TO: 'team@example.com,soc@example.net',
        DIGEST_GRACE_SECONDS: '0',
        KAFKA_GROUP_ID: group,
        LOG_LEVEL: 'info',
        ...extra,
      },
    });
    services.push(service);
    return service;
  };

  it('mails each window once, across a SIGKILL while the server holds the first mail unanswered', async () => {
    stub.holdData = true;
    const first = await start();
    await waitFor('a mail received and held', () => stub.held >= 1).catch((error: unknown) => {
      console.log(first.logs.slice(-20).join('\n'));
      throw error;
    });
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(stub.messages).toEqual([]);
    expect(await committedSum(admin, group, inputs)).toBe(0);

    stub.holdData = false;
    const second = await start();
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === end,
      120_000,
    );
    const days = [...recordsByDay.keys()].sort();
    expect(days).toHaveLength(2);
    expect(stub.messages.map((m) => m.parsed.subject).sort()).toEqual(
      days.map((d) => `DMARC results for ${d}`),
    );
    for (const mail of stub.messages) {
      expect(mail.envelope.to).toEqual(['team@example.com', 'soc@example.net']);
      const day = mail.parsed.subject!.slice(-10);
      const zip = mail.parsed.attachments.find((a) => a.filename === `DMARC-${day}.zip`)!;
      const aggregate = JSON.parse(
        Buffer.from(unzipSync(new Uint8Array(zip.content))['aggregate.json']!).toString('utf8'),
      ) as { records: unknown[] }[];
      // Every record of the window's messages, in the window's mail.
      expect(aggregate.reduce((n, r) => n + r.records.length, 0)).toBe(recordsByDay.get(day));
      expect(mail.parsed.html).toContain('DMARC pass');
    }
    expect(await second.stop()).toBe(0);
    for (const line of [...first.logs, ...second.logs]) expect(line).not.toContain(stub.password);
  }, 300_000);

  it('mails nothing again when it consumes the mailed windows again (state topic)', async () => {
    for (const topic of inputs) await admin.resetOffsets({ groupId: group, topic, earliest: true });
    expect(await committedSum(admin, group, inputs)).toBe(0);
    const third = await start();
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === end,
      120_000,
    );
    expect(stub.messages).toHaveLength(2);
    expect(third.logs.join('\n')).toMatch(/"windowsMailed":2/);
    expect(await third.stop()).toBe(0);
  }, 300_000);
  it('keeps retrying a server answering 4xx, then mails every window once', async () => {
    const before = stub.messages.length;
    stub.tempFailNext = 3;
    const groupId = uniquePrefix('smtp-4xx');
    const service = await start({
      KAFKA_GROUP_ID: groupId,
      DIGEST_STATE_TOPIC: `${prefix}digest-state-4xx`,
      SMTP_RETRY_BUDGET_SECONDS: '0',
    });
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, groupId, inputs)) === end,
      120_000,
    );
    expect(stub.tempFailNext).toBe(0);
    expect(stub.messages.length - before).toBe(2);
    expect(service.logs.join('\n')).toMatch(/mailing the digest failed: the server answered 451/);
    expect((await service.get('/readyz')).status).toBe(200);
    expect(await service.stop()).toBe(0);
  }, 300_000);

  it('stops at start, naming the server, when it refuses the login', async () => {
    const failed = await start({
      KAFKA_GROUP_ID: uniquePrefix('smtp-auth'),
      SMTP_PASSWORD: 'not-the-password',
    }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/exited \(1\)/);
    expect(failed).toMatch(/SINK_AUTH_FAILED/);
    expect(failed).not.toContain('not-the-password');
  }, 120_000);
});
