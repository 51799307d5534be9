import { describe, expect, test } from 'vitest';
import { ParseError } from '../errors.js';
import { chunked, makeMbox } from '../../../../test/hostile/generators.js';
import { splitMbox } from './mbox.js';

async function split(
  bytes: Uint8Array,
  chunkSize: number,
  maxMboxMessages = 1000,
): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const message of splitMbox(chunked(bytes, chunkSize), { maxMboxMessages }, 'box.mbox')) {
    out.push([message.number, Buffer.from(message.bytes).toString('latin1')]);
  }
  return out;
}

const messages = [
  'Subject: one\n\nFirst body\n>From quoted stays\n',
  'Subject: two\n\nSecond\nFromage is not a separator\n',
  'Subject: three\n\nThird',
];

describe('splitMbox', () => {
  test('one message per "From " line, the separator line removed, whatever the chunking', async () => {
    const mbox = makeMbox(messages);
    const expected: [number, string][] = messages.map((text, i) => [i + 1, `${text}\n`]);
    for (let size = 1; size <= 12; size++) expect(await split(mbox, size)).toEqual(expected);
    expect(await split(mbox, mbox.length)).toEqual(expected);
  });

  test('CRLF line ends', async () => {
    const mbox = Buffer.from(
      'From a@b Mon Apr  1 10:00:00 2024\r\nSubject: x\r\n\r\nbody\r\nFrom c@d Mon Apr  1 10:00:00 2024\r\nSubject: y\r\n',
    );
    for (const size of [1, 3, 1000]) {
      expect(await split(mbox, size)).toEqual([
        [1, 'Subject: x\r\n\r\nbody\r\n'],
        [2, 'Subject: y\r\n'],
      ]);
    }
  });

  test('blank messages are skipped; numbers follow the separators', async () => {
    const mbox = Buffer.from('From a\n\nFrom b\nSubject: two\n\nFrom c\n  \n');
    expect(await split(mbox, 4)).toEqual([[2, 'Subject: two\n\n']]);
  });

  test('more messages than maxMboxMessages: the allowed ones, then LIMIT_EXCEEDED', async () => {
    const mbox = makeMbox(messages);
    const seen: number[] = [];
    const error = await (async () => {
      for await (const message of splitMbox(chunked(mbox, 7), { maxMboxMessages: 2 }, 'box.mbox'))
        seen.push(message.number);
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(seen).toEqual([1, 2]);
    expect(ParseError.is(error) && error.context).toMatchObject({
      limit: 'maxMboxMessages',
      limitValue: 2,
      source: 'box.mbox',
    });
  });
});
