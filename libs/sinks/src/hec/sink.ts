/**
 * Splunk HTTP Event Collector: events shaped as the newer original sends them (one per aggregate record,
 * one per forensic and SMTP TLS report), in requests of bounded size, gzip-compressed.
 *
 * - Durable: without indexer acknowledgement, a collector's "Success" is the most it says, and flush()
 *   returns once every request was answered so. When the collector acknowledges (its answers carry an
 *   ackId: the token has indexer acknowledgement on), flush() returns only after every request's ackId was
 *   reported indexed; a request not acknowledged within ackTimeoutSeconds is sent again.
 * - Duplicates: HEC has no document ids, so what is sent twice is indexed twice. Retries happen only where
 *   the outcome is unknown (the connection dropped after sending, a timeout, an ack that never came); with
 *   acknowledgement on, a request is sent again only when it was not reported indexed.
 * - Transient failures (collector away, 429, 503 "Server is busy", 5xx) are retried with backoff, honouring
 *   Retry-After, within the retry budget; a refused token or index fails at once (a configuration error);
 *   an event the collector refuses (its answer names the event) is returned as a refusal and the events
 *   after it are sent again.
 * - One request in flight while the next batch is built, as in the search sink.
 */
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { hecEventsOf, type HecEventOptions } from '@parsedmarc-ts/output';
import { backoffDelay, sleep } from '@parsedmarc-ts/service-runtime';
import { saves, type HecSinkConfig } from '../config.js';
import { flushAndRelease, type ResultItem, type ResultSink, type SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';
import { OneInFlight, retryingRequest } from '../http.js';
import type { SinkContext } from '../registry.js';
import { describeAnswer, HecClient } from './client.js';

const gzip = promisify(gzipCallback);

interface PendingEvent {
  source: string;
  /** The event's JSON, one line. */
  line: string;
  bytes: number;
}

/** A request the collector accepted and has not yet reported indexed. */
interface UnackedRequest {
  events: PendingEvent[];
  bytes: number;
  sentAt: number;
}

/** Ack polls: quick at first (a collector usually indexes within a second), then every second. */
const ackPoll = { initialMs: 20, maxMs: 1000 };

export class HecSink implements ResultSink {
  readonly name = 'splunk-hec';
  private pending: PendingEvent[] = [];
  private pendingBytes = 0;
  private readonly inFlight = new OneInFlight();
  private refusals: SinkRefusal[] = [];
  private readonly unacked = new Map<number, UnackedRequest>();
  private unackedBytes = 0;
  /** Accepted requests whose ackId the collector gave out again (it restarted): outcome unknown. */
  private orphaned: UnackedRequest[] = [];
  private readonly eventOptions: HecEventOptions;

  private constructor(
    private readonly config: HecSinkConfig,
    private readonly client: HecClient,
    private readonly context: SinkContext,
  ) {
    this.eventOptions = {
      host: config.host ?? hostname(),
      index: config.index,
      source: config.source,
      forensicSourcetype: config.forensicSourcetype,
    };
  }

  /**
   * Connects (a collector still starting is waited for within connectRetrySeconds) and checks the token
   * without indexing anything. A refused token or a URL that is not a collector fails at once.
   */
  static async open(config: HecSinkConfig, context: SinkContext): Promise<HecSink> {
    const client = new HecClient('splunk-hec', config, context.clientId ?? 'parsedmarc-ts');
    try {
      const answer = await retryingRequest(
        config.connectRetrySeconds,
        context,
        'splunk-hec: connecting',
        () => client.probe(),
      );
      // "No data" (code 5) is a good token's answer to an empty post; some proxies answer 200.
      const code = answer.body?.code;
      if (!(code === 5 || (answer.status === 200 && code === 0))) {
        throw new SinkError(
          'SINK_INCOMPATIBLE',
          `${config.url} does not answer as a Splunk HTTP Event Collector (${describeAnswer(answer)} on POST)`,
          { sink: 'splunk-hec', target: config.url, status: answer.status },
        );
      }
      if (config.url.startsWith('http:')) {
        context.warn(`splunk-hec (${config.url}): the token is sent in clear over http; use https`);
      }
      return new HecSink(config, client, context);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  async write(item: ResultItem): Promise<void> {
    try {
      await this.take(item);
    } catch (error) {
      this.forgetUnflushed();
      throw error;
    }
  }

  async flush(): Promise<SinkRefusal[]> {
    try {
      await this.dispatchPending();
      await this.inFlight.settle();
      await this.awaitAcks(0);
    } catch (error) {
      this.forgetUnflushed();
      throw error;
    }
    const refusals = this.refusals;
    this.refusals = [];
    return refusals;
  }

  /**
   * After a failed write or flush the caller writes every item since the last flush again (the sink
   * contract): what is still buffered or waiting for acknowledgement here would be sent twice.
   */
  private forgetUnflushed(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight.forget();
    this.unacked.clear();
    this.unackedBytes = 0;
    this.orphaned = [];
    this.refusals = [];
  }

  private async take(item: ResultItem): Promise<void> {
    const { save } = this.config;
    const type = item.parsed.report_type;
    if (!saves(save, type)) return;
    const result = hecEventsOf(item.parsed, this.eventOptions, item.part?.firstRecord ?? 0);
    if (!result.ok) {
      this.refusals.push({ sink: this.name, source: item.source, code: result.code, reason: result.reason });
      return;
    }
    for (const line of result.events) {
      const bytes = Buffer.byteLength(line) + 1;
      // A single event over the batch size goes alone (the collector says whether it takes it).
      if (this.pending.length > 0 && this.pendingBytes + bytes > this.config.batchBytes) {
        await this.dispatchPending();
      }
      this.pending.push({ source: item.source, line, bytes });
      this.pendingBytes += bytes;
      if (this.pending.length >= this.config.batchEvents) await this.dispatchPending();
    }
  }

  async close(): Promise<void> {
    await flushAndRelease(
      this,
      (line) => this.context.warn(line),
      () => this.client.close(),
    );
  }

  private async dispatchPending(): Promise<void> {
    await this.inFlight.settle();
    // Bound what waits for acknowledgement (it is kept to be sent again): wait for acks past the limit.
    if (this.unackedBytes > this.config.maxUnackedBytes)
      await this.awaitAcks(this.config.maxUnackedBytes / 2);
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.inFlight.start(() => this.send(batch));
  }

  /** One request for the events (retried whole while the collector is away or busy). */
  private async send(events: PendingEvent[]): Promise<void> {
    if (events.length === 0) return;
    const text = `${events.map((e) => e.line).join('\n')}\n`;
    const body = this.config.gzip ? await gzip(text, { level: 1 }) : text;
    const answer = await retryingRequest(
      this.config.retryBudgetSeconds,
      this.context,
      'splunk-hec: sending',
      () => this.client.postEvents(body, this.config.gzip),
    );
    const code = answer.body?.code;
    if (answer.status === 200 && code === 0) {
      const ackId = answer.body?.ackId;
      if (typeof ackId === 'number') {
        const bytes = events.reduce((n, e) => n + e.bytes, 0);
        const earlier = this.unacked.get(ackId);
        if (earlier) {
          // The collector numbers its channel from 0 again: it restarted and forgot the earlier request,
          // which may never be indexed. Its ackId now means this one: send the earlier one again.
          this.unackedBytes -= earlier.bytes;
          this.orphaned.push(earlier);
        }
        this.unacked.set(ackId, { events, bytes, sentAt: Date.now() });
        this.unackedBytes += bytes;
      }
      return;
    }
    if (answer.status === 413) {
      if (events.length > 1) {
        // The collector's max_content_length is below our batch: halve and send both.
        const half = Math.ceil(events.length / 2);
        await this.send(events.slice(0, half));
        await this.send(events.slice(half));
        return;
      }
      this.refuse(
        events[0]!,
        'EVENT_TOO_LARGE',
        `the collector refused the event as too large (${describeAnswer(answer)})`,
      );
      return;
    }
    if (answer.status === 400 && code === 7) {
      throw new SinkError(
        'INVALID_SINK_CONFIG',
        `the collector refused the index ${JSON.stringify(this.config.index)} for this token (${describeAnswer(answer)})`,
        { sink: this.name, target: this.client.target, status: answer.status },
      );
    }
    const invalid = answer.body?.['invalid-event-number'];
    if (answer.status === 400 && typeof invalid === 'number' && invalid >= 0 && invalid < events.length) {
      // The events before it were taken; the one named is refused; the rest are sent again.
      this.refuse(
        events[invalid]!,
        'EVENT_REFUSED',
        `the collector refused the event (${describeAnswer(answer)})`,
      );
      await this.send(events.slice(invalid + 1));
      return;
    }
    if (answer.status === 400 && (code === 6 || code === 12 || code === 13)) {
      for (const event of events) {
        this.refuse(event, 'EVENT_REFUSED', `the collector refused the request (${describeAnswer(answer)})`);
      }
      return;
    }
    throw new SinkError(
      'SINK_INCOMPATIBLE',
      `unexpected answer from the collector: ${describeAnswer(answer)}`,
      { sink: this.name, target: this.client.target, status: answer.status },
    );
  }

  private refuse(event: PendingEvent, code: string, reason: string): void {
    this.refusals.push({ sink: this.name, source: event.source, code, reason });
  }

  /**
   * Polls the collector until at most `limitBytes` wait for acknowledgement. A request unacknowledged
   * for ackTimeoutSeconds is sent again (the collector may have lost it: a restart loses what it had not
   * indexed). Gives up with a retriable error when the retry budget is spent.
   */
  private async awaitAcks(limitBytes: number): Promise<void> {
    const started = Date.now();
    let idle = 0;
    for (;;) {
      while (this.orphaned.length > 0) {
        const orphaned = this.orphaned;
        this.orphaned = [];
        this.context.warn(
          `splunk-hec: the collector restarted (it gave out ackIds again); sending ${orphaned.length} unacknowledged requests again`,
        );
        for (const request of orphaned) await this.send(request.events);
      }
      if (!(this.unackedBytes > limitBytes && this.unacked.size > 0)) return;
      const ids = [...this.unacked.keys()].slice(0, 1000);
      const answer = await retryingRequest(
        this.config.retryBudgetSeconds,
        this.context,
        'splunk-hec: acknowledgement',
        () => this.client.pollAcks(ids),
      );
      const acks = answer.body?.acks;
      if (answer.status !== 200 || acks === undefined || acks === null || typeof acks !== 'object') {
        throw new SinkError(
          'SINK_INCOMPATIBLE',
          `the collector gave ackIds but its acknowledgement endpoint answered ${describeAnswer(answer)}`,
          { sink: this.name, target: this.client.target, status: answer.status },
        );
      }
      let progress = false;
      for (const id of ids) {
        if (acks[String(id)] === true) {
          this.unackedBytes -= this.unacked.get(id)!.bytes;
          this.unacked.delete(id);
          progress = true;
        }
      }
      const now = Date.now();
      const expired = [...this.unacked.entries()].filter(
        ([, request]) => now - request.sentAt > this.config.ackTimeoutSeconds * 1000,
      );
      if (expired.length > 0) {
        if (now - started > this.config.retryBudgetSeconds * 1000) {
          throw new SinkError(
            'SINK_UNAVAILABLE',
            `${this.unacked.size} requests not acknowledged as indexed after ${this.config.retryBudgetSeconds} s`,
            { sink: this.name, target: this.client.target },
          );
        }
        this.context.warn(
          `splunk-hec: ${expired.length} requests not acknowledged within ${this.config.ackTimeoutSeconds} s; sending them again`,
        );
        for (const [id, request] of expired) {
          this.unacked.delete(id);
          this.unackedBytes -= request.bytes;
          await this.send(request.events);
        }
        progress = true;
      }
      if (progress) idle = 0;
      if (this.orphaned.length === 0 && this.unackedBytes > limitBytes && this.unacked.size > 0)
        await sleep(backoffDelay(idle++, ackPoll));
    }
  }
}
