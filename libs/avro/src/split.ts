/**
 * Bounded message sizes for aggregate reports. The parser already yields huge reports in parts of at most
 * N records; records vary in size, so each part is also checked against a byte bound and, when its Avro
 * encoding would exceed it, re-split by encoded size. Parts are numbered afresh (consecutive indexes from 0,
 * the last with is_last), so the pipeline's parts are lossless and self-describing whatever the parser did.
 */
import type avsc from 'avsc';
import { PdmError } from '@parsedmarc-ts/errors';
import type { AggregateReport, ReportPart as ParserPart } from '@parsedmarc-ts/parser';
import { topicType } from './codec.js';
import type { AggregateRecord, AggregateReportMessage, Origin, ReportPart } from './generated/types.js';

/** A single record, or a report without records, that alone is larger than the bound. */
export class MessageTooLargeError extends PdmError<'MESSAGE_TOO_LARGE', { size: number; maxBytes: number }> {
  readonly family = 'poison';
  constructor(message: string, size: number, maxBytes: number) {
    super('MESSAGE_TOO_LARGE', message, { size, maxBytes });
    this.name = 'MessageTooLargeError';
  }
}

let recordType: avsc.Type | undefined;
function aggregateRecordType(): avsc.Type {
  // The items type of AggregateReportMessage.records.
  const records = (topicType('dmarc_aggregate') as avsc.types.RecordType).field('records');
  recordType ??= (records.type as avsc.types.ArrayType).itemsType;
  return recordType;
}

/** Room for the array block counts and the largest part record, beside header and records. */
const framingSlack = 64;

/**
 * Splits `records` into consecutive chunks whose message (header + chunk) encodes to at most `maxBytes`.
 * Always returns at least one chunk (possibly empty). Throws MessageTooLargeError when the header alone or
 * one record does not fit.
 */
export function chunkRecordsBySize(
  header: Omit<AggregateReportMessage, 'records' | 'part'>,
  records: readonly AggregateRecord[],
  maxBytes: number,
): AggregateRecord[][] {
  const base =
    topicType('dmarc_aggregate').toBuffer({ ...header, records: [], part: null }).length + framingSlack;
  if (base > maxBytes) {
    throw new MessageTooLargeError(
      `aggregate report header encodes to ${base} bytes, over ${maxBytes}`,
      base,
      maxBytes,
    );
  }
  const type = aggregateRecordType();
  const chunks: AggregateRecord[][] = [];
  let current: AggregateRecord[] = [];
  let size = base;
  for (const record of records) {
    const recordSize = type.toBuffer(record).length;
    if (base + recordSize > maxBytes) {
      throw new MessageTooLargeError(
        `one aggregate record (source ${record.source.ip_address}) encodes to ${recordSize} bytes, over ${maxBytes}`,
        base + recordSize,
        maxBytes,
      );
    }
    if (size + recordSize > maxBytes && current.length > 0) {
      chunks.push(current);
      current = [];
      size = base;
    }
    current.push(record);
    size += recordSize;
  }
  chunks.push(current);
  return chunks;
}

/** Numbering state for the parts of one report, across the parser's parts. */
export interface PartNumbering {
  nextIndex: number;
  nextRecord: number;
}

export const newPartNumbering = (): PartNumbering => ({ nextIndex: 0, nextRecord: 0 });

/**
 * Turns one aggregate report (or one parser part of it) into bounded messages. Pass the same numbering
 * object for every parser part of one report. A report in one piece that fits gets part = null.
 */
export function aggregateMessages(
  report: AggregateReport,
  parserPart: ParserPart | undefined,
  numbering: PartNumbering,
  origin: Origin,
  maxBytes: number,
): AggregateReportMessage[] {
  const header = {
    xml_schema: report.xml_schema,
    report_metadata: report.report_metadata,
    policy_published: report.policy_published,
    xml_namespace: report.xml_namespace,
    origin,
  };
  const chunks = chunkRecordsBySize(header, report.records, maxBytes);
  const lastOfReport = parserPart === undefined || parserPart.isLast;
  if (parserPart === undefined && chunks.length === 1) {
    return [{ ...header, records: chunks[0] ?? [], part: null }];
  }
  return chunks.map((records, i) => {
    const part: ReportPart = {
      index: numbering.nextIndex,
      is_last: lastOfReport && i === chunks.length - 1,
      first_record: numbering.nextRecord,
    };
    numbering.nextIndex += 1;
    numbering.nextRecord += records.length;
    // Model key order: the header fields, records, xml_namespace, then the pipeline metadata.
    return {
      xml_schema: header.xml_schema,
      report_metadata: header.report_metadata,
      policy_published: header.policy_published,
      records,
      xml_namespace: header.xml_namespace,
      part,
      origin,
    };
  });
}
