// The pure part of the Elasticsearch / OpenSearch sink: documents as the original writes them, index names,
// deterministic ids, index templates, bulk bodies and the reading of bulk answers. No I/O.
export { searchDocumentsOf, type SearchDocument, type SearchDocumentsResult } from './documents.js';
export {
  searchIndexName,
  searchIndexOptionsProblems,
  type SearchFamily,
  type SearchIndexOptions,
} from './names.js';
export {
  defaultTemplatePriority,
  searchIndexTemplates,
  searchTemplateVersion,
  type SearchIndexTemplate,
  type SearchTemplateOptions,
} from './templates.js';
export {
  bulkActionLines,
  bulkBody,
  classifyBulkItem,
  classifyBulkResponse,
  defaultBulkLimits,
  splitBulkBatches,
  type BulkBatch,
  type BulkItemOutcome,
  type BulkItemRefused,
  type BulkItemRetriable,
  type BulkItemSuccess,
  type BulkLimits,
  type BulkOversized,
  type BulkResponseOutcome,
} from './bulk.js';
