import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ParseError } from '../errors.js';
import { decodeEncodedWords, splitMessage } from './headers.js';
import { looksLikeEmail, parseEmail } from './index.js';
import { parseMailDate } from './date.js';

const fixture = (path: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/samples/${path}`, import.meta.url));

async function parseError(promise: Promise<unknown>): Promise<ParseError> {
  try {
    await promise;
  } catch (error) {
    if (ParseError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** A multipart/mixed message with `parts` text parts. */
function multipartEmail(parts: number): Buffer {
  const lines = ['From: a@example.com', 'Subject: many', 'Content-Type: multipart/mixed; boundary="b"', ''];
  for (let i = 0; i < parts; i++)
    lines.push('--b', 'Content-Type: application/octet-stream', '', `part ${i}`);
  lines.push('--b--', '');
  return Buffer.from(lines.join('\r\n'));
}

describe('parseEmail', () => {
  test('keeps the feedback report and the message/rfc822 sample as sent', async () => {
    const email = await parseEmail(
      fixture(
        'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
      ),
    );
    expect(email.subject).toBe(
      'DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10)',
    );
    expect(email.dateHeader).toBe('Mon, 1 Oct 2018 11:20:27 +0200');
    expect(email.date?.toISOString()).toBe('2018-10-01T09:20:27.000Z');
    expect(email.from).toBe('dmarc-report@domain.de');
    expect(email.messageId).toBe('<OF587285BA.CB01D107-ONC1258319.00334FCF@LocalDomain>');
    expect(email.text).toMatch(/^This is an email abuse report/);
    expect(email.attachments.map((a) => [a.contentType, a.filename])).toEqual([
      ['message/feedback-report', 'report'],
      ['message/rfc822', null],
    ]);
    const sample = text(email.attachments[1]!.content);
    // the embedded message is not spliced into the outer one: its headers and undecoded QP body are there
    expect(sample.startsWith('Received: from Servernameone.domain.local')).toBe(true);
    expect(sample).toContain('Content-Transfer-Encoding: quoted-printable\n\n<html><head><base href=3D');
  });

  test('undoes base64 transfer encoding of parts', async () => {
    const email = await parseEmail(fixture('failure/[Netease DMARC Failure Report] Rent Reminder.eml'));
    const feedback = email.attachments.find((a) => a.contentType === 'message/feedback-report');
    expect(feedback?.filename).toBe('ATT00001');
    expect(text(feedback!.content)).toMatch(
      /^Feedback-Type: auth-failure\r\nUser-Agent: NtesDmarcReporter\/1.0\r\n/,
    );
  });

  test('gives SMTP TLS and aggregate report attachments with their bytes', async () => {
    const tls = await parseEmail(fixture('smtp_tls/google.com_smtp_tls_report.eml'));
    expect(tls.attachments.map((a) => a.contentType)).toEqual(['application/tlsrpt+gzip']);
    expect(tls.attachments[0]!.filename).toBe(
      'google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz',
    );
    expect(JSON.parse(gunzipSync(tls.attachments[0]!.content).toString('utf8'))['organization-name']).toBe(
      'Google Inc.',
    );

    const aggregate = await parseEmail(
      fixture(
        'aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml',
      ),
    );
    expect(aggregate.attachments.map((a) => [a.contentType, a.filename])).toEqual([
      ['application/zip', 'google.com!borschow.com!1549929600!1550015999.zip'],
    ]);
    expect(Buffer.from(aggregate.attachments[0]!.content.subarray(0, 4)).toString('hex')).toBe('504b0304');
  });

  test('CRLF and LF messages give the same parts', async () => {
    const lf = await parseEmail(fixture('failure/dmarc_ruf_report_linkedin.eml'));
    const crlf = await parseEmail(fixture('failure/dmarc_ruf_report_linkedin.crlf.eml'));
    expect(crlf.subject).toBe(lf.subject);
    expect(crlf.attachments.map((a) => text(a.content).replace(/\r\n/g, '\n'))).toEqual(
      lf.attachments.map((a) => text(a.content)),
    );
  });

  test('too many MIME parts is LIMIT_EXCEEDED', async () => {
    // the multipart itself is a part: 1 + 10 parts is one too many
    const error = await parseError(
      parseEmail(multipartEmail(10), { limits: { maxMimeParts: 10 }, source: 'many.eml' }),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.context).toMatchObject({ source: 'many.eml', limit: 'maxMimeParts', limitValue: 10 });
    expect((await parseEmail(multipartEmail(9), { limits: { maxMimeParts: 10 } })).attachments).toHaveLength(
      9,
    );
    // the default limit (500) applies too
    expect((await parseError(parseEmail(multipartEmail(600)))).code).toBe('LIMIT_EXCEEDED');
  });

  test('a byte order mark before the headers is ignored', async () => {
    const email = await parseEmail(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), multipartEmail(1)]));
    expect(email.from).toBe('a@example.com');
    expect(email.subject).toBe('many');
  });

  test('an input larger than maxInputBytes is LIMIT_EXCEEDED', async () => {
    const error = await parseError(
      parseEmail(multipartEmail(3), { limits: { maxInputBytes: 100 }, source: 'big.eml' }),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.context).toMatchObject({ source: 'big.eml', limit: 'maxInputBytes' });
  });

  test('garbage is INVALID_EMAIL naming the source, nothing is EMPTY_INPUT', async () => {
    const garbage = Uint8Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256);
    for (const input of [
      garbage,
      Buffer.from('{"organization-name": "x"}'),
      fixture('extract_report/nice-input.xml'),
    ]) {
      const error = await parseError(parseEmail(input, { source: 'junk.eml' }));
      expect(error.code).toBe('INVALID_EMAIL');
      expect(error.context.source).toBe('junk.eml');
    }
    expect((await parseError(parseEmail(new Uint8Array(0)))).code).toBe('EMPTY_INPUT');
    expect((await parseError(parseEmail(Buffer.from(' \r\n\r\n')))).code).toBe('EMPTY_INPUT');
  });
});

describe('looksLikeEmail', () => {
  test('header lines and mbox separators are email; JSON, XML and prose are not', () => {
    expect(looksLikeEmail('Received: from x\r\n\tby y\r\n')).toBe(true);
    expect(looksLikeEmail('\r\nMIME-Version: 1.0\r\n')).toBe(true);
    expect(looksLikeEmail('From dmarc-noreply@linkedin.com Tue Apr 30 02:09:16 2019\n')).toBe(true);
    expect(looksLikeEmail('{"organization-name":"Google Inc."}')).toBe(false);
    expect(looksLikeEmail('<?xml version="1.0"?><feedback>')).toBe(false);
    expect(looksLikeEmail('Hello world, this is text\n')).toBe(false);
    expect(looksLikeEmail('')).toBe(false);
  });
});

describe('parseMailDate', () => {
  const utc = (s: string): string | undefined => {
    const d = parseMailDate(s);
    return d ? `${new Date(d.utcMs).toISOString()} ${d.offsetMinutes}` : undefined;
  };
  test('RFC 5322 dates with and without weekday, seconds, comments', () => {
    expect(utc('Mon, 1 Oct 2018 11:20:27 +0200')).toBe('2018-10-01T09:20:27.000Z 120');
    expect(utc('01 Oct 2018 11:20:27 +0200')).toBe('2018-10-01T09:20:27.000Z 120');
    expect(utc('Mon,  1 Oct 2018 11:20:27 +0200 (CEST)')).toBe('2018-10-01T09:20:27.000Z 120');
    expect(utc('Tue, 30 Apr 2019 02:09:00 -0000')).toBe('2019-04-30T02:09:00.000Z 0');
    expect(utc('Fri, 28 Sep 2018 08:48:36.716 +0000 (UTC)')).toBe('2018-09-28T08:48:36.000Z 0');
    expect(utc('Thu, 31 Aug 2023 10:06 EDT')).toBe('2023-08-31T14:06:00.000Z -240');
    expect(utc('1 Jan 99 00:00:00 GMT')).toBe('1999-01-01T00:00:00.000Z 0');
    expect(utc('Mon, 7 Apr 2025 10:10:06 -0600')).toBe('2025-04-07T16:10:06.000Z -360');
  });
  test('ISO 8601 and asctime', () => {
    expect(utc('2018-10-01T09:20:27+00:00')).toBe('2018-10-01T09:20:27.000Z 0');
    expect(utc('2024-09-03T00:00:00Z')).toBe('2024-09-03T00:00:00.000Z 0');
    expect(utc('2024-09-03 05:30:00+05:30')).toBe('2024-09-03T00:00:00.000Z 330');
    expect(utc('Tue Apr 30 02:09:16 2019')).toBe('2019-04-30T02:09:16.000Z 0');
  });
  test('not dates', () => {
    expect(parseMailDate('2018-09-28 08:48:36.858842501 +0000 UTC m=+1856335.516585242')).toBeNull();
    expect(parseMailDate('31 Feb 2020 10:00:00 +0000')).toBeNull();
    expect(parseMailDate('yesterday')).toBeNull();
    expect(parseMailDate('')).toBeNull();
    expect(parseMailDate(null)).toBeNull();
  });
});

describe('headers', () => {
  test('encoded words are decoded like Python does, other values are left alone', () => {
    expect(
      decodeEncodedWords(
        '"=?utf-8?B?SW50ZXJha3RpdmUgV2V0dGJld2VyYmVyLcOcYmVyc2ljaHQ=?=" <sharepoint@domain.de>',
      ),
    ).toBe('"Interaktive Wettbewerber-Übersicht" <sharepoint@domain.de>');
    // adjacent words: the whitespace between them goes, a character split across them survives
    expect(decodeEncodedWords('=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9_ok?=')).toBe('café ok');
    expect(decodeEncodedWords('=?iso-8859-1?q?Gr=FC=DFe?=')).toBe('Grüße');
    expect(decodeEncodedWords('plain\n\tfolded value')).toBe('plain\n\tfolded value');
  });

  test('splitMessage keeps folding and detects the end of the header block', () => {
    const split = splitMessage('From x@y Tue Apr 30 02:09:16 2019\nA:  1\nB: 2\n\tcont\nX-Empty:\n\nbody\n');
    expect(split.fields).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2\n\tcont' },
      { name: 'X-Empty', value: '' },
    ]);
    expect(split).toMatchObject({ body: 'body\n', hasBody: true, hasDefects: false });
    expect(splitMessage('A: 1\nB: 2\n')).toMatchObject({ body: '', hasBody: false, hasDefects: false });
    expect(splitMessage('A: 1\nnot a header\nC: 3\n')).toMatchObject({
      body: 'not a header\nC: 3\n',
      hasDefects: true,
    });
  });
});
