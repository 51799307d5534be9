import { describe, expect, it } from 'vitest';

import { searchIndexName, searchIndexOptionsProblems } from './names.js';
import { awareIso, canonicalIp, integerOf, naiveIso, parseUtcInstant, skipEmpty } from './values.js';

// IPv4-mapped addresses are written dotted, as Python 3.13+ does (3.12 and older: ::ffff:c000:201; both
// are the same ip value to the servers).
describe('canonicalIp (Python ipaddress str())', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    [' 192.0.2.1 ', '192.0.2.1'],
    ['2001:DB8:ABCD:0012::1', '2001:db8:abcd:12::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it.each([
    '192.0.2.256',
    '192.0.2.01',
    '192.0.2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'example.com',
    '',
  ])('keeps %j as it is: no IP address', (input) => {
    expect(canonicalIp(input)).toBe(input);
  });
});

describe('dates', () => {
  it('reads our UTC text and ISO 8601 with offsets, fractions and Z', () => {
    const iso = (text: string): string | null => {
      const instant = parseUtcInstant(text);
      return instant === null ? null : awareIso(instant);
    };
    expect(iso('2018-06-19 00:00:00')).toBe('2018-06-19T00:00:00+00:00');
    expect(iso('2016-04-01T00:00:00Z')).toBe('2016-04-01T00:00:00+00:00');
    expect(iso('2016-04-01T01:30:00+02:00')).toBe('2016-03-31T23:30:00+00:00');
    expect(iso('2016-04-01T00:00:00-0530')).toBe('2016-04-01T05:30:00+00:00');
    expect(iso('2016-04-01T00:00:00.25Z')).toBe('2016-04-01T00:00:00.250000+00:00');
    expect(iso('2016-04-01T00:00:00.000Z')).toBe('2016-04-01T00:00:00+00:00');
    expect(iso('2016-04-01')).toBe('2016-04-01T00:00:00+00:00');
    expect(iso('2024-02-29T12:00:00Z')).toBe('2024-02-29T12:00:00+00:00');
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2016-13-01',
      '2016-04-01T24:00:00',
      'yesterday',
      '',
      '2016-04-01T00:00:00+25:00',
    ]) {
      expect(parseUtcInstant(bad), bad).toBeNull();
    }
    expect(naiveIso(parseUtcInstant('2018-10-01 09:20:27')!)).toBe('2018-10-01T09:20:27');
  });
});

describe('integerOf (Python int())', () => {
  it('reads integers and nothing else', () => {
    expect(integerOf('100')).toBe(100);
    expect(integerOf(' 50 ')).toBe(50);
    expect(integerOf('+5')).toBe(5);
    expect(integerOf('1_0')).toBe(10);
    expect(integerOf('50%')).toBeNull();
    expect(integerOf('')).toBeNull();
    expect(integerOf(null)).toBeNull();
  });
});

describe('skipEmpty (elasticsearch-dsl to_dict(skip_empty=True))', () => {
  it('leaves out null, [] and {} at every level, keeps false, 0, "" and list elements', () => {
    expect(
      skipEmpty({
        a: null,
        b: [],
        c: {},
        d: { e: null, f: [] },
        g: false,
        h: 0,
        i: '',
        j: [{ k: null }, { l: 1 }],
        m: ['x'],
      }),
    ).toEqual({ g: false, h: 0, i: '', j: [{}, { l: 1 }], m: ['x'] });
  });
});

describe('index names', () => {
  it('cuts the day from a longer text and refuses what is not a day', () => {
    expect(searchIndexName('smtp_tls', '2024-01-09 12:00:00')).toBe('smtp_tls-2024-01-09');
    expect(searchIndexName('forensic', '2024-01-09', { forensicBase: 'dmarc_failure', monthly: true })).toBe(
      'dmarc_failure-2024-01',
    );
    expect(() => searchIndexName('aggregate', 'Jan 9')).toThrow(RangeError);
  });

  it('says what the servers would refuse in a prefix or suffix', () => {
    expect(searchIndexOptionsProblems({ prefix: 'acme-', suffix: 'eu_west' })).toEqual([]);
    expect(searchIndexOptionsProblems({})).toEqual([]);
    expect(searchIndexOptionsProblems({ prefix: 'Acme' })).toEqual([
      'index prefix "Acme" must be lower case',
    ]);
    expect(searchIndexOptionsProblems({ suffix: 'a b' })).toHaveLength(1);
    expect(searchIndexOptionsProblems({ prefix: '_x' })).toEqual([
      'index prefix "_x" must not start with -, _ or +',
    ]);
    expect(searchIndexOptionsProblems({ prefix: 'a:b', suffix: 'c*' })).toHaveLength(2);
    expect(searchIndexOptionsProblems({ suffix: 'x'.repeat(250) })[0]).toMatch(/over the limit of 255/);
  });
});
