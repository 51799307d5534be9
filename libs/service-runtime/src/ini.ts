/**
 * A reader for the INI files of the original parsedmarc (`parsedmarc.ini`), which loads them with Python's
 * `configparser.ConfigParser(interpolation=None)` and otherwise default settings. This module reproduces
 * what that parser accepts and refuses (CPython 3.11), so a file the original reads is read the same way,
 * and a file it refuses is refused here too, naming the file and line.
 *
 * The rules, as configparser applies them:
 * - `[name]` opens a section. Names are case-sensitive and kept as written (`[ imap ]` is the section
 *   " imap "); anything after the last `]` on the line is ignored. `[DEFAULT]` is special: its keys are
 *   visible in every section (a section's own key wins), it never appears among the sections, and it may
 *   be opened more than once.
 * - `key = value` or `key: value`; the first `=` or `:` delimits, so a value may contain both. Keys are
 *   lowercased; whitespace around keys and values is stripped. `key =` gives the empty string. A line with
 *   no delimiter is an error (no valueless keys), as is a key before the first section header.
 * - Comments are whole lines whose first non-blank character is `#` or `;`, indented or not. A `#` or `;`
 *   after a value is part of the value: `port = 993 ; imaps` is the value "993 ; imaps".
 * - A line indented deeper than the key line continues that key's value (joined with "\n", each line
 *   stripped). Blank lines inside a multi-line value are kept; comment lines inside one are dropped without
 *   ending it; trailing blank lines are removed.
 * - A section or a key given twice is an error (the parser is strict).
 *
 * Errors on a single line that configparser only collects (a line it cannot read, a key with an empty
 * name) are reported once the whole text is read, with every such line; a duplicate or a key before any
 * section stops the reading at once. The one deliberate difference: a UTF-8 byte order mark at the start
 * is skipped (the original, reading the file as plain UTF-8, refuses such a file as lacking a section
 * header).
 *
 * Pure: the caller reads the file and passes its text and its name (used in messages only).
 */
import { ConfigError, type ConfigErrorCode } from './config.js';

export type IniErrorCode = Exclude<ConfigErrorCode, 'INVALID_CONFIG'>;

/** A file the original parsedmarc's configparser would refuse. The message starts with `file:line: `. */
export class IniError extends ConfigError<IniErrorCode> {
  readonly file: string;
  /** 1-based line of the (first) offending line. */
  readonly line: number;
  /** Every offending line when several unreadable lines were collected; else `[line]`. */
  readonly lines: readonly number[];

  constructor(
    code: IniErrorCode,
    file: string,
    line: number,
    detail: string,
    lines: readonly number[] = [line],
  ) {
    super(`${file}:${line}: ${detail}`, code, { file, line });
    this.name = 'IniError';
    this.file = file;
    this.line = line;
    this.lines = lines;
  }
}

/** One value and the 1-based line of its key (a multi-line value continues on the lines below). */
export interface IniEntry {
  readonly value: string;
  readonly line: number;
}

export interface IniDocument {
  /** The name the text was given under, for messages. */
  readonly file: string;
  /** Sections in file order, without DEFAULT; each maps a lowercased key to its own entry only. */
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, IniEntry>>;
  /** The keys of `[DEFAULT]`, visible in every section through `iniGet` and `iniSection`. */
  readonly defaults: ReadonlyMap<string, IniEntry>;
  /** Line of each section header, DEFAULT included (its first header when opened more than once). */
  readonly sectionLines: ReadonlyMap<string, number>;
}

/** configparser's default section name. */
export const INI_DEFAULT_SECTION = 'DEFAULT';

// Python's whitespace (str.isspace, str.strip and the \s of its regular expressions agree): unlike
// JavaScript's trim(), it includes U+001C..U+001F and U+0085 and excludes U+FEFF.
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);
const NON_SPACE = new RegExp(`[^${PY_SPACE}]`);

const lstrip = (s: string): string => s.replace(LEADING_SPACE, '');
const rstrip = (s: string): string => s.replace(TRAILING_SPACE, '');
const strip = (s: string): string => rstrip(lstrip(s));

/** configparser's `optionxform`: keys are compared and stored lowercased. */
const keyOf = (key: string): string => key.toLowerCase();

interface Collected {
  parts: string[];
  line: number;
}

interface Deferred {
  code: IniErrorCode;
  line: number;
  detail: string;
}

/** `[name]...`: the name runs from after the first `[` to the last `]`, and is at least one character. */
function sectionHeader(text: string): string | null {
  if (!text.startsWith('[')) return null;
  const end = text.lastIndexOf(']');
  return end >= 2 ? text.slice(1, end) : null;
}

function firstDelimiter(text: string): number {
  const equals = text.indexOf('=');
  const colon = text.indexOf(':');
  if (equals < 0) return colon;
  if (colon < 0) return equals;
  return Math.min(equals, colon);
}

/**
 * Parses the text of an INI file the way the original parsedmarc's configparser does. `file` names it in
 * messages. Throws IniError.
 */
export function parseIni(text: string, file: string): IniDocument {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // Python reads text files with universal newlines: \r\n, \r and \n all end a line, nothing else does.
  const lines = body.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();

  const sections = new Map<string, Map<string, Collected>>();
  const defaults = new Map<string, Collected>();
  const sectionLines = new Map<string, number>();
  const deferred: Deferred[] = [];

  let current: Map<string, Collected> | null = null;
  let sectionName = '';
  let key = ''; // the key a continuation line would extend; '' for none
  let indentLevel = 0;

  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    const stripped = strip(raw);
    const comment = stripped.startsWith('#') || stripped.startsWith(';');
    const text = comment ? '' : stripped;

    if (text === '') {
      // A blank line may belong to a multi-line value (kept, trailing ones trimmed at the end); a comment
      // line is dropped. Neither ends the value.
      if (!comment && current !== null && key !== '') current.get(key)?.parts.push('');
      continue;
    }

    const indent = raw.search(NON_SPACE);
    if (current !== null && key !== '' && indent > indentLevel) {
      current.get(key)?.parts.push(text);
      continue;
    }
    indentLevel = indent;

    const header = sectionHeader(text);
    if (header !== null) {
      if (sections.has(header)) {
        throw new IniError(
          'INI_DUPLICATE_SECTION',
          file,
          lineNo,
          `duplicate section [${header}], first opened on line ${sectionLines.get(header)}`,
        );
      }
      if (header === INI_DEFAULT_SECTION) {
        current = defaults;
      } else {
        current = new Map();
        sections.set(header, current);
      }
      if (!sectionLines.has(header)) sectionLines.set(header, lineNo);
      sectionName = header;
      key = '';
      continue;
    }

    const delimiter = firstDelimiter(text);
    if (current === null) {
      const name = delimiter > 0 ? rstrip(text.slice(0, delimiter)) : '';
      const what = name === '' ? 'this line comes' : `key "${keyOf(name)}" is set`;
      throw new IniError(
        'INI_MISSING_SECTION',
        file,
        lineNo,
        `${what} before any [section] header; start the file with one, such as [general]`,
      );
    }
    if (delimiter < 0) {
      // configparser keeps going after such a line, and the key above stays open for continuation lines.
      // The line is not quoted: it may well be a secret that lost its indentation.
      deferred.push(
        text.startsWith('[')
          ? { code: 'INI_SYNTAX', line: lineNo, detail: 'malformed section header: expected [name]' }
          : {
              code: 'INI_NO_VALUE',
              line: lineNo,
              detail:
                'line has no "=" or ":": a key needs a value (key = value), and a continuation line must be ' +
                'indented deeper than its key',
            },
      );
      continue;
    }

    const name = keyOf(rstrip(text.slice(0, delimiter)));
    if (name === '') {
      // Refused at the end like configparser, which nonetheless records the empty key and checks it for
      // duplicates.
      deferred.push({
        code: 'INI_SYNTAX',
        line: lineNo,
        detail: `key name missing before "${text.charAt(delimiter)}"`,
      });
    }
    const first = current.get(name);
    if (first !== undefined) {
      throw new IniError(
        'INI_DUPLICATE_KEY',
        file,
        lineNo,
        `duplicate key "${name}" in [${sectionName}], first set on line ${first.line}`,
      );
    }
    current.set(name, { parts: [strip(text.slice(delimiter + 1))], line: lineNo });
    key = name;
  }

  const [firstProblem] = deferred;
  if (firstProblem !== undefined) {
    const others = deferred.slice(1).map((problem) => problem.line);
    const also = others.length > 0 ? ` (also line${others.length > 1 ? 's' : ''} ${others.join(', ')})` : '';
    throw new IniError(
      firstProblem.code,
      file,
      firstProblem.line,
      `${firstProblem.detail}${also}`,
      deferred.map((problem) => problem.line),
    );
  }

  const finish = (collected: Map<string, Collected>): Map<string, IniEntry> =>
    new Map(
      [...collected].map(([name, { parts, line }]) => [name, { value: rstrip(parts.join('\n')), line }]),
    );
  return {
    file,
    sections: new Map([...sections].map(([name, entries]) => [name, finish(entries)])),
    defaults: finish(defaults),
    sectionLines,
  };
}

/**
 * A key's entry as configparser's `section[key]` / `key in section` see it: the section's own entry, else
 * the DEFAULT one. The key is matched case-insensitively. `''` or `DEFAULT` as the section reads DEFAULT
 * alone; a section that does not exist has no keys (not even the defaults).
 */
export function iniGet(doc: IniDocument, section: string, key: string): IniEntry | undefined {
  const name = keyOf(key);
  if (section === '' || section === INI_DEFAULT_SECTION) return doc.defaults.get(name);
  const own = doc.sections.get(section);
  if (own === undefined) return undefined;
  return own.get(name) ?? doc.defaults.get(name);
}

/**
 * Every key visible in a section, its own first (in file order), then the DEFAULT keys it does not
 * override, as configparser's `options()` lists them. Undefined when the section does not exist.
 */
export function iniSection(doc: IniDocument, section: string): ReadonlyMap<string, IniEntry> | undefined {
  if (section === '' || section === INI_DEFAULT_SECTION) return doc.defaults;
  const own = doc.sections.get(section);
  if (own === undefined) return undefined;
  const merged = new Map(own);
  for (const [name, entry] of doc.defaults) if (!merged.has(name)) merged.set(name, entry);
  return merged;
}

const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['1', true],
  ['yes', true],
  ['true', true],
  ['on', true],
  ['0', false],
  ['no', false],
  ['false', false],
  ['off', false],
]);

/**
 * configparser's `getboolean`: 1/yes/true/on and 0/no/false/off, case-insensitive. Anything else, including
 * the empty string or a word with spaces around it, is null (the original raises ValueError).
 */
export function parseIniBoolean(value: string): boolean | null {
  return BOOLEAN_WORDS.get(value.toLowerCase()) ?? null;
}

/**
 * The original's `_str_to_list`: split on every comma and strip leading whitespace (newlines included)
 * from each item. Trailing whitespace is kept and empty items are not dropped: "a, b ," is
 * ["a", "b ", ""], and "" is [""].
 */
export function parseIniList(value: string): string[] {
  return value.split(',').map(lstrip);
}
