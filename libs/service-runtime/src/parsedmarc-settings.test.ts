import { describe, expect, it } from 'vitest';
import { parseIni } from './ini.js';
import {
  applyEnvOverrides,
  applyIniDocument,
  expandPath,
  ParsedmarcSettings,
  sectionKeyOfVariable,
  SettingsReader,
} from './parsedmarc-settings.js';

const noFiles = {
  readSecretFile: (path: string): string => {
    throw new Error(`unexpected read of ${path}`);
  },
};

describe('PARSEDMARC_{SECTION}_{KEY}', () => {
  it('takes the longest known section that prefixes the name', () => {
    expect(sectionKeyOfVariable('SPLUNK_HEC_URL')).toEqual(['splunk_hec', 'url']);
    expect(sectionKeyOfVariable('IMAP_PASSWORD')).toEqual(['imap', 'password']);
    expect(sectionKeyOfVariable('GMAIL_API_TOKEN_FILE')).toEqual(['gmail_api', 'token_file']);
    expect(sectionKeyOfVariable('GENERAL_')).toBeNull();
    expect(sectionKeyOfVariable('NAMESERVERS')).toBeNull();
  });

  it('lets a _FILE secret win over the plain variable, and keeps keys whose name ends in _file', () => {
    const settings = new ParsedmarcSettings();
    applyEnvOverrides(
      settings,
      {
        PARSEDMARC_IMAP_PASSWORD: 'plain',
        PARSEDMARC_IMAP_PASSWORD_FILE: '/run/secrets/imap',
        PARSEDMARC_GENERAL_LOG_FILE: '/var/log/parsedmarc.log',
        PARSEDMARC_CONFIG_FILE: '/etc/parsedmarc.ini',
        DEBUG: 'true',
        HOME: '/root',
      },
      { readSecretFile: (path) => `secret from ${path}\r\n` },
    );
    expect(settings.get('imap', 'password')).toEqual({
      value: 'secret from /run/secrets/imap',
      origin: 'PARSEDMARC_IMAP_PASSWORD_FILE',
    });
    expect(settings.get('general', 'log_file')?.value).toBe('/var/log/parsedmarc.log');
    expect(settings.get('general', 'debug')).toEqual({ value: 'true', origin: 'DEBUG' });
    expect(settings.sectionNames().sort()).toEqual(['general', 'imap']);
  });

  it('applies our older names first, so the original name wins', () => {
    const settings = new ParsedmarcSettings();
    applyEnvOverrides(
      settings,
      { PARSEDMARC_HEC_URL: 'https://old', PARSEDMARC_SPLUNK_HEC_URL: 'https://new' },
      { ...noFiles, aliases: { PARSEDMARC_HEC_URL: ['splunk_hec', 'url'] } },
    );
    expect(settings.get('splunk_hec', 'url')?.value).toBe('https://new');
  });

  it('overrides what the file says', () => {
    const settings = new ParsedmarcSettings();
    applyIniDocument(
      settings,
      parseIni('[DEFAULT]\nssl = False\n[imap]\nhost = a\n[kafka]\nhosts = k\n', 'x.ini'),
    );
    applyEnvOverrides(settings, { PARSEDMARC_IMAP_HOST: 'b' }, noFiles);
    expect(settings.get('imap', 'host')).toEqual({ value: 'b', origin: 'PARSEDMARC_IMAP_HOST' });
    // DEFAULT keys are visible in every section, as configparser has them.
    expect(settings.get('kafka', 'ssl')).toEqual({ value: 'False', origin: 'x.ini:2' });
  });
});

describe('typed values, as the original converts them', () => {
  const reader = (value: string) => {
    const settings = new ParsedmarcSettings();
    settings.set('general', 'v', value, 'p.ini:4');
    return new SettingsReader(settings, { HOME: '/home/u', X: '/x' });
  };
  it("reads Python's int() and float()", () => {
    expect(reader(' 7 ').integer('general', 'v')).toBe(7);
    expect(reader('1_000').integer('general', 'v')).toBe(1000);
    expect(reader('+3').integer('general', 'v')).toBe(3);
    for (const bad of ['1.5', '0x10', '', '1__0']) {
      expect(() => reader(bad).integer('general', 'v')).toThrow(
        'p.ini:4: [general] v: expected a whole number',
      );
    }
    expect(reader('.5').float('general', 'v')).toBe(0.5);
    expect(reader('5.').float('general', 'v')).toBe(5);
    expect(reader(' 1E-2 ').float('general', 'v')).toBe(0.01);
    expect(reader('1_0.5').float('general', 'v')).toBe(10.5);
    for (const bad of ['abc', '1.2.3', '', 'fast']) {
      expect(() => reader(bad).float('general', 'v')).toThrow('expected a number');
    }
  });
  it("reads configparser's booleans and the original's lists", () => {
    expect(reader('Yes').boolean('general', 'v')).toBe(true);
    expect(reader('off').boolean('general', 'v')).toBe(false);
    expect(() => reader('maybe').boolean('general', 'v')).toThrow('expected true/false');
    expect(reader('a@x, b@y,,\n  c@z').list('general', 'v')).toEqual(['a@x', 'b@y', 'c@z']);
  });
  it('expands paths like os.path.expandvars then expanduser', () => {
    expect(expandPath('$X/a/${X}/$NOPE/~', { X: '/x' })).toBe('/x/a//x/$NOPE/~');
    expect(expandPath('~/a', { HOME: '/root' })).toBe('/root/a');
    expect(reader('~/out').path('general', 'v')).toBe('/home/u/out');
  });
});
