/**
 * The Splunk HTTP Event Collector protocol over undici: event posts (gzip when asked), acknowledgement
 * polls, and the token check a collector answers without indexing anything (an empty post: "No data").
 *
 * Failures come out as SinkErrors: an unreachable or busy collector (connection errors, 408, 429, 5xx) as
 * retriable, with the wait its Retry-After asks for; a refused token (401, 403) as SINK_AUTH_FAILED; a
 * certificate we do not trust as SINK_TLS_FAILED. Other answers are returned for the caller to judge.
 * The token is sent in the Authorization header only and never appears in a message.
 */
import { randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import type { HecSinkConfig } from '../config.js';
import { SinkError } from '../errors.js';
import { httpAgent, isTransientStatus, postJson, retryAfterMs } from '../http.js';

/** The collector's JSON answer: {"text", "code"} and, depending on the call, ackId, acks, invalid-event-number. */
export interface HecAnswerBody {
  text?: string;
  code?: number;
  ackId?: number;
  acks?: Record<string, boolean>;
  'invalid-event-number'?: number;
}

export interface HecAnswer {
  status: number;
  body: HecAnswerBody | null;
}

/** The request path events go to; the original posts to the same one. */
export const HEC_EVENT_PATH = '/services/collector/event/1.0';
const ACK_PATH = '/services/collector/ack';

/** "Invalid token (code 4)": the collector's own words for a message. */
export const describeAnswer = (answer: HecAnswer): string => {
  const { text, code } = answer.body ?? {};
  const words = text === undefined ? '' : `: ${String(text).slice(0, 300)}`;
  return `HTTP ${answer.status}${words}${code === undefined ? '' : ` (code ${code})`}`;
};

export class HecClient {
  private readonly dispatcher: Agent;
  private readonly authorization: string;
  /** One data channel per sink instance: the collector counts its ackIds per channel. */
  readonly channel = randomUUID();

  constructor(
    readonly sinkName: string,
    private readonly config: Pick<
      HecSinkConfig,
      'url' | 'token' | 'caFile' | 'skipCertificateVerification' | 'timeoutSeconds'
    >,
    private readonly userAgent = 'parsedmarc-ts',
  ) {
    this.dispatcher = httpAgent(sinkName, config, 4);
    this.authorization = `Splunk ${config.token}`;
  }

  get target(): string {
    return this.config.url;
  }

  /** Posts events (one JSON object per line), gzip-compressed when `gzipped`. */
  postEvents(body: Buffer | string, gzipped: boolean): Promise<HecAnswer> {
    return this.request(HEC_EVENT_PATH, body, gzipped);
  }

  /** The token check: an empty post, which a collector answers "No data" (400, code 5) for a good token. */
  probe(): Promise<HecAnswer> {
    return this.request(HEC_EVENT_PATH, '', false);
  }

  /** Asks which of the given ackIds are indexed: {"acks": {"0": true, ...}}. */
  pollAcks(ackIds: readonly number[]): Promise<HecAnswer> {
    return this.request(
      `${ACK_PATH}?channel=${encodeURIComponent(this.channel)}`,
      JSON.stringify({ acks: ackIds }),
      false,
    );
  }

  private async request(path: string, body: Buffer | string, gzipped: boolean): Promise<HecAnswer> {
    const url = `${this.config.url}${path}`;
    const answer = await postJson(
      url,
      body,
      this.dispatcher,
      {
        ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
        accept: 'application/json',
        'user-agent': this.userAgent,
        authorization: this.authorization,
        'x-splunk-request-channel': this.channel,
      },
      {
        sink: this.sinkName,
        target: this.target,
        timeoutSeconds: this.config.timeoutSeconds,
        caHint: '--hec-ca-file',
      },
    );
    const text = await answer.body.text();
    const result: HecAnswer = { status: answer.statusCode, body: parseJson(text) };
    if (result.status === 401 || result.status === 403) {
      throw new SinkError('SINK_AUTH_FAILED', `the collector refused the token (${describeAnswer(result)})`, {
        sink: this.sinkName,
        target: this.target,
        status: result.status,
      });
    }
    if (isTransientStatus(result.status)) {
      throw new SinkError('SINK_UNAVAILABLE', `the collector answered ${describeAnswer(result)}`, {
        sink: this.sinkName,
        target: this.target,
        status: result.status,
        retryAfterMs: retryAfterMs(answer.headers['retry-after']),
      });
    }
    return result;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function parseJson(text: string): HecAnswerBody | null {
  if (text.length === 0) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as HecAnswerBody) : null;
  } catch {
    return null;
  }
}
