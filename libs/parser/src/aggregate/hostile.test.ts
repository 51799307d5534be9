/**
 * Hostile and broken input: every refusal is a ParseError with a stable code naming the source, never a
 * crash, an expansion or unbounded memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ParseError, type ParseErrorCode } from '../errors.js';
import type { AggregateRecord } from '../types.js';
import { AggregateReportStreamParser, type AggregateParseOptions } from './stream.js';
import { parseAggregateReportXml } from './index.js';

const head = `<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>example.net</org_name>
    <email>dmarc@example.net</email>
    <report_id>r1</report_id>
    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>none</p></policy_published>
`;
const record = (ip = '192.0.2.1', count = 1): string => `  <record>
    <row><source_ip>${ip}</source_ip><count>${count}</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results>
  </record>
`;
const report = (...records: string[]): string => `${head}${records.join('')}</feedback>\n`;

/** The ParseError thrown by `fn` (the test fails if none is thrown). */
function parseErrorOf(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (error) {
    if (ParseError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ParseError, nothing was thrown');
}

function expectCode(
  xml: string | Uint8Array,
  code: ParseErrorCode,
  options: AggregateParseOptions = {},
): ParseError {
  const error = parseErrorOf(() => parseAggregateReportXml(xml, { source: 'hostile.xml', ...options }));
  expect(error.code).toBe(code);
  expect(error.context.source).toBe('hostile.xml');
  return error;
}

/** Feeds `xml` in chunks of `size` characters to a stream parser; returns the records it emitted. */
function streamInChunks(xml: string, size: number, options: AggregateParseOptions = {}): AggregateRecord[] {
  const records: AggregateRecord[] = [];
  const parser = new AggregateReportStreamParser(
    { onHeader() {}, onRecord: (r) => records.push(r) },
    options,
  );
  for (let i = 0; i < xml.length; i += size) parser.write(xml.slice(i, i + size));
  parser.end();
  return records;
}

describe('DTDs and entities are refused, never expanded', () => {
  const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
${report(record()).replace('<?xml version="1.0" encoding="UTF-8"?>\n', '').replace('example.net</org_name>', '&lol9;</org_name>')}`;

  it('billion laughs → FORBIDDEN_XML_CONSTRUCT', () => {
    expectCode(billionLaughs, 'FORBIDDEN_XML_CONSTRUCT');
  });

  it('external entity (XXE) → FORBIDDEN_XML_CONSTRUCT', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${report(
      record(),
    )
      .replace(/^<\?xml[^>]*>/, '')
      .replace('r1</report_id>', '&xxe;</report_id>')}`;
    expectCode(xxe, 'FORBIDDEN_XML_CONSTRUCT');
  });

  it('a bare DOCTYPE without internal subset → FORBIDDEN_XML_CONSTRUCT', () => {
    expectCode(
      `<!DOCTYPE feedback SYSTEM "http://example.com/x.dtd">${report(record())}`,
      'FORBIDDEN_XML_CONSTRUCT',
    );
  });

  it('an <!ENTITY> outside any DOCTYPE → FORBIDDEN_XML_CONSTRUCT', () => {
    expectCode(
      report(record()).replace('<feedback>', '<feedback><!ENTITY x "y">'),
      'FORBIDDEN_XML_CONSTRUCT',
    );
  });

  it('a DOCTYPE split across stream chunks is still caught', () => {
    const error = parseErrorOf(() => streamInChunks(billionLaughs, 3, { source: 'chunks' }));
    expect(error.code).toBe('FORBIDDEN_XML_CONSTRUCT');
    expect(error.context.source).toBe('chunks');
  });

  it('a DOCTYPE or ENTITY between records, after a comment, in chunks of every size → FORBIDDEN_XML_CONSTRUCT', () => {
    // The fast scanner reads the first records itself, the comment hands the rest to saxes: the declaration
    // is refused before saxes reads it, wherever the chunks split it.
    for (const declaration of ['<!DOCTYPE x [<!ENTITY y "z">]>', '<!ENTITY y "z">']) {
      const xml = report(record(), record('192.0.2.2'), `<!-- c -->${declaration}`, record('192.0.2.3'));
      for (const size of [1, 2, 7, 64, 4096]) {
        expect(parseErrorOf(() => streamInChunks(xml, size)).code).toBe('FORBIDDEN_XML_CONSTRUCT');
      }
    }
  });

  it('an undefined entity reference is kept as text and reported, not resolved', () => {
    const parsed = parseAggregateReportXml(report(record()).replace('r1</report_id>', 'r1&xxe;</report_id>'));
    expect(parsed.report_metadata.report_id).toBe('r1&xxe;');
    expect(parsed.report_metadata.errors.join('\n')).toMatch(/undefined entity/);
  });

  it('predefined entities and character references are decoded', () => {
    const parsed = parseAggregateReportXml(
      report(record()).replace('example.net</org_name>', 'AT&amp;T &#x41;&#66; &lt;x&gt;</org_name>'),
    );
    expect(parsed.report_metadata.org_name).toBe('AT&T AB <x>');
    expect(parsed.report_metadata.errors).toEqual([]);
  });
});

describe('limits', () => {
  it('too deep → LIMIT_EXCEEDED maxXmlDepth', () => {
    const deep = `${'<x>'.repeat(40)}${'</x>'.repeat(40)}`;
    const error = expectCode(report(record().replace('<row>', `<row>${deep}`)), 'LIMIT_EXCEEDED');
    expect(error.context.limit).toBe('maxXmlDepth');
    expect(error.context.limitValue).toBe(32);
  });

  it('depth counts every element, known or not', () => {
    const error = expectCode(`${'<a>'.repeat(5)}${report(record())}${'</a>'.repeat(5)}`, 'LIMIT_EXCEEDED', {
      limits: { maxXmlDepth: 8 },
    });
    expect(error.context.limit).toBe('maxXmlDepth');
  });

  it('a huge text node → LIMIT_EXCEEDED maxXmlTextBytes', () => {
    const huge = report(record()).replace(
      'example.net</org_name>',
      `${'a'.repeat(2 * 1024 * 1024)}</org_name>`,
    );
    expect(expectCode(huge, 'LIMIT_EXCEEDED').context.limit).toBe('maxXmlTextBytes');
  });

  it('a huge text node is refused in the stream before it is buffered whole', () => {
    const parser = new AggregateReportStreamParser(
      { onHeader() {}, onRecord() {} },
      { limits: { maxXmlTextBytes: 1000 } },
    );
    parser.write(head.replace('example.net</org_name>', ''));
    const error = parseErrorOf(() => {
      for (let i = 0; i < 100; i++) parser.write('a'.repeat(100));
    });
    expect(error.context.limit).toBe('maxXmlTextBytes');
    // The parser stays failed.
    expect(parseErrorOf(() => parser.end()).code).toBe('LIMIT_EXCEEDED');
  });

  it('a huge text in an element we do not read is refused too', () => {
    const huge = report(record()).replace(
      '<feedback>',
      `<feedback><extension>${'b'.repeat(5000)}</extension>`,
    );
    const error = expectCode(huge, 'LIMIT_EXCEEDED', { limits: { maxXmlTextBytes: 4096 } });
    expect(error.context.limit).toBe('maxXmlTextBytes');
  });

  it('a huge attribute is refused naming a tag, not a text node', () => {
    const parser = new AggregateReportStreamParser(
      { onHeader() {}, onRecord() {} },
      { limits: { maxXmlTextBytes: 1000 } },
    );
    parser.write(`${head.slice(0, head.indexOf('<org_name>'))}<org_name a="`);
    const error = parseErrorOf(() => {
      for (let i = 0; i < 100; i++) parser.write('a'.repeat(100));
    });
    expect(error.context.limit).toBe('maxXmlTextBytes');
    expect(error.message).toMatch(/^A tag \(its attributes\) exceeds/);
  });

  it('too many records → LIMIT_EXCEEDED maxRecords', () => {
    const many = report(...Array.from({ length: 11 }, (_, i) => record(`192.0.2.${i}`)));
    const error = expectCode(many, 'LIMIT_EXCEEDED', { limits: { maxRecords: 10 } });
    expect(error.context.limit).toBe('maxRecords');
    expect(parseAggregateReportXml(many, { limits: { maxRecords: 11 } }).records).toHaveLength(11);
  });

  it('records multiplied by day splitting count against maxRecords too', () => {
    const longSpan = report(record('192.0.2.1', 1000)).replace(
      '<end>1700086399</end>',
      '<end>1701000000</end>',
    );
    const error = expectCode(longSpan, 'LIMIT_EXCEEDED', { limits: { maxRecords: 5 } });
    expect(error.context.limit).toBe('maxRecords');
  });

  it('input over maxInputBytes → LIMIT_EXCEEDED', () => {
    const error = expectCode(report(record()), 'LIMIT_EXCEEDED', { limits: { maxInputBytes: 100 } });
    expect(error.context.limit).toBe('maxInputBytes');
  });

  it('a report claiming a span of millennia is split without walking every day', () => {
    const xml = report(record('192.0.2.1', 3)).replace('<end>1700086399</end>', '<end>99999999999</end>');
    const parsed = parseAggregateReportXml(xml);
    expect(parsed.records.map((r) => r.count)).toEqual([1, 1, 1]);
  });

  it('a flood of XML errors is summarized, not stored one by one', () => {
    const junk = '<a>x&y;</a>'.repeat(5000);
    const parsed = parseAggregateReportXml(
      report(record()).replace('<feedback>', `<feedback><junk>${junk}</junk>`),
    );
    expect(parsed.records).toHaveLength(1);
    expect(parsed.report_metadata.errors.length).toBeLessThanOrEqual(2);
    expect(parsed.report_metadata.errors.at(-1)).toMatch(/more errors after the first/);
  });
});

describe('broken and foreign input', () => {
  it('a document truncated before the first record → INVALID_AGGREGATE_REPORT', () => {
    const full = report(record());
    expectCode(full.slice(0, full.indexOf('<policy_published>') + 30), 'INVALID_AGGREGATE_REPORT');
  });

  it('a document truncated after whole records keeps them and records the problem', () => {
    const full = report(record('192.0.2.1'), record('192.0.2.2'), record('192.0.2.3'));
    const cut = full.slice(0, full.lastIndexOf('<record>') + 40);
    const parsed = parseAggregateReportXml(cut);
    expect(parsed.records.map((r) => r.source.ip_address)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(parsed.report_metadata.errors.join('\n')).toMatch(/Invalid XML: .*unclosed tag/);
    expect(parsed.report_metadata.errors).toContain('Record 3 dropped: the document ends inside it');
  });

  it('a document truncated inside its only record → INVALID_AGGREGATE_REPORT', () => {
    const full = report(record());
    expectCode(full.slice(0, full.indexOf('</row>')), 'INVALID_AGGREGATE_REPORT');
  });

  it('garbage → INVALID_AGGREGATE_REPORT', () => {
    expectCode('this is not XML at all, just words', 'INVALID_AGGREGATE_REPORT');
    expectCode(
      new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
      'INVALID_AGGREGATE_REPORT',
    );
  });

  it('XML that is not an aggregate report → INVALID_AGGREGATE_REPORT', () => {
    expectCode('<?xml version="1.0"?><html><body>hi</body></html>', 'INVALID_AGGREGATE_REPORT');
  });

  it('a report without records → INVALID_AGGREGATE_REPORT', () => {
    expect(expectCode(report(), 'INVALID_AGGREGATE_REPORT').message).toMatch(/record/);
  });

  it('a report without required metadata → INVALID_AGGREGATE_REPORT naming the field', () => {
    expect(
      expectCode(report(record()).replace(/<date_range>.*<\/date_range>/, ''), 'INVALID_AGGREGATE_REPORT')
        .message,
    ).toMatch(/date_range begin/);
    const noOrg = report(record())
      .replace('example.net</org_name>', '</org_name>')
      .replace('dmarc@example.net', '');
    expect(expectCode(noOrg, 'INVALID_AGGREGATE_REPORT').message).toMatch(/org_name/);
    expect(
      expectCode(report(record()).replace('<p>none</p>', ''), 'INVALID_AGGREGATE_REPORT').message,
    ).toMatch(/ p$/);
  });

  it('empty input → EMPTY_INPUT', () => {
    expectCode('', 'EMPTY_INPUT');
  });

  it('a bad record among good ones is skipped with the problem recorded', () => {
    const parsed = parseAggregateReportXml(
      report(record('192.0.2.1'), record('').replace('<count>1', '<count>x'), record('192.0.2.3')),
    );
    expect(parsed.records.map((r) => r.source.ip_address)).toEqual(['192.0.2.1', '192.0.2.3']);
    expect(parsed.report_metadata.errors).toEqual(['Record 2 skipped: Missing field: source_ip']);
  });

  it('a report whose only record is unusable → INVALID_AGGREGATE_REPORT', () => {
    expect(
      expectCode(report(record('192.0.2.1', 1).replace('<count>1', '<count>1.5')), 'INVALID_AGGREGATE_REPORT')
        .message,
    ).toMatch(/Invalid count/);
  });

  it('the stream parser refuses use after end()', () => {
    const parser = new AggregateReportStreamParser({ onHeader() {}, onRecord() {} });
    parser.write(report(record()));
    parser.end();
    expect(() => parser.write('<x/>')).toThrow(/already ended/);
  });
});

describe('mutated samples', () => {
  const samplesDir = fileURLToPath(new URL('../../../../test/fixtures/samples/', import.meta.url));
  const originals = [
    'aggregate/old_draft_from_wiki.xml',
    'aggregate/empty_reason.xml',
    'aggregate/rfc9990-sample.xml',
    'aggregate/ikea.com!example.de!1538690400!1538776800.xml',
    'extract_report/nice-input.xml',
  ].map((name) => readFileSync(join(samplesDir, name), 'utf8'));
  const fragments = [
    '<',
    '>',
    '/',
    '&',
    ';',
    '"',
    '=',
    ':',
    '!',
    '?',
    ' ',
    '\n',
    '</record>',
    '<record>',
    '&#0;',
    '\u0000',
    ']]>',
    '<![CDATA[',
    '<!--',
    '<?pi ',
  ];

  it('give a report with records or a ParseError naming the source, nothing else', () => {
    // A fixed linear congruential sequence: the same mutations on every run.
    let state = 20240401;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const outcomes = { report: 0, parseError: 0 };
    for (let i = 0; i < 600; i++) {
      let text = originals[next(originals.length)] ?? '';
      for (let edits = 1 + next(5); edits > 0; edits--) {
        const at = next(text.length + 1);
        const op = next(3);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + next(20));
        else if (op === 1)
          text = text.slice(0, at) + (fragments[next(fragments.length)] ?? '') + text.slice(at);
        else text = text.slice(0, at);
      }
      try {
        const parsed = parseAggregateReportXml(text, { source: 'mutant' });
        expect(parsed.records.length).toBeGreaterThan(0);
        outcomes.report++;
      } catch (error) {
        if (!ParseError.is(error)) throw error;
        expect(error.context.source).toBe('mutant');
        outcomes.parseError++;
      }
    }
    // Both outcomes occur: the mutations neither all break nor all spare the reports.
    expect(outcomes.report).toBeGreaterThan(50);
    expect(outcomes.parseError).toBeGreaterThan(50);
  });
});
