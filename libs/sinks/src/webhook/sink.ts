/**
 * Webhooks, as the original's [webhook] posts them: each report of a saved type as one JSON document
 * (indented, or one line with prettify_json off) to the URL of its type. Retried with backoff while the
 * receiver is away or answers 408, 429 or 5xx; any other refusal is reported. Each request carries an
 * Idempotency-Key (the report's identity), so a receiver can drop the copy a retry or a re-run sends.
 * Only a URL's origin ever reaches a message: webhook paths often hold a secret.
 */
import { reportKey } from '@parsedmarc-ts/avro';
import { AggregateJsonWriter, compactJson, indentedJson } from '@parsedmarc-ts/output';
import type { ParsedReport } from '@parsedmarc-ts/parser';
import { interceptors, type Dispatcher } from 'undici';
import { saves, type WebhookSinkConfig } from '../config.js';
import {
  flushAndRelease,
  isFirstPart,
  isLastPart,
  type ResultItem,
  type ResultSink,
  type SinkRefusal,
} from '../contract.js';
import { SinkError } from '../errors.js';
import { httpAgent, isTransientStatus, postJson, retryAfterMs, retryingRequest } from '../http.js';
import type { SinkContext } from '../registry.js';

const urlKey = { aggregate: 'aggregateUrl', forensic: 'forensicUrl', smtp_tls: 'smtpTlsUrl' } as const;

export class WebhookSink implements ResultSink {
  readonly name = 'webhook';
  private readonly dispatcher: Dispatcher;
  private readonly userAgent: string;
  private refusals: SinkRefusal[] = [];
  /** The text of the aggregate report whose parts are arriving. */
  private aggregateText: string[] = [];
  private readonly aggregateWriter: AggregateJsonWriter;

  private constructor(
    private readonly config: WebhookSinkConfig,
    private readonly context: SinkContext,
  ) {
    this.dispatcher = httpAgent(this.name, config, 4).compose(interceptors.redirect({ maxRedirections: 5 }));
    this.userAgent = context.clientId ?? 'parsedmarc-ts';
    this.aggregateWriter = new AggregateJsonWriter(
      (chunk) => this.aggregateText.push(chunk),
      0,
      config.prettify ? 'indented' : 'compact',
    );
  }

  static async open(config: WebhookSinkConfig, context: SinkContext): Promise<WebhookSink> {
    for (const url of [config.aggregateUrl, config.forensicUrl, config.smtpTlsUrl]) {
      if (url?.startsWith('http:')) {
        context.warn(`webhook (${new URL(url).origin}): reports are sent in clear over http; use https`);
      }
    }
    return new WebhookSink(config, context);
  }

  async write(item: ResultItem): Promise<void> {
    const type = item.parsed.report_type;
    const url = this.config[urlKey[type]];
    if (url === null || !saves(this.config.save, type)) return;
    if (item.parsed.report_type === 'aggregate') {
      this.aggregateWriter.addPart(item.parsed.report, isFirstPart(item), isLastPart(item));
      if (!isLastPart(item)) return;
      const body = this.aggregateText.join('');
      this.aggregateText = [];
      await this.post(url, body, item);
      return;
    }
    const report = item.parsed.report;
    await this.post(url, this.config.prettify ? indentedJson(report) : compactJson(report), item);
  }

  /** Each report was posted when written: nothing waits here. */
  async flush(): Promise<SinkRefusal[]> {
    const refusals = this.refusals;
    this.refusals = [];
    return refusals;
  }

  async close(): Promise<void> {
    await flushAndRelease(
      this,
      (line) => this.context.warn(line),
      () => this.dispatcher.close(),
    );
  }

  private async post(url: string, body: string, item: ResultItem): Promise<void> {
    const target = new URL(url).origin;
    const status = await retryingRequest(
      this.config.retryBudgetSeconds,
      this.context,
      `webhook (${target})`,
      () => this.send(url, target, body, item.parsed),
    );
    if (status >= 200 && status < 300) return;
    this.refusals.push({
      sink: this.name,
      source: item.source,
      code: 'WEBHOOK_REFUSED',
      reason: `${target} answered HTTP ${status}`,
    });
  }

  /** One POST; the status of an answer that is neither transient nor a refused credential. */
  private async send(url: string, target: string, body: string, parsed: ParsedReport): Promise<number> {
    const answer = await postJson(
      url,
      body,
      this.dispatcher,
      { 'user-agent': this.userAgent, 'idempotency-key': reportKey(parsed) },
      { sink: this.name, target, timeoutSeconds: this.config.timeoutSeconds, caHint: '[webhook] ca_file' },
    );
    await answer.body.dump();
    const status = answer.statusCode;
    if (status === 401 || status === 403) {
      throw new SinkError('SINK_AUTH_FAILED', `${target} refused the request (HTTP ${status})`, {
        sink: this.name,
        target,
        status,
      });
    }
    if (isTransientStatus(status)) {
      throw new SinkError('SINK_UNAVAILABLE', `${target} answered HTTP ${status}`, {
        sink: this.name,
        target,
        status,
        retryAfterMs: retryAfterMs(answer.headers['retry-after']),
      });
    }
    return status;
  }
}
