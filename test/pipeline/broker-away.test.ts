/**
 * A retriable fault on the broker side: report-parse runs against a private single-node broker (its own
 * ports and state dir, started with tools/kafka/ctl.sh) which is frozen (SIGSTOP) for 12 s mid-stream and
 * then resumed. Requests time out, transactions abort, the service backs off and resumes, and afterwards
 * every input's reports are on dmarc_parsed exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import type { ParsedReportMessage } from '@parsedmarc-ts/avro';
import {
  buildServices,
  ensureServers,
  freePort,
  readTopics,
  repoRoot,
  startService,
  uniquePrefix,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import { sampleInputs } from './expected.js';

describe('broker away', () => {
  let servers: Servers;
  let topics: TopicNames;
  let prefix: string;
  let admin: Admin;
  let service: ServiceProcess | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'pdm-broker-away-'));
  let brokerEnv: NodeJS.ProcessEnv;
  const ctl = (command: string) =>
    execFileSync(`${repoRoot}/tools/kafka/ctl.sh`, [command], {
      env: brokerEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });

  beforeAll(async () => {
    const shared = ensureServers(); // the registry; the broker is private
    brokerEnv = {
      ...process.env,
      PDM_STATE_DIR: stateDir,
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
    };
    ctl('start');
    servers = { brokers: [`127.0.0.1:${brokerEnv.KAFKA_PORT}`], registryUrl: shared.registryUrl };
    buildServices();
    prefix = uniquePrefix('away');
    topics = prefixedTopicNames(prefix);
    admin = createKafka({ brokers: servers.brokers, clientId: 'away-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 1 });
  }, 180_000);

  afterAll(async () => {
    try {
      process.kill(brokerPid(), 'SIGCONT'); // never leave it frozen, whatever failed
    } catch {
      // not started
    }
    if (service) expect(await service.stop()).toBe(0);
    await admin?.disconnect();
    ctl('stop');
    rmSync(stateDir, { recursive: true, force: true });
  }, 90_000);

  const brokerPid = () => Number(readFileSync(join(stateDir, 'kafka/run/kafka.pid'), 'utf8').trim());

  it('backs off while the broker is frozen and delivers everything exactly once after', async () => {
    service = await startService('report-parse', {
      servers,
      prefix,
      env: { MAX_MESSAGES_PER_TRANSACTION: '1', KAFKA_REQUEST_TIMEOUT_MS: '2000', RETRY_MAX_MS: '1000' },
    });
    const inputs = sampleInputs().filter((i) => !i.source.includes('large')); // small inputs, many transactions
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    for (const input of inputs) await publisher.publish(readFileSync(input.path), { source: input.source });
    await publisher.close();

    const progress = async () =>
      Number(
        (await admin.fetchOffsets({ groupId: `${prefix}report-parse`, topics: [topics.rawMail] }))[0]
          ?.partitions[0]?.offset ?? -1,
      );
    const deadline = Date.now() + 60_000;
    while ((await progress()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const before = await progress();
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(inputs.length);
    process.kill(brokerPid(), 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 12_000));
    process.kill(brokerPid(), 'SIGCONT');

    const received = await readTopics(
      servers,
      { parsed: topics.parsed, deadLetter: topics.deadLetter },
      topicKindOf,
      () => false,
      45_000,
    );
    const after = await progress();
    if (after !== inputs.length) console.log(service.logs.slice(-40).join('\n'));
    expect(after).toBe(inputs.length); // everything consumed and committed
    const seen = new Map<string, number>();
    for (const m of received) {
      if (m.topic !== topics.parsed) continue;
      const v = m.value as ParsedReportMessage;
      const report = v.aggregate ?? v.forensic ?? v.smtp_tls!;
      const id = `${report.origin.source}|${v.aggregate?.part?.index ?? '-'}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const repeated = [...seen].filter(([, n]) => n !== 1);
    if (repeated.length > 0) console.log(service.logs.slice(-60).join('\n'));
    expect(repeated).toEqual([]);
    // Every input that has reports is represented (dead letters: the inputs that fail to parse).
    const sources = new Set([...seen.keys()].map((id) => id.split('!')[0]!.split('|')[0]!));
    const dead = received.filter((m) => m.topic === topics.deadLetter).length;
    expect(sources.size + dead).toBeGreaterThanOrEqual(inputs.length);
    // Whether the outage surfaced as kafkajs-internal retries, consumer restarts, or our own backoff with a
    // producer replacement depends on which request it froze; each run lands on one of them.
    expect((await service.get('/healthz')).status).toBe(200);
  }, 240_000);
});
