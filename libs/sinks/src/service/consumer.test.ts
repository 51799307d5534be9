import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseReports, type ParsedReport } from '@parsedmarc-ts/parser';
import {
  aggregateMessages,
  decodeValue,
  encodeValue,
  forensicToAvro,
  newPartNumbering,
  type TopicKind,
  type TopicValues,
} from '@parsedmarc-ts/avro';
import { PoisonMessageError } from '@parsedmarc-ts/kafka';
import { decodeReportMessage, messageSource } from './consumer.js';

const samplesDir = fileURLToPath(new URL('../../../../test/fixtures/samples', import.meta.url));

/** A codec without a registry: the Avro body after a 5-byte header. */
const codec = {
  decode: async <K extends TopicKind>(kind: K, bytes: Buffer): Promise<TopicValues[K]> =>
    decodeValue(kind, bytes.subarray(5)),
};
const framed = <K extends TopicKind>(kind: K, value: TopicValues[K]) =>
  Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), encodeValue(kind, value)]);

const origin = { source: 'x.xml', raw_sha256: null, received_at: null };

async function firstReport(bytes: string | Buffer): Promise<ParsedReport> {
  for await (const o of parseReports(Buffer.from(bytes), { source: 'x' })) if (o.ok) return o.parsed;
  throw new Error('no report');
}
const firstFileReport = (path: string) => firstReport(readFileSync(path));

const aggregateXml = `<?xml version="1.0"?><feedback><report_metadata><org_name>o</org_name><email>e@o</email>
<report_id>r1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers>
<auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>
<record><row><source_ip>192.0.2.2</source_ip><count>2</count><policy_evaluated><disposition>none</disposition>
<dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers>
<auth_results><spf><domain>example.com</domain><result>fail</result></spf></auth_results></record></feedback>`;

describe('sink consumer', () => {
  it('names items by topic, partition and offset', () => {
    expect(messageSource({ topic: 'dmarc_aggregate', partition: 2, offset: '17' })).toBe(
      'dmarc_aggregate[2]@17',
    );
  });

  it('decodes report messages back to the model, parts with their numbering', async () => {
    const parsed = await firstReport(aggregateXml);
    if (parsed.report_type !== 'aggregate') throw new Error('expected an aggregate report');
    const [whole] = aggregateMessages(parsed.report, undefined, newPartNumbering(), origin, 1 << 20);
    const decoded = await decodeReportMessage(codec, 'dmarc_aggregate', framed('dmarc_aggregate', whole!));
    expect(decoded).toEqual({ parsed });

    const numbering = newPartNumbering();
    const second = { ...parsed.report, records: parsed.report.records.slice(1) };
    aggregateMessages(
      { ...parsed.report, records: parsed.report.records.slice(0, 1) },
      { index: 0, isLast: false, firstRecord: 0 },
      numbering,
      origin,
      1 << 20,
    );
    const [last] = aggregateMessages(
      second,
      { index: 1, isLast: true, firstRecord: 1 },
      numbering,
      origin,
      1 << 20,
    );
    const part = await decodeReportMessage(codec, 'dmarc_aggregate', framed('dmarc_aggregate', last!));
    expect(part.part).toEqual({ index: 1, isLast: true, firstRecord: 1 });
    expect(part.parsed).toEqual({ report_type: 'aggregate', report: second });
  });

  it('refuses what is not a report as UNDECODABLE_MESSAGE', async () => {
    await expect(decodeReportMessage(codec, 'dmarc_smtp_tls', null)).rejects.toMatchObject({
      code: 'UNDECODABLE_MESSAGE',
    });
    const forensicReport = await firstFileReport(
      join(samplesDir, 'failure', readdirSync(join(samplesDir, 'failure')).sort()[0]!),
    );
    if (forensicReport.report_type !== 'forensic') throw new Error('expected a forensic report');
    const forensic = forensicToAvro(forensicReport.report, origin);
    const broken = { ...forensic, parsed_sample_json: '{not json' };
    const error = await decodeReportMessage(codec, 'dmarc_forensic', framed('dmarc_forensic', broken)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PoisonMessageError);
    expect(error).toMatchObject({ code: 'UNDECODABLE_MESSAGE' });
  });
});
