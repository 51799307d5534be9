/**
 * The `_bulk` API, without the I/O: NDJSON bodies of `index` actions (an `index` of a deterministic _id
 * creates the document or replaces it with itself, so sending a batch again never duplicates), bounded
 * batches, and the reading of each item of the answer.
 */
import type { SearchDocument } from './documents.js';

/** The two NDJSON lines of one document: `{"index":{"_index":...,"_id":...}}` and the body, each ending in \n. */
export function bulkActionLines(document: SearchDocument): string {
  const action = JSON.stringify({ index: { _index: document.index, _id: document.id } });
  return `${action}\n${JSON.stringify(document.body)}\n`;
}

/** A whole `_bulk` request body (Content-Type: application/x-ndjson). */
export function bulkBody(documents: Iterable<SearchDocument>): string {
  let body = '';
  for (const document of documents) body += bulkActionLines(document);
  return body;
}

export interface BulkLimits {
  /** Documents per request; default 500. */
  maxDocuments?: number;
  /**
   * Bytes (UTF-8) of the request body; default 5 MiB, within both servers' default http.max_content_length
   * of 100 MB and the size their documentation recommends starting from.
   */
  maxBytes?: number;
}

export const defaultBulkLimits: Required<BulkLimits> = { maxDocuments: 500, maxBytes: 5 * 1024 * 1024 };

export interface BulkBatch {
  kind: 'batch';
  /** In body order: the answer's items come in the same order. */
  documents: SearchDocument[];
  body: string;
  bytes: number;
}

/** A document whose two lines alone exceed maxBytes: never sent, never dropped silently. */
export interface BulkOversized {
  kind: 'refused';
  document: SearchDocument;
  bytes: number;
  code: 'DOCUMENT_TOO_LARGE';
  reason: string;
}

function resolveLimits(limits: BulkLimits): Required<BulkLimits> {
  const resolved = { ...defaultBulkLimits, ...limits };
  for (const [what, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${what} must be an integer >= 1, not ${value}`);
  }
  return resolved;
}

/**
 * Splits documents into batches of at most maxDocuments documents and maxBytes bytes, in order, lazily
 * (a 100,000-record report is never held as one body). A document too big for any batch comes out, in its
 * place, as a refusal.
 */
export function* splitBulkBatches(
  documents: Iterable<SearchDocument>,
  limits: BulkLimits = {},
): Generator<BulkBatch | BulkOversized> {
  const { maxDocuments, maxBytes } = resolveLimits(limits);
  let batch: SearchDocument[] = [];
  let lines: string[] = [];
  let bytes = 0;
  const take = (): BulkBatch => {
    const done: BulkBatch = { kind: 'batch', documents: batch, body: lines.join(''), bytes };
    batch = [];
    lines = [];
    bytes = 0;
    return done;
  };
  for (const document of documents) {
    const text = bulkActionLines(document);
    const size = Buffer.byteLength(text, 'utf8');
    if (size > maxBytes) {
      yield {
        kind: 'refused',
        document,
        bytes: size,
        code: 'DOCUMENT_TOO_LARGE',
        reason: `document ${document.id} for ${document.index} is ${size} bytes, over the bulk limit of ${maxBytes}`,
      };
      continue;
    }
    if (batch.length > 0 && bytes + size > maxBytes) yield take();
    batch.push(document);
    lines.push(text);
    bytes += size;
    if (batch.length >= maxDocuments) yield take();
  }
  if (batch.length > 0) yield take();
}

// ---------------------------------------------------------------- answers

interface ItemFields {
  /** The action the item answers: index (ours), create, update, delete. */
  action: string;
  status: number;
  index: string | null;
  id: string | null;
}

export interface BulkItemSuccess extends ItemFields {
  kind: 'success';
  /** created (201), updated (200: the same _id indexed again, which is how retries and re-runs look), noop... */
  result: string;
}

interface BulkItemFailure extends ItemFields {
  /** The server's error type, e.g. mapper_parsing_exception, es_rejected_execution_exception. */
  errorType: string | null;
  /** The server's reason, with the first cause's appended ("...: caused by: ..."). */
  reason: string;
}

export interface BulkItemRetriable extends BulkItemFailure {
  kind: 'retriable';
}

export interface BulkItemRefused extends BulkItemFailure {
  kind: 'refused';
  /**
   * DOCUMENT_REFUSED (the document itself: a mapping conflict, a parse error), DOCUMENT_TOO_LARGE,
   * NOT_PERMITTED (401/403: credentials or roles, not the document), INDEX_MISSING (404: index creation
   * disabled and no such index).
   */
  code: 'DOCUMENT_REFUSED' | 'DOCUMENT_TOO_LARGE' | 'NOT_PERMITTED' | 'INDEX_MISSING';
}

export type BulkItemOutcome = BulkItemSuccess | BulkItemRetriable | BulkItemRefused;

/** Error types that are the cluster's state, not the document's: the same item can succeed later. */
const retriableErrorTypes = new Set([
  'es_rejected_execution_exception',
  'rejected_execution_exception', // OpenSearch's name for it
  'circuit_breaking_exception',
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'primary_missing_action_exception',
  'shard_not_in_primary_mode_exception',
  'retry_on_primary_exception',
  'node_not_connected_exception',
  'node_disconnected_exception',
  'node_closed_exception',
  'connect_transport_exception',
  'receive_timeout_transport_exception',
  'send_request_transport_exception',
  'process_cluster_event_timeout_exception',
  'timeout_exception',
  'elasticsearch_timeout_exception',
  'opensearch_timeout_exception',
]);

const retriableStatuses = new Set([408, 429]);

function isRetriable(status: number, type: string | null, reason: string): boolean {
  if (retriableStatuses.has(status) || status >= 500) return true;
  if (type === null) return false;
  if (retriableErrorTypes.has(type)) return true;
  // The read-only-allow-delete block of a disk over its flood-stage watermark (403 before Elasticsearch 7.x
  // and on some OpenSearch versions, 429 since): lifted once disk space is freed. Other blocks (an index
  // made read-only by hand) stay until someone acts.
  return type === 'cluster_block_exception' && /allow.delete|flood.stage/i.test(reason);
}

const asRecord = (value: unknown): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function errorOf(error: unknown): { type: string | null; reason: string } {
  if (typeof error === 'string') return { type: null, reason: error };
  const e = asRecord(error);
  if (e === null) return { type: null, reason: 'no reason given' };
  const type = asString(e['type']);
  let reason = asString(e['reason']) ?? type ?? 'no reason given';
  const cause = asRecord(e['caused_by']);
  if (cause !== null) {
    const causeText = [asString(cause['type']), asString(cause['reason'])]
      .filter((t) => t !== null)
      .join(': ');
    if (causeText !== '') reason += `: caused by: ${causeText}`;
  }
  return { type, reason };
}

/**
 * Reads one item of a `_bulk` answer (`{"index": {"_index", "_id", "status", "result" | "error"}}`):
 * - success: 200/201 (or any 2xx) without an error. Indexing an _id again answers 200 "updated": a
 *   retry or a re-run, counted as success, not as a duplicate. A 409 version conflict on a `create`
 *   action means the document is there already: success too.
 * - retriable: 429, 408, 5xx, and error types that are the cluster's state (es_rejected_execution_exception,
 *   circuit_breaking_exception, unavailable shards...). Sending the item again later may succeed.
 * - refused: everything else (400 mapper_parsing_exception / document_parsing_exception /
 *   illegal_argument_exception, 413, 401/403, 404...): sending it again cannot help.
 * An item that is not one (a malformed answer) is retriable: our actions are idempotent.
 */
export function classifyBulkItem(item: unknown): BulkItemOutcome {
  const wrapper = asRecord(item);
  const action = wrapper === null ? undefined : Object.keys(wrapper)[0];
  const inner = action === undefined ? null : asRecord(wrapper![action]);
  if (action === undefined || inner === null || typeof inner['status'] !== 'number') {
    return {
      kind: 'retriable',
      action: action ?? 'unknown',
      status: 0,
      index: null,
      id: null,
      errorType: 'invalid_bulk_item',
      reason: `not a bulk answer item: ${JSON.stringify(item)?.slice(0, 200)}`,
    };
  }
  const status = inner['status'];
  const fields: ItemFields = { action, status, index: asString(inner['_index']), id: asString(inner['_id']) };
  if (status >= 200 && status < 300 && inner['error'] === undefined) {
    return { kind: 'success', ...fields, result: asString(inner['result']) ?? 'created' };
  }
  const { type, reason } = errorOf(inner['error']);
  if (status === 409 && action === 'create' && type === 'version_conflict_engine_exception') {
    return { kind: 'success', ...fields, result: 'exists' };
  }
  const failure = { ...fields, errorType: type, reason };
  if (isRetriable(status, type, reason)) return { kind: 'retriable', ...failure };
  const code: BulkItemRefused['code'] =
    status === 413
      ? 'DOCUMENT_TOO_LARGE'
      : status === 401 || status === 403
        ? 'NOT_PERMITTED'
        : status === 404 && type === 'index_not_found_exception'
          ? 'INDEX_MISSING'
          : 'DOCUMENT_REFUSED';
  return { kind: 'refused', ...failure, code };
}

export interface BulkResponseOutcome {
  /** Documents the server has (created or replaced). */
  succeeded: SearchDocument[];
  /** Documents to send again, later. */
  retry: { document: SearchDocument; outcome: BulkItemRetriable }[];
  /** Documents refused for good, with why. */
  refused: { document: SearchDocument; outcome: BulkItemRefused }[];
}

/**
 * Reads a whole `_bulk` answer (HTTP 200) against the documents of the request, in order. When the answer
 * has no usable items list (or not one per document), every document is to be sent again.
 */
export function classifyBulkResponse(
  response: unknown,
  documents: readonly SearchDocument[],
): BulkResponseOutcome {
  const outcome: BulkResponseOutcome = { succeeded: [], retry: [], refused: [] };
  const items = asRecord(response)?.['items'];
  const usable = Array.isArray(items) && items.length === documents.length;
  documents.forEach((document, i) => {
    const item = usable ? classifyBulkItem(items[i]) : classifyBulkItem(null);
    if (item.kind === 'success') outcome.succeeded.push(document);
    else if (item.kind === 'retriable') {
      const fix: BulkItemRetriable = usable
        ? item
        : { ...item, errorType: 'invalid_bulk_response', reason: `no answer item for document ${i}` };
      outcome.retry.push({ document, outcome: fix });
    } else outcome.refused.push({ document, outcome: item });
  });
  return outcome;
}
