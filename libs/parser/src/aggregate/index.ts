// Aggregate (rua) report parsing: whole reports (parseAggregateReport) and huge ones in parts, over the
// streaming parser of stream.ts.
import { ParseError, limitExceeded } from '../errors.js';
import { resolveLimits } from '../limits.js';
import type { AggregateRecord, AggregateReport, AggregateReportHeader } from '../types.js';
import { AggregateReportStreamParser, type AggregateParseOptions } from './stream.js';

export { AggregateReportStreamParser } from './stream.js';
export type { AggregateParseOptions, AggregateStreamHandlers } from './stream.js';
export { splitIntoUtcDays, orgNameBaseDomain } from './normalize.js';

/** Slices fed to the SAX pass: big enough to amortize the per-write cost, small enough to screen cheaply. */
const SLICE = 1 << 20;

/** Parses a whole aggregate report (XML as a string or bytes). Throws ParseError. */
export function parseAggregateReportXml(
  xml: string | Uint8Array,
  options: AggregateParseOptions = {},
): AggregateReport {
  const limits = resolveLimits(options.limits);
  if (xml.length > limits.maxInputBytes) {
    throw limitExceeded('maxInputBytes', limits.maxInputBytes, 'The report', sourceContext(options));
  }
  if (xml.length === 0) {
    throw new ParseError('EMPTY_INPUT', 'The report is empty', sourceContext(options));
  }

  let header: AggregateReportHeader | undefined;
  const records: AggregateRecord[] = [];
  const parser = new AggregateReportStreamParser(
    {
      onHeader: (h) => {
        header = h;
      },
      onRecord: (record) => {
        records.push(record);
      },
    },
    options,
  );
  for (let offset = 0; offset < xml.length; offset += SLICE) {
    if (typeof xml === 'string') parser.write(xml.slice(offset, offset + SLICE));
    else parser.writeBytes(xml.subarray(offset, offset + SLICE));
  }
  parser.end();
  if (header === undefined) {
    // end() throws when no header could be built; this only guards the type.
    throw new Error('aggregate parser ended without a header');
  }

  return aggregateReportOf(header, records, parser.problems.slice(parser.problemsInHeader));
}

/**
 * Cheap content sniff on the first few KB of decoded text: is this an aggregate report XML document?
 * True when the text starts like XML (after a byte order mark and blank space) and has a <feedback> start
 * tag, possibly namespace-prefixed, before the head ends. Wrappers before it (an XML declaration,
 * comments, a stray <xs:schema>) are allowed.
 */
export function looksLikeAggregateXml(head: string): boolean {
  const start = /^[\uFEFF\s]*</.exec(head);
  if (start === null) return false;
  return /<(?:[A-Za-z_][\w.-]*:)?feedback[\s>/]/.test(head);
}

function sourceContext(options: AggregateParseOptions): { source?: string } {
  return options.source === undefined ? {} : { source: options.source };
}

/**
 * A report from its header and records, with problems found after the header appended to its errors.
 * Built in the AggregateReport key order (the output is compared with the documented output key for key).
 */
export function aggregateReportOf(
  header: AggregateReportHeader,
  records: AggregateRecord[],
  lateProblems: readonly string[] = [],
): AggregateReport {
  const report_metadata =
    lateProblems.length === 0
      ? header.report_metadata
      : { ...header.report_metadata, errors: [...header.report_metadata.errors, ...lateProblems] };
  return {
    xml_schema: header.xml_schema,
    report_metadata,
    policy_published: header.policy_published,
    records,
    xml_namespace: header.xml_namespace,
  };
}
