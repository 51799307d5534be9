/**
 * The Splunk HEC test receiver (tools/hec/receiver.mjs) speaks HEC as Splunk documents it: proven with
 * Splunk's own client library (splunk-logging), then each protocol point on its own (auth, the no-data probe,
 * body framings, gzip, the first bad event's number, indexes, indexer acknowledgement, faults, health), and
 * its durability through a SIGKILL and restart of a private instance. Every test has its own tokens; nothing
 * waits for a time, states are polled with a deadline.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import splunkLogging from 'splunk-logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createToken,
  deleteToken,
  eventsOf,
  hecUrl,
  spawnReceiver,
  statsOf,
  updateToken,
  waitFor,
  type PrivateReceiver,
} from './receiver-client.js';

let url: string;
beforeAll(() => {
  url = hecUrl();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One raw HEC request. `token` null = no Authorization header. */
async function hec(
  token: string | null,
  body: string | Buffer,
  options: { path?: string; headers?: Record<string, string>; base?: string; method?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${options.base ?? url}${options.path ?? '/services/collector/event'}`, {
    method: options.method ?? 'POST',
    headers: { ...(token === null ? {} : { authorization: `Splunk ${token}` }), ...options.headers },
    body: options.method === 'GET' ? undefined : body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

const pollAcks = async (token: string, channel: string, acks: number[], base = url): Promise<Answer> =>
  hec(token, JSON.stringify({ acks }), { path: `/services/collector/ack?channel=${channel}`, base });

/** Polls until every ackId has been reported true once (each is forgotten once reported). */
async function waitForAcks(token: string, channel: string, ids: number[]): Promise<void> {
  const open = new Set(ids);
  await waitFor(`acks ${ids.join(',')}`, async () => {
    const { body } = await pollAcks(token, channel, [...open]);
    for (const [id, indexed] of Object.entries(body.acks as Record<string, boolean>)) {
      if (indexed) open.delete(Number(id));
    }
    return open.size === 0;
  });
}

const events = (...names: string[]): string[] => names.map((event) => JSON.stringify({ event }));

describe('Splunk’s own client library (splunk-logging)', () => {
  it('delivers a batch (events back to back, one request) that is stored as sent', async () => {
    const token = await createToken(url, { index: 'dmarc', indexes: ['dmarc', 'audit'] });
    const logger = new splunkLogging.Logger({ token, url, maxBatchCount: 3 });
    const errors: Error[] = [];
    logger.error = (error) => errors.push(error);
    const answer = await new Promise<{ error: Error | null; status?: number; body: unknown }>((resolve) => {
      const done = (error: Error | null, response: { statusCode?: number } | undefined, body: unknown) =>
        resolve({ error, status: response?.statusCode, body });
      logger.send({
        message: { report_id: 'r1', count: 2 },
        severity: 'info',
        metadata: {
          sourcetype: 'dmarc:aggregate',
          host: 'mx1.example.com',
          time: 1700000000.25,
          source: 'pdm',
        },
      });
      logger.send({ message: 'second', metadata: { index: 'audit', sourcetype: 'dmarc:forensic' } });
      logger.send({ message: { last: true }, severity: 'warn', metadata: { time: 1700000123 } }, done);
    });
    expect(errors).toEqual([]);
    expect(answer).toEqual({ error: null, status: 200, body: { text: 'Success', code: 0 } });

    const stored = await eventsOf(url, token);
    expect(stored).toHaveLength(3);
    expect(stored[0]).toMatchObject({
      event: { message: { report_id: 'r1', count: 2 }, severity: 'info' },
      sourcetype: 'dmarc:aggregate',
      index: 'dmarc',
      host: 'mx1.example.com',
      source: 'pdm',
      time: 1700000000.25,
    });
    expect(stored[1]).toMatchObject({ event: { message: 'second', severity: 'info' }, index: 'audit' });
    expect(stored[1]!.sourcetype).toBe('dmarc:forensic');
    // splunk-logging stamps every event with a time; without metadata it is "now" in seconds
    expect(Math.abs(stored[1]!.time - Date.now() / 1000)).toBeLessThan(3600);
    expect(stored[2]).toMatchObject({
      event: { message: { last: true }, severity: 'warn' },
      time: 1700000123,
    });
    expect(new Set(stored.map((e) => e.request)).size).toBe(1);
    expect(await statsOf(url, token)).toMatchObject({ requests: 1, accepted: 1, events: 3, indexed: 3 });
  });

  it('surfaces the receiver’s answer to a bad token (code 4)', async () => {
    const logger = new splunkLogging.Logger({ token: randomUUID(), url });
    const errors: (Error & { code?: number })[] = [];
    logger.error = (error) => errors.push(error);
    const body = await new Promise<unknown>((resolve) =>
      logger.send({ message: 'nobody' }, (_error, _response, answer) => resolve(answer)),
    );
    expect(body).toEqual({ text: 'Invalid token', code: 4 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe('Invalid token');
    expect(errors[0]!.code).toBe(4);
  });
});

describe('authentication', () => {
  it('answers each authorization failure with Splunk’s status and code', async () => {
    const token = await createToken(url);
    const body = events('a')[0]!;
    expect(await hec(null, body)).toMatchObject({
      status: 401,
      body: { text: 'Token is required', code: 2 },
    });
    expect(await hec(null, body, { headers: { authorization: `Bearer ${token}` } })).toMatchObject({
      status: 401,
      body: { text: 'Invalid authorization', code: 3 },
    });
    expect(await hec(randomUUID(), body)).toMatchObject({
      status: 403,
      body: { text: 'Invalid token', code: 4 },
    });
    await updateToken(url, token, { disabled: true });
    expect(await hec(token, body)).toMatchObject({ status: 403, body: { text: 'Token disabled', code: 1 } });
    await updateToken(url, token, { disabled: false });
    expect(await hec(token, body)).toMatchObject({ status: 200, body: { text: 'Success', code: 0 } });
    expect(await eventsOf(url, token)).toHaveLength(1);
  });

  it('answers an empty body (a client’s token check) with "No data", after the auth check', async () => {
    const token = await createToken(url);
    expect(await hec(token, '')).toEqual(
      expect.objectContaining({ status: 400, body: { text: 'No data', code: 5 } }),
    );
    expect(await hec(token, ' \n')).toMatchObject({ status: 400, body: { code: 5 } });
    expect(await hec(randomUUID(), '')).toMatchObject({ status: 403, body: { code: 4 } });
    expect(await hec(null, '')).toMatchObject({ status: 401, body: { code: 2 } });
    expect(await eventsOf(url, token)).toEqual([]);
  });
});

describe('event bodies', () => {
  it('takes newline-separated, back-to-back, space-separated and multi-line objects alike', async () => {
    const token = await createToken(url);
    const names = ['a', 'b', 'c', 'd'];
    const bodies = [
      events(...names).join('\n') + '\n',
      events(...names).join(''),
      events(...names).join(' \r\n\t '),
      names.map((event) => JSON.stringify({ event, fields: { n: event } }, null, 2)).join('\n'),
      // braces and quotes inside strings do not end an object
      [JSON.stringify({ event: 'x}{"y' }), JSON.stringify({ event: { text: '\\"}{' } })].join(''),
    ];
    for (const [path, body] of bodies.map((b, i) => [
      ['/services/collector', '/services/collector/event', '/services/collector/event/1.0'][i % 3]!,
      b,
    ])) {
      expect(await hec(token, body!, { path })).toMatchObject({
        status: 200,
        body: { text: 'Success', code: 0 },
      });
    }
    const stored = await eventsOf(url, token);
    expect(stored.map((e) => e.event)).toEqual([
      ...names,
      ...names,
      ...names,
      ...names,
      'x}{"y',
      { text: '\\"}{' },
    ]);
    expect(stored.slice(12, 16).map((e) => e.fields)).toEqual(names.map((n) => ({ n })));
    expect(stored.map((e) => e.request)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5]);
    // Splunk's defaults for what an event leaves out
    expect(stored[0]).toMatchObject({
      index: 'main',
      sourcetype: 'httpevent',
      source: 'http:hec',
      fields: {},
    });
    expect(typeof stored[0]!.host).toBe('string');
  });

  it('takes a batch of 10,000 events in one request', async () => {
    const token = await createToken(url);
    const body = Array.from({ length: 10_000 }, (_, i) =>
      JSON.stringify({ event: { i }, time: 1700000000 + i }),
    );
    expect(await hec(token, body.join('\n'))).toMatchObject({ status: 200 });
    const stored = await eventsOf(url, token);
    expect(stored).toHaveLength(10_000);
    expect(stored[9_999]).toMatchObject({ event: { i: 9_999 }, time: 1700009999 });
  });

  it('accepts time as a number or a numeric string, with decimals', async () => {
    const token = await createToken(url);
    const body = [
      { event: 1, time: 1700000000 },
      { event: 2, time: '1700000000.125' },
      { event: 3, time: 1700000000.5 },
    ];
    expect(await hec(token, body.map((e) => JSON.stringify(e)).join(''))).toMatchObject({ status: 200 });
    expect((await eventsOf(url, token)).map((e) => e.time)).toEqual([
      1700000000, 1700000000.125, 1700000000.5,
    ]);
    expect(await hec(token, JSON.stringify({ event: 4, time: 'yesterday' }))).toMatchObject({
      status: 400,
      body: { code: 6, 'invalid-event-number': 0 },
    });
  });

  it('inflates gzip bodies and refuses a bad gzip stream', async () => {
    const token = await createToken(url);
    const headers = { 'content-encoding': 'gzip' };
    expect(await hec(token, gzipSync(events('z1', 'z2').join('\n')), { headers })).toMatchObject({
      status: 200,
    });
    expect(await hec(token, Buffer.from('this is not gzip'), { headers })).toMatchObject({
      status: 400,
      body: { text: 'Invalid data format', code: 6 },
    });
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['z1', 'z2']);
    expect(await statsOf(url, token)).toMatchObject({ gzipRequests: 2, accepted: 1, refused: 1 });
  });

  it('names the first bad event and keeps the events before it', async () => {
    const token = await createToken(url);
    const good = events('g0', 'g1', 'g2');
    const cases: [string, Record<string, unknown>][] = [
      [[...good, '{"event": oops}', ...events('after')].join('\n'), { text: 'Invalid data format', code: 6 }],
      [[...good, '{"event":"cut"'].join(''), { text: 'Invalid data format', code: 6 }],
      [[...good, '["not an object"]'].join('\n'), { text: 'Invalid data format', code: 6 }],
      [[...good, '{"time":1}', ...events('after')].join(''), { text: 'Event field is required', code: 12 }],
      [[...good, '{"event":""}'].join(' '), { text: 'Event field cannot be blank', code: 13 }],
      [[...good, '{"event":null}'].join('\n'), { text: 'Event field cannot be blank', code: 13 }],
      [
        [...good, '{"event":1,"fields":{"nested":{"no":1}}}'].join(''),
        { text: 'Error in handling indexed fields', code: 15 },
      ],
    ];
    for (const [body, expected] of cases) {
      expect(await hec(token, body)).toEqual(
        expect.objectContaining({ status: 400, body: { ...expected, 'invalid-event-number': 3 } }),
      );
    }
    const stored = await eventsOf(url, token);
    expect(stored.map((e) => e.event)).toEqual(cases.flatMap(() => ['g0', 'g1', 'g2']));
    expect(await statsOf(url, token)).toMatchObject({
      accepted: 0,
      refused: cases.length,
      events: 3 * cases.length,
    });
  });

  it('refuses an index the token does not allow, keeping the events before it', async () => {
    const token = await createToken(url, { index: 'dmarc', indexes: ['dmarc', 'audit'] });
    const body = [
      JSON.stringify({ event: 'default index' }),
      JSON.stringify({ event: 'allowed', index: 'audit' }),
      JSON.stringify({ event: 'not allowed', index: 'main' }),
      JSON.stringify({ event: 'never' }),
    ].join('\n');
    expect(await hec(token, body)).toMatchObject({
      status: 400,
      body: { text: 'Incorrect index', code: 7, 'invalid-event-number': 2 },
    });
    const stored = await eventsOf(url, token);
    expect(stored.map((e) => [e.event, e.index])).toEqual([
      ['default index', 'dmarc'],
      ['allowed', 'audit'],
    ]);
  });
});

describe('indexer acknowledgement', () => {
  it('needs a UUID channel, numbers requests per channel and reports each ackId true once', async () => {
    const token = await createToken(url, { ack: true });
    const body = events('a1', 'a2').join('');
    expect(await hec(token, body)).toMatchObject({
      status: 400,
      body: { text: 'Data channel is missing', code: 10 },
    });
    expect(await hec(token, body, { headers: { 'x-splunk-request-channel': 'not-a-uuid' } })).toMatchObject({
      status: 400,
      body: { text: 'Invalid data channel', code: 11 },
    });
    const channel = randomUUID();
    const other = randomUUID();
    const onChannel = { headers: { 'x-splunk-request-channel': channel } };
    expect((await hec(token, body, onChannel)).body).toEqual({ text: 'Success', code: 0, ackId: 0 });
    expect((await hec(token, body, onChannel)).body).toEqual({ text: 'Success', code: 0, ackId: 1 });
    // ?channel= works as well as the header; ackIds count per channel
    const query = { path: `/services/collector/event?channel=${other}` };
    expect((await hec(token, body, query)).body).toEqual({ text: 'Success', code: 0, ackId: 0 });

    await waitForAcks(token, channel, [0, 1]);
    // reported once, then forgotten (as Splunk does); an ackId never issued is false
    expect((await pollAcks(token, channel, [0, 1, 2])).body).toEqual({
      acks: { 0: false, 1: false, 2: false },
    });
    await waitForAcks(token, other, [0]);
    expect((await eventsOf(url, token)).map((e) => [e.event, e.channel])).toEqual([
      ['a1', channel],
      ['a2', channel],
      ['a1', channel],
      ['a2', channel],
      ['a1', other],
      ['a2', other],
    ]);
    // the ack endpoint needs the channel too
    expect(
      await hec(token, JSON.stringify({ acks: [0] }), { path: '/services/collector/ack' }),
    ).toMatchObject({
      status: 400,
      body: { code: 10 },
    });
  });

  it('keeps ackIds false while indexing is held, true once it is released', async () => {
    const token = await createToken(url, { ack: true, holdIndexing: true });
    const channel = randomUUID();
    const onChannel = { headers: { 'x-splunk-request-channel': channel } };
    expect((await hec(token, events('held').join(''), onChannel)).body).toMatchObject({ ackId: 0 });
    expect((await hec(token, events('held too').join(''), onChannel)).body).toMatchObject({ ackId: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await pollAcks(token, channel, [0, 1])).body).toEqual({ acks: { 0: false, 1: false } });
    }
    expect(await eventsOf(url, token)).toEqual([]);
    expect(await statsOf(url, token)).toMatchObject({ events: 2, indexed: 0, pending: 2, acksPolled: 3 });
    await updateToken(url, token, { holdIndexing: false });
    await waitForAcks(token, channel, [0, 1]);
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['held', 'held too']);
  });

  it('holds indexing after holdIndexingAfterRequests event posts', async () => {
    const token = await createToken(url, { ack: true, holdIndexingAfterRequests: 2 });
    const channel = randomUUID();
    const onChannel = { headers: { 'x-splunk-request-channel': channel } };
    for (const name of ['first', 'second', 'third', 'fourth']) {
      expect((await hec(token, events(name).join(''), onChannel)).status).toBe(200);
    }
    await waitForAcks(token, channel, [0, 1]);
    expect((await pollAcks(token, channel, [2, 3])).body).toEqual({ acks: { 2: false, 3: false } });
    expect(await statsOf(url, token)).toMatchObject({ indexed: 2, pending: 2 });
    expect(await updateToken(url, token, {})).toMatchObject({
      holdIndexing: true,
      holdIndexingAfterRequests: null,
    });
    await updateToken(url, token, { holdIndexing: false });
    await waitForAcks(token, channel, [2, 3]);
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('indexes after indexDelayMs', async () => {
    const token = await createToken(url, { ack: true, indexDelayMs: 200 });
    const channel = randomUUID();
    const answer = await hec(token, events('later').join(''), {
      headers: { 'x-splunk-request-channel': channel },
    });
    expect(answer.body).toEqual({ text: 'Success', code: 0, ackId: 0 });
    await waitForAcks(token, channel, [0]);
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['later']);
  });

  it('answers "ACK is disabled" on a token without ack, which ignores a channel', async () => {
    const token = await createToken(url);
    expect(await pollAcks(token, randomUUID(), [0])).toMatchObject({
      status: 400,
      body: { text: 'ACK is disabled', code: 14 },
    });
    const answer = await hec(token, events('no ack').join(''), {
      headers: { 'x-splunk-request-channel': 'anything' },
    });
    expect(answer).toMatchObject({ status: 200, body: { text: 'Success', code: 0 } });
    expect(answer.body).not.toHaveProperty('ackId');
  });
});

describe('faults and other endpoints', () => {
  it('answers busy (503 code 9, Retry-After) for the next busyRequests posts, then accepts', async () => {
    const token = await createToken(url, { busyRequests: 2, retryAfterSeconds: 7 });
    for (let i = 0; i < 2; i++) {
      const answer = await hec(token, events(`try ${i}`).join(''));
      expect(answer).toMatchObject({ status: 503, body: { text: 'Server is busy', code: 9 } });
      expect(answer.headers.get('retry-after')).toBe('7');
    }
    expect(await hec(token, events('accepted').join(''))).toMatchObject({ status: 200 });
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['accepted']);
    expect(await statsOf(url, token)).toMatchObject({ requests: 3, busy: 2, accepted: 1 });
    const noHeader = await createToken(url, { busyRequests: 1 });
    expect((await hec(noHeader, events('x').join(''))).headers.get('retry-after')).toBeNull();
  });

  it('indexes a dropped request’s events and closes the connection unanswered', async () => {
    const token = await createToken(url, { dropRequests: 1 });
    await expect(hec(token, events('unknown outcome').join(''))).rejects.toThrow();
    expect(await hec(token, events('next').join(''))).toMatchObject({ status: 200 });
    expect((await eventsOf(url, token)).map((e) => e.event)).toEqual(['unknown outcome', 'next']);
    expect(await statsOf(url, token)).toMatchObject({ dropped: 1, accepted: 1 });
  });

  it('waits delayMs before answering', async () => {
    const token = await createToken(url, { delayMs: 300 });
    const started = performance.now();
    expect(await hec(token, events('slow').join(''))).toMatchObject({ status: 200 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('answers health, unknown paths and wrong methods', async () => {
    for (const path of ['/services/collector/health', '/services/collector/health/1.0']) {
      expect(await hec(null, '', { path, method: 'GET' })).toMatchObject({
        status: 200,
        body: { text: 'HEC is healthy', code: 17 },
      });
    }
    expect(await hec(null, '', { path: '/services/collector/nothing', method: 'GET' })).toMatchObject({
      status: 404,
      body: { code: 404 },
    });
    const wrong = await hec(null, '', { path: '/services/collector/event', method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('removes a token and its events', async () => {
    const token = await createToken(url);
    expect(await hec(token, events('gone').join(''))).toMatchObject({ status: 200 });
    await deleteToken(url, token);
    expect(await hec(token, events('refused').join(''))).toMatchObject({ status: 403, body: { code: 4 } });
    await createToken(url, {}, token);
    expect(await eventsOf(url, token)).toEqual([]);
  });
});

describe('a private receiver', () => {
  let receiver: PrivateReceiver;
  beforeAll(async () => {
    receiver = await spawnReceiver({
      args: ['--max-content-length', '4096', '--token', 'cli-token-1:dmarc'],
    });
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('keeps indexed events and tokens through a SIGKILL and restart, and loses what was not indexed', async () => {
    const base = receiver.url;
    const plain = await createToken(base);
    const held = await createToken(base, { ack: true, holdIndexing: true });
    const acked = await createToken(base, { ack: true, index: 'dmarc' });
    const channel = randomUUID();
    const onChannel = { base, headers: { 'x-splunk-request-channel': channel } };
    expect(await hec(plain, events('p1', 'p2').join('\n'), { base })).toMatchObject({ status: 200 });
    expect(await hec(plain, events('p3').join('\n'), { base })).toMatchObject({ status: 200 });
    expect((await hec(held, events('h1', 'h2').join(''), onChannel)).body).toMatchObject({ ackId: 0 });
    expect((await hec(acked, events('a1').join(''), onChannel)).body).toMatchObject({ ackId: 0 });
    await waitFor('the acked event indexed', async () => (await statsOf(base, acked)).indexed === 1);
    expect(await hec('cli-token-1', events('c1').join(''), { base })).toMatchObject({ status: 200 });
    const before = await eventsOf(base, plain);

    const port = receiver.port;
    await receiver.kill();
    await receiver.restart();
    expect(receiver.port).toBe(port);

    expect(await eventsOf(base, plain)).toEqual(before);
    expect((await eventsOf(base, acked)).map((e) => [e.event, e.index])).toEqual([['a1', 'dmarc']]);
    expect((await eventsOf(base, 'cli-token-1')).map((e) => [e.event, e.index])).toEqual([['c1', 'dmarc']]);
    // held events were in memory only, as were the channels' ack states
    expect(await eventsOf(base, held)).toEqual([]);
    expect((await pollAcks(held, channel, [0], base)).body).toEqual({ acks: { 0: false } });
    // the tokens and their settings survived (the held one still holds)
    expect(await updateToken(base, held, {})).toMatchObject({ ack: true, holdIndexing: true });
    expect(await hec(plain, events('p4').join(''), { base })).toMatchObject({ status: 200 });
    const after = await eventsOf(base, plain);
    expect(after.map((e) => e.event)).toEqual(['p1', 'p2', 'p3', 'p4']);
    // request numbers go on after the restart
    expect(after.map((e) => e.request)).toEqual([1, 1, 2, 3]);
    // a new channel's ackIds start at 0 again
    expect((await hec(acked, events('a2').join(''), onChannel)).body).toMatchObject({ ackId: 0 });
  });

  it('refuses a body over --max-content-length, raw or inflated (413)', async () => {
    const base = receiver.url;
    const token = await createToken(base);
    const big = JSON.stringify({ event: 'x'.repeat(5000) });
    expect(await hec(token, big, { base })).toMatchObject({
      status: 413,
      body: { text: 'Content too large', code: 27 },
    });
    expect(await hec(token, gzipSync(big), { base, headers: { 'content-encoding': 'gzip' } })).toMatchObject({
      status: 413,
      body: { code: 27 },
    });
    // the connection stays usable and a body within the limit goes in
    expect(await hec(token, JSON.stringify({ event: 'small' }), { base })).toMatchObject({ status: 200 });
    expect((await eventsOf(base, token)).map((e) => e.event)).toEqual(['small']);
  });
});
