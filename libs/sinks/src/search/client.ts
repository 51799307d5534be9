/**
 * A thin REST client for Elasticsearch 8.x and OpenSearch 2.x/3.x: both speak the same JSON over HTTP for
 * everything this sink needs (cluster health, index templates, _bulk), so one client over undici serves
 * both, where the vendors' clients each refuse the other server. Requests go to the hosts in turn; a host
 * that cannot be reached is skipped for the next one within the same attempt.
 *
 * Failures come out as SinkErrors: unreachable and overloaded servers as retriable, refused credentials as
 * SINK_AUTH_FAILED. Other answers (400, 404, 413...) are returned for the caller to judge.
 */
import { request, type Agent, type Dispatcher } from 'undici';
import type { SearchSinkConfig } from '../config.js';
import { SinkError } from '../errors.js';
import { httpAgent, isTlsError, isTransientStatus, networkFailureText } from '../http.js';

export interface SearchResponse {
  status: number;
  /** The parsed JSON body (null when empty or not JSON). */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The host that answered. */
  host: string;
}

/** Which server is behind the hosts, for messages and the few places they differ. */
export interface ServerInfo {
  distribution: 'elasticsearch' | 'opensearch';
  version: string;
}

export class SearchClient {
  private readonly dispatcher: Agent;
  private readonly authorization: string | null;
  private next = 0;

  constructor(
    readonly sinkName: string,
    private readonly config: Pick<
      SearchSinkConfig,
      'hosts' | 'user' | 'password' | 'apiKey' | 'caFile' | 'skipCertificateVerification' | 'timeoutSeconds'
    >,
    private readonly userAgent = 'parsedmarc-ts',
  ) {
    this.dispatcher = httpAgent(sinkName, config, 8);
    this.authorization = config.apiKey
      ? `ApiKey ${config.apiKey}`
      : config.user
        ? `Basic ${Buffer.from(`${config.user}:${config.password ?? ''}`).toString('base64')}`
        : null;
  }

  /** The hosts, for messages (they carry no credential: the config refuses credentials in URLs). */
  get target(): string {
    return this.config.hosts.join(', ');
  }

  /**
   * One attempt: each host in turn until one answers. Throws a retriable SinkError when none could be
   * reached or the answer was 429/502/503/504, SINK_AUTH_FAILED on 401/403.
   */
  async request(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: string | Buffer,
    contentType = 'application/json',
  ): Promise<SearchResponse> {
    const hosts = this.config.hosts;
    let lastError: unknown = null;
    for (let tried = 0; tried < hosts.length; tried++) {
      const host = hosts[this.next % hosts.length]!;
      this.next += 1;
      let answer: Dispatcher.ResponseData;
      try {
        answer = await request(`${host}${path}`, {
          method,
          body,
          dispatcher: this.dispatcher,
          headers: {
            ...(body !== undefined ? { 'content-type': contentType } : {}),
            accept: 'application/json',
            'user-agent': this.userAgent,
            ...(this.authorization ? { authorization: this.authorization } : {}),
          },
        });
      } catch (error) {
        if (isTlsError(error)) {
          throw new SinkError(
            'SINK_TLS_FAILED',
            `TLS with ${host} failed: ${(error as Error).message} (a private CA: --elasticsearch-ca-file)`,
            { sink: this.sinkName, target: host },
            { cause: error },
          );
        }
        // Anything else on the way there (refused, reset, timed out, a socket closed early): try the next
        // host, then retry with backoff.
        lastError = error;
        continue;
      }
      const text = await answer.body.text();
      const response: SearchResponse = {
        status: answer.statusCode,
        body: parseJson(text),
        headers: answer.headers,
        host,
      };
      if (response.status === 401 || response.status === 403) {
        throw new SinkError(
          'SINK_AUTH_FAILED',
          `${host} refused the credentials (HTTP ${response.status}${reasonOf(response.body)})`,
          { sink: this.sinkName, target: host, status: response.status },
        );
      }
      if (isTransientStatus(response.status)) {
        throw new SinkError(
          'SINK_UNAVAILABLE',
          `${host} answered HTTP ${response.status}${reasonOf(response.body)}`,
          { sink: this.sinkName, target: host, status: response.status },
        );
      }
      return response;
    }
    const message =
      lastError === null ? 'no host' : networkFailureText(lastError, this.config.timeoutSeconds);
    throw new SinkError(
      'SINK_UNREACHABLE',
      `cannot reach ${this.target}: ${message}`,
      { sink: this.sinkName, target: this.target },
      { cause: lastError },
    );
  }

  /** Which server this is: Elasticsearch says so in a header, OpenSearch in its root document. */
  async serverInfo(): Promise<ServerInfo> {
    const root = await this.request('GET', '/');
    const product = root.headers['x-elastic-product'];
    const version = (root.body as { version?: { number?: string; distribution?: string } } | null)?.version;
    if (version?.distribution === 'opensearch') {
      return { distribution: 'opensearch', version: version.number ?? 'unknown' };
    }
    if (product === 'Elasticsearch') {
      if (version?.number) return { distribution: 'elasticsearch', version: version.number };
      // A build without the root handler (405): the node info has the version.
      const nodes = await this.request('GET', '/_nodes/_local?filter_path=nodes.*.version');
      const info = (nodes.body as { nodes?: Record<string, { version?: string }> } | null)?.nodes;
      const first = info ? Object.values(info)[0] : undefined;
      return { distribution: 'elasticsearch', version: first?.version ?? 'unknown' };
    }
    throw new SinkError(
      'SINK_INCOMPATIBLE',
      `${root.host} is neither Elasticsearch nor OpenSearch (HTTP ${root.status} on GET /)`,
      { sink: this.sinkName, target: root.host, status: root.status },
    );
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The server's own reason, shortened, for a message: ": <type>: <reason>". */
export function reasonOf(body: unknown): string {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return `: ${error.slice(0, 300)}`;
  if (error && typeof error === 'object') {
    const { type, reason } = error as { type?: string; reason?: string };
    return `: ${[type, reason].filter(Boolean).join(': ').slice(0, 300)}`;
  }
  return '';
}
