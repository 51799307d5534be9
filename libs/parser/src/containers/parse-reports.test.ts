// parseReports through the real report parsers: dispatch, sources, parts, streams, the Outlook converter.
import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ParseError } from '../errors.js';
import { parseAggregateReportXml } from '../aggregate/index.js';
import {
  aggregateXml,
  chunked,
  fakeOutlookMsg,
  makeMbox,
  makeZip,
  mimeEmail,
  sample,
} from '../../../../test/hostile/generators.js';
import { extractXml, parseReports, type ParseOutcome, type ParseReportsOptions } from './index.js';

const niceXml = sample('extract_report/nice-input.xml');
const niceGz = sample('extract_report/nice-input.xml.gz');
const tlsJson = sample('smtp_tls/rfc8460.json');
const forensicEml = sample(
  'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
);

async function run(
  input: Uint8Array | AsyncIterable<Uint8Array>,
  options: ParseReportsOptions = {},
): Promise<ParseOutcome[]> {
  const outcomes: ParseOutcome[] = [];
  for await (const outcome of parseReports(input, options)) outcomes.push(outcome);
  return outcomes;
}

/** One line per outcome: source, then the report type and record count, or the error code. */
function summary(outcomes: ParseOutcome[]): string[] {
  return outcomes.map((o) => {
    if (!o.ok) return `${o.source} ${o.error.code}`;
    const records = o.parsed.report_type === 'aggregate' ? ` ${o.parsed.report.records.length}` : '';
    const part = o.part === undefined ? '' : ` part ${o.part.index}${o.part.isLast ? ' last' : ''}`;
    return `${o.source} ${o.parsed.report_type}${records}${part}`;
  });
}

describe('zip archives', () => {
  test('every member that is a report, in order; other members skipped silently', async () => {
    const zip = makeZip([
      { name: 'reports/', content: '' },
      { name: 'reports/a.xml', content: niceXml },
      { name: 'reports/README.txt', content: 'These are DMARC reports.' },
      { name: '__MACOSX/reports/._a.xml', content: 'junk' },
      { name: 'reports/b.xml.gz', content: niceGz, method: 0 },
      { name: 'tls.json', content: tlsJson },
      {
        name: 'schema.xml',
        content: '<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>',
      },
      { name: 'other.json', content: '{"not": "a report"}' },
    ]);
    expect(summary(await run(zip, { source: 'r.zip' }))).toEqual([
      'r.zip!reports/a.xml aggregate 20',
      'r.zip!reports/b.xml.gz aggregate 20',
      'r.zip!tls.json smtp_tls',
    ]);
  });

  test('a zip holding no report is one UNRECOGNIZED_FORMAT outcome', async () => {
    const outcomes = await run(makeZip([{ name: 'README.txt', content: 'nothing here' }]), {
      source: 'r.zip',
    });
    expect(summary(outcomes)).toEqual(['r.zip UNRECOGNIZED_FORMAT']);
    expect(!outcomes[0]!.ok && outcomes[0]!.error.describe()).toMatch(
      /^r\.zip: UNRECOGNIZED_FORMAT: Not a recognized report format .*holds no report/,
    );
  });

  test('a zip inside a zip', async () => {
    const inner = makeZip([{ name: 'a.xml', content: niceXml }]);
    const outer = makeZip([{ name: 'inner.zip', content: inner, method: 0 }]);
    expect(summary(await run(outer, { source: 'o.zip' }))).toEqual(['o.zip!inner.zip!a.xml aggregate 20']);
  });
});

describe('emails', () => {
  test('every report attachment, not only the first; the text body and a logo are no reports', async () => {
    const email = mimeEmail('Reports', [
      { filename: 'logo.png', contentType: 'image/png', content: Buffer.from('\x89PNG\r\n\x1a\nnot really') },
      { filename: 'a.xml.gz', contentType: 'application/gzip', content: niceGz },
      {
        filename: 'two.zip',
        contentType: 'application/zip',
        content: makeZip([
          { name: 'x.xml', content: niceXml },
          { name: 'y.xml', content: niceXml },
        ]),
      },
      { filename: 'tls.json', contentType: 'application/tlsrpt+json', content: tlsJson },
      { contentType: 'text/xml', content: niceXml },
    ]);
    expect(summary(await run(email, { source: 'mail.eml' }))).toEqual([
      'mail.eml!attachment[1]:a.xml.gz aggregate 20',
      'mail.eml!attachment[2]:two.zip!x.xml aggregate 20',
      'mail.eml!attachment[2]:two.zip!y.xml aggregate 20',
      'mail.eml!attachment[3]:tls.json smtp_tls',
      'mail.eml!attachment[4] aggregate 20',
    ]);
  });

  test('an email without a report: UNRECOGNIZED_FORMAT naming its subject', async () => {
    const outcomes = await run(
      mimeEmail('Lunch on Friday?', [{ filename: 'menu.txt', contentType: 'text/plain', content: 'Pizza' }]),
      {
        source: 'lunch.eml',
      },
    );
    expect(summary(outcomes)).toEqual(['lunch.eml UNRECOGNIZED_FORMAT']);
    expect(!outcomes[0]!.ok && outcomes[0]!.error.message).toMatch(/Lunch on Friday\?/);
  });

  test('a forensic report email yields its forensic report, with the email for .eml output', async () => {
    const outcomes = await run(forensicEml, { source: 'ruf.eml' });
    expect(summary(outcomes)).toEqual(['ruf.eml forensic']);
    const [outcome] = outcomes;
    expect(
      outcome?.ok &&
        outcome.parsed.report_type === 'forensic' &&
        Buffer.from(outcome.parsed.email!).equals(forensicEml),
    ).toBe(true);
  });

  test('a report email forwarded as an attachment (message/rfc822) is opened too', async () => {
    const inner = mimeEmail('Report domain: example.com', [
      { filename: 'a.xml.gz', contentType: 'application/gzip', content: niceGz },
    ]);
    const outer = mimeEmail('Fwd: report', [{ contentType: 'message/rfc822', content: inner }]);
    expect(summary(await run(outer, { source: 'fwd.eml' }))).toEqual([
      'fwd.eml!attachment[0]!attachment[0]:a.xml.gz aggregate 20',
    ]);
  });
});

describe('mbox', () => {
  test('every message, numbered from 1; a message without a report is skipped, as in the original', async () => {
    const mbox = makeMbox([
      mimeEmail('one', [{ filename: 'a.xml.gz', contentType: 'application/gzip', content: niceGz }]),
      mimeEmail('two: no report', []),
      mimeEmail('three', [
        { filename: 'tls.json', contentType: 'application/tlsrpt+json', content: tlsJson },
      ]),
      forensicEml,
    ]);
    const expected = [
      'box.mbox#1!attachment[0]:a.xml.gz aggregate 20',
      'box.mbox#3!attachment[0]:tls.json smtp_tls',
      'box.mbox#4 forensic',
    ];
    expect(summary(await run(mbox, { source: 'box.mbox' }))).toEqual(expected);
    expect(summary(await run(chunked(mbox, 333), { source: 'box.mbox' }))).toEqual(expected);
  });

  test('an mbox of ordinary mail is one UNRECOGNIZED_FORMAT outcome, not one per message', async () => {
    const mbox = makeMbox([mimeEmail('hello', []), mimeEmail('lunch?', []), mimeEmail('minutes', [])]);
    const outcomes = await run(mbox, { source: 'box.mbox' });
    expect(summary(outcomes)).toEqual(['box.mbox UNRECOGNIZED_FORMAT']);
    expect(outcomes[0]!.ok ? '' : outcomes[0]!.error.message).toMatch(/no report in its 3 messages/);
  });
});

describe('Outlook .msg', () => {
  const email = mimeEmail('Report', [
    { filename: 'a.xml.gz', contentType: 'application/gzip', content: niceGz },
  ]);

  test('converted by options.convertOutlookMsg, then read as an email', async () => {
    const seen: Uint8Array[] = [];
    const convertOutlookMsg = async (msg: Uint8Array): Promise<Uint8Array> => {
      seen.push(msg);
      return email;
    };
    expect(summary(await run(fakeOutlookMsg(), { source: 'r.msg', convertOutlookMsg }))).toEqual([
      'r.msg!attachment[0]:a.xml.gz aggregate 20',
    ]);
    expect(seen.map((msg) => Buffer.from(msg).equals(fakeOutlookMsg()))).toEqual([true]);
  });

  test('without a converter: MISSING_TOOL naming msgconvert', async () => {
    const [outcome, ...rest] = await run(fakeOutlookMsg(), { source: 'r.msg' });
    expect(rest).toEqual([]);
    expect(outcome).toMatchObject({
      ok: false,
      source: 'r.msg',
      error: { code: 'MISSING_TOOL', context: { tool: 'msgconvert', source: 'r.msg' } },
    });
    expect(!outcome!.ok && outcome!.error.message).toMatch(/msgconvert/);
  });

  test("the converter's own ParseError (e.g. the tool is not installed) is the outcome", async () => {
    const convertOutlookMsg = async (): Promise<Uint8Array> => {
      throw new ParseError('MISSING_TOOL', 'msgconvert: not found', { tool: 'msgconvert' });
    };
    expect(summary(await run(fakeOutlookMsg(), { source: 'r.msg', convertOutlookMsg }))).toEqual([
      'r.msg MISSING_TOOL',
    ]);
  });
});

describe('aggregate reports in parts', () => {
  const wholeRecords = (xml: string) => parseAggregateReportXml(xml).records;

  test('25 records by 10: parts 0, 1, 2 of 10, 10, 5 records, sharing the header, records in order', async () => {
    const xml = aggregateXml(25);
    for (const input of [Buffer.from(xml), chunked(Buffer.from(xml), 100), zlib.gzipSync(xml)]) {
      const outcomes = await run(input, { source: 'big.xml', aggregatePartRecords: 10 });
      expect(summary(outcomes)).toEqual([
        'big.xml aggregate 10 part 0',
        'big.xml aggregate 10 part 1',
        'big.xml aggregate 5 part 2 last',
      ]);
      const reports = outcomes.map((o) =>
        o.ok && o.parsed.report_type === 'aggregate' ? o.parsed.report : null,
      );
      expect(reports.flatMap((r) => r!.records)).toEqual(wholeRecords(xml));
      const { records: _records, ...header } = parseAggregateReportXml(xml);
      for (const report of reports)
        expect({ ...report, records: undefined }).toEqual({ ...header, records: undefined });
    }
  });

  test('exactly a multiple of the part size: no empty last part', async () => {
    expect(
      summary(await run(Buffer.from(aggregateXml(20)), { source: 'r.xml', aggregatePartRecords: 10 })),
    ).toEqual(['r.xml aggregate 10 part 0', 'r.xml aggregate 10 part 1 last']);
  });

  test('a report that fits in one part has no `part`', async () => {
    expect(
      summary(await run(Buffer.from(aggregateXml(10)), { source: 'r.xml', aggregatePartRecords: 10 })),
    ).toEqual(['r.xml aggregate 10']);
  });

  test('the default part size is 10,000 records', async () => {
    expect(summary(await run(Buffer.from(aggregateXml(10_001)), { source: 'r.xml' }))).toEqual([
      'r.xml aggregate 10000 part 0',
      'r.xml aggregate 1 part 1 last',
    ]);
  });

  test('records with large fields fill a part by size first: no part holds much more than 16 Mi characters', async () => {
    // 40 records of ~900 KB each (a long header_from, under the 1 MiB text limit): 36 MB of XML in one
    // part by count, but parts of at most ~16 Mi characters by size.
    const big = `${'a'.repeat(900_000)}.example`;
    const xml = aggregateXml(40).replace(
      /<header_from>example\.com<\/header_from>/g,
      `<header_from>${big}</header_from>`,
    );
    const outcomes = await run(chunked(Buffer.from(xml), 1 << 20), { source: 'fat.xml' });
    const reports = outcomes.map((o) =>
      o.ok && o.parsed.report_type === 'aggregate' ? o.parsed.report : null,
    );
    expect(reports.every((r) => r !== null)).toBe(true);
    expect(reports.length).toBeGreaterThanOrEqual(3);
    for (const report of reports) {
      const chars = report!.records.reduce((n, r) => n + r.identifiers.header_from.length, 0);
      expect(chars).toBeLessThanOrEqual(16 * 1024 * 1024 + big.length);
    }
    expect(reports.flatMap((r) => r!.records)).toHaveLength(40);
  });

  test('a failure after some parts: the parts, then an error outcome with the same source', async () => {
    const gz = zlib.gzipSync(aggregateXml(25));
    const truncated = gz.subarray(0, gz.length - 30);
    expect(summary(await run(truncated, { source: 'r.xml.gz', aggregatePartRecords: 10 }))).toEqual([
      'r.xml.gz aggregate 10 part 0',
      'r.xml.gz aggregate 10 part 1',
      'r.xml.gz INVALID_ARCHIVE',
    ]);
  });
});

describe('input streams', () => {
  test('an I/O failure of the input stream is thrown as is, not an outcome', async () => {
    const failure = new Error('EIO: i/o error, read');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield zlib.gzipSync(aggregateXml(30)).subarray(0, 200);
      throw failure;
    }
    await expect(run(failing(), { source: 'r.xml.gz' })).rejects.toBe(failure);
  });

  test('a consumer that stops early releases the input stream', async () => {
    let released = false;
    const bytes = Buffer.from(aggregateXml(30));
    const stream: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        const inner = chunked(bytes, 500);
        return {
          next: () => inner.next(),
          return: async () => {
            released = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    for await (const outcome of parseReports(stream, { aggregatePartRecords: 10 })) {
      expect(outcome.ok).toBe(true);
      break;
    }
    expect(released).toBe(true);
  });

  test('maxInputBytes bounds a stream and a byte array alike', async () => {
    const bytes = Buffer.from(aggregateXml(30));
    for (const input of [bytes, chunked(bytes, 1000)]) {
      const outcomes = await run(input, { source: 'r.xml', limits: { maxInputBytes: 5000 } });
      expect(outcomes.at(-1)).toMatchObject({
        ok: false,
        source: 'r.xml',
        error: { code: 'LIMIT_EXCEEDED', context: { limit: 'maxInputBytes' } },
      });
    }
  });

  test('without options.source, outcomes name "<input>"', async () => {
    expect(summary(await run(niceGz))).toEqual(['<input> aggregate 20']);
  });
});

describe('UTF-16 with a byte order mark', () => {
  /** The text as UTF-16 with its mark, little or big endian. */
  const utf16 = (text: string, bigEndian: boolean): Buffer => {
    const le = Buffer.from(`\ufeff${text}`, 'utf16le');
    return bigEndian ? Buffer.from(le).swap16() : le;
  };

  test('is read as the same report as UTF-8, plain, gzipped or streamed in odd-sized chunks', async () => {
    const xml = Buffer.from(niceXml).toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const expected = await run(Buffer.from(niceXml));
    expect(expected[0]?.ok).toBe(true);
    for (const bigEndian of [false, true]) {
      const bytes = utf16(xml, bigEndian);
      for (const input of [bytes, zlib.gzipSync(bytes), chunked(bytes, 77)]) {
        const outcomes = await run(input);
        expect(outcomes.map((o) => (o.ok ? o.parsed : o.error.code))).toEqual(
          expected.map((o) => (o.ok ? o.parsed : o.error.code)),
        );
      }
    }
  });
});

describe('reports too big to render', () => {
  test('a forensic or SMTP TLS report whose JSON would pass maxReportJsonChars is refused by that name', async () => {
    const limits = { maxReportJsonChars: 20_000 };
    const controls = '\u0001'.repeat(3000); // 3,000 characters, 18,000 once escaped
    const eml = Buffer.from(forensicEml)
      .toString('latin1')
      .replace('Subject: Subject', `Subject: ${controls}`);
    const tls = JSON.parse(Buffer.from(tlsJson).toString('utf8')) as Record<string, unknown>;
    tls['organization-name'] = controls;
    for (const input of [Buffer.from(eml, 'latin1'), Buffer.from(JSON.stringify(tls))]) {
      expect((await run(input))[0]?.ok).toBe(true);
      const [outcome] = await run(input, { limits, source: 'big' });
      expect(outcome?.ok).toBe(false);
      if (outcome?.ok === false) {
        expect(outcome.error.code).toBe('LIMIT_EXCEEDED');
        expect(outcome.error.context.limit).toBe('maxReportJsonChars');
      }
    }
  });
});

describe('extractXml', () => {
  test('plain, gzip and zip give the same text; JSON passes too', () => {
    const text = niceXml.toString('utf8');
    expect(extractXml(niceXml)).toBe(text);
    expect(extractXml(niceGz)).toBe(text);
    expect(extractXml(sample('extract_report/nice-input.xml.zip'))).toBe(text);
    expect(
      extractXml(
        makeZip([
          { name: '__MACOSX/._x', content: 'junk' },
          { name: 'x.xml', content: niceXml },
        ]),
      ),
    ).toBe(text);
    expect(extractXml(tlsJson)).toBe(tlsJson.toString('utf8'));
  });

  test('typed errors', () => {
    expect(() => extractXml(Buffer.from('hello'))).toThrow(
      expect.objectContaining({
        code: 'UNRECOGNIZED_FORMAT',
        message: 'Not a valid zip, gzip, json, or xml file',
      }),
    );
    expect(() => extractXml(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => extractXml(niceGz.subarray(0, 100))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARCHIVE' }),
    );
  });
});
