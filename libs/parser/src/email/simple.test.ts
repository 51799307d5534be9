import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { resolveLimits } from '../limits.js';
import { parseEmail, parseWithMailparser, type ParsedEmail } from './index.js';
import { parseSimpleEmail } from './simple.js';

const samplesDir = new URL('../../../../test/fixtures/samples/', import.meta.url);
const sampleEmails = readdirSync(samplesDir, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.eml'))
  .sort();

/** Comparable: attachment bytes as base64. */
const comparable = (email: ParsedEmail): unknown => ({
  ...email,
  attachments: email.attachments.map((a) => ({ ...a, content: Buffer.from(a.content).toString('base64') })),
});

async function expectMailparsersAnswer(bytes: Buffer): Promise<void> {
  const reference = await parseWithMailparser(bytes, resolveLimits(), {});
  expect(comparable(await parseEmail(bytes))).toEqual(comparable(reference));
}

const gzipped = gzipSync(Buffer.from('<?xml version="1.0"?><feedback></feedback>'));
const base64Lines = (bytes: Buffer): string => bytes.toString('base64').replace(/.{1,76}/g, '$&\r\n');

/** A report email like the big reporters send, with the pieces a case replaces. */
function reportEmail(options: { text?: string[]; attachment?: string[]; tail?: string } = {}): Buffer {
  const lines = [
    'From: noreply-dmarc-support@google.com',
    'Date: Tue, 12 Mar 2024 05:14:45 +0000',
    'Message-ID: <abc@google.com>',
    'Subject: Report domain: example.com Submitter: google.com Report-ID: 431690819276576384',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="000b817"',
    '',
    '--000b817',
    ...(options.text ?? [
      'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('This is an aggregate report from google.com.\r\n').toString('base64'),
    ]),
    '--000b817',
    ...(options.attachment ?? [
      'Content-Type: application/gzip; ',
      '\tname="google.com!example.com!1710115200!1710201599.xml.gz"',
      'Content-Disposition: attachment; ',
      '\tfilename="google.com!example.com!1710115200!1710201599.xml.gz"',
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(gzipped),
    ]),
    `--000b817--${options.tail ?? ''}`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

const simpleCases: Record<string, Buffer> = {
  'a report email as Google sends it': reportEmail(),
  'LF line endings': Buffer.from(reportEmail().toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
  'a preamble and an epilogue': Buffer.from(
    reportEmail({ tail: '\r\nepilogue text' })
      .toString('latin1')
      .replace('\r\n\r\n--000b817', '\r\n\r\nThis is a multi-part message.\r\n--000b817'),
    'latin1',
  ),
  'a quoted-printable text body': reportEmail({
    text: [
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'This is a report =3D an aggregate one, with a soft=',
      ' line break.',
    ],
  }),
  'a text file attached': reportEmail({
    attachment: [
      'Content-Type: text/plain; name=notes.txt',
      'Content-Disposition: attachment; filename=notes.txt',
      '',
      'not a report',
    ],
  }),
  'an attachment named by its content type only': reportEmail({
    attachment: [
      'Content-Type: application/zip; name="r.zip"',
      'Content-Transfer-Encoding: BASE64',
      '',
      base64Lines(gzipped),
    ],
  }),
  'one part, the attachment itself': Buffer.from(
    [
      'From: dmarc@yahoo.com',
      'Subject: Report',
      'Content-Type: application/gzip',
      'Content-Disposition: attachment; filename="yahoo.xml.gz"',
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(gzipped),
    ].join('\r\n'),
  ),
  'an mbox From line first': Buffer.concat([
    Buffer.from('From MAILER-DAEMON Tue Mar 12 05:14:45 2024\r\n'),
    reportEmail(),
  ]),
  'a nested multipart/alternative': reportEmail({
    text: [
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'plain text',
      '--inner--',
    ],
  }),
};

const fallbackCases: Record<string, Buffer> = {
  'an HTML body': reportEmail({ text: ['Content-Type: text/html', '', '<p>report</p>'] }),
  'an encoded-word subject': Buffer.from(
    reportEmail().toString('latin1').replace('Subject: Report', 'Subject: =?utf-8?q?R=C3=A9port?='),
    'latin1',
  ),
  'an RFC 2231 file name': reportEmail({
    attachment: [
      "Content-Type: application/gzip; name*=utf-8''r%C3%A9port.xml.gz",
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(gzipped),
    ],
  }),
  'no closing delimiter': Buffer.from(reportEmail().toString('latin1').replace('--000b817--', ''), 'latin1'),
  'a message/rfc822 part': reportEmail({
    attachment: ['Content-Type: message/rfc822', '', 'From: x@example.com', '', 'hi'],
  }),
  'an ISO-8859-1 text body': reportEmail({
    text: ['Content-Type: text/plain; charset=iso-8859-1', '', 'caf\xe9'],
  }),
  'a soft line break in flowed text': reportEmail({
    text: ['Content-Type: text/plain; format=flowed', '', 'This is a long ', 'line.'],
  }),
  'a raw 8-bit header': Buffer.from(
    reportEmail().toString('latin1').replace('Subject: Report', 'Subject: R\xe9port'),
    'latin1',
  ),
};

describe('report emails without mailparser', () => {
  test.each(sampleEmails)('sample %s: the same answer as mailparser', async (name) => {
    await expectMailparsersAnswer(readFileSync(new URL(name, samplesDir)));
  });

  test('the sample aggregate report emails take the simple path, the failure reports do not', () => {
    const simple = sampleEmails.filter(
      (name) => parseSimpleEmail(readFileSync(new URL(name, samplesDir)), 500) !== null,
    );
    expect(simple).toEqual(sampleEmails.filter((name) => name.startsWith('aggregate/')));
  });

  test.each(Object.keys(simpleCases))('%s: the simple path, with mailparser’s answer', async (name) => {
    const bytes = simpleCases[name]!;
    expect(parseSimpleEmail(bytes, 500)).not.toBeNull();
    await expectMailparsersAnswer(bytes);
  });

  test.each(Object.keys(fallbackCases))('%s: left to mailparser', async (name) => {
    const bytes = fallbackCases[name]!;
    expect(parseSimpleEmail(bytes, 500)).toBeNull();
    await expectMailparsersAnswer(bytes);
  });

  test('more parts than the limit are left to mailparser, which refuses them', async () => {
    const bytes = reportEmail();
    expect(parseSimpleEmail(bytes, 2)).toBeNull();
    await expect(parseEmail(bytes, { limits: { maxMimeParts: 2 } })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
  });
});
