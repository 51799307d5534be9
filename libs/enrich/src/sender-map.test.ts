import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnrichError } from './errors.js';
import { parseCsvRows, parseSenderMapCsv, SenderMap } from './sender-map.js';
import { shippedSenderMapEntries } from './sender-map.generated.js';

describe('shipped sender map', () => {
  it('the generated module matches data/sender-map.csv (rerun scripts/gen-sender-map.mjs after editing it)', () => {
    const csv = readFileSync(new URL('../data/sender-map.csv', import.meta.url), 'utf8');
    expect(shippedSenderMapEntries).toEqual(parseSenderMapCsv(csv));
  });

  it('has one entry per domain, every entry with a name and a type', () => {
    const domains = shippedSenderMapEntries.map(([d]) => d);
    expect(new Set(domains).size).toBe(domains.length);
    expect(domains.length).toBeGreaterThanOrEqual(50);
    for (const [domain, name, type] of shippedSenderMapEntries) {
      expect(domain).toMatch(/^[a-z0-9.-]+\.[a-z]{2,}$/);
      expect(name).not.toBe('');
      expect(type).not.toBe('');
    }
  });

  it('maps the large senders', () => {
    const map = SenderMap.withShipped();
    expect(map.lookup('mail-sor-f41.google.com', 'google.com')).toEqual({
      name: 'Google',
      type: 'Email Provider',
    });
    expect(map.lookup('a1-2.smtp-out.amazonses.com', 'amazonses.com')).toEqual({
      name: 'Amazon SES',
      type: 'SaaS',
    });
    expect(map.lookup('o1.ptr1234.sendgrid.net', 'sendgrid.net')?.name).toBe('SendGrid (Twilio)');
    expect(map.lookup('mail123.suw41.mcsv.net', 'mcsv.net')?.name).toBe('Mailchimp');
  });
});

describe('SenderMap lookup', () => {
  const map = new SenderMap([
    ['outlook.com', 'Microsoft', 'Email Provider'],
    ['protection.outlook.com', 'Microsoft 365', 'Email Provider'],
    ['example.net', 'Example', ''],
  ]);

  it('prefers the most specific suffix down to the base domain', () => {
    expect(map.lookup('mail-db8eur05on2101.outbound.protection.outlook.com', 'outlook.com')?.name).toBe(
      'Microsoft 365',
    );
    expect(map.lookup('BLU004-OMC1S10.hotmail.outlook.com', 'outlook.com')?.name).toBe('Microsoft');
  });

  it('does not look above the base domain, and is null when unknown', () => {
    expect(map.lookup('host.example.org', 'example.org')).toBeNull();
    expect(map.lookup('mx.other.co.uk', 'other.co.uk')).toBeNull();
  });

  it('an empty type is null', () => {
    expect(map.get('EXAMPLE.NET.')).toEqual({ name: 'Example', type: null });
  });

  it('later entry lists override earlier ones', () => {
    const merged = new SenderMap([['a.com', 'A', 'X']], [['a.com', 'A2', 'Y']]);
    expect(merged.get('a.com')).toEqual({ name: 'A2', type: 'Y' });
  });
});

describe('sender map CSV', () => {
  it('parses quoted fields, doubled quotes, CRLF, a BOM and blank lines', () => {
    expect(parseCsvRows('\ufeffa,"b,c","say ""hi"""\r\n\r\nd,e,f')).toEqual([
      ['a', 'b,c', 'say "hi"'],
      ['d', 'e', 'f'],
    ]);
  });

  it("accepts the original's column name and any column order", () => {
    expect(parseSenderMapCsv('type,name,base_reverse_dns\nISP,Foo,Foo.NET\n')).toEqual([
      ['foo.net', 'Foo', 'ISP'],
    ]);
  });

  it('rejects a CSV without the columns', () => {
    expect(() => parseSenderMapCsv('domain,label\nfoo.net,Foo\n', 'my.csv')).toThrow(EnrichError);
    try {
      parseSenderMapCsv('domain,label\n', 'my.csv');
    } catch (err) {
      expect(EnrichError.is(err) && [err.code, err.context.source]).toEqual(['SENDER_MAP', 'my.csv']);
    }
  });
});
