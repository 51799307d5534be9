/**
 * apps/sink-hec end to end, as a real process, against the real broker and registry and a private HEC
 * receiver (tools/hec) whose token has indexer acknowledgement on. The receiver indexes the first requests
 * and then holds the next ones (accepted, not indexed, as a busy indexer does), so the service waits for
 * their acknowledgement at a point the test chooses:
 *
 * 1. the service is killed (SIGKILL) there, and the receiver too (losing what it had not indexed, as
 *    Splunk's in-memory queue is lost); both restarted, every event is indexed exactly once: the held chunk
 *    had not been committed, and nothing that was acknowledged is sent again;
 * 2. only the receiver is killed and restarted there: the running service sends the unacknowledged
 *    requests again (the collector forgot them) and every event is indexed exactly once.
 *
 * The expected events are libs/output's hecEventsOf of the same messages. Waits are for conditions only.
 */
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
import { decodeReportMessage } from '@parsedmarc-ts/sinks/service';
import { hecEventsOf } from '@parsedmarc-ts/output';
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
import {
  createToken,
  eventsOf,
  settingsOf,
  sentLineOf,
  spawnReceiver,
  statsOf,
  updateToken,
  type PrivateReceiver,
} from '../hec/receiver-client.js';

const eventHost = 'sink-hec-test';
const index = 'dmarc';

describe('sink-hec end to end', () => {
  let servers: Servers;
  let admin: Admin;
  let prefix: string;
  let topics: TopicNames;
  let receiver: PrivateReceiver;
  let inputs: string[];
  let end: number;
  /** Every event the messages on the report topics make, sorted. */
  let expected: string[];
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    buildServices(['apps/sink-hec']);
    prefix = uniquePrefix('hec');
    topics = prefixedTopicNames(prefix);
    admin = createKafka({ brokers: servers.brokers, clientId: 'sink-hec-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 3 });
    receiver = await spawnReceiver();

    const published = await publishSamples(servers, topics, 20);
    inputs = Object.values(reportTopicsOf(topics));
    end = await endOffsetSum(admin, inputs);
    const codec = new RegistryCodec({ url: servers.registryUrl });
    const kindOf = new Map(
      (Object.entries(reportTopicsOf(topics)) as [ReportTopic, string][]).map(([t, name]) => [
        name,
        reportTopicKinds[t],
      ]),
    );
    expected = [];
    for (const m of await readRaw(servers, inputs, published.count)) {
      const { parsed, part } = await decodeReportMessage(codec, kindOf.get(m.topic)!, m.value);
      const result = hecEventsOf(parsed, { host: eventHost, index }, part?.firstRecord ?? 0);
      if (result.ok) expected.push(...result.events);
    }
    expected.sort();
    expect(expected.length).toBeGreaterThan(published.count);
  }, 180_000);

  afterAll(async () => {
    for (const service of services) await service.stop();
    await receiver?.stop();
    await admin?.disconnect();
  }, 60_000);

  /** sink-hec on the test's topics into `token`, as consumer group `group`. */
  const start = async (token: string, group: string, extra: Record<string, string> = {}) => {
    const service = await startService('sink-hec', {
      servers,
      prefix,
      env: {
        HEC_URL: receiver.url,
        HEC_TOKEN: token,
        HEC_INDEX: index,
        HEC_HOST: eventHost,
        HEC_RETRY_BUDGET_SECONDS: '60',
        MAX_MESSAGES_PER_FLUSH: '3',
        KAFKA_GROUP_ID: group,
        LOG_LEVEL: 'info',
        ...extra,
      },
    });
    services.push(service);
    return service;
  };

  /**
   * Waits until the receiver holds a request of `token` and the service has polled for its ack since. The
   * hold must have begun: events merely on their way to disk count as pending too, and a test that went on
   * before the hold began left the countdown running into its next service (seen once under load: the
   * restarted service's third request was held for good).
   */
  const waitForHeldAndPolled = async (token: string): Promise<void> => {
    await waitFor(
      'a request accepted and held',
      async () =>
        (await settingsOf(receiver.url, token)).holdIndexing &&
        (await statsOf(receiver.url, token)).pending > 0,
    );
    const polled = (await statsOf(receiver.url, token)).acksPolled;
    await waitFor(
      'an acknowledgement poll',
      async () => (await statsOf(receiver.url, token)).acksPolled > polled,
    );
  };

  /** The state behind a timeout: offsets, the collector's counts, the service's last log lines. */
  const explain = async (token: string, group: string, logs: string[]): Promise<string> =>
    [
      `committed ${await committedSum(admin, group, inputs)} of ${end}`,
      `collector ${JSON.stringify(await statsOf(receiver.url, token))}`,
      ...logs.slice(-40),
    ].join('\n');

  const indexedLines = async (token: string): Promise<string[]> =>
    (await eventsOf(receiver.url, token)).map(sentLineOf).sort();

  it('sends every event once across a SIGKILL of the service (and of the collector) while it waits for acks', async () => {
    const token = await createToken(receiver.url, {
      ack: true,
      index,
      holdIndexingAfterRequests: 4,
    });
    const group = uniquePrefix('hec-killed');
    const first = await start(token, group);
    await waitForHeldAndPolled(token);
    const committedAtKill = await committedSum(admin, group, inputs);
    const indexedAtKill = (await statsOf(receiver.url, token)).indexed;
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(committedAtKill).toBeGreaterThan(0);
    expect(committedAtKill).toBeLessThan(end);
    expect(indexedAtKill).toBeGreaterThan(0);

    // The collector dies too before it indexed what it held: those events are gone from it.
    await receiver.restart();
    expect((await statsOf(receiver.url, token)).indexed).toBe(indexedAtKill);
    await updateToken(receiver.url, token, { holdIndexing: false, holdIndexingAfterRequests: null });

    const second = await start(token, group);
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === end,
      120_000,
      () => explain(token, group, second.logs),
    );
    expect(await indexedLines(token)).toEqual(expected);
    expect((await second.get('/readyz')).status).toBe(200);
    expect(await second.stop()).toBe(0);
    for (const line of [...first.logs, ...second.logs]) expect(line).not.toContain(token);
  }, 300_000);

  it('sends the unacknowledged requests again when the collector restarts, and every event once', async () => {
    const token = await createToken(receiver.url, {
      ack: true,
      index,
      holdIndexingAfterRequests: 4,
    });
    const group = uniquePrefix('hec-receiver-killed');
    const service = await start(token, group, { HEC_ACK_TIMEOUT_SECONDS: '2' });
    await waitForHeldAndPolled(token);
    expect(await committedSum(admin, group, inputs)).toBeLessThan(end);

    await receiver.restart();
    await updateToken(receiver.url, token, { holdIndexing: false, holdIndexingAfterRequests: null });
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === end,
      120_000,
      () => explain(token, group, service.logs),
    );
    expect(await indexedLines(token)).toEqual(expected);
    expect(service.logs.join('\n')).toMatch(
      /not acknowledged within 2 s; sending them again|sending \d+ unacknowledged requests again/,
    );
    expect(await service.stop()).toBe(0);
    for (const line of service.logs) expect(line).not.toContain(token);
  }, 300_000);
});
