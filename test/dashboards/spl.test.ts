// The helpers the Splunk dashboard checks stand on: Splunk's field names of a JSON event, the static reading
// of SPL queries (test/dashboards/spl.ts) and of Simple XML (test/dashboards/simple-xml.ts), each shown to
// find what it should and to report what is wrong.
import { describe, expect, it } from 'vitest';
import {
  analyzeQuery,
  checkQuery,
  eventFieldsOf,
  expressionNames,
  splitPipeline,
  splunkFieldNames,
  type EventFields,
  type QueryRules,
} from './spl.js';
import { checkDashboard, parseXml, readDashboard, tokensOf } from './simple-xml.js';

const EVENTS = [
  {
    header_from: 'example.com',
    message_count: 3,
    passed_dmarc: true,
    source_reverse_dns: null,
    published_policy: { p: 'reject', sp: 'none' },
    dkim_results: [{ domain: 'example.com', result: 'pass' }],
    errors: ['bad'],
    policies: [
      { policy_domain: 'example.com', failure_details: [{ result_type: 'starttls-not-supported' }] },
    ],
  },
  { header_from: 'example.org', message_count: 1, passed_dmarc: false, source_reverse_dns: 'mx.example.org' },
];
const FIELDS: EventFields = eventFieldsOf(EVENTS);
const RULES: QueryRules = { begins: 'index="$index$"', sourcetypes: { 'dmarc:aggregate': FIELDS } };
const BASE = 'index="$index$" sourcetype="dmarc:aggregate"';
const problems = (query: string): string[] => checkQuery(query, RULES);

describe('Splunk field names of a JSON event', () => {
  it('names nested fields a.b, fields of objects in arrays a{}.b and arrays of scalars a{}', () => {
    expect([...splunkFieldNames(EVENTS[0]).keys()].sort()).toEqual([
      'dkim_results{}.domain',
      'dkim_results{}.result',
      'errors{}',
      'header_from',
      'message_count',
      'passed_dmarc',
      'policies{}.failure_details{}.result_type',
      'policies{}.policy_domain',
      'published_policy.p',
      'published_policy.sp',
      'source_reverse_dns',
    ]);
  });

  it('counts a field that is null in one event and calls it nullable, like one that some event lacks', () => {
    expect(FIELDS.fields.has('source_reverse_dns')).toBe(true);
    expect(FIELDS.nullable.has('source_reverse_dns')).toBe(true);
    expect(FIELDS.nullable.has('published_policy.p')).toBe(true);
    expect(FIELDS.nullable.has('header_from')).toBe(false);
  });
});

describe('reading SPL', () => {
  it('splits the pipeline at pipes, not at pipes in strings or in $token|s$', () => {
    expect(splitPipeline('index=x a=$a|s$ b="x|y" | stats count | eval c=\'d|e\'')).toEqual([
      'index=x a=$a|s$ b="x|y"',
      'stats count',
      "eval c='d|e'",
    ]);
  });

  it('reads the fields of eval expressions: bare words and single-quoted names, not strings or functions', () => {
    expect(
      expressionNames(`if(passed_dmarc="true", 'dkim_results{}.domain', x . "y") AND NOT z > 0 $tok$`),
    ).toEqual({ fields: ['passed_dmarc', 'dkim_results{}.domain', 'x', 'z'], functions: ['if'] });
  });

  it('finds the references of search terms, stats, eval, rename, sort, table, fillnull and where', () => {
    const analysis = analyzeQuery(
      `${BASE} header_from=$header_from|s$
      | fillnull value="(none)" source_reverse_dns
      | eval pass=if(passed_dmarc="true", message_count, 0), dkim=mvjoin('dkim_results{}.domain', ",")
      | stats sum(message_count) as messages sum(pass) as passing dc(source_reverse_dns) by header_from dkim
      | where messages > 0
      | rename header_from as "From domain"
      | sort 0 - messages
      | table "From domain" messages passing dkim "dc(source_reverse_dns)"`,
      RULES,
    );
    expect(analysis.problems).toEqual([]);
    expect(analysis.indexes).toEqual(['$index$']);
    expect(analysis.sourcetypes).toEqual(['dmarc:aggregate']);
    expect(analysis.references.map((r) => `${r.command}:${r.field}`)).toEqual([
      'search:index',
      'search:sourcetype',
      'search:header_from',
      'fillnull:source_reverse_dns',
      'eval:passed_dmarc',
      'eval:message_count',
      'eval:dkim_results{}.domain',
      'stats:message_count',
      'stats:pass',
      'stats:source_reverse_dns',
      'stats:header_from',
      'stats:dkim',
      'where:messages',
      'rename:header_from',
      'sort:messages',
      'table:From domain',
      'table:messages',
      'table:passing',
      'table:dkim',
      'table:dc(source_reverse_dns)',
    ]);
    expect(analysis.resultFields).toEqual([
      'From domain',
      'messages',
      'passing',
      'dkim',
      'dc(source_reverse_dns)',
    ]);
  });

  it('follows spath into JSON held by a field: a path, or every field below it named from there', () => {
    const analysis = analyzeQuery(
      `${BASE} | spath path=policies{} output=policy | mvexpand policy
      | spath input=policy path=policy_domain output=domain
      | spath input=policy path=failure_details{} output=detail | mvexpand detail | spath input=detail
      | stats count by domain result_type`,
      RULES,
    );
    expect(analysis.problems).toEqual([]);
  });
});

describe('the SPL check reports', () => {
  it('a query that does not begin with the index token', () => {
    expect(problems('sourcetype="dmarc:aggregate" | stats count')).toEqual([
      'the query does not begin with index="$index$"',
    ]);
    expect(problems('index=email sourcetype="dmarc:aggregate" | stats count')).toEqual([
      'the query does not begin with index="$index$"',
    ]);
  });

  it('a base search without a sourcetype, or with one the dashboards do not read', () => {
    expect(problems('index="$index$" | stats count')).toEqual(['the base search names no sourcetype']);
    expect(problems('index="$index$" sourcetype="dmarc:aggregat" | stats count')).toEqual([
      'sourcetype "dmarc:aggregat" is not one the dashboards read',
    ]);
  });

  it('a field the events do not carry, wherever it is used', () => {
    expect(problems(`${BASE} | stats sum(message_cnt) as m`)).toEqual([
      'stats (command 1): unknown field "message_cnt"',
    ]);
    expect(problems(`${BASE} org=x`)).toEqual(['search (command 0): unknown field "org"']);
    expect(problems(`${BASE} | eval x=if(dmarc="true", 1, 0)`)).toEqual([
      'eval (command 1): unknown field "dmarc"',
    ]);
    expect(problems(`${BASE} | table header_from sender`)).toEqual([
      'table (command 1): unknown field "sender"',
    ]);
    expect(problems(`${BASE} | rename "dkim_results{}.selector" as s`)).toEqual([
      'rename (command 1): unknown field "dkim_results{}.selector"',
    ]);
  });

  it('a dotted field unquoted in eval (`.` concatenates there)', () => {
    expect(problems(`${BASE} | eval p=published_policy.p`)).toEqual([
      'eval (command 1): unknown field "published_policy"',
      'eval (command 1): unknown field "p"',
    ]);
    expect(problems(`${BASE} | eval p='published_policy.p'`)).toEqual([]);
  });

  it('a field used after the command that dropped or renamed it', () => {
    expect(
      problems(`${BASE} | stats sum(message_count) as messages by header_from | sort - message_count`),
    ).toEqual(['sort (command 2): unknown field "message_count"']);
    expect(problems(`${BASE} | rename header_from as domain | stats count by header_from`)).toEqual([
      'stats (command 2): unknown field "header_from"',
    ]);
    expect(problems(`${BASE} | fields - header_from | table header_from`)).toEqual([
      'table (command 2): unknown field "header_from"',
    ]);
  });

  it('a split-by field that can be null, unless it was filled first', () => {
    expect(problems(`${BASE} | stats count by source_reverse_dns`)).toEqual([
      'stats (command 1): by source_reverse_dns: some events have no source_reverse_dns, and stats leaves them out (fillnull it first)',
    ]);
    expect(
      problems(`${BASE} | fillnull value="-" source_reverse_dns | stats count by source_reverse_dns`),
    ).toEqual([]);
  });

  it('spath paths the events do not have, and spath input that is not known JSON', () => {
    expect(problems(`${BASE} | spath path=policies{}.policy_name output=x`)).toEqual([
      'spath (command 1): the events have no path policies{}.policy_name',
    ]);
    expect(problems(`${BASE} | spath input=header_from`)).toEqual([
      'spath (command 1): input=header_from is not JSON this check knows (fill it with an earlier spath output=)',
    ]);
  });

  it('commands it cannot follow, unknown functions and eval aggregations without a name', () => {
    expect(problems(`${BASE} | join header_from [search index=x]`)).toEqual([
      'join (command 1): a command this check cannot follow',
    ]);
    expect(problems(`${BASE} | stats summ(message_count) as m`)).toEqual([
      'stats (command 1): unknown aggregation function summ()',
    ]);
    expect(problems(`${BASE} | eval x=iff(passed_dmarc="true", 1, 0)`)).toEqual([
      'eval (command 1): unknown eval function iff()',
    ]);
    expect(problems(`${BASE} | stats sum(eval(if(passed_dmarc="true", message_count, 0)))`)).toEqual([
      'stats (command 1): sum(eval(...)) needs "as <name>"',
    ]);
  });

  it('nothing after a timechart split by a field, whose columns are the data\u2019s values', () => {
    const analysis = analyzeQuery(
      `${BASE} | timechart sum(message_count) by header_from | fields - x`,
      RULES,
    );
    expect(analysis.problems).toEqual([]);
    expect(analysis.resultFields).toBeNull();
  });
});

describe('reading Simple XML', () => {
  const form = (body: string, inputs = ''): string =>
    `<form version="1.1"><label>L</label><description>D</description>
      <fieldset>
        <input type="time" token="time"><label>Time</label><default><earliest>-30d@d</earliest><latest>now</latest></default></input>
        <input type="text" token="index"><label>Index</label><default>email</default></input>${inputs}
      </fieldset>
      <row><panel>${body}</panel></row></form>`;
  const table = (query: string, extra = ''): string =>
    `<table><title>T</title><description>D</description>
      <search><query>${query}</query><earliest>$time.earliest$</earliest><latest>$time.latest$</latest></search>
      <option name="drilldown">none</option>${extra}</table>`;

  it('throws on XML that is not well-formed', () => {
    expect(() => parseXml('<form><row></form>')).toThrow();
    expect(() => parseXml('<form>a & b</form>')).toThrow();
  });

  it('reads tokens with their filters, and $$ as a dollar sign', () => {
    expect(tokensOf('a=$a|s$ $$ $time.earliest$')).toEqual([
      { name: 'a', filter: 's' },
      { name: 'time.earliest', filter: null },
    ]);
  });

  it('passes a form whose tokens all come from its inputs', () => {
    expect(
      checkDashboard(readDashboard(form(table('index="$index$" sourcetype="x" | stats count')))),
    ).toEqual([]);
  });

  it('reports tokens no input defines, and unknown token filters', () => {
    expect(checkDashboard(readDashboard(form(table('index="$index$" a=$domain$ b=$index|q$'))))).toEqual([
      'panel "T" (row 1): token $domain$ is not defined by an input',
      'panel "T" (row 1): unknown token filter |q',
    ]);
  });

  it('reports a missing index input, post-process searches and unknown options', () => {
    const xml = form(table('index="$index$"', '<option name="rowNumber">true</option>')).replace(
      'token="index"',
      'token="idx"',
    );
    expect(checkDashboard(readDashboard(xml))).toEqual([
      'no text input for the index (token "index")',
      'panel "T" (row 1): unknown option rowNumber',
      'panel "T" (row 1): token $index$ is not defined by an input',
    ]);
    const post = form(table('| stats count').replace('<search>', '<search base="base">'));
    expect(checkDashboard(readDashboard(post))).toContain(
      'panel "T" (row 1): a post-process search (base="base")',
    );
  });

  it('reports a drilldown that sets something other than an input, with tokens only a drilldown has', () => {
    const drilldown = (target: string): string =>
      form(
        table('index="$index$"', `<drilldown><set token="${target}">$click.value$</set></drilldown>`).replace(
          '<option name="drilldown">none</option>',
          '<option name="drilldown">row</option>',
        ),
        '<input type="text" token="domain"><label>Domain</label><default>*</default></input>',
      );
    expect(checkDashboard(readDashboard(drilldown('form.domain')))).toEqual([]);
    expect(checkDashboard(readDashboard(drilldown('form.domains')))).toEqual([
      'panel "T" (row 1): the drilldown sets form.domains, not form.<an input\'s token>',
    ]);
    // $click.value$ outside a drilldown is not defined.
    expect(checkDashboard(readDashboard(form(table('index="$index$" x=$click.value$'))))).toEqual([
      'panel "T" (row 1): token $click.value$ is not defined by an input',
    ]);
  });
});
