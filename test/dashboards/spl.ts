/**
 * A small static reader of Splunk searches (SPL), enough to check the shipped Simple XML dashboards without
 * a Splunk server: which index and sourcetypes a query's base search names, and which fields each command
 * of its pipeline references, defines, keeps or drops. A query may only reference the fields its events
 * carry (as Splunk's automatic JSON extraction names them), Splunk's built-in fields, or fields an earlier
 * command of the same query defined (eval, rename, stats outputs, spath outputs...).
 *
 * It follows the commands the dashboards use (search, where, eval, stats/eventstats/streamstats, chart,
 * timechart, top/rare, table, fields, rename, sort, head/tail, dedup, fillnull, mvexpand, spath, nomv) and
 * reports any other command as one it cannot follow, so that a new command is a visible decision. Pure
 * functions, no I/O.
 */

/** Fields every event has in Splunk, whatever its sourcetype. */
export const BUILT_IN_FIELDS: readonly string[] = [
  '_time',
  '_raw',
  '_indextime',
  'host',
  'source',
  'sourcetype',
  'index',
  'splunk_server',
  'linecount',
  'punct',
  'eventtype',
];

/** The fields of a set of events of one sourcetype, as Splunk's automatic JSON extraction names them. */
export interface EventFields {
  fields: Set<string>;
  /** Fields some event lacks or has as JSON null (at search time: no value). */
  nullable: Set<string>;
}

/**
 * Splunk's names for the fields of a JSON event: `a.b` for nested objects, `a{}.b` for the fields of objects
 * in arrays, `a{}` for arrays of scalars. A key whose value is null counts (enriched events fill it in).
 */
export function splunkFieldNames(event: unknown): Map<string, 'value' | 'null'> {
  const out = new Map<string, 'value' | 'null'>();
  const walk = (value: unknown, name: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, `${name}{}`);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, name === '' ? key : `${name}.${key}`);
    } else if (name !== '') {
      if (value !== null || !out.has(name)) out.set(name, value === null ? 'null' : 'value');
    }
  };
  walk(event, '');
  return out;
}

/** The union of the events' field names, and which of them some event lacks or has null. */
export function eventFieldsOf(events: readonly unknown[]): EventFields {
  const perEvent = events.map((event) => splunkFieldNames(event));
  const fields = new Set(perEvent.flatMap((names) => [...names.keys()]));
  const nullable = new Set([...fields].filter((f) => perEvent.some((names) => names.get(f) !== 'value')));
  return { fields, nullable };
}

// ---------------------------------------------------------------------------------------------------------
// Lexing

/** Splits a query into its commands at the pipes outside quotes, dashboard tokens and brackets. */
export function splitPipeline(query: string): string[] {
  const commands: string[] = [];
  let start = 0;
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (c === '"' || c === "'") {
      i = endOfQuoted(query, i);
    } else if (c === '$') {
      const token = /^\$[^$\s]+\$/.exec(query.slice(i));
      i += token ? token[0].length : 1;
    } else if (c === '|') {
      commands.push(query.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  commands.push(query.slice(start));
  return commands.map((c) => c.trim());
}

/** The index just after the quoted text starting at `start` (a backslash escapes in double quotes). */
function endOfQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += quote === '"' && text[i] === '\\' ? 2 : 1;
  return i + 1;
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'field'; text: string }
  | { kind: 'op'; text: string }
  | { kind: '(' | ')' | ',' | '['; text: string };

/** The argument words of a command: bare words, "strings", 'field names', operators, parentheses, commas. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      const end = endOfQuoted(text, i);
      const inside = text.slice(i + 1, end - 1);
      tokens.push(
        c === '"'
          ? { kind: 'string', text: inside.replace(/\\(.)/g, '$1') }
          : { kind: 'field', text: inside },
      );
      i = end;
    } else if ('(),['.includes(c)) {
      tokens.push({ kind: c as '(' | ')' | ',' | '[', text: c });
      i++;
    } else {
      const op = /^(==|!=|<=|>=|=|<|>)/.exec(text.slice(i));
      if (op) {
        tokens.push({ kind: 'op', text: op[0] });
        i += op[0].length;
      } else {
        const word = /^[^\s"'(),=<>![]+|^!/.exec(text.slice(i)) as RegExpExecArray;
        tokens.push({ kind: 'word', text: word[0] });
        i += word[0].length;
      }
    }
  }
  return tokens;
}

const isWord = (t: Token | undefined, ...texts: string[]): boolean =>
  t?.kind === 'word' && texts.some((w) => w.toLowerCase() === t.text.toLowerCase());
/** A field name or a value: a bare word or a quoted string. */
const isName = (t: Token | undefined): t is Token & { kind: 'word' | 'string' | 'field' } =>
  t?.kind === 'word' || t?.kind === 'string' || t?.kind === 'field';
const isOption = (tokens: Token[], i: number): boolean =>
  tokens[i]?.kind === 'word' && tokens[i + 1]?.kind === 'op' && tokens[i + 1]?.text === '=';

// ---------------------------------------------------------------------------------------------------------
// Eval expressions

/** Functions of eval and where the dashboards may call (an unknown name is most likely a typo). */
export const EVAL_FUNCTIONS = new Set(
  (
    'abs case ceil ceiling cidrmatch coalesce exact exp false floor if in isbool isint isnotnull isnull isnum ' +
    'isstr json_extract len like ln log lower ltrim match max md5 min mvappend mvcount mvdedup mvfilter mvfind ' +
    'mvindex mvjoin mvrange mvsort mvzip now null nullif pi pow printf random relative_time replace round ' +
    'rtrim searchmatch sha256 sigfig split spath sqrt strftime strptime substr time tonumber tostring trim ' +
    'true typeof upper urldecode validate'
  ).split(' '),
);
const EXPRESSION_KEYWORDS = new Set(['AND', 'OR', 'NOT', 'XOR', 'LIKE', 'IN']);

/**
 * The fields an eval / where expression reads, and the functions it calls. Field names are bare words
 * (letters, digits, `_`) or single-quoted (`'dkim_results{}.domain'`: needed for `.` and `{}`, since `.`
 * is eval's concatenation); "double quotes" are strings; a word before `(` is a function.
 */
export function expressionNames(expression: string): { fields: string[]; functions: string[] } {
  const fields: string[] = [];
  const functions: string[] = [];
  let i = 0;
  while (i < expression.length) {
    const rest = expression.slice(i);
    const c = rest[0] as string;
    if (c === '"' || c === "'") {
      const end = endOfQuoted(expression, i);
      if (c === "'") fields.push(expression.slice(i + 1, end - 1));
      i = end;
      continue;
    }
    const literal = /^\$[^$\s]+\$/.exec(rest) ?? /^\d+(\.\d+)?/.exec(rest);
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (literal) {
      i += literal[0].length;
    } else if (word) {
      i += word[0].length;
      if (/^\s*\(/.test(expression.slice(i))) functions.push(word[0]);
      else if (!EXPRESSION_KEYWORDS.has(word[0])) fields.push(word[0]);
    } else {
      i++;
    }
  }
  return { fields, functions };
}

// ---------------------------------------------------------------------------------------------------------
// The pipeline

/** Aggregation functions of stats, chart and timechart. */
export const STATS_FUNCTIONS = new Set(
  (
    'avg count dc distinct_count earliest earliest_time estdc first last latest latest_time list max mean ' +
    'median min mode range rate stdev stdevp sum sumsq values var varp'
  ).split(' '),
);
const isStatsFunction = (name: string): boolean =>
  STATS_FUNCTIONS.has(name) || /^(p|perc|exactperc|upperperc)\d{1,2}$/.test(name);

/** Options (`name=value`) of the commands, not fields. */
const TIMECHART_OPTIONS = new Set(
  'agg aligntime bins cont fixedrange format limit minspan partial sep span usenull useother'.split(' '),
);
const SEARCH_TIME_MODIFIERS = new Set(['earliest', 'latest', '_index_earliest', '_index_latest']);

export interface FieldReference {
  /** The command's position in the pipeline (0: the base search) and name. */
  position: number;
  command: string;
  field: string;
}

export interface QueryAnalysis {
  /** The values of the base search's index= and sourcetype= terms. */
  indexes: string[];
  sourcetypes: string[];
  /** Every field a command reads, in order. */
  references: FieldReference[];
  /** The fields the query's results have; null when they depend on the data (timechart ... by). */
  resultFields: string[] | null;
  problems: string[];
}

export interface QueryRules {
  /** The text the query must begin with, e.g. index="$index$". */
  begins?: string;
  /** The event fields of each sourcetype the base search may name; it must name at least one. */
  sourcetypes: Readonly<Record<string, EventFields>>;
}

/** The state of the pipeline between two commands. */
interface State {
  /** The fields defined at this point; 'open' when they depend on the data. */
  fields: Set<string> | 'open';
  /** Fields holding JSON, and the event path they hold (from spath output=); '' is the whole event. */
  json: Map<string, string>;
  /** Event fields that can be null and have not been filled since. */
  nullable: Set<string>;
  /** The event fields of the sourcetypes the base search names. */
  events: EventFields;
}

/** Reads a query and checks it against the rules: the problems, plus what it found. */
export function analyzeQuery(query: string, rules: QueryRules): QueryAnalysis {
  const analysis: QueryAnalysis = {
    indexes: [],
    sourcetypes: [],
    references: [],
    resultFields: [],
    problems: [],
  };
  const trimmed = query.trim();
  if (rules.begins !== undefined && !trimmed.startsWith(rules.begins)) {
    analysis.problems.push(`the query does not begin with ${rules.begins}`);
  }
  const commands = splitPipeline(trimmed);
  const base = commands[0] ?? '';
  if (base === '') analysis.problems.push('the query has no base search (it begins with a pipe)');

  // The base search first: its sourcetypes decide which event fields exist.
  const baseTerms = searchTerms(tokenize(base));
  for (const { field, value } of baseTerms) {
    if (field.toLowerCase() === 'index') analysis.indexes.push(value);
    if (field.toLowerCase() === 'sourcetype') analysis.sourcetypes.push(value);
  }
  if (analysis.sourcetypes.length === 0) analysis.problems.push('the base search names no sourcetype');
  const events: EventFields = { fields: new Set(), nullable: new Set() };
  for (const sourcetype of analysis.sourcetypes) {
    const known = rules.sourcetypes[sourcetype];
    if (!known) {
      analysis.problems.push(`sourcetype "${sourcetype}" is not one the dashboards read`);
      continue;
    }
    for (const f of known.fields) events.fields.add(f);
    for (const f of known.nullable) events.nullable.add(f);
  }
  const state: State = {
    fields: new Set([...BUILT_IN_FIELDS, ...events.fields]),
    json: new Map([['_raw', '']]),
    nullable: new Set(events.nullable),
    events,
  };

  commands.forEach((text, position) => {
    const [name, rest] = position === 0 ? ['search', text] : splitCommand(text);
    const context: Context = {
      command: name,
      refer: (field) => {
        analysis.references.push({ position, command: name, field });
        if (!isDefined(state, field)) {
          analysis.problems.push(`${name} (command ${position}): unknown field "${field}"`);
        }
      },
      problem: (message) => analysis.problems.push(`${name} (command ${position}): ${message}`),
    };
    const handler = COMMANDS[name.toLowerCase()];
    if (!handler) {
      context.problem('a command this check cannot follow');
      state.fields = 'open';
      return;
    }
    handler(tokenize(rest), rest, state, context);
  });
  analysis.resultFields = state.fields === 'open' ? null : [...state.fields];
  return analysis;
}

/** The problems of a query: see analyzeQuery. */
export const checkQuery = (query: string, rules: QueryRules): string[] => analyzeQuery(query, rules).problems;

function splitCommand(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  return match ? [match[1] as string, match[2] as string] : ['', ''];
}

function isDefined(state: State, field: string): boolean {
  if (state.fields === 'open') return true;
  if (!field.includes('*')) return state.fields.has(field);
  const pattern = new RegExp(`^${field.split('*').map(escapeRegExp).join('.*')}$`);
  return [...state.fields].some((f) => pattern.test(f));
}
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function define(state: State, field: string, nullable = false): void {
  if (state.fields !== 'open') state.fields.add(field);
  if (nullable) state.nullable.add(field);
  else state.nullable.delete(field);
  state.json.delete(field);
}

/** After a transforming command: only its output fields remain. */
function replaceFields(state: State, fields: string[] | 'open'): void {
  state.fields = fields === 'open' ? 'open' : new Set(fields);
  state.json.clear();
  state.nullable.clear();
}

interface Context {
  command: string;
  refer(field: string): void;
  problem(message: string): void;
}
type Handler = (tokens: Token[], text: string, state: State, context: Context) => void;

/** The field=value (and field IN (...)) terms of a search; bare words and strings are full-text terms. */
function searchTerms(tokens: Token[]): Array<{ field: string; value: string }> {
  const terms: Array<{ field: string; value: string }> = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!isName(t)) continue;
    const next = tokens[i + 1];
    if (next?.kind === 'op' && isName(tokens[i + 2])) {
      terms.push({ field: t.text, value: (tokens[i + 2] as Token).text });
      i += 2;
    } else if (isWord(next, 'IN') && tokens[i + 2]?.kind === '(') {
      let j = i + 3;
      while (j < tokens.length && tokens[j]?.kind !== ')') {
        if (isName(tokens[j])) terms.push({ field: t.text, value: (tokens[j] as Token).text });
        j++;
      }
      i = j;
    }
  }
  return terms;
}

/** A comma or space separated list of field names, up to a word in `stop`. Returns the next position. */
function fieldList(tokens: Token[], start: number, stop: string[] = []): { fields: string[]; next: number } {
  const fields: string[] = [];
  let i = start;
  for (; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === ',') continue;
    if (!isName(t) || isWord(t, ...stop) || isOption(tokens, i)) break;
    fields.push(t.text);
  }
  return { fields, next: i };
}

const search: Handler = (tokens, _text, _state, context) => {
  if (tokens.some((t) => t.kind === '[')) context.problem('subsearches are not supported by this check');
  for (const { field } of searchTerms(tokens)) {
    if (!SEARCH_TIME_MODIFIERS.has(field.toLowerCase())) context.refer(field);
  }
};

const where: Handler = (_tokens, text, _state, context) => expression(text, context);

function expression(text: string, context: Context): void {
  const { fields, functions } = expressionNames(text);
  for (const f of functions) {
    if (!EVAL_FUNCTIONS.has(f)) context.problem(`unknown eval function ${f}()`);
  }
  for (const f of fields) context.refer(f);
}

/** Splits text at the commas outside parentheses and quotes. */
function topLevelCommaSplit(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") i = endOfQuoted(text, i) - 1;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim() !== '');
}

const unquote = (name: string): string => (/^(".*"|'.*')$/s.test(name) ? name.slice(1, -1) : name);

const evalCommand: Handler = (_tokens, text, state, context) => {
  for (const assignment of topLevelCommaSplit(text)) {
    const match = /^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s=]+)\s*=(?!=)([\s\S]*)$/.exec(assignment);
    if (!match) {
      context.problem(`not an assignment: ${assignment.trim()}`);
      continue;
    }
    expression(match[2] as string, context);
    define(state, unquote(match[1] as string));
  }
};

interface Aggregation {
  output: string;
}

/**
 * The aggregations of stats / chart / timechart: `fn(field) [as name]`, `count`, `fn(eval(expression)) as
 * name`; options (`name=value`) are skipped. Returns the aggregations and the text after `by` / `over`.
 */
function aggregations(
  text: string,
  context: Context,
  options: Set<string> | null,
): {
  aggregations: Aggregation[];
  rest: string;
} {
  const found: Aggregation[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /[\s,]/.test(text[i] as string)) i++;
  };
  for (;;) {
    skipSpace();
    const rest = text.slice(i);
    if (rest === '' || /^(by|over)\b/i.test(rest)) return { aggregations: found, rest };
    const option = /^([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S+)/.exec(rest);
    if (option) {
      if (options && !options.has(option[1] as string)) context.problem(`unknown option ${option[1]}=`);
      i += option[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (!name) {
      context.problem(`cannot read an aggregation at: ${rest.slice(0, 30)}`);
      return { aggregations: found, rest: '' };
    }
    const fn = name[0];
    i += fn.length;
    let argument = '';
    if (text[i] === '(') {
      const end = matchingParenthesis(text, i);
      argument = text.slice(i + 1, end).trim();
      i = end + 1;
    }
    if (!isStatsFunction(fn)) context.problem(`unknown aggregation function ${fn}()`);
    const evaluated = /^eval\s*\(([\s\S]*)\)$/.exec(argument);
    if (evaluated) expression(evaluated[1] as string, context);
    else if (argument !== '') context.refer(unquote(argument));
    else if (fn !== 'count' && fn !== 'c') context.problem(`${fn}() needs a field`);
    const as = /^\s+as\s+("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,]+)/i.exec(text.slice(i));
    if (as) i += as[0].length;
    else if (evaluated) context.problem(`${fn}(eval(...)) needs "as <name>"`);
    found.push({ output: as ? unquote(as[1] as string) : argument === '' ? fn : `${fn}(${argument})` });
  }
}

function matchingParenthesis(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") i = endOfQuoted(text, i) - 1;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return text.length;
}

/** The fields of a by / over clause, with its options (limit=...) skipped. */
function splitFields(
  rest: string,
  context: Context,
  options: Set<string> | null,
): { by: string[]; over: string[] } {
  const tokens = tokenize(rest);
  const clause = { by: [] as string[], over: [] as string[] };
  let current: string[] | null = null;
  for (let i = 0; i < tokens.length; i++) {
    if (isWord(tokens[i], 'by')) current = clause.by;
    else if (isWord(tokens[i], 'over')) current = clause.over;
    else if (isOption(tokens, i)) {
      const name = (tokens[i] as Token).text;
      if (options && !options.has(name)) context.problem(`unknown option ${name}=`);
      i += 2;
    } else if (isName(tokens[i]) && current) current.push((tokens[i] as Token).text);
  }
  return clause;
}

/** Rows without a value of a split-by field are left out by stats and top: the field must be filled. */
function referSplitFields(fields: string[], state: State, context: Context, dropsNulls: boolean): void {
  for (const f of fields) {
    context.refer(f);
    if (dropsNulls && state.nullable.has(f)) {
      context.problem(
        `by ${f}: some events have no ${f}, and ${context.command} leaves them out (fillnull it first)`,
      );
    }
  }
}

const stats =
  (mode: 'replace' | 'add'): Handler =>
  (_tokens, text, state, context) => {
    const { aggregations: found, rest } = aggregations(text, context, null);
    if (found.length === 0) context.problem('no aggregation');
    const { by, over } = splitFields(rest, context, null);
    if (over.length > 0) context.problem('"over" belongs to chart');
    referSplitFields(by, state, context, mode === 'replace');
    const outputs = found.map((a) => a.output);
    if (mode === 'replace') replaceFields(state, [...by, ...outputs]);
    else for (const f of outputs) define(state, f);
  };

const chart: Handler = (_tokens, text, state, context) => {
  const { aggregations: found, rest } = aggregations(text, context, TIMECHART_OPTIONS);
  if (found.length === 0) context.problem('no aggregation');
  const { by, over } = splitFields(rest, context, TIMECHART_OPTIONS);
  referSplitFields([...over, ...by], state, context, false);
  const splits = [...over, ...by];
  // One split field: a row per value, a column per aggregation. Two: a column per value of the second.
  replaceFields(state, splits.length > 1 ? 'open' : [...splits, ...found.map((a) => a.output)]);
};

const timechart: Handler = (_tokens, text, state, context) => {
  const { aggregations: found, rest } = aggregations(text, context, TIMECHART_OPTIONS);
  if (found.length === 0) context.problem('no aggregation');
  const { by, over } = splitFields(rest, context, TIMECHART_OPTIONS);
  if (over.length > 0) context.problem('"over" belongs to chart');
  if (by.length > 1) context.problem('timechart splits by one field only');
  referSplitFields(by, state, context, false);
  // Split by a field, the columns are its values: not known before the search runs.
  replaceFields(state, by.length > 0 ? 'open' : ['_time', '_span', ...found.map((a) => a.output)]);
};

const top: Handler = (tokens, _text, state, context) => {
  let i = 0;
  const names = { count: 'count', percent: 'percent' };
  if (tokens[0]?.kind === 'word' && /^\d+$/.test(tokens[0].text)) i = 1;
  const options = (): void => {
    while (isOption(tokens, i)) {
      const [name, value] = [(tokens[i] as Token).text, tokens[i + 2]?.text ?? ''];
      if (name === 'countfield') names.count = value;
      else if (name === 'percentfield') names.percent = value;
      else if (!['limit', 'showcount', 'showperc', 'useother', 'otherstr'].includes(name)) {
        context.problem(`unknown option ${name}=`);
      }
      i += 3;
    }
  };
  options();
  const fields = fieldList(tokens, i, ['by']);
  i = fields.next;
  let by: string[] = [];
  if (isWord(tokens[i], 'by')) ({ fields: by, next: i } = fieldList(tokens, i + 1));
  options();
  if (fields.fields.length === 0) context.problem('no field');
  referSplitFields([...fields.fields, ...by], state, context, true);
  replaceFields(state, [...by, ...fields.fields, names.count, names.percent]);
};

const table: Handler = (tokens, _text, state, context) => {
  const { fields } = fieldList(tokens, 0);
  for (const f of fields) context.refer(f);
  const kept = expand(state, fields);
  state.fields = state.fields === 'open' ? 'open' : new Set(kept);
};

/** The defined fields a list with wildcards names. */
function expand(state: State, fields: string[]): string[] {
  if (state.fields === 'open') return fields;
  const defined = [...state.fields];
  return fields.flatMap((f) => {
    if (!f.includes('*')) return [f];
    const pattern = new RegExp(`^${f.split('*').map(escapeRegExp).join('.*')}$`);
    return defined.filter((d) => pattern.test(d));
  });
}

const fields: Handler = (tokens, _text, state, context) => {
  let start = 0;
  const sign = tokens[0]?.kind === 'word' && (tokens[0].text === '-' || tokens[0].text === '+');
  if (sign) start = 1;
  const { fields: listed } = fieldList(tokens, start);
  for (const f of listed) context.refer(f);
  if (state.fields === 'open') return;
  const named = new Set(expand(state, listed));
  if (sign && tokens[0]?.text === '-') {
    for (const f of named) state.fields.delete(f);
  } else {
    // `fields a b` keeps the internal _time and _raw unless they are removed by name.
    state.fields = new Set([...state.fields].filter((f) => named.has(f) || f === '_time' || f === '_raw'));
  }
};

const rename: Handler = (tokens, _text, state, context) => {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]?.kind === ',') continue;
    const [from, as, to] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (!isName(from) || !isWord(as, 'as') || !isName(to)) {
      context.problem('expected "<field> as <new name>"');
      return;
    }
    if (from.text.includes('*')) context.problem('wildcard renames are not supported by this check');
    context.refer(from.text);
    const nullable = state.nullable.has(from.text);
    const json = state.json.get(from.text);
    if (state.fields !== 'open') state.fields.delete(from.text);
    state.nullable.delete(from.text);
    state.json.delete(from.text);
    define(state, to.text, nullable);
    if (json !== undefined) state.json.set(to.text, json);
    i += 2;
  }
};

const sort: Handler = (tokens, _text, _state, context) => {
  let i = 0;
  if (tokens[0]?.kind === 'word' && /^\d+$/.test(tokens[0].text)) i = 1;
  for (; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === ',' || isWord(t, '-', '+')) continue;
    if (isOption(tokens, i)) {
      i += 2;
      continue;
    }
    if (t.kind === 'word' && /^[+-]?(auto|str|ip|num)$/.test(t.text) && tokens[i + 1]?.kind === '(') {
      if (isName(tokens[i + 2])) context.refer((tokens[i + 2] as Token).text);
      i += 3;
      continue;
    }
    if (isWord(t, 'd', 'desc') && i === tokens.length - 1) continue;
    if (isName(t)) context.refer(t.kind === 'word' ? t.text.replace(/^[+-]/, '') : t.text);
  }
};

const head: Handler = (tokens, _text, _state, context) => {
  const ok = tokens.every(
    (t, i) =>
      (i === 0 && t.kind === 'word' && /^\d+$/.test(t.text)) ||
      isOption(tokens, i) ||
      (tokens[i - 1]?.kind === 'op' && isName(t)) ||
      t.kind === 'op',
  );
  if (!ok) context.problem('only a row count and options are supported by this check');
};

const dedup: Handler = (tokens, _text, state, context) => {
  let i = tokens[0]?.kind === 'word' && /^\d+$/.test(tokens[0].text) ? 1 : 0;
  const listed = fieldList(tokens, i, ['sortby']);
  for (const f of listed.fields) context.refer(f);
  i = listed.next;
  while (isOption(tokens, i)) i += 3;
  if (isWord(tokens[i], 'sortby')) sort(tokens.slice(i + 1), '', state, context);
};

const fillnull: Handler = (tokens, _text, state, context) => {
  let i = 0;
  while (isOption(tokens, i)) {
    if (!['value'].includes((tokens[i] as Token).text)) context.problem(`unknown option ${tokens[i]?.text}=`);
    i += 3;
  }
  const { fields: listed } = fieldList(tokens, i);
  if (listed.length === 0) context.problem('name the fields to fill (all fields is slow and hides mistakes)');
  for (const f of listed) {
    context.refer(f);
    define(state, f);
  }
};

const mvexpand: Handler = (tokens, _text, _state, context) => {
  const { fields: listed, next } = fieldList(tokens, 0);
  if (listed.length !== 1) context.problem('expects one field');
  for (const f of listed) context.refer(f);
  for (let i = next; i < tokens.length; i += 3) {
    if (!isOption(tokens, i) || tokens[i]?.text !== 'limit') context.problem('only limit= is supported');
  }
  // Each row keeps one value; a JSON field still holds the same kind of JSON (one array element).
};

const nomv: Handler = (tokens, _text, _state, context) => {
  const { fields: listed } = fieldList(tokens, 0);
  if (listed.length !== 1) context.problem('expects one field');
  for (const f of listed) context.refer(f);
};

/**
 * spath reads JSON: from the event (_raw, the default), or from a field an earlier `spath output=` filled.
 * With a path it defines one field (output=, or the path as its name) after checking that the events have
 * that path; without one ("auto-extract") it defines every field below the input's path, named from there.
 */
const spath: Handler = (tokens, _text, state, context) => {
  const args: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i++) {
    if (isOption(tokens, i)) {
      args[(tokens[i] as Token).text] = tokens[i + 2]?.text ?? '';
      i += 2;
    } else if (isName(tokens[i]) && args['path'] === undefined) {
      args['path'] = (tokens[i] as Token).text;
    } else {
      context.problem(`cannot read argument ${tokens[i]?.text}`);
    }
  }
  for (const name of Object.keys(args)) {
    if (!['input', 'output', 'path'].includes(name)) context.problem(`unknown option ${name}=`);
  }
  const input = args['input'] ?? '_raw';
  if (input !== '_raw') context.refer(input);
  const base = state.json.get(input);
  if (base === undefined) {
    context.problem(`input=${input} is not JSON this check knows (fill it with an earlier spath output=)`);
    if (args['output'] ?? args['path']) define(state, (args['output'] ?? args['path']) as string);
    return;
  }
  const events = [...state.events.fields];
  const join = (a: string, b: string): string => (a === '' ? b : b === '' ? a : `${a}.${b}`);
  const below = (path: string): string[] =>
    events.filter((f) => path === '' || f === path || f.startsWith(`${path}.`) || f.startsWith(`${path}{}`));
  const path = args['path'];
  if (path === undefined) {
    if (args['output'] !== undefined) context.problem('output= needs path=');
    for (const f of below(base)) {
      if (f !== base) define(state, base === '' ? f : f.slice(base.length).replace(/^\./, ''));
    }
    return;
  }
  const full = join(base, path);
  if (below(full).length === 0) context.problem(`the events have no path ${full}`);
  const output = args['output'] ?? path;
  define(state, output);
  state.json.set(output, full);
};

const COMMANDS: Record<string, Handler> = {
  search,
  where,
  eval: evalCommand,
  stats: stats('replace'),
  eventstats: stats('add'),
  streamstats: stats('add'),
  chart,
  timechart,
  top,
  rare: top,
  table,
  fields,
  rename,
  sort,
  head,
  tail: head,
  dedup,
  fillnull,
  mvexpand,
  nomv,
  spath,
};
