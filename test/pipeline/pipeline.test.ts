/**
 * End to end against the real broker and registry: every sample produced onto raw-mail comes out of
 * report-parse → enrich on the report topics, decoded through the registry, equal to what the embedded
 * pipeline (parser + offline enrichment) gives for the same file; inputs that fail land in dead letters
 * with their error code.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRawMailPublisher, topicKindOf, type TopicNames } from '@parsedmarc-ts/kafka';
import type { DeadLetter } from '@parsedmarc-ts/avro';
import {
  buildServices,
  createTestTopics,
  ensureServers,
  readTopics,
  repoRoot,
  startService,
  testTimeZone,
  type ServiceProcess,
  type Servers,
} from './harness.js';
import { actualOf, expectedMessageCount, expectedOf, sampleInputs, type Expected } from './expected.js';

const partRecords = 500;

describe('pipeline: raw-mail → report-parse → enrich → report topics', () => {
  let servers: Servers;
  let topics: TopicNames;
  let prefix: string;
  const services: ServiceProcess[] = [];
  let expected: Expected;

  beforeAll(async () => {
    servers = ensureServers();
    buildServices(['apps/cli']);
    ({ prefix, topics } = await createTestTopics(servers, 'e2e', 3));
    const env = { AGGREGATE_PART_RECORDS: String(partRecords), MAX_MESSAGES_PER_TRANSACTION: '20' };
    services.push(await startService('report-parse', { servers, prefix, env }));
    services.push(await startService('enrich', { servers, prefix, env }));
    expected = await expectedOf(sampleInputs());
  }, 180_000);

  afterAll(async () => {
    for (const service of services) expect(await service.stop()).toBe(0);
  }, 60_000);

  it('delivers every sample report, equal to the embedded pipeline, and dead-letters the failures', async () => {
    const inputs = sampleInputs();
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    const started = performance.now();
    for (const input of inputs) await publisher.publish(readFileSync(input.path), { source: input.source });
    await publisher.close();

    const wantReports = expectedMessageCount(expected, partRecords);
    const wantErrors = [...expected.errors.values()].flat().length;
    expect(wantErrors).toBeGreaterThan(0);
    const received = await readTopics(
      servers,
      {
        aggregate: topics.aggregate,
        forensic: topics.forensic,
        smtpTls: topics.smtpTls,
        deadLetter: topics.deadLetter,
      },
      topicKindOf,
      (got) =>
        got.filter((m) => m.topic !== topics.deadLetter).length >= wantReports &&
        got.filter((m) => m.topic === topics.deadLetter).length >= wantErrors,
      120_000,
    );
    const seconds = (performance.now() - started) / 1000;
    const records = [...expected.reports.values()]
      .flat()
      .filter((r) => r.report_type === 'aggregate')
      .reduce((n, r) => n + (JSON.parse(r.json) as { records: unknown[] }).records.length, 0);
    console.log(
      `e2e: ${inputs.length} inputs, ${received.length} messages out, ${records} aggregate records in ${seconds.toFixed(1)} s (publish → last report read)`,
    );

    // Reports: same set, same content, nothing more.
    const actual = actualOf(received);
    expect([...actual.keys()].sort()).toEqual([...expected.reports.keys()].sort());
    for (const [source, reports] of expected.reports) {
      const got = actual.get(source)!;
      expect(got.map((r) => r.report_type).sort(), source).toEqual(reports.map((r) => r.report_type).sort());
      expect(got.map((r) => r.json).sort(), source).toEqual(reports.map((r) => r.json).sort());
    }
    expect(received.filter((m) => m.topic !== topics.deadLetter)).toHaveLength(wantReports);
    // And what the embedded CLI prints for the same files (offline), report for report.
    // (It exits non-zero because some samples fail to parse; its stdout still holds every report.)
    const run = spawnSync(
      process.execPath,
      [`${repoRoot}/apps/cli/bin/parsedmarc.js`, '--offline', ...inputs.map((i) => i.path)],
      {
        cwd: repoRoot,
        env: { ...process.env, TZ: testTimeZone },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const cli = JSON.parse(run.stdout) as {
      aggregate_reports: unknown[];
      forensic_reports: unknown[];
      smtp_tls_reports: unknown[];
    };
    const cliJson = [...cli.aggregate_reports, ...cli.forensic_reports, ...cli.smtp_tls_reports]
      .map((r) => JSON.stringify(r))
      .sort();
    // The CLI skips an aggregate report whose org name and report id it already printed (like the
    // original); the pipeline delivers every copy, under the same report key, for sinks to upsert. So: every
    // report the CLI prints is on the topics, and the topics hold no report the CLI would not print but for
    // that de-duplication.
    const pipelineJson = [...actual.values()].flat().map((r) => r.json);
    for (const json of cliJson) expect(pipelineJson).toContain(json);
    // Aggregate reports count once per org name and report id; every other report counts.
    const identity = (json: string, i: number): string => {
      const r = JSON.parse(json) as { report_metadata?: { org_name: string; report_id: string } };
      return r.report_metadata ? `${r.report_metadata.org_name}_${r.report_metadata.report_id}` : `#${i}`;
    };
    expect(new Set(pipelineJson.map(identity)).size).toBe(cliJson.length);
    // At least one report was split into parts (the corpus holds a report of 2,286 records).
    expect(
      received.some((m) => m.topic === topics.aggregate && (m.value as { part: unknown }).part !== null),
    ).toBe(true);

    // Dead letters: each failing input, with its stage and code, and the input bytes for replay.
    const dead = received.filter((m) => m.topic === topics.deadLetter).map((m) => m.value as DeadLetter);
    const deadBySource = new Map<string, string[]>();
    for (const d of dead)
      deadBySource.set(d.source ?? '', [...(deadBySource.get(d.source ?? '') ?? []), d.error_code]);
    expect(Object.fromEntries(deadBySource)).toEqual(Object.fromEntries(expected.errors));
    for (const d of dead) {
      expect(d.stage).toBe('report-parse');
      expect(d.input?.topic).toBe(topics.rawMail);
      expect(d.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  }, 240_000);

  it('exposes its counters on /metrics', async () => {
    const metrics = (await services[0]!.get('/metrics')).body;
    expect(metrics).toMatch(/pdm_input_messages_total\{topic="[^"]*raw-mail",service="report-parse"\} \d+/);
    expect(metrics).toMatch(/pdm_dead_letters_total\{code="EMPTY_INPUT",service="report-parse"\} 1/);
  });
});
