#!/usr/bin/env node
// A protocol-faithful stand-in for Splunk's HTTP Event Collector (HEC), for tests: no Splunk can be installed
// on a test machine, so this speaks HEC's event, ack and health endpoints with Splunk's documented answers,
// stores what it indexes durably, and has a control API (/_stub/...) to create tokens, inject faults per
// token and read back what was indexed. Node built-ins only. Started by tools/hec/ctl.sh, or by a test.
//
//   node tools/hec/receiver.mjs --port N --data DIR [--max-content-length BYTES] [--token T[:index]]...
//
// Binds 127.0.0.1. Prints `listening <port>` on stdout once it accepts connections (--port 0 = ephemeral);
// logs go to stderr and never show more than a token's first 4 characters.
//   --max-content-length  largest body, raw and after gunzip (default 838860800, Splunk's max_content_length)
//   --token T[:index]     create token T (default index main) unless <data>/tokens.json already has it
//
// HEC (answers are JSON {"text","code"}; Content-Type application/json):
//   POST /services/collector, /services/collector/event, /services/collector/event/1.0
//     Authorization: Splunk <token>. Body: JSON objects back to back or separated by white space, each with
//     `event` (required, not "" or null) and optional time (epoch seconds, number or numeric string), host,
//     source, sourcetype, index, fields (flat object of indexed fields). Content-Encoding: gzip is inflated.
//     Checks, in this order: 401 code 2 no Authorization / code 3 not "Splunk <token>"; 403 code 4 unknown
//     token / code 1 token disabled; 413 code 27 body over the limit (raw, or inflated); 503 code 9 busy
//     (fault injection, with Retry-After when set); 400 code 10/11 channel missing / not a UUID (ack tokens);
//     delayMs; 400 code 6 bad gzip, 415 code 6 another Content-Encoding; 400 code 5 empty body; then per
//     event, stopping at the first bad one (its 0-based number in "invalid-event-number"; the events before
//     it are indexed, as Splunk does): 6 invalid JSON or not an object or a bad time/host/source/sourcetype/
//     index type, 12 no event, 13 blank event, 7 index not allowed for the token, 15 bad fields.
//     Success: 200 {"text":"Success","code":0}, plus "ackId" (0, 1, ... per channel) on an ack token.
//     Without ack the events are on disk (fdatasync) before the answer; with ack they are indexed after the
//     token's indexDelayMs, or not while holdIndexing is on, and the ack endpoint tells when.
//     Defaults of an event's envelope, as Splunk fills them: time = arrival, host = this machine's host name,
//     source = "http:hec", sourcetype = "httpevent", index = the token's default index.
//   POST /services/collector/ack[/1.0]?channel=<uuid> (or X-Splunk-Request-Channel) body {"acks":[0,1]}
//     -> {"acks":{"0":true,"1":false}}; an ackId answered true is forgotten (false when asked again).
//     400 code 14 on a token without ack.
//   GET /services/collector/health[/1.0] -> 200 {"text":"HEC is healthy","code":17} (no token needed).
//   Other paths: 404 code 404; another method on a known path: 405 code 405 with Allow.
//
// Control API (not Splunk), <token> URL-encoded in the path:
//   PUT    /_stub/tokens/<token>  {index?, indexes?, ack?, indexDelayMs?, holdIndexing?,
//          holdIndexingAfterRequests?, busyRequests?,
//          retryAfterSeconds?, delayMs?, dropRequests?, disabled?} creates (201) or replaces the settings
//          (200; the events, counters and ack state stay) and answers the settings; unknown keys are 400.
//   PATCH  /_stub/tokens/<token>  changes the given settings (holdIndexing false releases the held events)
//   GET    /_stub/tokens/<token>  the settings
//   GET    /_stub/tokens/<token>/events  JSON array of the stored events, in the order they were indexed:
//          {time, host, source, sourcetype, index, fields, event, channel, request}
//   GET    /_stub/tokens/<token>/stats   {requests, accepted, refused, busy, dropped, gzipRequests, events,
//          bytesIn, acksPolled, indexed, pending}
//   DELETE /_stub/tokens/<token>  removes the token and its events
//   Fault injection: busyRequests n = the next n event posts get 503; holdIndexingAfterRequests n = the next
//   n event posts with events are indexed, then holdIndexing turns on; dropRequests n = the next n event
//   posts are processed (events indexed) and their connection destroyed without an answer; delayMs = wait
//   that long before processing each event post; disabled = 403 code 1. Counters count down and persist.
//
// Storage, in DIR: tokens.json (token -> settings), events/<sha256 of the token>.jsonl (one stored event
// per line). A restart reloads both; the ack state, held and delayed events are in memory only and lost
// (as Splunk's are). `request` numbers a token's event posts from 1 and carries on after a restart.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { constants as bufferConstants } from 'node:buffer';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, truncateSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';

const gunzipAsync = promisify(gunzip);

// ---------------------------------------------------------------------------------------------------------
// Command line

/** @returns {{ port: number, data: string, maxContentLength: number, tokens: { token: string, index: string }[] }} */
function parseArgs(argv) {
  const options = { port: 18088, data: '', maxContentLength: 838_860_800, tokens: [] };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${name} needs a value`);
    i++;
    if (name === '--port') options.port = Number(value);
    else if (name === '--data') options.data = value;
    else if (name === '--max-content-length') options.maxContentLength = Number(value);
    else if (name === '--token') {
      const at = value.indexOf(':');
      const token = at < 0 ? value : value.slice(0, at);
      if (!token) usage('--token needs a token');
      options.tokens.push({ token, index: at < 0 ? 'main' : value.slice(at + 1) || 'main' });
    } else usage(`unknown option ${name}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) usage('bad --port');
  if (!options.data) usage('--data DIR is required');
  if (!Number.isSafeInteger(options.maxContentLength) || options.maxContentLength < 1) {
    usage('bad --max-content-length');
  }
  return options;
}

function usage(problem) {
  process.stderr.write(
    `receiver.mjs: ${problem}\n` +
      'usage: node receiver.mjs --port N --data DIR [--max-content-length BYTES] [--token T[:index]]...\n',
  );
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));
const HOST = '127.0.0.1';
const DATA = options.data;
const EVENTS_DIR = join(DATA, 'events');
const TOKENS_FILE = join(DATA, 'tokens.json');
const MAX_CONTENT_LENGTH = options.maxContentLength;
/** Control API bodies are small settings objects. */
const MAX_CONTROL_BODY = 1 << 20;
/** Large bodies are parsed in pieces of about this many bytes (cut at newlines): a JS string cannot hold
 * 800 MB, and the event loop gets a turn between pieces (health checks stay answered). */
const SEGMENT_BYTES = 64 << 20;
/** What Splunk stamps on an event that names no host: the indexer's host name. */
const DEFAULT_HOST = hostname();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Never log a token: its first 4 characters at most. */
const shown = (token) => `${token.slice(0, 4)}…`;
const log = (message) => process.stderr.write(`${new Date().toISOString()} hec-receiver: ${message}\n`);

// ---------------------------------------------------------------------------------------------------------
// Splunk's answers (text and code as documented in "Troubleshoot HTTP Event Collector")

const answers = {
  success: [200, { text: 'Success', code: 0 }],
  tokenDisabled: [403, { text: 'Token disabled', code: 1 }],
  tokenRequired: [401, { text: 'Token is required', code: 2 }],
  invalidAuthorization: [401, { text: 'Invalid authorization', code: 3 }],
  invalidToken: [403, { text: 'Invalid token', code: 4 }],
  noData: [400, { text: 'No data', code: 5 }],
  invalidDataFormat: [400, { text: 'Invalid data format', code: 6 }],
  incorrectIndex: [400, { text: 'Incorrect index', code: 7 }],
  internalError: [500, { text: 'Internal server error', code: 8 }],
  busy: [503, { text: 'Server is busy', code: 9 }],
  channelMissing: [400, { text: 'Data channel is missing', code: 10 }],
  invalidChannel: [400, { text: 'Invalid data channel', code: 11 }],
  eventRequired: [400, { text: 'Event field is required', code: 12 }],
  eventBlank: [400, { text: 'Event field cannot be blank', code: 13 }],
  ackDisabled: [400, { text: 'ACK is disabled', code: 14 }],
  indexedFields: [400, { text: 'Error in handling indexed fields', code: 15 }],
  healthy: [200, { text: 'HEC is healthy', code: 17 }],
  // Not in Splunk's code table: Splunk refuses a body over max_content_length with 413; the code is ours.
  tooLarge: [413, { text: 'Content too large', code: 27 }],
  unsupportedEncoding: [415, { text: 'Unsupported content encoding', code: 6 }],
  notFound: [404, { text: 'The requested URL was not found on this server.', code: 404 }],
  methodNotAllowed: [405, { text: 'Method Not Allowed', code: 405 }],
};

class HecError extends Error {
  /** @param {keyof typeof answers} answer @param {number} [eventNumber] */
  constructor(answer, eventNumber) {
    super(answers[answer][1].text);
    this.answer = answer;
    this.eventNumber = eventNumber;
  }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendAnswer(res, answer, extra = {}, headers = {}) {
  const [status, body] = answers[answer];
  send(res, status, { ...body, ...extra }, headers);
}

// ---------------------------------------------------------------------------------------------------------
// Tokens: settings (persisted in tokens.json), counters, ack channels and the event log (in memory/on disk)

/** Settings a token has, with their defaults and a check of the value a control request gives. */
const settingTypes = {
  index: (v) => typeof v === 'string' && v !== '',
  indexes: (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== ''),
  ack: (v) => typeof v === 'boolean',
  indexDelayMs: (v) => Number.isInteger(v) && v >= 0,
  holdIndexing: (v) => typeof v === 'boolean',
  holdIndexingAfterRequests: (v) => v === null || (Number.isInteger(v) && v >= 0),
  busyRequests: (v) => Number.isInteger(v) && v >= 0,
  retryAfterSeconds: (v) => v === null || (Number.isInteger(v) && v >= 0),
  delayMs: (v) => Number.isInteger(v) && v >= 0,
  dropRequests: (v) => Number.isInteger(v) && v >= 0,
  disabled: (v) => typeof v === 'boolean',
};

function defaultSettings() {
  return {
    index: 'main',
    indexes: ['main'],
    ack: false,
    indexDelayMs: 0,
    holdIndexing: false,
    holdIndexingAfterRequests: null,
    busyRequests: 0,
    retryAfterSeconds: null,
    delayMs: 0,
    dropRequests: 0,
    disabled: false,
  };
}

/** Checks a control request's settings; `base` = the settings it changes (PATCH) or the defaults (PUT). */
function settingsFrom(body, base) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ControlError(400, 'settings must be a JSON object');
  }
  const settings = { ...base };
  for (const [key, value] of Object.entries(body)) {
    const valid = settingTypes[key];
    if (!valid) throw new ControlError(400, `unknown setting ${key}`);
    if (!valid(value)) throw new ControlError(400, `bad value for ${key}: ${JSON.stringify(value)}`);
    settings[key] = key === 'indexes' ? [...new Set(value)] : value;
  }
  // Like Splunk's token form: the default index is one of the allowed ones. A new default index without an
  // allowed list is the only allowed index.
  if ('index' in body && !('indexes' in body) && !base.indexes.includes(settings.index)) {
    settings.indexes = [settings.index];
  }
  if (!settings.indexes.includes(settings.index)) {
    throw new ControlError(400, `the default index ${settings.index} is not in indexes`);
  }
  return settings;
}

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const newStats = () => ({
  requests: 0,
  accepted: 0,
  refused: 0,
  busy: 0,
  dropped: 0,
  gzipRequests: 0,
  events: 0,
  bytesIn: 0,
  acksPolled: 0,
});

/**
 * The events a token indexed: <data>/events/<sha256(token)>.jsonl, one stored event per line. Appends are
 * group-committed: requests that arrive while a write+fsync runs go together into the next one, so each
 * request costs at most one write and one fdatasync, and the order of the file is the order of appends.
 */
class EventLog {
  constructor(path) {
    this.path = path;
    /** @type {import('node:fs/promises').FileHandle | null} */
    this.file = null;
    /** @type {{ data: Buffer, count: number, resolve: () => void, reject: (e: Error) => void }[]} */
    this.queue = [];
    this.flushing = null;
    /** bytes and lines durably written (a reader never sees a half-written line) */
    this.bytes = 0;
    this.count = 0;
    this.lastRequest = 0;
    this.load();
  }

  /** Size, line count and last request number of what an earlier run wrote (a torn last line, left by a
   * kill in the middle of a write that was never acknowledged, is cut off). */
  load() {
    let fd;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if (error.code === 'ENOENT') return;
      throw error;
    }
    let size;
    let complete = 0;
    let lastLineStart = 0;
    try {
      size = fstatSync(fd).size;
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (let position = 0; position < size;) {
        const n = readSync(fd, chunk, 0, chunk.length, position);
        if (n <= 0) break;
        for (let i = chunk.indexOf(10); i >= 0 && i < n; i = chunk.indexOf(10, i + 1)) {
          this.count++;
          lastLineStart = complete;
          complete = position + i + 1;
        }
        position += n;
      }
    } finally {
      closeSync(fd);
    }
    this.bytes = complete;
    if (complete < size) {
      log(`${this.path}: cutting off a torn last line (${size - complete} bytes)`);
      truncateSync(this.path, complete);
    }
    if (this.count > 0) {
      const last = readRange(this.path, lastLineStart, complete - lastLineStart);
      this.lastRequest = JSON.parse(last.toString('utf8')).request ?? 0;
    }
  }

  /** Appends stored-event lines (`data`, `count` lines); resolves once they are on disk. */
  append(data, count) {
    return new Promise((resolve, reject) => {
      this.queue.push({ data, count, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  async flush() {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const data = batch.length === 1 ? batch[0].data : Buffer.concat(batch.map((b) => b.data));
      try {
        if (!this.file) {
          const created = this.bytes === 0;
          this.file = await open(this.path, 'a');
          // a new file's directory entry must be durable too
          if (created) await syncDirectory(EVENTS_DIR);
        }
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await this.file.write(data, written, data.length - written);
          written += bytesWritten;
        }
        await this.file.datasync();
        this.bytes += data.length;
        for (const item of batch) this.count += item.count;
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.flushing = null;
  }

  /** Waits for the appends queued so far. */
  async idle() {
    while (this.flushing) await this.flushing;
  }

  /** The durably written lines, parsed. */
  async read() {
    if (this.bytes === 0) return [];
    const bytes = this.bytes;
    const data = await readFile(this.path);
    const text = data.subarray(0, bytes).toString('utf8');
    const events = [];
    for (let start = 0; start < text.length;) {
      const end = text.indexOf('\n', start);
      events.push(canonical(JSON.parse(text.slice(start, end))));
      start = end + 1;
    }
    return events;
  }

  async close() {
    await this.idle();
    await this.file?.close();
    this.file = null;
  }
}

function readRange(path, position, length) {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, position);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

async function syncDirectory(path) {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

class Token {
  constructor(token, settings) {
    this.token = token;
    this.settings = settings;
    this.hash = createHash('sha256').update(token).digest('hex');
    this.log = new EventLog(join(EVENTS_DIR, `${this.hash}.jsonl`));
    this.stats = newStats();
    /** ack state per channel: the next ackId and, per unanswered ackId, whether it is indexed */
    this.channels = new Map();
    /** batches accepted while holdIndexing is on (lost on restart, as Splunk's in-memory queue is) */
    this.held = [];
    /** timers of batches waiting for indexDelayMs */
    this.timers = new Set();
    /** events accepted, not yet indexed */
    this.pending = 0;
    this.deleted = false;
  }

  channel(id) {
    let channel = this.channels.get(id);
    if (!channel) {
      channel = { nextAckId: 0, acks: new Map() };
      this.channels.set(id, channel);
    }
    return channel;
  }

  nextRequest() {
    return ++this.log.lastRequest;
  }
}

/** @type {Map<string, Token>} */
const tokens = new Map();

function loadTokens() {
  let saved;
  try {
    saved = JSON.parse(readFileSync(TOKENS_FILE, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return;
    throw new Error(`cannot read ${TOKENS_FILE}: ${error.message}`);
  }
  for (const [token, settings] of Object.entries(saved.tokens ?? {})) {
    tokens.set(token, new Token(token, { ...defaultSettings(), ...settings }));
  }
}

/** tokens.json is rewritten whole (tmp + fsync + rename + directory fsync), one write at a time. */
let tokensWrite = Promise.resolve();
function saveTokens() {
  const run = async () => {
    const body = { tokens: Object.fromEntries([...tokens].map(([token, t]) => [token, t.settings])) };
    const tmp = `${TOKENS_FILE}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(JSON.stringify(body, null, 1) + '\n');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, TOKENS_FILE);
    await syncDirectory(DATA);
  };
  tokensWrite = tokensWrite.then(run, run);
  return tokensWrite;
}

// ---------------------------------------------------------------------------------------------------------
// Indexing: a batch of accepted events becomes "indexed" when its lines are on disk; with ack, its ackId
// turns true then.

/**
 * @param {Token} token
 * @param {{ lines: string, count: number, ack?: { channel: object, id: number } }} batch
 */
function schedule(token, batch) {
  if (token.settings.holdIndexing) {
    token.held.push(batch);
    return Promise.resolve();
  }
  if (token.settings.indexDelayMs > 0) {
    const timer = setTimeout(() => {
      token.timers.delete(timer);
      index(token, batch).catch((error) => log(`indexing failed: ${error.message}`));
    }, token.settings.indexDelayMs);
    token.timers.add(timer);
    return Promise.resolve();
  }
  return index(token, batch);
}

async function index(token, batch) {
  if (token.deleted) return;
  try {
    await token.log.append(Buffer.from(batch.lines, 'utf8'), batch.count);
  } finally {
    token.pending -= batch.count;
  }
  if (batch.ack) batch.ack.channel.acks.set(batch.ack.id, true);
}

function releaseHeld(token) {
  const held = token.held.splice(0);
  for (const batch of held) {
    index(token, batch).catch((error) => log(`indexing failed: ${error.message}`));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing a request body into stored-event lines

const NOT_JSON = Symbol('not JSON');

function tryParse(text, start, end) {
  try {
    return JSON.parse(text.slice(start, end));
  } catch {
    return NOT_JSON;
  }
}

/**
 * Parses JSON event objects, concatenated or separated by white space, calling `onEvent(object, raw,
 * number)` for each (`raw` = its source text when that has no newline, else null). Stops at the first bad
 * event by throwing; the events before it have been handed over (Splunk indexes those).
 *
 * Three ways to find where an object ends, cheapest first:
 *  1. at the start of a line, the whole line: newline-separated events cost one JSON.parse each;
 *  2. the next "}{" (objects back to back, how splunk-logging joins a batch): a prefix ending in "}" that
 *     parses is exactly the first object, since no proper prefix of a JSON object is a complete object;
 *  3. a scanner that counts brackets outside strings (objects over several lines, other separators, bad
 *     data), its result checked by JSON.parse.
 *
 * @param {string} text
 * @param {(object: object, raw: string | null, number: number) => void} onEvent  validates (throws HecError)
 * @param {number} first  number of this piece's first event in the request
 * @param {boolean} last  false = more text follows: an object cut at the end is returned as leftover
 * @returns {{ count: number, leftover: string }}
 */
function parseEvents(text, onEvent, first, last) {
  const n = text.length;
  let count = 0;
  let p = 0;
  let lineStart = true; // p is the first non-blank character of a line
  let nextJoin = -1; // position of the next "}{" at or after p (-1: not searched yet); found once, used on
  while (p < n) {
    let c = text.charCodeAt(p);
    while (c === 32 || c === 10 || c === 13 || c === 9) {
      if (c === 10) lineStart = true;
      c = text.charCodeAt(++p);
    }
    if (p >= n) break;
    const number = first + count;
    let value = NOT_JSON;
    let end = -1;
    let rawOk = false;
    if (lineStart) {
      end = text.indexOf('\n', p);
      if (end < 0) end = n;
      value = tryParse(text, p, end);
      rawOk = true;
    }
    if (value === NOT_JSON && c === 123 /* { */) {
      if (nextJoin < p) nextJoin = text.indexOf('}{', p);
      if (nextJoin >= 0) {
        end = nextJoin + 1;
        value = tryParse(text, p, end);
        rawOk = false;
      }
    }
    if (value === NOT_JSON) {
      if (c !== 123) throw new HecError('invalidDataFormat', number);
      end = objectEnd(text, p);
      if (end < 0) {
        if (!last) return { count, leftover: text.slice(p) };
        throw new HecError('invalidDataFormat', number);
      }
      value = tryParse(text, p, end);
      if (value === NOT_JSON) throw new HecError('invalidDataFormat', number);
      rawOk = false;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new HecError('invalidDataFormat', number);
    }
    let raw = text.slice(p, end);
    if (!rawOk && raw.includes('\n')) raw = null;
    onEvent(value, raw, number);
    count++;
    p = end;
    lineStart = false;
  }
  return { count, leftover: '' };
}

/** Index after the `}` closing the object that starts at `start`, or -1 if the text ends first. Brackets
 * inside strings do not count; mismatched brackets are left for JSON.parse to refuse. */
function objectEnd(text, start) {
  let depth = 0;
  for (let i = start, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // the closing quote is the next one not preceded by an odd number of backslashes
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return -1;
        let b = i - 1;
        while (text.charCodeAt(b) === 92 /* \ */) b--;
        if ((i - 1 - b) % 2 === 0) break;
      }
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const fieldValueOk = (v) =>
  typeof v === 'string' ||
  typeof v === 'number' ||
  typeof v === 'boolean' ||
  (Array.isArray(v) &&
    v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'));

/**
 * Checks one event object the way Splunk does and turns it into its stored line. For speed the line is the
 * object as received (`raw`) with the stored envelope appended: where the client's object has the same key
 * the appended value is the one a JSON parser keeps (the last). Without a usable `raw`, it is serialized.
 * @returns {string} the stored JSON line, with its newline
 */
function storedLine(value, raw, number, token, context) {
  if (!('event' in value)) throw new HecError('eventRequired', number);
  const event = value.event;
  if (event === null || event === '') throw new HecError('eventBlank', number);
  let time = context.now;
  if (value.time !== undefined) {
    time =
      typeof value.time === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value.time)
        ? Number(value.time)
        : value.time;
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
      throw new HecError('invalidDataFormat', number);
    }
  }
  for (const key of ['host', 'source', 'sourcetype', 'index']) {
    if (value[key] !== undefined && typeof value[key] !== 'string')
      throw new HecError('invalidDataFormat', number);
  }
  const index = value.index || token.settings.index;
  if (!token.settings.indexes.includes(index)) throw new HecError('incorrectIndex', number);
  let fields = {};
  if (value.fields !== undefined) {
    if (!isPlainObject(value.fields) || !Object.values(value.fields).every(fieldValueOk)) {
      throw new HecError('indexedFields', number);
    }
    fields = value.fields;
  }
  const stored = {
    time,
    host: value.host || DEFAULT_HOST,
    source: value.source || context.source,
    sourcetype: value.sourcetype || 'httpevent',
    index,
    fields,
    event: undefined, // JSON.stringify leaves it out; set below when there is no raw text
    channel: context.channel,
    request: context.request,
  };
  if (raw !== null) return `${raw.slice(0, raw.lastIndexOf('}'))},${JSON.stringify(stored).slice(1)}\n`;
  stored.event = event;
  return JSON.stringify(stored) + '\n';
}

/** A stored line as the control API shows it: the envelope keys only, in a fixed order. */
const canonical = (line) => ({
  time: line.time,
  host: line.host,
  source: line.source,
  sourcetype: line.sourcetype,
  index: line.index,
  fields: line.fields,
  event: line.event,
  channel: line.channel,
  request: line.request,
});

/**
 * Parses a whole body (a Buffer) into stored lines, in pieces for big bodies.
 * @returns {Promise<{ lines: string[], count: number, error: HecError | null }>}
 */
async function parseBody(body, token, context) {
  const lines = [];
  const onEvent = (value, raw, number) => lines.push(storedLine(value, raw, number, token, context));
  let leftover = '';
  let count = 0;
  try {
    for (let start = 0; start < body.length;) {
      let end = body.length;
      if (end - start > SEGMENT_BYTES) {
        // cut after a newline near the segment size (a newline byte is never inside a UTF-8 sequence)
        const nl = body.lastIndexOf(10, start + SEGMENT_BYTES);
        end = nl >= start ? nl + 1 : body.indexOf(10, start + SEGMENT_BYTES) + 1 || body.length;
      }
      if (end - start + leftover.length > bufferConstants.MAX_STRING_LENGTH) throw new HecError('tooLarge');
      const text = leftover + body.toString('utf8', start, end);
      const last = end >= body.length;
      const result = parseEvents(text, onEvent, count, last);
      count += result.count;
      leftover = result.leftover;
      start = end;
      if (!last) await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    if (error instanceof HecError) return { lines, count: lines.length, error };
    throw error;
  }
  return { lines, count: lines.length, error: null };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

/** Reads a request body up to `limit` bytes; past it (or with keep = false) the rest is read and discarded,
 * so that a client still sending gets to read the answer instead of a connection reset. */
function readBody(req, limit, keep = true) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (tooLarge || size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (keep) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), size, tooLarge }));
    req.on('error', reject);
  });
}

const EVENT_PATHS = new Set([
  '/services/collector',
  '/services/collector/event',
  '/services/collector/event/1.0',
]);
const ACK_PATHS = new Set(['/services/collector/ack', '/services/collector/ack/1.0']);
const HEALTH_PATHS = new Set(['/services/collector/health', '/services/collector/health/1.0']);

/** The token of an `Authorization: Splunk <token>` header, or the HecError to answer. */
function authenticate(req) {
  const header = req.headers.authorization;
  if (header === undefined) throw new HecError('tokenRequired');
  const match = /^Splunk\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new HecError('invalidAuthorization');
  const token = tokens.get(match[1]);
  if (!token) throw new HecError('invalidToken');
  return token;
}

/** The request's channel (header, else ?channel=), checked when the token has ack on. */
function channelOf(req, url, token) {
  const channel = req.headers['x-splunk-request-channel'] ?? url.searchParams.get('channel');
  if (!token.settings.ack) return typeof channel === 'string' ? channel : null;
  if (channel === undefined || channel === null || channel === '') throw new HecError('channelMissing');
  if (!UUID.test(channel)) throw new HecError('invalidChannel');
  return channel;
}

function answerError(res, error, headers = {}) {
  const extra = error.eventNumber === undefined ? {} : { 'invalid-event-number': error.eventNumber };
  sendAnswer(res, error.answer, extra, headers);
}

async function handleEvents(req, res, url) {
  let token;
  try {
    token = authenticate(req);
  } catch (error) {
    await readBody(req, MAX_CONTENT_LENGTH, false);
    return answerError(res, error);
  }
  // token.settings is read at each step: a control request may replace it while this one waits
  const { stats } = token;
  const request = token.nextRequest();
  stats.requests++;
  const { body, size, tooLarge } = await readBody(req, MAX_CONTENT_LENGTH);
  stats.bytesIn += size;
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') stats.gzipRequests++;
  const refuse = (error) => {
    stats.refused++;
    answerError(res, error);
  };
  if (token.deleted) return refuse(new HecError('invalidToken'));
  if (token.settings.disabled) return refuse(new HecError('tokenDisabled'));
  if (tooLarge) return refuse(new HecError('tooLarge'));
  if (token.settings.busyRequests > 0) {
    token.settings.busyRequests--;
    stats.busy++;
    await saveTokens();
    const headers =
      token.settings.retryAfterSeconds === null
        ? {}
        : { 'Retry-After': String(token.settings.retryAfterSeconds) };
    return sendAnswer(res, 'busy', {}, headers);
  }
  // whether this request is under ack is decided with its channel check
  const ack = token.settings.ack;
  let channel;
  try {
    channel = channelOf(req, url, token);
  } catch (error) {
    return refuse(error);
  }
  if (token.settings.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, token.settings.delayMs));

  let data = body;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    try {
      // zlib's default 16 KB output chunk makes inflating a 1 MB batch 6 times slower
      const chunkSize = Math.min(1 << 20, Math.max(64 << 10, body.length * 8));
      data = await gunzipAsync(body, { maxOutputLength: MAX_CONTENT_LENGTH, chunkSize });
    } catch (error) {
      return refuse(new HecError(error.code === 'ERR_BUFFER_TOO_LARGE' ? 'tooLarge' : 'invalidDataFormat'));
    }
  } else if (encoding !== 'identity') {
    return refuse(new HecError('unsupportedEncoding'));
  }
  if (isBlank(data)) return refuse(new HecError('noData'));

  const context = { now: Date.now() / 1000, channel, request, source: 'http:hec' };
  const { lines, count, error } = await parseBody(data, token, context);

  // The accepted events (all of them, or those before a bad one) go to indexing; only a fully accepted
  // request gets an ackId.
  let ackId;
  let indexed = Promise.resolve();
  if (count > 0) {
    const after = token.settings.holdIndexingAfterRequests;
    if (after !== null) {
      // counts down per event post with events; at 0 holdIndexing turns on
      if (after === 0) token.settings.holdIndexing = true;
      token.settings.holdIndexingAfterRequests = after === 0 ? null : after - 1;
      await saveTokens();
    }
    const batch = { lines: lines.join(''), count };
    if (ack && !error) {
      const state = token.channel(channel);
      ackId = state.nextAckId++;
      state.acks.set(ackId, false);
      batch.ack = { channel: state, id: ackId };
    }
    stats.events += count;
    token.pending += count;
    indexed = schedule(token, batch);
  }
  // Without ack the answer means "indexed": wait for the fsync. With ack the client asks later.
  if (!ack || error) {
    try {
      await indexed;
    } catch (writeError) {
      log(`writing events failed: ${writeError.message}`);
      stats.refused++;
      return sendAnswer(res, 'internalError');
    }
  } else {
    indexed.catch((writeError) => log(`writing events failed: ${writeError.message}`));
  }

  if (token.settings.dropRequests > 0) {
    // "unknown outcome": the events are in, the client never hears it
    token.settings.dropRequests--;
    await indexed.catch(() => undefined);
    stats.dropped++;
    await saveTokens();
    req.socket.destroy();
    return;
  }
  if (error) return refuse(error);
  stats.accepted++;
  sendAnswer(res, 'success', ackId === undefined ? {} : { ackId });
}

function isBlank(buffer) {
  for (let i = 0; i < buffer.length; i++) {
    const c = buffer[i];
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

async function handleAck(req, res, url) {
  const { body, tooLarge } = await readBody(req, MAX_CONTROL_BODY);
  let token;
  try {
    token = authenticate(req);
    if (token.settings.disabled) throw new HecError('tokenDisabled');
    if (!token.settings.ack) throw new HecError('ackDisabled');
    if (tooLarge) throw new HecError('tooLarge');
    const channel = channelOf(req, url, token);
    let ids;
    try {
      ids = JSON.parse(body.toString('utf8')).acks;
    } catch {
      throw new HecError('invalidDataFormat');
    }
    if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      throw new HecError('invalidDataFormat');
    }
    const state = token.channels.get(channel);
    const acks = {};
    for (const id of ids) {
      const indexed = state?.acks.get(id) === true;
      // An ackId reported true is forgotten: asked again it is false (as Splunk does).
      if (indexed) state.acks.delete(id);
      acks[id] = indexed;
    }
    token.stats.acksPolled++;
    send(res, 200, { acks });
  } catch (error) {
    if (!(error instanceof HecError)) throw error;
    answerError(res, error);
  }
}

// --- control API (/_stub/...) ------------------------------------------------------------------------------

async function handleControl(req, res, url) {
  const match = /^\/_stub\/tokens\/([^/]+)(?:\/(events|stats))?$/.exec(url.pathname);
  if (!match) return sendAnswer(res, 'notFound');
  const name = decodeURIComponent(match[1]);
  const what = match[2];
  const { body, tooLarge } = await readBody(req, MAX_CONTROL_BODY);
  if (tooLarge) throw new ControlError(413, 'body too large');
  const json = () => {
    if (body.length === 0) return {};
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ControlError(400, 'body is not JSON');
    }
  };
  const existing = tokens.get(name);
  if (what) {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    if (!existing) throw new ControlError(404, 'no such token');
    if (what === 'stats') {
      return send(res, 200, { ...existing.stats, indexed: existing.log.count, pending: existing.pending });
    }
    return send(res, 200, await existing.log.read());
  }
  switch (req.method) {
    case 'PUT': {
      if (/\s/.test(name)) throw new ControlError(400, 'a token cannot contain white space');
      const settings = settingsFrom(json(), defaultSettings());
      if (existing) applySettings(existing, settings);
      else tokens.set(name, new Token(name, settings));
      await saveTokens();
      log(`token ${shown(name)} ${existing ? 'replaced' : 'created'}`);
      return send(res, existing ? 200 : 201, settings);
    }
    case 'PATCH': {
      if (!existing) throw new ControlError(404, 'no such token');
      applySettings(existing, settingsFrom(json(), existing.settings));
      await saveTokens();
      return send(res, 200, existing.settings);
    }
    case 'GET':
      if (!existing) throw new ControlError(404, 'no such token');
      return send(res, 200, existing.settings);
    case 'DELETE': {
      if (!existing) throw new ControlError(404, 'no such token');
      existing.deleted = true;
      tokens.delete(name);
      for (const timer of existing.timers) clearTimeout(timer);
      existing.held.length = 0;
      await existing.log.close();
      await unlink(existing.log.path).catch((error) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await saveTokens();
      log(`token ${shown(name)} deleted`);
      return send(res, 200, { deleted: true });
    }
    default:
      return methodNotAllowed(res, 'GET, PUT, PATCH, DELETE');
  }
}

function applySettings(token, settings) {
  const wasHolding = token.settings.holdIndexing;
  token.settings = settings;
  if (wasHolding && !settings.holdIndexing) releaseHeld(token);
}

function methodNotAllowed(res, allow) {
  sendAnswer(res, 'methodNotAllowed', {}, { Allow: allow });
}

async function route(req, res) {
  const url = new URL(req.url ?? '/', 'http://receiver');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  if (EVENT_PATHS.has(path)) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    return handleEvents(req, res, url);
  }
  if (ACK_PATHS.has(path)) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    return handleAck(req, res, url);
  }
  if (HEALTH_PATHS.has(path)) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    return sendAnswer(res, 'healthy');
  }
  if (path.startsWith('/_stub/')) return handleControl(req, res, url);
  sendAnswer(res, 'notFound');
}

// ---------------------------------------------------------------------------------------------------------
// Start

mkdirSync(EVENTS_DIR, { recursive: true });
loadTokens();
let created = false;
for (const { token, index } of options.tokens) {
  // a restart with the same command line keeps what the control API changed since
  if (tokens.has(token)) continue;
  tokens.set(token, new Token(token, { ...defaultSettings(), index, indexes: [index] }));
  created = true;
}
if (created) await saveTokens();

const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    if (res.headersSent || res.destroyed) return;
    if (error instanceof ControlError) return send(res, error.status, { error: error.message });
    log(`internal error: ${error.stack}`);
    sendAnswer(res, 'internalError');
  });
});
// Clients keep connections alive between batches: do not close an idle one under a client about to reuse it.
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0;

server.listen(options.port, HOST, () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  log(`listening on ${HOST}:${port}, data ${DATA}, ${tokens.size} token(s)`);
  process.stdout.write(`listening ${port}\n`);
});
server.on('error', (error) => {
  log(`cannot listen on ${HOST}:${options.port}: ${error.message}`);
  process.exit(1);
});

/** SIGTERM/SIGINT: stop accepting, let pending writes finish. Held or delayed events are dropped (as a
 * stopping Splunk loses its in-memory queue). */
function shutdown(signal) {
  log(`${signal}: stopping`);
  server.close();
  server.closeIdleConnections();
  Promise.all([...tokens.values()].map((t) => t.log.close()))
    .then(() => tokensWrite)
    .finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
