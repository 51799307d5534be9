// The public surface: what other projects use, and nothing else (internals stay inside the package).
export * from './types.js';
export { parseAggregateReportXml } from './aggregate/index.js';
export { AggregateReportStreamParser } from './aggregate/stream.js';
export { isOutlookMsg } from './containers/detect.js';
export {
  defaultAggregatePartRecords,
  extractReport,
  extractXml,
  type ParseOutcome,
  parseReports,
  type ParseReportsOptions,
  type ReportPart,
} from './containers/index.js';
export { parseEmail } from './email/index.js';
export {
  InvalidAggregateReport,
  InvalidFailureReport,
  InvalidForensicReport,
  InvalidSmtpTlsReport,
  limitExceeded,
  ParseError,
  type ParseErrorCode,
  type ParseErrorContext,
} from './errors.js';
export { parseForensicReport } from './forensic/index.js';
export { filenameSafeString } from './forensic/parsed-sample.js';
export { type ParseLimits, resolveLimits } from './limits.js';
export { parseSmtpTlsReportJson } from './smtp-tls/index.js';
export { formatUtc } from './time.js';
