// Aggregate reports in bounded memory: XML bytes are streamed into the aggregate stream parser (which decodes
// them as the whole-document parser does) and the report comes out in parts of at most `partRecords`
// records, each a whole AggregateReport (same header, a slice of the records), in document order.
import {
  aggregateReportOf,
  AggregateReportStreamParser,
  type AggregateParseOptions,
} from '../aggregate/index.js';
import { InvalidAggregateReport } from '../errors.js';
import type { AggregateRecord, AggregateReport, AggregateReportHeader } from '../types.js';
import type { ByteStream } from './bytes.js';
import type { ReportPart } from './index.js';

export interface AggregateReportPiece {
  report: AggregateReport;
  /** Absent when the whole report fits in one piece. */
  part?: ReportPart;
}

/**
 * XML characters per part at most, besides the record count: records with large fields (long domains,
 * many auth results) fill a part by size long before they fill it by number.
 */
export const aggregatePartChars = 16 * 1024 * 1024;

/**
 * Parses a streamed aggregate report. Memory holds at most partRecords + 1 records (and about
 * 2 x aggregatePartChars of their XML): a full part is held
 * back until the next record shows it is not the last. Problems the parser finds after the header (bad
 * records, XML errors) are added to the report_metadata.errors of the last part only, as the whole-document
 * parser adds them to its report. Throws ParseError (from the aggregate parser), possibly after some parts
 * have been yielded, in which case the report is incomplete.
 */
export async function* aggregateReportParts(
  xml: ByteStream,
  partRecords: number,
  options: AggregateParseOptions,
  partChars = aggregatePartChars,
): AsyncGenerator<AggregateReportPiece> {
  let header: AggregateReportHeader | null = null;
  let filling: AggregateRecord[] = [];
  let fillingFrom = 0;
  const full: AggregateRecord[][] = [];
  const parser: AggregateReportStreamParser = new AggregateReportStreamParser(
    {
      onHeader(value) {
        header = value;
        fillingFrom = parser.charactersRead;
      },
      onRecord(record) {
        filling.push(record);
        const read = parser.charactersRead;
        if (filling.length >= partRecords || read - fillingFrom >= partChars) {
          full.push(filling);
          filling = [];
          fillingFrom = read;
        }
      },
    },
    options,
  );
  let index = 0;
  let firstRecord = 0;
  const headerOrFail = (): AggregateReportHeader => {
    if (header === null)
      throw new InvalidAggregateReport('aggregate report records came before its header', {
        source: options.source,
      });
    return header;
  };
  for await (const chunk of xml) {
    parser.writeBytes(chunk);
    // A full part is known not to be the last once another record follows it.
    while (full.length > 1 || (full.length === 1 && filling.length > 0)) {
      const report = aggregateReportOf(headerOrFail(), full.shift()!);
      yield { report, part: { index: index++, isLast: false, firstRecord } };
      // Counted in the report's records, after any split of a multi-day record into UTC days.
      firstRecord += report.records.length;
    }
  }
  parser.end();
  const lateProblems = parser.problems.slice(parser.problemsInHeader);
  const rest = filling.length > 0 ? [...full, filling] : full;
  if (index === 0 && rest.length <= 1) {
    yield { report: aggregateReportOf(headerOrFail(), rest[0] ?? [], lateProblems) };
    return;
  }
  for (const [i, records] of rest.entries()) {
    const isLast = i === rest.length - 1;
    const report = aggregateReportOf(headerOrFail(), records, isLast ? lateProblems : []);
    yield { report, part: { index: index++, isLast, firstRecord } };
    firstRecord += report.records.length;
  }
}
