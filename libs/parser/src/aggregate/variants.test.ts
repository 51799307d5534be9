/**
 * The shapes reports come in (schemas, namespaces, encodings, sloppy values) and the normalization rules,
 * on small inline reports; plus the streaming contract.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { formatLocal } from '../time.js';
import type { AggregateRecord, AggregateReport, AggregateReportHeader } from '../types.js';
import { AggregateReportStreamParser } from './stream.js';
import { looksLikeAggregateXml, parseAggregateReportXml } from './index.js';
import { splitIntoUtcDays } from './normalize.js';

/** Generated from the original's code by libs/parser/scripts/split-cases-from-parsedmarc.py. */
const splitCasesPath = fileURLToPath(
  new URL('../../../../test/fixtures/aggregate/split-by-day-10.4.3.json', import.meta.url),
);

interface Parts {
  decl?: string;
  open?: string;
  close?: string;
  version?: string;
  metadata?: string;
  policy?: string;
  records?: string[];
}

const defaultMetadata = `<org_name>example.net</org_name><email>dmarc@example.net</email>
    <report_id>r1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>`;
const defaultPolicy =
  '<domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>';
const defaultRecord = `<row><source_ip>192.0.2.1</source_ip><count>3</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>
      <spf><domain>bounce.example.com</domain><result>fail</result></spf></auth_results>`;

function xml(parts: Parts = {}): string {
  const records = (parts.records ?? [defaultRecord]).map((r) => `  <record>${r}</record>\n`).join('');
  return `${parts.decl ?? '<?xml version="1.0" encoding="UTF-8"?>'}
${parts.open ?? '<feedback>'}
  ${parts.version ?? ''}
  <report_metadata>${parts.metadata ?? defaultMetadata}</report_metadata>
  <policy_published>${parts.policy ?? defaultPolicy}</policy_published>
${records}${parts.close ?? '</feedback>'}
`;
}

const parse = (text: string | Uint8Array): AggregateReport =>
  parseAggregateReportXml(text, { source: 'inline' });
const firstRecord = (report: AggregateReport): AggregateRecord => {
  const record = report.records[0];
  if (record === undefined) throw new Error('no record');
  return record;
};

describe('schemas and namespaces', () => {
  it('draft (no <version>) → xml_schema "draft", no namespace', () => {
    const report = parse(xml());
    expect(report.xml_schema).toBe('draft');
    expect(report.xml_namespace).toBeNull();
  });

  it('RFC 7489 1.0: xml_schema is the <version> text', () => {
    expect(parse(xml({ version: '<version> 1.0 </version>' })).xml_schema).toBe('1.0');
  });

  it('DMARCbis 2.0 with a default namespace and its new fields; extensions are ignored', () => {
    const report = parse(
      xml({
        open: '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0" xmlns:ext="urn:example:ext">',
        version: '<version>2.0</version>',
        metadata: `${defaultMetadata}<generator>Example Reporter 1.2</generator><ext:note>ignored</ext:note>`,
        policy: `${defaultPolicy}<np>reject</np><testing>y</testing><discovery_method>treewalk</discovery_method>`,
        records: [
          defaultRecord
            .replace('<count>3</count>', '<count>3</count><ext:count>999</ext:count>')
            .replace(
              '<result>pass</result>',
              '<result>pass</result><human_result>2048-bit key</human_result>',
            ),
        ],
        close: '<extensions><ext:thing><record>not a record</record></ext:thing></extensions></feedback>',
      }),
    );
    expect(report.xml_schema).toBe('2.0');
    expect(report.xml_namespace).toBe('urn:ietf:params:xml:ns:dmarc-2.0');
    expect(report.report_metadata.generator).toBe('Example Reporter 1.2');
    expect(report.policy_published).toMatchObject({
      np: 'reject',
      testing: 'y',
      discovery_method: 'treewalk',
    });
    expect(report.records).toHaveLength(1);
    expect(firstRecord(report).count).toBe(3);
    expect(firstRecord(report).auth_results.dkim[0]?.human_result).toBe('2048-bit key');
    expect(report.report_metadata.errors).toEqual([]);
  });

  it('prefixed namespace: <dmarc:feedback xmlns:dmarc=...> with prefixed children', () => {
    const prefixed = xml({ version: '<version>2.0</version>' })
      .replace(/<(\/?)(?!\?)([a-z_]+)>/g, '<$1dmarc:$2>')
      .replace('<dmarc:feedback>', '<dmarc:feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">');
    const report = parse(prefixed);
    expect(report.xml_namespace).toBe('urn:ietf:params:xml:ns:dmarc-2.0');
    expect(report).toEqual({
      ...parse(xml({ version: '<version>2.0</version>' })),
      xml_namespace: report.xml_namespace,
    });
  });

  it('a namespace declared on a wrapper around <feedback>', () => {
    const report = parse(
      `<wrap xmlns:d="urn:ietf:params:xml:ns:dmarc-2.0">${xml().replace(/^<\?xml[^>]*>/, '')}</wrap>`,
    );
    expect(report.records).toHaveLength(1);
    const prefixed = parse(
      `<wrap xmlns:d="urn:x">${xml()
        .replace(/^<\?xml[^>]*>/, '')
        .replace(/<(\/?)([a-z_]+)>/g, '<$1d:$2>')}</wrap>`,
    );
    expect(prefixed.xml_namespace).toBe('urn:x');
  });

  it('pct and fo keep what the report says; absent they default to "100" and "0" (seed)', () => {
    const absent = parse(xml({ policy: '<domain>example.com</domain><p>reject</p>' })).policy_published;
    expect(absent).toEqual({
      domain: 'example.com',
      adkim: 'r',
      aspf: 'r',
      p: 'reject',
      sp: 'reject',
      pct: '100',
      fo: '0',
      np: null,
      testing: null,
      discovery_method: null,
    });
    const present = parse(
      xml({ policy: `${defaultPolicy.replace('100', '50')}<fo>1</fo>` }),
    ).policy_published;
    expect([present.pct, present.fo]).toEqual(['50', '1']);
  });
});

describe('encodings and whitespace', () => {
  const reference = parse(xml());

  it('UTF-8 BOM and leading blank lines, as text and as bytes', () => {
    const text = `\uFEFF\n\n  ${xml()}`;
    expect(parse(text)).toEqual(reference);
    expect(parse(new TextEncoder().encode(text))).toEqual(reference);
  });

  it('CRLF line ends', () => {
    expect(parse(xml().replace(/\n/g, '\r\n'))).toEqual(reference);
  });

  it('values surrounded by whitespace and newlines are trimmed', () => {
    const report = parse(xml().replace('<header_from>example.com', '<header_from>\n   Example.COM  \n'));
    expect(firstRecord(report).identifiers.header_from).toBe('example.com');
  });

  it('CDATA sections are text', () => {
    const report = parse(
      xml().replace('<report_id>r1</report_id>', '<report_id><![CDATA[r<1>]]></report_id>'),
    );
    expect(report.report_metadata.report_id).toBe('r1');
  });

  it('non-UTF-8 bytes are dropped and the problem recorded', () => {
    const text = xml();
    const at = text.indexOf('example.com</header_from>');
    const encoded = new TextEncoder().encode(text);
    const bytes = new Uint8Array([...encoded.subarray(0, at + 7), 0x91, 0xff, ...encoded.subarray(at + 7)]);
    const report = parse(bytes);
    expect(firstRecord(report).identifiers.header_from).toBe('example.com');
    expect(report.report_metadata.errors).toEqual([
      'Invalid UTF-8: byte sequences that are not UTF-8 were dropped',
    ]);
  });

  it('multi-byte characters split across byte chunks survive', () => {
    const text = xml().replace('<org_name>example.net', '<org_name>Exämple Ωrg 📨');
    const bytes = new TextEncoder().encode(text);
    let header: AggregateReportHeader | undefined;
    const parser = new AggregateReportStreamParser({ onHeader: (h) => (header = h), onRecord() {} });
    for (let i = 0; i < bytes.length; i++) parser.writeBytes(bytes.subarray(i, i + 1));
    parser.end();
    expect(header?.report_metadata.org_name).toBe('Exämple Ωrg 📨');
    expect(header?.report_metadata.errors).toEqual([]);
  });
});

describe('normalization', () => {
  it('result and disposition words are lower-cased; alignment follows policy_evaluated', () => {
    const record = firstRecord(
      parse(
        xml({
          records: [
            defaultRecord
              .replace('<disposition>none', '<disposition>Quarantine')
              .replace('<dkim>pass</dkim>', '<dkim>Pass</dkim>')
              .replace('<spf>fail</spf>', '<spf>PASS</spf>')
              .replace('<result>pass</result>', '<result>Pass</result>')
              .replace('<result>fail</result>', '<result>SoftFail</result>'),
          ],
        }),
      ),
    );
    expect(record.policy_evaluated).toMatchObject({ disposition: 'quarantine', dkim: 'pass', spf: 'pass' });
    expect(record.alignment).toEqual({ spf: true, dkim: true, dmarc: true });
    expect(record.auth_results.dkim[0]?.result).toBe('pass');
    expect(record.auth_results.spf[0]?.result).toBe('softfail');
  });

  it('dmarc alignment is spf or dkim alignment', () => {
    const both = (dkim: string, spf: string): AggregateRecord['alignment'] =>
      firstRecord(
        parse(
          xml({
            records: [
              defaultRecord
                .replace('<dkim>pass</dkim>', `<dkim>${dkim}</dkim>`)
                .replace('<spf>fail</spf>', `<spf>${spf}</spf>`),
            ],
          }),
        ),
      ).alignment;
    expect(both('fail', 'fail')).toEqual({ spf: false, dkim: false, dmarc: false });
    expect(both('fail', 'pass')).toEqual({ spf: true, dkim: false, dmarc: true });
  });

  it('IPv4 and IPv6 source addresses, as sent', () => {
    const ips = ['198.51.100.7', '2001:db8::25', '2607:f8b0:4864:20::132'];
    const report = parse(xml({ records: ips.map((ip) => defaultRecord.replace('192.0.2.1', ip)) }));
    expect(report.records.map((r) => r.source.ip_address)).toEqual(ips);
    expect(firstRecord(report).source).toEqual({
      ip_address: '198.51.100.7',
      country: null,
      reverse_dns: null,
      base_domain: null,
      name: null,
      type: null,
      asn: null,
      as_name: null,
      as_domain: null,
    });
  });

  it('timestamps with whitespace or a fractional part', () => {
    const report = parse(
      xml({
        metadata: defaultMetadata
          .replace('<begin>1700000000</begin>', '<begin>\n 1700000000.75 \n</begin>')
          .replace('<end>1700086399</end>', '<end> 1700086399.0</end>'),
      }),
    );
    expect(report.report_metadata.begin_date).toBe(formatLocal(1700000000));
    expect(report.report_metadata.end_date).toBe(formatLocal(1700086399));
    expect(report.report_metadata.original_timespan_seconds).toBe(86399);
    expect(firstRecord(report)).toMatchObject({
      interval_begin: '2023-11-14 22:13:20',
      interval_end: '2023-11-15 22:13:19',
    });
  });

  it('count is an integer', () => {
    const record = firstRecord(parse(xml({ records: [defaultRecord.replace('<count>3', '<count> 0042 ')] })));
    expect(record.count).toBe(42);
  });

  it('defaults: DKIM selector "none", SPF scope "mfrom", result "none", human_result null', () => {
    const record = firstRecord(
      parse(
        xml({
          records: [
            defaultRecord.replace(
              /<auth_results>[\s\S]*<\/auth_results>/,
              '<auth_results><dkim><domain>example.com</domain><human_result> </human_result></dkim><spf><domain>example.com</domain></spf></auth_results>',
            ),
          ],
        }),
      ),
    );
    expect(record.auth_results).toEqual({
      dkim: [{ domain: 'example.com', selector: 'none', result: 'none', human_result: null }],
      spf: [{ domain: 'example.com', scope: 'mfrom', result: 'none', human_result: null }],
    });
  });

  it('auth results without a domain are dropped; several of a kind are kept in order', () => {
    const record = firstRecord(
      parse(
        xml({
          records: [
            defaultRecord.replace(
              /<auth_results>[\s\S]*<\/auth_results>/,
              `<auth_results><spf><domain></domain><result>none</result></spf>
               <dkim><domain>a.example</domain><selector>one</selector><result>pass</result></dkim>
               <spf><domain>b.example</domain><scope>helo</scope><result>pass</result></spf>
               <dkim><domain>c.example</domain><selector>two</selector><result>fail</result></dkim></auth_results>`,
            ),
          ],
        }),
      ),
    );
    expect(record.auth_results.dkim.map((r) => r.domain)).toEqual(['a.example', 'c.example']);
    expect(record.auth_results.spf).toEqual([
      { domain: 'b.example', scope: 'helo', result: 'pass', human_result: null },
    ]);
  });

  it('envelope_from: as sent when present, else the last SPF domain lower-cased, else null', () => {
    const withSpf = (identifiers: string, auth: string): AggregateRecord['identifiers'] =>
      firstRecord(
        parse(
          xml({
            records: [
              defaultRecord
                .replace(/<identifiers>[\s\S]*<\/identifiers>/, `<identifiers>${identifiers}</identifiers>`)
                .replace(/<auth_results>[\s\S]*<\/auth_results>/, `<auth_results>${auth}</auth_results>`),
            ],
          }),
        ),
      ).identifiers;
    const twoSpf =
      '<spf><domain>first.example</domain><result>pass</result></spf><spf><domain>Last.Example</domain><result>pass</result></spf>';
    expect(withSpf('<header_from>Example.com</header_from>', twoSpf)).toEqual({
      header_from: 'example.com',
      envelope_from: 'last.example',
      envelope_to: null,
    });
    expect(
      withSpf('<header_from>example.com</header_from><envelope_from></envelope_from>', twoSpf).envelope_from,
    ).toBe('last.example');
    expect(
      withSpf(
        '<envelope_to>To.example</envelope_to><envelope_from>Bounce.Example</envelope_from><header_from>example.com</header_from>',
        twoSpf,
      ),
    ).toEqual({ header_from: 'example.com', envelope_from: 'Bounce.Example', envelope_to: 'To.example' });
    expect(withSpf('<header_from>example.com</header_from>', '').envelope_from).toBeNull();
    expect(
      withSpf('<header_from>example.com</header_from>', '<spf><domain></domain><result>none</result></spf>')
        .envelope_from,
    ).toBeNull();
  });

  it('the draft schema <identities> is read as <identifiers>', () => {
    const record = firstRecord(
      parse(xml({ records: [defaultRecord.replace(/identifiers>/g, 'identities>')] })),
    );
    expect(record.identifiers.header_from).toBe('example.com');
  });

  it('policy override reasons: type and comment, null when absent or empty', () => {
    const record = firstRecord(
      parse(
        xml({
          records: [
            defaultRecord.replace(
              '</policy_evaluated>',
              '<reason><type>forwarded</type><comment>list</comment></reason><reason><type>local_policy</type></reason><reason><type></type><comment/></reason></policy_evaluated>',
            ),
          ],
        }),
      ),
    );
    expect(record.policy_evaluated.policy_override_reasons).toEqual([
      { type: 'forwarded', comment: 'list' },
      { type: 'local_policy', comment: null },
      { type: null, comment: null },
    ]);
  });

  it('org_name: from the email domain when empty, reduced to the registrable domain when a host name', () => {
    const orgName = (metadata: string): string | null => parse(xml({ metadata })).report_metadata.org_name;
    expect(
      orgName(
        defaultMetadata
          .replace('example.net</org_name>', '</org_name>')
          .replace('dmarc@example.net', 'dmarc@Mail.Example.ORG'),
      ),
    ).toBe('example.org');
    expect(orgName(defaultMetadata.replace('example.net</org_name>', 'Outlook.com</org_name>'))).toBe(
      'outlook.com',
    );
    expect(orgName(defaultMetadata.replace('example.net</org_name>', 'dmarc.yahoo.com</org_name>'))).toBe(
      'yahoo.com',
    );
    expect(orgName(defaultMetadata.replace('example.net</org_name>', 'Enterprise Outlook</org_name>'))).toBe(
      'Enterprise Outlook',
    );
    expect(orgName(defaultMetadata.replace('example.net</org_name>', 'AMAZON-SES</org_name>'))).toBe(
      'AMAZON-SES',
    );
  });

  it('report_id written like a Message-ID is reduced to its local part', () => {
    const metadata = defaultMetadata.replace(
      '<report_id>r1</report_id>',
      '<report_id>&lt;abc.123@mx.example&gt;</report_id>',
    );
    expect(parse(xml({ metadata })).report_metadata.report_id).toBe('abc.123');
  });

  it("the report's own <error> elements come first in errors", () => {
    const metadata = `${defaultMetadata}<error>first</error><error> </error><error>second</error>`;
    expect(parse(xml({ metadata })).report_metadata.errors).toEqual(['first', 'second']);
  });

  it('a repeated <policy_published> counts once, the first', () => {
    const report = parse(
      xml({
        policy: `${defaultPolicy}</policy_published><policy_published><domain>other.example</domain><p>reject</p>`,
      }),
    );
    expect(report.policy_published.domain).toBe('example.com');
    expect(report.policy_published.p).toBe('none');
  });
});

describe('reports spanning more than 24 hours', () => {
  // 2019-11-28 15:35:00 → 2019-12-02 16:38:03 UTC (aggregate_invalid/report_with_upper_cased_pass.xml)
  const begin = 1574955300;
  const end = 1575304683;

  it('are split into UTC days with counts by largest remainder, ties to the earlier day', () => {
    // A count of 1 goes to the first of the three whole days (equal shares: the earlier wins), as in the
    // 10.4.3 reference for that sample.
    expect([...splitIntoUtcDays(begin, end, 1)]).toEqual([{ begin: 1574985600, end: 1575072000, count: 1 }]);
    // 7 × 30300/349383 = 0.61 for the first partial day: below every whole day's remainder, so no slice.
    expect([...splitIntoUtcDays(begin, end, 7)].map((s) => s.count)).toEqual([2, 2, 2, 1]);
  });

  it('give the same slices as parsedmarc 10.4.3 on 400 random spans and counts', () => {
    const cases = JSON.parse(readFileSync(splitCasesPath, 'utf8')) as {
      begin: number;
      end: number;
      count: number;
      slices: [number, number, number][];
    }[];
    expect(cases).toHaveLength(400);
    for (const c of cases) {
      const slices = [...splitIntoUtcDays(c.begin, c.end, c.count)].map((s) => [s.begin, s.end, s.count]);
      expect(slices, JSON.stringify([c.begin, c.end, c.count])).toEqual(c.slices);
    }
  });

  it('keep the sum of counts exact whatever the span and count', () => {
    for (const [b, e, total] of [
      [begin, end, 1000003],
      [0, 86400 * 3, 10],
      [86400 * 10 + 1, 86400 * 400 - 1, 12345],
      [5, 86400 * 2 + 5, 3],
    ] as const) {
      const slices = [...splitIntoUtcDays(b, e, total)];
      expect(slices.reduce((sum, s) => sum + s.count, 0)).toBe(total);
      expect(slices.every((s) => s.count > 0 && s.begin < s.end && s.begin >= b && s.end <= e)).toBe(true);
    }
  });

  it('mark the report and each slice, whose interval is its UTC day', () => {
    const report = parse(
      xml({
        metadata: defaultMetadata.replace(
          '<begin>1700000000</begin><end>1700086399</end>',
          `<begin>${begin}</begin><end>${end}</end>`,
        ),
        records: [defaultRecord.replace('<count>3', '<count>7')],
      }),
    );
    expect(report.report_metadata.timespan_requires_normalization).toBe(true);
    expect(report.report_metadata.original_timespan_seconds).toBe(end - begin);
    expect(
      report.records.map((r) => [r.interval_begin, r.interval_end, r.count, r.normalized_timespan]),
    ).toEqual([
      ['2019-11-29 00:00:00', '2019-11-30 00:00:00', 2, true],
      ['2019-11-30 00:00:00', '2019-12-01 00:00:00', 2, true],
      ['2019-12-01 00:00:00', '2019-12-02 00:00:00', 2, true],
      ['2019-12-02 00:00:00', '2019-12-02 16:38:03', 1, true],
    ]);
    const partialDay = parse(
      xml({
        metadata: defaultMetadata.replace(
          '<begin>1700000000</begin><end>1700086399</end>',
          `<begin>${begin}</begin><end>${end}</end>`,
        ),
        records: [defaultRecord.replace('<count>3', '<count>20')],
      }),
    ).records[0];
    expect([partialDay?.interval_begin, partialDay?.interval_end, partialDay?.count]).toEqual([
      '2019-11-28 15:35:00',
      '2019-11-29 00:00:00',
      2,
    ]);
    // Each slice has its own source object, for enrichment to fill in.
    expect(report.records[0]?.source).not.toBe(report.records[1]?.source);
  });

  it('exactly 24 hours is not split', () => {
    const report = parse(
      xml({ metadata: defaultMetadata.replace('<end>1700086399</end>', '<end>1700086400</end>') }),
    );
    expect(report.report_metadata.timespan_requires_normalization).toBe(false);
    expect(report.records.map((r) => r.normalized_timespan)).toEqual([false]);
  });
});

describe('streaming', () => {
  const many = xml({
    records: Array.from({ length: 50 }, (_, i) => defaultRecord.replace('192.0.2.1', `192.0.2.${i}`)),
  });

  it('delivers the header before the first record and each record as soon as it is closed', () => {
    const events: string[] = [];
    const parser = new AggregateReportStreamParser({
      onHeader: () => events.push('header'),
      onRecord: (r) => events.push(r.source.ip_address),
    });
    const cut = many.indexOf('</record>', many.indexOf('192.0.2.2<')) + '</record>'.length;
    parser.write(many.slice(0, cut));
    expect(events).toEqual(['header', '192.0.2.0', '192.0.2.1', '192.0.2.2']);
    parser.write(many.slice(cut));
    parser.end();
    expect(events).toHaveLength(51);
  });

  it('gives the same records whatever the chunk size', () => {
    const whole = parse(many).records;
    for (const size of [1, 7, 100, 4096]) {
      const records: AggregateRecord[] = [];
      const parser = new AggregateReportStreamParser({ onHeader() {}, onRecord: (r) => records.push(r) });
      for (let i = 0; i < many.length; i += size) parser.write(many.slice(i, i + size));
      parser.end();
      expect(records).toEqual(whole);
    }
  });

  it('reports problems found after the header through onProblem', () => {
    const problems: string[] = [];
    const parser = new AggregateReportStreamParser({
      onHeader() {},
      onRecord() {},
      onProblem: (p) => problems.push(p),
    });
    parser.write(xml().replace('</feedback>', ''));
    parser.end();
    expect(problems).toEqual(['Invalid XML: 13:0: unclosed tag: feedback']);
  });
});

describe('looksLikeAggregateXml', () => {
  it.each([
    ['plain', xml()],
    ['BOM, blank lines, comment', `\uFEFF\n  <?xml version="1.0"?>\n<!-- generated -->\n<feedback>`],
    ['prefixed', '<?xml version="1.0"?><dmarc:feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">'],
    [
      'wrapped in xs:schema',
      '<?xml version="1.0"?> <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<feedback>',
    ],
    ['attributes', '<feedback xmlns:xsd="http://www.w3.org/2001/XMLSchema">'],
  ])('yes: %s', (_, head) => {
    expect(looksLikeAggregateXml(head)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['JSON (SMTP TLS report)', '{"organization-name":"Google Inc.","policies":[]}'],
    ['an email mentioning <feedback>', 'From: a@example.com\nSubject: Report\n\n<feedback>'],
    ['another XML document', '<?xml version="1.0"?><html><body>feedback</body></html>'],
    ['a longer element name', '<?xml version="1.0"?><feedbacks>'],
  ])('no: %s', (_, head) => {
    expect(looksLikeAggregateXml(head)).toBe(false);
  });
});
