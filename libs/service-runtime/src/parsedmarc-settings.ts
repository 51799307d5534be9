/**
 * The settings of a parsedmarc run as the original assembles them: command-line flags first, then the INI
 * file (`-c`), then `PARSEDMARC_{SECTION}_{KEY}` environment variables, each later source overriding a key
 * set by an earlier one. Every setting remembers where it came from (a flag, `file:line`, a variable), so a
 * bad value is reported at its source. The typed readers below convert a value the way the original does
 * (configparser's getboolean, Python's int() and float(), `_str_to_list`, path expansion) and refuse
 * anything else with a ConfigError naming the source and the key.
 *
 * Pure apart from reading `..._FILE` secrets, which goes through the reader the caller passes.
 */
import { ConfigError, type Env } from './config.js';
import { iniSection, parseIniBoolean, parseIniList, type IniDocument } from './ini.js';
import {
  PARSEDMARC_DIRECT_FILE_KEYS,
  PARSEDMARC_ENV,
  PARSEDMARC_ENV_ALIASES,
  PARSEDMARC_KNOWN_SECTIONS,
} from './parsedmarc-ini-keys.js';

/** A flag gives a list as an array and a switch as a boolean; a file or a variable always gives text. */
export type SettingValue = string | readonly string[] | boolean;

export interface Setting {
  readonly value: SettingValue;
  /** Where the value came from: `--hec-token`, `parsedmarc.ini:12`, `PARSEDMARC_IMAP_PASSWORD_FILE`. */
  readonly origin: string;
}

/** Sections (as written) to keys (lowercased) to the setting that won. */
export class ParsedmarcSettings {
  private readonly sections = new Map<string, Map<string, Setting>>();

  set(section: string, key: string, value: SettingValue, origin: string): void {
    let keys = this.sections.get(section);
    if (!keys) this.sections.set(section, (keys = new Map()));
    keys.set(key.toLowerCase(), { value, origin });
  }

  get(section: string, key: string): Setting | undefined {
    return this.sections.get(section)?.get(key.toLowerCase());
  }

  has(section: string): boolean {
    return this.sections.has(section);
  }

  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  keysOf(section: string): ReadonlyMap<string, Setting> {
    return this.sections.get(section) ?? new Map();
  }
}

/** Every key of every section of an INI file (DEFAULT keys visible in each section, as configparser has it). */
export function applyIniDocument(settings: ParsedmarcSettings, doc: IniDocument): void {
  for (const section of doc.sections.keys()) {
    for (const [key, entry] of iniSection(doc, section) ?? []) {
      settings.set(section, key, entry.value, `${doc.file}:${entry.line}`);
    }
  }
}

/**
 * `PARSEDMARC_IMAP_PASSWORD` → ['imap', 'password']: the longest known section name that prefixes the rest
 * wins (SPLUNK_HEC_URL is [splunk_hec] url). Null when no known section matches.
 */
export function sectionKeyOfVariable(suffix: string): [section: string, key: string] | null {
  const lower = suffix.toLowerCase();
  let best: [string, string] | null = null;
  for (const section of PARSEDMARC_KNOWN_SECTIONS) {
    const prefix = `${section}_`;
    if (lower.startsWith(prefix) && lower.length > prefix.length) {
      if (best === null || section.length > best[0].length) best = [section, lower.slice(prefix.length)];
    }
  }
  return best;
}

export interface EnvOverridesOptions {
  /** Reads a `..._FILE` secret (trailing CR/LF is removed here). Throws on failure. */
  readSecretFile(path: string): string;
  /** Variables of this project that predate the original's scheme: variable → [section, key]. */
  aliases?: Readonly<Record<string, readonly [section: string, key: string]>>;
}

/**
 * Applies the environment as the original does: `PARSEDMARC_{SECTION}_{KEY}` sets a key (creating its
 * section), `PARSEDMARC_{SECTION}_{KEY}_FILE` reads it from a file and wins over the plain variable,
 * `DEBUG`/`PARSEDMARC_DEBUG` set [general] debug, a variable of no known section is ignored. Our older
 * variable names are aliases, applied before the original's (so the original's name wins when both are set).
 */
export function applyEnvOverrides(
  settings: ParsedmarcSettings,
  env: Env,
  options: EnvOverridesOptions,
): void {
  const aliased: [string, string, string, string][] = [];
  const direct: [string, string, string, string][] = [];
  const secrets: [string, string, string, string][] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === PARSEDMARC_ENV.configFile) continue;
    const alias = PARSEDMARC_ENV_ALIASES[name] ?? options.aliases?.[name];
    if (alias) {
      (PARSEDMARC_ENV_ALIASES[name] ? direct : aliased).push([alias[0], alias[1], value, name]);
      continue;
    }
    if (!name.startsWith(PARSEDMARC_ENV.prefix)) continue;
    const body = name.slice(PARSEDMARC_ENV.prefix.length);
    const isSecret = body.endsWith(PARSEDMARC_ENV.fileSuffix) && !PARSEDMARC_DIRECT_FILE_KEYS.includes(body);
    const target = sectionKeyOfVariable(isSecret ? body.slice(0, -PARSEDMARC_ENV.fileSuffix.length) : body);
    if (target === null) continue;
    if (isSecret) {
      let secret: string;
      try {
        secret = options.readSecretFile(value).replace(/[\r\n]+$/, '');
      } catch (error) {
        throw new ConfigError(`${name}: cannot read the secret file ${value}: ${(error as Error).message}`);
      }
      secrets.push([target[0], target[1], secret, name]);
    } else {
      direct.push([target[0], target[1], value, name]);
    }
  }
  for (const [section, key, value, origin] of [...aliased, ...direct, ...secrets]) {
    settings.set(section, key, value, origin);
  }
}

/** Python's os.path.expandvars then expanduser: `$VAR` and `${VAR}` when set (else kept), a leading `~`. */
export function expandPath(value: string, env: Env): string {
  const vars = value.replace(
    /\$(\w+|\{([^}]*)\})/g,
    (whole, name: string, braced: string | undefined) => env[braced ?? name] ?? whole,
  );
  const home = env.HOME;
  if (home && (vars === '~' || vars.startsWith('~/'))) return home + vars.slice(1);
  return vars;
}

const describe = (section: string, key: string, setting: Setting): string =>
  setting.origin.startsWith('-') || setting.origin.startsWith('PARSEDMARC_') || !setting.origin.includes(':')
    ? `${setting.origin} ([${section}] ${key})`
    : `${setting.origin}: [${section}] ${key}`;

/** A ConfigError naming where the value came from; never the value itself (it may be a secret). */
export function settingError(section: string, key: string, setting: Setting, problem: string): ConfigError {
  return new ConfigError(`${describe(section, key, setting)}: ${problem}`);
}

const textOf = (section: string, key: string, setting: Setting): string => {
  if (typeof setting.value === 'string') return setting.value;
  if (Array.isArray(setting.value)) return setting.value.join(',');
  throw settingError(section, key, setting, 'expected a value, got a bare switch');
};

/** Typed readers; each returns undefined when the key is not set. */
export class SettingsReader {
  constructor(
    readonly settings: ParsedmarcSettings,
    private readonly env: Env,
  ) {}

  has(section: string, key: string): boolean {
    return this.settings.get(section, key) !== undefined;
  }

  origin(section: string, key: string): string | undefined {
    return this.settings.get(section, key)?.origin;
  }

  string(section: string, key: string): string | undefined {
    const setting = this.settings.get(section, key);
    return setting === undefined ? undefined : textOf(section, key, setting);
  }

  path(section: string, key: string): string | undefined {
    const text = this.string(section, key);
    return text === undefined ? undefined : expandPath(text, this.env);
  }

  boolean(section: string, key: string): boolean | undefined {
    const setting = this.settings.get(section, key);
    if (setting === undefined) return undefined;
    if (typeof setting.value === 'boolean') return setting.value;
    const parsed = parseIniBoolean(textOf(section, key, setting));
    if (parsed === null) {
      throw settingError(section, key, setting, 'expected true/false, yes/no, on/off or 1/0');
    }
    return parsed;
  }

  /** Python's int(): optional sign, decimal digits (underscores between them), whitespace around. */
  integer(section: string, key: string): number | undefined {
    const setting = this.settings.get(section, key);
    if (setting === undefined) return undefined;
    const text = textOf(section, key, setting).trim();
    if (!/^[+-]?\d+(_\d+)*$/.test(text)) throw settingError(section, key, setting, 'expected a whole number');
    return Number(text.replace(/_/g, ''));
  }

  /** Python's float() for finite numbers: 2, 2.5, .5, 1e3, with whitespace around. */
  float(section: string, key: string): number | undefined {
    const setting = this.settings.get(section, key);
    if (setting === undefined) return undefined;
    const text = textOf(section, key, setting).trim();
    if (!/^[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+)?$/.test(text)) {
      throw settingError(section, key, setting, 'expected a number');
    }
    return Number(text.replace(/_/g, ''));
  }

  /** The original's `_str_to_list` for text; a flag's array as given. Empty items are dropped. */
  list(section: string, key: string): string[] | undefined {
    const setting = this.settings.get(section, key);
    if (setting === undefined) return undefined;
    if (Array.isArray(setting.value)) return [...setting.value];
    return parseIniList(textOf(section, key, setting))
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }
}
