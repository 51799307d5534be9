/**
 * The CLI's -K output against the real broker and registry: what it publishes, decoded through the registry,
 * equals what it prints; without a registry, the original's JSON messages (checked against Python's
 * json.dumps); --publish-raw-mail puts the input files on raw-mail as they are.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@parsedmarc-ts/avro';
import { createKafka, ensureTopics, prefixedTopicNames, topicKindOf } from '@parsedmarc-ts/kafka';
import { runCli, samples } from '../cli/helpers.js';
import { actualOf } from './expected.js';
import { ensureServers, readTopics, uniquePrefix, type Servers } from './harness.js';
import { readRaw } from './sink-harness.js';

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

  it("without a schema registry sends the original's JSON messages for the save_* types, as parsedmarc.ini says", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-kafka-json-'));
    const jsonTopics = prefixedTopicNames(uniquePrefix('cli-json'));
    const ini = join(dir, 'parsedmarc.ini');
    writeFileSync(
      ini,
      `[general]
save_aggregate = True
save_failure = True
silent = False
offline = True

[kafka]
hosts = ${servers.brokers.join(', ')}
aggregate_topic = ${jsonTopics.aggregate}
forensic_topic = ${jsonTopics.forensic}
smtp_tls_topic = ${jsonTopics.smtpTls}
`,
    );
    const files = [
      samples('aggregate/old_draft_from_wiki.xml'),
      samples('aggregate/!large-example.com!1711897200!1711983600.xml'),
      samples(
        'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
      ),
      samples('smtp_tls/rfc8460.json'),
    ];
    const run = await runCli(['-c', ini, ...files]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = join(dir, 'printed.json');
    writeFileSync(printed, run.stdout);
    // What the original's producer would send, computed by Python itself from the printed results.
    const expected = JSON.parse(
      execFileSync('python3', ['-c', ORIGINAL_MESSAGES_PY, printed], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      }),
    ) as { aggregate: string[]; forensic: string[] };
    expect(expected.aggregate.length).toBeGreaterThan(2);
    expect(expected.forensic).toHaveLength(1);
    expect(expected.forensic[0]).toMatch(/\\u00/); // non-ASCII text escaped, as json.dumps does

    const kafka = createKafka({ brokers: servers.brokers, clientId: 'cli-json-reader' });
    const got = (
      await readRaw(
        servers,
        [jsonTopics.aggregate, jsonTopics.forensic],
        expected.aggregate.length + expected.forensic.length,
      )
    ).map((m) => ({ ...m, value: m.value?.toString('utf8') ?? '' }));
    const valuesOf = (topic: string) =>
      got
        .filter((m) => m.topic === topic)
        .map((m) => m.value)
        .sort();
    expect(valuesOf(jsonTopics.aggregate)).toEqual([...expected.aggregate].sort());
    expect(valuesOf(jsonTopics.forensic)).toEqual(expected.forensic);
    // One key per report, so a report's records stay in order on one partition.
    expect(new Set(got.filter((m) => m.topic === jsonTopics.aggregate).map((m) => m.key)).size).toBe(2);
    // save_smtp_tls is off: nothing was sent there (the topic may not even exist).
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (existing.includes(jsonTopics.smtpTls)) {
        const offsets = await admin.fetchTopicOffsets(jsonTopics.smtpTls);
        expect(offsets.every((o) => o.high === '0')).toBe(true);
      }
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it('refuses --publish-raw-mail without a schema registry, naming the flag', async () => {
    const run = await runCli(
      ['-K', '127.0.0.1:1', '--publish-raw-mail', '--', samples('aggregate/old_draft_from_wiki.xml')],
      {},
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--schema-registry');
  });
});

/** The original's Kafka values, rebuilt in Python from the printed results and serialized by json.dumps. */
const ORIGINAL_MESSAGES_PY = `
import json, sys
from datetime import datetime
results = json.load(open(sys.argv[1], encoding="utf-8"))
def t(s):
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%S")
aggregate = []
for report in results["aggregate_reports"]:
    meta = report["report_metadata"]
    for record in report["records"]:
        record = dict(record)
        record["date_range"] = [t(meta["begin_date"]), t(meta["end_date"])]
        record["org_name"] = meta["org_name"]
        record["org_email"] = meta["org_email"]
        record["policy_published"] = report["policy_published"]
        record["report_id"] = meta["report_id"]
        aggregate.append(json.dumps(record))
forensic = [json.dumps([r]) for r in results["forensic_reports"]]
print(json.dumps({"aggregate": aggregate, "forensic": forensic}))
`;
