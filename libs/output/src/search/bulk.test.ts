import { describe, expect, it } from 'vitest';

import {
  bulkActionLines,
  bulkBody,
  classifyBulkItem,
  classifyBulkResponse,
  splitBulkBatches,
  type BulkBatch,
  type BulkOversized,
} from './bulk.js';
import { type SearchDocument } from './documents.js';

const doc = (n: number, text = 'x'): SearchDocument => ({
  index: `dmarc_aggregate-2024-01-${String((n % 28) + 1).padStart(2, '0')}`,
  id: `id-${n}`,
  body: { n, text },
});

const bytesOf = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('bulk bodies', () => {
  it('writes an index action with _index and _id, then the document, one JSON per line', () => {
    const document: SearchDocument = { index: 'dmarc_aggregate-2024-01-31', id: 'abc', body: { a: 'é\n"' } };
    const lines = bulkActionLines(document);
    expect(lines).toBe('{"index":{"_index":"dmarc_aggregate-2024-01-31","_id":"abc"}}\n{"a":"é\\n\\""}\n');
    const body = bulkBody([document, doc(1)]);
    const parsed = body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
    expect(parsed).toEqual([
      { index: { _index: document.index, _id: 'abc' } },
      document.body,
      { index: { _index: doc(1).index, _id: 'id-1' } },
      doc(1).body,
    ]);
    expect(body.endsWith('\n')).toBe(true);
  });
});

describe('splitBulkBatches', () => {
  const documents = Array.from({ length: 25 }, (_, i) => doc(i, 'ü'.repeat(i * 10)));

  it('keeps every batch within the document and byte limits, in order, losing nothing', () => {
    const maxBytes = 1200;
    const chunks = [...splitBulkBatches(documents, { maxDocuments: 4, maxBytes })];
    const batches = chunks.filter((c): c is BulkBatch => c.kind === 'batch');
    expect(chunks.every((c) => c.kind === 'batch')).toBe(true);
    for (const batch of batches) {
      expect(batch.documents.length).toBeLessThanOrEqual(4);
      expect(batch.bytes).toBe(bytesOf(batch.body));
      expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
      expect(batch.body).toBe(bulkBody(batch.documents));
    }
    expect(batches.flatMap((b) => b.documents)).toEqual(documents);
    // Multi-byte characters count as bytes, not characters: the byte limit cut some batches below 4.
    expect(batches.some((b) => b.documents.length < 4 && b !== batches[batches.length - 1])).toBe(true);
  });

  it('fills batches up to exactly the limits', () => {
    const small = Array.from({ length: 10 }, (_, i) => doc(i));
    const one = bytesOf(bulkActionLines(small[0]!));
    expect(
      [...splitBulkBatches(small, { maxDocuments: 5 })].map((c) => (c as BulkBatch).documents.length),
    ).toEqual([5, 5]);
    const exact = [...splitBulkBatches(small.slice(0, 3), { maxBytes: one * 3 })];
    expect(exact).toHaveLength(1);
    expect([...splitBulkBatches(small.slice(0, 3), { maxBytes: one * 3 - 1 })]).toHaveLength(2);
  });

  it('returns a document bigger than the byte limit as a refusal, in its place', () => {
    const big = doc(99, 'y'.repeat(5000));
    const chunks = [...splitBulkBatches([doc(1), big, doc(2)], { maxBytes: 1000 })];
    expect(chunks.map((c) => c.kind)).toEqual(['refused', 'batch']);
    const refusal = chunks[0] as BulkOversized;
    expect(refusal.document).toBe(big);
    expect(refusal.code).toBe('DOCUMENT_TOO_LARGE');
    expect(refusal.bytes).toBe(bytesOf(bulkActionLines(big)));
    expect(refusal.reason).toContain('id-99');
    expect((chunks[1] as BulkBatch).documents).toEqual([doc(1), doc(2)]);
  });

  it('is lazy and refuses nonsense limits', () => {
    let pulled = 0;
    function* endless(): Generator<SearchDocument> {
      for (let i = 0; ; i += 1) {
        pulled += 1;
        yield doc(i);
      }
    }
    const first = splitBulkBatches(endless(), { maxDocuments: 3 }).next();
    expect((first.value as BulkBatch).documents).toHaveLength(3);
    expect(pulled).toBe(3);
    expect(() => [...splitBulkBatches([], { maxDocuments: 0 })]).toThrow(RangeError);
    expect(() => [...splitBulkBatches([], { maxBytes: Number.NaN })]).toThrow(RangeError);
    expect([...splitBulkBatches([])]).toEqual([]);
  });
});

const item = (status: number, extra: Record<string, unknown> = {}, action = 'index'): unknown => ({
  [action]: { _index: 'dmarc_aggregate-2024-01-31', _id: 'abc', status, ...extra },
});
const error = (type: string, reason: string, cause?: { type: string; reason: string }) => ({
  error: { type, reason, ...(cause ? { caused_by: cause } : {}) },
});

describe('classifyBulkItem', () => {
  it('counts created and updated (the same _id again) as success', () => {
    expect(classifyBulkItem(item(201, { result: 'created' }))).toEqual({
      kind: 'success',
      action: 'index',
      status: 201,
      index: 'dmarc_aggregate-2024-01-31',
      id: 'abc',
      result: 'created',
    });
    expect(classifyBulkItem(item(200, { result: 'updated', _version: 2 }))).toMatchObject({
      kind: 'success',
      result: 'updated',
    });
    expect(
      classifyBulkItem(
        item(409, error('version_conflict_engine_exception', '[abc]: version conflict'), 'create'),
      ),
    ).toMatchObject({ kind: 'success', result: 'exists' });
  });

  it.each([
    [429, 'es_rejected_execution_exception', 'rejected execution of coordinating operation'],
    [429, 'rejected_execution_exception', 'OpenSearch: rejected execution'],
    [429, 'circuit_breaking_exception', '[parent] Data too large'],
    [503, 'unavailable_shards_exception', 'primary shard is not active'],
    [500, 'some_internal_exception', 'boom'],
    [502, 'bad_gateway', 'proxy'],
    [400, 'es_rejected_execution_exception', 'rejected, odd status'],
    [
      429,
      'cluster_block_exception',
      'index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block]',
    ],
    [
      403,
      'cluster_block_exception',
      'index [x] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)]',
    ],
  ])('%d %s is retriable', (status, type, reason) => {
    expect(classifyBulkItem(item(status, error(type, reason)))).toMatchObject({
      kind: 'retriable',
      status,
      errorType: type,
      reason,
    });
  });

  it.each([
    [
      400,
      'mapper_parsing_exception',
      'failed to parse field [source_ip_address] of type [ip]',
      'DOCUMENT_REFUSED',
    ],
    [
      400,
      'document_parsing_exception',
      '[1:42] failed to parse field [date_begin] of type [date]',
      'DOCUMENT_REFUSED',
    ],
    [400, 'illegal_argument_exception', 'Limit of total fields [1000] has been exceeded', 'DOCUMENT_REFUSED'],
    [400, 'strict_dynamic_mapping_exception', 'mapping set to strict', 'DOCUMENT_REFUSED'],
    [413, 'content_too_long_exception', 'entity content is too long', 'DOCUMENT_TOO_LARGE'],
    [403, 'security_exception', 'action [indices:data/write/bulk[s]] is unauthorized', 'NOT_PERMITTED'],
    [
      403,
      'cluster_block_exception',
      'index [x] blocked by: [FORBIDDEN/8/index write (api)]',
      'NOT_PERMITTED',
    ],
    [404, 'index_not_found_exception', 'no such index [dmarc_aggregate-2024-01-31]', 'INDEX_MISSING'],
  ])('%d %s is refused for good', (status, type, reason, code) => {
    expect(classifyBulkItem(item(status, error(type, reason)))).toMatchObject({
      kind: 'refused',
      status,
      errorType: type,
      reason,
      code,
    });
  });

  it("carries the first cause's reason", () => {
    const outcome = classifyBulkItem(
      item(
        400,
        error(
          'document_parsing_exception',
          '[1:120] failed to parse field [source_ip_address] of type [ip]',
          {
            type: 'illegal_argument_exception',
            reason: "'not-an-ip' is not an IP string literal.",
          },
        ),
      ),
    );
    expect(outcome).toMatchObject({
      kind: 'refused',
      reason:
        "[1:120] failed to parse field [source_ip_address] of type [ip]: caused by: illegal_argument_exception: 'not-an-ip' is not an IP string literal.",
    });
  });

  it('takes a malformed item as retriable (our writes are idempotent)', () => {
    for (const bad of [null, 'x', {}, { index: null }, { index: { status: '201' } }]) {
      expect(classifyBulkItem(bad)).toMatchObject({ kind: 'retriable', errorType: 'invalid_bulk_item' });
    }
  });
});

describe('classifyBulkResponse', () => {
  it('sorts the documents of a request by the answer items, in order', () => {
    const documents = [doc(1), doc(2), doc(3), doc(4)];
    const response = {
      took: 3,
      errors: true,
      items: [
        item(201, { result: 'created' }),
        item(429, error('es_rejected_execution_exception', 'queue full')),
        item(200, { result: 'updated' }),
        item(400, error('mapper_parsing_exception', 'bad')),
      ],
    };
    const outcome = classifyBulkResponse(response, documents);
    expect(outcome.succeeded).toEqual([doc(1), doc(3)]);
    expect(outcome.retry.map((r) => r.document)).toEqual([doc(2)]);
    expect(outcome.refused.map((r) => [r.document, r.outcome.errorType])).toEqual([
      [doc(4), 'mapper_parsing_exception'],
    ]);
  });

  it('sends everything again when the answer has no item per document', () => {
    const documents = [doc(1), doc(2)];
    for (const response of [{ items: [item(201)] }, { error: 'x' }, null]) {
      const outcome = classifyBulkResponse(response, documents);
      expect(outcome.succeeded).toEqual([]);
      expect(outcome.refused).toEqual([]);
      expect(outcome.retry.map((r) => [r.document, r.outcome.errorType])).toEqual([
        [doc(1), 'invalid_bulk_response'],
        [doc(2), 'invalid_bulk_response'],
      ]);
    }
  });
});
