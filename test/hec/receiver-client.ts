/**
 * The Splunk HEC test receiver (tools/hec/receiver.mjs) for tests: the shared instance (HEC_URL, else
 * started with tools/hec/ctl.sh), private instances that a test may SIGKILL and start again on the same port
 * and data, and the receiver's control API (tokens, what they indexed, counters). Every test creates its own
 * tokens (random UUIDs), so tests sharing the receiver never see each other's events or faults.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServer } from '../servers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const receiverScript = join(repoRoot, 'tools/hec/receiver.mjs');

/** A token's settings (PUT/PATCH /_stub/tokens/<token>); what is left out keeps its default. */
export interface TokenSettings {
  /** index of events that name none (default "main") */
  index?: string;
  /** indexes an event may name (default [index]); another one is refused with code 7 */
  indexes?: string[];
  /** indexer acknowledgement: requests need a channel, answers carry an ackId (default false) */
  ack?: boolean;
  /** accepted events are indexed this long after the answer (default 0) */
  indexDelayMs?: number;
  /** accepted events wait, not indexed, until this is set back to false (lost if the receiver restarts) */
  holdIndexing?: boolean;
  /** the next n event posts with events are indexed, then holdIndexing turns on (default null: never) */
  holdIndexingAfterRequests?: number | null;
  /** the next n event posts are answered 503 code 9 "Server is busy" */
  busyRequests?: number;
  /** Retry-After seconds on those 503 answers (default null: no header) */
  retryAfterSeconds?: number | null;
  /** every event post waits this long before it is processed */
  delayMs?: number;
  /** the next n event posts are processed (events indexed) and their connection destroyed unanswered */
  dropRequests?: number;
  /** event posts are refused with 403 code 1 "Token disabled" */
  disabled?: boolean;
}

/** One indexed event, as the receiver stored it (Splunk's defaults filled in). */
export interface StoredEvent {
  /** epoch seconds: the event's own, else its arrival */
  time: number;
  /** the event's, else the receiver's host name */
  host: string;
  /** the event's, else "http:hec" */
  source: string;
  /** the event's, else "httpevent" */
  sourcetype: string;
  /** the event's, else the token's default index */
  index: string;
  /** indexed fields ({} when none) */
  fields: Record<string, unknown>;
  event: unknown;
  /** the request's channel (header or ?channel=), null without one */
  channel: string | null;
  /** number of the token's event post that carried it, from 1 (equal = same request; goes on after a restart) */
  request: number;
}

/** A stored event as the JSON line our sink sent it (the receiver keeps the fields and their order). */
export const sentLineOf = (e: StoredEvent): string =>
  JSON.stringify({
    host: e.host,
    source: e.source,
    index: e.index,
    sourcetype: e.sourcetype,
    time: e.time,
    event: e.event,
  });

/** A token's counters since it was created or the receiver (re)started; `indexed` counts what is on disk. */
export interface HecStats {
  /** event posts with this token */
  requests: number;
  /** answered 200 */
  accepted: number;
  /** answered 4xx/5xx other than busy (disabled, bad data, index, channel, too large...) */
  refused: number;
  /** answered 503 busy */
  busy: number;
  /** connection destroyed unanswered (dropRequests) */
  dropped: number;
  /** with Content-Encoding: gzip */
  gzipRequests: number;
  /** events accepted for indexing (also those before a bad event, and those of dropped requests) */
  events: number;
  /** request body bytes, as sent (compressed) */
  bytesIn: number;
  /** ack polls answered */
  acksPolled: number;
  /** events stored (in the events file, including earlier runs) */
  indexed: number;
  /** events accepted but not indexed yet (indexDelayMs, holdIndexing) */
  pending: number;
}

/** The shared receiver's URL: HEC_URL, else the receiver started with tools/hec/ctl.sh. */
export const hecUrl = (): string => testServer('hec', 'HEC_URL');

async function control<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

const tokenPath = (token: string): string => `/_stub/tokens/${encodeURIComponent(token)}`;

/** Creates a token (a new random UUID unless `token` is given; an existing one gets these settings). */
export async function createToken(
  url: string,
  settings: TokenSettings = {},
  token: string = randomUUID(),
): Promise<string> {
  await control(url, 'PUT', tokenPath(token), settings);
  return token;
}

/** Changes some of a token's settings; answers all of them. */
export const updateToken = (
  url: string,
  token: string,
  changes: TokenSettings,
): Promise<Required<TokenSettings>> => control(url, 'PATCH', tokenPath(token), changes);

/** A token's settings as the receiver holds them now (its fault counters count down). */
export const settingsOf = (url: string, token: string): Promise<Required<TokenSettings>> =>
  control(url, 'GET', tokenPath(token));

/** Removes a token and its events. */
export async function deleteToken(url: string, token: string): Promise<void> {
  await control(url, 'DELETE', tokenPath(token));
}

/** The token's indexed events, in the order they were indexed. */
export const eventsOf = (url: string, token: string): Promise<StoredEvent[]> =>
  control(url, 'GET', `${tokenPath(token)}/events`);

export const statsOf = (url: string, token: string): Promise<HecStats> =>
  control(url, 'GET', `${tokenPath(token)}/stats`);

/** Polls `condition` every 50 ms until it holds; throws after `timeoutMs` (never waits for a time). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A receiver of the test's own (spawnReceiver). */
export interface PrivateReceiver {
  /** http://127.0.0.1:<port> (the same after restart) */
  readonly url: string;
  readonly port: number;
  /** its --data directory (kept by kill and restart) */
  readonly dataDir: string;
  /** pid of the current process */
  readonly pid: number;
  /** SIGKILL, resolved once the process is gone: nothing is flushed, in-memory state is lost */
  kill(): Promise<void>;
  /** starts it again (after kill or stop) on the same port, data directory and arguments */
  restart(): Promise<void>;
  /** SIGTERM; removes the data directory if spawnReceiver created it */
  stop(): Promise<void>;
}

/**
 * Starts a receiver of the test's own on `port` (default: an ephemeral one) with `dataDir` (default: a new
 * temporary directory) and extra command-line `args` (e.g. ['--max-content-length', '4096',
 * '--token', 'T:index']); resolves once it listens.
 */
export async function spawnReceiver(
  options: { port?: number; dataDir?: string; args?: string[] } = {},
): Promise<PrivateReceiver> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pdm-hec-'));
  const args = options.args ?? [];
  let port = options.port ?? 0;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const proc = spawn(
      process.execPath,
      [receiverScript, '--port', String(port), '--data', dataDir, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /^listening (\d+)$/m.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      proc.once('exit', (code, signal) =>
        reject(new Error(`receiver exited (${code ?? signal}) before listening: ${stderr}`)),
      );
      proc.once('error', reject);
    });
    child = proc;
  };

  const ended = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => proc.once('exit', () => resolve()));

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = null;
    const gone = ended(proc);
    proc.kill(name);
    await gone;
  };

  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dataDir,
    get pid() {
      return child?.pid ?? 0;
    },
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGKILL');
      await start();
    },
    async stop() {
      await signal('SIGTERM');
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
