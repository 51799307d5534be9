/**
 * The one way from parsed reports to the pipeline's topic values, used by every producer of report messages
 * (report-parse onto dmarc_parsed, enrich and the CLI's publisher onto the report topics): the key is the
 * report's identity, a huge aggregate report becomes parts bounded by encoded size, numbered across the
 * parser's parts of one report.
 */
import type { ParsedReport, ReportPart as ParserPart } from '@parsedmarc-ts/parser';
import { aggregateToAvro, forensicToAvro, smtpTlsToAvro, type ReportMeta } from './convert.js';
import type * as avro from './generated/types.js';
import { reportKey } from './keys.js';
import { aggregateMessages, newPartNumbering, type PartNumbering } from './split.js';

/** The report topics (by their name among the pipeline's topics) and the schema each carries. */
export const reportTopicKinds = Object.freeze({
  aggregate: 'dmarc_aggregate',
  forensic: 'dmarc_forensic',
  smtpTls: 'dmarc_smtp_tls',
} as const);
export type ReportTopic = keyof typeof reportTopicKinds;
export type ReportTopicKind = (typeof reportTopicKinds)[ReportTopic];

/** A value of a report topic, with the topic and schema it belongs to. */
export type ReportTopicValue =
  | { topic: 'aggregate'; kind: 'dmarc_aggregate'; value: avro.AggregateReportMessage }
  | { topic: 'forensic'; kind: 'dmarc_forensic'; value: avro.ForensicReportMessage }
  | { topic: 'smtpTls'; kind: 'dmarc_smtp_tls'; value: avro.SmtpTlsReportMessage };

/** A report (or the part of one that `meta` names) as its report topic's value. */
export function reportTopicValue(parsed: ParsedReport, meta: ReportMeta): ReportTopicValue {
  switch (parsed.report_type) {
    case 'aggregate':
      return { topic: 'aggregate', kind: 'dmarc_aggregate', value: aggregateToAvro(parsed.report, meta) };
    case 'forensic':
      return { topic: 'forensic', kind: 'dmarc_forensic', value: forensicToAvro(parsed.report, meta.origin) };
    case 'smtp_tls':
      return { topic: 'smtpTls', kind: 'dmarc_smtp_tls', value: smtpTlsToAvro(parsed.report, meta.origin) };
  }
}

/**
 * A report topic value of `parsed` as dmarc_parsed carries it, before enrichment (a forensic report keeps
 * its email).
 */
export function parsedTopicValue(message: ReportTopicValue, parsed: ParsedReport): avro.ParsedReportMessage {
  const forensicEmail = parsed.report_type === 'forensic' ? parsed.email : undefined;
  const none = { aggregate: null, forensic: null, smtp_tls: null, forensic_email: null };
  switch (message.topic) {
    case 'aggregate':
      return { ...none, report_type: 'aggregate', aggregate: message.value };
    case 'forensic':
      return {
        ...none,
        report_type: 'forensic',
        forensic: message.value,
        forensic_email: forensicEmail ? Buffer.from(forensicEmail) : null,
      };
    case 'smtpTls':
      return { ...none, report_type: 'smtp_tls', smtp_tls: message.value };
  }
}

/**
 * Reports to their topic values, keyed by identity. Keep one per stream of reports: it numbers the parts of
 * an aggregate report across the parser's parts until the last one.
 */
export class ReportMessages {
  readonly #numberings = new Map<string, PartNumbering>();

  /** @param maxAggregatePartBytes the encoded size bound of one aggregate part */
  constructor(private readonly maxAggregatePartBytes: number) {}

  of(
    parsed: ParsedReport,
    parserPart: ParserPart | undefined,
    origin: avro.Origin,
  ): { key: string; values: ReportTopicValue[] } {
    const key = reportKey(parsed);
    if (parsed.report_type !== 'aggregate') {
      return { key, values: [reportTopicValue(parsed, { origin, part: null })] };
    }
    const numbering = this.#numberings.get(key) ?? newPartNumbering();
    this.#numberings.set(key, numbering);
    const parts = aggregateMessages(parsed.report, parserPart, numbering, origin, this.maxAggregatePartBytes);
    if (parserPart === undefined || parserPart.isLast) this.#numberings.delete(key);
    return { key, values: parts.map((value) => ({ topic: 'aggregate', kind: 'dmarc_aggregate', value })) };
  }
}
