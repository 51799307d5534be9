// The Node.js API of parsedmarc-ts: the seed's documented functions (camelCase) and the pieces the CLI is
// built from. Pure functions come from the parser/output libraries; this package adds file and DNS I/O.
export * from './seed-api.js';
export { OutputDirSink, StdoutJsonSink, type ResultItem, type ResultSink } from '@parsedmarc-ts/sinks';
export {
  // exceptions
  ParseError,
  InvalidAggregateReport,
  InvalidForensicReport,
  InvalidFailureReport,
  InvalidSmtpTlsReport,
  // parsing (bytes in)
  extractXml,
  extractReport,
  parseAggregateReportXml,
  parseForensicReport,
  parseSmtpTlsReportJson,
  parseReports,
  parseEmail,
  isOutlookMsg,
  filenameSafeString as getFilenameSafeString,
} from '@parsedmarc-ts/parser';
export type * from '@parsedmarc-ts/parser';
export {
  parsedAggregateReportsToCsv,
  parsedForensicReportsToCsv,
  parsedFailureReportsToCsv,
  parsedSmtpTlsReportsToCsv,
  getReportZip,
} from '@parsedmarc-ts/output';
export {
  getBaseDomain,
  getReverseDns,
  getIpAddressCountry,
  getIpAddressInfo,
  createEnricher,
} from '@parsedmarc-ts/enrich';
