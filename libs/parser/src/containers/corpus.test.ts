// End to end over the sample corpus: every file gives the report type and record count parsedmarc 10.4.3
// gives (test/fixtures/conformance/parsedmarc-10.4.3/_index.json), through the real report parsers.
import { describe, expect, test } from 'vitest';
import { chunked, conformanceIndex, sample } from '../../../../test/hostile/generators.js';
import { parseAggregateReportXml } from '../aggregate/index.js';
import { parseReports, type ParseOutcome } from './index.js';

const index = conformanceIndex();

async function outcomesOf(
  input: Uint8Array | AsyncIterable<Uint8Array>,
  source: string,
): Promise<ParseOutcome[]> {
  const outcomes: ParseOutcome[] = [];
  for await (const outcome of parseReports(input, { source })) outcomes.push(outcome);
  return outcomes;
}

/** The forensic email bytes as a plain Uint8Array (from a Buffer input they are a Buffer). */
function withPlainBytes(outcomes: ParseOutcome[]): ParseOutcome[] {
  return outcomes.map((outcome) =>
    outcome.ok && outcome.parsed.report_type === 'forensic' && outcome.parsed.email !== undefined
      ? { ...outcome, parsed: { ...outcome.parsed, email: new Uint8Array(outcome.parsed.email) } }
      : outcome,
  );
}

/** Where inside each container sample the report is (the rest of the corpus is the file itself). */
const innerSources: Record<string, string> = {
  'aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml':
    '!attachment[0]:google.com!borschow.com!1549929600!1550015999.zip!google.com!borschow.com!1549929600!1550015999.xml',
  'aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip':
    '!estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml',
  'aggregate/mimecast-weird-gzip.eml':
    '!attachment[0]:mimecast.org!ab.id.au!1693353600!1693439999!157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e.xml.gz',
  'aggregate/twilight.eml':
    '!attachment[0]:google.com!twlnet.com!1549756800!1549843199.zip!google.com!twlnet.com!1549756800!1549843199.xml',
  'extract_report/nice-input.xml.zip': '!nice-input.xml',
  // Saved from a mailbox: one message behind an mbox "From " line.
  'failure/dmarc_ruf_report_linkedin.eml': '#1',
  'failure/dmarc_ruf_report_linkedin.crlf.eml': '#1',
  'smtp_tls/google.com_smtp_tls_report.eml':
    '!attachment[0]:google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz',
};

describe('every sample of the corpus', () => {
  test('the index covers the whole corpus', () => {
    expect(Object.keys(index)).toHaveLength(34);
  });

  test.each(Object.entries(index))('%s', async (name, expected) => {
    const bytes = sample(name);
    const outcomes = await outcomesOf(bytes, name);
    if (expected.error !== undefined) {
      // empty.xml: zero bytes. The original's message; our code says why.
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({
        ok: false,
        source: name,
        error: { code: 'EMPTY_INPUT', message: expected.error },
      });
      return;
    }
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.describe()))).toEqual(['ok']);
    const [outcome] = outcomes;
    if (!outcome?.ok) throw new Error('unreachable');
    expect(outcome.source).toBe(name + (innerSources[name] ?? ''));
    expect(outcome.part).toBeUndefined();
    // parsedmarc 10.x names forensic reports "failure".
    expect(outcome.parsed.report_type).toBe(
      expected.report_type === 'failure' ? 'forensic' : expected.report_type,
    );
    if (outcome.parsed.report_type === 'aggregate')
      expect(outcome.parsed.report.records).toHaveLength(expected.records!);
    if (outcome.parsed.report_type === 'forensic') expect(outcome.parsed.email).toBeInstanceOf(Uint8Array);

    // A file stream in small chunks gives the same outcomes as the bytes.
    expect(withPlainBytes(await outcomesOf(chunked(bytes, 1000), name))).toEqual(withPlainBytes(outcomes));
  });
});

describe('the streamed aggregate path agrees with the whole-document parser', () => {
  const plainXml = Object.keys(index).filter(
    (name) => name.endsWith('.xml') && index[name]!.report_type === 'aggregate',
  );

  test.each(plainXml)('%s', async (name) => {
    const bytes = sample(name);
    const [outcome] = await outcomesOf(bytes, name);
    expect(outcome?.ok && outcome.parsed.report).toEqual(parseAggregateReportXml(bytes, { source: name }));
  });

  test('the same report plain, gzipped and zipped gives the same output', async () => {
    const reports = await Promise.all(
      ['nice-input.xml', 'nice-input.xml.gz', 'nice-input.xml.zip'].map(async (name) => {
        const [outcome] = await outcomesOf(sample(`extract_report/${name}`), name);
        return outcome?.ok ? outcome.parsed : outcome;
      }),
    );
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
  });
});
