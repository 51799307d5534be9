/**
 * Test harness for the pipeline against the real Kafka broker and schema registry: starts the servers when
 * the environment does not name them (never skips), builds and spawns the services as real processes, and
 * reads topics back through the registry with a read_committed consumer.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import {
  createKafka,
  ensureTopics,
  prefixedTopicNames,
  RegistryCodec,
  type TopicNames,
} from '@parsedmarc-ts/kafka';
import type { TopicKind, TopicValues } from '@parsedmarc-ts/avro';

import { searchServer } from '../search/helpers.js';
import { testServer } from '../servers.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Servers {
  brokers: string[];
  registryUrl: string;
}

/** The servers named by KAFKA_BROKERS / SCHEMA_REGISTRY_URL, else started with tools/<name>/ctl.sh. */
export function ensureServers(): Servers {
  return {
    brokers: testServer('kafka', 'KAFKA_BROKERS').split(','),
    registryUrl: testServer('schema-registry', 'SCHEMA_REGISTRY_URL'),
  };
}

/** The Elasticsearch test server named by ELASTICSEARCH_URL, else started with tools/elasticsearch/ctl.sh. */
export const ensureElasticsearch = (): string => searchServer('elasticsearch');

/** A service under apps/ the tests spawn. */
export type ServiceName = 'report-parse' | 'enrich' | 'sink-elastic' | 'sink-hec' | 'sink-smtp';

export const uniquePrefix = (label: string): string =>
  `t-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Builds the two services and `extra` projects (incremental: a no-op when dist/ is current). */
/** The pipeline's topics under a fresh prefix (a test's own), created on the test broker. */
export async function createTestTopics(
  servers: Servers,
  label: string,
  partitions: number,
): Promise<{ prefix: string; topics: TopicNames }> {
  const prefix = uniquePrefix(label);
  const topics = prefixedTopicNames(prefix);
  const admin = createKafka({ brokers: servers.brokers, clientId: `${label}-test-admin` }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, Object.values(topics), { partitions });
  } finally {
    await admin.disconnect();
  }
  return { prefix, topics };
}

export function buildServices(extra: string[] = []): void {
  // Test files run in parallel processes: one build at a time (flock), the others then find it current.
  execFileSync(
    'flock',
    [
      join(tmpdir(), 'parsedmarc-ts-pipeline-build.lock'),
      'npx',
      'tsc',
      '-b',
      'apps/report-parse',
      'apps/enrich',
      ...extra,
    ],
    {
      cwd: repoRoot,
      stdio: 'inherit',
    },
  );
}

export const testTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export class ServiceProcess {
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.proc = spawn(process.execPath, [`${repoRoot}/apps/${name}/dist/main.js`], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TZ: testTimeZone,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => this.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    this.proc.stdout!.on('data', collect);
    this.proc.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (Date.now() < deadline) {
      if (exitCode !== undefined)
        throw new Error(`${this.name} exited (${exitCode}):\n${this.logs.slice(-20).join('\n')}`);
      try {
        if ((await this.get('/readyz')).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logs.slice(-20).join('\n')}`);
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    return this.exited;
  }
}

export interface StartOptions {
  servers: Servers;
  prefix: string;
  instance?: string;
  env?: Record<string, string>;
}

export async function startService(name: ServiceName, options: StartOptions): Promise<ServiceProcess> {
  const service = new ServiceProcess(name, await freePort(), {
    KAFKA_BROKERS: options.servers.brokers.join(','),
    SCHEMA_REGISTRY_URL: options.servers.registryUrl,
    TOPIC_PREFIX: options.prefix,
    KAFKA_GROUP_ID: `${options.prefix}${name}`,
    KAFKA_TRANSACTIONAL_ID: `${options.prefix}${name}-${options.instance ?? '0'}`,
    ENRICH_OFFLINE: 'true',
    RETRY_INITIAL_MS: '100',
    RETRY_MAX_MS: '2000',
    // A killed instance holds its partitions this long: keep restarts quick.
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...options.env,
  });
  await service.waitReady();
  return service;
}

export interface Decoded<K extends TopicKind> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: TopicValues[K];
}

/**
 * Reads topics from the beginning with a read_committed consumer until `done(received)` holds or the
 * timeout passes (then returns what it has).
 */
export async function readTopics(
  servers: Servers,
  topics: Partial<Record<keyof TopicNames, string>>,
  kinds: Partial<Record<keyof TopicNames, TopicKind>>,
  done: (received: Decoded<TopicKind>[]) => boolean,
  timeoutMs = 60_000,
  kafka: Kafka = createKafka({ brokers: servers.brokers, clientId: 'pipeline-test-reader' }),
): Promise<Decoded<TopicKind>[]> {
  const codec = new RegistryCodec({ url: servers.registryUrl });
  const kindOf = new Map(
    Object.entries(topics).map(([name, topic]) => [topic!, kinds[name as keyof TopicNames]!]),
  );
  const consumer = kafka.consumer({
    groupId: `reader-${randomBytes(6).toString('hex')}`,
    readUncommitted: false,
  });
  const received: Decoded<TopicKind>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...kindOf.keys()], fromBeginning: true });
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const timer = setTimeout(() => finish(), timeoutMs);
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: await codec.decode(kindOf.get(topic)!, message.value!),
        });
        if (done(received)) finish();
      },
    });
    if (done(received)) finish();
    await finished;
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return received;
}
