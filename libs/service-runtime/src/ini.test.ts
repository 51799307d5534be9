import { CI_INI, EXAMPLE_INI, USAGE_EXAMPLE } from '../../../test/config/original-ini.js';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import {
  IniError,
  iniGet,
  iniSection,
  parseIni,
  parseIniBoolean,
  parseIniList,
  type IniDocument,
  type IniErrorCode,
} from './ini.js';
import {
  PARSEDMARC_DIRECT_FILE_KEYS,
  PARSEDMARC_ENV_ALIASES,
  PARSEDMARC_INI_KEYS,
  PARSEDMARC_KNOWN_SECTIONS,
  type ParsedmarcIniCatalogue,
} from './parsedmarc-ini-keys.js';

const FILE = 'parsedmarc.ini';
const parse = (text: string): IniDocument => parseIni(text, FILE);
const values = (doc: IniDocument, section: string): Record<string, string> =>
  Object.fromEntries([...(doc.sections.get(section) ?? [])].map(([key, entry]) => [key, entry.value]));

function failure(text: string): IniError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(IniError);
    return error as IniError;
  }
  throw new Error('expected an IniError');
}

function expectFailure(text: string, code: IniErrorCode, line: number, message?: string): IniError {
  const error = failure(text);
  expect(error.code).toBe(code);
  expect(error.file).toBe(FILE);
  expect(error.line).toBe(line);
  expect(error.message.startsWith(`${FILE}:${line}: `)).toBe(true);
  if (message !== undefined) expect(error.message).toBe(message);
  return error;
}

describe('parseIni: the original documentation examples', () => {
  it('parses the usage example', () => {
    const doc = parse(USAGE_EXAMPLE);
    expect([...doc.sections.keys()]).toEqual([
      'general',
      'imap',
      'mailbox',
      'elasticsearch',
      'opensearch',
      'splunk_hec',
      's3',
      'syslog',
      'gelf',
      'webhook',
    ]);
    expect(values(doc, 'imap')).toEqual({
      host: 'imap.example.com',
      user: 'dmarcresports@example.com',
      password: '$uperSecure',
    });
    expect(values(doc, 'opensearch')).toEqual({ hosts: 'https://admin:admin@127.0.0.1:9200', ssl: 'True' });
    expect(doc.defaults.size).toBe(0);
    expect(iniGet(doc, 'webhook', 'timeout')).toEqual({ value: '60', line: 46 });
    expect(doc.sectionLines.get('general')).toBe(3);
  });

  it('parses example.ini and ci.ini', () => {
    const example = parse(EXAMPLE_INI);
    expect(values(example, 'gmail_api')).toMatchObject({
      credentials_file: '/etc/example/credentials.json',
      scopes: 'https://www.googleapis.com/auth/gmail.modify',
    });
    const ci = parse(CI_INI);
    expect(values(ci, 'elasticsearch')).toEqual({
      hosts: 'http://localhost:9200',
      ssl: 'False',
      number_of_shards: '2',
      number_of_replicas: '2',
    });
  });

  it('uses only catalogued sections and keys', () => {
    const catalogue: ParsedmarcIniCatalogue = PARSEDMARC_INI_KEYS;
    for (const text of [USAGE_EXAMPLE, EXAMPLE_INI, CI_INI]) {
      for (const [section, entries] of parse(text).sections) {
        for (const key of entries.keys())
          expect(catalogue[section]?.[key], `[${section}] ${key}`).toBeDefined();
      }
    }
  });
});

describe('parseIni: sections', () => {
  it('keeps section names case-sensitive and verbatim', () => {
    const doc = parse('[imap]\nhost = a\n[IMAP]\nhost = b\n[ imap ]\nhost = c\n');
    expect([...doc.sections.keys()]).toEqual(['imap', 'IMAP', ' imap ']);
    expect(iniGet(doc, 'IMAP', 'host')?.value).toBe('b');
    expect(iniGet(doc, 'Imap', 'host')).toBeUndefined();
  });

  it('reads the name up to the last "]" and ignores what follows it', () => {
    const doc = parse('[general] ; the main section\na = 1\n[x]y] trailing\nb = 2\n[k=v]\nc = 3\n');
    expect([...doc.sections.keys()]).toEqual(['general', 'x]y', 'k=v']);
  });

  it('keeps an empty section', () => {
    const doc = parse('[general]\n[imap]\nhost = h\n');
    expect(doc.sections.get('general')?.size).toBe(0);
  });

  it('gives an empty document for an empty text or only comments', () => {
    for (const text of ['', '\n\n', '# only\n; comments\n']) {
      const doc = parse(text);
      expect(doc.sections.size).toBe(0);
      expect(doc.defaults.size).toBe(0);
    }
  });
});

describe('parseIni: keys and values', () => {
  it('lowercases keys, keeps the case of values, and looks keys up case-insensitively', () => {
    const doc = parse('[elasticsearch]\napiKey = AbC\nSSL = False\n');
    expect(values(doc, 'elasticsearch')).toEqual({ apikey: 'AbC', ssl: 'False' });
    expect(iniGet(doc, 'elasticsearch', 'APIKEY')?.value).toBe('AbC');
  });

  it('splits at the first "=" or ":", whichever comes first', () => {
    const doc = parse(
      '[s]\nurl: https://h:8443/p?a=b\nkey=a:b\nk : v\nspaced   =   x  \ntabbed\t=\tv\t\nempty =\ncolon:\n',
    );
    expect(values(doc, 's')).toEqual({
      url: 'https://h:8443/p?a=b',
      key: 'a:b',
      k: 'v',
      spaced: 'x',
      tabbed: 'v',
      empty: '',
      colon: '',
    });
  });

  it('keeps a multi-word key with its inner spaces', () => {
    expect(values(parse('[s]\nmy key = v\n'), 's')).toEqual({ 'my key': 'v' });
  });

  it('does no interpolation', () => {
    const doc = parse('[s]\na = %(b)s\nb = ${HOME}/x 100%\n');
    expect(values(doc, 's')).toEqual({ a: '%(b)s', b: '${HOME}/x 100%' });
  });

  it('remembers the 1-based line of each key', () => {
    const doc = parse('# c\n\n[imap]\nhost = h\n\nuser = u\n');
    expect(iniGet(doc, 'imap', 'host')).toEqual({ value: 'h', line: 4 });
    expect(iniGet(doc, 'imap', 'user')).toEqual({ value: 'u', line: 6 });
  });

  it('strips Python whitespace, not JavaScript whitespace', () => {
    // U+0085 and U+001C are whitespace to Python; U+FEFF is not.
    const doc = parse('[s]\n\u0085a = 1\u001c\nb = \uFEFF2\n');
    expect(values(doc, 's')).toEqual({ a: '1', b: '\uFEFF2' });
  });
});

describe('parseIni: comments', () => {
  it('skips whole-line comments starting with # or ;, indented or not', () => {
    const doc = parse('# top\n[s]\n; a = 1\n   # b = 2\n\t; c = 3\nd = 4\n');
    expect(values(doc, 's')).toEqual({ d: '4' });
  });

  it('does not strip inline comments', () => {
    const doc = parse('[imap]\nport = 993 ; imaps\nhost = h # main\n');
    expect(values(doc, 'imap')).toEqual({ port: '993 ; imaps', host: 'h # main' });
  });
});

describe('parseIni: multi-line values', () => {
  it('continues a value on lines indented deeper than its key', () => {
    const doc = parse('[smtp]\nmessage = first\n  second\n\tthird\nsubject = s\n');
    expect(values(doc, 'smtp')).toEqual({ message: 'first\nsecond\nthird', subject: 's' });
    expect(iniGet(doc, 'smtp', 'message')?.line).toBe(2);
  });

  it('starts a value on the next lines when the key line has none', () => {
    const doc = parse('[elasticsearch]\nhosts =\n    a:9200,\n    b:9200\n');
    expect(iniGet(doc, 'elasticsearch', 'hosts')?.value).toBe('\na:9200,\nb:9200');
    expect(parseIniList(iniGet(doc, 'elasticsearch', 'hosts')?.value ?? '')).toEqual(['a:9200', 'b:9200']);
  });

  it('measures indentation from the key: an indented key needs deeper continuation lines', () => {
    const doc = parse('[s]\n  a = 1\n  b = 2\n    more\nc = 3\n');
    expect(values(doc, 's')).toEqual({ a: '1', b: '2\nmore', c: '3' });
  });

  it('does not continue a section header', () => {
    const doc = parse('[s]\n  a = 1\n');
    expect(values(doc, 's')).toEqual({ a: '1' });
  });

  it('keeps blank lines inside a value and drops trailing ones', () => {
    const doc = parse('[s]\na = one\n\n   \n  two\n\n\nb = x\n\n');
    expect(values(doc, 's')).toEqual({ a: 'one\n\n\ntwo', b: 'x' });
  });

  it('lets an indented line after a blank line continue the value above', () => {
    const doc = parse('[s]\na = 1\n\n  b = 2\n');
    expect(values(doc, 's')).toEqual({ a: '1\n\nb = 2' });
  });

  it('drops comment lines inside a value without ending it', () => {
    const doc = parse('[s]\na = one\n# note\n  ; indented note\n  two\n');
    expect(values(doc, 's')).toEqual({ a: 'one\ntwo' });
  });

  it('takes an indented "[x]" after a key as part of its value', () => {
    const doc = parse('[s]\na = 1\n  [t]\n');
    expect([...doc.sections.keys()]).toEqual(['s']);
    expect(values(doc, 's')).toEqual({ a: '1\n[t]' });
  });
});

describe('parseIni: line endings and byte order mark', () => {
  it('accepts \\r\\n and \\r line endings and counts lines the same way', () => {
    for (const eol of ['\r\n', '\r']) {
      const doc = parse(['[s]', 'a = 1', '  2', 'b = 3'].join(eol) + eol);
      expect(values(doc, 's')).toEqual({ a: '1\n2', b: '3' });
      expect(iniGet(doc, 's', 'b')?.line).toBe(4);
    }
  });

  it('skips a UTF-8 byte order mark at the start', () => {
    const doc = parse('\uFEFF[general]\nsave_aggregate = True\n');
    expect(values(doc, 'general')).toEqual({ save_aggregate: 'True' });
  });
});

describe('parseIni: DEFAULT', () => {
  const doc = parse('[DEFAULT]\ntimeout = 10\nssl = False\n[imap]\nhost = h\nssl = True\n[webhook]\n');

  it('is not a section, but its keys are visible in every section', () => {
    expect([...doc.sections.keys()]).toEqual(['imap', 'webhook']);
    expect(values(doc, 'imap')).toEqual({ host: 'h', ssl: 'True' });
    expect(iniGet(doc, 'webhook', 'timeout')).toEqual({ value: '10', line: 2 });
    expect(iniGet(doc, 'imap', 'ssl')?.value).toBe('True');
    expect(iniGet(doc, 'DEFAULT', 'ssl')?.value).toBe('False');
    expect(iniGet(doc, '', 'timeout')?.value).toBe('10');
    expect(iniGet(doc, 'kafka', 'timeout')).toBeUndefined();
    expect(doc.sectionLines.get('DEFAULT')).toBe(1);
  });

  it('lists a section own keys first, then the defaults it does not override', () => {
    const imap = iniSection(doc, 'imap');
    expect([...(imap ?? new Map()).entries()].map(([k, e]) => [k, e.value])).toEqual([
      ['host', 'h'],
      ['ssl', 'True'],
      ['timeout', '10'],
    ]);
    expect(iniSection(doc, 'kafka')).toBeUndefined();
    expect(iniSection(doc, 'DEFAULT')?.size).toBe(2);
  });

  it('may be opened twice, but not set a key twice', () => {
    const twice = parse('[DEFAULT]\na = 1\n[s]\n[DEFAULT]\nb = 2\n');
    expect([...twice.defaults.keys()]).toEqual(['a', 'b']);
    expectFailure(
      '[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n',
      'INI_DUPLICATE_KEY',
      4,
      `${FILE}:4: duplicate key "a" in [DEFAULT], first set on line 2`,
    );
  });

  it('is case-sensitive: [default] is an ordinary section', () => {
    const lower = parse('[default]\na = 1\n[s]\n');
    expect([...lower.sections.keys()]).toEqual(['default', 's']);
    expect(iniGet(lower, 's', 'a')).toBeUndefined();
  });
});

describe('parseIni: errors', () => {
  it('is a ConfigError naming file and line', () => {
    const error = failure('[imap]\nhost = a\nhost = b\n');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('IniError');
    expect(error.lines).toEqual([3]);
  });

  it('refuses a duplicate section', () => {
    expectFailure(
      '[imap]\nhost = h\n\n[general]\n[imap]\n',
      'INI_DUPLICATE_SECTION',
      5,
      `${FILE}:5: duplicate section [imap], first opened on line 1`,
    );
  });

  it('refuses a duplicate key, whatever its case', () => {
    expectFailure(
      '[imap]\nhost = a\nuser = u\nHOST = b\n',
      'INI_DUPLICATE_KEY',
      4,
      `${FILE}:4: duplicate key "host" in [imap], first set on line 2`,
    );
  });

  it('allows the same key in different sections and a section key over a default', () => {
    const doc = parse('[DEFAULT]\nhost = d\n[imap]\nhost = a\n[smtp]\nhost = b\n');
    expect(iniGet(doc, 'imap', 'host')?.value).toBe('a');
    expect(iniGet(doc, 'smtp', 'host')?.value).toBe('b');
  });

  it('refuses a key before any section header', () => {
    expectFailure(
      '# comment\n\nhost = h\n[imap]\n',
      'INI_MISSING_SECTION',
      3,
      `${FILE}:3: key "host" is set before any [section] header; start the file with one, such as [general]`,
    );
    const error = expectFailure('  secret-ish text\n[imap]\n', 'INI_MISSING_SECTION', 1);
    expect(error.message).not.toContain('secret');
  });

  it('refuses a key without a value, without quoting the line', () => {
    const error = expectFailure('[imap]\npassword =\nhunter2\n', 'INI_NO_VALUE', 3);
    expect(error.message).toMatch(/no "=" or ":"/);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses a key with an empty name and a malformed section header', () => {
    expectFailure('[s]\n = value\n', 'INI_SYNTAX', 2, `${FILE}:2: key name missing before "="`);
    expectFailure('[s]\na = 1\n[unclosed\n', 'INI_SYNTAX', 3);
    expectFailure('[s]\n[]\n', 'INI_SYNTAX', 2);
  });

  it('reports every unreadable line at once, after reading the whole text', () => {
    const error = expectFailure('[s]\na = 1\nbad\nb = 2\n: x\nworse\n', 'INI_NO_VALUE', 3);
    expect(error.lines).toEqual([3, 5, 6]);
    expect(error.message).toMatch(/\(also lines 5, 6\)$/);
  });

  it('stops at a duplicate even after an unreadable line, as configparser does', () => {
    expectFailure('[s]\nbad\na = 1\na = 2\n', 'INI_DUPLICATE_KEY', 4);
  });
});

describe('parseIniBoolean', () => {
  it("accepts configparser's words, case-insensitively", () => {
    for (const word of ['1', 'yes', 'true', 'on', 'YES', 'True', 'oN'])
      expect(parseIniBoolean(word)).toBe(true);
    for (const word of ['0', 'no', 'false', 'off', 'NO', 'False', 'OFF'])
      expect(parseIniBoolean(word)).toBe(false);
  });

  it('gives null for anything else', () => {
    for (const word of ['', 'y', 'n', 't', '2', 'enabled', ' yes', 'true '])
      expect(parseIniBoolean(word)).toBeNull();
  });
});

describe('parseIniList', () => {
  it('splits on commas and strips leading whitespace only', () => {
    expect(parseIniList('a, b,\tc')).toEqual(['a', 'b', 'c']);
    expect(parseIniList('a ,b')).toEqual(['a ', 'b']);
    expect(parseIniList('one')).toEqual(['one']);
  });

  it('keeps empty items', () => {
    expect(parseIniList('a,,b,')).toEqual(['a', '', 'b', '']);
    expect(parseIniList('')).toEqual(['']);
  });

  it('strips the newlines of a multi-line value', () => {
    expect(parseIniList('\na@example.com,\nb@example.com')).toEqual(['a@example.com', 'b@example.com']);
    expect(parseIniList('a\nb')).toEqual(['a\nb']);
  });
});

describe('PARSEDMARC_INI_KEYS', () => {
  const catalogue: ParsedmarcIniCatalogue = PARSEDMARC_INI_KEYS;

  it('covers exactly the known sections', () => {
    expect(Object.keys(catalogue).sort()).toEqual([...PARSEDMARC_KNOWN_SECTIONS].sort());
    expect(Object.values(catalogue).reduce((n, keys) => n + Object.keys(keys).length, 0)).toBe(188);
  });

  it('names keys as configparser stores them, and aliases keys that exist', () => {
    for (const [section, keys] of Object.entries(catalogue)) {
      for (const [key, spec] of Object.entries(keys)) {
        expect(key).toBe(key.toLowerCase());
        if (spec.aliasOf === undefined) continue;
        const [target, name] = spec.aliasOf.includes('.') ? spec.aliasOf.split('.') : [section, spec.aliasOf];
        expect(catalogue[target ?? '']?.[name ?? ''], `${section}.${key} -> ${spec.aliasOf}`).toBeDefined();
        expect(catalogue[target ?? '']?.[name ?? '']?.aliasOf).toBeUndefined();
      }
    }
  });

  it('marks the deprecated forensic names as aliases of the failure names', () => {
    expect(catalogue.general?.save_forensic?.aliasOf).toBe('save_failure');
    expect(catalogue.kafka?.forensic_topic?.aliasOf).toBe('failure_topic');
    expect(catalogue.webhook?.forensic_url?.aliasOf).toBe('failure_url');
  });

  it('has environment tables pointing at catalogued keys', () => {
    for (const [section, key] of Object.values(PARSEDMARC_ENV_ALIASES)) {
      expect(catalogue[section]?.[key]).toBeDefined();
    }
    for (const name of PARSEDMARC_DIRECT_FILE_KEYS) {
      const section = [...PARSEDMARC_KNOWN_SECTIONS]
        .filter((s) => name.toLowerCase().startsWith(`${s}_`))
        .sort((a, b) => b.length - a.length)[0];
      expect(section, name).toBeDefined();
      expect(
        catalogue[section ?? '']?.[name.toLowerCase().slice((section ?? '').length + 1)],
        name,
      ).toBeDefined();
    }
  });
});
