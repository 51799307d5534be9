/**
 * The CLI's -K output against the real broker and registry: what it publishes, decoded through the registry,
 * equals what it prints; --publish-raw-mail puts the input files on raw-mail as they are.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@parsedmarc-ts/avro';
import { createKafka, ensureTopics, prefixedTopicNames, topicKindOf } from '@parsedmarc-ts/kafka';
import { runCli, samples } from '../cli/helpers.js';
import { actualOf } from './expected.js';
import { ensureServers, readTopics, uniquePrefix, type Servers } from './harness.js';

describe('parsedmarc -K', () => {
  let servers: Servers;
  const topics = prefixedTopicNames(uniquePrefix('cli'));

  beforeAll(async () => {
    servers = ensureServers();
    const admin = createKafka({ brokers: servers.brokers, clientId: 'cli-test-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), { partitions: 2 });
    await admin.disconnect();
  }, 60_000);

  const kafkaFlags = (): string[] => [
    '-K',
    ...servers.brokers,
    '--schema-registry',
    servers.registryUrl,
    '--kafka-aggregate-topic',
    topics.aggregate,
    '--kafka-forensic_topic',
    topics.forensic,
    '--kafka-smtp-tls-topic',
    topics.smtpTls,
  ];

  it('publishes every report onto its topic, equal to what it prints', async () => {
    const files = [
      samples('aggregate/old_draft_from_wiki.xml'),
      samples('aggregate/!large-example.com!1711897200!1711983600.xml'),
      samples('failure/dmarc_ruf_report_linkedin.eml'),
      samples('smtp_tls/rfc8460.json'),
    ];
    const run = await runCli(['--offline', ...kafkaFlags(), ...files]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    const received = await readTopics(
      servers,
      { aggregate: topics.aggregate, forensic: topics.forensic, smtpTls: topics.smtpTls },
      topicKindOf,
      // Four reports, the big one possibly in several parts: wait until every report is complete.
      (got) => {
        const reports = [...actualOf(got).values()].flat();
        return reports.length >= 4 && reports.every((r) => !r.report_type.includes('incomplete'));
      },
      60_000,
    );
    const actual = actualOf(received);
    const published = (source: string): unknown[] =>
      [...actual.entries()]
        .filter(([s]) => s.startsWith(source))
        .flatMap(([, reports]) => reports.map((r) => JSON.parse(r.json)));
    expect(published(files[0]!)).toEqual([printed.aggregate_reports[0]]);
    expect(published(files[1]!)).toEqual([printed.aggregate_reports[1]]);
    expect(published(files[2]!)).toEqual([printed.forensic_reports[0]]);
    expect(published(files[3]!)).toEqual([printed.smtp_tls_reports[0]]);
  }, 120_000);

  it('--publish-raw-mail puts the files on raw-mail as they are, keyed by SHA-256', async () => {
    const files = [samples('aggregate/old_draft_from_wiki.xml'), samples('smtp_tls/rfc8460.json')];
    const run = await runCli([
      ...kafkaFlags(),
      '--publish-raw-mail',
      '--kafka-raw-mail-topic',
      topics.rawMail,
      ...files,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const received = await readTopics(
      servers,
      { rawMail: topics.rawMail },
      topicKindOf,
      (got) => got.length >= 2,
      30_000,
    );
    expect(received.map((m) => m.key).sort()).toEqual(files.map((f) => sha256Hex(readFileSync(f))).sort());
  }, 60_000);

  it('refuses -K without a schema registry, naming the flag', async () => {
    const run = await runCli(['-K', '127.0.0.1:1', samples('aggregate/old_draft_from_wiki.xml')], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--schema-registry');
  });
});
