// The public surface: what other projects use, and nothing else (internals stay inside the package).
export {
  aggregateCsvHeader,
  aggregateCsvLines,
  forensicCsvHeader,
  forensicCsvLines,
  parsedAggregateReportsToCsv,
  parsedFailureReportsToCsv,
  parsedForensicReportsToCsv,
  parsedSmtpTlsReportsToCsv,
  smtpTlsCsvHeader,
  smtpTlsCsvLines,
} from './csv.js';
export { dailyChart } from './digest/chart.js';
export { DigestBuilder, digestLimits } from './digest/model.js';
export { renderDigestHtml, renderDigestText } from './digest/render.js';
export { type HecEventOptions, hecEventsOf, type HecForensicSourcetype } from './hec/events.js';
export { AggregateJsonWriter, compactJson, indentedJson, JsonArrayWriter } from './json.js';
export { originalKafkaValues } from './kafka-json.js';
export { bulkActionLines, classifyBulkItem } from './search/bulk.js';
export { searchDocumentsOf } from './search/documents.js';
export { type SearchFamily, type SearchIndexOptions } from './search/names.js';
export { searchIndexTemplates } from './search/templates.js';
export { originalSyslogMessages } from './syslog.js';
export { getReportZip, SampleNamer } from './zip.js';
