// The shipped Splunk dashboards (dashboards/splunk/*.xml), checked without a Splunk server: well-formed
// Simple XML with the inputs and panels it needs, exactly what dashboards/generate.mjs writes, every search
// starting from the index input and our sourcetypes, and every field a query uses one that the events
// hecEventsOf sends for the repository's sample reports carry (or one the query defined itself).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReports } from '@parsedmarc-ts/parser';
import { hecEventsOf, type HecForensicSourcetype } from '@parsedmarc-ts/output';
import {
  SPLUNK_DEFAULT_INDEX,
  SPLUNK_FILES,
  SPLUNK_SOURCETYPES,
  splunkDashboards,
  splunkPanels,
} from '../../dashboards/generate.mjs';
import { checkDashboard, panelsOf, readDashboard, type Dashboard } from './simple-xml.js';
import { analyzeQuery, eventFieldsOf, type EventFields } from './spl.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const splunkDir = join(root, 'dashboards/splunk');
const samplesDir = join(root, 'test/fixtures/samples');

type Family = keyof typeof SPLUNK_FILES;
const FAMILIES = Object.keys(SPLUNK_FILES) as Family[];
const SAMPLE_DIRS: Record<Family, string> = {
  aggregate: 'aggregate',
  forensic: 'failure',
  smtpTls: 'smtp_tls',
};

const xmlOf = (family: Family): string => readFileSync(join(splunkDir, SPLUNK_FILES[family]), 'utf8');

interface Envelope {
  host: string;
  source: string;
  index?: string;
  sourcetype: string;
  time: number;
  event: unknown;
}

/** The HEC events of every sample report of a family, as the sink sends them. */
async function sampleEvents(family: Family, forensicSourcetype?: HecForensicSourcetype): Promise<Envelope[]> {
  const events: Envelope[] = [];
  const dir = join(samplesDir, SAMPLE_DIRS[family]);
  for (const name of readdirSync(dir).sort()) {
    for await (const outcome of parseReports(new Uint8Array(readFileSync(join(dir, name))), {
      source: name,
    })) {
      if (!outcome.ok) continue; // the corpus keeps a few reports that do not parse, on purpose
      const result = hecEventsOf(outcome.parsed, {
        host: 'mx.example.net',
        index: 'email',
        forensicSourcetype,
      });
      if (!result.ok) throw new Error(`${name}: ${result.reason}`);
      events.push(...result.events.map((line) => JSON.parse(line) as Envelope));
    }
  }
  return events;
}

/** Per sourcetype, the fields of the sample events (the `event` object, flattened as Splunk names fields). */
const fieldsBySourcetype: Record<string, EventFields> = {};
const envelopes: Envelope[] = [];

beforeAll(async () => {
  const batches = [
    await sampleEvents('aggregate'),
    await sampleEvents('forensic', 'dmarc:forensic'),
    await sampleEvents('forensic', 'dmarc:failure'),
    await sampleEvents('smtpTls'),
  ];
  for (const events of batches) {
    envelopes.push(...events);
    const sourcetype = events[0]?.sourcetype ?? '';
    fieldsBySourcetype[sourcetype] = eventFieldsOf(events.map((e) => e.event));
  }
});

const dashboards = Object.fromEntries(FAMILIES.map((f) => [f, readDashboard(xmlOf(f))])) as Record<
  Family,
  Dashboard
>;
const queriesOf = (family: Family): Array<{ title: string; query: string }> =>
  dashboards[family].panels.flatMap((p) => p.searches.map((s) => ({ title: p.title ?? '', query: s.query })));

describe('the Splunk dashboards in dashboards/splunk/', () => {
  it('are the three files dashboards/generate.mjs writes (run `node dashboards/generate.mjs` after editing)', () => {
    expect(readdirSync(splunkDir).sort()).toEqual(Object.values(SPLUNK_FILES).sort());
    const generated = splunkDashboards() as Record<string, string>;
    for (const family of FAMILIES) expect(xmlOf(family)).toBe(generated[SPLUNK_FILES[family]]);
  });

  it('read the sourcetypes the events are sent with, and the events carry nothing else in their envelope', () => {
    expect(new Set(envelopes.map((e) => e.sourcetype))).toEqual(
      new Set(Object.values(SPLUNK_SOURCETYPES).flat()),
    );
    for (const envelope of envelopes) {
      expect(Object.keys(envelope)).toEqual(['host', 'source', 'index', 'sourcetype', 'time', 'event']);
    }
    // The samples give every family events, with the fields the panels read.
    expect(envelopes.filter((e) => e.sourcetype === 'dmarc:aggregate').length).toBeGreaterThan(100);
    expect(fieldsBySourcetype['dmarc:forensic']?.fields.has('parsed_sample.subject')).toBe(true);
    expect(fieldsBySourcetype['smtp:tls']?.fields.has('policies{}.failure_details{}.result_type')).toBe(true);
  });

  describe.each(FAMILIES)('%s', (family) => {
    const dashboard = dashboards[family];

    it('is a well-formed <form version="1.1"> with a label, a description, a time input and the index input', () => {
      expect(dashboard.root).toBe('form');
      expect(dashboard.attributes['version']).toBe('1.1');
      expect(dashboard.label).toMatch(/parsedmarc-ts/);
      expect(dashboard.description).toBeTruthy();
      expect(dashboard.inputs.filter((i) => i.type === 'time').map((i) => i.defaultValue)).toEqual([
        '-30d@d..now',
      ]);
      expect(dashboard.inputs.find((i) => i.token === 'index')).toMatchObject({
        type: 'text',
        defaultValue: SPLUNK_DEFAULT_INDEX,
      });
      // The filters default to everything.
      for (const input of dashboard.inputs.filter((i) => i.type === 'text' && i.token !== 'index')) {
        expect(input.defaultValue).toBe('*');
      }
    });

    it('has panels with titles, known options, one search on the time input each, and only defined tokens', () => {
      expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
      expect(checkDashboard(dashboard)).toEqual([]);
    });

    it('begins every query with index="$index$" and names only its own sourcetypes (all of them)', () => {
      for (const { title, query } of queriesOf(family)) {
        const analysis = analyzeQuery(query, { begins: 'index="$index$"', sourcetypes: fieldsBySourcetype });
        expect(
          analysis.problems.filter((p) => p.includes('begin')),
          title,
        ).toEqual([]);
        expect(analysis.indexes, title).toEqual(['$index$']);
        expect(analysis.sourcetypes.sort(), title).toEqual([...SPLUNK_SOURCETYPES[family]].sort());
      }
    });

    it('uses only fields the sample events carry, Splunk built-ins, or fields the query defined before', () => {
      const problems = queriesOf(family).flatMap(({ title, query }) =>
        analyzeQuery(query, { begins: 'index="$index$"', sourcetypes: fieldsBySourcetype }).problems.map(
          (p) => `${title}: ${p}`,
        ),
      );
      expect(problems).toEqual([]);
    });

    it('lists the panels the generator means (the outline of `node dashboards/generate.mjs --outline`)', () => {
      expect(panelsOf(dashboard)).toEqual((splunkPanels() as Record<string, unknown>)[SPLUNK_FILES[family]]);
    });
  });

  it('would report a shipped query that used a field the events lack, or lost the index token', () => {
    const rules = { begins: 'index="$index$"', sourcetypes: fieldsBySourcetype };
    const [tls] = queriesOf('smtpTls').filter((q) => q.title === 'Failure details');
    const [agg] = queriesOf('aggregate').filter((q) => q.title === 'Alignment details');
    const [forensic] = queriesOf('forensic').filter((q) => q.title === 'Recent failure reports');
    if (!tls || !agg || !forensic) throw new Error('panel missing');
    // (fillnull reports it, and from there on the field exists: it made it)
    expect(analyzeQuery(tls.query.replaceAll('sending_mta_ip', 'sending_ip'), rules).problems).toEqual([
      'fillnull (command 8): unknown field "sending_ip"',
    ]);
    expect(analyzeQuery(tls.query.replace(' result_type ', ' result '), rules).problems).toEqual([
      'stats (command 9): unknown field "result"',
      // and the rename of the column stats no longer outputs
      'rename (command 11): unknown field "result_type"',
    ]);
    expect(
      analyzeQuery(agg.query.replace("'spf_results{}.result'", "'spf_results{}.results'"), rules).problems,
    ).toEqual(['eval (command 3): unknown field "spf_results{}.results"']);
    expect(
      analyzeQuery(forensic.query.replace('parsed_sample.subject', 'parsed_sample.headers.subject'), rules)
        .problems,
    ).toEqual(['spath (command 5): the events have no path parsed_sample.headers.subject']);
    expect(analyzeQuery(agg.query.replace('index="$index$" ', 'index=email '), rules).problems).toEqual([
      'the query does not begin with index="$index$"',
    ]);
  });

  it('counts aggregate volumes in messages: no event counts on the aggregate dashboard', () => {
    for (const { title, query } of queriesOf('aggregate')) {
      expect(query, title).not.toMatch(/\|\s*(stats|eventstats|chart|timechart)\b[^|]*\bc(ount)?\b(?!\()/);
      expect(query, title).not.toMatch(/\|\s*(top|rare)\b/);
    }
  });

  it('has the panels each dashboard is for', () => {
    const titles = (family: Family): string[] => dashboards[family].panels.map((p) => p.title ?? '');
    expect(titles('aggregate')).toEqual(
      expect.arrayContaining([
        'DMARC result',
        'SPF alignment',
        'DKIM alignment',
        'Messages over time by DMARC result',
        'Reporting organizations',
        'Message sources by base domain and reverse DNS',
        'Message sources by country',
        'Message sources by IP address',
        'Message disposition',
        'From domains',
        'Alignment details',
        'Published DMARC policies',
      ]),
    );
    expect(titles('forensic')).toEqual(
      expect.arrayContaining([
        'Failure reports over time by reported domain',
        'By reported domain',
        'By source',
        'By authentication failure',
        'Recent failure reports',
      ]),
    );
    expect(titles('smtpTls')).toEqual(
      expect.arrayContaining([
        'Sessions over time',
        'Sessions by policy domain',
        'Failure result types',
        'Failure details',
        'Reporting organizations',
      ]),
    );
  });
});
