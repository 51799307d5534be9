/**
 * A retriable fault: the schema registry goes away while a message needs it. report-parse aborts the
 * transaction, backs off, retries, and delivers once the registry is back; nothing is dead-lettered.
 */
import { createServer, request, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRawMailPublisher, topicKindOf, type TopicNames } from '@parsedmarc-ts/kafka';
import {
  buildServices,
  createTestTopics,
  ensureServers,
  freePort,
  readTopics,
  startService,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import { samplesDir } from './expected.js';

/** An HTTP proxy to the registry that can be switched to answer 503. */
async function flakyProxy(
  target: string,
): Promise<{ url: string; server: Server; setDown(down: boolean): void; downHits(): number }> {
  const upstream = new URL(target);
  let down = false;
  let hits = 0;
  const server = createServer((req, res) => {
    if (down) {
      hits++;
      res.writeHead(503).end('registry away');
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, server, setDown: (d) => (down = d), downHits: () => hits };
}

describe('registry away', () => {
  let servers: Servers;
  let topics: TopicNames;
  let prefix: string;
  let proxy: Awaited<ReturnType<typeof flakyProxy>>;
  let service: ServiceProcess;

  beforeAll(async () => {
    servers = ensureServers();
    buildServices();
    ({ prefix, topics } = await createTestTopics(servers, 'retry', 1));
    proxy = await flakyProxy(servers.registryUrl);
    service = await startService('report-parse', { servers: { ...servers, registryUrl: proxy.url }, prefix });
  }, 120_000);

  afterAll(async () => {
    expect(await service?.stop()).toBe(0);
    proxy?.server.close();
  }, 60_000);

  it('backs off while the registry answers 503 and delivers when it is back', async () => {
    proxy.setDown(true);
    // The service has not seen this raw-mail schema id yet: decoding needs the registry.
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    await publisher.publish(readFileSync(join(samplesDir, 'aggregate/old_draft_from_wiki.xml')), {
      source: 'during-outage.xml',
    });
    await publisher.close();
    const deadline = Date.now() + 30_000;
    while (proxy.downHits() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(proxy.downHits()).toBeGreaterThanOrEqual(3);
    expect((await service.get('/metrics')).body).toMatch(/pdm_retries_total\{service="report-parse"\} [1-9]/);
    proxy.setDown(false);

    const received = await readTopics(
      servers,
      { parsed: topics.parsed, deadLetter: topics.deadLetter },
      topicKindOf,
      (got) => got.length >= 1,
      30_000,
    );
    expect(received.map((m) => m.topic)).toEqual([topics.parsed]);
  }, 120_000);
});
