import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { ParseError, limitExceeded } from '@parsedmarc-ts/parser';
import { decodeValue, encodeValue, InvalidParsedMessage, MessageTooLargeError } from '@parsedmarc-ts/avro';
import { isPdmError } from '@parsedmarc-ts/errors';
import { ConfigError, IniError } from '@parsedmarc-ts/service-runtime';
import { deadLetterValue, errorCode } from './dead-letter.js';
import {
  isFenced,
  isRetriable,
  PoisonMessageError,
  RegistryUnavailableError,
  TransactionFailedError,
} from './errors.js';
import { isWireFormat, subjectOf } from './registry.js';
import { prefixedTopicNames, sizeLimits } from './topics.js';
import { type InputMessage } from './processor.js';

const {
  KafkaJSConnectionError,
  KafkaJSProtocolError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSNonRetriableError,
} = kafkajs;

describe('error classification', () => {
  it('every error of the libraries has the one base: family, code, retriable, context', () => {
    const errors = [
      new ParseError('UNRECOGNIZED_FORMAT', 'junk', { source: 'a.bin' }),
      new PoisonMessageError('UNDECODABLE_MESSAGE', 'bad', { schemaId: 7 }),
      new RegistryUnavailableError('away'),
      new TransactionFailedError(new Error('abort failed')),
      new MessageTooLargeError('big', 20, 10),
      new InvalidParsedMessage('no report'),
      new ConfigError('bad value'),
      new IniError('INI_SYNTAX', 'parsedmarc.ini', 3, 'no section'),
    ];
    expect(errors.map((e) => [isPdmError(e), e.family, e.code, e.retriable, typeof e.context])).toEqual([
      [true, 'parse', 'UNRECOGNIZED_FORMAT', false, 'object'],
      [true, 'poison', 'UNDECODABLE_MESSAGE', false, 'object'],
      [true, 'pipeline', 'REGISTRY_UNAVAILABLE', true, 'object'],
      [true, 'pipeline', 'TRANSACTION_FAILED', true, 'object'],
      [true, 'poison', 'MESSAGE_TOO_LARGE', false, 'object'],
      [true, 'poison', 'UNDECODABLE_MESSAGE', false, 'object'],
      [true, 'config', 'INVALID_CONFIG', false, 'object'],
      [true, 'config', 'INI_SYNTAX', false, 'object'],
    ]);
    expect(errors.map((e) => isRetriable(e))).toEqual(errors.map((e) => e.retriable));
    expect(ConfigError.is(errors[7])).toBe(true);
    expect(PoisonMessageError.is(errors[4])).toBe(true);
  });

  it('retries environment faults and nothing about the data', () => {
    expect(isRetriable(new RegistryUnavailableError('registry away'))).toBe(true);
    expect(isRetriable(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toBe(true);
    expect(
      isRetriable(
        new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), {
          retryCount: 5,
          retryTime: 100,
        }),
      ),
    ).toBe(true);
    expect(isRetriable(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetriable(new Error('wrapped', { cause: new RegistryUnavailableError('x') }))).toBe(true);
    expect(isRetriable(new PoisonMessageError('UNDECODABLE_MESSAGE', 'bad'))).toBe(false);
    expect(isRetriable(new ParseError('UNRECOGNIZED_FORMAT', 'junk'))).toBe(false);
    expect(isRetriable(new TypeError('bug'))).toBe(false);
    expect(isRetriable(new KafkaJSNonRetriableError('no'))).toBe(false);
    // Seen with a frozen broker: kafkajs gives up finding the coordinator; for us it comes back.
    const coordinator = new KafkaJSNonRetriableError('Failed to find group coordinator', {
      cause: new kafkajs.KafkaJSGroupCoordinatorNotFound('Failed to find group coordinator'),
    });
    expect(isRetriable(coordinator)).toBe(true);
  });

  it('treats a fenced producer as fatal, never retriable', () => {
    const fenced = new KafkaJSProtocolError('fenced');
    Object.assign(fenced, { type: 'INVALID_PRODUCER_EPOCH' });
    expect(isFenced(fenced)).toBe(true);
    expect(isRetriable(fenced)).toBe(false);
    expect(isFenced(new Error('x'))).toBe(false);
  });
});

describe('dead letters', () => {
  const input: InputMessage = {
    topic: 'raw-mail',
    partition: 2,
    offset: '41',
    key: Buffer.from('abc'),
    value: Buffer.from('not a report'),
    headers: {},
    timestamp: 0,
  };

  it('carry stage, typed code, limit context, the input reference and payload; encode with the schema', () => {
    const error = limitExceeded('maxInputBytes', 10, 'input of 12 bytes', { source: 'a.xml' });
    const value = deadLetterValue({ stage: 'report-parse', error, input, now: 5 });
    expect(value).toMatchObject({
      stage: 'report-parse',
      error_code: 'LIMIT_EXCEEDED',
      source: 'a.xml',
      input: { topic: 'raw-mail', partition: 2, offset: 41, key: 'abc' },
      payload_size: 12,
      failed_at: 5,
    });
    expect(JSON.parse(value.context_json!)).toMatchObject({ limit: 'maxInputBytes', limitValue: 10 });
    expect(value.payload).toEqual(Buffer.from('not a report'));
    expect(decodeValue('dmarc_dead_letter', encodeValue('dmarc_dead_letter', value))).toEqual(value);
  });

  it('reference an input too large to copy, and name unknown errors INTERNAL_ERROR', () => {
    const big = Buffer.alloc(sizeLimits.deadLetterPayloadBytes + 1);
    const value = deadLetterValue({
      stage: 'enrich',
      error: new TypeError('oops'),
      input: { ...input, value: big },
    });
    expect(value.payload).toBeNull();
    expect(value.payload_size).toBe(big.length);
    expect(value.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(value.error_code).toBe('INTERNAL_ERROR');
    expect(errorCode({ code: 'ECONNRESET' })).toBe('ECONNRESET');
    expect(errorCode({ code: 'not a code' })).toBe('INTERNAL_ERROR');
  });
});

describe('topics and wire format', () => {
  it('names topics and subjects', () => {
    expect(prefixedTopicNames('t1-')).toMatchObject({
      rawMail: 't1-raw-mail',
      aggregate: 't1-dmarc_aggregate',
      deadLetter: 't1-dmarc_dead_letter',
    });
    expect(subjectOf('dmarc_aggregate')).toBe('dmarc_aggregate-value');
  });

  it('tells framed Avro from bare report bytes', () => {
    expect(isWireFormat(Buffer.from([0, 0, 0, 0, 7, 1]))).toBe(true);
    expect(isWireFormat(Buffer.from('<?xml version="1.0"?>'))).toBe(false);
    expect(isWireFormat(Buffer.from([0x1f, 0x8b, 8, 0, 0]))).toBe(false);
    expect(isWireFormat(Buffer.from([0, 1]))).toBe(false);
  });

  it('keeps every limit under the broker record limit', () => {
    expect(sizeLimits.maxValueBytes).toBeLessThan(sizeLimits.topicMaxMessageBytes);
    expect(sizeLimits.maxRawPayloadBytes).toBeLessThan(sizeLimits.maxValueBytes);
    expect(sizeLimits.aggregatePartBytes).toBeLessThan(sizeLimits.maxValueBytes);
  });
});

describe('produce slicing', () => {
  it('bounds each produce request, keeps order, and sends an oversized value alone', async () => {
    const { slicesOf } = await import('./processor.js');
    const out = (n: number, size: number) => ({ topic: 't', key: `k${n}`, value: Buffer.alloc(size) });
    const outputs = [out(0, 400), out(1, 400), out(2, 400), out(3, 5000), out(4, 10)];
    const slices = slicesOf(outputs, 1000);
    expect(slices.map((s) => s.map((o) => o.key))).toEqual([['k0', 'k1'], ['k2'], ['k3'], ['k4']]);
    expect(slicesOf([], 1000)).toEqual([]);
  });
});
