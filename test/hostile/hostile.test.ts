// Hostile inputs: each gives its typed error, and the rest of the batch (the other members, attachments or
// messages of the same input) still yields its reports.
import { describe, expect, test } from 'vitest';
import {
  parseReports,
  resolveLimits,
  type ParseOutcome,
  type ParseReportsOptions,
} from '../../libs/parser/src/index.js';
import { streamOfBytes } from '../../libs/parser/src/containers/bytes.js';
import { gunzip } from '../../libs/parser/src/containers/gzip.js';
import {
  aggregateXml,
  fakeOutlookMsg,
  garbageBytes,
  makeMbox,
  makeZip,
  mimeEmail,
  nestedGzip,
  sample,
  smtpTlsJsonHead,
  zerosGzip,
  zerosZipEntry,
} from './generators.js';

const MiB = 1024 * 1024;
const goodXml = sample('extract_report/nice-input.xml');
const goodGz = sample('extract_report/nice-input.xml.gz');

async function run(input: Uint8Array, options: ParseReportsOptions): Promise<ParseOutcome[]> {
  const outcomes: ParseOutcome[] = [];
  for await (const outcome of parseReports(input, options)) outcomes.push(outcome);
  return outcomes;
}

/** One line per outcome: source and report type, or source, error code and the limit it names. */
function summary(outcomes: ParseOutcome[]): string[] {
  return outcomes.map((o) =>
    o.ok
      ? `${o.source} ${o.parsed.report_type}`
      : `${o.source} ${o.error.code}${o.error.context.limit === undefined ? '' : ` ${String(o.error.context.limit)}`}`,
  );
}

describe('hostile inputs: typed error, and the rest of the batch survives', () => {
  test('gzip bomb: 1 GiB of zeros behind a report-like head, in a zip next to a good report', async () => {
    // A bomb of bare zeros is no report: detection drops it after its first KB (next test). Behind the
    // head of an SMTP TLS report, it is read on until a limit stops it.
    const bomb = zerosGzip(1024, smtpTlsJsonHead);
    expect(bomb.length).toBeLessThan(1.1 * MiB);
    const zip = makeZip([
      { name: 'bomb.json.gz', content: bomb, method: 0 },
      { name: 'good.xml', content: goodXml },
    ]);
    expect(
      summary(await run(zip, { source: 'batch.zip', limits: { maxDecompressedBytes: 64 * MiB } })),
    ).toEqual(['batch.zip!bomb.json.gz LIMIT_EXCEEDED maxDecompressedBytes', 'batch.zip!good.xml aggregate']);
  });

  test('a bomb of bare zeros is no report: skipped as a member, UNRECOGNIZED_FORMAT as an input', async () => {
    const bomb = zerosGzip(1024);
    const zip = makeZip([
      { name: 'zeros.gz', content: bomb, method: 0 },
      { name: 'good.xml', content: goodXml },
    ]);
    expect(summary(await run(zip, { source: 'batch.zip' }))).toEqual(['batch.zip!good.xml aggregate']);
    expect(summary(await run(bomb, { source: 'zeros.gz' }))).toEqual(['zeros.gz UNRECOGNIZED_FORMAT']);
  });

  test('with the default limits, inflating a 1 GiB bomb stops at maxDecompressedBytes (512 MiB)', async () => {
    let produced = 0;
    const pieces = gunzip(streamOfBytes(zerosGzip(1024)), resolveLimits(), 'bomb.gz');
    const error = await (async () => {
      for await (const piece of pieces) produced += piece.length;
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      context: { limit: 'maxDecompressedBytes', limitValue: 512 * MiB, source: 'bomb.gz' },
    });
    expect(produced).toBeLessThanOrEqual(512 * MiB);
  });

  test('gzip bomb as an email attachment next to a good one; a lower maxCompressionRatio catches it earlier', async () => {
    const email = mimeEmail('Reports', [
      {
        filename: 'bomb.json.gz',
        contentType: 'application/tlsrpt+gzip',
        content: zerosGzip(64, smtpTlsJsonHead),
      },
      { filename: 'good.xml.gz', contentType: 'application/gzip', content: goodGz },
    ]);
    expect(summary(await run(email, { source: 'mail.eml', limits: { maxCompressionRatio: 100 } }))).toEqual([
      'mail.eml!attachment[0]:bomb.json.gz LIMIT_EXCEEDED maxCompressionRatio',
      'mail.eml!attachment[1]:good.xml.gz aggregate',
    ]);
  });

  test('zip bomb: a member of 1 GiB of zeros, declared or lying about its size, next to a good member', async () => {
    const honest = zerosZipEntry('bomb.json', 1024, smtpTlsJsonHead);
    const lying = zerosZipEntry('liar.json', 1024, smtpTlsJsonHead);
    lying.raw = { ...lying.raw!, uncompressedSize: 1000 };
    const zip = makeZip([honest, lying, { name: 'good.xml', content: goodXml }]);
    expect(
      summary(await run(zip, { source: 'bomb.zip', limits: { maxDecompressedBytes: 64 * MiB } })),
    ).toEqual([
      'bomb.zip!bomb.json LIMIT_EXCEEDED maxDecompressedBytes',
      'bomb.zip!liar.json LIMIT_EXCEEDED maxDecompressedBytes',
      'bomb.zip!good.xml aggregate',
    ]);
  });

  test('overlapping zip members (one bomb stream listed 100 times) next to a good attachment', async () => {
    const zip = makeZip([zerosZipEntry('bomb.json', 256, smtpTlsJsonHead)]);
    // Rewrite the archive with 100 central directory entries all pointing at the one member.
    const directoryOffset = zip.readUInt32LE(zip.length - 6);
    const entry = zip.subarray(directoryOffset, zip.length - 22);
    const directory = Buffer.concat(Array.from({ length: 100 }, () => entry));
    const end = Buffer.from(zip.subarray(zip.length - 22));
    end.writeUInt16LE(100, 8);
    end.writeUInt16LE(100, 10);
    end.writeUInt32LE(directory.length, 12);
    const overlapping = Buffer.concat([zip.subarray(0, directoryOffset), directory, end]);
    const email = mimeEmail('Reports', [
      { filename: 'overlap.zip', contentType: 'application/zip', content: overlapping },
      { filename: 'good.xml.gz', contentType: 'application/gzip', content: goodGz },
    ]);
    expect(summary(await run(email, { source: 'mail.eml' }))).toEqual([
      'mail.eml!attachment[0]:overlap.zip INVALID_ARCHIVE',
      'mail.eml!attachment[1]:good.xml.gz aggregate',
    ]);
  });

  test('too many zip members, as an attachment next to a good one', async () => {
    const crowded = makeZip(Array.from({ length: 101 }, (_, i) => ({ name: `r${i}.xml`, content: goodXml })));
    const email = mimeEmail('Reports', [
      { filename: 'crowded.zip', contentType: 'application/zip', content: crowded },
      { filename: 'good.xml.gz', contentType: 'application/gzip', content: goodGz },
    ]);
    expect(summary(await run(email, { source: 'mail.eml' }))).toEqual([
      'mail.eml!attachment[0]:crowded.zip LIMIT_EXCEEDED maxZipMembers',
      'mail.eml!attachment[1]:good.xml.gz aggregate',
    ]);
  });

  test('truncated gzip member next to a good member', async () => {
    const zip = makeZip([
      { name: 'cut.xml.gz', content: goodGz.subarray(0, goodGz.length - 100) },
      { name: 'good.xml.gz', content: goodGz },
    ]);
    expect(summary(await run(zip, { source: 'batch.zip' }))).toEqual([
      'batch.zip!cut.xml.gz INVALID_ARCHIVE',
      'batch.zip!good.xml.gz aggregate',
    ]);
  });

  test('truncated zip attachment next to a good attachment', async () => {
    const zip = makeZip([{ name: 'a.xml', content: goodXml }]);
    const email = mimeEmail('Reports', [
      { filename: 'cut.zip', contentType: 'application/zip', content: zip.subarray(0, zip.length - 40) },
      { filename: 'good.zip', contentType: 'application/zip', content: zip },
    ]);
    expect(summary(await run(email, { source: 'mail.eml' }))).toEqual([
      'mail.eml!attachment[0]:cut.zip INVALID_ARCHIVE',
      'mail.eml!attachment[1]:good.zip!a.xml aggregate',
    ]);
  });

  test('garbage bytes: UNRECOGNIZED_FORMAT as an input, skipped as an mbox message beside a report', async () => {
    expect(summary(await run(garbageBytes(4096), { source: 'noise.bin' }))).toEqual([
      'noise.bin UNRECOGNIZED_FORMAT',
    ]);
    const mbox = makeMbox([
      garbageBytes(2048).toString('latin1').replace(/From /g, 'from '),
      mimeEmail('good', [{ filename: 'good.xml.gz', contentType: 'application/gzip', content: goodGz }]),
    ]);
    const outcomes = await run(mbox, { source: 'box.mbox' });
    expect(summary(outcomes)).toEqual(['box.mbox#2!attachment[0]:good.xml.gz aggregate']);
  });

  test('nesting too deep (a report gzipped 5 times in a zip) next to a good member', async () => {
    const zip = makeZip([
      { name: 'deep.gz', content: nestedGzip(goodXml, 5) },
      { name: 'shallow.gz', content: nestedGzip(goodXml, 3) },
    ]);
    // zip member (1) + 3 gzip layers = 4 = maxNestingDepth: fine; 5 gzip layers: one too many.
    expect(summary(await run(zip, { source: 'nest.zip' }))).toEqual([
      'nest.zip!deep.gz LIMIT_EXCEEDED maxNestingDepth',
      'nest.zip!shallow.gz aggregate',
    ]);
  });

  test('.msg without a converter next to a good member', async () => {
    const zip = makeZip([
      { name: 'report.msg', content: fakeOutlookMsg() },
      { name: 'good.xml', content: goodXml },
    ]);
    expect(summary(await run(zip, { source: 'batch.zip' }))).toEqual([
      'batch.zip!report.msg MISSING_TOOL',
      'batch.zip!good.xml aggregate',
    ]);
  });

  test('mbox with one bad message among good ones', async () => {
    const report = (subject: string) =>
      mimeEmail(subject, [{ filename: 'r.xml.gz', contentType: 'application/gzip', content: goodGz }]);
    const mbox = makeMbox([
      report('one'),
      mimeEmail('bad', [
        {
          filename: 'bad.xml',
          contentType: 'text/xml',
          content: '<?xml version="1.0"?><feedback><report_metadata>',
        },
      ]),
      report('three'),
    ]);
    expect(summary(await run(mbox, { source: 'box.mbox' }))).toEqual([
      'box.mbox#1!attachment[0]:r.xml.gz aggregate',
      'box.mbox#2!attachment[0]:bad.xml INVALID_AGGREGATE_REPORT',
      'box.mbox#3!attachment[0]:r.xml.gz aggregate',
    ]);
  });

  test('an mbox with more messages than maxMboxMessages: the allowed ones, then LIMIT_EXCEEDED', async () => {
    const report = mimeEmail('r', [
      { filename: 'r.xml.gz', contentType: 'application/gzip', content: goodGz },
    ]);
    expect(
      summary(
        await run(makeMbox([report, report, report]), { source: 'box.mbox', limits: { maxMboxMessages: 2 } }),
      ),
    ).toEqual([
      'box.mbox#1!attachment[0]:r.xml.gz aggregate',
      'box.mbox#2!attachment[0]:r.xml.gz aggregate',
      'box.mbox LIMIT_EXCEEDED maxMboxMessages',
    ]);
  });

  test('an XML entity bomb in a zip next to a good member: refused, not expanded', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' +
      '<feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>';
    const zip = makeZip([
      { name: 'lol.xml', content: laughs },
      { name: 'good.xml', content: aggregateXml(3) },
    ]);
    expect(summary(await run(zip, { source: 'batch.zip' }))).toEqual([
      'batch.zip!lol.xml FORBIDDEN_XML_CONSTRUCT',
      'batch.zip!good.xml aggregate',
    ]);
  });

  test('random mutations of every container sample: outcomes only, never a throw', async () => {
    const containers = [
      'aggregate/twilight.eml',
      'aggregate/mimecast-weird-gzip.eml',
      'extract_report/nice-input.xml.gz',
      'extract_report/nice-input.xml.zip',
      'smtp_tls/google.com_smtp_tls_report.eml',
      'failure/dmarc_ruf_report_linkedin.eml',
    ];
    let state = 11;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const codes = new Set<string>();
    for (const name of containers) {
      const original = sample(name);
      for (let round = 0; round < 40; round++) {
        const bytes = Buffer.from(
          original.subarray(0, round % 4 === 0 ? random(original.length) + 1 : original.length),
        );
        // Past the first bytes, so that the kind of container stays the same.
        for (let k = 0; k < 4; k++) bytes[16 + random(Math.max(bytes.length - 16, 1))] = random(256);
        for (const outcome of await run(bytes, { source: name }))
          if (!outcome.ok) codes.add(outcome.error.code);
      }
    }
    expect(codes.has('INVALID_ARCHIVE')).toBe(true);
  });
});
