import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { canonicalIp, parseIp, reverseName } from './ip.js';
import { parseNameserver } from './dns-client.js';
import { EnrichError } from './errors.js';
import { getBaseDomain } from './base-domain.js';

const rev = (ip: string): string | null => {
  const parsed = parseIp(ip);
  return parsed && reverseName(parsed);
};

describe('reverse names', () => {
  it('IPv4 under in-addr.arpa', () => {
    expect(rev('72.150.241.94')).toBe('94.241.150.72.in-addr.arpa');
  });

  it('IPv6 as 32 reversed nibbles under ip6.arpa (the name dnsmasq logs)', () => {
    const expected = '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';
    expect(rev('2001:db8::25')).toBe(expected);
    expect(rev('2001:0DB8:0000:0000:0000:0000:0000:0025')).toBe(expected);
    expect(rev('2001:db8::25%eth0')).toBe(expected);
    expect(rev('::1')).toBe(`1.${'0.'.repeat(31)}ip6.arpa`);
    expect(rev('::')).toBe(`${'0.'.repeat(32)}ip6.arpa`);
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address', () => {
    expect(rev('::ffff:72.150.241.94')).toBe('94.241.150.72.in-addr.arpa');
    expect(rev('::FFFF:4896:f15e')).toBe('94.241.150.72.in-addr.arpa');
    expect(canonicalIp(parseIp('::ffff:72.150.241.94') ?? { version: 4, bytes: new Uint8Array() })).toBe(
      '72.150.241.94',
    );
  });

  it('an embedded IPv4 tail elsewhere stays IPv6', () => {
    expect(parseIp('64:ff9b::192.0.2.33')?.version).toBe(6);
    expect(canonicalIp(parseIp('64:ff9b::192.0.2.33') ?? { version: 4, bytes: new Uint8Array() })).toBe(
      '0064:ff9b:0000:0000:0000:0000:c000:0221',
    );
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', 'garbage', '1.2.3', '256.1.1.1', '1.2.3.4.5', '2001:db8:::1', 'example.com']) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });
});

describe('nameservers', () => {
  it('accepts ip, ip:port, [ipv6]:port and bare IPv6', () => {
    expect(parseNameserver('1.1.1.1')).toEqual({ host: '1.1.1.1', port: 53, family: 4, label: '1.1.1.1:53' });
    expect(parseNameserver('127.0.0.1:15353')).toMatchObject({ host: '127.0.0.1', port: 15353 });
    expect(parseNameserver('[::1]:5353')).toEqual({
      host: '::1',
      port: 5353,
      family: 6,
      label: '[::1]:5353',
    });
    expect(parseNameserver('2606:4700:4700::1111')).toMatchObject({
      host: '2606:4700:4700::1111',
      port: 53,
      family: 6,
    });
  });

  it('rejects anything else with a typed error', () => {
    for (const bad of ['dns.example', '1.1.1.1:0', '1.1.1.1:65536', '1.1.1.1:x', '[::1]:', '']) {
      expect(() => parseNameserver(bad), bad).toThrow(EnrichError);
      try {
        parseNameserver(bad);
      } catch (err) {
        expect(EnrichError.is(err) && err.code).toBe('INVALID_NAMESERVER');
      }
    }
  });
});

describe('base domain (Public Suffix List, ICANN section)', () => {
  it('returns the registrable domain of a PTR name', () => {
    expect(getBaseDomain('adsl-72-150-241-94.shv.bellsouth.net')).toBe('bellsouth.net');
    expect(getBaseDomain('mail-sor-f41.google.com.')).toBe('google.com');
    expect(getBaseDomain('MX.Example.CO.UK')).toBe('example.co.uk');
    expect(getBaseDomain('ec2-1-2-3-4.compute-1.amazonaws.com')).toBe('amazonaws.com');
  });

  it('is null for names without one', () => {
    expect(getBaseDomain('localhost')).toBeNull();
    expect(getBaseDomain('')).toBeNull();
    expect(getBaseDomain('co.uk')).toBeNull();
  });
});

describe('dotted quads', () => {
  it('parse like node:net decides them, on the fast path and off it', () => {
    const cases = [
      '0.0.0.0',
      '255.255.255.255',
      '192.0.2.1',
      '10.77.0.250',
      '256.0.0.1',
      '01.2.3.4',
      '1.02.3.4',
      '1.2.3.04',
      '1..3.4',
      '.1.2.3',
      '1.2.3.',
      '1.2.3.4.',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.2555',
      ' 192.0.2.1 ',
      '192.0.2.1%eth0',
      '1.2.3.-4',
      '١.2.3.4',
    ];
    for (const text of cases) {
      const value = text.trim().split('%')[0]!;
      const expected = isIP(value) === 4 ? value : null;
      const parsed = parseIp(text);
      expect(parsed && parsed.version === 4 ? canonicalIp(parsed) : null, text).toBe(expected);
    }
  });
});
