/**
 * Elasticsearch 8.x / OpenSearch 2.x-3.x: documents shaped as the newer original writes them (one per
 * aggregate record, one per forensic and SMTP TLS report), into the original's index names, through the
 * bulk API in bounded batches.
 *
 * - No duplicates without the original's search-before-write: each document has a deterministic _id from
 *   the report's identity, so writing it again (a retry, a re-run, a restart of the service) replaces it
 *   with itself.
 * - Durable: a bulk answer means each document is in the shard's translog, fsync'ed per request (the
 *   servers' default `index.translog.durability: request`); flush() returns only after every buffered
 *   document was answered for.
 * - Per-item results are read: transient item failures (429, es_rejected_execution_exception, 5xx) are
 *   retried with backoff; refusals (a mapping conflict, a document too large) are returned from flush() as
 *   SinkRefusals naming the input; whole-request failures (server away, 429, 5xx) retry the batch.
 * - Index templates are installed at open, idempotently, so each new dated index gets the mapping the
 *   dashboards rely on.
 */
import { backoffDelay, sleep } from '@parsedmarc-ts/service-runtime';
import {
  bulkActionLines,
  classifyBulkItem,
  searchDocumentsOf,
  searchIndexTemplates,
  type SearchIndexOptions,
} from '@parsedmarc-ts/output';
import { saves, type SearchSinkConfig } from '../config.js';
import { flushAndRelease, type ResultItem, type ResultSink, type SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';
import { OneInFlight, retryingRequest } from '../http.js';
import type { SinkContext } from '../registry.js';
import { reasonOf, SearchClient, type ServerInfo } from './client.js';

interface PendingDocument {
  source: string;
  /** The action and document lines of the bulk body, newline-terminated. */
  lines: string;
}

const backoff = { initialMs: 250, maxMs: 15_000 };

export class SearchSink implements ResultSink {
  private pending: PendingDocument[] = [];
  private pendingBytes = 0;
  /**
   * The batch being sent while the next one is built: one bulk request in flight overlaps our document
   * building with the server's indexing (measured: the command sat idle 45% of the time waiting on each
   * answer). Never more than one, so memory stays at two batches and answers keep their order.
   */
  private readonly inFlight = new OneInFlight();
  private refusals: SinkRefusal[] = [];
  private readonly indexOptions: SearchIndexOptions;

  private constructor(
    readonly name: string,
    private readonly config: SearchSinkConfig,
    private readonly client: SearchClient,
    readonly server: ServerInfo,
    private readonly context: SinkContext,
  ) {
    this.indexOptions = {
      prefix: config.indexPrefix ?? '',
      suffix: config.indexSuffix ?? '',
      monthly: config.monthlyIndexes,
      forensicBase: config.forensicIndexBase,
    };
  }

  /**
   * Connects (within the retry budget: a server still starting is waited for), tells Elasticsearch from
   * OpenSearch, and installs the index templates. Refused credentials and a host that is not a search
   * server fail at once.
   */
  static async open(name: string, config: SearchSinkConfig, context: SinkContext): Promise<SearchSink> {
    const client = new SearchClient(name, config, context.clientId ?? 'parsedmarc-ts');
    try {
      const server = await retryingRequest(config.connectRetrySeconds, context, `${name}: connecting`, () =>
        client.serverInfo(),
      );
      const sink = new SearchSink(name, config, client, server, context);
      await sink.installTemplates();
      for (const host of config.hosts) {
        if (host.startsWith('http:') && (config.user || config.apiKey)) {
          context.warn(`${name} (${host}): credentials are sent in clear over http; use https`);
        }
      }
      return sink;
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  private async installTemplates(): Promise<void> {
    const templates = searchIndexTemplates({
      ...this.indexOptions,
      shards: this.config.numberOfShards,
      replicas: this.config.numberOfReplicas,
    });
    for (const template of templates) {
      const response = await retryingRequest(
        this.config.retryBudgetSeconds,
        this.context,
        `${this.name}: index template`,
        () =>
          this.client.request(
            'PUT',
            `/_index_template/${encodeURIComponent(template.name)}`,
            JSON.stringify(template.body),
          ),
      );
      if (response.status >= 300) {
        throw new SinkError(
          'SINK_SETUP_REFUSED',
          `index template ${template.name} refused (HTTP ${response.status}${reasonOf(response.body)})`,
          { sink: this.name, target: response.host, status: response.status },
        );
      }
    }
  }

  async write(item: ResultItem): Promise<void> {
    const { save } = this.config;
    const type = item.parsed.report_type;
    if (!saves(save, type)) return;
    const result = searchDocumentsOf(item.parsed, this.indexOptions, item.part?.firstRecord ?? 0);
    if (!result.ok) {
      this.refusals.push({ sink: this.name, source: item.source, code: result.code, reason: result.reason });
      return;
    }
    for (const document of result.documents) {
      const lines = bulkActionLines(document);
      const bytes = Buffer.byteLength(lines);
      if (bytes > this.config.bulkBytes) {
        this.refusals.push({
          sink: this.name,
          source: item.source,
          code: 'DOCUMENT_TOO_LARGE',
          reason: `document ${document.id} is ${bytes} bytes, over the bulk limit of ${this.config.bulkBytes}`,
        });
        continue;
      }
      if (this.pendingBytes + bytes > this.config.bulkBytes) await this.dispatchPending();
      this.pending.push({ source: item.source, lines });
      this.pendingBytes += bytes;
      if (this.pending.length >= this.config.bulkDocuments) await this.dispatchPending();
    }
  }

  async flush(): Promise<SinkRefusal[]> {
    await this.dispatchPending();
    await this.inFlight.settle();
    const refusals = this.refusals;
    this.refusals = [];
    return refusals;
  }

  async close(): Promise<void> {
    await flushAndRelease(
      this,
      (line) => this.context.warn(line),
      () => this.client.close(),
    );
  }

  /** Waits for the batch in flight; its failure (retry budget spent) is thrown here. */
  /** Starts sending the buffered documents once the batch before them was answered. */
  private async dispatchPending(): Promise<void> {
    await this.inFlight.settle();
    if (this.pending.length === 0) return;
    await this.inFlight.start(() => this.sendPending());
  }

  /** Sends the buffered documents; items that failed transiently are sent again until answered for good. */
  private async sendPending(): Promise<void> {
    let batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let attempt = 0;
    const started = Date.now();
    while (batch.length > 0) {
      const retry = await this.sendBatch(batch);
      if (retry.length === 0) return;
      if (Date.now() - started > this.config.retryBudgetSeconds * 1000) {
        throw new SinkError(
          'SINK_UNAVAILABLE',
          `${retry.length} documents still rejected after ${this.config.retryBudgetSeconds} s of retries`,
          { sink: this.name, target: this.client.target },
        );
      }
      await sleep(backoffDelay(attempt++, backoff));
      batch = retry;
    }
  }

  /** One bulk request (retried whole while the server is away); returns the items to send again. */
  private async sendBatch(batch: PendingDocument[]): Promise<PendingDocument[]> {
    const body = batch.map((d) => d.lines).join('');
    const response = await retryingRequest(
      this.config.retryBudgetSeconds,
      this.context,
      `${this.name}: bulk`,
      () => this.client.request('POST', '/_bulk', body, 'application/x-ndjson'),
    );
    if (response.status === 413 && batch.length > 1) {
      // The server's http.max_content_length is below our batch size: halve and send both.
      const half = Math.ceil(batch.length / 2);
      return [...(await this.sendBatch(batch.slice(0, half))), ...(await this.sendBatch(batch.slice(half)))];
    }
    const items = (response.body as { items?: Record<string, unknown>[] } | null)?.items;
    if (response.status >= 300 || !Array.isArray(items) || items.length !== batch.length) {
      // The request as a whole was refused (a malformed body, a single document over the server's limit).
      for (const document of batch) {
        this.refusals.push({
          sink: this.name,
          source: document.source,
          code: response.status === 413 ? 'DOCUMENT_TOO_LARGE' : 'DOCUMENT_REFUSED',
          reason: `bulk request refused: HTTP ${response.status}${reasonOf(response.body)}`,
        });
      }
      return [];
    }
    const retry: PendingDocument[] = [];
    items.forEach((item, index) => {
      const outcome = classifyBulkItem(item);
      const document = batch[index]!;
      if (outcome.kind === 'retriable') retry.push(document);
      else if (outcome.kind === 'refused') {
        this.refusals.push({
          sink: this.name,
          source: document.source,
          code: outcome.code,
          reason: outcome.reason,
        });
      }
    });
    return retry;
  }
}
