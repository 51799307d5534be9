// The Node.js API of parsedmarc-ts: the original's documented functions (camelCase), typed. Pure functions
// come from the parser/output libraries; file and DNS I/O from enrich, pipeline and sinks.
export * from './parsedmarc-api.js';
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
