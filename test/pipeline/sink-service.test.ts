/**
 * The sink service runtime (libs/sinks runSinkService) against the real broker and registry, with an
 * in-memory stand-in for a real sink (StandInSink below implements libs/sinks' ResultSink): the service
 * runs in this process, so the test can hold a flush, fail it, refuse items, and watch the probes, the
 * committed offsets and the dead-letter topic. Every test has its own topics and consumer group (a unique
 * prefix), so no other process moves the offsets it checks; waits are for conditions, never for a time.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Admin } from 'kafkajs';
import type { DeadLetter } from '@parsedmarc-ts/avro';
import {
  createKafka,
  RegistryCodec,
  ensureTopics,
  kafkaSinkServiceEnv,
  prefixedTopicNames,
  topicKindOf,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import {
  decodeReportMessage,
  messageSource,
  runSinkService,
  type ReportTopicKind,
  type SinkService,
} from '@parsedmarc-ts/sinks/service';
import type { ServiceRuntime } from '@parsedmarc-ts/service-runtime';
import { SinkError, type ResultItem, type ResultSink, type SinkRefusal } from '@parsedmarc-ts/sinks';
import { ensureServers, readTopics, uniquePrefix, type Servers } from './harness.js';
import {
  committedSum,
  endOffsetSum,
  publishSamples,
  readRaw,
  readReports,
  reportTopicsOf,
  summaryOf,
  waitFor,
  type RawMessage,
} from './sink-harness.js';

/** A secret the service is configured with: it must never appear in a log line. */
const secret = 'pa55-St4nd-in-s3cret';

interface StandInHooks {
  /** Called at each flush (1, 2, ...) before it does anything; may wait (a blocked flush). */
  beforeFlush?(call: number, items: readonly ResultItem[]): Promise<void>;
  /** A reason to refuse the item for good, or null. */
  refuse?(item: ResultItem): string | null;
  /** Flushes that fail transiently (SINK_UNAVAILABLE) before they work. */
  transientFailures?: number;
  /** Flushes that fail for good (SINK_AUTH_FAILED). */
  fatalFailure?: boolean;
}

/**
 * Stand-in for a real sink (Elasticsearch...): write() buffers, flush() makes the buffer "durable" in a map
 * keyed by the item's source, idempotently like the real sinks' deterministic ids, and counts how often
 * each item was made durable. A failed flush loses its buffer, as a real bulk request that failed does.
 */
class StandInSink implements ResultSink {
  readonly name = 'stand-in';
  readonly durable = new Map<string, ResultItem>();
  readonly flushedTimes = new Map<string, number>();
  flushCalls = 0;
  closed = false;
  private buffer: ResultItem[] = [];
  private failuresLeft: number;

  constructor(private readonly hooks: StandInHooks = {}) {
    this.failuresLeft = hooks.transientFailures ?? 0;
  }

  async write(item: ResultItem): Promise<void> {
    this.buffer.push(item);
  }

  async flush(): Promise<SinkRefusal[]> {
    const items = this.buffer;
    this.buffer = [];
    const call = ++this.flushCalls;
    await this.hooks.beforeFlush?.(call, items);
    const target = { sink: this.name, target: 'https://stand-in.example:9200' };
    if (this.hooks.fatalFailure)
      throw new SinkError('SINK_AUTH_FAILED', 'credentials refused (HTTP 401)', target);
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new SinkError(
        'SINK_UNAVAILABLE',
        'stand-in target answered 503 until its retry budget was spent',
        target,
      );
    }
    const refusals: SinkRefusal[] = [];
    for (const item of items) {
      const reason = this.hooks.refuse?.(item) ?? null;
      if (reason !== null) {
        refusals.push({ sink: this.name, source: item.source, code: 'DOCUMENT_REFUSED', reason });
        continue;
      }
      this.durable.set(item.source, item);
      this.flushedTimes.set(item.source, (this.flushedTimes.get(item.source) ?? 0) + 1);
    }
    return refusals;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const testEnv = z.object({ ...kafkaSinkServiceEnv, STAND_IN_PASSWORD: z.string().optional() });

interface Running {
  service: SinkService;
  logs: string[];
  exited: Promise<number>;
  stop(): Promise<number>;
  get(path: string): Promise<{ status: number; body: string }>;
}

/** Starts the sink service in this process (its SIGTERM, exit and logs captured). */
async function startSinkService(
  servers: Servers,
  prefix: string,
  openSinks: (context: { runtime: ServiceRuntime }) => Promise<ResultSink[]>,
  env: Record<string, string> = {},
): Promise<Running> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const signals = new EventEmitter();
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  const service = await runSinkService({
    name: 'sink-test',
    configSchema: testEnv,
    secrets: ['STAND_IN_PASSWORD'],
    env: {
      KAFKA_BROKERS: servers.brokers.join(','),
      SCHEMA_REGISTRY_URL: servers.registryUrl,
      TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: `${prefix}sink`,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RETRY_INITIAL_MS: '50',
      RETRY_MAX_MS: '500',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      SHUTDOWN_TIMEOUT_MS: '10000',
      STAND_IN_PASSWORD: secret,
      ...env,
    },
    signals,
    exit,
    logDestination: destination,
    openSinks,
  });
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${service.runtime.port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  return {
    service,
    logs,
    exited,
    get,
    stop: () => {
      signals.emit('SIGTERM', 'SIGTERM');
      return exited;
    },
  };
}

const noSecretIn = (logs: string[]) => expect(logs.filter((line) => line.includes(secret))).toEqual([]);

describe('sink service (runSinkService) with a stand-in sink', () => {
  let servers: Servers;
  let admin: Admin;
  let codec: RegistryCodec;
  const running: Running[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    codec = new RegistryCodec({ url: servers.registryUrl });
    admin = createKafka({ brokers: servers.brokers, clientId: 'sink-test-admin' }).admin();
    await admin.connect();
    return async () => {
      await admin.disconnect();
    };
  }, 60_000);

  afterEach(async () => {
    for (const r of running.splice(0)) {
      await Promise.race([r.stop(), r.exited]);
      noSecretIn(r.logs);
    }
  }, 60_000);

  /** Topics for one test, created up front with `partitions`. */
  async function topicsFor(
    label: string,
    partitions: number,
  ): Promise<{ prefix: string; topics: TopicNames }> {
    const prefix = uniquePrefix(label);
    const topics = prefixedTopicNames(prefix);
    await ensureTopics(admin, Object.values(topics), { partitions });
    return { prefix, topics };
  }

  it('writes every report published onto the report topics to the sink, decoded into the model', async () => {
    const { prefix, topics } = await topicsFor('sink-all', 3);
    const published = await publishSamples(servers, topics);
    const sink = new StandInSink();
    const r = await startSinkService(servers, prefix, async () => [sink], { MAX_MESSAGES_PER_FLUSH: '7' });
    running.push(r);

    await waitFor('every message in the sink', () => sink.durable.size >= published.count);
    const messages = await readReports(servers, topics, published.count);
    expect(messages).toHaveLength(published.count);
    // Each message once, named topic[partition]@offset, holding what was published (part numbering too).
    expect([...sink.durable.keys()].sort()).toEqual(messages.map(messageSource).sort());
    expect([...sink.durable.values()].map(summaryOf).sort()).toEqual([...published.summaries].sort());
    expect(new Set(sink.flushedTimes.values())).toEqual(new Set([1]));
    // Bounded flushes: at most MAX_MESSAGES_PER_FLUSH items each.
    expect(sink.flushCalls).toBeGreaterThanOrEqual(Math.ceil(published.count / 7));

    const inputs = Object.values(reportTopicsOf(topics));
    await waitFor(
      'offsets committed to the end',
      async () =>
        (await committedSum(admin, `${prefix}sink`, inputs)) === (await endOffsetSum(admin, inputs)),
    );
    const metrics = (await r.get('/metrics')).body;
    expect(metrics).toContain(
      `pdm_sink_items_written_total{sink="stand-in",service="sink-test"} ${published.count}`,
    );
    expect(metrics).toMatch(/pdm_sink_flushes_total\{sink="stand-in",service="sink-test"\} [1-9]/);
    expect((await r.get('/readyz')).status).toBe(200);
    expect(await r.stop()).toBe(0);
    expect(sink.closed).toBe(true);
  }, 180_000);

  it('commits offsets only after flush returned: a service stopped during a flush leaves the chunk to its successor', async () => {
    const { prefix, topics } = await topicsFor('sink-commit', 1);
    const published = await publishSamples(servers, topics);
    const inputs = Object.values(reportTopicsOf(topics));
    const group = `${prefix}sink`;

    // First instance: its first flush blocks until released.
    let entered!: (items: readonly ResultItem[]) => void;
    const flushEntered = new Promise<readonly ResultItem[]>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = new StandInSink({
      beforeFlush: async (call, items) => {
        if (call !== 1) return;
        entered(items);
        await released;
      },
    });
    const r1 = await startSinkService(servers, prefix, async () => [first], { SHUTDOWN_TIMEOUT_MS: '6000' });
    running.push(r1);
    const held = await flushEntered;
    expect(held.length).toBeGreaterThan(0);
    // The flush has not returned: nothing is committed.
    expect(await committedSum(admin, group, inputs)).toBe(0);

    // Stop it while the flush still blocks (a crash before the commit, as far as Kafka can tell).
    expect(await r1.stop()).toBe(0);
    // Even though the held flush now completes: the stopped instance commits nothing any more.
    release();
    expect(await committedSum(admin, group, inputs)).toBe(0);

    // Its successor in the same group gets the held chunk again, and everything after it.
    const second = new StandInSink();
    const r2 = await startSinkService(servers, prefix, async () => [second]);
    running.push(r2);
    await waitFor('every message in the second sink', () => second.durable.size >= published.count);
    for (const item of held) expect(second.durable.has(item.source)).toBe(true);
    expect([...second.durable.values()].map(summaryOf).sort()).toEqual([...published.summaries].sort());
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, inputs)) === (await endOffsetSum(admin, inputs)),
    );
  }, 180_000);

  it('keeps its group membership through a flush longer than the session timeout (no second delivery)', async () => {
    const { prefix, topics } = await topicsFor('sink-slow', 1);
    const published = await publishSamples(servers, topics);
    const sink = new StandInSink({
      // Longer than KAFKA_SESSION_TIMEOUT_MS (6 s): without heartbeats the group would drop the member and
      // the chunk would be delivered (and flushed) a second time.
      beforeFlush: async (call) => {
        if (call === 1) await new Promise((r) => setTimeout(r, 9000));
      },
    });
    const r = await startSinkService(servers, prefix, async () => [sink]);
    running.push(r);
    await waitFor('every message in the sink', () => sink.durable.size >= published.count);
    const inputs = Object.values(reportTopicsOf(topics));
    await waitFor(
      'offsets committed to the end',
      async () =>
        (await committedSum(admin, `${prefix}sink`, inputs)) === (await endOffsetSum(admin, inputs)),
    );
    expect([...sink.flushedTimes.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(r.logs.filter((l) => l.includes('left uncommitted'))).toEqual([]);
  }, 120_000);

  it('sends refusals and undecodable messages to the dead-letter topic, with their reason, and the rest flows', async () => {
    const { prefix, topics } = await topicsFor('sink-refuse', 1);
    const published = await publishSamples(servers, topics);
    // An undecodable message in the middle of the aggregate topic.
    const producer = createKafka({ brokers: servers.brokers, clientId: 'sink-test-producer' }).producer();
    await producer.connect();
    await producer.send({
      topic: topics.aggregate,
      messages: [{ key: 'garbage-key', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xfe, 1, 2, 3]) }],
    });
    await producer.disconnect();

    const reason = 'mapper_parsing_exception: stand-in refuses SMTP TLS reports';
    const sink = new StandInSink({
      refuse: (item) => (item.parsed.report_type === 'smtp_tls' ? reason : null),
    });
    const r = await startSinkService(servers, prefix, async () => [sink], { MAX_MESSAGES_PER_FLUSH: '5' });
    running.push(r);

    const messages = await readRaw(servers, Object.values(reportTopicsOf(topics)), published.count + 1);
    const kindOf = (m: RawMessage) => m.topic.slice(prefix.length) as ReportTopicKind;
    const refused = messages.filter((m) => kindOf(m) === 'dmarc_smtp_tls');
    const accepted = messages.filter((m) => kindOf(m) !== 'dmarc_smtp_tls' && m.key !== 'garbage-key');
    expect(refused.length).toBeGreaterThan(0);
    await waitFor('the accepted messages in the sink', () => sink.durable.size >= accepted.length);
    expect([...sink.durable.keys()].sort()).toEqual(accepted.map(messageSource).sort());

    const inputs = Object.values(reportTopicsOf(topics));
    await waitFor(
      'offsets committed to the end',
      async () =>
        (await committedSum(admin, `${prefix}sink`, inputs)) === (await endOffsetSum(admin, inputs)),
    );
    // The dead letters were sent before those commits: all there now.
    const dead = (
      await readTopics(
        servers,
        { deadLetter: topics.deadLetter },
        topicKindOf,
        (got) => got.length >= refused.length + 1,
        30_000,
      )
    ).map((m) => ({ key: m.key, value: m.value as DeadLetter }));
    expect(dead).toHaveLength(refused.length + 1);
    const refusedLetters = dead.filter((d) => d.value.error_code === 'DOCUMENT_REFUSED');
    expect(
      refusedLetters
        .map((d) => ({ key: d.key, input: d.value.input, source: d.value.source }))
        .sort((a, b) => a.source!.localeCompare(b.source!)),
    ).toEqual(
      refused
        .map((m) => ({
          key: m.key,
          input: { topic: m.topic, partition: m.partition, offset: Number(m.offset), key: m.key },
          source: messageSource(m),
        }))
        .sort((a, b) => a.source.localeCompare(b.source)),
    );
    for (const d of refusedLetters) {
      expect(d.value.stage).toBe('sink-test');
      expect(d.value.message).toContain(reason);
      // The input is kept for replay: it decodes as the refused report.
      const decoded = await decodeReportMessage(codec, 'dmarc_smtp_tls', d.value.payload);
      expect(decoded.parsed.report_type).toBe('smtp_tls');
    }
    const undecodable = dead.filter((d) => d.value.error_code === 'UNDECODABLE_MESSAGE');
    expect(undecodable.map((d) => [d.key, d.value.stage, d.value.input?.topic])).toEqual([
      ['garbage-key', 'sink-test', topics.aggregate],
    ]);

    const metrics = (await r.get('/metrics')).body;
    expect(metrics).toContain(
      `pdm_sink_refusals_total{sink="stand-in",code="DOCUMENT_REFUSED",service="sink-test"} ${refused.length}`,
    );
    expect(metrics).toContain(`pdm_dead_letters_total{code="UNDECODABLE_MESSAGE",service="sink-test"} 1`);
  }, 180_000);

  it('backs off while the sink fails transiently, not ready meanwhile, then delivers everything', async () => {
    const { prefix, topics } = await topicsFor('sink-flaky', 3);
    const published = await publishSamples(servers, topics);
    const failures = 3;
    const readiness: number[] = [];
    let port = 0;
    const sink = new StandInSink({
      transientFailures: failures,
      // From the second flush on, the earlier ones failed: the service must say it is not ready.
      beforeFlush: async (call) => {
        if (call >= 2 && call <= failures + 1)
          readiness.push((await fetch(`http://127.0.0.1:${port}/readyz`)).status);
      },
    });
    const r = await startSinkService(servers, prefix, async ({ runtime }) => {
      port = runtime.port;
      return [sink];
    });
    running.push(r);
    await waitFor('every message in the sink', () => sink.durable.size >= published.count);
    expect(readiness).toEqual(Array.from({ length: failures }, () => 503));
    expect([...sink.durable.values()].map(summaryOf).sort()).toEqual([...published.summaries].sort());
    await waitFor('ready again', async () => (await r.get('/readyz')).status === 200);
    const metrics = (await r.get('/metrics')).body;
    expect(metrics).toMatch(new RegExp(`pdm_retries_total\\{service="sink-test"\\} ${failures}\\b`));
    expect(metrics).toContain('pdm_sink_delivering{service="sink-test"} 1');
    expect(r.logs.some((l) => l.includes('stand-in.example') && l.includes('SINK_UNAVAILABLE'))).toBe(true);
  }, 180_000);

  it('stops non-zero, naming the target, when the sink refuses the credentials at start', async () => {
    const { prefix } = await topicsFor('sink-auth', 1);
    let readyWhileOpening: number | undefined;
    const logs: string[] = [];
    const signals = new EventEmitter();
    let exitCode: number | undefined;
    const attempt = runSinkService({
      name: 'sink-test',
      configSchema: testEnv,
      secrets: ['STAND_IN_PASSWORD'],
      env: {
        KAFKA_BROKERS: servers.brokers.join(','),
        SCHEMA_REGISTRY_URL: servers.registryUrl,
        TOPIC_PREFIX: prefix,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        STAND_IN_PASSWORD: secret,
      },
      signals,
      exit: (code) => (exitCode = code),
      logDestination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
      openSinks: async ({ runtime }) => {
        readyWhileOpening = (await fetch(`http://127.0.0.1:${runtime.port}/readyz`)).status;
        throw new SinkError('SINK_AUTH_FAILED', 'credentials refused (HTTP 401)', {
          sink: 'elasticsearch',
          target: 'https://es.example:9200',
          status: 401,
        });
      },
    });
    await expect(attempt).rejects.toThrow(/es\.example:9200.*SINK_AUTH_FAILED/);
    expect(readyWhileOpening).toBe(503);
    expect(exitCode).toBe(1);
    const errors = logs
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toContain(
      'cannot open the sink: elasticsearch (https://es.example:9200): SINK_AUTH_FAILED: credentials refused (HTTP 401)',
    );
    noSecretIn(logs);
  }, 60_000);

  it('stops non-zero without committing when the sink refuses the credentials later', async () => {
    const { prefix, topics } = await topicsFor('sink-auth-late', 1);
    await publishSamples(servers, topics);
    const sink = new StandInSink({ fatalFailure: true });
    const r = await startSinkService(servers, prefix, async () => [sink]);
    running.push(r);
    expect(await r.exited).toBe(1);
    expect(sink.flushCalls).toBe(1);
    expect(await committedSum(admin, `${prefix}sink`, Object.values(reportTopicsOf(topics)))).toBe(0);
    expect(r.logs.some((l) => l.includes('stand-in.example') && l.includes('SINK_AUTH_FAILED'))).toBe(true);
  }, 60_000);
});
