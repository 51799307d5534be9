import { describe, expect, test } from 'vitest';
import {
  conformanceIndex,
  fakeOutlookMsg,
  garbageBytes,
  makeMbox,
  makeZip,
  sample,
} from '../../../../test/hostile/generators.js';
import { detectFormat, isOutlookMsg, type DetectedFormat } from './detect.js';

const text = (value: string): Uint8Array => Buffer.from(value);

describe('detectFormat', () => {
  test('every sample of the corpus is detected by its content', () => {
    // The expected kinds, decided by looking at each file's bytes (not its name).
    const expected = (name: string): DetectedFormat => {
      if (name === 'empty.xml') return 'empty';
      if (name.endsWith('.gz')) return 'gzip';
      if (name.endsWith('.zip')) return 'zip';
      if (name.endsWith('.json')) return 'json';
      if (name.endsWith('.xml')) return 'xml';
      // Two LinkedIn samples were saved from a mailbox: they start with an mbox "From " line.
      if (name.includes('dmarc_ruf_report_linkedin')) return 'mbox';
      return 'email';
    };
    const names = Object.keys(conformanceIndex());
    expect(names.length).toBe(34);
    for (const name of names) expect([name, detectFormat(sample(name))]).toEqual([name, expected(name)]);
  });

  test('the detected kind does not depend on a name: a gzip stays gzip whatever it is called', () => {
    expect(
      detectFormat(sample('aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz')),
    ).toBe('gzip');
  });

  test.each<[string, Uint8Array, DetectedFormat]>([
    ['nothing', new Uint8Array(0), 'empty'],
    ['gzip magic', Uint8Array.of(0x1f, 0x8b, 8), 'gzip'],
    ['zip local header', makeZip([{ name: 'a.xml', content: '<feedback/>' }]), 'zip'],
    ['empty zip archive', makeZip([]), 'zip'],
    ['Outlook .msg', fakeOutlookMsg(), 'outlook-msg'],
    ['XML declaration', text('<?xml version="1.0"?><feedback/>'), 'xml'],
    ['XML after BOM and blank lines', text('\uFEFF\r\n\n  <feedback>'), 'xml'],
    ['JSON', text(' {"organization-name": "x"}'), 'json'],
    ['mbox', makeMbox(['Subject: x\n\nbody']), 'mbox'],
    ['email', text('Received: from x\r\nSubject: y\r\n\r\nbody'), 'email'],
    ['email after blank lines', text('\n\nReturn-Path: <a@b>\n'), 'email'],
    ['blank text', text(' \r\n\t '), 'unknown'],
    ['prose', text('Hello world, this is no report'), 'unknown'],
    ['header name with a space', text('Not A Header: x'), 'unknown'],
    ['garbage', garbageBytes(256), 'unknown'],
    ['PK but not a zip record', text('PK\x01\x02'), 'unknown'],
    ['half a gzip magic', Uint8Array.of(0x1f), 'unknown'],
  ])('%s', (_name, head, kind) => {
    expect(detectFormat(head)).toBe(kind);
  });
});

describe('isOutlookMsg', () => {
  test('true for the OLE2 magic only', () => {
    expect(isOutlookMsg(fakeOutlookMsg())).toBe(true);
    expect(isOutlookMsg(fakeOutlookMsg().subarray(0, 7))).toBe(false);
    expect(isOutlookMsg(sample('aggregate/twilight.eml'))).toBe(false);
  });
});
