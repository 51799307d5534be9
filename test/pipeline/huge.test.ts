/**
 * Huge reports: several copies of a 30,000-record aggregate report go through the pipeline in one
 * transaction. Each comes out in bounded parts (none over the part size), and the parts of each copy, in
 * index order, hold exactly the report's records.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRawMailPublisher, sizeLimits, topicKindOf, type TopicNames } from '@parsedmarc-ts/kafka';
import type { AggregateReportMessage } from '@parsedmarc-ts/avro';
import {
  buildServices,
  createTestTopics,
  ensureServers,
  readTopics,
  startService,
  type ServiceProcess,
  type Servers,
} from './harness.js';

const recordCount = 40_000;
const copies = 4;

/** A synthetic aggregate report (draft schema, like the dmarc.org wiki example) with n distinct records. */
function hugeReport(n: number): Buffer {
  const records: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    records.push(
      `<record><row><source_ip>${ip}</source_ip><count>${(i % 7) + 1}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>` +
        `<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>d${i % 97}.example.com</domain><result>fail</result></dkim><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>`,
    );
  }
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><feedback><report_metadata><org_name>acme.com</org_name><email>dmarc@acme.com</email><report_id>huge-1</report_id>` +
      `<date_range><begin>1335571200</begin><end>1335657599</end></date_range></report_metadata><policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>` +
      records.join('') +
      '</feedback>',
  );
}

describe('huge reports', () => {
  let servers: Servers;
  let topics: TopicNames;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    servers = ensureServers();
    buildServices();
    const created = await createTestTopics(servers, 'huge', 2);
    const prefix = created.prefix;
    topics = created.topics;
    services.push(await startService('report-parse', { servers, prefix }));
    services.push(await startService('enrich', { servers, prefix }));
  }, 120_000);

  afterAll(async () => {
    for (const service of services) expect(await service.stop()).toBe(0);
  }, 60_000);

  it('come out in bounded, complete parts', async () => {
    const gz = gzipSync(hugeReport(recordCount));
    const publisher = await createRawMailPublisher({
      brokers: servers.brokers,
      registryUrl: servers.registryUrl,
      topic: topics.rawMail,
    });
    for (let i = 0; i < copies; i++) await publisher.publish(gz, { source: `huge-${i}.xml.gz` });
    await publisher.close();

    const received = await readTopics(
      servers,
      { aggregate: topics.aggregate, deadLetter: topics.deadLetter },
      topicKindOf,
      (got) =>
        got.filter((m) => m.topic === topics.aggregate && (m.value as AggregateReportMessage).part?.is_last)
          .length >= copies,
      180_000,
    );
    expect(received.filter((m) => m.topic === topics.deadLetter)).toEqual([]);
    const bySource = new Map<string, AggregateReportMessage[]>();
    for (const m of received) {
      const v = m.value as AggregateReportMessage;
      bySource.set(v.origin.source, [...(bySource.get(v.origin.source) ?? []), v]);
    }
    expect([...bySource.keys()].sort()).toEqual(
      Array.from({ length: copies }, (_v, i) => `huge-${i}.xml.gz`),
    );
    const keys = new Set(received.map((m) => m.key));
    expect(keys.size).toBe(1); // one report identity: every copy and part in one partition
    for (const parts of bySource.values()) {
      expect(parts.map((p) => p.part!.index)).toEqual(parts.map((_p, i) => i)); // in order on the partition
      expect(parts.at(-1)!.part!.is_last).toBe(true);
      const records = parts.flatMap((p) => p.records);
      expect(records).toHaveLength(recordCount);
      expect(records.map((r) => r.source.ip_address).slice(0, 3)).toEqual([
        '10.0.0.0',
        '10.0.0.1',
        '10.0.0.2',
      ]);
      expect(records.reduce((n, r) => n + r.count, 0)).toBe(
        Array.from({ length: recordCount }, (_v, i) => (i % 7) + 1).reduce((a, b) => a + b),
      );
      for (const p of parts)
        expect(p.part!.first_record).toBe(
          parts.slice(0, p.part!.index).reduce((n, q) => n + q.records.length, 0),
        );
    }
    // Bounded: the Avro body of every part is under the part size (enrichment adds a little to what the
    // parse stage bounded, hence the margin).
    const { encodeValue } = await import('@parsedmarc-ts/avro');
    for (const m of received)
      expect(encodeValue('dmarc_aggregate', m.value as AggregateReportMessage).length).toBeLessThan(
        sizeLimits.aggregatePartBytes * 1.5,
      );
  }, 300_000);
});
